//! What the running kernel offers: the Landlock ABI version (asked once per process).

use std::sync::OnceLock;

/// The kernel's sandbox support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Support {
    /// The Landlock ABI version; `None`: Landlock is not built in or not enabled.
    pub abi: Option<i32>,
}

impl Support {
    /// One line for people: what is enforced and what is not.
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
}

/// The kernel's support, probed once.
pub fn support() -> Support {
    static SUPPORT: OnceLock<Support> = OnceLock::new();
    *SUPPORT.get_or_init(|| {
        if std::env::var_os("AIBOX_SANDBOX_ABI").is_some_and(|v| v == "0") {
            // Lets tests and users see how aibox behaves on a kernel without Landlock.
            return Support { abi: None };
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
        }
    })
}
