//! `init`, `add`, `remove` (a project's manifest) and `install`, `uninstall`, `list` (the
//! global profile's). An edit is resolved before anything is written: a request that cannot
//! be satisfied leaves `aibox.toml`, `aibox.lock` and the environment as they were.

use std::path::Path;

use crate::error::{Error, Result};
use crate::fs;
use crate::manifest::{Section, add_requirement, parse_project, remove_requirement};
use crate::resolver::PackSpec;

use crate::engine::install::Installed;
use crate::engine::lock::{Upgrade, resolve_lock};
use crate::engine::project::ProjectState;
use crate::ops::sync::{install, target_profile, target_root};
use crate::ops::{LOCKFILE, MANIFEST, Options, Target};

/// The text of a new manifest, with `registry` as the default registry if given.
pub fn manifest_template(registry: Option<&str>) -> String {
    manifest_template_with(registry, false)
}

/// The standard aqua registry, pinned to a release (`aibox init --aqua`).
pub const STANDARD_AQUA: &str = "aqua:github:aquaproj/aqua-registry@v4.554.0";

/// [`manifest_template`], with the standard aqua registry when `aqua` (the default registry
/// when no other is named, else beside it as `aqua`).
pub fn manifest_template_with(registry: Option<&str>, aqua: bool) -> String {
    let registries = match (registry, aqua) {
        (Some(url), true) => format!(
            "[registries]\ndefault = {}\naqua = {}\n",
            toml_string(url),
            toml_string(STANDARD_AQUA)
        ),
        (None, true) => format!(
            "[registries]\ndefault = {}   # the aqua registry's tools\n",
            toml_string(STANDARD_AQUA)
        ),
        (Some(url), false) => format!("[registries]\ndefault = {}\n", toml_string(url)),
        (None, false) => {
            "[registries]\n# default = \"oci://ghcr.io/acme/packs\"   # an OCI registry\n\
                 # default = \"oci-layout:./vendor/packs\"   # an OCI image layout directory\n\
                 # default = \"dir:./packs\"                 # a directory of pack sources\n"
                .to_owned()
        }
    };
    format!(
        "# What this project needs. `aibox add <pack>` adds a pack, `aibox sync` installs them.\n\
         requires-aibox = \">={}\"\n\n{registries}\n[packs]\n",
        crate::engine::lock::aibox_version()
    )
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// `aibox init`: write `aibox.toml` in `dir` (created if missing, as `cargo init` does).
pub fn init(opts: &Options, dir: &Path, registry: Option<&str>, aqua: bool) -> Result<()> {
    let path = dir.join(MANIFEST);
    if fs::exists(&path).unwrap_or(false) {
        return Err(Error::msg(format!("`{}` already exists", path.display()))
            .with_hint("edit it, or use `aibox add <pack>` to add packs"));
    }
    // Without `--registry`: the user configuration's `registries.default`, if any.
    let config = crate::config::load()?;
    let registry = registry.or(config.default_registry());
    // The registry is checked as `aibox.toml` will be read, before anything is written.
    let text = manifest_template_with(registry, aqua);
    let problem = match parse_project(&text, &path) {
        Err(e) => Some(e.message),
        Ok(_) => registry
            .filter(|r| r.starts_with("oci://"))
            .and_then(|r| crate::registry::transfer::url::RegistryUrl::parse(r).err())
            .map(|e| e.to_string()),
    };
    if let Some(problem) = problem {
        return Err(Error::msg(format!(
            "`--registry {}` cannot be used: {problem}",
            registry.unwrap_or_default(),
        ))
        .with_hint(
            "use `dir:<path>` (pack source directories), `oci-layout:<path>` (an OCI image layout) or `oci://host/base` (a registry)",
        ));
    }
    match fs::metadata(dir) {
        Ok(m) if !m.is_dir() => {
            return Err(Error::msg(format!(
                "`{}` exists and is not a directory",
                dir.display()
            )));
        }
        // A repository's own `.aibox` (committed with it) is never adopted.
        Ok(_) => {
            let root = fs::canonicalize(dir)
                .map_err(|e| Error::io(format!("cannot resolve `{}`", dir.display()), e))?;
            crate::store::state_dir::check_state_dir(&root)?;
        }
        Err(_) => {
            fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("cannot create `{}`", dir.display()), e))?;
            opts.reporter
                .status("Created", format!("directory `{}`", dir.display()));
        }
    }
    fs::write_atomic(&path, text.as_bytes())
        .map_err(|e| Error::io(format!("cannot write `{}`", path.display()), e))?;
    opts.reporter
        .status("Created", format!("`{}`", path.display()));
    merge_friendly_lock(dir, opts.reporter)?;
    ignore_state_dir(dir, opts.reporter)?;
    Ok(())
}

