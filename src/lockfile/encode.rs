//! The `aibox.lock` text form: a hand-written deterministic renderer (sorted, fixed key order,
//! one style of quoting; version 3, or 4 when the lock holds skills) and a strict parser of
//! versions 1 to 4 (store-format/LOCKFILE.md).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{LockedPackage, LockedPlatform, Lockfile, VERSION};
use crate::manifest::line_col;
use crate::manifest::pack::{NetTarget, PackKind, Permissions, SkillSection};
use crate::store::tree::Hash;

/// The first line of every lock.
pub(crate) const HEADER: &str = "# This file is written by aibox. Do not edit it by hand.";

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
    #[error("{}: lock file version {found} is not supported (this aibox reads versions 1 to {VERSION})", .path.display())]
    UnsupportedVersion { path: PathBuf, found: i64 },
    #[error("{}:{line}: the lock holds merge conflict markers", .path.display())]
    Conflict { path: PathBuf, line: usize },
    #[error("{}:{line}: package `{name}` is listed twice", .path.display())]
    Duplicate {
        path: PathBuf,
        line: usize,
        name: String,
    },
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
                vec!["delete it and run `aibox lock` to write a new lock".into()]
            }
            LockfileError::Conflict { .. } => vec![
                "run `aibox lock`: it locks again, keeping every pin the file still holds; `aibox init` registers `aibox lock merge` as git's merge driver so that merges do not leave markers".into(),
            ],
            LockfileError::Duplicate { .. } => vec![
                "two branches that locked this pack differently were merged; run `aibox lock` (it keeps the newer pin), then commit the lock".into(),
            ],
        }
    }
}

/// Version 1: a `manifest-hash` and a `platforms` list on top, dependency names only.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLockV1 {
    #[allow(dead_code)]
    version: u32,
    #[allow(dead_code)]
    manifest_hash: String,
    #[serde(default)]
    platforms: Vec<String>,
    #[serde(default, rename = "package")]
    packages: Vec<RawPackageV1>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPackageV1 {
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

/// Versions 2 to 4 (3 adds the recorded grants, 4 skills).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLock {
    #[allow(dead_code)]
    version: u32,
    #[serde(default)]
    platforms: Option<Vec<String>>,
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
    signer: Option<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, String>,
    #[serde(default)]
    install: Option<String>,
    #[serde(default)]
    check: Option<String>,
    #[serde(default)]
    permissions: Option<RawPermissions>,
    #[serde(default)]
    skill: Option<SkillSection>,
    #[serde(default)]
    aqua: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    registry_digest: Option<String>,
    #[serde(default)]
    verified: Option<Vec<String>>,
    #[serde(default)]
    unverified: Option<Vec<String>>,
    #[serde(default)]
    platforms: BTreeMap<String, RawPlatform>,
}

/// `[package.permissions]`: a pack's `[permissions]`, flattened.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPermissions {
    #[serde(default)]
    read: Vec<String>,
    #[serde(default)]
    write: Vec<String>,
    #[serde(default)]
    connect: Vec<String>,
    #[serde(default)]
    unix: Vec<String>,
    #[serde(default)]
    udp: bool,
    #[serde(default)]
    env: Vec<String>,
    #[serde(default)]
    cpu_seconds: Option<u64>,
    #[serde(default)]
    memory_mib: Option<u64>,
    #[serde(default)]
    open_files: Option<u64>,
    #[serde(default)]
    processes: Option<u64>,
}

impl RawPermissions {
    fn into_permissions(self) -> Permissions {
        let mut p = Permissions::default();
        p.fs.read = self.read;
        p.fs.write = self.write;
        p.net.connect = self
            .connect
            .into_iter()
            .map(|c| match c.parse::<i64>() {
                Ok(port) => NetTarget::Port(port),
                Err(_) => NetTarget::HostPort(c),
            })
            .collect();
        p.net.unix = self.unix;
        p.net.udp = self.udp;
        p.env = self.env;
        p.limits.cpu_seconds = self.cpu_seconds;
        p.limits.memory_mib = self.memory_mib;
        p.limits.open_files = self.open_files;
        p.limits.processes = self.processes;
        p
    }
}

