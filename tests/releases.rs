//! Release archives as sources, against a loopback server that answers as the GitHub releases
//! API does (`AIBOX_GITHUB_API`) and serves the assets: a tool published only as release
//! archives is locked (SHA-256 of the archive, computed here as the oracle, and the tree) for
//! each platform it has an asset for and synced; a plain `http://` archive URL on loopback
//! works the same; a changed asset is refused with nothing switched; and a plugin installs
//! from `github:owner/repo@tag` and runs.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::Path;

use common::Sandbox;
use common::github::GitHub;
use sha2::Digest;

/// A `.tar.gz` of `files` (path, content, executable) made by the system `tar`.
fn archive(dir: &Path, name: &str, files: &[(&str, &str, bool)]) -> Vec<u8> {
    let src = dir.join(format!("src-{name}"));
    for (path, content, exec) in files {
        let p = src.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = if *exec { 0o755 } else { 0o644 };
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let out = dir.join(name);
    let status = std::process::Command::new("tar")
        .arg("czf")
        .arg(&out)
        .arg("-C")
        .arg(&src)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(out).unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

fn tool_files(version: &str) -> Vec<(String, String, bool)> {
    vec![
        (
            format!("rg-{version}/rg"),
            format!("#!/bin/sh\necho rg {version}\n"),
            true,
        ),
        (format!("rg-{version}/README.md"), "docs\n".into(), false),
    ]
}

fn make(dir: &Path, name: &str, files: &[(String, String, bool)]) -> Vec<u8> {
    let borrowed: Vec<(&str, &str, bool)> = files
        .iter()
        .map(|(p, c, e)| (p.as_str(), c.as_str(), *e))
        .collect();
    archive(dir, name, &borrowed)
}

#[test]
fn a_tool_published_as_github_release_archives_locks_and_syncs() {
    let sb = Sandbox::new();
    let x86 = "rg-14.1.0-x86_64-unknown-linux-musl.tar.gz";
    let arm = "rg-14.1.0-aarch64-unknown-linux-gnu.tar.gz";
    let gh = GitHub::start(&[(
        "acme/rg",
        &[
            (
                "14.0.0",
                &["rg-14.0.0-x86_64-unknown-linux-musl.tar.gz"][..],
            ),
            ("v14.1.0", &[x86, arm, "rg-14.1.0.sha256"][..]),
            ("nightly", &[][..]),
        ],
    )]);
    let old = make(sb.path(), "old.tgz", &tool_files("14.0.0"));
    gh.serve("rg-14.0.0-x86_64-unknown-linux-musl.tar.gz", old);
    let x86_bytes = make(sb.path(), "x86.tgz", &tool_files("14.1.0"));
    let arm_bytes = make(sb.path(), "arm.tgz", &tool_files("14.1.0-arm"));
    gh.serve(x86, x86_bytes.clone());
    gh.serve(arm, arm_bytes.clone());
    let root = sb.project(
        "app",
        "[registries]\nrg = \"github:acme/rg\"\n\n[packs]\nrg = { version = \"14\", registry = \"rg\" }\n",
    );
    let run = |args: &[&str]| {
        let out = sb
            .aibox(&root)
            .args(args)
            .env("AIBOX_GITHUB_API", gh.api())
            .env("AIBOX_PLATFORM", "linux-x86_64")
            .output()
            .unwrap();
        (out.status.success(), common::text(&out))
    };
    let (ok, (_, err)) = run(&["sync"]);
    assert!(ok, "{err}");
    let lock: toml::Table = std::fs::read_to_string(root.join("aibox.lock"))
        .unwrap()
        .parse()
        .unwrap();
    let pkg = &lock["package"].as_array().unwrap()[0];
    assert_eq!(pkg["source"].as_str(), Some("github:acme/rg"));
    assert_eq!(pkg["version"].as_str(), Some("14.1.0"));
    let platforms = pkg["platforms"].as_table().unwrap();
    assert_eq!(
        platforms.keys().cloned().collect::<Vec<_>>(),
        ["linux-aarch64", "linux-x86_64"],
        "one entry per platform with an asset"
    );
    assert_eq!(
        platforms["linux-x86_64"]["manifest"].as_str(),
        Some(sha256(&x86_bytes).as_str())
    );
    assert_eq!(
        platforms["linux-aarch64"]["manifest"].as_str(),
        Some(sha256(&arm_bytes).as_str())
    );
    let (ok, (out, err)) = run(&["run", "--no-sync", "--", "rg"]);
    assert!(ok, "{err}");
    assert_eq!(out, "rg 14.1.0\n");

    // The asset changes under the same name: a fresh machine refuses it, nothing is switched.
    gh.serve(x86, make(sb.path(), "evil.tgz", &tool_files("6.6.6")));
    let other = Sandbox::new();
    let copy = other.path().join("app");
    std::fs::create_dir_all(&copy).unwrap();
    for f in ["aibox.toml", "aibox.lock"] {
        std::fs::copy(root.join(f), copy.join(f)).unwrap();
    }
    let out = other
        .aibox(&copy)
        .args(["sync", "--frozen"])
        .env("AIBOX_GITHUB_API", gh.api())
        .env("AIBOX_PLATFORM", "linux-x86_64")
        .output()
        .unwrap();
    let err = common::text(&out).1;
    assert!(!out.status.success());
    assert!(err.contains("digest mismatch"), "{err}");
    assert!(err.contains(&sha256(&x86_bytes)), "{err}");
    assert!(
        !copy.join(".aibox/current/bin/rg").exists(),
        "nothing was switched"
    );
}

#[test]
fn a_loopback_http_archive_url_is_a_source_of_one_version() {
    let sb = Sandbox::new();
    let gh = GitHub::start(&[]);
    let bytes = make(
        sb.path(),
        "t.tgz",
        &[("bin/tool".into(), "#!/bin/sh\necho tool two\n".into(), true)],
    );
    gh.serve("tool-2.0.0.tar.gz", bytes.clone());
    let root = sb.project(
        "app",
        &format!(
            "[registries]\ntool = \"{}/dl/tool-2.0.0.tar.gz\"\n\n[packs]\ntool = {{ version = \"2\", registry = \"tool\" }}\n",
            gh.api()
        ),
    );
    sb.ok(&root, &["sync"]);
    let lock = std::fs::read_to_string(root.join("aibox.lock")).unwrap();
    assert!(lock.contains("[package.platforms.any]"), "{lock}");
    assert!(lock.contains(&sha256(&bytes)), "{lock}");
    let (out, _) = sb.ok(&root, &["run", "--no-sync", "--", "tool"]);
    assert_eq!(out, "tool two\n");
    // Plain HTTP anywhere but loopback is refused where the source is opened.
    let far = sb.project(
        "far",
        "[registries]\ntool = \"http://example.com/tool-2.0.0.tar.gz\"\n\n[packs]\ntool = { version = \"2\", registry = \"tool\" }\n",
    );
    let (_, err) = sb.fails(&far, &["lock"]);
    assert!(
        err.contains("plain HTTP is only used for loopback hosts"),
        "{err}"
    );
}

#[test]
fn a_plugin_installs_from_a_github_release() {
    let sb = Sandbox::new();
    let gh = GitHub::start(&[(
        "acme/aibox-plugin-hello",
        &[
            ("v1.0.0", &["hello-1.0.0-linux-x86_64.tar.gz"][..]),
            ("v1.1.0", &["hello-1.1.0-linux-x86_64.tar.gz"][..]),
        ],
    )]);
    for v in ["1.0.0", "1.1.0"] {
        let bytes = make(
            sb.path(),
            &format!("h{v}.tgz"),
            &[(
                "aibox-plugin-hello".into(),
                format!("#!/bin/sh\necho hello {v} \"$@\"\n"),
                true,
            )],
        );
        gh.serve(&format!("hello-{v}-linux-x86_64.tar.gz"), bytes);
    }
    let work = sb.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let out = sb
        .aibox(&work)
        .args(["plugin", "install", "github:acme/aibox-plugin-hello@v1.0.0"])
        .env("AIBOX_GITHUB_API", gh.api())
        .env("AIBOX_PLATFORM", "linux-x86_64")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out).1);
    let (out, _) = sb.ok(&work, &["hello", "there"]);
    assert_eq!(out, "hello 1.0.0 there\n");
    let (list, _) = sb.ok(&work, &["plugin", "list"]);
    assert!(
        list.contains("hello 1.0.0 (your global profile, github:acme/aibox-plugin-hello)"),
        "{list}"
    );
}

