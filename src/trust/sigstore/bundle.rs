//! The bundle formats read: the Sigstore bundle (v0.1 to v0.3 JSON, a message signature or a
//! DSSE envelope) and cosign's own `--bundle` file (`base64Signature`, `cert`, `rekorBundle`),
//! both brought to one [`Bundle`]; and a bare signature with its certificate.

use base64::Engine;
use serde::Deserialize;

use super::error::SigstoreError;

/// The largest bundle, signature or certificate read.
pub const MAX_BUNDLE_BYTES: usize = 1 << 20;

/// What was signed.
#[derive(Debug, Clone)]
pub enum Content {
    /// A signature over the artifact itself.
    Message { signature: Vec<u8> },
    /// A DSSE envelope (an in-toto statement naming the artifact's digest).
    Dsse {
        payload_type: String,
        payload: Vec<u8>,
        signature: Vec<u8>,
    },
}

/// A transparency-log entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub log_index: u64,
    /// The log's id (SHA-256 of its key).
    pub log_id: Vec<u8>,
    pub integrated_time: u64,
    /// The entry's canonical body (JSON).
    pub body: Vec<u8>,
    /// The Signed Entry Timestamp.
    pub set: Option<Vec<u8>>,
    pub proof: Option<Proof>,
}

/// An inclusion proof and the checkpoint that signs its root.
#[derive(Debug, Clone)]
pub struct Proof {
    pub log_index: u64,
    pub tree_size: u64,
    pub root_hash: Vec<u8>,
    pub hashes: Vec<Vec<u8>>,
    pub checkpoint: String,
}

/// A bundle, whatever its format.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The signing certificate (DER).
    pub certificate: Vec<u8>,
    pub content: Content,
    pub entry: Option<Entry>,
}

fn b64(s: &str, what: &str) -> Result<Vec<u8>, SigstoreError> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|_| SigstoreError::Malformed(format!("{what} is not base64")))
}

fn number(v: &serde_json::Value, what: &str) -> Result<u64, SigstoreError> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .ok_or_else(|| SigstoreError::Malformed(format!("{what} is not a number")))
}

