//! The process's HTTP clients, built once: one that follows redirects under the plain-HTTP rule
//! of [`super::hops`] (registries, release servers, CDNs) and one that follows none (the token
//! exchange, whose requests may carry credentials). Every source shares them, so connection
//! pools are set up once per process, not once per source; the TLS roots are read once for
//! every client ([`super::roots`]).

use std::sync::OnceLock;

use crate::registry::RegistryError;

fn build(redirect: reqwest::redirect::Policy) -> Result<reqwest::Client, RegistryError> {
    super::roots::with_roots(reqwest::Client::builder())
        .user_agent(concat!("aibox/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(10))
        .read_timeout(std::time::Duration::from_secs(60))
        .redirect(redirect)
        .build()
        .map_err(|e| RegistryError::Client {
            what: "HTTP client",
            source: Box::new(e),
        })
}

/// The client that follows redirects, each hop allowed by [`super::hops::allowed`] (plain HTTP
/// only to loopback or to a host the user marked `insecure`, see
/// [`super::hops::allow_plain_http`]).
pub fn following() -> Result<reqwest::Client, RegistryError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c.clone());
    }
    let c = build(super::hops::redirect_policy())?;
    Ok(CLIENT.get_or_init(|| c).clone())
}

/// The client that follows no redirect: a redirect would take a request (and its
/// credentials) where no rule looked.
pub fn not_following() -> Result<reqwest::Client, RegistryError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c.clone());
    }
    let c = build(reqwest::redirect::Policy::none())?;
    Ok(CLIENT.get_or_init(|| c).clone())
}
