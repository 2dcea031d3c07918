//! `aibox list` and `aibox tree`: the packs a profile's lock holds, requested or pulled in as
//! dependencies, and the dependency tree from the manifest's requests down.

use std::collections::BTreeSet;

use crate::error::{Error, Result};

use crate::engine::project::ProjectState;
use crate::ops::{Options, Target};

/// One locked pack.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ListedPack {
    pub name: String,
    pub version: String,
    pub kind: String,
    pub source: String,
    /// Named in `[packs]`, `[plugins]` or `[skills]` (else a dependency of one that is).
    pub requested: bool,
    /// A legacy skill: a local snapshot `aibox import` made of a folder no record knew
    /// (`.aibox/local-skills/`), to be moved to a registry.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub legacy: bool,
    /// For a skill: what it may do, as phrases (tools, scripts, packs it needs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub may: Vec<String>,
    /// For an aqua pack: the checks its entry declares that passed when it was locked
    /// (`checksum`, `cosign`), and those that could not be made (never counted as passed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unverified: Vec<String>,
}

/// A node of the dependency tree.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TreeNode {
    pub name: String,
    pub version: String,
    /// Its dependencies, unless it was shown already higher up (`repeated`).
    pub dependencies: Vec<TreeNode>,
    /// Shown in full elsewhere in the tree; its dependencies are not repeated here.
    pub repeated: bool,
}

/// The target's manifest and lock; `None` for a global profile nothing was ever installed into.
fn state(opts: &Options, target: Target) -> Result<Option<ProjectState>> {
    let root = crate::ops::sync::target_root(opts, target)?;
    if target != Target::Project
        && !crate::fs::exists(&root.join(crate::ops::MANIFEST)).unwrap_or(true)
    {
        return Ok(None);
    }
    let state = ProjectState::read(&root)?;
    if state.lock.is_none() {
        return Err(
            Error::msg(format!("`{}` has no `aibox.lock` yet", root.display())).with_hint(
                match target {
                    Target::Project => "run `aibox lock` (or `aibox sync`)",
                    Target::Global => "install something with `aibox install <pack>`",
                    Target::SelfCli => "run `aibox self update`",
                },
            ),
        );
    }
    Ok(Some(state))
}

/// The packs of the target's lock, by name.
pub fn list(opts: &Options, target: Target) -> Result<Vec<ListedPack>> {
    let Some(state) = state(opts, target)? else {
        return Ok(Vec::new());
    };
    let requested: BTreeSet<&String> = state.manifest.requirements().map(|(n, _)| n).collect();
    let (_, lock) = state.lock.as_ref().expect("checked");
    Ok(lock
        .packages
        .iter()
        .map(|p| ListedPack {
            name: p.name.clone(),
            version: p.version.to_string(),
            kind: p.kind.as_str().to_owned(),
            source: p.source.clone(),
            requested: requested.contains(&p.name),
            legacy: crate::ops::migrate::is_legacy(&p.source),
            may: if p.skill.is_some() {
                crate::engine::escalation::grant_phrases(&p.grants())
            } else {
                Vec::new()
            },
            verified: p.aqua.as_ref().map(|a| a.verified.clone()),
            unverified: p
                .aqua
                .as_ref()
                .map(|a| a.unverified.clone())
                .unwrap_or_default(),
        })
        .collect())
}

/// The dependency tree: one root per request of the manifest, in name order.
pub fn tree(opts: &Options, target: Target) -> Result<Vec<TreeNode>> {
    let Some(state) = state(opts, target)? else {
        return Ok(Vec::new());
    };
    let (_, lock) = state.lock.as_ref().expect("checked");
    let mut roots: Vec<&String> = state.manifest.requirements().map(|(n, _)| n).collect();
    roots.sort();
    let mut shown = BTreeSet::new();
    let node = |name: &str, shown: &mut BTreeSet<String>| build(lock, name, shown, &mut Vec::new());
    Ok(roots
        .into_iter()
        .filter_map(|name| node(name, &mut shown))
        .collect())
}

fn build(
    lock: &crate::lockfile::Lockfile,
    name: &str,
    shown: &mut BTreeSet<String>,
    path: &mut Vec<String>,
) -> Option<TreeNode> {
    let p = lock.package(name)?;
    let seen = !shown.insert(name.to_owned()) || path.iter().any(|n| n == name);
    let repeated = seen && !p.dependencies.is_empty();
    let mut node = TreeNode {
        name: p.name.clone(),
        version: p.version.to_string(),
        dependencies: Vec::new(),
        repeated,
    };
    if !seen {
        path.push(name.to_owned());
        node.dependencies = p
            .dependencies
            .keys()
            .filter_map(|d| build(lock, d, shown, path))
            .collect();
        path.pop();
    }
    Some(node)
}
