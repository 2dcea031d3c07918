//! `aibox import`: clap arguments and output (the work is in `ops::import`).

use std::path::PathBuf;

use clap::Args;

use crate::error::{Error, Result};
use crate::ops::{self, Options};

#[derive(Debug, Args)]
pub(super) struct ImportArgs {
    /// Files to import: `.tool-versions`, `mise.toml`, `.mise.toml`, `.nvmrc`,
    /// `.python-version` (default: those present in the current directory).
    files: Vec<PathBuf>,
    /// Where the packs are, when there is no `aibox.toml` yet (it becomes the default
    /// registry of the one written).
    #[arg(long, value_name = "URL")]
    registry: Option<String>,
    /// Print the `aibox.toml` that would be written; write nothing.
    #[arg(long)]
    dry_run: bool,
}

pub(super) fn run(opts: &Options, args: ImportArgs) -> Result<()> {
    let dir =
        std::env::current_dir().map_err(|e| Error::io("cannot read the current directory", e))?;
    let out = ops::import::import(
        opts,
        &dir,
        &args.files,
        args.registry.as_deref(),
        args.dry_run,
    )?;
    if opts.json {
        crate::printer::print_json(&out);
        return Ok(());
    }
    for m in &out.mapped {
        let what = format!(
            "{} {} ({}) as {} = \"{}\"{}",
            m.tool,
            m.version,
            m.at,
            m.pack,
            m.request,
            if m.registry == "default" {
                String::new()
            } else {
                format!(" from `{}`", m.registry)
            }
        );
        if m.present {
            opts.reporter
                .status("Kept", format!("{what}: `{}` is already requested", m.pack));
        } else {
            opts.reporter.status("Mapped", what);
        }
        if !m.dropped.is_empty() {
            opts.reporter.warn(format!(
                "{} also lists {} ({}): aibox.toml holds one version per pack",
                m.tool,
                m.dropped.join(", "),
                m.at
            ));
        }
    }
    if !out.unmapped.is_empty() {
        let lines: Vec<String> = out
            .unmapped
            .iter()
            .map(|u| format!("  {} ({}): {}", u.tool, u.at, u.reason))
            .collect();
        opts.reporter.warn(format!(
            "not imported ({}):\n{}",
            out.unmapped.len(),
            lines.join("\n")
        ));
    }
    if args.dry_run {
        crate::printer::data(&out.manifest);
        opts.reporter.status(
            "Dry run",
            format!("`{}` was not written", out.path.display()),
        );
    } else {
        let verb = if out.created { "Wrote" } else { "Updated" };
        opts.reporter
            .status(verb, format!("`{}`", out.path.display()));
        opts.reporter
            .status("Hint", "run `aibox sync` to install the imported packs");
    }
    Ok(())
}
