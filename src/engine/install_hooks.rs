//! Install hooks: `[install] run` runs once when a pack is materialized, sandboxed and without
//! the terminal, in a staging copy of the pack tree that is all it may write (no network unless
//! the pack declares it). What it leaves there becomes the pack tree the generation uses — hashed and stored
//! like any tree, under its own tree hash — and is remembered (`store-v2/installed/<pack>`) so
//! the hook does not run again for the same locked tree. A failing hook is an error with the
//! tail of its output; nothing is switched.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::fs;
use crate::manifest::pack::PackManifest;
use crate::sandbox::{Context, Sandbox};
use crate::store::{PackId, Store};

/// Where the result of `id`'s install hook is remembered.
fn marker(store: &Store, id: &PackId) -> PathBuf {
    store.layout().store().join("installed").join(id.dir_name())
}

/// Replace every pack of `packs` that has an install hook by the tree its hook makes (run now
/// unless remembered).
pub fn run_install_hooks(
    store: &Store,
    packs: &mut [(PackId, PackManifest)],
    project: Option<&Path>,
) -> Result<()> {
    for (id, manifest) in packs.iter_mut() {
        let Some(hook) = &manifest.install else {
            continue;
        };
        let mark = marker(store, id);
        if let Ok(text) = fs::read_regular_string(&mark, 256)
            && let Ok(tree) = text.trim().parse()
        {
            let done = PackId {
                tree,
                name: id.name.clone(),
                version: id.version.clone(),
            };
            if store.has_pack(&done) {
                *id = done;
                continue;
            }
        }
        let what = format!("the install hook of `{}@{}`", id.name, id.version);
        store.reporter().status(
            "Installing",
            format!("{}@{} (running its install hook)", id.name, id.version),
        );
        let staging = fs::temp_dir_in(&store.staging()?)
            .map_err(|e| Error::io("cannot create a staging directory", e))?;
        let root = staging.path().join("pack");
        let from = store.pack_path(id);
        fs::copy_tree(&from, &root, &[])
            .map_err(|e| Error::io(format!("cannot copy `{}`", from.display()), e))?;
        let ctx = Context {
            project: project.map(Path::to_path_buf),
            home: crate::env_vars::var_os("HOME").map(PathBuf::from),
            cache: Some(store.layout().cache()),
            plugin_dir: None,
        };
        // Only the staging tree is writable, whatever the pack declares for its other code.
        let mut sandbox = Sandbox::new();
        if let Some(p) = &manifest.permissions {
            let declared = Sandbox::from_permissions(p, &ctx);
            sandbox.allow_net_from(&declared).pass_env_from(&declared);
        }
        sandbox
            .allow_read(store.layout().store())
            .allow_write(&root);
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(&hook.run).current_dir(&root);
        let mut vars = BTreeMap::<String, OsString>::new();
        vars.insert(
            "PATH".into(),
            crate::env_vars::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
        );
        vars.insert(crate::env_vars::PACK_DIR.into(), root.clone().into());
        let tmp = staging.path().join("tmp");
        fs::create_dir(&tmp).map_err(|e| Error::io("cannot create a staging directory", e))?;
        sandbox.allow_write(&tmp);
        vars.insert("TMPDIR".into(), tmp.into());
        let enforcement = sandbox
            .apply(&mut cmd, &vars)
            .map_err(|e| crate::engine::plugins::sandbox_error(&what, e))?;
        crate::engine::plugins::check_enforcement(
            enforcement,
            &what,
            store.layout(),
            store.reporter(),
        )?;
        let version = id.version.to_string();
        let record = crate::engine::run_log::RunRecord::new(
            "install-hook",
            &id.name,
            Some(&version),
            &cmd,
            &sandbox,
            enforcement,
        )
        .for_profile(Some(crate::engine::run_log::profile_of(project)));
        let log = (&record, store.layout());
        crate::engine::switch_hooks::run_captured(cmd, None, &what, log, store.reporter()).map_err(|e| {
            e.with_hint(format!(
                "nothing was switched; the previous generation is still current. Ask the publisher of `{}` to fix its `[install] run`",
                id.name
            ))
        })?;
        let left = |e: Error| e.with_hint(format!("{what} left a tree aibox cannot use"));
        let tree = store.ingest_dir(&root).map_err(|e| left(e.into()))?;
        crate::registry::backends::content::check_bins(&tree, manifest, &what)
            .map_err(|e| left(e.into()))?;
        let built = store
            .build_pack(&id.name, &id.version, &tree, None)
            .map_err(|e| left(e.into()))?;
        if let Some(dir) = mark.parent() {
            fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("cannot create `{}`", dir.display()), e))?;
        }
        fs::write_atomic(&mark, built.tree.to_string().as_bytes())
            .map_err(|e| Error::io(format!("cannot write `{}`", mark.display()), e))?;
        store
            .reporter()
            .verbose(format!("{what} made tree {}", built.tree));
        *id = built;
    }
    Ok(())
}
