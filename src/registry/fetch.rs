//! Downloading blobs from a registry: streamed into a staging file under the store's `tmp/`
//! with SHA-256 and size checked on the way, retried with exponential backoff on transient
//! failures (5xx, connection errors, a stream cut short), resumed with an HTTP `Range` request
//! where the registry honours it. Only a file whose digest matched is ever handed on.

use std::io::{Seek, Write};
use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt;
use oci_client::client::BlobResponse;
use oci_client::errors::OciDistributionError;
use oci_client::{Client, Reference};

use super::RegistryError;
use super::artifact::Descriptor;
use super::digest::DigestCheck;
use crate::fs;

/// How many times a transient failure is retried (`AIBOX_FETCH_RETRIES`).
pub fn max_attempts() -> u32 {
    std::env::var("AIBOX_FETCH_RETRIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
        .max(1)
}

/// Whether an `oci-client` error is worth retrying.
pub fn is_transient(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ServerError { code, .. } => {
            *code >= 500 || *code == 429 || *code == 408
        }
        OciDistributionError::RequestError(r) => {
            r.is_connect() || r.is_timeout() || r.is_request() || r.is_body()
        }
        OciDistributionError::IoError(_) => true,
        _ => false,
    }
}

/// The wait before attempt `n` (1-based): 200 ms, 400 ms, 800 ms, … capped at 5 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((200u64 << attempt.saturating_sub(1).min(5)).min(5000))
}

enum Failure {
    Transient(String),
    /// The registry answered 401: authenticate and try again.
    Challenged,
    Fatal(RegistryError),
}

/// Who watches a download: what the blob is (for messages), where retries are reported, and
/// who is told how many new bytes arrived (progress).
pub struct Watch<'a> {
    pub what: &'a str,
    pub reporter: crate::printer::Reporter,
    pub on_bytes: &'a (dyn Fn(u64) + Send + Sync),
    /// Where the blob's bytes also go as they arrive (see [`super::tee`]).
    pub tee: Option<&'a super::tee::Tee>,
}

/// Download `desc` from `image`'s repository into a verified staging file in `tmp_dir`.
pub async fn download(
    client: &Client,
    exchange: &super::token::Exchange,
    image: &Reference,
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
        match fetch_once(client, image, desc, &mut tmp, &mut check, watch).await {
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
            // A challenge (a registry that wants a token even for anonymous pulls): the
            // client authenticates for this repository once, then the request is retried.
            Err(Failure::Challenged) if !authenticated => {
                authenticated = true;
                let what = format!("blob {} of {what}", desc.digest);
                let grant = exchange
                    .grant(
                        image.repository(),
                        oci_client::RegistryOperation::Pull,
                        &what,
                    )
                    .await?;
                if grant == super::token::Grant::Anonymous {
                    return Err(super::http::no_credentials(&what));
                }
                client
                    .auth(image, &grant.as_auth(), oci_client::RegistryOperation::Pull)
                    .await
                    .map_err(|e| super::oci::map_error(e, &what))?;
                last = "authenticated".into();
            }
            Err(Failure::Challenged) => {
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
    })
}

/// One attempt: the bytes from `check.seen()` on go to the staging file `tmp`, through the
/// digest check, to progress and to the tee.
async fn fetch_once(
    client: &Client,
    image: &Reference,
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
    let layer = oci_client::manifest::OciDescriptor {
        media_type: desc.media_type.clone(),
        digest: desc.digest.clone(),
        size: desc.size as i64,
        ..Default::default()
    };
    let response = client
        .pull_blob_stream_partial(image, &layer, check.seen(), None)
        .await;
    let mut stream = match response {
        Ok(BlobResponse::Partial(s)) => s,
        Ok(BlobResponse::Full(s)) => {
            if check.seen() > 0 {
                // The registry ignored the Range request: start over.
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
            }
            s
        }
        Err(e) if is_transient(&e) => return Err(Failure::Transient(e.to_string())),
        Err(OciDistributionError::UnauthorizedError { .. })
        | Err(OciDistributionError::ServerError { code: 401, .. }) => {
            return Err(Failure::Challenged);
        }
        Err(e) => {
            return Err(Failure::Fatal(super::oci::map_error(
                e,
                &format!("blob {} of {what}", desc.digest),
            )));
        }
    };
    while let Some(chunk) = stream.stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                // oci-client verifies whole-blob responses itself; a mismatch is never transient.
                if e.to_string().to_lowercase().contains("digest") {
                    return Err(Failure::Fatal(RegistryError::DigestMismatch {
                        what: what.into(),
                        digest: desc.digest.clone(),
                        actual: e.to_string(),
                    }));
                }
                return Err(Failure::Transient(e.to_string()));
            }
        };
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
