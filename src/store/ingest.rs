//! Ingest: turn a directory or a tar stream into objects plus a [`Tree`], refusing anything
//! that could escape the pack or that a platform cannot represent (absolute or escaping
//! symlinks, `..`, hardlinks out of the tree, devices, duplicate entries, invalid names).

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Component, Path};

use super::budget::Limits;
use super::objects::Batch;
use super::tree::{Entry, Tree};
use super::{InputContext, Store, StoreError};
use crate::fs::{self, MetadataExt, PermissionsExt};

/// Most directories a path inside a pack may go down (and so the deepest recursion anything
/// over a tree does).
pub const MAX_DEPTH: usize = 256;
/// Longest path inside a pack, in bytes (Linux's `PATH_MAX`).
pub const MAX_PATH_BYTES: usize = 4096;

fn bad(entry: &str, reason: impl Into<String>) -> StoreError {
    StoreError::BadEntry {
        entry: entry.to_owned(),
        reason: reason.into(),
    }
}

/// Check one path component: UTF-8, not `.`/`..`, no `/`, NUL or control characters, at most
/// 255 bytes, and no name Windows or macOS cannot hold either (`:` `\` `*` `?` `"` `<` `>` `|`).
pub fn check_name(entry: &str, name: &str) -> Result<(), StoreError> {
    if name.is_empty() || name == "." || name == ".." {
        return Err(bad(entry, "`.` and `..` are not allowed in pack paths"));
    }
    if name.len() > 255 {
        return Err(bad(entry, "a name is longer than 255 bytes"));
    }
    if let Some(c) = name.chars().find(|c| {
        c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
    }) {
        return Err(bad(
            entry,
            format!("the name contains {c:?}, which is not valid on every platform"),
        ));
    }
    Ok(())
}

/// Check a symlink at `link_path` (components inside the pack) pointing at `target`: relative,
/// valid names, and never leaving the pack when resolved lexically.
pub fn check_symlink(link_path: &[&str], target: &str) -> Result<(), StoreError> {
    let entry = link_path.join("/");
    if target.is_empty() {
        return Err(bad(&entry, "empty symlink target"));
    }
    if target.starts_with('/') {
        return Err(bad(&entry, format!("absolute symlink to `{target}`")));
    }
    if target.chars().any(|c| c.is_control() || c == '\\') {
        return Err(bad(
            &entry,
            "symlink target contains a control character or `\\`",
        ));
    }
    let mut depth = link_path.len() as i64 - 1;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return Err(bad(
                        &entry,
                        format!("symlink to `{target}` leaves the pack"),
                    ));
                }
            }
            _ => depth += 1,
        }
    }
    Ok(())
}

/// Split an archive path into checked components (`./` prefixes allowed, nothing else odd).
pub fn split_path(raw: &str) -> Result<Vec<String>, StoreError> {
    if raw.starts_with('/') {
        return Err(bad(raw, "absolute path"));
    }
    if raw.len() > MAX_PATH_BYTES {
        return Err(bad(
            &raw[..raw.floor_char_boundary(80)],
            format!("the path is longer than {MAX_PATH_BYTES} bytes"),
        ));
    }
    let mut parts = Vec::new();
    for comp in Path::new(raw).components() {
        match comp {
            Component::CurDir => {}
            Component::Normal(n) => {
                let n = n
                    .to_str()
                    .ok_or_else(|| bad(raw, "the name is not valid UTF-8"))?;
                check_name(raw, n)?;
                parts.push(n.to_owned());
            }
            Component::ParentDir => return Err(bad(raw, "`..` in an archive path")),
            Component::RootDir | Component::Prefix(_) => return Err(bad(raw, "absolute path")),
        }
    }
    if parts.len() > MAX_DEPTH {
        return Err(bad(
            &raw[..raw.floor_char_boundary(80)],
            format!("the path is more than {MAX_DEPTH} directories deep"),
        ));
    }
    Ok(parts)
}

