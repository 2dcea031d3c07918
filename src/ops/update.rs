//! `aibox outdated` and `aibox update`: what newer versions exist for the locked packs (within
//! the manifest's ranges and beyond), and moving to them — within the ranges, or with `--major`
//! by widening the ranges in `aibox.toml` (its formatting and comments kept).

use std::collections::BTreeMap;
use std::sync::Mutex;

use semver::Version;

use crate::error::{Error, Result};
use crate::lockfile::Lockfile;
use crate::manifest::add_requirement;
use crate::manifest::request::Request;

use crate::engine::escalation::Escalation;
use crate::engine::install::Installed;
use crate::engine::lock::{Upgrade, changes, resolve_lock};
use crate::engine::project::ProjectState;
use crate::engine::sources::Sources;
use crate::ops::search::newest;
use crate::ops::sync::target_root;
use crate::ops::{MANIFEST, Options, Target};

/// How big a version change is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Patch,
    Minor,
    Major,
}

/// The kind of change from `a` to `b` (`None`: not newer). Below 1.0, a minor step is major
/// (as Cargo's caret treats it).
pub fn change(a: &Version, b: &Version) -> Option<Change> {
    if b <= a {
        return None;
    }
    Some(
        if a.major != b.major || (a.major == 0 && a.minor != b.minor) {
            Change::Major
        } else if a.minor != b.minor {
            Change::Minor
        } else {
            Change::Patch
        },
    )
}

/// One locked pack and the versions it could move to.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outdated {
    pub name: String,
    pub current: String,
    /// The newest version every request on it allows (the manifest's, and its dependents').
    pub in_range: String,
    /// The newest version there is.
    pub newest: String,
    /// From `current` to `newest`.
    pub change: Option<Change>,
    /// The newest version in range with the same major and minor, if newer (a patch update).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    /// Named in the manifest (else a dependency).
    pub requested: bool,
    /// What its registry's moderation says of it, when the registry has moderation (ClawHub).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderation: Option<crate::registry::moderation::Moderation>,
    /// The current version was yanked by its publisher: the reason (may be empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yanked: Option<String>,
    /// The current version is deprecated: its publisher's message (may be empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<String>,
}

/// What `update --auto` says of a pack it held back: the version it is at now (the patch this
/// run applied, if any), the one held back, and the command that takes it — `aibox update NAME`
/// when the manifest's range allows it, `aibox update --major NAME` when it does not (naming
/// both when the range allows a newer minor than the patch but not the newest).
pub fn held_back_line(o: &Outdated, change: &str) -> String {
    let now = o.patch.as_deref().unwrap_or(&o.current);
    let beyond_patch = o.in_range != now && o.in_range != o.current;
    if o.newest == o.in_range {
        format!(
            "{} {now} -> {} ({change}): `aibox update {}` takes it",
            o.name, o.newest, o.name
        )
    } else if beyond_patch {
        format!(
            "{} {now} -> {} ({change}): `aibox update {}` takes {} (its range allows no more); `aibox update --major {}` takes {}",
            o.name, o.newest, o.name, o.in_range, o.name, o.newest
        )
    } else {
        format!(
            "{} {now} -> {} ({change}): `aibox update --major {}` takes it (past the range in aibox.toml)",
            o.name, o.newest, o.name
        )
    }
}

/// The versions of each locked package, asked of its source in parallel (8 at a time).
fn versions_of(lock: &Lockfile, sources: &Sources) -> Result<BTreeMap<String, Vec<Version>>> {
    let out = Mutex::new(BTreeMap::new());
    crate::parallel::try_for_each(&lock.packages, 8, |p| {
        let v = sources.get(&p.source).and_then(|s| s.versions(&p.name))?;
        out.lock().expect("out").insert(p.name.clone(), v);
        Ok::<(), Error>(())
    })?;
    Ok(out.into_inner().expect("out"))
}

fn state(opts: &Options, target: Target) -> Result<ProjectState> {
    let state = ProjectState::read(&target_root(opts, target)?)?;
    if state.lock.is_none() {
        return Err(Error::msg("there is no `aibox.lock` yet")
            .with_hint("run `aibox lock` (or `aibox sync`) first"));
    }
    Ok(state)
}

