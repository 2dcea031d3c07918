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
    /// Packages left out because they were locked from a registry release the other branch
    /// moved away from (`name`, the source they were locked from): `aibox lock` locks them
    /// again from the release the merged `aibox.toml` names.
    pub left_out: Vec<(String, String)>,
}

/// Two branches that locked one `aqua:github:` registry at releases the merge cannot choose
/// between: the same tag with two different archives (the tag was moved between the two
/// lockings), or each branch moved to another tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryConflict {
    /// The registry (`aqua:github:<owner>/<repo>`).
    pub registry: String,
    /// This branch's (`ours`) releases of it: `tag` and `registry-digest`.
    pub ours: Vec<(String, String)>,
    /// The other branch's (`theirs`).
    pub theirs: Vec<(String, String)>,
}

impl std::fmt::Display for RegistryConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |side: &[(String, String)]| {
            side.iter()
                .map(|(tag, digest)| format!("`{tag}` ({digest})"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let same_tag = self
            .ours
            .iter()
            .any(|(t, _)| self.theirs.iter().any(|(u, _)| u == t));
        write!(
            f,
            "the two branches locked the aqua registry `{}` at different releases: this branch at {}, the other at {}{}",
            self.registry
                .strip_prefix("aqua:")
                .unwrap_or(&self.registry),
            list(&self.ours),
            list(&self.theirs),
            if same_tag {
                " (one tag, two archives: the tag was moved between the two lockings)"
            } else {
                ""
            }
        )
    }
}

/// The registry of an `aqua:github:<owner>/<repo>@<tag>` source, and its tag.
fn aqua_release(source: &str) -> Option<(&str, &str)> {
    source
        .starts_with("aqua:github:")
        .then(|| source.rsplit_once('@'))
        .flatten()
}

/// Each `aqua:github:` registry's releases in `lock`: registry → tag → registry digest.
fn releases(lock: &Lockfile) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for p in &lock.packages {
        if let (Some((registry, tag)), Some(d)) = (
            aqua_release(&p.source),
            p.aqua.as_ref().and_then(|a| a.registry.as_ref()),
        ) {
            out.entry(registry.to_owned())
                .or_default()
                .insert(tag.to_owned(), d.clone());
        }
    }
    out
}

/// Decide, for each `aqua:github:` registry both branches locked packs from, which releases
/// the merged lock keeps: the tags of the branch that moved the registry to another tag (the
/// tag the merged `aibox.toml` names, merged the same way), or the tags both share; packs of
/// `packages` locked at any other tag are left out (returned). Both branches moving to
/// different tags, or one tag with two archives, cannot be decided.
fn settle_registries(
    base: Option<&Lockfile>,
    ours: &Lockfile,
    theirs: &Lockfile,
    packages: &mut Vec<LockedPackage>,
) -> Result<Vec<(String, String)>, RegistryConflict> {
    let b = base.map(releases).unwrap_or_default();
    let (o, t) = (releases(ours), releases(theirs));
    let mut left_out = Vec::new();
    for (registry, ot) in &o {
        let Some(tt) = t.get(registry) else { continue };
        let conflict = || RegistryConflict {
            registry: registry.clone(),
            ours: ot.iter().map(|(a, b)| (a.clone(), b.clone())).collect(),
            theirs: tt.iter().map(|(a, b)| (a.clone(), b.clone())).collect(),
        };
        // One tag, two archives: which one is the release cannot be told from here.
        if ot
            .iter()
            .any(|(tag, d)| tt.get(tag).is_some_and(|e| e != d))
        {
            return Err(conflict());
        }
        let tags = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<BTreeSet<_>>();
        let (ob, otags, ttags) = (
            b.get(registry).map(tags).unwrap_or_default(),
            tags(ot),
            tags(tt),
        );
        let kept = if otags == ttags || ttags == ob {
            otags
        } else if otags == ob {
            ttags
        } else {
            return Err(conflict());
        };
        packages.retain(|p| match aqua_release(&p.source) {
            Some((r, tag)) if r == registry && !kept.contains(tag) => {
                left_out.push((p.name.clone(), p.source.clone()));
                false
            }
            _ => true,
        });
    }
    Ok(left_out)
}

