//! `aibox self update | rollback`: the aibox CLI is a pack of kind `cli` in the `self` profile.
//! An update locks the pack `aibox` at `=<version>` from the self registry (`AIBOX_SELF_REGISTRY` or the
//! configuration's `update.registry`) into the self profile's own manifest, installs it as a
//! new generation (verified like every pack, under the trust policy) and points the entry link
//! (`~/.local/bin/aibox`) at the profile's `current/bin/aibox`. Nothing in the store is ever
//! overwritten: the running binary may itself be a store object, and the previous generation
//! stays for `aibox self rollback`. A binary installed another way is first adopted: copied
//! into `self-adopted/` and installed as a generation, so the first rollback returns to it.

pub mod notice;

use std::path::{Path, PathBuf};

use semver::Version;

use crate::error::{Error, Result};
use crate::fs;
use crate::manifest::pack::PackKind;
use crate::manifest::request::Request;
use crate::store::Store;

use crate::engine::install::Installed;
use crate::engine::lock::{Upgrade, resolve_lock};
use crate::engine::project::ProjectState;
use crate::ops::edit::{Saved, write_edit};
use crate::ops::generations::Rollback;
use crate::ops::{MANIFEST, Options, Target};

pub use crate::engine::required::PACK;
/// The environment variable naming where updates come from (before the configuration).
pub const REGISTRY_ENV: &str = crate::env_vars::SELF_REGISTRY;
/// The registry alias, in the self profile's manifest, of adopted binaries.
const ADOPTED: &str = "adopted";

/// Where aibox updates come from: `AIBOX_SELF_REGISTRY`, else `update.registry`.
pub fn registry() -> Result<Option<String>> {
    if let Ok(url) = crate::env_vars::var(REGISTRY_ENV)
        && !url.is_empty()
    {
        return Ok(Some(crate::ops::edit::absolutize(&url)));
    }
    Ok(crate::config::load()?.update.registry)
}

fn registry_or_hint() -> Result<String> {
    registry()?.ok_or_else(|| {
        Error::msg("no registry to update aibox from")
            .with_hint("set one with `aibox config set update.registry oci://<host>/<path>` (or `AIBOX_SELF_REGISTRY`)")
    })
}

/// What the self registry offers against the running version.
#[derive(Debug)]
pub struct Check {
    pub running: Version,
    /// The version an update would install (the newest matching the request).
    pub chosen: Version,
    pub registry: String,
}

impl Check {
    /// Whether installing `chosen` is an update (newer than what runs).
    pub fn is_newer(&self) -> bool {
        self.chosen > self.running
    }
}

/// The self profile's manifest for `request` of `aibox` from `url` (under registry `alias`).
fn manifest_text(alias: &str, url: &str, request: &str) -> String {
    let s = |v: &str| toml::Value::String(v.to_owned()).to_string();
    format!(
        "# The aibox CLI's own environment, written by `aibox self update`.\n\n\
         [registries]\n{alias} = {}\n\n[packs]\n{PACK} = {{ version = {}, registry = {} }}\n",
        s(url),
        s(request),
        s(alias)
    )
}

/// The self profile's state with manifest `text` (its lock is not consulted: every self
/// resolution picks versions afresh).
fn self_state(root: &Path, text: &str) -> Result<ProjectState> {
    Ok(ProjectState {
        root: root.to_owned(),
        manifest: crate::manifest::parse_project(text, &root.join(MANIFEST))?,
        lock: None,
    })
}

/// The newest version at the self registry matching `request` (default: the newest stable).
pub fn check(opts: &Options, request: Option<&Request>) -> Result<Check> {
    let registry = registry_or_hint()?;
    let root = self_root(opts)?;
    let state = self_state(&root, &manifest_text("default", &registry, "*"))?;
    let sources = state.sources(opts);
    let source = sources.get(&registry)?;
    let versions = source.versions(PACK)?;
    let chosen = versions
        .iter()
        .filter(|v| request.map_or(v.pre.is_empty(), |r| r.matches(v)))
        .max()
        .cloned()
        .ok_or_else(|| {
            let wanted = request.map_or("a stable release".to_owned(), |r| format!("`{r}`"));
            let mut sorted = versions.clone();
            sorted.sort_by(|a, b| b.cmp(a));
            let listed: Vec<String> = sorted.iter().map(Version::to_string).collect();
            let e = Error::msg(format!("no aibox at `{registry}` matches {wanted}"));
            if listed.is_empty() {
                e.with_hint("aibox releases are published there with `scripts/release`")
            } else {
                e.with_hint(format!("available: {}", listed.join(", ")))
            }
        })?;
    let kind = source.manifest(PACK, &chosen)?.pack.kind;
    if kind != PackKind::Cli {
        return Err(Error::msg(format!(
            "`{PACK}` at `{registry}` is a {} pack, not the aibox CLI (kind `cli`)",
            kind.as_str()
        ))
        .with_hint("point `update.registry` at the registry aibox releases are published to"));
    }
    Ok(Check {
        running: crate::platform::version().clone(),
        chosen,
        registry,
    })
}

