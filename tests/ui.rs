//! `aibox ui` in a real browser (Debian's chromium and chromedriver, driven by selenium from
//! tests/python/ui_browser.py) against a loopback registry, and `aibox catalog build`. The
//! browser searches, reads a pack's signer and permissions, is refused an update that asks
//! for more until it confirms, and rolls back; this side checks the effects on disk.
#![allow(clippy::disallowed_methods)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::oci::{Env, python3, require_tool, stderr};
use common::registry::Registry;

const PASSWORD: &str = "ui test";

fn aibox(env: &Env) -> assert_cmd::Command {
    let mut c = env.aibox();
    c.env("AIBOX_PASSWORD", PASSWORD);
    c
}

fn ok(env: &Env, cwd: &Path, args: &[&str]) -> String {
    let out = aibox(env).current_dir(cwd).args(args).output().unwrap();
    assert!(out.status.success(), "aibox {args:?}: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `fetcher` at `version`: a command, permissions, and a changelog.
fn fetcher(env: &Env, version: &str, connect: &str, extra: &str) -> PathBuf {
    common::write_pack(
        &env.work().join("src"),
        &format!(
            "[pack]\nname = \"fetcher\"\nversion = \"{version}\"\ndescription = \"Fetches things\"\n\
             [bin]\nfetcher = \"bin/fetcher\"\n[permissions]\nnet.connect = [{connect}]\n{extra}"
        ),
        &[
            (
                "bin/fetcher",
                &format!("#!/bin/sh\necho fetcher {version}\n"),
                true,
            ),
            (
                "CHANGELOG.md",
                "# Changelog\n\n## 1.1.0\n- scans faster\n\n## 1.0.0\n- first\n",
                false,
            ),
        ],
    )
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `aibox ui` in `cwd`; returns it and the URL it printed.
fn start_ui(env: &Env, cwd: &Path) -> (Server, String) {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("aibox"));
    cmd.current_dir(cwd)
        .args(["ui", "--no-open"])
        .env("AIBOX_HOME", env.home())
        .env("HOME", env.user_home())
        .env("NO_COLOR", "1")
        .env("CI", "1")
        .env_remove("AIBOX_CONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.contains("/?token="),
        "{url}"
    );
    (Server(child), url)
}

#[test]
fn the_page_discovers_updates_with_confirmation_and_rolls_back_in_a_browser() {
    require_tool("/usr/bin/chromium", &["--version"], "Debian's chromium");
    require_tool(
        "/usr/bin/chromedriver",
        &["--version"],
        "Debian's chromium-driver",
    );
    let reg = Registry::start();
    let env = Env::new();
    let url = reg.url("packs");
    ok(
        &env,
        &env.work(),
        &["keygen", "--output-key-prefix", "team"],
    );
    ok(&env, &env.work(), &["trust", "add", "team.pub"]);
    let publish = |dir: &Path| {
        let dir = dir.to_str().unwrap();
        let args = [
            "pack",
            "publish",
            dir,
            "--registry",
            &url,
            "--key",
            "team.key",
        ];
        ok(&env, &env.work(), &args);
    };
    publish(&fetcher(&env, "1.0.0", "443", ""));

    let root = env.work().join("project");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("aibox.toml"),
        format!("[registries]\ndefault = \"{url}\"\n\n[packs]\nfetcher = \"^1.0\"\n"),
    )
    .unwrap();
    ok(&env, &root, &["sync"]);
    // The next version asks for more: another port, and writing the home directory.
    publish(&fetcher(
        &env,
        "1.1.0",
        "443, 22",
        "fs.write = [\"$HOME\"]\n",
    ));

    let (_server, page) = start_ui(&env, &root);
    let shots = std::env::var_os("AIBOX_UI_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| env.root.path().join("shots"));
    let out = Command::new(python3())
        .arg(common::repo_root().join("tests/python/ui_browser.py"))
        .arg(&page)
        .arg(root.join("aibox.lock"))
        .arg(&shots)
        .env("HOME", env.user_home())
        .output()
        .unwrap();
    assert!(
        out.status.success()
            && String::from_utf8_lossy(&out.stdout)
                .trim_end()
                .ends_with("ok"),
        "browser run:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The effects: the update took 1.1.0 into the lock, and the rollback made the generation
    // with 1.0.0 current again.
    let lock = std::fs::read_to_string(root.join("aibox.lock")).unwrap();
    assert!(lock.contains("version = \"1.1.0\""), "{lock}");
    let current = std::fs::read_link(env.home().join(format!(
        "profiles/{}/current",
        std::fs::read_dir(env.home().join("profiles"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .find(|n| n.starts_with("project-"))
            .unwrap()
    )))
    .unwrap();
    assert!(current.ends_with("generations/1"), "{}", current.display());
    for view in ["discover", "pack", "updates", "installed"] {
        let png = std::fs::read(shots.join(format!("ui-{view}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{view}");
    }
}

#[test]
fn catalog_build_writes_the_discover_pages_as_a_static_site() {
    let reg = Registry::start();
    let env = Env::new();
    let url = reg.url("packs");
    let v1 = fetcher(&env, "1.1.0", "443", "");
    let dir = v1.to_str().unwrap();
    ok(
        &env,
        &env.work(),
        &["pack", "publish", dir, "--registry", &url],
    );
    // An agent skill beside the tool: a bare skill folder with a script.
    let skill = env.work().join("review-pr");
    std::fs::create_dir_all(skill.join("scripts")).unwrap();
    std::fs::write(
        skill.join("SKILL.md"),
        "---\nname: review-pr\ndescription: Review pull requests.\nallowed-tools: Read\n---\nSteps.\n",
    )
    .unwrap();
    std::fs::write(skill.join("scripts/diff.sh"), "#!/bin/sh\ngit diff\n").unwrap();
    ok(
        &env,
        &env.work(),
        &[
            "pack",
            "publish",
            skill.to_str().unwrap(),
            "--version",
            "1.0.0",
            "--registry",
            &url,
        ],
    );
    let site = env.work().join("site");
    ok(
        &env,
        &env.work(),
        &[
            "catalog",
            "build",
            "--registry",
            &url,
            "-o",
            site.to_str().unwrap(),
        ],
    );
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(
        index.contains("<a href=\"packs/fetcher.html\">fetcher</a>"),
        "{index}"
    );
    assert!(index.contains("connect to 443"), "{index}");
    assert!(!index.contains("token="), "a static page carries no token");
    let pack = std::fs::read_to_string(site.join("packs/fetcher.html")).unwrap();
    assert!(pack.contains("aibox add fetcher@1.1.0"), "{pack}");
    assert!(pack.contains("- scans faster"), "{pack}");
    assert!(pack.contains("href=\"../index.html\""), "{pack}");
    assert!(!pack.contains("<form"), "a static page has no actions");
    // Skills beside packs: a kind column and one page per kind.
    assert!(
        index.contains("<td>skill</td>") && index.contains("ships scripts an agent may run"),
        "{index}"
    );
    let skills = std::fs::read_to_string(site.join("skill.html")).unwrap();
    assert!(
        skills.contains("packs/review-pr.html") && !skills.contains("packs/fetcher.html"),
        "{skills}"
    );
    let tools = std::fs::read_to_string(site.join("tool.html")).unwrap();
    assert!(
        tools.contains("packs/fetcher.html") && !tools.contains("packs/review-pr.html"),
        "{tools}"
    );
    let page = std::fs::read_to_string(site.join("packs/review-pr.html")).unwrap();
    assert!(page.contains("aibox add --skill review-pr@1.0.0"), "{page}");
    assert!(
        page.contains("pre-approves agent tools: Read") && page.contains("Projected into"),
        "{page}"
    );
}
