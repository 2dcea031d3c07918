//! `aibox gc`, `aibox store verify`, `aibox store path`.

use clap::{Args, Subcommand};

use crate::error::{Error, Result};
use crate::ops::{self, Options};
use crate::store::gc::GcOptions;

use super::generations::ProfileArg;

#[derive(Debug, Args)]
pub(super) struct GcArgs {
    /// Keep only the newest N generations of each profile (the current one is always kept).
    #[arg(long, value_name = "N")]
    keep: Option<usize>,
    /// Show what would be removed without removing anything.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub(super) enum StoreCommand {
    /// Re-hash every object and pack tree; report (and with --repair remove) corrupt entries.
    Verify {
        /// Remove corrupt entries so the next `aibox sync` rebuilds them.
        #[arg(long)]
        repair: bool,
    },
    /// Print the store path of a pack in the current generation.
    Path {
        /// The pack name.
        pack: String,
        #[command(flatten)]
        profile: ProfileArg,
    },
}

pub(super) fn gc(opts: &Options, args: GcArgs) -> Result<()> {
    let report = ops::maintenance::gc(
        opts,
        GcOptions {
            keep: args.keep,
            dry_run: args.dry_run,
        },
    )?;
    if opts.json {
        crate::printer::print_json(&report);
        return Ok(());
    }
    let verb = if report.dry_run {
        "Would remove"
    } else {
        "Removed"
    };
    for p in &report.profiles_removed {
        opts.reporter
            .status(verb, format!("profile of `{p}` (project gone)"));
    }
    for (p, id) in &report.generations_removed {
        opts.reporter
            .status(verb, format!("generation {id} of `{p}`"));
    }
    opts.reporter.status(
        verb,
        format!(
            "{} pack trees, {} objects, {} freed",
            report.packs_removed.len(),
            report.objects_removed,
            crate::printer::human_bytes(report.bytes_freed)
        ),
    );
    opts.reporter.status(
        "Kept",
        format!(
            "{} pack trees, {} objects",
            report.packs_kept, report.objects_kept
        ),
    );
    Ok(())
}

pub(super) fn run(opts: &Options, cmd: StoreCommand) -> Result<()> {
    match cmd {
        StoreCommand::Verify { repair } => {
            let report = ops::maintenance::verify(opts, repair)?;
            if opts.json {
                crate::printer::print_json(&report);
            } else {
                for c in &report.corrupt {
                    crate::printer::out(format!("corrupt: {}: {}", c.path.display(), c.reason));
                }
                for path in &report.interrupted {
                    crate::printer::out(format!("interrupted: {}", path.display()));
                }
                if !report.interrupted.is_empty() && !report.repaired {
                    opts.reporter.status(
                        "Found",
                        format!(
                            "{} pack trees left by an interrupted sync or gc (never used; `aibox gc` removes them)",
                            report.interrupted.len()
                        ),
                    );
                }
                opts.reporter.status(
                    "Verified",
                    format!(
                        "{} objects, {} pack trees",
                        report.objects_checked, report.packs_checked
                    ),
                );
            }
            if report.corrupt.is_empty() {
                return Ok(());
            }
            if report.repaired {
                opts.reporter.status(
                    "Repaired",
                    format!(
                        "removed {} corrupt entries; run `aibox sync` to rebuild them",
                        report.corrupt.len()
                    ),
                );
                Ok(())
            } else {
                Err(Error::shown_in_output(format!(
                    "{} corrupt store entries",
                    report.corrupt.len()
                ))
                .with_hint("run `aibox store verify --repair`, then `aibox sync`"))
            }
        }
        StoreCommand::Path { pack, profile } => {
            let path = ops::maintenance::pack_path(opts, profile.target(), &pack)?;
            crate::printer::out(path.display().to_string());
            Ok(())
        }
    }
}
