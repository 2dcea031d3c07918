//! Registry credentials, scoped to one registry host each:
//!
//! 1. `AIBOX_REGISTRY_USERNAME` / `AIBOX_REGISTRY_PASSWORD`, only for the host named by
//!    `AIBOX_REGISTRY_HOST` (set without it, they are ignored with a warning: credentials are
//!    never sent to every registry);
//! 2. the user configuration's `[registries.<name>]` whose `url` is on this host:
//!    `credential-helper`, or `username` with the password in the variable `password-env`;
//! 3. the Docker config (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`), as ORAS and
//!    skopeo read it: `credHelpers.<host>`, else `credsStore` (both run
//!    `docker-credential-<helper> get`), else `auths.<host>` (`auth` = base64 `user:pass`, or a
//!    `registrytoken`);
//! 4. anonymous.
//!
//! The token exchange of bearer challenges is aibox's own (`token.rs`), so credentials reach a
//! token service only on the registry's host or one the configuration names. Secrets never
//! appear in messages: [`CredentialOrigin`] says where credentials came from, never what they
//! are.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use oci_client::secrets::RegistryAuth;

use crate::fs;
use crate::printer::Reporter;

/// Where the credentials came from (for messages; never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialOrigin {
    Anonymous,
    Environment,
    DockerConfig(PathBuf),
    Helper(String),
}

impl std::fmt::Display for CredentialOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialOrigin::Anonymous => f.write_str("no credentials (anonymous)"),
            CredentialOrigin::Environment => f.write_str(
                "credentials from AIBOX_REGISTRY_USERNAME/AIBOX_REGISTRY_PASSWORD (AIBOX_REGISTRY_HOST)",
            ),
            CredentialOrigin::DockerConfig(p) => write!(f, "credentials from `{}`", p.display()),
            CredentialOrigin::Helper(h) => {
                write!(f, "credentials from the helper `docker-credential-{h}`")
            }
        }
    }
}

fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = crate::env_vars::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    crate::env_vars::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".docker/config.json"))
}

/// The credentials to use for `host` (`host[:port]`, as connected to).
pub fn credentials(host: &str, reporter: Reporter) -> (RegistryAuth, CredentialOrigin) {
    let user = crate::env_vars::var(crate::env_vars::REGISTRY_USERNAME)
        .ok()
        .filter(|u| !u.is_empty());
    let pass = crate::env_vars::var(crate::env_vars::REGISTRY_PASSWORD).ok();
    if let (Some(user), Some(pass)) = (user, pass) {
        match crate::env_vars::var(crate::env_vars::REGISTRY_HOST) {
            Ok(scoped) if scoped.eq_ignore_ascii_case(host) => {
                return (
                    RegistryAuth::Basic(user, pass),
                    CredentialOrigin::Environment,
                );
            }
            Ok(_) => {}
            Err(_) => reporter.warn(
                "AIBOX_REGISTRY_USERNAME/AIBOX_REGISTRY_PASSWORD are ignored: set AIBOX_REGISTRY_HOST to the one registry host they are for",
            ),
        }
    }
    if let Some(found) = from_user_config(host, reporter) {
        return found;
    }
    if let Some(path) = docker_config_path()
        && let Ok(text) = fs::read_regular_string(&path, 1 << 20)
        && let Some(found) = from_docker_config(&text, host, &path, reporter)
    {
        return found;
    }
    (RegistryAuth::Anonymous, CredentialOrigin::Anonymous)
}

/// Credentials from the user configuration's registries on `host`.
fn from_user_config(host: &str, reporter: Reporter) -> Option<(RegistryAuth, CredentialOrigin)> {
    let config = crate::config::load().ok()?;
    for (name, r) in &config.registries {
        let on_host = r.url.starts_with("oci://")
            && crate::registry::transfer::url::RegistryUrl::parse(&r.url)
                .is_ok_and(|u| u.host.eq_ignore_ascii_case(host));
        if !on_host {
            continue;
        }
        if let Some(helper) = &r.credential_helper {
            return helper_get(helper, host, reporter)
                .map(|auth| (auth, CredentialOrigin::Helper(helper.clone())));
        }
        if let (Some(user), Some(var)) = (&r.username, &r.password_env) {
            match crate::env_vars::var(var) {
                Ok(pass) => {
                    return Some((
                        RegistryAuth::Basic(user.clone(), pass),
                        CredentialOrigin::DockerConfig(config.path.clone()),
                    ));
                }
                Err(_) => reporter.warn(format!(
                    "`registries.{name}.password-env` in `{}` names `{var}`, which is not set",
                    config.path.display()
                )),
            }
        }
    }
    None
}

