//! Open directories: files, links and renames made relative to a directory handle
//! (`openat(2)` and its family), so a store that writes thousands of files walks each path
//! once, when the directory is opened, not once per call. Every error names the path it is
//! about.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};

/// An open directory and the path it was opened at (for messages).
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

fn named(e: rustix::io::Errno, path: &Path) -> io::Error {
    let e = io::Error::from(e);
    io::Error::new(e.kind(), format!("{e} (at `{}`)", path.display()))
}

/// The process's umask, read once from `/proc/self/status` (reading it with `umask(2)` would
/// change it for a moment under other threads); `None` when it cannot be read.
fn umask() -> Option<u32> {
    static MASK: OnceLock<Option<u32>> = OnceLock::new();
    *MASK.get_or_init(|| {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
        u32::from_str_radix(line.trim(), 8).ok()
    })
}

impl Dir {
    /// Open the directory at `path` (following links, as any path lookup does).
    pub fn open(path: &Path) -> io::Result<Dir> {
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| named(e, path))?;
        Ok(Dir {
            fd,
            path: path.to_owned(),
        })
    }

    /// The path it was opened at.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Open the directory `name` inside this one, without following a link at `name`.
    pub fn open_dir(&self, name: &str) -> io::Result<Dir> {
        let path = self.path.join(name);
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| named(e, &path))?;
        Ok(Dir { fd, path })
    }

    /// Create the new file `name` (it must not exist) for writing, with exactly `mode`: the
    /// mode is given at creation, and set again only when the umask took bits from it.
    pub fn create_file(&self, name: &str, mode: u32) -> io::Result<std::fs::File> {
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
            Mode::from_raw_mode(mode),
        )
        .map_err(|e| named(e, &self.path.join(name)))?;
        if umask().is_none_or(|m| m & mode != 0) {
            rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))
                .map_err(|e| named(e, &self.path.join(name)))?;
        }
        Ok(std::fs::File::from(fd))
    }

    /// Create the directory `name` (mode 0755 less the umask); `Ok(false)` when something is
    /// already there.
    pub fn create_dir(&self, name: &str) -> io::Result<bool> {
        match rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(0o755)) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::EXIST) => Ok(false),
            Err(e) => Err(named(e, &self.path.join(name))),
        }
    }

    /// A symlink `name` pointing at `target`.
    pub fn symlink(&self, target: &str, name: &str) -> io::Result<()> {
        rustix::fs::symlinkat(target, &self.fd, name).map_err(|e| named(e, &self.path.join(name)))
    }

    /// A hard link `to_name` in `to` of the file `name` here.
    pub fn hard_link(&self, name: &str, to: &Dir, to_name: &str) -> io::Result<()> {
        rustix::fs::linkat(&self.fd, name, &to.fd, to_name, AtFlags::empty())
            .map_err(|e| named(e, &to.path.join(to_name)))
    }

    /// Rename `name` here to `to_name` in `to`, replacing what is there (a file, or an empty
    /// directory when `name` is a directory).
    pub fn rename(&self, name: &str, to: &Dir, to_name: &str) -> io::Result<()> {
        rustix::fs::renameat(&self.fd, name, &to.fd, to_name).map_err(|e| {
            let e = io::Error::from(e);
            io::Error::new(
                e.kind(),
                format!(
                    "{e} (renaming `{}` to `{}`)",
                    self.path.join(name).display(),
                    to.path.join(to_name).display()
                ),
            )
        })
    }

    /// Rename `name` here to `to_name` in `to` unless that name exists: `Ok(false)` when it
    /// does (`renameat2(RENAME_NOREPLACE)`; where the filesystem lacks it, a link and an
    /// unlink, which refuse an existing name the same way).
    pub fn rename_noreplace(&self, name: &str, to: &Dir, to_name: &str) -> io::Result<bool> {
        match rustix::fs::renameat_with(&self.fd, name, &to.fd, to_name, RenameFlags::NOREPLACE) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::EXIST) => Ok(false),
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
                match rustix::fs::linkat(&self.fd, name, &to.fd, to_name, AtFlags::empty()) {
                    Ok(()) => {}
                    Err(rustix::io::Errno::EXIST) => return Ok(false),
                    Err(e) => return Err(named(e, &to.path.join(to_name))),
                }
                self.remove_file(name)?;
                Ok(true)
            }
            Err(e) => Err(named(e, &to.path.join(to_name))),
        }
    }

    /// Whether `name` exists here (a dangling link counts); other errors are returned.
    pub fn exists(&self, name: &str) -> io::Result<bool> {
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(_) => Ok(true),
            Err(rustix::io::Errno::NOENT) => Ok(false),
            Err(e) => Err(named(e, &self.path.join(name))),
        }
    }

    /// Remove the file or link `name`; a missing one is not an error.
    pub fn remove_file(&self, name: &str) -> io::Result<()> {
        match rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(named(e, &self.path.join(name))),
        }
    }

    /// Remove the empty directory `name`; a missing one is not an error.
    pub fn remove_dir(&self, name: &str) -> io::Result<()> {
        match rustix::fs::unlinkat(&self.fd, name, AtFlags::REMOVEDIR) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(named(e, &self.path.join(name))),
        }
    }

    /// Set this directory's mode.
    pub fn set_mode(&self, mode: u32) -> io::Result<()> {
        rustix::fs::fchmod(&self.fd, Mode::from_raw_mode(mode)).map_err(|e| named(e, &self.path))
    }

    /// Set the mode of `name` here (for a directory this store just made; a link there would
    /// be followed).
    pub fn set_mode_of(&self, name: &str, mode: u32) -> io::Result<()> {
        rustix::fs::chmodat(&self.fd, name, Mode::from_raw_mode(mode), AtFlags::empty())
            .map_err(|e| named(e, &self.path.join(name)))
    }

    /// fsync this directory: the entries made or renamed in it are durable.
    pub fn sync(&self) -> io::Result<()> {
        rustix::fs::fsync(&self.fd).map_err(|e| named(e, &self.path))
    }

    /// `syncfs(2)` on the filesystem holding this directory: everything written to that
    /// filesystem before the call, data and metadata, is durable when it returns.
    pub fn sync_filesystem(&self) -> io::Result<()> {
        rustix::fs::syncfs(&self.fd).map_err(|e| named(e, &self.path))
    }
}

