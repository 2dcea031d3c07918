//! `generations`, `rollback` and `diff`: reading and switching a profile's generations.

use crate::error::Result;
use crate::fs::LockMode;
use crate::store::generations::{GenerationDiff, GenerationRecord, diff as diff_records};

use super::{Options, Target, open_profile};

/// One kept generation: its record, or why it cannot be read.
pub type Listed = (u64, std::result::Result<GenerationRecord, String>);

/// Every kept generation of the profile, oldest first, and the current id (`None` when the
/// profile's `current` link is broken: reported, not fatal, so the listing shows what is left).
pub fn list(opts: &Options, target: Target) -> Result<(Vec<Listed>, Option<u64>)> {
    let (store, profile) = open_profile(opts, target)?;
    let current = match store.current(&profile) {
        Ok(record) => Some(record.id),
        Err(e) => {
            crate::printer::warn(format!(
                "the current generation cannot be read ({e}); `aibox sync` or `aibox rollback --to <N>` repairs it"
            ));
            None
        }
    };
    let out = store
        .generation_ids(&profile)?
        .into_iter()
        .map(|id| {
            (
                id,
                store.generation(&profile, id).map_err(|e| e.to_string()),
            )
        })
        .collect();
    Ok((out, current))
}

/// Switch to the parent of the current generation (or to `to`). Returns `(from, to)`.
pub fn rollback(opts: &Options, target: Target, to: Option<u64>) -> Result<(Option<u64>, u64)> {
    let (store, profile) = open_profile(opts, target)?;
    let _lock = store.lock(LockMode::Shared)?;
    let (from, to) = store.rollback(&profile, to)?;
    crate::audit::record(
        store.layout().home(),
        "rollback",
        Some(&profile.describe()),
        serde_json::json!({"from": from, "to": to}),
    );
    Ok((from, to))
}

/// What changed from generation `a` (default: the current one's parent) to `b` (default: the
/// current one).
pub fn diff(
    opts: &Options,
    target: Target,
    a: Option<u64>,
    b: Option<u64>,
) -> Result<(u64, u64, GenerationDiff)> {
    let (store, profile) = open_profile(opts, target)?;
    let b_id = match b {
        Some(id) => id,
        None => store.current_id(&profile)?,
    };
    let b_rec = store.generation(&profile, b_id)?;
    let a_id = match a {
        Some(id) => id,
        None => b_rec.parent.unwrap_or(0),
    };
    let a_rec = store.generation(&profile, a_id)?;
    Ok((a_id, b_id, diff_records(&a_rec, &b_rec)))
}
