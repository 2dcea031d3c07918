//! Reading packs out of any OCI content source (an image layout or a registry) through one
//! small [`Backend`] trait (`backend`): tag → manifest or index → platform manifest → config, lock entries,
//! and fetching a locked platform into the store from digest-verified blobs only.

use std::collections::BTreeMap;
use std::sync::Arc;

use semver::Version;

use crate::fs;
use crate::lockfile::{ANY_PLATFORM, LockedPlatform};
use crate::manifest::pack::PackManifest;
use crate::registry::backends::backend::Backend;
use crate::registry::format::artifact::{self, Descriptor, Manifest, TopLevel};
use crate::registry::transfer::tee::Tee;
use crate::registry::{LockEntry, RegistryError};
use crate::store::tree::{Hash, Tree};
use crate::store::{PackId, Store};

/// What one platform manifest says about its pack.
#[derive(Debug, Clone)]
pub struct PlatformInfo {
    pub digest: String,
    pub manifest: Manifest,
    pub pack: Arc<PackManifest>,
    /// From the aibox config; `None` for ORAS per-file artifacts (known only after fetching).
    pub tree: Option<Hash>,
    /// The platforms this manifest serves; empty = all.
    pub platforms: Vec<String>,
}

/// A resolved version: the top-level digest and its platform manifests.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub digest: String,
    pub top: TopLevel,
    /// `(aibox platform or None for a plain manifest, manifest digest)`.
    pub entries: Vec<(Option<String>, String)>,
}

fn what(name: &str, version: &Version, url: &str) -> String {
    format!("{name}@{version} in `{url}`")
}

/// Resolve the version tag of `name`.
pub fn resolve(b: &dyn Backend, name: &str, version: &Version) -> Result<Resolved, RegistryError> {
    let (bytes, digest) = b.tagged(name, version)?;
    let top = TopLevel::parse(&bytes, &what(name, version, b.url()))?;
    let entries = match &top {
        TopLevel::Manifest(_) => vec![(None, digest.clone())],
        TopLevel::Index(index) => index
            .manifests
            .iter()
            .filter_map(|d| {
                let p = d.platform.as_ref()?;
                let aibox = crate::platform::from_oci(&p.os, &p.architecture)?;
                Some((Some(aibox.to_owned()), d.digest.clone()))
            })
            .collect(),
    };
    Ok(Resolved {
        digest,
        top,
        entries,
    })
}

/// Read one platform manifest and its config (or ORAS `pack.toml` layer).
pub fn platform_info(
    b: &dyn Backend,
    name: &str,
    version: &Version,
    digest: &str,
    top: Option<&TopLevel>,
) -> Result<PlatformInfo, RegistryError> {
    let w = what(name, version, b.url());
    let manifest = match top {
        Some(TopLevel::Manifest(m)) => m.clone(),
        _ => artifact::parse_manifest(&b.manifest_by_digest(name, digest)?, &w)?,
    };
    let (pack, tree, platforms) = if crate::registry::transfer::unpack::is_aibox(&manifest) {
        let bytes = b.small_blob(name, &manifest.config, artifact::MAX_METADATA_BYTES)?;
        let config = crate::registry::transfer::unpack::parse_config(&bytes, &w)?;
        (config.pack, Some(config.tree), config.platforms)
    } else {
        let layer = crate::registry::transfer::unpack::pack_toml_layer(&manifest, &w)?;
        let bytes = b.small_blob(name, layer, artifact::MAX_PACK_TOML_BYTES)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| artifact::invalid(&w, "`pack.toml` is not UTF-8"))?;
        let pack =
            crate::manifest::parse_pack(&text, std::path::Path::new(&format!("{w}: pack.toml")))?;
        let platforms = pack.pack.platforms.clone().unwrap_or_default();
        (pack, None, platforms)
    };
    if pack.pack.name != name || pack.pack.version != *version {
        return Err(artifact::invalid(
            &w,
            format!(
                "its pack.toml says `{}@{}`",
                pack.pack.name, pack.pack.version
            ),
        ));
    }
    Ok(PlatformInfo {
        digest: digest.to_owned(),
        manifest,
        pack: Arc::new(pack),
        tree,
        platforms,
    })
}

