//! Garbage collection. Roots are the kept generations of live profiles; everything they do not
//! reach (pack trees, objects, staging leftovers) is removed. Runs under the exclusive store
//! lock, so it never races a sync. A pack tree is made invisible (listing removed, tree renamed
//! into `trash/`) before it is deleted, so a `kill -9` never leaves a partial tree in `packs/`.
//! When anything it needs is unreadable it keeps rather than guesses: a broken profile is
//! skipped with a warning and everything its generations link to is kept.

use std::collections::BTreeSet;
use std::path::Path;

use super::layout::OLD_STORE_DIRS;
use super::profiles::Profile;
use super::tree::{Hash, ListingKind};
use super::{IoContext, Store, StoreError};
use crate::fs::{self, LockMode};

/// What to collect.
#[derive(Debug, Clone, Copy, Default)]
pub struct GcOptions {
    /// Keep only the newest N generations of each profile (plus the current one and 0).
    pub keep: Option<usize>,
    /// Report without removing.
    pub dry_run: bool,
}

/// What was (or, with `dry_run`, would be) removed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct GcReport {
    pub dry_run: bool,
    pub profiles_removed: Vec<String>,
    pub generations_removed: Vec<(String, u64)>,
    pub packs_removed: Vec<String>,
    pub objects_removed: u64,
    pub bytes_freed: u64,
    pub packs_kept: u64,
    pub objects_kept: u64,
    /// Profiles that could not be read; everything they link to was kept.
    pub profiles_skipped: Vec<String>,
}

/// What the kept generations reach.
#[derive(Default)]
struct Roots {
    packs: BTreeSet<String>,
    /// Artifact digests of kept packs: their kept signatures stay.
    digests: BTreeSet<String>,
    /// Some profile could not be listed at all: remove no pack and no object.
    keep_everything: bool,
}

impl Store {
    /// Collect garbage (takes the exclusive store lock).
    pub fn gc(&self, opts: GcOptions) -> Result<GcReport, StoreError> {
        let _lock = self.lock(LockMode::Exclusive)?;
        let mut report = GcReport {
            dry_run: opts.dry_run,
            ..GcReport::default()
        };
        // Staging leftovers and half-deleted trees are freed below: every byte is reported.
        report.bytes_freed +=
            fs::tree_bytes(&self.layout().tmp()) + fs::tree_bytes(&self.layout().trash());
        if !opts.dry_run {
            self.empty_dir(&self.layout().trash())?;
        }
        let mut roots = Roots::default();
        for profile in self.list_profiles()? {
            if !profile.is_live() {
                report.profiles_removed.push(profile.describe());
                if !opts.dry_run {
                    // Into the trash first, so a killed gc leaves no half-deleted profile.
                    let gone = self.layout().trash().join(&profile.name);
                    fs::rename(&profile.paths.dir, &gone)
                        .ctx(|| format!("cannot remove `{}`", profile.paths.dir.display()))?;
                    fs::remove_tree(&gone).ctx(|| format!("cannot remove `{}`", gone.display()))?;
                }
                continue;
            }
            self.collect_profile(&profile, opts, &mut roots, &mut report)?;
        }
        if roots.keep_everything {
            self.reporter()
                .warn("gc removed no pack and no object: a profile could not be read");
            return Ok(report);
        }
        let live_objects = self.collect_packs(&roots.packs, opts, &mut report)?;
        self.collect_objects(&live_objects, opts, &mut report)?;
        if !opts.dry_run {
            self.collect_signatures(&roots.digests)?;
            // Staging leftovers of interrupted runs and build locks: no run is active (we hold
            // the exclusive lock), so nothing in them is in use.
            self.empty_dir(&self.layout().tmp())?;
            self.empty_dir(&self.layout().locks())?;
            self.remove_old_stores()?;
            self.empty_dir(&self.layout().trash())?;
        }
        Ok(report)
    }

