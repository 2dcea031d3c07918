//! The transparency-log entry of a bundle: its Signed Entry Timestamp (the log's signature
//! over the canonical JSON of body, integrated time, log id and index), its RFC 6962 inclusion
//! proof and the signed checkpoint of the tree root, and the consistency of its body (a
//! `hashedrekord` or `dsse` entry) with the bundle's signature, certificate and digest.

use base64::Engine;
use sha2::{Digest, Sha256};

use super::bundle::Entry;
use super::error::SigstoreError;
use super::root::{LogKey, TrustedRoot};

/// The log key of `entry`, valid at its integrated time.
fn log_key<'r>(root: &'r TrustedRoot, entry: &Entry) -> Result<&'r LogKey, SigstoreError> {
    root.tlogs
        .iter()
        .find(|l| l.id == entry.log_id && l.valid.contains(entry.integrated_time))
        .ok_or_else(|| {
            SigstoreError::Tlog(format!(
                "the log `{}` is not a transparency log of {} at the entry's time",
                hex::encode(&entry.log_id),
                root.origin
            ))
        })
}

/// The Signed Entry Timestamp verifies with the log's key.
pub fn check_set(root: &TrustedRoot, entry: &Entry, set: &[u8]) -> Result<(), SigstoreError> {
    let key = log_key(root, entry)?;
    // Canonical JSON (RFC 8785) of the four fields: sorted keys, no spaces; every value is
    // an integer or a base64/hex string, which JSON writes one way only.
    let body = base64::engine::general_purpose::STANDARD.encode(&entry.body);
    let payload = format!(
        "{{\"body\":\"{body}\",\"integratedTime\":{},\"logID\":\"{}\",\"logIndex\":{}}}",
        entry.integrated_time,
        hex::encode(&entry.log_id),
        entry.log_index
    );
    if super::error::verify_raw(&key.spki, payload.as_bytes(), set) {
        Ok(())
    } else {
        Err(SigstoreError::Tlog(
            "the signed entry timestamp does not verify with the log's key".into(),
        ))
    }
}

fn node(left: &[u8], right: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().to_vec()
}

/// The root an inclusion proof gives for `leaf` (RFC 9162 §2.1.3.2).
fn proof_root(index: u64, size: u64, leaf: Vec<u8>, hashes: &[Vec<u8>]) -> Option<Vec<u8>> {
    if index >= size {
        return None;
    }
    let (mut fnode, mut snode, mut r) = (index, size - 1, leaf);
    for p in hashes {
        if snode == 0 {
            return None;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    (snode == 0).then_some(r)
}

/// The inclusion proof leads to its root hash, and the checkpoint signs that root.
pub fn check_proof(root: &TrustedRoot, entry: &Entry) -> Result<(), SigstoreError> {
    let Some(p) = &entry.proof else {
        return Ok(());
    };
    let bad = |m: &str| SigstoreError::Tlog(m.to_owned());
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(&entry.body);
    let leaf = h.finalize().to_vec();
    let computed = proof_root(p.log_index, p.tree_size, leaf, &p.hashes)
        .ok_or_else(|| bad("the inclusion proof does not read"))?;
    if computed != p.root_hash {
        return Err(bad("the inclusion proof does not lead to its root hash"));
    }
    // The checkpoint: a signed note whose text is origin, tree size and root hash.
    let (text, sigs) = p
        .checkpoint
        .split_once("\n\n")
        .ok_or_else(|| bad("the checkpoint does not read"))?;
    let text = format!("{text}\n");
    let mut lines = text.lines();
    let (_origin, size, hash) = (lines.next(), lines.next(), lines.next());
    if size.and_then(|s| s.parse::<u64>().ok()) != Some(p.tree_size)
        || hash.and_then(|h| base64::engine::general_purpose::STANDARD.decode(h).ok())
            != Some(p.root_hash.clone())
    {
        return Err(bad("the checkpoint is not of the proof's tree"));
    }
    let key = log_key(root, entry)?;
    for line in sigs.lines() {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            continue;
        };
        let Some((_name, sig)) = rest.rsplit_once(' ') else {
            continue;
        };
        let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(sig) else {
            continue;
        };
        if sig.len() > 4
            && sig[..4] == key.id[..4]
            && super::error::verify_raw(&key.spki, text.as_bytes(), &sig[4..])
        {
            return Ok(());
        }
    }
    Err(bad("the checkpoint is not signed by the log's key"))
}

/// What the log entry must agree with.
pub struct Expect<'a> {
    pub certificate: &'a [u8],
    pub signature: &'a [u8],
    /// `hashedrekord`: the artifact's SHA-256; `dsse`: the payload's.
    pub digest: &'a [u8],
    pub dsse: bool,
}

