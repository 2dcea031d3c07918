//! Two branches' locks made one: the three-way merge of package sets behind git's merge driver
//! (`aibox lock merge %O %A %B`), and the salvage of a lock that no longer parses (conflict
//! markers, tables union-merged into duplicates) so that `aibox lock` re-locks keeping every
//! pin it can still read. What either produces is checked like any lock: `aibox lock` and
//! `aibox sync --locked` judge its freshness against the merged `aibox.toml`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::{LockedPackage, Lockfile};

/// What could be read of a damaged lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Salvaged {
    pub lock: Lockfile,
    /// `[[package]]` tables that could not be read and were dropped.
    pub dropped: usize,
}

pub use crate::manifest::{conflict_line, is_conflict_marker};

/// Read every `[[package]]` table of `text` that still reads on its own (with the sub-tables
/// that follow it); conflict markers are skipped and tables that do not read are dropped. Of
/// two tables for one package, the higher version is kept.
pub fn salvage(text: &str) -> Salvaged {
    let mut header = String::new();
    let mut tables: Vec<String> = Vec::new();
    // The top-level keys (`version = 3`, `platforms = […]`) of either side of a conflict may
    // land after a package table: they always go to the header (a package table has neither),
    // the first of each kept.
    let (mut seen_version, mut seen_platforms, mut in_platforms) = (false, false, false);
    for line in text.lines().filter(|l| !is_conflict_marker(l)) {
        let top_version = line
            .strip_prefix("version = ")
            .is_some_and(|v| v.bytes().all(|b| b.is_ascii_digit()));
        if in_platforms || line.starts_with("platforms = ") {
            in_platforms = !line.trim_end().ends_with(']');
            if !seen_platforms {
                header.push_str(line);
                header.push('\n');
            }
            seen_platforms |= !in_platforms;
            continue;
        }
        if top_version || line.starts_with("# ") {
            if top_version && !seen_version {
                header.push_str(line);
                header.push('\n');
                seen_version = true;
            }
            continue;
        }
        if line.trim() == "[[package]]" {
            tables.push(String::new());
        }
        match tables.last_mut() {
            Some(t) => {
                t.push_str(line);
                t.push('\n');
            }
            None => {
                header.push_str(line);
                header.push('\n');
            }
        }
    }
    let platforms = Lockfile::parse(&header, Path::new("aibox.lock"))
        .ok()
        .and_then(|l| l.platforms);
    let mut packages: BTreeMap<String, LockedPackage> = BTreeMap::new();
    let mut dropped = 0;
    for table in tables {
        let one = format!("version = {}\n{table}", super::VERSION);
        let Ok(mut lock) = Lockfile::parse(&one, Path::new("aibox.lock")) else {
            dropped += 1;
            continue;
        };
        let Some(p) = lock.packages.pop() else {
            dropped += 1;
            continue;
        };
        match packages.get(&p.name) {
            Some(kept) if kept.version >= p.version => {}
            _ => {
                packages.insert(p.name.clone(), p);
            }
        }
    }
    let mut lock = Lockfile {
        version: super::VERSION,
        platforms,
        packages: packages.into_values().collect(),
    };
    lock.version = lock.written_version();
    Salvaged { lock, dropped }
}

/// The outcome of a three-way merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub lock: Lockfile,
    /// Packages both branches changed differently (the newer version was kept).
    pub both_changed: Vec<String>,
}

