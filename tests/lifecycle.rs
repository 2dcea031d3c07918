//! A pack's lifecycle against a real registry (CNCF Distribution on loopback) and an OCI
//! layout: `pack yank` (new resolutions skip the version, a lock that pins it keeps it, an
//! exact request is refused, `--undo` restores it), `pack deprecate` (resolves with a
//! warning), `pack publish --stage beta` and `pack promote` (the version's manifest digest in
//! the registry never changes), a status document signed by an untrusted key under a
//! signature-requiring policy, and malformed or oversized status documents.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::{Path, PathBuf};

use common::oci::{Env, stderr, stdout};
use common::registry::Registry;

const PASSWORD: &str = "correct horse";

fn aibox(env: &Env, cwd: &Path, args: &[&str]) -> std::process::Output {
    env.aibox()
        .env("AIBOX_PASSWORD", PASSWORD)
        .current_dir(cwd)
        .args(args)
        .output()
        .unwrap()
}

fn ok(env: &Env, cwd: &Path, args: &[&str]) -> (String, String) {
    let out = aibox(env, cwd, args);
    assert!(out.status.success(), "aibox {args:?}: {}", stderr(&out));
    (stdout(&out), stderr(&out))
}

fn fails(env: &Env, cwd: &Path, args: &[&str]) -> String {
    let out = aibox(env, cwd, args);
    assert!(
        !out.status.success(),
        "aibox {args:?} should fail: {}",
        stdout(&out)
    );
    stderr(&out)
}

fn pack(env: &Env, version: &str) -> PathBuf {
    env.tool_pack(version)
}

fn publish(env: &Env, url: &str, version: &str, extra: &[&str]) {
    let dir = pack(env, version);
    let mut args = vec!["pack", "publish", dir.to_str().unwrap(), "--registry", url];
    args.extend(extra);
    ok(env, &env.work(), &args);
}

/// A project requesting `request` (`""`: nothing yet) from `registry`.
fn project(env: &Env, name: &str, registry: &str, request: &str) -> PathBuf {
    let root = env.work().join(name);
    std::fs::create_dir_all(&root).unwrap();
    let packs = if request.is_empty() {
        String::new()
    } else {
        format!("tool = {request}\n")
    };
    std::fs::write(
        root.join("aibox.toml"),
        format!("[registries]\ndefault = \"{registry}\"\n[packs]\n{packs}"),
    )
    .unwrap();
    root
}

/// The version `aibox.lock` holds for `tool`.
fn locked(root: &Path) -> String {
    let lock = std::fs::read_to_string(root.join("aibox.lock")).unwrap();
    let at = lock.find("name = \"tool\"").expect("tool is locked");
    lock[at..]
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_owned()
}

