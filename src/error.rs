//! The user-facing error at the edge: any typed module error plus `hint:` lines, rendered once
//! by `main`. Modules keep their own `thiserror` enums and implement [`Hint`].

use std::fmt;

/// Extra advice a typed error can offer the user ("what to do").
pub trait Hint {
    fn hints(&self) -> Vec<String> {
        Vec::new()
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

impl Error {
    /// An error from a plain message (for checks made at the operation level).
    pub fn msg(message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Message(message.into())),
            hints: Vec::new(),
            exit_code: 1,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Use a different process exit code (e.g. 2 for `--check` style "would change").
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
        Error {
            inner: Box::new(e),
            hints,
            exit_code: 1,
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

/// Advice for the I/O failures users can act on.
fn io_hints(e: &std::io::Error) -> Vec<String> {
    use std::io::ErrorKind::*;
    match e.kind() {
        StorageFull => vec![
            "the disk is full: free space (for example with `aibox gc`) and run the command again; the current generation was not changed".into(),
        ],
        PermissionDenied | ReadOnlyFilesystem => vec![
            "check that the aibox home (`AIBOX_HOME`, default `~/.local/share/aibox`) is writable, or point `AIBOX_HOME` elsewhere".into(),
        ],
        _ => Vec::new(),
    }
}
