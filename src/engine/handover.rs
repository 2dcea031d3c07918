//! Taking over the skill folders `aibox import` handed to aibox, and giving them back. Before a
//! generation that projects a skill where a handed-over entry stands is prepared, every such
//! entry still exactly as imported is kept in the store (a pack tree holding the folders at
//! their paths, plus the links' targets) and recorded in the generation (`replaced`); only
//! after the switch is each replaced by aibox's link. Undoing that generation (`aibox
//! rollback`) puts every one back byte for byte wherever nothing stands in its place; switching
//! to it again replaces them again. Nothing the user changed since the import is ever
//! touched: it is not what was handed over.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fs;
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