impl AsFd for Dir {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn files_links_and_renames_relative_to_a_directory() {
        let t = tempfile::tempdir().unwrap();
        let d = Dir::open(t.path()).unwrap();
        let mut f = d.create_file("a", 0o444).unwrap();
        f.write_all(b"hello").unwrap();
        drop(f);
        let mode = std::fs::metadata(t.path().join("a"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o444, "the mode is exact whatever the umask");
        assert!(
            d.create_file("a", 0o444).is_err(),
            "never over an existing file"
        );
        assert!(d.create_dir("sub").unwrap());
        assert!(
            !d.create_dir("sub").unwrap(),
            "EEXIST is an answer, not an error"
        );
        let sub = d.open_dir("sub").unwrap();
        d.hard_link("a", &sub, "b").unwrap();
        assert!(d.rename_noreplace("a", &sub, "c").unwrap());
        assert!(!d.exists("a").unwrap());
        d.create_file("a", 0o444).unwrap();
        assert!(
            !d.rename_noreplace("a", &sub, "c").unwrap(),
            "an existing name is kept"
        );
        assert_eq!(std::fs::read(t.path().join("sub/c")).unwrap(), b"hello");
        sub.symlink("c", "l").unwrap();
        assert_eq!(
            std::fs::read_link(t.path().join("sub/l")).unwrap(),
            Path::new("c")
        );
        let err = d.open_dir("missing").unwrap_err().to_string();
        assert!(
            err.contains(&t.path().join("missing").display().to_string()),
            "{err}"
        );
        sub.sync().unwrap();
        d.sync_filesystem().unwrap();
    }
}
