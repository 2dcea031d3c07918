//! Ways out of the sandbox, tried by the real binary as an unprivileged user: pathname Unix
//! sockets (Landlock does not mediate `connect(2)` on them), UDP (not covered by Landlock),
//! ptrace, process_vm_readv, keyctl and new user namespaces — all refused by the seccomp filter
//! — and a project switching the sandbox off through its `[env]`. The oracles are the test's
//! own servers: a Unix-socket server and a UDP server count what reaches them from a pack
//! command (through `aibox run`), a plugin and an install hook — nothing, and exactly what was
//! declared when it is declared. `tests/fixtures/sandbox/probe.py` makes the attempts.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::net::UdpSocket;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Sandbox, repo_root, text, write_pack};

/// The probe script's text.
fn probe() -> String {
    std::fs::read_to_string(repo_root().join("tests/fixtures/sandbox/probe.py")).unwrap()
}

/// `name=result` lines of a probe's output.
fn results(out: &str) -> BTreeMap<String, String> {
    out.lines()
        .filter_map(|l| l.trim().split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Everything that reached a server, in arrival order.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Vec<u8>>>>);

impl Received {
    /// What arrived once `want` messages did (or after a grace period when `want` is 0 or
    /// they never come).
    fn wait(&self, want: usize) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(if want == 0 { 0 } else { 5 });
        std::thread::sleep(Duration::from_millis(200));
        while self.0.lock().unwrap().len() < want && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.0.lock().unwrap().clone()
    }
}

/// A Unix-socket server at `path`: each connection's bytes are one message.
fn unix_server(path: &Path) -> Received {
    let listener = UnixListener::bind(path).unwrap();
    let got = Received::default();
    let log = got.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let log = log.clone();
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = conn.read_to_end(&mut bytes);
                log.0.lock().unwrap().push(bytes);
            });
        }
    });
    got
}

/// A UDP server on loopback: each datagram is one message.
fn udp_server() -> (Received, u16) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let got = Received::default();
    let log = got.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, _)) = socket.recv_from(&mut buf) {
            log.0.lock().unwrap().push(buf[..n].to_vec());
        }
    });
    (got, port)
}

/// The world of one test: two Unix-socket servers (`a` may be declared, `b` never is) and a
/// UDP server.
struct Servers {
    a: PathBuf,
    b: PathBuf,
    a_got: Received,
    b_got: Received,
    udp_got: Received,
    udp_port: u16,
}

impl Servers {
    fn start(sb: &Sandbox) -> Servers {
        let dir = sb.path().join("sock");
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a.sock"), dir.join("b.sock"));
        let (a_got, b_got) = (unix_server(&a), unix_server(&b));
        let (udp_got, udp_port) = udp_server();
        Servers {
            a,
            b,
            a_got,
            b_got,
            udp_got,
            udp_port,
        }
    }

    /// The probe's arguments: `net`, both socket paths and the UDP port.
    fn args(&self) -> Vec<String> {
        vec![
            "net".into(),
            self.a.display().to_string(),
            self.b.display().to_string(),
            self.udp_port.to_string(),
        ]
    }

    /// The `[permissions]` granting socket `a` and UDP.
    fn declared(&self) -> String {
        format!(
            "[permissions]\nfs.read = [\"$PROJECT\"]\nnet.unix = [\"{}\"]\nnet.udp = true\n",
            self.a.display()
        )
    }

    /// Nothing reached any server; the probe was refused by the filter (EPERM), not by chance.
    fn assert_nothing(&self, out: &str) {
        let r = results(out);
        for key in ["unix-path-0", "unix-path-1", "udp"] {
            assert_eq!(
                r.get(key).map(String::as_str),
                Some("EPERM"),
                "{key}: {out}"
            );
        }
        assert!(!r.contains_key("unix-fd-0"), "nothing handed over: {out}");
        assert_eq!(r.get("socketpair").map(String::as_str), Some("ok"), "{out}");
        assert!(self.a_got.wait(0).is_empty(), "socket a received something");
        assert!(self.b_got.wait(0).is_empty(), "socket b received something");
        assert!(
            self.udp_got.wait(0).is_empty(),
            "the UDP server received something"
        );
    }

    /// Exactly the declared: socket `a` through the handed-over connection, one datagram;
    /// opening sockets by path is still refused, so `b` gets nothing.
    fn assert_declared(&self, out: &str) {
        let r = results(out);
        assert_eq!(r.get("unix-fd-0").map(String::as_str), Some("ok"), "{out}");
        assert_eq!(r.get("udp").map(String::as_str), Some("ok"), "{out}");
        for key in ["unix-path-0", "unix-path-1"] {
            assert_eq!(
                r.get(key).map(String::as_str),
                Some("EPERM"),
                "{key}: {out}"
            );
        }
        assert_eq!(self.a_got.wait(1), [b"by-fd-0;".to_vec()]);
        assert!(self.b_got.wait(0).is_empty(), "socket b received something");
        assert_eq!(self.udp_got.wait(1), [b"udp;".to_vec()]);
    }
}

