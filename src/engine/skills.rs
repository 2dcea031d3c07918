//! Projecting a profile's skills into its agents' skills folders around every switch: the
//! folders a profile feeds (from `agents` in its `aibox.toml`), a check before a switch that
//! nothing of the user's is in the way, and the links made (or removed) after it. Used by
//! sync, update, rollback and doctor, for projects and the global profile.

use crate::error::{Error, Result};
use crate::manifest::ProjectManifest;
use crate::skill::projection::{self, Applied, Base, Folder, UserDirs};
use crate::store::Store;
use crate::store::profiles::{Profile, ProfileKind, project_link};

/// Where one profile projects its skills.
#[derive(Debug, Clone)]
pub struct Projector {
    base: Base,
    folders: Vec<Folder>,
}

impl Projector {
    /// The projector of `profile` with the agents `manifest` names; `None` for the `self`
    /// profile, which holds no skills.
    pub fn for_profile(
        store: &Store,
        profile: &Profile,
        manifest: &ProjectManifest,
    ) -> Result<Option<Projector>> {
        let base = match &profile.kind {
            ProfileKind::Project { root } => Base {
                root: root.clone(),
                current: project_link(root),
                record: root.join(".aibox").join(projection::RECORD_FILE),
                user: None,
            },
            ProfileKind::Global => {
                let Some(user) = UserDirs::from_env() else {
                    if manifest.skills.is_empty() {
                        return Ok(None);
                    }
                    return Err(Error::msg(
                        "cannot project the global profile's skills: `HOME` is not set to an absolute path",
                    )
                    .with_hint("set `HOME` to your home directory"));
                };
                Base {
                    root: user.home.clone(),
                    current: profile.paths.current(),
                    record: store
                        .layout()
                        .global_project()
                        .join(projection::RECORD_FILE),
                    user: Some(user),
                }
            }
            ProfileKind::SelfCli => return Ok(None),
        };
        let folders = projection::folders(&manifest.agents(), &base);
        Ok(Some(Projector { base, folders }))
    }

    /// Whether links were ever made for this profile (its record exists).
    pub fn has_record(&self) -> bool {
        crate::fs::exists(&self.base.record).unwrap_or(false)
    }

    pub fn folders(&self) -> &[Folder] {
        &self.folders
    }

    pub fn base(&self) -> &Base {
        &self.base
    }

    /// Refuse (before a switch) when one of `skills` would land on something not aibox's.
    pub fn check(&self, skills: &[String]) -> Result<()> {
        self.check_except(skills, &[])
    }

    /// [`Projector::check`], letting `except` through (entries handed over to aibox, kept in
    /// the store and replaced after the switch).
    pub fn check_except(&self, skills: &[String], except: &[std::path::PathBuf]) -> Result<()> {
        let left: Vec<_> = self
            .in_the_way(skills)?
            .into_iter()
            .filter(|p| !except.contains(p))
            .collect();
        if left.is_empty() {
            Ok(())
        } else {
            Err(projection::ProjectionError::Conflict(left).into())
        }
    }

    /// The entries, not aibox's, where `skills` would be projected.
    pub fn in_the_way(&self, skills: &[String]) -> Result<Vec<std::path::PathBuf>> {
        match projection::conflicts(&self.base, &self.folders, skills) {
            Ok(()) => Ok(Vec::new()),
            Err(projection::ProjectionError::Conflict(paths)) => Ok(paths),
            Err(e) => Err(e.into()),
        }
    }

    /// Make the folders show exactly `skills` (after a switch), reporting what changed.
    pub fn apply(&self, skills: &[String], reporter: crate::printer::Reporter) -> Result<Applied> {
        let applied = projection::apply(&self.base, &self.folders, skills)?;
        for dir in &applied.created {
            reporter.status("Created", format!("skills folder `{}`", dir.display()));
        }
        for path in &applied.linked {
            reporter.verbose(format!("linked `{}`", path.display()));
        }
        for path in &applied.removed {
            reporter.verbose(format!("removed the link `{}`", path.display()));
        }
        for path in &applied.skipped {
            reporter.warn(format!(
                "`{}` is not aibox's: the skill of that name is not projected there (move it away and run `aibox sync`)",
                path.display()
            ));
        }
        Ok(applied)
    }
}

/// The projector of the profile `root`'s manifest belongs to (`root` is the project root, or
/// the global profile's manifest directory), when that manifest can be read.
pub fn projector_at(
    store: &Store,
    profile: &Profile,
    root: &std::path::Path,
) -> Result<Option<Projector>> {
    let path = root.join(crate::engine::context::MANIFEST);
    let text =
        match crate::fs::read_regular_string(&path, crate::engine::context::MAX_MANIFEST_BYTES) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("cannot read `{}`", path.display()), e)),
        };
    let manifest = crate::manifest::parse_project(&text, &path)?;
    Projector::for_profile(store, profile, &manifest)
}

/// The skills folders of the project found from `opts` (`.claude/skills (claude-code)`, …),
/// for `info` and the page; empty outside a project.
pub fn project_folders(opts: &crate::engine::context::Options) -> Vec<String> {
    let Ok(project) = crate::engine::context::find_project(opts) else {
        return Vec::new();
    };
    let Ok(state) = crate::engine::project::ProjectState::read(&project.root) else {
        return Vec::new();
    };
    let Ok(store) = opts.store() else {
        return Vec::new();
    };
    let Ok(profile) = store.project_profile(&project.root) else {
        return Vec::new();
    };
    match Projector::for_profile(&store, &profile, &state.manifest) {
        Ok(Some(p)) => p
            .folders()
            .iter()
            .map(|f| {
                let dir = f.dir.strip_prefix(&project.root).unwrap_or(&f.dir);
                format!("{} ({})", dir.display(), f.agents.join(", "))
            })
            .collect(),
        _ => Vec::new(),
    }
}
