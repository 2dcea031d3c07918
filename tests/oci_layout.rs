//! OCI image layouts: reproducible `pack build`, multi-platform indexes, `vendor`, corrupted
//! blobs, and hostile archives served from a layout (each rejected, entry named, nothing
//! stored as a pack).

mod common;

use common::oci::{Env, add_random_file, make_pack, stderr, stdout};
use sha2::Digest as _;

fn sha(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

#[test]
fn build_is_reproducible() {
    let env = Env::new();
    let dir = make_pack(&env.work(), "repro", "1.0.0", "");
    let a = env
        .aibox()
        .args(["pack", "build"])
        .arg(&dir)
        .args(["-o", "a"])
        .output()
        .unwrap();
    assert!(a.status.success(), "{}", stderr(&a));
    // Different mtimes, a different store: the same digest.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    aibox::fs::write(
        dir.join("data.txt"),
        aibox::fs::read(dir.join("data.txt")).unwrap(),
    )
    .unwrap();
    let env2 = Env::new();
    let b = env2
        .aibox()
        .args(["pack", "build"])
        .arg(&dir)
        .arg("-o")
        .arg(env2.work().join("b"))
        .output()
        .unwrap();
    assert_eq!(stdout(&a), stdout(&b));
    let layout = aibox::fs::read_to_string(env.work().join("a/oci-layout")).unwrap();
    assert_eq!(layout, r#"{"imageLayoutVersion":"1.0.0"}"#);
    let out = env
        .aibox()
        .args(["pack", "list", "oci-layout:a", "--json"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["name"], "repro");
}

#[test]
fn multi_platform_index_and_vendor() {
    let env = Env::new();
    let x86 = make_pack(
        &env.work().join("x86"),
        "tool",
        "1.0.0",
        "platforms = [\"linux-x86_64\"]",
    );
    let arm = make_pack(
        &env.work().join("arm"),
        "tool",
        "1.0.0",
        "platforms = [\"linux-aarch64\", \"macos-aarch64\"]",
    );
    aibox::fs::write(arm.join("data.txt"), "arm build\n").unwrap();
    let out = env
        .aibox()
        .args(["pack", "build"])
        .arg(&x86)
        .arg(&arm)
        .args(["-o", "lay"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = env
        .aibox()
        .args(["info", "tool", "--registry", "oci-layout:lay", "--json"])
        .output()
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        info["platforms"],
        serde_json::json!(["linux-aarch64", "linux-x86_64", "macos-aarch64"])
    );
    let out = env
        .aibox()
        .args([
            "pack",
            "pull",
            "oci-layout:lay:tool:1.0.0",
            "--platform",
            "linux-aarch64",
            "-o",
            "a",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        aibox::fs::read_to_string(env.work().join("a/data.txt")).unwrap(),
        "arm build\n"
    );
    let out = env
        .aibox()
        .args([
            "pack",
            "pull",
            "oci-layout:lay:tool:1.0.0",
            "--platform",
            "windows-x86_64",
        ])
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("no artifact for platform `windows-x86_64`"),
        "{}",
        stderr(&out)
    );

    // Vendor copies the whole index into another layout.
    let out = env
        .aibox()
        .args([
            "vendor",
            "vend",
            "--pack",
            "oci-layout:lay:tool:1.0.0",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let done: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        done[0]["blobs"], 7,
        "index + 2 manifests + 2 configs + 2 layers: {done}"
    );
    // Layout blobs get the mode of any file this user creates (the umask's), whether they
    // were written from memory, copied from a built layer's temporary file or from a staging
    // copy: a layout is meant to be shared.
    use std::os::unix::fs::PermissionsExt;
    let reference = env.work().join("reference");
    aibox::fs::write(&reference, "x").unwrap();
    let mode = |p: &std::path::Path| aibox::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for layout in ["lay", "vend"] {
        for blob in aibox::fs::read_dir(env.work().join(layout).join("blobs/sha256")).unwrap() {
            let blob = blob.unwrap().path();
            assert_eq!(mode(&blob), mode(&reference), "{}", blob.display());
        }
    }
    aibox::fs::remove_dir_all(env.work().join("lay")).unwrap();
    let env2 = Env::new();
    aibox::fs::rename(env.work().join("vend"), env2.work().join("vend")).unwrap();
    let out = env2
        .aibox()
        .args([
            "pack",
            "pull",
            "oci-layout:vend:tool:1.0.0",
            "--platform",
            "linux-x86_64",
            "-o",
            "x",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

/// A layer whose bytes do not match its digest adds nothing to the store, whatever the damage:
/// in the compressed data (the unpacking stops early) or in the OS byte of a gzip header,
/// which decompression ignores (the layer unpacks whole while it is read, and only the digest,
/// checked at the end, tells it is wrong).
#[test]
fn corrupted_layout_blob_is_rejected() {
    for (compression, at) in [("zstd", 10), ("gzip", 9)] {
        let env = Env::new();
        let dir = make_pack(&env.work(), "tool", "1.0.0", "");
        // Incompressible, so that the layer is the largest blob.
        add_random_file(&dir, "blob.bin", 64 << 10);
        env.aibox()
            .args(["pack", "build", "--compression", compression])
            .arg(&dir)
            .args(["-o", "lay"])
            .assert()
            .success();
        // Corrupt the largest blob (the layer).
        let blobs = env.work().join("lay/blobs/sha256");
        let layer = aibox::fs::read_dir(&blobs)
            .unwrap()
            .map(|e| e.unwrap().path())
            .max_by_key(|p| aibox::fs::metadata(p).unwrap().len())
            .unwrap();
        let mut bytes = aibox::fs::read(&layer).unwrap();
        bytes[at] ^= 1;
        aibox::fs::write(&layer, bytes).unwrap();
        let env2 = Env::new();
        aibox::fs::rename(env.work().join("lay"), env2.work().join("lay")).unwrap();
        let out = env2
            .aibox()
            .args(["pack", "pull", "oci-layout:lay:tool:1.0.0"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(stderr(&out).contains("digest mismatch"), "{}", stderr(&out));
        assert!(env2.store_packs().is_empty());
        assert_eq!(
            env2.store_objects(),
            0,
            "{compression} layer damaged at byte {at}"
        );
    }
}

/// One raw tar entry (no path checks, so hostile names can be written).
fn raw_entry(out: &mut Vec<u8>, name: &str, kind: tar::EntryType, link: &str, data: &[u8]) {
    let mut h = tar::Header::new_old();
    {
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

/// Write a layout holding `evil:1.0.0` whose single layer is `layer` (of `media_type`).
fn hostile_layout(dir: &std::path::Path, layer: &[u8], media_type: &str) {
    let blobs = dir.join("blobs/sha256");
    aibox::fs::create_dir_all(&blobs).unwrap();
    let put = |b: &[u8]| {
        let d = sha(b);
        aibox::fs::write(blobs.join(d.strip_prefix("sha256:").unwrap()), b).unwrap();
        d
    };
    let config = serde_json::json!({
        "pack": {"pack": {"name": "evil", "version": "1.0.0"}},
        "tree": format!("blake3:{}", "0".repeat(64)),
        "platforms": [],
    });
    let config = serde_json::to_vec(&config).unwrap();
    let cd = put(&config);
    let ld = put(layer);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.aibox.pack.v1",
        "config": {"mediaType": "application/vnd.aibox.pack.config.v1+json", "digest": cd, "size": config.len()},
        "layers": [{"mediaType": media_type, "digest": ld, "size": layer.len()}],
    });
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let md = put(&manifest);
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": manifest.len(),
                       "annotations": {"org.opencontainers.image.ref.name": "evil:1.0.0"}}],
    });
    aibox::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    aibox::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

#[test]
fn hostile_archives_from_a_layout_are_rejected() {
    use tar::EntryType::*;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "dotdot",
            {
                let mut t = Vec::new();
                raw_entry(&mut t, "a/../../escape", Regular, "", b"x");
                t
            },
            "a/../../escape",
        ),
        (
            "absolute",
            {
                let mut t = Vec::new();
                raw_entry(&mut t, "/etc/passwd", Regular, "", b"x");
                t
            },
            "/etc/passwd",
        ),
        (
            "symlink",
            {
                let mut t = Vec::new();
                raw_entry(&mut t, "link", Symlink, "../../outside", b"");
                t
            },
            "link",
        ),
        (
            "hardlink",
            {
                let mut t = Vec::new();
                raw_entry(&mut t, "hl", Link, "/etc/shadow", b"");
                t
            },
            "hl",
        ),
        (
            "device",
            {
                let mut t = Vec::new();
                raw_entry(&mut t, "dev", Char, "", b"");
                t
            },
            "dev",
        ),
        (
            "duplicate",
            {
                let mut t = Vec::new();
                raw_entry(&mut t, "f", Regular, "", b"1");
                raw_entry(&mut t, "f", Regular, "", b"2");
                t
            },
            "f",
        ),
    ];
    for (label, mut tar_bytes, entry) in cases {
        tar_bytes.extend_from_slice(&[0u8; 1024]);
        let env = Env::new();
        hostile_layout(
            &env.work().join("lay"),
            &tar_bytes,
            "application/vnd.oci.image.layer.v1.tar",
        );
        let out = env
            .aibox()
            .args(["pack", "pull", "oci-layout:lay:evil:1.0.0"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{label} was accepted");
        let err = stderr(&out);
        assert!(
            err.contains(&format!("rejected entry `{entry}`")),
            "{label}: {err}"
        );
        assert!(
            err.contains("pack `evil@1.0.0` from `oci-layout:lay` was rejected")
                && err.contains("hint: nothing from this pack was installed"),
            "{label}: the error names the pack and its source: {err}"
        );
        assert!(env.store_packs().is_empty(), "{label}: a pack was stored");
        assert!(!env.work().join("escape").exists() && !env.root.path().join("escape").exists());
    }

    // A pack whose tree lacks `pack.toml`, or carries another one than its config describes.
    let cases: [(&str, &[u8], &str); 2] = [
        ("missing", b"", "has no `pack.toml` file at its root"),
        (
            "different",
            b"[pack]\nname = \"evil\"\nversion = \"1.0.0\"\ndescription = \"not what the config says\"\n",
            "differs from the pack metadata in its OCI config",
        ),
    ];
    for (label, pack_toml, expected) in cases {
        let mut t = Vec::new();
        raw_entry(&mut t, "readme", Regular, "", b"hi");
        if !pack_toml.is_empty() {
            raw_entry(&mut t, "pack.toml", Regular, "", pack_toml);
        }
        t.extend_from_slice(&[0u8; 1024]);
        let env = Env::new();
        hostile_layout(
            &env.work().join("lay"),
            &t,
            "application/vnd.oci.image.layer.v1.tar",
        );
        let out = env
            .aibox()
            .args(["pack", "pull", "oci-layout:lay:evil:1.0.0"])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(!out.status.success(), "{label}");
        assert!(
            err.contains(expected) && !err.contains("store verify"),
            "{label}: {err}"
        );
        assert!(env.store_packs().is_empty(), "{label}: a pack was stored");
    }

    // A decompression bomb: 64 MiB of zeros in a few KiB of zstd, over an 8 MiB cap.
    let mut t = Vec::new();
    raw_entry(&mut t, "zeros", Regular, "", &vec![0u8; 64 << 20]);
    t.extend_from_slice(&[0u8; 1024]);
    let bomb = zstd::encode_all(&t[..], 19).unwrap();
    assert!(bomb.len() < 64 << 10);
    let env = Env::new();
    hostile_layout(
        &env.work().join("lay"),
        &bomb,
        "application/vnd.oci.image.layer.v1.tar+zstd",
    );
    let out = env
        .aibox()
        .env("AIBOX_MAX_UNPACKED_BYTES", (8u64 << 20).to_string())
        .args(["pack", "pull", "oci-layout:lay:evil:1.0.0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("decompression limit"),
        "{}",
        stderr(&out)
    );
    assert!(env.store_packs().is_empty());
}
