//! `aibox run` and `aibox env`.

use clap::{Args, ValueEnum};

use crate::error::Result;
use crate::ops::{self, Options};
use crate::printer;

use super::generations::ProfileArg;

#[derive(Debug, Args)]
#[command(trailing_var_arg = true)]
pub struct RunArgs {
    #[command(flatten)]
    profile: ProfileArg,
    /// The command and its arguments (after `--`).
    #[arg(required = true, allow_hyphen_values = true, value_name = "CMD")]
    command: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Json,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    #[command(flatten)]
    profile: ProfileArg,
    /// Output format: shell code to `eval` (bash, zsh, fish), or JSON (also `--json`).
    #[arg(long, value_enum, default_value_t = Shell::Bash)]
    shell: Shell,
}

pub fn run(opts: &Options, args: RunArgs) -> Result<()> {
    ops::run::run(opts, args.profile.target(), &args.command)
}

pub fn env(opts: &Options, args: EnvArgs) -> Result<()> {
    let env = ops::run::environment(opts, args.profile.target())?;
    for (name, (pack, description)) in &env.missing {
        printer::warn(format!(
            "`{name}` is required by `{pack}` and not set: {description}"
        ));
    }
    use ops::run::{ShellKind, render};
    match args.shell {
        _ if opts.json => super::print_json(&env),
        Shell::Json => super::print_json(&env),
        Shell::Fish => print!("{}", render(&env, ShellKind::Fish)?),
        Shell::Bash | Shell::Zsh => print!("{}", render(&env, ShellKind::Posix)?),
    }
    Ok(())
}
