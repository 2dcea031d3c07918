//! Registry metadata over HTTP with limits enforced while the body streams: manifests,
//! indexes, tag lists and catalogs are read with aibox's own HTTP client (`oci-client` buffers
//! whole bodies before anything can check their size), never past their limit. Requests go
//! out without credentials; only after a `401` challenge does aibox authenticate (a bearer token
//! for the repository from its own token exchange, `token.rs`, or Basic), and the header is
//! kept for the rest of the run, so an anonymous registry is never asked for `/v2/` before
//! every request.

use std::collections::HashMap;
use std::sync::Mutex;

use oci_client::errors::OciEnvelope;
use oci_client::{Client, Reference, RegistryOperation};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, RANGE};

use crate::registry::RegistryError;
use crate::registry::transfer::body::{MAX_ERROR_BODY, read_limited, too_large};
use crate::registry::transfer::token::{Exchange, Grant};
use crate::registry::transfer::url::RegistryUrl;

/// What a limited GET returned.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// The network runtime of the process, made on first use: every source's requests run on its
/// two worker threads, and callers (the fetch threads of a sync among them) block on it from
/// their own threads. One runtime, not one per source, so a project with several registries
/// starts no more threads than one with a single registry.
pub fn runtime() -> Result<&'static tokio::runtime::Runtime, RegistryError> {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| RegistryError::Io {
            context: "cannot start the network runtime".into(),
            source,
        })?;
    // Two threads may race to make it: one wins, the other's runtime is dropped unused.
    Ok(RUNTIME.get_or_init(|| rt))
}

/// The plain HTTP side of one registry.
pub struct Http {
    client: reqwest::Client,
    scheme: &'static str,
    /// The registry's `host[:port]` when the user marked it `insecure` (plain HTTP to it is
    /// allowed on every hop).
    insecure: Option<String>,
    /// `Authorization` per repository, learned from a challenge.
    headers: Mutex<HashMap<String, HeaderValue>>,
    /// Where each request is traced (`-vv`).
    reporter: crate::printer::Reporter,
}

impl Http {
    /// The client of `reg`: plain HTTP when `plain_http` (a loopback registry, or one marked
    /// insecure: `insecure`).
    pub fn new(
        reg: &RegistryUrl,
        plain_http: bool,
        insecure: bool,
        reporter: crate::printer::Reporter,
    ) -> Result<Http, RegistryError> {
        let insecure = insecure.then(|| reg.host.clone());
        if let Some(host) = &insecure {
            crate::registry::transfer::hops::allow_plain_http(host);
        }
        let client = crate::registry::transfer::client::following()?;
        Ok(Http {
            client,
            scheme: if plain_http { "http" } else { "https" },
            insecure,
            headers: Mutex::default(),
            reporter,
        })
    }

