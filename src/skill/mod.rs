//! Agent skills: a pack of kind `skill` is one Agent Skills folder (`SKILL.md` with YAML front
//! matter at its root, optional `scripts/`, `references/`, `assets/`). This module reads such a
//! folder into a pack manifest — a bare folder (name, description and license from the front
//! matter, the version given or from `metadata.version`) or a folder with a `pack.toml` of
//! `kind = "skill"` — derives what the skill may do (its `allowed-tools` and the files an
//! agent may run), and projects a generation's skills into the coding agents' skills folders
//! ([`projection`]); for migrations, the records of the `skills` and `clawhub` CLIs
//! ([`legacy_locks`]), the hashes they keep ([`folder_hash`]) and the record of skill folders
//! handed over to aibox by `aibox import` ([`handover`]).

pub mod folder_hash;
pub mod front_matter;
pub mod handover;
pub mod legacy_locks;
pub mod projection;

use std::path::{Path, PathBuf};

use semver::Version;

use crate::fs;
use crate::manifest::ManifestError;
use crate::manifest::pack::{PackKind, PackManifest, SkillSection};
use crate::store::tree::{Entry, Tree};

pub use front_matter::FrontMatter;

/// The file at a skill's root.
pub const SKILL_FILE: &str = "SKILL.md";
/// The folder whose files are a skill's scripts.
pub const SCRIPTS_DIR: &str = "scripts";
/// The largest `SKILL.md` read.
pub const MAX_SKILL_FILE: u64 = 4 << 20;
/// The most files looked at when a skill's scripts are listed.
const MAX_FILES: usize = 100_000;

/// A skill folder that cannot be read or is not a valid skill.
#[derive(Debug, thiserror::Error)]
pub enum SkillError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{message}")]
    Invalid { message: String, hint: String },
}

impl crate::error::Hint for SkillError {
    fn hints(&self) -> Vec<String> {
        match self {
            SkillError::Manifest(e) => e.hints.clone(),
            SkillError::Io { .. } => Vec::new(),
            SkillError::Invalid { hint, .. } => vec![hint.clone()],
        }
    }
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> SkillError {
    move |source| SkillError::Io { context, source }
}

/// Whether `dir` holds something named `SKILL.md` (reading it then says whether it is a
/// valid one: a link, say, is refused there with a clear error).
pub fn is_skill_dir(dir: &Path) -> bool {
    fs::exists(&dir.join(SKILL_FILE)).unwrap_or(false)
}

/// Read and check the `SKILL.md` of `dir`.
pub fn read_front_matter(dir: &Path) -> Result<FrontMatter, SkillError> {
    let path = dir.join(SKILL_FILE);
    match fs::symlink_metadata(&path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err(SkillError::Invalid {
                message: format!("`{}` is not a regular file", path.display()),
                hint: "a skill's SKILL.md is a file in the skill's folder, not a link".into(),
            });
        }
        Err(e) => {
            return Err(SkillError::Io {
                context: format!("cannot read `{}`", path.display()),
                source: e,
            }
            .with_missing_hint());
        }
    }
    let text = fs::read_regular_string(&path, MAX_SKILL_FILE)
        .map_err(io(format!("cannot read `{}`", path.display())))?;
    Ok(front_matter::parse(&text, &path)?)
}

impl SkillError {
    fn with_missing_hint(self) -> SkillError {
        match self {
            SkillError::Io { context, source } if source.kind() == std::io::ErrorKind::NotFound => {
                SkillError::Invalid {
                    message: format!("{context}: there is no SKILL.md"),
                    hint: "a skill is a folder with a SKILL.md at its root (front matter with `name` and `description`)".into(),
                }
            }
            other => other,
        }
    }
}

/// Whether a file at `rel` (a `/`-separated path in the skill) is one an agent may run:
/// anything under `scripts/`, and any file with an executable bit.
pub fn is_script(rel: &str, executable: bool) -> bool {
    executable || rel.starts_with(&format!("{SCRIPTS_DIR}/"))
}

/// A skill section from the front matter and the skill's files (`(path, executable)`).
fn section_of<'a>(
    front: &FrontMatter,
    files: impl IntoIterator<Item = (&'a str, bool)>,
) -> SkillSection {
    let mut scripts: Vec<String> = files
        .into_iter()
        .filter(|(rel, x)| is_script(rel, *x))
        .map(|(rel, _)| rel.to_owned())
        .collect();
    scripts.sort();
    scripts.dedup();
    let mut allowed_tools = front.allowed_tools.clone();
    allowed_tools.sort();
    allowed_tools.dedup();
    SkillSection {
        allowed_tools,
        scripts,
    }
}

