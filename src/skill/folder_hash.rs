//! The hashes other skill installers record of a skill folder, computed again over what aibox
//! fetched so a migration can tell whether it got the same skill:
//!
//! - the `skills` CLI's `computedHash` (`skills-lock.json`): SHA-256 over, for every regular
//!   file (folders named `.git` or `node_modules` skipped, links ignored), its `/`-separated
//!   path then its bytes, with no separator, the files ordered as JavaScript's `localeCompare`
//!   orders their paths;
//! - the `clawhub` CLI's `fingerprint` (`origin.json`): SHA-256 of the lines
//!   `<path>:<sha256 hex of the file>` joined by `\n`, for every regular file whose path has no
//!   segment starting with `.` and no `node_modules`, in the same order.
//!
//! `localeCompare` is ICU collation (root locale). For paths of printable ASCII it is this
//! order, which [`ascii_collate`] implements: characters compare by a primary rank (punctuation
//! first, then digits, then letters without case), a proper prefix first; equal primaries are
//! told apart by the first difference in case, lowercase first. Paths with other characters
//! cannot be ordered without ICU: their hash is not computed (`None`), and callers say so.

use std::cmp::Ordering;

use sha2::{Digest, Sha256};

/// The primary order of printable ASCII under ICU's root collation (letters once, lowercase).
const PRIMARY: &str = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789abcdefghijklmnopqrstuvwxyz";

fn rank(c: char) -> Option<usize> {
    PRIMARY.find(c.to_ascii_lowercase())
}

/// `localeCompare` for printable-ASCII strings; `None` when either holds another character.
pub fn ascii_collate(a: &str, b: &str) -> Option<Ordering> {
    let ra: Option<Vec<usize>> = a.chars().map(rank).collect();
    let rb: Option<Vec<usize>> = b.chars().map(rank).collect();
    let (ra, rb) = (ra?, rb?);
    match ra.cmp(&rb) {
        Ordering::Equal => {}
        other => return Some(other),
    }
    for (x, y) in a.chars().zip(b.chars()) {
        if x != y {
            // Same letter, other case: lowercase first.
            return Some(if x.is_ascii_lowercase() {
                Ordering::Less
            } else {
                Ordering::Greater
            });
        }
    }
    Some(Ordering::Equal)
}

/// Sort `files` by path as `localeCompare` does; `false` when a path cannot be ordered here.
fn sort<T>(files: &mut [(String, T)]) -> bool {
    if files
        .iter()
        .any(|(p, _)| !p.chars().all(|c| rank(c).is_some()))
    {
        return false;
    }
    files.sort_by(|a, b| ascii_collate(&a.0, &b.0).unwrap_or(Ordering::Equal));
    true
}

/// Whether the `skills` CLI hashes the file at `path` (no `.git` or `node_modules` folder).
pub fn in_computed_hash(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    !parts[..parts.len().saturating_sub(1)]
        .iter()
        .any(|p| *p == ".git" || *p == "node_modules")
}

/// Whether the `clawhub` CLI fingerprints the file at `path` (no segment starting with `.`,
/// no `node_modules`).
pub fn in_fingerprint(path: &str) -> bool {
    !path
        .split('/')
        .any(|p| p.starts_with('.') || p == "node_modules")
}

/// The `skills` CLI's `computedHash` of `files` (path, bytes: the regular files to hash,
/// already filtered with [`in_computed_hash`]); `None` when the order cannot be computed.
pub fn computed_hash(mut files: Vec<(String, Vec<u8>)>) -> Option<String> {
    if !sort(&mut files) {
        return None;
    }
    let mut h = Sha256::new();
    for (path, bytes) in &files {
        h.update(path.as_bytes());
        h.update(bytes);
    }
    Some(hex::encode(h.finalize()))
}

/// The `clawhub` CLI's fingerprint of `files` (path, bytes: filtered with [`in_fingerprint`]);
/// `None` when the order cannot be computed.
pub fn fingerprint(files: Vec<(String, Vec<u8>)>) -> Option<String> {
    let mut lines: Vec<(String, String)> = files
        .into_iter()
        .map(|(p, bytes)| {
            let line = format!("{p}:{}", hex::encode(Sha256::digest(&bytes)));
            (p, line)
        })
        .collect();
    if !sort(&mut lines) {
        return None;
    }
    let joined: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
    Some(hex::encode(Sha256::digest(joined.join("\n").as_bytes())))
}

/// The regular files below `dir` (links not followed), with their `/`-separated paths: what
/// the hashes above are computed over.
pub fn files_of(dir: &std::path::Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_owned(), String::new())];
    while let Some((d, prefix)) = stack.pop() {
        for item in crate::fs::read_dir(&d)? {
            let item = item?;
            let name = item.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let meta = crate::fs::symlink_metadata(item.path())?;
            if meta.is_dir() {
                stack.push((item.path(), rel));
            } else if meta.is_file() {
                out.push((rel, crate::fs::read(item.path())?));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_paths_collate_as_icu_root_does() {
        // The order ICU's root collation gives these paths (Node's `localeCompare`).
        let icu = [
            "__pycache__/c.pyc",
            "_x.txt",
            ".hidden",
            "a_b.txt",
            "a-b.txt",
            "a.b.txt",
            "A.txt",
            "a10.txt",
            "a9.txt",
            "assets-z.txt",
            "assets/bin.dat",
            "assets/sub/y.bin",
            "assets/x.txt",
            "b.txt",
            "e.txt",
            "f.txt",
            "metadata.json",
            "README.md",
            "refs.md",
            "Refs/x.md",
            "scripts/run.sh",
            "SKILL.md",
            "Z.txt",
        ];
        let mut shuffled: Vec<&str> = icu.iter().rev().copied().collect();
        shuffled.sort_by(|a, b| ascii_collate(a, b).unwrap());
        assert_eq!(shuffled, icu);
        assert_eq!(ascii_collate("é.txt", "e.txt"), None);
    }

    #[test]
    fn hashes_match_the_clis() {
        // `skills` 1.5 over a folder holding only this SKILL.md (its lock recorded the hash).
        let md = b"---\nname: review-pr\ndescription: Review PRs\n---\n\n# Review PR\n\nReview pull requests carefully.\n".to_vec();
        assert_eq!(
            computed_hash(vec![("SKILL.md".into(), md.clone())]).unwrap(),
            hex::encode(Sha256::digest([b"SKILL.md".as_slice(), &md].concat()))
        );
        // `_meta.json` sorts before `SKILL.md` in the fingerprint, as in ClawHub's CLI.
        let fp = fingerprint(vec![
            ("SKILL.md".into(), b"a".to_vec()),
            ("_meta.json".into(), b"b".to_vec()),
        ])
        .unwrap();
        let lines = format!(
            "_meta.json:{}\nSKILL.md:{}",
            hex::encode(Sha256::digest(b"b")),
            hex::encode(Sha256::digest(b"a"))
        );
        assert_eq!(fp, hex::encode(Sha256::digest(lines.as_bytes())));
        assert!(computed_hash(vec![("é".into(), Vec::new())]).is_none());
        assert!(in_computed_hash("scripts/.hidden") && !in_computed_hash("node_modules/x/y"));
        assert!(!in_fingerprint(".clawhub/origin.json") && in_fingerprint("_meta.json"));
    }
}
