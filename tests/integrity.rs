//! Store integrity and recovery, found by fault injection: a gc killed mid-deletion never
//! leaves a tree that a sync accepts, presence is decided by the whole tree hash, `store
//! verify` checks every path against its listing, broken profiles never block the rest of
//! the store and are repaired, and a foreign `.aibox` is refused. Run as an unprivileged user.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]
// Tests may print their own diagnostics; only the crate prints through crate::printer.
#![allow(clippy::disallowed_macros)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command as Std;
use std::time::Instant;

use common::{Sandbox, text, write_pack};

fn manifest(packs: &[(&str, &str)]) -> String {
    let mut s = String::from("[registries]\ndefault = \"dir:../packs\"\n[packs]\n");
    for (name, req) in packs {
        s.push_str(&format!("{name} = \"{req}\"\n"));
    }
    s
}

/// The pack directories of the store (not listings).
fn pack_dirs(sb: &Sandbox) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(sb.home().join("store-v2/packs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

fn count_files(dir: &Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            n += count_files(&e.path());
        } else {
            n += 1;
        }
    }
    n
}

fn make_writable(dir: &Path) {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A pack `bulk` at `version` with `files` small files.
fn bulk_pack(packs: &Path, version: &str, files: usize) {
    let toml =
        format!("[pack]\nname = \"bulk\"\nversion = \"{version}\"\n[bin]\nbulk = \"bin/bulk\"\n");
    let script = format!("#!/bin/sh\necho bulk {version}\n");
    let root = write_pack(packs, &toml, &[("bin/bulk", &script, true)]);
    for i in 0..files {
        let sub = root.join(format!("data/{:02}", i % 16));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("f{i}")), format!("{version} {i}\n")).unwrap();
    }
}

#[test]
fn gc_killed_mid_deletion_never_leaves_a_tree_that_sync_accepts() {
    let sb = Sandbox::new();
    let packs = sb.path().join("packs");
    const FILES: usize = 1500;
    bulk_pack(&packs, "1.0.0", FILES);
    bulk_pack(&packs, "2.0.0", FILES);
    let root = sb.project("p", &manifest(&[("bulk", "=1.0.0")]));
    let set = |v: &str| {
        std::fs::write(
            root.join("aibox.toml"),
            manifest(&[("bulk", &format!("={v}"))]),
        )
        .unwrap()
    };
    sb.ok(&root, &["sync"]);
    // How long a gc that deletes the 1.0.0 tree takes: kills land inside that window.
    set("2.0.0");
    sb.ok(&root, &["sync"]);
    let start = Instant::now();
    sb.ok(&root, &["gc", "--keep", "1"]);
    let window = start.elapsed().as_micros().max(3_000) as u64;
    let bin = assert_cmd::cargo::cargo_bin("aibox");
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("seed {seed}, gc window {window} µs");
    let mut partial_seen = 0;
    for round in 0..12 {
        // 1.0.0 back in the store, then unreferenced again.
        set("1.0.0");
        sb.ok(&root, &["sync"]);
        set("2.0.0");
        sb.ok(&root, &["sync"]);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = std::time::Duration::from_micros(seed % window);
        let mut gc = Std::new(&bin)
            .args(["gc", "--keep", "1"])
            .current_dir(&root)
            .env("AIBOX_HOME", sb.home())
            .env("CI", "true")
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = gc.kill();
        let _ = gc.wait();
        // Whatever gc left: a tree in `packs/` with a listing is complete.
        for dir in pack_dirs(&sb) {
            let listing = PathBuf::from(format!("{}.tree.json", dir.display()));
            if !listing.exists() {
                partial_seen += 1;
                continue;
            }
            let entries: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&listing).unwrap()).unwrap();
            let files = entries["entries"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["kind"] != "dir")
                .count();
            assert_eq!(count_files(&dir), files, "round {round}: {}", dir.display());
        }
        // The next sync of 1.0.0 gets a complete tree, and the store verifies clean.
        set("1.0.0");
        sb.ok(&root, &["sync"]);
        let out = Std::new(root.join(".aibox/current/bin/bulk"))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "bulk 1.0.0\n");
        let tree = std::fs::canonicalize(root.join(".aibox/current/packs/bulk")).unwrap();
        assert_eq!(
            count_files(&tree),
            FILES + 2,
            "round {round}: every file is there"
        );
        sb.ok(&root, &["gc"]);
        sb.ok(&root, &["store", "verify"]);
    }
    eprintln!("uncommitted trees left by killed gcs: {partial_seen}");
}

