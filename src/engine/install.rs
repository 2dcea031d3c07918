//! Make a lock real: fetch every locked pack for this platform into the store (in parallel,
//! skipping what is there), read each pack's `pack.toml` from its tree, and switch the profile
//! to a new generation — unless the current one already is exactly that.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::fs::{self, LockMode};
use crate::lockfile::{LockedPackage, Lockfile};
use crate::manifest::pack::PackManifest;
use crate::store::generations::{GenerationDiff, GenerationRecord, PackOrigin, ProjectFiles, diff};

use crate::engine::rego::Subject;
use crate::engine::sources::Sources;
use crate::engine::switch_hooks::{self as hooks, Event};
use crate::store::profiles::Profile;
use crate::store::{PackId, Store};

/// What an install did.
#[derive(Debug)]
pub struct Installed {
    /// The generation now current.
    pub generation: GenerationRecord,
    /// Whether a new generation was made (false: the current one already matched).
    pub switched: bool,
    /// Packs fetched into the store by this run.
    pub fetched: usize,
    /// What changed against the previous generation.
    pub diff: GenerationDiff,
}

/// The PackId each locked package must have in the store on `platform`; every package the
/// lock has no artifact of for `platform` is named in one error.
fn expected_ids(lock: &Lockfile, platform: &str) -> Result<Vec<PackId>> {
    let lacking: Vec<String> = lock
        .packages
        .iter()
        .filter(|p| p.for_platform(platform).is_none())
        .map(|p| {
            format!(
                "`{}@{}` (locked for {})",
                p.name,
                p.version,
                p.platforms.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    if !lacking.is_empty() {
        let narrowed = lock
            .platforms
            .as_ref()
            .is_some_and(|p| !p.iter().any(|p| p == platform));
        let hint = if narrowed {
            format!(
                "`[policy] platforms` in aibox.toml leaves out `{platform}`: add it, then run `aibox lock`"
            )
        } else {
            format!(
                "these packs publish no artifact for `{platform}`: ask their publishers for one, or use this project on a platform the lock covers"
            )
        };
        return Err(Error::msg(format!(
            "the lock has nothing for this platform (`{platform}`) for:\n  {}",
            lacking.join("\n  ")
        ))
        .with_hint(hint));
    }
    Ok(lock
        .packages
        .iter()
        .map(|pkg| PackId {
            tree: pkg.for_platform(platform).expect("checked above").tree,
            name: pkg.name.clone(),
            version: pkg.version.to_string(),
        })
        .collect())
}

/// Whether the profile's current generation is exactly `lock` (by lock hash) with every pack
/// tree still present, exporting nothing `allowed_env` (the manifest's `allow-pack-env`) no
/// longer lets through. This is the no-op check: a few stats, no hashing of packs.
pub fn is_current(
    store: &Store,
    profile: &Profile,
    lock_hash: &str,
    allowed_env: &[String],
) -> bool {
    let Ok(current) = store.current(profile) else {
        return false;
    };
    let built_for = current
        .platform
        .clone()
        .unwrap_or_else(crate::platform::native);
    current.lock_hash.as_deref() == Some(lock_hash)
        && built_for == crate::platform::host()
        && crate::engine::pack_env::refused(&current.env, allowed_env).is_empty()
        && current
            .packs
            .iter()
            .all(|p| fs::exists(&store.layout().pack(&p.store)).unwrap_or(false))
}

/// Set once this process has switched a profile to a new generation (read by the Ctrl-C
/// handler, which then says so instead of "nothing was switched").
pub static SWITCHED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// What an install touches besides the profile: the project its hooks run in, the agents'
/// skills folders its skills are projected into, and the profile's `aibox.toml` with the
/// protected variables it lets packs set.
#[derive(Clone, Copy, Default)]
pub struct Around<'a> {
    pub project: Option<&'a Path>,
    pub projector: Option<&'a crate::engine::skills::Projector>,
    pub manifest: Option<&'a Path>,
    pub allowed_env: &'a [String],
}

/// Fetch what is missing and switch `profile` to the environment `lock` describes.
pub fn install_lock(
    store: &Store,
    profile: &Profile,
    lock: &Lockfile,
    lock_hash: &str,
    files: Option<&ProjectFiles>,
    sources: &Sources,
    around: Around,
) -> Result<Installed> {
    let Around {
        project,
        projector,
        manifest,
        allowed_env,
    } = around;
    let platform = crate::platform::host();
    let _store_lock = store.lock(LockMode::Shared)?;
    // What an interrupted or killed run staged is of no use to anyone now.
    let swept = store.sweep_staging()?;
    if swept > 0 {
        store.reporter().status(
            "Cleaned",
            format!(
                "{} an interrupted run left in the store's staging area",
                crate::printer::human_bytes(swept)
            ),
        );
    }

    let wanted = expected_ids(lock, &platform)?;
    let missing: Vec<&LockedPackage> = lock
        .packages
        .iter()
        .zip(&wanted)
        .filter(|(_, id)| !store.has_pack(id))
        .map(|(pkg, _)| pkg)
        .collect();

    // What is fetched is staged, made durable by one barrier and only then named (SPEC §2);
    // what a failed fetch left complete is kept.
    let deferred = store.defer();
    let fetched = fetch_all(store, &missing, &platform, sources);
    store.settle()?;
    drop(deferred);
    fetched?;
    crate::fs::crash_point("fetched");

    let mut packs = wanted
        .into_iter()
        .map(|id| stored_manifest(store, id))
        .collect::<Result<Vec<_>>>()?;
    check_skills(lock, &packs)?;
    // Imported skills must be the files their old installer installed (checked before
    // anything of this generation is prepared; dropped from the record once it is current).
    let expected =
        crate::engine::handover::check_expected(store, profile, &packs, sources.consent())?;
    // What a pack exports into the user's shell is judged before anything of it runs.
    crate::engine::pack_env::check_packs(
        &packs,
        allowed_env,
        manifest.unwrap_or(Path::new(crate::engine::context::MANIFEST)),
    )?;

    // A broken `current` is repaired by the switch below (and reported there).
    let previous = store
        .current(profile)
        .unwrap_or_else(|_| GenerationRecord::empty());
    // The policy judges what this install adds or changes, before any of its code runs.
    crate::engine::rego::check_all(&new_subjects(&packs, &previous, lock), Some(store.layout()))?;
    crate::engine::install_hooks::run_install_hooks(store, &mut packs, project)?;

    let unchanged = previous.lock_hash.as_deref() == Some(lock_hash)
        && previous.packs.len() == packs.len()
        && packs
            .iter()
            .all(|(id, _)| previous.packs.iter().any(|p| p.store == id.dir_name()));
    let global = matches!(profile.kind, crate::store::profiles::ProfileKind::Global);
    if unchanged {
        if let Some(p) = projector {
            crate::engine::handover::settle(store, p, &previous)?;
            p.apply(&previous.skills(), store.reporter())?;
        }
        crate::engine::handover::forget_expected(store, profile, &expected);
        if global {
            crate::engine::user_bin::refresh(store);
        }
        return Ok(Installed {
            diff: GenerationDiff::default(),
            generation: previous,
            switched: false,
            fetched: missing.len(),
        });
    }
    let origins: BTreeMap<String, PackOrigin> = lock
        .packages
        .iter()
        .map(|p| (p.name.clone(), origin(p)))
        .collect();
    // Skill folders handed over by `aibox import`, in the way and still as imported, are kept
    // in the store before anything else; they are replaced only after the switch.
    let skills: Vec<String> = packs
        .iter()
        .filter(|(_, m)| m.pack.kind == crate::manifest::pack::PackKind::Skill)
        .map(|(id, _)| id.name.clone())
        .collect();
    let replaced = match projector {
        Some(p) => crate::engine::handover::keep(store, profile, p, &skills)?,
        None => None,
    };
    let taken: Vec<std::path::PathBuf> = match (projector, &replaced) {
        (Some(p), Some(r)) => r
            .entries
            .iter()
            .map(|e| p.base().root.join(&e.path))
            .collect(),
        _ => Vec::new(),
    };
    let prepared = store.prepare_generation(
        profile,
        Some(lock_hash.to_owned()),
        &packs,
        &origins,
        files,
        replaced,
    )?;
    crate::fs::crash_point("prepared");
    let changes = diff(&previous, prepared.record());
    let who = profile.describe();
    let event = |name| {
        Event::new(
            name,
            &who,
            Some(previous.id),
            prepared.record().id,
            &changes,
        )
    };
    // Nothing of the user's may stand where a skill is projected: checked before anything
    // runs against the new generation or is switched.
    if let Some(p) = projector {
        p.check_except(&prepared.record().skills(), &taken)?;
    }
    hooks::run_checks(store, &packs, &prepared.dir(), project)?;
    hooks::emit(
        store,
        prepared.record(),
        &prepared.dir(),
        project,
        &event("pre-switch"),
    )?;
    let generation = prepared.switch()?;
    SWITCHED.store(true, std::sync::atomic::Ordering::SeqCst);
    crate::fs::crash_point("switched");
    if let Some(p) = projector {
        crate::engine::handover::settle(store, p, &generation)?;
        p.apply(&generation.skills(), store.reporter())?;
    }
    crate::engine::handover::forget_expected(store, profile, &expected);
    if global {
        crate::engine::user_bin::refresh(store);
    }
    let dir = profile.paths.generation(generation.id);
    let event = |name| Event::new(name, &who, Some(previous.id), generation.id, &changes);
    hooks::emit(store, &generation, &dir, project, &event("post-switch"))?;
    crate::audit::record(
        store.layout(),
        "switch",
        Some(&profile.describe()),
        serde_json::json!({
            "from": previous.id, "to": generation.id, "lock": lock_hash,
            "added": changes.added, "removed": changes.removed, "changed": changes.changed,
            "signers": lock.packages.iter().filter_map(|p| Some((p.name.clone(), p.signer.clone()?))).collect::<std::collections::BTreeMap<_, _>>(),
        }),
        store.reporter(),
    );
    hooks::emit(store, &generation, &dir, project, &event("post-sync"))?;
    Ok(Installed {
        diff: changes,
        generation,
        switched: true,
        fetched: missing.len(),
    })
}

/// The stored pack `id` with its `pack.toml` (a skill's completed from its `SKILL.md` and
/// files; a bare skill's derived from them).
fn stored_manifest(store: &Store, id: PackId) -> Result<(PackId, PackManifest)> {
    let dir = store.pack_path(&id);
    let path = dir.join("pack.toml");
    if !fs::exists(&path).unwrap_or(false) && crate::skill::is_skill_dir(&dir) {
        let version = semver::Version::parse(&id.version)
            .map_err(|e| Error::msg(format!("pack `{}` has a bad version: {e}", id.name)))?;
        let manifest = crate::skill::stored_manifest(&dir, &id.name, &version)?;
        return Ok((id, manifest));
    }
    let text = fs::read_regular_string(&path, crate::manifest::pack::MAX_PACK_TOML_BYTES).map_err(
        |e| {
            Error::io(format!("pack `{}` has no readable pack.toml", id.name), e)
                .with_hint("run `aibox store verify --repair`, then `aibox sync`")
        },
    )?;
    let mut manifest = crate::manifest::parse_pack(&text, &path)?;
    crate::skill::complete(&mut manifest, &dir)?;
    Ok((id, manifest))
}

/// A skill's stored tree must be what its lock entry says it may do (`[package.skill]`), so
/// what `update` compares and `info` shows is what agents get.
fn check_skills(lock: &Lockfile, packs: &[(PackId, PackManifest)]) -> Result<()> {
    for (id, manifest) in packs {
        let Some(locked) = lock.package(&id.name) else {
            continue;
        };
        if manifest.pack.kind != locked.kind || manifest.skill != locked.skill {
            return Err(Error::msg(format!(
                "the stored `{}@{}` is not what `aibox.lock` says it is (its kind, tools or scripts differ)",
                id.name, id.version
            ))
            .with_hint("the lock was edited by hand or is damaged: run `aibox lock --upgrade-package <name>` to lock it again"));
        }
    }
    Ok(())
}

/// What the policy judges: each pack of `packs` that `previous` does not have at that version.
fn new_subjects(
    packs: &[(PackId, PackManifest)],
    previous: &GenerationRecord,
    lock: &Lockfile,
) -> Vec<Subject> {
    packs
        .iter()
        .filter(|(id, _)| {
            !previous
                .packs
                .iter()
                .any(|p| p.name == id.name && p.version == id.version)
        })
        .map(|(id, m)| {
            let locked = lock.package(&id.name);
            Subject {
                action: "install".into(),
                name: id.name.clone(),
                version: Some(id.version.clone()),
                kind: m.pack.kind,
                source: locked.map(|p| p.source.clone()),
                signer: locked.and_then(|p| p.signer.clone()),
                permissions: m.permissions.clone(),
            }
        })
        .collect()
}

/// Where a locked pack came from, as its generation records it.
fn origin(p: &LockedPackage) -> PackOrigin {
    PackOrigin {
        digest: p.digest.clone(),
        source: Some(p.source.clone()),
        signer: p.signer.clone(),
    }
}

/// Fetch `packages` in parallel (bounded), stopping at the first error.
fn fetch_all(
    store: &Store,
    packages: &[&LockedPackage],
    platform: &str,
    sources: &Sources,
) -> Result<()> {
    if packages.is_empty() {
        return Ok(());
    }
    let bar = store
        .reporter()
        .progress(packages.len() as u64, "Fetching", false);
    let result = crate::parallel::try_for_each(packages, 8, |pkg| {
        bar.set_message(pkg.name.clone());
        fetch_one(store, pkg, platform, sources)?;
        bar.inc(1);
        store
            .reporter()
            .verbose(format!("fetched {}@{}", pkg.name, pkg.version));
        Ok(())
    });
    bar.finish_and_clear();
    result
}

fn fetch_one(store: &Store, pkg: &LockedPackage, platform: &str, sources: &Sources) -> Result<()> {
    let locked = pkg.for_platform(platform).expect("checked by expected_ids");
    let id = sources.fetch(store, pkg, locked)?;
    debug_assert_eq!(id.tree, locked.tree);
    Ok(())
}
