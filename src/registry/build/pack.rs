//! Building the artifact of a pack from its source directories: every directory validated and
//! ingested, one reproducible layer per platform set, the aibox config, platform manifests and,
//! for several directories, an image index (store-format/ARTIFACT.md).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::fs;
use crate::manifest::pack::PackManifest;
use crate::registry::RegistryError;
use crate::registry::format::artifact::*;
use crate::store::Store;
use crate::store::tree::Hash;

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
        return Err(RegistryError::Internal("no pack directory given".into()));
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
    crate::registry::backends::content::check_tree(&tree, pack, &dir.display().to_string())?;
    let (layer, check) = crate::registry::build::layer::write(store, dir, opts.compression)?;
    if check.hash() != tree.hash() {
        return Err(RegistryError::Internal(format!(
            "the tar of `{}` does not reproduce its tree",
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
