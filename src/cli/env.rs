//! `aibox run` and `aibox env`.

use clap::{Args, ValueEnum};

use crate::engine::lock::LockPolicy;
use crate::error::Result;
use crate::ops::sync::SyncOutcome;
use crate::ops::{self, Options, Target};

use super::generations::ProfileArg;

#[derive(Debug, Args)]
#[command(trailing_var_arg = true)]
pub(super) struct RunArgs {
    #[command(flatten)]
    profile: ProfileArg,
    /// Run in the environment as it is: do not sync a project whose lock or manifest changed.
    #[arg(long)]
    no_sync: bool,
    /// Sync exactly `aibox.lock` first (never resolve, never write it), as `sync --frozen`.
    #[arg(long, conflicts_with = "no_sync")]
    frozen: bool,
    /// The command and its arguments (after `--`).
    #[arg(required = true, allow_hyphen_values = true, value_name = "CMD", value_parser = clap::value_parser!(std::ffi::OsString))]
    command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum Shell {
    Bash,
    Zsh,
    Fish,
    Json,
}

#[derive(Debug, Args)]
#[command(trailing_var_arg = true)]
pub(super) struct XArgs {
    /// The pack to run: `name` or `name@REQ` (`ruff@0.6`, `hello@=1.0.0`).
    #[arg(value_name = "PACK[@REQ]")]
    pack: String,
    /// The registry to take it from (default: the one `aibox install <pack> --registry <url>` remembered).
    #[arg(long, value_name = "URL")]
    registry: Option<String>,
    /// The command to run, when it is not named like the pack.
    #[arg(long, value_name = "COMMAND")]
    bin: Option<String>,
    /// Lock again to the newest version the request allows (the first run locks; later runs
    /// reuse that lock).
    #[arg(long)]
    upgrade: bool,
    /// The command's arguments (after `--`).
    #[arg(allow_hyphen_values = true, value_name = "ARGS", value_parser = clap::value_parser!(std::ffi::OsString))]
    args: Vec<std::ffi::OsString>,
}

/// `aibox x`: a one-off environment, synced, then the command run in it.
pub(super) fn x(opts: &Options, args: XArgs) -> Result<()> {
    let one = ops::x::prepare(opts, &args.pack, args.registry.as_deref(), args.upgrade)?;
    if let Some(installed) = &one.synced {
        super::project::report_install(&one.opts, installed);
    }
    let command = args.bin.clone().unwrap_or_else(|| one.pack.clone());
    let commands = ops::x::commands(&one)?;
    if !commands.contains(&command) {
        let err =
            crate::error::Error::msg(format!("`{}` provides no command `{command}`", one.pack));
        return Err(if commands.is_empty() {
            err.with_hint("it has no commands to run")
        } else {
            err.with_hint(format!(
                "its commands: {}; name one with `--bin <command>`",
                commands.join(", ")
            ))
        });
    }
    let mut argv = vec![std::ffi::OsString::from(command)];
    argv.extend(args.args);
    ops::run::run(&one.opts, Target::Project, &argv, None)
}

#[derive(Debug, Args)]
pub(super) struct EnvArgs {
    #[command(flatten)]
    profile: ProfileArg,
    /// Output format: shell code to `eval` (bash, zsh, fish), or JSON (also `--json`).
    #[arg(long, value_enum, default_value_t = Shell::Bash)]
    shell: Shell,
}

pub(super) fn run(opts: &Options, args: RunArgs) -> Result<()> {
    let target = args.profile.target();
    // Like `uv run`: a stale or never-synced project is synced first (a no-op when fresh).
    if target == Target::Project && !args.no_sync {
        let policy = if args.frozen {
            LockPolicy::Frozen
        } else {
            LockPolicy::Update
        };
        // A sync that cannot happen (offline, a read-only home, a bad edit) stops the command
        // only when the current environment lacks it: what is there was verified when made.
        let failed = match ops::sync::sync(opts, target, policy) {
            Ok(SyncOutcome::Installed(installed)) => {
                super::project::report_install(opts, &installed);
                None
            }
            Ok(SyncOutcome::UpToDate { .. }) => None,
            Err(e) => Some(e),
        };
        return ops::run::run(opts, target, &args.command, failed);
    }
    ops::run::run(opts, target, &args.command, None)
}

pub(super) fn env(opts: &Options, args: EnvArgs) -> Result<()> {
    let env = ops::run::environment(opts, args.profile.target())?;
    for (name, (pack, description)) in &env.missing {
        opts.reporter.warn(format!(
            "`{name}` is required by `{pack}` and not set: {description}"
        ));
    }
    use ops::run::{ShellKind, render};
    match args.shell {
        _ if opts.json => crate::printer::print_json(&env),
        Shell::Json => crate::printer::print_json(&env),
        Shell::Fish => crate::printer::data(render(&env, ShellKind::Fish)?),
        Shell::Bash | Shell::Zsh => crate::printer::data(render(&env, ShellKind::Posix)?),
    }
    Ok(())
}
