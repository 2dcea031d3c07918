//! Lockfile tests: the v1 fixture, byte-identical rendering, parse(render(x)) == x for random
//! locks, rejected inputs, and the manifest hash's stability.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::manifest::parse_project;

fn fixture() -> String {
    crate::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lockfile/v1.lock"),
    )
    .unwrap()
}

#[test]
fn fixture_round_trips_byte_for_byte() {
    let text = fixture();
    let lock = Lockfile::parse(&text, Path::new("aibox.lock")).unwrap();
    assert_eq!(lock.packages.len(), 3);
    assert_eq!(
        lock.package("jq").unwrap().platforms["linux-x86_64"]
            .manifest
            .as_deref(),
        Some("sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc")
    );
    assert_eq!(lock.package("lint").unwrap().kind, PackKind::Plugin);
    assert_eq!(lock.render(), text);
    assert_eq!(lock.render(), lock.clone().render());
    insta::assert_snapshot!("lockfile_v1", lock.render());
    assert_eq!(
        lock.preferences()["lint"],
        semver::Version::parse("1.2.0-beta.1").unwrap()
    );
}

#[test]
fn render_sorts_whatever_the_input_order() {
    let mut lock = Lockfile::parse(&fixture(), Path::new("aibox.lock")).unwrap();
    let canonical = lock.render();
    lock.packages.reverse();
    lock.platforms.reverse();
    lock.packages[0].dependencies.reverse();
    assert_eq!(lock.render(), canonical);
}

#[test]
fn rejects_bad_locks() {
    let cases: &[(&str, &str)] = &[
        ("future_version", "version = 2\nmanifest-hash = \"x\"\n"),
        ("missing_version", "manifest-hash = \"x\"\n"),
        (
            "unknown_key",
            "version = 1\nmanifest-hash = \"x\"\nplatfroms = []\n",
        ),
        (
            "bad_tree",
            "version = 1\nmanifest-hash = \"x\"\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nkind = \"tool\"\nsource = \"dir:p\"\n[package.platforms.linux-x86_64]\ntree = \"nope\"\n",
        ),
        (
            "duplicate",
            "version = 1\nmanifest-hash = \"x\"\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nkind = \"tool\"\nsource = \"dir:p\"\n[[package]]\nname = \"a\"\nversion = \"1.1.0\"\nkind = \"tool\"\nsource = \"dir:p\"\n",
        ),
    ];
    for (name, text) in cases {
        let err = Lockfile::parse(text, Path::new("aibox.lock")).expect_err(name);
        insta::assert_snapshot!(
            format!("lockfile_error_{name}"),
            crate::error::Error::from(err).render()
        );
    }
}

const MANIFEST: &str = r#"requires-aibox = ">=0.1"
[registries]
default = "dir:../../packs"
unused = "oci://example.com/x"
[packs]
hello = "1"
node = { version = "^20", registry = "default" }
[plugins]
lint = "^1.2"
[policy]
platforms = ["linux-x86_64", "macos-aarch64"]
"#;

fn hash(text: &str) -> String {
    manifest_hash(&parse_project(text, Path::new("aibox.toml")).unwrap())
}

#[test]
fn manifest_hash_ignores_formatting_and_tracks_inputs() {
    let base = hash(MANIFEST);
    assert!(base.starts_with("blake3:") && base.len() == 71);
    let reordered = r#"# a comment
[policy]
platforms = [ "macos-aarch64", "linux-x86_64" ]   # both
require-signed = true

[plugins]
lint   =   "^1.2"

[packs]
node = { registry = "default", version = "^20" }
hello = "1"

[registries]
unused = "oci://example.com/other"
default = "dir:../../packs"
"#;
    assert_eq!(
        hash(&format!("requires-aibox = \">=0.1\"\n{reordered}")),
        base
    );
    assert_ne!(
        hash(&MANIFEST.replace("hello = \"1\"", "hello = \"2\"")),
        base
    );
    assert_ne!(
        hash(&MANIFEST.replace("dir:../../packs", "dir:./packs")),
        base
    );
    assert_ne!(hash(&MANIFEST.replace(">=0.1", ">=0.2")), base);
    assert_ne!(hash(&MANIFEST.replace(", \"macos-aarch64\"", "")), base);
    let moved = MANIFEST
        .replace("[plugins]\nlint = \"^1.2\"\n", "")
        .replace("[packs]\n", "[packs]\nlint = \"^1.2\"\n");
    assert_ne!(hash(&moved), base);

    let manifest = parse_project(MANIFEST, Path::new("aibox.toml")).unwrap();
    let mut lock = Lockfile::parse(&fixture(), Path::new("aibox.lock")).unwrap();
    assert!(!lock.satisfies(&manifest));
    lock.manifest_hash = base;
    assert!(lock.satisfies(&manifest));
}

fn arb_lock() -> impl Strategy<Value = Lockfile> {
    let name = "[a-z][a-z0-9-]{0,8}";
    let platform = prop::sample::select(crate::platform::KNOWN);
    let locked =
        (any::<[u8; 32]>(), prop::option::of("sha256:[0-9a-f]{64}")).prop_map(|(h, manifest)| {
            LockedPlatform {
                manifest,
                tree: Hash(h),
            }
        });
    let package = (
        name,
        (
            0u64..30,
            0u64..30,
            0u64..30,
            prop::option::of("(alpha|rc)\\.[0-9]"),
        ),
        prop::sample::select(vec![PackKind::Tool, PackKind::Plugin, PackKind::Cli]),
        "(dir:|oci://|oci-layout:)[ -~]{1,20}",
        prop::option::of("sha256:[0-9a-f]{64}"),
        prop::collection::btree_set(name, 0..4),
        prop::collection::btree_map(platform, locked, 0..3),
    )
        .prop_map(
            |(name, (ma, mi, pa, pre), kind, source, digest, deps, platforms)| {
                let mut version = semver::Version::new(ma, mi, pa);
                if let Some(pre) = pre {
                    version.pre = semver::Prerelease::new(&pre).unwrap();
                }
                LockedPackage {
                    name,
                    version,
                    kind,
                    source,
                    digest,
                    dependencies: deps.into_iter().collect(),
                    platforms: platforms
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect(),
                }
            },
        );
    (
        "[ -~]{0,30}",
        prop::collection::btree_set(prop::sample::select(crate::platform::KNOWN), 0..4),
        prop::collection::vec(package, 0..6),
    )
        .prop_map(|(manifest_hash, platforms, packages)| {
            let by_name: BTreeMap<String, LockedPackage> =
                packages.into_iter().map(|p| (p.name.clone(), p)).collect();
            Lockfile {
                version: VERSION,
                manifest_hash,
                platforms: platforms.into_iter().map(str::to_owned).collect(),
                packages: by_name.into_values().collect(),
            }
        })
}

proptest! {
    #[test]
    fn parse_render_round_trip(lock in arb_lock()) {
        let text = lock.render();
        let parsed = Lockfile::parse(&text, Path::new("aibox.lock")).unwrap();
        prop_assert_eq!(&parsed, &lock);
        prop_assert_eq!(parsed.render(), text);
    }
}
