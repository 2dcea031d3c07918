//! The records other skill installers keep, read for a migration (`aibox import`):
//!
//! - `skills-lock.json` (the `skills` CLI): `{"version": 1, "skills": {"<name>": {"source",
//!   "sourceType", "ref"?, "skillPath"?, "computedHash"}}}`;
//! - `.clawhub/lock.json` (the `clawhub` CLI; `.clawdhub/` of older versions):
//!   `{"version": 1, "skills": {"<slug or @owner/slug>": {"version", "installedAt",
//!   "ownerHandle"?}}}`, and each skill folder's `.clawhub/origin.json`: `{"version": 1,
//!   "registry", "slug", "ownerHandle"?, "installedVersion", "fingerprint"?}`.
//!
//! Every value is checked before use: names, versions, hashes, registry URLs.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::fs;

/// The largest record read.
const MAX_BYTES: u64 = 16 << 20;

/// Why a record cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LegacyError {
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("`{path}` is not a {what}: {message}")]
    Invalid {
        path: String,
        what: &'static str,
        message: String,
    },
}

impl crate::error::Hint for LegacyError {
    fn hints(&self) -> Vec<String> {
        vec!["fix or remove the file, or import without it (name the files to import)".into()]
    }
}

/// One `skills-lock.json` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SkillsEntry {
    pub source: String,
    #[serde(rename = "sourceType")]
    pub source_type: String,
    #[serde(default, rename = "ref")]
    pub reference: Option<String>,
    #[serde(default, rename = "skillPath")]
    pub skill_path: Option<String>,
    #[serde(default, rename = "computedHash")]
    pub computed_hash: Option<String>,
}

#[derive(Deserialize)]
struct SkillsLockFile {
    version: u32,
    #[serde(default)]
    skills: BTreeMap<String, SkillsEntry>,
}

/// One `.clawhub/lock.json` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ClawhubEntry {
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default, rename = "ownerHandle")]
    pub owner_handle: Option<String>,
}

#[derive(Deserialize)]
struct ClawhubLockFile {
    version: u32,
    #[serde(default)]
    skills: BTreeMap<String, ClawhubEntry>,
}

/// A skill folder's `.clawhub/origin.json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Origin {
    pub version: u32,
    pub registry: String,
    pub slug: String,
    #[serde(default, rename = "installedVersion")]
    pub installed_version: Option<String>,
    #[serde(default)]
    pub fingerprint: Option<String>,
}

fn read<T: serde::de::DeserializeOwned>(path: &Path, what: &'static str) -> Result<T, LegacyError> {
    let text = fs::read_regular_string(path, MAX_BYTES).map_err(|source| LegacyError::Io {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| LegacyError::Invalid {
        path: path.display().to_string(),
        what,
        message: e.to_string(),
    })
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Read a `skills-lock.json` (version 1; entries whose hash is malformed keep no hash).
pub fn skills_lock(path: &Path) -> Result<BTreeMap<String, SkillsEntry>, LegacyError> {
    let file: SkillsLockFile = read(path, "skills lock (`skills-lock.json`)")?;
    if file.version != 1 {
        return Err(LegacyError::Invalid {
            path: path.display().to_string(),
            what: "skills lock aibox reads",
            message: format!("version {} (aibox reads version 1)", file.version),
        });
    }
    Ok(file
        .skills
        .into_iter()
        .map(|(k, mut e)| {
            e.computed_hash = e
                .computed_hash
                .filter(|h| is_hex64(h))
                .map(|h| h.to_ascii_lowercase());
            (k, e)
        })
        .collect())
}

/// Read a `.clawhub/lock.json` (version 1).
pub fn clawhub_lock(path: &Path) -> Result<BTreeMap<String, ClawhubEntry>, LegacyError> {
    let file: ClawhubLockFile = read(path, "ClawHub lock (`.clawhub/lock.json`)")?;
    if file.version != 1 {
        return Err(LegacyError::Invalid {
            path: path.display().to_string(),
            what: "ClawHub lock aibox reads",
            message: format!("version {} (aibox reads version 1)", file.version),
        });
    }
    Ok(file.skills)
}

/// Read a skill folder's `.clawhub/origin.json` (`None` when it has none or it is not one the
/// CLI itself would read: version 1, a registry, a slug and an installed version).
pub fn origin(skill_dir: &Path) -> Option<Origin> {
    let path = skill_dir.join(".clawhub").join("origin.json");
    let o: Origin = read(&path, "ClawHub origin").ok()?;
    (o.version == 1 && !o.registry.trim().is_empty() && !o.slug.is_empty()).then(|| Origin {
        fingerprint: o
            .fingerprint
            .filter(|f| is_hex64(f))
            .map(|f| f.to_ascii_lowercase()),
        ..o
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_records_of_both_clis_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("skills-lock.json");
        fs::write(
            &p,
            r#"{"version":1,"skills":{"review-pr":{"source":"../src/review-pr","sourceType":"local","computedHash":"1A43FC7EE91C359C201B4FC8E760BDE3C48F881BD826D9175A3A73332AEA4502"},
               "x":{"source":"acme/skills","sourceType":"github","skillPath":"skills/x/SKILL.md","computedHash":"short"}}}"#,
        )
        .unwrap();
        let lock = skills_lock(&p).unwrap();
        assert_eq!(lock["review-pr"].source_type, "local");
        assert_eq!(
            lock["review-pr"].computed_hash.as_deref(),
            Some("1a43fc7ee91c359c201b4fc8e760bde3c48f881bd826d9175a3a73332aea4502")
        );
        assert_eq!(lock["x"].computed_hash, None, "a malformed hash is no hash");
        fs::write(&p, r#"{"version":3,"skills":{}}"#).unwrap();
        assert!(
            skills_lock(&p)
                .unwrap_err()
                .to_string()
                .contains("version 3")
        );
        fs::write(&p, "not json").unwrap();
        assert!(skills_lock(&p).is_err());

        let c = dir.path().join("lock.json");
        fs::write(
            &c,
            r#"{"version":1,"skills":{"review-pr":{"version":"1.0.0","installedAt":1,"ownerHandle":"acme"}}}"#,
        )
        .unwrap();
        assert_eq!(
            clawhub_lock(&c).unwrap()["review-pr"].version.as_deref(),
            Some("1.0.0")
        );
        let skill = dir.path().join("skills/review-pr");
        fs::create_dir_all(skill.join(".clawhub")).unwrap();
        fs::write(
            skill.join(".clawhub/origin.json"),
            r#"{"version":1,"registry":"http://127.0.0.1:8787","slug":"review-pr","installedVersion":"1.0.0","installedAt":1,"fingerprint":"a20be64460ebc0235ecb65e1575e5d8ab440cd346f57bfeaba8b9cf41faf6b59"}"#,
        )
        .unwrap();
        let o = origin(&skill).unwrap();
        assert_eq!(o.registry, "http://127.0.0.1:8787");
        assert!(o.fingerprint.is_some());
        assert!(origin(dir.path()).is_none());
    }
}
