//! Faults against the real binary: `kill -9` at random points of sync (ingest, pack build,
//! switch) and gc in both durability modes, a kill at each step between staging and naming, a
//! full disk, and a read-only aibox home. After each, the previous generation
//! still works, `store verify` is clean and the next run completes.
//!
//! The disk tests mount small tmpfs filesystems inside user namespaces (no root needed; see
//! tests/common/userns.rs); a failed mount fails the test with a message rather than skipping.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]
// Tests may print their own diagnostics; only the crate prints through crate::printer.
#![allow(clippy::disallowed_macros)]

mod common;

use std::path::Path;
use std::process::{Command as Std, Stdio};
use std::time::{Duration, Instant};

use common::userns::SmallFs;
use common::{Sandbox, text, write_pack};

/// A pack `bulk` at `version` with `files` small files whose content depends on the version.
fn bulk_pack(dir: &Path, version: &str, files: usize) {
    let toml =
        format!("[pack]\nname = \"bulk\"\nversion = \"{version}\"\n[bin]\nbulk = \"bin/bulk\"\n");
    let script = format!("#!/bin/sh\necho bulk {version}\n");
    let root = write_pack(dir, &toml, &[("bin/bulk", &script, true)]);
    for i in 0..files {
        let sub = root.join(format!("data/{:02}", i % 32));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(
            sub.join(format!("f{i}")),
            format!("{version} file {i}\n").repeat(8),
        )
        .unwrap();
    }
}

fn manifest(version: &str) -> String {
    format!("[registries]\ndefault = \"dir:../packs\"\n[packs]\nbulk = \"={version}\"\n")
}

fn bulk_output(root: &Path) -> String {
    let out = Std::new(root.join(".aibox/current/bin/bulk"))
        .output()
        .unwrap();
    assert!(out.status.success(), "the current generation's tool runs");
    String::from_utf8(out.stdout).unwrap()
}

fn verify_clean(sb: &Sandbox, cwd: &Path) {
    let out = sb.aibox(cwd).args(["store", "verify"]).output().unwrap();
    assert!(
        out.status.success(),
        "store verify after a crash:\n{}{}",
        text(&out).0,
        text(&out).1
    );
}

/// A tiny deterministic generator (xorshift), seeded from the clock and printed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn kill_9_during_sync_and_gc_never_breaks_the_environment() {
    kill_9_during_sync_and_gc("full");
}

#[test]
fn kill_9_during_sync_and_gc_never_breaks_the_environment_ephemeral() {
    // Nothing is flushed; a killed process still leaves a consistent store (the page cache
    // holds what it wrote), so `store verify` is clean without `--repair`.
    kill_9_during_sync_and_gc("ephemeral");
}

fn kill_9_during_sync_and_gc(durability: &str) {
    let sb = Sandbox::new();
    let aibox = |cwd: &Path| {
        let mut c = sb.aibox(cwd);
        c.env("AIBOX_DURABILITY", durability);
        c
    };
    let packs = sb.path().join("packs");
    for v in ["1.0.0", "2.0.0"] {
        bulk_pack(&packs, v, 800);
    }
    let root = sb.project("p", &manifest("1.0.0"));
    let out = aibox(&root).arg("sync").output().unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    assert_eq!(bulk_output(&root), "bulk 1.0.0\n");

    // How long a full cold sync of the other version takes: kills land inside that window.
    std::fs::write(root.join("aibox.toml"), manifest("2.0.0")).unwrap();
    let start = Instant::now();
    assert!(aibox(&root).arg("sync").output().unwrap().status.success());
    let window = start.elapsed().as_micros().max(2_000) as u64;
    assert!(
        aibox(&root)
            .args(["rollback"])
            .output()
            .unwrap()
            .status
            .success()
    );
    assert!(
        aibox(&root)
            .args(["gc", "--keep", "1"])
            .output()
            .unwrap()
            .status
            .success()
    );

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("{durability}: seed {seed}, window {window} µs");
    let mut rng = Rng(seed);
    let bin = assert_cmd::cargo::cargo_bin("aibox");
    let mut current = "1.0.0";
    let mut killed = 0;
    for i in 0..50 {
        let target = if current == "1.0.0" { "2.0.0" } else { "1.0.0" };
        std::fs::write(root.join("aibox.toml"), manifest(target)).unwrap();
        let gc = i % 6 == 5;
        let mut cmd = Std::new(&bin);
        cmd.current_dir(&root)
            .env("AIBOX_HOME", sb.home())
            .env("CI", "true")
            .env("AIBOX_DURABILITY", durability)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if gc {
            cmd.args(["gc", "--keep", "1"]);
        } else {
            cmd.arg("sync");
        }
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(Duration::from_micros(rng.next() % window));
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();

        // Whatever was interrupted, the current generation works and is one of the two.
        let seen = bulk_output(&root);
        assert!(
            seen == "bulk 1.0.0\n" || seen == "bulk 2.0.0\n",
            "iteration {i}: {seen}"
        );
        verify_clean(&sb, &root);

        // The next run completes without any help.
        let out = aibox(&root).arg("sync").output().unwrap();
        assert!(
            out.status.success(),
            "iteration {i}: sync after kill:\n{}",
            text(&out).1
        );
        assert_eq!(
            bulk_output(&root),
            format!("bulk {target}\n"),
            "iteration {i}"
        );
        current = target;
        // Drop the other version so the next sync ingests again.
        assert!(
            aibox(&root)
                .args(["gc", "--keep", "1"])
                .output()
                .unwrap()
                .status
                .success()
        );
    }
    assert!(
        killed >= 15,
        "only {killed} of 50 runs were interrupted; the window is too short"
    );
    verify_clean(&sb, &root);
    let tmp_left = std::fs::read_dir(sb.home().join("store-v2/tmp"))
        .unwrap()
        .count();
    assert_eq!(tmp_left, 0, "gc removed every staging leftover");
}