/// The `.gitignore` line that keeps a project's local state out of its repository.
pub const STATE_DIR_IGNORE: &str = ".aibox/";

/// Add [`STATE_DIR_IGNORE`] to `dir/.gitignore` unless a line there ignores `.aibox` already.
fn ignore_state_dir(dir: &Path, reporter: crate::printer::Reporter) -> Result<()> {
    let path = dir.join(".gitignore");
    let text = match fs::read_regular_string(&path, crate::ops::MAX_MANIFEST_BYTES) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io(format!("cannot read `{}`", path.display()), e)),
    };
    if text
        .lines()
        .any(|l| matches!(l.trim(), ".aibox" | ".aibox/" | "/.aibox" | "/.aibox/"))
    {
        return Ok(());
    }
    let mut new = text;
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str("# aibox: this project's local state (links into your store), never committed\n");
    new.push_str(STATE_DIR_IGNORE);
    new.push('\n');
    fs::write_atomic(&path, new.as_bytes())
        .map_err(|e| Error::io(format!("cannot write `{}`", path.display()), e))?;
    reporter.status(
        "Updated",
        format!("`{}` (ignores `.aibox/`)", path.display()),
    );
    Ok(())
}

/// The `.gitattributes` line that has git merge `aibox.lock` with aibox's merge driver (the
/// merged lock is then checked for freshness like any other: store-format/LOCKFILE.md).
pub const LOCK_MERGE_ATTRIBUTE: &str = "aibox.lock merge=aibox";
/// The merge driver git runs for it (`git config merge.aibox.driver …`).
pub const LOCK_MERGE_DRIVER: &str = "aibox lock merge %O %A %B";

/// Register aibox's merge driver in the git repository holding `dir`, if there is one.
fn register_merge_driver(dir: &Path, reporter: crate::printer::Reporter) {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !git(&["rev-parse", "--git-dir"]) {
        reporter.verbose("not in a git repository: no merge driver registered");
        return;
    }
    if git(&["config", "merge.aibox.name", "aibox lock merge"])
        && git(&["config", "merge.aibox.driver", LOCK_MERGE_DRIVER])
    {
        reporter.status(
            "Registered",
            format!("git's merge driver for `aibox.lock` (`{LOCK_MERGE_DRIVER}`)"),
        );
    } else {
        reporter.warn(format!(
            "cannot register git's merge driver; run `git config merge.aibox.driver \"{LOCK_MERGE_DRIVER}\"`"
        ));
    }
}

/// Add [`LOCK_MERGE_ATTRIBUTE`] to `dir/.gitattributes` unless it is there (an older
/// `merge=union` line is replaced: union merges break TOML tables), and register the driver.
fn merge_friendly_lock(dir: &Path, reporter: crate::printer::Reporter) -> Result<()> {
    register_merge_driver(dir, reporter);
    let path = dir.join(".gitattributes");
    let text = match fs::read_regular_string(&path, crate::ops::MAX_MANIFEST_BYTES) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io(format!("cannot read `{}`", path.display()), e)),
    };
    let lock_line = |l: &str| l.split_whitespace().next() == Some("aibox.lock");
    if text.lines().any(|l| l.trim() == LOCK_MERGE_ATTRIBUTE) {
        return Ok(());
    }
    let mut new: String = text
        .lines()
        .filter(|l| !(lock_line(l) && l.contains("merge=union")))
        .filter(|l| !l.starts_with("# aibox: merge two branches' lock tables"))
        .map(|l| format!("{l}\n"))
        .collect();
    if text
        .lines()
        .any(|l| lock_line(l) && !l.contains("merge=union"))
    {
        // The user set their own attributes for the lock: leave them.
        return Ok(());
    }
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str("# aibox: merge two branches' locks package by package (`aibox lock merge`)\n");
    new.push_str(LOCK_MERGE_ATTRIBUTE);
    new.push('\n');
    fs::write_atomic(&path, new.as_bytes())
        .map_err(|e| Error::io(format!("cannot write `{}`", path.display()), e))?;
    reporter.status(
        "Updated",
        format!("`{}` (merge-friendly lock)", path.display()),
    );
    Ok(())
}

