//! GitHub artifact attestations of a downloaded file: the Sigstore bundles GitHub's API holds
//! for its SHA-256 (`GET /repos/{owner}/{repo}/attestations/sha256:{hex}`, answering
//! `{"attestations": [{"bundle": {…}}]}`), each a DSSE envelope whose in-toto statement names
//! that digest, signed by a Fulcio certificate for the entry's signer workflow
//! (`https://github.com/<signer_workflow>@<ref>`, issued on a GitHub Actions token). They are
//! verified offline against the Sigstore trusted root ([`crate::trust::sigstore`]); GitHub is
//! only where they are found.

use sha2::Digest;

use crate::registry::RegistryError;
use crate::trust::sigstore::{self, Matcher};

/// The OIDC issuer of GitHub Actions' tokens.
const GITHUB_ACTIONS: &str = "https://token.actions.githubusercontent.com";
/// The most attestations read for one file.
const MAX_ATTESTATIONS: usize = 32;

/// Download `url` and return its bytes (small files: checksums, keys, signatures,
/// attestations); the second argument says what is downloaded.
pub type Fetch<'a> = dyn Fn(&str, &str) -> Result<Vec<u8>, RegistryError> + 'a;

/// What the attestations of a file established.
pub enum Attested {
    /// One verified, with its log entry.
    Verified,
    /// One verified but has no log entry to date it: not passed.
    Unlogged,
}

/// Check the attestations of `blob` (what `what` names) in `owner/repo`, signed by
/// `workflow` (a path such as `owner/repo/.github/workflows/release.yml`; empty: any workflow
/// of the repository).
pub fn check(
    blob: &[u8],
    what: &str,
    repo: (&str, &str),
    workflow: &str,
    root: &dyn Fn() -> Result<sigstore::TrustedRoot, RegistryError>,
    fetch: &Fetch<'_>,
) -> Result<Attested, RegistryError> {
    let (owner, name) = repo;
    let digest = hex::encode(sha2::Sha256::digest(blob));
    let url = format!(
        "{}/repos/{owner}/{name}/attestations/sha256:{digest}",
        super::checkout::github_api()
    );
    let failed = |message: String| RegistryError::Unverified {
        what: format!("the GitHub artifact attestations of {what}"),
        message,
    };
    // GitHub answers 404 for a digest it holds no attestation of.
    let bytes = match fetch(&url, "downloading the GitHub artifact attestations") {
        Err(RegistryError::Remote { message, .. }) if message.starts_with("HTTP 404") => {
            return Err(failed(format!(
                "are missing: GitHub holds none for sha256:{digest}"
            )));
        }
        other => other?,
    };
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| failed(format!("do not read: {e}")))?;
    let list = v["attestations"]
        .as_array()
        .ok_or_else(|| failed("do not read: no `attestations` list".into()))?;
    if list.is_empty() {
        return Err(failed(format!(
            "are missing: GitHub holds none for sha256:{digest}"
        )));
    }
    let prefix = if workflow.is_empty() {
        format!("{owner}/{name}/")
    } else {
        format!("{workflow}@")
    };
    let policy = sigstore::Policy {
        identity: Matcher::Regexp(format!("^https://github\\.com/{}", regex::escape(&prefix))),
        issuer: Some(Matcher::Exact(GITHUB_ACTIONS.into())),
    };
    let root = root()?;
    let mut first_error = None;
    let mut unlogged = false;
    for a in list.iter().take(MAX_ATTESTATIONS) {
        let bundle = serde_json::to_vec(&a["bundle"]).unwrap_or_default();
        let verdict = sigstore::bundle::parse(&bundle)
            .and_then(|b| sigstore::verify(&root, &b, blob, &policy));
        match verdict {
            Ok(sigstore::Verdict::Verified { .. }) => return Ok(Attested::Verified),
            Ok(sigstore::Verdict::Unlogged { .. }) => unlogged = true,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if unlogged {
        return Ok(Attested::Unlogged);
    }
    Err(failed(format!(
        "do not verify: {}",
        first_error.map_or_else(|| "none was read".into(), |e| e.to_string())
    )))
}
