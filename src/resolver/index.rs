//! What the resolver reads and is told: the pack index (versions and manifests of packs),
//! its errors, and the options of one resolution.

use std::collections::BTreeMap;
use std::sync::Arc;

use semver::Version;

use crate::manifest::pack::PackManifest;
use crate::manifest::request::Request;
use crate::registry::RegistryError;

/// Pack metadata the resolver reads. The ops layer implements it on top of
/// [`crate::registry::Source`]s; tests implement it in memory. Object safe.
pub trait PackIndex: Sync {
    /// Every version of `name`; [`IndexError::NotFound`] (with a suggestion) when there is no
    /// such pack.
    fn versions(&self, name: &str) -> Result<Vec<Version>, IndexError>;
    /// The `pack.toml` of one version.
    fn manifest(&self, name: &str, version: &Version) -> Result<Arc<PackManifest>, IndexError>;
    /// A hint that these versions' manifests will be asked for soon (fetch ahead in parallel).
    fn prefetch(&self, _name: &str, _versions: &[Version]) {}
    /// The publisher's marks on the versions of `name` (yanked, deprecated, staged), already
    /// judged by the caller; `None`: no marks.
    fn status(&self, _name: &str) -> Option<Arc<crate::registry::lifecycle::StatusDoc>> {
        None
    }
}

/// Why pack metadata could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("no pack `{name}` in `{source_url}`{}", crate::manifest::did_you_mean_tail(.suggestion))]
    NotFound {
        name: String,
        source_url: String,
        suggestion: Option<String>,
    },
    #[error(transparent)]
    Registry(Box<RegistryError>),
    #[error("{0}")]
    Other(String),
}

impl From<RegistryError> for IndexError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::NotFound {
                name,
                source_url,
                suggestion,
            } => IndexError::NotFound {
                name,
                source_url,
                suggestion,
            },
            other => IndexError::Registry(Box::new(other)),
        }
    }
}

impl crate::error::Hint for IndexError {
    fn hints(&self) -> Vec<String> {
        match self {
            IndexError::NotFound { .. } => {
                vec!["check the name, or `aibox search <query>` to find packs".into()]
            }
            IndexError::Registry(e) => e.hints(),
            IndexError::Other(_) => Vec::new(),
        }
    }
}

/// What else resolution depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveOptions {
    /// The running aibox, checked against every `requires-aibox`.
    pub aibox_version: Version,
    /// The manifest's own `requires-aibox`.
    pub requires_aibox: Option<Request>,
    /// Versions to keep when still allowed (the lock's); newest otherwise.
    pub preferences: BTreeMap<String, Version>,
}

impl ResolveOptions {
    /// Options for `aibox_version` with no manifest requirement and no preferences.
    pub fn new(aibox_version: Version) -> ResolveOptions {
        ResolveOptions {
            aibox_version,
            requires_aibox: None,
            preferences: BTreeMap::new(),
        }
    }

    /// Options for a manifest, preferring the versions of an existing lock.
    pub fn for_manifest(
        manifest: &crate::manifest::ProjectManifest,
        aibox_version: Version,
        lock: Option<&crate::lockfile::Lockfile>,
    ) -> ResolveOptions {
        ResolveOptions {
            aibox_version,
            requires_aibox: manifest.requires_aibox.clone(),
            preferences: lock.map(|l| l.preferences()).unwrap_or_default(),
        }
    }
}

/// Whether `req` accepts the running aibox `v` (a pre-release of aibox counts as its release).
pub(crate) fn aibox_matches(req: &Request, v: &Version) -> bool {
    req.matches(v) || (!v.pre.is_empty() && req.matches(&Version::new(v.major, v.minor, v.patch)))
}

/// `1.0.0, 1.1.0, 2.0.0` (the newest eight, oldest first), or `none`.
pub(crate) fn available_list(versions: &[Version]) -> String {
    if versions.is_empty() {
        return "none".into();
    }
    let skip = versions.len().saturating_sub(8);
    let shown: Vec<String> = versions[skip..].iter().map(Version::to_string).collect();
    if skip > 0 {
        format!("{} older, {}", skip, shown.join(", "))
    } else {
        shown.join(", ")
    }
}
