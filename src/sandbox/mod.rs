//! The sandbox every plugin, install hook, health check and event subscriber runs in (Linux):
//! a Landlock ruleset (filesystem paths, TCP connect/bind ports, signal and abstract-socket
//! scoping) built in the parent and applied in the child just before `exec`, a seccomp filter
//! beside it (Unix sockets, UDP, terminal input injection, ptrace, user namespaces: see
//! [`seccomp`]), resource limits (rlimits), and an environment cleared down to what the pack
//! declared.
//!
//! What the child may touch: the system's programs and libraries read-only (`/usr`, `/bin`,
//! `/lib*`, `/etc`, `/opt`, `/proc`), the store read-only, the few device files every program
//! expects (`/dev/null`, `/dev/zero`, `/dev/urandom`, `/dev/tty`, …), a private temporary
//! directory, and the paths the pack's `[permissions]` name. Everything else is denied by the
//! kernel, including every TCP port not listed in `net.connect`, every Unix socket not listed
//! in `net.unix` (those are handed over connected) and UDP unless `net.udp = true`.

mod error;
mod limits;
mod probe;
mod seccomp;
mod unix;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use landlock::{
    ABI, Access, AccessFs, AccessNet, NetPort, Ruleset, RulesetAttr, RulesetCreatedAttr, Scope,
    path_beneath_rules,
};

use crate::manifest::pack::{Limits, Permissions};

pub use error::SandboxError;
pub use probe::{ABI_SWITCH, HONOURS_TEST_SWITCHES, Support, abi_switch, support};
pub use unix::FDS_VAR as UNIX_FDS_VAR;

/// The Landlock ABI whose features aibox uses (filesystem incl. device ioctls, TCP, scoping).
pub const WANTED_ABI: i32 = 6;

/// Directories every sandboxed program may read and execute from (those that exist).
const SYSTEM_READ: [&str; 12] = [
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc",
    "/opt",
    "/proc",
    "/sys/devices/system/cpu",
    "/nix/store",
];

/// Device files every sandboxed program may open for reading and writing.
const DEVICES: [&str; 7] = [
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
];

/// Variables always passed through from the caller (locale, terminal, identity).
const BASE_ENV: [&str; 9] = [
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "TERM",
    "TZ",
    "NO_COLOR",
    "COLORTERM",
    "COLUMNS",
];

/// Where the variables of `[permissions]` paths point.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub project: Option<PathBuf>,
    pub home: Option<PathBuf>,
    pub cache: Option<PathBuf>,
    pub plugin_dir: Option<PathBuf>,
}

impl Context {
    /// `path` with its leading variable replaced; `None` when the variable has no value here
    /// (e.g. `$PROJECT` outside a project), in which case the entry grants nothing.
    pub fn expand(&self, path: &str) -> Option<PathBuf> {
        for (var, value) in [
            ("$PROJECT", &self.project),
            ("$HOME", &self.home),
            ("$CACHE", &self.cache),
            ("$PLUGIN_DIR", &self.plugin_dir),
        ] {
            if let Some(rest) = path.strip_prefix(var) {
                let base = value.as_ref()?;
                return Some(base.join(rest.trim_start_matches('/')));
            }
        }
        path.starts_with('/').then(|| PathBuf::from(path))
    }
}

/// How much of the sandbox the kernel enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Enforcement {
    /// Every restriction (Landlock ABI 6 or newer, and the seccomp filter).
    Full,
    /// Some: an older Landlock lacks network or scoping rules, or Landlock or the seccomp
    /// filter is missing.
    Partial,
    /// None: neither Landlock nor seccomp (only the cleared environment and the resource
    /// limits apply).
    None,
}

/// What one sandboxed program may do.
#[derive(Debug, Clone, Default)]
pub struct Sandbox {
    read: BTreeSet<PathBuf>,
    write: BTreeSet<PathBuf>,
    connect: BTreeSet<u16>,
    /// Unix sockets handed over connected, in declaration order.
    unix: Vec<PathBuf>,
    udp: bool,
    pass_env: BTreeSet<String>,
    limits: Limits,
}