/// A project on a `dir:` registry at `<sb>/packs`.
fn project(sb: &Sandbox) -> PathBuf {
    std::fs::create_dir_all(sb.path().join("packs")).unwrap();
    let root = sb.path().join("proj");
    std::fs::create_dir_all(&root).unwrap();
    sb.ok(&root, &["init", "--registry", "dir:../packs"]);
    root
}

/// A tool pack `name` whose command `name` is the probe.
fn probe_pack(sb: &Sandbox, name: &str, permissions: &str) {
    write_pack(
        &sb.path().join("packs"),
        &format!(
            "[pack]\nname = \"{name}\"\nversion = \"1.0.0\"\n[bin]\n{name} = \"probe.py\"\n{permissions}"
        ),
        &[("probe.py", &probe(), true)],
    );
}

/// `aibox run --no-sync -- <command> <args…>` in `root`; it must succeed. Returns stdout.
fn run(sb: &Sandbox, root: &Path, command: &str, args: &[String]) -> String {
    let mut argv = vec!["run", "--no-sync", "--", command];
    argv.extend(args.iter().map(String::as_str));
    sb.ok(root, &argv).0
}

#[test]
fn seccomp_keeps_a_pack_command_from_unix_sockets_and_udp_unless_declared() {
    let sb = Sandbox::new();
    let root = project(&sb);
    let servers = Servers::start(&sb);
    // The case: its only permission is reading the project.
    probe_pack(&sb, "reader", "[permissions]\nfs.read = [\"$PROJECT\"]\n");
    sb.ok(&root, &["add", "reader"]);
    servers.assert_nothing(&run(&sb, &root, "reader", &servers.args()));

    probe_pack(&sb, "talker", &servers.declared());
    sb.ok(&root, &["add", "talker"]);
    servers.assert_declared(&run(&sb, &root, "talker", &servers.args()));
}

/// A plugin `name` whose executable is the probe.
fn probe_plugin(dir: &Path, name: &str, permissions: &str) -> PathBuf {
    let root = dir.join(name);
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("pack.toml"),
        format!(
            "[pack]\nname = \"{name}\"\nversion = \"1.0.0\"\nkind = \"plugin\"\n[bin]\naibox-plugin-{name} = \"probe.py\"\n{permissions}"
        ),
    )
    .unwrap();
    let exe = root.join("probe.py");
    std::fs::write(&exe, probe()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    root
}

/// `aibox <plugin> <args…>` in `cwd`; it must succeed. Returns stdout.
fn plugin(sb: &Sandbox, cwd: &Path, name: &str, args: &[String]) -> String {
    let mut argv = vec![name];
    argv.extend(args.iter().map(String::as_str));
    sb.ok(cwd, &argv).0
}

#[test]
fn seccomp_keeps_a_plugin_from_unix_sockets_and_udp_unless_declared() {
    let sb = Sandbox::new();
    let work = sb.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let servers = Servers::start(&sb);
    // The plugin defaults (no `[permissions]`), then the read-only case.
    probe_plugin(&work, "quiet", "");
    sb.ok(&work, &["plugin", "install", "./quiet"]);
    servers.assert_nothing(&plugin(&sb, &work, "quiet", &servers.args()));
    probe_plugin(&work, "reader", "[permissions]\nfs.read = [\"$PROJECT\"]\n");
    sb.ok(&work, &["plugin", "install", "./reader"]);
    servers.assert_nothing(&plugin(&sb, &work, "reader", &servers.args()));

    probe_plugin(&work, "talker", &servers.declared());
    sb.ok(&work, &["plugin", "install", "./talker"]);
    servers.assert_declared(&plugin(&sb, &work, "talker", &servers.args()));
    // What it may do says so.
    let (list, _) = sb.ok(&work, &["plugin", "list"]);
    assert!(
        list.contains(&format!("use the Unix sockets {}", servers.a.display())),
        "{list}"
    );
    assert!(list.contains("use UDP (any host and port)"), "{list}");
}

/// A pack whose install hook runs the probe with `args` and keeps its output as `probe.out`.
fn hook_pack(sb: &Sandbox, name: &str, permissions: &str, args: &str) {
    write_pack(
        &sb.path().join("packs"),
        &format!(
            "[pack]\nname = \"{name}\"\nversion = \"1.0.0\"\n[install]\nrun = \"python3 ./probe.py {args} > probe.out 2>&1\"\n{permissions}"
        ),
        &[("probe.py", &probe(), false)],
    );
}

