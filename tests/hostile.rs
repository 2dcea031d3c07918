//! Every pack is hostile (docs/security.md): names that are paths, symlink chains out of the
//! pack, `[bin]` targets that are not programs of the pack, environment names that are shell
//! code, paths a thousand directories deep, FIFOs and `/dev/zero` where files belong, and
//! decompression bombs spread over many layers or many packs. Each is refused with an error
//! that names the pack, and nothing is written outside the store's staging area.
// Tests build hostile inputs with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::evil::{Artifact, Layer, TarEntry, layout, tar};
use common::{Sandbox, text, write_pack};
use proptest::prelude::*;

fn layout_project(sb: &Sandbox, packs: &str) -> PathBuf {
    sb.project(
        "p",
        &format!("[registries]\ndefault = \"oci-layout:../lay\"\n[packs]\n{packs}"),
    )
}

fn pack_json(extra: serde_json::Value) -> serde_json::Value {
    let mut p = serde_json::json!({"pack": {"name": "evil", "version": "1.0.0"}});
    if let (Some(obj), Some(extra)) = (p.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
    p
}

#[test]
fn names_from_a_registry_never_become_paths() {
    let sb = Sandbox::new();
    // A dependency name that walks from store-v2/packs/ up to the sandbox.
    let hostile = "x-1.0.0/../../../ESC/pwn";
    let evil = Artifact::aibox(
        pack_json(serde_json::json!({"dependencies": {hostile: "*"}})),
        vec![Layer::tar(tar(&[TarEntry::file("pack.toml", b"")]))],
    );
    let pwn = Artifact::aibox(
        serde_json::json!({"pack": {"name": "pwn", "version": "1.0.0"}}),
        vec![Layer::tar(tar(&[TarEntry::file("owned", b"x")]))],
    );
    layout(
        &sb.path().join("lay"),
        &[("evil:1.0.0", &evil), (&format!("{hostile}:1.0.0"), &pwn)],
    );
    let root = layout_project(&sb, "evil = \"1\"\n");
    let (code, err) = sb.fails(&root, &["sync"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("evil@1.0.0") && err.contains("dependencies.x-1.0.0/../../../ESC/pwn"),
        "{err}"
    );
    assert!(
        !sb.path().join("ESC").exists(),
        "nothing was written outside the store"
    );

    // The pack's own name in its config, and a name in a committed lock.
    let named = Artifact::aibox(
        serde_json::json!({"pack": {"name": "../../../ESC2/x", "version": "1.0.0"}}),
        vec![Layer::tar(tar(&[]))],
    );
    layout(&sb.path().join("lay"), &[("evil:1.0.0", &named)]);
    let (_, err) = sb.fails(&root, &["sync"]);
    assert!(err.contains("is not a valid pack name"), "{err}");
    std::fs::write(
        root.join("aibox.lock"),
        format!(
            "version = 1\nmanifest-hash = \"x\"\nplatforms = []\n\n[[package]]\nname = \"../../../ESC3/x\"\nversion = \"1.0.0\"\nkind = \"tool\"\nsource = \"oci-layout:../lay\"\n\n[package.platforms.{}]\ntree = \"blake3:{}\"\n",
            aibox::platform::host(),
            "0".repeat(64)
        ),
    )
    .unwrap();
    let (_, err) = sb.fails(&root, &["sync", "--frozen"]);
    assert!(
        err.contains("aibox.lock:6:1") && err.contains("not a valid pack name"),
        "{err}"
    );
    assert!(!sb.path().join("ESC2").exists() && !sb.path().join("ESC3").exists());
}

/// `b -> .`, `u1 -> b/..`, `u2 -> u1/..`, … `passwd -> u12/etc/passwd`: each link is harmless
/// when judged alone; together they reach the host's `/etc/passwd`.
fn chain_entries() -> Vec<(String, String)> {
    let mut v = vec![
        ("b".to_owned(), ".".to_owned()),
        ("u1".into(), "b/..".into()),
    ];
    for i in 2..=12 {
        v.push((format!("u{i}"), format!("u{}/..", i - 1)));
    }
    v.push(("passwd".into(), "u12/etc/passwd".into()));
    v
}

#[test]
fn symlink_chains_out_of_the_pack_are_refused_from_every_source() {
    let chain = chain_entries();
    // From an OCI layout (a tar layer).
    let sb = Sandbox::new();
    let mut entries = vec![TarEntry::file(
        "pack.toml",
        b"[pack]\nname = \"evil\"\nversion = \"1.0.0\"\n",
    )];
    for (l, t) in &chain {
        entries.push(TarEntry::symlink(l, t));
    }
    let evil = Artifact::aibox(
        pack_json(serde_json::json!({})),
        vec![Layer::tar(tar(&entries))],
    );
    layout(&sb.path().join("lay"), &[("evil:1.0.0", &evil)]);
    let root = layout_project(&sb, "evil = \"1\"\n");
    let (_, err) = sb.fails(&root, &["sync"]);
    assert!(
        err.contains("pack `evil@1.0.0` from `oci-layout:../lay` was rejected")
            && err.contains("resolves outside the pack"),
        "{err}"
    );
    assert!(!root.join(".aibox/current/packs/evil").exists());

    // From a `dir:` source and `pack build`.
    let sb = Sandbox::new();
    let dir = write_pack(
        &sb.path().join("packs"),
        "[pack]\nname = \"evil\"\nversion = \"1.0.0\"\n",
        &[],
    );
    for (l, t) in &chain {
        std::os::unix::fs::symlink(t, dir.join(l)).unwrap();
    }
    let root = sb.project(
        "p",
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\nevil = \"1\"\n",
    );
    let (_, err) = sb.fails(&root, &["sync"]);
    assert!(
        err.contains("was rejected") && err.contains("outside the pack"),
        "{err}"
    );
    let (_, err) = sb.fails(
        sb.path(),
        &["pack", "build", &dir.display().to_string(), "-o", "out"],
    );
    assert!(err.contains("outside the pack"), "{err}");
    assert!(
        !sb.path().join("out").join("index.json").exists() || {
            let idx = std::fs::read_to_string(sb.path().join("out/index.json")).unwrap();
            !idx.contains("evil")
        }
    );
}

/// Whether the kernel, resolving `path` beneath `root` (openat2 with RESOLVE_BENEATH), finds
/// that it escapes or loops: the independent oracle for the link checks.
fn kernel_says_unsafe(root: &Path, path: &str) -> bool {
    use std::ffi::CString;
    use std::os::fd::AsRawFd;
    #[repr(C)]
    struct OpenHow {
        flags: u64,
        mode: u64,
        resolve: u64,
    }
    const RESOLVE_BENEATH: u64 = 0x08;
    let dir = std::fs::File::open(root).unwrap();
    let c = CString::new(path).unwrap();
    let how = OpenHow {
        flags: libc::O_PATH as u64 | libc::O_CLOEXEC as u64,
        mode: 0,
        resolve: RESOLVE_BENEATH,
    };
    // SAFETY: a plain openat2 syscall with valid pointers; the fd is closed below.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            c.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd >= 0 {
        // SAFETY: fd was just returned by the kernel.
        unsafe { libc::close(fd as i32) };
        return false;
    }
    let err = std::io::Error::last_os_error().raw_os_error();
    matches!(err, Some(libc::EXDEV) | Some(libc::ELOOP))
}

/// Whether a link target leaves the pack judged lexically from the link's directory.
fn lexically_escapes(depth: usize, target: &str) -> bool {
    if target.starts_with('/') {
        return true;
    }
    let mut d = depth as i64;
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                d -= 1;
                if d < 0 {
                    return true;
                }
            }
            _ => d += 1,
        }
    }
    false
}

