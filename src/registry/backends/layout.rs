//! OCI image layout directories (image-spec `image-layout.md`): the `oci-layout` marker,
//! `index.json` and `blobs/sha256/<hex>`, read and written; packs are found by the
//! `org.opencontainers.image.ref.name` annotation `<name>:<version>`. [`LayoutSource`] serves
//! them as an `oci-layout:` source.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use semver::Version;

use crate::fs;
use crate::manifest::pack::PackManifest;
use crate::registry::RegistryError;
use crate::registry::backends::backend::Backend;
use crate::registry::backends::content;
use crate::registry::format::artifact::{
    self, ANN_REF_NAME, Blob, Body, BuiltPack, Descriptor, INDEX_MEDIA_TYPE, Index,
};
use crate::signature::{self, Entry};
use crate::store::{PackId, Store};

const LAYOUT_MARKER: &str = r#"{"imageLayoutVersion":"1.0.0"}"#;

/// One OCI image layout directory.
#[derive(Debug, Clone)]
pub struct OciLayout {
    dir: PathBuf,
}

fn io_err(context: String) -> impl FnOnce(std::io::Error) -> RegistryError {
    move |source| RegistryError::Io { context, source }
}

/// The ref name of a pack version in a layout.
pub fn ref_name(name: &str, version: &Version) -> String {
    format!("{name}:{version}")
}

