//! The trust policy and its verdicts. A policy is a level (`enterprise`: refuse what is not
//! signed by a trusted key; `dev`: warn; `minimal`: digests only), whether `dir:` packs are
//! allowed under `enterprise`, and the trusted keys (each for every registry or for one URL
//! prefix). [`Policy::judge`] decides one locked pack from its signatures, and pins its signer:
//! a pack locked with one signer is refused when only another key signs it.

use super::TrustError;
use super::keys::{PublicKey, short};
use crate::signature::{self, Entry};

/// How strict verification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Digests only: signatures are not looked at.
    Minimal,
    /// Unsigned, untrusted or unverifiable packs are installed with a warning.
    Dev,
    /// Unsigned, untrusted or unverifiable packs are refused.
    Enterprise,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "minimal" => Some(Level::Minimal),
            "dev" => Some(Level::Dev),
            "enterprise" => Some(Level::Enterprise),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Minimal => "minimal",
            Level::Dev => "dev",
            Level::Enterprise => "enterprise",
        }
    }
}

/// A key trusted for one registry URL prefix, or every registry.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    pub key: PublicKey,
    /// `None`: every registry.
    pub registry: Option<String>,
    /// Where it was configured (for messages).
    pub origin: String,
}

impl TrustedKey {
    /// Whether this key is trusted for packs from `source`.
    pub fn covers(&self, source: &str) -> bool {
        match &self.registry {
            None => true,
            Some(prefix) => {
                let prefix = prefix.trim_end_matches('/');
                source == prefix || source.starts_with(&format!("{prefix}/"))
            }
        }
    }
}

/// The policy in force.
#[derive(Debug, Clone)]
pub struct Policy {
    pub level: Level,
    /// Under `enterprise`: whether `dir:` packs (never signed) are allowed.
    pub allow_dir: bool,
    pub keys: Vec<TrustedKey>,
}

/// The pack being judged.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub source: &'a str,
    /// The digest signatures must vouch for (`None`: a source without digests, `dir:`).
    pub digest: Option<&'a str>,
    /// The signer recorded in the lock, if any.
    pub locked_signer: Option<&'a str>,
    /// A signer being moved away from (`aibox lock --upgrade-package <pack>` after a key rotation):
    /// when another trusted key signs the pack too, that one is chosen.
    pub retiring: Option<&'a str>,
}

/// What the policy says about one pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Signed by this trusted key (its fingerprint).
    Signed(String),
    /// Allowed without a verified signature; `Some(reason)` is worth a warning.
    Allowed(Option<String>),
}

impl Policy {
    /// The keys trusted for `source`.
    pub fn keys_for<'a>(&'a self, source: &'a str) -> impl Iterator<Item = &'a TrustedKey> {
        self.keys.iter().filter(move |k| k.covers(source))
    }

    /// A digest of everything that decides a verdict (level, `allow-dir`, the trusted keys and
    /// their registries): a generation verified under one policy is judged again under
    /// another.
    pub fn digest(&self) -> String {
        let mut keys: Vec<String> = self
            .keys
            .iter()
            .map(|k| {
                format!(
                    "{} {}",
                    k.key.fingerprint(),
                    k.registry.as_deref().unwrap_or("*")
                )
            })
            .collect();
        keys.sort();
        let text = format!(
            "aibox-policy-v1\n{}\n{}\n{}",
            self.level.as_str(),
            self.allow_dir,
            keys.join("\n")
        );
        format!("blake3:{}", blake3::hash(text.as_bytes()).to_hex())
    }

    /// Whether signatures are looked at at all.
    pub fn verifies(&self) -> bool {
        self.level != Level::Minimal
    }

