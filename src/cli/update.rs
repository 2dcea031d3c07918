//! `aibox outdated` and `aibox update`.

use clap::Args;

use crate::error::Result;
use crate::ops::{self, Options};

use super::generations::ProfileArg;

#[derive(Debug, Args)]
pub(super) struct OutdatedArgs {
    #[command(flatten)]
    profile: ProfileArg,
}

#[derive(Debug, Args)]
pub(super) struct UpdateArgs {
    #[command(flatten)]
    profile: ProfileArg,
    /// The packs to update (default: every pack).
    packs: Vec<String>,
    /// Go past the manifest's ranges: rewrite each request in `aibox.toml` to `^<newest>`
    /// (formatting and comments kept).
    #[arg(long)]
    major: bool,
    /// Print what would change; write nothing.
    #[arg(long, conflicts_with = "auto")]
    dry_run: bool,
    /// For a daily cron job: apply patch updates of the requested packs silently; minor and major
    /// ones are asked about on a terminal, and held back and named anywhere else. Each run is
    /// one generation: `aibox rollback` undoes it.
    #[arg(long, conflicts_with_all = ["major", "packs"])]
    auto: bool,
    /// Update aibox itself (as `aibox self update`).
    #[arg(long = "self", conflicts_with_all = ["packs", "major", "auto", "dry_run"])]
    self_: bool,
    /// Only say whether a newer aibox is available (as `aibox self update --check`).
    #[arg(long, conflicts_with_all = ["packs", "major", "auto", "dry_run"])]
    check: bool,
    /// Switch back to the aibox the last self update replaced (as `aibox self rollback`).
    #[arg(long, conflicts_with_all = ["packs", "major", "auto", "dry_run", "self_", "check", "version", "all"])]
    rollback: bool,
    /// Update everything: aibox itself (when a self registry is configured), then every pack.
    #[arg(long, conflicts_with_all = ["packs", "auto", "self_", "check", "version"])]
    all: bool,
    /// With `--self`: the version to install (`=0.3.1`, `^0.3`).
    #[arg(long, requires = "self_", value_name = "REQ")]
    version: Option<String>,
}

/// Whether to apply updates that ask for more: the one consent rule (`--yes`, else ask on a
/// terminal outside CI).
fn confirmer(opts: &Options) -> impl FnMut(&[crate::engine::escalation::Escalation]) -> bool {
    let (consent, reporter) = (opts.consent, opts.reporter);
    move |list| crate::engine::escalation::asked(list, consent, reporter)
}

/// `update --auto` on a terminal outside CI: ask whether to take the minor and major updates
/// too. Anywhere else (cron, CI, a pipe) they are held back without asking.
fn ask_held(reporter: crate::printer::Reporter, list: &[ops::update::Outdated]) -> bool {
    use std::io::{BufRead, IsTerminal};
    let ci = crate::env_vars::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
    if ci || !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return false;
    }
    let lines: Vec<String> = list
        .iter()
        .map(|o| {
            let change = o
                .change
                .map(|c| format!(" ({})", format!("{c:?}").to_lowercase()))
                .unwrap_or_default();
            format!("  {} {} → {}{change}", o.name, o.current, o.newest)
        })
        .collect();
    reporter.prompt(format!(
        "These updates are more than patches:\n{}\nTake them too? [y/N] ",
        lines.join("\n")
    ));
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes")
}

