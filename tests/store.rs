//! The store through its library API: hostile trees and archives, generations, rollback, diff,
//! gc roots, verify/repair, and concurrent writers beside gc.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use aibox::fs::LockMode;
use aibox::manifest::pack::PackManifest;
use aibox::store::budget::Limits;
use aibox::store::gc::GcOptions;
use aibox::store::{PackId, Store, StoreError};

fn store() -> (tempfile::TempDir, Store) {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("home")).unwrap();
    (tmp, store)
}

fn limits() -> Limits {
    Limits::new(1 << 20, 1000)
}

/// A tar entry with a raw (unchecked) path, so hostile names can be written.
fn raw_entry(out: &mut Vec<u8>, path: &str, kind: tar::EntryType, link: Option<&str>, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    {
        let gnu = h.as_gnu_mut().unwrap();
        gnu.name[..path.len()].copy_from_slice(path.as_bytes());
        if let Some(l) = link {
            gnu.linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
    }
    h.set_entry_type(kind);
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    let pad = (512 - data.len() % 512) % 512;
    out.extend(std::iter::repeat_n(0u8, pad));
}

fn finish(mut out: Vec<u8>) -> Vec<u8> {
    out.extend(std::iter::repeat_n(0u8, 1024));
    out
}

fn assert_rejected(store: &Store, tar: Vec<u8>, entry: &str, reason: &str) {
    let err = store.ingest_tar(&tar[..], &limits()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(entry), "error `{msg}` should name `{entry}`");
    assert!(msg.contains(reason), "error `{msg}` should say `{reason}`");
    // Nothing became a pack, nothing left outside staging and objects.
    assert_eq!(
        std::fs::read_dir(store.layout().packs()).unwrap().count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(store.layout().profiles())
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn tar_hostile_entries_are_rejected() {
    use tar::EntryType as T;
    let (_t, s) = store();
    let mut a = Vec::new();
    raw_entry(&mut a, "../evil", T::Regular, None, b"x");
    assert_rejected(&s, finish(a), "../evil", "`..`");

    let mut a = Vec::new();
    raw_entry(&mut a, "/etc/evil", T::Regular, None, b"x");
    assert_rejected(&s, finish(a), "/etc/evil", "absolute path");

    let mut a = Vec::new();
    raw_entry(&mut a, "ok/../../evil", T::Regular, None, b"x");
    assert_rejected(&s, finish(a), "ok/../../evil", "`..`");

    let mut a = Vec::new();
    raw_entry(
        &mut a,
        "lib/link",
        T::Symlink,
        Some("../../etc/passwd"),
        b"",
    );
    assert_rejected(&s, finish(a), "lib/link", "leaves the pack");

    let mut a = Vec::new();
    raw_entry(&mut a, "abs", T::Symlink, Some("/etc/passwd"), b"");
    assert_rejected(&s, finish(a), "abs", "absolute symlink");

    let mut a = Vec::new();
    raw_entry(&mut a, "hl", T::Link, Some("../outside"), b"");
    assert_rejected(&s, finish(a), "hl", "leaves the pack");

    let mut a = Vec::new();
    raw_entry(&mut a, "hl", T::Link, Some("/etc/shadow"), b"");
    assert_rejected(&s, finish(a), "hl", "leaves the pack");

    let mut a = Vec::new();
    raw_entry(&mut a, "hl", T::Link, Some("later"), b"");
    raw_entry(&mut a, "later", T::Regular, None, b"x");
    assert_rejected(&s, finish(a), "hl", "not an earlier file");

    let mut a = Vec::new();
    raw_entry(&mut a, "dev", T::Char, None, b"");
    assert_rejected(&s, finish(a), "dev", "not allowed");

    let mut a = Vec::new();
    raw_entry(&mut a, "fifo", T::Fifo, None, b"");
    assert_rejected(&s, finish(a), "fifo", "not allowed");

    let mut a = Vec::new();
    raw_entry(&mut a, "same", T::Regular, None, b"1");
    raw_entry(&mut a, "same", T::Regular, None, b"2");
    assert_rejected(&s, finish(a), "same", "duplicate");

    let mut a = Vec::new();
    raw_entry(&mut a, "a:b", T::Regular, None, b"1");
    assert_rejected(&s, finish(a), "a:b", "not valid on every platform");

    let mut a = Vec::new();
    raw_entry(&mut a, "file", T::Regular, None, b"1");
    raw_entry(&mut a, "file/child", T::Regular, None, b"2");
    assert_rejected(&s, finish(a), "file/child", "not a directory");
}

#[test]
fn tar_expansion_is_capped() {
    let (_t, s) = store();
    let mut a = Vec::new();
    raw_entry(
        &mut a,
        "big",
        tar::EntryType::Regular,
        None,
        &vec![0u8; 3 << 20],
    );
    let err = s.ingest_tar(&finish(a)[..], &limits()).unwrap_err();
    assert!(matches!(err, StoreError::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("decompression limit"));
}

#[test]
fn tar_good_archive_round_trips() {
    let (_t, s) = store();
    let mut a = Vec::new();
    raw_entry(&mut a, "./bin/", tar::EntryType::Directory, None, b"");
    raw_entry(
        &mut a,
        "./bin/tool",
        tar::EntryType::Regular,
        None,
        b"#!/bin/sh\n",
    );
    raw_entry(
        &mut a,
        "./bin/again",
        tar::EntryType::Link,
        Some("./bin/tool"),
        b"",
    );
    raw_entry(
        &mut a,
        "./alias",
        tar::EntryType::Symlink,
        Some("bin/tool"),
        b"",
    );
    let tree = s.ingest_tar(&finish(a)[..], &limits()).unwrap();
    assert_eq!(tree.walk().len(), 4);
    let id = s.build_pack("t", "1.0.0", &tree, None).unwrap();
    let root = s.pack_path(&id);
    assert_eq!(
        std::fs::read(root.join("bin/again")).unwrap(),
        b"#!/bin/sh\n"
    );
    assert_eq!(
        std::fs::read_link(root.join("alias")).unwrap(),
        Path::new("bin/tool")
    );
    // Read-only tree.
    let mode = std::fs::metadata(root.join("bin"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o222, 0);
}

fn dir_rejects(setup: impl FnOnce(&Path), entry: &str, reason: &str) {
    let (t, s) = store();
    let dir = t.path().join("src");
    std::fs::create_dir_all(&dir).unwrap();
    setup(&dir);
    let err = s.ingest_dir(&dir).unwrap_err().to_string();
    assert!(
        err.contains(entry) && err.contains(reason),
        "`{err}` should name `{entry}` / `{reason}`"
    );
    assert_eq!(std::fs::read_dir(s.layout().packs()).unwrap().count(), 0);
}

#[test]
fn dir_hostile_entries_are_rejected() {
    use std::os::unix::fs::symlink;
    dir_rejects(
        |d| symlink("/etc/passwd", d.join("abs")).unwrap(),
        "abs",
        "absolute",
    );
    dir_rejects(
        |d| {
            std::fs::create_dir(d.join("sub")).unwrap();
            symlink("../../x", d.join("sub/up")).unwrap();
        },
        "sub/up",
        "leaves the pack",
    );
    dir_rejects(
        |d| {
            let st = std::process::Command::new("mkfifo")
                .arg(d.join("pipe"))
                .status()
                .unwrap();
            assert!(st.success());
        },
        "pipe",
        "FIFOs",
    );
    dir_rejects(
        |d| std::fs::write(d.join("bad\nname"), "x").unwrap(),
        "bad",
        "not valid on every platform",
    );
    dir_rejects(
        |d| std::fs::write(d.join("c:d"), "x").unwrap(),
        "c:d",
        "not valid on every platform",
    );
    dir_rejects(
        |d| {
            use std::os::unix::ffi::OsStrExt;
            let name = std::ffi::OsStr::from_bytes(b"bad\xff");
            std::fs::write(d.join(name), "x").unwrap();
        },
        "bad",
        "not valid UTF-8",
    );
    dir_rejects(
        |d| {
            let outside = d.parent().unwrap().join("secret");
            std::fs::write(&outside, "secret").unwrap();
            std::fs::hard_link(&outside, d.join("copy")).unwrap();
        },
        "src",
        "hardlinked from outside",
    );
}

fn manifest(name: &str, bin: &[(&str, &str)]) -> PackManifest {
    let mut text = format!("[pack]\nname = \"{name}\"\nversion = \"1.0.0\"\n[bin]\n");
    for (k, v) in bin {
        text.push_str(&format!("{k} = \"{v}\"\n"));
    }
    toml::from_str(&text).unwrap()
}

fn pack(s: &Store, dir: &Path, name: &str, content: &str) -> (PackId, PackManifest) {
    let src = dir.join(format!(
        "src-{name}-{}",
        blake3::hash(content.as_bytes()).to_hex()
    ));
    std::fs::create_dir_all(src.join("bin")).unwrap();
    let tool = src.join("bin").join(name);
    std::fs::write(&tool, content).unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let id = s.add_pack_dir(name, "1.0.0", &src, None).unwrap();
    (id, manifest(name, &[(name, &format!("bin/{name}"))]))
}

#[test]
fn generations_switch_rollback_and_diff() {
    let (t, s) = store();
    let root = t.path().join("project");
    std::fs::create_dir_all(&root).unwrap();
    let profile = s.project_profile(&root).unwrap();
    assert_eq!(s.current_id(&profile).unwrap(), 0);
    let a = pack(&s, t.path(), "alpha", "#!/bin/sh\necho a1\n");
    let b = pack(&s, t.path(), "beta", "#!/bin/sh\necho b\n");
    let g1 = s
        .commit_generation(
            &profile,
            Some("h1".into()),
            std::slice::from_ref(&a),
            &Default::default(),
        )
        .unwrap();
    let a2 = pack(&s, t.path(), "alpha", "#!/bin/sh\necho a2\n");
    let g2 = s
        .commit_generation(&profile, Some("h2".into()), &[a2, b], &Default::default())
        .unwrap();
    assert_eq!((g1.id, g2.id, g2.parent), (1, 2, Some(1)));
    let bin = root.join(".aibox/current/bin");
    assert!(
        std::fs::read_to_string(bin.join("alpha"))
            .unwrap()
            .contains("a2")
    );
    assert!(bin.join("beta").exists());

    let d = aibox::store::generations::diff(&g1, &g2);
    assert_eq!(d.added, vec![("beta".to_string(), "1.0.0".to_string())]);
    assert_eq!(d.changed.len(), 1);

    assert_eq!(s.rollback(&profile, None).unwrap(), (Some(2), 1));
    assert!(
        std::fs::read_to_string(bin.join("alpha"))
            .unwrap()
            .contains("a1")
    );
    assert!(!bin.join("beta").exists());
    assert_eq!(s.rollback(&profile, None).unwrap(), (Some(1), 0));
    assert_eq!(
        std::fs::read_dir(root.join(".aibox/current/bin"))
            .unwrap()
            .count(),
        0
    );
    let err = s.rollback(&profile, None).unwrap_err();
    assert!(matches!(err, StoreError::NoParent { .. }), "{err}");
    assert_eq!(s.rollback(&profile, Some(2)).unwrap(), (Some(0), 2));
    assert!(matches!(
        s.rollback(&profile, Some(9)).unwrap_err(),
        StoreError::NoGeneration { .. }
    ));
    // A new generation's parent is the one it was built on, not "id - 1".
    s.rollback(&profile, Some(1)).unwrap();
    let g3 = s
        .commit_generation(&profile, None, &[a], &Default::default())
        .unwrap();
    assert_eq!((g3.id, g3.parent), (3, Some(1)));
}

#[test]
fn conflicting_commands_are_refused_and_nothing_switches() {
    let (t, s) = store();
    let profile = s.global_profile().unwrap();
    let (a, _) = pack(&s, t.path(), "one", "#!/bin/sh\n");
    let (b, _) = pack(&s, t.path(), "two", "#!/bin/sh\necho 2\n");
    let m = manifest("x", &[("same", "bin/one")]);
    let m2 = manifest("y", &[("same", "bin/two")]);
    let err = s
        .commit_generation(&profile, None, &[(a, m), (b, m2)], &Default::default())
        .unwrap_err();
    assert!(err.to_string().contains("bin/same"), "{err}");
    assert_eq!(s.current_id(&profile).unwrap(), 0);
}

#[test]
fn gc_keeps_roots_and_removes_dead_projects() {
    let (t, s) = store();
    let live_root = t.path().join("live");
    let dead_root = t.path().join("dead");
    std::fs::create_dir_all(&live_root).unwrap();
    std::fs::create_dir_all(&dead_root).unwrap();
    let live = s.project_profile(&live_root).unwrap();
    let dead = s.project_profile(&dead_root).unwrap();
    let old = pack(&s, t.path(), "tool", "old");
    let new = pack(&s, t.path(), "tool", "new");
    let gone = pack(&s, t.path(), "other", "dead-only");
    s.commit_generation(&live, None, std::slice::from_ref(&old), &Default::default())
        .unwrap();
    s.commit_generation(&live, None, std::slice::from_ref(&new), &Default::default())
        .unwrap();
    s.commit_generation(
        &dead,
        None,
        std::slice::from_ref(&gone),
        &Default::default(),
    )
    .unwrap();
    std::fs::remove_dir_all(&dead_root).unwrap();

    let dry = s
        .gc(GcOptions {
            keep: Some(1),
            dry_run: true,
        })
        .unwrap();
    assert_eq!(dry.packs_removed.len(), 2);
    assert!(
        s.has_pack(&old.0) && s.has_pack(&gone.0),
        "dry run removes nothing"
    );

    let report = s
        .gc(GcOptions {
            keep: Some(1),
            dry_run: false,
        })
        .unwrap();
    assert_eq!(report.profiles_removed.len(), 1);
    assert_eq!(report.generations_removed.len(), 1);
    assert!(report.bytes_freed > 0);
    assert!(s.has_pack(&new.0));
    assert!(!s.has_pack(&old.0) && !s.has_pack(&gone.0));
    assert_eq!(s.generation_ids(&live).unwrap(), vec![0, 2]);
    assert!(live_root.join(".aibox/current/bin/tool").exists());
    assert!(s.verify(false).unwrap().corrupt.is_empty());
}

#[test]
fn verify_reports_and_repair_removes_corruption() {
    let (t, s) = store();
    let (id, _) = pack(&s, t.path(), "tool", "#!/bin/sh\necho good\n");
    assert!(s.verify(false).unwrap().corrupt.is_empty());
    let object = s.pack_path(&id).join("bin/tool");
    let obj_path = std::fs::canonicalize(&object).unwrap();
    std::fs::set_permissions(&obj_path, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&obj_path)
        .unwrap()
        .write_all(b"evil")
        .unwrap();
    std::fs::set_permissions(&obj_path, std::fs::Permissions::from_mode(0o555)).unwrap();
    let report = s.verify(false).unwrap();
    assert!(!report.corrupt.is_empty());
    let repaired = s.verify(true).unwrap();
    assert!(repaired.repaired);
    assert!(!s.has_pack(&id), "the corrupt pack tree was removed");
    assert!(s.verify(false).unwrap().corrupt.is_empty());
}

#[test]
fn concurrent_writers_beside_gc_stay_consistent() {
    let (t, s) = store();
    let root = t.path().join("p");
    std::fs::create_dir_all(&root).unwrap();
    let s = std::sync::Arc::new(s);
    let profile = s.project_profile(&root).unwrap();
    std::thread::scope(|scope| {
        for w in 0..3 {
            let (s, profile, dir) = (s.clone(), profile.clone(), t.path().to_owned());
            scope.spawn(move || {
                for i in 0..8 {
                    let _lock = s.lock(LockMode::Shared).unwrap();
                    let p = pack(&s, &dir, "tool", &format!("w{w} i{i}"));
                    s.commit_generation(&profile, None, &[p], &Default::default())
                        .unwrap();
                }
            });
        }
        let s2 = s.clone();
        scope.spawn(move || {
            for _ in 0..6 {
                s2.gc(GcOptions {
                    keep: Some(2),
                    dry_run: false,
                })
                .unwrap();
            }
        });
    });
    let ids = s.generation_ids(&profile).unwrap();
    assert!(ids.len() >= 2);
    let current = s.current(&profile).unwrap();
    for p in &current.packs {
        assert!(
            s.layout().pack(&p.store).exists(),
            "current pack {} exists",
            p.store
        );
    }
    assert!(root.join(".aibox/current/bin/tool").exists());
    assert!(s.verify(false).unwrap().corrupt.is_empty());
}
