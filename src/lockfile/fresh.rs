//! Freshness: a lock is fresh for a manifest when it satisfies it — every request met by a
//! locked pack of the right kind from the request's registry, every locked dependency met by
//! the locked version of that dependency, nothing locked that the manifest no longer reaches,
//! and the same platform narrowing. Offline and cheap: no registry is asked. This is what lets
//! two branches lock different packs and merge without a conflict, and what tells a merged
//! lock that does not add up from one that does.

use std::collections::{BTreeSet, VecDeque};

use super::Lockfile;
use crate::manifest::ProjectManifest;
use crate::manifest::request::Request;

/// The first way a lock fails to satisfy a manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unmet {
    #[error("`{name}` is requested (`{request}`) but not locked")]
    NotLocked { name: String, request: String },
    #[error("`{name}` is requested as `{request}`, but the lock has {locked}")]
    Version {
        name: String,
        request: String,
        locked: String,
    },
    #[error("`{name}` is locked from `{locked}`, but the manifest takes it from `{wanted}`")]
    Source {
        name: String,
        locked: String,
        wanted: String,
    },
    #[error("`{name}` is a {kind} pack, but the manifest requests it under [{section}]")]
    Kind {
        name: String,
        kind: String,
        section: String,
    },
    #[error("`{from}` needs `{name} {request}`, but the lock has {locked}")]
    Dependency {
        from: String,
        name: String,
        request: String,
        locked: String,
    },
    #[error("`{name}` is locked but nothing in the manifest needs it any more")]
    Unreached { name: String },
    #[error("the lock covers platforms {locked}, but `[policy] platforms` says {wanted}")]
    Platforms { locked: String, wanted: String },
    #[error("`{name}`'s request `{request}` cannot be read: {reason}")]
    BadRequest {
        name: String,
        request: String,
        reason: String,
    },
}

fn shown(p: &Option<Vec<String>>) -> String {
    match p {
        None => "all (none named)".into(),
        Some(v) => format!("[{}]", v.join(", ")),
    }
}

impl Lockfile {
    /// Check that this lock satisfies `manifest`; the error names the first unmet request.
    pub fn check(&self, manifest: &ProjectManifest) -> Result<(), Unmet> {
        let wanted = manifest.policy.platforms.clone();
        if self.platforms != wanted {
            return Err(Unmet::Platforms {
                locked: shown(&self.platforms),
                wanted: shown(&wanted),
            });
        }
        let url_for = |name: &str| {
            manifest
                .registry_for(name)
                .map(|(_, spec)| spec.url.as_str())
        };
        let mut queue: VecDeque<&str> = VecDeque::new();
        for section in crate::manifest::Section::ALL {
            let table = match section {
                crate::manifest::Section::Packs => &manifest.packs,
                crate::manifest::Section::Plugins => &manifest.plugins,
                crate::manifest::Section::Skills => &manifest.skills,
            };
            for (name, req) in table {
                let request = req.request.as_str().to_owned();
                let Some(locked) = self.package(name) else {
                    return Err(Unmet::NotLocked {
                        name: name.clone(),
                        request,
                    });
                };
                if !req.request.matches(&locked.version) {
                    return Err(Unmet::Version {
                        name: name.clone(),
                        request,
                        locked: locked.version.to_string(),
                    });
                }
                if crate::manifest::Section::of_kind(locked.kind) != section {
                    return Err(Unmet::Kind {
                        name: name.clone(),
                        kind: locked.kind.as_str().into(),
                        section: section.key().into(),
                    });
                }
                queue.push_back(name);
            }
        }
        let mut reached: BTreeSet<&str> = BTreeSet::new();
        while let Some(name) = queue.pop_front() {
            if !reached.insert(name) {
                continue;
            }
            let Some(pkg) = self.package(name) else {
                continue; // reported where it is needed
            };
            if let Some(url) = url_for(name)
                && pkg.source != url
            {
                return Err(Unmet::Source {
                    name: name.into(),
                    locked: pkg.source.clone(),
                    wanted: url.into(),
                });
            }
            for (dep, text) in &pkg.dependencies {
                let request = Request::parse(text).map_err(|e| Unmet::BadRequest {
                    name: dep.clone(),
                    request: text.clone(),
                    reason: e.to_string(),
                })?;
                let Some(locked) = self.package(dep) else {
                    return Err(Unmet::Dependency {
                        from: name.into(),
                        name: dep.clone(),
                        request: text.clone(),
                        locked: "no version of it".into(),
                    });
                };
                if !request.matches(&locked.version) {
                    return Err(Unmet::Dependency {
                        from: name.into(),
                        name: dep.clone(),
                        request: text.clone(),
                        locked: locked.version.to_string(),
                    });
                }
                queue.push_back(dep);
            }
        }
        if let Some(extra) = self
            .packages
            .iter()
            .find(|p| !reached.contains(p.name.as_str()))
        {
            return Err(Unmet::Unreached {
                name: extra.name.clone(),
            });
        }
        Ok(())
    }
}
