//! The only place store paths are built: `$AIBOX_HOME` and everything under it, and the cache
//! and state directories beside it (store-format/SPEC.md §1).

use std::path::{Path, PathBuf};

use super::tree::Hash;

/// The name of the versioned store directory. Bumped with any incompatible change.
pub const STORE_DIR: &str = "store-v2";

/// Store directories of earlier formats, never read; gc removes them once no kept generation
/// links into them (store-format/SPEC.md §9).
pub const OLD_STORE_DIRS: &[&str] = &["store-v1"];

/// The aibox home of this process: resolved once from the environment by the CLI
/// ([`Home::of_process`]) and passed down in the options every operation and source gets, so
/// no layer below derives it again. `Home::default()` is no home at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct Home(Option<&'static Layout>);

impl Home {
    /// The home `AIBOX_HOME`, the XDG directories and `HOME` name ([`Layout::from_env`]),
    /// resolved on the first call and the same afterwards (a cache or log an earlier aibox
    /// kept in the data directory is moved once).
    pub fn of_process() -> Home {
        static HOME: std::sync::OnceLock<Option<Layout>> = std::sync::OnceLock::new();
        Home(HOME.get_or_init(Layout::from_env).as_ref())
    }

    /// Its layout; `None` when neither `AIBOX_HOME`, the XDG directories nor `HOME` name one.
    pub fn layout(&self) -> Option<&'static Layout> {
        self.0
    }
}

/// Paths under one `$AIBOX_HOME`, its cache and its state.
#[derive(Debug, Clone)]
pub struct Layout {
    home: PathBuf,
    /// Registry metadata and downloads: may be deleted at any time.
    cache: PathBuf,
    /// The audit log's parent.
    state: PathBuf,
}

impl Layout {
    /// Everything under `home` (a home named by `AIBOX_HOME` keeps its cache and log too).
    pub fn new(home: impl Into<PathBuf>) -> Self {
        let home = home.into();
        Layout {
            cache: home.join("cache"),
            state: home.clone(),
            home,
        }
    }

    /// The layout of the default home ([`Layout::default_home`]). With `AIBOX_HOME` set,
    /// everything lives under it; otherwise the cache goes to `$XDG_CACHE_HOME/aibox`
    /// (`~/.cache/aibox`) and the audit log under `$XDG_STATE_HOME/aibox`
    /// (`~/.local/state/aibox`), as the XDG base directory specification asks, and a cache or
    /// log an earlier aibox kept in the data directory is moved there once.
    ///
    /// Only [`Home::of_process`] calls this; everything else gets the home passed down.
    fn from_env() -> Option<Layout> {
        let home = Layout::default_home()?;
        if crate::env_vars::var_os(crate::env_vars::HOME).is_some_and(|h| !h.is_empty()) {
            return Some(Layout::new(home));
        }
        let xdg = |var: &str, fallback: &str| {
            crate::env_vars::var_os(var)
                .map(PathBuf::from)
                .filter(|x| x.is_absolute())
                .or_else(|| {
                    crate::env_vars::var_os("HOME")
                        .map(PathBuf::from)
                        .filter(|h| h.is_absolute())
                        .map(|h| h.join(fallback))
                })
                .map(|d| d.join("aibox"))
        };
        let mut layout = Layout::new(home);
        if let Some(cache) = xdg("XDG_CACHE_HOME", ".cache") {
            layout.cache = moved(layout.home.join("cache"), cache);
        }
        if let Some(state) = xdg("XDG_STATE_HOME", ".local/state") {
            let log = moved(layout.home.join("log"), state.join("log"));
            layout.state = log.parent().map_or(state, Path::to_path_buf);
        }
        Some(layout)
    }