/// Insert `entry` at `parts`, creating parent directories; an existing entry at that path is
/// a duplicate (except a directory met again as a directory).
pub fn insert(
    root: &mut Tree,
    raw: &str,
    parts: &[String],
    entry: Entry,
) -> Result<(), StoreError> {
    let (last, parents) = parts.split_last().ok_or_else(|| bad(raw, "empty path"))?;
    let mut cur = root;
    for p in parents {
        let next = cur
            .entries
            .entry(p.clone())
            .or_insert_with(|| Entry::Dir(Tree::default()));
        cur = match next {
            Entry::Dir(sub) => sub,
            _ => return Err(bad(raw, format!("`{p}` is a file, not a directory"))),
        };
    }
    match (cur.entries.get(last), &entry) {
        (None, _) => {
            cur.entries.insert(last.clone(), entry);
            Ok(())
        }
        (Some(Entry::Dir(_)), Entry::Dir(_)) => Ok(()),
        _ => Err(bad(raw, "duplicate entry")),
    }
}

/// Walk the pack directory `dir` into a [`Tree`], checking every entry. With a store, file
/// contents are stored as objects; without, they are only hashed (to compute a tree hash).
pub fn tree_of_dir(dir: &Path, store: Option<&Store>) -> Result<Tree, StoreError> {
    let mut links: HashMap<(u64, u64), (u64, u64)> = HashMap::new();
    let mut batch = store.map(Store::batch);
    let tree = walk_dir(dir, &[], batch.as_mut(), &mut links)?;
    // A file with more links than the tree holds is linked from outside the pack.
    if let Some(((_, ino), _)) = links.iter().find(|(_, (seen, nlink))| seen < nlink) {
        return Err(bad(
            &dir.display().to_string(),
            format!("a file (inode {ino}) is hardlinked from outside the pack"),
        ));
    }
    tree.check_links()?;
    if let Some(batch) = batch {
        batch.commit()?;
    }
    Ok(tree)
}

fn walk_dir(
    dir: &Path,
    prefix: &[&str],
    mut batch: Option<&mut Batch>,
    links: &mut HashMap<(u64, u64), (u64, u64)>,
) -> Result<Tree, StoreError> {
    let mut tree = Tree::default();
    let rd = fs::read_dir(dir).input(|| format!("cannot read `{}`", dir.display()))?;
    let mut names = Vec::new();
    for item in rd {
        let item = item.input(|| format!("cannot read `{}`", dir.display()))?;
        names.push(item.file_name());
    }
    names.sort();
    for os_name in names {
        let path = dir.join(&os_name);
        let shown = path.display().to_string();
        let name = os_name
            .to_str()
            .ok_or_else(|| bad(&shown, "the name is not valid UTF-8"))?;
        check_name(&shown, name)?;
        let meta = fs::symlink_metadata(&path).input(|| format!("cannot stat `{shown}`"))?;
        let ft = meta.file_type();
        let mut at: Vec<&str> = prefix.to_vec();
        at.push(name);
        let entry = if ft.is_symlink() {
            let target = fs::read_link(&path).input(|| format!("cannot read `{shown}`"))?;
            let target = target
                .to_str()
                .ok_or_else(|| bad(&shown, "symlink target is not valid UTF-8"))?
                .to_owned();
            check_symlink(&at, &target).map_err(|e| match e {
                StoreError::BadEntry { reason, .. } => bad(&shown, reason),
                other => other,
            })?;
            Entry::Symlink { target }
        } else if ft.is_dir() {
            if at.len() >= MAX_DEPTH {
                return Err(bad(
                    &shown,
                    format!("the pack is more than {MAX_DEPTH} directories deep"),
                ));
            }
            Entry::Dir(walk_dir(&path, &at, batch.as_deref_mut(), links)?)
        } else if ft.is_file() {
            if meta.nlink() > 1 {
                let seen = links
                    .entry((meta.dev(), meta.ino()))
                    .or_insert((0, meta.nlink()));
                seen.0 += 1;
            }
            let executable = meta.permissions().mode() & 0o111 != 0;
            let (hash, size) = match batch.as_deref_mut() {
                Some(batch) => {
                    let stored = batch.add_file(&path, executable)?;
                    (stored.hash, stored.size)
                }
                None => (super::objects::hash_file(&path)?, meta.len()),
            };
            Entry::File {
                hash,
                size,
                executable,
            }
        } else {
            return Err(bad(
                &shown,
                "device files, FIFOs and sockets are not allowed",
            ));
        };
        tree.entries.insert(name.to_owned(), entry);
    }
    Ok(tree)
}

