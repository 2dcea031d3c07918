//! A whole aqua registry read into memory: every package entry (one that does not read is kept
//! with its error, so one broken entry never hides the others), and the names aibox gives them.
//! A pack name is the repository's name (`ripgrep` for `BurntSushi/ripgrep`) when no other
//! entry has it, else the whole name in pack-name spelling (`burntsushi-ripgrep`); every
//! `aliases` entry, and the aqua name itself, find the package too.

use std::collections::BTreeMap;

use crate::aqua::AquaError;
use crate::aqua::model::{Package, check_keys};

/// One entry of the registry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The aqua name (`BurntSushi/ripgrep`), or `#<n>` for an unnamed entry.
    pub aqua: String,
    /// The entry, or why it does not read.
    pub package: Result<Package, String>,
}

/// A registry: its entries and the names that reach them.
#[derive(Debug, Clone, Default)]
pub struct Index {
    pub entries: Vec<Entry>,
    /// Pack name → entry.
    names: BTreeMap<String, usize>,
    /// Every other name (aliases, aqua names, their pack-name spellings) → entry.
    other: BTreeMap<String, usize>,
}

/// `text` in pack-name spelling: lowercase, every other character `-`, no `-` at the ends.
pub fn pack_spelling(text: &str) -> String {
    let s: String = text
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out.trim_matches('-').to_owned()
}

impl Index {
    /// Read a `registry.yaml` (`origin` names it in errors). The file must be YAML with a
    /// `packages` list; each entry is read on its own.
    pub fn parse(text: &str, origin: &str) -> Result<Index, AquaError> {
        let value: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(text).map_err(|e| AquaError::Yaml {
                origin: origin.to_owned(),
                message: e.to_string(),
            })?;
        let mut index = Index::default();
        index.add(&value, origin)?;
        index.name_all();
        Ok(index)
    }

    /// Several files (a checkout's `pkgs/**/registry.yaml`), in order.
    pub fn parse_many<'a>(
        files: impl IntoIterator<Item = (&'a str, String)>,
    ) -> Result<Index, AquaError> {
        let mut index = Index::default();
        for (text, origin) in files {
            let value: serde_yaml_ng::Value =
                serde_yaml_ng::from_str(text).map_err(|e| AquaError::Yaml {
                    origin: origin.clone(),
                    message: e.to_string(),
                })?;
            index.add(&value, &origin)?;
        }
        index.name_all();
        Ok(index)
    }

    fn add(&mut self, value: &serde_yaml_ng::Value, origin: &str) -> Result<(), AquaError> {
        let packages = value
            .as_mapping()
            .and_then(|m| m.get("packages"))
            .and_then(serde_yaml_ng::Value::as_sequence)
            .ok_or_else(|| AquaError::Yaml {
                origin: origin.to_owned(),
                message: "no `packages` list".into(),
            })?;
        for (i, raw) in packages.iter().enumerate() {
            let named = |p: &Package| p.full_name();
            let package = match check_keys(raw) {
                Some(key) => Err(format!("unknown key {key}")),
                None => {
                    serde_yaml_ng::from_value::<Package>(raw.clone()).map_err(|e| e.to_string())
                }
            };
            let aqua = match &package {
                Ok(p) => named(p),
                Err(_) => raw
                    .get("name")
                    .and_then(|n| n.as_str().map(str::to_owned))
                    .or_else(|| {
                        Some(format!(
                            "{}/{}",
                            raw.get("repo_owner")?.as_str()?,
                            raw.get("repo_name")?.as_str()?
                        ))
                    }),
            }
            .unwrap_or_else(|| format!("{origin}#{i}"));
            self.entries.push(Entry { aqua, package });
        }
        Ok(())
    }

    /// Give every entry its pack name and its other names.
    fn name_all(&mut self) {
        let mut short_count: BTreeMap<String, usize> = BTreeMap::new();
        for e in &self.entries {
            *short_count.entry(short(&e.aqua)).or_default() += 1;
        }
        let mut taken = std::collections::BTreeSet::new();
        for (i, e) in self.entries.iter().enumerate() {
            let s = short(&e.aqua);
            let name = if short_count.get(&s) == Some(&1) && !s.is_empty() {
                s
            } else {
                pack_spelling(&e.aqua)
            };
            // Pack names are at most 64 characters (`pack_spelling` makes the rest right).
            if name.is_empty() || name.len() > 64 || !taken.insert(name.clone()) {
                continue;
            }
            self.names.insert(name, i);
        }
        for (i, e) in self.entries.iter().enumerate() {
            let mut others = vec![e.aqua.clone(), pack_spelling(&e.aqua)];
            if let Ok(p) = &e.package {
                for a in &p.aliases {
                    others.push(a.name.clone());
                    others.push(pack_spelling(&a.name));
                    let s = short(&a.name);
                    if !short_count.contains_key(&s) {
                        others.push(s);
                    }
                }
            }
            for o in others {
                if !o.is_empty() && !self.names.contains_key(&o) {
                    self.other.entry(o).or_insert(i);
                }
            }
        }
    }

    /// Every pack name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.keys().map(String::as_str)
    }

    /// The pack name of entry `i`.
    pub fn name_of(&self, i: usize) -> Option<&str> {
        self.names
            .iter()
            .find(|(_, at)| **at == i)
            .map(|(n, _)| n.as_str())
    }

    /// The entry `name` reaches (a pack name, an aqua name, an alias).
    pub fn find(&self, name: &str) -> Option<(usize, &Entry)> {
        let i = *self
            .names
            .get(name)
            .or_else(|| self.other.get(name))
            .or_else(|| self.other.get(&pack_spelling(name)))?;
        Some((i, &self.entries[i]))
    }

    /// The pack name `name` stands for (itself when it is one).
    pub fn pack_name(&self, name: &str) -> Option<&str> {
        let (i, _) = self.find(name)?;
        self.name_of(i)
    }
}

/// The repository part of an aqua name, in pack-name spelling.
fn short(aqua: &str) -> String {
    pack_spelling(aqua.rsplit('/').next().unwrap_or(aqua))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_short_when_unique() {
        let yaml = r#"
packages:
  - type: github_release
    repo_owner: BurntSushi
    repo_name: ripgrep
    asset: rg
  - type: github_release
    repo_owner: jqlang
    repo_name: jq
    aliases:
      - name: stedolan/jq
    asset: jq
  - type: github_release
    repo_owner: a
    repo_name: tool
    asset: t
  - type: github_release
    repo_owner: b
    repo_name: tool
    asset: t
  - type: github_release
    repo_owner: c
    repo_name: broken
    bogus_key: 1
"#;
        let idx = Index::parse(yaml, "test").unwrap();
        let names: Vec<&str> = idx.names().collect();
        assert_eq!(names, ["a-tool", "b-tool", "broken", "jq", "ripgrep"]);
        assert_eq!(idx.pack_name("BurntSushi/ripgrep"), Some("ripgrep"));
        assert_eq!(idx.pack_name("stedolan/jq"), Some("jq"));
        assert_eq!(idx.pack_name("burntsushi-ripgrep"), Some("ripgrep"));
        let (_, broken) = idx.find("broken").unwrap();
        assert!(
            broken.package.as_ref().unwrap_err().contains("bogus_key"),
            "{broken:?}"
        );
        assert!(
            idx.find("tool").is_none(),
            "ambiguous short names find nothing"
        );
    }
}
