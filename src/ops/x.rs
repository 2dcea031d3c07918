//! `aibox x TOOL[@REQ] -- ARGS`: run a pack's command once without a project, as `uvx` and
//! `mise exec` do. Each distinct request (pack, version request, registry) gets an environment
//! of its own under `$AIBOX_HOME/x/<hash>/` — an `aibox.toml`, its `aibox.lock` and a project
//! profile like any other — locked on first use and synced before each run, so a second run is
//! a no-op sync and an exec; everything a sync checks (digests, signatures, the trust policy)
//! holds. `--upgrade` locks it again to the newest version in range.

use std::path::PathBuf;

use crate::engine::lock::LockPolicy;
use crate::error::{Error, Result};
use crate::fs;
use crate::manifest::request::PackSpec;
use crate::ops::sync::SyncOutcome;
use crate::ops::{LOCKFILE, MANIFEST, Options, Target};

/// A one-off environment, ready to run in.
#[derive(Debug)]
pub struct OneOff {
    /// Options whose `--manifest-path` is the environment's `aibox.toml`.
    pub opts: Options,
    /// The command to run when none was named: the pack's name.
    pub pack: String,
    /// What the sync did (`None`: nothing to do).
    pub synced: Option<Box<crate::engine::install::Installed>>,
}

/// Make (or reuse) the environment for `spec` from `registry` (else the global profile's
/// default registry) and sync it.
pub fn prepare(
    opts: &Options,
    spec: &str,
    registry: Option<&str>,
    upgrade: bool,
) -> Result<OneOff> {
    let parsed = PackSpec::parse(spec)?;
    let store = opts.store()?;
    let url = match registry {
        Some(r) => crate::ops::edit::absolutize(r),
        None => global_default_registry(&store)?,
    };
    let request = if parsed.request.is_any() {
        "*".to_owned()
    } else {
        parsed.request.as_str().to_owned()
    };
    let key = blake3::hash(format!("{}\0{request}\0{url}", parsed.name).as_bytes());
    let root: PathBuf = store.layout().home().join("x").join(&key.to_hex()[..16]);
    let manifest = format!(
        "# `aibox x {spec}`: a one-off environment (delete this directory to forget it).\n\
         [registries]\ndefault = {}\n\n[packs]\n{} = {}\n",
        toml::Value::String(url.clone()),
        parsed.name,
        toml::Value::String(request.clone()),
    );
    fs::create_dir_all(&root)
        .map_err(|e| Error::io(format!("cannot create `{}`", root.display()), e))?;
    let path = root.join(MANIFEST);
    if fs::read_to_string(&path).ok().as_deref() != Some(manifest.as_str()) {
        fs::write_atomic(&path, manifest.as_bytes())
            .map_err(|e| Error::io(format!("cannot write `{}`", path.display()), e))?;
    }
    if upgrade {
        match fs::remove_file(root.join(LOCKFILE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io("cannot remove the one-off environment's lock", e));
            }
            _ => {}
        }
    }
    let opts = Options {
        manifest_path: Some(path),
        ..opts.clone()
    };
    let synced = match crate::ops::sync::sync(&opts, Target::Project, LockPolicy::Update)? {
        SyncOutcome::Installed(i) => Some(i),
        SyncOutcome::UpToDate { .. } => None,
    };
    Ok(OneOff {
        opts,
        pack: parsed.name,
        synced,
    })
}

/// The commands the one-off environment provides.
pub fn commands(one: &OneOff) -> Result<Vec<String>> {
    let env = crate::ops::run::environment(&one.opts, Target::Project)?;
    let mut names: Vec<String> = env
        .path
        .first()
        .and_then(|bin| fs::read_dir(bin).ok())
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}

/// The default registry of the global profile (what `aibox install <pack> --registry <url>` remembered).
fn global_default_registry(store: &crate::store::Store) -> Result<String> {
    let path = store.layout().global_project().join(MANIFEST);
    let hint = "pass `--registry <url>`, configure one with `aibox config set registries.default.url <url>`, or install something once with `aibox install <pack> --registry <url>` so aibox remembers it";
    let Ok(text) = fs::read_regular_string(&path, crate::ops::MAX_MANIFEST_BYTES) else {
        return crate::config::load()?
            .default_registry()
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::msg("no registry to run from: the global profile has none yet")
                    .with_hint(hint)
            });
    };
    let manifest = crate::manifest::parse_project(&text, &path)?;
    manifest
        .registries
        .get("default")
        .map(|r| r.url.clone())
        .ok_or_else(|| {
            Error::msg(format!("`{}` has no default registry", path.display())).with_hint(hint)
        })
}
