//! Edges of the command line and the environment: odd `AIBOX_LOCK_TIMEOUT` values, a relative
//! `AIBOX_HOME`, `--manifest-path` forms, `init` of a new directory, the modes of files written
//! for the user, I/O causes and their hints, and the documented exit codes.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;

use common::userns::SmallFs;
use common::{Sandbox, text};

const HELLO: &str = "[registries]\ndefault = \"dir:../packs\"\n[packs]\nhello = \"=1.0.0\"\n";

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn lock_timeout_values_are_checked_or_mean_the_obvious() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project("p", HELLO);
    for bad in ["-1", "NaN", "soon", "-inf"] {
        let out = sb
            .aibox(&root)
            .env("AIBOX_LOCK_TIMEOUT", bad)
            .arg("sync")
            .output()
            .unwrap();
        let err = text(&out).1;
        assert_eq!(out.status.code(), Some(1), "{bad}: {err}");
        assert!(
            err.contains("AIBOX_LOCK_TIMEOUT")
                && err.contains("hint:")
                && !err.contains("panicked"),
            "{bad}: {err}"
        );
    }
    for fine in ["inf", "1e30", "0.5", "0"] {
        let out = sb
            .aibox(&root)
            .env("AIBOX_LOCK_TIMEOUT", fine)
            .arg("sync")
            .output()
            .unwrap();
        assert!(out.status.success(), "{fine}: {}", text(&out).1);
    }
}

#[test]
fn a_relative_aibox_home_is_taken_from_the_current_directory() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project("p", HELLO);
    let out = sb
        .aibox(&root)
        .env("AIBOX_HOME", "relative-home")
        .arg("sync")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(root.join("relative-home/store-v2").is_dir());
    // The generation's links are absolute: they work from anywhere.
    let link = std::fs::read_link(root.join(".aibox/current")).unwrap();
    assert!(link.is_absolute(), "{}", link.display());
    let pack = std::fs::read_link(root.join(".aibox/current/packs/hello")).unwrap();
    assert!(pack.is_absolute() && pack.is_dir(), "{}", pack.display());
    let out = sb
        .aibox(sb.path())
        .env("AIBOX_HOME", root.join("relative-home"))
        .args([
            "--manifest-path",
            &root.display().to_string(),
            "run",
            "--",
            "hello",
        ])
        .output()
        .unwrap();
    assert!(text(&out).0.starts_with("Hello"), "{}", text(&out).1);
}

#[test]
fn without_aibox_home_the_cache_and_log_follow_xdg_and_are_moved_there_once() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project("p", HELLO);
    let user = sb.path().join("user");
    let data = user.join(".local/share/aibox");
    // What an earlier aibox left in the data directory: a cache file and a log line.
    std::fs::create_dir_all(data.join("cache/github")).unwrap();
    std::fs::write(data.join("cache/github/kept.json"), b"[]").unwrap();
    std::fs::create_dir_all(data.join("log")).unwrap();
    let old_line =
        r#"{"time":"2026-01-01T00:00:00.000Z","user":"u","pid":1,"action":"gc","detail":{}}"#;
    std::fs::write(data.join("log/audit.jsonl"), format!("{old_line}\n")).unwrap();
    let xdg = |args: &[&str]| {
        let out = sb
            .aibox(&root)
            .env_remove("AIBOX_HOME")
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CACHE_HOME")
            .env_remove("XDG_STATE_HOME")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", text(&out).1);
        text(&out).0
    };
    xdg(&["sync"]);
    assert!(data.join("store-v2").is_dir());
    assert!(!data.join("cache").exists() && !data.join("log").exists());
    assert_eq!(
        std::fs::read(user.join(".cache/aibox/github/kept.json")).unwrap(),
        b"[]"
    );
    let log = std::fs::read_to_string(user.join(".local/state/aibox/log/audit.jsonl")).unwrap();
    assert!(log.starts_with(old_line), "{log}");
    assert!(log.lines().count() > 1, "the sync's events follow: {log}");
    // `aibox log` reads the moved log: the old line and the sync's.
    let listed = xdg(&["log", "--json"]);
    assert_eq!(listed.lines().count(), log.lines().count(), "{listed}");
    // With AIBOX_HOME set, a home keeps its own cache and log.
    sb.ok(&root, &["sync"]);
    assert!(sb.home().join("log/audit.jsonl").is_file());
}

#[test]
fn arguments_that_are_not_utf8_pass_through_run_unchanged() {
    use std::os::unix::ffi::OsStrExt;
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project("p", HELLO);
    sb.ok(&root, &["sync"]);
    let raw = std::ffi::OsStr::from_bytes(b"a\xff\xfeb");
    let out = sb
        .aibox(&root)
        .args(["run", "--", "printf", "%s"])
        .arg(raw)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    assert_eq!(out.stdout, b"a\xff\xfeb");
    // And as the program's name: a clear error, not a panic.
    let out = sb
        .aibox(&root)
        .args(["run", "--"])
        .arg(raw)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out).1);
    assert_ne!(out.status.code(), Some(101), "{}", text(&out).1);
    assert!(text(&out).1.contains("cannot run `a"), "{}", text(&out).1);
}

