//! Taking over the skill folders `aibox import` handed to aibox, and giving them back. Before a
//! generation that projects a skill where a handed-over entry stands is prepared, every such
//! entry still exactly as imported is kept in the store (a pack tree holding the folders at
//! their paths, plus the links' targets) and recorded in the generation (`replaced`); only
//! after the switch is each replaced by aibox's link. Undoing that generation (`aibox
//! rollback`) puts every one back byte for byte wherever nothing stands in its place; switching
//! to it again replaces them again. Nothing the user changed since the import is ever
//! touched: it is not what was handed over.
//!
//! What the old installers recorded the imported skills' files hash to (`expect` in the
//! record) is checked against the trees aibox stored for them before the first generation
//! holding them is named ([`check_expected`]); a mismatch stops the install there — nothing
//! switched, the old folders untouched — unless consented to (`--yes`). Once a switch has
//! completed with them checked, they are dropped from the record ([`forget_expected`]): later
//! syncs (an update of the skill, say) do not check them again.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fs;
use crate::manifest::pack::{PackKind, PackManifest};
use crate::skill::handover::{Handover, Identity, identity};
use crate::store::generations::{GenerationRecord, Replaced, ReplacedEntry};
use crate::store::profiles::Profile;
use crate::store::tree::{Entry, Tree};
use crate::store::{PackId, Store};

use crate::engine::skills::Projector;

/// The name the store gives the pack tree of replaced folders.
pub const PACK: &str = "replaced-skills";

/// The project root a projector works in (handing over is for projects only).
fn project_root(p: &Projector) -> Option<&Path> {
    p.base().user.is_none().then_some(p.base().root.as_path())
}

fn rel_of(root: &Path, path: &Path) -> Option<String> {
    Some(path.strip_prefix(root).ok()?.to_str()?.to_owned())
}

/// Before a generation projecting `skills` is prepared: the entries in its way that were
/// handed over and are still as imported, kept in the store. `None`: nothing to take over.
pub fn keep(
    store: &Store,
    profile: &Profile,
    p: &Projector,
    skills: &[String],
) -> Result<Option<Replaced>> {
    let Some(root) = project_root(p) else {
        return Ok(None);
    };
    let record = Handover::read(&profile.paths.dir);
    if record.entries.is_empty() {
        return Ok(None);
    }
    let mut taken = Vec::new();
    for path in p.in_the_way(skills)? {
        let Some(rel) = rel_of(root, &path) else {
            continue;
        };
        if let Some(e) = record.unchanged(root, &rel) {
            taken.push((rel, e.link.clone()));
        }
    }
    if taken.is_empty() {
        return Ok(None);
    }
    let mut tree = Tree::default();
    for (rel, link) in &taken {
        if link.is_some() {
            continue;
        }
        let sub = store.ingest_dir(&root.join(rel))?;
        let parts = crate::store::ingest::split_path(rel)?;
        crate::store::ingest::insert(&mut tree, rel, &parts, Entry::Dir(sub))?;
    }
    let id = store.build_pack(PACK, "0.0.0", &tree, None)?;
    taken.sort();
    Ok(Some(Replaced {
        store: id.dir_name(),
        tree: id.tree,
        entries: taken
            .into_iter()
            .map(|(path, link)| ReplacedEntry { path, link })
            .collect(),
    }))
}

