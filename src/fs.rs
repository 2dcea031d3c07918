//! The one place that touches the filesystem: fs-err re-exports (every error names its path),
//! atomic writes, content-addressed "persist unless present", symlink replacement, directory
//! fsync, durability modes, open directory handles ([`Dir`]) and the advisory file lock used by
//! the store and profiles.
#![allow(clippy::disallowed_methods)]

mod dir;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use fs_err::os::unix::fs::symlink;
pub use fs_err::{
    File, OpenOptions, canonicalize, copy, create_dir, create_dir_all, hard_link, metadata, read,
    read_dir, read_link, read_to_string, remove_dir, remove_dir_all, remove_file, rename,
    set_permissions, symlink_metadata, write,
};
pub use std::fs::{Metadata, Permissions};
pub use std::os::unix::fs::{MetadataExt, PermissionsExt};

pub use dir::Dir;

/// How much of what aibox writes is flushed to the disk (`store.durability`,
/// `AIBOX_DURABILITY`; store-format/SPEC.md §2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// Everything is durable before anything names it: a crash of the machine at any point
    /// leaves the previous state (the default).
    #[default]
    Full,
    /// Nothing is flushed; a crash of the machine (not of aibox) can leave damaged files that
    /// `aibox store verify --repair` removes. For throwaway machines such as CI runners.
    Ephemeral,
}

impl Durability {
    /// The values as written in the configuration and `AIBOX_DURABILITY`.
    pub const VALUES: [&'static str; 2] = ["full", "ephemeral"];

    pub fn parse(text: &str) -> Option<Durability> {
        match text.trim() {
            "full" => Some(Durability::Full),
            "ephemeral" => Some(Durability::Ephemeral),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Full => "full",
            Durability::Ephemeral => "ephemeral",
        }
    }

    /// Whether writes are flushed.
    pub fn flushes(self) -> bool {
        self == Durability::Full
    }
}

/// A new name for a temporary file or directory of this process (`.tmp-<tag>-<kind><n>`):
/// unique within the process without a random draw, and recognised by [`sweep_staging`]
/// once the process is gone.
pub fn temp_name(kind: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}{kind}{n}", temp_prefix())
}

/// This process's tag: the prefix of every temporary name it makes is `.tmp-<tag>-`, so what
/// a process that died left behind can be told from what a live one is using.
fn process_tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        let salt = random_bytes::<4>().map(hex::encode).unwrap_or_default();
        format!("{}{salt}", std::process::id())
    })
}

fn temp_prefix() -> String {
    format!(".tmp-{}-", process_tag())
}

/// A named temporary file in `dir` (same filesystem as its final place).
pub fn temp_file_in(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(&temp_prefix())
        .tempfile_in(dir)
        .map_err(|e| with_path(e, dir))
}

/// A temporary directory in `dir`, removed on drop unless kept with `TempDir::keep`.
pub fn temp_dir_in(dir: &Path) -> io::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(&temp_prefix())
        .tempdir_in(dir)
        .map_err(|e| with_path(e, dir))
}

/// Mark `dir` (a staging area) as holding this process's temporary files: a lock file
/// `.owner-<tag>` in it, locked for as long as the process lives (the kernel releases it when
/// the process dies, even by `kill -9`). Cheap after the first call for a directory.
pub fn claim_staging(dir: &Path) -> io::Result<()> {
    let mut held = HELD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if held.iter().any(|(d, _)| d == dir) {
        return Ok(());
    }
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(format!(".owner-{}", process_tag())))?;
    file.file().lock()?;
    held.push((dir.to_owned(), file));
    Ok(())
}

/// The staging areas this process claimed, with their held owner locks.
static HELD: std::sync::Mutex<Vec<(PathBuf, File)>> = std::sync::Mutex::new(Vec::new());

/// At the end of a run: give up every claim whose staging area holds nothing of this process
/// any more (its owner lock file is removed); a claim with leftovers stays for the next
/// run's sweep.
pub fn release_staging() {
    let mut held = HELD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let prefix = temp_prefix();
    held.retain(|(dir, _)| {
        let busy = read_dir(dir).map_or(true, |rd| {
            rd.filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        });
        if !busy {
            let _ = remove_file(dir.join(format!(".owner-{}", process_tag())));
        }
        busy
    });
}

