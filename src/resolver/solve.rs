//! Running the solver: one attempt over a [`Provider`], and a second look when a requested
//! pack ended far below its newest version because of a pack decided before it.

use std::collections::BTreeMap;
use std::sync::Arc;

use pubgrub::PubGrubError;
use semver::Version;

use super::Root;
use super::index::{PackIndex, ResolveOptions};
use super::outcome::{Resolution, ResolveError, Resolved};
use super::provider::{Pkg, Provider, Stop};

/// How many versions below its newest allowed version a requested pack may end before the
/// solver takes a second look with that pack decided first.
const WALK: usize = 5;

/// One complete answer, and how far the requested packs ended below their newest versions.
struct Answer {
    resolution: Resolution,
    /// Versions below the newest allowed, summed over the requested packs.
    distance: usize,
    /// Requested packs that ended [`WALK`] or more versions below their newest allowed version.
    walked: Vec<Arc<str>>,
    /// The first packs the solver decided, as many as `walked` has.
    decided_first: Vec<Arc<str>>,
}

/// Run the solver and build the [`Resolution`] (cycles are checked by the caller).
///
/// When a requested pack ends [`WALK`] or more versions below the newest version the project
/// allows, a pack decided earlier has usually forced it down, and a newer combination exists
/// with the earlier pack one step back (uv's resolver jumps back to that decision). PubGrub 0.4
/// cannot be asked to jump back, so the solver takes a second look with the walked-down packs
/// decided first, and keeps that answer only if the requested packs end closer to their newest
/// versions in total. The second look stops as soon as one requested pack falls further than
/// the first answer did in total, so it costs little when it cannot win.
pub(crate) fn solve(
    roots: &[Root],
    index: &dyn PackIndex,
    opts: &ResolveOptions,
) -> Result<Resolution, ResolveError> {
    let Some(first) = attempt(roots, index, opts, &[], None)? else {
        unreachable!("an attempt without a budget never stops early")
    };
    // Packs that were decided first anyway walked down for want of any working combination
    // with what came after them: deciding them first again changes nothing.
    if first.walked.is_empty() || first.walked.iter().all(|w| first.decided_first.contains(w)) {
        return Ok(first.resolution);
    }
    match attempt(roots, index, opts, &first.walked, Some(first.distance)) {
        Ok(Some(second)) if second.distance < first.distance => Ok(second.resolution),
        _ => Ok(first.resolution),
    }
}

/// One run of the solver with `early` decided first; `None` when it went over `budget`.
fn attempt(
    roots: &[Root],
    index: &dyn PackIndex,
    opts: &ResolveOptions,
    early: &[Arc<str>],
    budget: Option<usize>,
) -> Result<Option<Answer>, ResolveError> {
    let provider = Provider::new(index, roots, opts, early, budget);
    check_roots(&provider, roots)?;
    match pubgrub::resolve(&provider, Pkg::Root, 0u32) {
        Ok(selected) => answer(&provider, selected, early).map(Some),
        Err(e) => failure(&provider, e),
    }
}

/// Roots first: an unknown pack or a request no version matches is reported directly.
fn check_roots(provider: &Provider<'_>, roots: &[Root]) -> Result<(), ResolveError> {
    for root in roots {
        let pack = provider.pack(&root.name).map_err(ResolveError::Index)?;
        let versions = pack.versions();
        if let Some(e) = provider.missing.borrow_mut().remove(&root.name) {
            return Err(ResolveError::Index(e));
        }
        if !versions.iter().any(|v| root.request.matches(v)) {
            return Err(ResolveError::NoMatchingVersion {
                name: root.name.clone(),
                request: root.request.to_string(),
                available: versions.to_vec(),
            });
        }
    }
    Ok(())
}

/// What a failed run means: no solution (explained), over budget (`None`), or an index or
/// metadata error.
fn failure(
    provider: &Provider<'_>,
    e: PubGrubError<Provider<'_>>,
) -> Result<Option<Answer>, ResolveError> {
    match e {
        PubGrubError::NoSolution(mut tree) => {
            tree.collapse_no_versions();
            let (message, hints) = super::report::explain(&tree, provider);
            Err(ResolveError::NoSolution { message, hints })
        }
        PubGrubError::ErrorChoosingVersion {
            source: Stop::Worse,
            ..
        }
        | PubGrubError::ErrorRetrievingDependencies {
            source: Stop::Worse,
            ..
        }
        | PubGrubError::ErrorInShouldCancel(Stop::Worse) => Ok(None),
        PubGrubError::ErrorRetrievingDependencies {
            package: Pkg::Pack(pack),
            version: at,
            source: Stop::Index(source),
        } if pack.version(at).is_some() => Err(ResolveError::Metadata {
            name: pack.to_string(),
            version: pack
                .version(at)
                .cloned()
                .unwrap_or_else(|| Version::new(0, 0, 0)),
            source: Box::new(source),
        }),
        PubGrubError::ErrorRetrievingDependencies {
            source: Stop::Index(source),
            ..
        }
        | PubGrubError::ErrorChoosingVersion {
            source: Stop::Index(source),
            ..
        }
        | PubGrubError::ErrorInShouldCancel(Stop::Index(source)) => {
            Err(ResolveError::Index(source))
        }
    }
}

/// The resolution a successful run selected, with how far the requested packs ended below
/// their newest versions.
fn answer(
    provider: &Provider<'_>,
    selected: pubgrub::SelectedDependencies<Pkg, super::provider::At>,
    early: &[Arc<str>],
) -> Result<Answer, ResolveError> {
    let mut packages = BTreeMap::new();
    let mut distance = 0;
    let mut walked = Vec::new();
    for (pkg, at) in selected {
        let Pkg::Pack(name) = pkg else { continue };
        let Some(version) = name.version(at).cloned() else {
            continue;
        };
        if let Some(d) = provider.distance(&name, at) {
            distance += d;
            if d >= WALK && !early.contains(&*name) {
                walked.push(name.key());
            }
        }
        let manifest =
            provider
                .manifest(&name, &version)
                .map_err(|source| ResolveError::Metadata {
                    name: name.to_string(),
                    version: version.clone(),
                    source: Box::new(source),
                })?;
        let dependencies = manifest.dependencies.keys().cloned().collect();
        packages.insert(
            name.to_string(),
            Resolved {
                version,
                manifest,
                dependencies,
            },
        );
    }
    walked.sort();
    let decided_first = provider
        .decided
        .borrow()
        .iter()
        .take(walked.len())
        .cloned()
        .collect();
    Ok(Answer {
        resolution: Resolution { packages },
        distance,
        walked,
        decided_first,
    })
}