#[test]
fn presence_is_decided_by_the_whole_tree_hash() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project("p", &manifest(&[("hello", "=1.0.0")]));
    sb.ok(&root, &["sync"]);
    let lock = std::fs::read_to_string(root.join("aibox.lock")).unwrap();
    // Change the last hex digit of hello's tree hash: the first 63 digits still match.
    let at = lock.find("tree = \"blake3:").unwrap() + "tree = \"blake3:".len() + 63;
    let last = &lock[at..at + 1];
    let swapped = if last == "0" { "1" } else { "0" };
    let forged = format!("{}{swapped}{}", &lock[..at], &lock[at + 1..]);
    std::fs::write(root.join("aibox.lock"), &forged).unwrap();
    let before = std::fs::read_link(root.join(".aibox/current")).unwrap();
    let gens_before = sb.ok(&root, &["generations", "--json"]).0;
    let (_, err) = sb.fails(&root, &["sync", "--frozen"]);
    assert!(
        err.contains("does not match the lock") && err.contains("hello"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_link(root.join(".aibox/current")).unwrap(),
        before
    );
    assert_eq!(sb.ok(&root, &["generations", "--json"]).0, gens_before);
    assert_eq!(
        std::fs::read_to_string(root.join("aibox.lock")).unwrap(),
        forged
    );
}

#[test]
fn verify_finds_a_file_swapped_for_a_hardlink_to_another_object() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project("p", &manifest(&[("hello", "=1.0.0"), ("json-pretty", "*")]));
    sb.ok(&root, &["sync"]);
    let hello_tree = std::fs::canonicalize(root.join(".aibox/current/packs/hello")).unwrap();
    let victim = std::fs::canonicalize(root.join(".aibox/current/packs/hello/bin/hello")).unwrap();
    assert!(victim.starts_with(&hello_tree));
    // Another pack's executable object: a valid object, just not the listed one.
    let other =
        std::fs::canonicalize(root.join(".aibox/current/packs/json-pretty/bin/json-pretty"))
            .unwrap();
    let objects = sb.home().join("store-v2/objects");
    let object = std::fs::read_dir(&objects)
        .unwrap()
        .flat_map(|s| std::fs::read_dir(s.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .find(|p| {
            std::fs::read(p).unwrap() == std::fs::read(&other).unwrap()
                && p.to_string_lossy().ends_with(".x")
        })
        .expect("the other pack's program is an executable object");
    let dir = victim.parent().unwrap();
    make_writable(dir);
    std::fs::remove_file(&victim).unwrap();
    std::fs::hard_link(&object, &victim).unwrap();
    let (_, err) = sb.fails(&root, &["store", "verify"]);
    let out = sb.aibox(&root).args(["store", "verify"]).output().unwrap();
    let report = text(&out).0;
    assert!(
        report.contains(
            &hello_tree
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string()
        ) && report.contains("does not match its listed content"),
        "{report}\n{err}"
    );
    sb.ok(&root, &["store", "verify", "--repair"]);
    sb.ok(&root, &["store", "verify"]);
    sb.ok(&root, &["sync"]);
    let (out, _) = sb.ok(&root, &["run", "--", "hello"]);
    assert!(out.starts_with("Hello"), "{out}");
}

#[test]
fn verify_tells_an_interrupted_tree_from_a_lost_listing() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project("p", &manifest(&[("hello", "=1.0.0")]));
    sb.ok(&root, &["sync"]);
    let used = std::fs::canonicalize(root.join(".aibox/current/packs/hello")).unwrap();
    let listing = |dir: &Path| PathBuf::from(format!("{}.tree.json", dir.display()));
    // Recreate an interrupted leftover: a complete copy of the used tree under another name.
    let leftover = used.with_file_name(format!("{}-leftover-0.0.0", "0".repeat(64)));
    let status = Std::new("cp")
        .arg("-a")
        .arg(&used)
        .arg(&leftover)
        .status()
        .unwrap();
    assert!(status.success());
    let out = sb.aibox(&root).args(["store", "verify"]).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("interrupted: {}", leftover.display())),
        "{stdout}"
    );
    sb.ok(&root, &["gc"]);
    assert!(!leftover.exists(), "gc removes the leftover");
    // A tree that a generation uses but whose listing is gone is corruption.
    std::fs::remove_file(listing(&used)).unwrap();
    let out = sb.aibox(&root).args(["store", "verify"]).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "corrupt: {}: a generation uses it",
            used.display()
        )),
        "{stdout}"
    );
    sb.ok(&root, &["store", "verify", "--repair"]);
    sb.ok(&root, &["sync"]);
    sb.ok(&root, &["store", "verify"]);
    let (out, _) = sb.ok(&root, &["run", "--", "hello"]);
    assert!(out.starts_with("Hello"), "{out}");
}

