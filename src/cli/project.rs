//! `aibox init`, `add`, `remove`, `lock`, `sync`.

use std::path::PathBuf;

use clap::Args;

use crate::engine::install::Installed;
use crate::engine::lock::{LockPolicy, StaleLock, Upgrade, ensure_lock};
use crate::engine::project::ProjectState;
use crate::error::Result;
use crate::ops::edit::{AddOptions, EditOutcome};
use crate::ops::sync::{SyncOutcome, target_root};
use crate::ops::{self, Options, Target};

#[derive(Debug, Args)]
pub(super) struct InitArgs {
    /// Directory to create `aibox.toml` in (default: the current directory).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The default registry: `oci://host/base`, `oci-layout:<dir>` or `dir:<dir>`.
    #[arg(long, value_name = "URL")]
    registry: Option<String>,
    /// Add the standard aqua registry (its tools by their names: `aibox add ripgrep`): the
    /// default registry, or `aqua` beside the one `--registry` names.
    #[arg(long)]
    aqua: bool,
}

#[derive(Debug, Args)]
pub(super) struct AddArgs {
    /// Packs to add: `name`, `name@21` (latest 21.x.x), `name@21.0.2`, `name@^1.2`, `name@latest`.
    #[arg(required = true, value_name = "PACK[@REQ]")]
    packs: Vec<String>,
    /// Add to `[plugins]` instead of `[packs]`.
    #[arg(long, conflicts_with = "skill")]
    plugin: bool,
    /// Add agent skills to `[skills]`: each is linked into the skills folder of every agent
    /// the project lists in `agents` (default `.agents/skills`).
    #[arg(long)]
    skill: bool,
    /// Add this agent to the project's `agents` (repeatable): `claude-code`, `codex`,
    /// `cursor`, `gemini-cli`, `openclaw`, … (the guide lists them).
    #[arg(long = "agent", value_name = "AGENT")]
    agents: Vec<String>,
    /// Take the packs from this registry of the project (a key of `[registries]`, or its
    /// URL) instead of the default one: written as `{ version = …, registry = … }`.
    #[arg(long, value_name = "REGISTRY")]
    registry: Option<String>,
    /// Update `aibox.toml` and `aibox.lock` but do not sync the environment.
    #[arg(long)]
    no_sync: bool,
}

