//! Objects: file contents named by their BLAKE3 hash, written once (temp files in the store's
//! `tmp/`, fsynced together per batch, no-clobber renames) and read-only forever after. "Already
//! exists" is success.

use std::collections::{BTreeSet, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::tree::Hash;
use super::{InputContext, IoContext, Store, StoreError};
use crate::fs::{self, PermissionsExt};

const BUF: usize = 256 * 1024;

/// The result of storing one file's content.
#[derive(Debug, Clone, Copy)]
pub struct Stored {
    pub hash: Hash,
    pub size: u64,
}

/// A set of objects being added together. Contents go to temp files under `tmp/`;
/// [`Batch::commit`] fsyncs them (several at a time), renames each to its name (no-clobber)
/// and fsyncs the object directories (or leaves that to one pass for a whole sync:
/// [`Store::defer_object_dirs`]). Dropped uncommitted, the temp files are removed.
pub struct Batch<'a> {
    store: &'a Store,
    pending: Vec<(tempfile::TempPath, PathBuf)>,
    seen: HashSet<(Hash, bool)>,
    /// The copy buffer, allocated once per batch (not once per object: a fresh 256 KiB
    /// buffer per small file costs more than the file).
    buf: Vec<u8>,
}

impl Store {
    /// Start a batch of new objects.
    pub fn batch(&self) -> Batch<'_> {
        Batch {
            store: self,
            pending: Vec::new(),
            seen: HashSet::new(),
            buf: Vec::new(),
        }
    }

    /// Whether the object exists.
    pub fn has_object(&self, hash: &Hash, executable: bool) -> bool {
        fs::exists(&self.layout().object(hash, executable)).unwrap_or(false)
    }
}

impl Batch<'_> {
    fn known(&self, hash: &Hash, executable: bool) -> bool {
        self.seen.contains(&(*hash, executable)) || self.store.has_object(hash, executable)
    }

    /// Store the file at `path`: hash it first, and copy it only when the object is missing.
    pub fn add_file(&mut self, path: &Path, executable: bool) -> Result<Stored, StoreError> {
        let mut file =
            fs::open_regular(path).input(|| format!("cannot read `{}`", path.display()))?;
        let mut hasher = blake3::Hasher::new();
        let size = std::io::copy(&mut file, &mut hasher)
            .input(|| format!("cannot read `{}`", path.display()))?;
        let hash: Hash = hasher.finalize().into();
        if !self.known(&hash, executable) {
            let file =
                fs::open_regular(path).input(|| format!("cannot read `{}`", path.display()))?;
            let stored = self.add_reader(file, executable, &super::budget::Limits::unlimited())?;
            if stored.hash != hash {
                return Err(StoreError::BadEntry {
                    entry: path.display().to_string(),
                    reason: "the file changed while it was being stored".into(),
                });
            }
        }
        Ok(Stored { hash, size })
    }

    /// Store content read from `reader` (hashed while it is written to a temp file), drawing on
    /// `limits` and on the store's budget for this run: more is [`StoreError::TooLarge`].
    pub fn add_reader(
        &mut self,
        mut reader: impl Read,
        executable: bool,
        limits: &super::budget::Limits,
    ) -> Result<Stored, StoreError> {
        let tmp_dir = self.store.staging()?;
        let mut tmp = fs::temp_file_in(&tmp_dir)
            .ctx(|| format!("cannot create a file in `{}`", tmp_dir.display()))?;
        let mut hasher = blake3::Hasher::new();
        if self.buf.is_empty() {
            self.buf = vec![0u8; BUF];
        }
        let buf = &mut self.buf;
        let mut size = 0u64;
        loop {
            let n = reader
                .read(buf)
                .input(|| "cannot read the content to store".to_owned())?;
            if n == 0 {
                break;
            }
            size += n as u64;
            if n as u64 > limits.left() {
                return Err(limits.too_large());
            }
            limits.spend(n as u64);
            self.store.charge_unpacked(n as u64)?;
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n])
                .ctx(|| format!("cannot write to `{}`", tmp.path().display()))?;
        }
        let hash: Hash = hasher.finalize().into();
        if self.known(&hash, executable) {
            return Ok(Stored { hash, size });
        }
        // The batch fsyncs every new object at once when it commits; starting each one's
        // writeback now, while its handle is open, leaves those fsyncs little to wait for.
        fs::start_writeback(tmp.as_file());
        let mode = if executable { 0o555 } else { 0o444 };
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))
            .ctx(|| format!("cannot set the mode of `{}`", tmp.path().display()))?;
        self.seen.insert((hash, executable));
        let dest = self.store.layout().object(&hash, executable);
        self.pending.push((tmp.into_temp_path(), dest));
        Ok(Stored { hash, size })
    }

    /// Make every new object durable and give it its name.
    pub fn commit(self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let temps: Vec<PathBuf> = self.pending.iter().map(|(t, _)| t.to_path_buf()).collect();
        fs::fsync_many(&temps).ctx(|| "cannot flush new objects to disk".into())?;
        let mut shards = BTreeSet::new();
        for (tmp, dest) in self.pending {
            let parent = dest.parent().expect("objects have a parent");
            if shards.insert(parent.to_owned()) {
                fs::create_dir_all(parent)
                    .ctx(|| format!("cannot create `{}`", parent.display()))?;
            }
            fs::persist_noclobber(tmp, &dest)
                .ctx(|| format!("cannot store object `{}`", dest.display()))?;
        }
        self.store.object_dirs_changed(shards.into_iter().collect())
    }
}

/// BLAKE3 of a file's content.
pub fn hash_file(path: &Path) -> Result<Hash, StoreError> {
    let mut file = fs::open_regular(path).input(|| format!("cannot read `{}`", path.display()))?;
    let mut hasher = blake3::Hasher::new();
    std::io::copy(&mut file, &mut hasher).input(|| format!("cannot read `{}`", path.display()))?;
    Ok(hasher.finalize().into())
}
