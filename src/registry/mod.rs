//! Where packs come from: `dir:` (pack source directories), `oci-layout:` (an OCI image
//! layout directory), `oci://` (any OCI registry) and release archives (`https://…`,
//! `github:owner/repo`), all behind the one [`Source`] trait.
// `RegistryError` carries the lock's tree hashes and versions by value (it is matched on by
// callers); errors are the cold path, so its size does not matter.

pub mod archive;
pub mod artifact;
pub mod assets;
pub mod auth;
pub mod cache;
pub mod digest;
pub mod dir;
pub mod fetch;
pub mod hops;
pub mod http;
pub mod layer;
pub mod layout;
pub mod metadata;
pub mod oci;
pub mod push;
pub mod read;
pub mod signatures;
pub mod tee;
pub mod token;
pub mod unpack;
pub mod url;
pub mod zipfile;

use std::path::{Path, PathBuf};
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
    /// What the lock records for one version: its digest (if any) and, for every platform it
    /// publishes (narrowed to `platforms` when given), the artifact to fetch and its tree hash.
    fn lock_entry(
        &self,
        name: &str,
        version: &Version,
        platforms: Option<&[String]>,
    ) -> Result<LockEntry, RegistryError>;
    /// The cosign signatures of artifact `digest` of `name` (none: an empty list; a source
    /// without signatures, like `dir:`, has none).
    fn signatures(
        &self,
        _name: &str,
        _digest: &str,
    ) -> Result<Vec<crate::signature::Entry>, RegistryError> {
        Ok(Vec::new())
    }
    /// The `CHANGELOG.md` of one version when the source can read it without downloading the
    /// pack (a `dir:` source); others: `None`, and callers look in the store.
    fn changelog(&self, _name: &str, _version: &Version) -> Option<String> {
        None
    }
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
    #[error("no pack `{name}` in `{source_url}`{}", crate::manifest::did_you_mean_tail(.suggestion))]
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
        "pack `{}@{}` from `{}` does not match the lock: expected tree {}, got {}",
        .0.name, .0.version, .0.source_url, .0.expected, .0.actual
    )]
    TreeMismatch(Box<Mismatch>),
    #[error("invalid pack in `{}`: {message}", .path)]
    InvalidPack { path: String, message: String },
    /// A pack whose files could not be read.
    #[error("cannot read pack `{pack}` from `{source_url}`")]
    Unreadable {
        pack: String,
        source_url: String,
        #[source]
        source: Box<crate::store::StoreError>,
    },
    /// A pack whose content breaks a rule of the store (escaping links, devices, bombs, …).
    #[error("pack `{pack}` from `{source_url}` was rejected")]
    Rejected {
        pack: String,
        source_url: String,
        #[source]
        source: Box<crate::store::StoreError>,
    },
    /// `url` is always redacted ([`url::redact`]) before it is put here.
    #[error("invalid source `{url}`: {message}")]
    BadUrl { url: String, message: String },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
    #[error(transparent)]
    Skill(#[from] crate::skill::SkillError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("digest mismatch for {what}: expected {digest}, got {actual}")]
    DigestMismatch {
        what: String,
        digest: String,
        actual: String,
    },
    #[error("authentication failed for {what}: {message}")]
    Auth { what: String, message: String },
    /// The registry's token service may not have the credentials, or may not be asked at all.
    #[error("authentication failed for {what}: {message}")]
    TokenService {
        what: String,
        message: String,
        hint: String,
    },
    #[error("registry error while {what}: {message}")]
    Remote { what: String, message: String },
    #[error("network error while {what}: {message}")]
    Network { what: String, message: String },
    #[error(
        "refusing to follow {how} to `{url}` while {what}: plain HTTP is used only for loopback hosts"
    )]
    InsecureHop {
        what: String,
        url: String,
        how: &'static str,
    },
    #[error("offline: {what} is not in the cache")]
    Offline { what: String },
    #[error("{0}")]
    Other(String),
}

/// A fetched tree that is not the one the lock (or the artifact) names.
#[derive(Debug)]
pub struct Mismatch {
    pub name: String,
    pub version: Version,
    pub source_url: String,
    pub expected: crate::store::tree::Hash,
    pub actual: crate::store::tree::Hash,
}

impl RegistryError {
    /// An unusable source URL (printed without any user name or password it holds).
    pub fn bad_url(url: &str, message: impl Into<String>) -> RegistryError {
        RegistryError::BadUrl {
            url: url::redact(url),
            message: message.into(),
        }
    }

    /// A tree mismatch of `name@version` from `source_url`.
    pub fn mismatch(
        name: &str,
        version: &Version,
        source_url: &str,
        expected: crate::store::tree::Hash,
        actual: crate::store::tree::Hash,
    ) -> RegistryError {
        RegistryError::TreeMismatch(Box::new(Mismatch {
            name: name.to_owned(),
            version: version.clone(),
            source_url: source_url.to_owned(),
            expected,
            actual,
        }))
    }