/// Whether a Docker config key names `host` (`https://host/v1/`, `host`, …).
fn key_matches(key: &str, host: &str) -> bool {
    let k = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    k.split('/').next().unwrap_or(k).eq_ignore_ascii_case(host)
}

/// Look `host` up in a Docker `config.json` text (read from `path`).
pub fn from_docker_config(
    text: &str,
    host: &str,
    path: &std::path::Path,
    reporter: Reporter,
) -> Option<(RegistryAuth, CredentialOrigin)> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let helper = v
        .get("credHelpers")
        .and_then(|h| h.as_object())
        .and_then(|h| h.iter().find(|(k, _)| key_matches(k, host)))
        .and_then(|(_, name)| name.as_str())
        .or_else(|| v.get("credsStore").and_then(|s| s.as_str()));
    if let Some(helper) = helper {
        return helper_get(helper, host, reporter)
            .map(|auth| (auth, CredentialOrigin::Helper(helper.to_owned())));
    }
    let auths = v.get("auths")?.as_object()?;
    let entry = auths.iter().find(|(k, _)| key_matches(k, host))?.1;
    let origin = CredentialOrigin::DockerConfig(path.to_owned());
    if let Some(token) = entry.get("registrytoken").and_then(|t| t.as_str()) {
        return Some((RegistryAuth::Bearer(token.to_owned()), origin));
    }
    let encoded = entry.get("auth")?.as_str()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, pass) = decoded.split_once(':')?;
    Some((
        RegistryAuth::Basic(user.to_owned(), pass.to_owned()),
        origin,
    ))
}

/// Ask `docker-credential-<helper>` for `host` (the credential-helper protocol: the server
/// on stdin, `{"Username","Secret"}` on stdout). No answer (or none in time) is anonymous.
fn helper_get(helper: &str, host: &str, reporter: Reporter) -> Option<RegistryAuth> {
    if helper.is_empty()
        || !helper
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        reporter.warn(format!(
            "ignoring the credential helper `{helper}` named in the Docker config: not a helper name"
        ));
        return None;
    }
    let program = format!("docker-credential-{helper}");
    let mut child = match Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            reporter.warn(format!(
                "cannot run the credential helper `{program}` named in the Docker config: {e}"
            ));
            return None;
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(host.as_bytes());
    }
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() < Duration::from_secs(30) => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                reporter.warn(format!("the credential helper `{program}` did not answer"));
                return None;
            }
        }
    }
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        reporter.verbose(format!("`{program}` has no credentials for {host}"));
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let user = v.get("Username")?.as_str()?;
    let secret = v.get("Secret")?.as_str()?;
    if user == "<token>" {
        // An identity token is a refresh token for an OAuth flow, not a password.
        reporter.warn(format!(
            "`{program}` answered with an identity token for {host}, which aibox cannot use; log in with a user name and password or access token"
        ));
        return None;
    }
    Some(RegistryAuth::Basic(user.to_owned(), secret.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_config_basic_auth() {
        let text = r#"{"auths":{"https://reg.example:5000":{"auth":"dXNlcjpwYXNzOndvcmQ="}}}"#;
        let p = std::path::Path::new("config.json");
        match from_docker_config(text, "reg.example:5000", p, Reporter::default()) {
            Some((RegistryAuth::Basic(u, pw), _)) => {
                assert_eq!((u.as_str(), pw.as_str()), ("user", "pass:word"))
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(from_docker_config(text, "other.example", p, Reporter::default()).is_none());
        assert!(
            from_docker_config(text, "reg.example", p, Reporter::default()).is_none(),
            "the port is part of the host"
        );
    }
}
