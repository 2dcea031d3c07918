//! The version files of other tools, read for `aibox import`: asdf's `.tool-versions`, mise's
//! `mise.toml` / `.mise.toml` (`[tools]`), `.nvmrc` and `.python-version`. Each gives tool
//! names with the versions written there; [`translate`] turns such a version into an aibox
//! request, or says why it cannot.

use std::path::Path;

use super::request::Request;

/// The file names `aibox import` looks for, in this order.
pub const FILES: [&str; 5] = [
    ".tool-versions",
    "mise.toml",
    ".mise.toml",
    ".nvmrc",
    ".python-version",
];

/// One tool a legacy file asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// The tool's name as the file writes it (`nodejs`, `npm:prettier`, …).
    pub tool: String,
    /// The versions written, the one in force first (asdf and mise take the first).
    pub versions: Vec<String>,
    /// Where: `<file>:<line>`.
    pub at: String,
}

/// Read the tools of the legacy file `text` named `name` (one of [`FILES`]).
pub fn parse(name: &str, text: &str) -> Result<Vec<Wanted>, String> {
    match name {
        ".tool-versions" => Ok(tool_versions(text)),
        "mise.toml" | ".mise.toml" => mise(name, text),
        ".nvmrc" => Ok(single(name, "node", text)),
        ".python-version" => Ok(single(name, "python", text)),
        other => Err(format!(
            "`{other}` is not a file aibox can import (it reads {})",
            FILES.join(", ")
        )),
    }
}

/// The file name of `path`, if it is one `aibox import` reads.
pub fn kind_of(path: &Path) -> Option<&'static str> {
    let name = path.file_name()?.to_str()?;
    FILES.iter().find(|f| **f == name).copied()
}

/// `.tool-versions`: `tool version [version…]` per line, `#` comments.
fn tool_versions(text: &str) -> Vec<Wanted> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default();
        let mut words = line.split_whitespace();
        let Some(tool) = words.next() else {
            continue;
        };
        out.push(Wanted {
            tool: tool.to_owned(),
            versions: words.map(str::to_owned).collect(),
            at: format!(".tool-versions:{}", i + 1),
        });
    }
    out
}

/// `mise.toml`: the `[tools]` table; a value is a version, a list of versions, or a table with
/// `version`.
fn mise(name: &str, text: &str) -> Result<Vec<Wanted>, String> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| format!("{name}: {}", e.message()))?;
    let Some(tools) = doc.get("tools") else {
        return Ok(Vec::new());
    };
    let tools = tools
        .as_table()
        .ok_or_else(|| format!("{name}: `tools` is not a table"))?;
    let mut out = Vec::new();
    for (tool, value) in tools {
        let versions = match value {
            toml::Value::String(v) => vec![v.clone()],
            toml::Value::Array(a) => a
                .iter()
                .filter_map(|v| match v {
                    toml::Value::String(s) => Some(s.clone()),
                    toml::Value::Table(t) => t.get("version")?.as_str().map(str::to_owned),
                    _ => None,
                })
                .collect(),
            toml::Value::Table(t) => t
                .get("version")
                .and_then(|v| v.as_str())
                .map(|v| vec![v.to_owned()])
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let line = text
            .lines()
            .position(|l| {
                let l = l.trim_start().trim_start_matches('"');
                l.starts_with(tool.as_str())
            })
            .map_or(0, |i| i + 1);
        out.push(Wanted {
            tool: tool.clone(),
            versions,
            at: format!("{name}:{line}"),
        });
    }
    Ok(out)
}

/// `.nvmrc`, `.python-version`: one version per line (the first in force), `#` comments.
fn single(name: &str, tool: &str, text: &str) -> Vec<Wanted> {
    let mut versions = Vec::new();
    let mut first_line = 0;
    for (i, line) in text.lines().enumerate() {
        let v = line.split('#').next().unwrap_or_default().trim();
        if !v.is_empty() {
            if versions.is_empty() {
                first_line = i + 1;
            }
            versions.push(v.to_owned());
        }
    }
    if versions.is_empty() {
        return Vec::new();
    }
    vec![Wanted {
        tool: tool.to_owned(),
        versions,
        at: format!("{name}:{first_line}"),
    }]
}

