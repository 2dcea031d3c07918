//! The handover record (`handover.toml` in a project's profile directory of the aibox home —
//! never in the project, whose files a repository could commit): the entries of agents' skills
//! folders that `aibox import` handed to aibox — a folder (with the tree hash it had when imported) or a
//! symbolic link (with its target). A switch may replace such an entry by aibox's link only
//! while it is still exactly what was imported; anything else in those folders stays the
//! user's. It also keeps what the old installers recorded each imported skill's files hash to
//! (`expect`), which the next switch checks before it names the new generation. Reading,
//! writing, and telling whether an entry on disk is still the one recorded.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::fs;
use crate::store::tree::Hash;

/// The record's file name, in a profile's directory.
pub const FILE: &str = "handover.toml";
/// The largest record read.
const MAX_BYTES: u64 = 4 << 20;

/// The record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Handover {
    #[serde(default, rename = "entry")]
    pub entries: Vec<HandedEntry>,
    /// What the old installers recorded the imported skills' files hash to, still to be
    /// checked against what aibox stores for them (dropped once a switch checked them).
    #[serde(default, rename = "expect", skip_serializing_if = "Vec::is_empty")]
    pub expected: Vec<Expectation>,
}

/// What another installer recorded an imported skill's files hash to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Expectation {
    /// The skill (its name in `aibox.toml`).
    pub skill: String,
    /// Where the hash was recorded, for people (`skills-lock.json (local `…`)`, …).
    pub from: String,
    /// The `skills` CLI's `computedHash` (`skill::folder_hash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computed_hash: Option<String>,
    /// The `clawhub` CLI's `fingerprint` (`skill::folder_hash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

impl Expectation {
    /// What was recorded, and what it is called: `(what, hash)`.
    pub fn recorded(&self) -> Option<(&'static str, &str)> {
        match (&self.computed_hash, &self.fingerprint) {
            (Some(h), None) => Some(("skills-lock.json's computedHash", h)),
            (None, Some(h)) => Some(("origin.json's fingerprint", h)),
            _ => None,
        }
    }

    /// The same hash of `files` (relative `/`-separated path, bytes); `None` when it cannot be
    /// computed here (paths whose order needs ICU).
    pub fn compute(&self, files: Vec<(String, Vec<u8>)>) -> Option<String> {
        use crate::skill::folder_hash as fh;
        if self.computed_hash.is_some() {
            fh::computed_hash(
                files
                    .into_iter()
                    .filter(|(p, _)| fh::in_computed_hash(p))
                    .collect(),
            )
        } else {
            fh::fingerprint(
                files
                    .into_iter()
                    .filter(|(p, _)| fh::in_fingerprint(p))
                    .collect(),
            )
        }
    }
}

/// One handed-over entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandedEntry {
    /// Relative to the project root, `/`-separated, inside an agents' skills folder.
    pub path: String,
    /// The skill that replaces it.
    pub skill: String,
    /// A folder: its tree hash when it was imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree: Option<Hash>,
    /// A symbolic link: its target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// What an entry on disk is: a folder's tree hash or a link's target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Folder(Hash),
    Link(String),
}

/// What is at `path` now (`None`: nothing, or something that is neither a folder aibox can
/// read as a tree nor a link).
pub fn identity(path: &Path) -> Option<Identity> {
    let meta = fs::symlink_metadata(path).ok()?;
    if meta.file_type().is_symlink() {
        let target = fs::read_link(path).ok()?;
        return Some(Identity::Link(target.to_str()?.to_owned()));
    }
    if meta.is_dir() {
        let tree = crate::store::ingest::tree_of_dir(path, None).ok()?;
        return Some(Identity::Folder(tree.hash()));
    }
    None
}

impl HandedEntry {
    /// What was recorded.
    pub fn identity(&self) -> Option<Identity> {
        match (&self.tree, &self.link) {
            (Some(t), None) => Some(Identity::Folder(*t)),
            (None, Some(l)) => Some(Identity::Link(l.clone())),
            _ => None,
        }
    }
}

