//! `aibox vendor <dir>`: clap arguments and output.

use std::path::PathBuf;

use clap::Args;

use super::pack::NetArgs;
use crate::error::{Error, Result};
use crate::ops::vendor::VendorItem;
use crate::ops::{self, Options};
use crate::registry::PackRef;

#[derive(Debug, Args)]
pub struct VendorArgs {
    /// The OCI layout directory to write (created if missing); use it as
    /// `oci-layout:<dir>` in `[registries]`.
    dir: PathBuf,
    /// A pack to vendor: `oci://host/path/<name>:<version>` or
    /// `oci-layout:<dir>:<name>:<version>` (repeatable).
    #[arg(long = "pack", value_name = "REF", required = true)]
    packs: Vec<String>,
    #[command(flatten)]
    net: NetArgs,
}

pub fn run(opts: &Options, args: VendorArgs) -> Result<()> {
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
    let cwd = std::env::current_dir()
        .map_err(|e| Error::msg(format!("cannot read the current directory: {e}")))?;
    let src = ops::pack::source_options(opts, args.net.insecure);
    let done = ops::vendor::vendor(&items, &cwd, &args.dir, &src)?;
    if opts.json {
        super::print_json(&done);
    }
    Ok(())
}
