//! A pack's lifecycle marks as its publisher sets them (ARTIFACT.md §12): which published
//! versions are **yanked** (never chosen for a new resolution; a lock that pins one keeps it),
//! **deprecated** (chosen as usual, with a warning) or in a pre-release **stage** (`beta`:
//! chosen only when asked for exactly or on a channel that admits it, like a semver
//! pre-release). The marks travel as one small JSON *status document* per pack, under the
//! reserved tag `aibox-status`; this module is the document as data — its limits, parsing and
//! canonical bytes — and the marks' phrases. No I/O (`backends::status` reads and writes it,
//! `engine::lifecycle` judges it).

use std::collections::BTreeMap;

use semver::Version;
use serde::{Deserialize, Serialize};

/// The tag the status document of a pack is pushed under (not semver, so older readers ignore
/// it as a version).
pub const STATUS_TAG: &str = "aibox-status";
/// The status manifest's `artifactType`.
pub const STATUS_ARTIFACT_TYPE: &str = "application/vnd.aibox.status.v1";
/// The media type of the layer holding the document.
pub const STATUS_MEDIA_TYPE: &str = "application/vnd.aibox.status.v1+json";
/// The OCI empty config (`{}`).
pub const EMPTY_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// The directory a `dir:` source keeps its packs' documents in (`<dir>/.aibox-status/<name>.json`),
/// beside the pack directories and never inside one.
pub const STATUS_DIR: &str = ".aibox-status";
/// The largest status document read.
pub const MAX_STATUS_BYTES: u64 = 256 << 10;
/// The most versions one document may mark.
pub const MAX_MARKED_VERSIONS: usize = 4096;
/// The longest reason or message, in characters.
pub const MAX_TEXT_CHARS: usize = 1024;
/// The longest stage name.
pub const MAX_STAGE_CHARS: usize = 32;

/// The marks of one version; an absent mark is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Marks {
    /// Yanked, with the publisher's reason (may be empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yanked: Option<String>,
    /// Deprecated, with the publisher's message (may be empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<String>,
    /// A pre-release stage (`beta`, `alpha`, `rc`): not stable yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
}

impl Marks {
    pub fn is_empty(&self) -> bool {
        self.yanked.is_none() && self.deprecated.is_none() && self.stage.is_none()
    }

    /// `yanked: reason`, `deprecated: message`, `beta`, joined by `; `; empty when unmarked.
    pub fn describe(&self) -> String {
        let mut out = Vec::new();
        if let Some(r) = &self.yanked {
            out.push(with_text("yanked", r));
        }
        if let Some(m) = &self.deprecated {
            out.push(with_text("deprecated", m));
        }
        if let Some(s) = &self.stage {
            out.push(s.clone());
        }
        out.join("; ")
    }
}

fn with_text(word: &str, text: &str) -> String {
    if text.trim().is_empty() {
        word.to_owned()
    } else {
        format!("{word}: {}", text.trim())
    }
}

/// A pack's status document: the marks of each version that has any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusDoc {
    pub versions: BTreeMap<Version, Marks>,
}

/// Why a status document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StatusError(pub String);

impl StatusDoc {
    /// Parse and check a document's bytes against the limits above.
    pub fn parse(bytes: &[u8]) -> Result<StatusDoc, StatusError> {
        if bytes.len() as u64 > MAX_STATUS_BYTES {
            return Err(StatusError(format!(
                "larger than {} KiB",
                MAX_STATUS_BYTES >> 10
            )));
        }
        let doc: StatusDoc = serde_json::from_slice(bytes)
            .map_err(|e| StatusError(format!("not a status document: {e}")))?;
        doc.check()?;
        Ok(doc)
    }

    /// Check the limits: how many versions, how long each text, what a stage may be.
    pub fn check(&self) -> Result<(), StatusError> {
        if self.versions.len() > MAX_MARKED_VERSIONS {
            return Err(StatusError(format!(
                "marks more than {MAX_MARKED_VERSIONS} versions"
            )));
        }
        for (v, m) in &self.versions {
            for text in [&m.yanked, &m.deprecated].into_iter().flatten() {
                if text.chars().count() > MAX_TEXT_CHARS {
                    return Err(StatusError(format!(
                        "the text for {v} is longer than {MAX_TEXT_CHARS} characters"
                    )));
                }
                if text.chars().any(|c| c.is_control() && c != '\n') {
                    return Err(StatusError(format!(
                        "the text for {v} holds control characters"
                    )));
                }
            }
            if let Some(s) = &m.stage {
                check_stage(s).map_err(|e| StatusError(format!("{v}: {e}")))?;
            }
        }
        Ok(())
    }

