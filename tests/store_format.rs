//! Replays store-format/vectors/tree-v1.json: each tree is written to disk, ingested into a real
//! store and built as a pack; the tree hash must equal the recorded one (computed by the
//! independent implementation in store-format/vectors/treehash.py).
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use aibox::store::Store;
use aibox::store::ingest::tree_of_dir;
use aibox::store::tree::{Hash, Tree};

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
        let dir = tmp.path().join(format!("v{i}"));
        materialize(&dir, v["entries"].as_array().unwrap());

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
