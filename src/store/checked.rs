//! Pack trees checked before their code runs. Under the enterprise policy a plugin's tree is
//! checked each time it starts: a full check hashes every file again against the tree's
//! listing (and the listing against the tree hash the lock names). The result is remembered in
//! `checked/<pack dir>` as a fingerprint of every entry's inode, size, mode and change times,
//! so an unchanged tree is not hashed again — while any write, `chmod` or replacement (each
//! changes a ctime, which no user can set back) makes the next start check it fully.

use std::path::Path;

use super::tree::Hash;
use super::verify::GoodInodes;
use super::{IoContext, Store, StoreError};
use crate::fs::{self, MetadataExt};

impl Store {
    /// Whether the pack tree `dir_name` is intact and is tree `expected`: `Ok(Err(reason))`
    /// names what is wrong.
    pub fn check_tree_before_run(
        &self,
        dir_name: &str,
        expected: &Hash,
    ) -> Result<Result<(), String>, StoreError> {
        if !dir_name.starts_with(&format!("{}-", expected.hex())) {
            return Ok(Err(format!("it is not tree {expected}")));
        }
        let root = self.layout().pack(dir_name);
        let fingerprint = match fingerprint(&root) {
            Ok(f) => f,
            Err(e) => return Ok(Err(format!("it cannot be read: {e}"))),
        };
        let record = self.layout().checked(dir_name);
        if fs::read_regular_string(&record, 256).is_ok_and(|t| t.trim() == fingerprint) {
            return Ok(Ok(()));
        }
        if let Err(reason) = self.check_pack(dir_name, &GoodInodes::new()) {
            return Ok(Err(reason));
        }
        let dir = record.parent().expect("under checked/");
        fs::create_dir_all(dir).ctx(|| format!("cannot create `{}`", dir.display()))?;
        fs::write_atomic(&record, format!("{fingerprint}\n").as_bytes())
            .ctx(|| format!("cannot write `{}`", record.display()))?;
        Ok(Ok(()))
    }
}

/// BLAKE3 over every entry of `root` (sorted by path): path, inode, size, mode, modification
/// and change times in nanoseconds.
fn fingerprint(root: &Path) -> std::io::Result<String> {
    let mut entries = Vec::new();
    collect(root, "", &mut entries)?;
    entries.sort();
    let mut h = blake3::Hasher::new();
    for e in entries {
        h.update(e.as_bytes());
        h.update(b"\n");
    }
    Ok(h.finalize().to_hex().to_string())
}

fn collect(dir: &Path, prefix: &str, out: &mut Vec<String>) -> std::io::Result<()> {
    let meta = fs::symlink_metadata(dir)?;
    out.push(line(prefix, &meta));
    for item in fs::read_dir(dir)? {
        let item = item?;
        let name = item.file_name().to_string_lossy().into_owned();
        let path = format!("{prefix}/{name}");
        let meta = fs::symlink_metadata(item.path())?;
        if meta.is_dir() {
            collect(&item.path(), &path, out)?;
        } else {
            out.push(line(&path, &meta));
        }
    }
    Ok(())
}

fn line(path: &str, m: &std::fs::Metadata) -> String {
    format!(
        "{path}\0{}\0{}\0{}\0{}.{}\0{}.{}",
        m.ino(),
        m.len(),
        m.mode(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec()
    )
}