pub(super) fn outdated(opts: &Options, args: OutdatedArgs) -> Result<()> {
    let list = ops::update::outdated(opts, args.profile.target())?;
    let behind: Vec<_> = list
        .into_iter()
        // Also shown: a current version its publisher yanked or deprecated.
        .filter(|o| {
            o.current != o.newest
                || o.current != o.in_range
                || o.yanked.is_some()
                || o.deprecated.is_some()
        })
        .collect();
    if opts.json {
        crate::printer::print_json(&behind);
        return Ok(());
    }
    if behind.is_empty() {
        opts.reporter
            .status("Fresh", "every locked pack is at its newest version");
        return Ok(());
    }
    let w = behind
        .iter()
        .map(|o| o.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    crate::printer::out(format!(
        "{:w$}  {:<9}  {:<9}  {:<9}  CHANGE",
        "PACK", "CURRENT", "IN RANGE", "NEWEST"
    ));
    for o in &behind {
        let change = o
            .change
            .map(|c| format!("{c:?}").to_lowercase())
            .unwrap_or_default();
        let flagged = o
            .moderation
            .as_ref()
            .filter(|m| m.verdict != crate::registry::moderation::Verdict::Clean)
            .map(|m| format!("  (its registry: {})", m.describe()))
            .unwrap_or_default();
        let marks = crate::registry::lifecycle::Marks {
            yanked: o.yanked.clone(),
            deprecated: o.deprecated.clone(),
            stage: None,
        };
        let flagged = if marks.is_empty() {
            flagged
        } else {
            format!("{flagged}  ({} {})", o.current, marks.describe())
        };
        crate::printer::out(format!(
            "{:w$}  {:<9}  {:<9}  {:<9}  {change}{flagged}",
            o.name, o.current, o.in_range, o.newest
        ));
    }
    Ok(())
}

pub(super) fn update(opts: &Options, args: UpdateArgs) -> Result<()> {
    if args.rollback {
        return super::selfcli::run(opts, super::selfcli::SelfCommand::Rollback);
    }
    if args.all && !args.dry_run {
        match crate::ops::self_update::registry() {
            Ok(Some(_)) => super::selfcli::update(
                opts,
                super::selfcli::SelfUpdateArgs {
                    check: false,
                    version: None,
                    background: false,
                },
            )?,
            _ => opts.reporter.note(
                "aibox itself is not updated: no self registry is configured (`aibox config set update.registry <url>`)",
            ),
        }
        if matches!(args.profile.target(), crate::ops::Target::Project)
            && crate::ops::find_project(opts).is_err()
        {
            opts.reporter.note(
                "no `aibox.toml` here or above: no project's packs to update (`--global` updates the global profile's)",
            );
            return Ok(());
        }
    }
    if args.self_ || args.check {
        let args = super::selfcli::SelfUpdateArgs {
            check: args.check,
            version: args.version,
            background: false,
        };
        return super::selfcli::update(opts, args);
    }
    if args.auto {
        let a = ops::update::auto(
            opts,
            args.profile.target(),
            &mut confirmer(opts),
            &mut |list: &[ops::update::Outdated]| ask_held(opts.reporter, list),
        )?;
        for (name, old, new) in &a.applied.widened {
            opts.reporter.status(
                "Widened",
                format!("{name} \"{old}\" -> \"{new}\" in aibox.toml"),
            );
        }
        if let Some(installed) = &a.applied.installed {
            super::project::report_install(opts, installed);
            print_changelogs(opts, installed);
        }
        for o in &a.held {
            let change = o
                .change
                .map(|c| format!("{c:?}").to_lowercase())
                .unwrap_or_default();
            opts.reporter
                .status("Held back", ops::update::held_back_line(o, &change));
        }
        return Ok(());
    }
    let u = ops::update::update(
        opts,
        args.profile.target(),
        &args.packs,
        args.major,
        args.dry_run,
        &mut confirmer(opts),
    )?;
    let verb = if args.dry_run {
        "Would widen"
    } else {
        "Widened"
    };
    for (name, old, new) in &u.widened {
        opts.reporter
            .status(verb, format!("{name} \"{old}\" -> \"{new}\" in aibox.toml"));
    }
    if args.dry_run {
        for (verb, what) in &u.changes {
            opts.reporter
                .status(&format!("Would {}", verb.to_lowercase()), what);
        }
        if !u.escalations.is_empty() {
            opts.reporter.warn(format!(
                "these updates ask for more (applying them needs a terminal's yes or `--yes`):\n{}",
                crate::engine::escalation::describe(&u.escalations)
            ));
        }
    }
    if u.changes.is_empty() && u.widened.is_empty() {
        opts.reporter.status(
            "Fresh",
            "every pack is at the newest version its range allows (`--major` goes past it)",
        );
    }
    if let Some(installed) = &u.installed {
        super::project::report_install(opts, installed);
        if !opts.json {
            print_changelogs(opts, installed);
        }
    }
    if opts.json {
        crate::printer::print_json(&serde_json::json!({
            "dry_run": args.dry_run,
            "widened": u.widened.iter().map(|(name, from, to)| serde_json::json!({ "name": name, "from": from, "to": to })).collect::<Vec<_>>(),
            "changes": u.changes.iter().map(|(action, what)| serde_json::json!({ "action": action.to_lowercase(), "what": what })).collect::<Vec<_>>(),
            "escalations": u.escalations.iter().map(|e| e.name.clone()).collect::<Vec<_>>(),
            "sync": u.installed.as_ref().map(super::report::SyncReport::of),
        }));
    }
    Ok(())
}

/// What the updated packs' changelogs say happened since the replaced versions (stdout).
fn print_changelogs(opts: &Options, installed: &crate::engine::install::Installed) {
    let Ok(store) = opts.store() else {
        return;
    };
    for (name, entries) in
        ops::changelog::for_changes(&store, &installed.generation, &installed.diff.changed)
    {
        crate::printer::out(ops::changelog::render(&name, &entries));
    }
}