impl Handover {
    /// The record kept in the profile directory `dir` (empty when there is none). A damaged
    /// record hands nothing over.
    pub fn read(dir: &Path) -> Handover {
        let path = dir.join(FILE);
        fs::read_regular_string(&path, MAX_BYTES)
            .ok()
            .and_then(|text| toml::from_str::<Handover>(&text).ok())
            .map(|mut h| {
                h.entries.retain(|e| {
                    crate::manifest::bad_relative_path(&e.path).is_none() && e.identity().is_some()
                });
                h.expected.retain(|e| e.recorded().is_some());
                h
            })
            .unwrap_or_default()
    }

    /// Write the record into the profile directory `dir` (entries sorted by path, one per
    /// path).
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let mut sorted = self.clone();
        sorted.entries.sort_by(|a, b| a.path.cmp(&b.path));
        sorted.entries.dedup_by(|a, b| a.path == b.path);
        sorted.expected.sort_by(|a, b| a.skill.cmp(&b.skill));
        sorted.expected.dedup_by(|a, b| a.skill == b.skill);
        fs::create_dir_all(dir)?;
        let mut text = String::from(
            "# Entries of agents' skills folders handed to aibox by `aibox import`: a sync replaces\n\
             # each by aibox's link only while it is exactly as recorded (it is kept in the store\n\
             # first, and `aibox rollback` puts it back). Written by aibox.\n",
        );
        text.push_str(&toml::to_string(&sorted).expect("the record serializes"));
        fs::write_atomic(&dir.join(FILE), text.as_bytes())
    }

    /// The entry recorded for `rel`, when what is at `root/rel` is still exactly it.
    pub fn unchanged(&self, root: &Path, rel: &str) -> Option<&HandedEntry> {
        let entry = self.entries.iter().find(|e| e.path == rel)?;
        (identity(&root.join(rel))? == entry.identity()?).then_some(entry)
    }

    /// Add (or replace, by skill) the expectations of `more`.
    pub fn expect(&mut self, more: Vec<Expectation>) {
        for e in more {
            self.expected.retain(|x| x.skill != e.skill);
            self.expected.push(e);
        }
    }

    /// Add (or replace) the entries of `more`.
    pub fn merge(&mut self, more: Vec<HandedEntry>) {
        for e in more {
            self.entries.retain(|x| x.path != e.path);
            self.entries.push(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_reads_back_and_checks_what_is_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let skill = root.join(".agents/skills/review-pr");
        fs::create_dir_all(&skill).unwrap();
        fs::write(skill.join("SKILL.md"), "---\nname: review-pr\n---\n").unwrap();
        fs::create_dir_all(root.join(".claude/skills")).unwrap();
        fs::symlink(
            "../../.agents/skills/review-pr",
            root.join(".claude/skills/review-pr"),
        )
        .unwrap();
        let Some(Identity::Folder(tree)) = identity(&skill) else {
            panic!("a folder")
        };
        let record = Handover {
            entries: vec![
                HandedEntry {
                    path: ".claude/skills/review-pr".into(),
                    skill: "review-pr".into(),
                    tree: None,
                    link: Some("../../.agents/skills/review-pr".into()),
                },
                HandedEntry {
                    path: ".agents/skills/review-pr".into(),
                    skill: "review-pr".into(),
                    tree: Some(tree),
                    link: None,
                },
            ],
            expected: vec![Expectation {
                skill: "review-pr".into(),
                from: "skills-lock.json".into(),
                computed_hash: Some("ab".repeat(32)),
                fingerprint: None,
            }],
        };
        let profile = root.join("profile");
        record.write(&profile).unwrap();
        let back = Handover::read(&profile);
        assert_eq!(back.entries.len(), 2);
        assert_eq!(back.entries[0].path, ".agents/skills/review-pr");
        assert_eq!(back.expected, record.expected);
        assert!(back.unchanged(root, ".agents/skills/review-pr").is_some());
        assert!(back.unchanged(root, ".claude/skills/review-pr").is_some());
        // A changed folder is no longer the one handed over.
        fs::write(skill.join("notes.md"), "mine").unwrap();
        assert!(back.unchanged(root, ".agents/skills/review-pr").is_none());
        assert!(back.unchanged(root, ".agents/skills/other").is_none());
        // A record with a path leaving the project hands nothing over.
        fs::write(
            profile.join(FILE),
            "[[entry]]\npath = \"../x\"\nskill = \"x\"\nlink = \"y\"\n",
        )
        .unwrap();
        assert!(Handover::read(&profile).entries.is_empty());
    }
}