/// The `pack.toml` of a version (from its first platform manifest).
pub fn manifest(
    b: &dyn Backend,
    name: &str,
    version: &Version,
) -> Result<(Resolved, PlatformInfo), RegistryError> {
    let r = resolve(b, name, version)?;
    let (_, digest) = r.entries.first().cloned().ok_or_else(|| {
        artifact::invalid(
            &what(name, version, b.url()),
            "the image index has no platform aibox knows",
        )
    })?;
    let info = platform_info(b, name, version, &digest, Some(&r.top))?;
    Ok((r, info))
}

/// The lock entry: every platform the version publishes (an index's entries; a manifest's
/// config platforms, or [`ANY_PLATFORM`] when it serves all), narrowed to `platforms` when
/// given.
pub fn lock_entry(
    b: &dyn Backend,
    store: Option<&Store>,
    name: &str,
    version: &Version,
    platforms: Option<&[String]>,
) -> Result<LockEntry, RegistryError> {
    let r = resolve(b, name, version)?;
    let published: Vec<(String, String)> = match &r.top {
        TopLevel::Manifest(_) => {
            let info = platform_info(b, name, version, &r.digest, Some(&r.top))?;
            let list = if info.platforms.is_empty() {
                vec![ANY_PLATFORM.to_owned()]
            } else {
                info.platforms.clone()
            };
            list.into_iter().map(|p| (p, r.digest.clone())).collect()
        }
        TopLevel::Index(_) => r
            .entries
            .iter()
            .filter_map(|(p, d)| Some((p.clone()?, d.clone())))
            .collect(),
    };
    let mut out = BTreeMap::new();
    let mut trees: BTreeMap<String, Hash> = BTreeMap::new();
    for (platform, digest) in published {
        if !crate::registry::wanted_platform(&platform, platforms) {
            continue;
        }
        let tree = match trees.get(&digest) {
            Some(t) => *t,
            None => {
                let info = platform_info(b, name, version, &digest, Some(&r.top))?;
                let tree = match info.tree {
                    Some(t) => t,
                    None => {
                        let store = store.ok_or_else(|| RegistryError::Unsupported {
                            what: what(name, version, b.url()),
                            why: "an ORAS artifact's tree hash is known only after fetching it"
                                .into(),
                        })?;
                        tree_of(b, store, name, version, &info)
                            .map_err(|e| e.in_pack(name, version, b.url()))?
                            .hash()
                    }
                };
                trees.insert(digest.clone(), tree);
                tree
            }
        };
        out.insert(
            platform,
            LockedPlatform {
                manifest: Some(digest),
                tree,
            },
        );
    }
    Ok(LockEntry {
        digest: Some(r.digest),
        platforms: out,
        ..Default::default()
    })
}

fn no_platform(name: &str, version: &Version, platform: &str) -> RegistryError {
    RegistryError::NoPlatform {
        name: name.into(),
        version: version.clone(),
        platform: platform.into(),
    }
}

/// Fetch the layers of a platform manifest into the store's objects and return the tree. The
/// tree must carry, at its root, the very `pack.toml` the artifact's metadata describes (what
/// the resolver saw is what gets installed).
pub fn tree_of(
    b: &dyn Backend,
    store: &Store,
    name: &str,
    version: &Version,
    info: &PlatformInfo,
) -> Result<Tree, RegistryError> {
    let w = what(name, version, b.url());
    let tree = layers_tree(b, store, name, info, &w)?;
    check_metadata(store, &tree, &info.pack, &w)?;
    check_tree(&tree, &info.pack, &w)?;
    Ok(tree)
}

/// What every pack tree must satisfy beyond the store's own rules, whatever its source: links
/// resolve inside it, and every `[bin]` target is a regular executable file in it (for a
/// pack with an install hook, once the hook has run: it may make them).
/// A new temporary file in `store`'s staging area, for a download to land in before it is
/// checked and ingested (removed when dropped).
pub fn staging_file(store: &Store) -> Result<tempfile::NamedTempFile, RegistryError> {
    let staging = store.staging()?;
    fs::temp_file_in(&staging).map_err(|e| RegistryError::Io {
        context: format!("cannot create a file in `{}`", staging.display()),
        source: e,
    })
}

/// A `pack.toml` made by aibox for content published without one: pack `name@version` of
/// `kind` putting `bin` on PATH, everything else left out.
pub fn made_manifest(
    name: &str,
    version: &Version,
    kind: crate::manifest::pack::PackKind,
    description: String,
    bin: BTreeMap<String, String>,
) -> PackManifest {
    let mut manifest = PackManifest::bare(name, version, kind);
    manifest.pack.description = Some(description);
    manifest.bin = bin;
    manifest
}

