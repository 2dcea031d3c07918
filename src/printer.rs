//! Output discipline: stdout carries data only; progress, status and warnings go to stderr
//! through a [`Reporter`] passed down from the CLI (no global state). `--quiet` silences
//! status, progress bars show only on a terminal outside CI, `NO_COLOR` and `--color` are
//! honored.
//!
//! Text from packs and registries (descriptions, changelogs, hook output, names in messages)
//! can hold terminal escape sequences: a clipboard write (`ESC ]52;…`), a line erased and
//! rewritten. Everything printed for people goes through [`visible`] here, whatever
//! `--color` says: stderr through the [`Reporter`], stdout through [`out`]. Only data meant
//! for programs — JSON (which escapes control characters itself), shell code, generated
//! files — is written as is, through [`data`]. Nothing else in the crate prints
//! (`clippy.toml` disallows the print macros outside this module). A reader of stdout that
//! went away (`aibox list | head -1`) ends the process quietly with status 0, as ripgrep and
//! uv do; a closed stderr never stops the work it reports on.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Write to stderr, ignoring failures (a closed stderr must not stop the work it reports on).
fn diag(args: std::fmt::Arguments<'_>, newline: bool) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(args);
    if newline {
        let _ = err.write_all(b"\n");
    }
    let _ = err.flush();
}

/// One line on stderr through [`diag`].
macro_rules! diagln {
    ($($arg:tt)*) => { diag(format_args!($($arg)*), true) };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// Where progress, status lines and warnings go, and how they look: made once by the CLI from
/// the global flags and passed down (in `ops::Options`, `registry::SourceOptions` and the
/// store's `Store` handle) to everything that reports. The default prints plain status
/// lines and warnings to stderr, with no colors, bars or debug output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reporter {
    quiet: bool,
    /// `-v` once: details; twice: every request and cache decision.
    verbose: u8,
    color: bool,
    bars: bool,
}

