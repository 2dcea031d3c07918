//! Where packs come from: `dir:` (pack source directories), `oci-layout:` (an OCI image
//! layout directory) and `oci://` (any OCI registry), all behind the one [`Source`] trait.

use std::sync::Arc;

use semver::Version;

use crate::lockfile::LockedPlatform;
use crate::manifest::pack::PackManifest;
use crate::store::{PackId, Store};

/// A source of packs. Methods are blocking; remote sources fetch in parallel internally and
/// may be called from several threads at once.
pub trait Source: Send + Sync {
    /// The source as written in `aibox.toml` (what the lock records).
    fn url(&self) -> &str;
    /// Every pack name the source has (for search and "did you mean").
    fn names(&self) -> Result<Vec<String>, RegistryError>;
    /// The versions of `name`; [`RegistryError::NotFound`] when the source has no such pack.
    fn versions(&self, name: &str) -> Result<Vec<Version>, RegistryError>;
    /// The `pack.toml` of one version.
    fn manifest(&self, name: &str, version: &Version) -> Result<Arc<PackManifest>, RegistryError>;
    /// A hint that these versions' manifests will be asked for soon.
    fn prefetch(&self, _name: &str, _versions: &[Version]) {}
    /// What the lock records for one version: its digest (if any) and, for each of
    /// `platforms`, the artifact to fetch and its tree hash.
    fn lock_entry(
        &self,
        name: &str,
        version: &Version,
        platforms: &[String],
    ) -> Result<LockEntry, RegistryError>;
    /// Fetch one locked platform artifact into the store; the tree must hash to
    /// `locked.tree` before it becomes a pack.
    fn fetch(
        &self,
        name: &str,
        version: &Version,
        locked: &LockedPlatform,
        store: &Store,
    ) -> Result<PackId, RegistryError>;
}

/// The source-specific part of a lock entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockEntry {
    pub digest: Option<String>,
    pub platforms: std::collections::BTreeMap<String, LockedPlatform>,
}

/// Errors of every source.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("no pack `{name}` in `{source_url}`{}", did_you_mean(.suggestion))]
    NotFound {
        name: String,
        source_url: String,
        suggestion: Option<String>,
    },
    #[error("pack `{name}` has no version {version} in `{source_url}`")]
    NoSuchVersion {
        name: String,
        version: Version,
        source_url: String,
    },
    #[error("pack `{name}@{version}` has no artifact for platform `{platform}`")]
    NoPlatform {
        name: String,
        version: Version,
        platform: String,
    },
    #[error(
        "pack `{name}@{version}` from `{source_url}` does not match the lock: expected tree {expected}, got {actual}"
    )]
    TreeMismatch {
        name: String,
        version: Version,
        source_url: String,
        expected: crate::store::tree::Hash,
        actual: crate::store::tree::Hash,
    },
    #[error("invalid pack in `{}`: {message}", .path)]
    InvalidPack { path: String, message: String },
    #[error("invalid source `{url}`: {message}")]
    BadUrl { url: String, message: String },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

fn did_you_mean(s: &Option<String>) -> String {
    match s {
        Some(s) => format!("; did you mean `{s}`?"),
        None => String::new(),
    }
}

impl crate::error::Hint for RegistryError {
    fn hints(&self) -> Vec<String> {
        match self {
            RegistryError::NotFound { .. } => {
                vec!["check the name, or `aibox search <query>` to find packs".into()]
            }
            RegistryError::TreeMismatch { .. } => vec![
                "the pack's content changed since it was locked; run `aibox lock` to accept the new content".into(),
            ],
            _ => Vec::new(),
        }
    }
}