#[test]
fn a_full_disk_fails_clearly_and_keeps_the_current_generation() {
    let sb = Sandbox::new();
    let fs = SmallFs::tmpfs(&sb.home(), "3m");
    let packs = sb.path().join("packs");
    write_pack(
        &packs,
        "[pack]\nname = \"small\"\nversion = \"1.0.0\"\n[bin]\nsmall = \"bin/small\"\n",
        &[("bin/small", "#!/bin/sh\necho small\n", true)],
    );
    // 5 MiB of data that cannot fit in a 3 MiB home.
    let big = write_pack(&packs, "[pack]\nname = \"big\"\nversion = \"1.0.0\"\n", &[]);
    for i in 0..5 {
        let data: Vec<u8> = (0..1u32 << 20)
            .map(|j| (j.wrapping_mul(2654435761).wrapping_add(i) >> 13) as u8)
            .collect();
        std::fs::write(big.join(format!("blob{i}")), data).unwrap();
    }
    let root = sb.project(
        "p",
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\nsmall = \"1\"\n",
    );
    let out = sb.aibox_in(&fs, &root).arg("sync").output().unwrap();
    assert!(out.status.success(), "{}", text(&out).1);

    std::fs::write(
        root.join("aibox.toml"),
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\nsmall = \"1\"\nbig = \"1\"\n",
    )
    .unwrap();
    let out = sb.aibox_in(&fs, &root).arg("sync").output().unwrap();
    let err = text(&out).1;
    assert!(!out.status.success());
    assert!(err.contains("No space left on device"), "{err}");
    assert!(err.contains("hint: the disk is full"), "{err}");
    let out = fs
        .command(&root, root.join(".aibox/current/bin/small"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "small\n",
        "the current generation still works"
    );
    let gens = sb
        .aibox_in(&fs, &root)
        .args(["generations", "--json"])
        .output()
        .unwrap();
    let gens: serde_json::Value = serde_json::from_slice(&gens.stdout).unwrap();
    assert_eq!(gens.as_array().unwrap().len(), 2, "no generation was added");
    let out = sb
        .aibox_in(&fs, &root)
        .args(["store", "verify"])
        .output()
        .unwrap();
    assert!(out.status.success(), "store verify: {}", text(&out).1);

    // Freeing space (gc) and dropping the big pack heals.
    std::fs::write(
        root.join("aibox.toml"),
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\nsmall = \"1\"\n",
    )
    .unwrap();
    let out = sb.aibox_in(&fs, &root).arg("gc").output().unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    let out = sb.aibox_in(&fs, &root).arg("sync").output().unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
}

#[test]
fn a_read_only_home_fails_clearly_and_changes_nothing() {
    let sb = Sandbox::new();
    let fs = SmallFs::tmpfs(&sb.home(), "16m");
    sb.repo_packs();
    let root = sb.project(
        "p",
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\nhello = \"1.0\"\n",
    );
    let out = sb.aibox_in(&fs, &root).arg("sync").output().unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    fs.remount_ro();
    std::fs::write(
        root.join("aibox.toml"),
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\nhello = \"1.1\"\n",
    )
    .unwrap();
    let out = sb.aibox_in(&fs, &root).arg("sync").output().unwrap();
    let err = text(&out).1;
    assert!(!out.status.success());
    assert!(err.contains("Read-only file system"), "{err}");
    assert!(err.contains("hint:") && err.contains("AIBOX_HOME"), "{err}");
    let out = sb
        .aibox_in(&fs, &root)
        .args(["run", "--", "hello"])
        .output()
        .unwrap();
    assert!(
        text(&out).0.starts_with("Hello"),
        "the current generation still works: {}",
        text(&out).1
    );
    // A home that cannot be created at all.
    let out = sb
        .aibox(&root)
        .env("AIBOX_HOME", root.join("aibox.toml").join("home"))
        .arg("sync")
        .output()
        .unwrap();
    let err = text(&out).1;
    assert!(!out.status.success());
    assert!(err.contains("cannot create the store directory"), "{err}");
}

/// The names under `dir`, recursively (empty when it does not exist).
fn names_under(dir: &Path) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let e = e.unwrap();
            let p = e.path();
            out.insert(p.strip_prefix(dir).unwrap().display().to_string());
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            }
        }
    }
    out
}

