//! Generations: a small tree per environment state — `bin/` and `plugins/` symlinks into pack
//! trees, `packs/<name>` links, `skills/<name>` links to skill trees and `generation.toml` —
//! built under a temp name, renamed into place, then switched to by renaming a new `current`
//! symlink over the old one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::layout::ProfilePaths;
use super::packs::PackId;
use super::profiles::Profile;
pub use super::record::{
    GENERATION_DIRS, GenerationDiff, GenerationEnv, GenerationPack, GenerationRecord, PackOrigin,
    ProjectFiles, Replaced, ReplacedEntry, RequiredVar, SKILLS_DIR, diff,
};
use super::record::{PROJECT_LOCK, PROJECT_MANIFEST, now};
use super::staged::Dirty;
use super::{IoContext, Store, StoreError};
use crate::fs::{self, PermissionsExt};
use crate::manifest::pack::{PackKind, PackManifest};

/// A command written as a wrapper: its pack, and (for a pack with `[permissions]`) the aibox
/// executable and pack root it runs sandboxed through.
#[derive(Debug, Clone)]
pub(super) struct Wrapped {
    pub pack: String,
    pub sandbox: Option<(PathBuf, PathBuf)>,
}

/// What a generation directory holds besides its record: links (or wrappers) into pack
/// trees, its directories, and the project files it was made from.
struct GenerationParts<'a> {
    pub links: &'a [(PathBuf, PathBuf)],
    pub wrapped: &'a BTreeMap<PathBuf, Wrapped>,
    pub dirs: &'a [&'a str],
    pub files: Option<&'a ProjectFiles>,
}

/// A generation written but not yet switched to: the profile stays locked until it is
/// switched to or discarded (dropping it discards it).
pub struct Prepared<'a> {
    store: &'a Store,
    profile: &'a Profile,
    record: GenerationRecord,
    _guard: crate::fs::LockedFile,
    done: bool,
}

impl Prepared<'_> {
    pub fn record(&self) -> &GenerationRecord {
        &self.record
    }

    /// The generation's directory.
    pub fn dir(&self) -> PathBuf {
        self.profile.paths.generation(self.record.id)
    }

    /// Make it current.
    pub fn switch(mut self) -> Result<GenerationRecord, StoreError> {
        self.store.switch(self.profile, self.record.id)?;
        self.done = true;
        Ok(self.record.clone())
    }
}

impl Drop for Prepared<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Never current: remove it whole (a leftover would only be listed, never used).
            let _ = self.store.discard_path(&self.dir());
        }
    }
}

/// What a generation links to, which pack owns each command, and its merged environment.
struct GenerationLinks {
    links: Vec<(PathBuf, PathBuf)>,
    owners: BTreeMap<PathBuf, String>,
    env: GenerationEnv,
}

