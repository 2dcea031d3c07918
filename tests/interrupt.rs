//! Ctrl-C in the middle of a sync: one line saying nothing was switched, exit status 130; what
//! the interrupted run staged is counted by `gc --dry-run`, removed by the next sync (the
//! owner is gone), and never touches the current generation.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::Sandbox;
use common::fake::{FakeRegistry, Reply};

/// Bytes of the temporary files (`.tmp-*`) directly in `dir`.
fn staged(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum()
}

#[test]
fn ctrl_c_mid_download_says_so_and_the_next_sync_removes_what_it_staged() {
    // An archive that never ends: the download is still running when Ctrl-C comes.
    let server = FakeRegistry::start(|_| Reply::endless(200));
    let sb = Sandbox::new();
    sb.repo_packs();
    let app = sb.project(
        "app",
        &format!(
            "[registries]\ndefault = \"dir:../packs\"\ntool = \"http://{}/tool-1.0.0.tar.gz\"\n\n[packs]\nhello = \"1\"\ntool = {{ version = \"1\", registry = \"tool\" }}\n",
            server.host()
        ),
    );
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("aibox"))
        .current_dir(&app)
        .env("AIBOX_HOME", sb.home())
        .env("HOME", sb.path().join("user"))
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .arg("sync")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let tmp = sb.home().join("store-v2/tmp");
    let start = Instant::now();
    while !(tmp.exists() && staged(&tmp) > 4 << 20) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the download never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) on the pid of our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.trim_end()
            .ends_with("interrupted; nothing was switched"),
        "{err}"
    );
    let left = staged(&tmp);
    assert!(left > 4 << 20, "the interrupted download left {left} bytes");
    assert!(
        !app.join(".aibox/current").exists() || {
            let current = std::fs::read_link(app.join(".aibox/current")).unwrap();
            std::fs::read_link(current).unwrap() == Path::new("generations/0")
        }
    );

    // gc's dry run counts every byte it would free, staging included.
    let (out, _) = sb.ok(&app, &["gc", "--dry-run", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(report["bytes_freed"].as_u64().unwrap() >= left, "{report}");

    // The next sync (without the endless archive) removes what the dead run staged.
    std::fs::write(
        app.join("aibox.toml"),
        "[registries]\ndefault = \"dir:../packs\"\n\n[packs]\nhello = \"1\"\n",
    )
    .unwrap();
    let (_, err) = sb.ok(&app, &["sync"]);
    assert!(
        err.contains("an interrupted run left in the store's staging area"),
        "{err}"
    );
    assert_eq!(staged(&tmp), 0);
    let owners = std::fs::read_dir(&tmp)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".owner-"))
        .count();
    assert!(
        owners <= 1,
        "only this run's own claim may remain, found {owners}"
    );
}
