//! What a store handle holds between writing files and naming them: the store directories it
//! keeps open (every object, tree and rename is made relative to them), and — while a sync
//! defers its flushes (`Store::defer`) — the objects, pack trees and kept
//! signatures written under temporary names in `tmp/`, which get their names only after the
//! barrier that makes them durable (store-format/SPEC.md §2).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::tree::Hash;
use crate::fs::{self, Dir};

/// At most this many paths are flushed one by one at a barrier; past it, one `syncfs(2)` of
/// the store's filesystem is cheaper than reopening each file.
pub const FLUSH_EACH_MAX: usize = 64;

/// How files get from objects into pack trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkMode {
    Reflink,
    Hardlink,
    Copy,
}

impl LinkMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkMode::Reflink => "reflink",
            LinkMode::Hardlink => "hardlink",
            LinkMode::Copy => "copy",
        }
    }

    pub fn parse(text: &str) -> Option<LinkMode> {
        match text {
            "reflink" => Some(LinkMode::Reflink),
            "hardlink" => Some(LinkMode::Hardlink),
            "copy" => Some(LinkMode::Copy),
            _ => None,
        }
    }
}

/// The store's directories, opened once per handle.
#[derive(Debug)]
pub struct Dirs {
    pub tmp: Dir,
    pub objects: Dir,
    pub packs: Dir,
}

/// What a barrier must make durable: the paths written since the last one, while they are
/// few; past [`FLUSH_EACH_MAX`], only the fact that there were many (the barrier is then one
/// `syncfs(2)`).
#[derive(Debug, Default)]
pub struct Dirty {
    paths: Vec<PathBuf>,
    many: bool,
}

impl Dirty {
    /// Remember that `path` (a file or directory) was written.
    pub fn add(&mut self, path: PathBuf) {
        if self.many {
            return;
        }
        if self.paths.len() == FLUSH_EACH_MAX {
            self.paths = Vec::new();
            self.many = true;
        } else {
            self.paths.push(path);
        }
    }

    /// Everything `other` remembered.
    pub fn extend(&mut self, other: Dirty) {
        if other.many {
            self.paths = Vec::new();
            self.many = true;
            return;
        }
        for p in other.paths {
            self.add(p);
        }
    }

    /// The paths to flush one by one, or `None`: flush the whole filesystem.
    pub fn each(&self) -> Option<&[PathBuf]> {
        (!self.many).then_some(self.paths.as_slice())
    }

    pub fn is_empty(&self) -> bool {
        !self.many && self.paths.is_empty()
    }
}

/// A pack tree built in `tmp/` and waiting to be named: `tmp/<staging>/tree` is the tree,
/// `tmp/<staging>/listing.json` its listing.
#[derive(Debug)]
pub struct StagedPack {
    pub staging: String,
}

/// Files written under temporary names in `tmp/` that wait for the next barrier.
#[derive(Debug)]
pub struct Staged {
    tmp: PathBuf,
    /// New objects: (content hash, executable) → temporary name in `tmp/`.
    pub objects: HashMap<(Hash, bool), String>,
    /// Pack trees: pack directory name → its staging.
    pub packs: BTreeMap<String, StagedPack>,
    /// Other files (kept signatures): final path → temporary name in `tmp/`.
    pub files: BTreeMap<PathBuf, String>,
    pub dirty: Dirty,
}

impl Staged {
    pub fn new(tmp: &Path) -> Staged {
        Staged {
            tmp: tmp.to_owned(),
            objects: HashMap::new(),
            packs: BTreeMap::new(),
            files: BTreeMap::new(),
            dirty: Dirty::default(),
        }
    }

    /// Nothing waits to be named.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty() && self.packs.is_empty() && self.files.is_empty()
    }

    /// Hand everything over to the caller that names it (nothing is removed on drop).
    pub fn take(&mut self) -> Staged {
        std::mem::replace(self, Staged::new(&self.tmp))
    }
}

/// What was never named is removed (a later run's sweep would remove it too).
impl Drop for Staged {
    fn drop(&mut self) {
        let names = self
            .objects
            .values()
            .chain(self.files.values())
            .chain(self.packs.values().map(|p| &p.staging));
        for name in names {
            let _ = fs::remove_tree(&self.tmp.join(name));
        }
    }
}
