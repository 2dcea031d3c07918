//! Lockfile tests: the v2 fixture byte for byte, the v1 fixture read, rejected inputs,
//! parse(render(x)) == x for random locks, and freshness against manifests.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::manifest::parse_project;

fn fixture(name: &str) -> String {
    crate::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/lockfile")
            .join(name),
    )
    .unwrap()
}

#[test]
fn v3_fixture_round_trips_byte_for_byte() {
    let text = fixture("v3.lock");
    let lock = Lockfile::parse(&text, Path::new("aibox.lock")).unwrap();
    assert_eq!(lock.packages.len(), 3);
    assert!(lock.records_grants());
    let jq = lock.package("jq").unwrap();
    assert_eq!(
        jq.for_platform("linux-x86_64").unwrap().manifest.as_deref(),
        Some("sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc")
    );
    assert!(jq.for_platform("macos-aarch64").is_none());
    assert_eq!(jq.permissions, None);
    let hello = lock.package("hello").unwrap();
    assert!(
        hello.for_platform("macos-aarch64").is_some(),
        "`any` serves every platform"
    );
    assert_eq!(hello.dependencies["jq"], "^1.6");
    let lint = lock.package("lint").unwrap();
    assert_eq!(lint.kind, PackKind::Plugin);
    let p = lint.permissions.as_ref().unwrap();
    assert_eq!(p.fs.write, ["$PLUGIN_DIR", "$PROJECT/.lint-cache"]);
    assert_eq!(
        p.net.connect,
        [
            crate::manifest::pack::NetTarget::Port(443),
            crate::manifest::pack::NetTarget::HostPort("lint.example.org:8443".into())
        ]
    );
    assert_eq!(p.limits.memory_mib, Some(512));
    assert_eq!(lint.install.as_deref(), Some("./setup --quiet"));
    assert_eq!(lock.render(), text);
    insta::assert_snapshot!("lockfile_v3", lock.render());
    assert_eq!(
        lock.preferences()["lint"],
        semver::Version::parse("1.2.0-beta.1").unwrap()
    );
}

#[test]
fn v2_locks_are_read_and_written_as_v3() {
    let text = fixture("v2.lock");
    let lock = Lockfile::parse(&text, Path::new("aibox.lock")).unwrap();
    assert_eq!(lock.version, 2);
    assert!(
        !lock.records_grants(),
        "a v2 lock says nothing of permissions"
    );
    let rendered = lock.render();
    assert_eq!(rendered, text.replacen("version = 2", "version = 3", 1));
}

#[test]
fn v1_locks_are_read_and_written_as_v3() {
    let lock = Lockfile::parse(&fixture("v1.lock"), Path::new("aibox.lock")).unwrap();
    assert_eq!(lock.version, 1);
    assert_eq!(
        lock.platforms.as_deref(),
        Some(&["linux-aarch64".to_owned(), "linux-x86_64".into()][..])
    );
    assert_eq!(lock.package("hello").unwrap().dependencies["jq"], "*");
    let rendered = lock.render();
    assert!(rendered.contains("version = 3\n") && !rendered.contains("manifest-hash"));
    let again = Lockfile::parse(&rendered, Path::new("aibox.lock")).unwrap();
    assert_eq!(again.packages, lock.packages);
}

#[test]
fn render_sorts_whatever_the_input_order() {
    let mut lock = Lockfile::parse(&fixture("v3.lock"), Path::new("aibox.lock")).unwrap();
    let canonical = lock.render();
    lock.packages.reverse();
    assert_eq!(lock.render(), canonical);
}

