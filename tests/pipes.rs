//! Output into closed pipes: every command that prints data, with stdout a pipe whose reader is
//! already gone (`aibox list | head -1` once `head` has exited), ends quietly with status 0 —
//! no panic, no "Broken pipe" — and a command whose stderr is closed still does its work.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Stdio;

use common::Sandbox;

/// The write end of a pipe whose read end is closed: every write fails with `EPIPE`.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe(2) returns.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: pipe(2) returned two fresh descriptors that nothing else owns.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    Stdio::from(write)
}

/// The real binary with the sandbox's environment, as a plain `Command` (its streams set here).
fn aibox(sb: &Sandbox, cwd: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("aibox"));
    c.current_dir(cwd)
        .env("AIBOX_HOME", sb.home())
        .env("NO_COLOR", "1")
        .env("CI", "true")
        .env("HOME", sb.path().join("user"))
        .env_remove("AIBOX_CONFIG")
        .env_remove("XDG_CONFIG_HOME");
    c
}

const MANIFEST: &str =
    "[registries]\ndefault = \"dir:../packs\"\n\n[packs]\nhello = \"1\"\nci-tools = \"^1.0\"\n";

#[test]
fn data_into_a_closed_pipe_ends_quietly() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project("app", MANIFEST);
    sb.ok(&root, &["sync"]);
    let commands: &[&[&str]] = &[
        &["generations"],
        &["generations", "--json"],
        &["list"],
        &["list", "--json"],
        &["tree"],
        &["doctor"],
        &["doctor", "--json"],
        &["env"],
        &["env", "--shell", "json"],
        &["diff", "0", "1"],
        &["search", "hello"],
        &["info", "hello"],
        &["outdated"],
        &["log"],
        &["config", "list"],
        &["completions", "bash"],
        &["activate", "bash"],
        &["store", "path", "hello"],
        &["--help"],
    ];
    for args in commands {
        let out = aibox(&sb, &root)
            .args(*args)
            .stdout(closed_pipe())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "aibox {args:?} into a closed pipe: {stderr}"
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "aibox {args:?}: {stderr}"
        );
    }
}

#[test]
fn a_closed_stderr_does_not_stop_the_work() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project("app", MANIFEST);
    let out = aibox(&sb, &root)
        .args(["sync", "-v"])
        .stderr(closed_pipe())
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert!(root.join(".aibox/current/bin/hello").exists());
}