/// Merge `ours` and `theirs`, which both started from `base` (`None`: both added the lock),
/// package by package: what only one side changed (added, updated, removed) is taken from that
/// side; what both changed differently keeps the newer version. An `aqua:github:` registry
/// locked at different releases keeps the release of the branch that moved its tag (packs of
/// the other release are left out, for `aibox lock` to lock again); when that cannot be
/// decided the merge stops with a [`RegistryConflict`].
pub fn merge(
    base: Option<&Lockfile>,
    ours: &Lockfile,
    theirs: &Lockfile,
) -> Result<Merged, RegistryConflict> {
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
    let left_out = settle_registries(base, ours, theirs, &mut packages)?;
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
    Ok(Merged {
        lock,
        both_changed,
        left_out,
    })
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
        let m = merge(Some(&base), &ours, &theirs).unwrap();
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
            names(&merge(Some(&base), &removed, &base).unwrap().lock),
            ["hello@1.0.0"]
        );
        // Both changed one package: the newer version.
        let a = lock(&[("hello", "1.1.0"), ("shellkit", "1.2.0")]);
        let b = lock(&[("hello", "1.2.0"), ("shellkit", "1.2.0")]);
        let m = merge(Some(&base), &a, &b).unwrap();
        assert_eq!(names(&m.lock), ["hello@1.2.0", "shellkit@1.2.0"]);
        assert_eq!(m.both_changed, ["hello"]);
    }

    /// A lock of `packages` (name, registry tag, digest digit) from the aqua registry release
    /// `aqua:github:aquaproj/aqua-registry@<tag>`.
    fn aqua(packages: &[(&str, &str, char)]) -> Lockfile {
        let mut text = String::from("version = 5\n");
        for (name, tag, d) in packages {
            text.push_str(&format!(
                "\n[[package]]\nname = \"{name}\"\nversion = \"1.0.0\"\nkind = \"tool\"\nsource = \"aqua:github:aquaproj/aqua-registry@{tag}\"\naqua = \"acme/{name}\"\ntag = \"v1.0.0\"\nregistry-digest = \"sha256:{}\"\n\n[package.platforms.linux-x86_64]\ntree = \"blake3:{}\"\nmanifest = \"sha256:{}\"\n",
                d.to_string().repeat(64),
                "1".repeat(64),
                "2".repeat(64)
            ));
        }
        Lockfile::parse(&text, Path::new("aibox.lock")).unwrap()
    }

    #[test]
    fn an_aqua_registry_keeps_the_release_of_the_branch_that_moved_it() {
        let base = aqua(&[("fzf", "v1", 'a')]);
        // Ours moved to v2; theirs added jq at v1: jq is left out, for `aibox lock`.
        let ours = aqua(&[("fzf", "v2", 'b')]);
        let theirs = aqua(&[("fzf", "v1", 'a'), ("jq", "v1", 'a')]);
        let m = merge(Some(&base), &ours, &theirs).unwrap();
        assert_eq!(names(&m.lock), ["fzf@1.0.0"]);
        assert!(m.lock.packages[0].source.ends_with("@v2"));
        assert_eq!(
            m.left_out,
            [(
                "jq".to_owned(),
                "aqua:github:aquaproj/aqua-registry@v1".to_owned()
            )]
        );
        // The same, the other way round.
        let m = merge(Some(&base), &theirs, &ours).unwrap();
        assert_eq!(names(&m.lock), ["fzf@1.0.0"]);
        assert_eq!(m.left_out.len(), 1);
        // A branch that removed every pack of the registry moved nothing: the other's
        // additions stay.
        let removed = aqua(&[]);
        let m = merge(Some(&base), &removed, &theirs).unwrap();
        assert_eq!(names(&m.lock), ["jq@1.0.0"]);
        assert!(m.left_out.is_empty());
    }

    #[test]
    fn an_aqua_registry_locked_at_releases_that_cannot_be_chosen_between_stops() {
        let base = aqua(&[("fzf", "v1", 'a')]);
        // Both moved, to different tags.
        let ours = aqua(&[("fzf", "v2", 'b')]);
        let theirs = aqua(&[("fzf", "v3", 'c')]);
        let c = merge(Some(&base), &ours, &theirs).unwrap_err();
        let text = c.to_string();
        assert!(
            text.contains("`github:aquaproj/aqua-registry`")
                && text.contains("this branch at `v2` (sha256:bbbb")
                && text.contains("the other at `v3` (sha256:cccc")
                && !text.contains("moved between"),
            "{text}"
        );
        // One tag, two archives (neither branch's lock had it before).
        let ours = aqua(&[("fzf", "v1", 'a')]);
        let theirs = aqua(&[("jq", "v1", 'd')]);
        let c = merge(None, &ours, &theirs).unwrap_err();
        assert!(
            c.to_string()
                .contains("the tag was moved between the two lockings")
        );
        // One side kept the base's archive; the other dropped fzf and locked jq from another
        // archive under the same tag.
        let theirs = aqua(&[("jq", "v1", 'd')]);
        assert!(merge(Some(&base), &base, &theirs).is_err());
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
