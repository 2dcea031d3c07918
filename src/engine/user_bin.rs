//! Global commands where the user's shell finds them: after every switch of the global profile
//! (`aibox install`, `uninstall`, `update --global`, `rollback --global`), each command of its generation is
//! linked into the user's bin directory — `$XDG_BIN_HOME` (when absolute), else
//! `~/.local/bin`, the directory `uv tool` and `pipx` use — as a symlink through the profile's
//! `current` link, so it follows later switches. Links aibox made (those leading into the
//! global profile's `current/bin`) are removed when their command goes; a file that is not such
//! a link is never touched: its command is reported as not linked.

use std::path::{Path, PathBuf};

use crate::fs;
use crate::store::Store;

/// The user's bin directory: `$XDG_BIN_HOME` when absolute, else `$HOME/.local/bin`.
pub fn user_bin_dir() -> Option<PathBuf> {
    crate::env_vars::var_os("XDG_BIN_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            crate::env_vars::var_os("HOME")
                .map(PathBuf::from)
                .filter(|h| h.is_absolute())
                .map(|h| h.join(".local/bin"))
        })
}

/// What [`refresh`] changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Linked {
    /// The directory the links are in.
    pub dir: PathBuf,
    /// Commands newly linked.
    pub added: Vec<String>,
    /// Links removed (their command is no longer in the global profile).
    pub removed: Vec<String>,
    /// Commands not linked because something else has their name there.
    pub taken: Vec<String>,
}

/// The global profile's `current/bin` in `store` (what the links lead to).
pub fn global_bin(store: &Store) -> PathBuf {
    store.layout().profile("global").join("current").join("bin")
}

/// Make the links in `dir` match the commands of the global profile's current generation.
pub fn refresh_in(store: &Store, dir: &Path) -> std::io::Result<Linked> {
    let bin = global_bin(store);
    let mut commands: Vec<String> = match fs::read_dir(&bin) {
        Ok(entries) => entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.') && !n.contains('/'))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    commands.sort();
    let mut linked = Linked {
        dir: dir.to_owned(),
        ..Linked::default()
    };
    // Links of ours whose command went.
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(name) = entry.file_name().into_string().ok() else {
                continue;
            };
            let ours = fs::read_link(&path).is_ok_and(|t| t.parent() == Some(bin.as_path()));
            if ours && !commands.contains(&name) {
                fs::remove_file(&path)?;
                linked.removed.push(name);
            }
        }
    }
    for name in commands {
        let path = dir.join(&name);
        let target = bin.join(&name);
        match fs::read_link(&path) {
            Ok(t) if t == target => continue,
            Ok(_) => {
                linked.taken.push(name);
                continue;
            }
            Err(_) if fs::symlink_metadata(&path).is_ok() => {
                linked.taken.push(name);
                continue;
            }
            Err(_) => {}
        }
        fs::create_dir_all(dir)?;
        fs::symlink(&target, &path)?;
        linked.added.push(name);
    }
    Ok(linked)
}

/// [`refresh_in`] the user's bin directory, reporting what changed; failures only warn (the
/// switch they follow has happened).
pub fn refresh(store: &Store) {
    let reporter = store.reporter();
    let Some(dir) = user_bin_dir() else {
        return;
    };
    match refresh_in(store, &dir) {
        Ok(l) => {
            if !l.added.is_empty() {
                reporter.status(
                    "Linked",
                    format!("{} into `{}`", backticked(&l.added), dir.display()),
                );
            }
            if !l.removed.is_empty() {
                reporter.status(
                    "Unlinked",
                    format!("{} from `{}`", backticked(&l.removed), dir.display()),
                );
            }
            if !l.taken.is_empty() {
                reporter.warn(format!(
                    "not linked into `{}`, where something else has the name: {} (run them as `aibox run --global -- <command>`)",
                    dir.display(),
                    backticked(&l.taken)
                ));
            }
            let on_path = crate::env_vars::var_os("PATH")
                .is_some_and(|p| std::env::split_paths(&p).any(|d| d == dir));
            if !l.added.is_empty() && !on_path {
                reporter.warn(format!(
                    "`{}` is not on your PATH; add it (`export PATH=\"{}:$PATH\"`) to run installed commands by name",
                    dir.display(),
                    dir.display()
                ));
            }
        }
        Err(e) => reporter.warn(format!(
            "cannot link the global commands into `{}`: {e}",
            dir.display()
        )),
    }
}

fn backticked(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
