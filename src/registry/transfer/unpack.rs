//! Reading a pack manifest's content back: the aibox config, its single tar layer (plain,
//! gzip or zstd) or ORAS per-file layers into a store tree, and copying any blob into a
//! staging file only when its size and SHA-256 match the descriptor.

use std::collections::BTreeSet;
use std::io::{Read, Seek};
use std::path::Path;

use crate::fs;
use crate::manifest::pack::PackManifest;
use crate::registry::RegistryError;
use crate::registry::format::artifact::{
    ANN_ORAS_UNPACK, ANN_TITLE, CONFIG_MEDIA_TYPE, Descriptor, LAYER_TAR, LAYER_TAR_GZIP, Manifest,
    PackConfig, invalid,
};
use crate::registry::format::digest::DigestCheck;
use crate::store::tree::{Entry, Tree};
use crate::store::{Store, ingest};

/// Whether a manifest is an aibox pack (its config is an aibox pack config).
pub fn is_aibox(manifest: &Manifest) -> bool {
    manifest.config.media_type == CONFIG_MEDIA_TYPE
}

/// Parse an aibox config blob and check its pack metadata exactly as a `pack.toml` is checked
/// (names, dependency names, `[bin]`, environment variable names), and its platforms.
pub fn parse_config(bytes: &[u8], what: &str) -> Result<PackConfig, RegistryError> {
    let config: PackConfig = serde_json::from_slice(bytes)
        .map_err(|e| invalid(what, format!("malformed pack config: {e}")))?;
    crate::manifest::check_pack(&config.pack).map_err(|p| {
        invalid(
            what,
            format!(
                "its pack metadata is invalid at `{}`: {}",
                p.key_path(),
                p.message
            ),
        )
    })?;
    if let Some(p) = config
        .platforms
        .iter()
        .find(|p| !crate::platform::KNOWN.contains(&p.as_str()))
    {
        return Err(invalid(
            what,
            format!("its config names an unknown platform `{p}`"),
        ));
    }
    Ok(config)
}

/// The layer of an ORAS per-file artifact holding `pack.toml`.
pub fn pack_toml_layer<'a>(
    manifest: &'a Manifest,
    what: &str,
) -> Result<&'a Descriptor, RegistryError> {
    manifest
        .layers
        .iter()
        .find(|l| l.title() == Some("pack.toml") && !is_unpack(l))
        .ok_or_else(|| {
            invalid(
                what,
                "not an aibox pack: no aibox config and no `pack.toml` layer",
            )
        })
}

/// Whether an ORAS layer is a directory archive: the `unpack` annotation (oras-go) or the
/// `tar+gzip` media type (oras-py, which sets no annotation).
fn is_unpack(d: &Descriptor) -> bool {
    d.annotations
        .get(ANN_ORAS_UNPACK)
        .is_some_and(|v| v == "true")
        || d.media_type == LAYER_TAR_GZIP
}

/// Ingest one tar layer (plain, gzip or zstd by media type) from a verified staging file.
pub fn ingest_layer(
    store: &Store,
    desc: &Descriptor,
    file: impl Read,
    what: &str,
    limits: &crate::store::budget::Limits,
) -> Result<Tree, RegistryError> {
    Ok(store.ingest_tar(layer_tar(desc, file, what)?, limits)?)
}

/// The tar inside a layer: `layer` decompressed as its media type says (plain, gzip, zstd).
pub fn layer_tar<'a>(
    desc: &Descriptor,
    layer: impl Read + 'a,
    what: &str,
) -> Result<Box<dyn Read + 'a>, RegistryError> {
    let mt = desc.media_type.as_str();
    if mt.ends_with("+zstd") || mt.ends_with(".zstd") {
        let dec = zstd::stream::read::Decoder::new(layer).map_err(|source| RegistryError::Io {
            context: format!("cannot decompress the layer of {what}"),
            source,
        })?;
        Ok(Box::new(dec))
    } else if mt.ends_with("+gzip")
        || mt.ends_with(".gzip")
        || mt.ends_with("tar.gz")
        || is_unpack(desc)
    {
        Ok(Box::new(flate2::read::GzDecoder::new(layer)))
    } else if mt == LAYER_TAR || mt.ends_with(".tar") || mt == "application/x-tar" {
        Ok(Box::new(layer))
    } else {
        Err(invalid(
            what,
            format!("unsupported layer media type `{mt}`"),
        ))
    }
}