/// What the skill in `tree` may do (see [`section`]).
pub fn section_of_tree(front: &FrontMatter, tree: &Tree) -> SkillSection {
    let files: Vec<(String, bool)> = tree
        .walk()
        .into_iter()
        .filter_map(|(path, e)| match e {
            Entry::File { executable, .. } => Some((path, *executable)),
            _ => None,
        })
        .collect();
    section_of(front, files.iter().map(|(p, x)| (p.as_str(), *x)))
}

/// What the skill in `dir` may do: its front matter's `allowed-tools` and the files an agent
/// may run ([`is_script`]), both sorted and without duplicates. Links are not followed.
pub fn section(front: &FrontMatter, dir: &Path) -> Result<SkillSection, SkillError> {
    let mut files: Vec<(String, bool)> = Vec::new();
    let mut stack: Vec<(PathBuf, String)> = vec![(dir.to_owned(), String::new())];
    while let Some((path, rel)) = stack.pop() {
        let entries =
            fs::read_dir(&path).map_err(io(format!("cannot read `{}`", path.display())))?;
        for entry in entries {
            let entry = entry.map_err(io(format!("cannot read `{}`", path.display())))?;
            if files.len() + stack.len() > MAX_FILES {
                return Err(SkillError::Invalid {
                    message: format!("`{}` has more than {MAX_FILES} files", dir.display()),
                    hint: "a skill is a small folder of instructions, scripts and references"
                        .into(),
                });
            }
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue; // not UTF-8: the store refuses the tree with a clear error
            };
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let meta = fs::symlink_metadata(entry.path())
                .map_err(io(format!("cannot read `{}`", entry.path().display())))?;
            if meta.is_dir() {
                stack.push((entry.path(), child));
            } else if meta.is_file() {
                use crate::fs::PermissionsExt;
                files.push((child, meta.permissions().mode() & 0o111 != 0));
            }
        }
    }
    Ok(section_of(
        front,
        files.iter().map(|(p, x)| (p.as_str(), *x)),
    ))
}

/// The manifest of a bare skill `name@version` described by `front`, with `section`.
pub fn manifest_of(front: &FrontMatter, version: &Version, section: SkillSection) -> PackManifest {
    let mut manifest = PackManifest::skill_stub(&front.name, version);
    manifest.pack.description = Some(front.description.trim().to_owned());
    manifest.pack.license = front.license.clone();
    manifest.skill = Some(section);
    manifest
}

