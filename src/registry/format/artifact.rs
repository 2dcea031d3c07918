//! The pack artifact format (store-format/ARTIFACT.md): OCI JSON types, media types,
//! annotations and limits, the aibox config blob, digests, and the blobs a built artifact is
//! made of.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::manifest::pack::PackManifest;
use crate::registry::RegistryError;
use crate::store::tree::Hash;

pub const ARTIFACT_TYPE: &str = "application/vnd.aibox.pack.v1";
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.aibox.pack.config.v1+json";
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
pub const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const LAYER_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const LAYER_TAR_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const ANN_TITLE: &str = "org.opencontainers.image.title";
pub const ANN_DESCRIPTION: &str = "org.opencontainers.image.description";
pub const ANN_VERSION: &str = "org.opencontainers.image.version";
pub const ANN_LICENSES: &str = "org.opencontainers.image.licenses";
pub const ANN_SOURCE: &str = "org.opencontainers.image.source";
pub const ANN_URL: &str = "org.opencontainers.image.url";
pub const ANN_REVISION: &str = "org.opencontainers.image.revision";
pub const ANN_CREATED: &str = "org.opencontainers.image.created";
pub const ANN_REF_NAME: &str = "org.opencontainers.image.ref.name";
pub const ANN_TREE: &str = "dev.aibox.pack.tree";
pub const ANN_NAME: &str = "dev.aibox.pack.name";
pub const ANN_KEYWORDS: &str = "dev.aibox.pack.keywords";
/// This version's entry of the pack's `CHANGELOG.md`, so `aibox info` shows it without the
/// layer.
pub const ANN_CHANGELOG: &str = "dev.aibox.pack.changelog";
/// The longest changelog entry carried in an annotation (bytes; longer ones are cut).
pub const MAX_CHANGELOG_ANNOTATION: usize = 16 << 10;
/// ORAS marks a directory pushed as a tar.gz with this annotation.
pub const ANN_ORAS_UNPACK: &str = "io.deis.oras.content.unpack";

/// Largest manifest, index or config blob accepted (bytes).
pub const MAX_METADATA_BYTES: u64 = 4 << 20;
/// Largest `pack.toml` layer of an ORAS artifact.
pub const MAX_PACK_TOML_BYTES: u64 = crate::manifest::pack::MAX_PACK_TOML_BYTES;
/// Most layers a pack manifest may have (ORAS per-file artifacts).
pub const MAX_LAYERS: usize = 10_000;
/// Most platform entries in an index.
pub const MAX_INDEX_ENTRIES: usize = 256;

/// An OCI content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    pub fn title(&self) -> Option<&str> {
        self.annotations.get(ANN_TITLE).map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
}

/// An OCI image manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An OCI image index (also the layout's `index.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A manifest or an index, as found behind a tag.
#[derive(Debug, Clone)]
pub enum TopLevel {
    Manifest(Manifest),
    Index(Index),
}

impl TopLevel {
    /// Parse manifest bytes, telling index from manifest by `mediaType` or shape.
    pub fn parse(bytes: &[u8], what: &str) -> Result<TopLevel, RegistryError> {
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| invalid(what, format!("the manifest is not JSON: {e}")))?;
        let is_index = match value.get("mediaType").and_then(|m| m.as_str()) {
            Some(INDEX_MEDIA_TYPE)
            | Some("application/vnd.docker.distribution.manifest.list.v2+json") => true,
            Some(_) => false,
            None => value.get("manifests").is_some(),
        };
        if is_index {
            let index: Index = serde_json::from_value(value)
                .map_err(|e| invalid(what, format!("malformed image index: {e}")))?;
            if index.manifests.len() > MAX_INDEX_ENTRIES {
                return Err(invalid(what, "the image index has too many entries"));
            }
            Ok(TopLevel::Index(index))
        } else {
            Ok(TopLevel::Manifest(parse_manifest(bytes, what)?))
        }
    }

    pub fn media_type(&self) -> &'static str {
        match self {
            TopLevel::Manifest(_) => MANIFEST_MEDIA_TYPE,
            TopLevel::Index(_) => INDEX_MEDIA_TYPE,
        }
    }

    pub fn annotations(&self) -> &BTreeMap<String, String> {
        match self {
            TopLevel::Manifest(m) => &m.annotations,
            TopLevel::Index(i) => &i.annotations,
        }
    }
}

