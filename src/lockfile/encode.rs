//! The `aibox.lock` v1 text form: a hand-written deterministic renderer (sorted, fixed key
//! order, one style of quoting and arrays) and a strict parser (store-format/LOCKFILE.md).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{LockedPackage, LockedPlatform, Lockfile, VERSION};
use crate::manifest::line_col;
use crate::manifest::pack::PackKind;
use crate::store::tree::Hash;

/// The first line of every lock.
pub const HEADER: &str = "# This file is written by aibox. Do not edit it by hand.";

/// A lock file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LockfileError {
    #[error("{}:{line}:{column}: {message}", .path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}: lock file version {found} is not supported (this aibox reads version {VERSION})", .path.display())]
    UnsupportedVersion { path: PathBuf, found: i64 },
}

impl crate::error::Hint for LockfileError {
    fn hints(&self) -> Vec<String> {
        match self {
            LockfileError::Invalid { .. } => vec![
                "the lock is written by aibox only; delete it and run `aibox lock` to write it again".into(),
            ],
            LockfileError::UnsupportedVersion { found, .. } if *found > i64::from(VERSION) => vec![
                "it was written by a newer aibox: install a newer aibox, or delete it and run `aibox lock`".into(),
            ],
            LockfileError::UnsupportedVersion { .. } => {
                vec!["delete it and run `aibox lock` to write a version 1 lock".into()]
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLock {
    version: u32,
    manifest_hash: String,
    #[serde(default)]
    platforms: Vec<String>,
    #[serde(default, rename = "package")]
    packages: Vec<RawPackage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPackage {
    name: String,
    version: semver::Version,
    kind: PackKind,
    source: String,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
    #[serde(default)]
    platforms: BTreeMap<String, RawPlatform>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlatform {
    tree: Hash,
    #[serde(default)]
    manifest: Option<String>,
}

impl Lockfile {
    /// Parse `aibox.lock` text (`path` is for messages). The result is canonical (sorted); a
    /// version other than 1, unknown keys and duplicate packages are errors.
    pub fn parse(text: &str, path: &Path) -> Result<Lockfile, LockfileError> {
        let invalid = |offset: usize, message: String| {
            let (line, column) = line_col(text, offset);
            LockfileError::Invalid {
                path: path.to_owned(),
                line,
                column,
                message,
            }
        };
        let from_toml = |e: toml::de::Error| {
            invalid(
                e.span().map_or(0, |s| s.start),
                e.message().trim_end().to_owned(),
            )
        };
        // The version decides how to read the rest, so check it first.
        let table: toml::Table = toml::from_str(text).map_err(from_toml)?;
        match table.get("version") {
            Some(toml::Value::Integer(v)) if *v == i64::from(VERSION) => {}
            Some(toml::Value::Integer(v)) => {
                return Err(LockfileError::UnsupportedVersion {
                    path: path.to_owned(),
                    found: *v,
                });
            }
            _ => return Err(invalid(0, "missing `version = 1`".into())),
        }
        let raw: RawLock = toml::from_str(text).map_err(from_toml)?;
        let mut lock = Lockfile {
            version: raw.version,
            manifest_hash: raw.manifest_hash,
            platforms: raw.platforms,
            packages: raw
                .packages
                .into_iter()
                .map(|p| LockedPackage {
                    name: p.name,
                    version: p.version,
                    kind: p.kind,
                    source: p.source,
                    digest: p.digest,
                    dependencies: p.dependencies,
                    platforms: p
                        .platforms
                        .into_iter()
                        .map(|(k, v)| {
                            (
                                k,
                                LockedPlatform {
                                    manifest: v.manifest,
                                    tree: v.tree,
                                },
                            )
                        })
                        .collect(),
                })
                .collect(),
        };
        lock.canonicalize();
        // Names reach store paths and versions reach directory names: check them here, where
        // a hand-edited or hostile lock enters.
        for p in &lock.packages {
            let at = text
                .find(&format!("name = {}", quote(&p.name)))
                .unwrap_or(0);
            if let Some(problem) = check_package(p) {
                return Err(invalid(
                    at,
                    format!("package `{}`: {problem}", p.name.escape_debug()),
                ));
            }
        }
        if let Some(p) = lock
            .platforms
            .iter()
            .find(|p| !crate::platform::KNOWN.contains(&p.as_str()))
        {
            return Err(invalid(
                0,
                format!("unknown platform `{}`", p.escape_debug()),
            ));
        }
        if let Some(w) = lock.packages.windows(2).find(|w| w[0].name == w[1].name) {
            let name = &w[0].name;
            let needle = format!("name = \"{name}\"");
            let offset = text.rfind(&needle).unwrap_or(0);
            return Err(invalid(offset, format!("package `{name}` is listed twice")));
        }
        Ok(lock)
    }

    /// The canonical text: header, `version`, `manifest-hash`, `platforms`, then one
    /// `[[package]]` per package sorted by name, each followed by its platform tables sorted
    /// by platform. The same lock always renders to the same bytes.
    pub fn render(&self) -> String {
        let mut lock = self.clone();
        lock.canonicalize();
        let mut out = String::new();
        out.push_str(HEADER);
        out.push('\n');
        let _ = writeln!(out, "version = {}", lock.version);
        let _ = writeln!(out, "manifest-hash = {}", quote(&lock.manifest_hash));
        let _ = writeln!(out, "platforms = {}", array(&lock.platforms));
        for p in &lock.packages {
            out.push_str("\n[[package]]\n");
            let _ = writeln!(out, "name = {}", quote(&p.name));
            let _ = writeln!(out, "version = {}", quote(&p.version.to_string()));
            let _ = writeln!(out, "kind = {}", quote(p.kind.as_str()));
            let _ = writeln!(out, "source = {}", quote(&p.source));
            if let Some(d) = &p.digest {
                let _ = writeln!(out, "digest = {}", quote(d));
            }
            if !p.dependencies.is_empty() {
                let _ = writeln!(out, "dependencies = {}", array(&p.dependencies));
            }
            for (platform, locked) in &p.platforms {
                let _ = writeln!(out, "\n[package.platforms.{}]", key(platform));
                let _ = writeln!(out, "tree = {}", quote(&locked.tree.to_string()));
                if let Some(m) = &locked.manifest {
                    let _ = writeln!(out, "manifest = {}", quote(m));
                }
            }
        }
        out
    }
}

/// What is wrong with a locked package's names, platforms and digests, if anything.
fn check_package(p: &LockedPackage) -> Option<String> {
    if let Err(reason) = crate::manifest::validate_pack_name(&p.name) {
        return Some(format!("not a valid pack name: {reason}"));
    }
    if let Some((d, reason)) = p
        .dependencies
        .iter()
        .find_map(|d| crate::manifest::validate_pack_name(d).err().map(|r| (d, r)))
    {
        return Some(format!(
            "dependency `{}` is not a valid pack name: {reason}",
            d.escape_debug()
        ));
    }
    if !["dir:", "oci-layout:", "oci://"]
        .iter()
        .any(|s| p.source.starts_with(s))
    {
        return Some(format!("unsupported source `{}`", p.source.escape_debug()));
    }
    let digests = p
        .digest
        .iter()
        .chain(p.platforms.values().filter_map(|l| l.manifest.as_ref()));
    for d in digests {
        let ok = d.strip_prefix("sha256:").is_some_and(|h| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        if !ok {
            return Some(format!("`{}` is not a sha256 digest", d.escape_debug()));
        }
    }
    if let Some(platform) = p
        .platforms
        .keys()
        .find(|k| !crate::platform::KNOWN.contains(&k.as_str()))
    {
        return Some(format!("unknown platform `{}`", platform.escape_debug()));
    }
    None
}

/// A TOML basic string with the minimal escapes.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A bare key when possible, else a quoted one.
fn key(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        s.to_owned()
    } else {
        quote(s)
    }
}

/// `[]`, or one item per line (small diffs when one changes).
fn array(items: &[String]) -> String {
    if items.is_empty() {
        return "[]".into();
    }
    let mut out = String::from("[\n");
    for item in items {
        let _ = writeln!(out, "    {},", quote(item));
    }
    out.push(']');
    out
}