/// Remove from the staging area `dir` what processes that are gone left there: for each
/// `.owner-<tag>` lock that no process holds any more, every `.tmp-<tag>-*` entry and the lock
/// file. Returns the bytes freed. Entries of live processes (whose lock is held) are kept.
pub fn sweep_staging(dir: &Path) -> io::Result<u64> {
    let mut freed = 0;
    for item in read_dir(dir)? {
        let item = item?;
        let name = item.file_name().to_string_lossy().into_owned();
        let Some(tag) = name.strip_prefix(".owner-") else {
            continue;
        };
        let owner = OpenOptions::new().write(true).open(item.path())?;
        match owner.file().try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => continue, // alive
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        let prefix = format!(".tmp-{tag}-");
        for left in read_dir(dir)? {
            let left = left?;
            if left.file_name().to_string_lossy().starts_with(&prefix) {
                freed += tree_bytes(&left.path());
                remove_tree(&left.path())?;
            }
        }
        remove_file(item.path())?;
    }
    Ok(freed)
}

/// The bytes of the regular files under `path` (a file counts itself); unreadable parts count
/// nothing.
pub fn tree_bytes(path: &Path) -> u64 {
    let Ok(meta) = symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return if meta.is_file() { meta.len() } else { 0 };
    }
    read_dir(path)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| tree_bytes(&e.path()))
                .sum()
        })
        .unwrap_or(0)
}

/// A staging directory in `dir` that is removed on drop even when it holds read-only
/// directories (sealed pack trees), which [`tempfile::TempDir`] cannot remove as a user.
#[derive(Debug)]
pub struct StagingDir {
    path: PathBuf,
}

impl StagingDir {
    pub fn new_in(dir: &Path) -> io::Result<StagingDir> {
        Ok(StagingDir {
            path: temp_dir_in(dir)?.keep(),
        })
    }

    /// Take charge of `path` (already made by the caller): removed on drop unless kept.
    pub fn adopt(path: PathBuf) -> StagingDir {
        StagingDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Keep the directory: the caller hands it on.
    pub fn keep(self) -> PathBuf {
        let path = self.path.clone();
        std::mem::forget(self);
        path
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        let _ = remove_tree(&self.path);
    }
}

/// `N` bytes from the kernel's random source (`/dev/urandom`), for secrets such as tokens.
pub fn random_bytes<const N: usize>() -> io::Result<[u8; N]> {
    use std::io::Read;
    let mut buf = [0u8; N];
    File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf)
}

/// A temporary directory anywhere (tests, scratch space outside the store).
pub fn temp_dir() -> io::Result<tempfile::TempDir> {
    tempfile::tempdir()
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{e} (in `{}`)", path.display()))
}

/// Whether `path` exists (a dangling symlink counts as existing). Errors other than "not
/// found" are returned.
pub fn exists(path: &Path) -> io::Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(with_path(e, path)),
    }
}

