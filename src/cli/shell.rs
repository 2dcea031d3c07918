//! Shell integration: `aibox completions <shell>` (clap_complete's scripts, generated from the
//! real command-line definition) and `aibox activate <shell>`, a prompt hook that puts the
//! nearest project's `.aibox/current/bin` on `PATH` while the shell is inside that project and
//! takes it off when it leaves. The hook is plain shell: no process is started per prompt.

use clap::{Args, CommandFactory, ValueEnum};

use crate::error::Result;

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
    #[arg(value_enum)]
    shell: ShellName,
}

pub(super) fn completions(args: CompletionsArgs) -> Result<()> {
    let mut cmd = super::Cli::command();
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

pub(super) fn activate(args: ActivateArgs) -> Result<()> {
    let hook = match args.shell {
        ShellName::Bash => POSIX_HOOK.to_owned() + BASH_INSTALL,
        ShellName::Zsh => POSIX_HOOK.to_owned() + ZSH_INSTALL,
        ShellName::Fish => FISH_HOOK.to_owned(),
    };
    write_stdout(hook.as_bytes())
}

/// bash and zsh: find the nearest `aibox.toml` at or above `$PWD`; swap the `PATH` entry this
/// hook added last for that project's `bin` (never adding one twice).
const POSIX_HOOK: &str = r#"# aibox activate: the nearest project's .aibox/current/bin on PATH.
_aibox_hook() {
  local d="$PWD" bin=""
  while [ -n "$d" ]; do
    if [ -f "$d/aibox.toml" ]; then bin="$d/.aibox/current/bin"; break; fi
    [ "$d" = / ] && break
    d="${d%/*}"; [ -n "$d" ] || d=/
  done
  [ "$bin" = "${_AIBOX_BIN-}" ] && return 0
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

const FISH_HOOK: &str = r#"# aibox activate: the nearest project's .aibox/current/bin on PATH.
function _aibox_hook --on-variable PWD
    set -l d $PWD
    set -l bin ""
    while test -n "$d"
        if test -f "$d/aibox.toml"
            set bin "$d/.aibox/current/bin"
            break
        end
        test "$d" = / && break
        set d (string replace -r '/[^/]*$' '' -- $d)
        test -n "$d" || set d /
    end
    set -q _aibox_bin || set -g _aibox_bin ""
    test "$bin" = "$_aibox_bin" && return 0
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
