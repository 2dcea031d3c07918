//! Offline Sigstore verification: a keyless signature (a short-lived Fulcio certificate and a
//! Rekor transparency-log entry) checked against a trusted root, with no network.
//!
//! [`verify`] takes a bundle ([`bundle::parse`]: a Sigstore bundle v0.1–v0.3 or cosign's own
//! `--bundle` file) and requires, each of them:
//! - the certificate chains to a Fulcio authority of the root valid at the signing time, and
//!   was valid itself then ([`cert`]);
//! - one of its embedded SCTs verifies with a CT log key of the root;
//! - its identity (subject alternative name, OIDC issuer) matches the [`Policy`];
//! - the signature verifies with its key, over the artifact or over the DSSE envelope's
//!   pre-authentication encoding, whose in-toto subject carries the artifact's SHA-256;
//! - the log entry's body names that signature, certificate and digest, its Signed Entry
//!   Timestamp verifies with a Rekor key of the root, and an inclusion proof, when present,
//!   leads to a root hash the log's checkpoint signs ([`tlog`]).
//!
//! The signing time is the entry's integrated time. Without a log entry (a bare signature and
//! certificate, or a bundle without a signed entry timestamp) no time can be established
//! offline: the chain, identity and signature are still checked, at the certificate's own
//! time, and the answer is [`Verdict::Unlogged`] — never counted as passed.

pub mod bundle;
pub mod cert;
pub mod error;
pub mod root;
pub mod tlog;

pub use bundle::{Bundle, Content};
pub use error::{SigstoreError, verify_raw};
pub use root::TrustedRoot;

use sha2::{Digest, Sha256};

/// A string to match exactly, or a regular expression (matched anywhere, as cosign does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    Exact(String),
    Regexp(String),
}

impl Matcher {
    fn matches(&self, s: &str) -> Result<bool, SigstoreError> {
        match self {
            Matcher::Exact(e) => Ok(e == s),
            Matcher::Regexp(r) => regex::Regex::new(r).map(|re| re.is_match(s)).map_err(|e| {
                SigstoreError::Identity(format!("the pattern `{r}` does not read: {e}"))
            }),
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Matcher::Exact(s) => write!(f, "`{s}`"),
            Matcher::Regexp(s) => write!(f, "matching `{s}`"),
        }
    }
}

/// Who must have signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The subject alternative name (a workflow URI, an e-mail address).
    pub identity: Matcher,
    /// The OIDC issuer; `None`: any.
    pub issuer: Option<Matcher>,
}

/// What a verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Everything, at the integrated time (seconds since the epoch) of the log entry.
    Verified {
        integrated_time: u64,
        identity: String,
    },
    /// Chain, identity and signature hold, but no log entry gives a signing time: not passed.
    Unlogged { reason: String },
}

/// DSSE's pre-authentication encoding of a payload.
fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// The in-toto statement media type DSSE envelopes carry.
const IN_TOTO: &str = "application/vnd.in-toto+json";

/// Whether the in-toto statement names `digest` (SHA-256) among its subjects.
fn statement_names(payload: &[u8], digest: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(payload) else {
        return false;
    };
    let want = hex::encode(digest);
    v["subject"].as_array().is_some_and(|subjects| {
        subjects
            .iter()
            .any(|s| s["digest"]["sha256"].as_str() == Some(want.as_str()))
    })
}

/// Verify `bundle` for the artifact `artifact` (its bytes) under `policy`.
pub fn verify(
    root: &TrustedRoot,
    bundle: &Bundle,
    artifact: &[u8],
    policy: &Policy,
) -> Result<Verdict, SigstoreError> {
    let digest: [u8; 32] = Sha256::digest(artifact).into();
    check(root, bundle, Some(artifact), &digest, policy)
}

/// Verify a DSSE `bundle` for the artifact whose SHA-256 is `digest` (a message signature
/// needs the artifact itself: [`verify`]).
pub fn verify_digest(
    root: &TrustedRoot,
    bundle: &Bundle,
    digest: &[u8; 32],
    policy: &Policy,
) -> Result<Verdict, SigstoreError> {
    check(root, bundle, None, digest, policy)
}

