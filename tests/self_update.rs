//! Self-update against a real registry on loopback: two releases published by
//! `scripts/release` (the test build and the same code built as 99.1.0 by scripts/test),
//! installed by `scripts/install.sh`, then `self update`, `--check`, `self rollback`, the update
//! notice (time injected, on a real pseudo-terminal through `script`), refusals under the
//! enterprise policy, `kill -9` mid-update, and `requires-aibox`.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::oci::{Env, stderr, stdout};
use common::registry::Registry;

const NEW: &str = "99.1.0";

fn old() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// The same aibox built to report 99.1.0 (scripts/test builds it).
fn new_binary() -> PathBuf {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_aibox"));
    let path = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("self-update")
        .join(format!("aibox-{NEW}"));
    assert!(
        path.exists(),
        "`{}` is missing: scripts/test builds it (AIBOX_BUILD_VERSION={NEW} cargo build --bin aibox)",
        path.display()
    );
    path
}

struct World {
    env: Env,
    reg: Registry,
    changelog: PathBuf,
}

impl World {
    fn new() -> World {
        let env = Env::new();
        let changelog = env.root.path().join("CHANGELOG.md");
        std::fs::write(
            &changelog,
            format!(
                "# Changelog\n\n## {NEW}\n- a much newer aibox\n\n## {}\n- the old one\n",
                old()
            ),
        )
        .unwrap();
        World {
            env,
            reg: Registry::start(),
            changelog,
        }
    }

    fn bin_dir(&self) -> PathBuf {
        self.env.root.path().join("bin")
    }

    /// The installed entry point, `<bin>/aibox`.
    fn aibox_path(&self) -> PathBuf {
        self.bin_dir().join("aibox")
    }

    fn url(&self, base: &str) -> String {
        self.reg.url(base)
    }