    /// Pack trees (and stray listings) no kept generation uses; returns the objects the kept
    /// trees use.
    fn collect_packs(
        &self,
        roots: &BTreeSet<String>,
        opts: GcOptions,
        report: &mut GcReport,
    ) -> Result<BTreeSet<(Hash, bool)>, StoreError> {
        let mut live_objects = BTreeSet::new();
        let packs_dir = self.layout().packs();
        let mut names = BTreeSet::new();
        for item in
            fs::read_dir(&packs_dir).ctx(|| format!("cannot read `{}`", packs_dir.display()))?
        {
            let item = item.ctx(|| format!("cannot read `{}`", packs_dir.display()))?;
            let name = item.file_name().to_string_lossy().into_owned();
            names.insert(name.strip_suffix(".tree.json").unwrap_or(&name).to_owned());
        }
        for dir_name in names {
            let has_dir = fs::exists(&self.layout().pack(&dir_name)).unwrap_or(true);
            let has_listing = fs::exists(&self.layout().pack_listing(&dir_name)).unwrap_or(true);
            if roots.contains(&dir_name) && has_dir && has_listing {
                report.packs_kept += 1;
                for e in self.pack_listing(&dir_name)?.entries {
                    if let (ListingKind::File, Some(h)) = (e.kind, e.hash) {
                        live_objects.insert((h, e.executable));
                    }
                }
                continue;
            }
            if roots.contains(&dir_name) && has_dir {
                // Used by a kept generation but uncommitted: keep it; `store verify` reports it.
                report.packs_kept += 1;
                continue;
            }
            if has_dir && has_listing {
                report.packs_removed.push(dir_name.clone());
            }
            if !opts.dry_run {
                self.discard_pack(&dir_name)?;
            }
        }
        Ok(live_objects)
    }

    /// Kept signatures of digests no kept generation uses.
    fn collect_signatures(&self, digests: &BTreeSet<String>) -> Result<(), StoreError> {
        let dir = self.layout().signatures();
        let Ok(items) = fs::read_dir(&dir) else {
            return Ok(());
        };
        for item in items {
            let item = item.ctx(|| format!("cannot read `{}`", dir.display()))?;
            let name = item.file_name().to_string_lossy().into_owned();
            let digest = format!("sha256:{}", name.trim_end_matches(".json"));
            if !digests.contains(&digest) {
                fs::remove_file(item.path())
                    .ctx(|| format!("cannot remove `{}`", item.path().display()))?;
            }
        }
        Ok(())
    }

    /// Objects no kept pack tree uses.
    fn collect_objects(
        &self,
        live: &BTreeSet<(Hash, bool)>,
        opts: GcOptions,
        report: &mut GcReport,
    ) -> Result<(), StoreError> {
        let objects = self.layout().objects();
        for shard in
            fs::read_dir(&objects).ctx(|| format!("cannot read `{}`", objects.display()))?
        {
            let shard = shard.ctx(|| format!("cannot read `{}`", objects.display()))?;
            for obj in fs::read_dir(shard.path()).ctx(|| "cannot read objects".into())? {
                let obj = obj.ctx(|| "cannot read objects".into())?;
                let name = obj.file_name().to_string_lossy().into_owned();
                let (hex, exec) = match name.strip_suffix(".x") {
                    Some(h) => (h, true),
                    None => (name.as_str(), false),
                };
                let keep = hex.parse::<Hash>().is_ok_and(|h| live.contains(&(h, exec)));
                if keep {
                    report.objects_kept += 1;
                    continue;
                }
                let meta = fs::symlink_metadata(obj.path()).ctx(|| "cannot stat object".into())?;
                report.objects_removed += 1;
                report.bytes_freed += meta.len();
                if !opts.dry_run {
                    fs::remove_file(obj.path())
                        .ctx(|| format!("cannot remove `{}`", obj.path().display()))?;
                }
            }
        }
        Ok(())
    }

