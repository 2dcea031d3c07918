//! A team's everyday workflow with real tools: two branches that change the lock merge with
//! real `git merge` (aibox's merge driver, registered as the guide says for a repository made
//! after `aibox init`), the merged lock syncs
//! under `--locked` unchanged, an inconsistent merge is caught naming the unmet request, and a
//! lock is the same whoever (whichever platform) wrote it.
// Tests read the repository with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::Path;
use std::process::Command as Std;

use common::{Sandbox, text, write_pack};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Std::new("git")
        .args(["-c", "user.name=Dev", "-c", "user.email=dev@example.com"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env(
            "PATH",
            format!(
                "{}:{}",
                assert_cmd::cargo::cargo_bin("aibox")
                    .parent()
                    .unwrap()
                    .display(),
                std::env::var("PATH").unwrap()
            ),
        )
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    let (o, e) = text(&out);
    assert!(out.status.success(), "git {args:?} failed:\n{o}{e}");
    o
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// A git repository holding a project made by `aibox init` that syncs `hello@1.0.0`.
fn repo(sb: &Sandbox) -> std::path::PathBuf {
    sb.repo_packs();
    let root = sb.path().join("team");
    std::fs::create_dir_all(&root).unwrap();
    sb.ok(&root, &["init", "--registry", "dir:../packs"]);
    assert!(
        read(&root.join(".gitattributes")).contains("aibox.lock merge=aibox"),
        "init writes the merge attribute"
    );
    sb.ok(&root, &["add", "hello@=1.0.0", "json-pretty"]);
    git(&root, &["init", "-q"]);
    git(
        &root,
        &["config", "merge.aibox.driver", "aibox lock merge %O %A %B"],
    );
    git(&root, &["add", "."]);
    git(&root, &["commit", "-qm", "start"]);
    root
}

#[test]
fn branches_that_add_and_upgrade_different_packs_merge_and_sync_locked() {
    let sb = Sandbox::new();
    let root = repo(&sb);
    // Branch a adds a pack; branch b adds another and upgrades hello.
    git(&root, &["checkout", "-qb", "a"]);
    sb.ok(&root, &["add", "todo-scan"]);
    git(&root, &["commit", "-qam", "add todo-scan"]);
    git(&root, &["checkout", "-q", "main"]);
    git(&root, &["checkout", "-qb", "b"]);
    sb.ok(&root, &["add", "editorconfig"]);
    sb.ok(&root, &["add", "hello@^1"]);
    assert!(read(&root.join("aibox.lock")).contains("version = \"1.1.0\""));
    git(
        &root,
        &["commit", "-qam", "add editorconfig, upgrade hello"],
    );
    // The merge has no conflict.
    git(&root, &["merge", "-q", "--no-edit", "a"]);
    let merged = read(&root.join("aibox.lock"));
    assert!(!merged.contains("<<<<<<<"), "{merged}");
    for name in [
        "todo-scan",
        "editorconfig",
        "hello",
        "json-pretty",
        "shellkit",
    ] {
        assert!(
            merged.contains(&format!("name = \"{name}\"")),
            "{name} is locked:\n{merged}"
        );
    }
    // The merged lock satisfies the merged manifest: --locked syncs it and changes nothing.
    let manifest = read(&root.join("aibox.toml"));
    sb.ok(&root, &["sync", "--locked"]);
    assert_eq!(read(&root.join("aibox.lock")), merged);
    assert_eq!(read(&root.join("aibox.toml")), manifest);
    assert!(root.join(".aibox/current/bin/todo-scan").exists());
    assert!(
        root.join(".aibox/current/bin/editorconfig").exists()
            || root.join(".aibox/current/packs/editorconfig").exists()
    );
    let hello = std::fs::canonicalize(root.join(".aibox/current/packs/hello")).unwrap();
    assert!(
        hello.to_string_lossy().ends_with("-hello-1.1.0"),
        "the upgrade from branch b is what is installed: {}",
        hello.display()
    );
    // And a fresh lock of the merged manifest is the merged lock, byte for byte.
    std::fs::remove_file(root.join("aibox.lock")).unwrap();
    sb.ok(&root, &["lock"]);
    assert_eq!(read(&root.join("aibox.lock")), merged);
}

#[test]
fn an_inconsistent_merge_is_caught_by_locked_naming_the_unmet_request() {
    let sb = Sandbox::new();
    let root = repo(&sb);
    // Branch a removes json-pretty; branch b adds ci-tools, which depends on it.
    git(&root, &["checkout", "-qb", "a"]);
    sb.ok(&root, &["remove", "json-pretty"]);
    git(&root, &["commit", "-qam", "remove json-pretty"]);
    git(&root, &["checkout", "-q", "main"]);
    git(&root, &["checkout", "-qb", "b"]);
    sb.ok(&root, &["add", "ci-tools"]);
    git(&root, &["commit", "-qam", "add ci-tools"]);
    git(&root, &["merge", "-q", "--no-edit", "a"]);
    let merged = read(&root.join("aibox.lock"));
    assert!(!merged.contains("name = \"json-pretty\""), "{merged}");
    let (code, err) = sb.fails(&root, &["sync", "--locked"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("json-pretty") && err.contains("ci-tools"),
        "the message names the unmet request and who makes it:\n{err}"
    );
    assert_eq!(
        read(&root.join("aibox.lock")),
        merged,
        "--locked writes nothing"
    );
    // Re-locking repairs it.
    sb.ok(&root, &["sync"]);
    assert!(read(&root.join("aibox.lock")).contains("name = \"json-pretty\""));
    sb.ok(&root, &["sync", "--locked"]);
}

/// A pack built for two platforms into an OCI layout (an image index), plus a portable one.
fn two_platform_layout(sb: &Sandbox) -> std::path::PathBuf {
    let src = sb.path().join("src");
    let mut dirs = Vec::new();
    for platform in ["linux-x86_64", "macos-aarch64"] {
        let toml = format!(
            "[pack]\nname = \"tool\"\nversion = \"1.0.0\"\nplatforms = [\"{platform}\"]\n[bin]\ntool = \"bin/tool\"\n"
        );
        let dir = write_pack(
            &src.join(platform),
            &toml,
            &[(
                "bin/tool",
                &format!("#!/bin/sh\necho tool for {platform}\n"),
                true,
            )],
        );
        dirs.push(dir);
    }
    let portable = write_pack(
        &src,
        "[pack]\nname = \"notes\"\nversion = \"0.1.0\"\n",
        &[("share/notes.txt", "portable\n", false)],
    );
    let layout = sb.path().join("layout");
    let mut args: Vec<String> = vec!["pack".into(), "build".into()];
    args.extend(dirs.iter().map(|d| d.display().to_string()));
    args.extend(["-o".into(), layout.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sb.ok(sb.path(), &args);
    sb.ok(
        sb.path(),
        &[
            "pack",
            "build",
            &portable.display().to_string(),
            "-o",
            &layout.display().to_string(),
        ],
    );
    layout
}

#[test]
fn a_lock_is_the_same_whichever_platform_wrote_it() {
    let sb = Sandbox::new();
    two_platform_layout(&sb);
    let manifest =
        "[registries]\ndefault = \"oci-layout:../layout\"\n[packs]\ntool = \"1\"\nnotes = \"*\"\n";
    let mut locks = Vec::new();
    for host in ["linux-x86_64", "macos-aarch64"] {
        let root = sb.project(&format!("on-{host}"), manifest);
        let out = sb
            .aibox(&root)
            .env("AIBOX_PLATFORM", host)
            .arg("lock")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out).1);
        locks.push(read(&root.join("aibox.lock")));
    }
    assert_eq!(locks[0], locks[1], "byte-identical locks");
    let lock = &locks[0];
    for section in [
        "[package.platforms.linux-x86_64]",
        "[package.platforms.macos-aarch64]",
        "[package.platforms.any]",
    ] {
        assert!(lock.contains(section), "{section} missing:\n{lock}");
    }
    // Each host gets its own build; a host the lock lacks is told which pack lacks it.
    let root = sb.path().join("on-linux-x86_64");
    if aibox::platform::native() == "linux-x86_64" {
        sb.ok(&root, &["sync", "--locked"]);
        let out = Std::new(root.join(".aibox/current/bin/tool"))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "tool for linux-x86_64\n"
        );
    }
    let out = sb
        .aibox(&root)
        .env("AIBOX_PLATFORM", "linux-aarch64")
        .args(["sync", "--locked"])
        .output()
        .unwrap();
    let err = text(&out).1;
    assert!(!out.status.success(), "{err}");
    let error = &err[err.find("error:").expect("an error")..];
    assert!(
        error.contains("`tool@1.0.0`")
            && error.contains("linux-aarch64")
            && !error.contains("notes"),
        "names the pack without the platform, not the portable one:\n{err}"
    );
}

#[test]
fn an_add_whose_sync_fails_changes_nothing() {
    let sb = Sandbox::new();
    let packs = sb.path().join("packs");
    for name in ["first", "second"] {
        write_pack(
            &packs,
            &format!(
                "[pack]\nname = \"{name}\"\nversion = \"1.0.0\"\n[bin]\nsame = \"bin/same\"\n"
            ),
            &[("bin/same", &format!("#!/bin/sh\necho {name}\n"), true)],
        );
    }
    let root = sb.project(
        "p",
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\nfirst = \"1\"\n",
    );
    sb.ok(&root, &["sync"]);
    let manifest = read(&root.join("aibox.toml"));
    let lock = read(&root.join("aibox.lock"));
    let current = std::fs::read_link(root.join(".aibox/current")).unwrap();
    // Both packs provide `bin/same`: the lock resolves, the generation cannot be built.
    let (_, err) = sb.fails(&root, &["add", "second"]);
    assert!(err.contains("same") && err.contains("second"), "{err}");
    assert!(err.contains("Restored"), "{err}");
    assert_eq!(read(&root.join("aibox.toml")), manifest);
    assert_eq!(read(&root.join("aibox.lock")), lock);
    assert_eq!(
        std::fs::read_link(root.join(".aibox/current")).unwrap(),
        current
    );
    let gens = sb.ok(&root, &["generations", "--json"]).0;
    assert_eq!(
        gens.matches("\"id\"").count(),
        2,
        "generations 0 and 1 only: {gens}"
    );
    // The project is as it was: its lock still holds.
    sb.ok(&root, &["sync", "--locked"]);
}

#[test]
fn lock_says_what_changed_and_check_shows_the_difference() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let manifest = |hello: &str, extra: &str| {
        format!("[registries]\ndefault = \"dir:../packs\"\n[packs]\nhello = \"{hello}\"\n{extra}")
    };
    let root = sb.project("p", &manifest("=1.0.0", ""));
    let (_, err) = sb.ok(&root, &["lock"]);
    assert!(err.contains("Adding hello 1.0.0"), "{err}");
    assert!(err.contains("Adding shellkit"), "{err}");
    std::fs::write(
        root.join("aibox.toml"),
        manifest("^1", "json-pretty = \"*\"\n"),
    )
    .unwrap();
    let before = read(&root.join("aibox.lock"));
    let (code, err) = sb.fails(&root, &["lock", "--check"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("add json-pretty 0.3.0"), "{err}");
    assert_eq!(
        read(&root.join("aibox.lock")),
        before,
        "--check writes nothing"
    );
    let (_, err) = sb.ok(&root, &["lock", "--upgrade"]);
    assert!(err.contains("Updating hello 1.0.0 -> 1.1.0"), "{err}");
    assert!(err.contains("Adding json-pretty 0.3.0"), "{err}");
    std::fs::write(root.join("aibox.toml"), manifest("=1.0.0", "")).unwrap();
    let (_, err) = sb.ok(&root, &["lock"]);
    assert!(err.contains("Downgrading hello 1.1.0 -> 1.0.0"), "{err}");
    assert!(err.contains("Removing json-pretty 0.3.0"), "{err}");
    let (_, err) = sb.ok(&root, &["lock"]);
    assert!(
        !err.contains("ing hello"),
        "nothing changed, nothing said: {err}"
    );
}

#[test]
fn rollback_says_the_lock_differs_and_rollback_lock_means_it() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project(
        "p",
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\nhello = \"=1.0.0\"\n",
    );
    sb.ok(&root, &["sync"]);
    let first = (
        read(&root.join("aibox.toml")),
        read(&root.join("aibox.lock")),
    );
    sb.ok(&root, &["add", "hello@^1"]);
    let second = (
        read(&root.join("aibox.toml")),
        read(&root.join("aibox.lock")),
    );
    assert_ne!(first, second);
    let version = |root: &Path| {
        std::fs::canonicalize(root.join(".aibox/current/packs/hello"))
            .unwrap()
            .display()
            .to_string()
    };
    assert!(version(&root).ends_with("hello-1.1.0"));
    // A plain rollback switches, and says the lock still describes the newer environment.
    let (_, err) = sb.ok(&root, &["rollback"]);
    assert!(err.contains("still describes a newer environment"), "{err}");
    assert!(version(&root).ends_with("hello-1.0.0"));
    assert_eq!(
        (
            read(&root.join("aibox.toml")),
            read(&root.join("aibox.lock"))
        ),
        second
    );
    // `aibox run` syncs a stale project first (like `uv run`): back to 1.1.0.
    let (out, err) = sb.ok(&root, &["run", "--", "hello", "team"]);
    assert!(out.contains("1.1.0"), "{out}{err}");
    assert!(version(&root).ends_with("hello-1.1.0"));
    // `rollback --lock` restores the files that generation was made from: the rollback holds.
    let (_, err) = sb.ok(&root, &["rollback", "--to", "1", "--lock"]);
    assert!(err.contains("Restored"), "{err}");
    assert_eq!(
        (
            read(&root.join("aibox.toml")),
            read(&root.join("aibox.lock"))
        ),
        first
    );
    let (out, _) = sb.ok(&root, &["run", "--", "hello", "team"]);
    assert!(!out.contains("1.1.0"), "{out}");
    let (_, err) = sb.ok(&root, &["sync", "--locked"]);
    assert!(err.contains("already matches"), "{err}");
    assert!(version(&root).ends_with("hello-1.0.0"));
}

#[test]
fn a_global_rollback_is_kept_by_the_next_install() {
    let sb = Sandbox::new();
    let packs = sb.repo_packs();
    let registry = format!("dir:{}", packs.display());
    let dir = sb.path();
    sb.ok(dir, &["install", "json-pretty", "--registry", &registry]);
    sb.ok(dir, &["install", "todo-scan"]);
    let (list, _) = sb.ok(dir, &["list"]);
    assert!(list.contains("todo-scan"), "{list}");
    sb.ok(dir, &["rollback", "--global"]);
    let (list, _) = sb.ok(dir, &["list"]);
    assert!(!list.contains("todo-scan"), "{list}");
    // The global manifest followed the rollback: installing another pack does not bring
    // todo-scan back.
    sb.ok(dir, &["install", "editorconfig"]);
    let (list, _) = sb.ok(dir, &["list"]);
    assert!(
        list.contains("editorconfig") && list.contains("json-pretty"),
        "{list}"
    );
    assert!(!list.contains("todo-scan"), "{list}");
}

#[test]
fn list_and_tree_show_the_projects_packs() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project(
        "p",
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\nci-tools = \"1\"\nhello = \"1\"\n",
    );
    sb.ok(&root, &["lock"]);
    let (list, _) = sb.ok(&root, &["list"]);
    let rows: Vec<Vec<&str>> = list
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            ["ci-tools", "1.0.0", "requested"],
            ["hello", "1.1.0", "requested"],
            ["json-pretty", "0.3.0", "dependency"],
            ["shellkit", "1.2.0", "dependency"],
            ["todo-scan", "2.0.0", "dependency"],
        ],
        "{list}"
    );
    let (tree, _) = sb.ok(&root, &["tree"]);
    assert_eq!(
        tree,
        "ci-tools 1.0.0\n\
         ├── json-pretty 0.3.0\n\
         ├── shellkit 1.2.0\n\
         └── todo-scan 2.0.0\n    \
             └── shellkit 1.2.0\n\
         hello 1.1.0\n\
         └── shellkit 1.2.0\n"
    );
    let (json, _) = sb.ok(&root, &["tree", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["dependencies"][2]["name"], "todo-scan");
    // The global profile: with --global, or outside any project (nothing installed yet).
    assert_eq!(sb.ok(&root, &["list", "--global"]).0, "");
    let packs = sb.path().join("packs").display().to_string();
    sb.ok(
        sb.path(),
        &["install", "hello", "--registry", &format!("dir:{packs}")],
    );
    let (global, _) = sb.ok(&root, &["list", "--global"]);
    assert!(
        global.starts_with("hello 1.1.0") && global.contains("shellkit"),
        "{global}"
    );
    assert_eq!(sb.ok(sb.path(), &["list"]).0, global);
}

