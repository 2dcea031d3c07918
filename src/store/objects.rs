//! Objects: file contents named by their BLAKE3 hash, written once and read-only forever
//! after. A new object is written under a temporary name in `tmp/` (created with its final
//! mode, relative to the open `tmp/` directory, no flush of its own) and gets its name only
//! after a barrier made it durable (settle.rs). "Already exists" is success.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::budget::Limits;
use super::settle::object_name;
use super::staged::Dirty;
use super::tree::Hash;
use super::{InputContext, IoContext, Store, StoreError};
use crate::fs;

const BUF: usize = 256 * 1024;
/// Objects at least this large have their writeback started as soon as they are written, so
/// the barrier finds their data mostly on the disk already; smaller ones are left to it.
const WRITEBACK_FROM: u64 = 1 << 20;

/// The result of storing one file's content.
#[derive(Debug, Clone, Copy)]
pub struct Stored {
    pub hash: Hash,
    pub size: u64,
}

/// A set of objects being added together. Contents go to temporary files in `tmp/`;
/// [`Batch::commit`] hands them to the store's open deferral, or (without one) makes them
/// durable and names them at once. Dropped uncommitted, the temporary files are removed.
pub struct Batch<'a> {
    store: &'a Store,
    /// New objects: (hash, executable) and their temporary name in `tmp/`.
    pending: Vec<((Hash, bool), String)>,
    seen: HashSet<(Hash, bool)>,
    dirty: Dirty,
    /// The copy buffer, allocated once per batch (not once per object: a fresh 256 KiB
    /// buffer per small file costs more than the file).
    buf: Vec<u8>,
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        if let Some(dirs) = self.store.dirs.get() {
            for (_, temp) in self.pending.drain(..) {
                let _ = dirs.tmp.remove_file(&temp);
            }
        }
    }
}