#[test]
fn seccomp_keeps_an_install_hook_from_unix_sockets_and_udp_unless_declared() {
    let sb = Sandbox::new();
    let root = project(&sb);
    let servers = Servers::start(&sb);
    let args = servers.args().join(" ");
    let hook_output = |name: &str| {
        let (dir, _) = sb.ok(&root, &["store", "path", name]);
        std::fs::read_to_string(Path::new(dir.trim()).join("probe.out")).unwrap()
    };
    hook_pack(&sb, "quiet", "", &args);
    sb.ok(&root, &["add", "quiet"]);
    servers.assert_nothing(&hook_output("quiet"));
    hook_pack(
        &sb,
        "reader",
        "[permissions]\nfs.read = [\"$PROJECT\"]\n",
        &args,
    );
    // A pack new to the environment that runs an install hook needs consent.
    sb.ok(&root, &["add", "reader", "--yes"]);
    servers.assert_nothing(&hook_output("reader"));

    hook_pack(&sb, "talker", &servers.declared(), &args);
    sb.ok(&root, &["add", "talker", "--yes"]);
    servers.assert_declared(&hook_output("talker"));
}

#[test]
fn a_declared_unix_socket_that_is_not_there_stops_the_command_with_a_hint() {
    let sb = Sandbox::new();
    let root = project(&sb);
    let missing = sb.path().join("nobody-listens.sock");
    let not_a_socket = sb.path().join("plain-file");
    std::fs::write(&not_a_socket, "x").unwrap();
    for (name, path) in [("gone", &missing), ("plain", &not_a_socket)] {
        probe_pack(
            &sb,
            name,
            &format!("[permissions]\nnet.unix = [\"{}\"]\n", path.display()),
        );
        sb.ok(&root, &["add", name]);
        let (_, err) = sb.fails(&root, &["run", "--no-sync", "--", name]);
        assert!(
            err.contains(&format!(
                "cannot connect to the Unix socket `{}` (declared in `net.unix`)",
                path.display()
            )),
            "{err}"
        );
        assert!(
            err.contains("hint: the pack is handed a connection"),
            "{err}"
        );
    }
    let (_, err) = sb.fails(&root, &["run", "--no-sync", "--", "plain"]);
    assert!(err.contains("it is not a Unix socket"), "{err}");
}

#[test]
fn seccomp_refuses_ptrace_process_memory_keyrings_and_user_namespaces() {
    let sb = Sandbox::new();
    let work = sb.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    // The control: the same probe, unsandboxed, as the same user. What succeeds here is what
    // the filter must be the one to refuse.
    let script = sb.path().join("probe.py");
    std::fs::write(&script, probe()).unwrap();
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg("calls")
        .output()
        .unwrap();
    let control = results(&text(&out).0);
    for call in [
        "ptrace",
        "process_vm_readv",
        "keyctl",
        "clone-newuser",
        "unshare-newuser",
    ] {
        assert_eq!(
            control.get(call).map(String::as_str),
            Some("ok"),
            "{call} must work unsandboxed for this test to mean anything: {control:?}"
        );
    }
    probe_plugin(&work, "prober", "[permissions]\nfs.read = [\"$PROJECT\"]\n");
    sb.ok(&work, &["plugin", "install", "./prober"]);
    let out = plugin(&sb, &work, "prober", &["calls".into()]);
    let boxed = results(&out);
    // `aibox doctor` says the filter is there.
    let doctor = sb.aibox(&work).args(["doctor", "--json"]).output().unwrap();
    let checks: serde_json::Value = serde_json::from_slice(&doctor.stdout).unwrap();
    let seccomp = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "seccomp")
        .expect("doctor reports seccomp");
    assert_eq!(seccomp["status"], "ok", "{seccomp}");
    assert!(
        seccomp["detail"]
            .as_str()
            .unwrap()
            .contains("terminal input injection (TIOCSTI, TIOCLINUX)"),
        "{seccomp}"
    );
    for call in [
        "ptrace",
        "process_vm_readv",
        "keyctl",
        "userfaultfd",
        "io_uring_setup",
        "bpf",
        "clone-newuser",
        "unshare-newuser",
    ] {
        assert_eq!(
            boxed.get(call).map(String::as_str),
            Some("EPERM"),
            "{call} (unsandboxed: {:?}): {out}",
            control.get(call)
        );
    }
}