/// Before a generation holding `packs` is prepared: each imported skill among them whose old
/// installer recorded what its files hash to (`expect` in the profile's handover record) must
/// hash to that in the tree aibox stored. A mismatch (or a hash that cannot be computed here)
/// is refused — unless consented to (`--yes`, or a yes on a terminal outside CI) — before
/// anything is prepared or switched. Returns the skills checked (or taken), for
/// [`forget_expected`] once the switch is done.
pub fn check_expected(
    store: &Store,
    profile: &Profile,
    packs: &[(PackId, PackManifest)],
    consent: crate::engine::context::Consent,
) -> Result<Vec<String>> {
    let record = Handover::read(&profile.paths.dir);
    let mut checked = Vec::new();
    let mut bad = Vec::new();
    for e in &record.expected {
        let Some((what, want)) = e.recorded() else {
            continue;
        };
        let Some((id, _)) = packs
            .iter()
            .find(|(id, m)| id.name == e.skill && m.pack.kind == PackKind::Skill)
        else {
            continue;
        };
        let files = crate::skill::folder_hash::files_of(&store.pack_path(id)).map_err(|err| {
            Error::io(format!("cannot read the stored `{}`", e.skill), err)
                .with_hint("run `aibox store verify --repair`, then `aibox sync`")
        })?;
        match e.compute(files) {
            Some(got) if got == want => {
                store.reporter().status(
                    "Checked",
                    format!("{}: the same files as {what} says", e.skill),
                );
            }
            got => bad.push(format!(
                "  {}@{} (from {}): {what} is {want}, but the files aibox fetched hash to {}",
                e.skill,
                id.version,
                e.from,
                got.as_deref()
                    .unwrap_or("something aibox cannot compute here (a path needs ICU ordering)")
            )),
        }
        checked.push(e.skill.clone());
    }
    if bad.is_empty() {
        return Ok(checked);
    }
    let list = bad.join("\n");
    if consent.yes {
        store.reporter().warn(format!(
            "taking imported skills whose files differ from what the old installer recorded (--yes):\n{list}"
        ));
        return Ok(checked);
    }
    let question = format!(
        "These imported skills differ from what the old installer recorded:\n{list}\nTake the files aibox fetched?"
    );
    if consent
        .ask
        .is_some_and(|ask| ask(store.reporter(), &question))
    {
        return Ok(checked);
    }
    Err(NotAsInstalled {
        count: bad.len(),
        list,
    }
    .into())
}

/// Imported skills whose fetched files differ from what their old installer recorded.
#[derive(Debug, thiserror::Error)]
#[error("{count} imported skill(s) are not the files the old installer installed:\n{list}")]
pub struct NotAsInstalled {
    pub count: usize,
    /// One line per skill: which, from which record, expected and got.
    pub list: String,
}

impl crate::error::Hint for NotAsInstalled {
    fn hints(&self) -> Vec<String> {
        vec![
            "nothing was switched: the previous generation, the old skill folders and `aibox.lock` are as they were".into(),
            "the source changed since it was installed: point `aibox.toml` at the revision that was installed, or review the new files and run `aibox sync --yes` to take them (the old folders are kept in the store; `aibox rollback` puts them back)".into(),
        ]
    }
}

/// After a switch that completed with `checked` skills checked: drop their expectations from
/// the handover record, so later syncs do not check them again.
pub fn forget_expected(store: &Store, profile: &Profile, checked: &[String]) {
    if checked.is_empty() {
        return;
    }
    let mut record = Handover::read(&profile.paths.dir);
    record.expected.retain(|e| !checked.contains(&e.skill));
    if let Err(e) = record.write(&profile.paths.dir) {
        store
            .reporter()
            .warn(format!("cannot update the handover record: {e}"));
    }
}

/// The kept tree of `replaced`, when it is still in the store.
fn kept(store: &Store, replaced: &Replaced) -> Option<(PackId, Tree)> {
    let listing = store.pack_listing(&replaced.store).ok()?;
    let tree = Tree::from_listing(&listing)?;
    let suffix = format!("-{PACK}-0.0.0");
    let id = PackId {
        tree: replaced.tree,
        name: PACK.into(),
        version: "0.0.0".into(),
    };
    (replaced.store.ends_with(&suffix) && id.dir_name() == replaced.store).then_some((id, tree))
}