/// What `self update` did.
#[derive(Debug)]
pub struct SelfUpdated {
    pub from: Version,
    pub to: Version,
    pub installed: Installed,
    /// The version of the running binary that was adopted as a generation first.
    pub adopted: Option<Version>,
    pub link: LinkOutcome,
    /// Changelog entries after `from` up to `to`.
    pub changelog: Vec<(Version, String)>,
}

/// What `self update` found or did.
#[derive(Debug)]
pub enum Outcome {
    /// Nothing newer: `version` runs (and, with `link`, is what the self profile holds).
    UpToDate {
        version: Version,
        link: Option<LinkOutcome>,
    },
    Updated(Box<SelfUpdated>),
}

/// `aibox self update`: install the newest version (or the newest matching `request`). A
/// version older than the running one is installed only when `request` asks for it.
pub fn update(opts: &Options, request: Option<&Request>) -> Result<Outcome> {
    let check = check(opts, request)?;
    let store = opts.store()?;
    let profile = store.self_profile()?;
    let current = store.current(&profile)?;
    let current_pack = current.packs.iter().find(|p| p.name == PACK);
    if check.chosen < check.running && request.is_none() {
        return Err(Error::msg(format!(
            "the newest aibox at `{}` is {}, older than this aibox ({})",
            check.registry, check.chosen, check.running
        ))
        .with_hint(format!(
            "to go back to it anyway, run `aibox self update --version ={}`",
            check.chosen
        )));
    }
    if current_pack.is_some_and(|p| p.version == check.chosen.to_string()) {
        return Ok(Outcome::UpToDate {
            version: check.chosen,
            link: Some(ensure_link(&store)?),
        });
    }
    if current_pack.is_none() && check.chosen == check.running && request.is_none() {
        return Ok(Outcome::UpToDate {
            version: check.chosen,
            link: None,
        });
    }
    let root = self_root(opts)?;
    let adopted = if current_pack.is_none() && check.chosen != check.running {
        adopt(opts, &store, &root)?
    } else {
        None
    };
    let text = manifest_text("default", &check.registry, &format!("={}", check.chosen));
    let installed = apply(opts, &root, &text)?;
    let link = ensure_link(&store)?;
    let changelog = installed
        .generation
        .packs
        .iter()
        .find(|p| p.name == PACK)
        .and_then(|p| crate::ops::changelog::read(&store, &p.store))
        .map(|text| crate::ops::changelog::entries(&text, Some(&check.running), &check.chosen))
        .unwrap_or_default();
    crate::audit::record(
        store.layout(),
        "install",
        Some("self"),
        serde_json::json!({"packs": [format!("{PACK}@{}", check.chosen)], "from": check.running.to_string()}),
        store.reporter(),
    );
    Ok(Outcome::Updated(Box::new(SelfUpdated {
        from: check.running,
        to: check.chosen,
        installed,
        adopted,
        link,
        changelog,
    })))
}

/// Lock and install the self manifest `text`; on failure the self manifest and lock are put
/// back and the current generation stays.
fn apply(opts: &Options, root: &Path, text: &str) -> Result<Installed> {
    let state = self_state(root, text)?;
    let lock = resolve_lock(&state, &state.sources(opts), &Upgrade::All)?;
    let saved = Saved::take(root, opts.reporter);
    write_edit(root, text, &lock.render())?;
    saved.unless(crate::ops::edit::install_state(opts, Target::SelfCli, root))
}

