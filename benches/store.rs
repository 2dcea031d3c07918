//! Store benchmarks: the tree hash of an in-memory 20k-entry tree, hashing a 20k-file directory
//! (`tree_of_dir` without a store), ingesting it into a fresh store, building a pack tree from
//! objects, and committing a generation of 200 packs.
//!
//! Everything runs in a scratch directory under `$AIBOX_BENCH_TMP` (default: the system temp
//! dir), so the figures are those of that filesystem.

use std::hint::black_box;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aibox::manifest::pack::PackManifest;
use aibox::store::tree::{Entry, Hash, Tree};
use aibox::store::{PackId, Store, ingest};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

const DIRS: usize = 200;
const FILES_PER_DIR: usize = 100;

fn scratch() -> tempfile::TempDir {
    match std::env::var_os("AIBOX_BENCH_TMP") {
        Some(dir) => tempfile::tempdir_in(dir).expect("scratch dir"),
        None => tempfile::tempdir().expect("scratch dir"),
    }
}

/// Deterministic content for file `i` (a few hundred bytes to a few KiB, like a pack's
/// scripts and data files).
fn content(i: usize) -> Vec<u8> {
    let len = 200 + (i * 7919) % 3800;
    let mut x = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// An in-memory tree of `DIRS` directories × `FILES_PER_DIR` files, 20,000 entries.
fn memory_tree() -> Tree {
    let mut root = Tree::default();
    for d in 0..DIRS {
        let mut sub = Tree::default();
        for f in 0..FILES_PER_DIR {
            let i = d * FILES_PER_DIR + f;
            sub.entries.insert(
                format!("file-{f:03}.txt"),
                Entry::File {
                    hash: Hash::of(&i.to_le_bytes()),
                    size: 200 + i as u64,
                    executable: f == 0,
                },
            );
        }
        root.entries.insert(format!("dir-{d:03}"), Entry::Dir(sub));
    }
    root
}

/// Write `dirs` × `FILES_PER_DIR` files under `root/tree` and return that path.
fn write_tree(root: &Path, dirs: usize) -> PathBuf {
    let tree = root.join("tree");
    for d in 0..dirs {
        let dir = tree.join(format!("dir-{d:03}"));
        aibox::fs::create_dir_all(&dir).unwrap();
        for f in 0..FILES_PER_DIR {
            let path = dir.join(format!("file-{f:03}.txt"));
            aibox::fs::write(&path, content(d * FILES_PER_DIR + f)).unwrap();
            if f == 0 {
                aibox::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
    }
    tree
}

fn hashing(c: &mut Criterion) {
    let mut group = c.benchmark_group("store");
    group.sample_size(10);

    let tree = memory_tree();
    group.bench_function("tree_hash_memory_20k", |b| {
        b.iter(|| black_box(&tree).hash())
    });

    let dir = scratch();
    let src = write_tree(dir.path(), DIRS);
    group.bench_function("tree_of_dir_hash_only_20k", |b| {
        b.iter(|| ingest::tree_of_dir(black_box(&src), None).unwrap())
    });
    group.finish();
}

fn ingestion(c: &mut Criterion) {
    let mut group = c.benchmark_group("store");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    let dir = scratch();
    let src = write_tree(dir.path(), DIRS);
    let homes = dir.path().join("homes");
    let mut n = 0u64;
    group.bench_function("ingest_dir_20k_fresh_store", |b| {
        b.iter_batched(
            || {
                n += 1;
                let home = homes.join(n.to_string());
                Store::open(&home).unwrap()
            },
            |store| {
                store.ingest_dir(&src).unwrap();
                store
            },
            // Dropping (and deleting) the store is not part of the measurement.
            BatchSize::PerIteration,
        )
    });
    aibox::fs::remove_tree(&homes).unwrap();

    // build_pack: objects present, the pack tree (1,000 files in 10 directories) is not.
    let small = write_tree(&dir.path().join("small"), 10);
    let store = Store::open(&dir.path().join("home")).unwrap();
    let tree = store.ingest_dir(&small).unwrap();
    let mut version = 0u64;
    group.bench_function("build_pack_1k_files", |b| {
        b.iter_batched(
            || {
                version += 1;
                format!("1.0.{version}")
            },
            |v| store.build_pack("bench", &v, &tree, None).unwrap(),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn generations(c: &mut Criterion) {
    let mut group = c.benchmark_group("store");
    group.sample_size(20);
    let dir = scratch();
    let store = Store::open(&dir.path().join("home")).unwrap();
    let project = dir.path().join("project");
    aibox::fs::create_dir_all(&project).unwrap();
    let profile = store.project_profile(&project).unwrap();
    let mut packs: Vec<(PackId, PackManifest)> = Vec::new();
    for i in 0..200 {
        let name = format!("p{i:04}");
        let text = format!(
            "[pack]\nname = \"{name}\"\nversion = \"1.0.0\"\n\n[bin]\n{name} = \"bin/{name}\"\n\n[env]\n{up}_HOME = \"${{pack}}\"\n",
            up = name.to_uppercase()
        );
        let pack_dir = dir.path().join("packs").join(&name);
        aibox::fs::create_dir_all(pack_dir.join("bin")).unwrap();
        aibox::fs::write(pack_dir.join("pack.toml"), &text).unwrap();
        aibox::fs::write(pack_dir.join("bin").join(&name), "#!/bin/sh\n").unwrap();
        let id = store.add_pack_dir(&name, "1.0.0", &pack_dir, None).unwrap();
        let manifest = aibox::manifest::parse_pack(&text, &pack_dir.join("pack.toml")).unwrap();
        packs.push((id, manifest));
    }
    group.bench_function("commit_generation_200_packs", |b| {
        b.iter(|| {
            store
                .commit_generation(
                    &profile,
                    Some("blake3:bench".into()),
                    black_box(&packs),
                    &Default::default(),
                )
                .unwrap()
        })
    });
    // `rollback --to`, alternating between the two newest generations (a plain rollback would
    // walk back to generation 0 and stop).
    let newest = *store.generation_ids(&profile).unwrap().last().unwrap();
    let mut flip = false;
    group.bench_function("rollback_200_packs", |b| {
        b.iter(|| {
            flip = !flip;
            let to = if flip { newest - 1 } else { newest };
            store.rollback(&profile, Some(to)).unwrap()
        })
    });
    group.finish();
}

// Generations first: the others write and then delete 20k-file trees, after which ext4 is slow
// to allocate inodes for a while (it skips recently freed ones) and fsyncs wait for writeback.
criterion_group!(benches, generations, hashing, ingestion);
criterion_main!(benches);