    /// A store error met while building `name@version` from `source_url`: a tree mismatch is
    /// named after the pack, a rejected entry says which pack and source it came from.
    pub fn building(
        e: crate::store::StoreError,
        name: &str,
        version: &Version,
        source_url: &str,
    ) -> RegistryError {
        RegistryError::from(e).in_pack(name, version, source_url)
    }

    /// Name the pack and source of an error met while reading that pack's content.
    pub fn in_pack(self, name: &str, version: &Version, source_url: &str) -> RegistryError {
        use crate::store::StoreError;
        match self {
            RegistryError::Store(StoreError::TreeMismatch {
                expected, actual, ..
            }) => RegistryError::mismatch(name, version, source_url, expected, actual),
            RegistryError::Store(
                e @ (StoreError::BadEntry { .. } | StoreError::TooLarge { .. }),
            ) => RegistryError::Rejected {
                pack: format!("{name}@{version}"),
                source_url: source_url.to_owned(),
                source: Box::new(e),
            },
            RegistryError::Store(e @ StoreError::Input { .. }) => RegistryError::Unreadable {
                pack: format!("{name}@{version}"),
                source_url: source_url.to_owned(),
                source: Box::new(e),
            },
            other => other,
        }
    }
}

impl crate::error::Hint for RegistryError {
    fn hints(&self) -> Vec<String> {
        match self {
            RegistryError::NotFound { .. } => {
                vec!["check the name, or `aibox search <query>` to find packs".into()]
            }
            RegistryError::TreeMismatch(_) => vec![
                "the pack's content changed since it was locked; run `aibox lock` to accept the new content".into(),
            ],
            RegistryError::DigestMismatch { .. } => vec![
                "the registry or mirror served corrupted or tampered content; nothing was added to the store — report it to the registry's operator".into(),
            ],
            RegistryError::Auth { .. } => vec![
                "log in with `docker login <host>` (aibox reads `~/.docker/config.json` and its credential helpers), or set `AIBOX_REGISTRY_USERNAME`, `AIBOX_REGISTRY_PASSWORD` and `AIBOX_REGISTRY_HOST` (the host they are for)".into(),
            ],
            RegistryError::TokenService { hint, .. } => vec![hint.clone()],
            RegistryError::Network { .. } => vec![
                "check that the registry is reachable and run the command again; a partly downloaded blob is resumed".into(),
            ],
            RegistryError::InsecureHop { .. } => vec![
                "nothing was sent to that host: the registry (or a proxy or CDN in front of it) must send aibox to `https://` — ask its operator. A registry marked `insecure` may use plain HTTP on its own host only".into(),
            ],
            RegistryError::Rejected { .. } => vec![
                "nothing from this pack was installed; its publisher must fix it (`aibox pack build` reports the same problem)".into(),
            ],
            RegistryError::Store(e) => e.hints(),
            RegistryError::Skill(e) => e.hints(),
            RegistryError::Manifest(e) => e.hints.clone(),
            RegistryError::Unreadable { source, .. } => source.hints(),
            RegistryError::Offline { .. } => vec![
                "run the command once without `--offline` to fill the cache, or use an `oci-layout:` mirror made by `aibox vendor`".into(),
            ],
            _ => Vec::new(),
        }
    }
}

/// Whether a published `platform` is locked under the narrowing `wanted` (`None`: all). An
/// artifact for every platform always is.
pub fn wanted_platform(platform: &str, wanted: Option<&[String]>) -> bool {
    platform == crate::lockfile::ANY_PLATFORM
        || wanted.is_none_or(|w| w.iter().any(|p| p == platform))
}

/// How remote sources may use the network.
#[derive(Debug, Clone, Copy, Default)]
pub struct SourceOptions {
    /// Use cached metadata only; never touch the network; fail naming what is missing.
    pub offline: bool,
    /// Bypass cached tag lists (metadata by digest is still used: it cannot change).
    pub refresh: bool,
    /// Allow plain HTTP to a non-loopback registry.
    pub insecure: bool,
    /// Where warnings, progress and request traces go.
    pub reporter: crate::printer::Reporter,
}

impl SourceOptions {
    /// The store at the default home, reporting through these options' reporter.
    pub fn store(&self) -> Result<Store, crate::store::StoreError> {
        Ok(Store::open_default()?.reporting(self.reporter))
    }
}