/// Copy the running binary into `self-adopted/aibox/<version>/` and install it as a
/// generation of the self profile, so that `self rollback` can return to it. A binary that
/// cannot be adopted (a policy that refuses local packs, say) is reported, not fatal.
fn adopt(opts: &Options, store: &Store, root: &Path) -> Result<Option<Version>> {
    let version = crate::platform::version().clone();
    let exe = std::env::current_exe()
        .map_err(|e| Error::io("cannot find the running aibox executable", e))?;
    if exe.starts_with(store.layout().store()) {
        return Ok(None);
    }
    let dir = store.layout().self_adopted();
    let dest = dir.join(PACK).join(version.to_string());
    let staging = fs::temp_dir_in(&store.staging()?)
        .map_err(|e| Error::io("cannot create a staging directory", e))?;
    let pack = staging.path().join("pack");
    let text = format!(
        "[pack]\nname = \"{PACK}\"\nversion = \"{version}\"\nkind = \"cli\"\n\
         description = \"the aibox CLI, adopted from {}\"\nplatforms = [\"{}\"]\n\n[bin]\n{PACK} = \"bin/{PACK}\"\n",
        exe.display().to_string().replace(['"', '\\'], "_"),
        crate::platform::native()
    );
    let bin = pack.join("bin");
    fs::create_dir_all(&bin)
        .and_then(|_| fs::copy(&exe, bin.join(PACK)).map(|_| ()))
        .and_then(|_| {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(bin.join(PACK), std::fs::Permissions::from_mode(0o755))
        })
        .and_then(|_| fs::write_atomic(&pack.join("pack.toml"), text.as_bytes()))
        .map_err(|e| Error::io(format!("cannot copy `{}`", exe.display()), e))?;
    fs::create_dir_all(dest.parent().expect("has a parent"))
        .map_err(|e| Error::io(format!("cannot create `{}`", dest.display()), e))?;
    if fs::exists(&dest).unwrap_or(false) {
        store.discard_path(&dest)?;
    }
    fs::rename(&pack, &dest)
        .map_err(|e| Error::io(format!("cannot create `{}`", dest.display()), e))?;
    let url = format!("dir:{}", dir.display());
    let text = manifest_text(ADOPTED, &url, &format!("={version}"));
    match apply(opts, root, &text) {
        Ok(_) => Ok(Some(version)),
        Err(e) => {
            opts.reporter.warn(format!(
                "the running aibox ({}) was not kept for `aibox self rollback`: {}",
                exe.display(),
                e.render().lines().next().unwrap_or_default()
            ));
            Ok(None)
        }
    }
}

/// `aibox self rollback`: switch the self profile back to its previous generation.
pub fn rollback(opts: &Options) -> Result<Rollback> {
    let store = opts.store()?;
    let profile = store.self_profile()?;
    let current = store.current(&profile)?;
    if current.parent.is_none_or(|p| p == 0) {
        return Err(Error::msg("there is no earlier aibox to go back to")
            .with_hint("`aibox self update` keeps the replaced version for a rollback"));
    }
    let outcome = crate::ops::generations::rollback(opts, Target::SelfCli, None, true)?;
    ensure_link(&store)?;
    Ok(outcome)
}

/// The version of aibox the self profile's current generation holds.
pub fn current_version(store: &Store) -> Option<String> {
    let profile = store.self_profile().ok()?;
    let current = store.current(&profile).ok()?;
    current
        .packs
        .iter()
        .find(|p| p.name == PACK)
        .map(|p| p.version.clone())
}

fn self_root(opts: &Options) -> Result<PathBuf> {
    let store = Store::open_home(opts.home)?;
    let root = store.layout().self_project();
    fs::create_dir_all(&root)
        .map_err(|e| Error::io(format!("cannot create `{}`", root.display()), e))?;
    Ok(root)
}

/// What became of the entry link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkOutcome {
    /// Already pointed at the self profile.
    Unchanged(PathBuf),
    /// Created or re-pointed.
    Linked(PathBuf),
    /// Something else is there (a file aibox did not put there): left alone.
    Occupied(PathBuf),
}

/// Where the `aibox` entry link lives: `$AIBOX_BIN_DIR`, else `$XDG_BIN_HOME`, else
/// `~/.local/bin`.
pub fn entry_link() -> Result<PathBuf> {
    let dir = [crate::env_vars::BIN_DIR, "XDG_BIN_HOME"]
        .iter()
        .find_map(|v| crate::env_vars::var_os(v).filter(|d| !d.is_empty()))
        .map(PathBuf::from)
        .or_else(|| std::env::home_dir().map(|h| h.join(".local/bin")))
        .ok_or_else(|| {
            Error::msg("cannot tell where to put `aibox`: no home directory")
                .with_hint("set `AIBOX_BIN_DIR` to the directory `aibox` should be linked into")
        })?;
    Ok(dir.join(PACK))
}

/// The path the entry link points at: the self profile's `current/bin/aibox`.
pub fn link_target(store: &Store) -> PathBuf {
    store
        .layout()
        .profile("self")
        .join("current")
        .join("bin")
        .join(PACK)
}

/// Point the entry link at the self profile: create it, or replace a symlink or the running
/// binary (adopted above); a file that is neither is left alone.
fn ensure_link(store: &Store) -> Result<LinkOutcome> {
    let link = entry_link()?;
    let target = link_target(store);
    match fs::symlink_metadata(&link) {
        Ok(m) if m.file_type().is_symlink() => {
            if fs::read_link(&link).ok().as_deref() == Some(target.as_path()) {
                return Ok(LinkOutcome::Unchanged(link));
            }
        }
        Ok(_) => {
            let running = std::env::current_exe().and_then(fs::canonicalize).ok();
            if fs::canonicalize(&link).ok() != running {
                return Ok(LinkOutcome::Occupied(link));
            }
        }
        Err(_) => {}
    }
    let dir = link.parent().expect("has a parent");
    fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("cannot create `{}`", dir.display()), e))?;
    fs::replace_symlink(&target, &link)
        .map_err(|e| Error::io(format!("cannot link `{}`", link.display()), e))?;
    Ok(LinkOutcome::Linked(link))
}