/// `aibox doctor --json` as (name, status, fix) triples, and whether it succeeded.
fn doctor(sb: &Sandbox, cwd: &Path, env: &[(&str, &str)]) -> (Vec<(String, String, String)>, bool) {
    let mut cmd = sb.aibox(cwd);
    cmd.args(["doctor", "--json"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out).0, text(&out).1));
    let checks = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
                c["fix"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    (checks, out.status.success())
}

fn status_of<'a>(
    checks: &'a [(String, String, String)],
    prefix: &str,
) -> &'a (String, String, String) {
    checks
        .iter()
        .find(|c| c.0.starts_with(prefix))
        .unwrap_or_else(|| panic!("no check `{prefix}`: {checks:?}"))
}

#[test]
fn doctor_finds_each_problem_and_says_how_to_fix_it() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project(
        "p",
        "[registries]\ndefault = \"dir:../packs\"\nremote = \"oci://127.0.0.1:9/none\"\n[packs]\nhello = \"1\"\n",
    );
    // Not locked yet; a registry that does not answer.
    let (checks, ok) = doctor(&sb, &root, &[]);
    assert!(!ok, "{checks:?}");
    assert_eq!(status_of(&checks, "store").1, "ok");
    let project = status_of(&checks, "project");
    assert_eq!(
        (project.1.as_str(), project.2.as_str()),
        ("warn", "run `aibox sync`")
    );
    assert_eq!(status_of(&checks, "registry dir:").1, "ok");
    assert_eq!(status_of(&checks, "registry oci://127.0.0.1:9").1, "fail");
    // Synced, the project is fine; offline, registries are not asked.
    sb.ok(&root, &["sync"]);
    let (checks, ok) = doctor(&sb, &root, &[]);
    assert!(!ok);
    assert_eq!(status_of(&checks, "project").1, "ok", "{checks:?}");
    let out = sb
        .aibox(&root)
        .args(["doctor", "--offline"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", text(&out).0, text(&out).1);
    // A stale lock, a broken configuration, globally installed packs off PATH.
    std::fs::write(
        root.join("aibox.toml"),
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\nhello = \"1\"\ntodo-scan = \"*\"\n",
    )
    .unwrap();
    let config = sb.path().join("config.toml");
    std::fs::write(&config, "[trust]\npolicy = \"strict\"\n").unwrap();
    let packs = sb.path().join("packs").display().to_string();
    sb.ok(
        sb.path(),
        &[
            "install",
            "json-pretty",
            "--registry",
            &format!("dir:{packs}"),
        ],
    );
    let config = config.display().to_string();
    let (checks, ok) = doctor(
        &sb,
        &root,
        &[("AIBOX_CONFIG", &config), ("PATH", "/usr/bin:/bin")],
    );
    assert!(!ok);
    let project = status_of(&checks, "project");
    assert_eq!(
        (project.1.as_str(), project.2.as_str()),
        ("warn", "run `aibox lock`, then commit `aibox.lock`")
    );
    assert_eq!(status_of(&checks, "config").1, "fail", "{checks:?}");
    let path = status_of(&checks, "PATH");
    assert_eq!(path.1, "warn", "{checks:?}");
    assert!(path.2.contains("export PATH="), "{checks:?}");
    // A damaged profile.
    std::fs::remove_file(root.join(".aibox/current")).unwrap();
    let gens = sb.home().join("profiles");
    let profile = std::fs::read_dir(&gens)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy() != "global")
        .unwrap();
    std::fs::remove_file(profile.join("current")).unwrap();
    std::os::unix::fs::symlink("generations/99", profile.join("current")).unwrap();
    let (checks, _) = doctor(&sb, &root, &[]);
    let profiles = status_of(&checks, "profiles");
    assert_eq!(
        (profiles.1.as_str(), profiles.2.as_str()),
        ("warn", "run `aibox store verify --repair`")
    );
}

