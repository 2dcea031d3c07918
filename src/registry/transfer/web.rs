//! Plain GETs to web APIs that are not OCI registries (ClawHub's HTTP API, the GitHub API) and
//! archive downloads from them: one client per source with the plain-HTTP rule on every hop
//! (`https`, or plain HTTP to loopback or to the one host marked `insecure`), answers read up
//! to a size limit, JSON answers cached with the tag time-to-live (used whatever their age
//! `--offline`), downloads streamed into a file while their SHA-256 is computed.

use std::io::Write;
use std::path::PathBuf;

use sha2::Digest as _;

use crate::fs;
use crate::registry::error::{RegistryError, redact};
use crate::registry::source::SourceOptions;

/// An answer: its status and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// The HTTP side of one web source.
pub struct WebClient {
    client: reqwest::Client,
    rt: &'static tokio::runtime::Runtime,
    opts: SourceOptions,
    /// `host[:port]` of the source when it is marked insecure (plain HTTP allowed to it).
    insecure: Option<String>,
    /// `Authorization: Bearer …` for every request (a GitHub token), if any.
    bearer: Option<String>,
    /// The cache folder under `$AIBOX_HOME/cache/` (`clawhub`, `github`).
    cache: &'static str,
}

/// `host[:port]` of `url`.
fn authority(url: &url::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    })
}