#[test]
fn manifest_path_takes_a_file_or_its_directory() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project("p", HELLO);
    let elsewhere = sb.path();
    let dir = root.display().to_string();
    sb.ok(elsewhere, &["--manifest-path", &dir, "sync"]);
    assert!(root.join(".aibox/current/bin/hello").exists());
    let file = root.join("aibox.toml").display().to_string();
    sb.ok(elsewhere, &["--manifest-path", &file, "generations"]);
    // A directory without a manifest, and a file that is not one, are clear errors.
    let empty = sb.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (_, err) = sb.fails(
        elsewhere,
        &["--manifest-path", &empty.display().to_string(), "sync"],
    );
    assert!(
        err.contains("no `aibox.toml` in") && err.contains("aibox init"),
        "{err}"
    );
    std::fs::write(root.join("other.toml"), HELLO).unwrap();
    let other = root.join("other.toml").display().to_string();
    let (_, err) = sb.fails(elsewhere, &["--manifest-path", &other, "sync"]);
    assert!(err.contains("is not an `aibox.toml`"), "{err}");
    let (_, err) = sb.fails(elsewhere, &["--manifest-path", "/no/such/dir", "sync"]);
    assert!(
        err.contains("cannot open `/no/such/dir`") && err.contains("caused by"),
        "{err}"
    );
}

#[test]
fn init_creates_a_missing_directory() {
    let sb = Sandbox::new();
    let (_, err) = sb.ok(sb.path(), &["init", "new/project"]);
    assert!(!err.contains(".tmp-"), "no temp file name leaks: {err}");
    assert!(sb.path().join("new/project/aibox.toml").is_file());
    std::fs::write(sb.path().join("file"), "").unwrap();
    let (_, err) = sb.fails(sb.path(), &["init", "file"]);
    assert!(
        err.contains("is not a directory") && !err.contains(".tmp-"),
        "{err}"
    );
}