/// The ways a profile gets damaged.
const DAMAGE: &[&str] = &[
    "garbage",
    "regular-file",
    "missing-generation",
    "corrupt-record",
];

fn damage(profile_dir: &Path, how: &str) {
    let current = profile_dir.join("current");
    let id: String = std::fs::read_link(&current)
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    match how {
        "garbage" => {
            std::fs::remove_file(&current).unwrap();
            std::os::unix::fs::symlink("no/such\nplace", &current).unwrap();
        }
        "regular-file" => {
            std::fs::remove_file(&current).unwrap();
            std::fs::write(&current, "not a link").unwrap();
        }
        "missing-generation" => {
            std::fs::remove_file(&current).unwrap();
            std::os::unix::fs::symlink("generations/99", &current).unwrap();
        }
        "corrupt-record" => {
            let record = profile_dir
                .join("generations")
                .join(&id)
                .join("generation.toml");
            std::fs::write(record, "id = [broken").unwrap();
        }
        other => panic!("{other}"),
    }
}

fn profile_of(root: &Path) -> PathBuf {
    std::fs::read_link(root.join(".aibox/current"))
        .unwrap()
        .parent()
        .unwrap()
        .to_owned()
}

#[test]
fn a_broken_profile_never_blocks_the_store_and_is_repaired() {
    for how in DAMAGE {
        let sb = Sandbox::new();
        sb.repo_packs();
        let a = sb.project("a", &manifest(&[("hello", "=1.0.0")]));
        let b = sb.project("b", &manifest(&[("json-pretty", "*")]));
        sb.ok(&a, &["sync"]);
        sb.ok(&b, &["sync"]);
        let packs_before = pack_dirs(&sb);
        damage(&profile_of(&a), how);

        // gc of the whole store works, warns about `a`, and keeps what `a` links to.
        let (_, err) = sb.ok(&b, &["gc"]);
        assert!(
            err.contains("warning:") && err.contains(&a.display().to_string()),
            "{how}: {err}"
        );
        assert_eq!(
            pack_dirs(&sb),
            packs_before,
            "{how}: nothing `a` uses was collected"
        );
        // `generations` lists what is readable; `run` without its sync fails clearly.
        let (list, err) = sb.ok(&a, &["generations"]);
        assert!(list.contains("ID"), "{how}: {list}");
        assert!(err.contains("warning:"), "{how}: {err}");
        let (code, err) = sb.fails(&a, &["run", "--no-sync", "--", "hello"]);
        assert_eq!(code, 1, "{how}");
        assert!(err.contains("hint:"), "{how}: {err}");
        // `store verify` reports the profile; `--repair` repairs it.
        let out = sb.aibox(&a).args(["store", "verify"]).output().unwrap();
        assert!(!out.status.success(), "{how}: verify reports the damage");
        assert!(
            text(&out).0.contains("profiles/"),
            "{how}: {}",
            text(&out).0
        );
        sb.ok(&a, &["store", "verify", "--repair"]);
        sb.ok(&a, &["store", "verify"]);
        sb.ok(&a, &["sync"]);
        assert!(
            sb.ok(&a, &["run", "--", "hello"]).0.starts_with("Hello"),
            "{how}"
        );

        // `sync` repairs the link by itself, and so does `rollback --to N`.
        damage(&profile_of(&a), how);
        let (_, err) = sb.ok(&a, &["sync"]);
        assert!(err.contains("broken"), "{how}: {err}");
        assert!(
            sb.ok(&a, &["run", "--", "hello"]).0.starts_with("Hello"),
            "{how}"
        );
        damage(&profile_of(&a), how);
        sb.ok(&a, &["rollback", "--to", "0"]);
        let (list, _) = sb.ok(&a, &["generations", "--json"]);
        let gens: serde_json::Value = serde_json::from_str(&list).unwrap();
        assert!(
            gens.as_array()
                .unwrap()
                .iter()
                .any(|g| g["id"] == 0 && g["current"] == true),
            "{how}: {list}"
        );
    }
}

