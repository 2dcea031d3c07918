//! The content-addressed store: read-only objects named by BLAKE3, read-only pack trees built
//! from them, profiles with generations and an atomic `current` (store-format/SPEC.md).

pub mod budget;
pub mod checked;
pub mod gc;
pub mod generations;
pub mod ingest;
pub mod layout;
pub mod links;
pub mod objects;
pub mod packs;
pub mod profiles;
pub mod record;
pub mod settle;
pub mod signatures;
pub mod staged;
pub mod state_dir;
pub mod tree;
pub mod verify;
pub mod wrappers;

use std::path::{Path, PathBuf};

use crate::fs::{self, LockMode, LockedFile};
use crate::printer::Reporter;
pub use layout::{Home, Layout};
pub use packs::PackId;
use tree::Hash;

/// Everything that can go wrong in the store, with the path involved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Reading what is being ingested (a pack directory, an archive) failed: not the store.
    #[error("{context}")]
    Input {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("rejected entry `{entry}`: {reason}")]
    BadEntry { entry: String, reason: String },
    #[error("{scope} expands to more than {limit} bytes (decompression limit)")]
    TooLarge { limit: u64, scope: &'static str },
    #[error("tree hash mismatch for `{what}`: expected {expected}, got {actual}")]
    TreeMismatch {
        what: String,
        expected: Hash,
        actual: Hash,
    },
    #[error("corrupt store entry `{}`: {reason}", .path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("generation {id} of profile `{profile}` does not exist")]
    NoGeneration { profile: String, id: u64 },
    #[error("profile `{profile}` has no generation to roll back to from generation {id}")]
    NoParent { profile: String, id: u64 },
    #[error("`{name}` is provided by both `{first}` and `{second}`")]
    Conflict {
        name: String,
        first: String,
        second: String,
    },
    #[error("no aibox home: set `AIBOX_HOME` or `HOME`")]
    NoHome,
    #[error("refusing to use `{}`: {reason}", .path.display())]
    ForeignStateDir { path: PathBuf, reason: String },
    #[error(transparent)]
    Lock(#[from] fs::LockError),
}

impl crate::error::Hint for StoreError {
    fn hints(&self) -> Vec<String> {
        match self {
            StoreError::Corrupt { .. } => {
                vec!["run `aibox store verify --repair`, then `aibox sync` to rebuild".into()]
            }
            StoreError::NoGeneration { .. } | StoreError::NoParent { .. } => {
                vec!["`aibox generations` lists the generations that are kept".into()]
            }
            StoreError::Lock(e) => e.hints(),
            StoreError::ForeignStateDir { path, .. } => vec![format!(
                "`.aibox` is aibox's local state for this project and is never committed: remove `{}` (and add `.aibox/` to `.gitignore`), then run the command again",
                path.display()
            )],
            StoreError::Input { source, .. } if crate::error::is_permission(source) => vec![
                "aibox cannot read these pack files: check their permissions (`ls -l`), or ask whoever owns them".into(),
            ],
            StoreError::Io { source, .. } if crate::error::is_permission(source) => {
                vec![crate::error::HOME_NOT_WRITABLE.into()]
            }
            StoreError::Conflict { .. } => {
                vec!["remove one of the two packs, or ask its author to rename the command".into()]
            }
            _ => Vec::new(),
        }
    }
}

/// Attach what was being done to an I/O error.
pub(crate) trait IoContext<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, StoreError>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Io {
            context: what(),
            source,
        })
    }
}

/// Attach what was being read to an I/O error on the input of an ingest (not the store).
pub(crate) trait InputContext<T> {
    fn input(self, what: impl FnOnce() -> String) -> Result<T, StoreError>;
}

impl<T> InputContext<T> for std::io::Result<T> {
    fn input(self, what: impl FnOnce() -> String) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Input {
            context: what(),
            source,
        })
    }
}

/// The bytes expanded during the current run, shared by every [`Store`] opened in it
/// (the project's and the ones sources open to compute tree hashes), so a run's budget holds
/// however many handles it uses. A command line is one run; the local page starts one per
/// request ([`new_run`]).
static RUN: std::sync::Mutex<Option<std::sync::Arc<std::sync::atomic::AtomicU64>>> =
    std::sync::Mutex::new(None);

/// The current run's counter of expanded bytes.
pub fn run_counter() -> std::sync::Arc<std::sync::atomic::AtomicU64> {
    RUN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get_or_insert_with(std::sync::Arc::default)
        .clone()
}

/// Start a new run: stores opened from now on count from zero.
pub fn new_run() {
    *RUN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(std::sync::Arc::default());
}

/// An open store under one `$AIBOX_HOME`.
#[derive(Debug)]
pub struct Store {
    layout: Layout,
    /// Bytes expanded from archives in this run, by every handle ([`run_counter`]).
    unpacked: std::sync::Arc<std::sync::atomic::AtomicU64>,
    max_unpacked: u64,
    /// Whether writes are flushed (`store.durability`, `AIBOX_DURABILITY`).
    durability: fs::Durability,
    /// `tmp/`, `objects/` and `packs/`, opened on first use.
    dirs: std::sync::OnceLock<staged::Dirs>,
    /// How pack trees are made from objects here (`link-mode`), read on first use.
    link_mode: std::sync::OnceLock<staged::LinkMode>,
    /// While a sync defers its flushes ([`Store::defer`]): what waits for the barrier, and
    /// the number of the deferral it belongs to.
    staged: std::sync::Mutex<Option<(u64, staged::Staged)>>,
    /// Where waits for locks and warnings (gc, unreadable records) are reported.
    reporter: Reporter,
}

