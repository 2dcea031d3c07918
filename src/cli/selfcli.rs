//! `aibox self update | rollback` (also spelled `aibox update --self`): clap arguments and
//! output; the work is in `ops::self_update`.

use clap::{Args, Subcommand};

use crate::error::{Error, Result};
use crate::manifest::request::Request;
use crate::ops::self_update::{self, LinkOutcome, Outcome};
use crate::ops::{self as ops_root, Options};

#[derive(Debug, Subcommand)]
pub(super) enum SelfCommand {
    /// Install the newest aibox from the self registry (`update.registry` or
    /// `AIBOX_SELF_REGISTRY`) as a new generation of the `self` profile; the replaced version
    /// stays for `aibox self rollback`.
    Update(SelfUpdateArgs),
    /// Switch back to the aibox the last `self update` replaced.
    Rollback,
}

#[derive(Debug, Args)]
pub(super) struct SelfUpdateArgs {
    /// Only say whether a newer aibox is available; change nothing.
    #[arg(long)]
    pub check: bool,
    /// The version to install (a request: `=0.3.1`, `^0.3`); may be older than the running
    /// one. Default: the newest stable version, never older than the running one.
    #[arg(long, value_name = "REQ")]
    pub version: Option<String>,
    /// Record the answer for the update notice, silently (what aibox starts in the
    /// background).
    #[arg(long, hide = true, requires = "check")]
    pub background: bool,
}

pub(super) fn run(opts: &Options, command: SelfCommand) -> Result<()> {
    match command {
        SelfCommand::Update(args) => update(opts, args),
        SelfCommand::Rollback => {
            let r = self_update::rollback(opts)?;
            let store = opts.store()?;
            let version = self_update::current_version(&store).unwrap_or_default();
            opts.reporter.status(
                "Rolled back",
                format!(
                    "aibox to {version} (self generation {} -> {})",
                    r.from.map_or("?".into(), |f| f.to_string()),
                    r.to
                ),
            );
            Ok(())
        }
    }
}

pub(super) fn update(opts: &Options, args: SelfUpdateArgs) -> Result<()> {
    if args.background {
        self_update::notice::refresh(opts);
        return Ok(());
    }
    // A person asking for the newest aibox gets the registry's answer now, not a cached one.
    let opts = &opts.asking_for_newest();
    let request = args
        .version
        .as_deref()
        .map(|v| {
            Request::parse(v).map_err(|e| {
                Error::msg(format!("`--version {v}` is not a version request: {e}"))
                    .with_hint("give a version (`0.3.1`, `=0.3.1`) or a range (`^0.3`)")
            })
        })
        .transpose()?;
    if args.check {
        let c = self_update::check(opts, request.as_ref())?;
        if opts.json {
            crate::printer::print_json(&serde_json::json!({
                "running": c.running.to_string(),
                "available": c.chosen.to_string(),
                "newer": c.is_newer(),
                "registry": c.registry,
            }));
        } else if c.is_newer() {
            crate::printer::out(format!(
                "aibox {} is available (you have {})",
                c.chosen, c.running
            ));
            opts.reporter
                .status("Hint", "run `aibox self update` to install it");
        } else {
            crate::printer::out(format!(
                "aibox {} is the newest (at {})",
                c.running, c.registry
            ));
        }
        return Ok(());
    }
    match self_update::update(opts, request.as_ref())? {
        Outcome::UpToDate { version, link } => {
            opts.reporter
                .status("Fresh", format!("aibox {version} is the newest"));
            if let Some(link) = link {
                report_link(opts, &link);
            }
        }
        Outcome::Updated(u) => {
            if let Some(v) = &u.adopted {
                opts.reporter.status(
                    "Adopted",
                    format!("aibox {v} (the running binary) as a self generation, for rollback"),
                );
            }
            let generation = &u.installed.generation;
            if u.from == u.to {
                let id = generation.id;
                opts.reporter.status(
                    "Installed",
                    format!("aibox {} (self generation {id})", u.to),
                );
            } else {
                opts.reporter.status(
                    if u.to > u.from {
                        "Updated"
                    } else {
                        "Downgraded"
                    },
                    format!(
                        "aibox {} -> {} (self generation {})",
                        u.from, u.to, generation.id
                    ),
                );
            }
            if !u.changelog.is_empty() {
                crate::printer::out(ops_root::changelog::render("aibox", &u.changelog));
            }
            report_link(opts, &u.link);
            if generation.parent.is_some_and(|p| p != 0) {
                opts.reporter
                    .status("Hint", "`aibox self rollback` goes back");
            }
        }
    }
    Ok(())
}

fn report_link(opts: &Options, link: &LinkOutcome) {
    match link {
        LinkOutcome::Unchanged(_) => {}
        LinkOutcome::Linked(path) => {
            opts.reporter.status(
                "Linked",
                format!("`{}` to the self profile", path.display()),
            );
            let dir = path.parent().unwrap_or(path);
            let on_path = crate::env_vars::var_os("PATH")
                .is_some_and(|p| std::env::split_paths(&p).any(|d| d == dir));
            if !on_path {
                opts.reporter.warn(format!(
                    "`{}` is not on your PATH; add it to run the updated aibox as `aibox`",
                    dir.display()
                ));
            }
        }
        LinkOutcome::Occupied(path) => opts.reporter.warn(format!(
            "`{}` is a file aibox did not put there; it was left alone (set `AIBOX_BIN_DIR` to link aibox elsewhere)",
            path.display()
        )),
    }
}
