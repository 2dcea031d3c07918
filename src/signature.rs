//! cosign's signature format, as data (store-format/ARTIFACT.md §8): the simple-signing payload
//! that names the signed manifest digest, the `sha256-<hex>.sig` tag of the signature manifest,
//! its layers (one payload each, the base64 signature in an annotation) and its config. No I/O
//! and no cryptography here: the registry moves these, the store keeps them, trust verifies
//! them.

use serde::{Deserialize, Serialize};

/// Media type of a signature layer (a simple-signing payload).
pub const SIMPLESIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The layer annotation holding the base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The payload's `critical.type`.
pub const PAYLOAD_TYPE: &str = "cosign container image signature";
/// Media type of the signature manifest's config (an empty image config).
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
/// Largest payload accepted.
pub const MAX_PAYLOAD_BYTES: u64 = 64 << 10;
/// Most signatures read for one digest.
pub const MAX_SIGNATURES: usize = 64;

/// One signature: the payload that was signed and the base64 signature over it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The simple-signing payload, as signed (base64 in JSON).
    #[serde(with = "b64")]
    pub payload: Vec<u8>,
    /// The signature, standard base64 of the ASN.1 DER ECDSA signature.
    pub signature: String,
}

mod b64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

/// The tag of the signature manifest for `digest` (`sha256:<hex>` → `sha256-<hex>.sig`).
pub fn tag(digest: &str) -> String {
    format!("{}.sig", digest.replacen(':', "-", 1))
}

#[derive(Serialize, Deserialize)]
struct Payload {
    critical: Critical,
    optional: Option<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
struct Critical {
    identity: Identity,
    image: Image,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize, Deserialize)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Serialize, Deserialize)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

/// The simple-signing payload cosign signs for `digest` of repository `reference`
/// (`host/repo`), byte for byte as cosign writes it.
pub fn payload(reference: &str, digest: &str) -> Vec<u8> {
    serde_json::to_vec(&Payload {
        critical: Critical {
            identity: Identity {
                docker_reference: reference.to_owned(),
            },
            image: Image {
                docker_manifest_digest: digest.to_owned(),
            },
            kind: PAYLOAD_TYPE.to_owned(),
        },
        optional: None,
    })
    .expect("a payload serializes")
}

/// The manifest digest a payload vouches for (`None`: not a cosign image-signature payload).
pub fn signed_digest(payload: &[u8]) -> Option<String> {
    if payload.len() as u64 > MAX_PAYLOAD_BYTES {
        return None;
    }
    let p: Payload = serde_json::from_slice(payload).ok()?;
    (p.critical.kind == PAYLOAD_TYPE).then_some(p.critical.image.docker_manifest_digest)
}

/// The config blob of a signature manifest with these payload digests: the empty image
/// config cosign writes (one history entry and one diff id per layer).
pub fn config(payload_digests: &[String]) -> Vec<u8> {
    const ZERO: &str = "0001-01-01T00:00:00Z";
    let history: Vec<serde_json::Value> = payload_digests
        .iter()
        .map(|_| serde_json::json!({ "created": ZERO }))
        .collect();
    // Key order as Go's encoding/json writes the struct (architecture, created, history, os,
    // rootfs, config).
    format!(
        "{{\"architecture\":\"\",\"created\":\"{ZERO}\",\"history\":{},\"os\":\"\",\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":{}}},\"config\":{{}}}}",
        serde_json::to_string(&history).expect("history serializes"),
        serde_json::to_string(payload_digests).expect("digests serialize"),
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_cosigns() {
        let p = payload(
            "127.0.0.1:5000/p/tool",
            &format!("sha256:{}", "a".repeat(64)),
        );
        assert_eq!(
            String::from_utf8(p.clone()).unwrap(),
            format!(
                "{{\"critical\":{{\"identity\":{{\"docker-reference\":\"127.0.0.1:5000/p/tool\"}},\"image\":{{\"docker-manifest-digest\":\"sha256:{}\"}},\"type\":\"cosign container image signature\"}},\"optional\":null}}",
                "a".repeat(64)
            )
        );
        assert_eq!(
            signed_digest(&p).unwrap(),
            format!("sha256:{}", "a".repeat(64))
        );
        assert_eq!(tag("sha256:abc"), "sha256-abc.sig");
        assert!(signed_digest(b"{\"critical\":{}}").is_none());
    }
}
