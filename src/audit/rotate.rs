//! Rotation of the audit log by size (store-format/SPEC.md §11): when a line would take
//! `audit.jsonl` past `[audit] max-size`, the files move up one (`audit.1.jsonl` →
//! `audit.2.jsonl` …, the oldest past `[audit] keep` is deleted), `audit.jsonl` becomes
//! `audit.1.jsonl` and the line starts a new `audit.jsonl`. One process rotates at a time
//! (an exclusive `flock` on `log/audit.lock`); a line another process appends to the file it
//! had open while it was renamed lands in `audit.1.jsonl`, whole — nothing is lost.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::fs::{self, LockMode, LockedFile, MetadataExt};

/// How long a writer waits for another process's rotation before it appends without rotating.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// The stem and extension of `path` (`audit`, `jsonl`).
fn stem_and_ext(path: &Path) -> (String, String) {
    let part = |p: Option<&std::ffi::OsStr>| {
        p.map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    (part(path.file_stem()), part(path.extension()))
}

/// The `n`th rotated file beside `path` (`audit.jsonl` → `audit.<n>.jsonl`).
pub(super) fn rotated(path: &Path, n: u32) -> PathBuf {
    let (stem, ext) = stem_and_ext(path);
    path.with_file_name(format!("{stem}.{n}.{ext}"))
}

/// The numbers of the rotated files that exist beside `path`, in ascending order.
fn rotated_numbers(path: &Path) -> std::io::Result<Vec<u32>> {
    let Some(dir) = path.parent() else {
        return Ok(Vec::new());
    };
    let (stem, ext) = stem_and_ext(path);
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(n) = name
            .strip_prefix(&format!("{stem}."))
            .and_then(|r| r.strip_suffix(&format!(".{ext}")))
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|n| *n > 0)
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Every file of the log at `path`, oldest first: the rotated ones from the highest number
/// down, then `path` itself (those that exist when asked).
pub(super) fn files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = rotated_numbers(path)?
        .into_iter()
        .rev()
        .map(|n| rotated(path, n))
        .collect();
    out.push(path.to_owned());
    Ok(out)
}

/// Open for appending, created readable and writable by its owner only: the log names the
/// programs run and their arguments, which may hold what others should not read.
fn open_append(path: &Path) -> std::io::Result<fs::File> {
    use fs_err::os::unix::fs::OpenOptionsExt as _;
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

/// The log at `path` opened for appending a line of `adding` bytes: rotated first when the
/// line would take it past the configured size (a configuration that cannot be read counts as
/// the defaults here; the commands that read it report it).
pub(super) fn open(path: &Path, adding: u64) -> std::io::Result<fs::File> {
    let limits = crate::config::load().map(|c| c.audit).unwrap_or_default();
    let file = open_append(path)?;
    let size = file.metadata()?.len();
    if size == 0 || size.saturating_add(adding) <= limits.max_size {
        return Ok(file);
    }
    let lock_path = path.with_file_name("audit.lock");
    let Ok(_lock) = LockedFile::acquire(
        &lock_path,
        LockMode::Exclusive,
        "audit log",
        LOCK_WAIT,
        &|_| {},
    ) else {
        // Another process is stuck rotating: append to the file as it is.
        return Ok(file);
    };
    // Rotated by another process since it was opened: append to the new file.
    let opened = file.metadata()?;
    match fs::metadata(path) {
        Ok(now) if now.ino() == opened.ino() && now.dev() == opened.dev() => {}
        _ => return open_append(path),
    }
    rotate(path, limits.keep)?;
    open_append(path)
}

/// Shift the rotated files up by one, keeping `keep` of them, and move `path` to number 1.
fn rotate(path: &Path, keep: u32) -> std::io::Result<()> {
    let numbers = rotated_numbers(path)?;
    for n in numbers.iter().rev() {
        if *n >= keep {
            fs::remove_file(rotated(path, *n))?;
        } else {
            fs::rename(rotated(path, *n), rotated(path, n + 1))?;
        }
    }
    fs::rename(path, rotated(path, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_names_keep_the_extension() {
        assert_eq!(
            rotated(Path::new("/s/log/audit.jsonl"), 3),
            Path::new("/s/log/audit.3.jsonl")
        );
    }

    #[test]
    fn rotation_keeps_the_newest_files_and_drops_the_oldest() {
        let dir = fs::temp_dir().unwrap();
        let log = dir.path().join("audit.jsonl");
        for i in 1..=4 {
            fs::write(&log, format!("{i}\n")).unwrap();
            rotate(&log, 2).unwrap();
        }
        let files = files(&log).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["audit.2.jsonl", "audit.1.jsonl", "audit.jsonl"]);
        assert_eq!(fs::read_to_string(rotated(&log, 2)).unwrap(), "3\n");
        assert_eq!(fs::read_to_string(rotated(&log, 1)).unwrap(), "4\n");
    }
}