/// The tree hash of a pack tree already in the store (its files are hardlinked to objects, so
/// links are not counted), for checking it against the hash it was stored under.
pub fn hash_stored_tree(dir: &Path) -> Result<super::tree::Hash, StoreError> {
    let mut links = HashMap::new();
    Ok(walk_dir(dir, &[], None, &mut links)?.hash())
}

impl Store {
    /// Ingest the directory `dir` (the pack root) into objects and return its tree.
    pub fn ingest_dir(&self, dir: &Path) -> Result<Tree, StoreError> {
        tree_of_dir(dir, Some(self))
    }

    /// Ingest an uncompressed tar stream. Entries are checked before anything is written;
    /// file contents go straight to objects (hashed while streaming).
    pub fn ingest_tar(&self, reader: impl Read, limits: &Limits) -> Result<Tree, StoreError> {
        let (tree, batch) = self.ingest_tar_uncommitted(reader, limits)?;
        batch.commit()?;
        Ok(tree)
    }

    /// [`Store::ingest_tar`] without the commit: the objects are written and checked but get
    /// their names only when the caller commits the batch (dropping it removes them). This is
    /// how an archive is unpacked while it downloads, before its digest is known to match.
    pub fn ingest_tar_uncommitted(
        &self,
        reader: impl Read,
        limits: &Limits,
    ) -> Result<(Tree, super::objects::Batch<'_>), StoreError> {
        let mut archive = tar::Archive::new(reader);
        let mut batch = self.batch();
        let mut root = Tree::default();
        let mut files: BTreeMap<Vec<String>, Entry> = BTreeMap::new();
        let entries = archive
            .entries()
            .input(|| "cannot read the archive".to_owned())?;
        for item in entries {
            let mut item = item.input(|| "cannot read the archive".to_owned())?;
            limits.count_entry()?;
            let raw_path = item.path_bytes();
            let raw = std::str::from_utf8(&raw_path)
                .map_err(|_| {
                    bad(
                        &String::from_utf8_lossy(&raw_path),
                        "path is not valid UTF-8",
                    )
                })?
                .to_owned();
            let parts = split_path(&raw)?;
            if parts.is_empty() {
                continue; // "./" itself
            }
            let kind = item.header().entry_type();
            let entry = match kind {
                tar::EntryType::Directory => Entry::Dir(Tree::default()),
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let executable = item.header().mode().unwrap_or(0o644) & 0o111 != 0;
                    let size = item.size();
                    let stored = batch.add_sized(&mut item, size, executable, limits)?;
                    let e = Entry::File {
                        hash: stored.hash,
                        size: stored.size,
                        executable,
                    };
                    files.insert(parts.clone(), e.clone());
                    e
                }
                tar::EntryType::Symlink => {
                    let target = item
                        .link_name_bytes()
                        .ok_or_else(|| bad(&raw, "symlink without a target"))?;
                    let target = std::str::from_utf8(&target)
                        .map_err(|_| bad(&raw, "symlink target is not valid UTF-8"))?
                        .to_owned();
                    let at: Vec<&str> = parts.iter().map(String::as_str).collect();
                    check_symlink(&at, &target)?;
                    Entry::Symlink { target }
                }
                tar::EntryType::Link => {
                    let target = item
                        .link_name_bytes()
                        .ok_or_else(|| bad(&raw, "hardlink without a target"))?;
                    let target = std::str::from_utf8(&target)
                        .map_err(|_| bad(&raw, "hardlink target is not valid UTF-8"))?;
                    let target_parts = split_path(target).map_err(|_| {
                        bad(&raw, format!("hardlink to `{target}` leaves the pack"))
                    })?;
                    files.get(&target_parts).cloned().ok_or_else(|| {
                        bad(
                            &raw,
                            format!("hardlink to `{target}`, which is not an earlier file of the archive"),
                        )
                    })?
                }
                tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => continue,
                other => {
                    return Err(bad(
                        &raw,
                        format!(
                            "entry type {other:?} is not allowed (only files, directories and links)"
                        ),
                    ));
                }
            };
            insert(&mut root, &raw, &parts, entry)?;
        }
        root.check_links()?;
        Ok((root, batch))
    }
}
