//! `store verify`: re-hash every object and every pack tree against its name and listing,
//! report each corrupt entry, and with `repair` remove them so the next sync rebuilds them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::objects::hash_file;
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
    pub corrupt: Vec<Corruption>,
    pub repaired: bool,
}

impl Store {
    /// Verify the store; with `repair`, remove what is corrupt (exclusive lock).
    pub fn verify(&self, repair: bool) -> Result<VerifyReport, StoreError> {
        let _lock = self.lock(if repair {
            LockMode::Exclusive
        } else {
            LockMode::Shared
        })?;
        let mut report = VerifyReport::default();
        let mut good_inodes: HashSet<(u64, u64)> = HashSet::new();

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
                let reason = match hex.parse::<Hash>() {
                    Err(_) => Some("not an object name".to_owned()),
                    Ok(h) => match hash_file(&path) {
                        Ok(actual) if actual == h => None,
                        Ok(actual) => Some(format!("content hashes to {actual}")),
                        Err(e) => Some(e.to_string()),
                    },
                };
                match reason {
                    None => {
                        let meta = fs::symlink_metadata(&path).ctx(|| "cannot stat".into())?;
                        let mode_ok = (meta.permissions().mode() & 0o111 != 0) == exec;
                        if mode_ok {
                            good_inodes.insert((meta.dev(), meta.ino()));
                        } else {
                            report.corrupt.push(Corruption {
                                path,
                                reason: "executable bit does not match the object name".into(),
                            });
                        }
                    }
                    Some(reason) => report.corrupt.push(Corruption { path, reason }),
                }
            }
        }

        let packs = self.layout().packs();
        for item in fs::read_dir(&packs).ctx(|| format!("cannot read `{}`", packs.display()))? {
            let item = item.ctx(|| "cannot read packs".into())?;
            let name = item.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tree.json") {
                continue;
            }
            report.packs_checked += 1;
            if let Err(reason) = self.check_pack(&name, &good_inodes) {
                report.corrupt.push(Corruption {
                    path: item.path(),
                    reason,
                });
            }
        }

        if repair {
            for c in &report.corrupt {
                fs::remove_tree(&c.path).ctx(|| format!("cannot remove `{}`", c.path.display()))?;
                if let Some(name) = c.path.file_name().and_then(|n| n.to_str())
                    && c.path.parent() == Some(packs.as_path())
                {
                    let listing = self.layout().pack_listing(name);
                    let _ = fs::remove_file(&listing);
                }
            }
            report.repaired = true;
        }
        Ok(report)
    }

    /// Check one pack tree against its listing and its name.
    fn check_pack(&self, dir_name: &str, good: &HashSet<(u64, u64)>) -> Result<(), String> {
        let listing = self.pack_listing(dir_name).map_err(|e| e.to_string())?;
        if !dir_name.starts_with(&listing.tree.hex()[..32]) {
            return Err(format!("its listing describes tree {}", listing.tree));
        }
        if Tree::from_listing(&listing).is_none() {
            return Err("its listing does not hash to its tree hash".into());
        }
        let root = self.layout().pack(dir_name);
        let mut on_disk = Vec::new();
        walk(&root, "", &mut on_disk).map_err(|e| e.to_string())?;
        if on_disk.len() != listing.entries.len() {
            return Err(format!(
                "{} entries on disk, {} in its listing",
                on_disk.len(),
                listing.entries.len()
            ));
        }
        on_disk.sort();
        let mut expected: Vec<&ListingEntry> = listing.entries.iter().collect();
        expected.sort_by(|a, b| a.path.cmp(&b.path));
        for (path, e) in on_disk.iter().zip(expected) {
            if *path != e.path {
                return Err(format!("unexpected entry `{path}`"));
            }
            check_entry(&root.join(path), e, good)?;
        }
        Ok(())
    }
}

fn check_entry(path: &Path, e: &ListingEntry, good: &HashSet<(u64, u64)>) -> Result<(), String> {
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
            if good.contains(&(meta.dev(), meta.ino())) {
                return Ok(()); // a hardlink of an object verified above
            }
            let actual = hash_file(path).map_err(|err| err.to_string())?;
            if Some(actual) == e.hash && Some(meta.len()) == e.size {
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
