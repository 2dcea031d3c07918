//! The YAML front matter of a `SKILL.md`, read as the Agent Skills specification defines it:
//! `name`, `description`, optional `license`, `compatibility`, `metadata` and `allowed-tools`,
//! nothing else. YAML is parsed event by event (yaml-rust2) into a small tree with positions,
//! so every error names the file, line and column; anchors, aliases, tags and more than one
//! document are refused (a front matter is a few keys, never a document that expands).

use std::collections::BTreeMap;
use std::path::Path;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::manifest::{ManifestError, did_you_mean};

/// The largest front matter read (bytes between the `---` lines).
pub const MAX_FRONT_MATTER: usize = 64 << 10;
/// The keys a front matter may have (the specification's).
pub const KEYS: [&str; 6] = [
    "name",
    "description",
    "license",
    "compatibility",
    "metadata",
    "allowed-tools",
];
/// Most characters of `name`, `description` and `compatibility`.
pub const MAX_NAME: usize = 64;
pub const MAX_DESCRIPTION: usize = 1024;
pub const MAX_COMPATIBILITY: usize = 500;
/// Most YAML nodes and nesting levels in a front matter.
const MAX_NODES: usize = 4096;
const MAX_DEPTH: usize = 8;

/// A parsed, valid front matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontMatter {
    pub name: String,
    pub description: String,
    pub license: Option<String>,
    pub compatibility: Option<String>,
    /// `metadata`: string keys to string values (YAML scalars kept as written).
    pub metadata: BTreeMap<String, String>,
    /// `allowed-tools`, one tool per entry, in the order written.
    pub allowed_tools: Vec<String>,
}

/// One YAML node with the byte offset (in the whole file) where it starts.
#[derive(Debug)]
enum Node {
    Scalar {
        text: String,
        plain: bool,
        at: usize,
    },
    Seq {
        items: Vec<Node>,
        at: usize,
    },
    Map {
        entries: Vec<(Node, Node)>,
        at: usize,
    },
}

impl Node {
    fn at(&self) -> usize {
        match self {
            Node::Scalar { at, .. } | Node::Seq { at, .. } | Node::Map { at, .. } => *at,
        }
    }

    /// The scalar's text when it is a YAML string under the core schema (quoted, or a plain
    /// scalar that is not null, a boolean or a number).
    fn string(&self) -> Option<&str> {
        match self {
            Node::Scalar { text, plain, .. } if !*plain || plain_kind(text) == "a string" => {
                Some(text)
            }
            _ => None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Node::Scalar {
                text, plain: true, ..
            } => plain_kind(text),
            Node::Scalar { .. } => "a string",
            Node::Seq { .. } => "a list",
            Node::Map { .. } => "a mapping",
        }
    }
}

/// What a plain scalar is under YAML 1.2's core schema.
fn plain_kind(text: &str) -> &'static str {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return "empty (null)",
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => return "a boolean",
        ".inf" | "-.inf" | "+.inf" | ".Inf" | "-.Inf" | "+.Inf" | ".INF" | "-.INF" | "+.INF"
        | ".nan" | ".NaN" | ".NAN" => return "a number",
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let int = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let radix = ["0x", "0o"].iter().any(|p| {
        text.strip_prefix(p)
            .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_hexdigit()))
    });
    let float = {
        let (mantissa, exponent) = match digits.find(['e', 'E']) {
            Some(i) => (&digits[..i], Some(&digits[i + 1..])),
            None => (digits, None),
        };
        let m_ok = !mantissa.is_empty()
            && mantissa.bytes().filter(|b| *b == b'.').count() <= 1
            && mantissa.bytes().any(|b| b.is_ascii_digit())
            && mantissa.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        let e_ok = exponent.is_none_or(|e| {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
        });
        m_ok && e_ok
    };
    if int || radix || float {
        "a number"
    } else {
        "a string"
    }
}

