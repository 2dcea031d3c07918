//! `lock` and `sync` from an `oci://` registry, then `aibox vendor` of the lock into an OCI
//! layout that serves `lock` and `sync` air-gapped after the registry is gone.

mod common;

use common::oci::{Env, make_pack, stderr};
use common::registry::Registry;

#[test]
fn sync_from_registry_then_vendor_for_air_gapped_sync() {
    let mut reg = Registry::start();
    let env = Env::new();
    let url = reg.url("packs");
    let dir = make_pack(&env.work(), "hello", "1.0.0", "");
    let base = make_pack(&env.work(), "base", "1.4.0", "");
    aibox::fs::write(
        base.join("pack.toml"),
        "[pack]\nname = \"base\"\nversion = \"1.4.0\"\n",
    )
    .unwrap();
    for d in [&dir, &base] {
        env.aibox()
            .args(["pack", "publish"])
            .arg(d)
            .args(["--registry", &url])
            .assert()
            .success();
    }
    let proj = env.work().join("proj");
    aibox::fs::create_dir_all(&proj).unwrap();
    aibox::fs::write(
        proj.join("aibox.toml"),
        format!("[registries]\ndefault = \"{url}\"\n\n[packs]\nhello = \"1\"\n"),
    )
    .unwrap();
    for cmd in ["lock", "sync"] {
        let out = env.aibox().current_dir(&proj).arg(cmd).output().unwrap();
        assert!(out.status.success(), "{cmd}: {}", stderr(&out));
    }
    let lock = aibox::fs::read_to_string(proj.join("aibox.lock")).unwrap();
    assert!(
        lock.contains("name = \"base\"") && lock.contains("manifest = \"sha256:"),
        "{lock}"
    );

    let out = env
        .aibox()
        .current_dir(&proj)
        .args(["vendor", "vendor"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    reg.kill();

    // A new machine: only the vendored layout, no registry.
    let env2 = Env::new();
    let proj2 = env2.work().join("proj");
    aibox::fs::create_dir_all(&proj2).unwrap();
    aibox::fs::rename(proj.join("vendor"), proj2.join("vendor")).unwrap();
    aibox::fs::write(
        proj2.join("aibox.toml"),
        "[registries]\ndefault = \"oci-layout:vendor\"\n\n[packs]\nhello = \"1\"\n",
    )
    .unwrap();
    for cmd in ["lock", "sync"] {
        let out = env2.aibox().current_dir(&proj2).arg(cmd).output().unwrap();
        assert!(out.status.success(), "{cmd}: {}", stderr(&out));
    }
    assert!(
        env2.store_packs()
            .iter()
            .any(|p| p.contains("-hello-1.0.0")),
        "{:?}",
        env2.store_packs()
    );
}

#[test]
fn remove_and_add_of_stored_packs_work_offline_and_network_errors_say_so() {
    let mut reg = Registry::start();
    let env = Env::new();
    let url = reg.url("packs");
    for (name, version) in [("hello", "1.0.0"), ("other", "2.0.0"), ("base", "1.4.0")] {
        let dir = make_pack(&env.work(), name, version, "");
        if name == "base" {
            aibox::fs::write(
                dir.join("pack.toml"),
                "[pack]\nname = \"base\"\nversion = \"1.4.0\"\n",
            )
            .unwrap();
        }
        env.aibox()
            .args(["pack", "publish"])
            .arg(&dir)
            .args(["--registry", &url])
            .assert()
            .success();
    }
    let proj = env.work().join("proj");
    aibox::fs::create_dir_all(&proj).unwrap();
    aibox::fs::write(
        proj.join("aibox.toml"),
        format!("[registries]\ndefault = \"{url}\"\n\n[packs]\nhello = \"1\"\nother = \"2\"\n"),
    )
    .unwrap();
    let run = |args: &[&str]| env.aibox().current_dir(&proj).args(args).output().unwrap();
    let out = run(&["sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    reg.kill();
    // The registry is gone: a command that needs it says so and suggests --offline.
    let out = run(&["--refresh", "remove", "other"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--offline"), "{}", stderr(&out));
    // Everything needed is in the store and cache: --offline removes and adds back.
    let out = run(&["--offline", "remove", "other"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!proj.join(".aibox/current/packs/other").exists());
    let out = run(&["--offline", "add", "other@2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(proj.join(".aibox/current/packs/other").exists());
}