/// Add `manifest`, made by aibox for `what` (a release archive, an aqua package that ships
/// none), to `tree` as its `pack.toml`: written, checked to parse like any published one, and
/// stored.
pub fn add_made_manifest(
    store: &Store,
    tree: &mut Tree,
    manifest: &PackManifest,
    what: &str,
) -> Result<(), RegistryError> {
    let text = toml::to_string(manifest)
        .map_err(|e| RegistryError::Internal(format!("a made pack.toml: {e}")))?;
    crate::manifest::parse_pack(&text, std::path::Path::new("pack.toml")).map_err(|e| {
        RegistryError::BadContent {
            what: what.to_owned(),
            message: format!("makes an invalid pack.toml: {e}"),
        }
    })?;
    let mut batch = store.batch();
    let stored = batch.add_reader(
        text.as_bytes(),
        false,
        &crate::store::budget::Limits::new(1 << 20, 1),
    )?;
    batch.commit()?;
    tree.entries.insert(
        "pack.toml".into(),
        crate::store::tree::Entry::File {
            hash: stored.hash,
            size: stored.size,
            executable: false,
        },
    );
    Ok(())
}

pub fn check_tree(tree: &Tree, pack: &PackManifest, what: &str) -> Result<(), RegistryError> {
    tree.check_links()?;
    if pack.install.is_some() {
        return Ok(());
    }
    check_bins(tree, pack, what)
}

/// Every `[bin]` target of `pack` is a regular executable file in `tree`.
pub fn check_bins(tree: &Tree, pack: &PackManifest, what: &str) -> Result<(), RegistryError> {
    for (command, rel) in &pack.bin {
        if let Some(problem) = tree.bin_problem(rel) {
            return Err(artifact::invalid(
                what,
                format!("`[bin]` {command} = \"{rel}\": {problem}"),
            ));
        }
    }
    Ok(())
}

/// The text of the regular file `rel` at the root of `tree` (from the store's objects), at
/// most `max` bytes; `None` when there is no such file.
fn root_file(
    store: &Store,
    tree: &Tree,
    rel: &str,
    max: u64,
    w: &str,
) -> Result<Option<String>, RegistryError> {
    use crate::store::tree::Entry;
    let Some(entry) = tree.entries.get(rel) else {
        return Ok(None);
    };
    let Entry::File {
        hash,
        size,
        executable,
    } = entry
    else {
        return Err(artifact::invalid(
            w,
            format!("its `{rel}` is not a regular file"),
        ));
    };
    if *size > max {
        return Err(artifact::invalid(
            w,
            format!("its `{rel}` is larger than {max} bytes"),
        ));
    }
    let path = store.object_path(hash, *executable);
    let text = fs::read_regular_string(&path, max).map_err(|source| RegistryError::Io {
        context: format!("cannot read `{}`", path.display()),
        source,
    })?;
    Ok(Some(text))
}

/// The tree must carry what the artifact's metadata (`pack`) describes: the very `pack.toml`,
/// and for a skill the `SKILL.md` and files its skill section was derived from (a bare skill
/// has no `pack.toml`: its metadata is derived from them alone).
pub fn check_metadata(
    store: &Store,
    tree: &Tree,
    pack: &PackManifest,
    w: &str,
) -> Result<(), RegistryError> {
    use crate::manifest::pack::PackKind;
    let toml = root_file(store, tree, "pack.toml", artifact::MAX_PACK_TOML_BYTES, w)?;
    let skill = match pack.pack.kind {
        PackKind::Skill => {
            let text = root_file(
                store,
                tree,
                crate::skill::SKILL_FILE,
                crate::skill::MAX_SKILL_FILE,
                w,
            )?
            .ok_or_else(|| artifact::invalid(w, "the skill has no `SKILL.md` at its root"))?;
            let front = crate::skill::front_matter::parse(
                &text,
                std::path::Path::new(&format!("{w}: SKILL.md")),
            )?;
            Some(front)
        }
        _ => None,
    };
    let derived = match (toml, &skill) {
        (Some(text), _) => {
            let mut parsed = crate::manifest::parse_pack(
                &text,
                std::path::Path::new(&format!("{w}: pack.toml")),
            )?;
            if let Some(front) = &skill {
                crate::skill::fill(
                    &mut parsed,
                    front,
                    crate::skill::section_of_tree(front, tree),
                );
            }
            parsed
        }
        (None, Some(front)) => crate::skill::manifest_of(
            front,
            &pack.pack.version,
            crate::skill::section_of_tree(front, tree),
        ),
        (None, None) => {
            return Err(artifact::invalid(
                w,
                "the pack has no `pack.toml` file at its root",
            ));
        }
    };
    if let Some(front) = &skill
        && front.name != pack.pack.name
    {
        return Err(artifact::invalid(
            w,
            format!("its `SKILL.md` names the skill `{}`", front.name),
        ));
    }
    if derived != *pack {
        return Err(artifact::invalid(
            w,
            "its `pack.toml` (or a skill's `SKILL.md` and files) differs from the pack metadata in its OCI config",
        ));
    }
    Ok(())
}

