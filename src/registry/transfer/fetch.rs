//! Downloading blobs from a registry (with aibox's own HTTP client, so every redirect hop obeys
//! the plain-HTTP rule of [`crate::registry::transfer::hops`]): streamed into a staging file under the store's
//! `tmp/` with SHA-256 and size checked on the way, retried with exponential backoff on transient
//! failures (5xx, connection errors, a stream cut short), resumed with an HTTP `Range` request
//! where the registry honours it. Only a file whose digest matched is ever handed on.

use std::io::{Seek, Write};
use std::path::Path;
use std::time::Duration;

use oci_client::Client;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::fs;
use crate::registry::RegistryError;
use crate::registry::format::artifact::Descriptor;
use crate::registry::format::digest::DigestCheck;
use crate::registry::transfer::http::Http;
use crate::registry::transfer::url::RegistryUrl;

/// How many times a transient failure is retried (`AIBOX_FETCH_RETRIES`).
pub fn max_attempts() -> u32 {
    crate::env_vars::var(crate::env_vars::FETCH_RETRIES)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
        .max(1)
}

/// Whether an answer's status is worth retrying.
fn is_transient(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
}

/// The wait before attempt `n` (1-based): 200 ms, 400 ms, 800 ms, … capped at 5 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((200u64 << attempt.saturating_sub(1).min(5)).min(5000))
}

enum Failure {
    Transient(String),
    /// The registry answered 401 with this challenge: authenticate and try again.
    Challenged(HeaderMap),
    Fatal(RegistryError),
}

/// Who watches a download: what the blob is (for messages), where retries are reported, and
/// who is told how many new bytes arrived (progress).
pub struct Watch<'a> {
    pub what: &'a str,
    pub reporter: crate::printer::Reporter,
    pub on_bytes: &'a (dyn Fn(u64) + Send + Sync),
    /// Where the blob's bytes also go as they arrive (see [`crate::registry::transfer::tee`]).
    pub tee: Option<&'a crate::registry::transfer::tee::Tee>,
}

/// Where a blob comes from: the registry's HTTP client, its registry client, aibox's token
/// exchange for it, and the repository.
pub struct Origin<'a> {
    pub http: &'a Http,
    pub oci: &'a Client,
    pub exchange: &'a crate::registry::transfer::token::Exchange,
    pub reg: &'a RegistryUrl,
    pub repo: &'a str,
}

/// Download `desc` from `from` into a verified staging file in `tmp_dir`.
pub async fn download(
    from: &Origin<'_>,
    desc: &Descriptor,
    tmp_dir: &Path,
    watch: &Watch<'_>,
) -> Result<tempfile::NamedTempFile, RegistryError> {
    let Watch { what, reporter, .. } = *watch;
    let mut check = DigestCheck::new(&desc.digest, Some(desc.size), what)?;
    let io = |context: String| move |source| RegistryError::Io { context, source };
    let mut tmp = fs::temp_file_in(tmp_dir).map_err(io(format!(
        "cannot create a staging file in `{}`",
        tmp_dir.display()
    )))?;
    let attempts = max_attempts();
    let mut last = String::new();
    let mut authenticated = false;
    for attempt in 1..=attempts {
        if attempt > 1 {
            reporter.verbose(format!(
                "retrying {} of {what} from byte {} ({last})",
                desc.digest,
                check.seen()
            ));
            tokio::time::sleep(backoff(attempt - 1)).await;
        }
        match fetch_once(from, desc, &mut tmp, &mut check, watch).await {
            Ok(()) => {
                check.finish()?;
                tmp.as_file_mut()
                    .flush()
                    .map_err(io("cannot write a staging file".into()))?;
                tmp.as_file_mut()
                    .rewind()
                    .map_err(io("cannot rewind a staging file".into()))?;
                return Ok(tmp);
            }
            // A challenge (a registry that wants a token even for anonymous pulls): aibox
            // authenticates for this repository once, then the request is retried.
            Err(Failure::Challenged(challenge)) if !authenticated => {
                authenticated = true;
                from.http
                    .authenticate(
                        from.oci,
                        from.exchange,
                        from.reg,
                        from.repo,
                        &challenge,
                        &format!("blob {} of {what}", desc.digest),
                    )
                    .await?;
                last = "authenticated".into();
            }
            Err(Failure::Challenged(_)) => {
                return Err(RegistryError::Auth {
                    what: format!("blob {} of {what}", desc.digest),
                    message: "the registry refused access (401)".into(),
                });
            }
            Err(Failure::Fatal(e)) => return Err(e),
            Err(Failure::Transient(msg)) => last = msg,
        }
    }
    Err(RegistryError::Network {
        what: format!("fetching blob {} of {what}", desc.digest),
        message: format!("{last} (gave up after {attempts} attempts)"),
        source: None,
    })
}

