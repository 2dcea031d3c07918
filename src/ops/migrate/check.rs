//! What the other installers recorded a skill's files hash to (`skills-lock.json`'s
//! `computedHash`, `origin.json`'s `fingerprint`), checked against the tree aibox locked and
//! stored for it: a mismatch means aibox fetched other files than the ones installed, and is
//! reported, never taken silently.

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::ops::Options;

use super::{Expected, Plan};

/// One recorded hash checked against what aibox fetched.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub expected: Expected,
    /// What aibox's copy hashes to (`None`: it could not be computed, with `why`).
    pub actual: Option<String>,
    pub matches: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// Check each skill's recorded hash against the tree `lock` pins for it in the store.
pub fn check(opts: &Options, plan: &Plan, lock: &crate::lockfile::Lockfile) -> Result<Vec<Check>> {
    let store = opts.store()?;
    let mut out = Vec::new();
    for s in &plan.skills {
        let Some(expected) = &s.expected else {
            continue;
        };
        let Some(pkg) = lock.package(&s.name) else {
            continue;
        };
        let Some(locked) = pkg.for_platform(&crate::platform::host()) else {
            continue;
        };
        let id = crate::store::PackId {
            tree: locked.tree,
            name: pkg.name.clone(),
            version: pkg.version.to_string(),
        };
        let files = crate::skill::folder_hash::files_of(&store.pack_path(&id))
            .map_err(|e| Error::io(format!("cannot read the stored `{}`", s.name), e))?;
        let (actual, want) = match expected {
            Expected::ComputedHash(h) => (
                crate::skill::folder_hash::computed_hash(
                    files
                        .into_iter()
                        .filter(|(p, _)| crate::skill::folder_hash::in_computed_hash(p))
                        .collect(),
                ),
                h,
            ),
            Expected::Fingerprint(h) => (
                crate::skill::folder_hash::fingerprint(
                    files
                        .into_iter()
                        .filter(|(p, _)| crate::skill::folder_hash::in_fingerprint(p))
                        .collect(),
                ),
                h,
            ),
        };
        out.push(Check {
            name: s.name.clone(),
            expected: expected.clone(),
            matches: actual.as_deref() == Some(want.as_str()),
            why: actual
                .is_none()
                .then(|| "a path holds characters whose order aibox cannot compute here".into()),
            actual,
        });
    }
    Ok(out)
}

/// [`check`] against the project's `aibox.lock` at `root` (after a sync).
pub fn check_project(opts: &Options, root: &Path, plan: &Plan) -> Result<Vec<Check>> {
    let state = crate::engine::project::ProjectState::read(root)?;
    match &state.lock {
        Some((_, lock)) => check(opts, plan, lock),
        None => Ok(Vec::new()),
    }
}