fn layers_tree(
    b: &dyn Backend,
    store: &Store,
    name: &str,
    info: &PlatformInfo,
    w: &str,
) -> Result<Tree, RegistryError> {
    let w = w.to_owned();
    if crate::registry::transfer::unpack::is_aibox(&info.manifest) {
        let [layer] = info.manifest.layers.as_slice() else {
            return Err(artifact::invalid(&w, "an aibox pack has exactly one layer"));
        };
        streamed_layer(b, store, name, layer, &w)
    } else {
        let mut staged = Vec::new();
        let mut open = |d: &Descriptor| -> Result<fs::File, RegistryError> {
            let file = b.stage_blob(name, d, store, None)?;
            let f = reopen(&file)?;
            staged.push(file);
            Ok(f)
        };
        crate::registry::transfer::unpack::oras_tree(
            store,
            &info.manifest,
            &info.pack,
            &w,
            &mut open,
        )
    }
}

/// The tree of an aibox pack's one layer, unpacked while it downloads: the objects get their
/// names only after the whole layer matched its digest, so a wrong or hostile download adds
/// nothing to the store. When the bytes handed on could not be used (the download started
/// over), the verified staging file is unpacked instead.
fn streamed_layer(
    b: &dyn Backend,
    store: &Store,
    name: &str,
    layer: &Descriptor,
    w: &str,
) -> Result<Tree, RegistryError> {
    let limits = || crate::store::budget::Limits::for_compressed(layer.size);
    let (tee, reader) = Tee::new();
    let (staged, unpacked) = std::thread::scope(|s| {
        let unpacking = s.spawn(|| {
            let tar = crate::registry::transfer::unpack::layer_tar(layer, reader, w)?;
            Ok::<_, RegistryError>(store.ingest_tar_uncommitted(tar, &limits())?)
        });
        let staged = b.stage_blob(name, layer, store, Some(&tee));
        tee.close();
        let unpacked = unpacking.join().unwrap_or_else(|_| {
            Err(RegistryError::Internal(
                "the unpacking thread panicked".into(),
            ))
        });
        (staged, unpacked)
    });
    let file = staged?;
    if !tee.is_broken() {
        let (tree, objects) = unpacked?;
        objects.commit()?;
        return Ok(tree);
    }
    drop(unpacked);
    crate::registry::transfer::unpack::ingest_layer(store, layer, reopen(&file)?, w, &limits())
}

/// A second handle on a staging file, read from its start.
fn reopen(file: &tempfile::NamedTempFile) -> Result<fs::File, RegistryError> {
    let handle = file.reopen().map_err(|source| RegistryError::Io {
        context: "cannot reopen a staging file".into(),
        source,
    })?;
    Ok(fs::File::from_parts(handle, file.path()))
}

/// Fetch a locked platform artifact and build its pack (tree must equal `locked.tree`).
pub fn fetch(
    b: &dyn Backend,
    store: &Store,
    name: &str,
    version: &Version,
    locked: &LockedPlatform,
) -> Result<PackId, RegistryError> {
    let id = PackId {
        tree: locked.tree,
        name: name.into(),
        version: version.to_string(),
    };
    if store.has_pack(&id) {
        return Ok(id);
    }
    let digest = match &locked.manifest {
        Some(d) => d.clone(),
        None => manifest(b, name, version)?.1.digest,
    };
    let info = platform_info(b, name, version, &digest, None)?;
    if let Some(t) = info.tree {
        RegistryError::same_tree(name, version, b.url(), locked.tree, t)?;
    }
    let tree =
        tree_of(b, store, name, version, &info).map_err(|e| e.in_pack(name, version, b.url()))?;
    store
        .build_pack(name, &version.to_string(), &tree, Some(&locked.tree))
        .map_err(|e| RegistryError::building(e, name, version, b.url()))
}