/// The manifest of a bare skill folder (no `pack.toml`): name, description and license from
/// the front matter; the version `version`, else `metadata.version`, else the folder's name
/// when it is a version (`review-pr/1.2.0/SKILL.md`), else `default_version`, else an error.
/// The folder's name (or, for a version folder, its parent's) must be the skill's name.
pub fn bare_manifest(
    dir: &Path,
    version: Option<&Version>,
    default_version: Option<&Version>,
) -> Result<PackManifest, SkillError> {
    let front = read_front_matter(dir)?;
    let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    let name_of = |p: Option<&Path>| {
        p.and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let folder = name_of(Some(&canonical));
    let versioned = Version::parse(&folder).ok();
    let named =
        folder == front.name || (versioned.is_some() && name_of(canonical.parent()) == front.name);
    if !named {
        return Err(SkillError::Invalid {
            message: format!(
                "`{}`: the skill is named `{}`, but its folder is `{folder}`",
                dir.join(SKILL_FILE).display(),
                front.name
            ),
            hint: format!(
                "rename the folder to `{}` (a skill's folder is its name)",
                front.name
            ),
        });
    }
    // An explicit version wins; `metadata.version` is read only when none is given.
    let from_metadata = match (version, front.metadata.get("version")) {
        (None, Some(text)) => Some(lenient_version(text).ok_or_else(|| SkillError::Invalid {
            message: format!(
                "`{}`: `metadata.version` is `{text}`, not a version",
                dir.join(SKILL_FILE).display()
            ),
            hint: "write it like `1.2.0`, or give the version with `--version`".into(),
        })?),
        _ => None,
    };
    let version = version
        .cloned()
        .or(from_metadata)
        .or(versioned)
        .or_else(|| default_version.cloned())
        .ok_or_else(|| SkillError::Invalid {
            message: format!("`{}` says no version", dir.join(SKILL_FILE).display()),
            hint: "pass `--version <x.y.z>`, or add `metadata:` with `version: \"x.y.z\"` to its front matter".into(),
        })?;
    let section = section(&front, dir)?;
    Ok(manifest_of(&front, &version, section))
}

/// A version as skill authors write it in `metadata.version`: semver, or one or two numbers
/// (`2`, `1.0`, padded with zeros), with an optional leading `v`.
pub fn lenient_version(text: &str) -> Option<Version> {
    let t = text.trim().trim_start_matches(['v', 'V']);
    if let Ok(v) = Version::parse(t) {
        return Some(v);
    }
    let parts: Vec<&str> = t.split('.').collect();
    let numbers: Option<Vec<u64>> = parts
        .iter()
        .map(|p| {
            (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse().ok())
                .flatten()
        })
        .collect();
    match numbers?.as_slice() {
        [major] => Some(Version::new(*major, 0, 0)),
        [major, minor] => Some(Version::new(*major, *minor, 0)),
        _ => None,
    }
}

/// Fill in the `skill` section of a `kind = "skill"` manifest read from `dir`'s `pack.toml`:
/// the folder must hold a valid `SKILL.md` naming the same skill. Other kinds are untouched.
pub fn complete(manifest: &mut PackManifest, dir: &Path) -> Result<(), SkillError> {
    if manifest.pack.kind != PackKind::Skill {
        return Ok(());
    }
    let front = read_front_matter(dir)?;
    if front.name != manifest.pack.name {
        return Err(SkillError::Invalid {
            message: format!(
                "`{}` names the skill `{}`, but `pack.toml` names the pack `{}`",
                dir.join(SKILL_FILE).display(),
                front.name,
                manifest.pack.name
            ),
            hint: "a skill pack's name is its skill's name: make them the same".into(),
        });
    }
    let section = section(&front, dir)?;
    fill(manifest, &front, section);
    Ok(())
}

/// Complete a skill's `pack.toml` manifest with what its `SKILL.md` and files say: the
/// description (when `pack.toml` has none) and the skill section.
pub fn fill(manifest: &mut PackManifest, front: &FrontMatter, section: SkillSection) {
    if manifest.pack.description.is_none() {
        manifest.pack.description = Some(front.description.trim().to_owned());
    }
    manifest.skill = Some(section);
}

/// The manifest of a pack source directory: its `pack.toml` (completed for skills), or, when it
/// has none, the bare skill folder's (see [`bare_manifest`]).
pub fn source_manifest(
    dir: &Path,
    version: Option<&Version>,
    default_version: Option<&Version>,
) -> Result<PackManifest, SkillError> {
    let toml_path = dir.join("pack.toml");
    if !fs::exists(&toml_path).unwrap_or(false) && is_skill_dir(dir) {
        return bare_manifest(dir, version, default_version);
    }
    let text = fs::read_regular_string(&toml_path, crate::manifest::pack::MAX_PACK_TOML_BYTES)
        .map_err(io(format!("cannot read `{}`", toml_path.display())))?;
    let mut manifest = crate::manifest::parse_pack(&text, &toml_path)?;
    if let Some(v) = version
        && *v != manifest.pack.version
    {
        return Err(SkillError::Invalid {
            message: format!(
                "`--version {v}` does not match `{}`, which says {}",
                toml_path.display(),
                manifest.pack.version
            ),
            hint: "`--version` is for bare skill folders; a pack with a `pack.toml` takes its version from there".into(),
        });
    }
    complete(&mut manifest, dir)?;
    Ok(manifest)
}

/// The manifest of a stored skill tree without a `pack.toml` (a bare skill), as a sync reads
/// it: the front matter must name the pack `name`.
pub fn stored_manifest(
    dir: &Path,
    name: &str,
    version: &Version,
) -> Result<PackManifest, SkillError> {
    let front = read_front_matter(dir)?;
    if front.name != name {
        return Err(SkillError::Invalid {
            message: format!(
                "the stored skill `{name}` names itself `{}` in its SKILL.md",
                front.name
            ),
            hint: "run `aibox store verify --repair`, then `aibox sync`".into(),
        });
    }
    let section = section(&front, dir)?;
    Ok(manifest_of(&front, version, section))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_versions_are_read_leniently() {
        let v = |s| lenient_version(s).map(|v| v.to_string());
        assert_eq!(v("1.2.3").as_deref(), Some("1.2.3"));
        assert_eq!(v("v1.0").as_deref(), Some("1.0.0"));
        assert_eq!(v("2").as_deref(), Some("2.0.0"));
        assert_eq!(v("1.0.0-beta.1").as_deref(), Some("1.0.0-beta.1"));
        assert_eq!(v("one"), None);
        assert_eq!(v("1..2"), None);
        assert_eq!(v(""), None);
    }
}
