//! The registry token exchange (the Distribution token flow), done by aibox and not by the
//! registry client, because the registry names the token service (`WWW-Authenticate: Bearer
//! realm="…"`) and a registry's word is no reason to send it a password:
//!
//! - the realm must be HTTPS, unless its host is loopback (or it is the registry's own host
//!   and the registry is spoken to over plain HTTP, `insecure`);
//! - the user's basic credentials go with the token request only to the registry's own host
//!   (host and port as connected to), or to the token service the user configuration names
//!   for that registry (`[registries.<name>] token-service`); to any other host the token is
//!   asked for without credentials, and an error that follows says why.
//!
//! The token (or Basic, when that is all the registry asks for) is what the registry client
//! is then given; it never holds a password it could take to a realm by itself.

use std::sync::Mutex;

use oci_client::RegistryOperation;
use oci_client::secrets::RegistryAuth;
use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;

use crate::registry::RegistryError;
use crate::registry::transfer::auth::CredentialOrigin;

/// The largest token answer read.
const MAX_TOKEN_BODY: u64 = 64 << 10;

/// What to authenticate with, after a challenge.
#[derive(Clone, PartialEq, Eq)]
pub enum Grant {
    /// A token from the token service.
    Bearer(String),
    /// The registry asks for Basic (or gives no challenge): the credentials, for its own host.
    Basic(String, String),
    /// Nothing to send.
    Anonymous,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Grant::Bearer(_) => "Bearer(<token>)",
            Grant::Basic(..) => "Basic(<credentials>)",
            Grant::Anonymous => "Anonymous",
        })
    }
}

impl Grant {
    /// What the registry client is given for its own requests to the registry.
    pub fn as_auth(&self) -> RegistryAuth {
        match self {
            Grant::Bearer(t) => RegistryAuth::Bearer(t.clone()),
            Grant::Basic(u, p) => RegistryAuth::Basic(u.clone(), p.clone()),
            Grant::Anonymous => RegistryAuth::Anonymous,
        }
    }
}

/// An authority: lowercase host and port (the scheme's default when none is written).
type Authority = (String, u16);

