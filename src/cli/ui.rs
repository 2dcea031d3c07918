//! `aibox ui` and `aibox catalog build`: clap arguments (the work is in `web`).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::error::Result;
use crate::ops::Options;

#[derive(Debug, Args)]
pub(super) struct UiArgs {
    /// The port on 127.0.0.1 (0: any free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Print the URL without opening a browser.
    #[arg(long)]
    no_open: bool,
}

#[derive(Debug, Subcommand)]
pub(super) enum CatalogCommand {
    /// Write `index.html` and a page per pack of the registries into a directory.
    Build {
        /// A registry to list (`oci://host/path`, `oci-layout:<dir>`, `dir:<dir>`;
        /// repeatable). Default: the project's `[registries]`.
        #[arg(long, value_name = "URL")]
        registry: Vec<String>,
        /// The directory to write (created if missing).
        #[arg(long, short, value_name = "DIR")]
        output: PathBuf,
    },
}

pub(super) fn serve(opts: &Options, args: UiArgs) -> Result<()> {
    crate::web::serve(
        opts,
        &crate::web::UiOptions {
            port: args.port,
            open: !args.no_open,
        },
    )
}

pub(super) fn catalog(opts: &Options, command: CatalogCommand) -> Result<()> {
    match command {
        CatalogCommand::Build { registry, output } => {
            // A catalog shows what the registry holds now, not a cached tag list.
            let built = crate::web::catalog::build(&opts.asking_for_newest(), &registry, &output)?;
            opts.reporter.status(
                "Wrote",
                format!(
                    "the catalog of {} pack{} to `{}` (open `index.html`)",
                    built.packs,
                    if built.packs == 1 { "" } else { "s" },
                    built.dir.display()
                ),
            );
            Ok(())
        }
    }
}
