//! What a resolution gives: one version per pack, or why there is none.

use std::collections::BTreeMap;
use std::sync::Arc;

use semver::Version;

use super::index::{IndexError, available_list};
use crate::manifest::pack::PackManifest;

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
