//! The plain-HTTP rule on every hop, not only the first: a registry, a release server or a
//! proxy in front of them may send aibox elsewhere — a redirect (`307 Location: …`) or the
//! token service a `401` challenge names (`WWW-Authenticate: Bearer realm="…"`). Each such
//! URL must be `https`, or plain HTTP to a loopback host (or to the one host the user marked
//! `insecure`); anything else is refused before a byte is sent there.

use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};

use crate::registry::RegistryError;

/// How many redirects one request may follow.
const MAX_REDIRECTS: usize = 5;

/// Whether `host` is a loopback address (`localhost`, `127.0.0.0/8`, `::1`).
pub fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => *d == "localhost",
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// `host[:port]` of `url`, as `RegistryUrl::host` writes it.
fn authority(url: &url::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    })
}

/// Whether aibox may go to `url`: `https`, or plain HTTP to a loopback host or to `insecure`
/// (the `host[:port]` the user allowed plain HTTP for).
pub fn allowed(url: &url::Url, insecure: Option<&str>) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => {
            url.host().is_some_and(|h| is_loopback_host(&h))
                || insecure.is_some_and(|i| authority(url).as_deref() == Some(i))
        }
        _ => false,
    }
}

/// `url` to show: scheme, host and path (no user name, password or query, which may carry a
/// signed token).
fn shown(url: &url::Url) -> String {
    format!(
        "{}://{}{}",
        url.scheme(),
        authority(url).unwrap_or_default(),
        url.path()
    )
}

/// A hop the rule refuses (the error a redirect policy returns).
#[derive(Debug)]
pub struct PlainHttpHop(pub String);

impl std::fmt::Display for PlainHttpHop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` is plain HTTP to a host that is not loopback",
            self.0
        )
    }
}

impl std::error::Error for PlainHttpHop {}

/// The hosts (`host[:port]`) the user marked `insecure` in this process: plain HTTP to them is
/// allowed on every hop, wherever the redirect came from.
fn insecure_hosts() -> &'static std::sync::RwLock<Vec<String>> {
    static HOSTS: std::sync::OnceLock<std::sync::RwLock<Vec<String>>> = std::sync::OnceLock::new();
    HOSTS.get_or_init(Default::default)
}

/// Allow plain HTTP to `host` (`host[:port]`, a registry the user marked `insecure`) on
/// redirect hops, for the rest of the process.
pub fn allow_plain_http(host: &str) {
    let mut hosts = insecure_hosts().write().expect("insecure hosts lock");
    if !hosts.iter().any(|h| h == host) {
        hosts.push(host.to_owned());
    }
}

/// The redirect policy of the shared client that follows redirects: at most five
/// redirects, each allowed by [`allowed`] for loopback or any host marked insecure.
pub fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        let ok = {
            let hosts = insecure_hosts().read().expect("insecure hosts lock");
            allowed(attempt.url(), None) || hosts.iter().any(|h| allowed(attempt.url(), Some(h)))
        };
        if ok {
            attempt.follow()
        } else {
            let hop = PlainHttpHop(shown(attempt.url()));
            attempt.error(hop)
        }
    })
}

/// The error for a failed request while doing `what`: a refused hop is named as such, any
/// other failure is a network error with its causes.
pub fn network_error(e: reqwest::Error, what: &str) -> RegistryError {
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        if let Some(hop) = s.downcast_ref::<PlainHttpHop>() {
            return RegistryError::InsecureHop {
                what: what.into(),
                url: hop.0.clone(),
                how: "a redirect",
            };
        }
        source = s.source();
    }
    RegistryError::network(e, what)
}

/// Check the token service a `401` challenge in `headers` names, before any credentials go
/// there.
pub fn check_challenge(
    headers: &HeaderMap,
    insecure: Option<&str>,
    what: &str,
) -> Result<(), RegistryError> {
    for value in headers.get_all(WWW_AUTHENTICATE) {
        let Some(realm) = value.to_str().ok().and_then(realm) else {
            continue;
        };
        let refused = |url: String| RegistryError::InsecureHop {
            what: what.into(),
            url,
            how: "the token service of a challenge",
        };
        match url::Url::parse(&realm) {
            Ok(url) if allowed(&url, insecure) => {}
            Ok(url) => return Err(refused(shown(&url))),
            Err(_) => return Err(refused(crate::registry::transfer::url::redact(&realm))),
        }
    }
    Ok(())
}

/// The `realm` of a `Bearer` challenge.
fn realm(challenge: &str) -> Option<String> {
    let (scheme, params) = challenge.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    params.split(',').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("realm")
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hop_is_https_or_loopback() {
        let ok = |u: &str, insecure: Option<&str>| allowed(&url::Url::parse(u).unwrap(), insecure);
        assert!(ok("https://cdn.example.com/blob", None));
        assert!(ok("http://127.0.0.1:5000/v2/", None));
        assert!(ok("http://[::1]/x", None));
        assert!(ok("http://localhost:8080/x", None));
        assert!(!ok("http://192.0.2.7/blob", None));
        assert!(!ok("http://localhost.example.com/x", None));
        assert!(!ok("ftp://127.0.0.1/x", None));
        // The host the user marked insecure, exactly (port included).
        assert!(ok("http://reg.lan:5000/x", Some("reg.lan:5000")));
        assert!(!ok("http://reg.lan:5001/x", Some("reg.lan:5000")));
        assert!(!ok("http://other.lan:5000/x", Some("reg.lan:5000")));
    }

    #[test]
    fn the_realm_of_a_challenge_is_checked() {
        let mut h = HeaderMap::new();
        h.insert(
            WWW_AUTHENTICATE,
            "Bearer realm=\"http://192.0.2.7/token\",service=\"r\",scope=\"repository:a:pull\""
                .parse()
                .unwrap(),
        );
        let e = check_challenge(&h, None, "reading `a`").unwrap_err();
        assert!(e.to_string().contains("http://192.0.2.7/token"), "{e}");
        h.insert(
            WWW_AUTHENTICATE,
            "Bearer realm=\"https://auth.example.com/token\""
                .parse()
                .unwrap(),
        );
        check_challenge(&h, None, "reading `a`").unwrap();
        h.insert(
            WWW_AUTHENTICATE,
            "Basic realm=\"registry\"".parse().unwrap(),
        );
        check_challenge(&h, None, "reading `a`").unwrap();
    }
}