impl OciLayout {
    /// Open an existing layout (checks the `oci-layout` marker).
    pub fn open(dir: &Path) -> Result<OciLayout, RegistryError> {
        let marker = dir.join("oci-layout");
        let text = fs::read_regular_string(&marker, 4096).map_err(|source| RegistryError::Io {
            context: format!(
                "`{}` is not an OCI image layout (no readable `oci-layout` file)",
                dir.display()
            ),
            source,
        })?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            artifact::invalid(&marker.display().to_string(), format!("not JSON: {e}"))
        })?;
        if v.get("imageLayoutVersion").and_then(|v| v.as_str()) != Some("1.0.0") {
            return Err(artifact::invalid(
                &marker.display().to_string(),
                "unsupported imageLayoutVersion (expected 1.0.0)",
            ));
        }
        Ok(OciLayout {
            dir: dir.to_owned(),
        })
    }

    /// Open a layout, creating an empty one if `dir` does not hold one yet.
    pub fn create(dir: &Path) -> Result<OciLayout, RegistryError> {
        if fs::exists(&dir.join("oci-layout"))
            .map_err(io_err(format!("cannot read `{}`", dir.display())))?
        {
            return OciLayout::open(dir);
        }
        let blobs = dir.join("blobs/sha256");
        fs::create_dir_all(&blobs)
            .map_err(io_err(format!("cannot create `{}`", blobs.display())))?;
        let layout = OciLayout {
            dir: dir.to_owned(),
        };
        layout.write_index(&Index {
            schema_version: 2,
            media_type: Some(INDEX_MEDIA_TYPE.into()),
            artifact_type: None,
            manifests: Vec::new(),
            annotations: BTreeMap::new(),
        })?;
        fs::write_atomic(&dir.join("oci-layout"), LAYOUT_MARKER.as_bytes()).map_err(io_err(
            format!("cannot write `{}`", dir.join("oci-layout").display()),
        ))?;
        Ok(layout)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn blob_path(&self, digest: &str) -> Result<PathBuf, RegistryError> {
        Ok(self
            .dir
            .join("blobs/sha256")
            .join(artifact::digest_hex(digest)?))
    }

    /// `index.json`.
    pub fn index(&self) -> Result<Index, RegistryError> {
        let path = self.dir.join("index.json");
        let bytes = fs::read_regular(&path, artifact::MAX_METADATA_BYTES * 4)
            .map_err(io_err(format!("cannot read `{}`", path.display())))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            artifact::invalid(
                &path.display().to_string(),
                format!("malformed index.json: {e}"),
            )
        })
    }

    fn write_index(&self, index: &Index) -> Result<(), RegistryError> {
        let path = self.dir.join("index.json");
        let bytes = serde_json::to_vec(index).expect("index serializes");
        fs::write_atomic(&path, &bytes)
            .map_err(io_err(format!("cannot write `{}`", path.display())))
    }

    /// Add a blob (content-addressed; an existing blob is kept).
    pub fn write_blob(&self, digest: &str, data: &[u8]) -> Result<(), RegistryError> {
        let path = self.blob_path(digest)?;
        if fs::exists(&path).map_err(io_err(format!("cannot stat `{}`", path.display())))? {
            return Ok(());
        }
        let dir = self.dir.join("blobs/sha256");
        fs::create_dir_all(&dir).map_err(io_err(format!("cannot create `{}`", dir.display())))?;
        fs::write_atomic(&path, data).map_err(io_err(format!("cannot write `{}`", path.display())))
    }

    /// Add a built blob, from memory or from its file (content-addressed; an existing blob is
    /// kept).
    pub fn put_blob(&self, blob: &Blob) -> Result<(), RegistryError> {
        match &blob.body {
            Body::Bytes(data) => self.write_blob(&blob.digest, data),
            Body::File { path, .. } => self.copy_blob(&blob.digest, path),
        }
    }

    /// Add a blob by copying a file whose digest is already known to be `digest`.
    pub fn copy_blob(&self, digest: &str, from: &Path) -> Result<(), RegistryError> {
        let dest = self.blob_path(digest)?;
        if fs::exists(&dest).map_err(io_err(format!("cannot stat `{}`", dest.display())))? {
            return Ok(());
        }
        let dir = self.dir.join("blobs/sha256");
        fs::create_dir_all(&dir).map_err(io_err(format!("cannot create `{}`", dir.display())))?;
        fs::copy_noclobber(from, &dest)
            .map_err(io_err(format!("cannot copy to `{}`", dest.display())))?;
        Ok(())
    }

    /// Read a blob whole, verified against its digest, at most `max` bytes.
    pub fn read_blob(&self, digest: &str, max: u64) -> Result<Vec<u8>, RegistryError> {
        let path = self.blob_path(digest)?;
        let meta = fs::metadata(&path).map_err(io_err(format!(
            "blob {digest} is missing from `{}`",
            self.dir.display()
        )))?;
        if meta.len() > max {
            return Err(artifact::invalid(
                &path.display().to_string(),
                format!("blob is {} bytes, more than the {max} allowed", meta.len()),
            ));
        }
        let bytes = fs::read_regular(&path, max)
            .map_err(io_err(format!("cannot read `{}`", path.display())))?;
        crate::registry::format::digest::check_bytes(digest, &bytes, &path.display().to_string())?;
        Ok(bytes)
    }

    /// Point the ref `name` at a manifest or index descriptor (replacing an older one).
    pub fn set_ref(&self, name: &str, mut desc: Descriptor) -> Result<(), RegistryError> {
        let mut index = self.index()?;
        index
            .manifests
            .retain(|d| d.annotations.get(ANN_REF_NAME).map(String::as_str) != Some(name));
        desc.annotations.insert(ANN_REF_NAME.into(), name.into());
        index.manifests.push(desc);
        index.manifests.sort_by(|a, b| {
            a.annotations
                .get(ANN_REF_NAME)
                .cmp(&b.annotations.get(ANN_REF_NAME))
        });
        self.write_index(&index)
    }

    /// The descriptor a ref points at.
    pub fn find_ref(&self, name: &str) -> Result<Option<Descriptor>, RegistryError> {
        Ok(self
            .index()?
            .manifests
            .into_iter()
            .find(|d| d.annotations.get(ANN_REF_NAME).map(String::as_str) == Some(name)))
    }

    /// Every `(pack name, version)` with a ref in the layout (other refs are ignored).
    pub fn packs(&self) -> Result<Vec<(String, Version, Descriptor)>, RegistryError> {
        let mut out = Vec::new();
        for d in self.index()?.manifests {
            let Some(r) = d.annotations.get(ANN_REF_NAME) else {
                continue;
            };
            let Some((name, v)) = r.rsplit_once(':') else {
                continue;
            };
            if let Ok(v) = Version::parse(v) {
                out.push((name.to_owned(), v, d.clone()));
            }
        }
        out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        Ok(out)
    }

    /// Write a built pack: its blobs, its top-level manifest or index, and the ref
    /// `<name>:<version>`.
    pub fn add_pack(&self, built: &BuiltPack) -> Result<Descriptor, RegistryError> {
        for blob in built.blobs.iter().chain([&built.top]) {
            self.put_blob(blob)?;
        }
        let mut desc = built.top.descriptor();
        desc.artifact_type = Some(artifact::ARTIFACT_TYPE.into());
        self.set_ref(&ref_name(&built.name, &built.version), desc.clone())?;
        Ok(desc)
    }

    /// Every blob reachable from a manifest or index (children first, the root last), as
    /// `(descriptor, is manifest)`.
    pub fn closure(&self, root: &Descriptor) -> Result<Vec<(Descriptor, bool)>, RegistryError> {
        let mut out = Vec::new();
        let bytes = self.read_blob(&root.digest, artifact::MAX_METADATA_BYTES)?;
        match artifact::TopLevel::parse(&bytes, &root.digest)? {
            artifact::TopLevel::Manifest(m) => {
                out.push((m.config.clone(), false));
                out.extend(m.layers.iter().map(|l| (l.clone(), false)));
            }
            artifact::TopLevel::Index(i) => {
                for d in &i.manifests {
                    out.extend(self.closure(d)?);
                }
            }
        }
        let mut root = root.clone();
        root.annotations.remove(ANN_REF_NAME);
        out.push((root, true));
        Ok(out)
    }
}