/// The default budget of bytes expanded from archives in one run (`AIBOX_MAX_RUN_UNPACKED_BYTES`).
pub const DEFAULT_MAX_RUN_UNPACKED: u64 = 32 << 30;

impl Store {
    /// Open (creating if needed) the store at `home`.
    pub fn open(home: &Path) -> Result<Store, StoreError> {
        Store::open_layout(Layout::new(home))
    }

    /// Open (creating what is missing) the store of `layout`.
    pub fn open_layout(layout: Layout) -> Result<Store, StoreError> {
        for dir in [
            layout.objects(),
            layout.packs(),
            layout.tmp(),
            layout.trash(),
            layout.locks(),
            layout.profiles(),
        ] {
            fs::create_dir_all(&dir)
                .ctx(|| format!("cannot create the store directory `{}`", dir.display()))?;
        }
        let max_unpacked = crate::env_vars::var(crate::env_vars::MAX_RUN_UNPACKED_BYTES)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_MAX_RUN_UNPACKED);
        Ok(Store {
            layout,
            unpacked: run_counter(),
            max_unpacked,
            durability: fs::Durability::Full,
            dirs: Default::default(),
            link_mode: Default::default(),
            staged: Default::default(),
            reporter: Reporter::default(),
        })
    }

    /// This handle, reporting through `reporter` from now on.
    pub fn reporting(mut self, reporter: Reporter) -> Store {
        self.reporter = reporter;
        self
    }

    /// Where this handle reports waits and warnings.
    pub fn reporter(&self) -> Reporter {
        self.reporter
    }

    /// This handle, flushing writes as `durability` says from now on.
    pub fn with_durability(mut self, durability: fs::Durability) -> Store {
        self.durability = durability;
        self
    }

    /// Whether this handle flushes what it writes.
    pub fn durability(&self) -> fs::Durability {
        self.durability
    }

    /// Record `n` bytes expanded from an archive; past the run's budget it is an error, so a
    /// sync of many small bombs ends as surely as one big one.
    pub fn charge_unpacked(&self, n: u64) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering;
        let total = self.unpacked.fetch_add(n, Ordering::Relaxed) + n;
        if total > self.max_unpacked {
            return Err(StoreError::TooLarge {
                limit: self.max_unpacked,
                scope: "this run's archives together",
            });
        }
        Ok(())
    }

    /// Open the store at `home` (the one the CLI resolved and passed down).
    pub fn open_home(home: layout::Home) -> Result<Store, StoreError> {
        Store::open_layout(Store::home_layout(home)?.clone())
    }

    /// The layout of `home`, or the error that says how to name one.
    pub fn home_layout(home: layout::Home) -> Result<&'static Layout, StoreError> {
        home.layout().ok_or(StoreError::NoHome)
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The stable path of the aibox executable (`libexec/aibox`), made to point at the one
    /// running now if it does not already: command wrappers exec it, so moving aibox breaks
    /// nothing past the next aibox command.
    pub fn aibox_link(&self) -> Result<PathBuf, StoreError> {
        let link = self.layout.aibox_link();
        let exe = std::env::current_exe()
            .and_then(fs::canonicalize)
            .ctx(|| "cannot find the aibox executable".into())?;
        if fs::read_link(&link).ok().as_deref() != Some(exe.as_path()) {
            if let Some(dir) = link.parent() {
                fs::create_dir_all(dir).ctx(|| format!("cannot create `{}`", dir.display()))?;
            }
            fs::replace_symlink(&exe, &link)
                .ctx(|| format!("cannot write `{}`", link.display()))?;
        }
        Ok(link)
    }

    /// The staging area `tmp/`, claimed for this process (see [`fs::claim_staging`]): what it
    /// stages there and leaves behind by dying is recognised and removed by the next run.
    pub fn staging(&self) -> Result<PathBuf, StoreError> {
        let tmp = self.layout.tmp();
        fs::claim_staging(&tmp)
            .ctx(|| format!("cannot use the staging area `{}`", tmp.display()))?;
        Ok(tmp)
    }

    /// Remove what runs that died (Ctrl-C, `kill -9`, a crash) staged in `tmp/`; returns the
    /// bytes freed. Safe beside live runs: their staging is kept.
    pub fn sweep_staging(&self) -> Result<u64, StoreError> {
        let tmp = self.layout.tmp();
        fs::sweep_staging(&tmp).ctx(|| format!("cannot clean the staging area `{}`", tmp.display()))
    }

    /// Take the store lock: shared for anything that adds to the store or switches
    /// generations, exclusive for gc and repair.
    pub fn lock(&self, mode: LockMode) -> Result<LockedFile, StoreError> {
        let what = match mode {
            LockMode::Shared => "store",
            LockMode::Exclusive => "store, exclusive",
        };
        Ok(LockedFile::acquire(
            &self.layout.store_lock(),
            mode,
            what,
            fs::lock_timeout()?,
            &|msg| self.reporter.status("Blocking", msg),
        )?)
    }
}