/// What the project's `tool` prints.
fn run_tool(root: &Path) -> String {
    let out = std::process::Command::new(root.join(".aibox/current/bin/tool"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A second checkout of a project: its manifest and lock, nothing synced.
fn checkout(env: &Env, root: &Path, name: &str) -> PathBuf {
    let copy = env.work().join(name);
    std::fs::create_dir_all(&copy).unwrap();
    for file in ["aibox.toml", "aibox.lock"] {
        std::fs::copy(root.join(file), copy.join(file)).unwrap();
    }
    copy
}

/// The digest the registry's own storage says tag `tag` of repository `repo` points at.
fn registry_tag_digest(reg: &Registry, repo: &str, tag: &str) -> String {
    std::fs::read_to_string(reg.dir.path().join(format!(
        "storage/docker/registry/v2/repositories/{repo}/_manifests/tags/{tag}/current/link"
    )))
    .unwrap()
    .trim()
    .to_owned()
}

fn info_json(env: &Env, url: &str, spec: &str) -> serde_json::Value {
    let (out, _) = ok(
        env,
        &env.work(),
        &["info", spec, "--registry", url, "--json"],
    );
    serde_json::from_str(&out).unwrap()
}

#[test]
fn yanked_versions_are_skipped_unless_locked_and_undo_restores_them() {
    let reg = Registry::start();
    let env = Env::new();
    let url = reg.url("p");
    publish(&env, &url, "1.0.0", &[]);
    publish(&env, &url, "1.1.0", &[]);
    // Locked before the yank: this project pins 1.1.0.
    let pinned = project(&env, "pinned", &url, "\"^1\"");
    ok(&env, &pinned, &["sync"]);
    assert_eq!(locked(&pinned), "1.1.0");

    let (_, err) = ok(
        &env,
        &env.work(),
        &[
            "pack",
            "yank",
            "tool@1.1.0",
            "--registry",
            &url,
            "--reason",
            "corrupts the cache",
        ],
    );
    assert!(err.contains("Yanked"), "{err}");

    // A fresh `add` never chooses it.
    let fresh = project(&env, "fresh", &url, "");
    ok(&env, &fresh, &["add", "tool"]);
    assert_eq!(locked(&fresh), "1.0.0");
    assert_eq!(run_tool(&fresh), "tool 1.0.0");
    assert!(
        std::fs::read_to_string(fresh.join("aibox.toml"))
            .unwrap()
            .contains("tool = \"^1.0.0\"")
    );

    // A lock that pins it keeps it: a new checkout syncs `--locked`, and relocking keeps it,
    // each with a warning naming the reason.
    let second = checkout(&env, &pinned, "second");
    let (_, err) = ok(&env, &second, &["sync", "--locked"]);
    assert_eq!(run_tool(&second), "tool 1.1.0");
    assert!(
        err.contains("`tool@1.1.0` is yanked: corrupts the cache"),
        "{err}"
    );
    ok(&env, &pinned, &["lock"]);
    assert_eq!(locked(&pinned), "1.1.0");
    // Upgrading moves away from it (down to the newest version not yanked).
    ok(&env, &pinned, &["lock", "--upgrade"]);
    assert_eq!(locked(&pinned), "1.0.0");

    // An exact request of it is refused by name.
    let exact = project(&env, "exact", &url, "\"=1.1.0\"");
    let err = fails(&env, &exact, &["sync"]);
    assert!(
        err.contains("`tool@1.1.0` is yanked in") && err.contains("corrupts the cache"),
        "{err}"
    );
    assert!(err.contains("hint: request another version"), "{err}");
    assert!(!exact.join("aibox.lock").exists());

    // `info` shows the mark and offers the newest version that is not yanked.
    let info = info_json(&env, &url, "tool");
    assert_eq!(info["version"], "1.0.0", "{info}");
    assert_eq!(
        info["status"]["1.1.0"]["yanked"], "corrupts the cache",
        "{info}"
    );
    let (text, _) = ok(&env, &env.work(), &["info", "tool", "--registry", &url]);
    assert!(
        text.contains("1.1.0 (yanked: corrupts the cache)"),
        "{text}"
    );

    // `outdated` marks a current version that was yanked and never offers one.
    let (out, _) = ok(&env, &second, &["outdated", "--json"]);
    let o: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(o[0]["yanked"], "corrupts the cache", "{o}");
    // At 1.0.0, the yanked 1.1.0 is no update.
    let (out, _) = ok(&env, &fresh, &["outdated", "--json"]);
    let o: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(o, serde_json::json!([]));
    let (out, _) = ok(&env, &second, &["outdated"]);
    assert!(out.contains("(1.1.0 yanked: corrupts the cache)"), "{out}");

    // `--undo` restores it.
    ok(
        &env,
        &env.work(),
        &["pack", "yank", "--undo", "tool@1.1.0", "--registry", &url],
    );
    let again = project(&env, "again", &url, "");
    ok(&env, &again, &["add", "tool"]);
    assert_eq!(locked(&again), "1.1.0");
    ok(&env, &exact, &["sync"]);
    assert_eq!(locked(&exact), "1.1.0");
}

#[test]
fn deprecated_versions_resolve_with_a_warning() {
    let reg = Registry::start();
    let env = Env::new();
    let url = reg.url("p");
    publish(&env, &url, "1.0.0", &[]);
    ok(
        &env,
        &env.work(),
        &[
            "pack",
            "deprecate",
            "tool@1.0.0",
            "--registry",
            &url,
            "--message",
            "use 2.x",
        ],
    );
    let root = project(&env, "dep", &url, "\"*\"");
    let (_, err) = ok(&env, &root, &["sync"]);
    assert_eq!(run_tool(&root), "tool 1.0.0");
    assert!(
        err.contains("warning: `tool@1.0.0` is deprecated: use 2.x"),
        "{err}"
    );
    let info = info_json(&env, &url, "tool");
    assert_eq!(info["status"]["1.0.0"]["deprecated"], "use 2.x", "{info}");
    ok(
        &env,
        &env.work(),
        &[
            "pack",
            "deprecate",
            "--undo",
            "tool@1.0.0",
            "--registry",
            &url,
        ],
    );
    let info = info_json(&env, &url, "tool");
    assert!(info["status"].get("1.0.0").is_none(), "{info}");
    let (_, err) = ok(&env, &checkout(&env, &root, "later"), &["sync"]);
    assert!(!err.contains("deprecated"), "{err}");

    // Only published versions are marked.
    let err = fails(
        &env,
        &env.work(),
        &["pack", "yank", "tool@9.9.9", "--registry", &url],
    );
    assert!(err.contains("`tool@9.9.9` is not published in"), "{err}");
    // With its only version yanked, `info` says so and shows it when named exactly.
    ok(
        &env,
        &env.work(),
        &["pack", "yank", "tool@1.0.0", "--registry", &url],
    );
    let err = fails(&env, &env.work(), &["info", "tool", "--registry", &url]);
    assert!(
        err.contains("(it has 1.0.0 (yanked))")
            && err.contains("hint: a yanked or staged version is shown when named exactly"),
        "{err}"
    );
    let info = info_json(&env, &url, "tool@1.0.0");
    assert_eq!(info["version"], "1.0.0", "{info}");
}

#[test]
fn a_staged_version_waits_for_promotion_and_keeps_its_digest() {
    let reg = Registry::start();
    let env = Env::new();
    let url = reg.url("p");
    ok(
        &env,
        &env.work(),
        &["keygen", "--output-key-prefix", "team"],
    );
    publish(&env, &url, "1.0.0", &["--key", "team.key"]);
    publish(
        &env,
        &url,
        "2.0.0",
        &["--stage", "beta", "--key", "team.key"],
    );
    let digest = registry_tag_digest(&reg, "p/tool", "2.0.0");
    // A version already published is never staged after the fact.
    let dir = env.work().join("src/tool-1.0.0");
    let err = fails(
        &env,
        &env.work(),
        &[
            "pack",
            "publish",
            dir.to_str().unwrap(),
            "--registry",
            &url,
            "--stage",
            "beta",
        ],
    );
    assert!(
        err.contains("`--stage` applies to a new version only"),
        "{err}"
    );

    // Not taken by a plain request; taken when named exactly or on the beta channel.
    let plain = project(&env, "plain", &url, "");
    ok(&env, &plain, &["add", "tool"]);
    assert_eq!(locked(&plain), "1.0.0");
    let exact = project(&env, "exact", &url, "");
    ok(&env, &exact, &["add", "tool@2.0.0"]);
    assert_eq!(locked(&exact), "2.0.0");
    assert_eq!(run_tool(&exact), "tool 2.0.0");
    let channel = project(
        &env,
        "channel",
        &url,
        "{ version = \"*\", channel = \"beta\" }",
    );
    ok(&env, &channel, &["sync"]);
    assert_eq!(locked(&channel), "2.0.0");
    let info = info_json(&env, &url, "tool");
    assert_eq!(info["version"], "1.0.0", "{info}");
    assert_eq!(info["status"]["2.0.0"]["stage"], "beta", "{info}");

    // Promoting changes the status document only: the tag still names the same manifest.
    let (_, err) = ok(
        &env,
        &env.work(),
        &[
            "pack",
            "promote",
            "tool@2.0.0",
            "--registry",
            &url,
            "--key",
            "team.key",
        ],
    );
    assert!(err.contains("Promoted"), "{err}");
    assert_eq!(registry_tag_digest(&reg, "p/tool", "2.0.0"), digest);
    let after = project(&env, "after", &url, "");
    ok(&env, &after, &["add", "tool"]);
    assert_eq!(locked(&after), "2.0.0");
    // The lock made before promotion is still valid as it is.
    ok(
        &env,
        &checkout(&env, &exact, "exact2"),
        &["sync", "--locked"],
    );
    let err = fails(
        &env,
        &env.work(),
        &["pack", "promote", "tool@2.0.0", "--registry", &url],
    );
    assert!(err.contains("already stable"), "{err}");
}

#[test]
fn an_untrusted_status_document_only_holds_versions_back_with_a_warning() {
    let reg = Registry::start();
    let env = Env::new();
    let url = reg.url("p");
    let w = env.work();
    ok(&env, &w, &["keygen", "--output-key-prefix", "team"]);
    ok(&env, &w, &["keygen", "--output-key-prefix", "stranger"]);
    publish(&env, &url, "1.0.0", &["--key", "team.key"]);
    publish(&env, &url, "1.1.0", &["--key", "team.key"]);
    ok(&env, &w, &["config", "init", "--template", "enterprise"]);
    ok(&env, &w, &["trust", "add", "team.pub", "--registry", &url]);
    ok(
        &env,
        &w,
        &[
            "pack",
            "yank",
            "tool@1.1.0",
            "--registry",
            &url,
            "--reason",
            "bad",
            "--key",
            "stranger.key",
        ],
    );
    // Under a policy that requires signatures, the stranger's yank still holds 1.1.0 back
    // (a mark only ever narrows what is offered), and the document is named as untrusted.
    let root = project(&env, "strict", &url, "");
    std::fs::write(
        root.join("aibox.toml"),
        format!("[registries]\ndefault = \"{url}\"\n[packs]\n[policy]\nrequire-signed = true\n"),
    )
    .unwrap();
    let (_, err) = ok(&env, &root, &["add", "tool"]);
    assert_eq!(locked(&root), "1.0.0");
    assert_eq!(run_tool(&root), "tool 1.0.0");
    assert!(
        err.contains("the status document of `tool` in")
            && err.contains("is not signed by a trusted key"),
        "{err}"
    );
    // Signed by the trusted key, the same marks bring no warning.
    ok(
        &env,
        &w,
        &[
            "pack",
            "yank",
            "tool@1.1.0",
            "--registry",
            &url,
            "--reason",
            "bad",
            "--key",
            "team.key",
        ],
    );
    let trusted = project(&env, "trusted", &url, "\"*\"");
    let (_, err) = ok(&env, &trusted, &["lock"]);
    assert_eq!(locked(&trusted), "1.0.0");
    assert!(!err.contains("not signed by a trusted key"), "{err}");
    let info = info_json(&env, &url, "tool");
    assert_eq!(info["status_signed"], true, "{info}");
}

/// Point ref `<name>:aibox-status` of the layout at a manifest whose one layer is `doc`.
fn plant_status(layout: &Path, name: &str, doc: &[u8]) {
    use aibox::registry::format::artifact::sha256_digest;
    let put = |bytes: &[u8]| -> String {
        let digest = sha256_digest(bytes);
        let path = layout.join("blobs/sha256").join(&digest[7..]);
        std::fs::write(path, bytes).unwrap();
        digest
    };
    let layer = put(doc);
    let config = put(b"{}");
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.aibox.status.v1",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": config, "size": 2},
        "layers": [{"mediaType": "application/vnd.aibox.status.v1+json", "digest": layer, "size": doc.len()}],
    });
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let digest = put(&bytes);
    let index_path = layout.join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&index_path).unwrap()).unwrap();
    let refname = format!("{name}:aibox-status");
    let list = index["manifests"].as_array_mut().unwrap();
    list.retain(|d| d["annotations"]["org.opencontainers.image.ref.name"] != refname.as_str());
    list.push(serde_json::json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": digest,
        "size": bytes.len(),
        "annotations": {"org.opencontainers.image.ref.name": refname},
    }));
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
}

