//! Editing `aibox.toml` for `aibox add` / `aibox remove` while keeping the user's formatting,
//! comments and key order (toml_edit).

use std::path::Path;

use toml_edit::{DocumentMut, Item, Table, Value};

use super::{ManifestError, validate_pack_name};
use crate::manifest::request::Request;

/// Which table a requirement goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Packs,
    Plugins,
    Skills,
}

impl Section {
    /// Every section, in the order `aibox.toml` documents them.
    pub const ALL: [Section; 3] = [Section::Packs, Section::Plugins, Section::Skills];

    pub fn key(self) -> &'static str {
        match self {
            Section::Packs => "packs",
            Section::Plugins => "plugins",
            Section::Skills => "skills",
        }
    }

    /// The section for packs of `kind`.
    pub fn of_kind(kind: super::pack::PackKind) -> Section {
        match kind {
            super::pack::PackKind::Plugin => Section::Plugins,
            super::pack::PackKind::Skill => Section::Skills,
            super::pack::PackKind::Tool | super::pack::PackKind::Cli => Section::Packs,
        }
    }
}

fn document(text: &str) -> Result<DocumentMut, ManifestError> {
    text.parse::<DocumentMut>().map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        ManifestError::at(
            Path::new("aibox.toml"),
            text,
            offset,
            e.message().trim_end().to_owned(),
        )
    })
}

/// Set `name = request` in `[packs]`, `[plugins]` or `[skills]` (creating the table if needed)
/// and return the new text. An existing entry keeps its place and, when it is a table, its
/// `registry`; an entry of the same name in another section is removed. If the section's keys were
/// sorted, they stay sorted. The name and request are validated first.
pub fn add_requirement(
    text: &str,
    section: Section,
    name: &str,
    request: &str,
) -> Result<String, ManifestError> {
    let path = Path::new("aibox.toml");
    if let Err(reason) = validate_pack_name(name) {
        return Err(ManifestError::at(
            path,
            text,
            0,
            format!("`{name}` is not a valid pack name: {reason}"),
        ));
    }
    if let Err(e) = Request::parse(request) {
        return Err(ManifestError::at(path, text, 0, e.to_string()));
    }
    let mut doc = document(text)?;
    for other in Section::ALL.into_iter().filter(|s| *s != section) {
        if let Some(table) = doc.get_mut(other.key()).and_then(Item::as_table_like_mut) {
            table.remove(name);
        }
    }
    let item = doc
        .entry(section.key())
        .or_insert_with(|| Item::Table(Table::new()));
    let Some(table) = item.as_table_like_mut() else {
        return Err(ManifestError::at(
            path,
            text,
            0,
            format!("`{}` is not a table", section.key()),
        ));
    };
    let was_sorted = {
        let keys: Vec<&str> = table.iter().map(|(k, _)| k).collect();
        keys.windows(2).all(|w| w[0] <= w[1])
    };
    match table.get_mut(name) {
        Some(existing) => {
            if let Some(inline) = existing.as_inline_table_mut() {
                inline.insert("version", Value::from(request));
            } else if let Some(t) = existing.as_table_mut() {
                t.insert("version", toml_edit::value(request));
            } else {
                let decor = existing.as_value().map(|v| v.decor().clone());
                let mut value = Value::from(request);
                if let Some(decor) = decor {
                    *value.decor_mut() = decor;
                }
                *existing = Item::Value(value);
            }
        }
        None => {
            table.insert(name, toml_edit::value(request));
            if was_sorted {
                table.sort_values();
            }
        }
    }
    Ok(doc.to_string())
}

/// Make the entry `name` of `section` (already there) come from the registry `registry` (a key
/// of `[registries]`), or from the default registry (`None`): a bare request becomes
/// `{ version = …, registry = … }` and a table keeps its other keys; without a registry, a
/// table left with only its `version` becomes a bare request again.
pub fn set_requirement_registry(
    text: &str,
    section: Section,
    name: &str,
    registry: Option<&str>,
) -> Result<String, ManifestError> {
    let mut doc = document(text)?;
    let missing = || {
        ManifestError::at(
            Path::new("aibox.toml"),
            text,
            0,
            format!("`{name}` is not in [{}]", section.key()),
        )
    };
    let existing = doc
        .get_mut(section.key())
        .and_then(Item::as_table_like_mut)
        .and_then(|t| t.get_mut(name))
        .ok_or_else(missing)?;
    let decor = existing.as_value().map(|v| v.decor().clone());
    let replace = |existing: &mut Item, mut value: Value| {
        if let Some(decor) = &decor {
            *value.decor_mut() = decor.clone();
        }
        *existing = Item::Value(value);
    };
    match registry {
        Some(registry) => {
            if let Some(inline) = existing.as_inline_table_mut() {
                inline.insert("registry", Value::from(registry));
            } else if let Some(t) = existing.as_table_mut() {
                t.insert("registry", toml_edit::value(registry));
            } else {
                let version = existing.as_str().ok_or_else(missing)?.to_owned();
                let mut inline = toml_edit::InlineTable::new();
                inline.insert("version", Value::from(version));
                inline.insert("registry", Value::from(registry));
                replace(existing, Value::InlineTable(inline));
            }
        }
        None => {
            if let Some(t) = existing.as_table_like_mut() {
                t.remove("registry");
                let only_version = t.len() == 1;
                let version = t.get("version").and_then(Item::as_str).map(str::to_owned);
                if let (true, Some(version)) = (only_version, version) {
                    replace(existing, Value::from(version));
                }
            }
        }
    }
    Ok(doc.to_string())
}

