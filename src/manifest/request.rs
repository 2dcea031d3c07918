//! Version requests (`^1.2`, `~1.2`, `=1.2.3`, `>=1,<2`, `*`, the shorthand `21` / `21.0` /
//! `21.0.2` / `latest`) and `name@request` specs, on top of the `semver` crate.

use std::fmt;
use std::str::FromStr;

use semver::{Version, VersionReq};

/// A version request as the user wrote it, plus what it means.
///
/// Shorthand (a bare version without an operator) is read the way people say it:
/// `21` = `>=21.0.0, <22.0.0`, `21.0` = `>=21.0.0, <21.1.0`, `21.0.2` = exactly `=21.0.2`.
/// `latest`, `*` and the empty string mean any stable version. Everything else follows Cargo.
/// Pre-releases match only when the request itself names a pre-release of the same
/// `major.minor.patch` (as in Cargo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    text: String,
    req: VersionReq,
    /// Which pre-releases a range also admits (`stable`: none it does not name).
    channel: Channel,
}

/// A release channel: which pre-release versions a request admits besides its releases.
/// `beta` admits `-alpha.*`, `-beta.*` and `-rc.*` tags, `nightly` those and `-nightly.*`;
/// each only where the release they lead to is in range, and never for an exact request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    #[default]
    Stable,
    Beta,
    Nightly,
}

impl Channel {
    pub fn parse(s: &str) -> Option<Channel> {
        match s {
            "stable" => Some(Channel::Stable),
            "beta" => Some(Channel::Beta),
            "nightly" => Some(Channel::Nightly),
            _ => None,
        }
    }

    /// Whether a pre-release whose first identifier is `tag` belongs to this channel.
    fn admits(self, tag: &str) -> bool {
        match self {
            Channel::Stable => false,
            Channel::Beta => matches!(tag, "alpha" | "beta" | "rc"),
            Channel::Nightly => matches!(tag, "alpha" | "beta" | "rc" | "nightly"),
        }
    }
}

/// A request that could not be parsed, or a malformed `name@request`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("`{text}` is not a version request: {message}")]
    Invalid { text: String, message: String },
    #[error("`{name}` is not a valid pack name: {reason}")]
    BadName { name: String, reason: String },
}

impl crate::error::Hint for RequestError {
    fn hints(&self) -> Vec<String> {
        match self {
            RequestError::Invalid { .. } => vec![
                "write a version request like `1`, `1.2`, `1.2.3`, `^1.2`, `~1.2`, `>=1, <2`, `*` or `latest`".into(),
            ],
            RequestError::BadName { .. } => vec![
                "pack names use lowercase letters, digits and `-`, start with a letter or digit, and are at most 64 characters".into(),
            ],
        }
    }
}

impl Request {
    /// Parse a request; the original text is kept for display and hashing.
    pub fn parse(text: &str) -> Result<Request, RequestError> {
        let trimmed = text.trim();
        let invalid = |message: String| RequestError::Invalid {
            text: text.to_owned(),
            message,
        };
        let req = if trimmed.is_empty() || trimmed == "latest" || trimmed == "*" {
            VersionReq::STAR
        } else if let Some(expanded) = expand_shorthand(trimmed) {
            VersionReq::parse(&expanded).map_err(|e| invalid(e.to_string()))?
        } else {
            VersionReq::parse(trimmed).map_err(|e| invalid(e.to_string()))?
        };
        Ok(Request {
            text: trimmed.to_owned(),
            req,
            channel: Channel::Stable,
        })
    }

    /// Any stable version (what `latest` means).
    pub fn any() -> Request {
        Request {
            text: String::new(),
            req: VersionReq::STAR,
            channel: Channel::Stable,
        }
    }

    /// The request as written (trimmed); empty for "latest".
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// This request on `channel`.
    pub fn with_channel(mut self, channel: Channel) -> Request {
        self.channel = channel;
        self
    }

    pub fn channel(&self) -> Channel {
        self.channel
    }

    /// Whether `version` satisfies the request: pre-releases when the request names one (as
    /// in Cargo), or when they belong to its channel and the release they lead to is in range.
    pub fn matches(&self, version: &Version) -> bool {
        if self.req.matches(version) {
            return true;
        }
        let tag = version.pre.as_str().split('.').next().unwrap_or_default();
        let exact = self.req.comparators.len() == 1
            && self.req.comparators[0].op == semver::Op::Exact
            && self.req.comparators[0].patch.is_some();
        !version.pre.is_empty()
            && !exact
            && self.channel.admits(tag)
            && self
                .req
                .matches(&Version::new(version.major, version.minor, version.patch))
    }

    /// Whether the request names exactly `version` (`=1.2.0`, `1.2.0`).
    pub fn is_exactly(&self, version: &Version) -> bool {
        matches!(&self.req.comparators[..], [c] if c.op == semver::Op::Exact
            && c.major == version.major
            && c.minor == Some(version.minor)
            && c.patch == Some(version.patch)
            && c.pre == version.pre)
    }

    /// Whether a version its publisher marked with a pre-release `stage` (`beta`) satisfies
    /// the request besides matching it: when the request names it exactly, or its channel
    /// admits that stage (as it admits `-beta.N` pre-releases).
    pub fn admits_stage(&self, version: &Version, stage: &str) -> bool {
        self.is_exactly(version) || self.channel.admits(stage)
    }

    /// Whether the request accepts any stable version (`latest`, `*`, empty).
    pub fn is_any(&self) -> bool {
        self.req == VersionReq::STAR
    }
}

