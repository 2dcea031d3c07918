//! What an `add`/`install` or a `remove`/`uninstall` would change, resolved but not written or
//! installed: the packs that come, go and change version, what each coming one may do, and
//! what it asks for beyond the target's lock and current generation (the escalations the
//! consent check of [`crate::engine::escalation::check_install`] weighs). The local page shows
//! this before it applies an edit through [`crate::ops::edit`].

use crate::engine::escalation::{self, Escalation};
use crate::engine::lock::{Upgrade, resolve_lock};
use crate::engine::project::ProjectState;
use crate::error::{Error, Result};
use crate::fs;
use crate::manifest::{Section, parse_project, remove_requirement};
use crate::ops::edit::manifest_template;
use crate::ops::sync::{target_profile, target_root};
use crate::ops::{MANIFEST, Options, Target};
use crate::resolver::PackSpec;

/// What an edit would change.
#[derive(Debug, Clone, Default)]
pub struct Preview {
    /// Packs new to the lock: (name, version).
    pub added: Vec<(String, String)>,
    /// Packs leaving the lock: (name, version).
    pub removed: Vec<(String, String)>,
    /// Packs changing version: (name, from, to).
    pub changed: Vec<(String, String, String)>,
    /// What each added or changed pack may do, whole (as `aibox info` says it).
    pub may: Vec<(String, Vec<String>)>,
    /// What it asks for beyond the lock and the current generation; applying needs consent.
    pub escalations: Vec<Escalation>,
}

impl Preview {
    /// Nothing would change.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// The target's state with `text` as its manifest; a global profile with no manifest yet
/// starts from the one `aibox install --registry <registry>` would create.
fn state_for(
    opts: &Options,
    target: Target,
    edit: impl FnOnce(&str) -> Result<String>,
    registry: Option<&str>,
) -> Result<ProjectState> {
    let root = target_root(opts, target)?;
    let path = root.join(MANIFEST);
    if fs::exists(&path).unwrap_or(false) {
        let text = edit(&crate::ops::edit::read_manifest(&path)?)?;
        let mut state = ProjectState::read(&root)?;
        state.manifest = parse_project(&text, &path)?;
        return Ok(state);
    }
    let Some(url) = registry.filter(|_| target == Target::Global) else {
        return Err(Error::msg(format!("there is no `{}`", path.display())));
    };
    let text = edit(&manifest_template(Some(url)))?;
    Ok(ProjectState {
        manifest: parse_project(&text, &path)?,
        root,
        lock: None,
    })
}

/// What `aibox add --registry <registry>` (project) or `aibox install` (global) of `specs`
/// into `section` would do. `registry` (a URL) is the registry the packs come from, and the one
/// a global profile with no manifest yet would be created with.
pub fn add(
    opts: &Options,
    target: Target,
    specs: &[String],
    section: Section,
    registry: Option<&str>,
) -> Result<Preview> {
    let parsed: Vec<PackSpec> = specs
        .iter()
        .map(|s| PackSpec::parse(s))
        .collect::<Result<_, _>>()?;
    let path = target_root(opts, target)?.join(MANIFEST);
    let state = state_for(
        opts,
        target,
        |text| {
            let key = match registry {
                Some(r) => Some(crate::ops::edit::registry_key(&path, text, r)?),
                None => None,
            };
            crate::ops::edit::add_requests(
                text,
                section,
                &parsed,
                key.as_ref().map(Option::as_deref),
            )
        },
        registry,
    )?;
    let upgrade = crate::ops::edit::upgrade_named(&state, &parsed);
    compare(opts, target, &state, &upgrade)
}

/// What `aibox remove` (project) or `aibox uninstall` (global) of `names` would do.
pub fn remove(opts: &Options, target: Target, names: &[String]) -> Result<Preview> {
    let state = state_for(
        opts,
        target,
        |text| {
            let mut text = text.to_owned();
            for name in names {
                text = remove_requirement(&text, name).ok_or_else(|| {
                    Error::msg(format!(
                        "`{name}` is not in [packs], [plugins] or [skills] of the manifest"
                    ))
                })?;
            }
            Ok(text)
        },
        None,
    )?;
    compare(opts, target, &state, &Upgrade::None)
}

/// Resolve `state` and compare the lock it makes with the one on disk and with the current
/// generation's.
fn compare(
    opts: &Options,
    target: Target,
    state: &ProjectState,
    upgrade: &Upgrade,
) -> Result<Preview> {
    let sources = state.sources(opts);
    let new = resolve_lock(state, &sources, upgrade)?;
    let old = state
        .lock
        .as_ref()
        .map(|(_, l)| l.clone())
        .unwrap_or_else(crate::lockfile::Lockfile::empty);
    let mut out = Preview::default();
    for pkg in &new.packages {
        match old.package(&pkg.name) {
            Some(b) if b.version == pkg.version => continue,
            Some(b) => out.changed.push((
                pkg.name.clone(),
                b.version.to_string(),
                pkg.version.to_string(),
            )),
            None => out.added.push((pkg.name.clone(), pkg.version.to_string())),
        }
        let grants = escalation::grants_of(&new, pkg, &sources)?;
        out.may
            .push((pkg.name.clone(), escalation::grant_phrases(&grants)));
    }
    for pkg in &old.packages {
        if new.package(&pkg.name).is_none() {
            out.removed
                .push((pkg.name.clone(), pkg.version.to_string()));
        }
    }
    out.escalations = escalation::escalations(&old, &new, &sources)?;
    // The install's own check compares with the current generation's lock: what it would ask
    // is part of what the person consents to.
    let store = opts.store()?;
    if let Ok(profile) = target_profile(&store, target, &state.root) {
        for e in escalation::pending(&store, &profile, &new, &sources)? {
            if !out.escalations.iter().any(|x| {
                escalation::describe(std::slice::from_ref(x))
                    == escalation::describe(std::slice::from_ref(&e))
            }) {
                out.escalations.push(e);
            }
        }
    }
    Ok(out)
}
