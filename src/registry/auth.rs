//! Registry credentials: `AIBOX_REGISTRY_USERNAME`/`AIBOX_REGISTRY_PASSWORD` override, else
//! the Docker config (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, `auths.<host>`
//! with `auth` = base64 `user:pass`, or a `registrytoken`), else anonymous. Token exchange
//! (bearer challenges) is done by `oci-client`.

use std::path::PathBuf;

use base64::Engine as _;
use oci_client::secrets::RegistryAuth;

use crate::fs;

/// Where the credentials came from (for messages; never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialOrigin {
    Anonymous,
    Environment,
    DockerConfig(PathBuf),
}

impl std::fmt::Display for CredentialOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialOrigin::Anonymous => f.write_str("no credentials (anonymous)"),
            CredentialOrigin::Environment => {
                f.write_str("credentials from AIBOX_REGISTRY_USERNAME/AIBOX_REGISTRY_PASSWORD")
            }
            CredentialOrigin::DockerConfig(p) => write!(f, "credentials from `{}`", p.display()),
        }
    }
}

fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".docker/config.json"))
}

/// The credentials to use for `host` (`host[:port]`).
pub fn credentials(host: &str) -> (RegistryAuth, CredentialOrigin) {
    let user = std::env::var("AIBOX_REGISTRY_USERNAME")
        .ok()
        .filter(|u| !u.is_empty());
    let pass = std::env::var("AIBOX_REGISTRY_PASSWORD").ok();
    if let (Some(user), Some(pass)) = (user, pass) {
        return (
            RegistryAuth::Basic(user, pass),
            CredentialOrigin::Environment,
        );
    }
    if let Some(path) = docker_config_path()
        && let Ok(text) = fs::read_regular_string(&path, 1 << 20)
        && let Some(auth) = from_docker_config(&text, host)
    {
        return (auth, CredentialOrigin::DockerConfig(path));
    }
    (RegistryAuth::Anonymous, CredentialOrigin::Anonymous)
}

/// Look `host` up in a Docker `config.json` text.
pub fn from_docker_config(text: &str, host: &str) -> Option<RegistryAuth> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let auths = v.get("auths")?.as_object()?;
    let entry = auths
        .iter()
        .find(|(k, _)| {
            let k = k
                .trim_start_matches("https://")
                .trim_start_matches("http://");
            let k = k.split('/').next().unwrap_or(k);
            k == host
        })?
        .1;
    if let Some(token) = entry.get("registrytoken").and_then(|t| t.as_str()) {
        return Some(RegistryAuth::Bearer(token.to_owned()));
    }
    let encoded = entry.get("auth")?.as_str()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, pass) = decoded.split_once(':')?;
    Some(RegistryAuth::Basic(user.to_owned(), pass.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_config_basic_auth() {
        let text = r#"{"auths":{"https://reg.example:5000":{"auth":"dXNlcjpwYXNzOndvcmQ="}}}"#;
        match from_docker_config(text, "reg.example:5000") {
            Some(RegistryAuth::Basic(u, p)) => {
                assert_eq!((u.as_str(), p.as_str()), ("user", "pass:word"))
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(from_docker_config(text, "other.example").is_none());
    }
}
