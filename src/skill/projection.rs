//! Projection: each skill of a profile's current generation appears in every configured
//! agent's skills folder as a link (`.claude/skills/review-pr`) into the profile's `current`
//! link (`.aibox/current/skills/review-pr`), so one rename of `current` switches every agent's
//! skills at once. aibox owns exactly the links it made — a link whose target is the one it
//! would write — and records them; anything else in those folders is the user's and is never
//! overwritten, moved or deleted: a name already taken stops a switch before it happens
//! ([`conflicts`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use crate::fs;
use crate::manifest::agents::{AgentSpec, UserDir};
use crate::store::generations::SKILLS_DIR;

/// The record of the links aibox made for a profile.
pub const RECORD_FILE: &str = "projection.toml";

/// The user's folders the user-level agent paths are resolved against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDirs {
    pub home: PathBuf,
    /// `$XDG_CONFIG_HOME` when absolute, else `~/.config`.
    pub config: PathBuf,
    /// `$CLAUDE_CONFIG_DIR` when set, else `~/.claude`.
    pub claude: PathBuf,
}

impl UserDirs {
    /// From the environment: `HOME`, `XDG_CONFIG_HOME`, `CLAUDE_CONFIG_DIR`.
    pub fn from_env() -> Option<UserDirs> {
        let home = PathBuf::from(crate::env_vars::var_os("HOME").filter(|h| !h.is_empty())?);
        if !home.is_absolute() {
            return None;
        }
        let config = crate::env_vars::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .unwrap_or_else(|| home.join(".config"));
        let claude = crate::env_vars::var_os("CLAUDE_CONFIG_DIR")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .unwrap_or_else(|| home.join(".claude"));
        Some(UserDirs {
            home,
            config,
            claude,
        })
    }
}

/// Where a profile projects: a project (folders relative to its root, links relative to the
/// folder) or the global profile (the agents' user-level folders, absolute links).
#[derive(Debug, Clone)]
pub struct Base {
    /// The project root, or the home directory.
    pub root: PathBuf,
    /// The link the projected links lead through: `<root>/.aibox/current`, or the global
    /// profile's `current`.
    pub current: PathBuf,
    /// The file recording the links made.
    pub record: PathBuf,
    /// `Some` for the global profile: user-level folders.
    pub user: Option<UserDirs>,
}

/// One agents' skills folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// Absolute path.
    pub dir: PathBuf,
    /// The agents reading it.
    pub agents: Vec<String>,
}

/// Why a projection cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("{}", conflict_message(.0))]
    Conflict(Vec<PathBuf>),
    #[error("the skills folder `{}` {reason}", .dir.display())]
    BadFolder { dir: PathBuf, reason: String },
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

fn conflict_message(paths: &[PathBuf]) -> String {
    let list: Vec<String> = paths.iter().map(|p| format!("  {}", p.display())).collect();
    format!(
        "a skill would be projected where something that aibox did not make already is:\n{}",
        list.join("\n")
    )
}

impl crate::error::Hint for ProjectionError {
    fn hints(&self) -> Vec<String> {
        match self {
            ProjectionError::Conflict(_) => vec![
                "aibox never changes what it did not make: move or rename it (or remove that skill from `[skills]`), then run the command again; nothing was switched".into(),
            ],
            ProjectionError::BadFolder { .. } => vec![
                "skills are projected into real folders inside the project; replace the link with a folder, or name another folder in `agents`".into(),
            ],
            ProjectionError::Io { .. } => Vec::new(),
        }
    }
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> ProjectionError {
    move |source| ProjectionError::Io { context, source }
}

/// The folders `agents` feed from `base`, without duplicates (several agents share
/// `.agents/skills`), in the order the agents are listed.
pub fn folders(agents: &[AgentSpec], base: &Base) -> Vec<Folder> {
    let mut out: Vec<Folder> = Vec::new();
    for spec in agents {
        let dir = match (spec, &base.user) {
            (AgentSpec::BuiltIn(a), None) => base.root.join(a.project),
            (AgentSpec::Custom { path, .. }, None) => base.root.join(path),
            (AgentSpec::Custom { path, .. }, Some(user)) => user.home.join(path),
            (AgentSpec::BuiltIn(a), Some(user)) => match a.user {
                UserDir::Home(rel) => user.home.join(rel),
                UserDir::Config(rel) => user.config.join(rel),
                UserDir::Claude => user.claude.join("skills"),
                UserDir::OpenClaw => [".openclaw", ".clawdbot", ".moltbot"]
                    .iter()
                    .map(|d| user.home.join(d))
                    .find(|d| fs::exists(d).unwrap_or(false))
                    .unwrap_or_else(|| user.home.join(".openclaw"))
                    .join("skills"),
            },
        };
        let dir = normalize(&dir);
        match out.iter_mut().find(|f| f.dir == dir) {
            Some(f) => f.agents.push(spec.name().to_owned()),
            None => out.push(Folder {
                dir,
                agents: vec![spec.name().to_owned()],
            }),
        }
    }
    out
}

/// `path` without `.` components and trailing slashes (paths here never hold `..`).
fn normalize(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// The target of the link for skill `name` in `folder`: relative for a project (the project
/// may move), absolute for the global profile.
pub fn link_target(base: &Base, folder: &Path, name: &str) -> PathBuf {
    let through = base.current.join(SKILLS_DIR).join(name);
    if base.user.is_some() {
        return through;
    }
    relative(folder, &through)
}

/// The relative path from directory `from` to `to` (both absolute, without `..`).
fn relative(from: &Path, to: &Path) -> PathBuf {
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c);
    }
    out
}