#[test]
fn the_kernel_oracle_sees_escapes_and_loops() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    for (l, t) in chain_entries() {
        std::os::unix::fs::symlink(t, root.join(l)).unwrap();
    }
    std::os::unix::fs::symlink("loop2", root.join("loop1")).unwrap();
    std::os::unix::fs::symlink("loop1", root.join("loop2")).unwrap();
    assert!(kernel_says_unsafe(&root, "passwd"));
    assert!(kernel_says_unsafe(&root, "u1"));
    assert!(kernel_says_unsafe(&root, "loop1"));
    assert!(!kernel_says_unsafe(&root, "b"));
}

const PARTS: &[&str] = &[".", "..", "d", "e", "l0", "l1", "l2", "f"];

fn link_tree() -> impl Strategy<Value = Vec<(usize, usize, Vec<usize>)>> {
    // (directory: 0 = root, 1 = d, 2 = d/e), link name index, target components.
    prop::collection::vec(
        (
            0usize..3,
            0usize..3,
            prop::collection::vec(0..PARTS.len(), 1..5),
        ),
        1..6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn no_accepted_tree_resolves_outside_its_root(links in link_tree()) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir_all(root.join("d/e")).unwrap();
        std::fs::write(root.join("f"), "f").unwrap();
        let dirs = ["", "d", "d/e"];
        let mut made: Vec<(String, String, usize)> = Vec::new();
        for (dir, name, target) in links {
            let path = if dirs[dir].is_empty() {
                format!("l{name}")
            } else {
                format!("{}/l{name}", dirs[dir])
            };
            if made.iter().any(|(p, _, _)| *p == path) {
                continue;
            }
            let target: Vec<&str> = target.iter().map(|i| PARTS[*i]).collect();
            let target = target.join("/");
            std::os::unix::fs::symlink(&target, root.join(&path)).unwrap();
            made.push((path, target, dir));
        }
        let accepted = aibox::store::ingest::tree_of_dir(&root, None).is_ok();
        let kernel_unsafe: Vec<&String> =
            made.iter().filter(|(p, _, _)| kernel_says_unsafe(&root, p)).map(|(p, _, _)| p).collect();
        if accepted {
            prop_assert!(kernel_unsafe.is_empty(), "accepted, but the kernel escapes or loops through {:?}: {:?}", kernel_unsafe, made);
        } else {
            prop_assert!(
                !kernel_unsafe.is_empty() || made.iter().any(|(_, t, d)| lexically_escapes(*d, t)),
                "rejected although nothing escapes: {:?}", made
            );
        }
    }
}

