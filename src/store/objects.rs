//! Objects: file contents named by their BLAKE3 hash, written once (temp file in the store's
//! `tmp/`, fsync, no-clobber rename) and read-only forever after. "Already exists" is success.

use std::io::{Read, Write};
use std::path::Path;

use super::tree::Hash;
use super::{IoContext, Store, StoreError};
use crate::fs::{self, PermissionsExt};

const BUF: usize = 256 * 1024;

/// The result of storing one file's content.
#[derive(Debug, Clone, Copy)]
pub struct Stored {
    pub hash: Hash,
    pub size: u64,
}

impl Store {
    /// Whether the object exists.
    pub fn has_object(&self, hash: &Hash, executable: bool) -> bool {
        fs::exists(&self.layout().object(hash, executable)).unwrap_or(false)
    }

    /// Store the file at `path`: hash it first, and copy it only when the object is missing.
    pub fn add_file(&self, path: &Path, executable: bool) -> Result<Stored, StoreError> {
        let mut file = fs::File::open(path).ctx(|| format!("cannot read `{}`", path.display()))?;
        let mut hasher = blake3::Hasher::new();
        let size = std::io::copy(&mut file, &mut hasher)
            .ctx(|| format!("cannot read `{}`", path.display()))?;
        let hash: Hash = hasher.finalize().into();
        if !self.has_object(&hash, executable) {
            let file = fs::File::open(path).ctx(|| format!("cannot read `{}`", path.display()))?;
            let stored = self.add_reader(file, executable, u64::MAX)?;
            if stored.hash != hash {
                return Err(StoreError::BadEntry {
                    entry: path.display().to_string(),
                    reason: "the file changed while it was being stored".into(),
                });
            }
        }
        Ok(Stored { hash, size })
    }

    /// Store content read from `reader` (hashed while it is written to a temp file), reading at
    /// most `limit` bytes: more is [`StoreError::TooLarge`].
    pub fn add_reader(
        &self,
        mut reader: impl Read,
        executable: bool,
        limit: u64,
    ) -> Result<Stored, StoreError> {
        let tmp_dir = self.layout().tmp();
        let mut tmp = fs::temp_file_in(&tmp_dir)
            .ctx(|| format!("cannot create a file in `{}`", tmp_dir.display()))?;
        let mut hasher = blake3::Hasher::new();
        let mut buf = vec![0u8; BUF];
        let mut size = 0u64;
        loop {
            let n = reader
                .read(&mut buf)
                .ctx(|| "cannot read the content to store".to_owned())?;
            if n == 0 {
                break;
            }
            size += n as u64;
            if size > limit {
                return Err(StoreError::TooLarge { limit });
            }
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n])
                .ctx(|| format!("cannot write to `{}`", tmp.path().display()))?;
        }
        let hash: Hash = hasher.finalize().into();
        self.persist_object(tmp, &hash, executable)?;
        Ok(Stored { hash, size })
    }

    /// Make a finished temp file the object `hash`: read-only mode, fsync, no-clobber rename.
    fn persist_object(
        &self,
        tmp: tempfile::NamedTempFile,
        hash: &Hash,
        executable: bool,
    ) -> Result<(), StoreError> {
        let dest = self.layout().object(hash, executable);
        if fs::exists(&dest).ctx(|| format!("cannot stat `{}`", dest.display()))? {
            return Ok(());
        }
        let mode = if executable { 0o555 } else { 0o444 };
        let tmp_path = tmp.path().to_owned();
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))
            .ctx(|| format!("cannot set the mode of `{}`", tmp_path.display()))?;
        tmp.as_file()
            .sync_data()
            .ctx(|| format!("cannot write `{}`", tmp_path.display()))?;
        let parent = dest.parent().expect("objects have a parent");
        fs::create_dir_all(parent).ctx(|| format!("cannot create `{}`", parent.display()))?;
        fs::persist_noclobber(tmp, &dest)
            .ctx(|| format!("cannot store object `{}`", dest.display()))?;
        Ok(())
    }

    /// Re-hash an object; `Ok(false)` when its content no longer matches its name.
    pub fn check_object(&self, path: &Path, hash: &Hash) -> Result<bool, StoreError> {
        Ok(hash_file(path)? == *hash)
    }
}

/// BLAKE3 of a file's content.
pub fn hash_file(path: &Path) -> Result<Hash, StoreError> {
    let mut file = fs::File::open(path).ctx(|| format!("cannot read `{}`", path.display()))?;
    let mut hasher = blake3::Hasher::new();
    std::io::copy(&mut file, &mut hasher).ctx(|| format!("cannot read `{}`", path.display()))?;
    Ok(hasher.finalize().into())
}