/// One attempt: the bytes from `check.seen()` on go to the staging file `tmp`, through the
/// digest check, to progress and to the tee.
async fn fetch_once(
    from: &Origin<'_>,
    desc: &Descriptor,
    tmp: &mut tempfile::NamedTempFile,
    check: &mut DigestCheck,
    watch: &Watch<'_>,
) -> Result<(), Failure> {
    let Watch {
        what,
        on_bytes,
        tee,
        ..
    } = *watch;
    let blob = format!("blob {} of {what}", desc.digest);
    let mut response = match from
        .http
        .blob(from.reg, from.repo, &desc.digest, check.seen())
        .await
    {
        Ok(r) => r,
        Err(e) => {
            let redirect = e.is_redirect();
            let err = crate::registry::transfer::hops::network_error(e, &blob);
            if matches!(err, RegistryError::InsecureHop { .. }) || redirect {
                return Err(Failure::Fatal(err));
            }
            return Err(Failure::Transient(err.to_string()));
        }
    };
    let status = response.status();
    match status {
        StatusCode::PARTIAL_CONTENT if check.seen() > 0 => {
            let from_byte = response
                .headers()
                .get(reqwest::header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes "))
                .and_then(|v| v.split('-').next())
                .and_then(|v| v.parse::<u64>().ok());
            if from_byte != Some(check.seen()) {
                restart(tmp, check, tee)?;
                return Err(Failure::Transient(
                    "the registry answered another range than the one asked for".into(),
                ));
            }
        }
        StatusCode::OK | StatusCode::PARTIAL_CONTENT => {
            if check.seen() > 0 {
                // The registry ignored the Range request: start over.
                restart(tmp, check, tee)?;
            }
        }
        StatusCode::UNAUTHORIZED => return Err(Failure::Challenged(response.headers().clone())),
        s if is_transient(s) => return Err(Failure::Transient(format!("HTTP {s}"))),
        _ => {
            return Err(Failure::Fatal(
                crate::registry::transfer::http::answer_error(response, &blob).await,
            ));
        }
    }
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => return Err(Failure::Transient(e.to_string())),
        };
        // Hashing, the file write and the hand-off to the unpacking thread (which waits when
        // it is behind) block: the runtime is told, so its other tasks move to another thread.
        tokio::task::block_in_place(|| {
            check.update(&chunk).map_err(Failure::Fatal)?;
            tmp.write_all(&chunk).map_err(|source| {
                Failure::Fatal(RegistryError::Io {
                    context: format!("cannot write `{}`", tmp.path().display()),
                    source,
                })
            })?;
            if let Some(tee) = tee {
                tee.send(chunk.clone());
            }
            Ok(())
        })?;
        on_bytes(chunk.len() as u64);
    }
    if check.seen() < desc.size {
        return Err(Failure::Transient(format!(
            "the connection closed after {} of {} bytes",
            check.seen(),
            desc.size
        )));
    }
    Ok(())
}

/// Empty the staging file and the checks, to receive the blob from its first byte again.
fn restart(
    tmp: &mut tempfile::NamedTempFile,
    check: &mut DigestCheck,
    tee: Option<&crate::registry::transfer::tee::Tee>,
) -> Result<(), Failure> {
    tmp.as_file_mut()
        .set_len(0)
        .map_err(|e| Failure::Transient(e.to_string()))?;
    tmp.as_file_mut()
        .rewind()
        .map_err(|e| Failure::Transient(e.to_string()))?;
    check.restart();
    if let Some(tee) = tee {
        tee.restart();
    }
    Ok(())
}