/// Open `path` for reading only if it is a regular file: opened non-blocking (a FIFO cannot
/// hang the open) and checked with `fstat` on the open handle (a path swapped after a `stat`
/// cannot slip through; a symlink to `/dev/zero` is refused).
pub fn open_regular(path: &Path) -> io::Result<File> {
    use fs_err::os::unix::fs::OpenOptionsExt;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{}` is not a regular file", path.display()),
        ));
    }
    Ok(file)
}

/// Read a regular file of at most `max` bytes (see [`open_regular`]); a larger one is an
/// error, found without reading more than `max + 1` bytes.
pub fn read_regular(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let file = open_regular(path)?;
    let mut out = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("`{}` is larger than {max} bytes", path.display()),
        ));
    }
    Ok(out)
}

/// [`read_regular`] as UTF-8 text.
pub fn read_regular_string(path: &Path, max: u64) -> io::Result<String> {
    String::from_utf8(read_regular(path, max)?).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("`{}` is not UTF-8 text", path.display()),
        )
    })
}

/// fsync a directory so that renames and creations inside it are durable.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Ask the kernel to start writing `file`'s dirty pages to disk now, without waiting
/// (`sync_file_range(SYNC_FILE_RANGE_WRITE)`): a later fsync of many such files finds most of
/// the data already written. Durability still comes from that fsync; this is only a head start.
pub fn start_writeback(file: &std::fs::File) {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is open for the duration of the call; the call reads no memory.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
    }
}

/// fsync many files or directories, several at a time (latency-bound work: a batch of small
/// files is made durable in a fraction of the time a serial loop takes).
pub fn fsync_many(paths: &[PathBuf]) -> io::Result<()> {
    const PER_THREAD: usize = 64;
    if paths.len() <= PER_THREAD {
        return paths.iter().try_for_each(|p| File::open(p)?.sync_all());
    }
    let chunks: Vec<&[PathBuf]> = paths.chunks(PER_THREAD).collect();
    crate::parallel::try_for_each(&chunks, 8, |part| {
        part.iter().try_for_each(|p| File::open(p)?.sync_all())
    })
}

/// Write `bytes` to `path` atomically: temp file in the same directory, fsync, rename, fsync
/// of the directory. Readers see the old or the new content, never a mix. A new file gets the
/// mode the user's umask allows (like any file a program creates); an existing file keeps its
/// mode.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_as(path, bytes, Durability::Full)
}

/// [`write_atomic`], flushing only under [`Durability::Full`] (ephemeral: [`write_replace`]).
pub fn write_atomic_as(path: &Path, bytes: &[u8], durability: Durability) -> io::Result<()> {
    if !durability.flushes() {
        return write_replace(path, bytes);
    }
    let dir = parent_of(path);
    let mut tmp = user_temp_file(path)?;
    tmp.write_all(bytes).map_err(|e| with_path(e, tmp.path()))?;
    tmp.as_file()
        .sync_data()
        .map_err(|e| with_path(e, tmp.path()))?;
    tmp.persist(path).map_err(|e| with_path(e.error, path))?;
    fsync_dir(dir)
}

/// A temp file beside `path` that will replace it: the mode of the existing file, else
/// 0666 less the umask.
fn user_temp_file(path: &Path) -> io::Result<tempfile::NamedTempFile> {
    let dir = parent_of(path);
    let existing = match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Some(m.permissions().mode() & 0o7777),
        _ => None,
    };
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(|e| with_path(e, dir))?;
    if let Some(mode) = existing {
        tmp.as_file()
            .set_permissions(Permissions::from_mode(mode))
            .map_err(|e| with_path(e, tmp.path()))?;
    }
    Ok(tmp)
}

/// Write `bytes` to `path` atomically but without making it durable: temp file in the same
/// directory, rename. Readers see the old or the new content, never a mix; after a crash the
/// file may be missing or empty. For caches whose content is checked on every read, where two
/// fsyncs per entry would cost more than refetching a lost entry.
pub fn write_replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = user_temp_file(path)?;
    tmp.write_all(bytes).map_err(|e| with_path(e, tmp.path()))?;
    tmp.persist(path).map_err(|e| with_path(e.error, path))?;
    Ok(())
}

/// Copy `from` to the content-addressed name `dest` unless that name exists already, as
/// [`write_atomic`] writes: a temp file beside it with the mode the user's umask allows,
/// fsync, no-clobber rename, fsync of the directory. Returns `true` when this call created it.
pub fn copy_noclobber(from: &Path, dest: &Path) -> io::Result<bool> {
    let mut tmp = user_temp_file(dest)?;
    let mut src = File::open(from)?;
    io::copy(&mut src, &mut tmp).map_err(|e| with_path(e, tmp.path()))?;
    tmp.as_file()
        .sync_data()
        .map_err(|e| with_path(e, tmp.path()))?;
    let created = persist_noclobber(tmp.into_temp_path(), dest)?;
    fsync_dir(parent_of(dest))?;
    Ok(created)
}

/// Move a finished temp file to its content-addressed name unless that name exists already.
/// Returns `true` when this call created it; "already there" is success (same content).
pub fn persist_noclobber(tmp: tempfile::TempPath, dest: &Path) -> io::Result<bool> {
    match tmp.persist_noclobber(dest) {
        Ok(()) => Ok(true),
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(with_path(e.error, dest)),
    }
}

/// Point `link` at `target` atomically: a symlink under a temp name, `rename(2)` over `link`,
/// then fsync of the directory. Readers always see the old or the new target.
pub fn replace_symlink(target: &Path, link: &Path) -> io::Result<()> {
    replace_symlink_as(target, link, Durability::Full)
}

/// [`replace_symlink`], with the directory fsynced only under [`Durability::Full`].
pub fn replace_symlink_as(target: &Path, link: &Path, durability: Durability) -> io::Result<()> {
    let dir = parent_of(link);
    let name = link.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".tmp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    symlink(target, &tmp)?;
    crash_point("switch-link");
    if let Err(e) = std::fs::rename(&tmp, link) {
        let _ = std::fs::remove_file(&tmp);
        return Err(with_path(e, link));
    }
    if durability.flushes() {
        fsync_dir(dir)?;
    }
    Ok(())
}

/// The points where a test build can be made to die (see [`crash_point`]), in the order a
/// sync or self update reaches them.
pub const CRASH_POINTS: [&str; 7] = [
    "staged",
    "durable",
    "objects-named",
    "fetched",
    "prepared",
    "switch-link",
    "switched",
];

/// Fault injection for the crash tests: a test build (debug assertions, as `cargo build` and
/// the suite make) started with `AIBOX_TEST_CRASH_AT=<point>` dies at that point exactly as if
/// it were killed with `kill -9` — no cleanup, no destructors. Release builds never read the
/// variable.
pub fn crash_point(point: &str) {
    if cfg!(debug_assertions)
        && crate::env_vars::var_os(crate::env_vars::TEST_CRASH_AT).is_some_and(|v| v == point)
    {
        // SAFETY: kill(2) on our own pid with SIGKILL; nothing in this process runs after it.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Copy the directory `from` into `to` (created): directories, symlinks (as links) and regular
/// files, whose copies are writable by their owner (0755 for executables, else 0644). Entries
/// named in `skip` at the top level are left out; anything else (devices, FIFOs, sockets) is
/// an error.
pub fn copy_tree(from: &Path, to: &Path, skip: &[&str]) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    create_dir(to)?;
    for entry in read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        let meta = symlink_metadata(&src)?;
        if meta.file_type().is_symlink() {
            symlink(read_link(&src)?, &dst)?;
        } else if meta.is_dir() {
            copy_tree(&src, &dst, &[])?;
        } else if meta.is_file() {
            copy(&src, &dst)?;
            let mode = if meta.permissions().mode() & 0o111 != 0 {
                0o755
            } else {
                0o644
            };
            set_permissions(&dst, std::fs::Permissions::from_mode(mode))?;
        } else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{}` is not a file, directory or symlink", src.display()),
            ));
        }
    }
    Ok(())
}