/// A tar of `files` (path, content, executable) written in memory.
fn tar_of(files: &[(&str, &str, bool)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, content, exec) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(if *exec { 0o755 } else { 0o644 });
        h.set_cksum();
        b.append_data(&mut h, path, content.as_bytes()).unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
fn release_assets_as_upstream_publishes_them() {
    use std::io::Write;
    let sb = Sandbox::new();
    let gh = GitHub::start(&[
        // jq: a `jq-` tag, bare executables per platform, and a source tarball.
        (
            "jqlang/jq",
            &[(
                "jq-1.7.1",
                &[
                    "jq-1.7.1.tar.gz",
                    "jq-linux-amd64",
                    "jq-linux-arm64",
                    "jq-macos-arm64",
                    "sha256sum.txt",
                ][..],
            )],
        ),
        // terraform-like: zips per platform.
        (
            "hashicorp/terraform",
            &[(
                "v1.7.0",
                &[
                    "terraform_1.7.0_linux_amd64.zip",
                    "terraform_1.7.0_SHA256SUMS",
                ][..],
            )],
        ),
        // node-like: `.tar.xz` with `x64`, one top directory with `bin/`.
        (
            "nodejs/node",
            &[(
                "v20.11.0",
                &["node-v20.11.0-linux-x64.tar.xz", "node-v20.11.0.tar.gz"][..],
            )],
        ),
    ]);
    gh.serve(
        "jq-1.7.1.tar.gz",
        make(
            sb.path(),
            "jq-src.tgz",
            &[(
                "jq-1.7.1/configure".into(),
                "#!/bin/sh\necho source\n".into(),
                true,
            )],
        ),
    );
    for file in ["jq-linux-amd64", "jq-linux-arm64", "jq-macos-arm64"] {
        gh.serve(file, format!("#!/bin/sh\necho {file}\n").into_bytes());
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(
        "terraform",
        zip::write::SimpleFileOptions::default().unix_permissions(0o755),
    )
    .unwrap();
    zip.write_all(b"#!/bin/sh\necho terraform 1.7.0\n").unwrap();
    gh.serve(
        "terraform_1.7.0_linux_amd64.zip",
        zip.finish().unwrap().into_inner(),
    );
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(&tar_of(&[(
        "node-v20.11.0-linux-x64/bin/node",
        "#!/bin/sh\necho node v20.11.0\n",
        true,
    )]))
    .unwrap();
    gh.serve("node-v20.11.0-linux-x64.tar.xz", xz.finish().unwrap());
    let root = sb.project(
        "app",
        "[registries]\njq = \"github:jqlang/jq\"\ntf = \"github:hashicorp/terraform\"\nnode = \"github:nodejs/node\"\n\n[packs]\njq = { version = \"1\", registry = \"jq\" }\nterraform = { version = \"1\", registry = \"tf\" }\nnode = { version = \"20\", registry = \"node\" }\n",
    );
    let run = |args: &[&str]| {
        let out = sb
            .aibox(&root)
            .args(args)
            .env("AIBOX_GITHUB_API", gh.api())
            .env("AIBOX_PLATFORM", "linux-x86_64")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "aibox {args:?}: {}",
            common::text(&out).1
        );
        common::text(&out).0
    };
    run(&["sync"]);
    assert_eq!(run(&["run", "--no-sync", "--", "jq"]), "jq-linux-amd64\n");
    assert_eq!(
        run(&["run", "--no-sync", "--", "terraform"]),
        "terraform 1.7.0\n"
    );
    assert_eq!(run(&["run", "--no-sync", "--", "node"]), "node v20.11.0\n");
    let lock: toml::Table = std::fs::read_to_string(root.join("aibox.lock"))
        .unwrap()
        .parse()
        .unwrap();
    let jq = lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"].as_str() == Some("jq"))
        .unwrap();
    assert_eq!(jq["version"].as_str(), Some("1.7.1"));
    let platforms: Vec<&String> = jq["platforms"].as_table().unwrap().keys().collect();
    // The platforms jq publishes executables for; never the source tarball for the others.
    assert_eq!(
        platforms,
        ["linux-aarch64", "linux-x86_64", "macos-aarch64"]
    );
}

#[test]
fn import_search_and_info_see_release_sources() {
    let sb = Sandbox::new();
    let asset = "ripgrep-14.1.0-x86_64-unknown-linux-musl.tar.gz";
    let gh = GitHub::start(&[("BurntSushi/ripgrep", &[("14.1.0", &[asset][..])])]);
    gh.serve(asset, make(sb.path(), "rg.tgz", &tool_files("14.1.0")));
    let root = sb.project("app", "[registries]\nrg = \"github:BurntSushi/ripgrep\"\n");
    std::fs::write(root.join(".tool-versions"), "ripgrep 14.1.0\n").unwrap();
    let run = |args: &[&str]| {
        let out = sb
            .aibox(&root)
            .args(args)
            .env("AIBOX_GITHUB_API", gh.api())
            .env("AIBOX_PLATFORM", "linux-x86_64")
            .output()
            .unwrap();
        (out.status.success(), common::text(&out))
    };
    let (ok, (_, err)) = run(&["import"]);
    assert!(ok, "{err}");
    let manifest = std::fs::read_to_string(root.join("aibox.toml")).unwrap();
    assert!(
        manifest.contains("ripgrep = { version = \"=14.1.0\", registry = \"rg\" }"),
        "{manifest}"
    );
    for query in ["rg", "ripgrep"] {
        let (ok, (out, err)) = run(&["search", query]);
        assert!(ok, "{err}");
        assert!(out.starts_with("ripgrep@14.1.0"), "search {query}: {out}");
    }
    let (ok, (out, err)) = run(&["info", "ripgrep"]);
    assert!(ok && out.starts_with("ripgrep 14.1.0"), "{out}{err}");
    // The release source answers only for its own tool.
    let (ok, (_, err)) = run(&["info", "jq"]);
    assert!(!ok && err.contains("no pack `jq`"), "{err}");
    let (ok, (_, err)) = run(&["sync"]);
    assert!(ok, "{err}");
}

/// Changing the global profile keeps the pins of what it already holds: installing a second
/// plugin downloads no archive of the first (a release archive's tree hash would otherwise be
/// computed again by downloading it), and works with `--offline` once everything is cached.
#[test]
fn a_change_to_the_global_profile_downloads_nothing_it_already_holds() {
    let sb = Sandbox::new();
    let gh = GitHub::start(&[
        (
            "acme/aibox-plugin-hello",
            &[("v1.0.0", &["hello-1.0.0-linux-x86_64.tar.gz"][..])],
        ),
        (
            "acme/aibox-plugin-bye",
            &[("v1.0.0", &["bye-1.0.0-linux-x86_64.tar.gz"][..])],
        ),
    ]);
    for name in ["hello", "bye"] {
        let bytes = make(
            sb.path(),
            &format!("{name}.tgz"),
            &[(
                format!("aibox-plugin-{name}"),
                format!("#!/bin/sh\necho {name}\n"),
                true,
            )],
        );
        gh.serve(&format!("{name}-1.0.0-linux-x86_64.tar.gz"), bytes);
    }
    let work = sb.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let install = |what: &str, extra: &[&str]| {
        let out = sb
            .aibox(&work)
            .args(["plugin", "install", what])
            .args(extra)
            .env("AIBOX_GITHUB_API", gh.api())
            .env("AIBOX_PLATFORM", "linux-x86_64")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", common::text(&out).1);
    };
    let downloads = |name: &str| {
        gh.server
            .requests()
            .iter()
            .filter(|r| r.path == format!("/dl/{name}-1.0.0-linux-x86_64.tar.gz"))
            .count()
    };
    install("github:acme/aibox-plugin-hello@v1.0.0", &[]);
    let hello = downloads("hello");
    assert!(hello >= 1);
    install("github:acme/aibox-plugin-bye@v1.0.0", &[]);
    assert_eq!(
        downloads("hello"),
        hello,
        "the first plugin's archive was downloaded again"
    );
    assert_eq!(sb.ok(&work, &["hello"]).0, "hello\n");
    assert_eq!(sb.ok(&work, &["bye"]).0, "bye\n");
    // Removing one changes the profile again, offline: the other's pins are kept as they are.
    let out = sb
        .aibox(&work)
        .args(["--offline", "plugin", "uninstall", "bye"])
        .env("AIBOX_GITHUB_API", gh.api())
        .env("AIBOX_PLATFORM", "linux-x86_64")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out).1);
    assert_eq!(downloads("hello"), hello);
    assert_eq!(sb.ok(&work, &["hello"]).0, "hello\n");
}
