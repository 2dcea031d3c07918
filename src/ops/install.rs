//! Make a lock real: fetch every locked pack for this platform into the store (in parallel,
//! skipping what is there), read each pack's `pack.toml` from its tree, and switch the profile
//! to a new generation — unless the current one already is exactly that.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::fs::{self, LockMode};
use crate::lockfile::{LockedPackage, Lockfile};
use crate::manifest::pack::PackManifest;
use crate::registry::{self, RegistryError, Source, SourceOptions};
use crate::store::generations::{GenerationDiff, GenerationRecord, PackOrigin, ProjectFiles, diff};

use super::hooks::{self, Event};
use super::policy::Subject;
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

/// Opened sources by URL, so each is opened (scanned, authenticated) once per run.
pub struct Sources<'a> {
    root: &'a Path,
    opts: SourceOptions,
    /// URLs of registries the manifest marks `insecure`.
    insecure: BTreeSet<String>,
    /// Sources tried first for locked content (`sync --mirror`, `AIBOX_MIRROR`, config).
    mirrors: Vec<String>,
    open: Mutex<BTreeMap<String, std::sync::Arc<dyn Source>>>,
    /// Consent to what needs it (a suspicious skill: `ops::moderation`).
    consent: super::Consent,
}

/// The mirrors in force: `--mirror` flags, then `AIBOX_MIRROR` (space-separated), then the
/// user configuration's `mirrors`; each checked, duplicates dropped.
pub fn mirrors(opts: &super::Options) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let env = std::env::var("AIBOX_MIRROR").unwrap_or_default();
    let configured = if opts.mirrors.is_empty() && env.trim().is_empty() {
        crate::config::load()?.mirrors
    } else {
        Vec::new()
    };
    for (m, from) in opts
        .mirrors
        .iter()
        .map(|m| (m.as_str(), "--mirror"))
        .chain(env.split_whitespace().map(|m| (m, "AIBOX_MIRROR")))
        .chain(configured.iter().map(|m| (m.as_str(), "the configuration")))
    {
        crate::config::check_mirror(m).map_err(|e| Error::msg(format!("{e} (from {from})")))?;
        if !out.iter().any(|o| o == m) {
            out.push(m.to_owned());
        }
    }
    Ok(out)
}

impl<'a> Sources<'a> {
    pub fn new(root: &'a Path, opts: SourceOptions, insecure: BTreeSet<String>) -> Self {
        Sources {
            root,
            opts,
            insecure,
            mirrors: Vec::new(),
            open: Mutex::new(BTreeMap::new()),
            consent: super::Consent::default(),
        }
    }

    /// These sources, under `consent`.
    pub fn with_consent(mut self, consent: super::Consent) -> Self {
        self.consent = consent;
        self
    }

    /// The consent these sources run under.
    pub fn consent(&self) -> super::Consent {
        self.consent
    }

    /// Where these sources report.
    pub fn reporter(&self) -> crate::printer::Reporter {
        self.opts.reporter
    }

    /// These sources, trying `mirrors` first for locked content and signatures.
    pub fn with_mirrors(mut self, mirrors: Vec<String>) -> Self {
        self.mirrors = mirrors;
        self
    }

    /// Fetch one locked artifact: from the first mirror that has it, else from its origin.
    /// A mirror's content is checked exactly as the origin's (digests, tree hash).
    pub fn fetch(
        &self,
        store: &Store,
        pkg: &LockedPackage,
        locked: &crate::lockfile::LockedPlatform,
    ) -> Result<PackId> {
        for m in &self.mirrors {
            match self
                .get(m)
                .and_then(|s| s.fetch(&pkg.name, &pkg.version, locked, store))
            {
                Ok(id) => {
                    self.opts.reporter.verbose(format!(
                        "{}@{} from the mirror `{m}`",
                        pkg.name, pkg.version
                    ));
                    return Ok(id);
                }
                Err(RegistryError::NotFound { .. } | RegistryError::NoSuchVersion { .. }) => {
                    self.opts.reporter.verbose(format!(
                        "the mirror `{m}` has no {}@{}",
                        pkg.name, pkg.version
                    ));
                }
                Err(e) => self.opts.reporter.warn(format!(
                    "the mirror `{m}` cannot serve {}@{} ({e}); trying the next source",
                    pkg.name, pkg.version
                )),
            }
        }
        Ok(self
            .get(&pkg.source)?
            .fetch(&pkg.name, &pkg.version, locked, store)?)
    }