/// Every locked pack with its current, newest-in-range and newest versions.
pub fn outdated(opts: &Options, target: Target) -> Result<Vec<Outdated>> {
    let state = state(opts, target)?;
    let (_, lock) = state.lock.as_ref().expect("checked");
    let sources = state.sources(opts);
    let versions = versions_of(lock, &sources)?;
    let mut out = Vec::new();
    for p in &lock.packages {
        // Every request on this pack: the manifest's, and each dependent's.
        let mut requests: Vec<Request> = Vec::new();
        if let Some(r) = state.manifest.requirement(&p.name) {
            requests.push(r.request.clone());
        }
        for q in &lock.packages {
            if let Some(r) = q.dependencies.get(&p.name)
                && let Ok(r) = Request::parse(r)
            {
                requests.push(r);
            }
        }
        // Never offered: versions its publisher yanked, or staged ones no request admits.
        let source = sources.get(&p.source)?;
        let judged = crate::engine::lifecycle::judge(source.as_ref(), &p.name, None, opts.reporter);
        let doc = judged.as_ref().map(|j| j.doc.as_ref());
        let any = Request::any();
        let first = requests.first().unwrap_or(&any);
        let all: Vec<Version> = versions
            .get(&p.name)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|v| crate::engine::lifecycle::offered(doc, v, first))
            .cloned()
            .collect();
        let all = all.as_slice();
        let matching: Vec<Version> = all
            .iter()
            .filter(|v| requests.iter().all(|r| r.matches(v)))
            .cloned()
            .collect();
        // On a beta or nightly channel the newest in range may be a pre-release.
        let on_channel = requests
            .first()
            .is_some_and(|r| r.channel() != crate::manifest::request::Channel::Stable);
        let in_range = if on_channel {
            matching.iter().max().cloned()
        } else {
            newest(&matching)
        }
        .unwrap_or_else(|| p.version.clone());
        let newest = newest(all).unwrap_or_else(|| p.version.clone());
        let patch = matching
            .iter()
            .filter(|v| change(&p.version, v) == Some(Change::Patch))
            .filter(|v| v.pre.is_empty() || on_channel)
            .max()
            .map(Version::to_string);
        out.push(Outdated {
            name: p.name.clone(),
            current: p.version.to_string(),
            in_range: (&in_range).max(&p.version).to_string(),
            newest: (&newest).max(&p.version).to_string(),
            change: change(&p.version, &newest),
            patch,
            requested: state.manifest.requirement(&p.name).is_some(),
            moderation: source.moderation(&p.name)?,
            yanked: doc.and_then(|d| d.yanked(&p.version)).map(str::to_owned),
            deprecated: doc
                .and_then(|d| d.deprecated(&p.version))
                .map(str::to_owned),
        });
    }
    Ok(out)
}