/// Open the source a registry URL names; relative paths are resolved against `project_root`.
/// Registry metadata is cached under the default aibox home (`AIBOX_HOME`).
pub fn open_source(
    url: &str,
    project_root: &Path,
    opts: &SourceOptions,
) -> Result<Box<dyn Source>, RegistryError> {
    match url.split_once(':').map(|(scheme, _)| scheme) {
        Some("dir") => {
            let path = project_root.join(url.strip_prefix("dir:").unwrap_or_default());
            // Canonical, so messages name `/work/packs/x`, not `/work/app/../packs/x`.
            let path = crate::fs::canonicalize(&path).unwrap_or(path);
            Ok(Box::new(dir::DirSource::open(url, &path)?))
        }
        Some("oci-layout") => {
            let dir = layout_dir(url, project_root)?;
            Ok(Box::new(layout::LayoutSource::open(url, &dir)?))
        }
        Some("oci") => Ok(Box::new(oci::OciSource::open(url, opts)?)),
        Some("github" | "https" | "http") => Ok(Box::new(archive::ArchiveSource::open(url, opts)?)),
        _ => Err(RegistryError::bad_url(
            url,
            "unknown scheme; use `dir:<path>`, `oci-layout:<path>`, `oci://<host>/<base>`, `https://…/<archive>` or `github:<owner>/<repo>`",
        )),
    }
}

/// The directory of an `oci-layout:<dir>` URL, relative paths taken from `project_root`.
pub fn layout_dir(url: &str, project_root: &Path) -> Result<PathBuf, RegistryError> {
    let rest = url
        .strip_prefix("oci-layout:")
        .ok_or_else(|| RegistryError::bad_url(url, "expected `oci-layout:<dir>`"))?;
    if rest.is_empty() {
        return Err(RegistryError::bad_url(
            url,
            "the layout directory is missing",
        ));
    }
    Ok(project_root.join(rest))
}

/// A reference to one pack version: `oci://host/base/name:1.0.0` or
/// `oci-layout:<dir>:name:1.0.0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackRef {
    /// The source URL (`oci://host/base` or `oci-layout:<dir>`).
    pub source: String,
    pub name: String,
    /// `None` = the newest version.
    pub version: Option<Version>,
}

impl PackRef {
    pub fn parse(s: &str) -> Result<PackRef, RegistryError> {
        let bad = |m: &str| RegistryError::BadUrl {
            url: url::redact(s),
            message: m.into(),
        };
        if let Some(rest) = s.strip_prefix("oci-layout:") {
            // oci-layout:<dir>:<name>[:<version>]: the last one or two `:` fields.
            let usage = "expected `oci-layout:<dir>:<name>[:<version>]`";
            let (head, last) = rest.rsplit_once(':').ok_or_else(|| bad(usage))?;
            if let Ok(version) = Version::parse(last)
                && let Some((dir, name)) = head.rsplit_once(':')
            {
                return Ok(PackRef {
                    source: format!("oci-layout:{dir}"),
                    name: name.into(),
                    version: Some(version),
                });
            }
            if head.is_empty() || last.is_empty() {
                return Err(bad(usage));
            }
            return Ok(PackRef {
                source: format!("oci-layout:{head}"),
                name: last.into(),
                version: None,
            });
        }
        if s.starts_with("oci://") {
            let (path, version) = match s.rsplit_once(':') {
                Some((p, v)) if !v.contains('/') && p.len() > "oci://".len() && p != "oci" => (
                    p,
                    Some(
                        Version::parse(v)
                            .map_err(|e| bad(&format!("`{v}` is not a version: {e}")))?,
                    ),
                ),
                _ => (s, None),
            };
            let (source, name) = path
                .rsplit_once('/')
                .ok_or_else(|| bad("expected `oci://host/path/<name>:<version>`"))?;
            if source == "oci:/" || name.is_empty() {
                return Err(bad("expected `oci://host/path/<name>:<version>`"));
            }
            return Ok(PackRef {
                source: source.into(),
                name: name.into(),
                version,
            });
        }
        Err(bad(
            "expected `oci://host/path/<name>:<version>` or `oci-layout:<dir>:<name>:<version>`",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_refs() {
        let r = PackRef::parse("oci://127.0.0.1:5000/packs/java:21.0.2").unwrap();
        assert_eq!(
            (r.source.as_str(), r.name.as_str()),
            ("oci://127.0.0.1:5000/packs", "java")
        );
        assert_eq!(r.version, Some(Version::new(21, 0, 2)));
        let r = PackRef::parse("oci://127.0.0.1:5000/java").unwrap();
        assert_eq!(
            (r.source.as_str(), r.name.as_str(), r.version.clone()),
            ("oci://127.0.0.1:5000", "java", None)
        );
        let r = PackRef::parse("oci-layout:./vendor:jq:1.7.1").unwrap();
        assert_eq!(
            (r.source.as_str(), r.name.as_str()),
            ("oci-layout:./vendor", "jq")
        );
        assert_eq!(r.version, Some(Version::new(1, 7, 1)));
        let r = PackRef::parse("oci-layout:vendor:jq").unwrap();
        assert_eq!(
            (r.source.as_str(), r.name.as_str(), r.version.clone()),
            ("oci-layout:vendor", "jq", None)
        );
    }
}
