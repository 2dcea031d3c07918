//! Shell integration: `aibox completions <shell>` (clap_complete's scripts, generated from the
//! real command-line definition) and `aibox activate <shell>`, a prompt hook that puts the
//! nearest project's environment on `PATH` while the shell is inside that project and takes it
//! off when it leaves. The hook is plain shell; on entering a project with a `.aibox/current`
//! it asks aibox (`activate --bin-for`) which directory to use: the profile's `current/bin` in
//! the user's store when `.aibox/current` is the link aibox made there, else nothing and one
//! warning — a repository's own `.aibox` never reaches PATH. When the project's `aibox.lock`
//! is newer than its last sync (the time of its `.aibox` directory, which every sync sets), the
//! hook asks again once and aibox prints one notice if the lock really differs from the one the
//! environment was made from.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::error::Result;
use crate::ops::Options;
use crate::ops::run::{ShellKind, quote};
use crate::store::state_dir;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum ShellName {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub(super) struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_enum)]
    shell: ShellName,
}

#[derive(Debug, Args)]
pub(super) struct ActivateArgs {
    /// The shell to write the hook for: `eval "$(aibox activate bash)"` in `~/.bashrc`,
    /// `eval "$(aibox activate zsh)"` in `~/.zshrc`, `aibox activate fish | source` in
    /// `config.fish`.
    #[arg(value_enum, required_unless_present = "bin_for")]
    shell: Option<ShellName>,
    /// (What the hook runs on entering a project.) Print the directory to put on PATH for the
    /// project at DIR — its profile's `current/bin` in your store — or nothing, with one
    /// warning, when its `.aibox/current` is not the link aibox made there.
    #[arg(long, hide = true, value_name = "DIR", conflicts_with = "shell")]
    bin_for: Option<PathBuf>,
}

/// Write the completion script of `cmd` (the whole command line) for the shell `args` names.
pub(super) fn completions(args: CompletionsArgs, mut cmd: clap::Command) -> Result<()> {
    let shell = match args.shell {
        ShellName::Bash => clap_complete::Shell::Bash,
        ShellName::Zsh => clap_complete::Shell::Zsh,
        ShellName::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "aibox", &mut script);
    write_stdout(&script)
}

/// Write to stdout; a reader that stopped early (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(crate::error::Error::io("cannot write to stdout", e))
        }
        _ => Ok(()),
    }
}

pub(super) fn activate(opts: &Options, args: ActivateArgs) -> Result<()> {
    if let Some(dir) = &args.bin_for {
        return bin_for(opts, dir);
    }
    let exe = self_path();
    let hook = match args.shell.unwrap_or(ShellName::Bash) {
        ShellName::Bash => posix_hook(&exe) + BASH_INSTALL,
        ShellName::Zsh => posix_hook(&exe) + ZSH_INSTALL,
        ShellName::Fish => FISH_HOOK.replace(EXE, &quote(&exe, ShellKind::Fish)),
    };
    write_stdout(hook.as_bytes())
}

/// The hook's question: which directory, if any, goes on PATH for the project at `dir`. Never
/// an error (the hook runs at a prompt): an untrusted `.aibox` is one warning naming it.
fn bin_for(opts: &Options, dir: &Path) -> Result<()> {
    let shown = dir.join(".aibox/current/bin");
    let answer = opts
        .home
        .layout()
        .ok_or_else(|| "no aibox home: set `AIBOX_HOME` or `HOME`".to_owned())
        .and_then(|layout| {
            let root = crate::fs::canonicalize(dir).map_err(|e| e.to_string())?;
            state_dir::hook_bin(layout, &root).map_err(|e| e.to_string())
        });
    match answer {
        Ok(Some(bin)) => {
            // The lock moved under the environment (never an error at a prompt).
            if let Ok(root) = crate::fs::canonicalize(dir)
                && let Ok(Some(id)) = crate::ops::run::lock_moved(opts, &root)
            {
                opts.reporter.warn(format!(
                    "aibox: `{}` changed since generation {id} was made; run `aibox sync` to bring the environment up to date",
                    root.join(crate::ops::LOCKFILE).display()
                ));
            }
            write_stdout(format!("{}\n", bin.display()).as_bytes())
        }
        Ok(None) => Ok(()),
        Err(reason) => {
            opts.reporter.warn(format!(
                "aibox: not putting `{}` on PATH: {reason}. If this is your project, remove its `.aibox` and run `aibox sync` there; a `.aibox` committed to a repository is never used",
                shown.display()
            ));
            Ok(())
        }
    }
}