#[test]
fn bin_targets_must_be_executable_files_of_the_pack() {
    let cases: &[(&str, &str, &str)] = &[
        ("missing", "bin/nope", "no such file in the pack"),
        (
            "not-executable",
            "share/readme",
            "`share/readme` is not executable",
        ),
        ("directory", "share", "it is a directory"),
        ("dangling-link", "bin/dangling", "no such file in the pack"),
    ];
    for (label, target, expected) in cases {
        let sb = Sandbox::new();
        let dir = write_pack(
            &sb.path().join("packs"),
            &format!("[pack]\nname = \"tool\"\nversion = \"1.0.0\"\n[bin]\ntool = \"{target}\"\n"),
            &[
                ("share/readme", "hi\n", false),
                ("bin/real", "#!/bin/sh\n", true),
            ],
        );
        std::os::unix::fs::symlink("gone", dir.join("bin/dangling")).unwrap();
        let shown = format!("`[bin]` tool = \"{target}\": {expected}");
        let (_, err) = sb.fails(
            sb.path(),
            &["pack", "build", &dir.display().to_string(), "-o", "out"],
        );
        assert!(
            err.contains(&shown) && err.contains(&dir.display().to_string()),
            "{label} (build): {err}"
        );
        let root = sb.project(
            "p",
            "[registries]\ndefault = \"dir:../packs\"\n[packs]\ntool = \"1\"\n",
        );
        let (_, err) = sb.fails(&root, &["sync"]);
        assert!(err.contains(&shown), "{label} (sync): {err}");
        assert!(
            !root.join(".aibox/current/bin/tool").exists(),
            "{label}: nothing dangles in bin/"
        );
    }
    // From a layout: the same check on what a registry serves.
    let sb = Sandbox::new();
    let evil = Artifact::aibox(
        pack_json(serde_json::json!({"bin": {"tool": "up/usr/bin/dash"}})),
        vec![Layer::tar(tar(&[
            TarEntry::file("pack.toml", b"[pack]\nname = \"evil\"\nversion = \"1.0.0\"\n[bin]\ntool = \"up/usr/bin/dash\"\n"),
            TarEntry::symlink("up", "."),
        ]))],
    );
    layout(&sb.path().join("lay"), &[("evil:1.0.0", &evil)]);
    let root = layout_project(&sb, "evil = \"1\"\n");
    let (_, err) = sb.fails(&root, &["sync"]);
    assert!(
        err.contains("`[bin]` tool = \"up/usr/bin/dash\": no such file in the pack"),
        "{err}"
    );
}

