//! cosign signature manifests in registries and layouts: finding the `sha256-<hex>.sig`
//! manifest of an artifact digest and reading its signatures, and making one — appending to
//! the signatures already there, as cosign does, never replacing them (`oci_push` and
//! `layout` write it). A missing signature
//! manifest is "no signatures"; any other failure to read one is an error, never an empty list.

use std::collections::BTreeMap;

use crate::registry::RegistryError;
use crate::registry::backends::backend::Backend;
use crate::registry::format::artifact::{self, Blob, Descriptor, MANIFEST_MEDIA_TYPE, Manifest};
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
pub(crate) fn build(entries: &[Entry]) -> (Vec<Blob>, Blob) {
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
pub(crate) fn appended(
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
