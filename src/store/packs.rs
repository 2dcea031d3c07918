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

use super::tree::{Entry, Hash, Listing, Tree};
use super::{IoContext, Store, StoreError};
use crate::fs::{self, PermissionsExt};

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

/// How files get from objects into pack trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkMode {
    Reflink,
    Hardlink,
    Copy,
}

impl LinkMode {
    fn as_str(self) -> &'static str {
        match self {
            LinkMode::Reflink => "reflink",
            LinkMode::Hardlink => "hardlink",
            LinkMode::Copy => "copy",
        }
    }
}

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
        let record = self.layout().link_mode();
        if let Ok(text) = fs::read_to_string(&record) {
            match text.trim() {
                "reflink" => return Ok(LinkMode::Reflink),
                "hardlink" => return Ok(LinkMode::Hardlink),
                "copy" => return Ok(LinkMode::Copy),
                _ => {}
            }
        }
        let tmp = fs::temp_dir_in(&self.staging()?).ctx(|| "cannot probe the store".into())?;
        let src = tmp.path().join("probe");
        fs::write(&src, b"probe").ctx(|| "cannot probe the store".into())?;
        let mode = if reflink_copy::reflink(&src, tmp.path().join("reflink")).is_ok() {
            LinkMode::Reflink
        } else if fs::hard_link(&src, tmp.path().join("hardlink")).is_ok() {
            LinkMode::Hardlink
        } else {
            LinkMode::Copy
        };
        fs::write_atomic(&record, mode.as_str().as_bytes())
            .ctx(|| format!("cannot write `{}`", record.display()))?;
        Ok(mode)
    }

    /// Build the pack tree for `tree` (whose objects are in the store) unless it exists.
    /// `expected` is the tree hash the caller requires (from a lock or an annotation).
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
        let _building = fs::LockedFile::acquire(
            &self.layout().pack_lock(&dir_name),
            fs::LockMode::Exclusive,
            &format!("building {name}@{version}"),
            fs::lock_timeout()?,
            &|msg| self.reporter().status("Blocking", msg),
        )?;
        if self.has_pack(&id) {
            return Ok(id); // another process built it while we waited
        }
        let mode = self.link_mode()?;
        let tmp = self.staging()?;
        let staging = fs::StagingDir::new_in(&tmp)
            .ctx(|| format!("cannot create a staging directory in `{}`", tmp.display()))?;
        let root = staging.path().join("tree");
        fs::create_dir(&root).ctx(|| format!("cannot create `{}`", root.display()))?;
        let mut to_sync = vec![root.clone()];
        self.materialize(tree, &root, mode, &mut to_sync)?;
        seal_children(&root)?;
        fs::fsync_many(&to_sync).ctx(|| "cannot flush the pack tree to disk".into())?;
        let dest = self.pack_path(&id);
        // Whatever sits at `dest` without a listing is an uncommitted leftover: never trusted.
        self.discard_path(&dest)?;
        fs::rename(&root, &dest)
            .ctx(|| format!("cannot move the pack tree to `{}`", dest.display()))?;
        fs::set_permissions(&dest, fs::Permissions::from_mode(0o555))
            .ctx(|| format!("cannot set the mode of `{}`", dest.display()))?;
        fs::fsync_dir(&dest).ctx(|| format!("cannot sync `{}`", dest.display()))?;
        let listing = serde_json::to_vec(&tree.to_listing()).expect("listing serializes");
        let listing_path = self.layout().pack_listing(&dir_name);
        // The commit: write_atomic also makes the `packs/` directory durable.
        fs::write_atomic(&listing_path, &listing)
            .ctx(|| format!("cannot write `{}`", listing_path.display()))?;
        Ok(id)
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

    /// Create `tree` under `dir`; `to_sync` collects what must be fsynced for durability (every
    /// directory, and files whose data was copied).
    fn materialize(
        &self,
        tree: &Tree,
        dir: &Path,
        mode: LinkMode,
        to_sync: &mut Vec<PathBuf>,
    ) -> Result<(), StoreError> {
        for (name, entry) in &tree.entries {
            let path = dir.join(name);
            match entry {
                Entry::Dir(sub) => {
                    fs::create_dir(&path).ctx(|| format!("cannot create `{}`", path.display()))?;
                    to_sync.push(path.clone());
                    self.materialize(sub, &path, mode, to_sync)?;
                }
                Entry::Symlink { target } => {
                    fs::symlink(target, &path)
                        .ctx(|| format!("cannot create `{}`", path.display()))?;
                }
                Entry::File {
                    hash, executable, ..
                } => {
                    let object = self.layout().object(hash, *executable);
                    if !fs::exists(&object).unwrap_or(false) {
                        return Err(StoreError::Corrupt {
                            path: object,
                            reason: "object missing while building a pack tree".into(),
                        });
                    }
                    if !link_file(&object, &path, mode, *executable)? {
                        to_sync.push(path);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Place one object at `dest`; `Ok(true)` when it is a hardlink (no new data to sync).
fn link_file(
    object: &Path,
    dest: &Path,
    mode: LinkMode,
    executable: bool,
) -> Result<bool, StoreError> {
    let linked = match mode {
        LinkMode::Reflink => reflink_copy::reflink(object, dest).is_ok(),
        // EMLINK (too many links to one object) falls back to a copy.
        LinkMode::Hardlink => fs::hard_link(object, dest).is_ok(),
        LinkMode::Copy => false,
    };
    if !linked {
        fs::copy(object, dest).ctx(|| format!("cannot copy to `{}`", dest.display()))?;
    }
    if mode != LinkMode::Hardlink || !linked {
        let perm = fs::Permissions::from_mode(if executable { 0o555 } else { 0o444 });
        fs::set_permissions(dest, perm)
            .ctx(|| format!("cannot set the mode of `{}`", dest.display()))?;
    }
    Ok(mode == LinkMode::Hardlink && linked)
}

/// Make every directory below `dir` read-only (children first). `dir` itself stays writable
/// until it has been renamed into place: moving a directory to another parent rewrites its
/// `..` entry, which needs write permission on it.
fn seal_children(dir: &Path) -> Result<(), StoreError> {
    for item in fs::read_dir(dir).ctx(|| format!("cannot read `{}`", dir.display()))? {
        let item = item.ctx(|| format!("cannot read `{}`", dir.display()))?;
        if item.file_type().ctx(|| "cannot stat".into())?.is_dir() {
            let path = item.path();
            seal_children(&path)?;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o555))
                .ctx(|| format!("cannot set the mode of `{}`", path.display()))?;
        }
    }
    Ok(())
}
