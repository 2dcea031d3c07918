//! Pack trees: read-only directories `packs/<tree hash>-<name>-<version>` materialized from
//! objects (reflink → hardlink → copy, chosen once per store), with a listing beside each.
//!
//! The listing is the commit marker: a tree is renamed into `packs/` only complete and with
//! the expected tree hash, and its listing is written after that. A directory without its
//! listing is never trusted (it is replaced, or removed by gc); gc and repairs remove the
//! listing first and rename the tree into `trash/` before deleting it, so a partly deleted tree
//! is never visible. Building one tree is serialized by a per-tree lock file.

use std::fmt;
use std::path::{Path, PathBuf};

use super::settle::{STAGED_LISTING, STAGED_TREE, object_name};
use super::staged::{Dirty, StagedPack};
use super::tree::{Entry, Hash, Listing, Tree};
use super::{IoContext, Store, StoreError};
use crate::fs::{self, Dir, PermissionsExt};

/// Identity of a pack tree in the store: its tree hash, name and version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackId {
    pub tree: Hash,
    pub name: String,
    pub version: String,
}

impl PackId {
    /// The directory name: the whole tree hash (64 hex digits), name, version.
    pub fn dir_name(&self) -> String {
        format!("{}-{}-{}", self.tree.hex(), self.name, self.version)
    }
}

impl fmt::Display for PackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.dir_name())
    }
}

pub use super::staged::LinkMode;

impl Store {
    /// The path of a pack tree.
    pub fn pack_path(&self, id: &PackId) -> PathBuf {
        self.layout().pack(&id.dir_name())
    }

    /// Whether a pack tree is present: its directory (named by the whole tree hash) and its
    /// listing, which is written only after the complete tree is in place.
    pub fn has_pack(&self, id: &PackId) -> bool {
        let dir = id.dir_name();
        fs::exists(&self.layout().pack_listing(&dir)).unwrap_or(false)
            && fs::exists(&self.layout().pack(&dir)).unwrap_or(false)
    }

    /// Make a pack tree invisible, then delete it: the listing goes first, the directory is
    /// renamed into `trash/` (made writable first: a sealed directory cannot be moved), then
    /// removed. Safe to interrupt at any point.
    pub fn discard_pack(&self, dir_name: &str) -> Result<(), StoreError> {
        let listing = self.layout().pack_listing(dir_name);
        if fs::exists(&listing).unwrap_or(true) {
            fs::remove_file(&listing).ctx(|| format!("cannot remove `{}`", listing.display()))?;
            fs::fsync_dir(&self.layout().packs())
                .ctx(|| format!("cannot sync `{}`", self.layout().packs().display()))?;
        }
        self.discard_path(&self.layout().pack(dir_name))
    }

