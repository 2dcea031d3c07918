//! Output discipline: stdout carries data only; progress, status and warnings go to stderr
//! through a [`Reporter`] passed down from the CLI (no global state). `--quiet` silences
//! status, progress bars show only on a terminal outside CI, `NO_COLOR` and `--color` are
//! honored.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Write data to stdout (`crate::outln!` and `crate::out!` call this). A closed pipe
/// (`aibox list | head -1`) ends the process quietly with status 0, as ripgrep and uv do; any
/// other failure to write ends it with an error, status 1.
pub fn data(args: std::fmt::Arguments<'_>, newline: bool) {
    let mut out = std::io::stdout().lock();
    let written = out.write_fmt(args).and_then(|()| {
        if newline {
            out.write_all(b"\n")
        } else {
            Ok(())
        }
    });
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0); // as if the reader had read it all
        }
        let _ = writeln!(std::io::stderr(), "error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// Write to stderr, ignoring failures: a closed stderr (`aibox sync 2>&1 | head -1`) must not
/// stop the work it reports on.
pub fn diagnostic(args: std::fmt::Arguments<'_>, newline: bool) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(args);
    if newline {
        let _ = err.write_all(b"\n");
    }
}

/// One line of data on stdout (see [`data`]).
#[macro_export]
macro_rules! outln {
    () => { $crate::printer::data(format_args!(""), true) };
    ($($arg:tt)*) => { $crate::printer::data(format_args!($($arg)*), true) };
}

/// Data on stdout without a newline (see [`data`]).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::printer::data(format_args!($($arg)*), false) };
}

/// One line on stderr (see [`diagnostic`]).
macro_rules! diag {
    ($($arg:tt)*) => { diagnostic(format_args!($($arg)*), true) };
}

/// A question on stderr, without a newline, flushed (the answer is read from stdin).
pub fn ask(question: &str) {
    diagnostic(format_args!("{question}"), false);
    let _ = std::io::stderr().flush();
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
    /// The reporter the global flags ask for: colors and bars only on a terminal, bars never
    /// in CI (`CI` set) or with `--quiet`, no colors with `NO_COLOR` unless `--color always`.
    pub fn new(quiet: bool, verbose: u8, color: ColorChoice) -> Reporter {
        let tty = std::io::stderr().is_terminal();
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && !no_color,
        };
        Reporter {
            quiet,
            verbose,
            color,
            bars: tty && !ci && !quiet,
        }
    }

    /// Whether status output is silenced (callers skip building costly messages then).
    pub fn is_quiet(&self) -> bool {
        self.quiet
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
            diag!(
                "{} {}",
                self.paint("1;32", &format!("{verb:>12}")),
                message.as_ref()
            );
        }
    }

    /// A detail shown only with `--verbose`.
    pub fn verbose(&self, message: impl AsRef<str>) {
        if self.verbose >= 1 {
            diag!(
                "{} {}",
                self.paint("2", &format!("{:>12}", "debug")),
                message.as_ref()
            );
        }
    }

    /// A request or cache decision, shown only with `-vv`.
    pub fn trace(&self, message: impl AsRef<str>) {
        if self.verbose >= 2 {
            diag!(
                "{} {}",
                self.paint("2", &format!("{:>12}", "trace")),
                message.as_ref()
            );
        }
    }

    /// A warning on stderr; shown even with `--quiet`.
    pub fn warn(&self, message: impl AsRef<str>) {
        diag!("{} {}", self.paint("1;33", "warning:"), message.as_ref());
    }

    /// A notice on stderr (`note: …`), such as an available update; silenced by `--quiet`.
    pub fn note(&self, message: impl AsRef<str>) {
        if !self.quiet {
            diag!("{} {}", self.paint("1;36", "note:"), message.as_ref());
        }
    }

    /// Print the final user-facing error.
    pub fn error(&self, rendered: &str) {
        let mut lines = rendered.lines();
        if let Some(first) = lines.next() {
            match first.strip_prefix("error:") {
                Some(rest) => diag!("{}{rest}", self.paint("1;31", "error:")),
                None => diag!("{first}"),
            }
        }
        for line in lines {
            match line.strip_prefix("hint:") {
                Some(rest) => diag!("{}{rest}", self.paint("1;36", "hint:")),
                None => diag!("{line}"),
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