#[test]
fn rejects_bad_locks() {
    let cases: &[(&str, &str)] = &[
        ("future_version", "version = 6\n"),
        ("missing_version", "platforms = []\n"),
        ("unknown_key", "version = 2\nplatfroms = []\n"),
        (
            "bad_tree",
            "version = 2\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nkind = \"tool\"\nsource = \"dir:p\"\n[package.platforms.linux-x86_64]\ntree = \"nope\"\n",
        ),
        (
            "duplicate",
            "version = 2\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nkind = \"tool\"\nsource = \"dir:p\"\n[[package]]\nname = \"a\"\nversion = \"1.1.0\"\nkind = \"tool\"\nsource = \"dir:p\"\n",
        ),
        (
            "bad_signer",
            "version = 2\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nkind = \"tool\"\nsource = \"dir:p\"\nsigner = \"me\"\n",
        ),
        (
            "bad_permissions",
            "version = 3\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nkind = \"tool\"\nsource = \"dir:p\"\n[package.permissions]\nwrite = [\"$PROJECT/../../etc\"]\n",
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

const MANIFEST: &str = r#"[registries]
default = "dir:../../packs"
remote = "oci://ghcr.io/acme/packs"
[packs]
hello = "1"
jq = { version = "^1.6", registry = "remote" }
[plugins]
lint = { version = "^1.2.0-beta", registry = "remote" }
"#;

fn manifest(text: &str) -> crate::manifest::ProjectManifest {
    parse_project(text, Path::new("aibox.toml")).unwrap()
}

#[test]
fn freshness_is_whether_the_lock_satisfies_the_manifest() {
    let lock = Lockfile::parse(&fixture("v2.lock"), Path::new("aibox.lock")).unwrap();
    lock.check(&manifest(MANIFEST)).unwrap();
    // Comments, key order and equivalent spellings do not matter.
    let reordered = "# deps\n[plugins]\nlint = { registry = \"remote\", version = \"^1.2.0-beta\" }\n[packs]\njq = { registry = \"remote\", version = \"~1.7\" }\nhello = \"^1.0\"\n[registries]\nremote = \"oci://ghcr.io/acme/packs\"\ndefault = \"dir:../../packs\"\n";
    lock.check(&manifest(reordered)).unwrap();
    let moved = "[registries]\ndefault = \"dir:../../packs\"\nremote = \"oci://ghcr.io/acme/packs\"\n[packs]\nhello = \"1\"\njq = { version = \"^1.6\", registry = \"remote\" }\nlint = { version = \"^1.2.0-beta\", registry = \"remote\" }\n";
    let cases: &[(&str, String, &str)] = &[
        (
            "upgrade",
            MANIFEST.replace("hello = \"1\"", "hello = \"2\""),
            "`hello` is requested as `2`, but the lock has 1.0.0",
        ),
        (
            "added",
            MANIFEST.replace("hello = \"1\"\n", "hello = \"1\"\ntodo = \"1\"\n"),
            "`todo` is requested (`1`) but not locked",
        ),
        (
            "removed",
            MANIFEST.replace(
                "[plugins]\nlint = { version = \"^1.2.0-beta\", registry = \"remote\" }\n",
                "",
            ),
            "`lint` is locked but nothing in the manifest needs it any more",
        ),
        (
            "registry",
            MANIFEST.replace("default = \"dir:../../packs\"", "default = \"dir:./packs\""),
            "`hello` is locked from `dir:../../packs`, but the manifest takes it from `dir:./packs`",
        ),
        (
            "section",
            moved.to_owned(),
            "`lint` is a plugin pack, but the manifest requests it under [packs]",
        ),
        (
            "platforms",
            format!("{MANIFEST}[policy]\nplatforms = [\"linux-x86_64\"]\n"),
            "the lock covers platforms all (none named), but `[policy] platforms` says [linux-x86_64]",
        ),
    ];
    for (label, text, expected) in cases {
        let err = lock.check(&manifest(text)).expect_err(label).to_string();
        assert_eq!(err, *expected, "{label}");
    }
    // A dependency request that the locked dependency does not meet (a bad merge).
    let mut merged = lock.clone();
    merged
        .packages
        .iter_mut()
        .find(|p| p.name == "hello")
        .unwrap()
        .dependencies
        .insert("jq".into(), "^2".into());
    assert_eq!(
        merged.check(&manifest(MANIFEST)).unwrap_err().to_string(),
        "`hello` needs `jq ^2`, but the lock has 1.7.1"
    );
}

/// Recorded grants: valid `[permissions]` (paths, ports, Unix sockets, UDP, variables, limits)
/// and hook commands
/// with characters that need quoting.
fn arb_grants() -> impl Strategy<Value = (Option<Permissions>, Option<String>, Option<String>)> {
    let path = "(\\$PROJECT|\\$HOME|\\$CACHE|\\$PLUGIN_DIR)?/[a-z]{1,8}";
    let permissions = (
        prop::collection::vec(path, 0..3),
        prop::collection::vec(path, 0..3),
        prop::collection::vec(
            prop_oneof![
                (1i64..65536).prop_map(crate::manifest::pack::NetTarget::Port),
                (1u16..).prop_map(|p| crate::manifest::pack::NetTarget::HostPort(format!(
                    "example.org:{p}"
                ))),
            ],
            0..3,
        ),
        prop::collection::vec("[A-Z][A-Z0-9_]{0,8}", 0..3),
        prop::option::of(1u64..1000),
        prop::option::of(64u64..4096),
        prop::collection::btree_set(path, 0..3),
        any::<bool>(),
    )
        .prop_map(|(read, write, connect, env, cpu, memory, unix, udp)| {
            let mut p = Permissions::default();
            p.fs.read = read;
            p.fs.write = write;
            p.net.connect = connect;
            p.net.unix = unix.into_iter().collect();
            p.net.udp = udp;
            p.env = env
                .into_iter()
                .filter(|v| crate::manifest::env_rule::protection(v).is_none())
                .collect();
            p.limits.cpu_seconds = cpu;
            p.limits.memory_mib = memory;
            p
        });
    (
        prop::option::of(permissions),
        prop::option::of("[ -~]{1,30}"),
        prop::option::of("[ -~\\n\\t]{1,30}"),
    )
}

fn arb_lock() -> impl Strategy<Value = Lockfile> {
    let name = "[a-z][a-z0-9-]{0,8}";
    let platform = prop::sample::select(
        crate::platform::KNOWN
            .iter()
            .copied()
            .chain([ANY_PLATFORM])
            .collect::<Vec<_>>(),
    );
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
        prop::sample::select(vec![
            PackKind::Tool,
            PackKind::Plugin,
            PackKind::Cli,
            PackKind::Skill,
        ]),
        "(dir:|oci://|oci-layout:)[ -~]{1,20}",
        (
            prop::option::of("sha256:[0-9a-f]{64}"),
            prop::option::of("sha256:[0-9a-f]{64}"),
        ),
        prop::collection::btree_map(name, "(\\^|~|=)?[0-9]\\.[0-9]|\\*", 0..4),
        prop::collection::btree_map(platform, locked, 0..3),
        arb_grants(),
    )
        .prop_map(
            |(name, (ma, mi, pa, pre), kind, source, (digest, signer), deps, platforms, grants)| {
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
                    signer,
                    dependencies: deps,
                    platforms: platforms
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect(),
                    // A skill records its tools and scripts instead of a sandbox and hooks.
                    permissions: grants.0.filter(|_| kind != PackKind::Skill),
                    install: grants.1.filter(|_| kind != PackKind::Skill),
                    check: grants.2.filter(|_| kind != PackKind::Skill),
                    skill: (kind == PackKind::Skill).then(|| crate::manifest::pack::SkillSection {
                        allowed_tools: vec!["Bash(git:*)".into(), "Read".into()],
                        scripts: vec!["scripts/run.sh".into()],
                    }),
                    aqua: None,
                }
            },
        );
    (
        prop::option::of(prop::collection::btree_set(
            prop::sample::select(crate::platform::KNOWN),
            1..4,
        )),
        prop::collection::vec(package, 0..6),
    )
        .prop_map(|(platforms, packages)| {
            let by_name: BTreeMap<String, LockedPackage> =
                packages.into_iter().map(|p| (p.name.clone(), p)).collect();
            let mut lock = Lockfile {
                version: VERSION,
                platforms: platforms.map(|p| p.into_iter().map(str::to_owned).collect()),
                packages: by_name.into_values().collect(),
            };
            lock.version = lock.written_version();
            lock
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

#[test]
fn v4_fixture_with_a_skill_round_trips_and_falls_back_to_v3_without_one() {
    let text = fixture("v4.lock");
    let mut lock = Lockfile::parse(&text, Path::new("aibox.lock")).unwrap();
    let skill = lock.package("review-pr").unwrap();
    assert_eq!(skill.kind, PackKind::Skill);
    let section = skill.skill.as_ref().unwrap();
    assert_eq!(section.allowed_tools, ["Bash(git diff:*)", "Read"]);
    assert_eq!(section.scripts, ["scripts/summarize.sh"]);
    assert_eq!(skill.grants().needs, ["jq"]);
    assert_eq!(lock.render(), text);
    // Without a skill, the lock is written as version 3, byte for byte what older aibox wrote.
    lock.packages.retain(|p| p.kind != PackKind::Skill);
    assert!(lock.render().contains("\nversion = 3\n"));
}

#[test]
fn skill_records_are_checked_where_they_enter() {
    let text = fixture("v4.lock");
    let parse = |t: &str| {
        Lockfile::parse(t, Path::new("aibox.lock"))
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let cases = [
        (
            text.replace("version = 4", "version = 3"),
            "a skill needs lock version 4",
        ),
        (
            text.replace(
                "\n[package.skill]\nallowed-tools",
                "\n[package.skil]\nallowed-tools",
            ),
            "unknown field `skil`",
        ),
        (
            text.replace("scripts/summarize.sh", "../escape.sh"),
            "`skill`: script `../escape.sh` leaves the pack",
        ),
        (
            text.replace("kind = \"skill\"", "kind = \"tool\""),
            "only a skill has a `[package.skill]` table",
        ),
    ];
    for (bad, expected) in cases {
        let got = parse(&bad).unwrap_err();
        assert!(
            got.contains(expected),
            "{got:?} should contain {expected:?}"
        );
    }
    let no_table = text.replace(
        "\n[package.skill]\nallowed-tools = [\n    \"Bash(git diff:*)\",\n    \"Read\",\n]\nscripts = [\n    \"scripts/summarize.sh\",\n]\n",
        "\n",
    );
    assert!(
        parse(&no_table)
            .unwrap_err()
            .contains("a skill needs a `[package.skill]` table")
    );
}

/// A version 5 lock with an aqua pack: the text aibox writes reads back to the same bytes.
const AQUA_LOCK: &str = "# This file is written by aibox. Do not edit it by hand.
version = 5

[[package]]
name = \"fzf\"
version = \"0.56.3\"
kind = \"tool\"
source = \"aqua:../aqua-registry\"
signer = \"sha256:1111111111111111111111111111111111111111111111111111111111111111\"
aqua = \"junegunn/fzf\"
tag = \"v0.56.3\"
verified = [
    \"checksum\",
    \"cosign\",
]
unverified = [
    \"slsa\",
]

[package.platforms.linux-x86_64]
tree = \"blake3:2222222222222222222222222222222222222222222222222222222222222222\"
manifest = \"sha256:3333333333333333333333333333333333333333333333333333333333333333\"
";

#[test]
fn aqua_packs_round_trip_in_version_5() {
    let lock = Lockfile::parse(AQUA_LOCK, Path::new("aibox.lock")).unwrap();
    let pin = lock.packages[0].aqua.as_ref().unwrap();
    assert_eq!(
        (pin.package.as_str(), pin.tag.as_str()),
        ("junegunn/fzf", "v0.56.3")
    );
    assert_eq!(pin.verified, ["checksum", "cosign"]);
    assert_eq!(pin.unverified, ["slsa"]);
    assert_eq!(lock.written_version(), 5);
    assert_eq!(lock.render(), AQUA_LOCK);
}

#[test]
fn aqua_records_are_checked() {
    let cases = [
        (AQUA_LOCK.replace("version = 5", "version = 4"), "needs lock version 5"),
        (
            AQUA_LOCK.replace("\"cosign\",", "\"gpg\","),
            "`gpg` is not a check aibox knows",
        ),
        (
            AQUA_LOCK.replace("\"slsa\"", "\"checksum\""),
            "`checksum` is both verified and unverified",
        ),
        (
            AQUA_LOCK.replace("    \"checksum\",\n    \"cosign\",", "    \"cosign\",\n    \"checksum\","),
            "`verified` must be sorted",
        ),
        (
            AQUA_LOCK.replace(
                "aqua = \"junegunn/fzf\"\ntag = \"v0.56.3\"\nverified = [\n    \"checksum\",\n    \"cosign\",\n]\nunverified = [\n    \"slsa\",\n]\n",
                "",
            ),
            "needs `aqua` and `tag`",
        ),
        (
            AQUA_LOCK.replace("source = \"aqua:../aqua-registry\"", "source = \"dir:p\""),
            "only a pack from an `aqua:` source",
        ),
    ];
    for (text, want) in cases {
        let err = Lockfile::parse(&text, Path::new("aibox.lock")).expect_err(want);
        let rendered = crate::error::Error::from(err).render();
        assert!(rendered.contains(want), "{want}: {rendered}");
    }
}

/// Two packs from a registry that is a GitHub release: each records the archive's digest.
const AQUA_GITHUB_LOCK: &str = "# This file is written by aibox. Do not edit it by hand.
version = 5

[[package]]
name = \"fzf\"
version = \"0.56.3\"
kind = \"tool\"
source = \"aqua:github:aquaproj/aqua-registry@v4.554.0\"
aqua = \"junegunn/fzf\"
tag = \"v0.56.3\"
registry-digest = \"sha256:4444444444444444444444444444444444444444444444444444444444444444\"
verified = [
    \"checksum\",
]

[package.platforms.linux-x86_64]
tree = \"blake3:2222222222222222222222222222222222222222222222222222222222222222\"
manifest = \"sha256:3333333333333333333333333333333333333333333333333333333333333333\"

[[package]]
name = \"jq\"
version = \"1.7.1\"
kind = \"tool\"
source = \"aqua:github:aquaproj/aqua-registry@v4.554.0\"
aqua = \"jqlang/jq\"
tag = \"jq-1.7.1\"
registry-digest = \"sha256:4444444444444444444444444444444444444444444444444444444444444444\"

[package.platforms.linux-x86_64]
tree = \"blake3:5555555555555555555555555555555555555555555555555555555555555555\"
manifest = \"sha256:6666666666666666666666666666666666666666666666666666666666666666\"
";

#[test]
fn a_registry_release_is_pinned_by_its_archive_digest() {
    let lock = Lockfile::parse(AQUA_GITHUB_LOCK, Path::new("aibox.lock")).unwrap();
    let pin = lock.packages[0].aqua.as_ref().unwrap();
    assert_eq!(
        pin.registry.as_deref(),
        Some("sha256:4444444444444444444444444444444444444444444444444444444444444444")
    );
    assert_eq!(lock.render(), AQUA_GITHUB_LOCK);
    let digest_line = "registry-digest = \"sha256:4444444444444444444444444444444444444444444444444444444444444444\"\n";
    let cases = [
        (
            AQUA_GITHUB_LOCK.replacen(digest_line, "", 1),
            "needs `registry-digest`",
        ),
        (
            AQUA_GITHUB_LOCK.replacen(digest_line, "registry-digest = \"sha256:4444\"\n", 1),
            "`registry-digest` `sha256:4444` is not `sha256:`",
        ),
        (
            AQUA_GITHUB_LOCK.replacen(digest_line, &digest_line.replace('4', "7"), 1),
            "differs from sha256:7777",
        ),
        (
            AQUA_LOCK.replace(
                "tag = \"v0.56.3\"\n",
                &format!("tag = \"v0.56.3\"\n{digest_line}"),
            ),
            "only a pack from an `aqua:github:` registry has `registry-digest`",
        ),
    ];
    for (text, want) in cases {
        let err = Lockfile::parse(&text, Path::new("aibox.lock")).expect_err(want);
        let rendered = crate::error::Error::from(err).render();
        assert!(rendered.contains(want), "{want}: {rendered}");
    }
}
