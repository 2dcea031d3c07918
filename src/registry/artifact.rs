//! The pack artifact format (store-format/ARTIFACT.md): OCI JSON types, media types and
//! annotations, building an artifact (a streamed layer from `layer`, config, manifest or
//! index) from pack source directories, and reading a manifest's layers back into
//! a tree — aibox's single tar layer or ORAS-style per-file layers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::RegistryError;
pub use super::unpack::{
    ingest_layer, is_aibox, layer_tar, oras_tree, pack_toml_layer, parse_config, stage_verified,
};
use crate::fs;
use crate::manifest::pack::PackManifest;
use crate::store::Store;
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
        _ => Err(RegistryError::Other(format!(
            "unsupported or malformed digest `{digest}` (only sha256 is accepted)"
        ))),
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

/// Extra annotations a publisher may set (`revision`, `created`), never invented, and the
/// version of a bare skill folder (`--version`).
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub compression: Compression,
    /// The version of a bare skill folder (a `SKILL.md` without `pack.toml`).
    pub version: Option<semver::Version>,
    pub revision: Option<String>,
    pub created: Option<String>,
}

/// Build the artifact of a pack from one source directory (platform-independent or one set
/// of platforms), or from several directories of the same name and version, each declaring
/// its `platforms` (an image index). Every directory is validated and ingested into `store`.
pub fn build(
    store: &Store,
    dirs: &[PathBuf],
    opts: &BuildOptions,
) -> Result<BuiltPack, RegistryError> {
    let Some(first_dir) = dirs.first() else {
        return Err(RegistryError::Other("no pack directory given".into()));
    };
    let mut blobs = Vec::new();
    let mut platform_manifests = Vec::new();
    let mut trees = BTreeMap::new();
    let mut first: Option<PackManifest> = None;
    let mut seen_platforms = BTreeSet::new();
    for dir in dirs {
        let pack = read_pack_dir(
            dir,
            dirs.len(),
            first.as_ref().map(|f| (f, first_dir)),
            opts.version.as_ref(),
        )?;
        let platforms = pack.pack.platforms.clone().unwrap_or_default();
        for p in &platforms {
            if !seen_platforms.insert(p.clone()) {
                return Err(invalid(
                    &dir.join("pack.toml").display().to_string(),
                    format!("platform `{p}` is built by two directories"),
                ));
            }
        }
        let one = platform_artifact(store, dir, &pack, &platforms, opts)?;
        blobs.push(one.layer);
        blobs.push(one.config);
        if platforms.is_empty() {
            trees.insert(String::new(), one.tree);
        }
        for p in &platforms {
            trees.insert(p.clone(), one.tree);
        }
        platform_manifests.push((platforms, one.manifest));
        first.get_or_insert(pack);
    }
    let pack = first.expect("at least one directory");
    let top = if platform_manifests.len() == 1 {
        platform_manifests.pop().expect("one manifest").1
    } else {
        let index = index_of(&platform_manifests, &pack, opts, first_dir);
        blobs.extend(platform_manifests.into_iter().map(|(_, blob)| blob));
        index
    };
    Ok(BuiltPack {
        name: pack.pack.name.clone(),
        version: pack.pack.version.clone(),
        manifest: pack,
        blobs,
        top,
        trees,
    })
}

/// Read and check the `pack.toml` (or a bare skill's `SKILL.md`, with `version`) of one of
/// `count` directories of a build: known platforms, the same name and version as the `first`
/// directory's, and `platforms` listed when there are several directories.
fn read_pack_dir(
    dir: &Path,
    count: usize,
    first: Option<(&PackManifest, &PathBuf)>,
    version: Option<&semver::Version>,
) -> Result<PackManifest, RegistryError> {
    let at = dir.join("pack.toml").display().to_string();
    let pack = crate::skill::source_manifest(dir, version, None)?;
    let platforms = pack.pack.platforms.as_deref().unwrap_or_default();
    if let Some(p) = platforms
        .iter()
        .find(|p| crate::platform::to_oci(p).is_none())
    {
        return Err(invalid(&at, format!("unknown platform `{p}`")));
    }
    if let Some((f, first_dir)) = first
        && (f.pack.name != pack.pack.name || f.pack.version != pack.pack.version)
    {
        return Err(invalid(
            &at,
            format!(
                "is `{}@{}`, but `{}` is `{}@{}`",
                pack.pack.name,
                pack.pack.version,
                first_dir.display(),
                f.pack.name,
                f.pack.version
            ),
        ));
    }
    if count > 1 && platforms.is_empty() {
        return Err(invalid(
            &at,
            "several directories make a multi-platform pack: each `pack.toml` must list its `platforms`",
        ));
    }
    Ok(pack)
}

/// The blobs one pack directory contributes: its layer, config and (platform) manifest.
struct PlatformArtifact {
    layer: Blob,
    config: Blob,
    manifest: Blob,
    tree: Hash,
}