/// Merge `ours` and `theirs`, which both started from `base` (`None`: both added the lock),
/// package by package: what only one side changed (added, updated, removed) is taken from that
/// side; what both changed differently keeps the newer version.
pub fn merge(base: Option<&Lockfile>, ours: &Lockfile, theirs: &Lockfile) -> Merged {
    let by_name = |l: Option<&Lockfile>| -> BTreeMap<String, LockedPackage> {
        l.map(|l| {
            l.packages
                .iter()
                .map(|p| (p.name.clone(), p.clone()))
                .collect()
        })
        .unwrap_or_default()
    };
    let (b, o, t) = (by_name(base), by_name(Some(ours)), by_name(Some(theirs)));
    let names: BTreeSet<&String> = b.keys().chain(o.keys()).chain(t.keys()).collect();
    let mut packages = Vec::new();
    let mut both_changed = Vec::new();
    for name in names {
        let (pb, po, pt) = (b.get(name), o.get(name), t.get(name));
        let chosen = if po == pt || pt == pb {
            po
        } else if po == pb {
            pt
        } else {
            both_changed.push(name.clone());
            match (po, pt) {
                (Some(x), Some(y)) => Some(if y.version > x.version { y } else { x }),
                // One side removed it, the other changed it: keep the change (`aibox lock`
                // drops it if nothing requests it any more).
                (x, y) => x.or(y),
            }
        };
        packages.extend(chosen.cloned());
    }
    let platforms = if ours.platforms == theirs.platforms
        || base.is_some_and(|b| b.platforms == theirs.platforms)
    {
        ours.platforms.clone()
    } else {
        theirs.platforms.clone()
    };
    let mut lock = Lockfile {
        version: super::VERSION,
        platforms,
        packages,
    };
    lock.canonicalize();
    lock.version = lock.written_version();
    Merged { lock, both_changed }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(packages: &[(&str, &str)]) -> Lockfile {
        let mut text = String::from("version = 3\n");
        for (name, version) in packages {
            text.push_str(&format!(
                "\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nkind = \"tool\"\nsource = \"dir:p\"\n\n[package.platforms.any]\ntree = \"blake3:{}\"\n",
                "1".repeat(64)
            ));
        }
        Lockfile::parse(&text, Path::new("aibox.lock")).unwrap()
    }

    fn names(l: &Lockfile) -> Vec<String> {
        l.packages
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect()
    }

    #[test]
    fn each_side_s_changes_are_kept() {
        let base = lock(&[("hello", "1.0.0"), ("shellkit", "1.2.0")]);
        // Ours adds `editorconfig`; theirs adds `greet-api` (adjacent names) and updates hello.
        let ours = lock(&[
            ("editorconfig", "1.0.0"),
            ("hello", "1.0.0"),
            ("shellkit", "1.2.0"),
        ]);
        let theirs = lock(&[
            ("greet-api", "0.2.0"),
            ("hello", "1.1.0"),
            ("shellkit", "1.2.0"),
        ]);
        let m = merge(Some(&base), &ours, &theirs);
        assert_eq!(
            names(&m.lock),
            [
                "editorconfig@1.0.0",
                "greet-api@0.2.0",
                "hello@1.1.0",
                "shellkit@1.2.0"
            ]
        );
        assert!(m.both_changed.is_empty());
        // A removal on one side is kept.
        let removed = lock(&[("hello", "1.0.0")]);
        assert_eq!(
            names(&merge(Some(&base), &removed, &base).lock),
            ["hello@1.0.0"]
        );
        // Both changed one package: the newer version.
        let a = lock(&[("hello", "1.1.0"), ("shellkit", "1.2.0")]);
        let b = lock(&[("hello", "1.2.0"), ("shellkit", "1.2.0")]);
        let m = merge(Some(&base), &a, &b);
        assert_eq!(names(&m.lock), ["hello@1.2.0", "shellkit@1.2.0"]);
        assert_eq!(m.both_changed, ["hello"]);
    }

    #[test]
    fn a_lock_with_conflict_markers_keeps_what_it_can() {
        let ours = lock(&[("editorconfig", "1.0.0"), ("hello", "1.0.0")]).render();
        let theirs = lock(&[("greet-api", "0.2.0"), ("hello", "1.0.0")]).render();
        let conflicted = format!("<<<<<<< HEAD\n{ours}=======\n{theirs}>>>>>>> branch\n");
        assert_eq!(conflict_line(&conflicted), Some(1));
        let s = salvage(&conflicted);
        assert_eq!(
            names(&s.lock),
            ["editorconfig@1.0.0", "greet-api@0.2.0", "hello@1.0.0"]
        );
        assert_eq!(s.dropped, 0);
        // A table that lost its header line to a union merge is dropped, not guessed.
        let broken = ours.replacen("[[package]]\nname = \"hello\"", "name = \"hello\"", 1);
        let s = salvage(&broken);
        assert_eq!(names(&s.lock), [] as [&str; 0]);
        assert_eq!(s.dropped, 1);
    }
}
