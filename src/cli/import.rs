//! `aibox import`: clap arguments and output (the work is in `ops::import`).

use std::path::PathBuf;

use clap::Args;

use crate::error::{Error, Result};
use crate::ops::{self, Options};

#[derive(Debug, Args)]
pub(super) struct ImportArgs {
    /// Files to import: `.tool-versions`, `mise.toml`, `.mise.toml`, `.nvmrc`,
    /// `.python-version`, `skills-lock.json`, `.clawhub/lock.json` (default: those present in
    /// the current directory, and the skill folders of the agents' skills folders).
    files: Vec<PathBuf>,
    /// Where the packs are, when there is no `aibox.toml` yet (it becomes the default
    /// registry of the one written).
    #[arg(long, value_name = "URL")]
    registry: Option<String>,
    /// A mapping file (TOML, or JSON when named `*.json`): which pack of the team's registries
    /// replaces a legacy skill (a ClawHub slug, `owner/slug`, a local skill's name).
    #[arg(long, value_name = "FILE")]
    map: Option<PathBuf>,
    /// Then sync: install the skills, replace the old folders by aibox's links (kept in the
    /// store: `aibox rollback` puts them back) and check the hashes the old records hold.
    #[arg(long, conflicts_with = "dry_run")]
    apply: bool,
    /// Print the plan and the `aibox.toml` that would be written; write nothing.
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
        args.map.as_deref(),
        args.dry_run,
    )?;
    if opts.json && !args.apply {
        crate::printer::print_json(&out);
        return Ok(());
    }
    if !opts.json {
        report(opts, &out);
    }
    if args.dry_run {
        crate::printer::data(&out.manifest);
        opts.reporter.status(
            "Dry run",
            format!(
                "`{}` was not written; nothing was changed",
                out.path.display()
            ),
        );
        return Ok(());
    }
    let verb = if out.created { "Wrote" } else { "Updated" };
    opts.reporter
        .status(verb, format!("`{}`", out.path.display()));
    if !args.apply {
        opts.reporter.status(
            "Hint",
            "run `aibox sync` to install the imported packs and skills (or `aibox import --apply` next time)",
        );
        return Ok(());
    }
    // One JSON document for the whole command: the sync reports on stderr only.
    let quiet_json = Options {
        json: false,
        ..opts.clone()
    };
    super::project::run_sync(&quiet_json, ops::Target::Project, &Default::default())?;
    let checks = match &out.skills {
        Some(plan) => ops::migrate::check::check_project(opts, &dir, plan)?,
        None => Vec::new(),
    };
    if opts.json {
        crate::printer::print_json(&serde_json::json!({ "import": out, "checks": checks }));
    }
    // The sync checked each recorded hash before it switched (engine::handover) and said so;
    // a difference it let through was consented to (`--yes`). What remains is for `--json`.
    let bad = checks.iter().filter(|c| !c.matches).count();
    if bad > 0 && !opts.consent.yes {
        return Err(Error::msg(format!(
            "{bad} imported skill(s) differ from what the old installer recorded"
        ))
        .with_hint("aibox installed them and kept the old folders in the store: check the differences, then keep them, or run `aibox rollback` to put the old folders back"));
    }
    Ok(())
}

/// The import's plan, on stderr.
fn report(opts: &Options, out: &ops::import::Imported) {
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
    if let Some(plan) = &out.skills {
        report_skills(opts, plan);
    }
}

fn report_skills(opts: &Options, plan: &ops::migrate::Plan) {
    for (alias, url) in &plan.registries {
        opts.reporter
            .status("Registry", format!("{alias} = \"{url}\""));
    }
    for s in &plan.skills {
        let request = match (&s.git, &s.request) {
            (Some((git, Some(rev))), _) => format!("{git} at {rev}"),
            (Some((git, None)), _) => git.clone(),
            (None, r) => format!("{} from `{}`", r.as_deref().unwrap_or("*"), s.registry),
        };
        let legacy = if s.legacy {
            " (legacy: a local snapshot)"
        } else {
            ""
        };
        let verb = if s.present { "Kept" } else { "Skill" };
        opts.reporter.status(
            verb,
            format!("{} {request}{legacy}, from {}", s.name, s.from),
        );
        for r in &s.replaces {
            opts.reporter.status(
                "Replaces",
                format!(
                    "`{r}` (at the next switch; kept in the store, `aibox rollback` puts it back)"
                ),
            );
        }
        if let Some(note) = &s.note {
            opts.reporter.warn(format!("{}: {note}", s.name));
        }
    }
    if !plan.agents.is_empty() {
        opts.reporter.status("Agents", plan.agents.join(", "));
    }
    if !plan.skipped.is_empty() {
        let lines: Vec<String> = plan
            .skipped
            .iter()
            .map(|u| format!("  {} ({}): {}", u.name, u.at, u.reason))
            .collect();
        opts.reporter.warn(format!(
            "skills not migrated ({}, left as they are):\n{}",
            plan.skipped.len(),
            lines.join("\n")
        ));
    }
}
