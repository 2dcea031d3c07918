//! The error of a manifest that could not be read or parsed — file, line, column, message,
//! hints — and the positions and conflict markers it is built from.

use std::path::{Path, PathBuf};

/// A manifest that could not be read or parsed: where, what, and how to fix it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", .path.display())]
pub struct ManifestError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hints: Vec<String>,
}

impl crate::error::Hint for ManifestError {
    fn hints(&self) -> Vec<String> {
        self.hints.clone()
    }

    fn kind(&self) -> crate::error::Kind {
        crate::error::Kind::Config
    }
}

impl ManifestError {
    /// Build from a TOML error, turning its byte span into line and column.
    pub fn from_toml(path: &Path, text: &str, err: &toml::de::Error) -> Self {
        let (line, column) = err
            .span()
            .map(|s| line_col(text, s.start))
            .unwrap_or((1, 1));
        ManifestError {
            path: path.to_owned(),
            line,
            column,
            message: err.message().trim_end().to_owned(),
            hints: Vec::new(),
        }
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl ManifestError {
    /// An error at a byte offset of `text`.
    pub fn at(path: &Path, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_col(text, offset);
        ManifestError {
            path: path.to_owned(),
            line,
            column,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }
}

/// Whether a line is one of git's conflict markers (`<<<<<<<`, `=======`, `>>>>>>>`,
/// `|||||||` at its start).
pub fn is_conflict_marker(line: &str) -> bool {
    ["<<<<<<<", "=======", ">>>>>>>", "|||||||"]
        .iter()
        .any(|m| line.starts_with(m))
}

/// The first line (1-based) of `text` holding a conflict marker.
pub fn conflict_line(text: &str) -> Option<usize> {
    text.lines().position(is_conflict_marker).map(|i| i + 1)
}
