//! `oci://host[:port]/base` registry URLs, parsed with a real URL parser (the `url` crate, as
//! an `https://` URL so that hosts get full WHATWG treatment: IPv4/IPv6 forms, IDNA, case).
//! Userinfo, queries and fragments are refused: `oci://localhost:1@example.com/x` names the
//! host `example.com`, and loopback (plain HTTP allowed) is decided on the host actually
//! connected to.

use crate::registry::RegistryError;
pub use crate::registry::error::redact;

/// A parsed `oci://host[:port]/base` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryUrl {
    /// `host[:port]` as connected to (IPv6 in brackets, lowercase).
    pub host: String,
    pub base: String,
    loopback: bool,
}

impl RegistryUrl {
    pub fn parse(url: &str) -> Result<RegistryUrl, RegistryError> {
        let bad = |m: &str| RegistryError::BadUrl {
            url: redact(url),
            message: m.into(),
        };
        let rest = url
            .strip_prefix("oci://")
            .ok_or_else(|| bad("expected `oci://host[:port]/path`"))?;
        if rest
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
        {
            return Err(bad(
                "the URL contains whitespace, a control character or `\\`",
            ));
        }
        let parsed = url::Url::parse(&format!("https://{rest}"))
            .map_err(|e| bad(&format!("not a valid URL: {e}")))?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad(
                "the URL has a user name or password (`user@host`); put credentials in the Docker config or the environment, never in a URL",
            ));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(bad("a registry URL has no `?query` or `#fragment`"));
        }
        let host = parsed
            .host()
            .ok_or_else(|| bad("the registry host is missing"))?;
        let loopback = crate::registry::transfer::hops::is_loopback_host(&host);
        // The URL parser drops `:443` (https's default). A loopback registry is spoken to over
        // plain HTTP, whose default is 80: keep a port that was written.
        let authority = rest.split('/').next().unwrap_or_default();
        let wrote_443 = authority.ends_with(":443");
        let host = match parsed.port() {
            Some(p) => format!("{host}:{p}"),
            None if loopback && wrote_443 => format!("{host}:443"),
            None => host.to_string(),
        };
        let base = parsed.path().trim_matches('/').to_owned();
        if base.split('/').any(|c| {
            !c.is_empty()
                && !c
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
        }) || base.contains("//")
        {
            return Err(bad(
                "repository paths are lowercase letters, digits, `.`, `_`, `-` and `/`",
            ));
        }
        Ok(RegistryUrl {
            host,
            base,
            loopback,
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

    /// Whether the host connected to is a loopback address (plain HTTP allowed).
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_the_ones_connected_to() {
        let u = RegistryUrl::parse("oci://127.0.0.1:5000/team/packs").unwrap();
        assert_eq!(
            (u.host.as_str(), u.base.as_str(), u.is_loopback()),
            ("127.0.0.1:5000", "team/packs", true)
        );
        let u = RegistryUrl::parse("oci://[::1]:5000").unwrap();
        assert_eq!((u.host.as_str(), u.is_loopback()), ("[::1]:5000", true));
        let u = RegistryUrl::parse("oci://LocalHost/x").unwrap();
        assert_eq!((u.host.as_str(), u.is_loopback()), ("localhost", true));
        // Loopback is plain HTTP (default port 80): a written `:443` is kept.
        for (url, host) in [
            ("oci://localhost:443/x", "localhost:443"),
            ("oci://127.0.0.1:443", "127.0.0.1:443"),
            ("oci://[::1]:443/x", "[::1]:443"),
            ("oci://registry.example.com:443/x", "registry.example.com"),
        ] {
            assert_eq!(RegistryUrl::parse(url).unwrap().host, host, "{url}");
        }
        let u = RegistryUrl::parse("oci://ghcr.io/acme/packs").unwrap();
        assert_eq!((u.host.as_str(), u.is_loopback()), ("ghcr.io", false));
        // The classic confusions: userinfo, a loopback-looking subdomain, odd IPv4 forms.
        for bad in [
            "oci://localhost:1@example.com/packs",
            "oci://user:pw@ghcr.io/x",
            "oci://ghcr.io/x?y=1",
            "oci://ghcr.io/x#f",
            "oci://ghcr.io/X",
            "oci://gh cr.io/x",
            "oci://",
        ] {
            assert!(RegistryUrl::parse(bad).is_err(), "{bad}");
        }
        let u = RegistryUrl::parse("oci://127.0.0.1.example.com/x").unwrap();
        assert!(!u.is_loopback());
        let u = RegistryUrl::parse("oci://localhost.example.com/x").unwrap();
        assert!(!u.is_loopback());
        assert_eq!(redact("oci://u:pw@h:1/x"), "oci://***@h:1/x");
        assert_eq!(redact("oci://h/x@y"), "oci://h/x@y");
        let u = RegistryUrl::parse("oci://0x7f000001:80/x").unwrap();
        assert_eq!(u.host, "127.0.0.1:80", "numeric forms are normalized");
    }
}
