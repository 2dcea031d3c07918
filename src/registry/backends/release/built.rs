//! What a release archive was built into, remembered between runs (the cache's
//! `release-built/`): a later run whose pack tree is still in the store reads the manifest
//! from it instead of downloading the archive again — so changing a profile that holds
//! release-archive packs downloads nothing, and works offline.

use std::sync::Arc;

use semver::Version;

use super::{ArchiveSource, Built};
use crate::fs;
use crate::store::PackId;

/// The record of [`Built`] kept between runs (in the cache's `release-built/`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct BuiltRecord {
    name: String,
    version: String,
    sha256: String,
    tree: String,
}

impl ArchiveSource {
    /// Where what `url` was built into is remembered between runs (`None` without a home).
    fn built_record(&self, url: &str) -> Option<std::path::PathBuf> {
        Some(self.opts.cache_dir()?.join("release-built").join(format!(
            "{}.json",
            crate::registry::transfer::cache::escape(url)
        )))
    }

    /// What an earlier run built from `url` as `name@version`, when that pack tree is still
    /// in the store: its manifest is read from the stored tree, whose files are checked by
    /// their hashes like any other. The record is a cache: anything wrong with it is a miss.
    pub(super) fn built_before(&self, name: &str, version: &Version, url: &str) -> Option<Built> {
        let path = self.built_record(url)?;
        let text = fs::read_regular_string(&path, 4096).ok()?;
        let record: BuiltRecord = serde_json::from_str(&text).ok()?;
        if record.name != name || record.version != version.to_string() {
            return None;
        }
        let id = PackId {
            tree: record.tree.parse().ok()?,
            name: name.to_owned(),
            version: version.to_string(),
        };
        let store = self.opts.store().ok()?;
        if !store.has_pack(&id) {
            return None;
        }
        let manifest_path = store.pack_path(&id).join("pack.toml");
        let text =
            fs::read_regular_string(&manifest_path, crate::manifest::pack::MAX_PACK_TOML_BYTES)
                .ok()?;
        let manifest = crate::manifest::parse_pack(&text, &manifest_path).ok()?;
        (manifest.pack.name == name && &manifest.pack.version == version).then(|| Built {
            sha256: record.sha256,
            id,
            manifest: Arc::new(manifest),
        })
    }

    /// Remember what `url` was built into, for [`ArchiveSource::built_before`] (best effort).
    pub(super) fn remember_built(&self, url: &str, built: &Built) {
        let Some(path) = self.built_record(url) else {
            return;
        };
        let record = BuiltRecord {
            name: built.id.name.clone(),
            version: built.id.version.clone(),
            sha256: built.sha256.clone(),
            tree: built.id.tree.to_string(),
        };
        if let Some(dir) = path.parent()
            && fs::create_dir_all(dir).is_ok()
            && let Ok(text) = serde_json::to_string(&record)
        {
            let _ = fs::write_atomic(&path, text.as_bytes());
        }
    }
}
