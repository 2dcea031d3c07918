//! `store verify`: re-hash every object against its name, check every path of every pack tree
//! against its listing, find uncommitted trees and stray listings, and check every profile
//! (`current` and each `generation.toml`). With `repair`, remove what is corrupt so the next
//! sync rebuilds it, and point broken profiles at their newest readable generation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::objects::hash_file;
use super::profiles::{Profile, ProfileKind};
use super::tree::{Hash, ListingEntry, ListingKind, Tree};
use super::{IoContext, Store, StoreError};
use crate::fs::{self, LockMode, MetadataExt, PermissionsExt};

/// One corrupt entry.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Corruption {
    pub path: PathBuf,
    pub reason: String,
}

/// The outcome of a verification.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct VerifyReport {
    pub objects_checked: u64,
    pub packs_checked: u64,
    pub profiles_checked: u64,
    pub corrupt: Vec<Corruption>,
    /// Leftovers of an interrupted build or gc: pack trees without a listing that no generation
    /// uses. Never trusted (a sync replaces them, gc removes them), so not corruption.
    pub interrupted: Vec<PathBuf>,
    pub repaired: bool,
}

/// What was found wrong, and how `--repair` fixes it.
enum Fix {
    /// A corrupt object: removed (packs still linking its content keep working; the next sync
    /// that needs it stores it again).
    Object(PathBuf),
    /// A corrupt, partial or uncommitted pack tree (or a stray listing): removed.
    Pack(String),
    /// A broken profile: corrupt generations removed, `current` repointed.
    Profile(Profile),
}

/// Object inode → the object it is (hash, executable), for objects whose content checked.
type GoodInodes = HashMap<(u64, u64), (Hash, bool)>;

impl Store {
    /// Verify the store; with `repair`, remove what is corrupt (exclusive lock).
    pub fn verify(&self, repair: bool) -> Result<VerifyReport, StoreError> {
        let _lock = self.lock(if repair {
            LockMode::Exclusive
        } else {
            LockMode::Shared
        })?;
        let mut report = VerifyReport::default();
        let mut fixes = Vec::new();
        let good = self.verify_objects(&mut report, &mut fixes)?;
        self.verify_packs(&good, &mut report, &mut fixes)?;
        for profile in self.list_profiles()? {
            report.profiles_checked += 1;
            let problems = self.check_profile(&profile);
            if !problems.is_empty() {
                report.corrupt.extend(problems);
                fixes.push(Fix::Profile(profile));
            }
        }
        if repair {
            for fix in fixes {
                match fix {
                    Fix::Object(path) => self.discard_path(&path)?,
                    Fix::Pack(dir_name) => self.discard_pack(&dir_name)?,
                    Fix::Profile(profile) => self.repair_profile(&profile)?,
                }
            }
            report.repaired = true;
        }
        Ok(report)
    }

    fn verify_objects(
        &self,
        report: &mut VerifyReport,
        fixes: &mut Vec<Fix>,
    ) -> Result<GoodInodes, StoreError> {
        let mut good = GoodInodes::new();
        let objects = self.layout().objects();
        for shard in
            fs::read_dir(&objects).ctx(|| format!("cannot read `{}`", objects.display()))?
        {
            let shard = shard.ctx(|| "cannot read objects".into())?;
            for obj in fs::read_dir(shard.path()).ctx(|| "cannot read objects".into())? {
                let obj = obj.ctx(|| "cannot read objects".into())?;
                report.objects_checked += 1;
                let path = obj.path();
                let name = obj.file_name().to_string_lossy().into_owned();
                let (hex, exec) = match name.strip_suffix(".x") {
                    Some(h) => (h, true),
                    None => (name.as_str(), false),
                };
                let problem = match hex.parse::<Hash>() {
                    Err(_) => Some("not an object name".to_owned()),
                    Ok(h) => match hash_file(&path) {
                        Ok(actual) if actual != h => Some(format!("content hashes to {actual}")),
                        Err(e) => Some(e.to_string()),
                        Ok(_) => {
                            let meta = fs::symlink_metadata(&path).ctx(|| "cannot stat".into())?;
                            if (meta.permissions().mode() & 0o111 != 0) != exec {
                                Some("executable bit does not match the object name".into())
                            } else {
                                good.insert((meta.dev(), meta.ino()), (h, exec));
                                None
                            }
                        }
                    },
                };
                if let Some(reason) = problem {
                    report.corrupt.push(Corruption {
                        path: path.clone(),
                        reason,
                    });
                    fixes.push(Fix::Object(path));
                }
            }
        }
        Ok(good)
    }

