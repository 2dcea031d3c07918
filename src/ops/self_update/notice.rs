//! The update notice: "aibox 0.3.0 is available (you have 0.2.0)", at most once per 24 hours.
//! A command never waits for the registry: when the cached answer is older than a day, a
//! detached `aibox self update --check --background` refreshes it (with a short timeout) and a
//! later command prints the notice. Never in CI, with `--quiet`, on a non-terminal stderr, or
//! when disabled (`AIBOX_UPDATE_CHECK=false`, `update.check = false`).
//!
//! The cache is `cache/self-update.json` in the aibox home: `{"registry", "checked", "latest",
//! "noticed"}` (times in Unix seconds). The clock is `AIBOX_NOW` when set (Unix seconds; for
//! tests), else the system's.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use semver::Version;
use serde::{Deserialize, Serialize};

use crate::fs;
use crate::store::Store;

/// How long an answer, and a shown notice, lasts.
pub const INTERVAL: u64 = 24 * 60 * 60;
/// The longest the background check may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The cache's largest size read.
const MAX_CACHE_BYTES: u64 = 64 << 10;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Cache {
    registry: String,
    /// When the registry was last asked.
    checked: u64,
    /// The newest version it offered then.
    latest: Option<String>,
    /// When the notice was last shown.
    noticed: Option<u64>,
}

/// Now, in Unix seconds (`AIBOX_NOW` stands in for the clock).
pub fn now() -> u64 {
    if let Some(t) = crate::env_vars::var(crate::env_vars::NOW)
        .ok()
        .and_then(|t| t.parse::<u64>().ok())
    {
        return t;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether notices are wanted at all (before any file is read).
fn wanted(quiet: bool) -> bool {
    let off = |v: &str| matches!(v, "false" | "0" | "no" | "off");
    let ci = crate::env_vars::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
    let disabled = crate::env_vars::var(crate::env_vars::UPDATE_CHECK)
        .is_ok_and(|v| off(&v.to_ascii_lowercase()));
    !quiet && !ci && !disabled && std::io::stderr().is_terminal()
}

fn cache_path(store: &Store) -> PathBuf {
    store.layout().cache().join("self-update.json")
}

fn read_cache(store: &Store) -> Option<Cache> {
    let bytes = fs::read_regular(&cache_path(store), MAX_CACHE_BYTES).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_cache(store: &Store, cache: &Cache) {
    let path = cache_path(store);
    let _ = fs::create_dir_all(store.layout().cache());
    let bytes = serde_json::to_vec(cache).expect("the cache serializes");
    let _ = fs::write_atomic(&path, &bytes);
}

/// After a command: the notice to print, if one is due; starts a background check when the
/// cached answer is stale. Every failure here is silent: a notice is never worth an error.
pub fn after_command(quiet: bool, home: crate::store::Home) -> Option<String> {
    if !wanted(quiet) {
        return None;
    }
    let config = crate::config::load().ok()?;
    if !config.update.check {
        return None;
    }
    let registry = crate::ops::self_update::registry().ok()??;
    let store = Store::open_home(home).ok()?;
    let now = now();
    let cache = read_cache(&store).filter(|c| c.registry == registry);
    let fresh = cache
        .as_ref()
        .is_some_and(|c| c.checked <= now && now - c.checked < INTERVAL);
    if !fresh {
        spawn_check();
    }
    let mut cache = cache?;
    let latest = Version::parse(cache.latest.as_deref()?).ok()?;
    let running = crate::platform::version();
    let shown_recently = cache
        .noticed
        .is_some_and(|t| t <= now && now - t < INTERVAL);
    if latest <= *running || shown_recently {
        return None;
    }
    cache.noticed = Some(now);
    write_cache(&store, &cache);
    Some(format!(
        "aibox {latest} is available (you have {running}): run `aibox self update`"
    ))
}

/// Start `aibox self update --check --background`, detached, output discarded.
fn spawn_check() {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["self", "update", "--check", "--background"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    {
        use std::os::unix::process::CommandExt;
        // Its own process group: a Ctrl-C meant for the terminal's command leaves it be.
        cmd.process_group(0);
    }
    let _ = cmd.spawn();
}

/// The background check: ask the registry (within [`TIMEOUT`]) and record the answer. A
/// failed check is recorded too (no `latest`), so an unreachable registry is asked once a day,
/// not on every command.
pub fn refresh(opts: &crate::ops::Options) {
    let Ok(Some(registry)) = crate::ops::self_update::registry() else {
        return;
    };
    let Ok(store) = Store::open_home(opts.home) else {
        return;
    };
    let (tx, rx) = std::sync::mpsc::channel();
    // Asked once a day: the registry's answer, not a tag list cached by another command.
    let opts = opts.asking_for_newest();
    std::thread::spawn(move || {
        let _ = tx.send(
            crate::ops::self_update::check(&opts, None)
                .ok()
                .map(|c| c.chosen),
        );
    });
    let latest = rx.recv_timeout(TIMEOUT).ok().flatten();
    let noticed = read_cache(&store)
        .filter(|c| c.registry == registry)
        .and_then(|c| c.noticed);
    write_cache(
        &store,
        &Cache {
            registry,
            checked: now(),
            latest: latest.map(|v| v.to_string()),
            noticed,
        },
    );
}