/// An `oci-layout:<dir>` source.
#[derive(Debug)]
pub struct LayoutSource {
    url: String,
    layout: OciLayout,
    reporter: crate::printer::Reporter,
    home: crate::store::Home,
}

impl LayoutSource {
    /// Open the layout at `dir` (`url` is the source as written, e.g. `oci-layout:./vendor`).
    pub fn open(url: &str, dir: &Path) -> Result<LayoutSource, RegistryError> {
        Ok(LayoutSource {
            url: url.to_owned(),
            layout: OciLayout::open(dir)?,
            reporter: crate::printer::Reporter::default(),
            home: crate::store::Home::default(),
        })
    }

    /// Report (the store handles it opens, warnings) through the options' reporter, and
    /// compute lock entries in the options' home.
    pub fn with_options(mut self, opts: &crate::registry::SourceOptions) -> LayoutSource {
        self.reporter = opts.reporter;
        self.home = opts.home;
        self
    }

    pub fn layout(&self) -> &OciLayout {
        &self.layout
    }

    /// Fetch a version's artifact for `platform` and build it (tree hash from its config).
    pub fn pull(
        &self,
        name: &str,
        version: &Version,
        platform: &str,
        store: &Store,
    ) -> Result<(PackId, Arc<PackManifest>), RegistryError> {
        let (id, info) = content::fetch_any(self, store, name, version, platform)?;
        Ok((id, info.pack))
    }

    fn not_found(&self, name: &str) -> RegistryError {
        let names = self.list_names().unwrap_or_default();
        let suggestion = crate::manifest::did_you_mean(name, names.iter().map(String::as_str));
        RegistryError::NotFound {
            name: name.into(),
            source_url: self.url.clone(),
            suggestion,
        }
    }
}

impl Backend for LayoutSource {
    fn reporter(&self) -> crate::printer::Reporter {
        self.reporter
    }
    fn home(&self) -> crate::store::Home {
        self.home
    }
    fn url(&self) -> &str {
        &self.url
    }

    fn list_names(&self) -> Result<Vec<String>, RegistryError> {
        let mut names: Vec<String> = self
            .layout
            .packs()?
            .into_iter()
            .map(|(n, _, _)| n)
            .collect();
        names.dedup();
        Ok(names)
    }

