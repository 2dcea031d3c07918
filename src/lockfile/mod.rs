//! `aibox.lock` v1: the exact resolution of a project (store-format/LOCKFILE.md). Written by
//! aibox only, deterministic byte for byte.

mod encode;
mod hash;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use encode::LockfileError;
pub use hash::manifest_hash;

/// The lock format version this aibox reads and writes.
pub const VERSION: u32 = 1;

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

impl Lockfile {
    /// The lock's package of that name.
    pub fn package(&self, name: &str) -> Option<&LockedPackage> {
        self.packages
            .binary_search_by(|p| p.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.packages[i])
            .or_else(|| self.packages.iter().find(|p| p.name == name))
    }

    /// Locked versions by name: the resolver's preferences (keep them while still allowed).
    pub fn preferences(&self) -> BTreeMap<String, semver::Version> {
        self.packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect()
    }

    /// Whether this lock is fresh for `manifest`: same format version and same manifest hash
    /// (a cheap, offline check; it does not look at registries).
    pub fn satisfies(&self, manifest: &crate::manifest::ProjectManifest) -> bool {
        self.version == VERSION && self.manifest_hash == manifest_hash(manifest)
    }

    /// Sort packages, dependencies and platforms the way [`Lockfile::render`] writes them.
    pub fn canonicalize(&mut self) {
        self.platforms.sort();
        self.platforms.dedup();
        self.packages.sort_by(|a, b| a.name.cmp(&b.name));
        for p in &mut self.packages {
            p.dependencies.sort();
            p.dependencies.dedup();
        }
    }
}