    /// The HTTP status of an anonymous `GET /v2/` (the registry API's base: 200, or 401 when
    /// it wants credentials).
    pub async fn ping(&self, reg: &RegistryUrl) -> Result<u16, RegistryError> {
        let url = format!("{}://{}/v2/", self.scheme, reg.host);
        let what = format!("`{url}`");
        let resp = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| crate::registry::transfer::hops::network_error(e, &what))?;
        Ok(resp.status().as_u16())
    }

    /// Check, before credentials go anywhere, the token service the registry's challenge
    /// names (an anonymous `GET /v2/`): it must follow the plain-HTTP rule.
    pub async fn check_token_service(
        &self,
        reg: &RegistryUrl,
        what: &str,
    ) -> Result<(), RegistryError> {
        let url = format!("{}://{}/v2/", self.scheme, reg.host);
        let resp = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| crate::registry::transfer::hops::network_error(e, what))?;
        crate::registry::transfer::hops::check_challenge(
            resp.headers(),
            self.insecure.as_deref(),
            what,
        )
    }

    /// GET `/v2/<path>` of `repo`, reading at most `max` body bytes: a larger body (declared
    /// or actual) is an error found without reading past the limit. `what` names the request
    /// in errors.
    #[allow(clippy::too_many_arguments)]
    pub async fn get(
        &self,
        oci: &Client,
        exchange: &Exchange,
        reg: &RegistryUrl,
        repo: &str,
        path: &str,
        accept: &[&str],
        max: u64,
        what: &str,
    ) -> Result<Response, RegistryError> {
        let url = format!("{}://{}/v2/{path}", self.scheme, reg.host);
        self.reporter.trace(format!("GET {url}"));
        let mut retried = false;
        loop {
            let mut req = self.client.get(&url);
            if !accept.is_empty() {
                req = req.header(ACCEPT, accept.join(", "));
            }
            if let Some(h) = self.headers.lock().expect("headers lock").get(repo) {
                req = req.header(AUTHORIZATION, h.clone());
            }
            let resp = req
                .send()
                .await
                .map_err(|e| crate::registry::transfer::hops::network_error(e, what))?;
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED && !retried {
                retried = true;
                self.authenticate(oci, exchange, reg, repo, resp.headers(), what)
                    .await?;
                continue;
            }
            let headers = resp.headers().clone();
            if !status.is_success() {
                let body = read_limited(resp, MAX_ERROR_BODY, what, true).await?;
                return Ok(Response {
                    status,
                    headers,
                    body,
                });
            }
            if let Some(len) = resp.content_length()
                && len > max
            {
                return Err(too_large(what, max));
            }
            let body = read_limited(resp, max, what, false).await?;
            return Ok(Response {
                status,
                headers,
                body,
            });
        }
    }

    /// GET blob `digest` of `repo` from byte `offset` on, with what `Authorization` a
    /// challenge taught (the body is the caller's to stream). Redirects — to a CDN, typically —
    /// follow the plain-HTTP rule on every hop.
    pub async fn blob(
        &self,
        reg: &RegistryUrl,
        repo: &str,
        digest: &str,
        offset: u64,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let url = format!("{}://{}/v2/{repo}/blobs/{digest}", self.scheme, reg.host);
        self.reporter.trace(format!("GET {url} from byte {offset}"));
        let mut req = self.client.get(&url);
        if offset > 0 {
            req = req.header(RANGE, format!("bytes={offset}-"));
        }
        if let Some(h) = self.headers.lock().expect("headers lock").get(repo) {
            req = req.header(AUTHORIZATION, h.clone());
        }
        req.send().await
    }

    /// Answer the challenge in `challenge` (a `401`'s headers): its token service must follow
    /// the plain-HTTP rule; then aibox's token exchange ([`Exchange`]) gets a token for `repo`
    /// (or settles on Basic); the registry client is given it for its own requests, and the
    /// header is kept here for pulls.
    pub async fn authenticate(
        &self,
        oci: &Client,
        exchange: &Exchange,
        reg: &RegistryUrl,
        repo: &str,
        challenge: &HeaderMap,
        what: &str,
    ) -> Result<(), RegistryError> {
        crate::registry::transfer::hops::check_challenge(
            challenge,
            self.insecure.as_deref(),
            what,
        )?;
        let grant = exchange.grant(repo, RegistryOperation::Pull, what).await?;
        let value = match &grant {
            Grant::Bearer(token) => format!("Bearer {token}"),
            Grant::Basic(user, pass) => {
                use base64::Engine as _;
                let pair =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
                format!("Basic {pair}")
            }
            Grant::Anonymous => return Err(no_credentials(what)),
        };
        let image = Reference::with_tag(reg.host.clone(), repo.to_owned(), "latest".into());
        oci.auth(&image, &grant.as_auth(), RegistryOperation::Pull)
            .await
            .map_err(|e| crate::registry::error::map_error(e, what))?;
        let mut value = HeaderValue::from_str(&value).map_err(|_| RegistryError::Auth {
            what: what.into(),
            message: "the registry's token cannot be sent in a header".into(),
        })?;
        value.set_sensitive(true);
        self.headers
            .lock()
            .expect("headers lock")
            .insert(repo.to_owned(), value);
        Ok(())
    }
}

/// A registry that wants credentials when there are none.
pub(super) fn no_credentials(what: &str) -> RegistryError {
    RegistryError::Auth {
        what: what.into(),
        message: "the registry asks for credentials and none are configured".into(),
    }
}

/// The error an unsuccessful answer to `what` stands for (its body read up to 64 KiB).
pub async fn answer_error(resp: reqwest::Response, what: &str) -> RegistryError {
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = match read_limited(resp, MAX_ERROR_BODY, what, true).await {
        Ok(b) => b,
        Err(e) => return e,
    };
    Response {
        status,
        headers,
        body,
    }
    .error(what)
    .unwrap_or_else(|| RegistryError::Remote {
        what: what.into(),
        message: format!("unexpected HTTP {status}"),
    })
}

impl Response {
    /// The registry's error codes and messages, if the body is an OCI error envelope.
    pub fn envelope(&self) -> Option<OciEnvelope> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Map an unsuccessful answer to an error (`None`: it was a success).
    pub fn error(&self, what: &str) -> Option<RegistryError> {
        if self.status.is_success() {
            return None;
        }
        let detail = self
            .envelope()
            .map(|env| {
                env.errors
                    .iter()
                    .map(|e| format!("{:?}: {}", e.code, e.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| format!("HTTP {}", self.status));
        Some(match self.status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => RegistryError::Auth {
                what: what.into(),
                message: format!("the registry refused access ({}): {detail}", self.status),
            },
            _ => RegistryError::Remote {
                what: what.into(),
                message: detail,
            },
        })
    }

    pub fn is_not_found(&self) -> bool {
        self.status == StatusCode::NOT_FOUND
    }

    /// The `Docker-Content-Digest` header, if any.
    pub fn digest_header(&self) -> Option<&str> {
        self.headers
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
    }
}
