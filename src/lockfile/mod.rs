//! `aibox.lock` v1: the exact resolution of a project (store-format/LOCKFILE.md). Written by
//! aibox only, deterministic byte for byte.

use std::collections::BTreeMap;

use crate::manifest::pack::PackKind;
use crate::store::tree::Hash;

/// The whole lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lockfile {
    pub version: u32,
    /// Hash of the manifest inputs that the resolution depends on.
    pub manifest_hash: String,
    /// Platforms every package is locked for.
    pub platforms: Vec<String>,
    /// Packages sorted by name (one version per name).
    pub packages: Vec<LockedPackage>,
}

/// One resolved package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPackage {
    pub name: String,
    pub version: semver::Version,
    pub kind: PackKind,
    /// The registry URL as written in `aibox.toml` (`dir:../packs`, `oci://host/base`, …).
    pub source: String,
    /// The artifact digest (OCI image index or manifest, `sha256:…`) where the source has one.
    pub digest: Option<String>,
    /// Names of the packages this one depends on, sorted.
    pub dependencies: Vec<String>,
    /// Per platform: what to fetch and the tree it must hash to.
    pub platforms: BTreeMap<String, LockedPlatform>,
}

/// One platform's artifact of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPlatform {
    /// The platform manifest digest (`sha256:…`) where the source is OCI.
    pub manifest: Option<String>,
    /// The BLAKE3 tree hash the fetched tree must have.
    pub tree: Hash,
}
