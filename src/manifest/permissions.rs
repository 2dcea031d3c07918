//! What a pack may do when aibox runs its code — `[permissions]` (paths it may read and write,
//! TCP ports it may connect to, Unix sockets it is handed, whether it may use UDP, variables it
//! sees, resource limits) — and the code aibox runs:
//! `[install] run` (once, when the pack is materialized), `[check] run` (before a switch) and
//! `[hooks] subscribe` (lifecycle events a plugin receives). Checked here, where they enter.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::problem::{Problem, check_env_name};
use super::spans::Part;

/// The variables a path in `fs.read`/`fs.write` may start with.
pub const PATH_VARIABLES: [&str; 4] = ["$PROJECT", "$HOME", "$CACHE", "$PLUGIN_DIR"];

/// The lifecycle events a plugin may subscribe to.
pub const EVENTS: [&str; 4] = ["post-sync", "pre-switch", "post-switch", "post-rollback"];

/// `[permissions]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permissions {
    #[serde(default, skip_serializing_if = "FsPermissions::is_empty")]
    pub fs: FsPermissions,
    #[serde(default, skip_serializing_if = "NetPermissions::is_empty")]
    pub net: NetPermissions,
    /// Variables passed through from the caller's environment (all others are cleared).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(default, skip_serializing_if = "Limits::is_empty")]
    pub limits: Limits,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FsPermissions {
    /// Paths readable (and executable) beneath.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read: Vec<String>,
    /// Paths readable and writable beneath.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub write: Vec<String>,
}

impl FsPermissions {
    pub fn is_empty(&self) -> bool {
        self.read.is_empty() && self.write.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetPermissions {
    /// TCP destinations: a port (`443`) or `host:port` (enforced by port only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connect: Vec<NetTarget>,
    /// Pathname Unix sockets (paths as in `fs.read`): aibox connects to each before the pack's
    /// code starts and hands the connections over; no other Unix socket can be opened.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unix: Vec<String>,
    /// Whether UDP sockets may be used (any host and port: the kernel cannot narrow them).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub udp: bool,
}

impl NetPermissions {
    pub fn is_empty(&self) -> bool {
        self.connect.is_empty() && self.unix.is_empty() && !self.udp
    }
}

/// The most Unix sockets `net.unix` may list.
pub const MAX_UNIX_SOCKETS: usize = 16;

/// One `net.connect` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NetTarget {
    Port(i64),
    HostPort(String),
}

impl NetTarget {
    /// The TCP port, if the entry is valid.
    pub fn port(&self) -> Result<u16, String> {
        match self {
            NetTarget::Port(p) => u16::try_from(*p)
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("`{p}` is not a TCP port (1–65535)")),
            NetTarget::HostPort(s) => {
                let (host, port) = s
                    .rsplit_once(':')
                    .ok_or_else(|| format!("`{s}` is neither a port nor `host:port`"))?;
                let host = host.trim_start_matches('[').trim_end_matches(']');
                if host.is_empty()
                    || host.len() > 253
                    || !host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
                {
                    return Err(format!("`{s}`: `{host}` is not a host name or address"));
                }
                port.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| format!("`{s}`: `{port}` is not a TCP port (1–65535)"))
            }
        }
    }
}

/// `[permissions.limits]`: resource limits (rlimits) of every process the pack runs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Limits {
    /// CPU seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_seconds: Option<u64>,
    /// Address space in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_files: Option<u64>,
    /// Processes (threads count too) of the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<u64>,
}

impl Limits {
    pub fn is_empty(&self) -> bool {
        *self == Limits::default()
    }

    /// Each limit with its `pack.toml` key, in a fixed order.
    pub fn named(&self) -> [(&'static str, Option<u64>); 4] {
        [
            ("cpu-seconds", self.cpu_seconds),
            ("memory-mib", self.memory_mib),
            ("open-files", self.open_files),
            ("processes", self.processes),
        ]
    }
}

/// What a pack version may do beyond shipping files: its kind, its `[permissions]`, and the code
/// it runs unasked (`[install]`, `[check]`). `aibox update` compares these between the locked
/// and the new version; the lock records them (store-format/LOCKFILE.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grants {
    pub kind: super::pack::PackKind,
    pub permissions: Option<Permissions>,
    /// The `[install] run` command.
    pub install: Option<String>,
    /// The `[check] run` command.
    pub check: Option<String>,
    /// A skill's tools and scripts.
    pub skill: Option<super::pack::SkillSection>,
    /// The packs it depends on (a skill's tool packs are part of what it may do).
    pub needs: Vec<String>,
}

/// Why recorded permissions (a lock's copy) are not ones a `pack.toml` could declare, if so.
pub fn check_recorded(permissions: &Permissions) -> Option<String> {
    check(Some(permissions), None, None, &Hooks::default())
        .err()
        .map(|p| p.message)
}

/// `[install]` or `[check]`: a shell command (`sh -c`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunCommand {
    pub run: String,
}

