//! The user's terminal, with the real binary on a real pseudo-terminal (`script`): sandboxed
//! code cannot push keystrokes into the user's shell (`TIOCSTI`, `TIOCLINUX`), and the pack
//! code aibox runs unasked — install hooks, health checks, event subscribers — does not get
//! the terminal at all.
//!
//! Why the assertions cannot pass vacuously: the probe (`tests/fixtures/sandbox/probe.py`)
//! opens `/dev/tty` and checks, with `TIOCGSID`, that it is its own controlling terminal —
//! the only case in which the kernel itself never answers `TIOCSTI` with `EPERM` (it answers
//! `EPERM` for someone else's terminal, `EIO` when `dev.tty.legacy_tiocsti` is 0). The same
//! probe run unsandboxed on the same kind of terminal is the control: it injects (or gets
//! `EIO`), and `TIOCLINUX` on a pseudo-terminal gets `ENOTTY`. Sandboxed, both must be `EPERM`
//! — only the seccomp filter answers that — and `/proc/self/status` must show the filter.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Sandbox, repo_root, write_pack};

fn probe() -> String {
    std::fs::read_to_string(repo_root().join("tests/fixtures/sandbox/probe.py")).unwrap()
}

/// `name=result` lines (the last of each name wins).
fn results(out: &str) -> BTreeMap<String, String> {
    out.lines()
        .filter_map(|l| l.trim().split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Whether this kernel lets an unprivileged process push input into its own terminal.
fn legacy_tiocsti() -> bool {
    std::fs::read_to_string("/proc/sys/dev/tty/legacy_tiocsti")
        .map(|s| s.trim() == "1")
        .unwrap_or(true)
}

/// Run the bash command `line` on a fresh pseudo-terminal (`script`), with the environment
/// `Sandbox::aibox` gives, `$AIBOX` naming the binary; afterwards the terminal's shell reads
/// one line for a second, so injected input shows as `read=[…]`. Returns what the terminal
/// showed.
fn on_terminal(sb: &Sandbox, cwd: &Path, line: &str) -> String {
    let aibox = assert_cmd::cargo::cargo_bin("aibox");
    let full = format!("{line}; read -t 1 -r line; echo \"read=[$line]\"");
    let mut child = std::process::Command::new("script")
        .args(["-qec", &full, "/dev/null"])
        .current_dir(cwd)
        .env("SHELL", "/bin/bash")
        .env("AIBOX", &aibox)
        .env("AIBOX_HOME", sb.home())
        .env("NO_COLOR", "1")
        .env("CI", "true")
        .env("HOME", sb.path().join("user"))
        .env_remove("AIBOX_CONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (bsdutils) runs");
    // The terminal's input stays open (no end of file) until the command is done.
    let input = child.stdin.take();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("`{line}` on a terminal did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(input);
    String::from_utf8_lossy(&reader.join().unwrap()).replace('\r', "")
}

/// The probe, outside aibox, on a terminal: what the kernel alone answers.
fn control(sb: &Sandbox) -> BTreeMap<String, String> {
    let script = sb.path().join("probe.py");
    std::fs::write(&script, probe()).unwrap();
    let out = on_terminal(sb, sb.path(), &format!("python3 {} tty", script.display()));
    let r = results(&out);
    assert_eq!(r["ctty"], "yes", "{out}");
    assert_eq!(r["session-matches"], "True", "{out}");
    assert_eq!(r["seccomp"], "0", "{out}");
    assert_eq!(
        r["tioclinux"], "ENOTTY",
        "a pseudo-terminal is no console: {out}"
    );
    if legacy_tiocsti() {
        assert_eq!(r["tiocsti"], "ok", "{out}");
        assert_eq!(
            r["read"], "[echo INJECTED]",
            "the injection works here: {out}"
        );
    } else {
        assert_eq!(r["tiocsti"], "EIO", "{out}");
    }
    r
}

/// Sandboxed code on its own controlling terminal was refused by the filter.
fn assert_refused(out: &str) {
    let r = results(out);
    assert_eq!(r["ctty"], "yes", "{out}");
    assert_eq!(r["session-matches"], "True", "{out}");
    assert_eq!(r["seccomp"], "2", "the filter is installed: {out}");
    assert_eq!(r["tiocsti"], "EPERM", "{out}");
    assert_eq!(r["tioclinux"], "EPERM", "{out}");
    assert_eq!(r["read"], "[]", "nothing reached the shell: {out}");
    assert!(!out.contains("INJECTED"), "{out}");
}

/// A project on a `dir:` registry at `<sb>/packs`.
fn project(sb: &Sandbox) -> PathBuf {
    std::fs::create_dir_all(sb.path().join("packs")).unwrap();
    let root = sb.path().join("proj");
    std::fs::create_dir_all(&root).unwrap();
    sb.ok(&root, &["init", "--registry", "dir:../packs"]);
    root
}

#[test]
fn seccomp_refuses_terminal_injection_by_a_pack_command_and_a_plugin() {
    let sb = Sandbox::new();
    control(&sb);
    let root = project(&sb);
    write_pack(
        &sb.path().join("packs"),
        "[pack]\nname = \"typist\"\nversion = \"1.0.0\"\n[bin]\ntypist = \"probe.py\"\n[permissions]\nfs.read = [\"$PROJECT\"]\n",
        &[("probe.py", &probe(), true)],
    );
    sb.ok(&root, &["add", "typist"]);
    assert_refused(&on_terminal(
        &sb,
        &root,
        "\"$AIBOX\" run --no-sync -- typist tty",
    ));
    // Straight from the generation's `bin/`, as an activated shell runs it.
    assert_refused(&on_terminal(&sb, &root, ".aibox/current/bin/typist tty"));

    // A plugin (it keeps the terminal: it is interactive).
    let plugin = sb.path().join("typer");
    std::fs::create_dir_all(&plugin).unwrap();
    std::fs::write(
        plugin.join("pack.toml"),
        "[pack]\nname = \"typer\"\nversion = \"1.0.0\"\nkind = \"plugin\"\n[bin]\naibox-plugin-typer = \"probe.py\"\n",
    )
    .unwrap();
    let exe = plugin.join("probe.py");
    std::fs::write(&exe, probe()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    sb.ok(sb.path(), &["plugin", "install", "./typer"]);
    assert_refused(&on_terminal(&sb, sb.path(), "\"$AIBOX\" typer tty"));
}

#[test]
fn hooks_checks_and_subscribers_run_without_the_terminal() {
    let sb = Sandbox::new();
    control(&sb);
    let root = project(&sb);
    let packs = sb.path().join("packs");
    std::fs::create_dir_all(root.join("out")).unwrap();
    write_pack(
        &packs,
        "[pack]\nname = \"hooked\"\nversion = \"1.0.0\"\n[install]\nrun = \"python3 ./probe.py tty > probe.out 2>&1\"\n",
        &[("probe.py", &probe(), false)],
    );
    write_pack(
        &packs,
        "[pack]\nname = \"checked\"\nversion = \"1.0.0\"\n[check]\nrun = \"python3 ./probe.py tty > \\\"$AIBOX_WORKSPACE/out/check.out\\\" 2>&1\"\n[permissions]\nfs.write = [\"$PROJECT/out\"]\n",
        &[("probe.py", &probe(), false)],
    );
    write_pack(
        &packs,
        "[pack]\nname = \"listener\"\nversion = \"1.0.0\"\nkind = \"plugin\"\n[bin]\naibox-plugin-listener = \"probe.py\"\n[hooks]\nsubscribe = [\"post-switch\"]\n",
        &[("probe.py", &probe(), true)],
    );
    let out = on_terminal(
        &sb,
        &root,
        "test -t 2 && echo aibox-on-a-terminal; \"$AIBOX\" add --plugin listener && \"$AIBOX\" add --yes hooked checked",
    );
    assert!(out.contains("aibox-on-a-terminal"), "{out}");
    assert!(out.contains("Switched"), "{out}");
    assert_eq!(
        results(&out)["read"],
        "[]",
        "nothing reached the shell: {out}"
    );
    assert!(!out.contains("INJECTED"), "{out}");

    let (hooked, _) = sb.ok(&root, &["store", "path", "hooked"]);
    let hook = std::fs::read_to_string(Path::new(hooked.trim()).join("probe.out")).unwrap();
    let check = std::fs::read_to_string(root.join("out/check.out")).unwrap();
    let event =
        std::fs::read_to_string(sb.home().join("plugin-data/listener/post-switch.out")).unwrap();
    for (what, out) in [("hook", hook), ("check", check), ("subscriber", event)] {
        let r = results(&out);
        assert_eq!(r["ctty"], "ENXIO", "the {what} has no terminal: {out}");
        // Its streams are not terminals either (and TIOCSTI is refused on any descriptor).
        for fd in ["tiocsti-fd0", "tiocsti-fd1", "tiocsti-fd2"] {
            assert_eq!(r[fd], "EPERM", "{what}: {out}");
        }
        assert_eq!(r["seccomp"], "2", "{what}: {out}");
    }
}

/// Text that rewrites a terminal: a clipboard write (OSC 52), then "erase this line, go up one"
/// (which would hide the "may:" line above it), a bell, and a right-to-left override.
const HOSTILE: &str = "\u{1b}]52;c;ZWNobyBQV05FRA==\u{7}tidy\u{1b}[2K\u{1b}[1A\u{202e}gpj.exe";
/// How [`HOSTILE`] must be shown.
const SHOWN: &str = "\\e]52;c;ZWNobyBQV05FRA==\\x07tidy\\e[2K\\e[1A\\u{202e}gpj.exe";

/// `s` as a TOML basic string (control characters as `\uXXXX`).
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

#[test]
fn escape_codes_in_pack_metadata_and_output_are_shown_not_obeyed() {
    let sb = Sandbox::new();
    let root = project(&sb);
    let packs = sb.path().join("packs");
    for version in ["1.0.0", "1.1.0"] {
        write_pack(
            &packs,
            &format!(
                "[pack]\nname = \"shady\"\nversion = \"{version}\"\ndescription = {}\n",
                toml_string(HOSTILE)
            ),
            &[(
                "CHANGELOG.md",
                &format!("# Changelog\n\n## {version}\n\n- fixed {HOSTILE}\r\n"),
                false,
            )],
        );
    }
    // Pack output aibox shows: a failing install hook's last lines.
    write_pack(
        &packs,
        &format!(
            "[pack]\nname = \"loud\"\nversion = \"1.0.0\"\n[install]\nrun = {}\n",
            toml_string(&format!("printf '%s\\n' '{HOSTILE}' >&2; exit 1"))
        ),
        &[],
    );
    let raw = |what: &str, bytes: &[u8]| {
        assert!(
            !bytes.iter().any(|b| *b == 0x1b || *b == 0x07),
            "{what} printed a raw control character: {}",
            String::from_utf8_lossy(bytes)
        );
        assert!(
            !String::from_utf8_lossy(bytes).contains('\u{202e}'),
            "{what} printed a raw direction override"
        );
    };
    let run = |args: &[&str]| {
        let out = sb
            .aibox(&root)
            .args(["--color", "never"])
            .args(args)
            .output()
            .unwrap();
        raw(&format!("aibox {args:?} (stdout)"), &out.stdout);
        raw(&format!("aibox {args:?} (stderr)"), &out.stderr);
        let (o, e) = common::text(&out);
        (out.status.success(), o, e)
    };

    let (ok, out, err) = run(&["search", "shady", "--registry", "dir:../packs"]);
    assert!(ok, "{err}");
    assert!(out.contains(SHOWN), "{out}");
    let (ok, out, err) = run(&["info", "shady@1.0.0", "--registry", "dir:../packs"]);
    assert!(ok, "{err}");
    assert!(out.contains(SHOWN), "{out}");
    let (ok, _, err) = run(&["add", "shady@1.0.0"]);
    assert!(ok, "{err}");
    let (ok, out, err) = run(&["outdated"]);
    assert!(ok && out.contains("shady"), "{out}{err}");
    // The requirement is widened, the new version's changelog printed.
    let (ok, out, err) = run(&["update", "--major", "--yes"]);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("- fixed {SHOWN}")), "{out}");
    let (ok, out, err) = run(&["info", "shady"]);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("- fixed {SHOWN}")), "{out}");
    let (ok, _, err) = run(&["add", "loud"]);
    assert!(!ok);
    assert!(
        err.contains(SHOWN),
        "the hook's output is shown escaped: {err}"
    );

    // JSON keeps the exact value (JSON escapes it).
    let (ok, out, err) = run(&["info", "shady", "--json"]);
    assert!(ok, "{err}");
    let info: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(info["description"], HOSTILE);
}