/// Whether `path` is a link aibox made for skill `name` in `folder`.
pub fn is_ours(base: &Base, folder: &Path, name: &str, path: &Path) -> bool {
    fs::read_link(path).is_ok_and(|t| t == link_target(base, folder, name))
}

/// For a project: the folder must lie inside the project without passing through a link,
/// so relative links resolve as written and nothing is made outside the project.
fn check_folder(base: &Base, folder: &Folder) -> Result<(), ProjectionError> {
    if base.user.is_some() {
        return Ok(());
    }
    let rel = folder
        .dir
        .strip_prefix(&base.root)
        .map_err(|_| ProjectionError::BadFolder {
            dir: folder.dir.clone(),
            reason: "is outside the project".into(),
        })?;
    let mut at = base.root.clone();
    for part in rel.components() {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(ProjectionError::BadFolder {
                    dir: folder.dir.clone(),
                    reason: format!("passes through the link `{}`", at.display()),
                });
            }
            Ok(m) if !m.is_dir() => {
                return Err(ProjectionError::BadFolder {
                    dir: folder.dir.clone(),
                    reason: format!("cannot be made: `{}` is not a folder", at.display()),
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(format!("cannot read `{}`", at.display()))(e)),
        }
    }
    Ok(())
}

/// Everything in the way of projecting `skills` into `folders`: entries of those names that
/// are not aibox's links. Checked before a switch, so a conflict leaves `current` untouched.
pub fn conflicts(
    base: &Base,
    folders: &[Folder],
    skills: &[String],
) -> Result<(), ProjectionError> {
    let mut found = Vec::new();
    for folder in folders {
        check_folder(base, folder)?;
        for name in skills {
            let path = folder.dir.join(name);
            match fs::symlink_metadata(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {}
                Err(e) => return Err(io(format!("cannot read `{}`", path.display()))(e)),
                Ok(_) if is_ours(base, &folder.dir, name, &path) => {}
                Ok(_) => found.push(path),
            }
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(ProjectionError::Conflict(found))
    }
}

/// What [`apply`] changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Skills folders created.
    pub created: Vec<PathBuf>,
    /// Links made.
    pub linked: Vec<PathBuf>,
    /// aibox's links removed (skills no longer in the generation, or agents no longer listed).
    pub removed: Vec<PathBuf>,
    /// Names left alone because something not aibox's is there.
    pub skipped: Vec<PathBuf>,
}

/// The recorded links (absolute paths).
fn read_record(base: &Base) -> BTreeSet<PathBuf> {
    let Ok(text) = fs::read_regular_string(&base.record, 1 << 20) else {
        return BTreeSet::new();
    };
    let Ok(table) = text.parse::<toml::Table>() else {
        return BTreeSet::new();
    };
    table
        .get("links")
        .and_then(|l| l.as_array())
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .map(|rel| base.root.join(rel))
        .collect()
}

fn write_record(base: &Base, links: &BTreeSet<PathBuf>) -> Result<(), ProjectionError> {
    let rel: Vec<String> = links
        .iter()
        .filter_map(|p| p.strip_prefix(&base.root).ok())
        .map(|p| p.display().to_string())
        .collect();
    let mut text = String::from(
        "# The links aibox made in agents' skills folders (it removes only these). Written by aibox.\n",
    );
    text.push_str(&toml::to_string(&BTreeMap::from([("links", rel)])).expect("strings serialize"));
    if fs::read_regular_string(&base.record, 1 << 20)
        .ok()
        .as_deref()
        == Some(text.as_str())
    {
        return Ok(());
    }
    if let Some(parent) = base.record.parent() {
        fs::create_dir_all(parent).map_err(io(format!("cannot create `{}`", parent.display())))?;
    }
    fs::write_atomic(&base.record, text.as_bytes())
        .map_err(io(format!("cannot write `{}`", base.record.display())))
}

