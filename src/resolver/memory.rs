//! An in-memory [`PackIndex`]: pack manifests held in a map. Used by tests and benchmarks, and
//! by callers that fetch all metadata first and then solve from memory.

use std::collections::BTreeMap;
use std::sync::Arc;

use semver::Version;

use super::index::{IndexError, PackIndex};
use crate::manifest::pack::{PackKind, PackManifest};

/// Packs by name and version, reported as coming from `source_url`.
#[derive(Debug, Clone, Default)]
pub struct MemoryIndex {
    source_url: String,
    packs: BTreeMap<String, BTreeMap<Version, Arc<PackManifest>>>,
    status: BTreeMap<String, Arc<crate::registry::lifecycle::StatusDoc>>,
}

impl MemoryIndex {
    pub fn new(source_url: impl Into<String>) -> MemoryIndex {
        MemoryIndex {
            source_url: source_url.into(),
            packs: BTreeMap::new(),
            status: BTreeMap::new(),
        }
    }

    /// Set the publisher's marks of pack `name`.
    pub fn set_status(&mut self, name: &str, doc: crate::registry::lifecycle::StatusDoc) {
        self.status.insert(name.to_owned(), Arc::new(doc));
    }

    /// Add (or replace) one pack version.
    pub fn insert(&mut self, manifest: PackManifest) {
        self.packs
            .entry(manifest.pack.name.clone())
            .or_default()
            .insert(manifest.pack.version.clone(), Arc::new(manifest));
    }

    /// Add a tool pack version with these dependencies (name → request).
    pub fn add(&mut self, name: &str, version: Version, dependencies: &[(&str, &str)]) {
        self.insert(minimal_manifest(name, version, dependencies, None));
    }

    /// How many pack versions the index holds.
    pub fn len(&self) -> usize {
        self.packs.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.packs.is_empty()
    }
}

/// A `pack.toml` with only a name, version, dependencies and optional `requires-aibox`.
pub fn minimal_manifest(
    name: &str,
    version: Version,
    dependencies: &[(&str, &str)],
    requires_aibox: Option<&str>,
) -> PackManifest {
    let mut m = PackManifest::bare(name, &version, PackKind::Tool);
    m.pack.requires_aibox = requires_aibox.map(str::to_owned);
    m.dependencies = dependencies
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    m
}

impl PackIndex for MemoryIndex {
    fn versions(&self, name: &str) -> Result<Vec<Version>, IndexError> {
        match self.packs.get(name) {
            Some(versions) => Ok(versions.keys().cloned().collect()),
            None => Err(IndexError::NotFound {
                name: name.to_owned(),
                source_url: self.source_url.clone(),
                suggestion: crate::manifest::did_you_mean(
                    name,
                    self.packs.keys().map(String::as_str),
                ),
            }),
        }
    }

    fn manifest(&self, name: &str, version: &Version) -> Result<Arc<PackManifest>, IndexError> {
        self.packs
            .get(name)
            .and_then(|v| v.get(version))
            .cloned()
            .ok_or_else(|| {
                IndexError::Other(format!(
                    "no version {version} of `{name}` in `{}`",
                    self.source_url
                ))
            })
    }

    fn status(&self, name: &str) -> Option<Arc<crate::registry::lifecycle::StatusDoc>> {
        self.status.get(name).cloned()
    }
}