/// Build the tree of an ORAS per-file artifact: each layer is the file named by its title
/// (executable when `pack.toml`'s `[bin]` names it), or a directory tar.gz (ORAS `unpack`
/// annotation or `tar+gzip` media type) whose entries (`<dir>/…`) are merged at the root. `open` gives each layer's verified content.
pub fn oras_tree(
    store: &Store,
    manifest: &Manifest,
    pack: &PackManifest,
    what: &str,
    open: &mut dyn FnMut(&Descriptor) -> Result<fs::File, RegistryError>,
) -> Result<Tree, RegistryError> {
    let executables: BTreeSet<&str> = pack
        .bin
        .values()
        .map(|p| p.trim_start_matches("./"))
        .collect();
    let mut root = Tree::default();
    let mut batch = store.batch();
    // One budget for the whole artifact: many layers do not get a cap each.
    let limits =
        crate::store::budget::Limits::for_compressed(manifest.layers.iter().map(|l| l.size).sum());
    for layer in &manifest.layers {
        let title = layer.title().ok_or_else(|| {
            invalid(
                what,
                format!("layer {} has no `{ANN_TITLE}` annotation", layer.digest),
            )
        })?;
        let file = open(layer)?;
        if is_unpack(layer) {
            let sub = ingest_layer(store, layer, file, what, &limits)?;
            merge(&mut root, sub, title)?;
            continue;
        }
        let parts = ingest::split_path(title)?;
        let exec = executables.contains(title);
        limits.count_entry()?;
        let stored = batch.add_reader(file, exec, &limits)?;
        let entry = Entry::File {
            hash: stored.hash,
            size: stored.size,
            executable: exec,
        };
        ingest::insert(&mut root, title, &parts, entry)?;
    }
    batch.commit()?;
    Ok(root)
}

fn merge(into: &mut Tree, from: Tree, raw: &str) -> Result<(), RegistryError> {
    for (name, entry) in from.entries {
        match (into.entries.get_mut(&name), entry) {
            (None, e) => {
                into.entries.insert(name, e);
            }
            (Some(Entry::Dir(a)), Entry::Dir(b)) => merge(a, b, raw)?,
            _ => {
                return Err(RegistryError::Store(crate::store::StoreError::BadEntry {
                    entry: format!("{raw}: {name}"),
                    reason: "duplicate entry".into(),
                }));
            }
        }
    }
    Ok(())
}

/// Copy `reader` into a new staging file in `dir`, checking size and SHA-256 against `desc`
/// while streaming (and handing the bytes on to `tee`); the file is returned rewound only when
/// both match.
pub fn stage_verified(
    mut reader: impl Read,
    desc: &Descriptor,
    dir: &Path,
    what: &str,
    tee: Option<&crate::registry::transfer::tee::Tee>,
) -> Result<tempfile::NamedTempFile, RegistryError> {
    use std::io::Write;
    let mut check = DigestCheck::new(&desc.digest, Some(desc.size), what)?;
    let io = |context: String| move |source| RegistryError::Io { context, source };
    let mut tmp = fs::temp_file_in(dir).map_err(io(format!(
        "cannot create a staging file in `{}`",
        dir.display()
    )))?;
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(io(format!("cannot read blob {} of {what}", desc.digest)))?;
        if n == 0 {
            break;
        }
        check.update(&buf[..n])?;
        tmp.write_all(&buf[..n])
            .map_err(io(format!("cannot write `{}`", tmp.path().display())))?;
        if let Some(tee) = tee {
            tee.send(bytes::Bytes::copy_from_slice(&buf[..n]));
        }
    }
    check.finish()?;
    tmp.as_file_mut()
        .rewind()
        .map_err(io("cannot rewind a staging file".into()))?;
    Ok(tmp)
}
