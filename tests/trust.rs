//! Signing, trust policy, configuration and the audit log, against a real registry and an
//! independent implementation of cosign's formats in Python (tests/python/cosign.py: no cosign
//! binary can be installed here), used in both directions: it verifies what aibox signs, and
//! aibox verifies what it signs.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::oci::{Env, python3, stderr, stdout};
use common::registry::Registry;

const PASSWORD: &str = "correct horse";

/// The independent cosign implementation.
fn cosign(env: &Env, args: &[&str]) -> std::process::Output {
    std::process::Command::new(python3())
        .arg(common::repo_root().join("tests/python/cosign.py"))
        .args(args)
        .current_dir(env.work())
        .env("COSIGN_PASSWORD", PASSWORD)
        .output()
        .unwrap()
}

fn aibox(env: &Env) -> assert_cmd::Command {
    let mut c = env.aibox();
    c.env("AIBOX_PASSWORD", PASSWORD);
    c
}

fn ok(env: &Env, args: &[&str]) -> (String, String) {
    let out = aibox(env).args(args).output().unwrap();
    assert!(out.status.success(), "aibox {args:?}: {}", stderr(&out));
    (stdout(&out), stderr(&out))
}

fn fails(env: &Env, args: &[&str]) -> String {
    let out = aibox(env).args(args).output().unwrap();
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

fn publish(env: &Env, reg: &Registry, version: &str, key: Option<&str>) -> String {
    let dir = pack(env, version);
    let mut args = vec!["pack", "publish", dir.to_str().unwrap(), "--registry"];
    let url = reg.url("p");
    args.push(&url);
    if let Some(k) = key {
        args.extend(["--key", k]);
    }
    ok(env, &args).0.trim().to_owned()
}

fn project(env: &Env, name: &str, registry: &str, extra: &str) -> PathBuf {
    let root = env.work().join(name);
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("aibox.toml"),
        format!("[registries]\ndefault = \"{registry}\"\n[packs]\ntool = \"*\"\n{extra}"),
    )
    .unwrap();
    root
}

fn in_project(env: &Env, root: &Path, args: &[&str]) -> std::process::Output {
    aibox(env).current_dir(root).args(args).output().unwrap()
}

/// Copies a project's manifest and lock to a new directory (a second checkout).
fn copy_project(env: &Env, root: &Path, name: &str) -> PathBuf {
    let copy = env.work().join(name);
    std::fs::create_dir_all(&copy).unwrap();
    for file in ["aibox.toml", "aibox.lock"] {
        std::fs::copy(root.join(file), copy.join(file)).unwrap();
    }
    copy
}

fn lock_signer(root: &Path) -> Option<String> {
    let lock = std::fs::read_to_string(root.join("aibox.lock")).unwrap();
    lock.lines()
        .find_map(|l| l.strip_prefix("signer = \""))
        .map(|s| s.trim_end_matches('"').to_owned())
}