/// The `[package.permissions]` lines of `p`: each list or limit only when set.
fn render_permissions(out: &mut String, p: &Permissions) {
    out.push_str("\n[package.permissions]\n");
    let connect: Vec<String> = p
        .net
        .connect
        .iter()
        .map(|c| match c {
            NetTarget::Port(port) => port.to_string(),
            NetTarget::HostPort(s) => s.clone(),
        })
        .collect();
    for (k, list) in [
        ("read", &p.fs.read),
        ("write", &p.fs.write),
        ("connect", &connect),
        ("unix", &p.net.unix),
    ] {
        if !list.is_empty() {
            let _ = writeln!(out, "{k} = {}", array(list));
        }
    }
    if p.net.udp {
        out.push_str("udp = true\n");
    }
    if !p.env.is_empty() {
        let _ = writeln!(out, "env = {}", array(&p.env));
    }
    for (k, v) in p.limits.named() {
        if let Some(v) = v {
            let _ = writeln!(out, "{k} = {v}");
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlatform {
    tree: Hash,
    #[serde(default)]
    manifest: Option<String>,
}

fn platforms(raw: BTreeMap<String, RawPlatform>) -> BTreeMap<String, LockedPlatform> {
    raw.into_iter()
        .map(|(k, v)| {
            (
                k,
                LockedPlatform {
                    manifest: v.manifest,
                    tree: v.tree,
                },
            )
        })
        .collect()
}

impl RawLockV1 {
    /// A version 1 lock as a [`Lockfile`]: its dependencies carry no requests (`*`), its
    /// platform list is kept as the narrowing.
    fn into_lock(self) -> Lockfile {
        Lockfile {
            version: 1,
            platforms: Some(self.platforms),
            packages: self
                .packages
                .into_iter()
                .map(|p| LockedPackage {
                    name: p.name,
                    version: p.version,
                    kind: p.kind,
                    source: p.source,
                    digest: p.digest,
                    signer: None,
                    dependencies: p
                        .dependencies
                        .into_iter()
                        .map(|d| (d, "*".into()))
                        .collect(),
                    platforms: platforms(p.platforms),
                    permissions: None,
                    install: None,
                    check: None,
                    skill: None,
                    aqua: None,
                })
                .collect(),
        }
    }
}

impl RawLock {
    /// A version 2 or 3 lock as a [`Lockfile`] (not yet checked or sorted).
    fn into_lock(self, version: u32) -> Lockfile {
        Lockfile {
            version,
            platforms: self.platforms,
            packages: self
                .packages
                .into_iter()
                .map(|p| LockedPackage {
                    name: p.name,
                    version: p.version,
                    kind: p.kind,
                    source: p.source,
                    digest: p.digest,
                    signer: p.signer,
                    dependencies: p.dependencies,
                    platforms: platforms(p.platforms),
                    permissions: p.permissions.map(RawPermissions::into_permissions),
                    install: p.install,
                    check: p.check,
                    skill: p.skill,
                    aqua: match (p.aqua, p.tag) {
                        (None, None)
                            if p.verified.is_none()
                                && p.unverified.is_none()
                                && p.registry_digest.is_none() =>
                        {
                            None
                        }
                        (package, tag) => Some(super::AquaPin {
                            package: package.unwrap_or_default(),
                            tag: tag.unwrap_or_default(),
                            registry: p.registry_digest,
                            verified: p.verified.unwrap_or_default(),
                            unverified: p.unverified.unwrap_or_default(),
                        }),
                    },
                })
                .collect(),
        }
    }
}

impl Lockfile {
    /// Parse `aibox.lock` text (`path` is for messages): version 2, or version 1 (converted:
    /// its dependencies carry no requests, its platform list is kept as the narrowing). The
    /// result is canonical (sorted); unknown keys, bad names and duplicate packages are errors.
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
        let version = match table.get("version") {
            Some(toml::Value::Integer(v)) if (1..=i64::from(VERSION)).contains(v) => *v as u32,
            Some(toml::Value::Integer(v)) => {
                return Err(LockfileError::UnsupportedVersion {
                    path: path.to_owned(),
                    found: *v,
                });
            }
            _ => {
                return Err(invalid(
                    0,
                    "missing `version` (the lock format version)".to_owned(),
                ));
            }
        };
        let mut lock = if version == 1 {
            toml::from_str::<RawLockV1>(text)
                .map_err(from_toml)?
                .into_lock()
        } else {
            toml::from_str::<RawLock>(text)
                .map_err(from_toml)?
                .into_lock(version)
        };
        lock.canonicalize();
        // Names reach store paths and versions reach directory names: check them here, where
        // a hand-edited or hostile lock enters.
        for p in &lock.packages {
            let at = text
                .find(&format!("name = {}", quote(&p.name)))
                .unwrap_or(0);
            if let Some(problem) = check_package(p)
                .or_else(|| check_skill(p, version))
                .or_else(|| check_aqua(p, version))
            {
                return Err(invalid(
                    at,
                    format!("package `{}`: {problem}", p.name.escape_debug()),
                ));
            }
        }
        // One registry release is one archive: every pack locked from it names the same one.
        let mut registries: BTreeMap<&str, &str> = BTreeMap::new();
        for p in &lock.packages {
            if let Some(d) = p.aqua.as_ref().and_then(|a| a.registry.as_deref())
                && let Some(other) = registries.insert(p.source.as_str(), d)
                && other != d
            {
                let at = text
                    .find(&format!("name = {}", quote(&p.name)))
                    .unwrap_or(0);
                return Err(invalid(
                    at,
                    format!(
                        "package `{}`: `registry-digest` {d} differs from {other}, locked for another pack of `{}`",
                        p.name.escape_debug(),
                        p.source.escape_debug()
                    ),
                ));
            }
        }
        if let Some(p) = lock
            .platforms
            .iter()
            .flatten()
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
            return Err(LockfileError::Duplicate {
                path: path.to_owned(),
                line: line_col(text, offset).0,
                name: name.clone(),
            });
        }
        Ok(lock)
    }

    /// The version this lock is written as: the oldest that can say what it holds (3, or 4
    /// when it locks a skill), so a project without skills keeps its lock byte for byte.
    pub fn written_version(&self) -> u32 {
        if self.packages.iter().any(|p| p.aqua.is_some()) {
            VERSION
        } else if self.packages.iter().any(|p| p.kind == PackKind::Skill) {
            4
        } else {
            3
        }
    }

    /// The canonical text: header, `version`, `platforms` (only when narrowed), then one
    /// `[[package]]` per package sorted by name, each followed by its platform tables sorted
    /// by platform. The same lock always renders to the same bytes.
    pub fn render(&self) -> String {
        let mut lock = self.clone();
        lock.canonicalize();
        let mut out = String::new();
        out.push_str(HEADER);
        out.push('\n');
        let _ = writeln!(out, "version = {}", lock.written_version());
        if let Some(platforms) = &lock.platforms {
            let _ = writeln!(out, "platforms = {}", array(platforms));
        }
        for p in &lock.packages {
            out.push_str("\n[[package]]\n");
            let _ = writeln!(out, "name = {}", quote(&p.name));
            let _ = writeln!(out, "version = {}", quote(&p.version.to_string()));
            let _ = writeln!(out, "kind = {}", quote(p.kind.as_str()));
            let _ = writeln!(out, "source = {}", quote(&p.source));
            if let Some(d) = &p.digest {
                let _ = writeln!(out, "digest = {}", quote(d));
            }
            if let Some(s) = &p.signer {
                let _ = writeln!(out, "signer = {}", quote(s));
            }
            if let Some(a) = &p.aqua {
                let _ = writeln!(out, "aqua = {}", quote(&a.package));
                let _ = writeln!(out, "tag = {}", quote(&a.tag));
                if let Some(d) = &a.registry {
                    let _ = writeln!(out, "registry-digest = {}", quote(d));
                }
                for (k, list) in [("verified", &a.verified), ("unverified", &a.unverified)] {
                    if !list.is_empty() {
                        let _ = writeln!(out, "{k} = {}", array(list));
                    }
                }
            }
            if !p.dependencies.is_empty() {
                let items: Vec<String> = p
                    .dependencies
                    .iter()
                    .map(|(k, v)| format!("{} = {}", key(k), quote(v)))
                    .collect();
                let _ = writeln!(out, "dependencies = {{ {} }}", items.join(", "));
            }
            if let Some(run) = &p.install {
                let _ = writeln!(out, "install = {}", quote(run));
            }
            if let Some(run) = &p.check {
                let _ = writeln!(out, "check = {}", quote(run));
            }
            if let Some(permissions) = &p.permissions {
                render_permissions(&mut out, permissions);
            }
            if let Some(skill) = &p.skill {
                out.push_str("\n[package.skill]\n");
                for (k, list) in [
                    ("allowed-tools", &skill.allowed_tools),
                    ("scripts", &skill.scripts),
                ] {
                    if !list.is_empty() {
                        let _ = writeln!(out, "{k} = {}", array(list));
                    }
                }
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
        .keys()
        .find_map(|d| crate::manifest::validate_pack_name(d).err().map(|r| (d, r)))
    {
        return Some(format!(
            "dependency `{}` is not a valid pack name: {reason}",
            d.escape_debug()
        ));
    }
    if ![
        "aqua:",
        "dir:",
        "oci-layout:",
        "oci://",
        "https://",
        "http://",
        "github:",
        "clawhub:",
    ]
    .iter()
    .any(|s| p.source.starts_with(s))
    {
        return Some(format!("unsupported source `{}`", p.source.escape_debug()));
    }
    let commits = p
        .platforms
        .values()
        .filter_map(|l| l.manifest.as_ref()?.strip_prefix("git:"));
    for c in commits {
        let ok = c.len() == 40
            && c.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !ok || !p.source.starts_with("github:") {
            return Some(format!(
                "`git:{}` is not a commit of a `github:` source",
                c.escape_debug()
            ));
        }
    }
    let digests = p.digest.iter().chain(
        p.platforms
            .values()
            .filter_map(|l| l.manifest.as_ref())
            .filter(|m| !m.starts_with("git:")),
    );
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
    if let Some(signer) = &p.signer
        && !is_fingerprint(signer)
    {
        return Some(format!(
            "`{}` is not a key fingerprint",
            signer.escape_debug()
        ));
    }
    if let Some(problem) = p
        .permissions
        .as_ref()
        .and_then(crate::manifest::permissions::check_recorded)
    {
        return Some(format!("`permissions`: {problem}"));
    }
    if let Some(platform) = p
        .platforms
        .keys()
        .find(|k| *k != super::ANY_PLATFORM && !crate::platform::KNOWN.contains(&k.as_str()))
    {
        return Some(format!("unknown platform `{}`", platform.escape_debug()));
    }
    None
}

/// What is wrong with a package's skill record, if anything: skills need lock version 4 and a
/// `[package.skill]` table, which only skills have; its entries are checked as a pack's are.
fn check_skill(p: &LockedPackage, version: u32) -> Option<String> {
    match (p.kind == PackKind::Skill, &p.skill) {
        (true, _) if version < 4 => Some(format!(
            "a skill needs lock version 4, this lock is version {version}"
        )),
        (true, None) => Some("a skill needs a `[package.skill]` table".into()),
        (false, Some(_)) => Some("only a skill has a `[package.skill]` table".into()),
        (true, Some(skill)) => {
            let mut manifest = crate::manifest::pack::PackManifest::skill_stub(&p.name, &p.version);
            manifest.skill = Some(skill.clone());
            crate::manifest::check_pack(&manifest)
                .err()
                .map(|e| format!("`skill`: {}", e.message))
        }
        (false, None) => None,
    }
}

/// What is wrong with a package's aqua record, if anything: it needs lock version 5 and an
/// `aqua:` source (and an `aqua:` source needs it), a package name and a tag, and only known
/// checks, each once and sorted.
fn check_aqua(p: &LockedPackage, version: u32) -> Option<String> {
    let from_aqua = p.source.starts_with("aqua:");
    let Some(a) = &p.aqua else {
        return from_aqua.then(|| "a pack from an `aqua:` source needs `aqua` and `tag`".into());
    };
    if version < 5 {
        return Some(format!(
            "an aqua pack needs lock version 5, this lock is version {version}"
        ));
    }
    if !from_aqua {
        return Some("only a pack from an `aqua:` source has `aqua`, `tag`, `verified`".into());
    }
    let printable = |s: &str| !s.is_empty() && s.len() <= 256 && !s.chars().any(char::is_control);
    if !printable(&a.package) || !a.package.contains('/') && !a.package.contains('.') {
        return Some(format!(
            "`aqua` `{}` is not an aqua package name",
            a.package.escape_debug()
        ));
    }
    if !printable(&a.tag) {
        return Some(format!(
            "`tag` `{}` is not a release tag",
            a.tag.escape_debug()
        ));
    }
    let from_release = p.source.starts_with("aqua:github:");
    match &a.registry {
        None if from_release => {
            return Some(
                "a pack from an `aqua:github:` registry needs `registry-digest` (the SHA-256 of the registry's archive)"
                    .into(),
            );
        }
        Some(_) if !from_release => {
            return Some(
                "only a pack from an `aqua:github:` registry has `registry-digest`".into(),
            );
        }
        Some(d) if !is_fingerprint(d) => {
            return Some(format!(
                "`registry-digest` `{}` is not `sha256:` and 64 lowercase hex digits",
                d.escape_debug()
            ));
        }
        _ => {}
    }
    for (key, list) in [("verified", &a.verified), ("unverified", &a.unverified)] {
        if let Some(bad) = list
            .iter()
            .find(|c| !super::AQUA_CHECKS.contains(&c.as_str()))
        {
            return Some(format!(
                "`{key}`: `{}` is not a check aibox knows ({})",
                bad.escape_debug(),
                super::AQUA_CHECKS.join(", ")
            ));
        }
        if list.windows(2).any(|w| w[0] >= w[1]) {
            return Some(format!("`{key}` must be sorted, each check once"));
        }
    }
    if let Some(both) = a.verified.iter().find(|c| a.unverified.contains(c)) {
        return Some(format!("`{both}` is both verified and unverified"));
    }
    None
}

/// `sha256:` and 64 lowercase hex digits (digests and key fingerprints).
fn is_fingerprint(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
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
