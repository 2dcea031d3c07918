//! The user-facing error at the edge: any typed module error plus `hint:` lines, rendered once
//! by `main`. Modules keep their own `thiserror` enums and implement [`Hint`].

use std::fmt;

/// The process exit codes (documented in `aibox --help` and the guide).
pub mod exit {
    /// The command did what was asked.
    pub const SUCCESS: i32 = 0;
    /// Any error.
    pub const FAILURE: i32 = 1;
    /// The command line could not be parsed (clap's usage errors).
    pub const USAGE: i32 = 2;
    /// `aibox.lock` is missing or out of date under `sync --locked` or `lock --check`; no other
    /// failure uses this code.
    pub const STALE_LOCK: i32 = 3;
    /// A pack, plugin or skill the trust policy (or a Rego policy) refuses, or what needs
    /// consent (a version that may do more, a suspicious skill) without it; no other failure
    /// uses this code.
    pub const POLICY: i32 = 4;
}

/// Extra advice a typed error can offer the user ("what to do"), and its exit code.
pub trait Hint {
    fn hints(&self) -> Vec<String> {
        Vec::new()
    }

    fn exit_code(&self) -> i32 {
        exit::FAILURE
    }
}

/// The one error type that crosses into `cli`: a typed cause and its hints.
pub struct Error {
    inner: Box<dyn std::error::Error + Send + Sync + 'static>,
    hints: Vec<String>,
    exit_code: i32,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

/// A message with its cause.
#[derive(Debug)]
struct WithSource {
    context: String,
    source: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl fmt::Display for WithSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.context)
    }
}

impl std::error::Error for WithSource {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// The failure of a command whose output already says what failed (`doctor`'s failed checks,
/// `plugin verify`'s corrupt plugins): under `--json` that output is the one document on
/// stdout, so no JSON error follows it.
#[derive(Debug)]
pub struct ShownInOutput(pub String);

impl fmt::Display for ShownInOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ShownInOutput {}

impl Error {
    /// A failure the command's output already shows ([`ShownInOutput`]).
    pub fn shown_in_output(message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(ShownInOutput(message.into())),
            hints: Vec::new(),
            exit_code: exit::FAILURE,
        }
    }

    /// An error from a plain message (for checks made at the operation level).
    pub fn msg(message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Message(message.into())),
            hints: Vec::new(),
            exit_code: exit::FAILURE,
        }
    }

    /// An I/O failure while doing `context` ("cannot write `aibox.lock`"): the cause is kept
    /// (shown as `caused by:`) and the hints for I/O failures users can act on (disk full,
    /// permission denied) are added.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        let hints = io_hints(&source);
        Error {
            inner: Box::new(WithSource {
                context: context.into(),
                source: Box::new(source),
            }),
            hints,
            exit_code: exit::FAILURE,
        }
    }

    /// A message with a typed cause kept as its source.
    pub fn with_source(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        let mut hints = Vec::new();
        if let Some(io) = find_io(&source) {
            hints.extend(io_hints(io));
        }
        Error {
            inner: Box::new(WithSource {
                context: context.into(),
                source: Box::new(source),
            }),
            hints,
            exit_code: exit::FAILURE,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Use a different process exit code (see [`exit`]).
    pub fn with_exit_code(mut self, code: i32) -> Self {
        self.exit_code = code;
        self
    }

    pub fn exit_code(&self) -> i32 {
        self.exit_code
    }

    pub fn hints(&self) -> &[String] {
        &self.hints
    }

    /// The typed cause, for callers that branch on it.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.inner.downcast_ref::<E>()
    }

    /// Render as the CLI prints it: `error: …`, `  caused by: …` lines, `hint: …` lines.
    pub fn render(&self) -> String {
        let mut out = format!("error: {}", self.inner);
        let mut source = self.inner.source();
        let mut last = self.inner.to_string();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !last.contains(&text) {
                out.push_str(&format!("\n  caused by: {text}"));
            }
            last = text;
            source = cause.source();
        }
        for hint in &self.hints {
            out.push_str(&format!("\nhint: {hint}"));
        }
        out
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

impl<E> From<E> for Error
where
    E: std::error::Error + Hint + Send + Sync + 'static,
{
    fn from(e: E) -> Self {
        let mut hints = e.hints();
        if let Some(io) = find_io(&e) {
            hints.extend(io_hints(io));
        }
        let exit_code = e.exit_code();
        Error {
            inner: Box::new(e),
            hints,
            exit_code,
        }
    }
}

impl Hint for std::io::Error {
    fn hints(&self) -> Vec<String> {
        Vec::new()
    }
}

fn find_io<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a std::io::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        cur = err.source();
    }
    None
}

/// Advice for the I/O failures users can act on wherever they happen. (Permission problems
/// get their advice from the typed error that knows which file it was: the aibox home, a
/// pack source, a project.)
fn io_hints(e: &std::io::Error) -> Vec<String> {
    match e.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => vec![
            "the disk is full: free space (for example with `aibox gc`) and run the command again; the current generation was not changed".into(),
        ],
        _ => Vec::new(),
    }
}

/// The hint for a permission failure inside the aibox home.
pub const HOME_NOT_WRITABLE: &str = "check that the aibox home (`AIBOX_HOME`, default `~/.local/share/aibox`) is writable by you, or point `AIBOX_HOME` elsewhere";

/// Whether an I/O error means "not allowed to write here".
pub fn is_permission(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
    )
}
