//! `generations`, `rollback` and `diff`: reading and switching a profile's generations.

use crate::error::{Error, Result};
use crate::fs::{self, LockMode};
use crate::store::generations::{GenerationDiff, GenerationRecord, diff as diff_records};

use crate::ops::{Options, Target, open_profile};

/// One kept generation: its record, or why it cannot be read.
pub type Listed = (u64, std::result::Result<GenerationRecord, String>);

/// Every kept generation of the profile, oldest first, and the current id (`None` when the
/// profile's `current` link is broken: reported, not fatal, so the listing shows what is left).
pub fn list(opts: &Options, target: Target) -> Result<(Vec<Listed>, Option<u64>)> {
    let (store, profile) = open_profile(opts, target)?;
    let current = match store.current(&profile) {
        Ok(record) => Some(record.id),
        Err(e) => {
            opts.reporter.warn(format!(
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

/// What a rollback did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollback {
    pub from: Option<u64>,
    pub to: u64,
    /// `aibox.toml` and `aibox.lock` were restored to those the generation was made from.
    pub restored: bool,
    /// The project's `aibox.lock` is not the one the generation was made from (so the next
    /// sync switches away again).
    pub lock_differs: bool,
}

/// Switch to the parent of the current generation (or to `to`). With `restore` (always for the
/// global profile, whose manifest must follow its generation), also put back the `aibox.toml`
/// and `aibox.lock` that generation was made from.
pub fn rollback(
    opts: &Options,
    target: Target,
    to: Option<u64>,
    restore: bool,
) -> Result<Rollback> {
    let (store, profile) = open_profile(opts, target)?;
    let _lock = store.lock(LockMode::Shared)?;
    let root = crate::ops::sync::target_root(opts, target)?;
    // The global and self profiles' manifests must follow their generations.
    let restore = restore || target != Target::Project;
    let wanted = match to {
        Some(id) => id,
        None => {
            let current = store.current(&profile)?;
            current
                .parent
                .ok_or_else(|| crate::store::StoreError::NoParent {
                    profile: profile.describe(),
                    id: current.id,
                })?
        }
    };
    // Check before switching: `--lock` needs the files the generation kept.
    let files = store.project_files(&profile, wanted);
    if restore && files.is_none() && wanted != 0 && target == Target::Project {
        return Err(Error::msg(format!(
            "generation {wanted} keeps no copy of the `aibox.toml` and `aibox.lock` it was made from (an older aibox made it)"
        ))
        .with_hint("roll back without `--lock`, then edit `aibox.toml` and run `aibox lock`"));
    }
    // The skills of the generation rolled back to must not land on the user's files.
    let manifest_text = match (&files, restore) {
        (Some(f), true) => Some(String::from_utf8_lossy(&f.manifest).into_owned()),
        _ => fs::read_regular_string(
            &root.join(crate::ops::MANIFEST),
            crate::ops::MAX_MANIFEST_BYTES,
        )
        .ok(),
    };
    let projector = match manifest_text {
        Some(text) => {
            let manifest = crate::manifest::parse_project(&text, &root.join(crate::ops::MANIFEST))?;
            crate::engine::skills::Projector::for_profile(&store, &profile, &manifest)?
        }
        None => None,
    };
    let target_record = store.generation(&profile, wanted)?;
    let skills = target_record.skills();
    if let Some(p) = &projector {
        // Folders that generation replaced, standing again as kept, are replaced again.
        let standing = match &target_record.replaced {
            Some(r) if target == Target::Project => {
                crate::engine::handover::standing(&store, &root, r)
            }
            _ => Vec::new(),
        };
        p.check_except(&skills, &standing)?;
    }
    let (from, to) = store.rollback(&profile, Some(wanted))?;
    if let Some(p) = &projector {
        crate::engine::handover::settle(&store, p, &target_record)?;
        p.apply(&skills, store.reporter())?;
    }
    // Undoing a generation that replaced folders of agents' skills puts them back.
    if let Some(from) = from
        && target == Target::Project
    {
        for undone in crate::engine::handover::undone(&store, &profile, from, to) {
            if let Some(r) = &undone.replaced {
                crate::engine::handover::restore(&store, &root, r)?;
            }
        }
    }
    if target == Target::Global {
        crate::engine::user_bin::refresh(&store);
    }
    let mut restored = false;
    if restore && let Some(files) = &files {
        for (name, bytes) in [
            (crate::ops::MANIFEST, &files.manifest),
            (crate::ops::LOCKFILE, &files.lock),
        ] {
            let path = root.join(name);
            fs::write_atomic(&path, bytes)
                .map_err(|e| Error::io(format!("cannot write `{}`", path.display()), e))?;
        }
        restored = true;
    }
    let lock_differs = !restored
        && files.as_ref().is_some_and(|f| {
            fs::read(root.join(crate::ops::LOCKFILE)).ok().as_deref() != Some(f.lock.as_slice())
        });
    crate::audit::record(
        store.layout(),
        "rollback",
        Some(&profile.describe()),
        serde_json::json!({"from": from, "to": to, "restored": restored}),
        store.reporter(),
    );
    // Subscribers of the generation now current hear of it (failures only warn).
    if let Some(from) = from
        && let (Ok(old), Ok(new)) = (
            store.generation(&profile, from),
            store.generation(&profile, to),
        )
    {
        let changes = crate::store::generations::diff(&old, &new);
        let who = profile.describe();
        let project = (target == Target::Project).then_some(root.as_path());
        let event = crate::engine::switch_hooks::Event::new(
            "post-rollback",
            &who,
            Some(from),
            to,
            &changes,
        );
        crate::engine::switch_hooks::emit(
            &store,
            &new,
            &profile.paths.generation(to),
            project,
            &event,
        )?;
    }
    Ok(Rollback {
        from,
        to,
        restored,
        lock_differs,
    })
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