/// Parse an image manifest and check its limits.
pub fn parse_manifest(bytes: &[u8], what: &str) -> Result<Manifest, RegistryError> {
    let m: Manifest = serde_json::from_slice(bytes)
        .map_err(|e| invalid(what, format!("malformed image manifest: {e}")))?;
    if m.schema_version != 2 {
        return Err(invalid(
            what,
            format!("unsupported schemaVersion {}", m.schema_version),
        ));
    }
    if m.layers.len() > MAX_LAYERS {
        return Err(invalid(what, format!("more than {MAX_LAYERS} layers")));
    }
    Ok(m)
}

/// The config blob of an aibox pack artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackConfig {
    /// `pack.toml`, as JSON.
    pub pack: PackManifest,
    /// The BLAKE3 tree hash of the layer's contents.
    pub tree: Hash,
    /// The platforms this artifact's files work on; empty = every platform.
    #[serde(default)]
    pub platforms: Vec<String>,
}

pub(crate) fn invalid(what: &str, message: impl Into<String>) -> RegistryError {
    RegistryError::InvalidPack {
        path: what.to_owned(),
        message: message.into(),
    }
}

/// `sha256:<hex>` of bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The hex part of a `sha256:` digest, checked (64 lowercase hex digits).
pub fn digest_hex(digest: &str) -> Result<&str, RegistryError> {
    match digest.strip_prefix("sha256:") {
        Some(h)
            if h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
        {
            Ok(h)
        }
        _ => Err(RegistryError::Unsupported {
            what: format!("the digest `{digest}`"),
            why: "unsupported or malformed (only sha256 is accepted)".into(),
        }),
    }
}

/// One blob of a built artifact.
#[derive(Debug, Clone)]
pub struct Blob {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    pub body: Body,
}

/// Where a blob's bytes are.
#[derive(Debug, Clone)]
pub enum Body {
    /// Small blobs (configs, manifests, signatures), in memory.
    Bytes(Vec<u8>),
    /// A blob on disk (a layer just built, or a blob of an OCI layout), streamed when sent. A
    /// built layer's temporary file is removed when the last copy of the blob is dropped.
    File {
        path: PathBuf,
        temp: Option<std::sync::Arc<tempfile::TempPath>>,
    },
}

impl Blob {
    /// A blob held in memory.
    pub fn new(media_type: &str, data: Vec<u8>) -> Blob {
        Blob {
            media_type: media_type.to_owned(),
            digest: sha256_digest(&data),
            size: data.len() as u64,
            body: Body::Bytes(data),
        }
    }

    /// A blob in memory whose bytes were already checked against `desc`'s digest.
    pub fn verified(desc: &Descriptor, data: Vec<u8>) -> Blob {
        Blob {
            media_type: desc.media_type.clone(),
            digest: desc.digest.clone(),
            size: data.len() as u64,
            body: Body::Bytes(data),
        }
    }

    /// A blob in a temporary file whose digest and size were computed while it was written.
    pub fn file(media_type: &str, digest: String, size: u64, temp: tempfile::TempPath) -> Blob {
        Blob {
            media_type: media_type.to_owned(),
            digest,
            size,
            body: Body::File {
                path: temp.to_path_buf(),
                temp: Some(std::sync::Arc::new(temp)),
            },
        }
    }

    /// A blob of an OCI layout (or any file that stays where it is), described by `desc`.
    pub fn at(desc: &Descriptor, path: PathBuf) -> Blob {
        Blob {
            media_type: desc.media_type.clone(),
            digest: desc.digest.clone(),
            size: desc.size,
            body: Body::File { path, temp: None },
        }
    }

    /// The bytes of a blob held in memory (manifests and configs always are).
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.body {
            Body::Bytes(b) => Some(b),
            Body::File { .. } => None,
        }
    }

    pub fn descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: self.media_type.clone(),
            digest: self.digest.clone(),
            size: self.size,
            artifact_type: None,
            platform: None,
            annotations: BTreeMap::new(),
        }
    }
}

/// A built pack artifact: every blob (configs, layers, platform manifests) and the top-level
/// manifest or index that the version tag points at.
#[derive(Debug, Clone)]
pub struct BuiltPack {
    pub name: String,
    pub version: semver::Version,
    pub manifest: PackManifest,
    /// Blobs in push order: layers and configs, then platform manifests.
    pub blobs: Vec<Blob>,
    /// The manifest or index the tag points at.
    pub top: Blob,
    /// Per platform (empty key = platform-independent): tree hash.
    pub trees: BTreeMap<String, Hash>,
}

/// Layer compression for `pack build`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    Zstd,
    Gzip,
}
