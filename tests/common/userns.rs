//! Small filesystems for fault tests, without root: a user namespace (mapping only our own
//! uid and gid, so nothing inside gains any privilege over files) with its own mount
//! namespace, held open by a sleeping process, and a tmpfs of a chosen size mounted in it.
//! Commands enter it with `nsenter --preserve-credentials`, so they run as the same
//! unprivileged user, with no capabilities, and see the tmpfs; the rest of the system does not.

use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// A tmpfs at `at`, visible to the commands made by [`SmallFs::command`].
pub struct SmallFs {
    holder: Child,
    pub at: PathBuf,
}

fn check(ret: libc::c_int, what: &str) -> std::io::Result<()> {
    if ret == 0 {
        Ok(())
    } else {
        let e = std::io::Error::last_os_error();
        Err(std::io::Error::new(e.kind(), format!("{what}: {e}")))
    }
}

fn write_file(path: &CString, text: &str) -> std::io::Result<()> {
    // Only async-signal-safe calls between fork and exec: open/write/close on raw fds, with
    // everything allocated before the fork.
    // SAFETY: plain syscalls on a valid NUL-terminated path and a valid buffer.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let n = libc::write(fd, text.as_ptr().cast(), text.len());
        libc::close(fd);
        if n != text.len() as isize {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

impl SmallFs {
    /// Mount a tmpfs of `size` (e.g. `3m`) at `at` (created if missing) in a new namespace.
    pub fn tmpfs(at: &Path, size: &str) -> SmallFs {
        std::fs::create_dir_all(at).unwrap();
        // SAFETY: getuid/getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let uid_map = format!("{uid} {uid} 1\n");
        let gid_map = format!("{gid} {gid} 1\n");
        let target = CString::new(at.as_os_str().as_encoded_bytes()).unwrap();
        let data = CString::new(format!("size={size},mode=0755")).unwrap();
        let tmpfs = CString::new("tmpfs").unwrap();
        let root = CString::new("/").unwrap();
        let [setgroups, uid_file, gid_file] = ["setgroups", "uid_map", "gid_map"]
            .map(|f| CString::new(format!("/proc/self/{f}")).unwrap());
        let mut cmd = Command::new("sleep");
        cmd.arg("infinity");
        // SAFETY: the closure runs in the forked child before exec and only makes syscalls.
        unsafe {
            cmd.pre_exec(move || {
                check(
                    libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS),
                    "unshare",
                )?;
                write_file(&setgroups, "deny")?;
                write_file(&uid_file, &uid_map)?;
                write_file(&gid_file, &gid_map)?;
                check(
                    libc::mount(
                        std::ptr::null(),
                        root.as_ptr(),
                        std::ptr::null(),
                        libc::MS_REC | libc::MS_PRIVATE,
                        std::ptr::null(),
                    ),
                    "making mounts private",
                )?;
                check(
                    libc::mount(
                        tmpfs.as_ptr(),
                        target.as_ptr(),
                        tmpfs.as_ptr(),
                        0,
                        data.as_ptr().cast(),
                    ),
                    "mounting the tmpfs",
                )
            });
        }
        let holder = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot make a small filesystem in a user namespace (unprivileged user namespaces must be enabled): {e}"
            )
        });
        SmallFs {
            holder,
            at: at.to_owned(),
        }
    }

    /// `program` run inside the namespace in directory `cwd`, as the same unprivileged user.
    /// (The directory is entered from inside the namespace: `nsenter --wd` opens it before
    /// entering, which would leave the command below the tmpfs instead of on it.)
    pub fn command(&self, cwd: &Path, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg("--target")
            .arg(self.holder.id().to_string())
            .args(["--user", "--mount", "--preserve-credentials", "--"])
            .args(["sh", "-c", "cd -- \"$0\" && exec \"$@\""])
            .arg(cwd)
            .arg(program);
        cmd
    }

    /// Remount the tmpfs read-only (a read-only home).
    pub fn remount_ro(&self) {
        let pid = self.holder.id();
        let userns = CString::new(format!("/proc/{pid}/ns/user")).unwrap();
        let mntns = CString::new(format!("/proc/{pid}/ns/mnt")).unwrap();
        let target = CString::new(self.at.as_os_str().as_encoded_bytes()).unwrap();
        let mut cmd = Command::new("true");
        // SAFETY: syscalls only, in the forked child before exec.
        unsafe {
            cmd.pre_exec(move || {
                for (ns, kind) in [(&userns, libc::CLONE_NEWUSER), (&mntns, libc::CLONE_NEWNS)] {
                    let fd = libc::open(ns.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
                    if fd < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    check(libc::setns(fd, kind), "setns")?;
                    libc::close(fd);
                }
                check(
                    libc::mount(
                        std::ptr::null(),
                        target.as_ptr(),
                        std::ptr::null(),
                        libc::MS_REMOUNT | libc::MS_RDONLY,
                        std::ptr::null(),
                    ),
                    "remounting read-only",
                )
            });
        }
        let status = cmd.status().expect("cannot remount the tmpfs");
        assert!(status.success(), "remount read-only failed");
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}