fn authority(url: &url::Url) -> Option<Authority> {
    Some((
        url.host_str()?.to_ascii_lowercase(),
        url.port_or_known_default()?,
    ))
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The token exchange of one registry.
pub struct Exchange {
    client: reqwest::Client,
    /// `http` or `https`, as the registry is spoken to.
    scheme: &'static str,
    /// `host[:port]` as connected to.
    host: String,
    registry: Authority,
    auth: RegistryAuth,
    origin: CredentialOrigin,
    /// Token services the user configuration names for this registry.
    token_services: Vec<Authority>,
    /// The realm credentials were last withheld from, for the error that may follow.
    withheld: Mutex<Option<String>>,
    reporter: crate::printer::Reporter,
}

impl Exchange {
    pub fn new(
        plain_http: bool,
        host: &str,
        auth: RegistryAuth,
        origin: CredentialOrigin,
        token_services: &[String],
        reporter: crate::printer::Reporter,
    ) -> Result<Exchange, RegistryError> {
        let scheme = if plain_http { "http" } else { "https" };
        let parse = |scheme: &str, host: &str| {
            url::Url::parse(&format!("{scheme}://{host}/"))
                .ok()
                .as_ref()
                .and_then(authority)
        };
        let registry = parse(scheme, host)
            .ok_or_else(|| RegistryError::bad_url(host, "not a registry host"))?;
        // A configured service is spoken to over HTTPS (or loopback HTTP on its written port).
        let token_services = token_services
            .iter()
            .filter_map(|s| parse("https", s))
            .collect();
        let client = crate::registry::transfer::client::not_following()?;
        Ok(Exchange {
            client,
            scheme,
            host: host.to_owned(),
            registry,
            auth,
            origin,
            token_services,
            withheld: Mutex::new(None),
            reporter,
        })
    }

    /// Where the credentials come from (for messages).
    pub fn origin(&self) -> &CredentialOrigin {
        &self.origin
    }

    /// The realm credentials were withheld from in this run, if any.
    pub fn withheld(&self) -> Option<String> {
        self.withheld.lock().expect("withheld lock").clone()
    }

    /// Answer the registry's challenge for `repo` and `op`: ask `/v2/` what it wants, and get
    /// a token under the rules above (or settle on Basic, or nothing).
    pub async fn grant(
        &self,
        repo: &str,
        op: RegistryOperation,
        what: &str,
    ) -> Result<Grant, RegistryError> {
        if let RegistryAuth::Bearer(token) = &self.auth {
            // A registry token from the Docker config: for the registry itself.
            return Ok(Grant::Bearer(token.clone()));
        }
        let url = format!("{}://{}/v2/", self.scheme, self.host);
        let resp = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| crate::registry::transfer::hops::network_error(e, what))?;
        let header = resp
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ");
        let basic = match &self.auth {
            RegistryAuth::Basic(u, p) => Grant::Basic(u.clone(), p.clone()),
            _ => Grant::Anonymous,
        };
        let Some((realm, service)) = bearer_challenge(&header) else {
            return Ok(basic);
        };
        let scope = match op {
            RegistryOperation::Pull => format!("repository:{repo}:pull"),
            RegistryOperation::Push => format!("repository:{repo}:pull,push"),
        };
        self.token(&realm, service.as_deref(), &scope, what).await
    }

    /// Ask the token service at `realm` for a token of `scope`.
    async fn token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        what: &str,
    ) -> Result<Grant, RegistryError> {
        let refuse = |message: String, hint: String| RegistryError::TokenService {
            what: what.to_owned(),
            message,
            hint,
        };
        let parsed = url::Url::parse(realm).map_err(|e| {
            refuse(
                format!("the registry names the token service `{realm}`, which is not a URL ({e})"),
                "the registry is misconfigured; ask its operator".into(),
            )
        })?;
        let Some(at) = authority(&parsed) else {
            return Err(refuse(
                format!("the registry names the token service `{realm}`, which has no host"),
                "the registry is misconfigured; ask its operator".into(),
            ));
        };
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(refuse(
                "the registry names a token service URL with a user name or password".into(),
                "the registry is misconfigured; ask its operator".into(),
            ));
        }
        let own_host = at == self.registry;
        let plain_ok = is_loopback(&parsed)
            || (own_host && self.scheme == "http" && parsed.scheme() == "http");
        if parsed.scheme() != "https" && !plain_ok {
            return Err(refuse(
                format!(
                    "the registry `{}` names the token service `{realm}`, which is not HTTPS: aibox sends no token request in clear text to a host that is not loopback",
                    self.host
                ),
                "the registry's operator must serve its token service over HTTPS".into(),
            ));
        }
        let trusted = own_host || self.token_services.contains(&at);
        let mut withheld = false;
        let credentials = match &self.auth {
            RegistryAuth::Basic(u, p) if trusted => Some((u.clone(), p.clone())),
            RegistryAuth::Basic(..) => {
                self.reporter.verbose(format!(
                    "not sending credentials for {} to the token service `{realm}`: another host",
                    self.host
                ));
                *self.withheld.lock().expect("withheld lock") = Some(realm.to_owned());
                withheld = true;
                None
            }
            _ => None,
        };
        let mut query: Vec<(&str, &str)> = vec![("scope", scope)];
        if let Some(s) = service {
            query.push(("service", s));
        }
        self.reporter.trace(format!("GET {realm} (token)"));
        let mut req = self.client.get(parsed.clone()).query(&query);
        if let Some((u, p)) = &credentials {
            req = req.basic_auth(u, Some(p));
        }
        let resp = req
            .send()
            .await
            .map_err(|e| crate::registry::transfer::hops::network_error(e, what))?;
        let status = resp.status();
        let body =
            crate::registry::transfer::body::read_limited(resp, MAX_TOKEN_BODY, what, true).await?;
        if status != StatusCode::OK {
            let detail = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
            if withheld {
                return Err(self.withheld_error(
                    what,
                    &format!("it refused an anonymous token (HTTP {status})"),
                ));
            }
            return Err(RegistryError::Auth {
                what: what.to_owned(),
                message: format!(
                    "the token service `{realm}` refused (HTTP {status}): {}",
                    detail.trim()
                ),
            });
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            token: Option<String>,
            access_token: Option<String>,
        }
        let answer: Answer = serde_json::from_slice(&body).map_err(|e| RegistryError::Auth {
            what: what.to_owned(),
            message: format!("the token service `{realm}` answered no token ({e})"),
        })?;
        match answer.token.or(answer.access_token) {
            Some(t) if !t.is_empty() => Ok(Grant::Bearer(t)),
            _ => Err(RegistryError::Auth {
                what: what.to_owned(),
                message: format!("the token service `{realm}` answered no token"),
            }),
        }
    }

    /// The error for a refusal after credentials were withheld from a token service on another
    /// host: what happened, and the configuration that would send them.
    pub fn withheld_error(&self, what: &str, happened: &str) -> RegistryError {
        let realm = self.withheld().unwrap_or_default();
        let service = url::Url::parse(&realm)
            .ok()
            .and_then(|u| {
                let host = u.host_str()?.to_owned();
                Some(match u.port() {
                    Some(p) => format!("{host}:{p}"),
                    None => host,
                })
            })
            .unwrap_or_else(|| realm.clone());
        RegistryError::TokenService {
            what: what.to_owned(),
            message: format!(
                "the registry `{}` sends aibox to the token service `{realm}`, on another host, so aibox sent it none of your credentials ({}); {happened}",
                self.host, self.origin
            ),
            hint: format!(
                "if `{service}` is this registry's token service, say so in your configuration (docs/configuration.md): `aibox config set registries.<name>.token-service {service}` for a `[registries.<name>]` whose `url` is on `{}`",
                self.host
            ),
        }
    }
}

