//! Garbage collection. Roots are the kept generations of live profiles; everything they do not
//! reach (pack trees, objects, staging leftovers) is removed. Runs under the exclusive store
//! lock, so it never races a sync; when anything it needs is unreadable it keeps rather than
//! guesses.

use std::collections::BTreeSet;

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
}

impl Store {
    /// Collect garbage (takes the exclusive store lock).
    pub fn gc(&self, opts: GcOptions) -> Result<GcReport, StoreError> {
        let _lock = self.lock(LockMode::Exclusive)?;
        let mut report = GcReport {
            dry_run: opts.dry_run,
            ..GcReport::default()
        };
        let mut roots: BTreeSet<String> = BTreeSet::new();
        for profile in self.list_profiles()? {
            if !profile.is_live() {
                report.profiles_removed.push(profile.describe());
                if !opts.dry_run {
                    fs::remove_tree(&profile.paths.dir)
                        .ctx(|| format!("cannot remove `{}`", profile.paths.dir.display()))?;
                }
                continue;
            }
            self.collect_profile(&profile, opts, &mut roots, &mut report)?;
        }

        // Pack trees no kept generation uses.
        let mut live_objects: BTreeSet<(Hash, bool)> = BTreeSet::new();
        let packs_dir = self.layout().packs();
        for item in
            fs::read_dir(&packs_dir).ctx(|| format!("cannot read `{}`", packs_dir.display()))?
        {
            let item = item.ctx(|| format!("cannot read `{}`", packs_dir.display()))?;
            let name = item.file_name().to_string_lossy().into_owned();
            let dir_name = name.strip_suffix(".tree.json").unwrap_or(&name).to_owned();
            if roots.contains(&dir_name) {
                if !name.ends_with(".tree.json") {
                    report.packs_kept += 1;
                    let listing = self.pack_listing(&dir_name)?;
                    for e in listing.entries {
                        if let (ListingKind::File, Some(h)) = (e.kind, e.hash) {
                            live_objects.insert((h, e.executable));
                        }
                    }
                }
                continue;
            }
            if !name.ends_with(".tree.json") {
                report.packs_removed.push(dir_name.clone());
            }
            if !opts.dry_run {
                fs::remove_tree(&item.path())
                    .ctx(|| format!("cannot remove `{}`", item.path().display()))?;
            }
        }

        // Objects no kept pack uses.
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
                let keep = hex
                    .parse::<Hash>()
                    .is_ok_and(|h| live_objects.contains(&(h, exec)));
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

        // Staging leftovers of interrupted runs (no run is active: we hold the lock).
        if !opts.dry_run {
            let tmp = self.layout().tmp();
            for item in fs::read_dir(&tmp).ctx(|| format!("cannot read `{}`", tmp.display()))? {
                let item = item.ctx(|| format!("cannot read `{}`", tmp.display()))?;
                fs::remove_tree(&item.path())
                    .ctx(|| format!("cannot remove `{}`", item.path().display()))?;
            }
        }
        Ok(report)
    }

    fn collect_profile(
        &self,
        profile: &Profile,
        opts: GcOptions,
        roots: &mut BTreeSet<String>,
        report: &mut GcReport,
    ) -> Result<(), StoreError> {
        let current = self.current_id(profile)?;
        let ids = self.generation_ids(profile)?;
        let newest: BTreeSet<u64> = match opts.keep {
            Some(n) => ids.iter().rev().take(n).copied().collect(),
            None => ids.iter().copied().collect(),
        };
        for id in ids {
            if id == 0 || id == current || newest.contains(&id) {
                for pack in self.generation(profile, id)?.packs {
                    roots.insert(pack.store);
                }
                continue;
            }
            report.generations_removed.push((profile.describe(), id));
            if !opts.dry_run {
                let dir = profile.paths.generation(id);
                fs::remove_tree(&dir).ctx(|| format!("cannot remove `{}`", dir.display()))?;
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
}
