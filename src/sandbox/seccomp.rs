//! The seccomp filter every sandboxed program gets beside Landlock: compiled with `seccompiler`
//! in the parent, installed in the child as the last step before `exec`. It closes what
//! Landlock does not mediate:
//!
//! - sockets: only TCP (`AF_INET`/`AF_INET6` stream sockets, protocol TCP: Landlock decides
//!   the ports) and `NETLINK_ROUTE` (the C library's address queries) may be created; UDP only
//!   when the pack declares `net.udp = true`. No `AF_UNIX` socket can be created at all — the
//!   Unix sockets a pack declares (`net.unix`) are connected by aibox before `exec` and handed
//!   over open (see [`super::unix`]); `socketpair(2)` stays allowed (it reaches nobody);
//! - terminal input injection: `ioctl(TIOCSTI)` and `ioctl(TIOCLINUX)`;
//! - other processes and the kernel's attack surface: `ptrace`, `process_vm_readv`/`writev`,
//!   `pidfd_getfd`, `keyctl`/`add_key`/`request_key`, `bpf`, `userfaultfd`, `io_uring_*`
//!   (whose operations would bypass this filter), `setns`, and new user namespaces
//!   (`unshare`/`clone` with `CLONE_NEWUSER`; `clone3`, whose flags a filter cannot read,
//!   answers `ENOSYS` so the C library falls back to `clone`).
//!
//! Refused calls fail with `EPERM`. A system call of another architecture (32-bit `int 0x80`)
//! ends the process; on x86-64 the x32 numbers of the refused calls are refused as well.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// What the filter lets through beyond the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Allow {
    /// UDP sockets (`net.udp = true`).
    pub udp: bool,
}

/// The architecture aibox builds filters for, if it is one `seccompiler` knows.
fn arch() -> Option<TargetArch> {
    TargetArch::try_from(std::env::consts::ARCH).ok()
}

/// Whether a filter can be installed here: a known architecture and a kernel with seccomp
/// filters that return errors.
pub(super) fn available() -> bool {
    if arch().is_none() {
        return false;
    }
    let action: u32 = libc::SECCOMP_RET_ERRNO;
    // SAFETY: SECCOMP_GET_ACTION_AVAIL only reads the u32 it is given.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_GET_ACTION_AVAIL,
            0,
            &action as *const u32,
        )
    };
    rc == 0
}

fn cond(arg: u8, op: SeccompCmpOp, value: u64) -> SeccompCondition {
    // Arguments are compared as 32-bit values, as the kernel reads `int` and `unsigned int`
    // arguments (high bits set by a caller cannot slip past).
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value).expect("argument index 0–5")
}

fn rule(conditions: Vec<SeccompCondition>) -> SeccompRule {
    SeccompRule::new(conditions).expect("a rule with conditions")
}

fn c(v: libc::c_int) -> u64 {
    v as u64
}

/// An ioctl request number (its type differs between C libraries).
#[allow(clippy::unnecessary_cast)]
fn request(r: libc::Ioctl) -> u64 {
    r as u64
}

