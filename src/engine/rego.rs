//! The user's Rego policy (`[policy] rego` in the configuration): evaluated before a pack is
//! installed and before a plugin runs, with the pack's name, version, kind, source, signer and
//! permissions as `input`. Every string in `data.aibox.deny` is a reason to refuse.

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::manifest::pack::{PackKind, Permissions};

/// The largest policy file read.
const MAX_POLICY_BYTES: u64 = 1 << 20;
/// The rule a policy defines.
pub const RULE: &str = "data.aibox.deny";

/// What a policy judges (its `input`).
#[derive(Debug, Clone, Serialize)]
pub struct Subject {
    /// `install` or `run`.
    pub action: String,
    pub name: String,
    pub version: Option<String>,
    pub kind: PackKind,
    /// Where the pack comes from (the locked source URL), `path` for a plugin on PATH.
    pub source: Option<String>,
    /// The fingerprint of the key whose signature was accepted, if any.
    pub signer: Option<String>,
    /// The pack's `[permissions]` (`null`: none declared).
    pub permissions: Option<Permissions>,
}

impl Subject {}

/// A parsed policy.
pub struct Policy {
    engine: regorus::Engine,
    path: String,
}

impl Policy {
    /// Read and parse the policy at `path`; it must define `data.aibox.deny`.
    pub fn load(path: &Path) -> Result<Policy> {
        let text = crate::fs::read_regular_string(path, MAX_POLICY_BYTES)
            .map_err(|e| Error::io(format!("cannot read the policy `{}`", path.display()), e))?;
        let mut engine = regorus::Engine::new();
        let shown = path.display().to_string();
        engine.add_policy(shown.clone(), text).map_err(|e| {
            Error::msg(format!("the policy `{shown}` does not parse: {e}"))
                .with_hint("policies are Rego v1 with `package aibox` and a `deny` set of reasons; see docs/plugins.md")
        })?;
        let mut policy = Policy {
            engine,
            path: shown,
        };
        // A policy that defines no `deny` would allow everything by mistake: refuse it now.
        policy.deny(&Subject {
            action: "install".into(),
            name: "probe".into(),
            version: None,
            kind: PackKind::Tool,
            source: None,
            signer: None,
            permissions: None,
        })?;
        Ok(policy)
    }

    /// The reasons `subject` is denied (empty: allowed).
    pub fn deny(&mut self, subject: &Subject) -> Result<Vec<String>> {
        let input = serde_json::to_string(subject).expect("subject serializes");
        let input = regorus::Value::from_json_str(&input)
            .map_err(|e| Error::msg(format!("cannot build the policy input: {e}")))?;
        self.engine.set_input(input);
        let value = self.engine.eval_rule(RULE.into()).map_err(|e| {
            Error::msg(format!(
                "the policy `{}` cannot be evaluated: {e}",
                self.path
            ))
            .with_hint(format!(
                "a policy defines `{RULE}`: `package aibox` and `deny contains msg if {{ … }}`"
            ))
        })?;
        if value == regorus::Value::Undefined {
            return Ok(Vec::new());
        }
        let json = value
            .to_json_str()
            .map_err(|e| Error::msg(format!("the policy `{}` gave no reasons: {e}", self.path)))?;
        let reasons: Vec<serde_json::Value> = serde_json::from_str(&json).map_err(|_| {
            Error::msg(format!(
                "the policy `{}`: `{RULE}` must be a set of strings, not `{json}`",
                self.path
            ))
        })?;
        Ok(reasons
            .into_iter()
            .map(|r| match r {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
            .collect())
    }
}

/// The configured policy, if any.
pub fn configured() -> Result<Option<Policy>> {
    match crate::config::load()?.policy_rego {
        Some(path) => Policy::load(&path).map(Some),
        None => Ok(None),
    }
}

/// Refuse `subjects` that the configured policy denies, naming every reason.
/// Each denial is written to the audit log of `layout`.
pub fn check_all(subjects: &[Subject], layout: Option<&crate::store::Layout>) -> Result<()> {
    let Some(mut policy) = configured()? else {
        return Ok(());
    };
    let mut denied = Vec::new();
    let mut records = Vec::new();
    for s in subjects {
        let reasons = policy.deny(s)?;
        for reason in &reasons {
            denied.push(format!("{} `{}`: {reason}", s.action, s.name));
        }
        if !reasons.is_empty() {
            records.push(serde_json::json!({
                "action": s.action, "pack": s.name, "version": s.version, "kind": s.kind,
                "source": s.source, "signer": s.signer, "reasons": reasons,
            }));
        }
    }
    if denied.is_empty() {
        return Ok(());
    }
    crate::engine::run_log::deny(
        layout,
        "rego",
        None,
        serde_json::json!({"file": policy.path, "denied": records}),
        crate::printer::Reporter::default(),
    );
    Err(Error::msg(format!(
        "your policy (`{}`) denies:\n  {}",
        policy.path,
        denied.join("\n  ")
    ))
    .with_hint("the policy is named by `policy.rego` in your configuration (`aibox config get policy.rego`); nothing was changed"))
}

/// [`check_all`] for one subject.
pub fn check(subject: &Subject, layout: Option<&crate::store::Layout>) -> Result<()> {
    check_all(std::slice::from_ref(subject), layout)
}
