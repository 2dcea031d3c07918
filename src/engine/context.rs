//! What every operation runs in: the options from the global flags, the project found from the
//! current directory (or `--manifest-path`), the profile a command acts on, and the names and
//! size limits of a project's files.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fs;
use crate::registry::SourceOptions;
use crate::store::Store;
use crate::store::profiles::Profile;

/// Options every operation may consult (from the global flags).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub offline: bool,
    pub refresh: bool,
    pub json: bool,
    pub manifest_path: Option<PathBuf>,
    /// Mirrors given on the command line (`sync --mirror`), tried before `AIBOX_MIRROR` and
    /// the configuration's `mirrors`.
    pub mirrors: Vec<String>,
    /// Where progress, status lines and warnings go.
    pub reporter: crate::printer::Reporter,
    /// Whether what needs consent (a skill its registry flags as suspicious, a version that
    /// may do more than the installed one, an imported skill that differs from what was
    /// installed) may be taken, and how to ask.
    pub consent: Consent,
    /// The aibox home, resolved once by the CLI ([`crate::store::Home::of_process`]).
    pub home: crate::store::Home,
}

/// Consent to what needs it: given up front (`--yes`), or asked for on a terminal outside CI.
#[derive(Debug, Clone, Copy, Default)]
pub struct Consent {
    /// `--yes`: take it (with a warning naming what was taken).
    pub yes: bool,
    /// Ask the user (a terminal outside CI); `None`: refuse what needs consent.
    pub ask: Option<fn(crate::printer::Reporter, &str) -> bool>,
}

impl Options {
    /// These options for a question a person asks about the newest versions (`self update`,
    /// `catalog build`): registry tag lists are fetched again instead of taken from the cache,
    /// unless `--offline`.
    pub fn asking_for_newest(&self) -> Options {
        Options {
            refresh: !self.offline,
            ..self.clone()
        }
    }

    /// The store at the home, reporting through these options' reporter and
    /// flushing as `AIBOX_DURABILITY` or the configuration's `store.durability` says.
    pub fn store(&self) -> Result<Store> {
        let durability = crate::config::durability()
            .map_err(|e| Error::msg(e).with_hint(crate::config::DURABILITY_HINT))?;
        Ok(Store::open_home(self.home)?
            .reporting(self.reporter)
            .with_durability(durability))
    }
}

/// The file name of a project manifest.
pub const MANIFEST: &str = "aibox.toml";
/// The file name of a project lock.
pub const LOCKFILE: &str = "aibox.lock";
/// The largest `aibox.toml` read (a committed file is input like any other).
pub const MAX_MANIFEST_BYTES: u64 = 1 << 20;
/// The largest `aibox.lock` read.
pub const MAX_LOCK_BYTES: u64 = 64 << 20;

/// A project: the directory holding `aibox.toml`.
#[derive(Debug, Clone)]
pub struct Project {
    /// Canonical absolute root.
    pub root: PathBuf,
}

impl Project {
    pub fn manifest_path(&self) -> PathBuf {
        self.root.join(MANIFEST)
    }
    pub fn lock_path(&self) -> PathBuf {
        self.root.join(LOCKFILE)
    }
}

/// Find the project: `--manifest-path`, else the nearest `aibox.toml` at or above the current
/// directory.
pub fn find_project(opts: &Options) -> Result<Project> {
    if let Some(path) = &opts.manifest_path {
        return project_of_manifest_path(path);
    }
    let cwd =
        std::env::current_dir().map_err(|e| Error::io("cannot read the current directory", e))?;
    let mut dir: &Path = &cwd;
    loop {
        if fs::exists(&dir.join(MANIFEST)).unwrap_or(false) {
            let root = fs::canonicalize(dir)
                .map_err(|e| Error::io(format!("cannot resolve `{}`", dir.display()), e))?;
            return Ok(Project { root });
        }
        match dir.parent() {
            Some(p) => dir = p,
            None => {
                return Err(Error::msg(format!(
                    "no `{MANIFEST}` in `{}` or any parent directory",
                    cwd.display()
                ))
                .with_hint("run `aibox init` to create one, or pass `--manifest-path`"));
            }
        }
    }
}

/// The project `--manifest-path` names: an `aibox.toml`, or a directory holding one.
fn project_of_manifest_path(path: &Path) -> Result<Project> {
    let usage =
        "`--manifest-path` takes the path of an `aibox.toml`, or of the directory holding it";
    let meta = fs::metadata(path)
        .map_err(|e| Error::io(format!("cannot open `{}`", path.display()), e).with_hint(usage))?;
    let file = if meta.is_dir() {
        let file = path.join(MANIFEST);
        if !fs::exists(&file).unwrap_or(false) {
            return Err(
                Error::msg(format!("no `{MANIFEST}` in `{}`", path.display()))
                    .with_hint("run `aibox init` there to create one"),
            );
        }
        file
    } else if path.file_name().is_some_and(|n| n == MANIFEST) {
        path.to_owned()
    } else {
        return Err(
            Error::msg(format!("`{}` is not an `{MANIFEST}`", path.display())).with_hint(usage),
        );
    };
    let file = fs::canonicalize(&file)
        .map_err(|e| Error::io(format!("cannot resolve `{}`", file.display()), e))?;
    let root = file.parent().unwrap_or(Path::new("/")).to_owned();
    Ok(Project { root })
}

/// Which profile a command acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The project found from the current directory.
    Project,
    /// The user's global profile.
    Global,
    /// The aibox CLI itself (`aibox self update`).
    SelfCli,
}

/// Open the store and the profile a command acts on.
pub fn open_profile(opts: &Options, target: Target) -> Result<(Store, Profile)> {
    let store = opts.store()?;
    let profile = match target {
        Target::Project => store.project_profile(&find_project(opts)?.root)?,
        Target::Global => store.global_profile()?,
        Target::SelfCli => store.self_profile()?,
    };
    Ok((store, profile))
}

/// Source options from the global options (plus `--insecure`).
pub fn source_options(opts: &Options, insecure: bool) -> SourceOptions {
    SourceOptions {
        offline: opts.offline,
        refresh: opts.refresh,
        insecure,
        reporter: opts.reporter,
        home: opts.home,
    }
}