    /// `$AIBOX_HOME` (a relative path is taken from the current directory), else
    /// `$XDG_DATA_HOME/aibox` (ignored unless absolute, as the XDG spec says), else
    /// `~/.local/share/aibox`. Always absolute: generations link into it.
    fn default_home() -> Option<PathBuf> {
        if let Some(h) = crate::env_vars::var_os(crate::env_vars::HOME).filter(|h| !h.is_empty()) {
            return std::path::absolute(PathBuf::from(h)).ok();
        }
        if let Some(x) = crate::env_vars::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .filter(|x| x.is_absolute())
        {
            return Some(x.join("aibox"));
        }
        crate::env_vars::var_os("HOME")
            .map(PathBuf::from)
            .filter(|h| h.is_absolute())
            .map(|h| h.join(".local/share/aibox"))
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    pub fn store(&self) -> PathBuf {
        self.home.join(STORE_DIR)
    }

    /// The store-wide lock: shared by builders, exclusive for gc and repair.
    pub fn store_lock(&self) -> PathBuf {
        self.store().join("lock")
    }

    pub fn objects(&self) -> PathBuf {
        self.store().join("objects")
    }

    /// `objects/<first 2 hex>/<64 hex>` (`.x` suffix for executable content).
    pub fn object(&self, hash: &Hash, executable: bool) -> PathBuf {
        let hex = hash.hex();
        let name = if executable { format!("{hex}.x") } else { hex };
        self.objects().join(&name[..2]).join(name)
    }

    pub fn packs(&self) -> PathBuf {
        self.store().join("packs")
    }

    pub fn pack(&self, dir_name: &str) -> PathBuf {
        self.packs().join(dir_name)
    }

    /// `packs/<id>.tree.json`, the listing beside a pack tree.
    pub fn pack_listing(&self, dir_name: &str) -> PathBuf {
        self.packs().join(format!("{dir_name}.tree.json"))
    }

    /// `libexec/aibox`: a link to the aibox executable last run, which command wrappers
    /// exec (so they keep working when aibox moves).
    pub fn aibox_link(&self) -> PathBuf {
        self.home.join("libexec").join("aibox")
    }

    pub fn tmp(&self) -> PathBuf {
        self.store().join("tmp")
    }

    /// `trash/`: what gc and repairs remove is renamed here first (invisible at once), then
    /// deleted; leftovers of an interrupted deletion are emptied by the next gc.
    pub fn trash(&self) -> PathBuf {
        self.store().join("trash")
    }

    /// `locks/<pack dir>.lock`: held while that pack tree is built, so two processes never
    /// build (or repair) the same tree at once.
    pub fn pack_lock(&self, dir_name: &str) -> PathBuf {
        self.store().join("locks").join(format!("{dir_name}.lock"))
    }

    pub fn locks(&self) -> PathBuf {
        self.store().join("locks")
    }

    /// `signatures/<digest hex>.json`: the signatures kept for an artifact digest.
    pub fn signatures(&self) -> PathBuf {
        self.store().join("signatures")
    }

    /// `log/audit.jsonl` in the state directory: the audit log.
    pub fn audit_log(&self) -> PathBuf {
        self.state.join("log").join("audit.jsonl")
    }

    /// `checked/<pack dir>`: the fingerprint of a pack tree last found intact before its code
    /// ran (store-format/SPEC.md §4).
    pub fn checked(&self, dir_name: &str) -> PathBuf {
        self.store().join("checked").join(dir_name)
    }

    /// `link-mode`: how pack trees are made from objects on this filesystem.
    pub fn link_mode(&self) -> PathBuf {
        self.store().join("link-mode")
    }

    pub fn profiles(&self) -> PathBuf {
        self.home.join("profiles")
    }

    pub fn profile(&self, name: &str) -> PathBuf {
        self.profiles().join(name)
    }

    /// Plugin `name`'s persistent data directory (kept across its versions).
    pub fn plugin_data(&self, name: &str) -> PathBuf {
        self.home.join("plugin-data").join(name)
    }

    /// `disabled-plugins`: the plugins `aibox plugin disable` turned off, one name per line.
    pub fn disabled_plugins(&self) -> PathBuf {
        self.home.join("disabled-plugins")
    }

    /// The cache directory (`$AIBOX_HOME/cache`, or `$XDG_CACHE_HOME/aibox`).
    pub fn cache(&self) -> PathBuf {
        self.cache.clone()
    }

    /// The global profile's own project directory (`aibox install` edits its manifest).
    pub fn global_project(&self) -> PathBuf {
        self.home.join("global")
    }

    /// The `self` profile's project directory (`aibox self update` writes its manifest).
    pub fn self_project(&self) -> PathBuf {
        self.home.join("self")
    }

    /// Snapshots of aibox binaries adopted into the `self` profile (a `dir:` source).
    pub fn self_adopted(&self) -> PathBuf {
        self.home.join("self-adopted")
    }
}

/// Where a directory an earlier aibox kept at `old` now lives: `new`, after moving `old`
/// there when only `old` exists (once, atomically). When it cannot be moved (another
/// filesystem), `old` stays in use: nothing is lost or copied half.
fn moved(old: PathBuf, new: PathBuf) -> PathBuf {
    let is_dir = |p: &Path| crate::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
    if !is_dir(&old) || crate::fs::symlink_metadata(&new).is_ok() {
        return new;
    }
    let renamed = new
        .parent()
        .is_some_and(|parent| crate::fs::create_dir_all(parent).is_ok())
        && crate::fs::rename(&old, &new).is_ok();
    if renamed { new } else { old }
}

/// Paths inside one profile directory.
#[derive(Debug, Clone)]
pub struct ProfilePaths {
    pub dir: PathBuf,
}

impl ProfilePaths {
    pub fn lock(&self) -> PathBuf {
        self.dir.join("lock")
    }
    pub fn record(&self) -> PathBuf {
        self.dir.join("profile.toml")
    }
    pub fn current(&self) -> PathBuf {
        self.dir.join("current")
    }
    /// `verified`: the lock hash and trust policy digest the current environment was last
    /// judged under (SPEC §6).
    pub fn verified(&self) -> PathBuf {
        self.dir.join("verified")
    }
    pub fn generations(&self) -> PathBuf {
        self.dir.join("generations")
    }
    pub fn generation(&self, id: u64) -> PathBuf {
        self.generations().join(id.to_string())
    }
    /// The relative target `current` points at.
    pub fn current_target(id: u64) -> PathBuf {
        PathBuf::from("generations").join(id.to_string())
    }
}

/// The name of a project's profile: `project-` and 16 hex digits of BLAKE3 of its root path.
pub fn project_profile_name(root: &Path) -> String {
    let h = blake3::hash(root.as_os_str().as_encoded_bytes());
    format!("project-{}", &h.to_hex()[..16])
}

/// `<root>/.aibox/current`, the project's view of its current generation.
pub fn project_link(root: &Path) -> PathBuf {
    root.join(".aibox").join("current")
}