#[test]
fn keys_interoperate_with_the_independent_implementation() {
    let env = Env::new();
    let (fp, _) = ok(&env, &["keygen", "--output-key-prefix", "team"]);
    let mode = std::fs::metadata(env.work().join("team.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the private key is the owner's only");
    let key = std::fs::read_to_string(env.work().join("team.key")).unwrap();
    assert!(
        key.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"),
        "{key}"
    );
    // The other implementation loads aibox's key: same public key.
    let out = cosign(&env, &["public-key", "--key", "team.key"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        std::fs::read_to_string(env.work().join("team.pub"))
            .unwrap()
            .trim()
    );
    // And aibox loads the other implementation's key (cosign's default scrypt cost).
    let out = cosign(&env, &["generate-key-pair", "--output-key-prefix", "py"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (fp_py, _) = ok(&env, &["trust", "add", "py.pub"]);
    assert!(fp_py.trim().starts_with("sha256:") && fp_py != fp);
    // A wrong password is a clear error (on a version that exists, so the key is the problem).
    let dir = pack(&env, "1.0.0");
    ok(&env, &["pack", "build", dir.to_str().unwrap(), "-o", "lay"]);
    let out = env
        .aibox()
        .env("AIBOX_PASSWORD", "wrong")
        .args(["sign", "oci-layout:lay:tool:1.0.0", "--key", "team.key"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out),
        "error: wrong password for the key `team.key`\nhint: check `AIBOX_PASSWORD` (or `COSIGN_PASSWORD`), or unset it to be asked on a terminal\n"
    );
    let out = env
        .aibox()
        .args(["keygen", "--output-key-prefix", "nopass"])
        .output()
        .unwrap();
    assert!(stderr(&out).contains("AIBOX_PASSWORD"), "{}", stderr(&out));
}

#[test]
fn aibox_signatures_verify_with_the_independent_implementation_and_back() {
    let reg = Registry::start();
    let env = Env::new();
    ok(&env, &["keygen", "--output-key-prefix", "a"]);
    let digest = publish(&env, &reg, "1.0.0", Some("a.key"));
    // The independent implementation reads the signature manifest from the registry.
    let registry = format!("http://{}", reg.host());
    let on_registry = |verb: &str, key: &str| {
        let args = [
            verb,
            "--key",
            key,
            "--registry",
            &registry,
            "--repo",
            "p/tool",
            "--digest",
            &digest,
        ];
        cosign(&env, &args)
    };
    let out = on_registry("verify-registry", "a.pub");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(
        (v["verified"].as_u64(), v["layers"].as_u64()),
        (Some(1), Some(1))
    );

    // It signs with its own key (appending, as cosign does); aibox verifies that signature.
    assert!(
        cosign(&env, &["generate-key-pair", "--output-key-prefix", "b"])
            .status
            .success()
    );
    let out = on_registry("sign-registry", "b.key");
    assert!(out.status.success(), "{}", stderr(&out));
    let tool = format!("{}/tool:1.0.0", reg.url("p"));
    let (signers, _) = ok(&env, &["verify", &tool, "--key", "b.pub"]);
    assert_eq!(signers.lines().count(), 1);
    let (signers, _) = ok(&env, &["verify", &tool, "--key", "a.pub"]);
    assert_eq!(
        signers.lines().count(),
        1,
        "appending kept aibox's signature"
    );
    // A key that signed nothing does not verify.
    ok(&env, &["keygen", "--output-key-prefix", "c"]);
    let err = fails(&env, &["verify", &tool, "--key", "c.pub"]);
    assert!(
        err.contains("none of its 2 signature(s) verifies with that key"),
        "{err}"
    );
    // Signing again with the same key adds nothing.
    let (_, err) = ok(&env, &["sign", &tool, "--key", "a.key"]);
    assert!(err.contains("Signed already"), "{err}");
    let out = on_registry("verify-registry", "a.pub");
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["layers"].as_u64(), Some(2));
    // `info` shows the verified status, not the presence of a tag.
    ok(&env, &["trust", "add", "b.pub"]);
    let (info, _) = ok(
        &env,
        &["info", "tool", "--registry", &reg.url("p"), "--json"],
    );
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert!(
        info["trust"].as_str().unwrap().ends_with(", trusted"),
        "{info}"
    );
}

#[test]
fn the_policy_decides_what_enters_a_generation() {
    let reg = Registry::start();
    let env = Env::new();
    ok(&env, &["keygen", "--output-key-prefix", "a"]);
    ok(&env, &["keygen", "--output-key-prefix", "stranger"]);
    publish(&env, &reg, "1.0.0", None);

    // enterprise: unsigned refused, nothing switched.
    ok(&env, &["config", "init", "--template", "enterprise"]);
    let root = project(&env, "p", &reg.url("p"), "");
    let out = in_project(&env, &root, &["sync"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("refusing `tool@1.0.0`") && stderr(&out).contains("it is not signed"),
        "{}",
        stderr(&out)
    );
    assert!(!root.join(".aibox/current/bin/tool").exists());

    // dev: warned and installed; minimal: silent.
    ok(&env, &["config", "set", "trust.policy", "dev"]);
    let out = in_project(&env, &root, &["sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning:") && stderr(&out).contains("it is not signed"),
        "{}",
        stderr(&out)
    );
    assert!(root.join(".aibox/current/bin/tool").exists());
    ok(&env, &["config", "set", "trust.policy", "minimal"]);
    std::fs::remove_file(root.join("aibox.lock")).unwrap();
    let out = in_project(&env, &root, &["lock"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Exactly the lock's status lines: no warning, no note about signatures.
    assert_eq!(
        stderr(&out),
        format!(
            "    Resolved 1 packs\n      Adding tool 1.0.0\n      Locked `{}`\n",
            root.join("aibox.lock").display()
        )
    );

    // A project may tighten the policy: require-signed refuses it again under minimal.
    let strict = project(
        &env,
        "strict",
        &reg.url("p"),
        "[policy]\nrequire-signed = true\n",
    );
    let out = in_project(&env, &strict, &["sync"]);
    assert!(
        !out.status.success() && stderr(&out).contains("it is not signed"),
        "{}",
        stderr(&out)
    );

    // enterprise with a trusted key: signed by a stranger is refused; signed by the trusted
    // key is accepted and its signer is pinned in the lock.
    ok(&env, &["config", "set", "trust.policy", "enterprise"]);
    ok(
        &env,
        &["trust", "add", "a.pub", "--registry", &reg.url("p")],
    );
    let tool = format!("{}/tool:1.0.0", reg.url("p"));
    ok(&env, &["sign", &tool, "--key", "stranger.key"]);
    let fresh = project(&env, "fresh", &reg.url("p"), "");
    let out = in_project(&env, &fresh, &["sync"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("signed, but by no key trusted"),
        "{}",
        stderr(&out)
    );
    ok(&env, &["sign", &tool, "--key", "a.key"]);
    let out = in_project(&env, &fresh, &["sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let fp_a = std::fs::read_to_string(env.user_home().join(".config/aibox/config.toml")).unwrap();
    let signer = lock_signer(&fresh).expect("the lock records the signer");
    assert!(fp_a.contains(&signer), "{signer} is key a");
    // A key trusted for another registry does not count here.
    ok(&env, &["trust", "remove", &signer]);
    ok(
        &env,
        &[
            "trust",
            "add",
            "a.pub",
            "--registry",
            "oci://elsewhere.example/x",
        ],
    );
    std::fs::remove_file(fresh.join("aibox.lock")).unwrap();
    let out = in_project(&env, &fresh, &["lock"]);
    assert!(
        !out.status.success() && stderr(&out).contains("no key is trusted for its registry"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_changed_signer_is_refused_until_accepted_and_a_moved_tag_is_caught() {
    let reg = Registry::start();
    let env = Env::new();
    ok(&env, &["keygen", "--output-key-prefix", "k1"]);
    ok(&env, &["keygen", "--output-key-prefix", "k2"]);
    ok(&env, &["config", "init", "--template", "enterprise"]);
    let (fp1, _) = ok(&env, &["trust", "add", "k1.pub"]);
    let (fp2, _) = ok(&env, &["trust", "add", "k2.pub"]);
    let digest = publish(&env, &reg, "1.0.0", Some("k1.key"));
    let root = project(&env, "p", &reg.url("p"), "");
    let out = in_project(&env, &root, &["sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(lock_signer(&root).as_deref(), Some(fp1.trim()));

    // The publisher signs with k2 too, and k1 stops being trusted: k2 is trusted, but it is
    // not the signer the lock pinned.
    let tool = format!("{}/tool:1.0.0", reg.url("p"));
    ok(&env, &["sign", &tool, "--key", "k2.key"]);
    ok(&env, &["trust", "remove", fp1.trim()]);
    std::fs::remove_dir_all(env.home().join("store-v2/signatures")).unwrap();
    // A checkout of the same project elsewhere (a fresh environment, nothing to reuse).
    let root = copy_project(&env, &root, "p-again");
    let out = in_project(&env, &root, &["sync", "--frozen"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("was locked as signed by")
            && err.contains(&fp1.trim()[7..19])
            && err.contains(&fp2.trim()[7..19]),
        "{err}"
    );
    assert!(err.contains("aibox lock --upgrade-package tool"), "{err}");
    // Accepting it deliberately re-pins the signer.
    let out = in_project(&env, &root, &["lock", "--upgrade-package", "tool"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(lock_signer(&root).as_deref(), Some(fp2.trim()));
    assert!(in_project(&env, &root, &["sync"]).status.success());

    // The tag moves to an unsigned manifest: a project locking it now is refused; the
    // locked digest still installs.
    let other = pack(&env, "1.0.0");
    std::fs::write(other.join("extra"), "moved").unwrap();
    let layout = env.work().join("moved-layout");
    ok(
        &env,
        &[
            "pack",
            "build",
            other.to_str().unwrap(),
            "-o",
            layout.to_str().unwrap(),
        ],
    );
    ok(
        &env,
        &["pack", "push", layout.to_str().unwrap(), &reg.url("p")],
    );
    let fresh = project(&env, "fresh", &reg.url("p"), "");
    let out = in_project(&env, &fresh, &["sync"]);
    assert!(
        !out.status.success() && stderr(&out).contains("it is not signed"),
        "{}",
        stderr(&out)
    );
    let out = in_project(&env, &root, &["sync", "--frozen"]);
    assert!(
        out.status.success(),
        "the locked, signed digest still installs: {}",
        stderr(&out)
    );
    assert_ne!(digest, "");
}

#[test]
fn a_vendored_layout_verifies_with_no_network() {
    let mut reg = Registry::start();
    let env = Env::new();
    ok(&env, &["keygen", "--output-key-prefix", "k"]);
    ok(&env, &["config", "init", "--template", "enterprise"]);
    let (fp, _) = ok(&env, &["trust", "add", "k.pub"]);
    let digest = publish(&env, &reg, "1.0.0", Some("k.key"));
    let root = project(&env, "p", &reg.url("p"), "");
    assert!(in_project(&env, &root, &["sync"]).status.success());
    let out = in_project(&env, &root, &["vendor", "vendor"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 signature(s)"), "{}", stderr(&out));
    // The independent implementation finds the signature in the layout.
    let out = cosign(
        &env,
        &[
            "verify-layout",
            "--key",
            "k.pub",
            "--layout",
            root.join("vendor").to_str().unwrap(),
            "--name",
            "tool",
            "--digest",
            &digest,
        ],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    // No registry at all, a fresh store: the layout's signature is verified.
    reg.kill();
    let air = project(&env, "air", "oci-layout:../p/vendor", "");
    let fresh_home = env.work().join("fresh-home");
    let out = aibox(&env)
        .current_dir(&air)
        .env("AIBOX_HOME", &fresh_home)
        .args(["sync", "--offline"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(lock_signer(&air).as_deref(), Some(fp.trim()));
    // The original project, unedited, syncs from the layout as a mirror: with --mirror and
    // --offline, and with AIBOX_MIRROR while its registry is simply gone.
    let manifest = std::fs::read(root.join("aibox.toml")).unwrap();
    let lock = std::fs::read(root.join("aibox.lock")).unwrap();
    let vendor = format!("oci-layout:{}", root.join("vendor").display());
    for (i, how) in ["flag", "env", "config"].iter().enumerate() {
        let home = env.work().join(format!("mirror-home-{i}"));
        let mut cmd = aibox(&env);
        cmd.current_dir(&root).env("AIBOX_HOME", &home);
        if *how == "flag" {
            cmd.args([
                "sync",
                "--locked",
                "--offline",
                "--mirror",
                "oci-layout:vendor",
            ]);
        } else if *how == "env" {
            cmd.env("AIBOX_MIRROR", "oci-layout:vendor")
                .args(["sync", "--locked"]);
        } else {
            ok(&env, &["config", "set", "mirrors", &vendor]);
            cmd.args(["sync", "--locked"]);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{how}: {}", stderr(&out));
        assert_eq!(std::fs::read(root.join("aibox.toml")).unwrap(), manifest);
        assert_eq!(std::fs::read(root.join("aibox.lock")).unwrap(), lock);
        let run = std::process::Command::new(root.join(".aibox/current/bin/tool"))
            .output()
            .unwrap();
        assert!(run.status.success(), "{how}: the mirrored tool runs");
        // The signature was verified from the mirror, under the enterprise policy.
        let log = std::fs::read_to_string(home.join("log/audit.jsonl")).unwrap();
        assert!(
            log.lines()
                .any(|l| l.contains("\"verdict\":\"signed\"") && l.contains(fp.trim())),
            "{how}: {log}"
        );
    }
    // A mirror whose content differs from the lock is not trusted: the layout's largest blob
    // (the pack's layer) is damaged, and with the origin gone the sync fails, changing nothing.
    let layer = std::fs::read_dir(root.join("vendor/blobs/sha256"))
        .unwrap()
        .map(|b| b.unwrap().path())
        .max_by_key(|b| std::fs::metadata(b).unwrap().len())
        .unwrap();
    std::fs::set_permissions(&layer, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut bad = std::fs::read(&layer).unwrap();
    let middle = bad.len() / 2;
    bad[middle] ^= 1;
    std::fs::write(&layer, bad).unwrap();
    let home = env.work().join("mirror-home-bad");
    let out = aibox(&env)
        .current_dir(&root)
        .env("AIBOX_HOME", &home)
        .args([
            "sync",
            "--locked",
            "--offline",
            "--mirror",
            "oci-layout:vendor",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("mirror"), "{}", stderr(&out));
    assert_eq!(std::fs::read(root.join("aibox.lock")).unwrap(), lock);
}

#[test]
fn configuration_keys_are_checked_and_version_1_is_migrated() {
    let env = Env::new();
    ok(&env, &["keygen", "--output-key-prefix", "old"]);
    let dir = env.user_home().join(".config/aibox");
    std::fs::create_dir_all(&dir).unwrap();
    let fixture =
        std::fs::read_to_string(common::repo_root().join("tests/fixtures/config/v1.toml"))
            .unwrap()
            .replace("@KEY@", env.work().join("old.pub").to_str().unwrap());
    std::fs::write(dir.join("config.toml"), fixture).unwrap();
    let (list, _) = ok(&env, &["config", "list"]);
    assert!(list.contains("trust.policy = enterprise"), "{list}");
    assert!(list.contains("trust.keys.0 = sha256:"), "{list}");
    // The first write stores version 2.
    ok(&env, &["config", "set", "update.check", "false"]);
    let text = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    assert!(
        text.contains("version = 2") && text.contains("policy = \"enterprise\""),
        "{text}"
    );
    assert!(
        text.contains("[[trust.keys]]") && !text.contains("require-signed"),
        "{text}"
    );
    assert_eq!(
        ok(&env, &["config", "get", "update.check"]).0.trim(),
        "false"
    );
    // Unknown keys, in the file and on the command line, with a suggestion.
    std::fs::write(
        dir.join("config.toml"),
        "version = 2\n[trust]\npolicey = \"dev\"\n",
    )
    .unwrap();
    let err = fails(&env, &["config", "list"]);
    assert!(
        err.contains("config.toml:3:1") && err.contains("did you mean `policy`"),
        "{err}"
    );
    std::fs::remove_file(dir.join("config.toml")).unwrap();
    let err = fails(&env, &["config", "set", "trust.polcy", "dev"]);
    assert!(err.contains("did you mean `trust.policy`"), "{err}");
    let err = fails(&env, &["config", "set", "trust.policy", "lax"]);
    assert!(err.contains("unknown policy `lax`"), "{err}");
    let (path, _) = ok(&env, &["config", "path"]);
    assert_eq!(PathBuf::from(path.trim()), dir.join("config.toml"));
}

#[test]
fn the_audit_log_records_and_survives_concurrent_writers() {
    let reg = Registry::start();
    let env = Env::new();
    ok(&env, &["keygen", "--output-key-prefix", "k"]);
    ok(&env, &["trust", "add", "k.pub"]);
    publish(&env, &reg, "1.0.0", Some("k.key"));
    let root = project(&env, "p", &reg.url("p"), "");
    assert!(in_project(&env, &root, &["sync"]).status.success());
    assert!(in_project(&env, &root, &["rollback"]).status.success());
    ok(&env, &["gc"]);
    let (log, _) = ok(&env, &["log", "--json"]);
    // One JSON object per line, as trust.md says.
    let lines = |text: &str| -> Vec<serde_json::Value> {
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let events = lines(&log);
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in ["sign", "trust", "verify", "switch", "rollback", "gc"] {
        assert!(actions.contains(&a), "no `{a}` event in {actions:?}");
    }
    let verify = events
        .iter()
        .find(|e| e["action"] == "verify" && e["detail"]["pack"] == "tool")
        .unwrap();
    assert_eq!(verify["detail"]["verdict"], "signed");
    assert!(
        verify["detail"]["signer"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert!(verify["user"].as_str().is_some_and(|u| !u.is_empty()) && verify["time"].is_string());
    // --since filters by time.
    let (recent, _) = ok(&env, &["log", "--json", "--since", "1h"]);
    assert_eq!(lines(&recent).len(), events.len());
    let (none, _) = ok(&env, &["log", "--json", "--since", "2099-01-01"]);
    assert_eq!(none, "");

    // Many processes appending at once: every line whole.
    let before = events.len();
    let bin = assert_cmd::cargo::cargo_bin("aibox");
    let children: Vec<_> = (0..8)
        .map(|_| {
            std::process::Command::new(&bin)
                .args(["store", "verify"])
                .env("AIBOX_HOME", env.home())
                .env("HOME", env.user_home())
                .env("CI", "1")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let text = std::fs::read_to_string(env.home().join("log/audit.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), before + 8);
    for l in lines {
        serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("{e}: {l}"));
    }
}

#[test]
fn the_documented_key_rotation_records_the_new_signer() {
    let reg = Registry::start();
    let env = Env::new();
    ok(&env, &["keygen", "--output-key-prefix", "old"]);
    ok(&env, &["keygen", "--output-key-prefix", "new"]);
    ok(&env, &["config", "init", "--template", "enterprise"]);
    let (fp_old, _) = ok(&env, &["trust", "add", "old.pub"]);
    // Steps 1 and 2: a new key, trusted beside the old one.
    let (fp_new, _) = ok(&env, &["trust", "add", "new.pub"]);
    publish(&env, &reg, "1.0.0", Some("old.key"));
    let root = project(&env, "p", &reg.url("p"), "");
    assert!(in_project(&env, &root, &["sync"]).status.success());
    assert_eq!(lock_signer(&root).as_deref(), Some(fp_old.trim()));
    // Step 3: the version in use is re-signed with the new key (signatures append).
    ok(
        &env,
        &[
            "sign",
            &format!("{}/tool:1.0.0", reg.url("p")),
            "--key",
            "new.key",
        ],
    );
    // Step 4: the documented command records the new signer, and says so.
    let out = in_project(&env, &root, &["lock", "--upgrade-package", "tool"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("Re-signing tool 1.0.0: signer"), "{err}");
    assert_eq!(lock_signer(&root).as_deref(), Some(fp_new.trim()));
    // Step 5: the old key retired; a new machine (nothing kept) syncs the committed lock.
    ok(&env, &["trust", "remove", fp_old.trim()]);
    std::fs::remove_dir_all(env.home().join("store-v2/signatures")).unwrap();
    let copy = copy_project(&env, &root, "new-machine");
    let out = in_project(&env, &copy, &["sync", "--frozen"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_stricter_policy_holds_for_environments_already_synced() {
    let env = Env::new();
    common::copy_tree(
        &common::repo_root().join("packs"),
        &env.work().join("packs"),
    );
    let root = project(&env, "p", "dir:../packs", "").to_path_buf();
    std::fs::write(
        root.join("aibox.toml"),
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\nhello = \"1\"\n",
    )
    .unwrap();
    assert!(in_project(&env, &root, &["sync"]).status.success());
    ok(&env, &["config", "init", "--template", "enterprise"]);
    // The same lock, the same generation: but `dir:` packs are refused now.
    let out = in_project(&env, &root, &["sync"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("it comes from a `dir:` source"), "{err}");
    let out = in_project(&env, &root, &["run", "--", "hello"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(!stdout(&out).contains("Hello"), "a refused pack ran");
    let out = in_project(&env, &root, &["doctor", "--json"]);
    let checks: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let project = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("project "))
        })
        .unwrap();
    assert_eq!(project["status"], "fail", "{project}");
    // Allowed again by the configuration: judged again, fresh.
    ok(&env, &["config", "set", "trust.allow-dir", "true"]);
    let out = in_project(&env, &root, &["sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("Fresh"), "{}", stderr(&out));
}

#[test]
fn with_no_home_the_audit_log_is_never_written_somewhere_else() {
    let env = Env::new();
    ok(&env, &["keygen", "--output-key-prefix", "k"]);
    let config = env.work().join("config.toml");
    // Neither AIBOX_HOME nor HOME: there is no home, so no log — not one in the current
    // directory.
    let out = aibox(&env)
        .env_remove("AIBOX_HOME")
        .env_remove("HOME")
        .env_remove("XDG_STATE_HOME")
        .env("AIBOX_CONFIG", &config)
        .args(["trust", "add", "k.pub"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::read_to_string(&config)
            .unwrap()
            .contains("fingerprint")
    );
    assert!(!env.work().join("log").exists(), "no ./log/audit.jsonl");
    assert!(
        stderr(&out).contains("was not written to the audit log"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn config_get_of_an_unset_key_says_so_and_an_empty_value_unsets() {
    let env = Env::new();
    let config = env.work().join("c.toml");
    let run = |args: &[&str]| {
        aibox(&env)
            .env("AIBOX_CONFIG", &config)
            .args(args)
            .output()
            .unwrap()
    };
    // A known key that is not set: said so, not "unknown … did you mean <the same key>".
    let out = run(&["config", "get", "update.registry"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("`update.registry` is not set"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("did you mean"), "{}", stderr(&out));
    let out = run(&["config", "get", "update.registry.x"]);
    assert!(
        stderr(&out).contains("unknown configuration key"),
        "{}",
        stderr(&out)
    );
    // Set, then unset with an empty value: back to the default, gone from the file.
    for args in [
        &["config", "set", "trust.policy", "enterprise"][..],
        &[
            "config",
            "set",
            "registries.team.url",
            "oci://registry.example/team",
        ],
        &["config", "set", "registries.team.username", "bob"],
    ] {
        let out = run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(
        stdout(&run(&["config", "get", "trust.policy"])).trim(),
        "enterprise"
    );
    for key in ["trust.policy", "registries.team.username"] {
        let out = run(&["config", "set", key, ""]);
        assert!(out.status.success(), "{key}: {}", stderr(&out));
    }
    // The policy is its default again; the username is not set at all.
    assert_eq!(
        stdout(&run(&["config", "get", "trust.policy"])).trim(),
        "dev"
    );
    let out = run(&["config", "get", "registries.team.username"]);
    assert!(stderr(&out).contains("is not set"), "{}", stderr(&out));
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        !text.contains("enterprise") && !text.contains("bob"),
        "{text}"
    );
    assert!(text.contains("registry.example/team"), "{text}");
    // A registry's url unset removes the registry.
    assert!(
        run(&["config", "set", "registries.team.url", ""])
            .status
            .success()
    );
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(!text.contains("team"), "{text}");
}
