//! Pack distribution operations: `pack build` (to an OCI layout), `pack publish` (build and
//! push), `pack push` (layout → registry), `pack pull` (fetch, verify, extract) and
//! `pack list`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::fs;
use crate::ops::Options;
use crate::registry::backends::layout::{OciLayout, ref_name};
use crate::registry::backends::oci::OciSource;
use crate::registry::build::pack::BuildOptions;
use crate::registry::format::artifact::{self, BuiltPack};
use crate::registry::{PackRef, SourceOptions, backends::content};

pub use crate::engine::context::source_options;

/// What `pack build` / `pack publish` made.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    pub name: String,
    pub version: String,
    /// The digest of the manifest or index the version tag points at.
    pub digest: String,
    /// Where it went: a layout directory or `oci://…/name:version`.
    pub location: String,
    /// Tree hash per platform (`""` = platform-independent).
    pub trees: BTreeMap<String, String>,
    pub size: u64,
}

fn report(built: &BuiltPack, location: String) -> BuildReport {
    BuildReport {
        name: built.name.clone(),
        version: built.version.to_string(),
        digest: built.top.digest.clone(),
        location,
        trees: built
            .trees
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect(),
        size: built.blobs.iter().map(|b| b.size).sum::<u64>() + built.top.size,
    }
}

/// Group pack directories into packs: directories whose `pack.toml` (or bare skill's
/// `SKILL.md`, with `version`) names the same name and version are the platforms of one pack;
/// every other directory is a pack of its own.
pub fn group_dirs(
    dirs: &[PathBuf],
    version: Option<&semver::Version>,
) -> Result<Vec<Vec<PathBuf>>> {
    let mut groups: BTreeMap<(String, semver::Version), Vec<PathBuf>> = BTreeMap::new();
    for dir in dirs {
        if !fs::exists(&dir.join("pack.toml")).unwrap_or(false) && !crate::skill::is_skill_dir(dir)
        {
            return Err(Error::msg(format!(
                "`{}` has neither a `pack.toml` nor a `SKILL.md`",
                dir.display()
            ))
            .with_hint("a pack directory holds a `pack.toml` at its root; an agent skill folder holds a `SKILL.md`"));
        }
        let manifest = crate::skill::source_manifest(dir, version, None)?;
        groups
            .entry((manifest.pack.name, manifest.pack.version))
            .or_default()
            .push(dir.clone());
    }
    Ok(groups.into_values().collect())
}

/// Tell the publisher which of a pack's exports projects must allow by name (`[policy]
/// allow-pack-env`): `sync` refuses them otherwise.
fn note_protected_env(built: &BuiltPack, reporter: crate::printer::Reporter) {
    let env = &built.manifest.env;
    for name in env.vars.keys().chain(env.optional.keys()) {
        if let Some(p) = crate::manifest::env_rule::protection(name) {
            reporter.warn(format!(
                "`{}` sets `{name}`, a protected variable ({p}): projects must allow it (`[policy] allow-pack-env = [\"{name}\"]`) or `aibox sync` refuses the pack",
                built.name
            ));
        }
    }
}

/// Build the packs in `dirs` (see [`group_dirs`]) into the OCI layout `output`.
pub fn build(
    opts: &Options,
    dirs: &[PathBuf],
    output: &Path,
    build: &BuildOptions,
) -> Result<Vec<BuildReport>> {
    let store = opts.store()?;
    // Shared, like a sync: gc must not clear `tmp/` under a layer being written.
    let _lock = store.lock(fs::LockMode::Shared)?;
    // Every pack is built (read, checked, its layer written) before the layout is created, so
    // a refused pack leaves no layout behind.
    let built: Vec<BuiltPack> = group_dirs(dirs, build.version.as_ref())?
        .iter()
        .map(|group| crate::registry::build::pack::build(&store, group, build))
        .collect::<Result<_, _>>()?;
    built
        .iter()
        .for_each(|b| note_protected_env(b, opts.reporter));
    let layout = OciLayout::create(output)?;
    let mut reports = Vec::new();
    for built in built {
        layout.add_pack(&built)?;
        reports.push(report(
            &built,
            format!(
                "oci-layout:{}:{}",
                output.display(),
                ref_name(&built.name, &built.version)
            ),
        ));
    }
    Ok(reports)
}

/// A pre-release stage to publish under (`pack publish --stage beta`), and the key that signs
/// the status document marking it.
#[derive(Clone, Copy)]
pub struct Stage<'a> {
    pub name: &'a str,
    pub key: Option<&'a crate::trust::SigningKey>,
}

