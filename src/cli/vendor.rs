//! `aibox vendor <dir>`: clap arguments and output (the project's `aibox.lock` by default).

use std::path::PathBuf;

use clap::Args;

use super::pack::NetArgs;
use crate::error::{Error, Result};
use crate::ops::vendor::VendorItem;
use crate::ops::{self, Options};
use crate::registry::PackRef;

#[derive(Debug, Args)]
pub(super) struct VendorArgs {
    /// The OCI layout directory to write (created if missing); sync from it with
    /// `aibox sync --mirror oci-layout:<dir>` (nothing in `aibox.toml` changes).
    dir: PathBuf,
    /// Vendor this pack instead of the project's locked packs: `oci://host/path/<name>:<version>`
    /// or `oci-layout:<dir>:<name>:<version>` (repeatable).
    #[arg(long = "pack", value_name = "REF")]
    packs: Vec<String>,
    #[command(flatten)]
    net: NetArgs,
}

pub(super) fn run(opts: &Options, args: VendorArgs) -> Result<()> {
    let mut items = Vec::new();
    for p in &args.packs {
        let r = PackRef::parse(p)?;
        let version = r.version.ok_or_else(|| {
            Error::msg(format!("`{p}` names no version"))
                .with_hint("vendor exact versions: `<ref>:<version>`")
        })?;
        items.push(VendorItem {
            source: r.source,
            name: r.name,
            version,
            digest: None,
        });
    }
    let mut root =
        std::env::current_dir().map_err(|e| Error::io("cannot read the current directory", e))?;
    let whole_lock = items.is_empty();
    if whole_lock {
        // Every locked pack of the project (sources are relative to the project root).
        let project = ops::find_project(opts)?;
        let path = project.lock_path();
        let text = crate::fs::read_regular_string(&path, ops::MAX_LOCK_BYTES).map_err(|e| {
            Error::io(format!("cannot read `{}`", path.display()), e)
                .with_hint("run `aibox lock` first, or name packs with `--pack`")
        })?;
        let lock = crate::lockfile::Lockfile::parse(&text, &path)?;
        items = ops::vendor::items_from_lock(&lock);
        root = project.root;
    }
    let src = crate::engine::context::source_options(opts, args.net.insecure);
    let done = ops::vendor::vendor(&items, &root, &args.dir, &src)?;
    if opts.json {
        crate::printer::print_json(&done);
    } else if whole_lock {
        let dir = std::path::absolute(&args.dir).unwrap_or(args.dir.clone());
        opts.reporter.status(
            "Use",
            format!(
                "`aibox sync --locked --offline --mirror oci-layout:{}` where the registries cannot be reached",
                dir.display()
            ),
        );
    }
    Ok(())
}