fn check(
    root: &TrustedRoot,
    bundle: &Bundle,
    artifact: Option<&[u8]>,
    artifact_digest: &[u8; 32],
    policy: &Policy,
) -> Result<Verdict, SigstoreError> {
    let leaf = cert::Leaf::read(&bundle.certificate)?;
    // The signing time: the log's, or (no log) the certificate's own start, for the checks
    // that can still be made.
    let logged = bundle.entry.as_ref().filter(|e| e.set.is_some());
    let time = logged.map_or(leaf.not_before, |e| e.integrated_time);
    let issuer = leaf.chain(root, time)?;
    leaf.check_sct(root, &issuer)?;
    let id = leaf.identity();
    let Some(san) = id
        .sans
        .iter()
        .find(|s| policy.identity.matches(s).unwrap_or(false))
    else {
        policy.identity.matches("")?;
        return Err(SigstoreError::Identity(format!(
            "the certificate is for {}, not {}",
            id.sans
                .first()
                .map_or("no identity".into(), |s| format!("`{s}`")),
            policy.identity
        )));
    };
    if let Some(want) = &policy.issuer {
        let got = id.issuer.clone().unwrap_or_default();
        if !want.matches(&got)? {
            return Err(SigstoreError::Identity(format!(
                "the certificate was issued on a token of `{got}`, not {want}"
            )));
        }
    }
    // The signature, and what the log entry must agree with.
    let (signature, digest, dsse) = match &bundle.content {
        Content::Message { signature } => {
            let Some(artifact) = artifact else {
                return Err(SigstoreError::Signature(
                    "a message signature is checked over the artifact itself".into(),
                ));
            };
            if !error::verify_raw(&leaf.spki, artifact, signature) {
                return Err(SigstoreError::Signature(
                    "the signature does not verify over the artifact with the certificate's key"
                        .into(),
                ));
            }
            (signature, artifact_digest.to_vec(), false)
        }
        Content::Dsse {
            payload_type,
            payload,
            signature,
        } => {
            if payload_type != IN_TOTO {
                return Err(SigstoreError::Signature(format!(
                    "the envelope carries `{payload_type}`, not an in-toto statement"
                )));
            }
            if !error::verify_raw(&leaf.spki, &pae(payload_type, payload), signature) {
                return Err(SigstoreError::Signature(
                    "the envelope's signature does not verify with the certificate's key".into(),
                ));
            }
            if !statement_names(payload, artifact_digest) {
                return Err(SigstoreError::Signature(
                    "the statement does not name the artifact's SHA-256".into(),
                ));
            }
            (signature, Sha256::digest(payload).to_vec(), true)
        }
    };
    let Some(entry) = logged else {
        return Ok(Verdict::Unlogged {
            reason: if bundle.entry.is_some() {
                "the log entry has no signed entry timestamp, so no signing time can be established offline".into()
            } else {
                "no transparency-log entry, so no signing time can be established offline".into()
            },
        });
    };
    tlog::check_body(
        entry,
        &tlog::Expect {
            certificate: &leaf.der,
            signature,
            digest: &digest,
            dsse,
        },
    )?;
    tlog::check_set(root, entry, entry.set.as_deref().unwrap_or_default())?;
    tlog::check_proof(root, entry)?;
    if !(leaf.not_before..=leaf.not_after).contains(&entry.integrated_time) {
        return Err(SigstoreError::Chain(
            "the certificate was not valid at the signing time".into(),
        ));
    }
    Ok(Verdict::Verified {
        integrated_time: entry.integrated_time,
        identity: san.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GitHub release workflow's attestation from the public-good instance (a Sigstore
    /// bundle v0.3 with a DSSE envelope, logged in Rekor in April 2026): public log data.
    const PUBLIC_BUNDLE: &[u8] = include_bytes!("testdata/kubewarden-attestation.sigstore.json");
    const SUBJECT: &str = "c811d58de79c92f03214e63aa339484e488d694ae8a6283b5f3f17a9faf50172";
    const IDENTITY: &str = "https://github.com/kubewarden/kubewarden-controller/.github/workflows/release.yml@refs/tags/v1.34.0";

    fn policy(identity: &str) -> Policy {
        Policy {
            identity: Matcher::Exact(identity.into()),
            issuer: Some(Matcher::Exact(
                "https://token.actions.githubusercontent.com".into(),
            )),
        }
    }

    fn subject() -> [u8; 32] {
        hex::decode(SUBJECT).unwrap().try_into().unwrap()
    }

    #[test]
    fn a_public_good_bundle_verifies_under_the_built_in_root() {
        let root = TrustedRoot::public_good().unwrap();
        let bundle = bundle::parse(PUBLIC_BUNDLE).unwrap();
        let verdict = verify_digest(&root, &bundle, &subject(), &policy(IDENTITY)).unwrap();
        assert!(
            matches!(verdict, Verdict::Verified { ref identity, .. } if identity == IDENTITY),
            "{verdict:?}"
        );
    }

    #[test]
    fn a_public_good_bundle_is_refused_for_another_identity_digest_or_root() {
        let root = TrustedRoot::public_good().unwrap();
        let bundle = bundle::parse(PUBLIC_BUNDLE).unwrap();
        let other = IDENTITY.replace("v1.34.0", "v1.35.0");
        assert!(matches!(
            verify_digest(&root, &bundle, &subject(), &policy(&other)),
            Err(SigstoreError::Identity(_))
        ));
        assert!(matches!(
            verify_digest(&root, &bundle, &[0; 32], &policy(IDENTITY)),
            Err(SigstoreError::Signature(_))
        ));
        let mut no_logs = root.clone();
        no_logs.tlogs.clear();
        assert!(matches!(
            verify_digest(&no_logs, &bundle, &subject(), &policy(IDENTITY)),
            Err(SigstoreError::Tlog(_))
        ));
        let mut no_ct = root.clone();
        no_ct.ctlogs.clear();
        assert!(matches!(
            verify_digest(&no_ct, &bundle, &subject(), &policy(IDENTITY)),
            Err(SigstoreError::Sct(_))
        ));
        let mut no_ca = root;
        no_ca.authorities.clear();
        assert!(matches!(
            verify_digest(&no_ca, &bundle, &subject(), &policy(IDENTITY)),
            Err(SigstoreError::Chain(_))
        ));
    }
}