impl Sandbox {
    /// Nothing but the system directories and devices.
    pub fn new() -> Sandbox {
        Sandbox::default()
    }

    /// The sandbox `permissions` describe, with paths expanded in `ctx`.
    pub fn from_permissions(permissions: &Permissions, ctx: &Context) -> Sandbox {
        let mut s = Sandbox::new();
        for p in &permissions.fs.read {
            if let Some(path) = ctx.expand(p) {
                s.read.insert(path);
            }
        }
        for p in &permissions.fs.write {
            if let Some(path) = ctx.expand(p) {
                s.write.insert(path);
            }
        }
        s.connect = permissions
            .net
            .connect
            .iter()
            .filter_map(|t| t.port().ok())
            .collect();
        for p in &permissions.net.unix {
            if let Some(path) = ctx.expand(p)
                && !s.unix.contains(&path)
            {
                s.unix.push(path);
            }
        }
        s.udp = permissions.net.udp;
        s.pass_env = permissions.env.iter().cloned().collect();
        s.limits = permissions.limits.clone();
        s
    }

    /// Allow reading (and executing) beneath `path`.
    pub fn allow_read(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.read.insert(path.into());
        self
    }

    /// Allow reading and writing beneath `path`.
    pub fn allow_write(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.write.insert(path.into());
        self
    }

    /// Pass through the variables `other` passes through.
    pub fn pass_env_from(&mut self, other: &Sandbox) -> &mut Self {
        self.pass_env.extend(other.pass_env.iter().cloned());
        self
    }

    /// Allow the network `other` allows: its TCP ports, Unix sockets and UDP.
    pub fn allow_net_from(&mut self, other: &Sandbox) -> &mut Self {
        self.connect.extend(other.connect.iter().copied());
        for path in &other.unix {
            if !self.unix.contains(path) {
                self.unix.push(path.clone());
            }
        }
        self.udp |= other.udp;
        self
    }

    /// What this sandbox grants, for the audit log: the paths readable and writable beyond
    /// the system's, the TCP ports, the Unix sockets, UDP, the variables passed through and
    /// the limits.
    pub fn grants(&self) -> serde_json::Value {
        let paths = |set: &BTreeSet<PathBuf>| -> Vec<String> {
            set.iter().map(|p| p.display().to_string()).collect()
        };
        serde_json::json!({
            "read": paths(&self.read),
            "write": paths(&self.write),
            "connect": self.connect.iter().collect::<Vec<_>>(),
            "unix": self.unix.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "udp": self.udp,
            "env": self.pass_env.iter().collect::<Vec<_>>(),
            "limits": serde_json::to_value(&self.limits).unwrap_or_default(),
        })
    }

