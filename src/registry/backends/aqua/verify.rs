//! The checks an aqua entry declares, made on a downloaded asset before anything of it is
//! stored: its digest against the release's checksum file (by the declared algorithm), a cosign
//! signature by a public key over the checksum file or the asset, a keyless cosign signature
//! (a Fulcio certificate for the declared identity, logged in Rekor) verified offline against
//! the Sigstore trusted root ([`crate::trust::sigstore`]), and a record of what was declared but
//! cannot be checked here — never counted as passed: a keyless signature without a
//! transparency-log entry (no signing time can be established offline), SLSA provenance,
//! minisign. GitHub artifact attestations are fetched from GitHub's API and verified offline
//! the same way (`attest`).

use std::io::Read;
use std::path::Path;

use crate::aqua::checksum::{self, Hasher};
use crate::aqua::resolve::{Algorithm, ChecksumPlan, CosignPlan, Plan};
use crate::fs;
use crate::registry::RegistryError;
use crate::trust::sigstore::{self, Matcher};
use base64::Engine;

/// The largest checksum file, key or signature read.
const MAX_SMALL_BYTES: u64 = 16 << 20;

/// What the checks found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Checks that passed.
    pub verified: Vec<String>,
    /// Declared checks aibox cannot make.
    pub unverified: Vec<String>,
    /// The fingerprint of the cosign key that verified, if one did.
    pub signer: Option<String>,
    /// Why a check that was made is still not counted (shown as warnings).
    pub notes: Vec<String>,
}

impl Outcome {
    fn pass(&mut self, check: &str) {
        if !self.verified.iter().any(|c| c == check) {
            self.verified.push(check.to_owned());
        }
    }

    fn cannot(&mut self, check: &str) {
        if !self.unverified.iter().any(|c| c == check) {
            self.unverified.push(check.to_owned());
        }
    }

    /// Sorted, and nothing both passed and not checked.
    pub fn finish(mut self) -> Outcome {
        self.verified.sort();
        self.unverified.retain(|c| !self.verified.contains(c));
        self.unverified.sort();
        self
    }
}

/// The checks `plan` declares, by the names the lock records (sorted): what `aibox info`
/// shows before anything is downloaded.
pub fn declared(plan: &Plan) -> Vec<String> {
    let mut out = Outcome::default();
    let cosign = |c: &CosignPlan| match c {
        CosignPlan::Key { .. } => "cosign",
        CosignPlan::Keyless { .. } => "cosign-keyless",
    };
    if let Some(c) = &plan.checksum {
        out.pass("checksum");
        if let Some(k) = &c.cosign {
            out.pass(cosign(k));
        }
        if c.attestations.is_some() {
            out.pass("github-attestation");
        }
        if c.minisign {
            out.pass("minisign");
        }
    }
    if let Some(k) = &plan.cosign {
        out.pass(cosign(k));
    }
    for (declared, name) in [
        (plan.slsa, "slsa"),
        (plan.attestations.is_some(), "github-attestation"),
        (plan.minisign, "minisign"),
    ] {
        if declared {
            out.pass(name);
        }
    }
    out.finish().verified
}

pub use super::attest::Fetch;

/// Run every check `plan` declares on the asset downloaded to `file` (what `what` names).
/// `url_of` turns a plan location into a URL; `fetch` downloads small files.
/// `repo` is the entry's GitHub repository (`owner`, `name`), where its attestations are.
pub fn check(
    plan: &Plan,
    file: &Path,
    what: &str,
    repo: Option<(&str, &str)>,
    url_of: &dyn Fn(&crate::aqua::resolve::Location) -> Result<String, RegistryError>,
    fetch: &Fetch<'_>,
) -> Result<Outcome, RegistryError> {
    let mut out = Outcome::default();
    if let Some(c) = &plan.checksum {
        checksum_check(c, plan, file, what, repo, url_of, fetch, &mut out)?;
    }
    if plan.cosign.is_some() || plan.attestations.is_some() {
        let bytes = fs::read_regular(file, 4 << 30).map_err(|e| RegistryError::Io {
            context: format!("cannot read {what}"),
            source: e,
        })?;
        if let Some(cosign) = &plan.cosign {
            cosign_check(cosign, &bytes, what, url_of, fetch, &mut out)?;
        }
        if let Some(workflow) = &plan.attestations {
            attestation_check(&bytes, what, repo, workflow, fetch, &mut out)?;
        }
    }
    if plan.slsa {
        out.cannot("slsa");
    }
    if plan.minisign {
        out.cannot("minisign");
    }
    Ok(out.finish())
}