impl Store {
    /// Start a batch of new objects.
    pub fn batch(&self) -> Batch<'_> {
        Batch {
            store: self,
            pending: Vec::new(),
            seen: HashSet::new(),
            dirty: Dirty::default(),
            buf: Vec::new(),
        }
    }

    /// Whether the object exists (named, or staged by this handle's open deferral).
    pub fn has_object(&self, hash: &Hash, executable: bool) -> bool {
        if self
            .with_staged(|s| s.objects.contains_key(&(*hash, executable)))
            .unwrap_or(false)
        {
            return true;
        }
        let (shard, file) = object_name(hash, executable);
        match self.dirs() {
            Ok(d) => d
                .objects
                .exists(&format!("{shard}/{file}"))
                .unwrap_or(false),
            Err(_) => fs::exists(&self.layout().object(hash, executable)).unwrap_or(false),
        }
    }

    /// Where the content of an object can be read: its name, or — while this handle's
    /// deferral holds it staged — its temporary file.
    pub fn object_path(&self, hash: &Hash, executable: bool) -> PathBuf {
        match self
            .with_staged(|s| s.objects.get(&(*hash, executable)).cloned())
            .flatten()
        {
            Some(temp) => self.layout().tmp().join(temp),
            None => self.layout().object(hash, executable),
        }
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
            let stored = self.add_reader(file, executable, &Limits::unlimited())?;
            if stored.hash != hash {
                return Err(StoreError::BadEntry {
                    entry: path.display().to_string(),
                    reason: "the file changed while it was being stored".into(),
                });
            }
        }
        Ok(Stored { hash, size })
    }

    /// Store content of a known `size` read from `reader` (an archive entry): content that
    /// fits the buffer is read and hashed first, so an object already present costs no file
    /// at all; larger content streams as [`Batch::add_reader`] does.
    pub fn add_sized(
        &mut self,
        mut reader: impl Read,
        size: u64,
        executable: bool,
        limits: &Limits,
    ) -> Result<Stored, StoreError> {
        if size > BUF as u64 {
            return self.add_reader(reader, executable, limits);
        }
        if size > limits.left() {
            return Err(limits.too_large());
        }
        let n = size as usize;
        if self.buf.len() < BUF {
            self.buf = vec![0u8; BUF];
        }
        reader
            .read_exact(&mut self.buf[..n])
            .input(|| "cannot read the content to store".to_owned())?;
        // Nothing past the declared size: the content is what was hashed.
        if reader
            .read(&mut [0u8; 1])
            .input(|| "cannot read the content to store".to_owned())?
            != 0
        {
            return Err(StoreError::BadEntry {
                entry: "<archive>".into(),
                reason: "an entry is longer than its header says".into(),
            });
        }
        limits.spend(size);
        self.store.charge_unpacked(size)?;
        let hash: Hash = blake3::hash(&self.buf[..n]).into();
        if self.known(&hash, executable) {
            return Ok(Stored { hash, size });
        }
        let (temp, mut file) = self.create(executable)?;
        file.write_all(&self.buf[..n])
            .ctx(|| format!("cannot write `{temp}` in the store's staging area"))?;
        self.staged(hash, executable, temp);
        Ok(Stored { hash, size })
    }

    /// Store content read from `reader` (hashed while it is written to a temp file), drawing on
    /// `limits` and on the store's budget for this run: more is [`StoreError::TooLarge`].
    pub fn add_reader(
        &mut self,
        mut reader: impl Read,
        executable: bool,
        limits: &Limits,
    ) -> Result<Stored, StoreError> {
        let (temp, mut file) = self.create(executable)?;
        let mut hasher = blake3::Hasher::new();
        if self.buf.len() < BUF {
            self.buf = vec![0u8; BUF];
        }
        let mut size = 0u64;
        let written = (|| {
            loop {
                let n = reader
                    .read(&mut self.buf)
                    .input(|| "cannot read the content to store".to_owned())?;
                if n == 0 {
                    return Ok(());
                }
                size += n as u64;
                if n as u64 > limits.left() {
                    return Err(limits.too_large());
                }
                limits.spend(n as u64);
                self.store.charge_unpacked(n as u64)?;
                hasher.update(&self.buf[..n]);
                file.write_all(&self.buf[..n])
                    .ctx(|| format!("cannot write `{temp}` in the store's staging area"))?;
            }
        })();
        let dirs = self.store.dirs()?;
        if let Err(e) = written {
            let _ = dirs.tmp.remove_file(&temp);
            return Err(e);
        }
        let hash: Hash = hasher.finalize().into();
        if self.known(&hash, executable) {
            drop(file);
            dirs.tmp
                .remove_file(&temp)
                .ctx(|| format!("cannot remove `{temp}`"))?;
            return Ok(Stored { hash, size });
        }
        if size >= WRITEBACK_FROM && self.store.durability().flushes() {
            fs::start_writeback(&file);
        }
        self.staged(hash, executable, temp);
        Ok(Stored { hash, size })
    }

    /// A new temporary file in `tmp/` with the object's final mode (0444, or 0555 for
    /// executable content).
    fn create(&mut self, executable: bool) -> Result<(String, std::fs::File), StoreError> {
        let dirs = self.store.dirs()?;
        let temp = fs::temp_name("o");
        let mode = if executable { 0o555 } else { 0o444 };
        let file = dirs
            .tmp
            .create_file(&temp, mode)
            .ctx(|| format!("cannot create a file in `{}`", dirs.tmp.path().display()))?;
        Ok((temp, file))
    }

    fn staged(&mut self, hash: Hash, executable: bool, temp: String) {
        self.seen.insert((hash, executable));
        self.dirty.add(self.store.layout().tmp().join(&temp));
        self.pending.push(((hash, executable), temp));
    }

    /// The objects of this batch are complete and checked: hand them to the open deferral
    /// (they get their names at its settle), or make them durable and name them now.
    pub fn commit(mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let dirty = std::mem::take(&mut self.dirty);
        let mut pending = Some(pending);
        let mut dirty = Some(dirty);
        let handed = self.store.with_staged(|s| {
            for (key, temp) in pending.take().into_iter().flatten() {
                match s.objects.entry(key) {
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(temp);
                    }
                    // Another batch of this deferral staged the same content first.
                    std::collections::hash_map::Entry::Occupied(_) => {
                        let _ = fs::remove_file(self.store.layout().tmp().join(&temp));
                    }
                }
            }
            s.dirty.extend(dirty.take().unwrap_or_default());
        });
        if handed.is_some() {
            return Ok(());
        }
        let mut staged = super::staged::Staged::new(&self.store.layout().tmp());
        staged.objects.extend(pending.into_iter().flatten());
        self.store.barrier(&dirty.unwrap_or_default())?;
        self.store.name_objects(&mut staged)
    }
}

/// BLAKE3 of a file's content.
pub fn hash_file(path: &Path) -> Result<Hash, StoreError> {
    let mut file = fs::open_regular(path).input(|| format!("cannot read `{}`", path.display()))?;
    let mut hasher = blake3::Hasher::new();
    std::io::copy(&mut file, &mut hasher).input(|| format!("cannot read `{}`", path.display()))?;
    Ok(hasher.finalize().into())
}
