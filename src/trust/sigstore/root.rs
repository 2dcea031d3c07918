//! The Sigstore trusted root (`trusted_root.json`, the protobuf-specs JSON form): the Fulcio
//! certificate authorities, the Certificate Transparency logs and the Rekor transparency logs a
//! bundle is checked against, each with the time range it is valid for. The public-good root
//! is built in; `trust.sigstore-root` in the user configuration names another file.

use std::path::Path;

use base64::Engine;
use serde::Deserialize;

use super::error::SigstoreError;
use crate::fs;

/// The public-good Sigstore instance's trusted root, as shipped with sigstore-rs 0.15.0.
const PUBLIC_GOOD: &[u8] = include_bytes!("trusted_root.json");

/// The largest trusted root read.
const MAX_ROOT_BYTES: u64 = 4 << 20;

/// A time range in seconds since the epoch (`end` open when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub start: u64,
    pub end: Option<u64>,
}

impl Validity {
    /// Whether `t` lies in the range.
    pub fn contains(&self, t: u64) -> bool {
        t >= self.start && self.end.is_none_or(|e| t <= e)
    }
}

/// A log's key (a transparency log or a CT log).
#[derive(Debug, Clone)]
pub struct LogKey {
    /// The log's id: SHA-256 of the key's DER (the root states it).
    pub id: Vec<u8>,
    /// The key, DER SubjectPublicKeyInfo.
    pub spki: Vec<u8>,
    pub valid: Validity,
}

/// A certificate authority: its chain, leaf-most first, the root last (DER).
#[derive(Debug, Clone)]
pub struct Authority {
    pub chain: Vec<Vec<u8>>,
    pub valid: Validity,
}

/// A trusted root, read.
#[derive(Debug, Clone)]
pub struct TrustedRoot {
    /// Where it came from (for messages).
    pub origin: String,
    pub authorities: Vec<Authority>,
    pub tlogs: Vec<LogKey>,
    pub ctlogs: Vec<LogKey>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRoot {
    media_type: String,
    #[serde(default)]
    tlogs: Vec<RawLog>,
    #[serde(default)]
    certificate_authorities: Vec<RawAuthority>,
    #[serde(default)]
    ctlogs: Vec<RawLog>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLog {
    public_key: RawKey,
    log_id: RawLogId,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawKey {
    raw_bytes: String,
    valid_for: Option<RawRange>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAuthority {
    cert_chain: RawChain,
    valid_for: Option<RawRange>,
}

#[derive(Deserialize)]
struct RawChain {
    certificates: Vec<RawCert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCert {
    raw_bytes: String,
}

#[derive(Deserialize)]
struct RawRange {
    start: Option<String>,
    end: Option<String>,
}

/// Seconds since the epoch of an RFC 3339 time.
pub fn parse_time(s: &str) -> Option<u64> {
    humantime::parse_rfc3339_weak(s.trim_end_matches('Z'))
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

impl TrustedRoot {
    /// The built-in public-good root.
    pub fn public_good() -> Result<TrustedRoot, SigstoreError> {
        TrustedRoot::parse(PUBLIC_GOOD, "the built-in Sigstore public-good root")
    }

    /// The root at `path`, or the built-in one.
    pub fn load(path: Option<&Path>) -> Result<TrustedRoot, SigstoreError> {
        let Some(path) = path else {
            return TrustedRoot::public_good();
        };
        let bytes = fs::read_regular(path, MAX_ROOT_BYTES).map_err(|e| SigstoreError::Root {
            origin: path.display().to_string(),
            reason: e.to_string(),
        })?;
        TrustedRoot::parse(&bytes, &format!("`{}`", path.display()))
    }

    /// Read a `trusted_root.json`.
    pub fn parse(bytes: &[u8], origin: &str) -> Result<TrustedRoot, SigstoreError> {
        let bad = |reason: String| SigstoreError::Root {
            origin: origin.to_owned(),
            reason,
        };
        let raw: RawRoot =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("does not read: {e}")))?;
        if !raw
            .media_type
            .starts_with("application/vnd.dev.sigstore.trustedroot")
        {
            return Err(bad(format!("has the media type `{}`", raw.media_type)));
        }
        let b64 = |s: &str, what: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|_| bad(format!("{what} is not base64")))
        };
        let range = |r: &Option<RawRange>| -> Result<Validity, SigstoreError> {
            let Some(r) = r else {
                return Ok(Validity {
                    start: 0,
                    end: None,
                });
            };
            let time = |t: &Option<String>| -> Result<Option<u64>, SigstoreError> {
                t.as_deref()
                    .map(|t| {
                        parse_time(t).ok_or_else(|| bad(format!("the time `{t}` does not read")))
                    })
                    .transpose()
            };
            Ok(Validity {
                start: time(&r.start)?.unwrap_or(0),
                end: time(&r.end)?,
            })
        };
        let logs = |logs: &[RawLog], what: &str| -> Result<Vec<LogKey>, SigstoreError> {
            logs.iter()
                .map(|l| {
                    Ok(LogKey {
                        id: b64(&l.log_id.key_id, what)?,
                        spki: b64(&l.public_key.raw_bytes, what)?,
                        valid: range(&l.public_key.valid_for)?,
                    })
                })
                .collect()
        };
        let authorities = raw
            .certificate_authorities
            .iter()
            .map(|a| {
                Ok(Authority {
                    chain: a
                        .cert_chain
                        .certificates
                        .iter()
                        .map(|c| b64(&c.raw_bytes, "a certificate"))
                        .collect::<Result<_, _>>()?,
                    valid: range(&a.valid_for)?,
                })
            })
            .collect::<Result<Vec<_>, SigstoreError>>()?;
        if authorities.iter().any(|a| a.chain.is_empty()) {
            return Err(bad(
                "names a certificate authority without certificates".into()
            ));
        }
        Ok(TrustedRoot {
            origin: origin.to_owned(),
            authorities,
            tlogs: logs(&raw.tlogs, "a transparency log key")?,
            ctlogs: logs(&raw.ctlogs, "a CT log key")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_root_reads() {
        let root = TrustedRoot::public_good().unwrap();
        assert_eq!(root.authorities.len(), 2);
        assert_eq!(root.tlogs.len(), 1);
        assert!(!root.ctlogs.is_empty());
        // The Rekor log id is the SHA-256 of its key.
        use sha2::Digest;
        assert_eq!(
            root.tlogs[0].id,
            sha2::Sha256::digest(&root.tlogs[0].spki).to_vec()
        );
        assert_eq!(parse_time("2022-04-13T20:06:15.000Z"), Some(1_649_880_375));
    }
}
