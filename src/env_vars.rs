//! Every `AIBOX_*` environment variable, declared once: the ones aibox reads (the guide's
//! "Environment variables" table lists exactly these), the ones it gives to pack code it runs
//! (docs/plugins.md), and the ones it passes to its own processes or reads only in tests.
//! `tests/docs.rs` keeps the lists, the docs and the code in agreement: no other file of
//! `src/` spells an `AIBOX_*` name as a string of its own.
//!
//! The environment itself is read once: [`snapshot`] (the first thing `cli::main` does) takes
//! it, and every layer reads [`var_os`]/[`var`] from that snapshot instead of the live process
//! environment, so one run sees one environment throughout. No other file of `src/` calls
//! `std::env::var` (tests/architecture.rs checks it).

/// The store, profiles, cache and audit log.
pub const HOME: &str = "AIBOX_HOME";
/// The user configuration file.
pub const CONFIG: &str = "AIBOX_CONFIG";
/// Seconds to wait for a store or profile lock.
pub const LOCK_TIMEOUT: &str = "AIBOX_LOCK_TIMEOUT";
/// The decompression cap for one archive.
pub const MAX_UNPACKED_BYTES: &str = "AIBOX_MAX_UNPACKED_BYTES";
/// The decompression cap for all archives of one run.
pub const MAX_RUN_UNPACKED_BYTES: &str = "AIBOX_MAX_RUN_UNPACKED_BYTES";
/// Seconds registry tag lists are cached.
pub const TAG_TTL: &str = "AIBOX_TAG_TTL";
/// Attempts for a transient registry failure.
pub const FETCH_RETRIES: &str = "AIBOX_FETCH_RETRIES";
/// Registry credentials for the one host [`REGISTRY_HOST`] names.
pub const REGISTRY_USERNAME: &str = "AIBOX_REGISTRY_USERNAME";
/// See [`REGISTRY_USERNAME`].
pub const REGISTRY_PASSWORD: &str = "AIBOX_REGISTRY_PASSWORD";
/// The host [`REGISTRY_USERNAME`] and [`REGISTRY_PASSWORD`] are for.
pub const REGISTRY_HOST: &str = "AIBOX_REGISTRY_HOST";
/// The default `--registry` of `aibox pack publish`.
pub const REGISTRY: &str = "AIBOX_REGISTRY";
/// The platform to act as instead of the host's.
pub const PLATFORM: &str = "AIBOX_PLATFORM";
/// Mirrors for `sync`, space-separated.
pub const MIRROR: &str = "AIBOX_MIRROR";
/// The password of a private key.
pub const PASSWORD: &str = "AIBOX_PASSWORD";
/// Where `aibox self update` looks for releases.
pub const SELF_REGISTRY: &str = "AIBOX_SELF_REGISTRY";
/// Where `aibox self update` links `aibox`.
pub const BIN_DIR: &str = "AIBOX_BIN_DIR";
/// `false` turns the update notice off.
pub const UPDATE_CHECK: &str = "AIBOX_UPDATE_CHECK";
/// Whether the store flushes what a sync writes (`full`, `ephemeral`).
pub const DURABILITY: &str = "AIBOX_DURABILITY";
/// The GitHub API base of `github:` release sources (a GitHub Enterprise server).
pub const GITHUB_API: &str = "AIBOX_GITHUB_API";
/// The Landlock ABI the sandbox acts as, for aibox's own tests (debug builds only).
pub const SANDBOX_ABI: &str = "AIBOX_SANDBOX_ABI";
/// The clock of the update notice, in Unix seconds (for tests).
pub const NOW: &str = "AIBOX_NOW";
/// Where a debug build kills itself, for crash tests (`fs::crash_point`).
pub const TEST_CRASH_AT: &str = "AIBOX_TEST_CRASH_AT";

/// Given to pack code: the project root.
pub const WORKSPACE: &str = "AIBOX_WORKSPACE";
/// Given to pack code: the aibox version.
pub const VERSION: &str = "AIBOX_VERSION";
/// Given to pack code: the generation an event is about.
pub const GENERATION: &str = "AIBOX_GENERATION";
/// Given to checks and subscribers: the generation's directory.
pub const GENERATION_DIR: &str = "AIBOX_GENERATION_DIR";
/// Given to subscribers: the lifecycle event.
pub const EVENT: &str = "AIBOX_EVENT";
/// Given to install hooks: the pack tree being prepared.
pub const PACK_DIR: &str = "AIBOX_PACK_DIR";
/// Given to plugins: their persistent data directory.
pub const PLUGIN_DIR: &str = "AIBOX_PLUGIN_DIR";

/// Between aibox processes: the Unix sockets a sandboxed program may use, as descriptors.
pub const UNIX_FDS: &str = "AIBOX_UNIX_FDS";
/// Between aibox processes: set when aibox re-executes the version a project requires.
pub const REQUIRED_BY: &str = "AIBOX_REQUIRED_BY";

/// The variables aibox reads (each a row of the guide's environment table).
pub const READ: &[&str] = &[
    HOME,
    CONFIG,
    LOCK_TIMEOUT,
    MAX_UNPACKED_BYTES,
    MAX_RUN_UNPACKED_BYTES,
    TAG_TTL,
    FETCH_RETRIES,
    REGISTRY_USERNAME,
    REGISTRY_PASSWORD,
    REGISTRY_HOST,
    REGISTRY,
    PLATFORM,
    MIRROR,
    PASSWORD,
    SELF_REGISTRY,
    BIN_DIR,
    UPDATE_CHECK,
    DURABILITY,
    GITHUB_API,
    SANDBOX_ABI,
    NOW,
    TEST_CRASH_AT,
];

/// The variables aibox sets for pack code (docs/plugins.md).
pub const GIVEN: &[&str] = &[
    WORKSPACE,
    VERSION,
    GENERATION,
    GENERATION_DIR,
    EVENT,
    PACK_DIR,
    PLUGIN_DIR,
];

/// The variables aibox passes to its own processes (the guide says so, and that they are not
/// for users).
pub const INTERNAL: &[&str] = &[UNIX_FDS, REQUIRED_BY];

static SNAPSHOT: std::sync::OnceLock<
    std::collections::BTreeMap<std::ffi::OsString, std::ffi::OsString>,
> = std::sync::OnceLock::new();

/// Take the snapshot of the environment this run reads (a no-op after the first call).
pub fn snapshot() {
    let _ = environment();
}

fn environment() -> &'static std::collections::BTreeMap<std::ffi::OsString, std::ffi::OsString> {
    SNAPSHOT.get_or_init(|| std::env::vars_os().collect())
}

/// The variable `name` as the environment had it when the run started (as `std::env::var_os`).
pub fn var_os(name: &str) -> Option<std::ffi::OsString> {
    environment().get(std::ffi::OsStr::new(name)).cloned()
}

/// The variable `name` as text (as `std::env::var`).
pub fn var(name: &str) -> Result<String, std::env::VarError> {
    var_os(name)
        .ok_or(std::env::VarError::NotPresent)?
        .into_string()
        .map_err(std::env::VarError::NotUnicode)
}
