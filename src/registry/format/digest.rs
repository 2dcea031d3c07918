//! One streaming digest check: bytes are checked against a descriptor's SHA-256 and size as
//! they pass — never more bytes than it says, and at the end exactly its size and digest —
//! wherever they come from (a registry's stream, a file of an OCI layout, a staging copy).

use sha2::{Digest as _, Sha256};

use crate::registry::RegistryError;
use crate::registry::format::artifact::digest_hex;

/// The running check of one blob.
pub struct DigestCheck {
    digest: String,
    hex: String,
    /// The size the descriptor gives, when there is one.
    size: Option<u64>,
    what: String,
    sha: Sha256,
    seen: u64,
}

impl DigestCheck {
    /// A check of the blob `digest` (sha256 only) of `size` bytes, when known; `what` names
    /// it in errors.
    pub fn new(digest: &str, size: Option<u64>, what: &str) -> Result<DigestCheck, RegistryError> {
        Ok(DigestCheck {
            hex: digest_hex(digest)?.to_owned(),
            digest: digest.to_owned(),
            size,
            what: what.to_owned(),
            sha: Sha256::new(),
            seen: 0,
        })
    }

    /// How many bytes have passed.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// Start again from the first byte (a download that starts over).
    pub fn restart(&mut self) {
        self.sha = Sha256::new();
        self.seen = 0;
    }

    /// Check the next bytes: more than the descriptor's size is a mismatch at once.
    pub fn update(&mut self, bytes: &[u8]) -> Result<(), RegistryError> {
        self.seen += bytes.len() as u64;
        if let Some(size) = self.size
            && self.seen > size
        {
            return Err(self.mismatch(format!("more than the {size} bytes its descriptor says")));
        }
        self.sha.update(bytes);
        Ok(())
    }

    /// The end: exactly the descriptor's size, and its digest.
    pub fn finish(self) -> Result<(), RegistryError> {
        let got = hex::encode(self.sha.clone().finalize());
        if self.size.is_some_and(|s| s != self.seen) || got != self.hex {
            let actual = format!("sha256:{got} ({} bytes)", self.seen);
            return Err(self.mismatch(actual));
        }
        Ok(())
    }

    fn mismatch(&self, actual: String) -> RegistryError {
        RegistryError::DigestMismatch {
            what: self.what.clone(),
            digest: self.digest.clone(),
            actual,
        }
    }
}

/// Refuse downloaded bytes whose SHA-256 (`actual`, `sha256:<hex>`) is not the one the lock
/// pins (`pinned`; nothing pinned: anything goes). `what` names the download, for the error.
pub fn check_pinned(
    pinned: Option<&str>,
    actual: &str,
    what: impl FnOnce() -> String,
) -> Result<(), RegistryError> {
    match pinned {
        Some(p) if p != actual => Err(RegistryError::DigestMismatch {
            what: what(),
            digest: p.to_owned(),
            actual: actual.to_owned(),
        }),
        _ => Ok(()),
    }
}

/// Check bytes held whole (a manifest, a small blob).
pub fn check_bytes(digest: &str, bytes: &[u8], what: &str) -> Result<(), RegistryError> {
    let mut check = DigestCheck::new(digest, None, what)?;
    check.update(bytes)?;
    check.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(bytes: &[u8]) -> String {
        crate::registry::format::artifact::sha256_digest(bytes)
    }

    #[test]
    fn passes_the_right_bytes_in_any_pieces() {
        let d = digest(b"hello world");
        let mut c = DigestCheck::new(&d, Some(11), "blob").unwrap();
        c.update(b"hello").unwrap();
        c.update(b" world").unwrap();
        assert_eq!(c.seen(), 11);
        c.finish().unwrap();
        check_bytes(&d, b"hello world", "blob").unwrap();
    }

    #[test]
    fn refuses_too_many_too_few_or_other_bytes() {
        let d = digest(b"hello");
        let mut c = DigestCheck::new(&d, Some(5), "blob").unwrap();
        assert!(matches!(
            c.update(b"hello!"),
            Err(RegistryError::DigestMismatch { .. })
        ));
        let mut c = DigestCheck::new(&d, Some(5), "blob").unwrap();
        c.update(b"hell").unwrap();
        assert!(c.finish().is_err());
        let mut c = DigestCheck::new(&d, Some(5), "blob").unwrap();
        c.update(b"jello").unwrap();
        let e = c.finish().unwrap_err().to_string();
        assert!(e.contains("blob"), "{e}");
        assert!(check_bytes(&d, b"jello", "blob").is_err());
        let mut c = DigestCheck::new(&d, Some(5), "blob").unwrap();
        c.update(b"xx").unwrap();
        c.restart();
        c.update(b"hello").unwrap();
        c.finish().unwrap();
        assert!(DigestCheck::new("md5:abc", None, "blob").is_err());
    }
}
