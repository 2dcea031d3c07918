//! The aqua registry as a source, against the loopback GitHub mimic: a registry written in
//! aqua's format (entries modelled on the public registry's ripgrep, jq and fzf), assets built
//! here, checksum files computed here as the oracle and a cosign signature made by the suite's
//! independent Python cosign. `aibox add ripgrep jq fzf` resolves, locks (checksums and the
//! signer recorded), syncs and runs each tool; `aibox import .tool-versions` maps them. A wrong
//! checksum, a missing signature under the enterprise policy, an asset only for another
//! platform and an entry aibox does not support each fail clearly, with nothing locked. A
//! registry release re-tagged after locking is refused by every command of the project, and
//! git's merge driver keeps the release the merged `aibox.toml` names or stops.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::Path;

use common::Sandbox;
use common::github::GitHub;
use sha2::Digest;

const PASSWORD: &str = "aqua-test";

/// A `.tar.gz` of `files` (path, content) made in memory, every file executable.
fn targz(files: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o755);
        h.set_cksum();
        b.append_data(&mut h, path, content.as_bytes()).unwrap();
    }
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    gz.finish().unwrap()
}

fn hex256(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn cosign(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new(common::oci::python3())
        .arg(common::repo_root().join("tests/python/cosign.py"))
        .args(args)
        .current_dir(dir)
        .env("COSIGN_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cosign.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The suite's test Sigstore (tests/python/sigstore_peer.py) in `dir`.
fn sigstore(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new(common::oci::python3())
        .arg(common::repo_root().join("tests/python/sigstore_peer.py"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sigstore_peer.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The identity the keyless entry declares.
const KEYLESS_ID: &str =
    "https://github.com/acme/keyless/.github/workflows/release.yml@refs/tags/v2.0.0";
const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// A bundle by the test Sigstore in `sb` for the file `artifact` there, with `extra` options.
fn keyless_bundle(sb: &Sandbox, artifact: &[u8], extra: &[&str]) -> Vec<u8> {
    let dir = sb.path().join("sigstore");
    std::fs::write(dir.join("artifact"), artifact).unwrap();
    let mut args = vec![
        "sign",
        ".",
        "artifact",
        "bundle.json",
        "--identity",
        KEYLESS_ID,
        "--issuer",
        GITHUB_ISSUER,
    ];
    args.extend_from_slice(extra);
    sigstore(&dir, &args);
    std::fs::read(dir.join("bundle.json")).unwrap()
}

/// The registry, in aqua's format. `{API}` is the mimic's address (the checksum and key URLs).
/// ripgrep, jq and fzf are modelled on their entries in github.com/aquaproj/aqua-registry;
/// the goimports entry is copied from it (`pkgs/golang/tools/goimports/registry.yaml`; the
/// aqua registry is MIT-licensed, Copyright (c) 2021 Shunsuke Suzuki).
const REGISTRY: &str = r#"packages:
  - type: github_release
    repo_owner: BurntSushi
    repo_name: ripgrep
    description: ripgrep recursively searches directories for a regex pattern
    version_constraint: "false"
    version_overrides:
      - version_constraint: semver("<= 13.0.0")
        asset: ripgrep-{{.Version}}-{{.Arch}}-{{.OS}}.{{.Format}}
        format: tar.gz
        files:
          - name: rg
            src: ripgrep-{{.Version}}-{{.Arch}}-{{.OS}}/rg
        replacements:
          amd64: x86_64
          darwin: apple-darwin
          linux: unknown-linux-musl
      - version_constraint: "true"
        asset: ripgrep-{{.Version}}-{{.Arch}}-{{.OS}}.{{.Format}}
        format: tar.gz
        files:
          - name: rg
            src: ripgrep-{{.Version}}-{{.Arch}}-{{.OS}}/rg
        replacements:
          amd64: x86_64
          arm64: aarch64
          darwin: apple-darwin
        checksum:
          type: github_release
          asset: "{{.Asset}}.sha256"
          algorithm: sha256
        overrides:
          - goos: linux
            goarch: amd64
            replacements:
              linux: unknown-linux-musl
  - type: github_release
    repo_owner: jqlang
    repo_name: jq
    aliases:
      - name: stedolan/jq
    description: Command-line JSON processor
    version_constraint: "false"
    version_prefix: jq-
    version_overrides:
      - version_constraint: semver("<= 1.2")
        no_asset: true
      - version_constraint: "true"
        asset: jq-{{.OS}}-{{.Arch}}
        format: raw
        replacements:
          darwin: macos
        checksum:
          type: github_release
          asset: sha256sum.txt
          algorithm: sha256
        github_artifact_attestations:
          signer_workflow: jqlang/jq/.github/workflows/ci.yml
  - type: github_release
    repo_owner: junegunn
    repo_name: fzf
    description: A command-line fuzzy finder
    asset: fzf-{{trimV .Version}}-{{.OS}}_{{.Arch}}.tar.gz
    checksum:
      type: github_release
      asset: fzf_{{trimV .Version}}_checksums.txt
      algorithm: sha256
      cosign:
        opts:
          - --key
          - "{API}/dl/fzf-cosign.pub"
          - --signature
          - "{API}/dl/fzf_{{trimV .Version}}_checksums.txt.sig"
  - type: github_release
    repo_owner: acme
    repo_name: mactool
    description: only for macOS
    asset: mactool_{{.OS}}_{{.Arch}}
    supported_envs:
      - darwin
  - type: github_release
    repo_owner: acme
    repo_name: keyless
    description: a checksum file signed keyless, by a workflow's Fulcio certificate
    asset: keyless_{{.OS}}_{{.Arch}}
    format: raw
    supported_envs:
      - linux/amd64
    checksum:
      type: github_release
      asset: checksums.txt
      algorithm: sha256
      cosign:
        opts:
          - --certificate-identity
          - https://github.com/acme/keyless/.github/workflows/release.yml@refs/tags/{{.Version}}
          - --certificate-oidc-issuer
          - https://token.actions.githubusercontent.com
          - --bundle
          - "{API}/dl/checksums.txt.sigstore.json"
  - type: go_install
    name: golang/tools/goimports
    aliases:
      - name: golang.org/x/tools/cmd/goimports
    path: golang.org/x/tools/cmd/goimports
    repo_owner: golang
    repo_name: tools
    description: updates your Go import lines, adding missing ones and removing unreferenced ones
    link: https://pkg.go.dev/golang.org/x/tools/cmd/goimports
    version_source: github_tag
    version_filter: not (Version startsWith "gopls/")
    files:
      - name: goimports
"#;

/// The mimic with ripgrep 13.0.0 and 14.1.1, jq 1.7.1, fzf 0.56.3 and their checksum files;
/// returns it and the registry directory.
fn world(sb: &Sandbox) -> (GitHub, std::path::PathBuf) {
    let rg = |v: &str, arch: &str, os: &str| format!("ripgrep-{v}-{arch}-{os}.tar.gz");
    let rg_new_x86 = rg("14.1.1", "x86_64", "unknown-linux-musl");
    let rg_new_mac = rg("14.1.1", "aarch64", "apple-darwin");
    let rg_old_x86 = rg("13.0.0", "x86_64", "unknown-linux-musl");
    let fzf_linux = "fzf-0.56.3-linux_amd64.tar.gz";
    let fzf_mac = "fzf-0.56.3-darwin_arm64.tar.gz";
    let gh = GitHub::start(&[
        (
            "BurntSushi/ripgrep",
            &[
                (
                    "14.1.1",
                    &[
                        rg_new_x86.as_str(),
                        &format!("{rg_new_x86}.sha256"),
                        rg_new_mac.as_str(),
                        &format!("{rg_new_mac}.sha256"),
                    ][..],
                ),
                ("13.0.0", &[rg_old_x86.as_str()][..]),
            ],
        ),
        (
            "jqlang/jq",
            &[
                (
                    "jq-1.7.1",
                    &["jq-linux-amd64", "jq-macos-arm64", "sha256sum.txt"][..],
                ),
                ("jq-1.2", &[][..]),
            ],
        ),
        (
            "junegunn/fzf",
            &[(
                "v0.56.3",
                &[
                    fzf_linux,
                    fzf_mac,
                    "fzf_0.56.3_checksums.txt",
                    "fzf_0.56.3_checksums.txt.sig",
                    "fzf-cosign.pub",
                ][..],
            )],
        ),
        ("acme/mactool", &[("v1.0.0", &["mactool_darwin_arm64"][..])]),
        (
            "acme/keyless",
            &[(
                "v2.0.0",
                &[
                    "keyless_linux_amd64",
                    "checksums.txt",
                    "checksums.txt.sigstore.json",
                ][..],
            )],
        ),
    ]);
    for (file, dir, v) in [
        (
            &rg_new_x86,
            "ripgrep-14.1.1-x86_64-unknown-linux-musl",
            "14.1.1",
        ),
        (
            &rg_new_mac,
            "ripgrep-14.1.1-aarch64-apple-darwin",
            "14.1.1-mac",
        ),
        (
            &rg_old_x86,
            "ripgrep-13.0.0-x86_64-unknown-linux-musl",
            "13.0.0",
        ),
    ] {
        let bytes = targz(&[(
            &format!("{dir}/rg"),
            &format!("#!/bin/sh\necho ripgrep {v}\n"),
        )]);
        gh.serve(
            &format!("{file}.sha256"),
            format!("{}  {file}\n", hex256(&bytes)).into_bytes(),
        );
        gh.serve(file, bytes);
    }
    let mut sums = String::new();
    for f in ["jq-linux-amd64", "jq-macos-arm64"] {
        let bytes = format!("#!/bin/sh\necho {f}\n").into_bytes();
        sums.push_str(&format!("{}  {f}\n", hex256(&bytes)));
        gh.serve(f, bytes);
    }
    gh.serve("sha256sum.txt", sums.into_bytes());
    let mut sums = String::new();
    for (f, os) in [(fzf_linux, "linux"), (fzf_mac, "darwin")] {
        let bytes = targz(&[("fzf", &format!("#!/bin/sh\necho fzf 0.56.3 {os}\n"))]);
        sums.push_str(&format!("{}  {f}\n", hex256(&bytes)));
        gh.serve(f, bytes);
    }
    // The checksum file is signed with a cosign key by the independent implementation.
    let keys = sb.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    cosign(&keys, &["generate-key-pair"]);
    std::fs::write(keys.join("sums.txt"), &sums).unwrap();
    let sig = cosign(
        &keys,
        &["sign-blob", "--key", "cosign.key", "--payload", "sums.txt"],
    );
    gh.serve("fzf_0.56.3_checksums.txt", sums.into_bytes());
    gh.serve("fzf_0.56.3_checksums.txt.sig", sig);
    gh.serve(
        "fzf-cosign.pub",
        std::fs::read(keys.join("cosign.pub")).unwrap(),
    );
    gh.serve("mactool_darwin_arm64", b"#!/bin/sh\necho mac\n".to_vec());
    let keyless = b"#!/bin/sh\necho keyless 2.0.0\n".to_vec();
    let sums = format!("{}  keyless_linux_amd64\n", hex256(&keyless)).into_bytes();
    // The checksum file is signed keyless by the test Sigstore, whose trusted root the user
    // configuration names.
    let dir = sb.path().join("sigstore");
    sigstore(sb.path(), &["init", "sigstore"]);
    let ok = sb
        .aibox(sb.path())
        .args(["config", "set", "trust.sigstore-root"])
        .arg(dir.join("trusted_root.json"))
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", common::text(&ok).1);
    gh.serve(
        "checksums.txt.sigstore.json",
        keyless_bundle(sb, &sums, &[]),
    );
    // jq's assets are attested by its release workflow, as GitHub's API serves them.
    for f in ["jq-linux-amd64", "jq-macos-arm64"] {
        let asset = gh.file(f);
        let bundle = keyless_bundle(
            sb,
            &asset,
            &[
                "--format",
                "dsse",
                "--identity",
                "https://github.com/jqlang/jq/.github/workflows/ci.yml@refs/tags/jq-1.7.1",
            ],
        );
        let body = format!(
            "{{\"attestations\":[{{\"bundle\":{}}}]}}",
            String::from_utf8(bundle).unwrap()
        );
        gh.serve_path(
            &format!("/repos/jqlang/jq/attestations/sha256:{}", hex256(&asset)),
            body.into_bytes(),
        );
    }
    gh.serve("checksums.txt", sums);
    gh.serve("keyless_linux_amd64", keyless);

    let registry = sb.path().join("aqua-registry");
    std::fs::create_dir_all(&registry).unwrap();
    std::fs::write(
        registry.join("registry.yaml"),
        REGISTRY.replace("{API}", &gh.api()),
    )
    .unwrap();
    (gh, registry)
}

/// Another machine: a sandbox of its own whose user configuration trusts the test Sigstore of
/// `world`.
fn machine(world: &Sandbox) -> Sandbox {
    let sb = Sandbox::new();
    let ok = sb
        .aibox(sb.path())
        .args(["config", "set", "trust.sigstore-root"])
        .arg(world.path().join("sigstore/trusted_root.json"))
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", common::text(&ok).1);
    sb
}

/// [`run`], which must fail: its stderr.
fn fails(sb: &Sandbox, gh: &GitHub, root: &Path, args: &[&str]) -> String {
    let (ok, _, err) = run(sb, gh, root, args);
    assert!(!ok, "aibox {args:?} should fail");
    err
}

fn run(sb: &Sandbox, gh: &GitHub, root: &Path, args: &[&str]) -> (bool, String, String) {
    let out = sb
        .aibox(root)
        .args(args)
        .env("AIBOX_GITHUB_API", gh.api())
        .env("AIBOX_PLATFORM", "linux-x86_64")
        .output()
        .unwrap();
    let (o, e) = common::text(&out);
    (out.status.success(), o, e)
}

const PROJECT: &str = "[registries]\ndefault = \"aqua:../aqua-registry\"\n\n[policy]\nplatforms = [\"linux-x86_64\", \"macos-aarch64\"]\n\n[packs]\n";

#[test]
fn add_locks_syncs_and_runs_tools_from_an_aqua_registry() {
    let sb = Sandbox::new();
    let (gh, _) = world(&sb);
    let root = sb.project("app", PROJECT);
    let (ok, _, err) = run(&sb, &gh, &root, &["add", "ripgrep", "jq", "fzf"]);
    assert!(ok, "{err}");
    assert!(objects_containing(&sb, "echo ripgrep 14.1.1") > 0);
    for (cmd, want) in [
        ("rg", "ripgrep 14.1.1\n"),
        ("jq", "jq-linux-amd64\n"),
        ("fzf", "fzf 0.56.3 linux\n"),
    ] {
        let (ok, out, err) = run(&sb, &gh, &root, &["run", "--no-sync", "--", cmd]);
        assert!(ok, "{cmd}: {err}");
        assert_eq!(out, want, "{cmd}");
    }
    let text = std::fs::read_to_string(root.join("aibox.lock")).unwrap();
    let lock: toml::Table = text.parse().unwrap();
    assert_eq!(lock["version"].as_integer(), Some(5), "{text}");
    let pkg = |name: &str| {
        lock["package"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("{name} in {text}"))
            .clone()
    };
    let rg = pkg("ripgrep");
    assert_eq!(rg["aqua"].as_str(), Some("BurntSushi/ripgrep"));
    assert_eq!(rg["tag"].as_str(), Some("14.1.1"));
    assert_eq!(rg["source"].as_str(), Some("aqua:../aqua-registry"));
    let verified = |p: &toml::Value| -> Vec<String> {
        p.get("verified")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    };
    assert_eq!(verified(&rg), ["checksum"]);
    // The asset's SHA-256, per platform, is what the mimic served; the tree hash is BLAKE3.
    let platforms = rg["platforms"].as_table().unwrap();
    assert_eq!(
        platforms.keys().cloned().collect::<Vec<_>>(),
        ["linux-x86_64", "macos-aarch64"]
    );
    for (platform, file) in [
        (
            "linux-x86_64",
            "ripgrep-14.1.1-x86_64-unknown-linux-musl.tar.gz",
        ),
        (
            "macos-aarch64",
            "ripgrep-14.1.1-aarch64-apple-darwin.tar.gz",
        ),
    ] {
        let locked = platforms[platform].as_table().unwrap();
        assert_eq!(
            locked["manifest"].as_str(),
            Some(format!("sha256:{}", hex256(&gh.file(file))).as_str()),
            "{platform}"
        );
        let tree = locked["tree"].as_str().unwrap();
        assert!(
            tree.strip_prefix("blake3:").is_some_and(|h| h.len() == 64),
            "{tree}"
        );
    }
    assert_ne!(
        platforms["linux-x86_64"]["tree"], platforms["macos-aarch64"]["tree"],
        "each platform's own asset is locked"
    );
    let jq = pkg("jq");
    assert_eq!(
        (jq["tag"].as_str(), jq["version"].as_str()),
        (Some("jq-1.7.1"), Some("1.7.1"))
    );
    assert_eq!(
        verified(&jq),
        ["checksum", "github-attestation"],
        "jq's attestations by its release workflow verified"
    );
    assert!(jq.get("unverified").is_none(), "{jq:?}");
    let fzf = pkg("fzf");
    assert_eq!(verified(&fzf), ["checksum", "cosign"]);
    let pub_pem = std::fs::read_to_string(sb.path().join("keys/cosign.pub")).unwrap();
    let der = pem::parse(pub_pem).unwrap();
    assert_eq!(
        fzf["signer"].as_str(),
        Some(format!("sha256:{}", hex256(der.contents())).as_str()),
        "the cosign key that verified the checksum file is the recorded signer"
    );
    // The lock is deterministic: locking again changes nothing.
    let (ok, _, err) = run(&sb, &gh, &root, &["lock"]);
    assert!(ok, "{err}");
    assert_eq!(
        std::fs::read_to_string(root.join("aibox.lock")).unwrap(),
        text
    );
    // `info` and `list` show what was verified.
    let (ok, out, err) = run(&sb, &gh, &root, &["list"]);
    assert!(ok, "{err}");
    let line = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {out}"))
            .to_owned()
    };
    assert!(
        line("fzf 0.56.3").ends_with("verified: checksum, cosign"),
        "{out}"
    );
    assert!(
        line("jq 1.7.1").ends_with("verified: checksum, github-attestation"),
        "{out}"
    );
    let (ok, out, err) = run(&sb, &gh, &root, &["info", "fzf"]);
    assert!(ok, "{err}");
    assert!(out.contains("checks:       checksum, cosign"), "{out}");
    assert!(out.contains("commands:     fzf"), "{out}");
    // A second machine syncs from the lock alone and gets the same trees.
    let other = machine(&sb);
    let copy = other.path().join("app");
    std::fs::create_dir_all(&copy).unwrap();
    for f in ["aibox.toml", "aibox.lock"] {
        std::fs::copy(root.join(f), copy.join(f)).unwrap();
    }
    common::copy_tree(
        &sb.path().join("aqua-registry"),
        &other.path().join("aqua-registry"),
    );
    let (ok, _, err) = run(&other, &gh, &copy, &["sync", "--locked"]);
    assert!(ok, "{err}");
    let (ok, out, _) = run(&other, &gh, &copy, &["run", "--no-sync", "--", "rg"]);
    assert!(ok);
    assert_eq!(out, "ripgrep 14.1.1\n");

    // The release is replaced afterwards, with a checksum file that matches the new asset:
    // the lock's SHA-256 refuses it on a third machine, and nothing of it is stored.
    let file = "fzf-0.56.3-linux_amd64.tar.gz";
    let evil = targz(&[("fzf", "#!/bin/sh\necho evil\n")]);
    let sums = String::from_utf8(gh.file("fzf_0.56.3_checksums.txt")).unwrap();
    let old = hex256(&gh.file(file));
    gh.serve(
        "fzf_0.56.3_checksums.txt",
        sums.replace(&old, &hex256(&evil)).into_bytes(),
    );
    gh.serve(file, evil);
    let third = machine(&sb);
    let copy = third.path().join("app");
    std::fs::create_dir_all(&copy).unwrap();
    for f in ["aibox.toml", "aibox.lock"] {
        std::fs::copy(root.join(f), copy.join(f)).unwrap();
    }
    common::copy_tree(
        &sb.path().join("aqua-registry"),
        &third.path().join("aqua-registry"),
    );
    let err = fails(&third, &gh, &copy, &["sync", "--locked"]);
    assert!(
        err.contains("digest mismatch") && err.contains(&old),
        "{err}"
    );
    assert_eq!(objects_containing(&third, "evil"), 0);
}

/// How many objects of the sandbox's store hold `needle`.
fn objects_containing(sb: &Sandbox, needle: &str) -> usize {
    let mut n = 0;
    let mut dirs = vec![sb.home().join("store-v2/objects")];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if std::fs::read(&p).is_ok_and(|b| String::from_utf8_lossy(&b).contains(needle))
            {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn search_lists_the_registry_s_matches_with_descriptions() {
    let sb = Sandbox::new();
    let (gh, _) = world(&sb);
    let root = sb.project("app", PROJECT);
    let (ok, out, err) = run(&sb, &gh, &root, &["search", "fuzzy"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(lines[0].starts_with("fzf@0.56.3  "), "{out}");
    assert!(
        lines[0].contains("A command-line fuzzy finder (aqua: junegunn/fzf)"),
        "{out}"
    );
    let (ok, out, err) = run(&sb, &gh, &root, &["search", "rip"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("ripgrep@14.1.1  "), "{out}");
}

#[test]
fn import_maps_tool_versions_through_the_aqua_registry() {
    let sb = Sandbox::new();
    let (gh, _) = world(&sb);
    let root = sb.project("app", PROJECT);
    std::fs::write(
        root.join(".tool-versions"),
        "ripgrep 13.0.0\njq 1.7.1\nrg 14.1.1\nfzf 0.56.3\nnode 20.11.0\n",
    )
    .unwrap();
    let (ok, _, err) = run(&sb, &gh, &root, &["import"]);
    assert!(ok, "{err}");
    let manifest = std::fs::read_to_string(root.join("aibox.toml")).unwrap();
    for line in [
        "ripgrep = \"=13.0.0\"",
        "jq = \"=1.7.1\"",
        "fzf = \"=0.56.3\"",
    ] {
        assert!(manifest.contains(line), "{line} in:\n{manifest}");
    }
    assert!(!manifest.contains("node"), "{manifest}");
    assert!(err.contains("node"), "the unmapped tool is named: {err}");
    let (ok, _, err) = run(&sb, &gh, &root, &["sync"]);
    assert!(ok, "{err}");
    // ripgrep 13.0.0's release has no asset for macOS: that platform is left out, said so.
    assert!(
        err.contains("`ripgrep` is not locked for `macos-aarch64`")
            && err.contains("ripgrep-13.0.0-arm64-apple-darwin.tar.gz"),
        "{err}"
    );
    let lock: toml::Table = std::fs::read_to_string(root.join("aibox.lock"))
        .unwrap()
        .parse()
        .unwrap();
    let rg = lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"].as_str() == Some("ripgrep"))
        .unwrap();
    assert_eq!(
        rg["platforms"]
            .as_table()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["linux-x86_64"]
    );
    let (_, out, _) = run(&sb, &gh, &root, &["run", "--no-sync", "--", "rg"]);
    assert_eq!(out, "ripgrep 13.0.0\n");

    // `outdated` sees the newer release, as for any pack.
    let (ok, out, err) = run(&sb, &gh, &root, &["outdated"]);
    assert!(ok, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("ripgrep "))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>(),
        ["ripgrep", "13.0.0", "13.0.0", "14.1.1", "major"],
        "{out}"
    );
    // An update is a new generation; rollback switches back to 13.0.0.
    let manifest = std::fs::read_to_string(root.join("aibox.toml")).unwrap();
    std::fs::write(
        root.join("aibox.toml"),
        manifest.replace("ripgrep = \"=13.0.0\"", "ripgrep = \"^14\""),
    )
    .unwrap();
    let (ok, _, err) = run(&sb, &gh, &root, &["sync"]);
    assert!(ok, "{err}");
    let (_, out, _) = run(&sb, &gh, &root, &["run", "--no-sync", "--", "rg"]);
    assert_eq!(out, "ripgrep 14.1.1\n");
    let (ok, _, err) = run(&sb, &gh, &root, &["rollback"]);
    assert!(ok, "{err}");
    let (_, out, _) = run(&sb, &gh, &root, &["run", "--no-sync", "--", "rg"]);
    assert_eq!(out, "ripgrep 13.0.0\n");
}

#[test]
fn import_maps_mise_toml_through_the_aqua_registry() {
    let sb = Sandbox::new();
    let (gh, _) = world(&sb);
    let root = sb.project("app", PROJECT);
    // mise's own names: a short name, a backend-prefixed aqua name, an asdf alias (`rg`).
    std::fs::write(
        root.join("mise.toml"),
        "[tools]\nrg = \"14.1.1\"\n\"aqua:jqlang/jq\" = \"1.7\"\nfzf = \"latest\"\nterraform = \"1.9.0\"\n",
    )
    .unwrap();
    let (ok, out, err) = run(&sb, &gh, &root, &["import", "--dry-run"]);
    assert!(ok, "{err}");
    for line in ["ripgrep = \"=14.1.1\"", "jq = \"~1.7\"", "fzf = \"*\""] {
        assert!(out.contains(line), "{line} in:\n{out}");
    }
    assert!(!out.contains("terraform ="), "{out}");
    assert!(
        err.contains("terraform"),
        "the unmapped tool is named: {err}"
    );
    assert!(
        !std::fs::read_to_string(root.join("aibox.toml"))
            .unwrap()
            .contains("ripgrep"),
        "--dry-run writes nothing"
    );
}

#[test]
fn a_wrong_checksum_is_refused_before_anything_is_stored() {
    let sb = Sandbox::new();
    let (gh, _) = world(&sb);
    let file = "ripgrep-14.1.1-x86_64-unknown-linux-musl.tar.gz";
    gh.serve(
        &format!("{file}.sha256"),
        format!("{}  {file}\n", "0".repeat(64)).into_bytes(),
    );
    let root = sb.project("app", PROJECT);
    let err = fails(&sb, &gh, &root, &["add", "ripgrep"]);
    assert!(err.contains("digest mismatch"), "{err}");
    assert!(err.contains(&"0".repeat(64)), "{err}");
    assert!(!root.join("aibox.lock").exists());
    assert!(
        !std::fs::read_to_string(root.join("aibox.toml"))
            .unwrap()
            .contains("ripgrep"),
        "the manifest is left as it was"
    );
    assert_eq!(
        objects_containing(&sb, "ripgrep 14.1.1"),
        0,
        "nothing of the refused asset is in the store"
    );
}

#[test]
fn the_enterprise_policy_wants_a_checksum_and_a_signature() {
    let sb = Sandbox::new();
    let (gh, _) = world(&sb);
    let root = sb.project(
        "app",
        &PROJECT.replace("[policy]\n", "[policy]\nrequire-signed = true\n"),
    );
    // ripgrep's entry declares a checksum file only.
    let out = sb
        .aibox(&root)
        .args(["add", "ripgrep"])
        .env("AIBOX_GITHUB_API", gh.api())
        .env("AIBOX_PLATFORM", "linux-x86_64")
        .output()
        .unwrap();
    let err = common::text(&out).1;
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains("gives no verified signature (verified: checksum)"),
        "{err}"
    );
    assert!(!root.join("aibox.lock").exists());
    // A verified GitHub artifact attestation is a signature.
    let (ok, _, err) = run(&sb, &gh, &root, &["add", "jq"]);
    assert!(ok, "{err}");
    // A keyless cosign bundle, verified offline against the Sigstore trusted root, is a
    // signature.
    let (ok, _, err) = run(&sb, &gh, &root, &["add", "keyless"]);
    assert!(ok, "{err}");
    // fzf's checksum file is signed with a cosign key: it passes.
    let (ok, _, err) = run(&sb, &gh, &root, &["add", "fzf"]);
    assert!(ok, "{err}");
    let (_, out, _) = run(&sb, &gh, &root, &["run", "--no-sync", "--", "fzf"]);
    assert_eq!(out, "fzf 0.56.3 linux\n");
}

fn lock_checks(root: &Path) -> (Vec<String>, Vec<String>) {
    let lock: toml::Table = std::fs::read_to_string(root.join("aibox.lock"))
        .unwrap()
        .parse()
        .unwrap();
    let pkg = lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"].as_str() == Some("keyless"))
        .unwrap()
        .clone();
    let list = |k: &str| -> Vec<String> {
        pkg.get(k)
            .and_then(|v| v.as_array())
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    };
    assert!(
        pkg.get("signer").is_none(),
        "a keyless signature has no key fingerprint"
    );
    (list("verified"), list("unverified"))
}

#[test]
fn keyless_cosign_bundles_are_verified_offline_against_the_trusted_root() {
    let sb = Sandbox::new();
    let (gh, _) = world(&sb);
    let root = sb.project(
        "app",
        &PROJECT.replace("\"linux-x86_64\", \"macos-aarch64\"", "\"linux-x86_64\""),
    );
    // cosign's own bundle format (what most aqua entries name).
    let (ok, _, err) = run(&sb, &gh, &root, &["add", "keyless"]);
    assert!(ok, "{err}");
    let (_, out, _) = run(&sb, &gh, &root, &["run", "--no-sync", "--", "keyless"]);
    assert_eq!(out, "keyless 2.0.0\n");
    let (verified, unverified) = lock_checks(&root);
    assert_eq!(verified, ["checksum", "cosign-keyless"]);
    assert!(unverified.is_empty(), "{unverified:?}");
    let (_, out, _) = run(&sb, &gh, &root, &["list"]);
    assert!(out.contains("verified: checksum, cosign-keyless"), "{out}");
    let (ok, out, err) = run(&sb, &gh, &root, &["info", "keyless"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("checks:       checksum, cosign-keyless"),
        "{out}"
    );
    // The trusted root is a setting of the user configuration, checked when it is set.
    let (ok, out, err) = run(&sb, &gh, &root, &["config", "get", "trust.sigstore-root"]);
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        sb.path()
            .join("sigstore/trusted_root.json")
            .display()
            .to_string()
    );
    let err = fails(
        &sb,
        &gh,
        &root,
        &["config", "set", "trust.sigstore-root", "aibox.toml"],
    );
    assert!(
        err.contains("the trusted root `") && err.contains("cannot be used: does not read"),
        "{err}"
    );
    let (_, out, _) = run(&sb, &gh, &root, &["config", "get", "trust.sigstore-root"]);
    assert!(
        out.trim().ends_with("sigstore/trusted_root.json"),
        "unchanged: {out}"
    );
    // A Sigstore bundle v0.3 (inclusion proof and signed checkpoint) verifies too.
    let sums = gh.file("checksums.txt");
    gh.serve(
        "checksums.txt.sigstore.json",
        keyless_bundle(&sb, &sums, &["--format", "v0.3"]),
    );
    let other = sb.project(
        "other",
        &PROJECT.replace("\"linux-x86_64\", \"macos-aarch64\"", "\"linux-x86_64\""),
    );
    let (ok, _, err) = run(&sb, &gh, &other, &["add", "keyless"]);
    assert!(ok, "{err}");
    assert_eq!(lock_checks(&other).0, ["checksum", "cosign-keyless"]);
}

#[test]
fn keyless_cosign_without_a_log_entry_is_recorded_as_not_checked_never_as_passed() {
    let sb = Sandbox::new();
    let (gh, registry) = world(&sb);
    // The entry names a signature and a certificate, with no transparency-log entry.
    let yaml = std::fs::read_to_string(registry.join("registry.yaml")).unwrap();
    let yaml = yaml.replace(
        &format!("          - --bundle\n          - \"{}/dl/checksums.txt.sigstore.json\"", gh.api()),
        &format!(
            "          - --signature\n          - \"{api}/dl/checksums.txt.sig\"\n          - --certificate\n          - \"{api}/dl/checksums.txt.pem\"",
            api = gh.api()
        ),
    );
    std::fs::write(registry.join("registry.yaml"), yaml).unwrap();
    let dir = sb.path().join("sigstore");
    let sums = gh.file("checksums.txt");
    keyless_bundle(&sb, &sums, &["--format", "pair"]);
    gh.serve(
        "checksums.txt.sig",
        std::fs::read(dir.join("bundle.json.sig")).unwrap(),
    );
    gh.serve(
        "checksums.txt.pem",
        std::fs::read(dir.join("bundle.json.pem")).unwrap(),
    );
    let root = sb.project(
        "app",
        &PROJECT.replace("\"linux-x86_64\", \"macos-aarch64\"", "\"linux-x86_64\""),
    );
    let (ok, _, err) = run(&sb, &gh, &root, &["add", "keyless"]);
    assert!(ok, "{err}");
    assert!(
        err.contains("is recorded as not checked: no transparency-log entry, so no signing time can be established offline"),
        "the reason is said: {err}"
    );
    let (_, out, _) = run(&sb, &gh, &root, &["run", "--no-sync", "--", "keyless"]);
    assert_eq!(out, "keyless 2.0.0\n");
    let (verified, unverified) = lock_checks(&root);
    assert_eq!(verified, ["checksum"]);
    assert_eq!(unverified, ["cosign-keyless"]);
    let (_, out, _) = run(&sb, &gh, &root, &["list"]);
    assert!(
        out.contains("verified: checksum (not checked: cosign-keyless)"),
        "{out}"
    );
    // What can be checked still is: a signature by another identity is refused.
    let bad = sb.project(
        "bad",
        &PROJECT.replace("\"linux-x86_64\", \"macos-aarch64\"", "\"linux-x86_64\""),
    );
    std::fs::write(dir.join("artifact"), &sums).unwrap();
    sigstore(
        &dir,
        &[
            "sign",
            ".",
            "artifact",
            "bundle.json",
            "--identity",
            "https://github.com/evil/keyless/.github/workflows/release.yml@refs/tags/v2.0.0",
            "--issuer",
            GITHUB_ISSUER,
            "--format",
            "pair",
        ],
    );
    gh.serve(
        "checksums.txt.sig",
        std::fs::read(dir.join("bundle.json.sig")).unwrap(),
    );
    gh.serve(
        "checksums.txt.pem",
        std::fs::read(dir.join("bundle.json.pem")).unwrap(),
    );
    let err = fails(&sb, &gh, &bad, &["add", "keyless"]);
    assert!(
        err.contains("identity: the certificate is for `https://github.com/evil/"),
        "{err}"
    );
    assert!(!bad.join("aibox.lock").exists());
}

#[test]
fn a_keyless_bundle_that_does_not_verify_refuses_the_sync_and_changes_nothing() {
    let sb = Sandbox::new();
    let (gh, _) = world(&sb);
    let root = sb.project(
        "app",
        &PROJECT.replace("\"linux-x86_64\", \"macos-aarch64\"", "\"linux-x86_64\""),
    );
    let (ok, _, err) = run(&sb, &gh, &root, &["add", "fzf"]);
    assert!(ok, "{err}");
    let lock = std::fs::read(root.join("aibox.lock")).unwrap();
    let manifest = std::fs::read(root.join("aibox.toml")).unwrap();
    let sums = gh.file("checksums.txt");
    let other = "https://github.com/acme/keyless/.github/workflows/other.yml@refs/tags/v2.0.0";
    let cases: &[(&[&str], &str)] = &[
        (&["--identity", other], "identity: the certificate is for"),
        (
            &["--issuer", "https://accounts.example.com"],
            "identity: the certificate was issued on a token of `https://accounts.example.com`",
        ),
        (
            &["--foreign-ca"],
            "certificate chain: it does not chain to a Fulcio authority",
        ),
        (
            &["--tamper", "set"],
            "transparency log: the signed entry timestamp does not verify",
        ),
        (
            &["--tamper", "artifact"],
            "signature: the signature does not verify over the artifact",
        ),
        (
            &["--tamper", "body"],
            "transparency log: the log entry is for another artifact",
        ),
        (
            &["--expired"],
            "certificate chain: the certificate was not valid at the signing time",
        ),
        (
            &["--format", "v0.3", "--tamper", "proof"],
            "transparency log: the inclusion proof does not lead to its root hash",
        ),
    ];
    for (extra, expected) in cases {
        // Later options win: the case's identity or issuer replaces the declared one.
        gh.serve(
            "checksums.txt.sigstore.json",
            keyless_bundle(&sb, &sums, extra),
        );
        let out = sb
            .aibox(&root)
            .args(["add", "keyless"])
            .env("AIBOX_GITHUB_API", gh.api())
            .env("AIBOX_PLATFORM", "linux-x86_64")
            .output()
            .unwrap();
        let err = common::text(&out).1;
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {err}");
        assert!(
            err.contains("the keyless cosign signature of the checksum file")
                && err.contains("acme/keyless v2.0.0"),
            "{extra:?}: {err}"
        );
        assert!(err.contains(expected), "{extra:?}: {err}");
        assert!(err.contains("hint:"), "{extra:?}: {err}");
        assert_eq!(
            std::fs::read(root.join("aibox.lock")).unwrap(),
            lock,
            "{extra:?}"
        );
        assert_eq!(
            std::fs::read(root.join("aibox.toml")).unwrap(),
            manifest,
            "{extra:?}"
        );
        let (_, out, _) = run(&sb, &gh, &root, &["run", "--no-sync", "--", "fzf"]);
        assert_eq!(
            out, "fzf 0.56.3 linux\n",
            "{extra:?}: the generation is intact"
        );
        let (ok, _, _) = run(&sb, &gh, &root, &["run", "--no-sync", "--", "keyless"]);
        assert!(!ok, "{extra:?}: nothing of keyless is installed");
    }
}

#[test]
fn other_platforms_and_unsupported_entries_are_clear_errors() {
    let sb = Sandbox::new();
    let (gh, _) = world(&sb);
    let root = sb.project(
        "app",
        &PROJECT.replace("\"linux-x86_64\", \"macos-aarch64\"", "\"linux-x86_64\""),
    );
    let err = fails(&sb, &gh, &root, &["add", "mactool"]);
    assert!(
        err.contains("the aqua package `acme/mactool` v1.0.0 has no asset for the platforms `aibox.toml` locks (linux-x86_64)"),
        "{err}"
    );
    let err = fails(&sb, &gh, &root, &["add", "goimports"]);
    assert!(
        err.contains("go_install"),
        "the unsupported feature is named: {err}"
    );
    assert!(!root.join("aibox.lock").exists());
}

#[test]
fn a_registry_release_is_read_from_its_github_source_archive() {
    let sb = Sandbox::new();
    let (gh, registry) = world(&sb);
    // GitHub's source archive: one top directory named after the commit.
    let text = std::fs::read_to_string(registry.join("registry.yaml")).unwrap();
    let archive = targz(&[
        ("aquaproj-aqua-registry-4d86e12/registry.yaml", &text),
        ("aquaproj-aqua-registry-4d86e12/README.md", "the registry\n"),
    ]);
    gh.serve_path("/repos/aquaproj/aqua-registry/tarball/v4.554.0", archive);
    std::fs::remove_dir_all(&registry).unwrap();
    let root = sb.project(
        "app",
        &PROJECT.replace(
            "aqua:../aqua-registry",
            "aqua:github:aquaproj/aqua-registry@v4.554.0",
        ),
    );
    let (ok, _, err) = run(&sb, &gh, &root, &["add", "fzf"]);
    assert!(ok, "{err}");
    let (_, out, _) = run(&sb, &gh, &root, &["run", "--no-sync", "--", "fzf"]);
    assert_eq!(out, "fzf 0.56.3 linux\n");
    // A release that is not there is a clear error.
    let other = sb.project(
        "other",
        &PROJECT.replace(
            "aqua:../aqua-registry",
            "aqua:github:aquaproj/aqua-registry@v9.9.9",
        ),
    );
    let err = fails(&sb, &gh, &other, &["add", "fzf"]);
    assert!(
        err.contains("the aqua registry `github:aquaproj/aqua-registry@v9.9.9`: HTTP 404"),
        "{err}"
    );
}

/// The `[[package]]` table of `name` in `root`'s lock.
fn locked(root: &Path, name: &str) -> toml::Value {
    let lock: toml::Table = std::fs::read_to_string(root.join("aibox.lock"))
        .unwrap()
        .parse()
        .unwrap();
    lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no `{name}` in the lock"))
        .clone()
}

#[test]
fn update_moves_an_aqua_pack_to_its_newest_release_in_range() {
    let sb = Sandbox::new();
    let (gh, _) = world(&sb);
    let root = sb.project("app", &format!("{PROJECT}ripgrep = \"=13.0.0\"\n"));
    let (ok, _, err) = run(&sb, &gh, &root, &["sync"]);
    assert!(ok, "{err}");
    // The range now admits 14; the lock keeps 13.0.0 until asked to move.
    let manifest = std::fs::read_to_string(root.join("aibox.toml"))
        .unwrap()
        .replace("ripgrep = \"=13.0.0\"", "ripgrep = \">=13, <15\"");
    std::fs::write(root.join("aibox.toml"), &manifest).unwrap();
    let (ok, _, err) = run(&sb, &gh, &root, &["sync"]);
    assert!(ok, "{err}");
    assert_eq!(locked(&root, "ripgrep")["version"].as_str(), Some("13.0.0"));
    let before = std::fs::read_to_string(root.join("aibox.lock")).unwrap();
    let (ok, out, err) = run(&sb, &gh, &root, &["update", "--dry-run"]);
    assert!(ok, "{err}");
    assert!(
        err.contains("ripgrep") && err.contains("13.0.0") && err.contains("14.1.1"),
        "{out}{err}"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("aibox.lock")).unwrap(),
        before
    );
    let (ok, _, err) = run(&sb, &gh, &root, &["update", "ripgrep"]);
    assert!(ok, "{err}");
    // The new version is locked like any aqua pack: its tag, its checks, each platform's
    // asset by SHA-256 (the bytes the mimic serves); the manifest's range is kept.
    let rg = locked(&root, "ripgrep");
    assert_eq!(rg["version"].as_str(), Some("14.1.1"));
    assert_eq!(rg["tag"].as_str(), Some("14.1.1"));
    assert_eq!(rg["aqua"].as_str(), Some("BurntSushi/ripgrep"));
    assert_eq!(
        rg["platforms"]["linux-x86_64"]["manifest"].as_str(),
        Some(
            format!(
                "sha256:{}",
                hex256(&gh.file("ripgrep-14.1.1-x86_64-unknown-linux-musl.tar.gz"))
            )
            .as_str()
        )
    );
    assert!(rg["platforms"].get("macos-aarch64").is_some(), "{rg}");
    assert_eq!(
        std::fs::read_to_string(root.join("aibox.toml")).unwrap(),
        manifest
    );
    let (_, out, _) = run(&sb, &gh, &root, &["run", "--no-sync", "--", "rg"]);
    assert_eq!(out, "ripgrep 14.1.1\n");
    // Nothing newer: a second update changes nothing; rollback goes back to 13.0.0.
    let after = std::fs::read_to_string(root.join("aibox.lock")).unwrap();
    let (ok, _, err) = run(&sb, &gh, &root, &["update"]);
    assert!(ok, "{err}");
    assert_eq!(
        std::fs::read_to_string(root.join("aibox.lock")).unwrap(),
        after
    );
    let (ok, _, err) = run(&sb, &gh, &root, &["rollback"]);
    assert!(ok, "{err}");
    let (_, out, _) = run(&sb, &gh, &root, &["run", "--no-sync", "--", "rg"]);
    assert_eq!(out, "ripgrep 13.0.0\n");
}

#[test]
fn a_named_aqua_registry_serves_the_packs_that_name_it_beside_the_default() {
    let sb = Sandbox::new();
    let (gh, _) = world(&sb);
    // The default registry has its own `fzf` (and `hello`); the pack that names the aqua
    // registry gets the aqua one, the others the default's.
    let packs = sb.path().join("packs");
    for (name, version) in [("fzf", "1.0.0"), ("hello", "1.0.0")] {
        common::write_pack(
            &packs,
            &format!(
                "[pack]\nname = \"{name}\"\nversion = \"{version}\"\nkind = \"tool\"\n[bin]\n{name} = \"bin/{name}\"\n"
            ),
            &[(
                &format!("bin/{name}"),
                &format!("#!/bin/sh\necho {name} from the default registry\n"),
                true,
            )],
        );
    }
    let root = sb.project(
        "app",
        "[registries]\ndefault = \"dir:../packs\"\naqua = \"aqua:../aqua-registry\"\n\n[policy]\nplatforms = [\"linux-x86_64\", \"macos-aarch64\"]\n\n[packs]\nhello = \"^1\"\nfzf = { version = \"^0.56\", registry = \"aqua\" }\n",
    );
    let (ok, _, err) = run(&sb, &gh, &root, &["sync"]);
    assert!(ok, "{err}");
    let (_, out, _) = run(&sb, &gh, &root, &["run", "--no-sync", "--", "fzf"]);
    assert_eq!(out, "fzf 0.56.3 linux\n");
    let (_, out, _) = run(&sb, &gh, &root, &["run", "--no-sync", "--", "hello"]);
    assert_eq!(out, "hello from the default registry\n");
    let fzf = locked(&root, "fzf");
    assert_eq!(fzf["source"].as_str(), Some("aqua:../aqua-registry"));
    assert_eq!(fzf["aqua"].as_str(), Some("junegunn/fzf"));
    assert_eq!(
        fzf["verified"].as_array().unwrap(),
        &[toml::Value::from("checksum"), toml::Value::from("cosign")]
    );
    let hello = locked(&root, "hello");
    assert_eq!(hello["source"].as_str(), Some("dir:../packs"));
    assert!(hello.get("aqua").is_none(), "{hello}");
    // `list` tells them apart; a second machine syncs both from the lock.
    let (ok, out, err) = run(&sb, &gh, &root, &["list"]);
    assert!(ok, "{err}");
    assert!(out.contains("verified: checksum, cosign"), "{out}");
    let other = machine(&sb);
    let copy = copy_project(&root, &other);
    common::copy_tree(&packs, &other.path().join("packs"));
    common::copy_tree(
        &sb.path().join("aqua-registry"),
        &other.path().join("aqua-registry"),
    );
    let (ok, _, err) = run(&other, &gh, &copy, &["sync", "--locked"]);
    assert!(ok, "{err}");
    let (_, out, _) = run(&other, &gh, &copy, &["run", "--no-sync", "--", "fzf"]);
    assert_eq!(out, "fzf 0.56.3 linux\n");
    // Without `registry = "aqua"` the same name is the default registry's pack.
    let manifest = std::fs::read_to_string(root.join("aibox.toml"))
        .unwrap()
        .replace(
            "fzf = { version = \"^0.56\", registry = \"aqua\" }",
            "fzf = \"^1\"",
        );
    std::fs::write(root.join("aibox.toml"), manifest).unwrap();
    // The default registry's fzf is unsigned where the aqua one was verified: that asks first.
    let (ok, _, err) = run(&sb, &gh, &root, &["sync"]);
    assert!(!ok && err.contains("no signature (was signed by"), "{err}");
    let (ok, _, err) = run(&sb, &gh, &root, &["sync", "--yes"]);
    assert!(ok, "{err}");
    let (_, out, _) = run(&sb, &gh, &root, &["run", "--no-sync", "--", "fzf"]);
    assert_eq!(out, "fzf from the default registry\n");
    assert!(locked(&root, "fzf").get("aqua").is_none());
}

/// `aibox.toml` and `aibox.lock` of `root` copied into a project of a fresh home.
fn copy_project(from: &Path, to: &Sandbox) -> std::path::PathBuf {
    let copy = to.path().join("app");
    std::fs::create_dir_all(&copy).unwrap();
    for f in ["aibox.toml", "aibox.lock"] {
        std::fs::copy(from.join(f), copy.join(f)).unwrap();
    }
    copy
}

#[test]
fn a_registry_release_whose_archive_changed_under_its_tag_is_refused() {
    let sb = Sandbox::new();
    let (gh, registry) = world(&sb);
    let text = std::fs::read_to_string(registry.join("registry.yaml")).unwrap();
    let tarball = "/repos/aquaproj/aqua-registry/tarball/v4.554.0";
    let archive = targz(&[("aquaproj-aqua-registry-4d86e12/registry.yaml", &text)]);
    gh.serve_path(tarball, archive.clone());
    std::fs::remove_dir_all(&registry).unwrap();
    let manifest = PROJECT.replace(
        "aqua:../aqua-registry",
        "aqua:github:aquaproj/aqua-registry@v4.554.0",
    );
    let root = sb.project("app", &manifest);
    let (ok, _, err) = run(&sb, &gh, &root, &["add", "fzf", "jq"]);
    assert!(ok, "{err}");
    // Every pack from the release records the archive's SHA-256; locking again (cached or
    // downloaded again) writes the same bytes.
    let locked = std::fs::read_to_string(root.join("aibox.lock")).unwrap();
    let good = format!("sha256:{}", hex256(&archive));
    assert_eq!(
        locked
            .matches(&format!("registry-digest = \"{good}\"\n"))
            .count(),
        2,
        "{locked}"
    );
    for args in [&["lock"][..], &["lock", "--refresh"]] {
        let (ok, _, err) = run(&sb, &gh, &root, args);
        assert!(ok, "{err}");
        assert_eq!(
            std::fs::read_to_string(root.join("aibox.lock")).unwrap(),
            locked
        );
    }

    // The tag is moved: the same name now serves a registry that sends fzf elsewhere.
    let moved = targz(&[(
        "aquaproj-aqua-registry-9f00bad/registry.yaml",
        &text.replace("junegunn", "mallory"),
    )]);
    let bad = format!("sha256:{}", hex256(&moved));
    gh.serve_path(tarball, moved);
    let refused = |err: &str| {
        assert!(
            err.contains("the aqua registry `github:aquaproj/aqua-registry` at tag `v4.554.0`")
                && err.contains(&good)
                && err.contains(&bad)
                && err.contains("hint:")
                && err.contains("pin a release you have reviewed"),
            "{err}"
        );
    };
    // A fresh home (no cache): sync, lock and a refreshed lock refuse it, and so do the
    // commands that only read the registry (`info`, `search`, `import`); nothing changes.
    let fresh = machine(&sb);
    let copy = copy_project(&root, &fresh);
    std::fs::write(copy.join(".tool-versions"), "fzf 0.56.3\n").unwrap();
    for args in [
        &["sync"][..],
        &["sync", "--locked"],
        &["lock"],
        &["lock", "--refresh"],
        &["info", "fzf"],
        &["search", "fzf"],
        &["import", ".tool-versions"],
        &["import", "--dry-run", ".tool-versions"],
        &[
            "info",
            "--registry",
            "aqua:github:aquaproj/aqua-registry@v4.554.0",
            "fzf",
        ],
    ] {
        let err = fails(&fresh, &gh, &copy, args);
        refused(&err);
        assert_eq!(
            std::fs::read_to_string(copy.join("aibox.lock")).unwrap(),
            locked
        );
        assert_eq!(
            std::fs::read_to_string(copy.join("aibox.toml")).unwrap(),
            std::fs::read_to_string(root.join("aibox.toml")).unwrap()
        );
    }
    assert_eq!(objects_containing(&fresh, "fzf 0.56.3"), 0);
    // `doctor` reads the registry at the lock's pin too, and reports the moved release.
    let (_, out, _) = run(&fresh, &gh, &copy, &["doctor", "--json"]);
    let checks: serde_json::Value = serde_json::from_str(&out).unwrap();
    let check = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "registry aqua:github:aquaproj/aqua-registry@v4.554.0")
        .unwrap_or_else(|| panic!("doctor checks the registry: {checks}"));
    assert_eq!(check["status"], "fail", "{check}");
    let detail = check["detail"].as_str().unwrap();
    assert!(detail.contains(&good) && detail.contains(&bad), "{check}");
    let (ok, _, _) = run(&fresh, &gh, &copy, &["run", "--no-sync", "--", "fzf"]);
    assert!(!ok);
    // Outside the project, no lock pins the release: what GitHub serves now is read (it sends
    // fzf to a repository the mimic does not have).
    let outside = fresh.path().join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    let (ok, _, err) = run(
        &fresh,
        &gh,
        &outside,
        &[
            "info",
            "--registry",
            "aqua:github:aquaproj/aqua-registry@v4.554.0",
            "fzf",
        ],
    );
    assert!(
        !ok && err.contains("mallory/fzf") && !err.contains(&good),
        "{err}"
    );
    // The home that locked it has the good archive cached: it still syncs, shows and searches
    // from the cache, and `--refresh` (which asks GitHub again) refuses.
    let (ok, _, err) = run(&sb, &gh, &root, &["sync"]);
    assert!(ok, "{err}");
    let (ok, out, err) = run(&sb, &gh, &root, &["info", "fzf", "--json"]);
    assert!(
        ok && out.contains("junegunn") && !out.contains("mallory"),
        "{out}{err}"
    );
    let (ok, out, err) = run(&sb, &gh, &root, &["search", "fzf"]);
    assert!(ok && out.contains("fzf"), "{out}{err}");
    let err = fails(&sb, &gh, &root, &["lock", "--refresh"]);
    refused(&err);
    assert_eq!(
        std::fs::read_to_string(root.join("aibox.lock")).unwrap(),
        locked
    );

    // A home whose cache holds the moved archive (another project locked after the move)
    // does not use it for this lock: it asks GitHub again, and refuses; offline, it refuses
    // what the cache holds.
    let other = machine(&sb);
    let newer = other.project("newer", &manifest);
    let (ok, _, err) = run(&other, &gh, &newer, &["add", "jq"]);
    assert!(ok, "{err}");
    assert!(
        std::fs::read_to_string(newer.join("aibox.lock"))
            .unwrap()
            .contains(&bad)
    );
    let copy = copy_project(&root, &other);
    for args in [&["sync"][..], &["info", "fzf"]] {
        let err = fails(&other, &gh, &copy, args);
        refused(&err);
        assert!(err.contains("GitHub now serves"), "{err}");
    }
    let err = fails(&other, &gh, &copy, &["sync", "--offline"]);
    refused(&err);
    assert!(err.contains("the cache holds"), "{err}");
    assert_eq!(
        std::fs::read_to_string(copy.join("aibox.lock")).unwrap(),
        locked
    );
}

#[test]
fn init_aqua_adds_the_standard_registry() {
    let sb = Sandbox::new();
    let dir = sb.path().join("fresh");
    let out = sb
        .aibox(sb.path())
        .args(["init", "--aqua", "fresh"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out).1);
    let manifest: toml::Table = std::fs::read_to_string(dir.join("aibox.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        manifest["registries"]["default"].as_str(),
        Some("aqua:github:aquaproj/aqua-registry@v4.554.0")
    );
    let out = sb
        .aibox(sb.path())
        .args(["init", "--aqua", "--registry", "dir:./packs", "both"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out).1);
    let manifest: toml::Table = std::fs::read_to_string(sb.path().join("both/aibox.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        manifest["registries"]["default"].as_str(),
        Some("dir:./packs")
    );
    assert_eq!(
        manifest["registries"]["aqua"].as_str(),
        Some("aqua:github:aquaproj/aqua-registry@v4.554.0")
    );
}

/// `git args` in `root` (see [`Sandbox::git`]).
fn git(sb: &Sandbox, root: &Path, args: &[&str]) -> String {
    sb.git(root, args)
}

/// A git repository `app` of `sb` whose `aibox.toml` is `manifest`, with the merge driver
/// `aibox init` registers; `manifest` committed on `main`.
fn merge_repo(sb: &Sandbox, gh: &GitHub, manifest: &str) -> std::path::PathBuf {
    let root = sb.path().join("app");
    std::fs::create_dir_all(&root).unwrap();
    git(sb, &root, &["init", "-q", "-b", "main"]);
    let (ok, _, err) = run(sb, gh, &root, &["init"]);
    assert!(ok, "{err}");
    assert!(git(sb, &root, &["config", "merge.aibox.driver"]).contains("aibox lock merge"));
    std::fs::write(root.join("aibox.toml"), manifest).unwrap();
    root
}

fn commit(sb: &Sandbox, root: &Path, message: &str) {
    git(sb, root, &["add", "-A"]);
    git(sb, root, &["commit", "-q", "-m", message]);
}

/// The aqua registry served as the source archives of two tags; returns the manifest naming
/// the first, the registry text and the two archives' digests.
fn two_releases(gh: &GitHub, registry: &Path) -> (String, String, String, String) {
    let text = std::fs::read_to_string(registry.join("registry.yaml")).unwrap();
    let mut digests = Vec::new();
    for (tag, commit) in [("v4.554.0", "4d86e12"), ("v4.560.0", "77aa001")] {
        let archive = targz(&[(
            &format!("aquaproj-aqua-registry-{commit}/registry.yaml"),
            &text,
        )]);
        digests.push(format!("sha256:{}", hex256(&archive)));
        gh.serve_path(
            &format!("/repos/aquaproj/aqua-registry/tarball/{tag}"),
            archive,
        );
    }
    std::fs::remove_dir_all(registry).unwrap();
    let manifest = PROJECT.replace(
        "aqua:../aqua-registry",
        "aqua:github:aquaproj/aqua-registry@v4.554.0",
    );
    (manifest, text, digests[0].clone(), digests[1].clone())
}

#[test]
fn a_merge_keeps_the_registry_release_the_merged_manifest_names() {
    let sb = Sandbox::new();
    let (gh, registry) = world(&sb);
    let (manifest, _, old, new) = two_releases(&gh, &registry);
    let root = merge_repo(&sb, &gh, &manifest);
    let ok = |args: &[&str]| {
        let (ok, _, err) = run(&sb, &gh, &root, args);
        assert!(ok, "{args:?}: {err}");
    };
    ok(&["add", "fzf"]);
    commit(&sb, &root, "fzf");
    // One branch moves the registry to a newer release and locks again…
    git(&sb, &root, &["checkout", "-q", "-b", "bump"]);
    let toml = std::fs::read_to_string(root.join("aibox.toml")).unwrap();
    std::fs::write(
        root.join("aibox.toml"),
        toml.replace("@v4.554.0", "@v4.560.0"),
    )
    .unwrap();
    ok(&["lock"]);
    commit(&sb, &root, "registry v4.560.0");
    // …the other adds a tool from the release it still names.
    git(&sb, &root, &["checkout", "-q", "main"]);
    git(&sb, &root, &["checkout", "-q", "-b", "jq"]);
    ok(&["add", "jq"]);
    assert!(
        std::fs::read_to_string(root.join("aibox.lock"))
            .unwrap()
            .contains(&old)
    );
    commit(&sb, &root, "jq");

    let out = git(&sb, &root, &["merge", "-q", "--no-edit", "bump"]);
    assert!(
        !out.contains("CONFLICT"),
        "{out}{}",
        std::fs::read_to_string(root.join("aibox.toml")).unwrap()
    );
    assert!(
        out.contains("`jq` was locked from `aqua:github:aquaproj/aqua-registry@v4.554.0`")
            && out.contains("run `aibox lock`"),
        "{out}"
    );
    // The merged manifest names the newer release; the lock keeps what was locked from it
    // and nothing from the release the manifest left.
    let toml = std::fs::read_to_string(root.join("aibox.toml")).unwrap();
    assert!(
        toml.contains("@v4.560.0") && toml.contains("jq = "),
        "{toml}"
    );
    let lock = std::fs::read_to_string(root.join("aibox.lock")).unwrap();
    assert!(
        lock.contains(&new) && !lock.contains(&old) && !lock.contains("v4.554.0"),
        "{lock}"
    );
    assert!(
        locked(&root, "fzf")["source"]
            .as_str()
            .unwrap()
            .ends_with("@v4.560.0")
    );
    assert!(!lock.contains("name = \"jq\""), "{lock}");
    // `sync --locked` says jq is not locked; `aibox lock` locks it from the newer release.
    let (ok_, _, err) = run(&sb, &gh, &root, &["sync", "--locked"]);
    assert!(!ok_ && err.contains("jq"), "{err}");
    ok(&["lock"]);
    let lock = std::fs::read_to_string(root.join("aibox.lock")).unwrap();
    assert_eq!(
        lock.matches(&format!("registry-digest = \"{new}\""))
            .count(),
        2,
        "{lock}"
    );
    assert!(!lock.contains(&old), "{lock}");
    ok(&["sync", "--locked"]);
}

#[test]
fn a_merge_of_one_registry_tag_locked_at_two_archives_stops() {
    let sb = Sandbox::new();
    let (gh, registry) = world(&sb);
    let (manifest, text, good, _) = two_releases(&gh, &registry);
    let root = merge_repo(&sb, &gh, &manifest);
    commit(&sb, &root, "registry");
    git(&sb, &root, &["checkout", "-q", "-b", "fzf"]);
    let (ok, _, err) = run(&sb, &gh, &root, &["add", "fzf"]);
    assert!(ok, "{err}");
    commit(&sb, &root, "fzf");
    // The tag is moved; a teammate (another home, nothing cached, no pin yet on the branch)
    // adds jq from what the tag serves now.
    let moved = targz(&[(
        "aquaproj-aqua-registry-9f00bad/registry.yaml",
        &text.replace("junegunn", "mallory"),
    )]);
    let bad = format!("sha256:{}", hex256(&moved));
    gh.serve_path("/repos/aquaproj/aqua-registry/tarball/v4.554.0", moved);
    git(&sb, &root, &["checkout", "-q", "main"]);
    git(&sb, &root, &["checkout", "-q", "-b", "jq"]);
    let teammate = machine(&sb);
    let (ok, _, err) = run(&teammate, &gh, &root, &["add", "jq"]);
    assert!(ok, "{err}");
    let ours = std::fs::read_to_string(root.join("aibox.lock")).unwrap();
    assert!(ours.contains(&bad), "{ours}");
    commit(&sb, &root, "jq");

    let out = git(&sb, &root, &["merge", "--no-edit", "fzf"]);
    assert!(out.contains("Merge conflict in aibox.lock"), "{out}");
    assert!(
        out.contains("the aqua registry `github:aquaproj/aqua-registry`")
            && out.contains(&good)
            && out.contains(&bad)
            && out.contains("the tag was moved")
            && out.contains("hint:")
            && out.contains("run `aibox lock`"),
        "{out}"
    );
    // This branch's lock is left as it was (no markers, no mix of the two archives).
    assert_eq!(
        std::fs::read_to_string(root.join("aibox.lock")).unwrap(),
        ours
    );
    // `aibox.toml` conflicts too (both added a pack at one place): both lines are kept.
    let toml = std::fs::read_to_string(root.join("aibox.toml")).unwrap();
    let kept: String = toml
        .lines()
        .filter(|l| !aibox::manifest::is_conflict_marker(l))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(root.join("aibox.toml"), kept).unwrap();
    // Locking again against this branch's pin reads the moved release: it sends fzf elsewhere.
    let (ok, _, err) = run(&teammate, &gh, &root, &["lock"]);
    assert!(!ok && err.contains("mallory/fzf"), "{err}");
    // The release reviewed is the one the other branch locked: its lock is taken, and locking
    // again locks jq against it too (from the cache of the home that locked it).
    git(&sb, &root, &["checkout", "--theirs", "aibox.lock"]);
    let (ok, _, err) = run(&sb, &gh, &root, &["lock"]);
    assert!(ok, "{err}");
    let lock = std::fs::read_to_string(root.join("aibox.lock")).unwrap();
    assert_eq!(
        lock.matches(&format!("registry-digest = \"{good}\""))
            .count(),
        2,
        "{lock}"
    );
    assert!(!lock.contains(&bad), "{lock}");
}

/// The real Sigstore client, pinned (scripts/test installs it from PyPI).
fn sigstore_python() -> std::path::PathBuf {
    const VERSION: &str = "3.6.6";
    let path = std::env::var_os("AIBOX_TEST_SIGSTORE")
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| common::repo_root().join("target/test-sigstore/bin/sigstore"));
    let found = std::process::Command::new(&path)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    assert_eq!(
        found.as_deref(),
        Some(format!("sigstore {VERSION}").as_str()),
        "`{}` is missing or not version {VERSION}: scripts/test installs sigstore=={VERSION} from PyPI",
        path.display()
    );
    path
}

#[test]
fn the_test_sigstore_s_bundles_verify_with_sigstore_python_offline() {
    // The suite's test Sigstore is checked against a real client: what it makes verifies
    // there, offline, under its trust configuration; what it tampers with does not.
    let sb = Sandbox::new();
    sigstore(sb.path(), &["init", "sigstore"]);
    let dir = sb.path().join("sigstore");
    let client = sigstore_python();
    let verify = |extra: &[&str]| -> (bool, String) {
        keyless_bundle(&sb, b"an artifact\n", extra);
        let out = std::process::Command::new(&client)
            .args(["--trust-config", "trust_config.json", "verify", "identity"])
            .args(["--offline", "--bundle", "bundle.json"])
            .args([
                "--cert-identity",
                KEYLESS_ID,
                "--cert-oidc-issuer",
                GITHUB_ISSUER,
            ])
            .arg("artifact")
            .current_dir(&dir)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (
            text.contains("OK: artifact") && !text.contains("FAIL"),
            text,
        )
    };
    for good in [&["--format", "v0.3"][..], &["--format", "dsse"]] {
        let (ok, text) = verify(good);
        assert!(ok, "{good:?}: {text}");
    }
    for bad in [
        &["--format", "v0.3", "--tamper", "set"][..],
        &["--format", "v0.3", "--tamper", "proof"],
        &["--format", "v0.3", "--tamper", "body"],
        &["--format", "v0.3", "--expired"],
        &["--format", "v0.3", "--foreign-ca"],
        &[
            "--format",
            "v0.3",
            "--issuer",
            "https://accounts.example.com",
        ],
    ] {
        let (ok, text) = verify(bad);
        assert!(!ok && text.contains("FAIL"), "{bad:?}: {text}");
    }
}

/// The keyless entry, its cosign bundle replaced by GitHub artifact attestations of the asset.
fn attested_registry(gh: &GitHub, registry: &Path) {
    let yaml = std::fs::read_to_string(registry.join("registry.yaml")).unwrap();
    let cosign = format!(
        "      cosign:\n        opts:\n          - --certificate-identity\n          - https://github.com/acme/keyless/.github/workflows/release.yml@refs/tags/{{{{.Version}}}}\n          - --certificate-oidc-issuer\n          - https://token.actions.githubusercontent.com\n          - --bundle\n          - \"{}/dl/checksums.txt.sigstore.json\"\n",
        gh.api()
    );
    assert!(yaml.contains(&cosign), "{yaml}");
    let yaml = yaml.replace(&cosign, "").replace(
        "    asset: keyless_{{.OS}}_{{.Arch}}\n",
        "    asset: keyless_{{.OS}}_{{.Arch}}\n    github_artifact_attestations:\n      signer_workflow: acme/keyless/.github/workflows/release.yml\n",
    );
    std::fs::write(registry.join("registry.yaml"), yaml).unwrap();
}

/// Serve, as GitHub's API does, `bundles` as the attestations of `artifact` in acme/keyless.
fn serve_attestations(gh: &GitHub, artifact: &[u8], bundles: &[Vec<u8>]) {
    let list: Vec<serde_json::Value> = bundles
        .iter()
        .map(|b| serde_json::json!({ "bundle": serde_json::from_slice::<serde_json::Value>(b).unwrap() }))
        .collect();
    gh.serve_path(
        &format!(
            "/repos/acme/keyless/attestations/sha256:{}",
            hex256(artifact)
        ),
        serde_json::to_vec(&serde_json::json!({ "attestations": list })).unwrap(),
    );
}

#[test]
fn github_artifact_attestations_are_fetched_and_verified_offline() {
    let sb = Sandbox::new();
    let (gh, registry) = world(&sb);
    attested_registry(&gh, &registry);
    let asset = gh.file("keyless_linux_amd64");
    let project = PROJECT.replace("\"linux-x86_64\", \"macos-aarch64\"", "\"linux-x86_64\"");
    // An attestation by another workflow of the repository, then none at all: refused.
    let other = "https://github.com/acme/keyless/.github/workflows/other.yml@refs/tags/v2.0.0";
    // None at all: GitHub answers 404.
    let root = sb.project("none", &project);
    let err = fails(&sb, &gh, &root, &["add", "keyless"]);
    assert!(
        err.contains(
            "the GitHub artifact attestations of `keyless_linux_amd64` (acme/keyless v2.0.0"
        ) && err.contains("are missing: GitHub holds none for sha256:"),
        "{err}"
    );
    assert!(!root.join("aibox.lock").exists());
    let cases: &[(Vec<Vec<u8>>, &str)] = &[
        (
            vec![keyless_bundle(
                &sb,
                &asset,
                &["--format", "dsse", "--identity", other],
            )],
            "identity: the certificate is for `https://github.com/acme/keyless/.github/workflows/other.yml",
        ),
        (
            vec![keyless_bundle(&sb, b"another file", &["--format", "dsse"])],
            "signature: the statement does not name the artifact's SHA-256",
        ),
        (vec![], "are missing: GitHub holds none for sha256:"),
    ];
    for (i, (bundles, expected)) in cases.iter().enumerate() {
        serve_attestations(&gh, &asset, bundles);
        let root = sb.project(&format!("bad{i}"), &project);
        let out = sb
            .aibox(&root)
            .args(["add", "keyless"])
            .env("AIBOX_GITHUB_API", gh.api())
            .env("AIBOX_PLATFORM", "linux-x86_64")
            .output()
            .unwrap();
        let err = common::text(&out).1;
        assert_eq!(out.status.code(), Some(1), "{i}: {err}");
        assert!(
            err.contains(
                "the GitHub artifact attestations of `keyless_linux_amd64` (acme/keyless v2.0.0"
            ),
            "{i}: {err}"
        );
        assert!(err.contains(expected), "{i}: {err}");
        assert!(!root.join("aibox.lock").exists(), "{i}");
    }
    // The release workflow's attestation verifies (beside one that does not).
    serve_attestations(
        &gh,
        &asset,
        &[
            keyless_bundle(&sb, &asset, &["--format", "dsse", "--identity", other]),
            keyless_bundle(&sb, &asset, &["--format", "dsse"]),
        ],
    );
    let root = sb.project("app", &project);
    let (ok, _, err) = run(&sb, &gh, &root, &["add", "keyless"]);
    assert!(ok, "{err}");
    let (verified, unverified) = lock_checks(&root);
    assert_eq!(verified, ["checksum", "github-attestation"]);
    assert!(unverified.is_empty(), "{unverified:?}");
    let (_, out, _) = run(&sb, &gh, &root, &["list"]);
    assert!(
        out.contains("verified: checksum, github-attestation"),
        "{out}"
    );
    let (_, out, _) = run(&sb, &gh, &root, &["run", "--no-sync", "--", "keyless"]);
    assert_eq!(out, "keyless 2.0.0\n");
}
