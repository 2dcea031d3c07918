//! A project's `.aibox`: when aibox adopts one as its own state directory (`init`, `sync` and
//! everything that opens a project's profile), and which generation the shell hook of
//! `aibox activate` may put on PATH. A repository can commit anything under `.aibox`, so
//! neither takes it on trust: adoption wants a directory of the user's own whose `current`,
//! if any, is a link aibox writes (into some store's profile of this very project); the hook
//! wants more — `current` must be the link into *this* user's store, and every step it resolves
//! through must belong to the user — and then puts the store's path on PATH, never one through
//! the project, which a later checkout could replace.

use std::path::{Path, PathBuf};

use super::layout::{Layout, ProfilePaths};
use super::layout::{project_link, project_profile_name};
use super::{IoContext, StoreError};
use crate::fs::{self, MetadataExt};

/// The effective uid of this process (the owner of every file it creates).
pub(super) fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Where the `.aibox/current` of the project at `root` points in the store at `layout`.
pub fn expected_link(layout: &Layout, root: &Path) -> PathBuf {
    ProfilePaths {
        dir: layout.profile(&project_profile_name(root)),
    }
    .current()
}

/// Whether `target` is a link aibox writes for the project at `root`, into any store: an
/// absolute `…/profiles/<this project's profile>/current` (another `AIBOX_HOME` of the user's,
/// which the next sync relinks to the store in use).
fn is_aibox_link(target: &Path, root: &Path) -> bool {
    let name = project_profile_name(root);
    let mut parts = target.components().rev();
    target.is_absolute()
        && parts.next().is_some_and(|c| c.as_os_str() == "current")
        && parts.next().is_some_and(|c| c.as_os_str() == name.as_str())
        && parts.next().is_some_and(|c| c.as_os_str() == "profiles")
}

/// Refuse a `<root>/.aibox` that is not aibox's own state directory: a symlink (a committed
/// `.aibox -> elsewhere` would make aibox write there), anything but a directory, a directory
/// owned by someone else, or one whose `current` is not a link aibox writes for this project —
/// a repository's own `.aibox`, committed with it.
pub fn check_state_dir(root: &Path) -> Result<(), StoreError> {
    let dir = root.join(".aibox");
    let foreign = |reason: String| StoreError::ForeignStateDir {
        path: dir.clone(),
        reason,
    };
    let meta = match fs::symlink_metadata(&dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).ctx(|| format!("cannot stat `{}`", dir.display())),
    };
    if meta.file_type().is_symlink() {
        let target = fs::read_link(&dir)
            .map(|t| t.display().to_string())
            .unwrap_or_default();
        return Err(foreign(format!("it is a symlink (to `{target}`)")));
    }
    if !meta.is_dir() {
        return Err(foreign("it is not a directory".into()));
    }
    if meta.uid() != current_uid() {
        return Err(foreign(format!(
            "it belongs to another user (uid {})",
            meta.uid()
        )));
    }
    let link = project_link(root);
    match fs::symlink_metadata(&link) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).ctx(|| format!("cannot stat `{}`", link.display())),
        Ok(m) if !m.file_type().is_symlink() => {
            Err(foreign("its `current` is not a symlink".into()))
        }
        Ok(_) => {
            let target =
                fs::read_link(&link).ctx(|| format!("cannot read `{}`", link.display()))?;
            if is_aibox_link(&target, root) {
                Ok(())
            } else {
                Err(foreign(format!(
                    "its `current` points at `{}`, which is no aibox profile of this project: aibox did not make it (was `.aibox` committed to the repository?)",
                    target.display()
                )))
            }
        }
    }
}

/// Why the hook may not use a project's `.aibox/current`.
#[derive(Debug, thiserror::Error)]
pub enum Untrusted {
    #[error(transparent)]
    Foreign(#[from] StoreError),
    #[error("`.aibox/current` points at `{}`, not into your aibox store (`{}`)", .found.display(), .expected.display())]
    NotYourStore { found: PathBuf, expected: PathBuf },
    #[error("`{}` {reason}", .path.display())]
    Unsafe { path: PathBuf, reason: String },
}

/// The directory the shell hook may put on PATH for the project at `root` (canonical): the
/// `bin` of the project's profile in the store at `layout`, when `.aibox/current` is exactly
/// the link aibox writes into that store and what it resolves to is a generation of the
/// user's own. `Ok(None)`: the project was never synced (no `current`).
pub fn hook_bin(layout: &Layout, root: &Path) -> Result<Option<PathBuf>, Untrusted> {
    check_state_dir(root)?;
    let link = project_link(root);
    let found = match fs::read_link(&link) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Untrusted::Unsafe {
                path: link,
                reason: format!("cannot be read: {e}"),
            });
        }
    };
    let expected = expected_link(layout, root);
    if found != expected {
        return Err(Untrusted::NotYourStore { found, expected });
    }
    // Every directory from the store's home down to the generation is the user's, and the
    // links resolve inside the profile's `generations/`.
    let unsafe_at = |path: &Path, reason: &str| Untrusted::Unsafe {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let profile = expected.parent().unwrap_or(&expected).to_owned();
    for dir in [layout.home(), &layout.profiles(), &profile] {
        owned_dir(dir).map_err(|r| unsafe_at(dir, &r))?;
    }
    let generation = fs::canonicalize(&expected)
        .map_err(|e| unsafe_at(&expected, &format!("does not resolve: {e}")))?;
    let generations = fs::canonicalize(profile.join("generations"))
        .map_err(|e| unsafe_at(&profile, &format!("has no generations: {e}")))?;
    if generation.parent() != Some(generations.as_path()) {
        return Err(unsafe_at(
            &expected,
            "does not lead to one of the profile's generations",
        ));
    }
    owned_dir(&generation).map_err(|r| unsafe_at(&generation, &r))?;
    Ok(Some(expected.join("bin")))
}

/// Why `dir` is not a directory of the user's that only the user may change.
fn owned_dir(dir: &Path) -> Result<(), String> {
    let meta = fs::metadata(dir).map_err(|e| format!("cannot be read: {e}"))?;
    if !meta.is_dir() {
        return Err("is not a directory".into());
    }
    if meta.uid() != current_uid() {
        return Err(format!("belongs to another user (uid {})", meta.uid()));
    }
    if meta.mode() & 0o002 != 0 {
        return Err("may be changed by every user (world writable)".into());
    }
    Ok(())
}

/// Mark the project at `root` as synced now: its `.aibox` directory's modification time is
/// set to now, so the shell hook (`aibox activate`) can tell with one `test -nt` whether the
/// project's `aibox.lock` changed since (store-format/SPEC.md §6). Best effort: a failure only
/// costs the hook one extra question.
pub fn mark_synced(root: &Path) {
    let dir = root.join(".aibox");
    if let Ok(f) = fs::File::open(&dir) {
        let _ = f.file().set_modified(std::time::SystemTime::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_links_into_a_profile_of_this_project_are_aibox_s() {
        let root = Path::new("/src/p");
        let name = project_profile_name(root);
        let ours = PathBuf::from(format!(
            "/home/u/.local/share/aibox/profiles/{name}/current"
        ));
        assert!(is_aibox_link(&ours, root));
        let other =
            PathBuf::from("/home/u/.local/share/aibox/profiles/project-0123456789abcdef/current");
        assert!(!is_aibox_link(&other, root));
        assert!(!is_aibox_link(Path::new("../payload"), root));
        let relative = PathBuf::from(format!("profiles/{name}/current"));
        assert!(!is_aibox_link(&relative, root));
    }
}
