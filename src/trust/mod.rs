//! Trust: cosign-compatible, key-based, offline signatures (`keys`), offline verification of
//! keyless Sigstore bundles against a trusted root (`sigstore`) and the policy that decides
//! what may enter a generation (`policy`). Signatures themselves are data
//! ([`crate::signature`]); the registry fetches and pushes them, the store keeps them.

pub mod keys;
pub mod policy;
pub mod sigstore;

pub use keys::{PublicKey, SigningKey};
pub use policy::{Level, Policy, Subject, TrustedKey, Verdict};

/// What can go wrong with keys, signatures and policy.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the key `{origin}` cannot be used: {reason}")]
    BadKey { origin: String, reason: String },
    #[error("wrong password for the key `{key}`")]
    WrongPassword { key: String },
    #[error("no password for the key `{key}`")]
    NoPassword { key: String },
    #[error("refusing `{pack}` from `{source_url}`: {reason}")]
    Refused {
        pack: String,
        source_url: String,
        reason: String,
        hint: String,
    },
    #[error(
        "`{pack}` from `{source_url}` was locked as signed by {}, but it is now signed by {} instead",
        keys::short(.locked), keys::short(.now)
    )]
    SignerChanged {
        pack: String,
        source_url: String,
        locked: String,
        now: String,
        name: String,
    },
    #[error("{0}")]
    Other(String),
}

impl crate::error::Hint for TrustError {
    fn hints(&self) -> Vec<String> {
        match self {
            TrustError::WrongPassword { .. } => vec![
                "check `AIBOX_PASSWORD` (or `COSIGN_PASSWORD`), or unset it to be asked on a terminal".into(),
            ],
            TrustError::NoPassword { .. } => vec![
                "set `AIBOX_PASSWORD` (or `COSIGN_PASSWORD`), or run the command on a terminal to be asked".into(),
            ],
            TrustError::Refused { hint, .. } => vec![hint.clone()],
            TrustError::SignerChanged { name, locked, now, .. } => vec![
                format!("both keys are trusted, but a pack's signer changes only deliberately: check with the publisher that {} replaced {}, then accept it with `aibox lock --upgrade-package {name}`", keys::short(now), keys::short(locked)),
            ],
            _ => Vec::new(),
        }
    }

    fn exit_code(&self) -> i32 {
        match self {
            TrustError::Refused { .. } | TrustError::SignerChanged { .. } => {
                crate::error::exit::POLICY
            }
            _ => crate::error::exit::FAILURE,
        }
    }
}
