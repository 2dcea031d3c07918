//! `aibox doctor`: check what aibox depends on — its home and store, every profile, the user
//! configuration and trusted keys, PATH, the current project's lock and environment, and that
//! each registry in use answers — and say how to fix each problem found.

use crate::registry::SourceOptions;
use crate::store::Store;
use crate::store::profiles::project_link;

use crate::engine::project::ProjectState;
use crate::ops::{Options, find_project};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One check.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
    /// What to do about a warning or failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn check(name: impl Into<String>, status: Status, detail: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        status,
        detail: detail.into(),
        fix: None,
    }
}

impl Check {
    fn fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }
}

/// Run every check.
pub fn doctor(opts: &Options) -> Vec<Check> {
    let mut out = vec![check(
        "aibox",
        Status::Ok,
        format!(
            "{} on {}",
            crate::platform::version(),
            crate::platform::host()
        ),
    )];
    let support = crate::sandbox::support();
    let full = support.abi.is_some_and(|a| a >= crate::sandbox::WANTED_ABI);
    let mut sandbox = check(
        "sandbox",
        if full { Status::Ok } else { Status::Warn },
        support.describe(),
    );
    if !full {
        sandbox = sandbox.fix("plugins, install hooks and health checks run only partly sandboxed (refused under the enterprise policy): use Linux 6.12 or newer with Landlock enabled");
    }
    out.push(sandbox);
    let mut seccomp = check(
        "seccomp",
        if support.seccomp {
            Status::Ok
        } else {
            Status::Warn
        },
        support.describe_seccomp(),
    );
    if !support.seccomp {
        seccomp = seccomp.fix("pack code runs only partly sandboxed (refused under the enterprise policy): use a Linux kernel built with CONFIG_SECCOMP_FILTER on x86-64, aarch64 or riscv64");
    }
    out.push(seccomp);
    let store = match opts.store() {
        Ok(s) => {
            let mode = s
                .link_mode()
                .map(|m| format!("{m:?}").to_lowercase())
                .unwrap_or_else(|e| format!("unknown ({e})"));
            out.push(check(
                "store",
                Status::Ok,
                format!("{} (files placed by {mode})", s.layout().home().display()),
            ));
            Some(s)
        }
        Err(e) => {
            out.push(
                check("store", Status::Fail, e.to_string())
                    .fix("set `AIBOX_HOME` to a writable directory"),
            );
            None
        }
    };
    if let Some(store) = &store {
        profiles(store, &mut out);
    }
    let loaded = crate::config::load();
    config(&loaded, &mut out);
    if let Some(store) = &store {
        path(store, &mut out);
    }
    let project = find_project(opts)
        .ok()
        .and_then(|p| ProjectState::read(&p.root).ok());
    if let (Some(state), Some(store)) = (&project, &store) {
        project_checks(opts, store, state, &mut out);
        if let Ok(profile) = store.project_profile(&state.root) {
            skill_folders(store, &profile, &state.root, &mut out);
        }
    }
    if let Some(store) = &store
        && let Ok(profile) = store.global_profile()
    {
        skill_folders(store, &profile, &store.layout().global_project(), &mut out);
    }
    registries(opts, project.as_ref(), loaded.as_ref().ok(), &mut out);
    out
}

/// One check per skills folder the profile feeds: what in it is aibox's (managed), the
/// user's (unmanaged), aibox's but stale (dangling), and skills not linked there (missing).
fn skill_folders(
    store: &Store,
    profile: &crate::store::profiles::Profile,
    root: &std::path::Path,
    out: &mut Vec<Check>,
) {
    use crate::skill::projection::{EntryState, inspect};
    let Ok(Some(projector)) = crate::engine::skills::projector_at(store, profile, root) else {
        return;
    };
    let skills = store
        .current(profile)
        .map(|g| g.skills())
        .unwrap_or_default();
    if skills.is_empty() && !projector.has_record() {
        return;
    }
    for report in inspect(projector.base(), projector.folders(), &skills) {
        let names = |state: EntryState| -> Vec<String> {
            report
                .entries
                .iter()
                .filter(|(_, s)| *s == state)
                .map(|(n, _)| n.clone())
                .collect()
        };
        let (managed, unmanaged, dangling) = (
            names(EntryState::Managed),
            names(EntryState::Unmanaged),
            names(EntryState::Dangling),
        );
        let mut parts = Vec::new();
        for (label, list) in [
            ("managed", &managed),
            ("not aibox's", &unmanaged),
            ("dangling", &dangling),
            ("missing", &report.missing),
        ] {
            if !list.is_empty() {
                parts.push(format!("{label}: {}", list.join(", ")));
            }
        }
        if parts.is_empty() {
            parts.push("empty".into());
        }
        let name = format!(
            "skills {} ({})",
            report.folder.dir.display(),
            report.folder.agents.join(", ")
        );
        let bad = !dangling.is_empty() || !report.missing.is_empty();
        let mut c = check(
            name,
            if bad { Status::Warn } else { Status::Ok },
            parts.join("; "),
        );
        if bad {
            c = c.fix(if report.missing.iter().any(|m| unmanaged.contains(m)) {
                "a folder or link that is not aibox's holds a skill's name: move it away, then run `aibox sync`"
            } else {
                "run `aibox sync` to link the current generation's skills again"
            });
        }
        out.push(c);
    }
}

