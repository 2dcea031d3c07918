//! Durability by barrier (store-format/SPEC.md §2): new objects, pack trees and kept
//! signatures are written under temporary names in `tmp/` without a flush each; one barrier
//! (`syncfs(2)` of the store's filesystem, or an fsync of each path when they are few) makes
//! them durable, and only then do they get their names — objects by a no-clobber rename, pack
//! trees by a rename into `packs/` and, once those renames are durable, their listings (the
//! commit). A sync defers all of this to one settle ([`Store::defer`]); outside a deferral
//! every batch and pack settles on its own. Under [`crate::fs::Durability::Ephemeral`] the
//! barriers and directory flushes are skipped and everything else is the same.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use super::staged::{Dirs, Dirty, Staged, StagedPack};
use super::tree::Hash;
use super::{IoContext, Store, StoreError};
use crate::fs::{self, Dir, LockMode, LockedFile};

/// The name of a pack's listing inside its staging directory.
pub const STAGED_LISTING: &str = "listing.json";
/// The name of a pack's tree inside its staging directory.
pub const STAGED_TREE: &str = "tree";

/// A deferral of flushes (see [`Store::defer`]); dropped without [`Store::settle`], what it
/// staged is removed and nothing of it is named.
#[must_use = "dropping the deferral discards what it staged"]
pub struct Deferred<'a> {
    store: &'a Store,
    /// The deferral this guard started; `None`: it joined one already open.
    epoch: Option<u64>,
}

impl Drop for Deferred<'_> {
    fn drop(&mut self) {
        let Some(epoch) = self.epoch else { return };
        let mut slot = self.store.staged.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_some_and(|(e, _)| *e == epoch) {
            *slot = None; // `Staged` removes its temporary files on drop
        }
    }
}

/// The object's name under `objects/`: `<shard>/<hex>[.x]`.
pub(crate) fn object_name(hash: &Hash, executable: bool) -> (String, String) {
    let hex = hash.hex();
    let shard = hex[..2].to_owned();
    let file = if executable { format!("{hex}.x") } else { hex };
    (shard, file)
}

impl Store {
    /// `tmp/` (claimed for this process), `objects/` and `packs/`, opened once per handle.
    pub(crate) fn dirs(&self) -> Result<&Dirs, StoreError> {
        if let Some(d) = self.dirs.get() {
            return Ok(d);
        }
        let tmp = self.staging()?;
        let open = |p: PathBuf| Dir::open(&p).ctx(|| format!("cannot open `{}`", p.display()));
        let dirs = Dirs {
            tmp: open(tmp)?,
            objects: open(self.layout().objects())?,
            packs: open(self.layout().packs())?,
        };
        Ok(self.dirs.get_or_init(move || dirs))
    }

