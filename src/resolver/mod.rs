//! Resolution: from a manifest's requests to one version per pack, with PubGrub over a
//! [`PackIndex`] (pack metadata from any source), locked-version preferences, `requires-aibox`
//! checks, cycle detection and conflict explanations in plain words.

mod memory;
mod provider;
#[cfg(test)]
mod quality_tests;
mod report;
mod solve;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use semver::Version;

use crate::manifest::pack::PackManifest;
pub use crate::manifest::request::Root;
pub use crate::manifest::request::{PackSpec, Request, RequestError};
use crate::registry::RegistryError;
pub use memory::{MemoryIndex, minimal_manifest};

/// Pack metadata the resolver reads. The ops layer implements it on top of
/// [`crate::registry::Source`]s; tests implement it in memory. Object safe.
pub trait PackIndex: Sync {
    /// Every version of `name`; [`IndexError::NotFound`] (with a suggestion) when there is no
    /// such pack.
    fn versions(&self, name: &str) -> Result<Vec<Version>, IndexError>;
    /// The `pack.toml` of one version.
    fn manifest(&self, name: &str, version: &Version) -> Result<Arc<PackManifest>, IndexError>;
    /// A hint that these versions' manifests will be asked for soon (fetch ahead in parallel).
    fn prefetch(&self, _name: &str, _versions: &[Version]) {}
}

/// Why pack metadata could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("no pack `{name}` in `{source_url}`{}", crate::manifest::did_you_mean_tail(.suggestion))]
    NotFound {
        name: String,
        source_url: String,
        suggestion: Option<String>,
    },
    #[error(transparent)]
    Registry(Box<RegistryError>),
    #[error("{0}")]
    Other(String),
}

impl From<RegistryError> for IndexError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::NotFound {
                name,
                source_url,
                suggestion,
            } => IndexError::NotFound {
                name,
                source_url,
                suggestion,
            },
            other => IndexError::Registry(Box::new(other)),
        }
    }
}

impl crate::error::Hint for IndexError {
    fn hints(&self) -> Vec<String> {
        match self {
            IndexError::NotFound { .. } => {
                vec!["check the name, or `aibox search <query>` to find packs".into()]
            }
            IndexError::Registry(e) => e.hints(),
            IndexError::Other(_) => Vec::new(),
        }
    }
}

/// What else resolution depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveOptions {
    /// The running aibox, checked against every `requires-aibox`.
    pub aibox_version: Version,
    /// The manifest's own `requires-aibox`.
    pub requires_aibox: Option<Request>,
    /// Versions to keep when still allowed (the lock's); newest otherwise.
    pub preferences: BTreeMap<String, Version>,
}

impl ResolveOptions {
    /// Options for `aibox_version` with no manifest requirement and no preferences.
    pub fn new(aibox_version: Version) -> ResolveOptions {
        ResolveOptions {
            aibox_version,
            requires_aibox: None,
            preferences: BTreeMap::new(),
        }
    }

    /// Options for a manifest, preferring the versions of an existing lock.
    pub fn for_manifest(
        manifest: &crate::manifest::ProjectManifest,
        aibox_version: Version,
        lock: Option<&crate::lockfile::Lockfile>,
    ) -> ResolveOptions {
        ResolveOptions {
            aibox_version,
            requires_aibox: manifest.requires_aibox.clone(),
            preferences: lock.map(|l| l.preferences()).unwrap_or_default(),
        }
    }
}

/// One chosen pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub version: Version,
    pub manifest: Arc<PackManifest>,
    /// Names of its dependencies, sorted.
    pub dependencies: Vec<String>,
}

/// The outcome: one version per pack name, sorted by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resolution {
    pub packages: BTreeMap<String, Resolved>,
}

/// Why resolution failed.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("this project requires aibox `{required}`, but this is aibox {running}")]
    AiboxTooOld { required: String, running: Version },
    #[error("no version of `{name}` matches `{request}`; available: {}", available_list(.available))]
    NoMatchingVersion {
        name: String,
        request: String,
        available: Vec<Version>,
    },
    #[error("{message}")]
    NoSolution { message: String, hints: Vec<String> },
    #[error("dependency cycle: {}", cycle_text(.path, .versions))]
    Cycle {
        /// The packs of the cycle, the first repeated at the end.
        path: Vec<String>,
        /// The chosen version of each pack of `path`.
        versions: Vec<Version>,
    },
    #[error(transparent)]
    Index(IndexError),
    #[error("reading `{name} {version}`: {source}")]
    Metadata {
        name: String,
        version: Version,
        source: Box<IndexError>,
    },
}