/// Remove a tree that may contain read-only directories (store trees are made read-only).
pub fn remove_tree(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(with_path(e, path)),
        Ok(m) if !m.is_dir() => return remove_file(path),
        Ok(_) => {}
    }
    make_writable_dirs(path)?;
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r.map_err(|e| with_path(e, path)),
    }
}

fn make_writable_dirs(dir: &Path) -> io::Result<()> {
    set_permissions(dir, Permissions::from_mode(0o755))?;
    for entry in read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            make_writable_dirs(&entry.path())?;
        }
    }
    Ok(())
}

/// Shared (many readers) or exclusive (one writer) advisory lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    Shared,
    Exclusive,
}

/// Failure to take a [`LockedFile`].
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("timed out after {}s waiting for the lock on `{}` ({what})", .waited.as_secs(), .path.display())]
    Timeout {
        path: PathBuf,
        what: String,
        waited: Duration,
    },
    #[error("failed to lock `{}`", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`AIBOX_LOCK_TIMEOUT` is `{0}`, not a number of seconds ≥ 0")]
    BadTimeout(String),
}

impl crate::error::Hint for LockError {
    fn hints(&self) -> Vec<String> {
        match self {
            LockError::Timeout { .. } => vec![
                "another aibox process holds it; wait for it to finish, or raise `AIBOX_LOCK_TIMEOUT` (seconds)".into(),
            ],
            LockError::Io { source, .. } if crate::error::is_permission(source) => {
                vec![crate::error::HOME_NOT_WRITABLE.into()]
            }
            LockError::Io { .. } => vec![],
            LockError::BadTimeout(_) => vec![
                "set `AIBOX_LOCK_TIMEOUT` to a number of seconds such as `30` or `0.5` (`inf` waits forever), or unset it for the default of 300".into(),
            ],
        }
    }
}