/// Validate and build the packs in `dirs` (see [`group_dirs`]), then push them to `registry`
/// (`oci://host/base`). Every pack is built before the first is pushed. With a `stage`, each
/// version is marked with it in the pack's status document before its tag is pushed, so no
/// resolution ever sees it as stable.
pub fn publish(
    dirs: &[PathBuf],
    registry: &str,
    build: &BuildOptions,
    src: &SourceOptions,
    stage: Option<Stage<'_>>,
) -> Result<Vec<BuildReport>> {
    let store = src.store()?;
    // Held until the last layer is pushed: the layers are files under the store's `tmp/`.
    let _lock = store.lock(fs::LockMode::Shared)?;
    let built: Vec<BuiltPack> = group_dirs(dirs, build.version.as_ref())?
        .iter()
        .map(|group| crate::registry::build::pack::build(&store, group, build))
        .collect::<Result<_, _>>()?;
    built
        .iter()
        .for_each(|b| note_protected_env(b, src.reporter));
    let remote = OciSource::open(registry, src)?;
    built
        .iter()
        .map(|b| publish_one(&remote, registry, b, stage, src))
        .collect()
}

fn publish_one(
    remote: &OciSource,
    registry: &str,
    built: &BuiltPack,
    stage: Option<Stage<'_>>,
    src: &SourceOptions,
) -> Result<BuildReport> {
    if let Ok(tags) = remote.tags(&built.name)
        && tags.contains(&built.version.to_string())
        && remote
            .resolve_digest(&built.name, &built.version)
            .ok()
            .as_deref()
            != Some(built.top.digest.as_str())
    {
        return Err(Error::msg(format!(
            "`{}@{}` is already published in `{registry}` with different content",
            built.name, built.version
        ))
        .with_hint("versions are immutable: bump `version` in pack.toml and publish again"));
    }
    if let Some(stage) = stage {
        // A stage is set before a version first appears: one already published stays as it is.
        if remote
            .tags(&built.name)
            .is_ok_and(|tags| tags.contains(&built.version.to_string()))
        {
            return Err(Error::msg(format!(
                "`{}@{}` is already published in `{registry}`: `--stage` applies to a new version only",
                built.name, built.version
            ))
            .with_hint(format!(
                "publish it under a new version, or drop `--stage`; `aibox pack yank {}@{} --registry {registry}` withdraws it from new resolutions",
                built.name, built.version
            )));
        }
        crate::ops::lifecycle::mark(
            registry,
            &built.name,
            &built.version,
            crate::ops::lifecycle::Change::Stage(stage.name.to_owned()),
            stage.key,
            src,
        )?;
    }
    remote.push(built)?;
    Ok(report(
        built,
        format!("{registry}/{}:{}", built.name, built.version),
    ))
}

/// One ref pushed by `pack push`.
#[derive(Debug, Clone, Serialize)]
pub struct Pushed {
    pub name: String,
    pub version: String,
    pub digest: String,
    pub location: String,
}

/// Push packs of the layout `layout_dir` (all, or only `only` = `name:version` refs) to the
/// registry `target` (`oci://host/base`).
pub fn push(
    layout_dir: &Path,
    target: &str,
    only: &[String],
    src: &SourceOptions,
) -> Result<Vec<Pushed>> {
    let layout = OciLayout::open(layout_dir)?;
    let remote = OciSource::open(target, src)?;
    let mut out = Vec::new();
    let packs = layout.packs()?;
    for want in only {
        if !packs.iter().any(|(n, v, _)| &ref_name(n, v) == want) {
            return Err(Error::msg(format!(
                "no ref `{want}` in the layout `{}`",
                layout_dir.display()
            ))
            .with_hint("`aibox pack list oci-layout:<dir>` lists its packs"));
        }
    }
    for (name, version, desc) in packs {
        if !only.is_empty() && !only.contains(&ref_name(&name, &version)) {
            continue;
        }
        let mut blobs = Vec::new();
        let mut manifests = Vec::new();
        let closure = layout.closure(&desc)?;
        let (top, children) = closure.split_last().expect("closure ends with its root");
        // Manifests are read (and verified) whole; layers and configs are streamed from
        // their files, and the registry checks each digest as the upload ends.
        let manifest = |d: &artifact::Descriptor| -> Result<artifact::Blob> {
            let data = layout.read_blob(&d.digest, artifact::MAX_METADATA_BYTES)?;
            Ok(artifact::Blob::verified(d, data))
        };
        for (d, is_manifest) in children {
            if *is_manifest {
                manifests.push(manifest(d)?)
            } else {
                blobs.push(artifact::Blob::at(d, layout.blob_path(&d.digest)?))
            }
        }
        let top = manifest(&top.0)?;
        let digest = remote.push_parts(&name, &version.to_string(), blobs, manifests, &top)?;
        out.push(Pushed {
            name: name.clone(),
            version: version.to_string(),
            digest,
            location: format!("{target}/{name}:{version}"),
        });
    }
    if out.is_empty() {
        return Err(Error::msg(format!(
            "the layout `{}` holds no packs",
            layout_dir.display()
        )));
    }
    Ok(out)
}