/// The realm and service of the first Bearer challenge in a `WWW-Authenticate` value.
fn bearer_challenge(header: &str) -> Option<(String, Option<String>)> {
    let challenges = http_auth::parser::ChallengeParser::new(header);
    for challenge in challenges.flatten() {
        if !challenge.scheme.eq_ignore_ascii_case("bearer") {
            continue;
        }
        let param = |name: &str| {
            challenge
                .params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.to_unescaped())
        };
        if let Some(realm) = param("realm") {
            return Some((realm, param("service")));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_challenge_is_found_among_others() {
        let h =
            r#"Basic realm="x", Bearer realm="https://auth.example/token",service="reg.example""#;
        assert_eq!(
            bearer_challenge(h),
            Some((
                "https://auth.example/token".into(),
                Some("reg.example".into())
            ))
        );
        assert_eq!(bearer_challenge(r#"Basic realm="x""#), None);
        assert_eq!(bearer_challenge("Bearer service=\"s\""), None);
    }

    #[test]
    fn authorities_compare_host_and_port() {
        let a = |u: &str| authority(&url::Url::parse(u).unwrap()).unwrap();
        assert_eq!(a("https://Reg.Example/x"), a("https://reg.example:443/"));
        assert_ne!(a("http://127.0.0.1:5000/"), a("http://127.0.0.2:5000/"));
        assert_ne!(a("http://127.0.0.1:5000/"), a("http://127.0.0.1:5001/"));
        assert!(is_loopback(
            &url::Url::parse("http://127.0.0.2:9/").unwrap()
        ));
        assert!(!is_loopback(&url::Url::parse("http://10.0.0.1/").unwrap()));
    }
}