/// How to add.
#[derive(Debug, Clone)]
pub struct AddOptions {
    /// The table the requests go to.
    pub section: Section,
    /// Built-in agents to add to the manifest's `agents` list.
    pub agents: Vec<String>,
    pub no_sync: bool,
    /// The registry the requests come from (a key of `[registries]`, or the URL of one); none:
    /// the manifest's default.
    pub registry: Option<String>,
}

impl AddOptions {
    /// Add to `section`, syncing after.
    pub fn to(section: Section) -> AddOptions {
        AddOptions {
            section,
            agents: Vec::new(),
            no_sync: false,
            registry: None,
        }
    }
}

/// What an edit did.
#[derive(Debug)]
pub struct EditOutcome {
    /// `name@version` of each added pack as locked.
    pub changed: Vec<String>,
    pub installed: Option<Installed>,
}

/// `aibox add` (project) / `aibox install` (global): add requests, resolve, then write the
/// manifest and lock and sync.
pub fn add(
    opts: &Options,
    target: Target,
    specs: &[String],
    how: &AddOptions,
) -> Result<EditOutcome> {
    let root = target_root(opts, target)?;
    let manifest_path = root.join(MANIFEST);
    let original = read_manifest(&manifest_path)?;
    let section = how.section;
    let parsed: Vec<PackSpec> = specs
        .iter()
        .map(|s| PackSpec::parse(s))
        .collect::<Result<_, _>>()?;
    let mut text = original.clone();
    if !how.agents.is_empty() {
        text = crate::manifest::add_agents(&text, &how.agents)?;
    }
    let registry = match &how.registry {
        Some(r) => Some(registry_key(&manifest_path, &text, r)?),
        None => None,
    };
    text = add_requests(
        &text,
        section,
        &parsed,
        registry.as_ref().map(Option::as_deref),
    )?;
    let state = state_with(&root, &text)?;
    let upgrade = upgrade_named(&state, &parsed);
    let lock = resolve_lock(&state, &state.sources(opts), &upgrade)?;
    // A bare name is written as `^<locked version>`, like `cargo add`.
    for spec in parsed.iter().filter(|s| s.request.is_any()) {
        if let Some(p) = lock.package(&spec.name) {
            text = add_requirement(&text, section, &spec.name, &format!("^{}", p.version))?;
        }
    }
    let changed = parsed
        .iter()
        .filter_map(|s| lock.package(&s.name))
        .map(|p| format!("{}@{}", p.name, p.version))
        .collect();
    let saved = Saved::take(&root, opts.reporter);
    write_edit(&root, &text, &lock.render())?;
    for spec in &parsed {
        opts.reporter
            .status("Added", format!("`{}` to [{}]", spec.name, section.key()));
    }
    let installed = if how.no_sync {
        None
    } else {
        Some(saved.unless(install_state(opts, target, &root))?)
    };
    Ok(EditOutcome { changed, installed })
}

/// `aibox remove` / `aibox uninstall`: drop requests, re-resolve, write, sync.
pub fn remove(
    opts: &Options,
    target: Target,
    names: &[String],
    no_sync: bool,
) -> Result<EditOutcome> {
    let root = target_root(opts, target)?;
    let manifest_path = root.join(MANIFEST);
    let mut text = read_manifest(&manifest_path)?;
    for name in names {
        text = match remove_requirement(&text, name) {
            Some(t) => t,
            None => {
                let manifest = parse_project(&text, &manifest_path)?;
                let known = manifest
                    .packs
                    .keys()
                    .chain(manifest.plugins.keys())
                    .chain(manifest.skills.keys());
                let mut err = Error::msg(format!(
                    "`{name}` is not in [packs], [plugins] or [skills] of `{}`",
                    manifest_path.display()
                ));
                if let Some(s) = crate::manifest::did_you_mean(name, known.map(String::as_str)) {
                    err = err.with_hint(format!("did you mean `{s}`?"));
                }
                return Err(err);
            }
        };
    }
    let state = state_with(&root, &text)?;
    let lock = resolve_lock(&state, &state.sources(opts), &Upgrade::None)?;
    let saved = Saved::take(&root, opts.reporter);
    write_edit(&root, &text, &lock.render())?;
    for name in names {
        opts.reporter.status("Removed", format!("`{name}`"));
    }
    let installed = if no_sync {
        None
    } else {
        Some(saved.unless(install_state(opts, target, &root))?)
    };
    Ok(EditOutcome {
        changed: names.to_vec(),
        installed,
    })
}