    /// The canonical bytes (sorted, compact, one trailing newline): the same marks are always
    /// the same digest.
    pub fn render(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec(self).expect("a status document serializes");
        out.push(b'\n');
        out
    }

    /// The marks of `version` (none: empty).
    pub fn marks(&self, version: &Version) -> Option<&Marks> {
        self.versions.get(version).filter(|m| !m.is_empty())
    }

    pub fn yanked(&self, version: &Version) -> Option<&str> {
        self.marks(version).and_then(|m| m.yanked.as_deref())
    }

    pub fn stage(&self, version: &Version) -> Option<&str> {
        self.marks(version).and_then(|m| m.stage.as_deref())
    }

    pub fn deprecated(&self, version: &Version) -> Option<&str> {
        self.marks(version).and_then(|m| m.deprecated.as_deref())
    }

    /// Change the marks of `version` with `edit`; versions left unmarked are dropped.
    pub fn edit(&mut self, version: &Version, edit: impl FnOnce(&mut Marks)) {
        let marks = self.versions.entry(version.clone()).or_default();
        edit(marks);
        if marks.is_empty() {
            self.versions.remove(version);
        }
    }
}

/// A stage name: lowercase ASCII letters, at most [`MAX_STAGE_CHARS`], never `stable`.
pub fn check_stage(stage: &str) -> Result<(), StatusError> {
    if stage.is_empty()
        || stage.len() > MAX_STAGE_CHARS
        || !stage.bytes().all(|b| b.is_ascii_lowercase())
        || stage == "stable"
    {
        return Err(StatusError(format!(
            "`{stage}` is not a stage: use lowercase letters like `beta`, `alpha` or `rc`"
        )));
    }
    Ok(())
}

/// A pack's status document as a source holds it: the document and the digest of the
/// manifest that carries it (what signatures vouch for; `None` for a `dir:` file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub doc: StatusDoc,
    pub digest: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn round_trip_and_edit() {
        let mut doc = StatusDoc::default();
        doc.edit(&v("1.1.0"), |m| m.yanked = Some("broken".into()));
        doc.edit(&v("2.0.0"), |m| m.stage = Some("beta".into()));
        let bytes = doc.render();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            "{\"versions\":{\"1.1.0\":{\"yanked\":\"broken\"},\"2.0.0\":{\"stage\":\"beta\"}}}\n"
        );
        assert_eq!(StatusDoc::parse(&bytes).unwrap(), doc);
        assert_eq!(doc.yanked(&v("1.1.0")), Some("broken"));
        doc.edit(&v("2.0.0"), |m| m.stage = None);
        assert!(!doc.versions.contains_key(&v("2.0.0")));
    }

    #[test]
    fn hostile_documents_are_refused() {
        assert!(StatusDoc::parse(b"{\"versions\":{\"x\":{}}}").is_err());
        assert!(StatusDoc::parse(b"{\"versions\":{},\"more\":1}").is_err());
        assert!(StatusDoc::parse(b"{\"versions\":{\"1.0.0\":{\"stage\":\"Be ta\"}}}").is_err());
        assert!(StatusDoc::parse(b"{\"versions\":{\"1.0.0\":{\"stage\":\"stable\"}}}").is_err());
        let long = format!(
            "{{\"versions\":{{\"1.0.0\":{{\"yanked\":\"{}\"}}}}}}",
            "x".repeat(MAX_TEXT_CHARS + 1)
        );
        assert!(StatusDoc::parse(long.as_bytes()).is_err());
        let big = vec![b' '; MAX_STATUS_BYTES as usize + 1];
        assert!(StatusDoc::parse(&big).unwrap_err().0.contains("larger"));
        let esc = "{\"versions\":{\"1.0.0\":{\"deprecated\":\"a\\u001b[2Jb\"}}}";
        assert!(StatusDoc::parse(esc.as_bytes()).is_err());
    }

    #[test]
    fn marks_describe_themselves() {
        let m = Marks {
            yanked: Some("CVE-1".into()),
            deprecated: Some(String::new()),
            stage: Some("beta".into()),
        };
        assert_eq!(m.describe(), "yanked: CVE-1; deprecated; beta");
    }
}
