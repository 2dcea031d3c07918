//! Signing keys in cosign's formats, through the `sigstore` crate: EC P-256 key pairs, private
//! keys encrypted as `ENCRYPTED SIGSTORE PRIVATE KEY` (scrypt + NaCl secretbox; cosign's
//! `ENCRYPTED COSIGN PRIVATE KEY` loads too), public keys as PEM `PUBLIC KEY`. A key is named by
//! its fingerprint: `sha256:` and the hex SHA-256 of its SubjectPublicKeyInfo DER.

use std::path::Path;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use sigstore::crypto::signing_key::SigStoreKeyPair;
use sigstore::crypto::signing_key::ecdsa::{ECDSAKeys, EllipticCurve};
use sigstore::crypto::{CosignVerificationKey, SigStoreSigner, SigningScheme};
use zeroize::Zeroizing;

use super::TrustError;
use crate::fs;

/// Largest key file read.
const MAX_KEY_BYTES: u64 = 64 << 10;

/// A public key that can verify signatures.
#[derive(Clone)]
pub struct PublicKey {
    pem: String,
    fingerprint: String,
    key: std::sync::Arc<CosignVerificationKey>,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.fingerprint)
    }
}

impl PublicKey {
    /// Parse a PEM `PUBLIC KEY` (an EC P-256 key, as cosign makes).
    pub fn from_pem(text: &str, origin: &str) -> Result<PublicKey, TrustError> {
        let bad = |reason: String| TrustError::BadKey {
            origin: origin.into(),
            reason,
        };
        let block = pem::parse(text).map_err(|e| bad(format!("not a PEM file: {e}")))?;
        if block.tag() != "PUBLIC KEY" {
            return Err(bad(format!(
                "a `{}` PEM block, not a `PUBLIC KEY`",
                block.tag()
            )));
        }
        let key = CosignVerificationKey::from_der(
            block.contents(),
            &SigningScheme::ECDSA_P256_SHA256_ASN1,
        )
        .map_err(|e| bad(format!("not an EC P-256 public key: {e}")))?;
        Ok(PublicKey {
            pem: pem_lf("PUBLIC KEY", block.contents()),
            fingerprint: fingerprint(block.contents()),
            key: std::sync::Arc::new(key),
        })
    }

    /// Read a public key file.
    pub fn load(path: &Path) -> Result<PublicKey, TrustError> {
        let text =
            fs::read_regular_string(path, MAX_KEY_BYTES).map_err(|source| TrustError::Io {
                context: format!("cannot read the key `{}`", path.display()),
                source,
            })?;
        PublicKey::from_pem(&text, &path.display().to_string())
    }

    /// `sha256:<hex>` of the key's DER.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The PEM text (normalized).
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// Whether `signature` (standard base64 of a DER ECDSA signature) signs `payload`.
    pub fn verifies(&self, payload: &[u8], signature: &str) -> bool {
        let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
            return false;
        };
        self.key
            .verify_signature(sigstore::crypto::Signature::Raw(&raw), payload)
            .is_ok()
    }
}

/// PEM text with `\n` line ends, as cosign writes it.
fn pem_lf(tag: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(tag, der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// `sha256:<hex>` of a public key's DER.
pub fn fingerprint(der: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(der)))
}

/// The first 12 hex digits of a fingerprint, for people.
pub fn short(fingerprint: &str) -> &str {
    let hex = fingerprint.strip_prefix("sha256:").unwrap_or(fingerprint);
    &hex[..hex.len().min(12)]
}

/// A private key, loaded and decrypted.
pub struct SigningKey {
    signer: SigStoreSigner,
    public: PublicKey,
}

