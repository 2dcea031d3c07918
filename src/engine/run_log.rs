//! The audit records of pack code run and of policy denials (store-format/SPEC.md §11):
//! every sandboxed run (`run`: which pack, what program with which arguments, the grants of
//! its sandbox and what the kernel enforces of them, and — for the code aibox waits for —
//! how it ended), every refusal by a policy (`deny`: Rego, trust, sandbox enforcement) and
//! every failed health check (`health`).
//!
//! What the kernel reports is what is recorded: the Landlock ABI and whether the seccomp filter
//! is installed, i.e. which of the grants are enforced. A single denied access is not
//! reported to an unprivileged process (Landlock and the seccomp filter answer the program
//! with `EACCES`/`EPERM`), so it shows in the program's own output and exit status, which the
//! `run` record of a supervised run carries.

use std::process::Command;

use crate::sandbox::{Enforcement, Sandbox};
use crate::store::Layout;

/// What one sandboxed run is, written before it starts (a plugin or a pack command replaces
/// this process) or after it ends (install hooks, health checks, subscribers).
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// `plugin`, `command`, `install-hook`, `health-check` or `subscriber`.
    pub kind: &'static str,
    pub pack: String,
    pub version: Option<String>,
    /// The profile it runs for (a project root, `global`), if known.
    pub profile: Option<String>,
    detail: serde_json::Value,
}

impl RunRecord {
    /// The record of `cmd` about to run in `sandbox`, enforced as `enforcement`.
    pub fn new(
        kind: &'static str,
        pack: &str,
        version: Option<&str>,
        cmd: &Command,
        sandbox: &Sandbox,
        enforcement: Enforcement,
    ) -> RunRecord {
        let support = crate::sandbox::support();
        let detail = serde_json::json!({
            "kind": kind,
            "pack": pack,
            "version": version,
            "program": cmd.get_program().to_string_lossy(),
            "args": cmd.get_args().map(|a| a.to_string_lossy()).collect::<Vec<_>>(),
            "grants": sandbox.grants(),
            "enforcement": enforcement,
            "kernel": {"landlock_abi": support.abi, "seccomp": support.seccomp},
        });
        RunRecord {
            kind,
            pack: pack.to_owned(),
            version: version.map(str::to_owned),
            profile: None,
            detail,
        }
    }

    /// Add a field to the record (the plugin's origin, its signer, its declared permissions).
    pub fn with(mut self, key: &str, value: serde_json::Value) -> RunRecord {
        if let Some(map) = self.detail.as_object_mut() {
            map.insert(key.to_owned(), value);
        }
        self
    }

    /// Name the profile the run is for.
    pub fn for_profile(mut self, profile: Option<String>) -> RunRecord {
        self.profile = profile;
        self
    }

    /// Append the record to the log; `status` is how a supervised run ended (`ok`,
    /// `exit status 3`, `signal 9`), `None` when the run is about to start.
    pub fn write(&self, layout: &Layout, status: Option<&str>, reporter: crate::printer::Reporter) {
        let mut detail = self.detail.clone();
        if let (Some(map), Some(s)) = (detail.as_object_mut(), status) {
            map.insert("status".into(), s.into());
        }
        crate::audit::record(layout, "run", self.profile.as_deref(), detail, reporter);
    }
}

/// Record a refusal by a policy: `policy` is `rego`, `trust` or `sandbox`; `detail` says
/// what was refused and why (merged into `{policy, …}`).
pub fn deny(
    layout: Option<&Layout>,
    policy: &str,
    profile: Option<&str>,
    detail: serde_json::Value,
    reporter: crate::printer::Reporter,
) {
    let mut all = serde_json::json!({ "policy": policy });
    if let (Some(map), serde_json::Value::Object(more)) = (all.as_object_mut(), detail) {
        map.extend(more);
    }
    match layout {
        Some(l) => crate::audit::record(l, "deny", profile, all, reporter),
        None => reporter.warn(format!(
            "no aibox home (set `AIBOX_HOME` or `HOME`): the `{policy}` denial was not written to the audit log"
        )),
    }
}

/// The profile name of pack code run for `project` (its root) or the global profile.
pub fn profile_of(project: Option<&std::path::Path>) -> String {
    project
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "global".into())
}