/// The entry's body names this signature, certificate and digest.
pub fn check_body(entry: &Entry, want: &Expect<'_>) -> Result<(), SigstoreError> {
    let bad = |m: &str| SigstoreError::Tlog(format!("the log entry {m}"));
    let v: serde_json::Value =
        serde_json::from_slice(&entry.body).map_err(|_| bad("does not read"))?;
    let at = |path: &[&str]| -> Option<String> {
        path.iter()
            .try_fold(&v, |v, k| v.get(k))?
            .as_str()
            .map(str::to_owned)
    };
    let b64 = |s: Option<String>| -> Option<Vec<u8>> {
        base64::engine::general_purpose::STANDARD
            .decode(s?.trim())
            .ok()
    };
    let same_cert = |s: Option<Vec<u8>>| {
        s.and_then(|pem| super::bundle::certificate(&pem).ok())
            .is_some_and(|der| der == want.certificate)
    };
    let kind = at(&["kind"]).unwrap_or_default();
    match (kind.as_str(), want.dsse) {
        ("hashedrekord", false) => {
            if at(&["spec", "data", "hash", "algorithm"]).as_deref() != Some("sha256")
                || at(&["spec", "data", "hash", "value"]) != Some(hex::encode(want.digest))
            {
                return Err(bad("is for another artifact"));
            }
            if b64(at(&["spec", "signature", "content"])).as_deref() != Some(want.signature) {
                return Err(bad("holds another signature"));
            }
            if !same_cert(b64(at(&["spec", "signature", "publicKey", "content"]))) {
                return Err(bad("holds another certificate"));
            }
        }
        ("dsse", true) => {
            if at(&["spec", "payloadHash", "algorithm"]).as_deref() != Some("sha256")
                || at(&["spec", "payloadHash", "value"]) != Some(hex::encode(want.digest))
            {
                return Err(bad("is for another payload"));
            }
            let sigs = v["spec"]["signatures"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let matches = sigs.iter().any(|s| {
                let get = |k: &str| s.get(k).and_then(|v| v.as_str()).map(str::to_owned);
                b64(get("signature")).as_deref() == Some(want.signature)
                    && same_cert(b64(get("verifier")))
            });
            if !matches {
                return Err(bad("holds another signature or certificate"));
            }
        }
        (other, _) => {
            return Err(bad(&format!(
                "is of the kind `{other}`, which aibox does not read"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(i: u8) -> Vec<u8> {
        let mut h = Sha256::new();
        h.update([0u8, i]);
        h.finalize().to_vec()
    }

    #[test]
    fn inclusion_proofs_lead_to_the_tree_root() {
        // A tree of five leaves: ((0 1)(2 3)) 4.
        let l: Vec<_> = (0..5).map(leaf).collect();
        let n01 = node(&l[0], &l[1]);
        let n23 = node(&l[2], &l[3]);
        let n0123 = node(&n01, &n23);
        let root = node(&n0123, &l[4]);
        assert_eq!(
            proof_root(
                2,
                5,
                l[2].clone(),
                &[l[3].clone(), n01.clone(), l[4].clone()]
            ),
            Some(root.clone())
        );
        assert_eq!(
            proof_root(4, 5, l[4].clone(), std::slice::from_ref(&n0123)),
            Some(root.clone())
        );
        assert_ne!(
            proof_root(4, 5, l[3].clone(), std::slice::from_ref(&n0123)),
            Some(root.clone())
        );
        assert_eq!(proof_root(5, 5, l[4].clone(), &[n0123]), None);
    }
}
