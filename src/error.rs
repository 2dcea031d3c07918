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

/// Whose problem an error is, which decides how it is shown ([`Error::render`]):
/// something the user asked for or gave on the command line, a file the user wrote
/// (`aibox.toml`, the configuration, a policy), or a defect of aibox itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// What was asked cannot be done as asked (a missing pack, a refused signature, an
    /// unreachable registry): the message and its hints say what to do.
    #[default]
    User,
    /// A file the user edits is wrong: shown with the file's position, and a hint to check it.
    Config,
    /// A defect of aibox (a broken invariant, a panic): shown with every cause and the version,
    /// and asked to be reported.
    Internal,
}

/// Extra advice a typed error can offer the user ("what to do"), its exit code and its kind.
pub trait Hint {
    fn hints(&self) -> Vec<String> {
        Vec::new()
    }

    fn exit_code(&self) -> i32 {
        exit::FAILURE
    }

    fn kind(&self) -> Kind {
        Kind::User
    }
}

/// The hint every internal error ends with.
pub const REPORT_BUG: &str = "this is a bug in aibox: please report it with the command that ran and this output (`aibox --version` says which aibox it is)";

/// The one error type that crosses into `cli`: a typed cause and its hints.
pub struct Error {
    inner: Box<dyn std::error::Error + Send + Sync + 'static>,
    hints: Vec<String>,
    exit_code: i32,
    kind: Kind,
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
            kind: Kind::User,
        }
    }

    /// An error from a plain message (for checks made at the operation level).
    pub fn msg(message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Message(message.into())),
            hints: Vec::new(),
            exit_code: exit::FAILURE,
            kind: Kind::User,
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
            kind: Kind::User,
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
            kind: Kind::User,
        }
    }

    /// A defect of aibox: an invariant that does not hold ([`Kind::Internal`]).
    pub fn internal(message: impl Into<String>) -> Self {
        Error::msg(message).with_kind(Kind::Internal)
    }

    /// Shown as `kind` says ([`Kind`]).
    pub fn with_kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }

    pub fn kind(&self) -> Kind {
        self.kind
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

    /// Render as the CLI prints it: `error: …`, `  caused by: …` lines, `hint: …` lines. The
    /// kind decides the rest: a configuration error adds where the configuration is checked
    /// (`aibox doctor`), an internal one is headed `internal error`, shows every cause even when
    /// the message repeats it, and asks to be reported.
    pub fn render(&self) -> String {
        let internal = self.kind == Kind::Internal;
        let head = if internal { "internal error" } else { "error" };
        let mut out = format!("{head}: {}", self.inner);
        let mut source = self.inner.source();
        let mut last = self.inner.to_string();
        while let Some(cause) = source {
            let text = cause.to_string();
            if internal || !last.contains(&text) {
                out.push_str(&format!("\n  caused by: {text}"));
            }
            last = text;
            source = cause.source();
        }
        for hint in &self.hints {
            out.push_str(&format!("\nhint: {hint}"));
        }
        match self.kind {
            Kind::User => {}
            Kind::Config => out.push_str(
                "\nhint: `aibox doctor` checks the project's files and your configuration; `aibox config path` says where the configuration is",
            ),
            Kind::Internal => out.push_str(&format!("\nhint: {REPORT_BUG}")),
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
        let kind = e.kind();
        Error {
            inner: Box::new(e),
            hints,
            exit_code,
            kind,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("the lock says so")]
    struct Broken;

    impl Hint for Broken {
        fn kind(&self) -> Kind {
            Kind::Internal
        }
    }

    #[test]
    fn the_kind_decides_how_an_error_is_shown() {
        let user = Error::msg("no pack `x`").with_hint("check the name");
        assert_eq!(user.render(), "error: no pack `x`\nhint: check the name");

        let config = Error::msg("aibox.toml:1:1: bad").with_kind(Kind::Config);
        assert!(
            config
                .render()
                .starts_with("error: aibox.toml:1:1: bad\nhint: `aibox doctor`")
        );

        // Internal: its own head, every cause even when the message already says it, and the
        // request to report it; a typed error's kind carries through `?`.
        let internal = Error::with_source("the lock says so", Broken).with_kind(Kind::Internal);
        assert_eq!(
            internal.render(),
            format!(
                "internal error: the lock says so\n  caused by: the lock says so\nhint: {REPORT_BUG}"
            )
        );
        let typed: Error = Broken.into();
        assert_eq!(typed.kind(), Kind::Internal);
        assert!(
            typed
                .render()
                .starts_with("internal error: the lock says so")
        );
    }
}
