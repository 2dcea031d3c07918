//! The files users write: `aibox.toml` (a project's needs) and `pack.toml` (a pack's metadata),
//! parsed with errors that give file, line and column.

pub mod pack;

use std::path::{Path, PathBuf};

/// A manifest that could not be read or parsed: where, what, and how to fix it.
#[derive(Debug, thiserror::Error)]
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

/// Parse a `pack.toml`.
pub fn parse_pack(text: &str, path: &Path) -> Result<pack::PackManifest, ManifestError> {
    toml::from_str(text).map_err(|e| ManifestError::from_toml(path, text, &e))
}