/// Check the plain-HTTP rule for the first hop: `https`, or `http` to loopback (or, with
/// `insecure`, to any host).
pub fn check_scheme(url: &str, insecure: bool) -> Result<url::Url, RegistryError> {
    let parsed = url::Url::parse(url).map_err(|e| RegistryError::bad_url(url, e.to_string()))?;
    match parsed.scheme() {
        "https" => {}
        "http" => {
            let loopback = parsed
                .host()
                .is_some_and(|h| super::hops::is_loopback_host(&h));
            if !loopback && !insecure {
                return Err(RegistryError::bad_url(
                    url,
                    "plain HTTP is only used for loopback hosts; use https:// (or mark the registry `insecure`)",
                ));
            }
        }
        _ => return Err(RegistryError::bad_url(url, "expected an https:// URL")),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(RegistryError::bad_url(
            url,
            "a user name or password in the URL is not allowed",
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(RegistryError::bad_url(url, "the URL names no host"));
    }
    Ok(parsed)
}

impl WebClient {
    /// A client for the source whose first URL is `start` (checked against the plain-HTTP
    /// rule), caching JSON under `cache/<cache>/`.
    pub fn new(
        start: &str,
        opts: &SourceOptions,
        bearer: Option<String>,
        cache: &'static str,
    ) -> Result<WebClient, RegistryError> {
        let parsed = check_scheme(start, opts.insecure)?;
        let insecure = opts.insecure.then(|| authority(&parsed)).flatten();
        if let Some(host) = &insecure {
            super::hops::allow_plain_http(host);
        }
        Ok(WebClient {
            client: super::client::following()?,
            rt: super::http::runtime()?,
            opts: *opts,
            insecure,
            bearer,
            cache,
        })
    }

    /// The options this client runs under.
    pub fn options(&self) -> &SourceOptions {
        &self.opts
    }

    /// Whether `url` may be asked at all (a URL taken from an answer is checked before use).
    pub fn allowed(&self, url: &str) -> Result<url::Url, RegistryError> {
        let parsed =
            url::Url::parse(url).map_err(|e| RegistryError::bad_url(url, e.to_string()))?;
        if super::hops::allowed(&parsed, self.insecure.as_deref()) {
            Ok(parsed)
        } else {
            Err(RegistryError::InsecureHop {
                what: format!("reading `{}`", redact(url)),
                url: redact(url),
                how: "a link in an answer",
            })
        }
    }

    fn request(&self, url: &str, accept: &str) -> reqwest::RequestBuilder {
        let mut req = self.client.get(url).header("Accept", accept);
        if let Some(token) = &self.bearer {
            req = req.bearer_auth(token);
        }
        req
    }

    /// What every GET checks first: not offline, a URL the plain-HTTP rule allows; then the
    /// request is traced.
    fn before_get(&self, url: &str, what: &str) -> Result<(), RegistryError> {
        if self.opts.offline {
            return Err(RegistryError::Offline {
                what: what.to_owned(),
            });
        }
        self.allowed(url)?;
        self.opts.reporter.trace(format!("GET {}", redact(url)));
        Ok(())
    }

    /// GET `url` and read at most `max` bytes of its answer, whatever its status (callers tell
    /// a 404 from other failures).
    pub fn get(
        &self,
        url: &str,
        accept: &str,
        max: usize,
        what: &str,
    ) -> Result<Answer, RegistryError> {
        self.before_get(url, what)?;
        self.rt.block_on(async {
            let mut resp = self
                .request(url, accept)
                .send()
                .await
                .map_err(|e| super::hops::network_error(e, what))?;
            let status = resp.status().as_u16();
            let mut body = Vec::new();
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| super::hops::network_error(e, what))?
            {
                body.extend_from_slice(&chunk);
                if body.len() > max {
                    return Err(RegistryError::Remote {
                        what: what.to_owned(),
                        message: format!("the answer is larger than {max} bytes"),
                    });
                }
            }
            Ok(Answer { status, body })
        })
    }

    /// GET a JSON document: from the cache when fresh (or whatever its age when offline), else
    /// from `url` (then cached). `Ok(None)` when the server answers 404.
    pub fn json(
        &self,
        url: &str,
        max: usize,
        what: &str,
    ) -> Result<Option<Vec<u8>>, RegistryError> {
        let path = self.cache_path(url);
        let cached = path.as_ref().and_then(|p| {
            let age = fs::metadata(p)
                .ok()?
                .modified()
                .ok()?
                .elapsed()
                .unwrap_or_default();
            Some((fs::read_regular(p, max as u64).ok()?, age))
        });
        if let Some((bytes, age)) = &cached
            && (self.opts.offline || (!self.opts.refresh && *age < super::cache::tag_ttl()))
        {
            return Ok(Some(bytes.clone()));
        }
        let answer = self.get(url, "application/json", max, what)?;
        match answer.status {
            200..=299 => {}
            404 => return Ok(None),
            status => {
                return Err(RegistryError::Remote {
                    what: what.to_owned(),
                    message: format!("HTTP {status}{}", excerpt(&answer.body)),
                });
            }
        }
        if let Some(p) = &path
            && let Some(dir) = p.parent()
        {
            // Best effort, like every cache write.
            let _ = fs::create_dir_all(dir).and_then(|()| fs::write_atomic(p, &answer.body));
        }
        Ok(Some(answer.body))
    }

    /// Where the answer of `url` is cached (`None` without an aibox home).
    fn cache_path(&self, url: &str) -> Option<PathBuf> {
        Some(
            self.options()
                .cache_dir()?
                .join(self.cache)
                .join(format!("{}.json", super::cache::escape(url))),
        )
    }

    /// Download `url` into `out` (at most `max` bytes); the `sha256:<hex>` of what was written.
    pub fn download(
        &self,
        url: &str,
        accept: &str,
        out: &mut std::fs::File,
        max: u64,
        what: &str,
    ) -> Result<String, RegistryError> {
        self.before_get(url, what)?;
        self.rt.block_on(async {
            let mut resp = self
                .request(url, accept)
                .send()
                .await
                .map_err(|e| super::hops::network_error(e, what))?;
            if !resp.status().is_success() {
                let status = resp.status();
                let mut body = Vec::new();
                while let Ok(Some(chunk)) = resp.chunk().await {
                    body.extend_from_slice(&chunk);
                    if body.len() > 4096 {
                        break;
                    }
                }
                return Err(RegistryError::Remote {
                    what: what.to_owned(),
                    message: format!("HTTP {status}{}", excerpt(&body)),
                });
            }
            save(resp, out, max, what).await
        })
    }
}

/// Write the body of `resp` into `out` (at most `max` bytes, else an error naming `what`);
/// the `sha256:<hex>` of what was written.
pub async fn save(
    mut resp: reqwest::Response,
    out: &mut std::fs::File,
    max: u64,
    what: &str,
) -> Result<String, RegistryError> {
    let mut hasher = sha2::Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| super::hops::network_error(e, what))?
    {
        size += chunk.len() as u64;
        if size > max {
            return Err(RegistryError::Remote {
                what: what.to_owned(),
                message: format!("the download is larger than {max} bytes"),
            });
        }
        hasher.update(&chunk);
        out.write_all(&chunk).map_err(|e| RegistryError::Io {
            context: "cannot write the download".into(),
            source: e,
        })?;
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

/// `: <the start of an error body>` (one line, at most 200 characters), or nothing.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line: String = text
        .split(['\n', '\r'])
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    if line.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", line.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_hop_follows_the_plain_http_rule() {
        assert!(check_scheme("https://clawhub.ai", false).is_ok());
        assert!(check_scheme("http://127.0.0.1:8787", false).is_ok());
        assert!(check_scheme("http://localhost/x", false).is_ok());
        assert!(check_scheme("http://clawhub.example", false).is_err());
        assert!(check_scheme("http://clawhub.example", true).is_ok());
        assert!(check_scheme("ftp://clawhub.example", true).is_err());
        assert!(check_scheme("https://user:pw@clawhub.example", false).is_err());
        assert!(check_scheme("not a url", false).is_err());
    }

    #[test]
    fn error_bodies_are_cut_to_one_line() {
        assert_eq!(excerpt(b"Skill not found\nmore"), ": Skill not found");
        assert_eq!(excerpt(b"   "), "");
        assert_eq!(excerpt(&[b'x'; 500]).len(), 202);
    }
}