/// The tool name without a mise backend prefix (`npm:prettier` → `prettier`,
/// `aqua:BurntSushi/ripgrep` → `ripgrep`), lowercased.
pub fn tool_name(tool: &str) -> String {
    let bare = tool.rsplit_once(':').map_or(tool, |(_, rest)| rest);
    let bare = bare.rsplit('/').next().unwrap_or(bare);
    bare.split('@').next().unwrap_or(bare).to_ascii_lowercase()
}

/// The aibox request for a version as version managers write it: `20` (newest 20.x) → `20`,
/// `3.11` (newest 3.11.x) → `~3.11`, `20.11.0` or `v20.11.0` → `=20.11.0`, `latest` → `*`.
/// Aliases that name no version (`system`, `lts/*`, `ref:…`, `path:…`) cannot be translated.
pub fn translate(version: &str) -> Result<String, String> {
    let v = version.trim();
    if matches!(v, "latest" | "*" | "node" | "stable") {
        return Ok("*".into());
    }
    if v == "system" {
        return Err("`system` means the copy installed outside the version manager".into());
    }
    if v.starts_with("lts") {
        return Err(format!(
            "`{v}` is an alias, not a version: write the major version it stands for (e.g. `22`)"
        ));
    }
    if let Some((kind, _)) = v.split_once(':') {
        return Err(format!("`{v}` is a {kind} reference, not a version"));
    }
    let bare = v.strip_prefix('v').unwrap_or(v);
    let parts = bare.split('.').count();
    let numeric = bare
        .split(['.', '-', '+'])
        .next()
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !numeric {
        return Err(format!("`{v}` is not a version"));
    }
    let request = match parts {
        1 => bare.to_owned(),
        2 => format!("~{bare}"),
        _ => format!("={bare}"),
    };
    Request::parse(&request)
        .map(|_| request)
        .map_err(|e| format!("`{v}` is not a version aibox understands: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_versions_with_comments_and_several_versions() {
        let text =
            "# runtimes\nnodejs 20.11.0   # LTS\npython 3.11.4 3.12.1\n\n  terraform latest\n";
        let got = parse(".tool-versions", text).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].tool, "nodejs");
        assert_eq!(got[0].versions, ["20.11.0"]);
        assert_eq!(got[0].at, ".tool-versions:2");
        assert_eq!(got[1].versions, ["3.11.4", "3.12.1"]);
        assert_eq!(got[2].at, ".tool-versions:5");
    }

    #[test]
    fn mise_tools_in_every_shape() {
        let text = "[env]\nX = \"1\"\n\n[tools]\nnode = \"20\"\npython = [\"3.11\", \"3.12\"]\n\"npm:prettier\" = \"3.1.0\"\ngo = { version = \"1.22\" }\n";
        let got = parse("mise.toml", text).unwrap();
        let by: std::collections::BTreeMap<_, _> =
            got.iter().map(|w| (w.tool.as_str(), w)).collect();
        assert_eq!(by["node"].versions, ["20"]);
        assert_eq!(by["python"].versions, ["3.11", "3.12"]);
        assert_eq!(by["npm:prettier"].at, "mise.toml:7");
        assert_eq!(by["go"].versions, ["1.22"]);
        assert!(parse("mise.toml", "[tools\n").is_err());
    }

    #[test]
    fn versions_translate_to_requests() {
        assert_eq!(translate("20").unwrap(), "20");
        assert_eq!(translate("3.11").unwrap(), "~3.11");
        assert_eq!(translate("v20.11.0").unwrap(), "=20.11.0");
        assert_eq!(translate("1.2.0-rc.1").unwrap(), "=1.2.0-rc.1");
        assert_eq!(translate("latest").unwrap(), "*");
        for bad in [
            "system",
            "lts/iron",
            "ref:main",
            "path:/opt/x",
            "stable-2024",
        ] {
            assert!(translate(bad).is_err(), "{bad}");
        }
        assert_eq!(tool_name("npm:prettier"), "prettier");
        assert_eq!(tool_name("aqua:BurntSushi/ripgrep"), "ripgrep");
        assert_eq!(tool_name("NodeJS"), "nodejs");
    }
}
