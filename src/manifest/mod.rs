//! The files users write: `aibox.toml` (a project's needs) and `pack.toml` (a pack's metadata),
//! parsed with errors that give file, line and column.

pub mod agents;
pub mod edit;
pub mod env_rule;
pub mod legacy;
pub mod pack;
pub mod permissions;
pub mod project;
mod project_policy;
pub mod request;
mod spans;
#[cfg(test)]
mod tests;
mod validate;

use std::path::{Path, PathBuf};

pub use agents::AgentSpec;
pub use edit::{Section, add_agents, add_requirement, remove_requirement};
pub use project::{ProjectManifest, RegistrySpec, Requirement, parse_project};
pub use spans::{Part, locate};
pub use validate::{Problem, STEERING_PREFIX, bad_relative_path, check_env_name, check_pack};

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

/// Parse and validate a `pack.toml`: TOML shape, then name syntax, dependency requests,
/// `requires-aibox`, `bin` paths, platforms, and the plugin executable of `kind = "plugin"`.
pub fn parse_pack(text: &str, path: &Path) -> Result<pack::PackManifest, ManifestError> {
    let manifest: pack::PackManifest =
        toml::from_str(text).map_err(|e| ManifestError::from_toml(path, text, &e))?;
    validate::validate_pack(&manifest, text, path)?;
    Ok(manifest)
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

/// Check a pack name: `[a-z0-9][a-z0-9-]*`, at most 64 characters. The error is the reason.
pub fn validate_pack_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if name.len() > 64 {
        return Err(format!(
            "the name is {} characters long (at most 64)",
            name.len()
        ));
    }
    let first = name.as_bytes()[0];
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return Err("it must start with a lowercase letter or a digit".into());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "`{bad}` is not allowed (use lowercase letters, digits and `-`)"
        ));
    }
    Ok(())
}

/// `; did you mean `x`?` for a suggestion, or nothing: the tail of "not found" messages.
pub fn did_you_mean_tail(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

/// The closest of `candidates` to `word`, if one is close enough to suggest: the one "did you
/// mean" of every message (names, keys, commands).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c.to_owned())
}
