//! The one interface every source of packs implements ([`Source`]), the options remote sources
//! run under, and references to single pack versions (`oci://host/base/name:1.0.0`).

use std::sync::Arc;

use semver::Version;

use crate::lockfile::LockedPlatform;
use crate::manifest::pack::PackManifest;
use crate::registry::error::RegistryError;
use crate::registry::transfer::url;
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
    /// Whether a version's published content stays what it was locked as, so that relocking
    /// may keep its lock entry instead of computing it again (which for a release archive
    /// means downloading it). Not so for a directory of pack sources edited in place.
    fn published(&self) -> bool {
        true
    }
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
    /// The digest the lock records for the registry itself (an `aqua:github:` release
    /// archive): what is read from it must have that digest. Set before first use; sources
    /// that are not pinned this way ignore it.
    fn pin_registry(&mut self, _digest: &str) {}
    /// The description of `name` when the source knows it without listing versions (an aqua
    /// registry's entries): search filters on it before asking for versions.
    fn description(&self, _name: &str) -> Option<String> {
        None
    }
    /// The checks a source makes itself on one version before storing it, by the names the
    /// lock records (an aqua entry's `checksum`, `cosign`, …); `None` for sources whose packs
    /// are judged by their signatures.
    fn declared_checks(&self, _name: &str, _version: &Version) -> Option<Vec<String>> {
        None
    }
    /// The `CHANGELOG.md` of one version when the source can read it without downloading the
    /// pack (a `dir:` source); others: `None`, and callers look in the store.
    fn changelog(&self, _name: &str, _version: &Version) -> Option<String> {
        None
    }
    /// What the registry's moderation says of `name` (`None`: the source has no moderation).
    fn moderation(
        &self,
        _name: &str,
    ) -> Result<Option<crate::registry::moderation::Moderation>, RegistryError> {
        Ok(None)
    }
    /// The status document of `name` (yanked, deprecated and staged versions; `None`: it has
    /// none, or the source keeps none — only OCI sources and `dir:` do).
    fn status(
        &self,
        _name: &str,
    ) -> Result<Option<crate::registry::lifecycle::Published>, RegistryError> {
        Ok(None)
    }
    /// The packs matching `query` by the source's own search, when it has one (`None`: search
    /// the names it lists).
    fn search(
        &self,
        _query: &str,
    ) -> Option<Result<Vec<crate::registry::moderation::Summary>, RegistryError>> {
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
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockEntry {
    pub digest: Option<String>,
    pub platforms: std::collections::BTreeMap<String, LockedPlatform>,
    /// An `aqua:` pack's record (entry, tag, checks).
    pub aqua: Option<crate::lockfile::AquaPin>,
    /// A signer the source itself verified (an aqua entry's cosign key): its fingerprint.
    pub signer: Option<String>,
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
    /// The aibox home (its store and cache), resolved once by the CLI.
    pub home: crate::store::Home,
}

impl SourceOptions {
    /// The store at the home, reporting through these options' reporter.
    pub fn store(&self) -> Result<Store, crate::store::StoreError> {
        Ok(Store::open_home(self.home)?.reporting(self.reporter))
    }

    /// The cache directory of the home (`None` without a home: nothing is cached).
    pub fn cache_dir(&self) -> Option<std::path::PathBuf> {
        self.home.layout().map(|l| l.cache())
    }
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
