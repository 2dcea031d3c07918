//! Replays store-format/vectors/tree-v1.json: each tree is built in memory from the vector (the
//! same on every platform), and written to disk, ingested into a real store and built as a
//! pack; every tree hash must equal the recorded one. The recorded hashes are checked by the
//! independent implementation in store-format/vectors/treehash.py, run here too.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]
// Tests may print their own diagnostics; only the crate prints through crate::printer.
#![allow(clippy::disallowed_macros)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use aibox::store::Store;
use aibox::store::ingest::{insert, split_path, tree_of_dir};
use aibox::store::tree::{Entry, Hash, Tree};

/// The vector's tree built in memory (no filesystem involved).
fn in_memory(entries: &[serde_json::Value]) -> Tree {
    let mut root = Tree::default();
    for e in entries {
        let path = e["path"].as_str().unwrap();
        let entry = match e["kind"].as_str().unwrap() {
            "dir" => Entry::Dir(Tree::default()),
            "symlink" => Entry::Symlink {
                target: e["target"].as_str().unwrap().to_owned(),
            },
            _ => {
                let content = e["content"].as_str().unwrap().as_bytes();
                Entry::File {
                    hash: Hash::of(content),
                    size: content.len() as u64,
                    executable: e["executable"].as_bool().unwrap_or(false),
                }
            }
        };
        insert(&mut root, path, &split_path(path).unwrap(), entry).unwrap();
    }
    root
}

/// Whether the filesystem kept every name exactly (some normalize Unicode or fold case).
fn names_preserved(root: &Path, entries: &[serde_json::Value]) -> bool {
    entries.iter().all(|e| {
        let path = e["path"].as_str().unwrap();
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        std::fs::read_dir(root.join(dir))
            .unwrap()
            .any(|d| d.unwrap().file_name().to_str() == Some(name))
    })
}

fn materialize(root: &Path, entries: &[serde_json::Value]) {
    std::fs::create_dir_all(root).unwrap();
    for e in entries {
        let path = root.join(e["path"].as_str().unwrap());
        match e["kind"].as_str().unwrap() {
            "dir" => std::fs::create_dir_all(&path).unwrap(),
            "symlink" => std::os::unix::fs::symlink(e["target"].as_str().unwrap(), &path).unwrap(),
            "file" => {
                std::fs::write(&path, e["content"].as_str().unwrap()).unwrap();
                let mode = if e["executable"].as_bool().unwrap_or(false) {
                    0o755
                } else {
                    0o644
                };
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            }
            other => panic!("unknown kind {other}"),
        }
    }
}

#[test]
fn tree_hash_vectors_replay() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("store-format/vectors/tree-v1.json"),
    )
    .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 8);
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("home")).unwrap();
    for (i, v) in vectors.iter().enumerate() {
        let name = v["name"].as_str().unwrap();
        let expected: Hash = v["tree"].as_str().unwrap().parse().unwrap();
        let entries = v["entries"].as_array().unwrap();
        assert_eq!(
            in_memory(entries).hash(),
            expected,
            "vector `{name}` (in memory)"
        );
        let dir = tmp.path().join(format!("v{i}"));
        materialize(&dir, entries);
        if !names_preserved(&dir, entries) {
            // Only on filesystems that rewrite names (macOS normalizes Unicode): the in-memory
            // check above covers the vector there.
            if cfg!(target_os = "linux") {
                panic!("vector `{name}`: Linux keeps every name");
            }
            eprintln!("vector `{name}`: this filesystem rewrites its names; checked in memory");
            continue;
        }

        let hashed = tree_of_dir(&dir, None).unwrap();
        assert_eq!(hashed.hash(), expected, "vector `{name}` (hash only)");

        let ingested = store.ingest_dir(&dir).unwrap();
        assert_eq!(
            ingested, hashed,
            "vector `{name}`: ingest and hash-only agree"
        );
        let id = store
            .build_pack("vec", "1.0.0", &ingested, Some(&expected))
            .unwrap();
        assert_eq!(id.tree, expected);
        let listing = store.pack_listing(&id.dir_name()).unwrap();
        assert_eq!(
            Tree::from_listing(&listing).unwrap().hash(),
            expected,
            "vector `{name}` listing"
        );
    }
    assert!(store.verify(false).unwrap().corrupt.is_empty());
}

#[test]
fn the_independent_python_implementation_agrees() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("store-format/vectors/treehash.py");
    let python = std::env::var_os("AIBOX_TEST_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/python3")
        });
    let out = std::process::Command::new(&python)
        .arg(&script)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} (scripts/test creates it): {e}",
                python.display()
            )
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(" passed, 0 failed"),
        "treehash.py: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