/// `aibox` run with a given umask.
fn with_umask(sb: &Sandbox, cwd: &Path, umask: u32, args: &[&str]) {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("aibox"));
    cmd.current_dir(cwd)
        .env("AIBOX_HOME", sb.home())
        .env("CI", "true")
        .args(args);
    // SAFETY: umask is async-signal-safe and cannot fail.
    unsafe {
        cmd.pre_exec(move || {
            libc::umask(umask as libc::mode_t);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", text(&out).1);
}

#[test]
fn files_written_for_the_user_honour_the_umask_and_keep_their_mode() {
    let sb = Sandbox::new();
    let packs = sb.repo_packs();
    with_umask(
        &sb,
        sb.path(),
        0o022,
        &["init", "p", "--registry", "dir:../packs"],
    );
    let root = sb.path().join("p");
    assert_eq!(mode(&root.join("aibox.toml")), 0o644);
    with_umask(&sb, &root, 0o022, &["add", "hello@1.0.0"]);
    assert_eq!(mode(&root.join("aibox.lock")), 0o644);
    assert_eq!(mode(&root.join("aibox.toml")), 0o644);
    // A stricter umask for new files …
    std::fs::remove_file(root.join("aibox.lock")).unwrap();
    with_umask(&sb, &root, 0o077, &["lock"]);
    assert_eq!(mode(&root.join("aibox.lock")), 0o600);
    // … and an existing file keeps the mode it has.
    std::fs::set_permissions(
        root.join("aibox.lock"),
        std::fs::Permissions::from_mode(0o664),
    )
    .unwrap();
    std::fs::set_permissions(
        root.join("aibox.toml"),
        std::fs::Permissions::from_mode(0o660),
    )
    .unwrap();
    with_umask(&sb, &root, 0o022, &["add", "json-pretty"]);
    assert_eq!(mode(&root.join("aibox.lock")), 0o664);
    assert_eq!(mode(&root.join("aibox.toml")), 0o660);
    // A layout's index.json.
    with_umask(
        &sb,
        sb.path(),
        0o022,
        &[
            "pack",
            "build",
            &packs.join("hello/1.0.0").display().to_string(),
            "-o",
            "layout",
        ],
    );
    assert_eq!(mode(&sb.path().join("layout/index.json")), 0o644);
}

#[test]
fn io_failures_keep_their_cause_and_the_disk_full_hint() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let project = sb.path().join("full");
    let fs = SmallFs::tmpfs(&project, "64k");
    std::fs::write(
        sb.path().join("manifest"),
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\nhello = \"=1.0.0\"\n",
    )
    .unwrap();
    let fill = format!(
        "cp {} aibox.toml && head -c 1M /dev/zero > filler; true",
        sb.path().join("manifest").display()
    );
    let out = fs
        .command(&project, "sh")
        .args(["-c", &fill])
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(
        fs.command(&project, "test")
            .args(["-s", "aibox.toml"])
            .status()
            .unwrap()
            .success(),
        "the manifest fits: {:?}",
        text(&out)
    );
    let out = sb.aibox_in(&fs, &project).arg("lock").output().unwrap();
    let err = text(&out).1;
    assert!(!out.status.success());
    assert!(
        err.contains("cannot write") && err.contains("aibox.lock"),
        "{err}"
    );
    assert!(
        err.contains("caused by") && err.contains("No space left on device"),
        "{err}"
    );
    assert!(err.contains("hint: the disk is full"), "{err}");
}

#[test]
fn exit_codes_are_the_documented_ones() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project("p", HELLO);
    // 2: usage errors.
    let (code, _) = sb.fails(&root, &["frobnicate"]);
    assert_eq!(code, 2);
    let (code, _) = sb.fails(&root, &["sync", "--locked", "--frozen"]);
    assert_eq!(code, 2);
    // 3: a stale lock, and nothing else.
    let (code, _) = sb.fails(&root, &["lock", "--check"]);
    assert_eq!(code, 3);
    let (code, _) = sb.fails(&root, &["sync", "--locked"]);
    assert_eq!(code, 3);
    // 1: any other failure, also under `lock --check`, with its own message and hint.
    std::fs::write(root.join("aibox.toml"), "[packs]\nhello = 1\n").unwrap();
    let (code, err) = sb.fails(&root, &["lock", "--check"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("aibox.toml:2:9") && !err.contains("--check"),
        "{err}"
    );
    std::fs::write(
        root.join("aibox.toml"),
        HELLO.replace("hello = \"=1.0.0\"", "helo = \"1\""),
    )
    .unwrap();
    let (code, err) = sb.fails(&root, &["lock", "--check"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("did you mean `hello`"), "{err}");
    // Documented where users look.
    let (help, _) = sb.ok(&root, &["--help"]);
    assert!(help.contains("Exit status") && help.contains("3"), "{help}");
    let guide = std::fs::read_to_string(common::repo_root().join("docs/guide.md")).unwrap();
    assert!(
        guide.contains("## Exit status"),
        "the guide documents the exit codes"
    );
}

#[test]
fn an_unreadable_pack_source_is_not_blamed_on_the_aibox_home() {
    let sb = Sandbox::new();
    let packs = sb.repo_packs();
    let secret = packs.join("hello/1.0.0/bin/hello");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    let root = sb.project("p", HELLO);
    let (code, err) = sb.fails(&root, &["sync"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot read pack `hello@1.0.0` from `dir:../packs`")
            && err.contains(&secret.display().to_string())
            && err.contains("Permission denied"),
        "{err}"
    );
    assert!(
        err.contains("check their permissions") && !err.contains("AIBOX_HOME"),
        "{err}"
    );
}

/// One malformed `pack.toml` in a `dir:` registry is skipped with a warning naming the file;
/// the other packs resolve, and asking for the broken one gets its error.
#[test]
fn a_malformed_pack_in_a_dir_registry_does_not_break_the_others() {
    let sb = Sandbox::new();
    let packs = sb.repo_packs();
    std::fs::create_dir_all(packs.join("broken")).unwrap();
    std::fs::write(
        packs.join("broken/pack.toml"),
        "[pack]\nname = \"broken\"\nversion = 1\n",
    )
    .unwrap();
    let root = sb.project(
        "proj",
        &format!(
            "[registries]\ndefault = \"dir:{}\"\n\n[packs]\nhello = \"1\"\n",
            packs.display()
        ),
    );
    let (_, err) = sb.ok(&root, &["sync"]);
    assert!(err.contains("warning: skipped the pack directory"), "{err}");
    assert!(err.contains("broken"), "{err}");
    assert!(root.join(".aibox/current/bin/hello").exists());
    let (code, err) = sb.fails(&root, &["add", "broken"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("broken/pack.toml") || err.contains("invalid pack in"),
        "{err}"
    );
    assert!(err.contains("version"), "{err}");
}

/// `info` shows a pack's `requires-aibox` and whether the running aibox is one it accepts.
#[test]
fn info_shows_requires_aibox_and_whether_this_aibox_meets_it() {
    let sb = Sandbox::new();
    let packs = sb.path().join("packs");
    for (name, req) in [("fits", ">=0.0.1"), ("future", ">=999.0.0")] {
        let dir = packs.join(name);
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::write(
            dir.join("pack.toml"),
            format!("[pack]\nname = \"{name}\"\nversion = \"1.0.0\"\nrequires-aibox = \"{req}\"\n"),
        )
        .unwrap();
    }
    let registry = format!("dir:{}", packs.display());
    let (out, _) = sb.ok(sb.path(), &["info", "fits", "--registry", &registry]);
    assert!(
        out.contains("requires:     aibox >=0.0.1 (this aibox is one)"),
        "{out}"
    );
    let (out, _) = sb.ok(
        sb.path(),
        &["--json", "info", "future", "--registry", &registry],
    );
    let info: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(info["requires_aibox"]["request"], ">=999.0.0", "{info}");
    assert_eq!(info["requires_aibox"]["satisfied"], false, "{info}");
}
