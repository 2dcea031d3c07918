//! Hand-built hostile inputs: raw tar streams (any name, link target, entry type, GNU long
//! names) and OCI image layouts holding artifacts whose config, layers and annotations say
//! whatever the test wants — the way an attacker would build them, not through aibox.

use std::path::Path;

use sha2::{Digest as _, Sha256};

/// `sha256:<hex>` of bytes.
pub fn sha(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// One raw tar entry.
pub struct TarEntry<'a> {
    pub path: &'a str,
    pub kind: tar::EntryType,
    pub link: &'a str,
    pub data: &'a [u8],
    pub mode: u32,
}

impl<'a> TarEntry<'a> {
    pub fn file(path: &'a str, data: &'a [u8]) -> Self {
        TarEntry {
            path,
            kind: tar::EntryType::Regular,
            link: "",
            data,
            mode: 0o644,
        }
    }
    pub fn exe(path: &'a str, data: &'a [u8]) -> Self {
        TarEntry {
            mode: 0o755,
            ..TarEntry::file(path, data)
        }
    }
    pub fn dir(path: &'a str) -> Self {
        TarEntry {
            path,
            kind: tar::EntryType::Directory,
            link: "",
            data: b"",
            mode: 0o755,
        }
    }
    pub fn symlink(path: &'a str, target: &'a str) -> Self {
        TarEntry {
            path,
            kind: tar::EntryType::Symlink,
            link: target,
            data: b"",
            mode: 0o777,
        }
    }
}

fn header(out: &mut Vec<u8>, name: &[u8], kind: tar::EntryType, link: &str, size: u64, mode: u32) {
    let mut h = tar::Header::new_gnu();
    {
        let gnu = h.as_gnu_mut().unwrap();
        let n = name.len().min(100);
        gnu.name[..n].copy_from_slice(&name[..n]);
        let l = link.len().min(100);
        gnu.linkname[..l].copy_from_slice(&link.as_bytes()[..l]);
    }
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(0);
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
}

fn pad(out: &mut Vec<u8>) {
    out.resize(out.len().div_ceil(512) * 512, 0);
}

/// A tar stream of `entries`, exactly as given (no checks; GNU long-name records for names
/// over 100 bytes), ended by two zero blocks.
pub fn tar(entries: &[TarEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        if e.path.len() > 100 {
            let mut name = e.path.as_bytes().to_vec();
            name.push(0);
            header(
                &mut out,
                b"././@LongLink",
                tar::EntryType::GNULongName,
                "",
                name.len() as u64,
                0o644,
            );
            out.extend_from_slice(&name);
            pad(&mut out);
        }
        header(
            &mut out,
            e.path.as_bytes(),
            e.kind,
            e.link,
            e.data.len() as u64,
            e.mode,
        );
        out.extend_from_slice(e.data);
        pad(&mut out);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// One layer of an artifact.
pub struct Layer {
    pub media_type: String,
    pub data: Vec<u8>,
    pub title: Option<String>,
}

impl Layer {
    pub fn tar(data: Vec<u8>) -> Layer {
        Layer {
            media_type: "application/vnd.oci.image.layer.v1.tar".into(),
            data,
            title: None,
        }
    }
}

/// An artifact as an attacker writes it: any config JSON, any layers.
pub struct Artifact {
    pub config_media_type: String,
    pub config: Vec<u8>,
    pub layers: Vec<Layer>,
}

impl Artifact {
    /// An aibox pack artifact whose config carries `pack` (the pack.toml as JSON) and a tree
    /// hash that need not be right.
    pub fn aibox(pack: serde_json::Value, layers: Vec<Layer>) -> Artifact {
        let config = serde_json::json!({
            "pack": pack,
            "tree": format!("blake3:{}", "0".repeat(64)),
            "platforms": [],
        });
        Artifact {
            config_media_type: "application/vnd.aibox.pack.config.v1+json".into(),
            config: serde_json::to_vec(&config).unwrap(),
            layers,
        }
    }
}

/// Write an OCI image layout at `dir` holding each artifact under its ref name (`name:1.0.0`).
pub fn layout(dir: &Path, artifacts: &[(&str, &Artifact)]) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |b: &[u8]| {
        let d = sha(b);
        std::fs::write(blobs.join(d.strip_prefix("sha256:").unwrap()), b).unwrap();
        d
    };
    let mut refs = Vec::new();
    for (name, a) in artifacts {
        let cd = put(&a.config);
        let layers: Vec<serde_json::Value> = a
            .layers
            .iter()
            .map(|l| {
                let mut d = serde_json::json!({
                    "mediaType": l.media_type, "digest": put(&l.data), "size": l.data.len(),
                });
                if let Some(t) = &l.title {
                    d["annotations"] = serde_json::json!({"org.opencontainers.image.title": t});
                }
                d
            })
            .collect();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": a.config_media_type, "digest": cd, "size": a.config.len()},
            "layers": layers,
        });
        let manifest = serde_json::to_vec(&manifest).unwrap();
        let md = put(&manifest);
        refs.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md,
            "size": manifest.len(), "annotations": {"org.opencontainers.image.ref.name": name},
        }));
    }
    let index = serde_json::json!({"schemaVersion": 2, "manifests": refs});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}
