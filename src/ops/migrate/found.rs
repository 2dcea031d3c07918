//! What a project holds of other skill installers: `skills-lock.json`, `.clawhub/lock.json`
//! (with each skill folder's `origin.json`), and the skill folders in agents' skills folders
//! that aibox did not make — each a folder with a `SKILL.md`, or a link to one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::fs;
use crate::manifest::ProjectManifest;
use crate::manifest::agents::{AgentSpec, BUILT_IN};
use crate::skill::legacy_locks::{self, ClawhubEntry, SkillsEntry};

/// The file of the `skills` CLI.
pub const SKILLS_LOCK: &str = "skills-lock.json";
/// The lock of the `clawhub` CLI (and of its older name).
pub const CLAWHUB_LOCKS: [&str; 2] = [".clawhub/lock.json", ".clawdhub/lock.json"];
/// The folder `clawhub` installs into (OpenClaw's).
pub const CLAWHUB_FOLDER: &str = "skills";

/// One entry of an agents' skills folder that aibox did not make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderEntry {
    /// The agents' folder, relative to the project root (`.claude/skills`).
    pub folder: String,
    /// The entry's name (`review-pr`).
    pub name: String,
    /// `<folder>/<name>`.
    pub rel: String,
    /// The link's target, when the entry is a symbolic link.
    pub link: Option<String>,
    /// The skill folder it is (the link resolved).
    pub real: PathBuf,
}

/// Everything found.
#[derive(Debug, Default)]
pub struct Found {
    pub skills_lock: Option<(PathBuf, BTreeMap<String, SkillsEntry>)>,
    pub clawhub: Option<(PathBuf, BTreeMap<String, ClawhubEntry>)>,
    pub entries: Vec<FolderEntry>,
}

impl Found {
    /// Whether there is anything to migrate.
    pub fn is_empty(&self) -> bool {
        self.skills_lock.is_none() && self.clawhub.is_none() && self.entries.is_empty()
    }
}

/// Whether `name` (a file name) is one of the installers' records aibox imports.
pub fn is_record(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let parent = path
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .unwrap_or("");
    name == SKILLS_LOCK || (name == "lock.json" && matches!(parent, ".clawhub" | ".clawdhub"))
}

/// Look at the project `root`: the records named in `records` (default: those present) and
/// the agents' folders (every built-in agent's project folder that exists and those of
/// `manifest`'s custom agents; `skills/` only where `clawhub` or OpenClaw is in use).
pub fn find(root: &Path, records: &[PathBuf], manifest: Option<&ProjectManifest>) -> Result<Found> {
    let mut found = Found::default();
    let named = |default: &[&str]| -> Vec<PathBuf> {
        if records.is_empty() {
            default
                .iter()
                .map(|f| root.join(f))
                .filter(|p| fs::exists(p).unwrap_or(false))
                .collect()
        } else {
            records
                .iter()
                .filter(|r| default.iter().any(|d| r.ends_with(d)))
                .cloned()
                .collect()
        }
    };
    if let Some(p) = named(&[SKILLS_LOCK]).into_iter().next() {
        let lock = legacy_locks::skills_lock(&p)?;
        found.skills_lock = Some((p, lock));
    }
    if let Some(p) = named(&CLAWHUB_LOCKS).into_iter().next() {
        let lock = legacy_locks::clawhub_lock(&p)?;
        found.clawhub = Some((p, lock));
    }
    let openclaw = found.clawhub.is_some()
        || manifest.is_some_and(|m| m.agents().iter().any(|a| a.name() == "openclaw"));
    let mut folders: Vec<String> = BUILT_IN
        .iter()
        .map(|a| a.project.to_owned())
        .filter(|f| f != CLAWHUB_FOLDER || openclaw)
        .collect();
    if let Some(m) = manifest {
        folders.extend(m.agents().iter().filter_map(|a| match a {
            AgentSpec::Custom { path, .. } => Some(path.clone()),
            AgentSpec::BuiltIn(_) => None,
        }));
    }
    folders.sort();
    folders.dedup();
    for folder in folders {
        found.entries.extend(entries_of(root, &folder));
    }
    Ok(found)
}

/// The skill entries of the agents' folder `folder` not made by aibox (links into
/// `.aibox/current/` are aibox's).
fn entries_of(root: &Path, folder: &str) -> Vec<FolderEntry> {
    let dir = root.join(folder);
    // Only a real folder inside the project, reached through no link.
    let mut at = root.to_owned();
    for part in folder.split('/') {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.is_dir() => {}
            _ => return Vec::new(),
        }
    }
    let Ok(items) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items.flatten() {
        let Some(name) = item.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let path = item.path();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        let link = if meta.file_type().is_symlink() {
            let Some(target) = fs::read_link(&path)
                .ok()
                .and_then(|t| t.to_str().map(str::to_owned))
            else {
                continue;
            };
            if target.contains(".aibox/current/") || target.contains(".aibox\\current\\") {
                continue; // aibox's own projection
            }
            Some(target)
        } else if meta.is_dir() {
            None
        } else {
            continue;
        };
        let Ok(real) = fs::canonicalize(&path) else {
            continue; // a dangling link
        };
        if !crate::skill::is_skill_dir(&real) {
            continue;
        }
        out.push(FolderEntry {
            folder: folder.to_owned(),
            rel: format!("{folder}/{name}"),
            name,
            link,
            real,
        });
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    out
}