impl Store {
    /// Read one generation's record.
    pub fn generation(&self, profile: &Profile, id: u64) -> Result<GenerationRecord, StoreError> {
        let path = profile.paths.generation(id).join("generation.toml");
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NoGeneration {
                    profile: profile.describe(),
                    id,
                });
            }
            Err(e) => {
                return Err(StoreError::Io {
                    context: format!("cannot read `{}`", path.display()),
                    source: e,
                });
            }
        };
        toml::from_str(&text).map_err(|e| StoreError::Corrupt {
            path,
            reason: e.message().to_owned(),
        })
    }

    /// The id `current` points at.
    pub fn current_id(&self, profile: &Profile) -> Result<u64, StoreError> {
        let link = profile.paths.current();
        let target = match fs::read_link(&link) {
            Ok(t) => t,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::InvalidInput | std::io::ErrorKind::NotFound
                ) =>
            {
                return Err(StoreError::Corrupt {
                    path: link,
                    reason: "not a symlink to a generation".into(),
                });
            }
            Err(e) => return Err(e).ctx(|| format!("cannot read `{}`", link.display())),
        };
        target
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| StoreError::Corrupt {
                path: link,
                reason: format!("points at `{}`, not a generation", target.display()),
            })
    }

    /// The current generation's record.
    pub fn current(&self, profile: &Profile) -> Result<GenerationRecord, StoreError> {
        self.generation(profile, self.current_id(profile)?)
    }

    /// The current generation's id if `current` is sound (a link to a readable generation);
    /// otherwise warn and return the newest readable generation, which the caller's switch
    /// will repair `current` to follow (`sync`, `rollback --to`).
    fn current_or_repairable(&self, profile: &Profile) -> Result<Option<u64>, StoreError> {
        match self.current(profile) {
            Ok(record) => Ok(Some(record.id)),
            Err(e) => {
                self.reporter().warn(format!(
                    "the `current` link of `{}` was broken ({e}); switching repairs it",
                    profile.describe()
                ));
                Ok(self
                    .generation_ids(profile)?
                    .into_iter()
                    .rev()
                    .find(|id| self.generation(profile, *id).is_ok()))
            }
        }
    }

    /// Ids of the generations kept for a profile, ascending.
    pub fn generation_ids(&self, profile: &Profile) -> Result<Vec<u64>, StoreError> {
        let dir = profile.paths.generations();
        let mut ids: Vec<u64> = fs::read_dir(&dir)
            .ctx(|| format!("cannot read `{}`", dir.display()))?
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// Build a new generation from `packs` (each with its pack.toml; `digests` gives the locked
    /// artifact digest of those that have one) on top of the current one and switch to it. The caller holds the store lock (shared); this takes the profile
    /// lock. Returns the new record.
    pub fn commit_generation(
        &self,
        profile: &Profile,
        lock_hash: Option<String>,
        packs: &[(PackId, PackManifest)],
        origins: &BTreeMap<String, PackOrigin>,
    ) -> Result<GenerationRecord, StoreError> {
        self.prepare_generation(profile, lock_hash, packs, origins, None, None)?
            .switch()
    }

    /// Write a new generation (as [`Store::commit_generation`] would, keeping a copy of the
    /// `aibox.toml` and `aibox.lock` it was made from, for `rollback --lock`) without switching
    /// to it: the caller checks it, then switches or drops it.
    pub fn prepare_generation<'a>(
        &'a self,
        profile: &'a Profile,
        lock_hash: Option<String>,
        packs: &[(PackId, PackManifest)],
        origins: &BTreeMap<String, PackOrigin>,
        sources: Option<&ProjectFiles>,
        replaced: Option<Replaced>,
    ) -> Result<Prepared<'a>, StoreError> {
        let guard = profile.lock(self.reporter())?;
        let parent = self.current_or_repairable(profile)?.unwrap_or(0);
        let id = self.generation_ids(profile)?.last().copied().unwrap_or(0) + 1;
        let mut sorted: Vec<&(PackId, PackManifest)> = packs.iter().collect();
        sorted.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        let GenerationLinks { links, owners, env } = self.generation_links(&sorted)?;
        let record = GenerationRecord {
            id,
            parent: Some(parent),
            created: now(),
            lock_hash,
            platform: Some(crate::platform::host()),
            packs: sorted
                .iter()
                .map(|(pid, m)| GenerationPack {
                    name: pid.name.clone(),
                    version: pid.version.clone(),
                    kind: m.pack.kind,
                    tree: pid.tree,
                    store: pid.dir_name(),
                    digest: origins.get(&pid.name).and_then(|o| o.digest.clone()),
                    source: origins.get(&pid.name).and_then(|o| o.source.clone()),
                    signer: origins.get(&pid.name).and_then(|o| o.signer.clone()),
                })
                .collect(),
            env,
            replaced,
        };
        let commands = self.wrapped_commands(&sorted, owners, !record.env.is_empty())?;
        let parts = GenerationParts {
            links: &links,
            wrapped: &commands,
            dirs: &GENERATION_DIRS,
            files: sources,
        };
        self.write_generation(profile, &record, &parts)?;
        Ok(Prepared {
            store: self,
            profile,
            record,
            _guard: guard,
            done: false,
        })
    }

    /// The links of a generation of `packs` (sorted by name): `bin/` and `plugins/` entries to
    /// their files, `packs/<name>` to each tree and `skills/<name>` to each skill's, which pack owns each command (two packs
    /// with one command are a conflict), and the merged environment.
    fn generation_links(
        &self,
        packs: &[&(PackId, PackManifest)],
    ) -> Result<GenerationLinks, StoreError> {
        let mut env = GenerationEnv::default();
        let mut env_owners = BTreeMap::new();
        let mut links: Vec<(PathBuf, PathBuf)> = Vec::new();
        let mut owners: BTreeMap<PathBuf, String> = BTreeMap::new();
        for (pid, manifest) in packs {
            let root = self.pack_path(pid);
            for (cmd, rel) in &manifest.bin {
                let dir =
                    if manifest.pack.kind == PackKind::Plugin && cmd.starts_with("aibox-plugin-") {
                        "plugins"
                    } else {
                        "bin"
                    };
                let link = Path::new(dir).join(cmd);
                if let Some(first) = owners.insert(link.clone(), pid.name.clone()) {
                    return Err(StoreError::Conflict {
                        name: format!("{dir}/{cmd}"),
                        first,
                        second: pid.name.clone(),
                    });
                }
                links.push((link, root.join(rel)));
            }
            links.push((Path::new("packs").join(&pid.name), root.clone()));
            if manifest.pack.kind == PackKind::Skill {
                links.push((Path::new(SKILLS_DIR).join(&pid.name), root.clone()));
            }
            merge_env(&mut env, &mut env_owners, pid, manifest, &root)?;
        }
        Ok(GenerationLinks { links, owners, env })
    }

    /// The commands of `bin/` that are wrappers rather than links: with an environment, every
    /// command (the wrapper sets it); commands of packs that declare `[permissions]` run
    /// sandboxed (store/wrappers.rs).
    fn wrapped_commands(
        &self,
        packs: &[&(PackId, PackManifest)],
        owners: BTreeMap<PathBuf, String>,
        has_env: bool,
    ) -> Result<BTreeMap<PathBuf, Wrapped>, StoreError> {
        let sandboxed: BTreeMap<&str, PathBuf> = packs
            .iter()
            .filter(|(_, m)| m.permissions.is_some())
            .map(|(pid, _)| (pid.name.as_str(), self.pack_path(pid)))
            .collect();
        let aibox = if sandboxed.is_empty() {
            None
        } else {
            Some(self.aibox_link()?)
        };
        Ok(owners
            .into_iter()
            .filter(|(link, _)| link.starts_with("bin"))
            .filter_map(|(link, pack)| {
                let sandbox = match (&aibox, sandboxed.get(pack.as_str())) {
                    (Some(exe), Some(root)) => Some((exe.clone(), root.clone())),
                    _ => None,
                };
                (sandbox.is_some() || has_env).then_some((link, Wrapped { pack, sandbox }))
            })
            .collect())
    }

    /// Write generation 0, the empty environment.
    pub(super) fn write_empty_generation(&self, profile: &Profile) -> Result<(), StoreError> {
        let parts = GenerationParts {
            links: &[],
            wrapped: &BTreeMap::new(),
            dirs: &GENERATION_DIRS,
            files: None,
        };
        self.write_generation(profile, &GenerationRecord::empty(), &parts)
    }

    /// Write `generations/<id>` whole: built under a temp name (nothing flushed on its own),
    /// made durable by one barrier, then renamed into place and the rename flushed.
    fn write_generation(
        &self,
        profile: &Profile,
        record: &GenerationRecord,
        parts: &GenerationParts,
    ) -> Result<(), StoreError> {
        let gens = profile.paths.generations();
        let tmp = fs::temp_dir_in(&gens).ctx(|| format!("cannot write in `{}`", gens.display()))?;
        let mut dirty = Dirty::default();
        for d in parts.dirs {
            fs::create_dir(tmp.path().join(d)).ctx(|| format!("cannot create `{d}`"))?;
            dirty.add(tmp.path().join(d));
        }
        let bin_dir = profile.paths.generation(record.id).join("bin");
        let write = |at: &Path, bytes: &[u8], mode: u32, dirty: &mut Dirty| {
            fs::write(at, bytes)
                .and_then(|()| fs::set_permissions(at, fs::Permissions::from_mode(mode)))
                .ctx(|| format!("cannot write `{}`", at.display()))?;
            dirty.add(at.to_owned());
            Ok::<_, StoreError>(())
        };
        for (link, target) in parts.links {
            let at = tmp.path().join(link);
            if let Some(w) = parts.wrapped.get(link) {
                let name = link.file_name().unwrap_or_default().to_string_lossy();
                let sandbox = w.sandbox.as_ref().map(|(a, r)| (a.as_path(), r.as_path()));
                let text =
                    super::wrappers::script(&record.env, &w.pack, &name, &bin_dir, target, sandbox);
                write(&at, text.as_bytes(), 0o555, &mut dirty)?;
                continue;
            }
            fs::symlink(target, &at).ctx(|| format!("cannot create `{}`", link.display()))?;
        }
        let text = toml::to_string(record).expect("generation record serializes");
        write(
            &tmp.path().join("generation.toml"),
            text.as_bytes(),
            0o644,
            &mut dirty,
        )?;
        if let Some(files) = parts.files {
            for (name, bytes) in [
                (PROJECT_MANIFEST, &files.manifest),
                (PROJECT_LOCK, &files.lock),
            ] {
                write(&tmp.path().join(name), bytes, 0o444, &mut dirty)?;
            }
        }
        dirty.add(tmp.path().to_owned());
        self.barrier(&dirty)?;
        let dest = profile.paths.generation(record.id);
        let built = tmp.keep();
        fs::rename(&built, &dest).ctx(|| format!("cannot create `{}`", dest.display()))?;
        if self.durability().flushes() {
            fs::fsync_dir(&gens).ctx(|| format!("cannot sync `{}`", gens.display()))?;
        }
        Ok(())
    }

    /// The `aibox.toml` and `aibox.lock` generation `id` was made from (`None`: it keeps none,
    /// e.g. generation 0 or one made by an older aibox).
    pub fn project_files(&self, profile: &Profile, id: u64) -> Option<ProjectFiles> {
        let dir = profile.paths.generation(id);
        let read = |name: &str| fs::read_regular(&dir.join(name), 64 << 20).ok();
        Some(ProjectFiles {
            manifest: read(PROJECT_MANIFEST)?,
            lock: read(PROJECT_LOCK)?,
        })
    }

    /// Point `current` at generation `id` (atomic rename of a new symlink). A `current` that
    /// is not a symlink at all (a damaged profile) is moved aside first.
    pub fn switch(&self, profile: &Profile, id: u64) -> Result<(), StoreError> {
        self.generation(profile, id)?;
        let current = profile.paths.current();
        if fs::symlink_metadata(&current).is_ok_and(|m| m.is_dir()) {
            self.discard_path(&current)?;
        }
        fs::replace_symlink_as(
            &ProfilePaths::current_target(id),
            &profile.paths.current(),
            self.durability(),
        )
        .ctx(|| format!("cannot switch `{}`", profile.paths.current().display()))
    }

    /// Switch to the current generation's parent, or to `to`. Returns `(from, to)`; `from` is
    /// `None` when `current` was broken (a switch with `to` repairs it).
    pub fn rollback(
        &self,
        profile: &Profile,
        to: Option<u64>,
    ) -> Result<(Option<u64>, u64), StoreError> {
        let _guard = profile.lock(self.reporter())?;
        let from = match to {
            Some(_) => self.current(profile).ok().map(|r| r.id),
            None => Some(self.current(profile)?.id),
        };
        let target = match (to, from) {
            (Some(id), _) => id,
            (None, Some(from)) => {
                self.generation(profile, from)?
                    .parent
                    .ok_or_else(|| StoreError::NoParent {
                        profile: profile.describe(),
                        id: from,
                    })?
            }
            (None, None) => unreachable!("a rollback without `to` has read `current`"),
        };
        self.switch(profile, target)?;
        Ok((from, target))
    }
}

fn merge_env(
    env: &mut GenerationEnv,
    owners: &mut BTreeMap<String, String>,
    pid: &PackId,
    manifest: &PackManifest,
    root: &Path,
) -> Result<(), StoreError> {
    let root_text = root.display().to_string();
    for (k, v) in &manifest.env.vars {
        let value = v.replace("${pack}", &root_text);
        if let Some(old) = env.vars.get(k)
            && *old != value
        {
            let first = owners.get(k).cloned().unwrap_or_default();
            return Err(StoreError::Conflict {
                name: format!("environment variable `{k}`"),
                first,
                second: pid.name.clone(),
            });
        }
        env.vars.insert(k.clone(), value);
        owners.insert(k.clone(), pid.name.clone());
    }
    for (k, description) in &manifest.env.required {
        env.required.entry(k.clone()).or_insert(RequiredVar {
            pack: pid.name.clone(),
            description: description.clone(),
        });
    }
    for (k, opt) in &manifest.env.optional {
        env.optional
            .entry(k.clone())
            .or_insert_with(|| opt.default.replace("${pack}", &root_text));
    }
    Ok(())
}