#[test]
fn info_takes_requests_and_init_checks_the_registry() {
    let sb = Sandbox::new();
    let packs = sb.repo_packs();
    let root = sb.project("p", "[registries]\ndefault = \"dir:../packs\"\n");
    for (spec, want) in [
        ("hello", "hello 1.1.0"),
        ("hello@1.0", "hello 1.0.0"),
        ("hello@^1", "hello 1.1.0"),
        ("hello@=1.0.0", "hello 1.0.0"),
    ] {
        let (out, _) = sb.ok(&root, &["info", spec]);
        assert!(out.starts_with(want), "{spec}: {out}");
    }
    let (_, err) = sb.fails(&root, &["info", "hello@^3"]);
    assert!(
        err.contains("matches `^3`") && err.contains("1.0.0, 1.1.0"),
        "{err}"
    );
    // `init --registry` refuses what `aibox.toml` could not hold, and writes nothing.
    let dir = sb.path().join("new");
    std::fs::create_dir_all(&dir).unwrap();
    for bad in ["htp://x", "oci://user:secret@host/x"] {
        let (_, err) = sb.fails(&dir, &["init", "--registry", bad]);
        assert!(err.contains("cannot be used"), "{bad}: {err}");
        assert!(!dir.join("aibox.toml").exists());
    }
    sb.ok(
        &dir,
        &["init", "--registry", &format!("dir:{}", packs.display())],
    );
    assert!(dir.join("aibox.toml").exists());
}