/// What `update` changes (and, unless `dry_run`, did).
#[derive(Debug)]
pub struct Updated {
    /// `(pack, old request, new request)` widened in `aibox.toml` (`--major`).
    pub widened: Vec<(String, String, String)>,
    /// Lock changes (`Update hello 1.0.0 -> 1.1.0`, …).
    pub changes: Vec<(&'static str, String)>,
    /// Packs whose new versions ask for more (shown, and approved before anything changed).
    pub escalations: Vec<Escalation>,
    pub installed: Option<Installed>,
}

/// Update `names` (every pack when empty) within the manifest's ranges, or with `major` to
/// their newest versions by widening the ranges; then sync (unless `dry_run`).
pub fn update(
    opts: &Options,
    target: Target,
    names: &[String],
    major: bool,
    dry_run: bool,
    confirm: &mut dyn FnMut(&[Escalation]) -> bool,
) -> Result<Updated> {
    let state = state(opts, target)?;
    let root = state.root.clone();
    let (_, old_lock) = state.lock.clone().expect("checked");
    for n in names {
        if old_lock.package(n).is_none() {
            let mut e = Error::msg(format!("`{n}` is not in `aibox.lock`"));
            let locked = old_lock.packages.iter().map(|p| p.name.as_str());
            if let Some(s) = crate::manifest::did_you_mean(n, locked) {
                e = e.with_hint(format!("did you mean `{s}`?"));
            }
            return Err(e);
        }
    }
    let mut text = crate::ops::edit::read_manifest(&root.join(MANIFEST))?;
    let mut widened = Vec::new();
    if major {
        for o in outdated(opts, target)? {
            let wanted = names.is_empty() || names.contains(&o.name);
            if !wanted || !o.requested || o.newest == o.in_range {
                continue;
            }
            let (Some(section), Some(req)) = (
                state.manifest.section_of(&o.name),
                state.manifest.requirement(&o.name),
            ) else {
                continue;
            };
            let new = format!("^{}", o.newest);
            text = add_requirement(&text, section, &o.name, &new)?;
            widened.push((o.name.clone(), req.request.as_str().to_owned(), new));
        }
    }
    let state = crate::ops::edit::state_with(&root, &text)?;
    let upgrade = if names.is_empty() {
        Upgrade::All
    } else {
        Upgrade::Packages(names.to_vec())
    };
    let sources = state.sources(opts);
    let lock = resolve_lock(&state, &sources, &upgrade)?;
    let changes = changes(Some(&old_lock), &lock);
    let escalations = crate::engine::escalation::escalations(&old_lock, &lock, &sources)?;
    if dry_run || (changes.is_empty() && widened.is_empty()) {
        return Ok(Updated {
            widened,
            changes,
            escalations,
            installed: None,
        });
    }
    approve(&escalations, confirm)?;
    let saved = crate::ops::edit::Saved::take(&root, opts.reporter);
    crate::ops::edit::write_edit(&root, &text, &lock.render())?;
    let installed = saved.unless(crate::ops::edit::install_state(opts, target, &root))?;
    Ok(Updated {
        widened,
        changes,
        escalations,
        installed: Some(installed),
    })
}

/// Go on only if `escalations` is empty or `confirm` approves it (then the install that
/// follows does not ask again); else refuse, changing nothing.
fn approve(
    escalations: &[Escalation],
    confirm: &mut dyn FnMut(&[Escalation]) -> bool,
) -> Result<()> {
    if escalations.is_empty() || confirm(escalations) {
        crate::engine::escalation::accept(escalations);
        return Ok(());
    }
    Err(crate::engine::escalation::refusal(escalations))
}

/// What `update --auto` did: patch updates applied, larger ones held back for a person.
#[derive(Debug)]
pub struct Auto {
    pub applied: Updated,
    pub held: Vec<Outdated>,
}

/// `update --auto`: apply patch updates of the requested packs (within their ranges) silently;
/// minor and major ones only when `take_held` approves them (a person at a terminal), else hold
/// them back — fit for a daily unattended run. Each run is one generation.
pub fn auto(
    opts: &Options,
    target: Target,
    confirm: &mut dyn FnMut(&[Escalation]) -> bool,
    take_held: &mut dyn FnMut(&[Outdated]) -> bool,
) -> Result<Auto> {
    let list = outdated(opts, target)?;
    let mut patch = Vec::new();
    let mut held = Vec::new();
    for o in list.into_iter().filter(|o| o.requested) {
        if o.patch.is_some()
            && let Ok(current) = Version::parse(&o.current)
        {
            patch.push((o.name.clone(), current));
        }
        // More than the patch is available: for a person to decide.
        if Some(&o.newest) != o.patch.as_ref() && o.newest != o.current {
            held.push(o);
        }
    }
    if !held.is_empty() && take_held(&held) {
        // Approved: the held packs go to their newest versions (ranges widened where needed)
        // together with the patches, in one generation.
        let mut names: Vec<String> = patch.into_iter().map(|(n, _)| n).collect();
        names.extend(held.iter().map(|o| o.name.clone()));
        names.sort();
        names.dedup();
        let major = held.iter().any(|o| o.newest != o.in_range);
        let applied = update(opts, target, &names, major, false, confirm)?;
        return Ok(Auto {
            applied,
            held: Vec::new(),
        });
    }
    let mut state = state(opts, target)?;
    let root = state.root.clone();
    let (_, old_lock) = state.lock.clone().expect("checked");
    if patch.is_empty() {
        return Ok(Auto {
            applied: Updated {
                widened: Vec::new(),
                changes: Vec::new(),
                escalations: Vec::new(),
                installed: None,
            },
            held,
        });
    }
    // Resolve as if each patched pack asked for `~<current>` (same major.minor): the lock that
    // comes out still satisfies the real manifest, which is not touched.
    for (name, current) in &patch {
        let narrowed = Request::parse(&format!("~{current}"))?;
        if let Some(r) = state.manifest.requirement_mut(name) {
            r.request = narrowed.clone().with_channel(r.request.channel());
        }
    }
    let names = patch.into_iter().map(|(n, _)| n).collect();
    let sources = state.sources(opts);
    let lock = resolve_lock(&state, &sources, &Upgrade::Packages(names))?;
    let changes = changes(Some(&old_lock), &lock);
    let escalations = crate::engine::escalation::escalations(&old_lock, &lock, &sources)?;
    approve(&escalations, confirm)?;
    let text = crate::ops::edit::read_manifest(&root.join(MANIFEST))?;
    let saved = crate::ops::edit::Saved::take(&root, opts.reporter);
    crate::ops::edit::write_edit(&root, &text, &lock.render())?;
    let installed = saved.unless(crate::ops::edit::install_state(opts, target, &root))?;
    Ok(Auto {
        applied: Updated {
            widened: Vec::new(),
            changes,
            escalations,
            installed: Some(installed),
        },
        held,
    })
}

/// For each of `outdated`: the changelog entries after its current version up to the version
/// an update moves to (the newest in range; the newest of all when nothing in range is newer),
/// as text, read from that version (from its source: a `dir:` pack's `CHANGELOG.md`, an OCI version's annotation).
/// Packs whose source has none are left out; a source that cannot be read is skipped.
pub fn changelogs(opts: &Options, target: Target, outdated: &[Outdated]) -> Vec<(String, String)> {
    let Ok(state) = state(opts, target) else {
        return Vec::new();
    };
    let (_, lock) = state.lock.as_ref().expect("checked");
    let sources = state.sources(opts);
    let mut out = Vec::new();
    for o in outdated {
        // The version an update moves to: the newest in range; past the range only when
        // nothing in it is newer (then `update --major` is what the row offers).
        let to = if o.in_range != o.current {
            &o.in_range
        } else {
            &o.newest
        };
        let (Some(pkg), Ok(current), Ok(to)) = (
            lock.package(&o.name),
            Version::parse(&o.current),
            Version::parse(to),
        ) else {
            continue;
        };
        let Some(text) = sources
            .get(&pkg.source)
            .ok()
            .and_then(|s| s.changelog(&o.name, &to))
        else {
            continue;
        };
        let entries = crate::ops::changelog::entries(&text, Some(&current), &to);
        if !entries.is_empty() {
            out.push((
                o.name.clone(),
                crate::ops::changelog::render(&o.name, &entries),
            ));
        }
    }
    out
}

#[cfg(test)]
mod held_back_tests {
    use super::*;

