//! `aibox.lock`: the exact resolution of a project (store-format/LOCKFILE.md). Version 3 is
//! written; versions 1 and 2 are still read. Written by aibox only, deterministic byte for byte, and
//! merge-friendly: no line depends on the whole manifest, so two branches that lock different
//! packs change different lines, and freshness is decided by whether the lock still satisfies
//! the manifest ([`fresh`]), not by a hash.

mod encode;
pub mod fresh;
pub mod merge;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use encode::LockfileError;
pub use fresh::Unmet;

/// The newest lock format version this aibox reads and writes (a lock without skills or aqua
/// packages is written as version 3, one with skills as 4: [`Lockfile::written_version`]).
pub const VERSION: u32 = 5;

/// The checks an aqua pack's lock entry may record (`verified`, `unverified`).
pub const AQUA_CHECKS: [&str; 6] = [
    "checksum",
    "cosign",
    "cosign-keyless",
    "github-attestation",
    "minisign",
    "slsa",
];

/// The platform key of an artifact that works on every platform (scripts, config).
pub const ANY_PLATFORM: &str = "any";

use crate::manifest::pack::{Grants, PackKind, Permissions};
use crate::store::tree::Hash;

/// The whole lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lockfile {
    /// The format version it was read as (written: always [`VERSION`]).
    pub version: u32,
    /// The platforms the lock is narrowed to (`[policy] platforms`); `None` = every platform
    /// the chosen packs publish.
    pub platforms: Option<Vec<String>>,
    /// Packages sorted by name (one version per name).
    pub packages: Vec<LockedPackage>,
}

impl Lockfile {
    /// A lock of this version with no packages (what a profile that locked nothing has).
    pub fn empty() -> Lockfile {
        Lockfile {
            version: VERSION,
            platforms: None,
            packages: Vec::new(),
        }
    }
}

/// One resolved package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPackage {
    pub name: String,
    pub version: semver::Version,
    pub kind: PackKind,
    /// The registry URL as written in `aibox.toml` (`dir:../packs`, `oci://host/base`, …).
    pub source: String,
    /// The artifact digest (OCI image index or manifest, `sha256:…`) where the source has one:
    /// what signatures sign.
    pub digest: Option<String>,
    /// The fingerprint of the key whose signature verified this pack when it was locked
    /// (`sha256:<hex>` of the public key); a later signature by another key is refused.
    pub signer: Option<String>,
    /// The packages this one depends on: name → the version request its `pack.toml` makes
    /// (version 1 locks did not record requests: `*`).
    pub dependencies: BTreeMap<String, String>,
    /// Per platform (or [`ANY_PLATFORM`]): what to fetch and the tree it must hash to.
    pub platforms: BTreeMap<String, LockedPlatform>,
    /// The pack's `[permissions]` as locked (`None`: it declares none). Recorded from version
    /// 3 on, so that `aibox update` can tell what a new version asks for without the network.
    pub permissions: Option<Permissions>,
    /// Its `[install] run` command, if any (version 3 on).
    pub install: Option<String>,
    /// Its `[check] run` command, if any (version 3 on).
    pub check: Option<String>,
    /// A skill's tools and scripts (`[package.skill]`, version 4 on); `None` for other kinds.
    pub skill: Option<crate::manifest::pack::SkillSection>,
    /// Where an `aqua:` pack comes from and what was checked (version 5 on).
    pub aqua: Option<AquaPin>,
}

/// An aqua pack's lock record: the registry entry, the release tag, and which of the entry's
/// declared checks passed when it was locked and which could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AquaPin {
    /// The aqua package name (`BurntSushi/ripgrep`).
    pub package: String,
    /// The release tag the version is (`v14.1.1`, `jq-1.7.1`).
    pub tag: String,
    /// The SHA-256 (`sha256:<hex>`) of the registry's source archive when the registry is a
    /// GitHub release (`aqua:github:<owner>/<repo>@<tag>`): an archive fetched again for that
    /// tag must have it. `None` for a registry read from a directory.
    pub registry: Option<String>,
    /// Checks that passed (of [`AQUA_CHECKS`]), sorted.
    pub verified: Vec<String>,
    /// Checks the entry declares that aibox could not make (never counted as passed), sorted.
    pub unverified: Vec<String>,
}

/// One platform's artifact of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPlatform {
    /// The platform manifest digest (`sha256:…`) where the source is OCI; the archive's
    /// SHA-256 for a release archive or a ClawHub skill; `git:<commit>` for a GitHub skill.
    pub manifest: Option<String>,
    /// The BLAKE3 tree hash the fetched tree must have.
    pub tree: Hash,
}

impl LockedPackage {
    /// What the locked version may do beyond shipping files (complete only in locks of version
    /// 3 and later: see [`Lockfile::records_grants`]).
    pub fn grants(&self) -> Grants {
        Grants {
            kind: self.kind,
            permissions: self.permissions.clone(),
            install: self.install.clone(),
            check: self.check.clone(),
            skill: self.skill.clone(),
            needs: self.dependencies.keys().cloned().collect(),
        }
    }

    /// The artifact for `platform`: its own, else the one for every platform.
    pub fn for_platform(&self, platform: &str) -> Option<&LockedPlatform> {
        self.platforms
            .get(platform)
            .or_else(|| self.platforms.get(ANY_PLATFORM))
    }
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

    /// Whether the packages record their grants (permissions, install hook, health check):
    /// locks of version 3 and later do; older ones were written before they were recorded.
    pub fn records_grants(&self) -> bool {
        self.version >= 3
    }

    /// Locked versions by name: the resolver's preferences (keep them while still allowed).
    pub fn preferences(&self) -> BTreeMap<String, semver::Version> {
        self.packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect()
    }

    /// Whether this lock is fresh for `manifest` (a cheap, offline check; see [`fresh`]).
    pub fn satisfies(&self, manifest: &crate::manifest::ProjectManifest) -> bool {
        self.check(manifest).is_ok()
    }

    /// Sort packages and platforms the way [`Lockfile::render`] writes them.
    pub fn canonicalize(&mut self) {
        if let Some(p) = &mut self.platforms {
            p.sort();
            p.dedup();
        }
        self.packages.sort_by(|a, b| a.name.cmp(&b.name));
    }
}
