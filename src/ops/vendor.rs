//! `aibox vendor <dir>`: copy every locked pack (its manifest or index, platform manifests,
//! configs and layers, each digest-checked; packs of `dir:` sources are built) into an OCI
//! image layout, so `sync` works air-gapped from `oci-layout:<dir>`.

use std::path::Path;

use semver::Version;
use serde::Serialize;

use crate::error::Result;
use crate::fs;
use crate::lockfile::Lockfile;
use crate::registry::SourceOptions;
use crate::registry::backends::layout::{OciLayout, ref_name};
use crate::registry::format::artifact::{self, TopLevel};
use crate::store::Store;

/// One pack to vendor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorItem {
    /// The source URL as locked (`oci://…`, `oci-layout:…`, or `dir:…`, whose packs are built).
    pub source: String,
    pub name: String,
    pub version: Version,
    /// The locked top-level digest; the tag must still point at it.
    pub digest: Option<String>,
}

/// The items of a lock (every package of an OCI source).
pub fn items_from_lock(lock: &Lockfile) -> Vec<VendorItem> {
    lock.packages
        .iter()
        .map(|p| VendorItem {
            source: p.source.clone(),
            name: p.name.clone(),
            version: p.version.clone(),
            digest: p.digest.clone(),
        })
        .collect()
}

/// What was vendored.
#[derive(Debug, Clone, Serialize)]
pub struct Vendored {
    pub name: String,
    pub version: String,
    pub digest: String,
    pub blobs: usize,
    pub bytes: u64,
}

/// Copy `items` into the layout `out` (created if needed); sources relative to `root`.
pub fn vendor(
    items: &[VendorItem],
    root: &Path,
    out: &Path,
    src: &SourceOptions,
) -> Result<Vec<Vendored>> {
    let store = src.store()?;
    // Blobs are staged (and `dir:` packs built) under the store's `tmp/`, which gc clears.
    let _lock = store.lock(fs::LockMode::Shared)?;
    let layout = OciLayout::create(out)?;
    let mut done = Vec::new();
    for item in items {
        if item.source.starts_with("dir:") {
            done.push(vendor_dir_pack(item, root, &store, &layout)?);
            continue;
        }
        let source = crate::registry::open_pack_source(&item.source, root, src)?;
        let (mut top_bytes, mut digest) = source.tagged(&item.name, &item.version)?;
        if let Some(locked) = &item.digest
            && *locked != digest
        {
            // The tag moved since locking: vendor exactly what the lock names.
            top_bytes = source.manifest_by_digest(&item.name, locked)?;
            digest = locked.clone();
        }
        let what = format!("{}@{}", item.name, item.version);
        let top = TopLevel::parse(&top_bytes, &what)?;
        let mut manifests = Vec::new();
        match &top {
            TopLevel::Manifest(m) => manifests.push(m.clone()),
            TopLevel::Index(i) => {
                for d in &i.manifests {
                    let bytes = source.manifest_by_digest(&item.name, &d.digest)?;
                    layout.write_blob(&d.digest, &bytes)?;
                    manifests.push(artifact::parse_manifest(&bytes, &what)?);
                }
            }
        }
        let (mut blobs, mut bytes) = (1usize, top_bytes.len() as u64);
        for m in &manifests {
            for d in std::iter::once(&m.config).chain(m.layers.iter()) {
                let dest = layout.blob_path(&d.digest)?;
                if !fs::exists(&dest).unwrap_or(false) {
                    let staged = source.stage_blob(&item.name, d, &store, None)?;
                    layout.copy_blob(&d.digest, staged.path())?;
                }
                blobs += 1;
                bytes += d.size;
            }
        }
        layout.write_blob(&digest, &top_bytes)?;
        let desc = artifact::Descriptor {
            media_type: top.media_type().into(),
            digest: digest.clone(),
            size: top_bytes.len() as u64,
            artifact_type: Some(artifact::ARTIFACT_TYPE.into()),
            platform: None,
            annotations: Default::default(),
        };
        layout.set_ref(&ref_name(&item.name, &item.version), desc)?;
        // Its signatures travel with it, so an air-gapped sync verifies them too.
        let signatures = source.signatures(&item.name, &digest)?;
        if !signatures.is_empty() {
            crate::registry::backends::layout::write_signatures(
                &layout,
                &item.name,
                &digest,
                &signatures,
            )?;
        }
        src.reporter.status(
            "Vendored",
            format!(
                "{what} ({digest}{})",
                match signatures.len() {
                    0 => String::new(),
                    n => format!(", {n} signature(s)"),
                }
            ),
        );
        done.push(Vendored {
            name: item.name.clone(),
            version: item.version.to_string(),
            digest,
            blobs,
            bytes,
        });
    }
    Ok(done)
}

/// A pack from a `dir:` source has no artifact yet: build it (deterministically, the same
/// tree the lock names) into the layout.
fn vendor_dir_pack(
    item: &VendorItem,
    root: &Path,
    store: &Store,
    layout: &OciLayout,
) -> Result<Vendored> {
    let path = item.source.strip_prefix("dir:").unwrap_or_default();
    let source = crate::registry::backends::dir::DirSource::open(
        &item.source,
        &root.join(path),
        store.reporter(),
    )?;
    let dir = source.pack_dir(&item.name, &item.version)?.to_owned();
    // A bare skill's version is the one the `dir:` source gave it (its `metadata.version`,
    // else 0.0.0); for a `pack.toml` it is the same as written there.
    let options = crate::registry::build::pack::BuildOptions {
        version: Some(item.version.clone()),
        ..crate::registry::build::pack::BuildOptions::default()
    };
    let built = crate::registry::build::pack::build(store, &[dir], &options)?;
    layout.add_pack(&built)?;
    let what = format!("{}@{}", item.name, item.version);
    store.reporter().status(
        "Vendored",
        format!(
            "{what} ({}, built from `{}`)",
            built.top.digest, item.source
        ),
    );
    Ok(Vendored {
        name: item.name.clone(),
        version: item.version.to_string(),
        digest: built.top.digest.clone(),
        blobs: built.blobs.len() + 1,
        bytes: built.blobs.iter().map(|b| b.size).sum::<u64>() + built.top.size,
    })
}
