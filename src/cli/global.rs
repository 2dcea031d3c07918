//! `aibox install`, `uninstall`, `list`: the user's global profile.

use clap::Args;

use crate::error::Result;
use crate::ops::edit::AddOptions;
use crate::ops::{self, Options, Target};

#[derive(Debug, Args)]
pub(super) struct InstallArgs {
    /// Packs to install: `name`, `name@21`, `name@^1.2`, …
    #[arg(required = true, value_name = "PACK[@REQ]")]
    packs: Vec<String>,
    /// The registry to install from (required the first time; then remembered).
    #[arg(long, value_name = "URL")]
    registry: Option<String>,
    /// Install agent skills (`[skills]`): each is linked into the user-level skills folder
    /// of every agent in the global profile's `agents` (default `~/.agents/skills`).
    #[arg(long)]
    skill: bool,
    /// Add this agent to the global profile's `agents` (repeatable): `claude-code`, `codex`,
    /// `cursor`, … (`aibox doctor` lists the folders).
    #[arg(long = "agent", value_name = "AGENT")]
    agents: Vec<String>,
}

#[derive(Debug, Args)]
pub(super) struct UninstallArgs {
    /// Packs to uninstall.
    #[arg(required = true, value_name = "PACK")]
    packs: Vec<String>,
}

pub(super) fn install(opts: &Options, args: InstallArgs) -> Result<()> {
    let outcome = ops::edit::install_global(
        opts,
        &args.packs,
        args.registry.as_deref(),
        &AddOptions {
            section: if args.skill {
                crate::manifest::Section::Skills
            } else {
                crate::manifest::Section::Packs
            },
            agents: args.agents.clone(),
            no_sync: false,
            registry: None,
        },
    )?;
    super::project::report_edit(opts, &outcome);
    Ok(())
}

pub(super) fn uninstall(opts: &Options, args: UninstallArgs) -> Result<()> {
    let outcome = ops::edit::remove(opts, Target::Global, &args.packs, false)?;
    super::project::report_edit(opts, &outcome);
    Ok(())
}