/// An open file holding an advisory `flock`; released on drop (and by the kernel when the
/// process dies, so a `kill -9` never leaves a stale lock).
#[derive(Debug)]
pub struct LockedFile {
    _file: File,
    path: PathBuf,
}

impl LockedFile {
    /// Take the lock on `path` (created if missing). If another process holds it, `on_wait`
    /// is called once with a message, then the lock is polled until `timeout`.
    pub fn acquire(
        path: &Path,
        mode: LockMode,
        what: &str,
        timeout: Duration,
        on_wait: &dyn Fn(&str),
    ) -> Result<Self, LockError> {
        let io_err = |source| LockError::Io {
            path: path.to_owned(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_err)?;
        let try_lock = |f: &File| match mode {
            LockMode::Shared => f.file().try_lock_shared(),
            LockMode::Exclusive => f.file().try_lock(),
        };
        let start = Instant::now();
        let mut told = false;
        loop {
            match try_lock(&file) {
                Ok(()) => {
                    return Ok(LockedFile {
                        _file: file,
                        path: path.to_owned(),
                    });
                }
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(e)) => return Err(io_err(e)),
            }
            if !told {
                on_wait(&format!(
                    "waiting for lock on `{}` ({what})",
                    path.display()
                ));
                told = true;
            }
            if start.elapsed() >= timeout {
                return Err(LockError::Timeout {
                    path: path.to_owned(),
                    what: what.to_owned(),
                    waited: start.elapsed(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// How long to wait for a lock: `AIBOX_LOCK_TIMEOUT` seconds (a number ≥ 0, fractions allowed,
/// `inf` = forever), default 300.
pub fn lock_timeout() -> Result<Duration, LockError> {
    match crate::env_vars::var(crate::env_vars::LOCK_TIMEOUT) {
        Ok(text) if !text.trim().is_empty() => {
            parse_timeout(&text).ok_or(LockError::BadTimeout(text))
        }
        _ => Ok(Duration::from_secs(300)),
    }
}

/// Seconds as a duration: `None` for negative numbers, NaN and non-numbers; anything too large
/// to represent (including `inf`) waits forever.
pub fn parse_timeout(text: &str) -> Option<Duration> {
    let secs: f64 = text.trim().parse().ok()?;
    if secs.is_nan() || secs < 0.0 {
        return None;
    }
    Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_content() {
        let dir = temp_dir().unwrap();
        let p = dir.path().join("f");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(read(&p).unwrap(), b"two");
    }

    #[test]
    fn replace_symlink_switches_target() {
        let dir = temp_dir().unwrap();
        let link = dir.path().join("current");
        replace_symlink(Path::new("a"), &link).unwrap();
        replace_symlink(Path::new("b"), &link).unwrap();
        assert_eq!(read_link(&link).unwrap(), Path::new("b"));
    }

    #[test]
    fn exclusive_lock_blocks_until_timeout() {
        let dir = temp_dir().unwrap();
        let p = dir.path().join("lock");
        let _held =
            LockedFile::acquire(&p, LockMode::Exclusive, "t", Duration::ZERO, &|_| {}).unwrap();
        let waited = std::cell::Cell::new(false);
        let err = LockedFile::acquire(
            &p,
            LockMode::Shared,
            "t",
            Duration::from_millis(50),
            &|_| waited.set(true),
        )
        .unwrap_err();
        assert!(waited.get());
        assert!(matches!(err, LockError::Timeout { .. }));
    }

    #[test]
    fn shared_locks_coexist() {
        let dir = temp_dir().unwrap();
        let p = dir.path().join("lock");
        let _a = LockedFile::acquire(&p, LockMode::Shared, "t", Duration::ZERO, &|_| {}).unwrap();
        let _b = LockedFile::acquire(&p, LockMode::Shared, "t", Duration::ZERO, &|_| {}).unwrap();
    }
}