/// Add the built-in agents `names` to the top-level `agents` list (created if missing, after
/// the other top-level keys), keeping those already listed; each name is checked.
pub fn add_agents(text: &str, names: &[String]) -> Result<String, ManifestError> {
    let path = Path::new("aibox.toml");
    for name in names {
        if super::agents::built_in(name).is_none() {
            let mut message = format!("unknown agent `{name}`");
            if let Some(s) =
                super::did_you_mean(name, super::agents::BUILT_IN.iter().map(|a| a.name))
            {
                message.push_str(&format!("; did you mean `{s}`?"));
            }
            let known: Vec<&str> = super::agents::BUILT_IN.iter().map(|a| a.name).collect();
            return Err(ManifestError::at(path, text, 0, message).with_hint(format!(
                "known agents: {}; others go in `agents` as `{{ name = \"…\", path = \"…\" }}`",
                known.join(", ")
            )));
        }
    }
    let mut doc = document(text)?;
    let list = match doc.get_mut("agents") {
        Some(item) => item.as_array_mut().ok_or_else(|| {
            ManifestError::at(path, text, 0, "`agents` is not an array".to_owned())
        })?,
        None => {
            // A top-level key must come before the first table: insert it there.
            let position = doc
                .iter()
                .position(|(_, item)| item.is_table())
                .unwrap_or(usize::MAX);
            let mut array = toml_edit::Array::new();
            for name in names {
                array.push(name.as_str());
            }
            let mut new = DocumentMut::new();
            let mut placed = false;
            for (i, (key, item)) in doc.iter().enumerate() {
                if i == position && !placed {
                    new.insert("agents", toml_edit::value(array.clone()));
                    placed = true;
                }
                new.insert(key, item.clone());
            }
            if !placed {
                new.insert("agents", toml_edit::value(array));
            }
            *new.decor_mut() = doc.decor().clone();
            return Ok(new.to_string());
        }
    };
    for name in names {
        if !list.iter().any(|v| v.as_str() == Some(name)) {
            list.push(name.as_str());
        }
    }
    Ok(doc.to_string())
}

/// Remove `name` from `[packs]`, `[plugins]` and `[skills]`; `None` when it is in none of them
/// (or the text does not parse).
pub fn remove_requirement(text: &str, name: &str) -> Option<String> {
    let mut doc = document(text).ok()?;
    let mut removed = false;
    for section in Section::ALL {
        if let Some(table) = doc.get_mut(section.key()).and_then(Item::as_table_like_mut) {
            removed |= table.remove(name).is_some();
        }
    }
    removed.then(|| doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# my project\nrequires-aibox = \">=0.1\"\n\n[registries]\ndefault = \"dir:./packs\" # local\n\n[packs]\nhello = \"1\"  # greet\nnode = { version = \"^20\", registry = \"default\" }\n";

    #[test]
    fn add_keeps_formatting_and_order() {
        let out = add_requirement(TEXT, Section::Packs, "jq", "^1.6").unwrap();
        assert_eq!(
            out,
            "# my project\nrequires-aibox = \">=0.1\"\n\n[registries]\ndefault = \"dir:./packs\" # local\n\n[packs]\nhello = \"1\"  # greet\njq = \"^1.6\"\nnode = { version = \"^20\", registry = \"default\" }\n"
        );
        let out = add_requirement(TEXT, Section::Packs, "node", "^21").unwrap();
        assert!(out.contains("node = { version = \"^21\", registry = \"default\" }"));
        let out = add_requirement(TEXT, Section::Packs, "hello", "2").unwrap();
        assert!(out.contains("hello = \"2\"  # greet\n"), "{out}");
        crate::manifest::parse_project(&out, Path::new("aibox.toml")).unwrap();
    }

    #[test]
    fn add_creates_section_and_moves_between_sections() {
        let out = add_requirement(TEXT, Section::Plugins, "hello", "^1.2").unwrap();
        assert!(out.ends_with("[plugins]\nhello = \"^1.2\"\n"), "{out}");
        assert!(!out.contains("hello = \"1\""));
        let m = crate::manifest::parse_project(&out, Path::new("aibox.toml")).unwrap();
        assert!(m.plugins.contains_key("hello") && !m.packs.contains_key("hello"));
    }

    #[test]
    fn add_rejects_bad_input() {
        assert!(add_requirement(TEXT, Section::Packs, "Bad", "1").is_err());
        assert!(add_requirement(TEXT, Section::Packs, "ok", "^^1").is_err());
        assert!(add_requirement("[packs", Section::Packs, "ok", "1").is_err());
    }

    #[test]
    fn remove() {
        let out = remove_requirement(TEXT, "hello").unwrap();
        assert!(!out.contains("hello"));
        assert!(out.contains("node = {"));
        assert!(out.starts_with("# my project\n"));
        assert_eq!(remove_requirement(TEXT, "nope"), None);
    }
}