#[test]
fn environment_names_that_are_shell_code_are_refused() {
    let sb = Sandbox::new();
    let dir = write_pack(
        &sb.path().join("packs"),
        "[pack]\nname = \"evil\"\nversion = \"1.0.0\"\n[env]\n\"X=1; touch F; Y\" = \"v\"\n",
        &[],
    );
    let (_, err) = sb.fails(
        sb.path(),
        &["pack", "build", &dir.display().to_string(), "-o", "out"],
    );
    assert!(err.contains("is not an environment variable name"), "{err}");
    // The same through an OCI config (no pack.toml parser involved).
    let evil = Artifact::aibox(
        pack_json(serde_json::json!({"env": {"X=1; touch F; Y": "v"}})),
        vec![Layer::tar(tar(&[]))],
    );
    layout(&sb.path().join("lay"), &[("evil:1.0.0", &evil)]);
    let root = layout_project(&sb, "evil = \"1\"\n");
    let (_, err) = sb.fails(&root, &["sync"]);
    assert!(err.contains("is not an environment variable name"), "{err}");
    // aibox's own names are refused from the metadata already (the rest: tests/pack_env.rs).
    for protected in ["PATH", "AIBOX_HOME"] {
        let evil = Artifact::aibox(
            pack_json(serde_json::json!({"env": {protected: "x"}})),
            vec![Layer::tar(tar(&[]))],
        );
        layout(&sb.path().join("lay"), &[("evil:1.0.0", &evil)]);
        let (_, err) = sb.fails(&root, &["sync"]);
        assert!(err.contains(&format!("may not set `{protected}`")), "{err}");
    }
    assert!(!root.join("F").exists() && !sb.path().join("F").exists());
}

/// Values that break naive quoting in one shell or another.
const NASTY: &[&str] = &[
    "plain",
    "it's",
    "a \"quoted\" word",
    "$(touch PWNED)",
    "`touch PWNED`",
    "back\\slash\\",
    "semi; touch PWNED",
    "new\nline",
    "tab\there",
    "trailing\\",
    "ünïcödé ✓",
    "",
    "--flag",
    "{a,b} *",
    "'; touch PWNED; echo '",
    "clip\u{1b}]52;c;dG91Y2ggUFdORUQ=\u{7}board",
    "\u{1b}[2K\u{1b}[1Aerased",
    "del\u{7f} csi\u{9b}31m rlo\u{202e}txt",
];