/// Make the projection match `skills` (the skills of the generation `current` now points at):
/// make missing folders and links, remove aibox's links that name no such skill (or lie in a
/// folder no agent reads any more), leave everything else alone. Cheap when nothing changed:
/// one `readlink` per link.
pub fn apply(
    base: &Base,
    folders: &[Folder],
    skills: &[String],
) -> Result<Applied, ProjectionError> {
    let mut applied = Applied::default();
    let mut made: BTreeSet<PathBuf> = BTreeSet::new();
    for folder in folders {
        check_folder(base, folder)?;
        if !skills.is_empty() && !fs::exists(&folder.dir).unwrap_or(false) {
            fs::create_dir_all(&folder.dir)
                .map_err(io(format!("cannot create `{}`", folder.dir.display())))?;
            applied.created.push(folder.dir.clone());
        }
        for name in skills {
            let path = folder.dir.join(name);
            if is_ours(base, &folder.dir, name, &path) {
                made.insert(path);
                continue;
            }
            match fs::symlink(link_target(base, &folder.dir, name), &path) {
                Ok(()) => {
                    applied.linked.push(path.clone());
                    made.insert(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    applied.skipped.push(path)
                }
                Err(e) => return Err(io(format!("cannot create `{}`", path.display()))(e)),
            }
        }
    }
    // What may be aibox's and is no longer wanted: recorded links, and links of aibox's
    // shape in the folders in use (a lost record loses nothing).
    let mut candidates = read_record(base);
    for folder in folders {
        if let Ok(entries) = fs::read_dir(&folder.dir) {
            candidates.extend(entries.filter_map(|e| e.ok()).map(|e| e.path()));
        }
    }
    let wanted: BTreeSet<&str> = skills.iter().map(String::as_str).collect();
    for path in candidates {
        if made.contains(&path) {
            continue;
        }
        let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str()))
        else {
            continue;
        };
        let in_use = folders.iter().any(|f| f.dir == dir);
        if in_use && wanted.contains(name) {
            continue; // a skipped name: the user's
        }
        if is_ours(base, dir, name, &path) {
            fs::remove_file(&path).map_err(io(format!("cannot remove `{}`", path.display())))?;
            applied.removed.push(path);
        }
    }
    write_record(base, &made)?;
    Ok(applied)
}

/// How an entry of a skills folder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryState {
    /// aibox's link to a skill of the current generation.
    Managed,
    /// aibox's link whose skill the current generation does not have (a sync removes it).
    Dangling,
    /// Not aibox's: the user's (or another tool's).
    Unmanaged,
}

/// One skills folder as `aibox doctor` shows it.
#[derive(Debug, Clone)]
pub struct FolderReport {
    pub folder: Folder,
    pub exists: bool,
    /// Entry name → state, sorted by name.
    pub entries: Vec<(String, EntryState)>,
    /// Skills of the current generation with no link here.
    pub missing: Vec<String>,
}

/// What is in each folder, for `aibox doctor`.
pub fn inspect(base: &Base, folders: &[Folder], skills: &[String]) -> Vec<FolderReport> {
    folders
        .iter()
        .map(|folder| {
            let mut entries: Vec<(String, EntryState)> = fs::read_dir(&folder.dir)
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .filter_map(|e| {
                            let name = e.file_name().to_str()?.to_owned();
                            let state = if !is_ours(base, &folder.dir, &name, &e.path()) {
                                EntryState::Unmanaged
                            } else if skills.contains(&name) && fs::metadata(e.path()).is_ok() {
                                EntryState::Managed
                            } else {
                                EntryState::Dangling
                            };
                            Some((name, state))
                        })
                        .collect()
                })
                .unwrap_or_default();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let missing = skills
                .iter()
                .filter(|s| {
                    !entries
                        .iter()
                        .any(|(n, st)| n == *s && *st == EntryState::Managed)
                })
                .cloned()
                .collect();
            FolderReport {
                folder: folder.clone(),
                exists: fs::exists(&folder.dir).unwrap_or(false),
                entries,
                missing,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_to_the_common_prefix() {
        assert_eq!(
            relative(
                Path::new("/p/.claude/skills"),
                Path::new("/p/.aibox/current/skills/x")
            ),
            PathBuf::from("../../.aibox/current/skills/x")
        );
        assert_eq!(
            relative(
                Path::new("/p/skills"),
                Path::new("/p/.aibox/current/skills/x")
            ),
            PathBuf::from("../.aibox/current/skills/x")
        );
    }
}