/// What `e` was, by the kept tree.
fn kept_identity(tree: &Tree, e: &ReplacedEntry) -> Option<Identity> {
    match &e.link {
        Some(l) => Some(Identity::Link(l.clone())),
        None => match tree.get(&e.path)? {
            Entry::Dir(sub) => Some(Identity::Folder(sub.hash())),
            _ => None,
        },
    }
}

/// The paths of `replaced` that still stand as kept (a switch to its generation replaces
/// them).
pub fn standing(store: &Store, root: &Path, replaced: &Replaced) -> Vec<PathBuf> {
    let Some((_, tree)) = kept(store, replaced) else {
        return Vec::new();
    };
    replaced
        .entries
        .iter()
        .filter(|e| {
            let path = root.join(&e.path);
            identity(&path).is_some() && identity(&path) == kept_identity(&tree, e)
        })
        .map(|e| root.join(&e.path))
        .collect()
}

/// After a switch to a generation that replaced entries: remove each one still standing
/// exactly as kept, so its link can be made. Also what a later sync does when a run was
/// interrupted between the switch and this step.
pub fn settle(store: &Store, p: &Projector, generation: &GenerationRecord) -> Result<()> {
    let (Some(root), Some(replaced)) = (project_root(p), &generation.replaced) else {
        return Ok(());
    };
    for path in standing(store, root, replaced) {
        let removed = match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => fs::remove_file(&path),
            Ok(_) => fs::remove_tree(&path),
            Err(e) => Err(e),
        };
        removed.map_err(|e| Error::io(format!("cannot replace `{}`", path.display()), e))?;
        store.reporter().status(
            "Replaced",
            format!(
                "`{}` (kept in the store; `aibox rollback` puts it back)",
                path.display()
            ),
        );
    }
    Ok(())
}

/// Put the entries `replaced` kept back where nothing stands now (what stands there — the
/// link of a skill the generation switched to, something new — is left as it is, and named).
pub fn restore(store: &Store, root: &Path, replaced: &Replaced) -> Result<()> {
    let Some((id, _)) = kept(store, replaced) else {
        store.reporter().warn(format!(
            "the folders generation kept ({}) are no longer in the store: nothing to put back",
            replaced.store
        ));
        return Ok(());
    };
    for e in &replaced.entries {
        if crate::manifest::bad_relative_path(&e.path).is_some() {
            continue;
        }
        let path = root.join(&e.path);
        if fs::symlink_metadata(&path).is_ok() {
            store.reporter().warn(format!(
                "`{}` is not put back: something stands there now",
                path.display()
            ));
            continue;
        }
        let parent = path.parent().unwrap_or(root);
        fs::create_dir_all(parent)
            .map_err(|e| Error::io(format!("cannot create `{}`", parent.display()), e))?;
        let put = match &e.link {
            Some(target) => fs::symlink(target, &path),
            None => {
                // Copied next to its place, then renamed into it: never half there.
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                let tmp = parent.join(format!(".{name}.aibox-restore"));
                let _ = fs::remove_tree(&tmp);
                fs::copy_tree(&store.pack_path(&id).join(&e.path), &tmp, &[])
                    .and_then(|()| fs::rename(&tmp, &path))
                    .inspect_err(|_| {
                        let _ = fs::remove_tree(&tmp);
                    })
            }
        };
        put.map_err(|err| Error::io(format!("cannot put back `{}`", path.display()), err))?;
        store
            .reporter()
            .status("Restored", format!("`{}`", path.display()));
    }
    Ok(())
}

/// The generations a switch from `from` to `to` undoes: `from` and its ancestors down to `to`
/// (exclusive), when `to` is an ancestor of `from`; none otherwise.
pub fn undone(store: &Store, profile: &Profile, from: u64, to: u64) -> Vec<GenerationRecord> {
    let mut out = Vec::new();
    let mut at = Some(from);
    while let Some(id) = at {
        if id == to {
            return out;
        }
        let Ok(record) = store.generation(profile, id) else {
            return Vec::new();
        };
        at = record.parent;
        out.push(record);
    }
    Vec::new()
}