    /// The signatures of `digest` of `name` (from `origin`): the mirrors' and the origin's,
    /// merged. An origin that cannot be asked (offline, gone) is not an error when a mirror
    /// answered.
    pub fn signatures(
        &self,
        origin: &str,
        name: &str,
        digest: &str,
    ) -> Result<Vec<crate::signature::Entry>, RegistryError> {
        let mut all: Vec<crate::signature::Entry> = Vec::new();
        let mut mirrored = false;
        for m in &self.mirrors {
            if let Ok(entries) = self.get(m).and_then(|s| s.signatures(name, digest)) {
                mirrored = true;
                for e in entries {
                    if !all.contains(&e) {
                        all.push(e);
                    }
                }
            }
        }
        match self.get(origin).and_then(|s| s.signatures(name, digest)) {
            Ok(entries) => {
                for e in entries {
                    if !all.contains(&e) {
                        all.push(e);
                    }
                }
                Ok(all)
            }
            Err(_) if mirrored => Ok(all),
            Err(e) => Err(e),
        }
    }

    /// The source for `url`, opened on first use.
    pub fn get(&self, url: &str) -> Result<std::sync::Arc<dyn Source>, RegistryError> {
        if let Some(s) = self.open.lock().expect("sources lock").get(url) {
            return Ok(s.clone());
        }
        let opts = SourceOptions {
            insecure: self.insecure.contains(url),
            ..self.opts
        };
        let source: std::sync::Arc<dyn Source> =
            registry::open_source(url, self.root, &opts)?.into();
        self.open
            .lock()
            .expect("sources lock")
            .insert(url.to_owned(), source.clone());
        Ok(source)
    }
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
        && super::pack_env::refused(&current.env, allowed_env).is_empty()
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
    pub projector: Option<&'a super::skills::Projector>,
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

    // One fsync per object directory for the whole sync, before anything is switched.
    store.defer_object_dirs();
    let fetched = fetch_all(store, &missing, &platform, sources);
    store.sync_object_dirs()?;
    fetched?;

    let mut packs = wanted
        .into_iter()
        .map(|id| stored_manifest(store, id))
        .collect::<Result<Vec<_>>>()?;
    check_skills(lock, &packs)?;
    // What a pack exports into the user's shell is judged before anything of it runs.
    super::pack_env::check_packs(
        &packs,
        allowed_env,
        manifest.unwrap_or(Path::new(super::MANIFEST)),
    )?;

    // A broken `current` is repaired by the switch below (and reported there).
    let previous = store
        .current(profile)
        .unwrap_or_else(|_| GenerationRecord::empty());
    // The policy judges what this install adds or changes, before any of its code runs.
    super::policy::check_all(&new_subjects(&packs, &previous, lock))?;
    super::materialize::run_install_hooks(store, &mut packs, project)?;

    let unchanged = previous.lock_hash.as_deref() == Some(lock_hash)
        && previous.packs.len() == packs.len()
        && packs
            .iter()
            .all(|(id, _)| previous.packs.iter().any(|p| p.store == id.dir_name()));
    if unchanged {
        if let Some(p) = projector {
            p.apply(&previous.skills(), store.reporter())?;
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
    let prepared =
        store.prepare_generation(profile, Some(lock_hash.to_owned()), &packs, &origins, files)?;
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
        p.check(&prepared.record().skills())?;
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
    if let Some(p) = projector {
        p.apply(&generation.skills(), store.reporter())?;
    }
    let dir = profile.paths.generation(generation.id);
    let event = |name| Event::new(name, &who, Some(previous.id), generation.id, &changes);
    hooks::emit(store, &generation, &dir, project, &event("post-switch"))?;
    crate::audit::record(
        store.layout().home(),
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
    let queue = Mutex::new(packages.to_vec());
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let workers = packages.len().min(8);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    if failure.lock().expect("failure lock").is_some() {
                        return;
                    }
                    let Some(pkg) = queue.lock().expect("queue lock").pop() else {
                        return;
                    };
                    bar.set_message(pkg.name.clone());
                    let result = fetch_one(store, pkg, platform, sources);
                    match result {
                        Ok(()) => {
                            bar.inc(1);
                            store
                                .reporter()
                                .verbose(format!("fetched {}@{}", pkg.name, pkg.version));
                        }
                        Err(e) => {
                            failure.lock().expect("failure lock").get_or_insert(e);
                            return;
                        }
                    }
                }
            });
        }
    });
    bar.finish_and_clear();
    match failure.into_inner().expect("failure lock") {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn fetch_one(store: &Store, pkg: &LockedPackage, platform: &str, sources: &Sources) -> Result<()> {
    let locked = pkg.for_platform(platform).expect("checked by expected_ids");
    let id = sources.fetch(store, pkg, locked)?;
    debug_assert_eq!(id.tree, locked.tree);
    Ok(())
}