    pub fn ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.connect.iter().copied()
    }

    /// Prepare `cmd` to run in this sandbox: its environment becomes the base variables and
    /// the declared ones (from this process) plus `vars`; the declared Unix sockets are
    /// connected now (an error if one cannot be); the Landlock ruleset and the seccomp filter
    /// are built here and applied, with the limits, in the child before `exec`. Returns what
    /// the kernel will enforce.
    pub fn apply(
        &self,
        cmd: &mut Command,
        vars: &BTreeMap<String, OsString>,
    ) -> Result<Enforcement, SandboxError> {
        // A test switch in a release build: refuse rather than run pack code with it.
        abi_switch(
            crate::env_vars::var_os(ABI_SWITCH).as_deref(),
            HONOURS_TEST_SWITCHES,
        )?;
        cmd.env_clear();
        for name in BASE_ENV
            .iter()
            .copied()
            .chain(self.pass_env.iter().map(String::as_str))
        {
            if let Some(v) = crate::env_vars::var_os(name) {
                cmd.env(name, v);
            }
        }
        for (k, v) in std::env::vars_os() {
            if k.to_str().is_some_and(|k| k.starts_with("LC_")) {
                cmd.env(k, v);
            }
        }
        cmd.envs(vars);
        let sockets = unix::connect_all(&self.unix)?;
        if !sockets.is_empty() {
            cmd.env(unix::FDS_VAR, unix::fds_value(&sockets));
        }

        let support = support();
        let landlock = support.abi.is_some();
        let enforcement = if support.full() {
            Enforcement::Full
        } else if landlock || support.seccomp {
            Enforcement::Partial
        } else {
            Enforcement::None
        };
        let ruleset = if landlock {
            Some(
                self.ruleset()
                    .map_err(|e| SandboxError::Ruleset(e.to_string()))?,
            )
        } else {
            None
        };
        let filters = if support.seccomp {
            seccomp::build(seccomp::Allow { udp: self.udp })
                .map_err(|e| SandboxError::Seccomp(e.to_string()))?
        } else {
            Vec::new()
        };
        let ruleset = Mutex::new(ruleset);
        let limits = limits::Rlimits::from(&self.limits);
        let inherited: Vec<i32> = sockets.iter().map(|f| f.as_raw_fd()).collect();
        // SAFETY: the closure runs between fork and exec; it only calls setrlimit, prctl,
        // fcntl, the Landlock syscalls and seccomp (no allocation on the success path, no locks
        // held elsewhere). The seccomp filter comes last, so nothing before it is refused.
        unsafe {
            cmd.pre_exec(move || {
                let _open = &sockets;
                limits.apply()?;
                let taken = ruleset.lock().ok().and_then(|mut r| r.take());
                if let Some(r) = taken {
                    r.restrict_self().map_err(std::io::Error::other)?;
                }
                unix::inherit(&inherited)?;
                seccomp::install(&filters)?;
                Ok(())
            });
        }
        Ok(enforcement)
    }

    fn ruleset(&self) -> Result<landlock::RulesetCreated, landlock::RulesetError> {
        let abi = ABI::V6;
        let read = AccessFs::from_read(abi);
        let all = AccessFs::from_all(abi);
        let system = SYSTEM_READ.iter().map(Path::new).filter(|p| p.exists());
        Ruleset::default()
            .handle_access(all)?
            .handle_access(AccessNet::from_all(abi))?
            .scope(Scope::from_all(abi))?
            .create()?
            .add_rules(path_beneath_rules(system, read))?
            .add_rules(path_beneath_rules(
                DEVICES.iter().map(Path::new).filter(|p| p.exists()),
                AccessFs::from_file(abi),
            ))?
            .add_rules(path_beneath_rules(
                self.read.iter().filter(|p| p.exists()),
                read,
            ))?
            // The aibox that applies the sandbox: a pack command inside it (a health check
            // calling its own wrapper) runs `aibox sandbox-exec`, wherever aibox lives.
            .add_rules(path_beneath_rules(
                std::env::current_exe()
                    .and_then(crate::fs::canonicalize)
                    .ok(),
                AccessFs::Execute | AccessFs::ReadFile,
            ))?
            .add_rules(path_beneath_rules(
                self.write.iter().filter(|p| p.exists()),
                all,
            ))?
            .add_rules(
                self.connect
                    .iter()
                    .map(|port| Ok(NetPort::new(*port, AccessNet::ConnectTcp))),
            )
    }
}

/// Run `cmd` without the caller's terminal: in a new session (so it has no controlling
/// terminal and cannot open `/dev/tty` or push input into the user's shell) — for the pack
/// code aibox runs unasked (install hooks, health checks, event subscribers), whose streams
/// the caller also points away from the terminal.
pub fn without_terminal(cmd: &mut Command) {
    // SAFETY: setsid is async-signal-safe and touches no memory.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    /// docs/plugins.md names every directory and device a sandboxed program gets.
    #[test]
    fn the_system_paths_are_the_documented_ones() {
        let doc = include_str!("../../docs/plugins.md");
        for path in super::SYSTEM_READ.iter().chain(super::DEVICES.iter()) {
            assert!(
                doc.contains(&format!("`{path}`")),
                "{path} in docs/plugins.md"
            );
        }
    }
}