    fn list_versions(&self, name: &str) -> Result<Vec<Version>, RegistryError> {
        let mut versions: Vec<Version> = self
            .layout
            .packs()?
            .into_iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, v, _)| v)
            .collect();
        if versions.is_empty() {
            return Err(self.not_found(name));
        }
        versions.sort();
        Ok(versions)
    }

    fn tagged(&self, name: &str, version: &Version) -> Result<(Vec<u8>, String), RegistryError> {
        let Some(desc) = self.layout.find_ref(&ref_name(name, version))? else {
            return Err(if self.list_versions(name).is_ok() {
                RegistryError::NoSuchVersion {
                    name: name.into(),
                    version: version.clone(),
                    source_url: self.url.clone(),
                }
            } else {
                self.not_found(name)
            });
        };
        let bytes = self
            .layout
            .read_blob(&desc.digest, artifact::MAX_METADATA_BYTES)?;
        Ok((bytes, desc.digest))
    }

    fn manifest_by_digest(&self, _name: &str, digest: &str) -> Result<Vec<u8>, RegistryError> {
        self.layout.read_blob(digest, artifact::MAX_METADATA_BYTES)
    }

    fn manifest_by_tag(
        &self,
        name: &str,
        tag: &str,
    ) -> Result<Option<(Vec<u8>, String)>, RegistryError> {
        let Some(desc) = self.layout.find_ref(&format!("{name}:{tag}"))? else {
            return Ok(None);
        };
        let bytes = self
            .layout
            .read_blob(&desc.digest, artifact::MAX_METADATA_BYTES)?;
        Ok(Some((bytes, desc.digest)))
    }

    fn small_blob(
        &self,
        _name: &str,
        desc: &Descriptor,
        max: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        if desc.size > max {
            return Err(artifact::invalid(
                &self.url,
                format!(
                    "blob {} is {} bytes, more than the {max} allowed",
                    desc.digest, desc.size
                ),
            ));
        }
        self.layout.read_blob(&desc.digest, max)
    }

    fn stage_blob(
        &self,
        _name: &str,
        desc: &Descriptor,
        store: &Store,
        tee: Option<&crate::registry::transfer::tee::Tee>,
    ) -> Result<tempfile::NamedTempFile, RegistryError> {
        let path = self.layout.blob_path(&desc.digest)?;
        let file = fs::open_regular(&path).map_err(io_err(format!(
            "blob {} is missing from `{}`",
            desc.digest,
            self.layout.dir.display()
        )))?;
        crate::registry::transfer::unpack::stage_verified(
            file,
            desc,
            &store.staging()?,
            &path.display().to_string(),
            tee,
        )
    }
}

/// The directory of an `oci-layout:<dir>` URL, relative paths taken from `project_root`.
pub fn layout_dir(url: &str, project_root: &Path) -> Result<PathBuf, RegistryError> {
    let rest = url
        .strip_prefix("oci-layout:")
        .ok_or_else(|| RegistryError::bad_url(url, "expected `oci-layout:<dir>`"))?;
    if rest.is_empty() {
        return Err(RegistryError::bad_url(
            url,
            "the layout directory is missing",
        ));
    }
    Ok(project_root.join(rest))
}

impl LayoutSource {
    /// Add a signature for `digest` of pack `name` to the layout.
    pub fn push_signature(
        &self,
        name: &str,
        digest: &str,
        entry: Entry,
        duplicate: &dyn Fn(&Entry) -> bool,
    ) -> Result<bool, RegistryError> {
        let existing = crate::registry::backends::signatures::read(self, name, digest)?;
        let Some(all) = crate::registry::backends::signatures::appended(existing, entry, duplicate)
        else {
            return Ok(false);
        };
        write_signatures(self.layout(), name, digest, &all)?;
        Ok(true)
    }
}

impl LayoutSource {
    /// Write `doc` as the status document of `name` (ref `<name>:aibox-status`, ARTIFACT.md
    /// §12); returns its manifest digest.
    pub fn write_status(
        &self,
        name: &str,
        doc: &crate::registry::lifecycle::StatusDoc,
    ) -> Result<String, RegistryError> {
        use crate::registry::lifecycle::{STATUS_ARTIFACT_TYPE, STATUS_TAG};
        let (blobs, top) = crate::registry::backends::status::build(doc);
        for b in blobs.iter().chain([&top]) {
            self.layout().put_blob(b)?;
        }
        let mut desc = top.descriptor();
        desc.artifact_type = Some(STATUS_ARTIFACT_TYPE.into());
        self.layout()
            .set_ref(&format!("{name}:{STATUS_TAG}"), desc)?;
        Ok(top.digest)
    }
}

/// Write a signature manifest holding `entries` into a layout (vendor copies them this way).
pub fn write_signatures(
    layout: &OciLayout,
    name: &str,
    digest: &str,
    entries: &[Entry],
) -> Result<(), RegistryError> {
    let (blobs, top) = crate::registry::backends::signatures::build(entries);
    for b in blobs.iter().chain([&top]) {
        layout.put_blob(b)?;
    }
    layout.set_ref(
        &format!("{name}:{}", signature::tag(digest)),
        top.descriptor(),
    )
}
