//! `pack.toml`: the metadata at the root of every pack tree (name, version, kind, dependencies,
//! what goes on PATH, environment). The same struct is carried as JSON in OCI config blobs.

use std::collections::BTreeMap;

use semver::Version;
use serde::{Deserialize, Serialize};

pub use super::permissions::{Grants, Hooks, Limits, NetTarget, Permissions, RunCommand};

/// The largest `pack.toml` read from anywhere (a pack directory, a layer, the store).
pub const MAX_PACK_TOML_BYTES: u64 = 1 << 20;
/// The file at a pack's root that keeps its changelog (one `## <version>` heading per release).
pub const CHANGELOG_FILE: &str = "CHANGELOG.md";
/// The most of a changelog read.
pub const MAX_CHANGELOG_BYTES: u64 = 1 << 20;

/// The version a `## …` heading names (`## 1.2.0`, `## [v1.2.0] - date`), if any.
fn heading_version(line: &str) -> Option<Version> {
    let rest = line.strip_prefix("## ")?.trim_start();
    let word = rest
        .split(|c: char| c.is_whitespace())
        .next()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    Version::parse(word.trim_start_matches('v')).ok()
}

/// The sections of `text` for versions in `(after, upto]`, newest first: (version, body).
pub fn changelog_entries(
    text: &str,
    after: Option<&Version>,
    upto: &Version,
) -> Vec<(Version, String)> {
    let mut out: Vec<(Version, String)> = Vec::new();
    let mut current: Option<(Version, String)> = None;
    for line in text.lines() {
        if line.starts_with("## ") || line.starts_with("# ") {
            if let Some(done) = current.take() {
                out.push(done);
            }
            current = heading_version(line).map(|v| (v, String::new()));
            continue;
        }
        if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out.extend(current);
    let mut picked: Vec<(Version, String)> = out
        .into_iter()
        .filter(|(v, _)| v <= upto && after.is_none_or(|a| v > a))
        .map(|(v, body)| (v, body.trim().to_owned()))
        .collect();
    picked.sort_by(|a, b| b.0.cmp(&a.0));
    picked
}

/// What a pack is for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum PackKind {
    /// A tool pack: files and executables put on PATH.
    #[default]
    Tool,
    /// A plugin: provides an `aibox-plugin-<name>` executable, which aibox runs as the subcommand `<name>`.
    Plugin,
    /// The aibox CLI itself.
    Cli,
    /// An agent skill: one Agent Skills folder (`SKILL.md` at its root), projected into the
    /// skills folders of the project's coding agents.
    Skill,
}

impl PackKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PackKind::Tool => "tool",
            PackKind::Plugin => "plugin",
            PackKind::Cli => "cli",
            PackKind::Skill => "skill",
        }
    }
}

/// The whole of a `pack.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PackManifest {
    pub pack: PackSection,
    /// Other packs this one needs: name → version request (`^1.6`, `1`, `*`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dependencies: BTreeMap<String, String>,
    /// Executables put on PATH: command name → path inside the pack.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bin: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "EnvSection::is_empty")]
    pub env: EnvSection,
    /// What the pack's code may do when aibox runs it sandboxed; absent = the defaults (plugins:
    /// project read-only, own data directory writable, no network; tools: not sandboxed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
    /// Run once when the pack is materialized; its output joins the pack tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<RunCommand>,
    /// Run against a new generation before it becomes current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<RunCommand>,
    /// Lifecycle events a plugin receives.
    #[serde(default, skip_serializing_if = "Hooks::is_empty")]
    pub hooks: Hooks,
    /// What a skill's `SKILL.md` and files say it may do. Derived from the skill's tree by
    /// aibox (src/skill), carried in artifact configs, never written in a `pack.toml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<SkillSection>,
}

impl PackManifest {
    /// Pack `name@version` of `kind` that declares nothing else: the start of every
    /// `pack.toml` aibox makes itself (release archives, aqua packages, skills, test indexes).
    pub fn bare(name: &str, version: &Version, kind: PackKind) -> PackManifest {
        PackManifest {
            pack: PackSection {
                name: name.to_owned(),
                version: version.clone(),
                kind,
                description: None,
                license: None,
                authors: Vec::new(),
                homepage: None,
                repository: None,
                keywords: Vec::new(),
                aliases: Vec::new(),
                requires_aibox: None,
                platforms: None,
            },
            dependencies: BTreeMap::new(),
            bin: BTreeMap::new(),
            env: EnvSection::default(),
            permissions: None,
            install: None,
            check: None,
            hooks: Hooks::default(),
            skill: None,
        }
    }

    /// The manifest of a skill that declares nothing but its name and version (tests and
    /// checks of recorded skill sections).
    pub fn skill_stub(name: &str, version: &Version) -> PackManifest {
        PackManifest {
            skill: Some(SkillSection::default()),
            ..PackManifest::bare(name, version, PackKind::Skill)
        }
    }

    /// What this version may do beyond shipping files.
    pub fn grants(&self) -> Grants {
        Grants {
            kind: self.pack.kind,
            permissions: self.permissions.clone(),
            install: self.install.as_ref().map(|c| c.run.clone()),
            check: self.check.as_ref().map(|c| c.run.clone()),
            skill: self.skill.clone(),
            needs: self.dependencies.keys().cloned().collect(),
        }
    }
}

/// What a skill may do, as derived from its folder: the tools its `SKILL.md` pre-approves
/// (`allowed-tools`) and the files an agent may run (everything under `scripts/`, and any file
/// with an executable bit). Both sorted, without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SkillSection {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_tools: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scripts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PackSection {
    pub name: String,
    pub version: semver::Version,
    #[serde(default)]
    pub kind: PackKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// Other names of the tool this pack provides (`nodejs` for `node`), which `aibox import`
    /// maps to it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The aibox versions this pack works with (a semver request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_aibox: Option<String>,
    /// Platforms this pack's files work on; absent = every platform (scripts, config).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platforms: Option<Vec<String>>,
}

/// `[env]`: plain `NAME = "value"` exports (with `${pack}` = the pack's store path), plus
/// `[env.required]` (name → description) and `[env.optional]` (name → default/description).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EnvSection {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub required: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub optional: BTreeMap<String, OptionalVar>,
    #[serde(flatten)]
    pub vars: BTreeMap<String, String>,
}

impl EnvSection {
    pub fn is_empty(&self) -> bool {
        self.required.is_empty() && self.optional.is_empty() && self.vars.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionalVar {
    pub default: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_versions_between_newest_first() {
        let text = "# Changelog\n\n## [Unreleased]\n- wip\n\n## [1.2.0] - 2026-11-01\n- faster\n\n## v1.1.0\n- new flag\n\n## 1.0.0\n- first\n";
        let v = |s| Version::parse(s).unwrap();
        let got = changelog_entries(text, Some(&v("1.0.0")), &v("1.2.0"));
        assert_eq!(
            got,
            vec![
                (v("1.2.0"), "- faster".to_owned()),
                (v("1.1.0"), "- new flag".to_owned())
            ]
        );
        assert_eq!(changelog_entries(text, None, &v("1.0.0")).len(), 1);
        assert!(changelog_entries(text, Some(&v("1.2.0")), &v("1.2.0")).is_empty());
    }
}