/// Fetch whatever a version's first platform manifest holds and build it (for `pack pull`).
pub fn fetch_any(
    b: &dyn Backend,
    store: &Store,
    name: &str,
    version: &Version,
    platform: &str,
) -> Result<(PackId, PlatformInfo), RegistryError> {
    let r = resolve(b, name, version)?;
    let digest = match &r.top {
        TopLevel::Manifest(_) => r.digest.clone(),
        TopLevel::Index(_) => r
            .entries
            .iter()
            .find(|(p, _)| p.as_deref() == Some(platform))
            .map(|(_, d)| d.clone())
            .ok_or_else(|| no_platform(name, version, platform))?,
    };
    let info = platform_info(b, name, version, &digest, Some(&r.top))?;
    let tree =
        tree_of(b, store, name, version, &info).map_err(|e| e.in_pack(name, version, b.url()))?;
    let id = store
        .build_pack(name, &version.to_string(), &tree, info.tree.as_ref())
        .map_err(|e| RegistryError::building(e, name, version, b.url()))?;
    Ok((id, info))
}

/// The changelog entry a version's manifest carries (ARTIFACT.md §4), as a `## <version>`
/// section of a changelog.
pub fn changelog(b: &dyn Backend, name: &str, version: &Version) -> Option<String> {
    let (_, info) = manifest(b, name, version).ok()?;
    let entry = info.manifest.annotations.get(artifact::ANN_CHANGELOG)?;
    Some(format!("## {version}\n{entry}\n"))
}

impl<B: Backend> crate::registry::Source for B {
    fn url(&self) -> &str {
        Backend::url(self)
    }

    fn names(&self) -> Result<Vec<String>, RegistryError> {
        self.list_names()
    }

    fn versions(&self, name: &str) -> Result<Vec<Version>, RegistryError> {
        self.list_versions(name)
    }

    fn manifest(&self, name: &str, version: &Version) -> Result<Arc<PackManifest>, RegistryError> {
        Ok(manifest(self, name, version)?.1.pack)
    }

    fn prefetch(&self, name: &str, versions: &[Version]) {
        if !self.remote() {
            return;
        }
        // Warm the metadata cache with bounded concurrency (8 threads at a time); a version
        // that cannot be read now is reported when it is asked for.
        let _ = crate::parallel::try_for_each(versions, 8, |v| {
            let _ = manifest(self, name, v);
            Ok::<(), ()>(())
        });
    }

    fn lock_entry(
        &self,
        name: &str,
        version: &Version,
        platforms: Option<&[String]>,
    ) -> Result<LockEntry, RegistryError> {
        let store = home_store(self.home())?.map(|s| s.reporting(self.reporter()));
        lock_entry(self, store.as_ref(), name, version, platforms)
    }

    fn signatures(
        &self,
        name: &str,
        digest: &str,
    ) -> Result<Vec<crate::signature::Entry>, RegistryError> {
        crate::registry::backends::signatures::read(self, name, digest)
    }

    fn changelog(&self, name: &str, version: &Version) -> Option<String> {
        changelog(self, name, version)
    }

    fn status(
        &self,
        name: &str,
    ) -> Result<Option<crate::registry::lifecycle::Published>, RegistryError> {
        crate::registry::backends::status::read(self, name)
    }

    fn fetch(
        &self,
        name: &str,
        version: &Version,
        locked: &LockedPlatform,
        store: &Store,
    ) -> Result<PackId, RegistryError> {
        fetch(self, store, name, version, locked)
    }
}

/// An OCI-backed source with both faces: the [`crate::registry::Source`] trait and raw [`Backend`] access
/// (for `pack pull`, `info`, `vendor`).
pub trait PackSource: Backend + crate::registry::Source {}

impl<B: Backend> PackSource for B {}

/// The store at `home`, where the tree hashes of ORAS artifacts (which carry none) are
/// computed by fetching them at lock time (`None` without a home).
pub fn home_store(home: crate::store::Home) -> Result<Option<Store>, RegistryError> {
    Ok(home
        .layout()
        .map(|l| Store::open_layout(l.clone()))
        .transpose()?)
}