#[allow(clippy::too_many_arguments)]
fn checksum_check(
    c: &ChecksumPlan,
    plan: &Plan,
    file: &Path,
    what: &str,
    repo: Option<(&str, &str)>,
    url_of: &dyn Fn(&crate::aqua::resolve::Location) -> Result<String, RegistryError>,
    fetch: &Fetch<'_>,
    out: &mut Outcome,
) -> Result<(), RegistryError> {
    let url = url_of(&c.location)?;
    let shown = crate::registry::transfer::url::redact(&url);
    let bytes = fetch(&url, &format!("downloading the checksum file `{shown}`"))?;
    if let Some(cosign) = &c.cosign {
        cosign_check(
            cosign,
            &bytes,
            &format!("the checksum file `{shown}` of {what}"),
            url_of,
            fetch,
            out,
        )?;
    }
    if let Some(workflow) = &c.attestations {
        attestation_check(
            &bytes,
            &format!("the checksum file `{shown}` of {what}"),
            repo,
            workflow,
            fetch,
            out,
        )?;
    }
    if c.minisign {
        out.cannot("minisign");
    }
    let text = String::from_utf8_lossy(&bytes);
    let Some(hasher) = Hasher::new(c.algorithm) else {
        // md5: declared, too weak to count.
        out.cannot("checksum");
        return Ok(());
    };
    let expected = checksum::find(&text, &c.format, &plan.asset)
        .map_err(|e| RegistryError::Unverified {
            what: format!("the checksum file `{shown}`"),
            message: format!("does not read: {e}"),
        })?
        .ok_or_else(|| RegistryError::Unverified {
            what: format!("the checksum file `{shown}`"),
            message: format!("lists no digest for `{}`", plan.asset),
        })?;
    if !checksum::well_formed(&expected, c.algorithm) {
        return Err(RegistryError::Unverified {
            what: format!("the checksum file `{shown}`"),
            message: format!(
                "gives `{}` for `{}`, which is not a {} digest",
                crate::printer::visible(&expected),
                plan.asset,
                algorithm_name(c.algorithm)
            ),
        });
    }
    let actual = digest_file(file, hasher).map_err(|e| RegistryError::Io {
        context: format!("cannot read {what}"),
        source: e,
    })?;
    if actual != expected {
        return Err(RegistryError::DigestMismatch {
            what: format!("{what} (its checksum file `{shown}`)"),
            digest: format!("{}:{expected}", algorithm_name(c.algorithm)),
            actual: format!("{}:{actual}", algorithm_name(c.algorithm)),
        });
    }
    out.pass("checksum");
    Ok(())
}

fn algorithm_name(a: Algorithm) -> &'static str {
    match a {
        Algorithm::Sha256 => "sha256",
        Algorithm::Sha512 => "sha512",
        Algorithm::Sha1 => "sha1",
        Algorithm::Md5 => "md5",
    }
}

fn digest_file(file: &Path, mut hasher: Hasher) -> std::io::Result<String> {
    let mut f = fs::File::open(file)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finish())
}