    /// The fingerprints of the trusted keys (for `source`) that sign `digest` in `entries`,
    /// sorted.
    pub fn signers(&self, source: &str, digest: &str, entries: &[Entry]) -> Vec<String> {
        let mut out: Vec<String> = entries
            .iter()
            .filter(|e| signature::signed_digest(&e.payload).as_deref() == Some(digest))
            .flat_map(|e| {
                self.keys_for(source)
                    .filter(|k| k.key.verifies(&e.payload, &e.signature))
                    .map(|k| k.key.fingerprint().to_owned())
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Judge one pack from its signatures (`entries`, as fetched or kept in the store).
    pub fn judge(&self, s: Subject<'_>, entries: &[Entry]) -> Result<Verdict, TrustError> {
        let pack = format!("{}@{}", s.name, s.version);
        if !self.verifies() {
            return Ok(Verdict::Allowed(None));
        }
        let Some(digest) = s.digest else {
            // `dir:` packs: local sources, never signed.
            return if self.level == Level::Enterprise && !self.allow_dir {
                Err(TrustError::Refused {
                    pack,
                    source_url: s.source.into(),
                    reason: "it comes from a `dir:` source, which is never signed".into(),
                    hint: "under the enterprise policy, `dir:` packs need `aibox config set trust.allow-dir true` (for development only)".into(),
                })
            } else {
                Ok(Verdict::Allowed(None))
            };
        };
        let signers = self.signers(s.source, digest, entries);
        if let Some(locked) = s.locked_signer {
            if signers.iter().any(|f| f == locked) {
                return Ok(Verdict::Signed(locked.to_owned()));
            }
            if let Some(other) = signers.first() {
                return Err(TrustError::SignerChanged {
                    pack,
                    source_url: s.source.into(),
                    locked: locked.into(),
                    now: other.clone(),
                    name: s.name.into(),
                });
            }
        }
        if let Some(old) = s.retiring
            && let Some(other) = signers.iter().find(|f| *f != old)
        {
            return Ok(Verdict::Signed(other.clone()));
        }
        if let Some(first) = signers.into_iter().next() {
            return Ok(Verdict::Signed(first));
        }
        let any_key = self.keys_for(s.source).next().is_some();
        let reason = match (entries.is_empty(), s.locked_signer) {
            (_, Some(locked)) => format!(
                "it was locked as signed by {}, and no valid signature by that key is found now",
                short(locked)
            ),
            (true, None) => "it is not signed".into(),
            (false, None) if !any_key => {
                "it is signed, but no key is trusted for its registry".into()
            }
            (false, None) => "it is signed, but by no key trusted for its registry".into(),
        };
        match self.level {
            Level::Enterprise => Err(TrustError::Refused {
                pack,
                source_url: s.source.into(),
                reason,
                hint: "the enterprise policy installs only packs signed by a trusted key: trust the publisher's key with `aibox trust add KEY.pub`, or ask the publisher to sign the pack".into(),
            }),
            _ => Ok(Verdict::Allowed(Some(format!(
                "`{pack}` from `{}`: {reason}",
                s.source
            )))),
        }
    }

    /// Judge a pack whose source checks it itself (an `aqua:` pack): `verified` are the checks
    /// that passed when it was locked. The enterprise policy wants a verified checksum and a
    /// verified signature (`cosign`, `cosign-keyless`, `github-attestation` or `minisign`); `dev`
    /// warns without them.
    pub fn judge_checks(
        &self,
        name: &str,
        version: &str,
        source: &str,
        verified: &[String],
    ) -> Result<Verdict, TrustError> {
        if !self.verifies() {
            return Ok(Verdict::Allowed(None));
        }
        let has = |c: &str| verified.iter().any(|v| v == c);
        let signed = ["cosign", "cosign-keyless", "github-attestation", "minisign"]
            .iter()
            .any(|c| has(c));
        let missing: Vec<&str> = [("checksum", has("checksum")), ("signature", signed)]
            .iter()
            .filter(|(_, ok)| !ok)
            .map(|(what, _)| *what)
            .collect();
        if missing.is_empty() {
            return Ok(Verdict::Allowed(None));
        }
        let pack = format!("{name}@{version}");
        let reason = format!(
            "its aqua entry gives no verified {} (verified: {})",
            missing.join(" and no verified "),
            if verified.is_empty() {
                "nothing".to_owned()
            } else {
                verified.join(", ")
            }
        );
        match self.level {
            Level::Enterprise => Err(TrustError::Refused {
                pack,
                source_url: source.into(),
                reason,
                hint: "the enterprise policy installs aqua packs only with a checksum and a signature that aibox verified: use a pack whose aqua entry declares both (a cosign key, or a keyless cosign bundle), or publish the tool as a signed pack".into(),
            }),
            _ => Ok(Verdict::Allowed(Some(format!("`{pack}` from `{source}`: {reason}")))),
        }
    }
}
