//! Status documents in OCI sources (ARTIFACT.md §12): reading the manifest tagged
//! `aibox-status` in a pack's repository and its one JSON layer, and making one — an image
//! manifest whose config is the OCI empty config — that `oci_push` pushes to a registry and
//! `layout` writes into a layout. Signatures for it are cosign's, as for packs (`signatures`).

use std::collections::BTreeMap;

use crate::registry::RegistryError;
use crate::registry::backends::backend::Backend;
use crate::registry::format::artifact::{self, Blob, MANIFEST_MEDIA_TYPE, Manifest};
use crate::registry::lifecycle::{
    EMPTY_CONFIG_MEDIA_TYPE, MAX_STATUS_BYTES, Published, STATUS_ARTIFACT_TYPE, STATUS_MEDIA_TYPE,
    STATUS_TAG, StatusDoc,
};

/// The status document of pack `name`, and the digest of its manifest; `None` when the pack
/// has none. A document that breaks the format or its limits is an error naming it.
pub fn read(b: &dyn Backend, name: &str) -> Result<Option<Published>, RegistryError> {
    if b.lists_tag(name, STATUS_TAG) == Some(false) {
        return Ok(None);
    }
    let Some((bytes, digest)) = b.manifest_by_tag(name, STATUS_TAG)? else {
        return Ok(None);
    };
    let what = format!("the status document of `{name}` in `{}`", b.url());
    let bad = |message: String| RegistryError::BadContent {
        what: what.clone(),
        message,
    };
    let manifest = artifact::parse_manifest(&bytes, &what)?;
    let layer = match &manifest.layers[..] {
        [one] if one.media_type == STATUS_MEDIA_TYPE => one,
        _ => {
            return Err(bad(format!(
                "is malformed: expected one layer of type `{STATUS_MEDIA_TYPE}`"
            )));
        }
    };
    if layer.size > MAX_STATUS_BYTES {
        return Err(bad(format!(
            "is larger than {} KiB",
            MAX_STATUS_BYTES >> 10
        )));
    }
    let data = b.small_blob(name, layer, MAX_STATUS_BYTES)?;
    let doc = StatusDoc::parse(&data).map_err(|e| bad(format!("is refused: {}", e.0)))?;
    Ok(Some(Published {
        doc,
        digest: Some(digest),
    }))
}

/// The blobs (document, empty config) and the manifest that carry `doc`.
pub fn build(doc: &StatusDoc) -> (Vec<Blob>, Blob) {
    let layer = Blob::new(STATUS_MEDIA_TYPE, doc.render());
    let config = Blob::new(EMPTY_CONFIG_MEDIA_TYPE, b"{}".to_vec());
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MANIFEST_MEDIA_TYPE.into()),
        artifact_type: Some(STATUS_ARTIFACT_TYPE.into()),
        config: config.descriptor(),
        layers: vec![layer.descriptor()],
        annotations: BTreeMap::new(),
    };
    let top = Blob::new(
        MANIFEST_MEDIA_TYPE,
        serde_json::to_vec(&manifest).expect("a manifest serializes"),
    );
    (vec![layer, config], top)
}