#[derive(Debug, Args)]
pub(super) struct RemoveArgs {
    /// Packs or plugins to remove.
    #[arg(required = true, value_name = "PACK")]
    packs: Vec<String>,
    /// Update `aibox.toml` and `aibox.lock` but do not sync the environment.
    #[arg(long)]
    no_sync: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(super) struct LockArgs {
    #[command(subcommand)]
    action: Option<LockAction>,
    /// Move every pack to the newest version its request allows.
    #[arg(long, conflicts_with = "upgrade_package")]
    upgrade: bool,
    /// Move this pack to the newest version its request allows (repeatable).
    #[arg(long, short = 'P', value_name = "PACK")]
    upgrade_package: Vec<String>,
    /// Exit with code 3 if `aibox.lock` is missing or out of date; write nothing.
    #[arg(long)]
    check: bool,
}

#[derive(Debug, Default, Args)]
pub(super) struct SyncArgs {
    /// Fail (exit code 3) if `aibox.lock` is missing or would change.
    #[arg(long, conflicts_with = "frozen")]
    locked: bool,
    /// Use `aibox.lock` as it is: never resolve, never write it.
    #[arg(long)]
    frozen: bool,
    /// Fetch locked packs from this mirror first (`oci-layout:<dir>` or `oci://…`, e.g. what
    /// `aibox vendor` wrote); repeatable. Content is checked against the lock exactly as from
    /// the origin, and `aibox.toml`/`aibox.lock` are not touched. Also `AIBOX_MIRROR`
    /// (space-separated) and `mirrors` in the user configuration.
    #[arg(long = "mirror", value_name = "SOURCE")]
    mirrors: Vec<String>,
}

pub(super) fn init(opts: &Options, args: InitArgs) -> Result<()> {
    ops::edit::init(opts, &args.dir, args.registry.as_deref(), args.aqua)
}

pub(super) fn add(opts: &Options, args: AddArgs) -> Result<()> {
    use crate::manifest::Section;
    let how = AddOptions {
        section: match (args.plugin, args.skill) {
            (true, _) => Section::Plugins,
            (_, true) => Section::Skills,
            _ => Section::Packs,
        },
        agents: args.agents,
        no_sync: args.no_sync,
        registry: args.registry,
    };
    let outcome = ops::edit::add(opts, Target::Project, &args.packs, &how)?;
    report_edit(opts, &outcome);
    Ok(())
}

pub(super) fn remove(opts: &Options, args: RemoveArgs) -> Result<()> {
    let outcome = ops::edit::remove(opts, Target::Project, &args.packs, args.no_sync)?;
    report_edit(opts, &outcome);
    Ok(())
}

pub(super) fn report_edit(opts: &Options, outcome: &EditOutcome) {
    for c in &outcome.changed {
        opts.reporter.verbose(format!("locked {c}"));
    }
    if let Some(installed) = &outcome.installed {
        report_install(opts, installed);
    }
    if opts.json {
        crate::printer::print_json(&super::report::EditReport {
            locked: outcome.changed.clone(),
            sync: outcome
                .installed
                .as_ref()
                .map(super::report::SyncReport::of),
        });
    }
}

#[derive(Debug, clap::Subcommand)]
enum LockAction {
    /// Git's merge driver for `aibox.lock`: merge two branches' locks package by package into
    /// OURS (what only one side changed is taken from it; what both changed keeps the newer
    /// version). `aibox init` registers it; by hand: `git config merge.aibox.driver "aibox
    /// lock merge %O %A %B"` and `aibox.lock merge=aibox` in `.gitattributes`.
    Merge {
        /// The common ancestor's lock (git's `%O`; it may be empty).
        base: PathBuf,
        /// Our lock (git's `%A`): the merged lock is written here.
        ours: PathBuf,
        /// Their lock (git's `%B`).
        theirs: PathBuf,
    },
}

pub(super) fn lock(opts: &Options, args: LockArgs) -> Result<()> {
    if let Some(LockAction::Merge { base, ours, theirs }) = &args.action {
        let merged = crate::engine::lock::merge_files(base, ours, theirs)?;
        for name in &merged.both_changed {
            opts.reporter.warn(format!(
                "both branches changed `{name}` in `aibox.lock`: the newer version was kept; run `aibox lock` once `aibox.toml` is merged"
            ));
        }
        for (name, source) in &merged.left_out {
            opts.reporter.warn(format!(
                "`{name}` was locked from `{source}`, a release of its registry the other branch moved away from: it is left out of `aibox.lock`; run `aibox lock` once `aibox.toml` is merged to lock it from the release `aibox.toml` names"
            ));
        }
        if opts.json {
            crate::printer::print_json(&serde_json::json!({
                "merged": ours,
                "both_changed": merged.both_changed,
                "left_out": merged.left_out.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            }));
        }
        return Ok(());
    }
    let root = target_root(opts, Target::Project)?;
    let state = ProjectState::read_salvaging(&root, opts.reporter)?;
    let upgrade = if args.upgrade {
        Upgrade::All
    } else if !args.upgrade_package.is_empty() {
        Upgrade::Packages(args.upgrade_package.clone())
    } else {
        Upgrade::None
    };
    let policy = if args.check {
        LockPolicy::Locked
    } else {
        LockPolicy::Update
    };
    let outcome = ensure_lock(&state, opts, policy, &upgrade, true).map_err(|e| {
        // Only the stale lock is reported as `--check`'s; other errors keep their own codes.
        match e.downcast_ref::<StaleLock>() {
            Some(stale) if args.check => StaleLock {
                flag: "--check",
                ..stale.clone()
            }
            .into(),
            _ => e,
        }
    })?;
    if !outcome.written {
        opts.reporter
            .status("Unchanged", "`aibox.lock` is up to date");
    }
    if opts.json {
        let packages: Vec<_> = outcome
            .lock
            .packages
            .iter()
            .map(|p| serde_json::json!({ "name": p.name, "version": p.version.to_string(), "source": p.source }))
            .collect();
        crate::printer::print_json(&serde_json::json!({
            "lock": root.join(crate::ops::LOCKFILE),
            "written": outcome.written,
            "resolved": outcome.resolved,
            "packages": packages,
        }));
    }
    Ok(())
}

pub(super) fn sync(opts: &Options, args: SyncArgs) -> Result<()> {
    run_sync(opts, Target::Project, &args)
}

pub(super) fn run_sync(opts: &Options, target: Target, args: &SyncArgs) -> Result<()> {
    let opts = &Options {
        mirrors: args.mirrors.clone(),
        ..opts.clone()
    };
    let policy = if args.frozen {
        LockPolicy::Frozen
    } else if args.locked {
        LockPolicy::Locked
    } else {
        LockPolicy::Update
    };
    let report = match ops::sync::sync(opts, target, policy)? {
        SyncOutcome::UpToDate { generation } => {
            opts.reporter.status(
                "Fresh",
                format!("generation {generation} already matches `aibox.lock`"),
            );
            super::report::SyncReport::fresh(generation)
        }
        SyncOutcome::Installed(installed) => {
            report_install(opts, &installed);
            super::report::SyncReport::of(&installed)
        }
    };
    if opts.json {
        crate::printer::print_json(&report);
    }
    Ok(())
}

pub(super) fn report_install(opts: &Options, installed: &Installed) {
    let g = &installed.generation;
    if installed.fetched > 0 {
        opts.reporter
            .status("Fetched", format!("{} packs", installed.fetched));
    }
    for (name, v) in &installed.diff.added {
        opts.reporter.status("Added", format!("{name} {v}"));
    }
    for (name, v) in &installed.diff.removed {
        opts.reporter.status("Removed", format!("{name} {v}"));
    }
    for (name, old, new) in &installed.diff.changed {
        let older = match (
            semver::Version::parse(old).ok(),
            semver::Version::parse(new).ok(),
        ) {
            (Some(o), Some(n)) => n < o,
            _ => false,
        };
        if old == new {
            opts.reporter
                .status("Changed", format!("{name} {old} (new content)"));
        } else if older {
            opts.reporter
                .status("Downgraded", format!("{name} {old} -> {new}"));
        } else {
            opts.reporter
                .status("Updated", format!("{name} {old} -> {new}"));
        }
    }
    if installed.switched {
        opts.reporter.status(
            "Switched",
            format!(
                "to generation {} ({} packs; previous: {})",
                g.id,
                g.packs.len(),
                g.parent.map_or("none".into(), |p| p.to_string())
            ),
        );
    } else {
        opts.reporter.status(
            "Fresh",
            format!("generation {} already matches `aibox.lock`", g.id),
        );
    }
}