/// Builds [`Node`]s from parser events, refusing what a front matter never needs.
struct Builder {
    /// Byte offset of the front matter in the file (markers count from the front matter).
    base: usize,
    stack: Vec<Node>,
    done: Vec<Node>,
    documents: usize,
    nodes: usize,
    error: Option<(usize, String)>,
}

impl Builder {
    fn fail(&mut self, at: usize, message: String) {
        self.error.get_or_insert((at, message));
    }

    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some(Node::Seq { items, .. }) => items.push(node),
            Some(Node::Map { entries, .. }) => match entries.last_mut() {
                // A key waits for its value: a value node is stored in place of the marker.
                Some((_, Node::Scalar { at: usize::MAX, .. })) => {
                    entries.last_mut().expect("last entry").1 = node;
                }
                _ => entries.push((
                    node,
                    Node::Scalar {
                        text: String::new(),
                        plain: true,
                        at: usize::MAX,
                    },
                )),
            },
            Some(Node::Scalar { .. }) => unreachable!("scalars are never on the stack"),
            None => self.done.push(node),
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let at = self.base + mark.index();
        let anchored = |id: usize| id != 0;
        match ev {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    self.fail(
                        at,
                        "the front matter holds more than one YAML document".into(),
                    );
                }
            }
            Event::Alias(_) => self.fail(
                at,
                "YAML aliases (`*name`) are not allowed in a front matter".into(),
            ),
            Event::Scalar(_, _, anchor, _)
            | Event::SequenceStart(anchor, _)
            | Event::MappingStart(anchor, _)
                if anchored(anchor) =>
            {
                self.fail(
                    at,
                    "YAML anchors (`&name`) are not allowed in a front matter".into(),
                );
            }
            Event::Scalar(_, _, _, Some(_))
            | Event::SequenceStart(_, Some(_))
            | Event::MappingStart(_, Some(_)) => {
                self.fail(
                    at,
                    "YAML tags (`!tag`) are not allowed in a front matter".into(),
                );
            }
            Event::Scalar(text, style, _, None) => {
                self.nodes += 1;
                let plain = style == TScalarStyle::Plain;
                self.push(Node::Scalar { text, plain, at });
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                self.nodes += 1;
                if self.stack.len() >= MAX_DEPTH {
                    self.fail(
                        at,
                        format!("the front matter nests deeper than {MAX_DEPTH} levels"),
                    );
                    return;
                }
                self.stack.push(if matches!(ev, Event::SequenceStart(..)) {
                    Node::Seq {
                        items: Vec::new(),
                        at,
                    }
                } else {
                    Node::Map {
                        entries: Vec::new(),
                        at,
                    }
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(node) = self.stack.pop() {
                    self.push(node);
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
        if self.nodes > MAX_NODES {
            self.fail(
                at,
                format!("the front matter has more than {MAX_NODES} YAML nodes"),
            );
        }
    }
}

/// Where the YAML between the `---` lines of `text` starts and ends (byte offsets), and where
/// the body starts.
fn split(text: &str, path: &Path) -> Result<(usize, usize), ManifestError> {
    let err = |offset: usize, message: &str| ManifestError::at(path, text, offset, message);
    if text.starts_with('\u{feff}') {
        return Err(err(0, "SKILL.md starts with a byte-order mark")
            .with_hint("save SKILL.md as UTF-8 without a BOM; it must begin with `---`"));
    }
    let first = text.split_inclusive('\n').next().unwrap_or_default();
    if first.trim_end_matches(['\n', '\r']) != "---" {
        return Err(err(
            0,
            "SKILL.md must start with YAML front matter (a `---` line)",
        )
        .with_hint("begin SKILL.md with `---`, then `name: …` and `description: …`, then `---`"));
    }
    let start = first.len();
    let mut offset = start;
    for line in text[start..].split_inclusive('\n') {
        if line.trim_end_matches(['\n', '\r']) == "---" {
            return Ok((start, offset));
        }
        offset += line.len();
        if offset - start > MAX_FRONT_MATTER {
            return Err(err(
                start,
                &format!(
                    "the front matter is longer than {} KiB",
                    MAX_FRONT_MATTER >> 10
                ),
            )
            .with_hint(
                "a front matter holds a few short keys; move long text into the body of SKILL.md",
            ));
        }
    }
    Err(err(0, "the front matter is not closed by a `---` line")
        .with_hint("end the front matter with a line holding only `---`"))
}

/// Parse and check the front matter of a `SKILL.md` (`path` is for messages).
pub fn parse(text: &str, path: &Path) -> Result<FrontMatter, ManifestError> {
    let (start, end) = split(text, path)?;
    let err = |offset: usize, message: String| ManifestError::at(path, text, offset, message);
    let mut builder = Builder {
        base: start,
        stack: Vec::new(),
        done: Vec::new(),
        documents: 0,
        nodes: 0,
        error: None,
    };
    let mut parser = Parser::new_from_str(&text[start..end]);
    if let Err(e) = parser.load(&mut builder, true) {
        return Err(err(start + e.marker().index(), format!("the front matter is not valid YAML: {}", e.info()))
            .with_hint("quote values that contain `: ` or start with a special character, e.g. `description: \"…\"`"));
    }
    if let Some((at, message)) = builder.error {
        return Err(err(at, message));
    }
    let top = match builder.done.pop() {
        Some(Node::Map { entries, .. }) => entries,
        Some(other) => {
            return Err(err(
                other.at(),
                format!(
                    "the front matter must be a mapping of keys, found {}",
                    other.kind()
                ),
            ));
        }
        None => Vec::new(),
    };
    let mut keys: BTreeMap<String, (usize, Node)> = BTreeMap::new();
    for (key, value) in top {
        let Some(name) = key.string().map(str::to_owned) else {
            return Err(err(
                key.at(),
                format!("a front matter key must be a string, found {}", key.kind()),
            ));
        };
        if !KEYS.contains(&name.as_str()) {
            let mut message = format!("unknown key `{name}` in the front matter");
            if let Some(s) = did_you_mean(&name, KEYS) {
                message.push_str(&format!("; did you mean `{s}`?"));
            }
            return Err(err(key.at(), message).with_hint(
                "the Agent Skills front matter has `name`, `description`, `license`, `compatibility`, `metadata` and `allowed-tools`; other data goes under `metadata`",
            ));
        }
        if keys.contains_key(&name) {
            return Err(err(
                key.at(),
                format!("`{name}` is given twice in the front matter"),
            ));
        }
        keys.insert(name, (key.at(), value));
    }
    let text_of = |key: &str, max: Option<usize>| -> Result<Option<String>, ManifestError> {
        let Some((key_at, node)) = keys.get(key) else {
            return Ok(None);
        };
        let value = node.string().ok_or_else(|| {
            // An empty value has no position of its own: point at its key.
            let at = if node.kind() == "empty (null)" {
                *key_at
            } else {
                node.at()
            };
            err(
                at,
                format!("`{key}` must be a string, found {}", node.kind()),
            )
            .with_hint(format!("write `{key}: \"…\"`"))
        })?;
        if let Some(max) = max
            && value.chars().count() > max
        {
            return Err(err(
                node.at(),
                format!(
                    "`{key}` is {} characters long (at most {max})",
                    value.chars().count()
                ),
            ));
        }
        if value
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t'))
        {
            return Err(err(
                node.at(),
                format!("`{key}` contains a control character"),
            ));
        }
        Ok(Some(value.to_owned()))
    };
    let required = |key: &str, max: usize| -> Result<String, ManifestError> {
        let value = text_of(key, Some(max))?.ok_or_else(|| {
            err(0, format!("the front matter has no `{key}`"))
                .with_hint("the front matter needs `name: <the folder's name>` and `description: <what the skill does and when to use it>`")
        })?;
        if value.trim().is_empty() {
            let at = keys.get(key).map_or(0, |(_, n)| n.at());
            return Err(err(at, format!("`{key}` is empty")));
        }
        Ok(value)
    };
    let name = required("name", MAX_NAME)?;
    if let Err(reason) = check_name(&name) {
        let at = keys.get("name").map_or(0, |(_, n)| n.at());
        return Err(err(at, format!("`{name}` is not a skill name: {reason}")).with_hint(
            "a skill name has 1–64 lowercase letters, digits and single hyphens, and matches its folder's name",
        ));
    }
    let description = required("description", MAX_DESCRIPTION)?;
    let license = text_of("license", Some(1024))?;
    let compatibility = text_of("compatibility", Some(MAX_COMPATIBILITY))?;
    let metadata = match keys.get("metadata") {
        None => BTreeMap::new(),
        Some((_, Node::Map { entries, .. })) => {
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                let (Some(k), Node::Scalar { text, .. }) = (k.string(), v) else {
                    return Err(err(v.at(), "`metadata` maps strings to strings; nested lists and mappings are not allowed".into()));
                };
                if matches!(v, Node::Scalar { plain: true, .. })
                    && plain_kind(text) == "empty (null)"
                {
                    return Err(err(v.at(), format!("`metadata.{k}` is empty")));
                }
                out.insert(k.to_owned(), text.clone());
            }
            out
        }
        Some((_, other)) => {
            return Err(err(
                other.at(),
                format!("`metadata` must be a mapping, found {}", other.kind()),
            ));
        }
    };
    let allowed_tools = match keys.get("allowed-tools") {
        None => Vec::new(),
        Some((_, Node::Seq { items, .. })) => items
            .iter()
            .map(|i| {
                i.string().map(|s| s.trim().to_owned()).ok_or_else(|| {
                    err(
                        i.at(),
                        format!(
                            "`allowed-tools` entries must be strings, found {}",
                            i.kind()
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some((_, node)) => match node.string() {
            Some(text) => tools(text),
            None => {
                return Err(err(
                    node.at(),
                    format!(
                        "`allowed-tools` must be a string or a list of strings, found {}",
                        node.kind()
                    ),
                ));
            }
        },
    };
    Ok(FrontMatter {
        name,
        description,
        license,
        compatibility,
        metadata,
        allowed_tools: allowed_tools
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect(),
    })
}

/// Split an `allowed-tools` string into tools: separated by spaces or commas outside
/// parentheses (`Bash(git add:*) Read, Grep` → three tools).
pub fn tools(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if depth == 0 && (c.is_whitespace() || c == ',') => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Check a skill name: 1–64 lowercase ASCII letters, digits and hyphens, no leading, trailing
/// or doubled hyphen (a skill name is also a pack name). The error is the reason.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(format!("it must have 1 to {MAX_NAME} characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "{c:?} is not allowed (lowercase letters, digits and `-`)"
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("it starts or ends with `-`".into());
    }
    if name.contains("--") {
        return Err("it has two hyphens in a row".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> FrontMatter {
        parse(text, Path::new("SKILL.md")).unwrap()
    }

    fn parse_err(text: &str) -> String {
        parse(text, Path::new("SKILL.md")).unwrap_err().to_string()
    }

    #[test]
    fn reads_every_key() {
        let fm = parse_ok(
            "---\nname: review-pr\ndescription: >\n  Review pull requests\nlicense: MIT\ncompatibility: needs git\nmetadata:\n  version: 1.0\n  author: \"team\"\nallowed-tools: Bash(git diff:*) Read, Grep\n---\n# Body\n",
        );
        assert_eq!(fm.name, "review-pr");
        assert_eq!(fm.description, "Review pull requests\n");
        assert_eq!(fm.license.as_deref(), Some("MIT"));
        assert_eq!(fm.metadata["version"], "1.0");
        assert_eq!(fm.allowed_tools, ["Bash(git diff:*)", "Read", "Grep"]);
        let fm = parse_ok(
            "---\r\nname: a\r\ndescription: d\r\nallowed-tools: [Read, \"Bash(ls)\"]\r\n---\r\n",
        );
        assert_eq!(fm.allowed_tools, ["Read", "Bash(ls)"]);
    }

    #[test]
    fn errors_point_at_the_line() {
        let cases = [
            (
                "name: a\n",
                "SKILL.md:1:1: SKILL.md must start with YAML front matter",
            ),
            (
                "---\nname: a\ndescription: d\n",
                "the front matter is not closed",
            ),
            (
                "---\nname: a\n---\n",
                "SKILL.md:1:1: the front matter has no `description`",
            ),
            (
                "---\nname: Review\ndescription: d\n---\n",
                "SKILL.md:2:7: `Review` is not a skill name",
            ),
            (
                "---\nname: a--b\ndescription: d\n---\n",
                "two hyphens in a row",
            ),
            (
                "---\nname: -a\ndescription: d\n---\n",
                "starts or ends with `-`",
            ),
            (
                "---\nname: 123\ndescription: d\n---\n",
                "SKILL.md:2:7: `name` must be a string, found a number",
            ),
            (
                "---\nname: a\ndescription:\n---\n",
                "`description` must be a string, found empty (null)",
            ),
            (
                "---\nname: a\ndescription: \"  \"\n---\n",
                "`description` is empty",
            ),
            (
                "---\nname: a\ndescription: d\nversion: 1\n---\n",
                "SKILL.md:4:1: unknown key `version` in the front matter",
            ),
            (
                "---\nname: a\ndescription: d\nmetadata:\n  x: [1]\n---\n",
                "nested lists and mappings are not allowed",
            ),
            (
                "---\nname: a\ndescription: d\nmetadata: hi\n---\n",
                "`metadata` must be a mapping, found a string",
            ),
            (
                "---\nname: a\ndescription: d\nname: b\n---\n",
                "`name` is given twice",
            ),
            ("---\nname: &x a\ndescription: *x\n---\n", "anchors"),
            ("---\nname: !!str a\ndescription: d\n---\n", "tags"),
            (
                "---\nname: a\ndescription: [unclosed\n---\n",
                "not valid YAML",
            ),
            ("---\n- a\n---\n", "must be a mapping of keys, found a list"),
            (
                "---\nname: a\ndescription: d\ncompatibility: 5\n---\n",
                "`compatibility` must be a string",
            ),
            (
                "---\nname: a\ndescription: d\nallowed-tools: {a: b}\n---\n",
                "a string or a list of strings",
            ),
            (
                "\u{feff}---\nname: a\ndescription: d\n---\n",
                "byte-order mark",
            ),
        ];
        for (text, expected) in cases {
            let got = parse_err(text);
            assert!(
                got.contains(expected),
                "{text:?}: {got:?} should contain {expected:?}"
            );
        }
        let long = format!("---\nname: a\ndescription: {}\n---\n", "x".repeat(1025));
        assert!(parse_err(&long).contains("is 1025 characters long (at most 1024)"));
        let huge = format!(
            "---\nname: a\ndescription: d\n{}---\n",
            "# filler\n".repeat(10_000)
        );
        assert!(parse_err(&huge).contains("longer than 64 KiB"));
    }

    #[test]
    fn plain_scalars_follow_the_core_schema() {
        for s in ["1", "-2", "0x1f", "1.5", ".5", "1e3", ".inf", ".NaN"] {
            assert_eq!(plain_kind(s), "a number", "{s}");
        }
        for s in ["yes", "no", "1.2.3", "v1", "2024-01-01", "1e", "0x", "e3"] {
            assert_eq!(plain_kind(s), "a string", "{s}");
        }
        assert_eq!(plain_kind("~"), "empty (null)");
        assert_eq!(plain_kind("False"), "a boolean");
    }

    #[test]
    fn tools_split_outside_parentheses() {
        assert_eq!(
            tools("Bash(git add:*) Read,Grep  "),
            ["Bash(git add:*)", "Read", "Grep"]
        );
        assert!(tools("  ").is_empty());
    }
}