impl SigningKey {
    /// Load and decrypt a private key file with `password`.
    pub fn load(path: &Path, password: &[u8]) -> Result<SigningKey, TrustError> {
        let shown = path.display().to_string();
        let text = fs::read_regular(path, MAX_KEY_BYTES).map_err(|source| TrustError::Io {
            context: format!("cannot read the key `{shown}`"),
            source,
        })?;
        // The library's error for a wrong password reads "Failed to encrypt…": tell a key that
        // does not decrypt from a file that is no encrypted key at all.
        let encrypted = pem::parse(&text).is_ok_and(|p| {
            p.tag().ends_with("ENCRYPTED SIGSTORE PRIVATE KEY")
                || p.tag() == "ENCRYPTED COSIGN PRIVATE KEY"
        });
        if !encrypted {
            return Err(TrustError::BadKey {
                origin: shown,
                reason: "it is not an encrypted private key (`ENCRYPTED SIGSTORE PRIVATE KEY` PEM, as `aibox keygen` and cosign write)".into(),
            });
        }
        let keys = ECDSAKeys::from_encrypted_pem(&text, password)
            .map_err(|_| TrustError::WrongPassword { key: shown.clone() })?;
        let pair = SigStoreKeyPair::ECDSA(keys);
        let der = pair.public_key_to_der().map_err(|e| TrustError::BadKey {
            origin: shown.clone(),
            reason: e.to_string(),
        })?;
        let public = PublicKey::from_pem(&pem_lf("PUBLIC KEY", &der), &shown)?;
        let signer = pair
            .to_sigstore_signer(&SigningScheme::ECDSA_P256_SHA256_ASN1)
            .map_err(|e| TrustError::BadKey {
                origin: shown,
                reason: format!("not an EC P-256 key: {e}"),
            })?;
        Ok(SigningKey { signer, public })
    }

    /// Sign `payload`: standard base64 of the DER ECDSA P-256/SHA-256 signature.
    pub fn sign(&self, payload: &[u8]) -> Result<String, TrustError> {
        let raw = self
            .signer
            .sign(payload)
            .map_err(|e| TrustError::Other(format!("signing failed: {e}")))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(raw))
    }

    pub fn public(&self) -> &PublicKey {
        &self.public
    }
}

/// A new key pair: the encrypted private key PEM and the public key PEM.
pub fn generate(password: &[u8]) -> Result<(Zeroizing<String>, String), TrustError> {
    let keys = ECDSAKeys::new(EllipticCurve::P256)
        .map_err(|e| TrustError::Other(format!("cannot make a key: {e}")))?;
    let pair = SigStoreKeyPair::ECDSA(keys);
    let private = pair
        .private_key_to_encrypted_pem(password)
        .map_err(|e| TrustError::Other(format!("cannot encrypt the key: {e}")))?;
    let public = pair
        .public_key_to_pem()
        .map_err(|e| TrustError::Other(format!("cannot write the public key: {e}")))?;
    // cosign writes `\n` line ends; the PEM writer underneath uses `\r\n`.
    let private = Zeroizing::new(private.replace("\r\n", "\n"));
    Ok((private, public.replace("\r\n", "\n")))
}

/// What a password is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordUse {
    /// Decrypting an existing key.
    Unlock,
    /// Encrypting a new key (asked twice on a terminal).
    New,
}

/// The key password: `AIBOX_PASSWORD`, else `COSIGN_PASSWORD` (as cosign reads it), else asked
/// on the terminal. Without a terminal and without either variable, an error says what to set.
pub fn password(what: PasswordUse, key: &Path) -> Result<Zeroizing<String>, TrustError> {
    for var in [crate::env_vars::PASSWORD, "COSIGN_PASSWORD"] {
        if let Ok(p) = crate::env_vars::var(var) {
            return Ok(Zeroizing::new(p));
        }
    }
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Err(TrustError::NoPassword {
            key: key.display().to_string(),
        });
    }
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map(Zeroizing::new)
            .map_err(|source| TrustError::Io {
                context: "cannot read the password".into(),
                source,
            })
    };
    let first = ask(&format!("Password for `{}`: ", key.display()))?;
    if what == PasswordUse::New {
        let again = ask("Again: ")?;
        if *again != *first {
            return Err(TrustError::Other("the two passwords differ".into()));
        }
    }
    Ok(first)
}