    /// A command with this world's homes and configuration, outside CI.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.current_dir(self.env.work())
            .env("AIBOX_HOME", self.env.home())
            .env("HOME", self.env.user_home())
            .env("AIBOX_BIN_DIR", self.bin_dir())
            .env("AIBOX_PASSWORD", "release-password")
            .env("NO_COLOR", "1")
            .env("CI", "true")
            .env_remove("AIBOX_SELF_REGISTRY")
            .env_remove("AIBOX_CONFIG")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_BIN_HOME")
            .env_remove("AIBOX_UPDATE_CHECK")
            .env_remove("AIBOX_NOW");
        c
    }

    /// Run the installed `aibox`.
    fn installed(&self, args: &[&str]) -> Output {
        self.command(self.aibox_path()).args(args).output().unwrap()
    }

    fn installed_ok(&self, args: &[&str]) -> String {
        let out = self.installed(args);
        assert!(
            out.status.success(),
            "aibox {args:?}:\n{}\n{}",
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }

    fn version(&self) -> String {
        self.installed_ok(&["--version"]).trim().to_owned()
    }

    fn release(&self, binary: &Path, base: &str, key: Option<&str>) {
        let mut c = self.command(common::repo_root().join("scripts/release"));
        c.arg("--binary")
            .arg(binary)
            .args(["--registry", &self.url(base)])
            .arg("--changelog")
            .arg(&self.changelog);
        if let Some(k) = key {
            c.args(["--key", k]);
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "release:\n{}\n{}",
            stdout(&out),
            stderr(&out)
        );
    }

    fn install_sh(&self, base: &str, version: &str, key: Option<&str>) -> Output {
        let mut c = self.command("sh");
        c.arg(common::repo_root().join("scripts/install.sh")).args([
            "--registry",
            &self.url(base),
            "--version",
            version,
        ]);
        if let Some(k) = key {
            c.args(["--key", k]);
        }
        c.output().unwrap()
    }

    fn keygen(&self) {
        let out = self
            .command(env!("CARGO_BIN_EXE_aibox"))
            .args(["keygen", "--output-key-prefix", "release"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }

    /// The self profile's generation ids.
    fn self_generations(&self) -> Vec<u64> {
        let mut ids: Vec<u64> =
            std::fs::read_dir(self.env.home().join("profiles/self/generations"))
                .unwrap()
                .filter_map(|e| e.unwrap().file_name().to_str()?.parse().ok())
                .collect();
        ids.sort();
        ids
    }

    /// Two releases (the test build, then 99.1.0) at `base`, signed with `release.key`.
    fn two_signed_releases(&self, base: &str) {
        self.keygen();
        self.release(
            Path::new(env!("CARGO_BIN_EXE_aibox")),
            base,
            Some("release.key"),
        );
        self.release(&new_binary(), base, Some("release.key"));
    }
}

#[test]
fn install_update_check_and_rollback_through_a_loopback_registry() {
    let w = World::new();
    w.two_signed_releases("rel");
    let out = w.install_sh("rel", &old(), Some("release.pub"));
    assert!(out.status.success(), "install.sh:\n{}", stderr(&out));
    assert!(
        stderr(&out).contains("signature by release.pub verified"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.version(), format!("aibox {}", old()));
    // The entry is a link to the self profile, not a copy.
    let target = std::fs::read_link(w.aibox_path()).unwrap();
    assert_eq!(target, w.env.home().join("profiles/self/current/bin/aibox"));

    // --check says what is available and changes nothing.
    let before = w.self_generations();
    let out = w.installed_ok(&["self", "update", "--check"]);
    assert!(
        out.contains(&format!("aibox {NEW} is available (you have {})", old())),
        "{out}"
    );
    assert_eq!(w.self_generations(), before);
    assert_eq!(w.version(), format!("aibox {}", old()));
    // `update --check` is the same question.
    assert_eq!(w.installed_ok(&["update", "--check"]), out);
    assert_eq!(w.self_generations(), before);

    // The update: a new generation, the changelog between the two, the new binary runs.
    let out = w.installed(&["self", "update"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("a much newer aibox"),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains("the old one"), "{}", stdout(&out));
    assert_eq!(w.version(), format!("aibox {NEW}"));
    assert_eq!(w.self_generations().len(), before.len() + 1);
    // Up to date now: nothing new.
    let out = w.installed(&["update", "--self"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(w.self_generations().len(), before.len() + 1);

    // And back (`update --rollback` is `self rollback`).
    let out = w.installed(&["update", "--rollback"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(w.version(), format!("aibox {}", old()));
    // Going forward again (`update --all`: aibox itself, and no project here) takes the stored
    // tree; going below the running version needs --version.
    w.installed_ok(&["update", "--all"]);
    assert_eq!(w.version(), format!("aibox {NEW}"));
    w.installed_ok(&["self", "update", "--version", &format!("={}", old())]);
    assert_eq!(w.version(), format!("aibox {}", old()));
    let store = w.installed(&["store", "verify"]);
    assert!(store.status.success(), "{}", stderr(&store));
}

#[test]
fn a_binary_installed_another_way_is_adopted_for_rollback() {
    let w = World::new();
    w.release(&new_binary(), "rel", None);
    // An aibox copied somewhere by hand (as `cargo install` would).
    let elsewhere = w.env.root.path().join("cargo-bin");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let copy = elsewhere.join("aibox");
    std::fs::copy(env!("CARGO_BIN_EXE_aibox"), &copy).unwrap();
    let out = w
        .command(&copy)
        .env("AIBOX_SELF_REGISTRY", w.url("rel"))
        .args(["self", "update"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(w.version(), format!("aibox {NEW}"));
    // The hand-installed file is untouched; rollback returns to a copy of it in the store.
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        std::fs::read(env!("CARGO_BIN_EXE_aibox")).unwrap()
    );
    w.installed_ok(&["self", "rollback"]);
    assert_eq!(w.version(), format!("aibox {}", old()));
}

#[test]
fn corrupted_or_unsigned_releases_are_refused_and_the_old_aibox_still_runs() {
    let w = World::new();
    w.keygen();
    w.release(
        Path::new(env!("CARGO_BIN_EXE_aibox")),
        "rel",
        Some("release.key"),
    );
    let out = w.install_sh("rel", &old(), Some("release.pub"));
    assert!(out.status.success(), "{}", stderr(&out));
    w.installed_ok(&["config", "set", "trust.policy", "enterprise"]);
    let generations = w.self_generations();

    // An unsigned newer release: refused under the enterprise policy.
    w.release(&new_binary(), "rel", None);
    let out = w.installed(&["self", "update"]);
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).lines().next().unwrap_or_default(),
        format!(
            "error: refusing `aibox@{NEW}` from `{}`: it is not signed",
            w.url("rel")
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.version(), format!("aibox {}", old()));
    assert_eq!(w.self_generations(), generations);
    // install.sh refuses it too when given the key.
    let out = w.install_sh("rel", NEW, Some("release.pub"));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is not signed"), "{}", stderr(&out));

    // A signed release whose layer was corrupted in the registry's storage.
    w.release(&new_binary(), "bad", Some("release.key"));
    let layers = layer_files(&w.reg);
    assert!(!layers.is_empty());
    for f in &layers {
        let mut bytes = std::fs::read(f).unwrap();
        let n = bytes.len();
        bytes[n / 2] ^= 0xff;
        std::fs::write(f, bytes).unwrap();
    }
    let out = w
        .command(w.aibox_path())
        .env("AIBOX_SELF_REGISTRY", w.url("bad"))
        .args(["self", "update"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", stderr(&out));
    // The error names the digest of one of the corrupted layers and the digest of the bytes
    // the registry served for it.
    let error = stderr(&out)
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_default()
        .to_owned();
    let prefix = format!(
        "error: digest mismatch for `bad/aibox` on {}: expected sha256:",
        w.reg.host()
    );
    let rest = error
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{error}"));
    let (expected, rest) = rest
        .split_once(", got sha256:")
        .unwrap_or_else(|| panic!("{error}"));
    let served = rest.split(' ').next().unwrap_or_default();
    let layer = layers
        .iter()
        .find(|f| {
            f.parent()
                .and_then(|d| d.file_name())
                .is_some_and(|n| n == expected)
        })
        .unwrap_or_else(|| panic!("`{expected}` is none of the corrupted layers: {error}"));
    assert_eq!(
        served,
        sha256_hex(&std::fs::read(layer).unwrap()),
        "{error}"
    );
    assert_eq!(w.version(), format!("aibox {}", old()));
    assert_eq!(w.self_generations(), generations);
}

/// Hex SHA-256 of `bytes`.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The registry's blob files larger than 1 MiB: the layers holding aibox binaries.
fn layer_files(reg: &Registry) -> Vec<PathBuf> {
    let some = reg.blob_file(&format!("sha256:{}", "0".repeat(64)));
    let root = some.ancestors().nth(3).unwrap().to_path_buf();
    let mut out = Vec::new();
    for shard in std::fs::read_dir(&root).unwrap() {
        for blob in std::fs::read_dir(shard.unwrap().path()).unwrap() {
            let data = blob.unwrap().path().join("data");
            if std::fs::metadata(&data).is_ok_and(|m| m.len() > 1 << 20) {
                out.push(data);
            }
        }
    }
    out
}

/// Run the installed aibox on a pseudo-terminal (`script`), at time `now`, outside CI unless
/// `ci`; returns what the terminal showed.
fn on_terminal(w: &World, now: u64, ci: bool, args: &str) -> String {
    let mut c = w.command("script");
    c.args(["-q", "-e", "-c"])
        .arg(format!("{} {args}", w.aibox_path().display()))
        .arg("/dev/null")
        .env("AIBOX_NOW", now.to_string())
        .env_remove("CI");
    if ci {
        c.env("CI", "true");
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    stdout(&out)
}

#[test]
fn the_update_notice_appears_once_a_day_and_never_in_ci() {
    let w = World::new();
    w.release(Path::new(env!("CARGO_BIN_EXE_aibox")), "rel", None);
    let out = w.install_sh("rel", &old(), None);
    assert!(out.status.success(), "{}", stderr(&out));
    w.release(&new_binary(), "rel", None);
    let cache = w.env.home().join("cache/self-update.json");
    let notice = format!("aibox {NEW} is available (you have {})", old());
    let t0: u64 = 2_000_000_000;

    // First command: no answer cached yet; a background check records one.
    let shown = on_terminal(&w, t0, false, "config path");
    assert!(!shown.contains(&notice), "{shown}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&cache).is_ok_and(|t| t.contains(NEW)) {
        assert!(
            Instant::now() < deadline,
            "no background check recorded an answer"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let cached: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    assert_eq!(cached["checked"], t0);

    // A minute later: the notice, once.
    assert!(on_terminal(&w, t0 + 60, false, "config path").contains(&notice));
    assert!(!on_terminal(&w, t0 + 120, false, "config path").contains(&notice));
    // Never in CI, nor with --quiet, nor when disabled, nor on a pipe — even a day later.
    let day = 24 * 3600;
    assert!(!on_terminal(&w, t0 + 2 * day, true, "config path").contains(&notice));
    assert!(!on_terminal(&w, t0 + 2 * day, false, "--quiet config path").contains(&notice));
    let mut c = w.command(w.aibox_path());
    let out = c
        .env_remove("CI")
        .env("AIBOX_NOW", (t0 + 2 * day).to_string())
        .args(["config", "path"])
        .output()
        .unwrap();
    assert!(!stderr(&out).contains(&notice), "{}", stderr(&out));
    // None of those asked the registry again.
    let cached: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    assert_eq!(cached["checked"], t0);
    w.installed_ok(&["config", "set", "update.check", "false"]);
    assert!(!on_terminal(&w, t0 + 2 * day, false, "config path").contains(&notice));
    w.installed_ok(&["config", "set", "update.check", "true"]);
    // A day after the last notice: shown again.
    assert!(on_terminal(&w, t0 + 2 * day, false, "config path").contains(&notice));
}

#[test]
fn kill_9_during_self_update_leaves_a_working_aibox() {
    let w = World::new();
    w.release(Path::new(env!("CARGO_BIN_EXE_aibox")), "rel", None);
    let out = w.install_sh("rel", &old(), None);
    assert!(out.status.success(), "{}", stderr(&out));
    w.release(&new_binary(), "rel", None);
    let versions = [format!("aibox {}", old()), format!("aibox {NEW}")];
    // Killed at every step of the update (fault injection in the test build: the process
    // SIGKILLs itself there): before the switch the old aibox stays, after it the new one
    // runs; never anything else.
    for point in aibox::fs::CRASH_POINTS {
        let switched = point == "switched";
        let out = w
            .command(w.aibox_path())
            .env("AIBOX_TEST_CRASH_AT", point)
            .args(["self", "update"])
            .output()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), Some(9), "{point}: {}", stderr(&out));
        let v = w.version();
        assert_eq!(v, versions[usize::from(switched)], "killed at `{point}`");
        if switched {
            w.installed_ok(&["self", "rollback"]);
        }
        let out = w.installed(&["store", "verify"]);
        assert!(out.status.success(), "{point}: {}", stderr(&out));
    }
    let out = w.installed(&["store", "verify"]);
    assert!(out.status.success(), "{}", stderr(&out));
    w.installed_ok(&["self", "update"]);
    assert_eq!(w.version(), versions[1]);
}

#[test]
fn requires_aibox_runs_the_matching_aibox_from_the_store() {
    let w = World::new();
    w.release(Path::new(env!("CARGO_BIN_EXE_aibox")), "rel", None);
    w.release(&new_binary(), "rel", None);
    let out = w.install_sh("rel", &old(), None);
    assert!(out.status.success(), "{}", stderr(&out));
    w.installed_ok(&["self", "update"]);
    w.installed_ok(&["self", "rollback"]);
    assert_eq!(w.version(), format!("aibox {}", old()));

    // A project that needs 99.x: the old aibox hands it to the 99.1.0 in the store.
    let project = w.env.work().join("needs-new");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("aibox.toml"),
        format!("requires-aibox = \"^{NEW}\"\n\n[registries]\n\n[packs]\n"),
    )
    .unwrap();
    let out = w
        .command(w.aibox_path())
        .current_dir(&project)
        .arg("sync")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(project.join("aibox.lock").exists());
    assert!(project.join(".aibox/current").exists());

    // One that needs a version nowhere in the store: a clear error, nothing written.
    let other = w.env.work().join("needs-other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(
        other.join("aibox.toml"),
        "requires-aibox = \"=5.0.0\"\n\n[registries]\n\n[packs]\n",
    )
    .unwrap();
    let out = w
        .command(w.aibox_path())
        .current_dir(&other)
        .arg("sync")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("requires aibox `=5.0.0`"), "{err}");
    assert!(
        err.contains("aibox self update --version '=5.0.0'"),
        "{err}"
    );
    assert!(!other.join("aibox.lock").exists());
}

#[test]
fn a_multi_platform_release_in_an_oci_layout_installs_the_hosts_binary() {
    let w = World::new();
    w.keygen();
    let layout = w.env.root.path().join("releases");
    // One artifact per platform in an image index: the host's binary and a stand-in for
    // another platform (a script that must never be picked here).
    let other = w.env.root.path().join("aibox-aarch64");
    std::fs::write(&other, "#!/bin/sh\necho 'aibox 0.0.0-wrong-platform'\n").unwrap();
    std::fs::set_permissions(&other, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let host = if cfg!(target_arch = "aarch64") {
        "linux-aarch64"
    } else {
        "linux-x86_64"
    };
    let foreign = if host == "linux-x86_64" {
        "linux-aarch64"
    } else {
        "linux-x86_64"
    };
    let release = || {
        w.command(common::repo_root().join("scripts/release"))
            .arg("--binary")
            .arg(format!("{host}={}", env!("CARGO_BIN_EXE_aibox")))
            .arg("--binary")
            .arg(format!("{foreign}={}", other.display()))
            .arg("--layout")
            .arg(&layout)
            .args(["--key", "release.key"])
            .output()
            .unwrap()
    };
    let out = release();
    // The stand-in reports another version: a release is one version.
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("but another binary is"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&other, format!("#!/bin/sh\necho 'aibox {}'\n", old())).unwrap();
    let out = release();
    assert!(out.status.success(), "{}", stderr(&out));
    let index = std::fs::read_to_string(layout.join("index.json")).unwrap();
    assert!(
        index.contains("aibox:sha256-"),
        "the release is signed: {index}"
    );

    // A wrong key is refused before anything runs.
    let out = w
        .command(env!("CARGO_BIN_EXE_aibox"))
        .args(["keygen", "--output-key-prefix", "stranger"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let install = |key: &str| {
        w.command("sh")
            .arg(common::repo_root().join("scripts/install.sh"))
            .arg("--layout")
            .arg(&layout)
            .args(["--key", key])
            .output()
            .unwrap()
    };
    let out = install("stranger.pub");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no valid signature"),
        "{}",
        stderr(&out)
    );
    assert!(!w.aibox_path().exists());

    let out = install("release.pub");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(w.version(), format!("aibox {}", old()));
    // The registry is remembered for later updates.
    let registry = w.installed_ok(&["config", "get", "update.registry"]);
    assert_eq!(registry.trim(), format!("oci-layout:{}", layout.display()));
}

#[test]
fn check_asks_the_registry_now_instead_of_a_cached_tag_list() {
    let w = World::new();
    w.release(Path::new(env!("CARGO_BIN_EXE_aibox")), "rel", None);
    let out = w.install_sh("rel", &old(), None);
    assert!(out.status.success(), "install.sh:\n{}", stderr(&out));
    let out = w.installed_ok(&["self", "update", "--check"]);
    assert!(
        out.contains(&format!("aibox {} is the newest", old())),
        "{out}"
    );
    // A release published a moment later (well within the tag cache's ten minutes) is seen
    // by the next question a person asks.
    w.release(&new_binary(), "rel", None);
    let out = w.installed_ok(&["self", "update", "--check"]);
    assert!(
        out.contains(&format!("aibox {NEW} is available (you have {})", old())),
        "{out}"
    );
    // Offline, the cached answer is all there is, and it is used.
    let out = w.installed(&["self", "update", "--check", "--offline"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("aibox {NEW} is available")),
        "{}",
        stdout(&out)
    );
}
