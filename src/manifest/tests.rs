//! `aibox.toml` parsing tests: a full manifest, registry selection, and snapshots of the errors
//! (line, column, did-you-mean, hint) for malformed manifests.

use std::path::Path;

use super::parse_project;

fn parse(text: &str) -> Result<super::ProjectManifest, String> {
    parse_project(text, Path::new("aibox.toml")).map_err(|e| crate::error::Error::from(e).render())
}

#[test]
fn full_manifest() {
    let m = parse(
        r#"requires-aibox = ">=0.1"

[registries]
default = "dir:../../packs"
mirror = { url = "oci://localhost:5000/packs", insecure = true }

[packs]
hello = "1"
node = { version = "^20.11", registry = "mirror" }
any = {}

[plugins]
lint = "^1.2"

[policy]
require-signed = false
platforms = ["macos-aarch64", "linux-x86_64", "linux-x86_64"]
"#,
    )
    .unwrap();
    assert_eq!(m.requires_aibox.as_ref().unwrap().as_str(), ">=0.1");
    assert!(m.registries["mirror"].insecure);
    assert_eq!(m.packs["hello"].registry, "default");
    assert!(!m.packs["hello"].registry_explicit);
    assert_eq!(m.packs["node"].registry, "mirror");
    assert!(m.packs["any"].request.is_any());
    assert_eq!(m.plugins["lint"].request.as_str(), "^1.2");
    assert_eq!(
        m.policy.platforms,
        Some(vec!["linux-x86_64".to_owned(), "macos-aarch64".into()])
    );
    let roots: Vec<String> = m.roots().into_iter().map(|r| r.name).collect();
    assert_eq!(roots, ["any", "hello", "lint", "node"]);
    assert_eq!(
        m.registry_for("node").unwrap().1.url,
        "oci://localhost:5000/packs"
    );
    assert_eq!(m.registry_for("transitive").unwrap().0, "default");
}

#[test]
fn defaults_and_single_registry() {
    let m = parse("[registries]\nlocal = \"dir:./packs\"\n[packs]\nhello = \"latest\"\n").unwrap();
    assert_eq!(m.packs["hello"].registry, "local");
    assert_eq!(
        m.policy.platforms, None,
        "absent: every platform the packs publish"
    );
    assert!(!m.policy.require_signed);
    assert_eq!(m.default_registry().unwrap().0, "local");
    let empty = parse("").unwrap();
    assert!(empty.packs.is_empty() && empty.registries.is_empty());
}

#[test]
fn error_snapshots() {
    let cases: &[(&str, &str)] = &[
        ("syntax", "[packs]\nhello = \n"),
        (
            "unknown_top_key",
            "[registries]\ndefault = \"dir:p\"\n[pakcs]\nhello = \"1\"\n",
        ),
        ("unknown_policy_key", "[policy]\nrequire-signd = true\n"),
        (
            "unknown_requirement_key",
            "[registries]\ndefault = \"dir:p\"\n[packs]\nnode = { verison = \"20\" }\n",
        ),
        (
            "unknown_registry",
            "[registries]\ndefault = \"dir:p\"\nmirror = \"oci-layout:./v\"\n[packs]\nnode = { version = \"20\", registry = \"mirorr\" }\n",
        ),
        ("no_registries", "[packs]\nhello = \"1\"\n"),
        (
            "ambiguous_registry",
            "[registries]\na = \"dir:a\"\nb = \"dir:b\"\n[packs]\nhello = \"1\"\n",
        ),
        (
            "bad_url",
            "[registries]\ndefault = \"https://example.com\"\n",
        ),
        (
            "bad_request",
            "[registries]\ndefault = \"dir:p\"\n[packs]\nhello = \"^^1\"\n",
        ),
        (
            "number_request",
            "[registries]\ndefault = \"dir:p\"\n[packs]\njava = 21\n",
        ),
        (
            "bad_name",
            "[registries]\ndefault = \"dir:p\"\n[packs]\nHello = \"1\"\n",
        ),
        (
            "unknown_platform",
            "[policy]\nplatforms = [\"linux-x86_64\", \"macos-arm64\"]\n",
        ),
        (
            "pack_and_plugin",
            "[registries]\ndefault = \"dir:p\"\n[packs]\nlint = \"1\"\n[plugins]\nlint = \"1\"\n",
        ),
        ("bad_requires_aibox", "requires-aibox = \"new\"\n"),
        ("policy_not_table", "policy = 3\n"),
    ];
    for (name, text) in cases {
        let err = parse(text).expect_err(name);
        insta::assert_snapshot!(format!("manifest_{name}"), err);
    }
}

#[test]
fn line_col_counts_characters() {
    assert_eq!(super::line_col("ab\ncd", 0), (1, 1));
    assert_eq!(super::line_col("ab\ncd", 4), (2, 2));
    assert_eq!(super::line_col("é\nx", 3), (2, 1));
}
