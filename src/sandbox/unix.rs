//! The Unix sockets a pack declares (`net.unix`). Landlock does not mediate `connect(2)` on
//! pathname sockets and a seccomp filter cannot read the path, so a sandboxed program creates
//! no `AF_UNIX` socket at all: aibox connects to each declared path before `exec` — checking
//! that it is a socket the user can reach — and hands the connected descriptors over open.
//! `AIBOX_UNIX_FDS` lists their numbers, in the order `net.unix` declares the paths.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};

use super::error::SandboxError;

/// The variable naming the handed-over descriptors (space-separated, in declaration order).
pub const FDS_VAR: &str = crate::env_vars::UNIX_FDS;

/// Connect to `path`: a stream socket, or a datagram socket (such as `/dev/log`).
fn connect(path: &Path) -> std::io::Result<OwnedFd> {
    let meta = crate::fs::metadata(path)?;
    if !meta.file_type().is_socket() {
        return Err(std::io::Error::other("it is not a Unix socket"));
    }
    match UnixStream::connect(path) {
        Ok(s) => Ok(s.into()),
        Err(e) if e.raw_os_error() == Some(libc::EPROTOTYPE) => {
            let d = UnixDatagram::unbound()?;
            d.connect(path)?;
            Ok(d.into())
        }
        Err(e) => Err(e),
    }
}

/// Connect to every path (close-on-exec descriptors of this process; the child clears the
/// flag on exactly these before `exec`).
pub(super) fn connect_all(paths: &[PathBuf]) -> Result<Vec<OwnedFd>, SandboxError> {
    paths
        .iter()
        .map(|p| {
            connect(p).map_err(|source| SandboxError::UnixSocket {
                path: p.clone(),
                source,
            })
        })
        .collect()
}

/// The value of [`FDS_VAR`] for `fds`.
pub(super) fn fds_value(fds: &[OwnedFd]) -> String {
    fds.iter()
        .map(|f| f.as_raw_fd().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Let `fds` survive `exec` (in the child, between fork and exec).
pub(super) fn inherit(fds: &[i32]) -> std::io::Result<()> {
    for fd in fds {
        // SAFETY: F_SETFD on a descriptor this process owns; no memory is touched.
        if unsafe { libc::fcntl(*fd, libc::F_SETFD, 0) } == -1 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