#[test]
fn env_output_round_trips_through_real_shells() {
    let sb = Sandbox::new();
    let mut env = String::new();
    for (i, v) in NASTY.iter().enumerate() {
        env.push_str(&format!(
            "V{i} = {}\n",
            toml::Value::String((*v).to_owned())
        ));
    }
    let packs = sb.path().join("packs");
    write_pack(
        &packs,
        &format!("[pack]\nname = \"nasty\"\nversion = \"1.0.0\"\n[env]\n{env}"),
        &[],
    );
    let root = sb.project(
        "p",
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\nnasty = \"1\"\n[env]\nLD_LIBRARY_PATH = \"/opt/project/lib\"\n",
    );
    sb.ok(&root, &["sync"]);
    let bin = assert_cmd::cargo::cargo_bin("aibox");
    let home = sb.home();
    // Each shell evaluates aibox's output, then `env -0` shows exactly what it exported.
    let scripts = [
        (
            "bash",
            format!("eval \"$({} env)\" && env -0", bin.display()),
        ),
        (
            "zsh",
            format!("eval \"$({} env --shell zsh)\" && env -0", bin.display()),
        ),
        (
            "fish",
            format!("{} env --shell fish | source; and env -0", bin.display()),
        ),
    ];
    for (shell, script) in scripts {
        let out = std::process::Command::new(shell)
            .arg("-c")
            .arg(&script)
            .current_dir(&root)
            .env("AIBOX_HOME", &home)
            .env("CI", "true")
            .output()
            .unwrap_or_else(|e| panic!("`{shell}` must be installed (scripts/test does): {e}"));
        assert!(out.status.success(), "{shell}: {}", text(&out).1);
        let stdout = String::from_utf8(out.stdout).unwrap();
        let exported: std::collections::BTreeMap<&str, &str> = stdout
            .split('\0')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        for (i, v) in NASTY.iter().enumerate() {
            assert_eq!(
                exported.get(format!("V{i}").as_str()),
                Some(v),
                "{shell}: V{i}"
            );
        }
        assert_eq!(
            exported.get("LD_LIBRARY_PATH"),
            Some(&"/opt/project/lib"),
            "{shell}: the project's own [env]"
        );
        assert!(
            !root.join("PWNED").exists(),
            "{shell} ran code from a value"
        );
    }
    // What each shell evaluates is also safe to look at: no raw control character.
    for shell in ["bash", "zsh", "fish"] {
        let (code, _) = sb.ok(&root, &["env", "--shell", shell]);
        assert!(
            !code
                .chars()
                .any(|c| c == '\u{1b}' || c == '\u{7}' || c == '\u{9b}' || c == '\u{202e}'),
            "{shell}: {code}"
        );
    }
    // `--json` is data: exact values (JSON escapes control characters).
    let (json, _) = sb.ok(&root, &["env", "--json"]);
    assert!(!json.contains(['\u{1b}', '\u{9b}', '\u{202e}']), "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["vars"]["V7"], "new\nline");
    for (i, value) in NASTY.iter().enumerate() {
        assert_eq!(v["vars"][format!("V{i}")], *value);
    }
}

#[test]
fn a_path_a_thousand_directories_deep_is_a_clear_error() {
    let deep = "d/".repeat(1000) + "f";
    let sb = Sandbox::new();
    let evil = Artifact::aibox(
        pack_json(serde_json::json!({})),
        vec![Layer::tar(tar(&[TarEntry::file(&deep, b"x")]))],
    );
    layout(&sb.path().join("lay"), &[("evil:1.0.0", &evil)]);
    let root = layout_project(&sb, "evil = \"1\"\n");
    let (code, err) = sb.fails(&root, &["sync"]);
    assert_eq!(code, 1, "an error, not a crash: {err}");
    assert!(err.contains("more than 256 directories deep"), "{err}");
    // A pack directory that deep.
    let sb = Sandbox::new();
    let dir = write_pack(
        &sb.path().join("packs"),
        "[pack]\nname = \"deep\"\nversion = \"1.0.0\"\n",
        &[],
    );
    let mut p = dir.clone();
    for _ in 0..300 {
        p.push("d");
    }
    std::fs::create_dir_all(&p).unwrap();
    let (code, err) = sb.fails(
        sb.path(),
        &["pack", "build", &dir.display().to_string(), "-o", "out"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("more than 256 directories deep"), "{err}");
}

/// Run aibox and fail the test if it does not end within `secs` (a hang is the bug).
fn within(sb: &Sandbox, cwd: &Path, args: &[&str], secs: u64) -> (bool, String) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("aibox"))
        .args(args)
        .current_dir(cwd)
        .env("AIBOX_HOME", sb.home())
        .env("CI", "true")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            return (status.success(), err);
        }
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            panic!("aibox {args:?} hung for {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn fifos_and_devices_where_files_belong_are_refused_without_hanging() {
    // A `pack.toml` that is a FIFO, in a sub-directory nobody asked for.
    let sb = Sandbox::new();
    sb.repo_packs();
    let fifo_dir = sb.path().join("packs/zz-fifo");
    std::fs::create_dir_all(&fifo_dir).unwrap();
    let st = std::process::Command::new("mkfifo")
        .arg(fifo_dir.join("pack.toml"))
        .status()
        .unwrap();
    assert!(st.success());
    let root = sb.project(
        "p",
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\nhello = \"1\"\n",
    );
    // Skipped with a warning naming it (one broken pack does not break the others).
    let (ok, err) = within(&sb, &root, &["sync"], 20);
    assert!(
        ok && err.contains("zz-fifo") && err.contains("is not a regular file"),
        "{err}"
    );
    assert!(root.join(".aibox/current/bin/hello").exists());
    // A `pack.toml` that is a link to /dev/zero.
    std::fs::remove_file(fifo_dir.join("pack.toml")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", fifo_dir.join("pack.toml")).unwrap();
    std::fs::remove_file(root.join("aibox.lock")).unwrap();
    let (ok, err) = within(&sb, &root, &["sync"], 20);
    assert!(
        ok && err.contains("zz-fifo") && err.contains("is not a regular file"),
        "{err}"
    );

    // A layout whose index.json and blobs are FIFOs.
    let sb = Sandbox::new();
    let evil = Artifact::aibox(pack_json(serde_json::json!({})), vec![Layer::tar(tar(&[]))]);
    let lay = sb.path().join("lay");
    layout(&lay, &[("evil:1.0.0", &evil)]);
    for entry in std::fs::read_dir(lay.join("blobs/sha256")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::remove_file(&p).unwrap();
        std::process::Command::new("mkfifo")
            .arg(&p)
            .status()
            .unwrap();
    }
    let root = layout_project(&sb, "evil = \"1\"\n");
    let (ok, err) = within(&sb, &root, &["sync"], 20);
    assert!(!ok && err.contains("is not a regular file"), "{err}");
    std::fs::remove_file(lay.join("index.json")).unwrap();
    std::process::Command::new("mkfifo")
        .arg(lay.join("index.json"))
        .status()
        .unwrap();
    let (ok, err) = within(&sb, &root, &["sync"], 20);
    assert!(!ok && err.contains("is not a regular file"), "{err}");
}

#[test]
fn a_bomb_spread_over_layers_or_packs_still_hits_the_cap() {
    // 40 layers of 1 MiB of zeros each, a few KiB compressed: under a per-layer cap of 8 MiB
    // each, 40 MiB for the artifact.
    let sb = Sandbox::new();
    let zeros = vec![0u8; 1 << 20];
    let mut layers = Vec::new();
    for i in 0..40 {
        let name = format!("part{i}");
        let t = tar(&[TarEntry::file(&name, &zeros)]);
        layers.push(Layer {
            media_type: "application/vnd.oci.image.layer.v1.tar+zstd".into(),
            data: zstd::encode_all(&t[..], 19).unwrap(),
            title: Some(format!("part{i}.tar")),
        });
    }
    let mut bomb = Artifact::aibox(pack_json(serde_json::json!({})), Vec::new());
    // An ORAS-style artifact (no aibox config): layers unpacked one by one.
    bomb.config_media_type = "application/vnd.oci.empty.v1+json".into();
    bomb.config = b"{}".to_vec();
    for l in &mut layers {
        l.media_type = "application/vnd.oci.image.layer.v1.tar+gzip".into();
        let t = zstd::decode_all(&l.data[..]).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gz, &t).unwrap();
        l.data = gz.finish().unwrap();
    }
    layers.push(Layer {
        media_type: "application/vnd.oci.image.layer.v1.tar".into(),
        data: b"[pack]\nname = \"evil\"\nversion = \"1.0.0\"\n".to_vec(),
        title: Some("pack.toml".into()),
    });
    bomb.layers = layers;
    layout(&sb.path().join("lay"), &[("evil:1.0.0", &bomb)]);
    let root = layout_project(&sb, "evil = \"1\"\n");
    let out = sb
        .aibox(&root)
        .env("AIBOX_MAX_UNPACKED_BYTES", (8u64 << 20).to_string())
        .arg("sync")
        .output()
        .unwrap();
    let err = text(&out).1;
    assert!(!out.status.success());
    assert!(
        err.contains("decompression limit") && err.contains("evil@1.0.0"),
        "{err}"
    );

    // Many packs each under the per-pack cap, together over the run's cap: real packs (right
    // tree hashes) built by aibox, so nothing but the budget can stop them.
    let sb = Sandbox::new();
    let mut reqs = String::new();
    let mut dirs = Vec::new();
    for i in 0..6 {
        let name = format!("p{i}");
        let dir = write_pack(
            &sb.path().join("src"),
            &format!("[pack]\nname = \"{name}\"\nversion = \"1.0.0\"\n"),
            &[],
        );
        std::fs::write(dir.join("zeros"), &zeros).unwrap();
        dirs.push(dir.display().to_string());
        reqs.push_str(&format!("{name} = \"1\"\n"));
    }
    let mut args = vec!["pack", "build"];
    args.extend(dirs.iter().map(String::as_str));
    args.extend(["-o", "lay"]);
    sb.ok(sb.path(), &args);
    let root = layout_project(&sb, &reqs);
    let out = sb
        .aibox(&root)
        .env("AIBOX_MAX_RUN_UNPACKED_BYTES", (3u64 << 20).to_string())
        .arg("lock")
        .output()
        .unwrap();
    // Locking a layout reads only metadata; the run cap applies when contents are unpacked.
    assert!(out.status.success(), "{}", text(&out).1);
    let out = sb
        .aibox(&root)
        .env("AIBOX_MAX_RUN_UNPACKED_BYTES", (3u64 << 20).to_string())
        .args(["sync", "--frozen"])
        .output()
        .unwrap();
    let err = text(&out).1;
    assert!(!out.status.success());
    assert!(err.contains("this run's archives together"), "{err}");
}