/// `[hooks]`: the lifecycle events a plugin receives.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hooks {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscribe: Vec<String>,
}

impl Hooks {
    pub fn is_empty(&self) -> bool {
        self.subscribe.is_empty()
    }
}

/// Why `path` is not an allowed `fs.read`/`fs.write` entry, or `None`.
fn bad_permission_path(path: &str) -> Option<String> {
    if path.is_empty() || path.len() > 4096 {
        return Some("is empty or longer than 4096 bytes".into());
    }
    if path.chars().any(char::is_control) {
        return Some("contains a control character".into());
    }
    let rest = if let Some(var) = PATH_VARIABLES.iter().find(|v| {
        path.strip_prefix(*v)
            .is_some_and(|r| r.is_empty() || r.starts_with('/'))
    }) {
        &path[var.len()..]
    } else if path.starts_with('/') {
        path
    } else {
        return Some(format!(
            "must be absolute or start with one of {}",
            PATH_VARIABLES.join(", ")
        ));
    };
    if rest.contains('$') {
        return Some("uses a variable other than at its start".into());
    }
    if rest.split('/').any(|c| c == "..") {
        return Some("contains `..`".into());
    }
    None
}

/// The checks on `[permissions]`, `[install]`, `[check]` and `[hooks]`.
pub(super) fn check(
    permissions: Option<&Permissions>,
    install: Option<&RunCommand>,
    check: Option<&RunCommand>,
    hooks: &Hooks,
) -> Result<(), Problem> {
    if let Some(p) = permissions {
        for (kind, paths) in [("read", &p.fs.read), ("write", &p.fs.write)] {
            for path in paths {
                if let Some(reason) = bad_permission_path(path) {
                    return Err(Problem::new(
                        &["permissions", "fs", kind],
                        Part::Value,
                        format!("`{path}` {reason}"),
                    )
                    .hint(
                        "write paths like `$PROJECT/build`, `$CACHE`, `$PLUGIN_DIR` or `/etc/ssl`",
                    ));
                }
            }
        }
        for path in &p.net.unix {
            if let Some(reason) = bad_permission_path(path) {
                return Err(Problem::new(
                    &["permissions", "net", "unix"],
                    Part::Value,
                    format!("`{path}` {reason}"),
                )
                .hint("write socket paths like `/run/user/1000/app.sock` or `$HOME/.app/socket`"));
            }
        }
        let unique: BTreeSet<&String> = p.net.unix.iter().collect();
        if unique.len() != p.net.unix.len() || p.net.unix.len() > MAX_UNIX_SOCKETS {
            return Err(Problem::new(
                &["permissions", "net", "unix"],
                Part::Value,
                format!("`net.unix` lists at most {MAX_UNIX_SOCKETS} sockets, each once"),
            ));
        }
        for target in &p.net.connect {
            if let Err(reason) = target.port() {
                return Err(
                    Problem::new(&["permissions", "net", "connect"], Part::Value, reason)
                        .hint("write TCP ports (`443`) or `host:port` (`api.example.com:443`)"),
                );
            }
        }
        for name in &p.env {
            if let Err(reason) = check_env_name(name) {
                return Err(Problem::new(
                    &["permissions", "env"],
                    Part::Value,
                    format!("`{name}` is not an environment variable name: {reason}"),
                ));
            }
            if name.starts_with("LD_") || name.starts_with("DYLD_") {
                return Err(Problem::new(
                    &["permissions", "env"],
                    Part::Value,
                    format!(
                        "`{name}` may not be passed into a sandbox: it changes how programs load"
                    ),
                ));
            }
        }
        let l = &p.limits;
        for (key, value, min) in [
            ("cpu-seconds", l.cpu_seconds, 1),
            ("memory-mib", l.memory_mib, 16),
            ("open-files", l.open_files, 16),
            ("processes", l.processes, 1),
        ] {
            if value.is_some_and(|v| v < min || v > 1 << 40) {
                return Err(Problem::new(
                    &["permissions", "limits", key],
                    Part::Value,
                    format!("`{key}` must be at least {min}"),
                ));
            }
        }
    }
    for (table, command) in [("install", install), ("check", check)] {
        if let Some(c) = command
            && (c.run.trim().is_empty() || c.run.len() > 16384 || c.run.contains('\0'))
        {
            return Err(Problem::new(
                &[table, "run"],
                Part::Value,
                format!("`{table}.run` must be a non-empty shell command (at most 16 KiB, no NUL)"),
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for event in &hooks.subscribe {
        if !EVENTS.contains(&event.as_str()) {
            return Err(Problem::new(
                &["hooks", "subscribe"],
                Part::Value,
                format!("`{event}` is not an event"),
            )
            .hint(format!("events: {}", EVENTS.join(", "))));
        }
        if !seen.insert(event) {
            return Err(Problem::new(
                &["hooks", "subscribe"],
                Part::Value,
                format!("`{event}` is listed twice"),
            ));
        }
    }
    Ok(())
}
