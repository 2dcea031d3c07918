//! What the running kernel offers: the Landlock ABI version and whether seccomp filters can be
//! installed (asked once per process), and the one test switch that pretends otherwise.

use std::ffi::OsStr;
use std::sync::OnceLock;

use super::SandboxError;

/// The test switch: `AIBOX_SANDBOX_ABI=0` makes aibox behave as on a kernel without Landlock.
pub const ABI_SWITCH: &str = crate::env_vars::SANDBOX_ABI;

/// Whether this build honours test switches: test builds (debug assertions on, as `cargo test`
/// and `cargo build` make them) do; release builds — what `scripts/release` publishes and
/// `cargo install` makes — refuse to sandbox pack code while one is set.
pub const HONOURS_TEST_SWITCHES: bool = cfg!(debug_assertions);

/// The kernel's sandbox support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Support {
    /// The Landlock ABI version; `None`: Landlock is not built in or not enabled.
    pub abi: Option<i32>,
    /// Whether a seccomp filter can be installed (`SECCOMP_SET_MODE_FILTER` with errno
    /// returns) on an architecture aibox builds filters for.
    pub seccomp: bool,
}

impl Support {
    /// Whether everything aibox asks of the kernel is enforced.
    pub fn full(&self) -> bool {
        self.abi.is_some_and(|a| a >= super::WANTED_ABI) && self.seccomp
    }

    /// One line for people: what Landlock enforces and what is not.
    pub fn describe(&self) -> String {
        match self.abi {
            Some(abi) if abi >= super::WANTED_ABI => format!(
                "Landlock ABI {abi}: filesystem, TCP ports, signal and abstract-socket scoping enforced"
            ),
            Some(abi) if abi >= 4 => format!(
                "Landlock ABI {abi}: filesystem and TCP ports enforced; signal and abstract-socket scoping not (needs ABI {})",
                super::WANTED_ABI
            ),
            Some(abi) => format!(
                "Landlock ABI {abi}: filesystem enforced; network not (needs ABI 4, Linux 6.7)"
            ),
            None => "no Landlock: sandboxed programs run with a cleared environment and resource limits only".into(),
        }
    }

    /// One line for people: what the seccomp filter refuses, or that it cannot be installed.
    pub fn describe_seccomp(&self) -> String {
        if self.seccomp {
            "seccomp filter: Unix sockets and UDP (unless declared), other socket families, terminal input injection (TIOCSTI, TIOCLINUX), ptrace, process_vm_*, keyctl, bpf, userfaultfd, io_uring and new user namespaces refused".into()
        } else {
            format!(
                "no seccomp filter on this kernel or architecture ({}): Unix sockets, UDP, terminal input injection, ptrace and user namespaces are not refused",
                std::env::consts::ARCH
            )
        }
    }
}

/// What the test switch's `value` means in a build that does (`test_build`) or does not honour
/// test switches: `Ok(true)` pretend there is no Landlock, `Ok(false)` probe the kernel, an
/// error when a release build is asked to sandbox pack code with a switch set.
pub fn abi_switch(value: Option<&OsStr>, test_build: bool) -> Result<bool, SandboxError> {
    match value {
        None => Ok(false),
        Some(v) if test_build => Ok(v == "0"),
        Some(_) => Err(SandboxError::TestSwitch(ABI_SWITCH)),
    }
}

/// The kernel's support, probed once (with the test switch applied in test builds).
pub fn support() -> Support {
    static SUPPORT: OnceLock<Support> = OnceLock::new();
    *SUPPORT.get_or_init(|| {
        let seccomp = super::seccomp::available();
        let switched_off = abi_switch(
            crate::env_vars::var_os(ABI_SWITCH).as_deref(),
            HONOURS_TEST_SWITCHES,
        )
        .unwrap_or(false);
        if switched_off {
            // Lets tests see how aibox behaves on a kernel without Landlock.
            return Support { abi: None, seccomp };
        }
        // SAFETY: LANDLOCK_CREATE_RULESET_VERSION with a null attribute only returns the ABI.
        let v = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<libc::c_void>(),
                0usize,
                1u32,
            )
        };
        Support {
            abi: (v > 0).then_some(v as i32),
            seccomp,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_abi_switch_is_honoured_only_by_test_builds() {
        let zero = OsStr::new("0");
        assert!(!abi_switch(None, true).unwrap());
        assert!(!abi_switch(None, false).unwrap());
        assert!(abi_switch(Some(zero), true).unwrap());
        assert!(!abi_switch(Some(OsStr::new("6")), true).unwrap());
        // A release build refuses any value rather than sandbox pack code with it set.
        let e = abi_switch(Some(zero), false).unwrap_err();
        assert!(e.to_string().contains(crate::env_vars::SANDBOX_ABI), "{e}");
        assert!(abi_switch(Some(OsStr::new("6")), false).is_err());
    }
}
