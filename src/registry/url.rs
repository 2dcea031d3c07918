//! `oci://host[:port]/base` registry URLs: parsing, repository names, loopback detection.

use super::RegistryError;

/// A parsed `oci://host[:port]/base` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryUrl {
    pub host: String,
    pub base: String,
}

impl RegistryUrl {
    pub fn parse(url: &str) -> Result<RegistryUrl, RegistryError> {
        let bad = |m: &str| RegistryError::BadUrl {
            url: url.into(),
            message: m.into(),
        };
        let rest = url
            .strip_prefix("oci://")
            .ok_or_else(|| bad("expected `oci://host[:port]/path`"))?;
        let rest = rest.trim_end_matches('/');
        let (host, base) = rest.split_once('/').unwrap_or((rest, ""));
        if host.is_empty() {
            return Err(bad("the registry host is missing"));
        }
        if base.split('/').any(|c| {
            !c.is_empty()
                && !c
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
        }) {
            return Err(bad(
                "repository paths are lowercase letters, digits, `.`, `_`, `-` and `/`",
            ));
        }
        Ok(RegistryUrl {
            host: host.into(),
            base: base.into(),
        })
    }

    /// The repository of pack `name`.
    pub fn repo(&self, name: &str) -> String {
        if self.base.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.base)
        }
    }

    /// Whether the host is a loopback address (plain HTTP allowed).
    pub fn is_loopback(&self) -> bool {
        let h = self.host.as_str();
        let name = if let Some(rest) = h.strip_prefix('[') {
            rest.split(']').next().unwrap_or("")
        } else {
            h.rsplit_once(':').map_or(h, |(n, _)| n)
        };
        name == "localhost"
            || name == "::1"
            || name
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}
