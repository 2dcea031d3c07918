//! Plugins: finding `aibox-plugin-<name>` (the project's current generation, then the global
//! profile, then `PATH`), and running one — sandboxed, with the aibox environment variables,
//! replacing this process so arguments, streams, exit codes and signals pass through.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fs;
use crate::manifest::pack::{PackKind, PackManifest};
use crate::sandbox::{Context, Enforcement, Sandbox};
use crate::store::generations::{GenerationPack, GenerationRecord};
use crate::store::layout::Layout;
use crate::store::profiles::project_link;

use crate::engine::context::{Options, find_project};
use crate::engine::run_log;

/// The prefix of every plugin executable.
pub const PREFIX: &str = "aibox-plugin-";

/// Where a plugin was found, in lookup order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Project,
    Global,
    Path,
}

impl Origin {
    pub fn describe(self) -> &'static str {
        match self {
            Origin::Project => "the project",
            Origin::Global => "your global profile",
            Origin::Path => "PATH",
        }
    }
}

/// One plugin executable found.
#[derive(Debug, Clone)]
pub struct Found {
    pub name: String,
    pub origin: Origin,
    pub path: PathBuf,
    /// The generation (and its pack) it belongs to; `None` on PATH.
    pub generation: Option<u64>,
    pub pack: Option<GenerationPack>,
    pub manifest: Option<PackManifest>,
}

impl Found {
    pub fn description(&self) -> Option<&str> {
        self.manifest.as_ref()?.pack.description.as_deref()
    }
}

/// The current generation directories to look in, in lookup order.
fn generation_dirs(opts: &Options, layout: &Layout) -> Vec<(Origin, PathBuf)> {
    let mut dirs = Vec::new();
    if let Ok(project) = find_project(opts) {
        dirs.push((Origin::Project, project_link(&project.root)));
    }
    dirs.push((Origin::Global, layout.profile("global").join("current")));
    dirs
}

fn read_record(dir: &Path) -> Option<GenerationRecord> {
    let text = fs::read_regular_string(&dir.join("generation.toml"), 4 << 20).ok()?;
    toml::from_str(&text).ok()
}

/// Every plugin executable named `aibox-plugin-<name>` (all names when `name` is `None`), in
/// lookup order: for each name the first is the one `aibox <name>` runs.
pub fn find(opts: &Options, name: Option<&str>) -> Vec<Found> {
    let Some(layout) = opts.home.layout() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (origin, dir) in generation_dirs(opts, layout) {
        let Some(record) = read_record(&dir) else {
            continue;
        };
        for pack in record.packs.iter().filter(|p| p.kind == PackKind::Plugin) {
            if name.is_some_and(|n| n != pack.name) {
                continue;
            }
            let path = dir.join("plugins").join(format!("{PREFIX}{}", pack.name));
            if !fs::exists(&path).unwrap_or(false) {
                continue;
            }
            let manifest = stored_manifest(layout, &pack.store);
            found.push(Found {
                name: pack.name.clone(),
                origin,
                path,
                generation: Some(record.id),
                pack: Some(pack.clone()),
                manifest,
            });
        }
    }
    for dir in std::env::split_paths(&crate::env_vars::var_os("PATH").unwrap_or_default()) {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<(String, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let file = e.file_name().into_string().ok()?;
                let plugin = file.strip_prefix(PREFIX)?.to_owned();
                crate::manifest::validate_pack_name(&plugin).ok()?;
                Some((plugin, e.path()))
            })
            .filter(|(n, p)| name.is_none_or(|want| want == n) && is_executable(p))
            .collect();
        names.sort();
        for (plugin, path) in names {
            found.push(Found {
                name: plugin,
                origin: Origin::Path,
                path,
                generation: None,
                pack: None,
                manifest: None,
            });
        }
    }
    found
}

