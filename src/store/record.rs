//! The record of a generation (`generation.toml`): what it holds, where each pack came from,
//! the environment it exports, and what changed between two of them. Data only: building and
//! switching generations is `generations`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::tree::Hash;
use crate::manifest::pack::PackKind;

/// The copies of the project files a generation keeps.
pub(super) const PROJECT_MANIFEST: &str = "aibox.toml";
pub(super) const PROJECT_LOCK: &str = "aibox.lock";

/// The directories every generation has.
pub const GENERATION_DIRS: [&str; 4] = ["bin", "plugins", "packs", SKILLS_DIR];
/// The directory of a generation holding a link to each skill's tree.
pub const SKILLS_DIR: &str = "skills";

/// The `aibox.toml` and `aibox.lock` a generation was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectFiles {
    pub manifest: Vec<u8>,
    pub lock: Vec<u8>,
}

/// `generation.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GenerationRecord {
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<u64>,
    pub created: String,
    /// BLAKE3 of the `aibox.lock` bytes this generation was built from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_hash: Option<String>,
    /// The platform it was built for (`AIBOX_PLATFORM` or the host's); absent in records of
    /// older versions, which were built for the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, rename = "pack", skip_serializing_if = "Vec::is_empty")]
    pub packs: Vec<GenerationPack>,
    #[serde(default, skip_serializing_if = "GenerationEnv::is_empty")]
    pub env: GenerationEnv,
    /// What this generation replaced in agents' skills folders when it was switched to (the
    /// folders `aibox import` handed over), kept in the store: undoing this generation puts
    /// them back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced: Option<Replaced>,
}

/// Entries of agents' skills folders a generation replaced by its links, kept in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Replaced {
    /// The pack tree holding the replaced folders at their paths (`store-v2/packs/<this>`).
    pub store: String,
    /// Its tree hash.
    pub tree: Hash,
    /// The replaced entries, sorted by path.
    #[serde(rename = "entry")]
    pub entries: Vec<ReplacedEntry>,
}

/// One replaced entry: a folder (its files in the pack tree at `path`) or a symbolic link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReplacedEntry {
    /// Relative to the project root (to the home directory for the global profile), `/`-separated.
    pub path: String,
    /// The link's target, when the entry was a symbolic link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// One pack of a generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GenerationPack {
    pub name: String,
    pub version: String,
    pub kind: PackKind,
    pub tree: Hash,
    /// The pack tree's directory name under `store-v2/packs/`.
    pub store: String,
    /// The artifact digest it was locked with (what its kept signatures sign), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The source URL it was locked from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The fingerprint of the key whose signature it was locked with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
}

/// Where a pack of a new generation came from, as its lock says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackOrigin {
    pub digest: Option<String>,
    pub source: Option<String>,
    pub signer: Option<String>,
}

/// The environment a generation exports, `${pack}` already replaced.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationEnv {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
    /// Variable → (pack, description): must be set by the user at `aibox run`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub required: BTreeMap<String, RequiredVar>,
    /// Variable → default used when the user has not set it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub optional: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredVar {
    pub pack: String,
    pub description: String,
}

impl GenerationEnv {
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty() && self.required.is_empty() && self.optional.is_empty()
    }
}

impl GenerationRecord {
    /// The names of the skills this generation holds, sorted.
    pub fn skills(&self) -> Vec<String> {
        self.packs
            .iter()
            .filter(|p| p.kind == PackKind::Skill)
            .map(|p| p.name.clone())
            .collect()
    }

    /// Generation 0: the empty environment every profile starts from.
    pub fn empty() -> Self {
        GenerationRecord {
            id: 0,
            parent: None,
            created: now(),
            lock_hash: None,
            platform: None,
            packs: Vec::new(),
            env: GenerationEnv::default(),
            replaced: None,
        }
    }

    /// The packs as `name → (version, tree)`, for comparisons.
    pub fn pack_map(&self) -> BTreeMap<&str, (&str, &Hash)> {
        self.packs
            .iter()
            .map(|p| (p.name.as_str(), (p.version.as_str(), &p.tree)))
            .collect()
    }
}

pub(super) fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// What changed between two generations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GenerationDiff {
    pub added: Vec<(String, String)>,
    pub removed: Vec<(String, String)>,
    /// name, old version, new version (same version = same name and version, new content).
    pub changed: Vec<(String, String, String)>,
}

/// Diff two generation records.
pub fn diff(a: &GenerationRecord, b: &GenerationRecord) -> GenerationDiff {
    let (ma, mb) = (a.pack_map(), b.pack_map());
    let mut d = GenerationDiff::default();
    for (name, (va, ta)) in &ma {
        match mb.get(name) {
            None => d.removed.push((name.to_string(), va.to_string())),
            Some((vb, tb)) if va != vb || ta != tb => {
                d.changed
                    .push((name.to_string(), va.to_string(), vb.to_string()))
            }
            Some(_) => {}
        }
    }
    for (name, (vb, _)) in &mb {
        if !ma.contains_key(name) {
            d.added.push((name.to_string(), vb.to_string()));
        }
    }
    d
}