#[test]
fn a_project_cannot_switch_the_sandbox_off_through_its_env() {
    let sb = Sandbox::new();
    let root = project(&sb);
    // A secret the pack may not read (its only permission is the project).
    let ssh = sb.path().join("user/.ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    std::fs::write(ssh.join("id_ed25519"), "PRIVATE KEY").unwrap();
    write_pack(
        &sb.path().join("packs"),
        "[pack]\nname = \"snoop\"\nversion = \"1.0.0\"\n[bin]\nsnoop = \"bin/snoop\"\n[permissions]\nfs.read = [\"$PROJECT\"]\n",
        &[(
            "bin/snoop",
            "#!/bin/sh\ncat \"$HOME/.ssh/id_ed25519\" 2>/dev/null || echo denied\n",
            true,
        )],
    );
    sb.ok(&root, &["add", "snoop"]);
    let (out, _) = sb.ok(&root, &["run", "--no-sync", "--", "snoop"]);
    assert_eq!(out, "denied\n");

    // The project asks aibox to pretend there is no Landlock: refused where it is written.
    let manifest = std::fs::read_to_string(root.join("aibox.toml")).unwrap();
    std::fs::write(
        root.join("aibox.toml"),
        format!("{manifest}\n[env]\nAIBOX_SANDBOX_ABI = \"0\"\n"),
    )
    .unwrap();
    let line = manifest.lines().count() + 3;
    let out = sb
        .aibox(&root)
        .args(["run", "--no-sync", "--", "snoop"])
        .output()
        .unwrap();
    let (stdout, err) = text(&out);
    assert!(!out.status.success(), "{err}");
    assert!(!stdout.contains("PRIVATE KEY"), "{stdout}");
    assert!(
        err.contains(&format!(
            "aibox.toml:{line}:1: `AIBOX_SANDBOX_ABI` may not be set in `[env]`"
        )),
        "{err}"
    );
    assert!(
        err.contains("hint: remove `AIBOX_SANDBOX_ABI` from aibox.toml"),
        "{err}"
    );
    // Other variables of aibox are refused the same way, by every command.
    std::fs::write(
        root.join("aibox.toml"),
        format!("{manifest}\n[env]\nAIBOX_HOME = \"/tmp/elsewhere\"\n"),
    )
    .unwrap();
    let (_, err) = sb.fails(&root, &["sync"]);
    assert!(
        err.contains("`AIBOX_HOME` may not be set in `[env]`"),
        "{err}"
    );
}

/// A pack command run through its wrapper (`.aibox/current/bin/<name>`), with the sandbox's
/// environment and Landlock simulated away (`AIBOX_SANDBOX_ABI=0`, honoured by test builds).
fn wrapper_without_landlock(sb: &Sandbox, root: &Path, name: &str) -> std::process::Output {
    std::process::Command::new(root.join(".aibox/current/bin").join(name))
        .current_dir(root)
        .env("AIBOX_HOME", sb.home())
        .env("HOME", sb.path().join("user"))
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .env("AIBOX_SANDBOX_ABI", "0")
        .env_remove("AIBOX_CONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap()
}

#[test]
fn a_configuration_that_cannot_be_read_stops_pack_code_instead_of_weakening_the_policy() {
    let sb = Sandbox::new();
    let root = project(&sb);
    write_pack(
        &sb.path().join("packs"),
        "[pack]\nname = \"marker\"\nversion = \"1.0.0\"\n[bin]\nmarker = \"bin/marker\"\n[permissions]\nfs.write = [\"$PROJECT\"]\n",
        &[(
            "bin/marker",
            "#!/bin/sh\necho ran >> \"$AIBOX_WORKSPACE/ran\"\n",
            true,
        )],
    );
    sb.ok(&root, &["add", "marker"]);
    let ran = root.join("ran");
    // No configuration: partly sandboxed, warned, and it runs.
    let out = wrapper_without_landlock(&sb, &root, "marker");
    assert!(out.status.success(), "{}", text(&out).1);
    assert_eq!(std::fs::read_to_string(&ran).unwrap(), "ran\n");

    // The enterprise policy refuses a partial sandbox.
    sb.ok(&root, &["config", "set", "trust.policy", "enterprise"]);
    let out = wrapper_without_landlock(&sb, &root, "marker");
    assert!(!out.status.success());
    assert!(
        text(&out).1.starts_with("error: refusing to run `")
            && text(&out)
                .1
                .contains("/bin/marker` of `marker`: the sandbox cannot be fully enforced here"),
        "{}",
        text(&out).1
    );

    // The same configuration with a typo: it cannot be read, so nothing decides by a default
    // and the command does not run at all — it does not fall back to a warning.
    let (path, _) = sb.ok(&root, &["config", "path"]);
    let path = PathBuf::from(path.trim());
    let config = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        format!("{config}\n[trust]\npolicyy = \"enterprise\"\n"),
    )
    .unwrap();
    let out = wrapper_without_landlock(&sb, &root, "marker");
    let err = text(&out).1;
    assert!(!out.status.success(), "{err}");
    assert!(
        err.starts_with(&format!("error: {}:", path.display())),
        "{err}"
    );
    assert!(
        err.lines()
            .any(|l| l.starts_with("hint: `") && l.contains("/bin/marker` of `marker` was not run")),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&ran).unwrap(),
        "ran\n",
        "it ran again"
    );
}