/// The `pack.toml` of the pack tree `store_dir` in the store (`None`: unreadable).
pub fn stored_manifest(layout: &Layout, store_dir: &str) -> Option<PackManifest> {
    let path = layout.pack(store_dir).join("pack.toml");
    let text = fs::read_regular_string(&path, crate::manifest::pack::MAX_PACK_TOML_BYTES).ok()?;
    crate::manifest::parse_pack(&text, &path).ok()
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The data directory of plugin `name` (created 0700 on first use).
pub fn data_dir(layout: &Layout, name: &str) -> Result<PathBuf> {
    let dir = layout.plugin_data(name);
    fs::create_dir_all(&dir)
        .and_then(|()| {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        })
        .map_err(|e| Error::io(format!("cannot create `{}`", dir.display()), e))?;
    Ok(dir)
}

/// The sandbox a plugin runs in: its `[permissions]`, or (none declared) the project
/// read-only; always its own data directory writable and the store and profiles readable.
pub fn plugin_sandbox(
    layout: &Layout,
    manifest: Option<&PackManifest>,
    project: Option<&Path>,
    plugin_dir: &Path,
) -> Sandbox {
    let ctx = Context {
        project: project.map(Path::to_path_buf),
        home: crate::env_vars::var_os("HOME").map(PathBuf::from),
        cache: Some(layout.cache()),
        plugin_dir: Some(plugin_dir.to_path_buf()),
    };
    let mut sandbox = match manifest.and_then(|m| m.permissions.as_ref()) {
        Some(p) => Sandbox::from_permissions(p, &ctx),
        None => {
            let mut s = Sandbox::new();
            if let Some(p) = project {
                s.allow_read(p);
            }
            s
        }
    };
    sandbox
        .allow_write(plugin_dir)
        .allow_read(layout.store())
        .allow_read(layout.profiles());
    sandbox
}

/// The error for a sandbox that cannot be made for `what`, with the sandbox's own hints.
pub fn sandbox_error(what: &str, e: crate::sandbox::SandboxError) -> Error {
    use crate::error::Hint;
    let hints = e.hints();
    hints.into_iter().fold(
        Error::with_source(format!("cannot run {what}"), e),
        Error::with_hint,
    )
}

/// Refuse to go on with a sandbox the kernel cannot fully enforce under the enterprise policy;
/// otherwise warn once about what is not enforced.
pub fn check_enforcement(
    enforcement: Enforcement,
    what: &str,
    layout: &Layout,
    reporter: crate::printer::Reporter,
) -> Result<()> {
    // A configuration that cannot be read stops pack code from running: what it would have
    // said about the policy is unknown, so nothing is decided by a default.
    let config = crate::config::load().map_err(|e| {
        Error::from(e).with_hint(format!(
            "{what} was not run: fix the configuration (`aibox config path` shows where it is)"
        ))
    })?;
    if enforcement == Enforcement::Full {
        return Ok(());
    }
    let kernel = crate::sandbox::support();
    let mut support = kernel.describe();
    if !kernel.seccomp {
        support = format!("{support}; {}", kernel.describe_seccomp());
    }
    let enterprise = config
        .trust
        .policy
        .is_some_and(|l| l == crate::trust::Level::Enterprise);
    if enterprise {
        run_log::deny(
            Some(layout),
            "sandbox",
            None,
            serde_json::json!({"action": "run", "what": what, "enforcement": enforcement, "support": support}),
            reporter,
        );
        return Err(Error::msg(format!(
            "refusing to run {what}: the sandbox cannot be fully enforced here ({support})"
        ))
        .with_hint("the enterprise policy runs pack code only fully sandboxed: use Linux 6.12 or newer with Landlock enabled (`lsm=…,landlock` on the kernel command line); `aibox doctor` shows the support"));
    }
    reporter.warn(format!("{what} runs only partly sandboxed: {support}"));
    Ok(())
}

/// `aibox <name> [args…]`: run the plugin, replacing this process. Returns only on failure.
/// `commands` are the built-in commands (for "did you mean" when there is no such plugin).
pub fn run(opts: &Options, name: &str, args: &[OsString], commands: &[String]) -> Result<()> {
    if crate::manifest::validate_pack_name(name).is_err() {
        return Err(unknown(name, commands));
    }
    let all = find(opts, Some(name));
    let Some(chosen) = all.first() else {
        return Err(unknown(name, commands));
    };
    if let Some(shadowed) = all.get(1) {
        opts.reporter.warn(format!(
            "`{PREFIX}{name}` from {} shadows the one from {} (`{}`)",
            chosen.origin.describe(),
            shadowed.origin.describe(),
            shadowed.path.display()
        ));
    }
    let store = opts.store()?;
    let layout = store.layout();
    if crate::engine::disabled::is_disabled(layout, name) {
        return Err(crate::engine::disabled::refused(name));
    }
    let project = find_project(opts).ok().map(|p| p.root);
    let profile = Some(run_log::profile_of(project.as_deref()));
    if let Err(e) = check_run_trust(chosen, &store, project.as_deref(), opts.reporter) {
        let detail = serde_json::json!({
            "action": "run", "pack": name, "path": chosen.path.display().to_string(),
            "origin": chosen.origin.describe(), "reason": e.to_string(),
        });
        run_log::deny(
            Some(layout),
            "trust",
            profile.as_deref(),
            detail,
            opts.reporter,
        );
        return Err(e);
    }
    let plugin_dir = data_dir(layout, name)?;
    crate::engine::rego::check(
        &crate::engine::rego::Subject::of_found(chosen, "run"),
        Some(layout),
    )?;
    let mut sandbox = plugin_sandbox(
        layout,
        chosen.manifest.as_ref(),
        project.as_deref(),
        &plugin_dir,
    );
    // A plugin found on PATH may live anywhere: its own executable and the directory it is in
    // are readable (and executable), nothing else of its surroundings.
    if chosen.origin == Origin::Path
        && let Ok(exe) = fs::canonicalize(&chosen.path)
        && let Some(dir) = exe.parent()
    {
        sandbox.allow_read(dir);
    }
    let mut cmd = std::process::Command::new(&chosen.path);
    cmd.arg0(format!("{PREFIX}{name}")).args(args);
    let mut vars = plugin_env(layout, project.as_deref(), &plugin_dir)?;
    vars.insert(
        crate::env_vars::GENERATION.into(),
        chosen
            .generation
            .map(|g| g.to_string())
            .unwrap_or_default()
            .into(),
    );
    let enforcement = sandbox
        .apply(&mut cmd, &vars)
        .map_err(|e| sandbox_error(&format!("the plugin `{name}`"), e))?;
    check_enforcement(
        enforcement,
        &format!("the plugin `{name}`"),
        layout,
        opts.reporter,
    )?;
    let version = chosen.pack.as_ref().map(|p| p.version.as_str());
    run_log::RunRecord::new("plugin", name, version, &cmd, &sandbox, enforcement)
        .with("origin", chosen.origin.describe().into())
        .with(
            "signer",
            chosen.pack.as_ref().and_then(|p| p.signer.clone()).into(),
        )
        .with("permissions", declared(chosen.manifest.as_ref()))
        .for_profile(profile)
        .write(layout, None, opts.reporter);
    let cpu = chosen
        .manifest
        .as_ref()
        .and_then(|m| m.permissions.as_ref())
        .and_then(|p| p.limits.cpu_seconds);
    let err = match crate::engine::limited::run(cmd, cpu, &format!("the plugin `{name}`")) {
        Ok(stopped) => return Err(stopped),
        Err(err) => err,
    };
    let denied = err.kind() == std::io::ErrorKind::PermissionDenied;
    let e = Error::io(format!("cannot run `{}`", chosen.path.display()), err);
    Err(if denied {
        e.with_hint(format!(
            "the sandbox lets the plugin read and execute only its own files, the system's and those its permissions name: executing `{}` (read and execute permission) was refused; check that the file and every directory above it are readable and executable by you",
            chosen.path.display()
        ))
    } else {
        e
    })
}

/// The trust policy applied when a plugin starts, not only when it was installed: under the
/// enterprise policy a plugin found on PATH (never installed, so never verified) is refused,
/// an installed one must still be signed by a key the policy trusts now (its kept signatures,
/// no network), and its tree in the store must still be the one locked (hashed again whenever
/// a file of it changed since the last start). Refusals exit with the policy code.
pub fn check_run_trust(
    found: &Found,
    store: &crate::store::Store,
    project: Option<&Path>,
    reporter: crate::printer::Reporter,
) -> Result<()> {
    let state = match (found.origin, project) {
        (Origin::Project, Some(root)) => Some(crate::engine::project::ProjectState::read(root)?),
        _ => None,
    };
    let policy = crate::engine::verdicts::policy(state.as_ref(), reporter)?;
    if policy.level != crate::trust::Level::Enterprise {
        return Ok(());
    }
    let refuse = |why: String, hint: &str| {
        Err(Error::msg(format!(
            "refusing to run the plugin `{}` ({}): {why}",
            found.name,
            found.path.display()
        ))
        .with_hint(hint.to_owned())
        .with_exit_code(crate::error::exit::POLICY))
    };
    let Some(pack) = &found.pack else {
        return refuse(
            "it was found on PATH, so no signature was ever verified for it".into(),
            "the enterprise policy runs only installed plugins: install it signed with `aibox plugin install`, or remove it from PATH",
        );
    };
    let version = pack.version.clone();
    let source = pack.source.clone().unwrap_or_default();
    let subject = crate::trust::policy::Subject {
        name: &pack.name,
        version: &version,
        source: &source,
        digest: pack.digest.as_deref(),
        locked_signer: pack.signer.as_deref(),
        retiring: None,
    };
    let kept = match pack.digest.as_deref() {
        Some(d) => store.signatures(d)?.unwrap_or_default(),
        None => Vec::new(),
    };
    if let Err(e) = policy.judge(subject, &kept) {
        return Err(Error::from(e).with_hint(format!(
            "the plugin `{}` was not run; `aibox sync` judges the environment again",
            found.name
        )));
    }
    if let Err(reason) = store.check_tree_before_run(&pack.store, &pack.tree)? {
        return refuse(
            format!("its files in the store are not the tree it was locked as: {reason}"),
            "run `aibox store verify --repair`, then `aibox sync` to fetch it again",
        );
    }
    Ok(())
}

/// The variables every plugin gets (without `AIBOX_GENERATION`).
pub fn plugin_env(
    layout: &Layout,
    project: Option<&Path>,
    plugin_dir: &Path,
) -> Result<BTreeMap<String, OsString>> {
    let tmp = plugin_dir.join("tmp");
    fs::create_dir_all(&tmp)
        .map_err(|e| Error::io(format!("cannot create `{}`", tmp.display()), e))?;
    let workspace = match project {
        Some(p) => p.to_path_buf(),
        None => std::env::current_dir()
            .map_err(|e| Error::io("cannot read the current directory", e))?,
    };
    let mut path = Vec::new();
    if let Some(p) = project {
        path.push(project_link(p).join("bin"));
    }
    path.push(layout.profile("global").join("current/bin"));
    path.extend(std::env::split_paths(
        &crate::env_vars::var_os("PATH").unwrap_or_default(),
    ));
    let mut vars: BTreeMap<String, OsString> = BTreeMap::new();
    vars.insert(
        "PATH".into(),
        std::env::join_paths(path).map_err(|e| Error::with_source("cannot build PATH", e))?,
    );
    vars.insert(crate::env_vars::WORKSPACE.into(), workspace.into());
    vars.insert(
        crate::env_vars::CONFIG.into(),
        crate::config::path().unwrap_or_default().into(),
    );
    vars.insert(
        crate::env_vars::VERSION.into(),
        crate::platform::version_text().into(),
    );
    vars.insert(crate::env_vars::PLUGIN_DIR.into(), plugin_dir.into());
    vars.insert("TMPDIR".into(), tmp.into());
    Ok(vars)
}

/// A pack's declared `[permissions]` as recorded in the audit log (`null`: none).
fn declared(manifest: Option<&PackManifest>) -> serde_json::Value {
    manifest
        .and_then(|m| m.permissions.as_ref())
        .and_then(|p| serde_json::to_value(p).ok())
        .unwrap_or_default()
}

/// The error for `aibox <name>` when no such command or plugin exists.
fn unknown(name: &str, commands: &[String]) -> Error {
    let mut e = Error::msg(format!("no such command or plugin: `{name}`"));
    if let Some(s) = crate::manifest::did_you_mean(name, commands.iter().map(String::as_str)) {
        e = e.with_hint(format!("did you mean `aibox {s}`?"));
    }
    e.with_hint(format!(
        "a plugin is an executable `{PREFIX}{name}` in the project's environment, your global profile or PATH: `aibox plugin list` shows those found, `aibox help` the commands"
    ))
    .with_exit_code(crate::error::exit::USAGE)
}

/// `aibox sandbox-exec --pack-dir DIR [--keep NAME…] -- PROGRAM [ARGS…]`: what the wrapper of a
/// command whose pack declares `[permissions]` runs. The pack must be a tree in the store; the
/// program runs (replacing this process) in the sandbox its permissions describe, with the
/// base variables, the declared ones, `PATH` and the generation's variables named by `keep`.
pub fn sandbox_exec(
    opts: &Options,
    pack_dir: &Path,
    keep: &[String],
    argv: &[OsString],
) -> Result<()> {
    // The store is the one the pack is in (the wrapper may run without AIBOX_HOME set).
    let bad = || {
        Error::msg(format!("`{}` is not a pack in a store", pack_dir.display()))
            .with_hint("run `aibox sync` to rewrite the environment's commands")
    };
    let dir = fs::canonicalize(pack_dir).map_err(|_| bad())?;
    let home = dir.ancestors().nth(3).ok_or_else(bad)?.to_path_buf();
    let layout = &Layout::new(home);
    if dir.parent() != Some(layout.packs().as_path()) {
        return Err(bad());
    }
    let name = dir
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let manifest = stored_manifest(layout, &name).ok_or_else(|| {
        Error::msg(format!("the pack `{name}` has no readable pack.toml"))
            .with_hint("run `aibox store verify --repair`, then `aibox sync`")
    })?;
    let Some(permissions) = &manifest.permissions else {
        return Err(Error::msg(format!(
            "`{}` declares no `[permissions]`",
            manifest.pack.name
        )));
    };
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| Error::msg("no program to run").with_exit_code(crate::error::exit::USAGE))?;
    let project = find_project(opts).ok().map(|p| p.root);
    let ctx = Context {
        project: project.clone(),
        home: crate::env_vars::var_os("HOME").map(PathBuf::from),
        cache: Some(layout.cache()),
        plugin_dir: None,
    };
    let mut sandbox = Sandbox::from_permissions(permissions, &ctx);
    sandbox
        .allow_read(layout.store())
        .allow_read(layout.profiles());
    let mut vars: BTreeMap<String, OsString> = BTreeMap::new();
    for k in keep.iter().map(String::as_str).chain(["PATH"]) {
        if let Some(v) = crate::env_vars::var_os(k) {
            vars.insert(k.to_owned(), v);
        }
    }
    if let Some(p) = &project {
        vars.insert(crate::env_vars::WORKSPACE.into(), p.into());
    }
    let mut cmd = std::process::Command::new(program);
    cmd.args(args);
    let what = format!(
        "`{}` of `{}`",
        program.to_string_lossy(),
        manifest.pack.name
    );
    let enforcement = sandbox
        .apply(&mut cmd, &vars)
        .map_err(|e| sandbox_error(&what, e))?;
    check_enforcement(enforcement, &what, layout, opts.reporter)?;
    let version = manifest.pack.version.to_string();
    run_log::RunRecord::new(
        "command",
        &manifest.pack.name,
        Some(&version),
        &cmd,
        &sandbox,
        enforcement,
    )
    .with("permissions", declared(Some(&manifest)))
    .for_profile(Some(run_log::profile_of(project.as_deref())))
    .write(layout, None, opts.reporter);
    match crate::engine::limited::run(cmd, permissions.limits.cpu_seconds, &what) {
        Ok(stopped) => Err(stopped),
        Err(err) => Err(Error::io(format!("cannot run {what}"), err)),
    }
}

impl crate::engine::rego::Subject {
    /// The subject for running a plugin that was found.
    pub fn of_found(found: &Found, action: &str) -> crate::engine::rego::Subject {
        crate::engine::rego::Subject {
            action: action.into(),
            name: found.name.clone(),
            version: found.pack.as_ref().map(|p| p.version.clone()),
            kind: PackKind::Plugin,
            source: match &found.pack {
                Some(p) => p.source.clone(),
                None => Some("path".into()),
            },
            signer: found.pack.as_ref().and_then(|p| p.signer.clone()),
            permissions: found.manifest.as_ref().and_then(|m| m.permissions.clone()),
        }
    }
}