fn profiles(store: &Store, out: &mut Vec<Check>) {
    match store.list_profiles() {
        Ok(list) => {
            let broken: Vec<String> = list
                .iter()
                .filter(|p| !store.check_profile(p).is_empty())
                .map(|p| p.describe())
                .collect();
            if broken.is_empty() {
                out.push(check(
                    "profiles",
                    Status::Ok,
                    format!("{} readable", list.len()),
                ));
            } else {
                out.push(
                    check(
                        "profiles",
                        Status::Warn,
                        format!("damaged: {}", broken.join(", ")),
                    )
                    .fix("run `aibox store verify --repair`"),
                );
            }
        }
        Err(e) => out.push(check("profiles", Status::Fail, e.to_string())),
    }
}

fn config(
    loaded: &std::result::Result<crate::config::Config, crate::manifest::ManifestError>,
    out: &mut Vec<Check>,
) {
    match loaded {
        Ok(c) => {
            let level = c.trust.policy.unwrap_or(crate::config::DEFAULT_LEVEL);
            let mut bad = Vec::new();
            for k in &c.trust.keys {
                match crate::trust::PublicKey::load(&k.path) {
                    Ok(key) if key.fingerprint() == k.fingerprint => {}
                    Ok(_) => bad.push(format!(
                        "`{}` changed since it was trusted",
                        k.path.display()
                    )),
                    Err(e) => bad.push(e.to_string()),
                }
            }
            let where_ = if c.file_version.is_some() {
                c.path.display().to_string()
            } else {
                "no file: defaults".into()
            };
            let detail = format!(
                "{where_}; policy {}, {} trusted keys",
                level.as_str(),
                c.trust.keys.len()
            );
            if bad.is_empty() {
                out.push(check("config", Status::Ok, detail));
            } else {
                out.push(
                    check("config", Status::Fail, format!("{detail}; {}", bad.join("; ")))
                        .fix("`aibox trust list` shows the keys; `aibox trust remove <fingerprint>` and `aibox trust add <key.pub>` replace one"),
                );
            }
        }
        Err(e) => out.push(
            check("config", Status::Fail, e.to_string())
                .fix("fix the file (docs/configuration.md lists every key), or move it away"),
        ),
    }
}

fn path(store: &Store, out: &mut Vec<Check>) {
    // Never create the global profile just to look at it.
    let exists = crate::fs::exists(&store.layout().profile("global")).unwrap_or(false);
    let Some(profile) = exists.then(|| store.global_profile().ok()).flatten() else {
        out.push(check("PATH", Status::Ok, "nothing installed globally"));
        return;
    };
    let installed = store.current(&profile).is_ok_and(|g| !g.packs.is_empty());
    // Global commands are linked into the user's bin directory; a PATH with the profile's
    // `current/bin` itself works as well.
    let bin = profile.paths.current().join("bin");
    let user_bin = crate::engine::user_bin::user_bin_dir();
    let on_path = |dir: &std::path::Path| {
        crate::env_vars::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d == dir))
    };
    let found = [Some(&bin), user_bin.as_ref()]
        .into_iter()
        .flatten()
        .find(|d| on_path(d))
        .cloned();
    match (installed, found, user_bin) {
        (_, Some(dir), _) => out.push(check(
            "PATH",
            Status::Ok,
            format!("has `{}`", dir.display()),
        )),
        (false, None, _) => out.push(check("PATH", Status::Ok, "nothing installed globally")),
        (true, None, dir) => {
            let dir = dir.unwrap_or(bin);
            out.push(
                check(
                    "PATH",
                    Status::Warn,
                    format!(
                        "globally installed commands are linked into `{}`, which is not on PATH",
                        dir.display()
                    ),
                )
                .fix(format!(
                    "add `export PATH=\"{}:$PATH\"` to your shell's startup file",
                    dir.display()
                )),
            )
        }
    }
}

