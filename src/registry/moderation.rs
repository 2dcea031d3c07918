//! What a registry's moderation says of a pack (ClawHub reports a verdict per skill): clean,
//! suspicious (taken only with consent) or blocked as malware (never taken). Data only; the
//! operations decide what a verdict means for a sync (`engine::moderation`).

use serde::Serialize;

/// A registry's verdict on one pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Clean,
    /// Flagged as suspicious: installed only with the user's consent.
    Suspicious,
    /// Blocked as malware: never installed.
    Blocked,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Clean => "clean",
            Verdict::Suspicious => "suspicious",
            Verdict::Blocked => "blocked as malware",
        }
    }
}

/// The moderation of one pack as its registry reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moderation {
    pub verdict: Verdict,
    /// The registry's one-line summary, if it gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The registry's reason codes (`malicious.exfiltration`, …), sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

impl Moderation {
    /// A clean verdict with nothing more to say.
    pub fn clean() -> Moderation {
        Moderation {
            verdict: Verdict::Clean,
            summary: None,
            reasons: Vec::new(),
        }
    }

    /// One phrase for people: `suspicious (reads ~/.ssh; codes: exfiltration)`.
    pub fn describe(&self) -> String {
        let mut details = Vec::new();
        if let Some(s) = self.summary.as_deref().filter(|s| !s.trim().is_empty()) {
            details.push(s.trim().to_owned());
        }
        if !self.reasons.is_empty() {
            details.push(format!("codes: {}", self.reasons.join(", ")));
        }
        if details.is_empty() {
            self.verdict.as_str().to_owned()
        } else {
            format!("{} ({})", self.verdict.as_str(), details.join("; "))
        }
    }
}

/// One answer of a source's own search: enough to list it without fetching it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub name: String,
    pub version: semver::Version,
    pub description: Option<String>,
    pub kind: crate::manifest::pack::PackKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_describe_themselves() {
        assert_eq!(Moderation::clean().describe(), "clean");
        let m = Moderation {
            verdict: Verdict::Suspicious,
            summary: Some(" reads ~/.ssh ".into()),
            reasons: vec!["exfiltration".into()],
        };
        assert_eq!(
            m.describe(),
            "suspicious (reads ~/.ssh; codes: exfiltration)"
        );
        assert!(Verdict::Blocked > Verdict::Suspicious);
    }
}