/// The rules of `socket(2)`: each one that matches refuses the call.
fn socket_rules(allow: Allow) -> Vec<SeccompRule> {
    use SeccompCmpOp::{Eq, MaskedEq, Ne};
    let (inet, inet6, netlink) = (c(libc::AF_INET), c(libc::AF_INET6), c(libc::AF_NETLINK));
    let (stream, dgram) = (c(libc::SOCK_STREAM), c(libc::SOCK_DGRAM));
    // Every family but these three (AF_UNIX, AF_PACKET, AF_VSOCK, …).
    let mut rules = vec![rule(vec![
        cond(0, Ne, inet),
        cond(0, Ne, inet6),
        cond(0, Ne, netlink),
    ])];
    for family in [inet, inet6] {
        // The socket type is the low four bits (the rest are SOCK_NONBLOCK, SOCK_CLOEXEC).
        for kind in 0..16u64 {
            if kind == stream || (allow.udp && kind == dgram) {
                continue;
            }
            rules.push(rule(vec![
                cond(0, Eq, family),
                cond(1, MaskedEq(0xf), kind),
            ]));
        }
        // A stream socket is TCP (SCTP and MPTCP are not what Landlock's port rules cover).
        rules.push(rule(vec![
            cond(0, Eq, family),
            cond(1, MaskedEq(0xf), stream),
            cond(2, Ne, 0),
            cond(2, Ne, c(libc::IPPROTO_TCP)),
        ]));
        if allow.udp {
            // A datagram socket is UDP (not ICMP or UDP-Lite).
            rules.push(rule(vec![
                cond(0, Eq, family),
                cond(1, MaskedEq(0xf), dgram),
                cond(2, Ne, 0),
                cond(2, Ne, c(libc::IPPROTO_UDP)),
            ]));
        }
    }
    rules.push(rule(vec![
        cond(0, Eq, netlink),
        cond(2, Ne, c(libc::NETLINK_ROUTE)),
    ]));
    rules
}

/// Every refused system call with the rules under which it is refused (none: always).
fn refused(allow: Allow) -> BTreeMap<i64, Vec<SeccompRule>> {
    use SeccompCmpOp::{Eq, MaskedEq};
    let newuser = c(libc::CLONE_NEWUSER);
    let mut map: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for nr in [
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_pidfd_getfd,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_bpf,
        libc::SYS_userfaultfd,
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        libc::SYS_setns,
    ] {
        map.insert(nr, Vec::new());
    }
    map.insert(
        libc::SYS_unshare,
        vec![rule(vec![cond(0, MaskedEq(newuser), newuser)])],
    );
    map.insert(
        libc::SYS_clone,
        vec![rule(vec![cond(0, MaskedEq(newuser), newuser)])],
    );
    map.insert(
        libc::SYS_ioctl,
        vec![
            rule(vec![cond(1, Eq, request(libc::TIOCSTI))]),
            rule(vec![cond(1, Eq, request(libc::TIOCLINUX))]),
        ],
    );
    map.insert(libc::SYS_socket, socket_rules(allow));
    #[cfg(target_arch = "x86_64")]
    {
        // x32 system calls report the x86-64 architecture: refuse the x32 numbers of every
        // call above outright (x32 programs are not run sandboxed).
        const X32: i64 = 0x4000_0000;
        let mut x32: Vec<i64> = map.keys().map(|nr| nr | X32).collect();
        // x32's own numbers for ioctl, ptrace and process_vm_readv/writev.
        x32.extend([514, 521, 539, 540].map(|nr| nr | X32));
        x32.push(libc::SYS_clone3 | X32);
        for nr in x32 {
            map.insert(nr, Vec::new());
        }
    }
    map
}

/// The filters to install, in order: the refusals (`EPERM`), then `clone3` (`ENOSYS`).
pub(super) fn build(allow: Allow) -> Result<Vec<BpfProgram>, seccompiler::Error> {
    let Some(arch) = arch() else {
        return Ok(Vec::new());
    };
    let main = SeccompFilter::new(
        refused(allow),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )?;
    let clone3 = SeccompFilter::new(
        BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )?;
    Ok(vec![main.try_into()?, clone3.try_into()?])
}

/// Install `filters` on the calling thread (in the child, between fork and exec: no
/// allocation on the success path).
pub(super) fn install(filters: &[BpfProgram]) -> std::io::Result<()> {
    for f in filters {
        seccompiler::apply_filter(f).map_err(|e| match e {
            seccompiler::Error::Prctl(io) | seccompiler::Error::Seccomp(io) => io,
            _ => std::io::Error::from_raw_os_error(libc::EINVAL),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filters_compile_within_the_kernel_s_limit() {
        for udp in [false, true] {
            let filters = build(Allow { udp }).unwrap();
            assert_eq!(filters.len(), 2);
            // BPF_MAXINSNS is 4096 per program.
            assert!(filters.iter().all(|f| !f.is_empty() && f.len() < 4096));
        }
    }
}