    /// Rename `path` (a file or a tree) into `trash/`, then delete it there.
    pub fn discard_path(&self, path: &Path) -> Result<(), StoreError> {
        let meta = match fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e).ctx(|| format!("cannot stat `{}`", path.display())),
        };
        if meta.is_dir() {
            fs::set_permissions(path, fs::Permissions::from_mode(0o755))
                .ctx(|| format!("cannot make `{}` writable", path.display()))?;
        }
        let trash = self.layout().trash();
        let slot = fs::temp_dir_in(&trash)
            .ctx(|| format!("cannot create a directory in `{}`", trash.display()))?
            .keep();
        let dest = slot.join("x");
        fs::rename(path, &dest).ctx(|| format!("cannot move `{}` to the trash", path.display()))?;
        fs::remove_tree(&slot).ctx(|| format!("cannot remove `{}`", slot.display()))
    }

    /// Read a pack's listing.
    pub fn pack_listing(&self, dir_name: &str) -> Result<Listing, StoreError> {
        let path = self.layout().pack_listing(dir_name);
        let text = fs::read(&path).ctx(|| format!("cannot read `{}`", path.display()))?;
        serde_json::from_slice(&text).map_err(|e| StoreError::Corrupt {
            path,
            reason: e.to_string(),
        })
    }

    /// The link mode of this store, probed once and recorded in `link-mode`.
    pub fn link_mode(&self) -> Result<LinkMode, StoreError> {
        if let Some(mode) = self.link_mode.get() {
            return Ok(*mode);
        }
        let record = self.layout().link_mode();
        let recorded = fs::read_to_string(&record)
            .ok()
            .and_then(|text| LinkMode::parse(text.trim()));
        let mode = match recorded {
            Some(mode) => mode,
            None => {
                let mode = self.probe_link_mode()?;
                fs::write_atomic_as(&record, mode.as_str().as_bytes(), self.durability())
                    .ctx(|| format!("cannot write `{}`", record.display()))?;
                mode
            }
        };
        Ok(*self.link_mode.get_or_init(|| mode))
    }

    fn probe_link_mode(&self) -> Result<LinkMode, StoreError> {
        let tmp = fs::temp_dir_in(&self.staging()?).ctx(|| "cannot probe the store".into())?;
        let src = tmp.path().join("probe");
        fs::write(&src, b"probe").ctx(|| "cannot probe the store".into())?;
        Ok(
            if reflink_copy::reflink(&src, tmp.path().join("reflink")).is_ok() {
                LinkMode::Reflink
            } else if fs::hard_link(&src, tmp.path().join("hardlink")).is_ok() {
                LinkMode::Hardlink
            } else {
                LinkMode::Copy
            },
        )
    }

    /// Build the pack tree for `tree` (whose objects are in the store, or staged by this
    /// handle's deferral) unless it exists. `expected` is the tree hash the caller requires
    /// (from a lock or an annotation). Within a deferral the tree is staged and committed at
    /// the settle; otherwise it is committed before this returns.
    pub fn build_pack(
        &self,
        name: &str,
        version: &str,
        tree: &Tree,
        expected: Option<&Hash>,
    ) -> Result<PackId, StoreError> {
        // Every source's ingest checks this already; a tree is never built without it.
        tree.check_links()?;
        let actual = tree.hash();
        if let Some(expected) = expected
            && *expected != actual
        {
            return Err(StoreError::TreeMismatch {
                what: format!("{name}@{version}"),
                expected: *expected,
                actual,
            });
        }
        let id = PackId {
            tree: actual,
            name: name.to_owned(),
            version: version.to_owned(),
        };
        if self.has_pack(&id) {
            return Ok(id);
        }
        let dir_name = id.dir_name();
        if self
            .with_staged(|s| s.packs.contains_key(&dir_name))
            .unwrap_or(false)
        {
            return Ok(id);
        }
        let (staged, dirty) = self.stage_pack(tree)?;
        let mut staged = Some(staged);
        let mut dirty = Some(dirty);
        let handed = self.with_staged(|s| {
            if let Some(p) = staged.take() {
                s.packs.insert(dir_name.clone(), p);
            }
            s.dirty.extend(dirty.take().unwrap_or_default());
        });
        if handed.is_none() {
            self.barrier(&dirty.unwrap_or_default())?;
            let mut one = std::collections::BTreeMap::new();
            if let Some(p) = staged {
                one.insert(dir_name, p);
            }
            self.name_packs(one)?;
        }
        Ok(id)
    }

    /// Build `tree` in a new staging directory under `tmp/` (`tree/`, every directory below
    /// its root sealed, and `listing.json`), linking files from objects (named or staged);
    /// returns it with what a barrier must flush for it.
    fn stage_pack(&self, tree: &Tree) -> Result<(StagedPack, Dirty), StoreError> {
        let mode = self.link_mode()?;
        let dirs = self.dirs()?;
        let staging = fs::temp_name("p");
        let at = self.layout().tmp().join(&staging);
        dirs.tmp
            .create_dir(&staging)
            .ctx(|| format!("cannot create `{}`", at.display()))?;
        // Removed on failure, handed over on success.
        let guard = fs::StagingDir::adopt(at.clone());
        let stage = dirs
            .tmp
            .open_dir(&staging)
            .ctx(|| format!("cannot open `{}`", at.display()))?;
        stage
            .create_dir(STAGED_TREE)
            .ctx(|| format!("cannot create `{}/{STAGED_TREE}`", at.display()))?;
        let root = stage
            .open_dir(STAGED_TREE)
            .ctx(|| format!("cannot open `{}/{STAGED_TREE}`", at.display()))?;
        let mut dirty = Dirty::default();
        self.materialize(tree, &root, &at.join(STAGED_TREE), mode, &mut dirty)?;
        dirty.add(at.join(STAGED_TREE));
        let listing = serde_json::to_vec(&tree.to_listing()).expect("listing serializes");
        let mut file = stage
            .create_file(STAGED_LISTING, 0o644)
            .ctx(|| format!("cannot write `{}/{STAGED_LISTING}`", at.display()))?;
        std::io::Write::write_all(&mut file, &listing)
            .ctx(|| format!("cannot write `{}/{STAGED_LISTING}`", at.display()))?;
        dirty.add(at.join(STAGED_LISTING));
        dirty.add(at);
        guard.keep();
        Ok((StagedPack { staging }, dirty))
    }

    /// Ingest `dir` and build its pack tree (the `dir:` source and `pack build` use this).
    pub fn add_pack_dir(
        &self,
        name: &str,
        version: &str,
        dir: &Path,
        expected: Option<&Hash>,
    ) -> Result<PackId, StoreError> {
        let tree = self.ingest_dir(dir)?;
        self.build_pack(name, version, &tree, expected)
    }

    /// Create `tree` in the open directory `dir` (at `path`), sealing each directory below
    /// it once its entries are made; `dirty` collects what a barrier must flush (every
    /// directory, and files whose data was copied).
    fn materialize(
        &self,
        tree: &Tree,
        dir: &Dir,
        path: &Path,
        mode: LinkMode,
        dirty: &mut Dirty,
    ) -> Result<(), StoreError> {
        let dirs = self.dirs()?;
        for (name, entry) in &tree.entries {
            match entry {
                Entry::Dir(sub) => {
                    let at = path.join(name);
                    dir.create_dir(name)
                        .ctx(|| format!("cannot create `{}`", at.display()))?;
                    let d = dir
                        .open_dir(name)
                        .ctx(|| format!("cannot open `{}`", at.display()))?;
                    self.materialize(sub, &d, &at, mode, dirty)?;
                    d.set_mode(0o555)
                        .ctx(|| format!("cannot set the mode of `{}`", at.display()))?;
                    dirty.add(at);
                }
                Entry::Symlink { target } => {
                    dir.symlink(target, name)
                        .ctx(|| format!("cannot create `{}`", path.join(name).display()))?;
                }
                Entry::File {
                    hash, executable, ..
                } => {
                    let staged = self
                        .with_staged(|s| s.objects.get(&(*hash, *executable)).cloned())
                        .flatten();
                    let (from, from_name) = match staged {
                        Some(temp) => (&dirs.tmp, temp),
                        None => {
                            let (shard, file) = object_name(hash, *executable);
                            (&dirs.objects, format!("{shard}/{file}"))
                        }
                    };
                    let place = Place {
                        dir,
                        name,
                        path: &path.join(name),
                    };
                    if !link_file(from, &from_name, &place, mode, *executable)? {
                        dirty.add(place.path.to_owned());
                    }
                }
            }
        }
        Ok(())
    }
}

