//! `aibox sync`: the no-op fast path (manifest hash, lock hash and the current generation's
//! recorded lock hash agree, every pack tree present: done, no pack read, nothing hashed),
//! else bring the lock up to date and install it as a new generation.

use std::path::PathBuf;

use crate::error::Result;
use crate::store::Store;
use crate::store::profiles::Profile;

use crate::engine::install::{Installed, install_lock, is_current};
use crate::engine::lock::{LockPolicy, Upgrade, ensure_lock};
use crate::engine::project::ProjectState;
use crate::ops::{Options, Target, find_project};
use crate::store::generations::ProjectFiles;

/// What a sync did.
#[derive(Debug)]
pub enum SyncOutcome {
    /// Nothing to do: the current generation is the lock.
    UpToDate { generation: u64 },
    /// Packs were installed (or the generation was already right after all).
    Installed(Box<Installed>),
}

/// `blake3:<hex>` of the lock's bytes, as generations record it.
pub fn lock_hash(bytes: &[u8]) -> String {
    format!("blake3:{}", blake3::hash(bytes).to_hex())
}

/// The directory holding the manifest of `target`.
pub fn target_root(opts: &Options, target: Target) -> Result<PathBuf> {
    match target {
        Target::Project => Ok(find_project(opts)?.root),
        Target::Global => {
            let store = opts.store()?;
            Ok(store.layout().global_project())
        }
        Target::SelfCli => {
            let store = opts.store()?;
            Ok(store.layout().self_project())
        }
    }
}

/// The profile of `target` rooted at `root`.
pub fn target_profile(store: &Store, target: Target, root: &std::path::Path) -> Result<Profile> {
    Ok(match target {
        Target::Project => store.project_profile(root)?,
        Target::Global => store.global_profile()?,
        Target::SelfCli => store.self_profile()?,
    })
}

/// Make the target's environment match its manifest and lock.
pub fn sync(opts: &Options, target: Target, policy: LockPolicy) -> Result<SyncOutcome> {
    let root = target_root(opts, target)?;
    let state = ProjectState::read(&root)?;
    let store = opts.store()?;
    let profile = target_profile(&store, target, &root)?;

    // The no-op fast path.
    if let Some((bytes, _)) = &state.lock
        && (policy == LockPolicy::Frozen || state.lock_is_fresh())
    {
        let hash = lock_hash(bytes);
        if is_current(
            &store,
            &profile,
            &hash,
            &state.manifest.policy.allow_pack_env,
        ) {
            // The environment may have been judged under another trust policy (a changed
            // configuration, a project that tightened it): judge it again before calling it
            // fresh. A policy that does not verify has nothing to say.
            let policy = crate::engine::verdicts::policy(Some(&state), opts.reporter)?;
            let digest = policy.digest();
            if policy.verifies() && !store.is_verified(&profile, &hash, &digest) {
                let (_, lock) = state.lock.as_ref().expect("matched above");
                let sources = state
                    .sources(opts)
                    .with_mirrors(crate::engine::sources::mirrors(opts)?);
                crate::engine::verdicts::check_lock(
                    &store,
                    &sources,
                    &policy,
                    lock,
                    &profile.describe(),
                )?;
                store.set_verified(&profile, &hash, &digest);
            }
            // The links into agents' folders follow `agents` and the generation; making sure
            // costs a `readlink` per link when nothing changed.
            if let Some(p) =
                crate::engine::skills::Projector::for_profile(&store, &profile, &state.manifest)?
                && (!state.manifest.skills.is_empty() || p.has_record())
            {
                let current = store.current(&profile)?;
                crate::engine::handover::settle(&store, &p, &current)?;
                p.apply(&current.skills(), opts.reporter)?;
            }
            if target == Target::Project {
                crate::store::state_dir::mark_synced(&root);
            }
            return Ok(SyncOutcome::UpToDate {
                generation: store.current_id(&profile)?,
            });
        }
    }

    let outcome = ensure_lock(&state, opts, policy, &Upgrade::None, false)?;
    // A yanked version the lock keeps, or a deprecated one, is installed with a warning;
    // `--frozen` reads no registry metadata, status documents included.
    if policy != LockPolicy::Frozen {
        crate::engine::lifecycle::warn_lock(&state.sources(opts), &outcome.lock);
    }
    let installed = install(
        &store,
        &profile,
        &state,
        opts,
        &outcome.lock,
        &outcome.bytes,
    )
    .inspect_err(|e| {
        // Refused for want of consent, or imported skills that are not what was installed:
        // the lock written for the edited manifest goes back to what it was, so the refusal
        // changes nothing at all (and the next sync resolves again).
        let refused = e
            .downcast_ref::<crate::engine::escalation::Unconsented>()
            .is_some()
            || e.downcast_ref::<crate::engine::handover::NotAsInstalled>()
                .is_some();
        if outcome.written && refused {
            restore_lock(&root, state.lock.as_ref().map(|(b, _)| b.as_slice()), opts);
        }
    })?;
    if target == Target::Project {
        crate::store::state_dir::mark_synced(&root);
    }
    Ok(SyncOutcome::Installed(Box::new(installed)))
}