/// Put `text` in place of the target's `aibox.toml`, re-lock (upgrading `upgrade`) and sync;
/// when anything fails, both files are restored.
pub fn apply_manifest(
    opts: &Options,
    target: Target,
    text: &str,
    upgrade: &Upgrade,
) -> Result<Installed> {
    let root = target_root(opts, target)?;
    let state = state_with(&root, text)?;
    let lock = resolve_lock(&state, &state.sources(opts), upgrade)?;
    let saved = Saved::take(&root, opts.reporter);
    write_edit(&root, text, &lock.render())?;
    saved.unless(install_state(opts, target, &root))
}

/// `aibox install`: like `add`, on the global profile, creating its manifest on first use.
pub fn install_global(
    opts: &Options,
    specs: &[String],
    registry: Option<&str>,
    how: &AddOptions,
) -> Result<EditOutcome> {
    let store = opts.store()?;
    let root = store.layout().global_project();
    let path = root.join(MANIFEST);
    let absolute = registry.map(absolutize);
    if !fs::exists(&path).unwrap_or(false) {
        let config = crate::config::load()?;
        let url = absolute
            .as_deref()
            .or(config.default_registry())
            .ok_or_else(|| {
                Error::msg("the global profile has no registry yet")
                    .with_hint("pass `--registry <url>` the first time, e.g. `aibox install hello --registry oci://ghcr.io/acme/packs`, or configure one for every first time: `aibox config set registries.default.url <url>`")
            })?;
        fs::create_dir_all(&root)
            .map_err(|e| Error::io(format!("cannot create `{}`", root.display()), e))?;
        fs::write_atomic(&path, manifest_template(Some(url)).as_bytes())
            .map_err(|e| Error::io(format!("cannot write `{}`", path.display()), e))?;
    } else if let Some(url) = &absolute {
        let text = read_manifest(&path)?;
        let mut doc: toml_edit::DocumentMut = text
            .parse()
            .map_err(|e| Error::with_source(format!("cannot edit `{}`", path.display()), e))?;
        doc["registries"]["default"] = toml_edit::value(url.as_str());
        fs::write_atomic(&path, doc.to_string().as_bytes())
            .map_err(|e| Error::io(format!("cannot write `{}`", path.display()), e))?;
    }
    let outcome = add(opts, Target::Global, specs, how)?;
    crate::audit::record(
        store.layout(),
        "install",
        Some("global"),
        serde_json::json!({"packs": outcome.changed}),
        store.reporter(),
    );
    Ok(outcome)
}

/// `dir:` and `oci-layout:` URLs with relative paths, made absolute against the current
/// directory (the global manifest lives elsewhere).
pub(super) fn absolutize(url: &str) -> String {
    for scheme in ["dir:", "oci-layout:"] {
        if let Some(path) = url.strip_prefix(scheme)
            && Path::new(path).is_relative()
            && let Ok(cwd) = std::env::current_dir()
        {
            return format!("{scheme}{}", cwd.join(path).display());
        }
    }
    url.to_owned()
}

pub(crate) fn read_manifest(path: &Path) -> Result<String> {
    fs::read_regular_string(path, crate::ops::MAX_MANIFEST_BYTES).map_err(|e| {
        Error::io(format!("cannot read `{}`", path.display()), e)
            .with_hint("run `aibox init` to create a manifest")
    })
}

/// The project state with manifest text `text` in place of the file's (lock from disk).
pub(super) fn state_with(root: &Path, text: &str) -> Result<ProjectState> {
    let mut state = ProjectState::read(root)?;
    state.manifest = parse_project(text, &root.join(MANIFEST))?;
    Ok(state)
}

pub(super) fn write_edit(root: &Path, manifest: &str, lock: &str) -> Result<()> {
    for (name, text) in [(MANIFEST, manifest), (LOCKFILE, lock)] {
        let path = root.join(name);
        if fs::read_to_string(&path).ok().as_deref() != Some(text) {
            fs::write_atomic(&path, text.as_bytes())
                .map_err(|e| Error::io(format!("cannot write `{}`", path.display()), e))?;
        }
    }
    Ok(())
}

/// `aibox.toml` and `aibox.lock` as they were before an edit, so that an edit whose sync fails
/// leaves nothing half-done.
pub(super) struct Saved {
    root: std::path::PathBuf,
    reporter: crate::printer::Reporter,
    manifest: Option<Vec<u8>>,
    lock: Option<Vec<u8>>,
}

