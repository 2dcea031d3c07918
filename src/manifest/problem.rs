//! One problem found in a pack manifest (where, what, how to fix it), and the checks of single
//! values every part of a manifest shares: variable names and relative paths.

use std::path::Path;

use super::spans::Part;

/// One problem: where (table keys), what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub keys: Vec<String>,
    pub part: Part,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    pub(super) fn new(keys: &[&str], part: Part, message: String) -> Problem {
        Problem {
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            part,
            message,
            hint: None,
        }
    }

    pub(super) fn hint(mut self, hint: impl Into<String>) -> Problem {
        self.hint = Some(hint.into());
        self
    }

    /// `bin.x`, as a key path for messages.
    pub fn key_path(&self) -> String {
        self.keys.join(".")
    }
}

/// The prefix of the variables that steer aibox itself (`AIBOX_HOME`, `AIBOX_SANDBOX_ABI`, …):
/// they come only from the environment aibox is started in, never from a project's `[env]`
/// or a pack.
pub const STEERING_PREFIX: &str = "AIBOX_";

/// Whether `name` is a portable environment variable name: `[A-Za-z_][A-Za-z0-9_]*`, at most
/// 128 bytes. The error is the reason.
pub fn check_env_name(name: &str) -> Result<(), String> {
    let first = name.chars().next().ok_or("the name is empty")?;
    if name.len() > 128 {
        return Err("the name is longer than 128 bytes".into());
    }
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Err("it must start with a letter or `_`".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return Err(format!(
            "{c:?} is not allowed (letters, digits and `_` only)"
        ));
    }
    Ok(())
}

/// Why `p` is not a relative path inside the pack, or `None` when it is one.
pub fn bad_relative_path(p: &str) -> Option<&'static str> {
    if p.is_empty() {
        return Some("is empty");
    }
    if p.starts_with('/') || p.starts_with('\\') || Path::new(p).is_absolute() {
        return Some("is an absolute path");
    }
    if p.split(['/', '\\']).any(|c| c == "..") {
        return Some("leaves the pack (`..`)");
    }
    if p.contains('\0') || p.chars().any(char::is_control) {
        return Some("contains a control character");
    }
    if p.len() > 4096 {
        return Some("is longer than 4096 bytes");
    }
    None
}
