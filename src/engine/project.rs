//! The shared "read the project" step every project operation starts with: the manifest
//! (text and model) and the lock if there is one, salvaged from a merge where it can be.

use crate::engine::context::{LOCKFILE, MANIFEST, Options};
use crate::engine::sources::Sources;
use crate::error::{Error, Result};
use crate::fs;
use crate::lockfile::Lockfile;
use crate::manifest::{ProjectManifest, parse_project};
use std::path::{Path, PathBuf};

/// A project as read from disk: manifest text and model, and the lock if there is one.
#[derive(Debug)]
pub struct ProjectState {
    pub root: PathBuf,
    pub manifest: ProjectManifest,
    /// The lock's bytes and model, when `aibox.lock` exists.
    pub lock: Option<(Vec<u8>, Lockfile)>,
}

/// `aibox.lock` under `root`: its bytes and model, `None` when there is none.
pub fn read_lock(root: &Path) -> Result<Option<(Vec<u8>, Lockfile)>> {
    let lock_path = root.join(LOCKFILE);
    match fs::read_regular(&lock_path, crate::engine::context::MAX_LOCK_BYTES) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            if let Some(line) = crate::lockfile::merge::conflict_line(&text) {
                return Err(crate::lockfile::LockfileError::Conflict {
                    path: lock_path,
                    line,
                }
                .into());
            }
            let lock = Lockfile::parse(&text, &lock_path)?;
            Ok(Some((bytes, lock)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(
            format!("cannot read `{}`", lock_path.display()),
            e,
        )),
    }
}

/// The registry digests the lock of the project at `root` records, by source URL (none
/// without a lock).
pub fn registry_pins(root: &Path) -> Result<std::collections::BTreeMap<String, String>> {
    let lock = read_lock(root)?;
    Ok(crate::engine::sources::lock_pins(
        lock.as_ref().map(|(_, l)| l),
    ))
}

impl ProjectState {
    /// Read `aibox.toml` and (if present) `aibox.lock` under `root`.
    pub fn read(root: &Path) -> Result<ProjectState> {
        let mut state = ProjectState::read_manifest(root)?;
        state.lock = read_lock(root)?;
        Ok(state)
    }

    /// `aibox.toml` under `root`, parsed and checked for the aibox it requires.
    fn read_manifest(root: &Path) -> Result<ProjectState> {
        let manifest_path = root.join(MANIFEST);
        let text =
            fs::read_regular_string(&manifest_path, crate::engine::context::MAX_MANIFEST_BYTES)
                .map_err(|e| {
                    Error::io(format!("cannot read `{}`", manifest_path.display()), e)
                        .with_hint("run `aibox init` to create a manifest")
                })?;
        let manifest = parse_project(&text, &manifest_path)?;
        // Before anything else is done: a project that needs another aibox is handed to it
        // at the edge (ops::self_update::required).
        if let Some(request) = &manifest.requires_aibox
            && !request.matches(crate::platform::version())
        {
            return Err(crate::engine::required::WrongAibox {
                manifest: manifest_path,
                request: request.clone(),
                running: crate::platform::version().clone(),
            }
            .into());
        }
        Ok(ProjectState {
            root: root.to_owned(),
            manifest,
            lock: None,
        })
    }

    /// [`ProjectState::read`] for `aibox lock`: a lock that no longer reads (a merge left
    /// conflict markers or duplicate tables in it) is replaced by what can still be read of it,
    /// so re-locking keeps every pin it can (with a warning naming what was dropped).
    pub fn read_salvaging(root: &Path, reporter: crate::printer::Reporter) -> Result<ProjectState> {
        match ProjectState::read(root) {
            Err(e) if e.downcast_ref::<crate::lockfile::LockfileError>().is_some() => {
                let path = root.join(LOCKFILE);
                let bytes = fs::read_regular(&path, crate::engine::context::MAX_LOCK_BYTES)
                    .map_err(|e| Error::io(format!("cannot read `{}`", path.display()), e))?;
                let salvaged = crate::lockfile::merge::salvage(&String::from_utf8_lossy(&bytes));
                reporter.warn(format!(
                    "`{}` cannot be read ({e}); locking again, keeping the {} pins it still holds{}",
                    path.display(),
                    salvaged.lock.packages.len(),
                    match salvaged.dropped {
                        0 => String::new(),
                        n => format!(" ({n} damaged tables dropped)"),
                    }
                ));
                let mut state = ProjectState::read_manifest(root)?;
                state.lock = Some((bytes, salvaged.lock));
                Ok(state)
            }
            other => other,
        }
    }

    /// Whether the lock exists and was made from this manifest.
    pub fn lock_is_fresh(&self) -> bool {
        self.lock
            .as_ref()
            .is_some_and(|(_, l)| l.satisfies(&self.manifest))
    }

    /// Sources for this project's registries (with their `insecure` flags).
    pub fn sources(&self, opts: &Options) -> Sources<'_> {
        let base = crate::engine::context::source_options(opts, false);
        let insecure = self
            .manifest
            .registries
            .values()
            .filter(|r| r.insecure)
            .map(|r| r.url.clone())
            .collect();
        Sources::new(&self.root, base, insecure)
            .with_consent(opts.consent)
            .pinned_by(self.lock.as_ref().map(|(_, l)| l))
    }
}
