//! The audit log, `log/audit.jsonl` in the aibox home or the XDG state directory
//! (store-format/SPEC.md §1, §11): one JSON object per line for every verdict — installs,
//! switches, rollbacks, gc, verification results (who, when, what, which signer), every
//! sandboxed run of pack code (what ran, with which grants, under which enforcement), every
//! policy denial and failed health check. Each line is appended with a single `write(2)` on a
//! file opened `O_APPEND`, so lines from concurrent processes never interleave. Past a size
//! (`[audit] max-size`) the file is rotated ([`rotate`]); readers read the rotated files too.
//! Failing to log warns; it never undoes the work it describes.

mod rotate;

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::fs;
use crate::printer::Reporter;

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    /// The user name (`$USER`, else `uid:<n>`).
    pub user: String,
    pub pid: u32,
    /// `install`, `switch`, `rollback`, `gc`, `verify`, `moderation`, `sign`, `status`,
    /// `trust`, `run`, `deny`, `health`, `plugin`.
    pub action: String,
    /// The profile acted on (a project root, `global`, `self`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// What was done: packs, generations, signers, verdicts.
    #[serde(default)]
    pub detail: serde_json::Value,
}

fn user() -> String {
    crate::env_vars::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| {
            // SAFETY: getuid cannot fail.
            format!("uid:{}", unsafe { libc::getuid() })
        })
}

/// Append an event to the log at `path` (its directory is created).
pub fn record_to(
    path: &Path,
    action: &str,
    profile: Option<&str>,
    detail: serde_json::Value,
    reporter: Reporter,
) {
    let event = Event {
        time: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
        user: user(),
        pid: std::process::id(),
        action: action.into(),
        profile: profile.map(str::to_owned),
        detail,
    };
    let mut line = serde_json::to_vec(&event).expect("an event serializes");
    line.push(b'\n');
    let result = (|| -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut file = rotate::open(path, line.len() as u64)?;
        // One write: O_APPEND makes it land whole at the end, whoever else is appending.
        let n = file.write(&line)?;
        if n != line.len() {
            return Err(std::io::Error::other("a short write to the audit log"));
        }
        Ok(())
    })();
    if let Err(e) = result {
        reporter.warn(format!(
            "cannot append to the audit log `{}`: {e}",
            path.display()
        ));
    }
}

/// Append an event to the audit log of the aibox home at `home`.
pub fn record(
    layout: &crate::store::Layout,
    action: &str,
    profile: Option<&str>,
    detail: serde_json::Value,
    reporter: Reporter,
) {
    record_to(&layout.audit_log(), action, profile, detail, reporter);
}

/// [`record`] into the log of `home` (the one the CLI resolved); with no home (neither
/// `AIBOX_HOME` nor `HOME` set), a warning instead — never a log somewhere else.
pub fn record_in(
    home: crate::store::Home,
    action: &str,
    profile: Option<&str>,
    detail: serde_json::Value,
    reporter: Reporter,
) {
    match home.layout() {
        Some(layout) => record(layout, action, profile, detail, reporter),
        None => reporter.warn(format!(
            "no aibox home (set `AIBOX_HOME` or `HOME`): the `{action}` was not written to the audit log"
        )),
    }
}

/// Read the log at `path` and the files rotated from it, oldest first; lines that do not
/// parse are skipped (and counted).
pub fn read(path: &Path) -> std::io::Result<(Vec<Event>, usize)> {
    let mut events = Vec::new();
    let mut bad = 0;
    for file in rotate::files(path)? {
        let text = match fs::read_regular_string(&file, 1 << 30) {
            Ok(t) => t,
            // Rotated away between the listing and the read: its lines are in the next file.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str(line) {
                Ok(e) => events.push(e),
                Err(_) => bad += 1,
            }
        }
    }
    Ok((events, bad))
}