/// Top-level names of `packs/` (each pack tree, its listing and lock).
fn pack_names(sb: &Sandbox) -> std::collections::BTreeSet<String> {
    std::fs::read_dir(sb.home().join("store-v2/packs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".lock"))
        .collect()
}

#[test]
fn killed_between_staging_and_naming_names_nothing_and_the_next_sync_completes() {
    // A sync stages objects and pack trees in tmp/, makes them durable with one barrier, then
    // names them (SPEC §2). Killed at each step (fault injection in the test build), in both
    // durability modes: the current generation is untouched, nothing is named before the
    // barrier, `store verify` is clean and the next sync completes.
    for durability in ["full", "ephemeral"] {
        let sb = Sandbox::new();
        let packs = sb.path().join("packs");
        for v in ["1.0.0", "2.0.0"] {
            bulk_pack(&packs, v, 200);
        }
        let root = sb.project("p", &manifest("1.0.0"));
        let out = sb
            .aibox(&root)
            .env("AIBOX_DURABILITY", durability)
            .arg("sync")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out).1);
        std::fs::write(root.join("aibox.toml"), manifest("2.0.0")).unwrap();
        let objects = sb.home().join("store-v2/objects");
        for point in ["staged", "durable", "objects-named"] {
            let (objects_before, packs_before) = (names_under(&objects), pack_names(&sb));
            let out = sb
                .aibox(&root)
                .env("AIBOX_DURABILITY", durability)
                .env("AIBOX_TEST_CRASH_AT", point)
                .arg("sync")
                .output()
                .unwrap();
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(
                out.status.signal(),
                Some(9),
                "{durability}/{point}: {}",
                text(&out).1
            );
            assert_eq!(bulk_output(&root), "bulk 1.0.0\n", "{durability}/{point}");
            assert_eq!(
                pack_names(&sb),
                packs_before,
                "{durability}/{point}: no pack tree is named before it is committed"
            );
            let objects_after = names_under(&objects);
            if point == "objects-named" {
                assert!(
                    objects_after.len() > objects_before.len() + 200,
                    "{durability}/{point}: the new objects are named after the barrier"
                );
            } else {
                assert_eq!(
                    objects_after, objects_before,
                    "{durability}/{point}: no object is named before the barrier"
                );
            }
            let staged = std::fs::read_dir(sb.home().join("store-v2/tmp"))
                .unwrap()
                .count();
            assert!(
                staged > 0,
                "{durability}/{point}: what was staged is left in tmp/"
            );
            verify_clean(&sb, &root);
        }
        let out = sb
            .aibox(&root)
            .env("AIBOX_DURABILITY", durability)
            .arg("sync")
            .output()
            .unwrap();
        assert!(out.status.success(), "{durability}: {}", text(&out).1);
        assert_eq!(bulk_output(&root), "bulk 2.0.0\n", "{durability}");
        verify_clean(&sb, &root);
        let out = sb
            .aibox(&root)
            .args(["gc", "--keep", "1"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{durability}: {}", text(&out).1);
        let tmp_left = std::fs::read_dir(sb.home().join("store-v2/tmp"))
            .unwrap()
            .count();
        assert_eq!(
            tmp_left, 0,
            "{durability}: gc removed every staging leftover"
        );
        verify_clean(&sb, &root);
    }
}