#[test]
fn a_foreign_aibox_directory_is_refused() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let victim = sb.path().join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    let root = sb.project("p", &manifest(&[("hello", "=1.0.0")]));
    std::os::unix::fs::symlink(&victim, root.join(".aibox")).unwrap();
    let (code, err) = sb.fails(&root, &["sync"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("is a symlink") && err.contains("hint:"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(&victim).unwrap().count(),
        0,
        "nothing written there"
    );

    // A committed `.aibox/current` that is not a symlink.
    std::fs::remove_file(root.join(".aibox")).unwrap();
    std::fs::create_dir_all(root.join(".aibox")).unwrap();
    std::fs::write(root.join(".aibox/current"), "x").unwrap();
    let (_, err) = sb.fails(&root, &["sync"]);
    assert!(err.contains("`current` is not a symlink"), "{err}");
    std::fs::remove_file(root.join(".aibox/current")).unwrap();
    sb.ok(&root, &["sync"]);

    // A committed `.aibox/current` link that aibox did not make (into the repository): sync
    // does not adopt it, and leaves it as it is.
    std::fs::remove_file(root.join(".aibox/current")).unwrap();
    std::os::unix::fs::symlink("../payload", root.join(".aibox/current")).unwrap();
    let (_, err) = sb.fails(&root, &["sync"]);
    assert!(
        err.contains("points at `../payload`") && err.contains("hint:"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_link(root.join(".aibox/current")).unwrap(),
        Path::new("../payload")
    );
}

#[test]
fn init_ignores_the_state_directory_and_never_adopts_a_committed_one() {
    let sb = Sandbox::new();
    // A repository that commits `.aibox` but no `aibox.toml` yet: init refuses, writes nothing.
    let repo = sb.path().join("repo");
    std::fs::create_dir_all(repo.join(".aibox/current/bin")).unwrap();
    let (code, err) = sb.fails(&repo, &["init"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("refusing to use") && err.contains(".aibox/` to `.gitignore`"),
        "{err}"
    );
    assert!(!repo.join("aibox.toml").exists() && !repo.join(".gitignore").exists());
    // A fresh project: `.aibox/` goes into `.gitignore`, after what is there, once.
    let fresh = sb.path().join("fresh");
    std::fs::create_dir_all(&fresh).unwrap();
    std::fs::write(fresh.join(".gitignore"), "target/").unwrap();
    sb.ok(&fresh, &["init"]);
    let ignore = std::fs::read_to_string(fresh.join(".gitignore")).unwrap();
    assert!(ignore.starts_with("target/\n"), "{ignore}");
    assert_eq!(
        ignore.lines().filter(|l| *l == ".aibox/").count(),
        1,
        "{ignore}"
    );
    // One that ignores it already is left alone.
    let kept = sb.path().join("kept");
    std::fs::create_dir_all(&kept).unwrap();
    std::fs::write(kept.join(".gitignore"), "/.aibox\n").unwrap();
    sb.ok(&kept, &["init"]);
    assert_eq!(
        std::fs::read_to_string(kept.join(".gitignore")).unwrap(),
        "/.aibox\n"
    );
}
