//! Pack trees: read-only directories `packs/<tree hash>-<name>-<version>` materialized from
//! objects (reflink → hardlink → copy, chosen once per store), with a listing beside each.
//! A pack tree becomes visible only complete and with the expected tree hash.

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
    /// The directory name: 32 hex digits of the tree hash, name, version.
    pub fn dir_name(&self) -> String {
        format!("{}-{}-{}", &self.tree.hex()[..32], self.name, self.version)
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

    /// Whether a pack tree is present (built completely: listing and directory).
    pub fn has_pack(&self, id: &PackId) -> bool {
        let dir = id.dir_name();
        fs::exists(&self.layout().pack(&dir)).unwrap_or(false)
            && fs::exists(&self.layout().pack_listing(&dir)).unwrap_or(false)
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
        let tmp = fs::temp_dir_in(&self.layout().tmp()).ctx(|| "cannot probe the store".into())?;
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
        let mode = self.link_mode()?;
        let staging = fs::temp_dir_in(&self.layout().tmp()).ctx(|| {
            format!(
                "cannot create a staging directory in `{}`",
                self.layout().tmp().display()
            )
        })?;
        let root = staging.path().join("tree");
        fs::create_dir(&root).ctx(|| format!("cannot create `{}`", root.display()))?;
        self.materialize(tree, &root, mode)?;
        seal(&root)?;
        let dir_name = id.dir_name();
        let listing = serde_json::to_vec(&tree.to_listing()).expect("listing serializes");
        let listing_path = self.layout().pack_listing(&dir_name);
        fs::write_atomic(&listing_path, &listing)
            .ctx(|| format!("cannot write `{}`", listing_path.display()))?;
        let dest = self.pack_path(&id);
        let moved = fs::rename_dir_noclobber(&root, &dest)
            .ctx(|| format!("cannot move the pack tree to `{}`", dest.display()))?;
        if !moved {
            // Another process built the same tree first.
            let _ = fs::remove_tree(&root);
        }
        fs::fsync_dir(&self.layout().packs())
            .ctx(|| format!("cannot sync `{}`", self.layout().packs().display()))?;
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

    fn materialize(&self, tree: &Tree, dir: &Path, mode: LinkMode) -> Result<(), StoreError> {
        for (name, entry) in &tree.entries {
            let path = dir.join(name);
            match entry {
                Entry::Dir(sub) => {
                    fs::create_dir(&path).ctx(|| format!("cannot create `{}`", path.display()))?;
                    self.materialize(sub, &path, mode)?;
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
                    link_file(&object, &path, mode, *executable)?;
                }
            }
        }
        Ok(())
    }
}

fn link_file(
    object: &Path,
    dest: &Path,
    mode: LinkMode,
    executable: bool,
) -> Result<(), StoreError> {
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
    Ok(())
}

/// Make every directory of a finished tree read-only (children first).
fn seal(dir: &Path) -> Result<(), StoreError> {
    for item in fs::read_dir(dir).ctx(|| format!("cannot read `{}`", dir.display()))? {
        let item = item.ctx(|| format!("cannot read `{}`", dir.display()))?;
        if item.file_type().ctx(|| "cannot stat".into())?.is_dir() {
            seal(&item.path())?;
        }
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o555))
        .ctx(|| format!("cannot set the mode of `{}`", dir.display()))
}