/// `a 1.0.0 -> b 2.1.0 -> a 1.0.0`.
fn cycle_text(path: &[String], versions: &[Version]) -> String {
    path.iter()
        .zip(versions)
        .map(|(name, v)| format!("{name} {v}"))
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// `1.0.0, 1.1.0, 2.0.0` (the newest eight, oldest first), or `none`.
pub(crate) fn available_list(versions: &[Version]) -> String {
    if versions.is_empty() {
        return "none".into();
    }
    let skip = versions.len().saturating_sub(8);
    let shown: Vec<String> = versions[skip..].iter().map(Version::to_string).collect();
    if skip > 0 {
        format!("{} older, {}", skip, shown.join(", "))
    } else {
        shown.join(", ")
    }
}

impl crate::error::Hint for ResolveError {
    fn hints(&self) -> Vec<String> {
        match self {
            ResolveError::AiboxTooOld { .. } => {
                vec!["install a version of aibox that matches `requires-aibox`".into()]
            }
            ResolveError::NoMatchingVersion {
                name, available, ..
            } => {
                let stable = available.iter().rev().find(|v| v.pre.is_empty());
                let example = match (stable, available.last()) {
                    (Some(v), _) if v.major > 0 => Some(v.major.to_string()),
                    (Some(v), _) => Some(format!("0.{}", v.minor)),
                    (None, last) => last.map(Version::to_string),
                };
                match example {
                    Some(e) => vec![format!(
                        "change the request for `{name}` in `aibox.toml`, e.g. `{name} = \"{e}\"`"
                    )],
                    None => vec![format!("`{name}` has no published versions yet")],
                }
            }
            ResolveError::NoSolution { hints, .. } => hints.clone(),
            ResolveError::Cycle { path, .. } => vec![format!(
                "packs must not depend on each other in a circle; change the dependencies of `{}` (or request other versions)",
                path.first().map(String::as_str).unwrap_or_default()
            )],
            ResolveError::Index(e) => crate::error::Hint::hints(e),
            ResolveError::Metadata { source, .. } => crate::error::Hint::hints(&**source),
        }
    }
}

/// Whether `req` accepts the running aibox `v` (a pre-release of aibox counts as its release).
pub(crate) fn aibox_matches(req: &Request, v: &Version) -> bool {
    req.matches(v) || (!v.pre.is_empty() && req.matches(&Version::new(v.major, v.minor, v.patch)))
}

/// Resolve `roots` against `index`: one version per pack, the newest allowed unless a preferred
/// (locked) version is still allowed. Deterministic for the same inputs.
pub fn resolve(
    roots: &[Root],
    index: &dyn PackIndex,
    opts: &ResolveOptions,
) -> Result<Resolution, ResolveError> {
    if let Some(req) = &opts.requires_aibox
        && !aibox_matches(req, &opts.aibox_version)
    {
        return Err(ResolveError::AiboxTooOld {
            required: req.to_string(),
            running: opts.aibox_version.clone(),
        });
    }
    let resolution = solve::solve(roots, index, opts)?;
    if let Some(path) = find_cycle(&resolution) {
        let versions = path
            .iter()
            .map(|n| resolution.packages[n].version.clone())
            .collect();
        return Err(ResolveError::Cycle { path, versions });
    }
    Ok(resolution)
}

/// The first dependency cycle of the chosen graph (visiting names in order), as a path that
/// starts and ends with the same pack.
fn find_cycle(resolution: &Resolution) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit(
        name: &str,
        res: &Resolution,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(name.to_owned(), Mark::Active);
        stack.push(name.to_owned());
        for dep in res
            .packages
            .get(name)
            .map(|r| &r.dependencies[..])
            .unwrap_or(&[])
        {
            match marks.get(dep).copied().unwrap_or(Mark::New) {
                Mark::Active => {
                    let start = stack.iter().position(|n| n == dep).unwrap_or(0);
                    let mut path = stack[start..].to_vec();
                    path.push(dep.clone());
                    return Some(path);
                }
                Mark::New if res.packages.contains_key(dep) => {
                    if let Some(path) = visit(dep, res, marks, stack) {
                        return Some(path);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        marks.insert(name.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for name in resolution.packages.keys() {
        if marks.get(name).copied().unwrap_or(Mark::New) == Mark::New {
            let mut stack = Vec::new();
            if let Some(path) = visit(name, resolution, &mut marks, &mut stack) {
                return Some(path);
            }
        }
    }
    None
}