    fn verify_packs(
        &self,
        good: &GoodInodes,
        report: &mut VerifyReport,
        fixes: &mut Vec<Fix>,
    ) -> Result<(), StoreError> {
        let packs = self.layout().packs();
        let mut names = std::collections::BTreeSet::new();
        for item in fs::read_dir(&packs).ctx(|| format!("cannot read `{}`", packs.display()))? {
            let item = item.ctx(|| "cannot read packs".into())?;
            let name = item.file_name().to_string_lossy().into_owned();
            names.insert(name.strip_suffix(".tree.json").unwrap_or(&name).to_owned());
        }
        let used = self.used_packs();
        for dir_name in names {
            let dir = self.layout().pack(&dir_name);
            let listing = self.layout().pack_listing(&dir_name);
            let problem = match (fs::exists(&dir), fs::exists(&listing)) {
                (Ok(true), Ok(true)) => {
                    report.packs_checked += 1;
                    self.check_pack(&dir_name, good).err()
                }
                (Ok(true), _) if !used.contains(&dir_name) => {
                    report.interrupted.push(dir);
                    fixes.push(Fix::Pack(dir_name));
                    continue;
                }
                (Ok(true), _) => Some("a generation uses it but its listing is missing".to_owned()),
                (_, Ok(true)) => Some("listing without its pack tree".to_owned()),
                _ => Some("unreadable".to_owned()),
            };
            if let Some(reason) = problem {
                report.corrupt.push(Corruption { path: dir, reason });
                fixes.push(Fix::Pack(dir_name));
            }
        }
        Ok(())
    }

    /// Every pack directory some readable generation of some profile records (unreadable
    /// generations are reported by the profile check).
    fn used_packs(&self) -> std::collections::BTreeSet<String> {
        let mut used = std::collections::BTreeSet::new();
        for profile in self.list_profiles().unwrap_or_default() {
            for id in self.generation_ids(&profile).unwrap_or_default() {
                if let Ok(record) = self.generation(&profile, id) {
                    used.extend(record.packs.into_iter().map(|p| p.store));
                }
            }
        }
        used
    }

    /// Check one pack tree against its listing and its name, path by path.
    fn check_pack(&self, dir_name: &str, good: &GoodInodes) -> Result<(), String> {
        let listing = self.pack_listing(dir_name).map_err(|e| e.to_string())?;
        if !dir_name.starts_with(&format!("{}-", listing.tree.hex())) {
            return Err(format!("its listing describes tree {}", listing.tree));
        }
        if Tree::from_listing(&listing).is_none() {
            return Err("its listing does not hash to its tree hash".into());
        }
        let root = self.layout().pack(dir_name);
        let mut on_disk = Vec::new();
        walk(&root, "", &mut on_disk).map_err(|e| e.to_string())?;
        on_disk.sort();
        let mut expected: Vec<&ListingEntry> = listing.entries.iter().collect();
        expected.sort_by(|a, b| a.path.cmp(&b.path));
        let listed: Vec<&str> = expected.iter().map(|e| e.path.as_str()).collect();
        if let Some(extra) = on_disk
            .iter()
            .find(|p| listed.binary_search(&p.as_str()).is_err())
        {
            return Err(format!("unexpected entry `{extra}`"));
        }
        if let Some(missing) = listed
            .iter()
            .find(|p| on_disk.binary_search_by(|d| d.as_str().cmp(p)).is_err())
        {
            return Err(format!("`{missing}` is missing"));
        }
        for e in expected {
            check_entry(&root.join(&e.path), e, good)?;
        }
        Ok(())
    }
}