fn project_checks(opts: &Options, store: &Store, state: &ProjectState, out: &mut Vec<Check>) {
    let name = format!("project {}", state.root.display());
    let Some((bytes, lock)) = &state.lock else {
        out.push(check(name, Status::Warn, "no `aibox.lock`").fix("run `aibox sync`"));
        return;
    };
    if let Err(unmet) = lock.check(&state.manifest) {
        out.push(
            check(
                name,
                Status::Warn,
                format!("`aibox.lock` is out of date ({unmet})"),
            )
            .fix("run `aibox lock`, then commit `aibox.lock`"),
        );
        return;
    }
    // Only a project that was synced has a profile: never create one just to look.
    let synced = crate::fs::exists(&project_link(&state.root)).unwrap_or(false)
        && store.project_profile(&state.root).is_ok_and(|p| {
            crate::engine::install::is_current(
                store,
                &p,
                &crate::ops::sync::lock_hash(bytes),
                &state.manifest.policy.allow_pack_env,
            )
        });
    if synced && let Some(refused) = refused_by_policy(opts, store, state, lock) {
        out.push(
            check(name, Status::Fail, format!("the environment holds what the trust policy refuses: {refused}"))
                .fix("trust the signing key (`aibox trust add KEY.pub`), or remove the pack and run `aibox sync`; commands of this environment do not run until then"),
        );
    } else if synced {
        out.push(check(
            name,
            Status::Ok,
            format!("{} packs, synced", lock.packages.len()),
        ));
    } else {
        out.push(
            check(
                name,
                Status::Warn,
                "the environment does not match `aibox.lock`",
            )
            .fix("run `aibox sync`"),
        );
    }
}

/// The first refusal the trust policy in force gives a package of `lock` (judged from the
/// signatures kept in the store, else the registry's), if any.
fn refused_by_policy(
    opts: &Options,
    store: &Store,
    state: &ProjectState,
    lock: &crate::lockfile::Lockfile,
) -> Option<String> {
    let policy = crate::engine::verdicts::policy(Some(state), opts.reporter).ok()?;
    if !policy.verifies() {
        return None;
    }
    let sources = state.sources(opts);
    for pkg in &lock.packages {
        let version = pkg.version.to_string();
        let subject = crate::trust::Subject {
            name: &pkg.name,
            version: &version,
            source: &pkg.source,
            digest: pkg.digest.as_deref(),
            locked_signer: pkg.signer.as_deref(),
            retiring: None,
        };
        match crate::engine::verdicts::judge(Some(store), &sources, &policy, subject) {
            Ok(Err(e)) => return Some(e.to_string()),
            Err(e) => return Some(e.to_string()),
            Ok(Ok(_)) => {}
        }
    }
    None
}

fn registries(
    opts: &Options,
    project: Option<&ProjectState>,
    config: Option<&crate::config::Config>,
    out: &mut Vec<Check>,
) {
    let mut urls: Vec<String> = Vec::new();
    if let Some(state) = project {
        urls.extend(state.manifest.registries.values().map(|r| r.url.clone()));
    }
    if let Some(c) = config {
        urls.extend(c.registries.values().map(|r| r.url.clone()));
        urls.extend(c.mirrors.iter().cloned());
    }
    urls.sort();
    urls.dedup();
    // A registry the lock pins is read at that pin: one whose release moved is reported.
    let pins =
        crate::engine::sources::lock_pins(project.and_then(|s| s.lock.as_ref().map(|(_, l)| l)));
    let root = project
        .map(|s| s.root.clone())
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default();
    for url in urls {
        let name = format!("registry {url}");
        if opts.offline {
            out.push(check(name, Status::Ok, "not checked (--offline)"));
            continue;
        }
        let src = SourceOptions {
            refresh: true,
            reporter: opts.reporter,
            home: opts.home,
            ..SourceOptions::default()
        };
        let result = if url.starts_with("oci://") {
            crate::registry::backends::oci::OciSource::open(&url, &src).and_then(|s| s.ping())
        } else {
            let pin = pins.get(&url).map(String::as_str);
            crate::engine::sources::open_pinned(&url, &root, &src, pin).and_then(|s| {
                // An aqua registry is read lazily: reading its index is what checks the pin.
                if url.starts_with("aqua:") {
                    Ok(format!("readable, {} packages", s.names()?.len()))
                } else {
                    Ok("readable".to_owned())
                }
            })
        };
        match result {
            Ok(detail) => out.push(check(name, Status::Ok, detail)),
            Err(e) => out.push(
                check(name, Status::Fail, e.to_string())
                    .fix("check the URL, your network and credentials (`aibox config list`), or use `--offline` with what is cached"),
            ),
        }
    }
}