#[test]
fn malformed_or_oversized_status_documents_are_ignored_with_a_warning() {
    let env = Env::new();
    let w = env.work();
    let layout = w.join("layout");
    let tool = pack(&env, "1.0.0");
    let tool2 = pack(&env, "1.1.0");
    let other = common::write_pack(
        &w.join("src"),
        "[pack]\nname = \"other\"\nversion = \"1.0.0\"\n[bin]\nother = \"bin/other\"\n",
        &[("bin/other", "#!/bin/sh\necho other\n", true)],
    );
    for dir in [&tool, &tool2, &other] {
        ok(
            &env,
            &w,
            &["pack", "build", dir.to_str().unwrap(), "-o", "layout"],
        );
    }
    let url = format!("oci-layout:{}", layout.display());
    // A layout takes marks too.
    ok(
        &env,
        &w,
        &["pack", "yank", "other@1.0.0", "--registry", &url],
    );
    ok(
        &env,
        &w,
        &["pack", "yank", "--undo", "other@1.0.0", "--registry", &url],
    );
    let root = w.join("proj");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("aibox.toml"),
        format!("[registries]\ndefault = \"{url}\"\n[packs]\ntool = \"*\"\nother = \"*\"\n"),
    )
    .unwrap();
    for (bad, why) in [
        (b"{\"versions\": [1, 2]}".to_vec(), "is refused"),
        (
            format!(
                "{{\"versions\":{{\"1.1.0\":{{\"yanked\":\"{}\"}}}}}}",
                "x".repeat(300 << 10)
            )
            .into_bytes(),
            "is larger than 256 KiB",
        ),
    ] {
        plant_status(&layout, "tool", &bad);
        let _ = std::fs::remove_file(root.join("aibox.lock"));
        let (_, err) = ok(&env, &root, &["sync"]);
        assert!(
            err.contains("the status document of `tool` in") && err.contains(why),
            "{err}"
        );
        assert!(err.contains("it is ignored"), "{err}");
        // The pack resolves as if it had no marks; the other pack is unaffected.
        assert_eq!(locked(&root), "1.1.0");
        assert!(root.join(".aibox/current/bin/other").exists());
    }
    // Publishing a mark over a broken document replaces it.
    let (_, err) = ok(
        &env,
        &w,
        &["pack", "yank", "tool@1.1.0", "--registry", &url],
    );
    assert!(err.contains("it is replaced by a new one"), "{err}");
    std::fs::remove_file(root.join("aibox.lock")).unwrap();
    ok(&env, &root, &["sync"]);
    assert_eq!(locked(&root), "1.0.0");
}

#[test]
fn a_dir_source_keeps_its_marks_in_a_file_beside_the_packs() {
    let env = Env::new();
    let w = env.work();
    let packs = w.join("src");
    pack(&env, "1.0.0");
    pack(&env, "1.1.0");
    let root = project(&env, "proj", &format!("dir:{}", packs.display()), "\"*\"");
    ok(
        &env,
        &w,
        &[
            "pack",
            "yank",
            "tool@1.1.0",
            "--registry",
            "dir:src",
            "--reason",
            "wip",
        ],
    );
    let file = packs.join(".aibox-status/tool.json");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "{\"versions\":{\"1.1.0\":{\"yanked\":\"wip\"}}}\n"
    );
    ok(&env, &root, &["sync"]);
    assert_eq!(locked(&root), "1.0.0");
    assert_eq!(run_tool(&root), "tool 1.0.0");
    // A file that is not a status document is ignored with a warning.
    std::fs::write(&file, "not json").unwrap();
    std::fs::remove_file(root.join("aibox.lock")).unwrap();
    let (_, err) = ok(&env, &root, &["lock"]);
    assert!(
        err.contains("is refused") && err.contains("it is ignored"),
        "{err}"
    );
    assert_eq!(locked(&root), "1.1.0");
}