/// Where a file of a tree goes: `name` in the open directory `dir`, at `path`.
struct Place<'a> {
    dir: &'a Dir,
    name: &'a str,
    path: &'a Path,
}

/// Place the object `from_name` of `from` at `to`; `Ok(true)` when it is a hardlink (no new
/// data to flush). A missing object is a corrupt store.
fn link_file(
    from: &Dir,
    from_name: &str,
    to: &Place,
    mode: LinkMode,
    executable: bool,
) -> Result<bool, StoreError> {
    let source = from.path().join(from_name);
    let missing = || StoreError::Corrupt {
        path: source.clone(),
        reason: "object missing while building a pack tree".into(),
    };
    let linked = match mode {
        LinkMode::Reflink => reflink_copy::reflink(&source, to.path).is_ok(),
        LinkMode::Hardlink => match from.hard_link(from_name, to.dir, to.name) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
            // EMLINK (too many links to one object) and the like fall back to a copy.
            Err(_) => false,
        },
        LinkMode::Copy => false,
    };
    if !linked {
        if !fs::exists(&source).unwrap_or(false) {
            return Err(missing());
        }
        fs::copy(&source, to.path).ctx(|| format!("cannot copy to `{}`", to.path.display()))?;
    }
    if mode != LinkMode::Hardlink || !linked {
        let perm = fs::Permissions::from_mode(if executable { 0o555 } else { 0o444 });
        fs::set_permissions(to.path, perm)
            .ctx(|| format!("cannot set the mode of `{}`", to.path.display()))?;
    }
    Ok(mode == LinkMode::Hardlink && linked)
}
