//! ClawHub's HTTP API as aibox reads it: the routes the public `clawhub` CLI (npm) uses and
//! the parts of their JSON answers that aibox needs, read leniently (unknown keys ignored, as
//! the CLI's own schemas do) and checked where a value is used (slugs, versions, owner
//! handles). No I/O here.

use serde::Deserialize;

use crate::registry::moderation::{Moderation, Verdict};

/// `GET /api/v1/skills/<slug>`: a skill, its latest version, owner and moderation.
#[derive(Debug, Clone, Deserialize)]
pub struct SkillResponse {
    #[serde(default)]
    pub skill: Option<SkillInfo>,
    #[serde(default, rename = "latestVersion")]
    pub latest_version: Option<VersionInfo>,
    #[serde(default)]
    pub owner: Option<Owner>,
    #[serde(default)]
    pub moderation: Option<RawModeration>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SkillInfo {
    pub slug: String,
    #[serde(default, rename = "displayName")]
    pub display_name: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VersionInfo {
    pub version: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Owner {
    #[serde(default)]
    pub handle: Option<String>,
}

/// The `moderation` object of a skill.
#[derive(Debug, Clone, Deserialize)]
pub struct RawModeration {
    #[serde(rename = "isSuspicious")]
    pub is_suspicious: bool,
    #[serde(rename = "isMalwareBlocked")]
    pub is_malware_blocked: bool,
    #[serde(default)]
    pub verdict: Option<String>,
    #[serde(default, rename = "reasonCodes")]
    pub reason_codes: Option<Vec<String>>,
    #[serde(default)]
    pub summary: Option<String>,
}

impl SkillResponse {
    /// The verdict: blocked when the registry blocks it as malware (or calls it malicious),
    /// suspicious when it flags it (or calls it suspicious), else clean. No `moderation` object
    /// means nothing was reported: clean.
    pub fn moderation(&self) -> Moderation {
        let Some(m) = &self.moderation else {
            return Moderation::clean();
        };
        let said = m.verdict.as_deref().unwrap_or("");
        let verdict = if m.is_malware_blocked || said == "malicious" {
            Verdict::Blocked
        } else if m.is_suspicious || said == "suspicious" {
            Verdict::Suspicious
        } else {
            Verdict::Clean
        };
        let mut reasons: Vec<String> = m
            .reason_codes
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.chars().take(80).collect())
            .take(20)
            .collect();
        reasons.sort();
        reasons.dedup();
        Moderation {
            verdict,
            summary: m
                .summary
                .as_ref()
                .map(|s| s.chars().take(300).collect::<String>()),
            reasons,
        }
    }

    /// The owner's handle, when it is one aibox passes on (`[A-Za-z0-9._-]`, at most 64).
    pub fn owner_handle(&self) -> Option<&str> {
        self.owner
            .as_ref()
            .and_then(|o| o.handle.as_deref())
            .filter(|h| valid_handle(h))
    }
}

/// Whether `h` is an owner handle aibox accepts.
pub fn valid_handle(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 64
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// `GET /api/v1/skills/<slug>/versions`: one page of versions.
#[derive(Debug, Clone, Deserialize)]
pub struct VersionList {
    pub items: Vec<VersionInfo>,
    #[serde(default, rename = "nextCursor")]
    pub next_cursor: Option<String>,
}

/// `GET /api/v1/skills`: one page of skills.
#[derive(Debug, Clone, Deserialize)]
pub struct SkillList {
    pub items: Vec<SkillInfo>,
    #[serde(default, rename = "nextCursor")]
    pub next_cursor: Option<String>,
}

/// `GET /api/v1/search`: results ranked by the registry.
#[derive(Debug, Clone, Deserialize)]
pub struct SearchResponse {
    pub results: Vec<SearchResult>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SearchResult {
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default, rename = "displayName")]
    pub display_name: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
}

/// Split a reference as ClawHub writes it — `slug`, `owner/slug` or `@owner/slug` — into its
/// owner (if any) and slug.
pub fn split_ref(reference: &str) -> (Option<&str>, &str) {
    let r = reference.strip_prefix('@').unwrap_or(reference);
    match r.split_once('/') {
        Some((owner, slug)) if !owner.is_empty() && !slug.contains('/') => (Some(owner), slug),
        _ => (None, reference),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skill_answer_gives_its_verdict() {
        let clean: SkillResponse = serde_json::from_str(
            r#"{"skill":{"slug":"review-pr","displayName":"Review PR","tags":{},"stats":{},"createdAt":1,"updatedAt":2},
                "latestVersion":{"version":"1.0.0","createdAt":1,"changelog":""},
                "owner":{"handle":"mock-owner"},"extra":true}"#,
        )
        .unwrap();
        assert_eq!(clean.moderation().verdict, Verdict::Clean);
        assert_eq!(clean.owner_handle(), Some("mock-owner"));
        let flagged: SkillResponse = serde_json::from_str(
            r#"{"skill":null,"latestVersion":null,"owner":{"handle":"a b"},
                "moderation":{"isSuspicious":true,"isMalwareBlocked":false,"reasonCodes":["b","a","a"],"summary":"reads keys"}}"#,
        )
        .unwrap();
        let m = flagged.moderation();
        assert_eq!(m.verdict, Verdict::Suspicious);
        assert_eq!(m.reasons, ["a", "b"]);
        assert_eq!(
            flagged.owner_handle(),
            None,
            "a handle with a space is not passed on"
        );
        let blocked: SkillResponse = serde_json::from_str(
            r#"{"skill":null,"latestVersion":null,"owner":null,
                "moderation":{"isSuspicious":true,"isMalwareBlocked":true}}"#,
        )
        .unwrap();
        assert_eq!(blocked.moderation().verdict, Verdict::Blocked);
        // The two booleans are required when `moderation` is an object, as the CLI requires.
        assert!(
            serde_json::from_str::<SkillResponse>(r#"{"moderation":{"isSuspicious":false}}"#)
                .is_err()
        );
    }

    #[test]
    fn references_split_into_owner_and_slug() {
        assert_eq!(split_ref("review-pr"), (None, "review-pr"));
        assert_eq!(split_ref("acme/review-pr"), (Some("acme"), "review-pr"));
        assert_eq!(split_ref("@acme/review-pr"), (Some("acme"), "review-pr"));
        assert_eq!(split_ref("a/b/c"), (None, "a/b/c"));
    }
}