/// Ingest `dir` into the store, write its layer (checked to reproduce the ingested tree) and
/// describe it in a config and a manifest.
fn platform_artifact(
    store: &Store,
    dir: &Path,
    pack: &PackManifest,
    platforms: &[String],
    opts: &BuildOptions,
) -> Result<PlatformArtifact, RegistryError> {
    let tree = store.ingest_dir(dir)?;
    super::read::check_tree(&tree, pack, &dir.display().to_string())?;
    let (layer, check) = super::layer::write(store, dir, opts.compression)?;
    if check.hash() != tree.hash() {
        return Err(RegistryError::Other(format!(
            "internal error: the tar of `{}` does not reproduce its tree",
            dir.display()
        )));
    }
    let file_name = format!(
        "{}-{}.tar.{}",
        pack.pack.name,
        pack.pack.version,
        match opts.compression {
            Compression::Zstd => "zst",
            Compression::Gzip => "gz",
        }
    );
    let mut layer_desc = layer.descriptor();
    layer_desc.annotations.insert(ANN_TITLE.into(), file_name);
    let config = PackConfig {
        pack: pack.clone(),
        tree: tree.hash(),
        platforms: platforms.to_vec(),
    };
    let config = Blob::new(
        CONFIG_MEDIA_TYPE,
        serde_json::to_vec(&config).expect("config serializes"),
    );
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MANIFEST_MEDIA_TYPE.into()),
        artifact_type: Some(ARTIFACT_TYPE.into()),
        config: config.descriptor(),
        layers: vec![layer_desc],
        annotations: annotations(pack, &tree.hash(), opts, dir),
    };
    let manifest = Blob::new(
        MANIFEST_MEDIA_TYPE,
        serde_json::to_vec(&manifest).expect("manifest serializes"),
    );
    Ok(PlatformArtifact {
        layer,
        config,
        manifest,
        tree: tree.hash(),
    })
}

/// The image index over the platform manifests of a multi-platform pack, its entries sorted
/// by aibox platform name so that it is the same for any directory order.
fn index_of(
    platform_manifests: &[(Vec<String>, Blob)],
    pack: &PackManifest,
    opts: &BuildOptions,
    first_dir: &Path,
) -> Blob {
    let mut entries = Vec::new();
    for (platforms, blob) in platform_manifests {
        for p in platforms {
            let (os, architecture) = crate::platform::to_oci(p).expect("checked when read");
            let mut d = blob.descriptor();
            d.artifact_type = Some(ARTIFACT_TYPE.into());
            d.platform = Some(Platform {
                architecture: architecture.into(),
                os: os.into(),
            });
            entries.push(d);
        }
    }
    entries.sort_by_key(|d| {
        d.platform
            .as_ref()
            .and_then(|p| crate::platform::from_oci(&p.os, &p.architecture))
    });
    let mut ann = annotations(pack, &Hash([0; 32]), opts, first_dir);
    ann.remove(ANN_TREE);
    let index = Index {
        schema_version: 2,
        media_type: Some(INDEX_MEDIA_TYPE.into()),
        artifact_type: Some(ARTIFACT_TYPE.into()),
        manifests: entries,
        annotations: ann,
    };
    Blob::new(
        INDEX_MEDIA_TYPE,
        serde_json::to_vec(&index).expect("index serializes"),
    )
}

/// The entry for `version` in `dir`'s `CHANGELOG.md`, cut to [`MAX_CHANGELOG_ANNOTATION`].
fn changelog_entry(dir: &Path, version: &semver::Version) -> Option<String> {
    use crate::manifest::pack::{CHANGELOG_FILE, MAX_CHANGELOG_BYTES, changelog_entries};
    let text = fs::read_regular_string(&dir.join(CHANGELOG_FILE), MAX_CHANGELOG_BYTES).ok()?;
    let (_, mut body) = changelog_entries(&text, None, version)
        .into_iter()
        .find(|(v, _)| v == version)?;
    if body.len() > MAX_CHANGELOG_ANNOTATION {
        let mut cut = MAX_CHANGELOG_ANNOTATION;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
        body.push('…');
    }
    Some(body)
}

fn annotations(
    pack: &PackManifest,
    tree: &Hash,
    opts: &BuildOptions,
    dir: &Path,
) -> BTreeMap<String, String> {
    let p = &pack.pack;
    let mut a = BTreeMap::new();
    a.insert(ANN_TITLE.into(), p.name.clone());
    a.insert(ANN_NAME.into(), p.name.clone());
    a.insert(ANN_VERSION.into(), p.version.to_string());
    a.insert(ANN_TREE.into(), tree.to_string());
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            a.insert(k.into(), v.clone());
        }
    };
    put(ANN_DESCRIPTION, &p.description);
    put(ANN_LICENSES, &p.license);
    put(ANN_SOURCE, &p.repository);
    put(ANN_URL, &p.homepage);
    put(ANN_REVISION, &opts.revision);
    put(ANN_CREATED, &opts.created);
    if !p.keywords.is_empty() {
        a.insert(ANN_KEYWORDS.into(), p.keywords.join(","));
    }
    if let Some(entry) = changelog_entry(dir, &p.version) {
        a.insert(ANN_CHANGELOG.into(), entry);
    }
    a
}