impl Reporter {
    /// The reporter the global flags ask for: colors and bars only on a terminal, and neither
    /// with `NO_COLOR` or in CI (`CI` set) — colors still with `--color always`; no bars with
    /// `--quiet`.
    pub fn new(quiet: bool, verbose: u8, color: ColorChoice) -> Reporter {
        let tty = std::io::stderr().is_terminal();
        let ci = crate::env_vars::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
        let no_color = crate::env_vars::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && !no_color && !ci,
        };
        Reporter {
            quiet,
            verbose,
            color,
            bars: tty && !ci && !no_color && !quiet,
        }
    }

    /// A question on stderr, without a line break (the answer is typed after it).
    pub fn prompt(&self, question: impl AsRef<str>) {
        diag(format_args!("{}", visible(question.as_ref())), false);
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// A status line on stderr: `    Verb message` (cargo style), silenced by `--quiet`.
    pub fn status(&self, verb: &str, message: impl AsRef<str>) {
        if !self.quiet {
            diagln!(
                "{} {}",
                self.paint("1;32", &format!("{verb:>12}")),
                visible(message.as_ref())
            );
        }
    }

    /// A detail shown only with `--verbose`.
    pub fn verbose(&self, message: impl AsRef<str>) {
        if self.verbose >= 1 {
            diagln!(
                "{} {}",
                self.paint("2", &format!("{:>12}", "debug")),
                visible(message.as_ref())
            );
        }
    }

    /// A request or cache decision, shown only with `-vv`.
    pub fn trace(&self, message: impl AsRef<str>) {
        if self.verbose >= 2 {
            diagln!(
                "{} {}",
                self.paint("2", &format!("{:>12}", "trace")),
                visible(message.as_ref())
            );
        }
    }

    /// A warning on stderr; silenced by `--quiet` (which prints only errors and data).
    pub fn warn(&self, message: impl AsRef<str>) {
        if !self.quiet {
            diagln!(
                "{} {}",
                self.paint("1;33", "warning:"),
                visible(message.as_ref())
            );
        }
    }

    /// A notice on stderr (`note: …`), such as an available update; silenced by `--quiet`.
    pub fn note(&self, message: impl AsRef<str>) {
        if !self.quiet {
            diagln!(
                "{} {}",
                self.paint("1;36", "note:"),
                visible(message.as_ref())
            );
        }
    }

    /// Print the final user-facing error.
    pub fn error(&self, rendered: &str) {
        let rendered = visible(rendered);
        let mut lines = rendered.lines();
        if let Some(first) = lines.next() {
            match (
                first.strip_prefix("error:"),
                first.strip_prefix("internal error:"),
            ) {
                (Some(rest), _) => diagln!("{}{rest}", self.paint("1;31", "error:")),
                (_, Some(rest)) => diagln!("{}{rest}", self.paint("1;31", "internal error:")),
                _ => diagln!("{first}"),
            }
        }
        for line in lines {
            match line.strip_prefix("hint:") {
                Some(rest) => diagln!("{}{rest}", self.paint("1;36", "hint:")),
                None => diagln!("{line}"),
            }
        }
    }

    /// A progress bar for `len` units of work (bytes when `bytes`), hidden when not on a
    /// terminal, in CI or with `--quiet`.
    pub fn progress(&self, len: u64, message: &str, bytes: bool) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(
            Some(len),
            if self.bars {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        let template = if bytes {
            "{prefix:>12.cyan.bold} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg}"
        } else {
            "{prefix:>12.cyan.bold} [{bar:30}] {pos}/{len} {msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(message.to_owned());
        bar
    }
}

/// Write to stdout. A closed pipe ends the process quietly with status 0 (the reader has all
/// it wanted); any other failure to write ends it with an error, status 1.
fn write_stdout(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        diag(format_args!("error: cannot write to stdout: {e}"), true);
        std::process::exit(1);
    }
}

/// Whether `c` must be shown escaped: control characters (C0 but line feed and tab, DEL, C1)
/// and the invisible bidirectional controls that reorder what a line appears to say.
pub fn is_hidden(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every control character made visible: ESC as `\e`, other C0 characters and DEL
/// as `\x07`, C1 and bidirectional controls as `\u{9b}`. Line feeds and tabs stay (a CR LF
/// line ending becomes a line feed); everything else is unchanged.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\t' => out.push(c),
            '\x1b' => out.push_str("\\e"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_hidden(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A line of output for people on stdout, control characters made visible ([`visible`]). A
/// reader that went away (`| head`) ends the process quietly.
pub fn out(line: impl AsRef<str>) {
    let mut text = visible(line.as_ref()).into_owned();
    text.push('\n');
    write_stdout(text.as_bytes());
}

/// Print a value as pretty JSON on stdout (see [`json`]).
pub fn print_json(value: &impl serde::Serialize) {
    data(format!("{}\n", json(value)));
}

/// `value` as pretty JSON for stdout: exact values, with every control character escaped —
/// JSON itself escapes those below U+0020; DEL, the C1 controls and the direction overrides
/// (which can only occur inside strings) are written as `\uXXXX` too.
pub fn json(value: &impl serde::Serialize) -> String {
    let text = serde_json::to_string_pretty(value).expect("output serializes");
    if !text.chars().any(is_hidden) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_hidden(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// `value` as one line of JSON (a JSON-lines record), escaped as [`json`] escapes.
pub fn json_line(value: &impl serde::Serialize) -> String {
    let text = serde_json::to_string(value).expect("output serializes");
    let mut out = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if is_hidden(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Data for programs on stdout, byte for byte (JSON, shell code, a generated file).
pub fn data(text: impl AsRef<str>) {
    write_stdout(text.as_ref().as_bytes());
}

/// A byte count for people (`1.5 MiB`).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::visible;

    #[test]
    fn control_characters_are_made_visible() {
        assert_eq!(visible("plain\ttext\nnext line"), "plain\ttext\nnext line");
        assert!(matches!(visible("plain"), std::borrow::Cow::Borrowed(_)));
        // A clipboard write and an erased line.
        assert_eq!(
            visible("a\x1b]52;c;SGVsbG8=\x07b\x1b[2K\x1b[1A"),
            "a\\e]52;c;SGVsbG8=\\x07b\\e[2K\\e[1A"
        );
        assert_eq!(visible("line\r\nnext\rover"), "line\nnext\\x0dover");
        assert_eq!(visible("\x00\x7f\u{9b}31m"), "\\x00\\x7f\\u{9b}31m");
        assert_eq!(visible("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(visible("é ✓ 漢字"), "é ✓ 漢字");
    }

    #[test]
    fn json_escapes_every_control_character_and_keeps_the_value() {
        let value = serde_json::json!({"d": "a\x1b[2K\x7f\u{9b}1m\u{202e}b\n"});
        let text = super::json(&value);
        assert!(!text.chars().any(super::is_hidden), "{text}");
        assert!(
            text.contains("\\u001b[2K\\u007f\\u009b1m\\u202eb\\n"),
            "{text}"
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            value
        );
    }
}