/// A cosign signature over `blob`: by a key, checked; keyless, recorded as not checked.
fn cosign_check(
    plan: &CosignPlan,
    blob: &[u8],
    what: &str,
    url_of: &dyn Fn(&crate::aqua::resolve::Location) -> Result<String, RegistryError>,
    fetch: &Fetch<'_>,
    out: &mut Outcome,
) -> Result<(), RegistryError> {
    match plan {
        CosignPlan::Key {
            key,
            signature,
            bundle,
        } => {
            let key_url = url_of(key)?;
            let key_pem = fetch(&key_url, "downloading the cosign key")?;
            let (sig_url, sig) = match (signature, bundle) {
                (Some(s), _) => {
                    let u = url_of(s)?;
                    let sig = fetch(&u, "downloading the cosign signature")?;
                    (u, String::from_utf8_lossy(&sig).into_owned())
                }
                (None, Some(b)) => {
                    let u = url_of(b)?;
                    let bytes = fetch(&u, "downloading the cosign bundle")?;
                    (
                        u,
                        bundle_signature(&bytes).ok_or_else(|| RegistryError::Unverified {
                            what: format!("the cosign bundle of {what}"),
                            message: "holds no signature".into(),
                        })?,
                    )
                }
                (None, None) => {
                    return Err(RegistryError::Unverified {
                        what: format!("the cosign check of {what}"),
                        message: "names no signature".into(),
                    });
                }
            };
            let shown = crate::registry::transfer::url::redact(&key_url);
            let key = crate::trust::PublicKey::from_pem(&String::from_utf8_lossy(&key_pem), &shown)
                .map_err(|e| RegistryError::Unverified {
                    what: format!("the cosign key of {what}"),
                    message: format!("does not read: {e}"),
                })?;
            if !key.verifies(blob, &sig) {
                return Err(RegistryError::Unverified {
                    what: format!(
                        "the cosign signature `{}` of {what}",
                        crate::registry::transfer::url::redact(&sig_url)
                    ),
                    message: format!(
                        "does not verify with the key `{shown}` ({})",
                        crate::trust::keys::short(key.fingerprint())
                    ),
                });
            }
            out.pass("cosign");
            out.signer = Some(key.fingerprint().to_owned());
        }
        CosignPlan::Keyless {
            identity,
            identity_regexp,
            issuer,
            issuer_regexp,
            bundle,
            signature,
            certificate,
        } => {
            let matcher = |s: &str, regexp: bool| {
                if regexp {
                    Matcher::Regexp(s.to_owned())
                } else {
                    Matcher::Exact(s.to_owned())
                }
            };
            let policy = sigstore::Policy {
                identity: matcher(identity, *identity_regexp),
                issuer: (!issuer.is_empty()).then(|| matcher(issuer, *issuer_regexp)),
            };
            let malformed = |e: sigstore::SigstoreError| RegistryError::Unverified {
                what: format!("the keyless cosign signature of {what}"),
                message: format!("does not verify: {e}"),
            };
            let parsed = match (bundle, signature, certificate) {
                (Some(b), _, _) => {
                    let bytes = fetch(&url_of(b)?, "downloading the cosign bundle")?;
                    sigstore::bundle::parse(&bytes).map_err(malformed)?
                }
                (None, Some(s), Some(c)) => {
                    let sig = fetch(&url_of(s)?, "downloading the cosign signature")?;
                    let cert = fetch(&url_of(c)?, "downloading the cosign certificate")?;
                    let sig = base64::engine::general_purpose::STANDARD
                        .decode(String::from_utf8_lossy(&sig).trim())
                        .map_err(|_| {
                            malformed(sigstore::SigstoreError::Malformed(
                                "the signature is not base64".into(),
                            ))
                        })?;
                    sigstore::Bundle {
                        certificate: sigstore::bundle::certificate(&cert).map_err(malformed)?,
                        content: sigstore::Content::Message { signature: sig },
                        entry: None,
                    }
                }
                _ => {
                    return Err(RegistryError::Unverified {
                        what: format!("the keyless cosign check of {what}"),
                        message: "names no bundle, or no signature and certificate".into(),
                    });
                }
            };
            match sigstore::verify(&trusted_root()?, &parsed, blob, &policy).map_err(malformed)? {
                sigstore::Verdict::Verified { .. } => out.pass("cosign-keyless"),
                sigstore::Verdict::Unlogged { reason } => {
                    out.cannot("cosign-keyless");
                    out.notes.push(format!(
                        "the keyless cosign signature of {what} matches its certificate and identity, but is recorded as not checked: {reason}"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// GitHub artifact attestations of `blob`, signed by `workflow`: verified, or recorded as not
/// checked when the entry names no GitHub repository or no attestation has a log entry.
fn attestation_check(
    blob: &[u8],
    what: &str,
    repo: Option<(&str, &str)>,
    workflow: &str,
    fetch: &Fetch<'_>,
    out: &mut Outcome,
) -> Result<(), RegistryError> {
    let Some(repo) = repo else {
        out.cannot("github-attestation");
        return Ok(());
    };
    match super::attest::check(blob, what, repo, workflow, &trusted_root, fetch)? {
        super::attest::Attested::Verified => out.pass("github-attestation"),
        super::attest::Attested::Unlogged => out.cannot("github-attestation"),
    }
    Ok(())
}

/// The Sigstore trusted root: `trust.sigstore-root` from the user configuration, or the
/// built-in public-good root.
fn trusted_root() -> Result<sigstore::TrustedRoot, RegistryError> {
    let config = crate::config::load().map_err(|e| RegistryError::Unverified {
        what: "the user configuration".into(),
        message: format!("does not read: {e}"),
    })?;
    sigstore::TrustedRoot::load(config.trust.sigstore_root.as_deref()).map_err(|e| {
        RegistryError::Unverified {
            what: "the Sigstore trusted root".into(),
            message: e.to_string(),
        }
    })
}

/// The base64 signature of a cosign bundle: `base64Signature` (cosign's own bundle) or
/// `messageSignature.signature` (a Sigstore bundle).
fn bundle_signature(bytes: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    v.get("base64Signature")
        .or_else(|| v.get("messageSignature")?.get("signature"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// Read at most [`MAX_SMALL_BYTES`] of a downloaded small file.
pub fn read_small(path: &Path) -> std::io::Result<Vec<u8>> {
    fs::read_regular(path, MAX_SMALL_BYTES)
}
