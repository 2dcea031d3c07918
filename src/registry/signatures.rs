//! cosign signature manifests in registries and layouts: finding the `sha256-<hex>.sig`
//! manifest of an artifact digest and reading its signatures, and writing one — appending to
//! the signatures already there, as cosign does, never replacing them. A missing signature
//! manifest is "no signatures"; any other failure to read one is an error, never an empty list.

use std::collections::BTreeMap;

use super::RegistryError;
use super::artifact::{self, Blob, Descriptor, MANIFEST_MEDIA_TYPE, Manifest};
use super::layout::{LayoutSource, OciLayout};
use super::oci::OciSource;
use super::read::Backend;
use crate::signature::{self, Entry};

/// The signatures the manifest tagged `sha256-<hex>.sig` in pack `name`'s repository holds,
/// each payload checked against its layer digest.
pub fn read(b: &dyn Backend, name: &str, digest: &str) -> Result<Vec<Entry>, RegistryError> {
    artifact::digest_hex(digest)?;
    let tag = signature::tag(digest);
    let Some((bytes, _)) = b.manifest_by_tag(name, &tag)? else {
        return Ok(Vec::new());
    };
    let what = format!("the signatures of {name} ({digest}) in `{}`", b.url());
    let manifest = artifact::parse_manifest(&bytes, &what)?;
    entries(b, name, &manifest)
}

fn entries(b: &dyn Backend, name: &str, m: &Manifest) -> Result<Vec<Entry>, RegistryError> {
    let mut out = Vec::new();
    for layer in m
        .layers
        .iter()
        .filter(|l| l.media_type == signature::SIMPLESIGNING)
        .take(signature::MAX_SIGNATURES)
    {
        let Some(sig) = layer.annotations.get(signature::SIGNATURE_ANNOTATION) else {
            continue;
        };
        let payload = b.small_blob(name, layer, signature::MAX_PAYLOAD_BYTES)?;
        out.push(Entry {
            payload,
            signature: sig.clone(),
        });
    }
    Ok(out)
}

/// The blobs and manifest of a signature manifest holding `entries`.
fn build(entries: &[Entry]) -> (Vec<Blob>, Blob) {
    let payloads: Vec<Blob> = entries
        .iter()
        .map(|e| Blob::new(signature::SIMPLESIGNING, e.payload.clone()))
        .collect();
    let digests: Vec<String> = payloads.iter().map(|b| b.digest.clone()).collect();
    let config = Blob::new(signature::CONFIG_MEDIA_TYPE, signature::config(&digests));
    let layers: Vec<Descriptor> = payloads
        .iter()
        .zip(entries)
        .map(|(b, e)| {
            let mut d = b.descriptor();
            d.annotations = BTreeMap::from([(
                signature::SIGNATURE_ANNOTATION.to_owned(),
                e.signature.clone(),
            )]);
            d
        })
        .collect();
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MANIFEST_MEDIA_TYPE.into()),
        artifact_type: None,
        config: config.descriptor(),
        layers,
        annotations: BTreeMap::new(),
    };
    let top = Blob::new(
        MANIFEST_MEDIA_TYPE,
        serde_json::to_vec(&manifest).expect("a manifest serializes"),
    );
    let mut blobs = payloads;
    blobs.push(config);
    (blobs, top)
}

/// `existing` plus `new` unless `duplicate` says one already there is the same signature
/// (cosign's check: the same payload, verifying under the same key); `None` when nothing
/// changes.
fn appended(
    existing: Vec<Entry>,
    new: Entry,
    duplicate: &dyn Fn(&Entry) -> bool,
) -> Option<Vec<Entry>> {
    if existing.iter().any(|e| *e == new || duplicate(e)) {
        return None;
    }
    let mut all = existing;
    all.push(new);
    Some(all)
}

impl OciSource {
    /// Add a signature for `digest` of pack `name` to the registry.
    pub fn push_signature(
        &self,
        name: &str,
        digest: &str,
        entry: Entry,
        duplicate: &dyn Fn(&Entry) -> bool,
    ) -> Result<bool, RegistryError> {
        let existing = read(self, name, digest)?;
        let Some(all) = appended(existing, entry, duplicate) else {
            return Ok(false);
        };
        let (blobs, top) = build(&all);
        self.push_parts(name, &signature::tag(digest), blobs, Vec::new(), &top)?;
        Ok(true)
    }
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
        let existing = read(self, name, digest)?;
        let Some(all) = appended(existing, entry, duplicate) else {
            return Ok(false);
        };
        write(self.layout(), name, digest, &all)?;
        Ok(true)
    }
}

/// Write a signature manifest holding `entries` into a layout (vendor copies them this way).
pub fn write(
    layout: &OciLayout,
    name: &str,
    digest: &str,
    entries: &[Entry],
) -> Result<(), RegistryError> {
    let (blobs, top) = build(entries);
    for b in blobs.iter().chain([&top]) {
        layout.put_blob(b)?;
    }
    layout.set_ref(
        &format!("{name}:{}", signature::tag(digest)),
        top.descriptor(),
    )
}
