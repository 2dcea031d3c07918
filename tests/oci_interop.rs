//! Interoperability with independent OCI clients: ORAS (oras-py) per-file artifacts read as
//! packs, `oras pull` of what aibox publishes, and `skopeo` copying aibox artifacts between
//! registries and OCI layouts in both directions.

mod common;

use common::oci::{Env, make_pack, python, require_tool, stderr, stdout};
use common::registry::Registry;

#[test]
fn oras_per_file_artifact_is_a_pack() {
    require_tool(
        &common::oci::python3().display().to_string(),
        &["-c", "import oras.client"],
        "the PyPI package `oras`",
    );
    let reg = Registry::start();
    let env = Env::new();
    let src = env.work().join("src");
    aibox::fs::create_dir_all(src.join("share")).unwrap();
    aibox::fs::write(src.join("pack.toml"), "[pack]\nname = \"orased\"\nversion = \"0.3.0\"\ndescription = \"pushed by oras\"\n\n[bin]\ngreet = \"greet.sh\"\n").unwrap();
    aibox::fs::write(src.join("greet.sh"), "#!/bin/sh\necho hi\n").unwrap();
    aibox::fs::write(src.join("README"), "readme\n").unwrap();
    aibox::fs::write(src.join("share/doc.txt"), "doc\n").unwrap();
    python(
        &format!(
            "import oras.client\nc = oras.client.OrasClient(insecure=True)\nc.push(target='{}/o/orased:0.3.0', files=['pack.toml', 'greet.sh', 'README', 'share'])",
            reg.host()
        ),
        &src,
    );
    let url = reg.url("o");
    let out = env
        .aibox()
        .args(["info", "orased", "--registry", &url, "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["description"], "pushed by oras");
    let out = env
        .aibox()
        .args(["pack", "pull", &format!("{url}/orased:0.3.0"), "-o", "got"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let got = env.work().join("got");
    assert_eq!(
        aibox::fs::read_to_string(got.join("README")).unwrap(),
        "readme\n"
    );
    assert_eq!(
        aibox::fs::read_to_string(got.join("share/doc.txt")).unwrap(),
        "doc\n"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = aibox::fs::metadata(got.join("greet.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "files named in [bin] are executable");
}

#[test]
fn a_bin_target_flattened_by_oras_is_explained() {
    // oras-py names each per-file layer by its base name: `bin/hello` arrives as `hello`.
    let reg = Registry::start();
    let env = Env::new();
    let src = env.work().join("src");
    aibox::fs::create_dir_all(src.join("bin")).unwrap();
    aibox::fs::write(
        src.join("pack.toml"),
        "[pack]\nname = \"flat\"\nversion = \"1.0.0\"\n\n[bin]\nhello = \"bin/hello\"\n",
    )
    .unwrap();
    aibox::fs::write(src.join("bin/hello"), "#!/bin/sh\necho hi\n").unwrap();
    python(
        &format!(
            "import oras.client\nc = oras.client.OrasClient(insecure=True)\nc.push(target='{}/o/flat:1.0.0', files=['pack.toml', 'bin/hello'])",
            reg.host()
        ),
        &src,
    );
    let root = env.work().join("p");
    aibox::fs::create_dir_all(&root).unwrap();
    aibox::fs::write(
        root.join("aibox.toml"),
        format!(
            "[registries]\ndefault = \"{}\"\n[packs]\nflat = \"1\"\n",
            reg.url("o")
        ),
    )
    .unwrap();
    let out = env.aibox().current_dir(&root).arg("sync").output().unwrap();
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("`[bin]` hello = \"bin/hello\": no such file in the pack, but it has `hello`")
            && err.contains("oras-py"),
        "{err}"
    );
    assert!(!root.join(".aibox/current/bin/hello").exists());
}

#[test]
fn oras_pull_gets_the_titled_tar_and_skopeo_reads_the_artifact() {
    require_tool(
        &common::oci::python3().display().to_string(),
        &["-c", "import oras.client"],
        "the PyPI package `oras`",
    );
    require_tool("skopeo", &["--version"], "Debian's `skopeo`");
    let reg = Registry::start();
    let env = Env::new();
    let url = reg.url("packs");
    let dir = make_pack(&env.work(), "hello", "1.0.0", "");
    let out = env
        .aibox()
        .args(["pack", "publish"])
        .arg(&dir)
        .args(["--registry", &url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let digest = stdout(&out).trim().to_owned();

    let files = python(
        &format!(
            "import oras.client\nc = oras.client.OrasClient(insecure=True)\nprint(c.pull(target='{}/packs/hello:1.0.0', outdir='pulled'))",
            reg.host()
        ),
        &env.work(),
    );
    assert!(files.contains("hello-1.0.0.tar.zst"), "{files}");
    let tar = zstd::decode_all(
        aibox::fs::File::open(env.work().join("pulled/hello-1.0.0.tar.zst")).unwrap(),
    )
    .unwrap();
    let mut names: Vec<String> = tar::Archive::new(&tar[..])
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["bin/", "bin/hello", "data.txt", "pack.toml", "run"]);

    let raw = std::process::Command::new("skopeo")
        .args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{}/packs/hello:1.0.0", reg.host()),
        ])
        .output()
        .unwrap();
    assert!(raw.status.success(), "{}", stderr(&raw));
    let manifest: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert_eq!(manifest["artifactType"], "application/vnd.aibox.pack.v1");
    assert_eq!(
        manifest["layers"][0]["annotations"]["org.opencontainers.image.title"],
        "hello-1.0.0.tar.zst"
    );

    // skopeo copies registry → OCI layout; aibox reads that layout.
    let copy = std::process::Command::new("skopeo")
        .args([
            "copy",
            "--src-tls-verify=false",
            &format!("docker://{}/packs/hello:1.0.0", reg.host()),
            "oci:skopeo-layout:hello:1.0.0",
        ])
        .current_dir(env.work())
        .output()
        .unwrap();
    assert!(copy.status.success(), "{}", stderr(&copy));
    let out = env
        .aibox()
        .args(["pack", "list", "oci-layout:skopeo-layout"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "hello 1.0.0\n", "{}", stderr(&out));
    let env2 = Env::new();
    aibox::fs::rename(env.work().join("skopeo-layout"), env2.work().join("l")).unwrap();
    let out = env2
        .aibox()
        .args(["info", "hello", "--registry", "oci-layout:l", "--json"])
        .output()
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["digest"], digest.as_str(), "same bytes through skopeo");
    env2.aibox()
        .args(["pack", "pull", "oci-layout:l:hello:1.0.0", "-o", "h"])
        .assert()
        .success();
}

#[test]
fn skopeo_copies_a_layout_aibox_wrote() {
    require_tool("skopeo", &["--version"], "Debian's `skopeo`");
    let reg = Registry::start();
    let env = Env::new();
    let dir = make_pack(&env.work(), "hello", "2.0.0", "");
    let out = env
        .aibox()
        .args(["pack", "build"])
        .arg(&dir)
        .args(["-o", "lay"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let digest = stdout(&out).trim().to_owned();
    let copy = std::process::Command::new("skopeo")
        .args([
            "copy",
            "--dest-tls-verify=false",
            "oci:lay:hello:2.0.0",
            &format!("docker://{}/copied/hello:2.0.0", reg.host()),
        ])
        .current_dir(env.work())
        .output()
        .unwrap();
    assert!(copy.status.success(), "{}", stderr(&copy));
    let env2 = Env::new();
    let out = env2
        .aibox()
        .args(["info", "hello", "--registry", &reg.url("copied"), "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["digest"], digest.as_str());
    env2.aibox()
        .args([
            "pack",
            "pull",
            &format!("{}/hello:2.0.0", reg.url("copied")),
            "-o",
            "h",
        ])
        .assert()
        .success();
    assert!(env2.work().join("h/bin/hello").exists());
}

#[test]
fn the_run_s_unpack_budget_holds_across_every_artifact_a_lock_fetches() {
    require_tool(
        &common::oci::python3().display().to_string(),
        &["-c", "import oras.client"],
        "the PyPI package `oras`",
    );
    let reg = Registry::start();
    let env = Env::new();
    // ORAS artifacts carry no tree hash, so `lock` fetches each to compute it: four of 1 MiB.
    let mut packs = String::new();
    for i in 0..4 {
        let src = env.work().join(format!("src{i}"));
        aibox::fs::create_dir_all(&src).unwrap();
        aibox::fs::write(
            src.join("pack.toml"),
            format!("[pack]\nname = \"big{i}\"\nversion = \"1.0.0\"\n"),
        )
        .unwrap();
        common::oci::add_random_file(&src, "data", 1 << 20);
        python(
            &format!(
                "import oras.client\nc = oras.client.OrasClient(insecure=True)\nc.push(target='{}/o/big{i}:1.0.0', files=['pack.toml', 'data'])",
                reg.host()
            ),
            &src,
        );
        packs.push_str(&format!("big{i} = \"1\"\n"));
    }
    let root = env.work().join("project");
    aibox::fs::create_dir_all(&root).unwrap();
    aibox::fs::write(
        root.join("aibox.toml"),
        format!(
            "[registries]\ndefault = \"{}\"\n[packs]\n{packs}",
            reg.url("o")
        ),
    )
    .unwrap();
    let lock = |cap: u64| {
        env.aibox()
            .current_dir(&root)
            .env("AIBOX_MAX_RUN_UNPACKED_BYTES", cap.to_string())
            .arg("lock")
            .output()
            .unwrap()
    };
    // Each artifact is under a 3 MiB cap; together they are not.
    let out = lock(3 << 20);
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("this run's archives together"),
        "{}",
        stderr(&out)
    );
    assert!(!root.join("aibox.lock").exists());
    let out = lock(8 << 20);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = aibox::fs::read_to_string(root.join("aibox.lock")).unwrap();
    assert_eq!(text.matches("[[package]]").count(), 4, "{text}");
    // `--quiet` holds on these paths too (the stores the sources open report through it): a
    // sync of the four unsigned artifacts from a fresh home says nothing, and does the work.
    let out = env
        .aibox()
        .current_dir(&root)
        .env("AIBOX_HOME", env.work().join("quiet-home"))
        .args(["-q", "sync"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "nothing on stderr under -q");
    assert!(root.join(".aibox/current/packs/big3").exists());
}