/// A certificate given as PEM or DER (PEM possibly base64-wrapped, as cosign writes it).
pub fn certificate(bytes: &[u8]) -> Result<Vec<u8>, SigstoreError> {
    let text = String::from_utf8_lossy(bytes);
    if text.contains("-----BEGIN CERTIFICATE-----") {
        return pem::parse(text.trim().as_bytes())
            .map(|p| p.into_contents())
            .map_err(|e| SigstoreError::Malformed(format!("the certificate does not read: {e}")));
    }
    if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(text.trim())
        && decoded.starts_with(b"-----BEGIN")
    {
        return certificate(&decoded);
    }
    if bytes.first() == Some(&0x30) {
        return Ok(bytes.to_vec());
    }
    Err(SigstoreError::Malformed(
        "the certificate is neither PEM nor DER".into(),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Legacy {
    base64_signature: String,
    cert: String,
    rekor_bundle: Option<LegacyRekor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LegacyRekor {
    signed_entry_timestamp: String,
    payload: LegacyPayload,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegacyPayload {
    body: String,
    integrated_time: serde_json::Value,
    log_index: serde_json::Value,
    #[serde(rename = "logID")]
    log_id: String,
}

/// Read a bundle file: a Sigstore bundle or cosign's own.
pub fn parse(bytes: &[u8]) -> Result<Bundle, SigstoreError> {
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(SigstoreError::Malformed(format!(
            "the bundle is larger than {MAX_BUNDLE_BYTES} bytes"
        )));
    }
    let v: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| SigstoreError::Malformed(format!("the bundle does not read: {e}")))?;
    if v.get("mediaType").is_some() {
        return sigstore_bundle(&v);
    }
    let l: Legacy = serde_json::from_value(v)
        .map_err(|e| SigstoreError::Malformed(format!("the cosign bundle does not read: {e}")))?;
    let entry = l
        .rekor_bundle
        .map(|r| -> Result<Entry, SigstoreError> {
            Ok(Entry {
                log_index: number(&r.payload.log_index, "the log index")?,
                log_id: hex::decode(&r.payload.log_id)
                    .map_err(|_| SigstoreError::Malformed("the log id is not hex".into()))?,
                integrated_time: number(&r.payload.integrated_time, "the integrated time")?,
                body: b64(&r.payload.body, "the log entry body")?,
                set: Some(b64(
                    &r.signed_entry_timestamp,
                    "the signed entry timestamp",
                )?),
                proof: None,
            })
        })
        .transpose()?;
    Ok(Bundle {
        certificate: certificate(&b64(&l.cert, "the certificate")?)?,
        content: Content::Message {
            signature: b64(&l.base64_signature, "the signature")?,
        },
        entry,
    })
}

fn str_at<'a>(v: &'a serde_json::Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

/// A Sigstore bundle (`application/vnd.dev.sigstore.bundle…`, v0.1 to v0.3).
fn sigstore_bundle(v: &serde_json::Value) -> Result<Bundle, SigstoreError> {
    let media = v["mediaType"].as_str().unwrap_or_default();
    if !media.starts_with("application/vnd.dev.sigstore.bundle") {
        return Err(SigstoreError::Malformed(format!(
            "the bundle has the media type `{media}`"
        )));
    }
    let m = &v["verificationMaterial"];
    let cert = str_at(m, &["certificate", "rawBytes"])
        .or_else(|| {
            m.get("x509CertificateChain")?
                .get("certificates")?
                .get(0)?
                .get("rawBytes")?
                .as_str()
        })
        .ok_or_else(|| {
            SigstoreError::Malformed("the bundle holds no certificate (a key-signed bundle)".into())
        })?;
    let content = if let Some(s) = v.get("messageSignature") {
        Content::Message {
            signature: b64(
                str_at(s, &["signature"]).unwrap_or_default(),
                "the signature",
            )?,
        }
    } else if let Some(d) = v.get("dsseEnvelope") {
        let sigs = d["signatures"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let [sig] = sigs else {
            return Err(SigstoreError::Malformed(format!(
                "the DSSE envelope holds {} signatures, not one",
                sigs.len()
            )));
        };
        Content::Dsse {
            payload_type: str_at(d, &["payloadType"]).unwrap_or_default().to_owned(),
            payload: b64(str_at(d, &["payload"]).unwrap_or_default(), "the payload")?,
            signature: b64(str_at(sig, &["sig"]).unwrap_or_default(), "the signature")?,
        }
    } else {
        return Err(SigstoreError::Malformed(
            "the bundle holds neither a message signature nor a DSSE envelope".into(),
        ));
    };
    let entries = m["tlogEntries"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if entries.len() > 1 {
        return Err(SigstoreError::Malformed(format!(
            "the bundle holds {} transparency-log entries, not one",
            entries.len()
        )));
    }
    let entry = entries
        .first()
        .map(|e| -> Result<Entry, SigstoreError> {
            let proof = e
                .get("inclusionProof")
                .map(|p| -> Result<Proof, SigstoreError> {
                    Ok(Proof {
                        log_index: number(&p["logIndex"], "the proof's log index")?,
                        tree_size: number(&p["treeSize"], "the tree size")?,
                        root_hash: b64(
                            p["rootHash"].as_str().unwrap_or_default(),
                            "the root hash",
                        )?,
                        hashes: p["hashes"]
                            .as_array()
                            .map(Vec::as_slice)
                            .unwrap_or(&[])
                            .iter()
                            .map(|h| b64(h.as_str().unwrap_or_default(), "a proof hash"))
                            .collect::<Result<_, _>>()?,
                        checkpoint: str_at(p, &["checkpoint", "envelope"])
                            .ok_or_else(|| {
                                SigstoreError::Malformed(
                                    "the inclusion proof has no checkpoint".into(),
                                )
                            })?
                            .to_owned(),
                    })
                })
                .transpose()?;
            Ok(Entry {
                log_index: number(&e["logIndex"], "the log index")?,
                log_id: b64(
                    str_at(e, &["logId", "keyId"]).unwrap_or_default(),
                    "the log id",
                )?,
                integrated_time: number(&e["integratedTime"], "the integrated time")?,
                body: b64(
                    e["canonicalizedBody"].as_str().unwrap_or_default(),
                    "the log entry body",
                )?,
                set: str_at(e, &["inclusionPromise", "signedEntryTimestamp"])
                    .map(|s| b64(s, "the signed entry timestamp"))
                    .transpose()?,
                proof,
            })
        })
        .transpose()?;
    Ok(Bundle {
        certificate: b64(cert, "the certificate")?,
        content,
        entry,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn malformed(bytes: &[u8]) -> String {
        match parse(bytes) {
            Err(SigstoreError::Malformed(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hostile_bundles_are_refused_by_what_is_wrong() {
        assert!(malformed(&vec![b' '; MAX_BUNDLE_BYTES + 1]).contains("larger than"));
        assert!(malformed(b"{").contains("does not read"));
        // Deeper than the JSON reader goes.
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(malformed(deep.as_bytes()).contains("does not read"));
        assert!(
            malformed(br#"{"base64Signature":"!!","cert":"!!","rekorBundle":null}"#)
                .contains("not base64")
        );
        assert!(
            malformed(br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"k"}},"messageSignature":{"signature":""}}"#)
                .contains("no certificate")
        );
        assert!(malformed(br#"{"mediaType":"application/json"}"#).contains("media type"));
        let two = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"certificate":{"rawBytes":"MA=="},"tlogEntries":[{},{}]},"messageSignature":{"signature":"MA=="}}"#;
        assert!(malformed(two).contains("2 transparency-log entries"));
        let sigs = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"certificate":{"rawBytes":"MA=="}},"dsseEnvelope":{"payload":"","payloadType":"x","signatures":[]}}"#;
        assert!(malformed(sigs).contains("0 signatures"));
    }

    #[test]
    fn certificates_read_as_pem_base64_pem_or_der() {
        let der = vec![0x30, 0x03, 0x02, 0x01, 0x01];
        let pem = pem::encode(&pem::Pem::new("CERTIFICATE", der.clone()));
        assert_eq!(certificate(pem.as_bytes()).unwrap(), der);
        let wrapped = base64::engine::general_purpose::STANDARD.encode(&pem);
        assert_eq!(certificate(wrapped.as_bytes()).unwrap(), der);
        assert_eq!(certificate(&der).unwrap(), der);
        assert!(certificate(b"not a certificate").is_err());
    }
}
