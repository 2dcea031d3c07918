//! Why a Sigstore verification fails, and the one signature primitive every check uses.

/// Why a bundle does not verify, by the check that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigstoreError {
    #[error("the trusted root {origin} cannot be used: {reason}")]
    Root { origin: String, reason: String },
    #[error("{0}")]
    Malformed(String),
    #[error("certificate chain: {0}")]
    Chain(String),
    #[error("certificate transparency: {0}")]
    Sct(String),
    #[error("identity: {0}")]
    Identity(String),
    #[error("signature: {0}")]
    Signature(String),
    #[error("transparency log: {0}")]
    Tlog(String),
}

/// Whether `sig` by the key `spki` (DER SubjectPublicKeyInfo) signs `msg`.
pub fn verify_raw(spki: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    ::sigstore::crypto::CosignVerificationKey::try_from_der(spki)
        .and_then(|k| k.verify_signature(::sigstore::crypto::Signature::Raw(sig), msg))
        .is_ok()
}