/// Put `aibox.lock` under `root` back as `bytes` (`None`: it did not exist).
fn restore_lock(root: &std::path::Path, bytes: Option<&[u8]>, opts: &Options) {
    let path = root.join(crate::ops::LOCKFILE);
    let restored = match bytes {
        Some(b) => crate::fs::write_atomic(&path, b),
        None => crate::fs::remove_file(&path),
    };
    match restored {
        Ok(()) => opts
            .reporter
            .status("Restored", format!("`{}` as it was", path.display())),
        Err(e) => opts
            .reporter
            .warn(format!("cannot restore `{}`: {e}", path.display())),
    }
}

/// Install a lock (given as its model and bytes) into `profile`.
pub fn install(
    store: &Store,
    profile: &Profile,
    state: &ProjectState,
    opts: &Options,
    lock: &crate::lockfile::Lockfile,
    bytes: &[u8],
) -> Result<Installed> {
    let sources = state
        .sources(opts)
        .with_mirrors(crate::engine::sources::mirrors(opts)?);
    // Nothing unverified enters a generation: every pack is judged before anything is fetched.
    // The signatures it keeps are staged with what is fetched, for one barrier (SPEC §2).
    let _deferred = store.defer();
    let policy = crate::engine::verdicts::policy(Some(state), opts.reporter)?;
    crate::engine::verdicts::check_lock(store, &sources, &policy, lock, &profile.describe())?;
    crate::engine::moderation::check_lock(store, &sources, lock, &profile.describe())?;
    // What asks for more than the current generation lets packs do needs consent, on every
    // path that installs a lock (engine::escalation).
    crate::engine::escalation::check_install(store, profile, lock, &sources)?;
    let verified = (lock_hash(bytes), policy.digest());
    let manifest_path = state.root.join(crate::ops::MANIFEST);
    let files = crate::fs::read_regular(&manifest_path, crate::ops::MAX_MANIFEST_BYTES)
        .map(|manifest| ProjectFiles {
            manifest,
            lock: bytes.to_vec(),
        })
        .ok();
    let projector = crate::engine::skills::Projector::for_profile(store, profile, &state.manifest)?;
    install_lock(
        store,
        profile,
        lock,
        &lock_hash(bytes),
        files.as_ref(),
        &sources,
        crate::engine::install::Around {
            project: matches!(
                profile.kind,
                crate::store::profiles::ProfileKind::Project { .. }
            )
            .then_some(state.root.as_path()),
            projector: projector.as_ref(),
            manifest: Some(&manifest_path),
            allowed_env: &state.manifest.policy.allow_pack_env,
        },
    )
    .inspect(|_| store.set_verified(profile, &verified.0, &verified.1))
}