/// `21` → `^21`, `21.0` → `~21.0`, `21.0.2` → `=21.0.2` (with pre-release/build allowed on the
/// three-part form). `None` when the text is not a bare version.
fn expand_shorthand(text: &str) -> Option<String> {
    let core_end = text.find(['-', '+']).unwrap_or(text.len());
    let core = &text[..core_end];
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = parts
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !numeric || parts.len() > 3 {
        return None;
    }
    match parts.len() {
        1 if core_end == text.len() => Some(format!("^{text}")),
        2 if core_end == text.len() => Some(format!("~{text}")),
        3 => Some(format!("={text}")),
        _ => None,
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.text.is_empty() {
            f.write_str("latest")
        } else {
            f.write_str(&self.text)
        }
    }
}

impl FromStr for Request {
    type Err = RequestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Request::parse(s)
    }
}

/// A `name` or `name@request` spec as typed on the command line (`java`, `java@21`,
/// `java@21.0.2`, `java@latest`, `java@^1.2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackSpec {
    pub name: String,
    pub request: Request,
}

impl PackSpec {
    pub fn parse(text: &str) -> Result<PackSpec, RequestError> {
        let text = text.trim();
        let (name, request) = match text.split_once('@') {
            Some((name, req)) => (name, Request::parse(req)?),
            None => (text, Request::any()),
        };
        crate::manifest::validate_pack_name(name).map_err(|reason| RequestError::BadName {
            name: name.to_owned(),
            reason,
        })?;
        Ok(PackSpec {
            name: name.to_owned(),
            request,
        })
    }
}

impl fmt::Display for PackSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.request.as_str().is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}@{}", self.name, self.request.as_str())
        }
    }
}

impl FromStr for PackSpec {
    type Err = RequestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PackSpec::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn ok(req: &str, yes: &[&str], no: &[&str]) {
        let r = Request::parse(req).unwrap();
        for y in yes {
            assert!(r.matches(&v(y)), "`{req}` should match {y}");
        }
        for n in no {
            assert!(!r.matches(&v(n)), "`{req}` should not match {n}");
        }
    }

    #[test]
    fn shorthand() {
        ok(
            "21",
            &["21.0.0", "21.9.3"],
            &["20.9.9", "22.0.0", "21.1.0-rc.1"],
        );
        ok("21.0", &["21.0.0", "21.0.9"], &["21.1.0", "20.0.0"]);
        ok("21.0.2", &["21.0.2"], &["21.0.3", "21.0.1"]);
        ok("0", &["0.0.1", "0.9.0"], &["1.0.0"]);
        ok(
            "1.0.0-beta.2",
            &["1.0.0-beta.2"],
            &["1.0.0-beta.3", "1.0.0"],
        );
    }

    #[test]
    fn cargo_syntax() {
        ok("^1.2", &["1.2.0", "1.9.0"], &["1.1.9", "2.0.0"]);
        ok("~1.2", &["1.2.0", "1.2.9"], &["1.3.0"]);
        ok("=1.2.3", &["1.2.3"], &["1.2.4"]);
        ok(">=1, <2", &["1.0.0", "1.99.0"], &["2.0.0", "0.9.0"]);
        ok(">=1,<2", &["1.5.0"], &["2.0.0"]);
        ok("1.*", &["1.4.0"], &["2.0.0"]);
    }

    #[test]
    fn any_excludes_prereleases() {
        for text in ["", "latest", "*", "  "] {
            let r = Request::parse(text).unwrap();
            assert!(r.is_any());
            assert!(r.matches(&v("3.0.0")));
            assert!(!r.matches(&v("3.1.0-alpha.1")));
        }
        assert_eq!(Request::parse("latest").unwrap().to_string(), "latest");
        assert_eq!(Request::parse("").unwrap().to_string(), "latest");
    }

    #[test]
    fn prerelease_only_when_asked() {
        ok(
            "^1.0.0-beta",
            &["1.0.0-beta", "1.0.0-rc.1", "1.0.0", "1.3.0"],
            &["1.1.0-alpha"],
        );
        ok(">=2.0.0-rc.1", &["2.0.0-rc.2", "2.1.0"], &["2.1.0-rc.1"]);
    }

    #[test]
    fn invalid() {
        for bad in ["banana", "^^1", "1.2.3.4", ">=", "1..2"] {
            assert!(Request::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn specs() {
        let s = PackSpec::parse("java").unwrap();
        assert_eq!((s.name.as_str(), s.request.is_any()), ("java", true));
        let s = PackSpec::parse("java@21").unwrap();
        assert!(s.request.matches(&v("21.3.0")));
        assert_eq!(s.to_string(), "java@21");
        let s = PackSpec::parse("java@21.0.2").unwrap();
        assert!(!s.request.matches(&v("21.0.3")));
        let s = PackSpec::parse("java@latest").unwrap();
        assert!(s.request.is_any());
        let s = PackSpec::parse("java@^1.2").unwrap();
        assert!(s.request.matches(&v("1.4.0")));
        assert!(matches!(
            PackSpec::parse("Java@1"),
            Err(RequestError::BadName { .. })
        ));
        assert!(matches!(
            PackSpec::parse("java@nope"),
            Err(RequestError::Invalid { .. })
        ));
    }
}

/// One request of the manifest (a `[packs]` or `[plugins]` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    pub name: String,
    pub request: Request,
}

impl Root {
    pub fn new(name: impl Into<String>, request: Request) -> Root {
        Root {
            name: name.into(),
            request,
        }
    }
}