/// What `pack pull` fetched.
#[derive(Debug, Clone, Serialize)]
pub struct Pulled {
    pub name: String,
    pub version: String,
    pub tree: String,
    pub store_path: PathBuf,
    pub output: Option<PathBuf>,
}

/// Fetch a pack (`oci://host/base/name:1.0.0` or `oci-layout:dir:name:1.0.0`; no version =
/// newest) into the store, verified, and copy its tree to `output` if given.
pub fn pull(
    reference: &str,
    output: Option<&Path>,
    platform: &str,
    src: &SourceOptions,
) -> Result<Pulled> {
    let r = PackRef::parse(reference)?;
    let cwd =
        std::env::current_dir().map_err(|e| Error::io("cannot read the current directory", e))?;
    let source = crate::registry::open_pack_source(&r.source, &cwd, src)?;
    let version = match r.version {
        Some(v) => v,
        None => source
            .versions(&r.name)?
            .into_iter()
            .filter(|v| v.pre.is_empty())
            .max()
            .ok_or_else(|| {
                Error::msg(format!(
                    "`{}` has only pre-release versions in `{}`",
                    r.name, r.source
                ))
                .with_hint("name the version: `<ref>:<version>`")
            })?,
    };
    let store = src.store()?;
    let _lock = store.lock(fs::LockMode::Shared)?;
    let (id, _info) = content::fetch_any(source.as_ref(), &store, &r.name, &version, platform)?;
    let store_path = store.pack_path(&id);
    if let Some(out) = output {
        if fs::exists(out).unwrap_or(false)
            && fs::read_dir(out)
                .map(|mut d| d.next().is_some())
                .unwrap_or(true)
        {
            return Err(
                Error::msg(format!("`{}` exists and is not empty", out.display()))
                    .with_hint("choose another `--output` directory or remove it"),
            );
        }
        copy_tree(&store_path, out)?;
    }
    Ok(Pulled {
        name: r.name,
        version: version.to_string(),
        tree: id.tree.to_string(),
        store_path,
        output: output.map(Path::to_owned),
    })
}

/// Copy a (read-only) store tree to a writable directory: files 0644/0755, symlinks as is.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |e: std::io::Error| Error::io(format!("cannot copy to `{p}`"), e)
    };
    fs::create_dir_all(to).map_err(io(to))?;
    for item in fs::read_dir(from).map_err(io(from))? {
        let item = item.map_err(io(from))?;
        let src = item.path();
        let dst = to.join(item.file_name());
        let ft = item.file_type().map_err(io(&src))?;
        if ft.is_symlink() {
            fs::symlink(fs::read_link(&src).map_err(io(&src))?, &dst).map_err(io(&dst))?;
        } else if ft.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            use fs::PermissionsExt;
            let exec = fs::metadata(&src).map_err(io(&src))?.permissions().mode() & 0o111 != 0;
            fs::copy(&src, &dst).map_err(io(&dst))?;
            fs::set_permissions(
                &dst,
                fs::Permissions::from_mode(if exec { 0o755 } else { 0o644 }),
            )
            .map_err(io(&dst))?;
        }
    }
    Ok(())
}

/// One pack of `pack list`.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub name: String,
    pub versions: Vec<String>,
}

/// Every pack and its versions in a source (`oci://host/base` or `oci-layout:<dir>`).
pub fn list(source_url: &str, src: &SourceOptions) -> Result<Vec<Listed>> {
    let cwd =
        std::env::current_dir().map_err(|e| Error::io("cannot read the current directory", e))?;
    let source = crate::registry::open_pack_source(source_url, &cwd, src)?;
    let mut out = Vec::new();
    for name in source.names()? {
        let mut versions = match source.versions(&name) {
            Ok(v) => v,
            Err(crate::registry::RegistryError::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        versions.sort();
        out.push(Listed {
            name,
            versions: versions.iter().map(ToString::to_string).collect(),
        });
    }
    Ok(out)
}
