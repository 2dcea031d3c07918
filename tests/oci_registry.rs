//! `aibox pack publish | pull | list`, `search`, `info` against a real registry (CNCF
//! Distribution on loopback), including auth, missing tags, corrupted blobs and a registry
//! that dies or cuts the connection mid-download.

mod common;

use common::oci::{Env, FlakyProxy, add_random_file, make_pack, stderr, stdout};
use common::registry::{self, Registry};

#[test]
fn publish_then_list_info_search_pull() {
    let reg = Registry::start();
    let env = Env::new();
    let url = reg.url("packs");
    let dir = make_pack(&env.work(), "hello", "1.2.0", "");
    let out = env
        .aibox()
        .args(["pack", "publish"])
        .arg(&dir)
        .args(["--registry", &url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let digest = stdout(&out).trim().to_owned();
    assert!(digest.starts_with("sha256:"), "{digest}");
    let dir2 = make_pack(&env.work(), "hello", "1.3.0-rc.1", "");
    env.aibox()
        .args(["pack", "publish"])
        .arg(&dir2)
        .args(["--registry", &url])
        .assert()
        .success();
    let other = make_pack(&env.work(), "world", "0.1.0", "");
    env.aibox()
        .args(["pack", "publish"])
        .arg(&other)
        .args(["--registry", &url])
        .assert()
        .success();

    let out = env.aibox().args(["pack", "list", &url]).output().unwrap();
    assert_eq!(
        stdout(&out),
        "hello 1.2.0 1.3.0-rc.1\nworld 0.1.0\n",
        "{}",
        stderr(&out)
    );

    let out = env
        .aibox()
        .args(["info", "hello", "--registry", &url, "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        info["version"], "1.2.0",
        "stable versions are preferred: {info}"
    );
    assert_eq!(info["digest"], digest.as_str());
    assert_eq!(info["description"], "The hello tool");
    assert_eq!(info["dependencies"]["base"], "^1");
    assert_eq!(info["trust"], "not signed");
    assert!(info["size"].as_u64().unwrap() > 0);

    let out = env
        .aibox()
        .args(["search", "world-kw", "--registry", &url, "--json"])
        .output()
        .unwrap();
    let hits: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(hits.as_array().unwrap().len(), 1, "{hits}");
    assert_eq!(hits[0]["name"], "world");
    let out = env
        .aibox()
        .args(["search", "hel", "--registry", &url])
        .output()
        .unwrap();
    assert!(stdout(&out).starts_with("hello@1.2.0"), "{}", stdout(&out));

    // Pull into a fresh store and compare the files.
    let env2 = Env::new();
    let out = env2
        .aibox()
        .args(["pack", "pull", &format!("{url}/hello:1.2.0"), "-o", "x"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let x = env2.work().join("x");
    assert_eq!(
        aibox::fs::read_to_string(x.join("bin/hello")).unwrap(),
        "#!/bin/sh\necho hello 1.2.0\n"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        aibox::fs::metadata(x.join("bin/hello"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o755
    );
    assert_eq!(
        aibox::fs::read_link(x.join("run")).unwrap().to_str(),
        Some("bin/hello")
    );
    assert_eq!(env2.store_packs().len(), 2, "pack tree and its listing");

    // Publishing the same version with different content is refused.
    aibox::fs::write(dir.join("data.txt"), "changed").unwrap();
    let out = env
        .aibox()
        .args(["pack", "publish"])
        .arg(&dir)
        .args(["--registry", &url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("already published"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn signature_tag_is_reported() {
    let reg = Registry::start();
    let env = Env::new();
    let url = reg.url("p");
    let dir = make_pack(&env.work(), "tool", "1.0.0", "");
    let out = env
        .aibox()
        .args(["pack", "publish"])
        .arg(&dir)
        .args(["--registry", &url])
        .output()
        .unwrap();
    let digest = stdout(&out).trim().replace(':', "-");
    aibox::fs::write(env.work().join("sig.txt"), "not a real signature").unwrap();
    common::oci::python(
        &format!(
            "import oras.client\nc = oras.client.OrasClient(insecure=True)\nc.push(target='{}/p/tool:{digest}.sig', files=['sig.txt'])",
            reg.host()
        ),
        &env.work(),
    );
    let out = env
        .aibox()
        .args(["info", "tool", "--registry", &url, "--json", "--refresh"])
        .output()
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // A `.sig` tag that holds no cosign signature is not a signature: the presence of the tag
    // proves nothing.
    assert_eq!(info["trust"], "not signed", "{info}");
    assert_eq!(info["signers"], serde_json::json!([]), "{info}");
}

#[test]
fn missing_pack_and_version_are_clear_errors() {
    let reg = Registry::start();
    let env = Env::new();
    let url = reg.url("p");
    let dir = make_pack(&env.work(), "tool", "1.0.0", "");
    env.aibox()
        .args(["pack", "publish"])
        .arg(&dir)
        .args(["--registry", &url])
        .assert()
        .success();
    let out = env
        .aibox()
        .args(["pack", "pull", &format!("{url}/tool:9.9.9")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("pack `tool` has no version 9.9.9"),
        "{}",
        stderr(&out)
    );
    let out = env
        .aibox()
        .args(["pack", "pull", &format!("{url}/nope:1.0.0")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no pack `nope`"), "{}", stderr(&out));
    assert!(stderr(&out).contains("hint:"), "{}", stderr(&out));
}

#[test]
fn basic_auth_from_env_and_docker_config() {
    let reg = Registry::start_with_auth();
    let env = Env::new();
    let url = reg.url("secure");
    let dir = make_pack(&env.work(), "tool", "1.0.0", "");
    let out = env
        .aibox()
        .args(["pack", "publish"])
        .arg(&dir)
        .args(["--registry", &url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("authentication failed"), "{err}");
    assert!(err.contains("AIBOX_REGISTRY_USERNAME"), "{err}");

    let out = env
        .aibox()
        .env("AIBOX_REGISTRY_USERNAME", registry::USER)
        .env("AIBOX_REGISTRY_PASSWORD", "wrong")
        .env("AIBOX_REGISTRY_HOST", reg.host())
        .args(["pack", "publish"])
        .arg(&dir)
        .args(["--registry", &url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("authentication failed"),
        "{}",
        stderr(&out)
    );

    env.aibox()
        .env("AIBOX_REGISTRY_USERNAME", registry::USER)
        .env("AIBOX_REGISTRY_PASSWORD", registry::PASSWORD)
        .env("AIBOX_REGISTRY_HOST", reg.host())
        .args(["pack", "publish"])
        .arg(&dir)
        .args(["--registry", &url])
        .assert()
        .success();

    // A fresh environment reads `~/.docker/config.json`.
    let env2 = Env::new();
    let docker = env2.user_home().join(".docker");
    aibox::fs::create_dir_all(&docker).unwrap();
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        registry::USER,
        registry::PASSWORD
    ));
    aibox::fs::write(
        docker.join("config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host()),
    )
    .unwrap();
    let out = env2
        .aibox()
        .args(["pack", "pull", &format!("{url}/tool:1.0.0"), "-o", "t"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(env2.work().join("t/bin/tool").exists());
}

#[test]
fn corrupted_blob_is_rejected_and_nothing_is_stored() {
    let reg = Registry::start();
    let env = Env::new();
    let url = reg.url("p");
    let dir = make_pack(&env.work(), "tool", "1.0.0", "");
    env.aibox()
        .args(["pack", "build"])
        .arg(&dir)
        .args(["-o", "lay"])
        .assert()
        .success();
    env.aibox()
        .args(["pack", "push", "lay", &url])
        .assert()
        .success();
    // The layout named as everywhere else: the same content again is accepted, and `pack list`
    // reads the layout either way.
    env.aibox()
        .args(["pack", "push", "oci-layout:lay", &url])
        .assert()
        .success();
    let listed = |source: &str| {
        let out = env.aibox().args(["pack", "list", source]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(listed("lay"), "tool 1.0.0\n");
    assert_eq!(listed("oci-layout:lay"), listed("lay"));
    let index: serde_json::Value =
        serde_json::from_slice(&aibox::fs::read(env.work().join("lay/index.json")).unwrap())
            .unwrap();
    let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
    let manifest: serde_json::Value = serde_json::from_slice(
        &aibox::fs::read(
            env.work()
                .join("lay/blobs/sha256")
                .join(manifest_digest.strip_prefix("sha256:").unwrap()),
        )
        .unwrap(),
    )
    .unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let file = reg.blob_file(layer);
    let mut bytes = aibox::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    aibox::fs::write(&file, bytes).unwrap();

    let env2 = Env::new();
    let out = env2
        .aibox()
        .args(["pack", "pull", &format!("{url}/tool:1.0.0")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("digest mismatch") && err.contains(layer),
        "{err}"
    );
    assert!(env2.store_packs().is_empty(), "no pack from bad bytes");
    assert_eq!(env2.store_objects(), 0, "no object from bad bytes");
}

/// The size of the largest blob the registry stores (the pack layer).
fn largest_blob(reg: &Registry) -> u64 {
    let blobs = reg
        .dir
        .path()
        .join("storage/docker/registry/v2/blobs/sha256");
    let mut max = 0;
    for shard in aibox::fs::read_dir(&blobs).unwrap() {
        for blob in aibox::fs::read_dir(shard.unwrap().path()).unwrap() {
            let data = blob.unwrap().path().join("data");
            max = max.max(aibox::fs::metadata(&data).unwrap().len());
        }
    }
    max
}

/// A registry holding `p/big:1.0.0`, a pack with a 3 MiB incompressible file; the publishing
/// environment (which holds the pack's source directory) and that directory.
fn published_big_pack() -> (Registry, Env, std::path::PathBuf) {
    let reg = Registry::start();
    let env = Env::new();
    let dir = make_pack(&env.work(), "big", "1.0.0", "");
    add_random_file(&dir, "blob.bin", 3 << 20);
    env.aibox()
        .args(["pack", "publish"])
        .arg(&dir)
        .args(["--registry", &reg.url("p")])
        .assert()
        .success();
    (reg, env, dir)
}

#[test]
fn interrupted_download_resumes_with_range() {
    let (reg, _env, dir) = published_big_pack();
    let proxy = FlakyProxy::start(reg.port, 256 << 10, false);
    let env2 = Env::new();
    let url = format!("oci://127.0.0.1:{}/p/big:1.0.0", proxy.port);
    let out = env2
        .aibox()
        .args(["--verbose", "pack", "pull", &url, "-o", "b"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(proxy.cuts.load(std::sync::atomic::Ordering::SeqCst), 1);
    // Count what actually crossed the wire: a resumed download sends the layer's bytes once
    // (plus small metadata); a restart would send the 256 KiB before the cut a second time.
    let layer = largest_blob(&reg);
    let sent = proxy.sent.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        sent >= layer && sent < layer + (128 << 10),
        "resumed with Range, not restarted: {sent} bytes sent for a {layer}-byte layer"
    );
    assert_eq!(
        aibox::fs::read(env2.work().join("b/blob.bin")).unwrap(),
        aibox::fs::read(dir.join("blob.bin")).unwrap()
    );
}

/// A registry that ignores `Range` sends the whole blob again after a cut: the bytes already
/// unpacked while downloading are not a prefix of what follows, so they are dropped and the
/// verified blob is unpacked instead; the pack is whole.
#[test]
fn a_registry_ignoring_range_restarts_and_the_pack_is_whole() {
    let (reg, _env, dir) = published_big_pack();
    let proxy = FlakyProxy::start_with(reg.port, 1 << 20, false, true);
    let env2 = Env::new();
    let url = format!("oci://127.0.0.1:{}/p/big:1.0.0", proxy.port);
    let out = env2
        .aibox()
        .args(["pack", "pull", &url, "-o", "b"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(proxy.cuts.load(std::sync::atomic::Ordering::SeqCst), 1);
    let layer = largest_blob(&reg);
    let sent = proxy.sent.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        sent >= layer + (512 << 10),
        "the whole layer was sent again: {sent} bytes sent for a {layer}-byte layer"
    );
    assert_eq!(
        aibox::fs::read(env2.work().join("b/blob.bin")).unwrap(),
        aibox::fs::read(dir.join("blob.bin")).unwrap()
    );
    // The first attempt's unpacked objects and the staging file are gone from `tmp/`.
    let tmp = env2.home().join("store-v2/tmp");
    let left: Vec<_> = aibox::fs::read_dir(&tmp)
        .map(|rd| rd.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left in tmp/: {left:?}");
}

#[test]
fn registry_dying_mid_download_is_a_clear_error() {
    let (reg, _env, _dir) = published_big_pack();
    let proxy = FlakyProxy::start(reg.port, 256 << 10, true);
    let env2 = Env::new();
    let url = format!("oci://127.0.0.1:{}/p/big:1.0.0", proxy.port);
    let out = env2.aibox().args(["pack", "pull", &url]).output().unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("network error while fetching blob")
            && err.contains("gave up after 3 attempts"),
        "{err}"
    );
    assert!(env2.store_packs().is_empty());

    // A registry that is down altogether.
    let mut reg = reg;
    reg.kill();
    let out = env2
        .aibox()
        .args(["pack", "list", &reg.url("p")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("network error"), "{}", stderr(&out));
}

#[test]
fn offline_uses_the_cache_and_names_what_is_missing() {
    let reg = Registry::start();
    let env = Env::new();
    let url = reg.url("p");
    let dir = make_pack(&env.work(), "tool", "1.0.0", "");
    env.aibox()
        .args(["pack", "publish"])
        .arg(&dir)
        .args(["--registry", &url])
        .assert()
        .success();
    let out = env
        .aibox()
        .args(["--offline", "info", "tool", "--registry", &url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("offline: the tag list of `p/tool`"),
        "{}",
        stderr(&out)
    );
    // -vv shows each request, then (within the TTL) what came from the cache instead.
    let vv = || {
        let out = env
            .aibox()
            .args(["-vv", "info", "tool", "--registry", &url])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    };
    let host = url.trim_start_matches("oci://").split('/').next().unwrap();
    let first = vv();
    assert!(
        first.contains(&format!("GET http://{host}/v2/p/tool/tags/list")),
        "{first}"
    );
    let second = vv();
    assert!(
        second.contains("tags of `p/tool` from the cache") && !second.contains("tags/list"),
        "{second}"
    );
    let mut reg = reg;
    reg.kill();
    let out = env
        .aibox()
        .args(["--offline", "info", "tool", "--registry", &url, "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}
