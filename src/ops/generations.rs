//! `generations`, `rollback` and `diff`: reading and switching a profile's generations.

use crate::error::Result;
use crate::fs::LockMode;
use crate::store::generations::{GenerationDiff, GenerationRecord, diff as diff_records};

use super::{Options, Target, open_profile};

/// Every kept generation of the profile, oldest first, and the current id.
pub fn list(opts: &Options, target: Target) -> Result<(Vec<GenerationRecord>, u64)> {
    let (store, profile) = open_profile(opts, target)?;
    let current = store.current_id(&profile)?;
    let mut out = Vec::new();
    for id in store.generation_ids(&profile)? {
        out.push(store.generation(&profile, id)?);
    }
    Ok((out, current))
}

/// Switch to the parent of the current generation (or to `to`). Returns `(from, to)`.
pub fn rollback(opts: &Options, target: Target, to: Option<u64>) -> Result<(u64, u64)> {
    let (store, profile) = open_profile(opts, target)?;
    let _lock = store.lock(LockMode::Shared)?;
    Ok(store.rollback(&profile, to)?)
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
