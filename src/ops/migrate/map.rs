//! The mapping file of a migration (`aibox import --map FILE`): which pack of the team's own
//! registries replaces a legacy skill (a ClawHub slug, `owner/slug`, or a local skill's name).
//! TOML, or the same structure as JSON:
//!
//! ```toml
//! [registries]
//! team = "oci://registry.example.com/skills"
//!
//! [skills]
//! review-pr = "team"                                            # same name, newest version
//! "@acme/code-review" = { registry = "team", name = "code-review", version = "^1" }
//! ```
//!
//! A registry a mapping names is one of the file's `[registries]` or of `aibox.toml`'s.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::fs;

/// Where one legacy skill comes from after the migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The registry alias.
    pub registry: String,
    /// The pack's name (default: the legacy name, or the slug of `owner/slug`).
    pub name: String,
    /// The version request (default: any).
    pub version: String,
}

/// A mapping file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Map {
    /// Registry alias → URL.
    pub registries: BTreeMap<String, String>,
    /// Legacy name → target.
    pub skills: BTreeMap<String, Target>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMap {
    #[serde(default)]
    registries: BTreeMap<String, String>,
    #[serde(default)]
    skills: BTreeMap<String, RawTarget>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawTarget {
    Registry(String),
    Full(FullTarget),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullTarget {
    registry: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
}

/// The slug a legacy name stands for (`@owner/slug` and `owner/slug` → `slug`).
pub fn slug_of(legacy: &str) -> &str {
    crate::registry::backends::clawhub::api::split_ref(legacy).1
}

impl Map {
    /// Read and check the mapping file at `path` (`.json`: JSON, else TOML).
    pub fn read(path: &Path) -> Result<Map> {
        let text = fs::read_regular_string(path, 4 << 20)
            .map_err(|e| Error::io(format!("cannot read `{}`", path.display()), e))?;
        let bad = |m: String| {
            Error::msg(format!("`{}` is not a mapping file: {m}", path.display())).with_hint(
                "write `[skills] <legacy name> = \"<registry>\"` or `{ registry = \"…\", name = \"…\", version = \"…\" }`, with the registries in `[registries]` (docs/guide.md, \"Coming from `skills` or ClawHub\")",
            )
        };
        let raw: RawMap = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?
        } else {
            toml::from_str(&text).map_err(|e| bad(e.to_string()))?
        };
        for (alias, url) in &raw.registries {
            if crate::manifest::validate_pack_name(alias).is_err() {
                return Err(bad(format!(
                    "`{alias}` is not a registry name (lowercase letters, digits and `-`)"
                )));
            }
            if url.trim().is_empty() {
                return Err(bad(format!("registry `{alias}` has no URL")));
            }
        }
        let mut skills = BTreeMap::new();
        for (legacy, t) in raw.skills {
            let (registry, name, version) = match t {
                RawTarget::Registry(r) => (r, None, None),
                RawTarget::Full(f) => (f.registry, f.name, f.version),
            };
            let name = name.unwrap_or_else(|| slug_of(&legacy).to_owned());
            crate::manifest::validate_pack_name(&name)
                .map_err(|r| bad(format!("`{legacy}` maps to `{name}`, which {r}")))?;
            let version = version.unwrap_or_else(|| "*".into());
            crate::manifest::request::Request::parse(&version)
                .map_err(|e| bad(format!("`{legacy}`: {e}")))?;
            skills.insert(
                legacy,
                Target {
                    registry,
                    name,
                    version,
                },
            );
        }
        Ok(Map {
            registries: raw.registries,
            skills,
        })
    }

    /// The target for a legacy skill known by any of `names` (its name, its ClawHub key).
    pub fn target<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Option<(&str, &Target)> {
        names
            .into_iter()
            .find_map(|n| self.skills.get_key_value(n))
            .map(|(k, t)| (k.as_str(), t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_json_maps_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let toml_path = dir.path().join("map.toml");
        fs::write(
            &toml_path,
            "[registries]\nteam = \"oci://r.example/skills\"\n[skills]\nreview-pr = \"team\"\n\"@acme/code-review\" = { registry = \"team\", version = \"^1\" }\n",
        )
        .unwrap();
        let json_path = dir.path().join("map.json");
        fs::write(
            &json_path,
            r#"{"registries":{"team":"oci://r.example/skills"},"skills":{"review-pr":"team","@acme/code-review":{"registry":"team","version":"^1"}}}"#,
        )
        .unwrap();
        let a = Map::read(&toml_path).unwrap();
        assert_eq!(a, Map::read(&json_path).unwrap());
        let (key, t) = a.target(["code-review", "@acme/code-review"]).unwrap();
        assert_eq!(key, "@acme/code-review");
        assert_eq!((t.name.as_str(), t.version.as_str()), ("code-review", "^1"));
        assert_eq!(a.skills["review-pr"].version, "*");
        fs::write(
            &toml_path,
            "[skills]\nx = { registry = \"t\", name = \"Bad Name\" }\n",
        )
        .unwrap();
        assert!(Map::read(&toml_path).is_err());
        fs::write(
            &toml_path,
            "[skills]\nx = { registry = \"t\", extra = 1 }\n",
        )
        .unwrap();
        assert!(Map::read(&toml_path).is_err());
    }
}