#[test]
fn search_and_info_outside_a_project_use_the_configured_registries() {
    let sb = Sandbox::new();
    let packs = sb.repo_packs();
    let config = sb.path().join("config.toml").display().to_string();
    let dir = sb.path().join("elsewhere");
    std::fs::create_dir_all(&dir).unwrap();
    let run = |args: &[&str]| {
        let out = sb
            .aibox(&dir)
            .env("AIBOX_CONFIG", &config)
            .args(args)
            .output()
            .unwrap();
        (out.status.success(), text(&out).0, text(&out).1)
    };
    let (ok, _, err) = run(&["search", "greeting"]);
    assert!(!ok && err.contains("aibox config set registries"), "{err}");
    let (ok, _, err) = run(&[
        "config",
        "set",
        "registries.local.url",
        &format!("dir:{}", packs.display()),
    ]);
    assert!(ok, "{err}");
    let (ok, out, err) = run(&["search", "greeting"]);
    assert!(ok && out.contains("hello"), "{out}{err}");
    let (ok, out, err) = run(&["info", "hello@1.0"]);
    assert!(ok && out.starts_with("hello 1.0.0"), "{out}{err}");
}

/// A registry directory with `tool` in several versions.
fn versions_registry(sb: &Sandbox) {
    let packs = sb.path().join("packs");
    for v in ["1.0.0", "1.0.1", "1.2.0", "2.0.0"] {
        write_pack(
            &packs.join(v),
            &format!("[pack]\nname = \"tool\"\nversion = \"{v}\"\n[bin]\ntool = \"bin/tool\"\n"),
            &[("bin/tool", &format!("#!/bin/sh\necho tool {v}\n"), true)],
        );
    }
}

