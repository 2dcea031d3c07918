//! Resolution: from a manifest's requests to one version per pack, with PubGrub over a
//! [`PackIndex`] (pack metadata from any source), locked-version preferences, `requires-aibox`
//! checks, cycle detection and conflict explanations in plain words.

mod index;
mod memory;
mod outcome;
mod provider;
#[cfg(test)]
mod quality_tests;
mod report;
mod solve;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use crate::manifest::request::Root;
pub use crate::manifest::request::{PackSpec, Request, RequestError};
pub(crate) use index::aibox_matches;
pub use index::{IndexError, PackIndex, ResolveOptions};
pub use memory::{MemoryIndex, minimal_manifest};
pub use outcome::{Resolution, ResolveError, Resolved};

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