fn check_entry(path: &Path, e: &ListingEntry, good: &GoodInodes) -> Result<(), String> {
    let meta = fs::symlink_metadata(path).map_err(|err| err.to_string())?;
    let ft = meta.file_type();
    let shown = &e.path;
    match e.kind {
        ListingKind::Dir if ft.is_dir() => Ok(()),
        ListingKind::Symlink if ft.is_symlink() => {
            let target = fs::read_link(path).map_err(|err| err.to_string())?;
            if Some(target.to_string_lossy().as_ref()) == e.target.as_deref() {
                Ok(())
            } else {
                Err(format!("symlink `{shown}` points elsewhere"))
            }
        }
        ListingKind::File if ft.is_file() => {
            if (meta.permissions().mode() & 0o111 != 0) != e.executable {
                return Err(format!("`{shown}` has the wrong executable bit"));
            }
            // A hardlink of an object checked above is that object: it must be the listed one.
            let matches = match good.get(&(meta.dev(), meta.ino())) {
                Some((hash, _)) => Some(*hash) == e.hash,
                None => Some(hash_file(path).map_err(|err| err.to_string())?) == e.hash,
            };
            if matches && Some(meta.len()) == e.size {
                Ok(())
            } else {
                Err(format!("`{shown}` does not match its listed content"))
            }
        }
        _ => Err(format!("`{shown}` is not a {:?}", e.kind).to_lowercase()),
    }
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> std::io::Result<()> {
    for item in fs::read_dir(dir)? {
        let item = item?;
        let name = item.file_name().to_string_lossy().into_owned();
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let is_dir = item.file_type()?.is_dir();
        out.push(path.clone());
        if is_dir {
            walk(&item.path(), &path, out)?;
        }
    }
    Ok(())
}

/// Profiles checked and repaired.
impl Store {
    /// What is wrong with a profile: `current` not a link to a readable generation, or a
    /// generation whose `generation.toml` cannot be read.
    pub fn check_profile(&self, profile: &Profile) -> Vec<Corruption> {
        let mut out = Vec::new();
        let corrupt = |path: PathBuf, reason: String| Corruption { path, reason };
        match fs::read_to_string(profile.paths.record()) {
            Ok(t) if toml::from_str::<ProfileKind>(&t).is_ok() => {}
            _ => out.push(corrupt(
                profile.paths.record(),
                "no readable profile record".into(),
            )),
        }
        let ids = match self.generation_ids(profile) {
            Ok(ids) => ids,
            Err(e) => {
                out.push(corrupt(profile.paths.generations(), e.to_string()));
                return out;
            }
        };
        for id in &ids {
            if let Err(e) = self.generation(profile, *id) {
                out.push(corrupt(profile.paths.generation(*id), e.to_string()));
            }
        }
        if let Err(e) = self
            .current_id(profile)
            .and_then(|id| self.generation(profile, id).map(|_| ()))
        {
            out.push(corrupt(profile.paths.current(), e.to_string()));
        }
        out
    }

    /// Repair a profile: remove generations whose record is unreadable (generation 0 is
    /// rewritten empty instead), then point a broken `current` at the newest generation left.
    pub fn repair_profile(&self, profile: &Profile) -> Result<(), StoreError> {
        let _guard = profile.lock(self.reporter())?;
        if fs::read_to_string(profile.paths.record())
            .ok()
            .and_then(|t| toml::from_str::<ProfileKind>(&t).ok())
            .is_none()
        {
            let record = toml::to_string(&profile.kind).expect("profile kind serializes");
            fs::write_atomic(&profile.paths.record(), record.as_bytes())
                .ctx(|| format!("cannot write `{}`", profile.paths.record().display()))?;
        }
        fs::create_dir_all(profile.paths.generations())
            .ctx(|| format!("cannot create `{}`", profile.paths.generations().display()))?;
        for id in self.generation_ids(profile)? {
            if self.generation(profile, id).is_ok() {
                continue;
            }
            let dir = profile.paths.generation(id);
            self.discard_path(&dir)?;
        }
        if !fs::exists(&profile.paths.generation(0)).unwrap_or(false) {
            self.write_empty_generation(profile)?;
        }
        let current_ok = self
            .current_id(profile)
            .and_then(|id| self.generation(profile, id).map(|_| ()))
            .is_ok();
        if !current_ok {
            let newest = self.generation_ids(profile)?.last().copied().unwrap_or(0);
            self.switch(profile, newest)?;
        }
        Ok(())
    }
}