/// How the hook calls aibox: the path this aibox was started by when it names one (absolute,
/// links kept, so a link into the `self` profile follows updates), else `aibox` as found on
/// PATH now, else this executable.
fn self_path() -> String {
    let argv0 = std::env::args_os().next().map(PathBuf::from);
    if let Some(p) = argv0.as_ref().filter(|p| p.components().count() > 1)
        && let Ok(abs) = std::path::absolute(p)
    {
        return abs.display().to_string();
    }
    let on_path = crate::env_vars::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .filter(|d| d.is_absolute())
            .map(|d| d.join("aibox"))
            .find(|p| crate::fs::metadata(p).is_ok_and(|m| m.is_file()))
    });
    on_path
        .or_else(|| std::env::current_exe().ok())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "aibox".into())
}

/// Where the hooks call aibox (replaced by its quoted path).
const EXE: &str = "@AIBOX@";

fn posix_hook(exe: &str) -> String {
    POSIX_HOOK.replace(EXE, &quote(exe, ShellKind::Posix))
}

/// bash and zsh: find the nearest `aibox.toml` at or above `$PWD`; when that project has a
/// `.aibox/current` and is not the one handled last (or its `aibox.lock` has become newer than
/// its environment since), ask aibox which directory (if any) to put on PATH, and swap the
/// entry this hook added last for it (never adding one twice). aibox runs only when the
/// project or its lock's freshness changes, not at every prompt.
const POSIX_HOOK: &str = r#"# aibox activate: the nearest project's environment on PATH, if aibox made it.
_aibox_hook() {
  local d="$PWD" root="" key="" bin=""
  while [ -n "$d" ]; do
    if [ -f "$d/aibox.toml" ]; then root="$d"; break; fi
    [ "$d" = / ] && break
    d="${d%/*}"; [ -n "$d" ] || d=/
  done
  if [ -n "$root" ] && { [ -e "$root/.aibox/current" ] || [ -L "$root/.aibox/current" ]; }; then
    key="$root"
  fi
  local state="$key"
  if [ -n "$key" ] && [ "$key/aibox.lock" -nt "$key/.aibox" ]; then state="$key (lock moved)"; fi
  [ "$state" = "${_AIBOX_KEY-}" ] && return 0
  _AIBOX_KEY="$state"
  if [ -n "$key" ]; then bin="$(@AIBOX@ activate --bin-for "$key")" || bin=""; fi
  local p=":$PATH:"
  if [ -n "${_AIBOX_BIN-}" ]; then p="${p//":$_AIBOX_BIN:"/:}"; fi
  if [ -n "$bin" ]; then p="${p//":$bin:"/:}"; p=":$bin$p"; fi
  p="${p#:}"; PATH="${p%:}"
  _AIBOX_BIN="$bin"
  export PATH
}
"#;

const BASH_INSTALL: &str = r#"case ";${PROMPT_COMMAND-};" in
  *";_aibox_hook;"*) ;;
  *) PROMPT_COMMAND="_aibox_hook${PROMPT_COMMAND:+;$PROMPT_COMMAND}" ;;
esac
_aibox_hook
"#;

const ZSH_INSTALL: &str = r#"autoload -Uz add-zsh-hook
add-zsh-hook precmd _aibox_hook
add-zsh-hook chpwd _aibox_hook
_aibox_hook
"#;

const FISH_HOOK: &str = r#"# aibox activate: the nearest project's environment on PATH, if aibox made it.
function _aibox_hook --on-variable PWD --on-event fish_prompt
    set -l d $PWD
    set -l root ""
    while test -n "$d"
        if test -f "$d/aibox.toml"
            set root $d
            break
        end
        test "$d" = / && break
        set d (string replace -r '/[^/]*$' '' -- $d)
        test -n "$d" || set d /
    end
    set -l key ""
    if test -n "$root"; and begin; test -e "$root/.aibox/current"; or test -L "$root/.aibox/current"; end
        set key $root
    end
    set -l state $key
    if test -n "$key"; and test "$key/aibox.lock" -nt "$key/.aibox"
        set state "$key (lock moved)"
    end
    set -q _aibox_key || set -g _aibox_key ""
    set -q _aibox_bin || set -g _aibox_bin ""
    test "$state" = "$_aibox_key" && return 0
    set -g _aibox_key $state
    set -l bin ""
    if test -n "$key"
        set bin (@AIBOX@ activate --bin-for $key)
    end
    if test -n "$_aibox_bin"
        set -l i (contains -i -- $_aibox_bin $PATH) && set -e PATH[$i]
    end
    if test -n "$bin"
        set -l i (contains -i -- $bin $PATH) && set -e PATH[$i]
        set -gx PATH $bin $PATH
    end
    set -g _aibox_bin $bin
end
_aibox_hook
"#;