    fn outdated(current: &str, patch: Option<&str>, in_range: &str, newest: &str) -> Outdated {
        Outdated {
            name: "hello".into(),
            current: current.into(),
            in_range: in_range.into(),
            newest: newest.into(),
            change: None,
            patch: patch.map(str::to_owned),
            requested: true,
            moderation: None,
            yanked: None,
            deprecated: None,
        }
    }

    #[test]
    fn the_held_back_line_names_where_the_pack_is_now_and_a_command_that_takes_the_update() {
        // A patch applied this run, a major held back: from the patch, and `--major`.
        assert_eq!(
            held_back_line(&outdated("1.0.0", Some("1.0.1"), "1.0.1", "2.0.0"), "major"),
            "hello 1.0.1 -> 2.0.0 (major): `aibox update --major hello` takes it (past the range in aibox.toml)"
        );
        // In range (a minor under `^1`): the plain command.
        assert_eq!(
            held_back_line(&outdated("1.0.0", Some("1.0.1"), "1.2.0", "1.2.0"), "minor"),
            "hello 1.0.1 -> 1.2.0 (minor): `aibox update hello` takes it"
        );
        // A newer minor in range and a major past it: both commands, each with what it takes.
        assert_eq!(
            held_back_line(&outdated("1.0.0", None, "1.2.0", "2.0.0"), "major"),
            "hello 1.0.0 -> 2.0.0 (major): `aibox update hello` takes 1.2.0 (its range allows no more); `aibox update --major hello` takes 2.0.0"
        );
    }
}