impl Saved {
    pub(super) fn take(root: &Path, reporter: crate::printer::Reporter) -> Saved {
        let read = |name: &str| fs::read(root.join(name)).ok();
        Saved {
            root: root.to_owned(),
            reporter,
            manifest: read(MANIFEST),
            lock: read(LOCKFILE),
        }
    }

    /// `result`, after restoring both files if it is an error.
    pub(super) fn unless<T>(self, result: Result<T>) -> Result<T> {
        let Err(e) = result else {
            return result;
        };
        for (name, bytes) in [(MANIFEST, &self.manifest), (LOCKFILE, &self.lock)] {
            let path = self.root.join(name);
            let restored = match bytes {
                Some(b) => fs::write_atomic(&path, b),
                None => fs::remove_file(&path).or_else(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => Ok(()),
                    _ => Err(e),
                }),
            };
            if let Err(err) = restored {
                self.reporter
                    .warn(format!("cannot restore `{}`: {err}", path.display()));
            }
        }
        self.reporter.status(
            "Restored",
            format!("`{MANIFEST}` and `{LOCKFILE}` as they were: nothing was changed"),
        );
        Err(e)
    }
}

pub(super) fn install_state(opts: &Options, target: Target, root: &Path) -> Result<Installed> {
    let state = ProjectState::read(root)?;
    let (bytes, lock) = state.lock.clone().expect("the lock was just written");
    let store = opts.store()?;
    let profile = target_profile(&store, target, root)?;
    // A yanked version the lock keeps, or a deprecated one, is installed with a warning.
    crate::engine::lifecycle::warn_lock(&state.sources(opts), &lock);
    let installed = install(&store, &profile, &state, opts, &lock, &bytes)?;
    if target == Target::Project {
        crate::store::state_dir::mark_synced(root);
    }
    Ok(installed)
}

/// `text` with each of `specs` requested under `section` (a bare name as `*` until it is
/// locked).
pub(crate) fn add_requests(
    text: &str,
    section: Section,
    specs: &[PackSpec],
    registry: Option<Option<&str>>,
) -> Result<String> {
    let mut text = text.to_owned();
    for spec in specs {
        let request = if spec.request.is_any() {
            "*"
        } else {
            spec.request.as_str()
        };
        text = add_requirement(&text, section, &spec.name, request)?;
        if let Some(registry) = registry {
            text = crate::manifest::set_requirement_registry(&text, section, &spec.name, registry)?;
        }
    }
    Ok(text)
}

/// The key in the manifest `text` (at `path`) of the registry `given` names (a key of
/// `[registries]`, or the URL of one) for a request to name; `None` when it is the default
/// registry, which a request without `registry` comes from.
pub(crate) fn registry_key(path: &Path, text: &str, given: &str) -> Result<Option<String>> {
    let manifest = parse_project(text, path)?;
    let key = if manifest.registries.contains_key(given) {
        Some(given.to_owned())
    } else {
        manifest
            .registries
            .iter()
            .find(|(_, r)| r.url == given || r.url == absolutize(given))
            .map(|(k, _)| k.clone())
    };
    if let Some(key) = key {
        let default = manifest.default_registry().map(|(k, _)| k.to_owned());
        return Ok((default.as_deref() != Some(key.as_str())).then_some(key));
    }
    let known: Vec<String> = manifest
        .registries
        .iter()
        .map(|(k, r)| format!("`{k}` ({})", r.url))
        .collect();
    Err(Error::msg(format!(
        "`{}` has no registry `{given}`",
        path.display()
    ))
    .with_hint(if known.is_empty() {
        "add one under `[registries]` in `aibox.toml` first".to_owned()
    } else {
        format!(
            "its registries: {}; name one of them, or add `{given}` under `[registries]` first",
            known.join(", ")
        )
    }))
}

/// What `add` relocks: the named packs the lock already has (moved to what they now ask for);
/// everything else keeps its pin.
pub(crate) fn upgrade_named(state: &ProjectState, named: &[PackSpec]) -> Upgrade {
    Upgrade::Packages(
        named
            .iter()
            .filter(|s| {
                state
                    .lock
                    .as_ref()
                    .is_some_and(|(_, l)| l.package(&s.name).is_some())
            })
            .map(|s| s.name.clone())
            .collect(),
    )
}