fn tool_version(root: &Path) -> String {
    let out = Std::new(root.join(".aibox/current/bin/tool"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn outdated_and_update_within_ranges_and_past_them() {
    let sb = Sandbox::new();
    versions_registry(&sb);
    let head = "[registries]\ndefault = \"dir:../packs\"\n[packs]\n";
    let root = sb.project("p", &format!("{head}tool = \"=1.0.0\"\n"));
    sb.ok(&root, &["sync"]);
    // Widen the range by hand: the lock keeps 1.0.0 while it satisfies it.
    std::fs::write(
        root.join("aibox.toml"),
        format!("{head}tool = \"^1.0\"  # keep me\n"),
    )
    .unwrap();
    sb.ok(&root, &["sync"]);
    assert_eq!(tool_version(&root), "tool 1.0.0");
    let (out, _) = sb.ok(&root, &["outdated"]);
    let row: Vec<&str> = out.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row, ["tool", "1.0.0", "1.2.0", "2.0.0", "major"], "{out}");
    let (json, _) = sb.ok(&root, &["outdated", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["in_range"], "1.2.0");
    // --dry-run says and writes nothing.
    let lock = read(&root.join("aibox.lock"));
    let (_, err) = sb.ok(&root, &["update", "--dry-run"]);
    assert!(
        err.contains("Would update") && err.contains("tool 1.0.0 -> 1.2.0"),
        "{err}"
    );
    assert_eq!(read(&root.join("aibox.lock")), lock);
    // Within the range.
    let (_, err) = sb.ok(&root, &["update"]);
    assert!(err.contains("Updated tool 1.0.0 -> 1.2.0"), "{err}");
    assert_eq!(tool_version(&root), "tool 1.2.0");
    // Past it: the request is rewritten, the comment stays.
    let (_, err) = sb.ok(&root, &["update", "--major", "tool"]);
    assert!(err.contains("Widened tool \"^1.0\" -> \"^2.0.0\""), "{err}");
    assert!(read(&root.join("aibox.toml")).contains("tool = \"^2.0.0\"  # keep me"));
    assert_eq!(tool_version(&root), "tool 2.0.0");
    let (_, err) = sb.ok(&root, &["outdated"]);
    assert!(err.contains("Fresh"), "{err}");
    // One rollback undoes an update.
    sb.ok(&root, &["rollback", "--lock"]);
    assert_eq!(tool_version(&root), "tool 1.2.0");
    assert!(read(&root.join("aibox.toml")).contains("tool = \"^1.0\"  # keep me"));
    let (_, err) = sb.fails(&root, &["update", "tol"]);
    assert!(err.contains("did you mean `tool`"), "{err}");
}

#[test]
fn channels_pick_pre_releases_per_pack_or_for_the_whole_manifest() {
    let sb = Sandbox::new();
    let packs = sb.path().join("packs");
    for v in ["1.2.0", "1.3.0-beta.2", "1.3.0-nightly.20261120"] {
        write_pack(
            &packs.join(v),
            &format!("[pack]\nname = \"tool\"\nversion = \"{v}\"\n"),
            &[("share/v", v, false)],
        );
    }
    let head = "[registries]\ndefault = \"dir:../packs\"\n";
    let locked = |name: &str, manifest: &str| {
        let root = sb.project(name, manifest);
        sb.ok(&root, &["lock"]);
        // The lock satisfies its manifest as it is: no re-lock on the next check.
        sb.ok(&root, &["lock", "--check"]);
        let lock = read(&root.join("aibox.lock"));
        let at = lock.find("version = \"").unwrap() + "version = \"".len();
        lock[at..at + lock[at..].find('"').unwrap()].to_owned()
    };
    assert_eq!(
        locked("stable", &format!("{head}[packs]\ntool = \"^1\"\n")),
        "1.2.0"
    );
    assert_eq!(
        locked(
            "beta",
            &format!("{head}[packs]\ntool = {{ version = \"^1\", channel = \"beta\" }}\n")
        ),
        "1.3.0-beta.2"
    );
    assert_eq!(
        locked(
            "nightly",
            &format!("channel = \"nightly\"\n{head}[packs]\ntool = \"^1\"\n")
        ),
        "1.3.0-nightly.20261120"
    );
    // An exact request is exact on every channel.
    assert_eq!(
        locked(
            "exact",
            &format!("channel = \"nightly\"\n{head}[packs]\ntool = \"1.2.0\"\n")
        ),
        "1.2.0"
    );
    let root = sb.project("bad", &format!("channel = \"edge\"\n{head}"));
    let (_, err) = sb.fails(&root, &["lock"]);
    assert!(
        err.contains("not a channel") && err.contains("aibox.toml:1"),
        "{err}"
    );
}

#[test]
fn update_auto_takes_patches_and_holds_back_the_rest() {
    let sb = Sandbox::new();
    versions_registry(&sb);
    let head = "[registries]\ndefault = \"dir:../packs\"\n[packs]\n";
    let root = sb.project("p", &format!("{head}tool = \"=1.0.0\"\n"));
    sb.ok(&root, &["sync"]);
    std::fs::write(root.join("aibox.toml"), format!("{head}tool = \"^1.0\"\n")).unwrap();
    sb.ok(&root, &["sync"]);
    let manifest = read(&root.join("aibox.toml"));
    let (_, err) = sb.ok(&root, &["update", "--auto"]);
    assert!(err.contains("Updated tool 1.0.0 -> 1.0.1"), "{err}");
    assert!(
        err.contains(
            "Held back tool 1.0.1 -> 2.0.0 (major): `aibox update tool` takes 1.2.0 (its range allows no more); `aibox update --major tool` takes 2.0.0"
        ),
        "{err}"
    );
    assert_eq!(tool_version(&root), "tool 1.0.1");
    assert_eq!(
        read(&root.join("aibox.toml")),
        manifest,
        "the manifest is not touched"
    );
    // The commands the line names do take what it says (dry runs: nothing changes).
    let (_, err) = sb.ok(&root, &["update", "tool", "--dry-run"]);
    assert!(err.contains("tool 1.0.1 -> 1.2.0"), "{err}");
    let (_, err) = sb.ok(&root, &["update", "--major", "tool", "--dry-run"]);
    assert!(err.contains("tool 1.0.1 -> 2.0.0"), "{err}");
    sb.ok(&root, &["sync", "--locked"]);
    // Again: nothing more to patch; the rest is still held back.
    let (_, err) = sb.ok(&root, &["update", "--auto"]);
    assert!(!err.contains("Updated"), "{err}");
    assert!(err.contains("Held back tool 1.0.1 -> 2.0.0"), "{err}");
    // One rollback undoes the unattended update.
    sb.ok(&root, &["rollback", "--lock"]);
    assert_eq!(tool_version(&root), "tool 1.0.0");

    // On a terminal (outside CI) a person is asked about the rest: no keeps it held back, yes
    // takes it (the range widened) in the same run's generation.
    let on_terminal = |answer: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new("script")
            .args(["-q", "-e", "-c"])
            .arg(format!(
                "{} update --auto",
                assert_cmd::cargo::cargo_bin("aibox").display()
            ))
            .arg("/dev/null")
            .current_dir(&root)
            .env("AIBOX_HOME", sb.home())
            .env("HOME", sb.path().join("user"))
            .env("NO_COLOR", "1")
            .env_remove("CI")
            .env_remove("AIBOX_CONFIG")
            .env_remove("XDG_CONFIG_HOME")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // (The rollback restored the manifest of that generation: `tool = "=1.0.0"`.)
    let shown = on_terminal("n\n");
    assert!(shown.contains("tool 1.0.0 → 2.0.0 (major)"), "{shown}");
    assert!(shown.contains("Held back tool 1.0.0 -> 2.0.0"), "{shown}");
    assert_eq!(tool_version(&root), "tool 1.0.0");
    let shown = on_terminal("y\n");
    assert!(!shown.contains("Held back"), "{shown}");
    assert_eq!(tool_version(&root), "tool 2.0.0");
    assert!(read(&root.join("aibox.toml")).contains("tool = \"^2.0.0\""));
}

#[test]
fn update_and_info_show_the_changelog_between_versions() {
    let sb = Sandbox::new();
    let packs = sb.path().join("packs");
    let changelog = "# Changelog\n\n## [1.2.0] - 2026-11-01\n- faster scanning\n\n## 1.1.0\n- a `--json` flag\n\n## 1.0.0\n- first release\n";
    for v in ["1.0.0", "1.1.0", "1.2.0"] {
        write_pack(
            &packs.join(v),
            &format!("[pack]\nname = \"tool\"\nversion = \"{v}\"\n"),
            &[("CHANGELOG.md", changelog, false)],
        );
    }
    let root = sb.project(
        "p",
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\ntool = \"=1.0.0\"\n",
    );
    sb.ok(&root, &["sync"]);
    std::fs::write(
        root.join("aibox.toml"),
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\ntool = \"^1\"\n",
    )
    .unwrap();
    let (out, _) = sb.ok(&root, &["update"]);
    assert_eq!(
        out, "tool 1.2.0\n  - faster scanning\ntool 1.1.0\n  - a `--json` flag\n",
        "the entries after 1.0.0 up to 1.2.0, newest first"
    );
    let (out, _) = sb.ok(&root, &["info", "tool@1.1.0"]);
    assert!(
        out.ends_with("changes:\n  tool 1.1.0\n    - a `--json` flag\n"),
        "{out}"
    );
    // Published, the entry travels in the manifest's annotations: `info` shows it from an OCI
    // layout with nothing of the pack in the store.
    let layout = sb.path().join("layout");
    let dir = packs.join("1.2.0").join("tool-1.2.0");
    sb.ok(
        &root,
        &[
            "pack",
            "build",
            dir.to_str().unwrap(),
            "-o",
            layout.to_str().unwrap(),
        ],
    );
    let out = sb
        .aibox(&root)
        .env("AIBOX_HOME", sb.path().join("another-home"))
        .args(["info", "tool@1.2.0", "--registry"])
        .arg(format!("oci-layout:{}", layout.display()))
        .output()
        .unwrap();
    let (out, err) = text(&out);
    assert!(
        out.ends_with("changes:\n  tool 1.2.0\n    - faster scanning\n"),
        "{out}{err}"
    );
    let stored = std::fs::read_dir(sb.path().join("another-home/store-v2/packs"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(stored, 0, "info fetched no pack tree");
}

/// A registry with real commands for `aibox import`: node (alias `nodejs`), python, and
/// prettier in a second registry.
fn import_registries(sb: &Sandbox) {
    let tool = |dir: &str, name: &str, version: &str, extra: &str| {
        write_pack(
            &sb.path().join(dir),
            &format!(
                "[pack]\nname = \"{name}\"\nversion = \"{version}\"\n{extra}[bin]\n{name} = \"bin/{name}\"\n"
            ),
            &[(
                &format!("bin/{name}"),
                &format!("#!/bin/sh\necho {name} {version}\n"),
                true,
            )],
        );
    };
    for v in ["20.10.0", "20.11.0", "22.1.0"] {
        tool("packs", "node", v, "aliases = [\"nodejs\"]\n");
    }
    for v in ["3.11.4", "3.12.1"] {
        tool("packs", "python", v, "");
    }
    tool("web", "prettier", "3.1.0", "");
}

#[test]
fn import_maps_tool_versions_and_mise_files_and_says_what_it_cannot() {
    let sb = Sandbox::new();
    import_registries(&sb);
    let root = sb.project(
        "p",
        "# Our tools.\n[registries]\ndefault = \"dir:../packs\"   # in-repo packs\nweb = \"dir:../web\"\n\n[packs]\npython = \"~3.12\"   # keep\n",
    );
    let tool_versions =
        "# asdf\nnodejs 20.11.0   # LTS\npython 3.11.4 3.12.1\nterraform 1.7.0\nruby system\n";
    std::fs::write(root.join(".tool-versions"), tool_versions).unwrap();
    let mise = "[env]\nNODE_ENV = \"dev\"\n\n[tools]\n\"npm:prettier\" = \"3.1\"\ngo = { version = \"1.22\" }\nnode = [\"20\", \"22\"]\n";
    std::fs::write(root.join("mise.toml"), mise).unwrap();
    std::fs::write(root.join(".nvmrc"), "lts/iron\n").unwrap();
    let before = read(&root.join("aibox.toml"));

    // A dry run prints the manifest it would write and writes nothing.
    let (out, err) = sb.ok(&root, &["import", "--dry-run"]);
    assert!(out.contains("node = \"=20.11.0\""), "{out}");
    assert_eq!(read(&root.join("aibox.toml")), before);

    let (json, _) = sb.ok(&root, &["import", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let reasons: Vec<(String, String)> = v["unmapped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["tool"].as_str().unwrap().to_owned(),
                u["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let reason = |tool: &str| {
        reasons
            .iter()
            .find(|(t, _)| t == tool)
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("{tool} not listed: {reasons:?}"))
    };
    assert!(reason("terraform").contains("no pack named `terraform`"));
    assert!(reason("ruby").contains("`system`"));
    assert!(reason("go").contains("no pack named `go`"));
    assert!(reason("node").contains("`lts/iron` is an alias"));
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(err.contains("python also lists 3.12.1"), "{err}");

    // Written: comments and formatting kept, the already requested pack left alone, the
    // pack from the second registry named with it.
    let manifest = read(&root.join("aibox.toml"));
    assert!(manifest.starts_with("# Our tools.\n"), "{manifest}");
    assert!(manifest.contains("default = \"dir:../packs\"   # in-repo packs"));
    assert!(
        manifest.contains("python = \"~3.12\"   # keep"),
        "{manifest}"
    );
    assert!(manifest.contains("node = \"=20.11.0\""), "{manifest}");
    assert!(
        manifest.contains("prettier = { version = \"~3.1\", registry = \"web\" }"),
        "{manifest}"
    );
    // The source files are untouched, and the result syncs.
    assert_eq!(read(&root.join(".tool-versions")), tool_versions);
    assert_eq!(read(&root.join("mise.toml")), mise);
    sb.ok(&root, &["sync"]);
    let run = |cmd: &str| {
        let out = Std::new(root.join(".aibox/current/bin").join(cmd))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(run("node"), "node 20.11.0");
    assert_eq!(run("python"), "python 3.12.1");
    assert_eq!(run("prettier"), "prettier 3.1.0");

    // Without a manifest, `--registry` says where the packs are; `.python-version` and a
    // version that no pack has.
    let fresh = sb.path().join("fresh");
    std::fs::create_dir_all(&fresh).unwrap();
    std::fs::write(fresh.join(".python-version"), "3.13.0\n").unwrap();
    std::fs::write(fresh.join(".nvmrc"), "v22.1.0\n").unwrap();
    let (_, err) = sb.fails(&fresh, &["import"]);
    assert!(err.contains("--registry"), "{err}");
    let (_, err) = sb.ok(&fresh, &["import", "--registry", "dir:../packs"]);
    assert!(
        err.contains("pack `python` has no version matching `=3.13.0` (newest: 3.12.1)"),
        "{err}"
    );
    let manifest = read(&fresh.join("aibox.toml"));
    assert!(manifest.contains("node = \"=22.1.0\""), "{manifest}");
    assert!(!manifest.contains("python"), "{manifest}");
}

/// `registries.default` in the user configuration serves every command that needs a registry
/// and has none: `install` the first time, `x`, `init`, and `search`/`info` outside a project.
#[test]
fn a_configured_default_registry_serves_install_x_init_search_and_info() {
    let sb = Sandbox::new();
    let packs = sb.repo_packs();
    let url = format!("dir:{}", packs.display());
    let work = sb.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    // Nothing configured: the first install says how to name a registry.
    let (_, err) = sb.fails(&work, &["install", "hello"]);
    assert!(err.contains("registries.default.url"), "{err}");
    sb.ok(&work, &["config", "set", "registries.default.url", &url]);

    sb.ok(&work, &["install", "hello"]);
    let linked = sb.path().join("user/.local/bin/hello");
    let out = Std::new(&linked).arg("team").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("team"));
    let (out, _) = sb.ok(&work, &["x", "hello", "--", "crew"]);
    assert!(out.contains("crew"), "{out}");
    let (out, _) = sb.ok(&work, &["search", "hello"]);
    assert!(out.contains("hello"), "{out}");
    let (out, _) = sb.ok(&work, &["info", "hello"]);
    assert!(out.contains("1.1.0"), "{out}");
    sb.ok(&work, &["init", "proj"]);
    let manifest = read(&work.join("proj/aibox.toml"));
    assert!(
        manifest.contains(&format!("default = \"{url}\"")),
        "{manifest}"
    );
    // The new project syncs from it with no edit.
    sb.ok(&work.join("proj"), &["add", "hello"]);
}

#[test]
fn add_from_a_named_registry_writes_it_into_the_request_and_installs_its_pack() {
    let sb = Sandbox::new();
    for (dir, says) in [("packs", "default"), ("other", "other")] {
        common::write_pack(
            &sb.path().join(dir),
            "[pack]\nname = \"hello\"\nversion = \"1.0.0\"\n[bin]\nhello = \"bin/hello\"\n",
            &[("bin/hello", &format!("#!/bin/sh\necho {says}\n"), true)],
        );
    }
    let manifest = "[registries]\ndefault = \"dir:../packs\"\nother = \"dir:../other\"\n[packs]\n";
    let root = sb.project("p", manifest);
    // A registry the manifest does not have: refused, naming those it has; nothing written.
    let (_, err) = sb.fails(&root, &["add", "--registry", "nope", "hello"]);
    assert!(err.contains("has no registry `nope`"), "{err}");
    assert!(
        err.contains("hint: its registries: `default` (dir:../packs), `other` (dir:../other)"),
        "{err}"
    );
    assert_eq!(read(&root.join("aibox.toml")), manifest);
    assert!(!root.join("aibox.lock").exists());
    // By name: the request names the registry, and the pack is the other registry's.
    sb.ok(&root, &["add", "--registry", "other", "hello"]);
    assert!(
        read(&root.join("aibox.toml"))
            .contains("hello = { version = \"^1.0.0\", registry = \"other\" }"),
        "{}",
        read(&root.join("aibox.toml"))
    );
    let (out, _) = sb.ok(&root, &["run", "--", "hello"]);
    assert_eq!(out.trim(), "other");
    // By URL, naming the default registry: a plain request again, and the default's pack.
    sb.ok(&root, &["add", "--registry", "dir:../packs", "hello"]);
    assert!(
        read(&root.join("aibox.toml")).contains("hello = \"^1.0.0\"\n"),
        "{}",
        read(&root.join("aibox.toml"))
    );
    let (out, _) = sb.ok(&root, &["run", "--", "hello"]);
    assert_eq!(out.trim(), "default");
}