    fn collect_profile(
        &self,
        profile: &Profile,
        opts: GcOptions,
        roots: &mut Roots,
        report: &mut GcReport,
    ) -> Result<(), StoreError> {
        let ids = match self.generation_ids(profile) {
            Ok(ids) => ids,
            Err(e) => {
                self.reporter().warn(format!(
                    "gc cannot list the generations of `{}` ({e}); nothing is removed",
                    profile.describe()
                ));
                report.profiles_skipped.push(profile.describe());
                roots.keep_everything = true;
                return Ok(());
            }
        };
        let current = match self.current_id(profile).and_then(|id| {
            self.generation(profile, id)?;
            Ok(id)
        }) {
            Ok(id) => Some(id),
            Err(e) => {
                self.reporter().warn(format!(
                    "skipping broken profile `{}`: {e}; gc keeps every generation of it (`aibox store verify --repair` repairs it)",
                    profile.describe()
                ));
                report.profiles_skipped.push(profile.describe());
                None
            }
        };
        let newest: BTreeSet<u64> = match opts.keep {
            Some(n) if current.is_some() => ids.iter().rev().take(n).copied().collect(),
            _ => ids.iter().copied().collect(),
        };
        for id in ids {
            if id == 0 || Some(id) == current || newest.contains(&id) {
                match self.generation(profile, id) {
                    Ok(record) => {
                        roots.packs.extend(record.replaced.map(|r| r.store));
                        for p in record.packs {
                            roots.digests.extend(p.digest);
                            roots.packs.insert(p.store);
                        }
                    }
                    Err(e) => {
                        self.reporter().warn(format!(
                            "generation {id} of `{}` is unreadable ({e}); gc keeps what it links to",
                            profile.describe()
                        ));
                        roots
                            .packs
                            .extend(self.linked_packs(&profile.paths.generation(id)));
                    }
                }
                continue;
            }
            report.generations_removed.push((profile.describe(), id));
            if !opts.dry_run {
                // Out of sight first (a `.tmp-` name is no generation), so a gc killed while
                // deleting never leaves a half-deleted generation behind.
                let dir = profile.paths.generation(id);
                let gone = profile.paths.generations().join(format!(".tmp-gc-{id}"));
                fs::rename(&dir, &gone).ctx(|| format!("cannot remove `{}`", dir.display()))?;
                fs::remove_tree(&gone).ctx(|| format!("cannot remove `{}`", gone.display()))?;
            }
        }
        // Half-built generations of interrupted runs.
        if !opts.dry_run {
            let gens = profile.paths.generations();
            for item in fs::read_dir(&gens).ctx(|| format!("cannot read `{}`", gens.display()))? {
                let item = item.ctx(|| format!("cannot read `{}`", gens.display()))?;
                if item.file_name().to_string_lossy().starts_with(".tmp-") {
                    fs::remove_tree(&item.path())
                        .ctx(|| format!("cannot remove `{}`", item.path().display()))?;
                }
            }
        }
        Ok(())
    }

    /// The pack directories a generation directory's links point into (for generations whose
    /// record cannot be read).
    fn linked_packs(&self, generation: &Path) -> BTreeSet<String> {
        let packs = self.layout().packs();
        link_targets(generation)
            .iter()
            .filter_map(|t| t.strip_prefix(&packs).ok()?.components().next())
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect()
    }

    /// Remove everything inside `dir` (trash, staging, locks).
    fn empty_dir(&self, dir: &Path) -> Result<(), StoreError> {
        for item in fs::read_dir(dir).ctx(|| format!("cannot read `{}`", dir.display()))? {
            let item = item.ctx(|| format!("cannot read `{}`", dir.display()))?;
            fs::remove_tree(&item.path())
                .ctx(|| format!("cannot remove `{}`", item.path().display()))?;
        }
        Ok(())
    }

    /// Remove store directories of earlier formats once no generation links into them.
    fn remove_old_stores(&self) -> Result<(), StoreError> {
        for old in OLD_STORE_DIRS {
            let dir = self.layout().home().join(old);
            if !fs::exists(&dir).unwrap_or(false) || self.anything_links_into(&dir) {
                continue;
            }
            fs::remove_tree(&dir).ctx(|| format!("cannot remove `{}`", dir.display()))?;
        }
        Ok(())
    }

    /// Whether a generation of any profile links below `dir`.
    fn anything_links_into(&self, dir: &Path) -> bool {
        let Ok(profiles) = self.list_profiles() else {
            return true;
        };
        profiles
            .iter()
            .any(|profile| match self.generation_ids(profile) {
                Err(_) => true,
                Ok(ids) => ids.into_iter().any(|id| {
                    link_targets(&profile.paths.generation(id))
                        .iter()
                        .any(|t| t.starts_with(dir))
                }),
            })
    }
}

/// The targets of every link in a generation directory (`bin/`, `plugins/`, `packs/`).
fn link_targets(generation: &Path) -> Vec<std::path::PathBuf> {
    super::record::GENERATION_DIRS
        .iter()
        .filter_map(|sub| fs::read_dir(generation.join(sub)).ok())
        .flat_map(|items| items.flatten())
        .filter_map(|item| fs::read_link(item.path()).ok())
        .collect()
}
