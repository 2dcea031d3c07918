//! Profiles: one environment each — a project (keyed by its root, with
//! `<root>/.aibox/current` pointing at the profile's `current`), the user's `global` profile
//! and `self` (the CLI). A profile is created with generation 0, the empty environment.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::layout::ProfilePaths;
use super::{IoContext, Store, StoreError};
use crate::fs::{self, LockMode, LockedFile};

/// What a profile belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ProfileKind {
    Project {
        root: PathBuf,
    },
    Global,
    #[serde(rename = "self")]
    SelfCli,
}

/// An open profile.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub kind: ProfileKind,
    pub paths: ProfilePaths,
}

pub use super::layout::{project_link, project_profile_name};

impl Profile {
    /// Take this profile's lock (one writer of generations at a time); a wait is reported
    /// through `reporter`.
    pub fn lock(&self, reporter: crate::printer::Reporter) -> Result<LockedFile, StoreError> {
        Ok(LockedFile::acquire(
            &self.paths.lock(),
            LockMode::Exclusive,
            &format!("profile `{}`", self.name),
            fs::lock_timeout()?,
            &|msg| reporter.status("Blocking", msg),
        )?)
    }

    /// Whether gc should keep this profile: global and self always; a project while its root
    /// exists and its `.aibox/current` still points here.
    pub fn is_live(&self) -> bool {
        match &self.kind {
            ProfileKind::Global | ProfileKind::SelfCli => true,
            ProfileKind::Project { root } => fs::read_link(project_link(root))
                .map(|t| t == self.paths.current())
                .unwrap_or(false),
        }
    }

    /// A human name: the project root, `global` or `self`.
    pub fn describe(&self) -> String {
        match &self.kind {
            ProfileKind::Project { root } => root.display().to_string(),
            ProfileKind::Global => "global".into(),
            ProfileKind::SelfCli => "self".into(),
        }
    }
}

impl Store {
    /// Open or create the profile of the project at `root` (an absolute, canonical path).
    /// The project's `.aibox/current` link is made first, so that gc never sees the new profile
    /// without the link that keeps it live.
    pub fn project_profile(&self, root: &Path) -> Result<Profile, StoreError> {
        let name = project_profile_name(root);
        let current = ProfilePaths {
            dir: self.layout().profile(&name),
        }
        .current();
        let link = project_link(root);
        let dir = root.join(".aibox");
        super::state_dir::check_state_dir(root)?;
        if fs::read_link(&link).ok().as_deref() != Some(current.as_path()) {
            match fs::create_dir(&dir) {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                r => r.ctx(|| format!("cannot create `{}`", dir.display()))?,
            }
            let ignore = dir.join(".gitignore");
            if !fs::exists(&ignore).unwrap_or(true) {
                fs::write_atomic_as(
                    &ignore,
                    b"# Created by aibox: this directory is local state.\n*\n",
                    self.durability(),
                )
                .ctx(|| format!("cannot write `{}`", ignore.display()))?;
            }
            fs::replace_symlink_as(&current, &link, self.durability())
                .ctx(|| format!("cannot link `{}`", link.display()))?;
        }
        self.open_profile(
            &name,
            ProfileKind::Project {
                root: root.to_owned(),
            },
        )
    }

    /// The user's global profile (`aibox install`).
    pub fn global_profile(&self) -> Result<Profile, StoreError> {
        self.open_profile("global", ProfileKind::Global)
    }

    /// The profile of the aibox CLI itself.
    pub fn self_profile(&self) -> Result<Profile, StoreError> {
        self.open_profile("self", ProfileKind::SelfCli)
    }

    fn open_profile(&self, name: &str, kind: ProfileKind) -> Result<Profile, StoreError> {
        let paths = ProfilePaths {
            dir: self.layout().profile(name),
        };
        let profile = Profile {
            name: name.to_owned(),
            kind,
            paths,
        };
        if fs::exists(&profile.paths.current()).ctx(|| "cannot stat the profile".into())? {
            return Ok(profile);
        }
        // First use: record, generation 0, current -> generations/0 (under the profile lock).
        fs::create_dir_all(profile.paths.generations())
            .ctx(|| format!("cannot create `{}`", profile.paths.dir.display()))?;
        let _guard = profile.lock(self.reporter())?;
        if fs::exists(&profile.paths.current()).ctx(|| "cannot stat the profile".into())? {
            return Ok(profile);
        }
        let record = toml::to_string(&profile.kind).expect("profile kind serializes");
        fs::write_atomic_as(
            &profile.paths.record(),
            record.as_bytes(),
            self.durability(),
        )
        .ctx(|| format!("cannot write `{}`", profile.paths.record().display()))?;
        if !fs::exists(&profile.paths.generation(0)).unwrap_or(false) {
            self.write_empty_generation(&profile)?;
        }
        fs::replace_symlink_as(
            &ProfilePaths::current_target(0),
            &profile.paths.current(),
            self.durability(),
        )
        .ctx(|| format!("cannot create `{}`", profile.paths.current().display()))?;
        Ok(profile)
    }

    /// Every profile in the store that has a `current` (one without is being created by
    /// another process). A profile whose record cannot be read is kept as live with a warning,
    /// so gc never removes what it references.
    pub fn list_profiles(&self) -> Result<Vec<Profile>, StoreError> {
        let dir = self.layout().profiles();
        let mut out = Vec::new();
        for item in fs::read_dir(&dir).ctx(|| format!("cannot read `{}`", dir.display()))? {
            let item = item.ctx(|| format!("cannot read `{}`", dir.display()))?;
            let name = item.file_name().to_string_lossy().into_owned();
            let paths = ProfilePaths { dir: item.path() };
            if !fs::exists(&paths.current()).unwrap_or(true) {
                // Being created by another process right now: nothing to read yet.
                continue;
            }
            let kind = match fs::read_to_string(paths.record())
                .ok()
                .and_then(|t| toml::from_str::<ProfileKind>(&t).ok())
            {
                Some(kind) => kind,
                None => {
                    self.reporter().warn(format!(
                        "profile `{}` has no readable profile.toml; kept as is",
                        paths.dir.display()
                    ));
                    ProfileKind::Global
                }
            };
            out.push(Profile { name, kind, paths });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

impl Store {
    /// Whether the profile's environment was judged for lock `lock_hash` under trust policy
    /// `policy` (both digests), as [`Store::set_verified`] recorded.
    pub fn is_verified(&self, profile: &Profile, lock_hash: &str, policy: &str) -> bool {
        fs::read_regular_string(&profile.paths.verified(), 4096)
            .is_ok_and(|t| t == format!("{lock_hash} {policy}\n"))
    }

    /// Record that the profile's environment (lock `lock_hash`) passed trust policy `policy`.
    /// A cache: losing it (or finding it damaged after a crash) only means judging again, so
    /// it is never flushed.
    pub fn set_verified(&self, profile: &Profile, lock_hash: &str, policy: &str) {
        let _ = fs::write_replace(
            &profile.paths.verified(),
            format!("{lock_hash} {policy}\n").as_bytes(),
        );
    }
}