    /// From now until [`Store::settle`], objects, pack trees and kept signatures are staged
    /// under temporary names and flushed by one barrier at the settle, instead of a barrier
    /// each. Within the deferral they are visible to this handle (a tree can be built from
    /// staged objects), not yet to other processes. A deferral already open is joined.
    pub fn defer(&self) -> Deferred<'_> {
        static EPOCH: AtomicU64 = AtomicU64::new(1);
        let mut slot = self.staged.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return Deferred {
                store: self,
                epoch: None,
            };
        }
        let epoch = EPOCH.fetch_add(1, Ordering::Relaxed);
        *slot = Some((epoch, Staged::new(&self.layout().tmp())));
        Deferred {
            store: self,
            epoch: Some(epoch),
        }
    }

    /// Whether a deferral is open.
    pub(crate) fn deferring(&self) -> bool {
        self.staged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Run `f` on the open deferral's staged files; `None` when no deferral is open.
    pub(crate) fn with_staged<T>(&self, f: impl FnOnce(&mut Staged) -> T) -> Option<T> {
        let mut slot = self.staged.lock().unwrap_or_else(|e| e.into_inner());
        slot.as_mut().map(|(_, s)| f(s))
    }

    /// End the open deferral: one barrier for everything it staged, then name it all. From
    /// here on every write settles on its own again. Without a deferral, nothing to do.
    pub fn settle(&self) -> Result<(), StoreError> {
        let staged = self.staged.lock().unwrap_or_else(|e| e.into_inner()).take();
        match staged {
            Some((_, staged)) => self.name_staged(staged),
            None => Ok(()),
        }
    }

    /// The barrier: everything in `dirty` is durable when it returns (nothing to do when
    /// writes are not flushed).
    pub(crate) fn barrier(&self, dirty: &Dirty) -> Result<(), StoreError> {
        if !self.durability.flushes() || dirty.is_empty() {
            return Ok(());
        }
        match dirty.each() {
            Some(paths) => fs::fsync_many(paths).ctx(|| "cannot flush new files to disk".into()),
            None => self
                .dirs()?
                .tmp
                .sync_filesystem()
                .ctx(|| "cannot flush the store's filesystem".into()),
        }
    }

    /// Flush `dir` (its new entries), unless writes are not flushed.
    pub(crate) fn flush_dir(&self, dir: &Dir) -> Result<(), StoreError> {
        if self.durability.flushes() {
            dir.sync()
                .ctx(|| "cannot flush a directory to disk".into())?;
        }
        Ok(())
    }

    /// Barrier, then names for everything `staged` holds.
    fn name_staged(&self, mut staged: Staged) -> Result<(), StoreError> {
        if staged.is_empty() {
            return Ok(());
        }
        // Killed from here to `durable`: nothing new is named; tmp/ holds the leftovers.
        fs::crash_point("staged");
        self.barrier(&staged.dirty)?;
        fs::crash_point("durable");
        self.name_objects(&mut staged)?;
        // Killed here: the new objects are named (and durable), no pack tree is committed.
        fs::crash_point("objects-named");
        let packs = std::mem::take(&mut staged.packs);
        self.name_packs(packs)?;
        self.name_files(&mut staged)
    }

    /// Give every staged object its name (no-clobber: a name that exists holds the same
    /// content, and the staged copy is dropped; trees linked to it keep their inode). Object
    /// names need no flush of their own: a tree holds its files by link, not by name.
    pub(crate) fn name_objects(&self, staged: &mut Staged) -> Result<(), StoreError> {
        let dirs = self.dirs()?;
        let mut shards: std::collections::HashMap<String, Dir> = Default::default();
        for ((hash, executable), temp) in staged.objects.drain() {
            let (shard, file) = object_name(&hash, executable);
            if !shards.contains_key(&shard) {
                dirs.objects
                    .create_dir(&shard)
                    .ctx(|| format!("cannot create `{shard}` in the object store"))?;
                let d = dirs
                    .objects
                    .open_dir(&shard)
                    .ctx(|| format!("cannot open `{shard}` in the object store"))?;
                shards.insert(shard.clone(), d);
            }
            let to = &shards[&shard];
            let named = dirs
                .tmp
                .rename_noreplace(&temp, to, &file)
                .ctx(|| format!("cannot store object `{shard}/{file}`"))?;
            if !named {
                dirs.tmp
                    .remove_file(&temp)
                    .ctx(|| format!("cannot remove `{temp}`"))?;
            }
        }
        Ok(())
    }

    /// Move staged pack trees into `packs/` and commit them: under each tree's pack lock
    /// (taken in name order, so two processes settling at once never wait on each other in a
    /// circle), every tree is renamed into place, `packs/` is flushed, then every listing is
    /// renamed beside its tree — the commit — and `packs/` is flushed again. A tree another
    /// process committed meanwhile is kept and the staged one dropped.
    pub(crate) fn name_packs(
        &self,
        mut packs: std::collections::BTreeMap<String, StagedPack>,
    ) -> Result<(), StoreError> {
        if packs.is_empty() {
            return Ok(());
        }
        let dirs = self.dirs()?;
        let mut held: Vec<LockedFile> = Vec::with_capacity(packs.len());
        let mut placed: Vec<(String, String)> = Vec::with_capacity(packs.len());
        let names: Vec<String> = packs.keys().cloned().collect();
        for dir_name in names {
            held.push(LockedFile::acquire(
                &self.layout().pack_lock(&dir_name),
                LockMode::Exclusive,
                &format!("committing {dir_name}"),
                fs::lock_timeout()?,
                &|msg| self.reporter().status("Blocking", msg),
            )?);
            let Some(staged) = packs.remove(&dir_name) else {
                continue;
            };
            if self.pack_committed(&dir_name) {
                let _ = fs::remove_tree(&self.layout().tmp().join(&staged.staging));
                continue;
            }
            // Whatever sits there without a listing is an uncommitted leftover: never trusted.
            self.discard_path(&self.layout().pack(&dir_name))?;
            let tree = format!("{}/{STAGED_TREE}", staged.staging);
            dirs.tmp
                .rename(&tree, &dirs.packs, &dir_name)
                .ctx(|| format!("cannot move the pack tree to `{dir_name}`"))?;
            dirs.packs
                .set_mode_of(&dir_name, 0o555)
                .ctx(|| format!("cannot seal `{dir_name}`"))?;
            placed.push((dir_name, staged.staging));
        }
        self.flush_dir(&dirs.packs)?;
        for (dir_name, staging) in &placed {
            let listing = format!("{staging}/{STAGED_LISTING}");
            dirs.tmp
                .rename(&listing, &dirs.packs, &format!("{dir_name}.tree.json"))
                .ctx(|| format!("cannot commit `{dir_name}`"))?;
            dirs.tmp
                .remove_dir(staging)
                .ctx(|| format!("cannot remove `{staging}`"))?;
        }
        self.flush_dir(&dirs.packs)?;
        drop(held);
        Ok(())
    }

    /// Whether a pack tree is committed (its listing and directory exist), by its directory
    /// name.
    pub(crate) fn pack_committed(&self, dir_name: &str) -> bool {
        fs::exists(&self.layout().pack_listing(dir_name)).unwrap_or(false)
            && fs::exists(&self.layout().pack(dir_name)).unwrap_or(false)
    }

    /// Rename staged files to their places and flush their directories.
    fn name_files(&self, staged: &mut Staged) -> Result<(), StoreError> {
        let tmp = self.layout().tmp();
        let mut parents = std::collections::BTreeSet::new();
        for (dest, temp) in std::mem::take(&mut staged.files) {
            fs::rename(tmp.join(&temp), &dest)
                .ctx(|| format!("cannot write `{}`", dest.display()))?;
            if let Some(p) = dest.parent() {
                parents.insert(p.to_owned());
            }
        }
        if self.durability.flushes() {
            let parents: Vec<PathBuf> = parents.into_iter().collect();
            fs::fsync_many(&parents).ctx(|| "cannot flush kept records to disk".into())?;
        }
        Ok(())
    }

    /// Write `bytes` to `dest` as durably as this handle's writes are: within a deferral it is
    /// staged (named at the settle; reads through [`Store::staged_file`] see it at once),
    /// otherwise written atomically.
    pub(crate) fn write_record(
        &self,
        dest: &std::path::Path,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        use std::io::Write;
        if self.deferring() {
            let dirs = self.dirs()?;
            let temp = fs::temp_name("f");
            let mut file = dirs
                .tmp
                .create_file(&temp, 0o644)
                .ctx(|| format!("cannot create `{temp}`"))?;
            file.write_all(bytes)
                .ctx(|| format!("cannot write `{}`", dest.display()))?;
            let path = self.layout().tmp().join(&temp);
            let replaced = self.with_staged(|s| {
                s.dirty.add(path.clone());
                s.files.insert(dest.to_owned(), temp.clone())
            });
            match replaced {
                Some(Some(old)) => {
                    let _ = dirs.tmp.remove_file(&old);
                }
                Some(None) => {}
                // The deferral ended meanwhile: write it now.
                None => {
                    let _ = dirs.tmp.remove_file(&temp);
                    return fs::write_atomic_as(dest, bytes, self.durability)
                        .ctx(|| format!("cannot write `{}`", dest.display()));
                }
            }
            return Ok(());
        }
        fs::write_atomic_as(dest, bytes, self.durability)
            .ctx(|| format!("cannot write `{}`", dest.display()))
    }

    /// The staged (not yet named) content for `dest`, if the open deferral holds one.
    pub(crate) fn staged_file(&self, dest: &std::path::Path) -> Option<PathBuf> {
        let temp = self.with_staged(|s| s.files.get(dest).cloned())??;
        Some(self.layout().tmp().join(temp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirty_paths_turn_into_one_filesystem_flush_past_the_limit() {
        let mut d = Dirty::default();
        assert!(d.is_empty());
        for i in 0..crate::store::staged::FLUSH_EACH_MAX {
            d.add(PathBuf::from(format!("/x/{i}")));
        }
        assert_eq!(d.each().map(<[PathBuf]>::len), Some(64));
        d.add(PathBuf::from("/x/last"));
        assert!(d.each().is_none() && !d.is_empty());
    }

    #[test]
    fn a_deferral_dropped_unsettled_names_nothing_and_leaves_nothing() {
        let t = tempfile::tempdir().unwrap();
        let store = Store::open(t.path()).unwrap();
        let dest = t.path().join("record.json");
        {
            let _d = store.defer();
            store.write_record(&dest, b"{}").unwrap();
            assert!(store.staged_file(&dest).is_some());
            assert!(!dest.exists(), "not named before the settle");
        }
        assert!(!dest.exists());
        let left: Vec<_> = crate::fs::read_dir(store.layout().tmp())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        let d = store.defer();
        store.write_record(&dest, b"{}").unwrap();
        store.settle().unwrap();
        drop(d);
        assert_eq!(crate::fs::read(&dest).unwrap(), b"{}");
    }
}
