//! The real `aibox` binary on projects that use this repository's packs through a `dir:`
//! registry: lock, sync, run, env, rollback, add/remove, install, and the errors users meet.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::Path;

use common::{Sandbox, text, write_pack};

const QUICKSTART: &str = r#"
[registries]
default = "dir:../packs"

[packs]
hello = "1"
ci-tools = "^1.0"
editorconfig = "*"
"#;

fn snapshot_filters(sb: &Sandbox) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(&regex_escape(&sb.path().display().to_string()), "[SANDBOX]");
    s.add_filter(r"blake3:[0-9a-f]{64}", "blake3:[HASH]");
    s.add_filter(r"aibox \d+\.\d+\.\d+", "aibox [VERSION]");
    // The same snapshots on every host platform.
    s.add_filter(&regex_escape(&aibox::platform::host()), "[HOST-PLATFORM]");
    s
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

fn ok(sb: &Sandbox, cwd: &Path, args: &[&str]) -> (String, String) {
    let out = sb.aibox(cwd).args(args).output().unwrap();
    let (o, e) = text(&out);
    assert!(out.status.success(), "aibox {args:?} failed:\n{e}");
    (o, e)
}

fn fails(sb: &Sandbox, cwd: &Path, args: &[&str]) -> (i32, String) {
    let out = sb.aibox(cwd).args(args).output().unwrap();
    assert!(!out.status.success(), "aibox {args:?} should fail");
    (out.status.code().unwrap_or(-1), text(&out).1)
}

fn hello(sb: &Sandbox, root: &Path) -> String {
    ok(sb, root, &["run", "--no-sync", "--", "hello", "team"]).0
}

#[test]
fn sync_change_sync_rollback_restores_the_first_environment() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project("app", QUICKSTART);
    let (_, err) = ok(&sb, &root, &["sync"]);
    assert!(err.contains("Switched to generation 1"), "{err}");
    assert_eq!(hello(&sb, &root), "Hello, team! (hello 1.1.0)\n");
    let first_bin: Vec<_> = std::fs::read_dir(root.join(".aibox/current/bin"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            // A symlink into the store, or (packs with an environment) a wrapper naming it.
            (e.file_name(), std::fs::read(e.path()).unwrap())
        })
        .collect();

    std::fs::write(
        root.join("aibox.toml"),
        QUICKSTART.replace("hello = \"1\"", "hello = \"=1.0.0\""),
    )
    .unwrap();
    let (_, err) = ok(&sb, &root, &["sync"]);
    assert!(err.contains("Downgraded hello 1.1.0 -> 1.0.0"), "{err}");
    assert_eq!(hello(&sb, &root), "Hello, team!\n");

    let (out, _) = ok(&sb, &root, &["diff"]);
    assert_eq!(out, "~ hello 1.1.0 -> 1.0.0\n");

    let (_, err) = ok(&sb, &root, &["rollback"]);
    assert!(err.contains("from generation 2 to generation 1"), "{err}");
    assert_eq!(hello(&sb, &root), "Hello, team! (hello 1.1.0)\n");
    let mut again: Vec<_> = std::fs::read_dir(root.join(".aibox/current/bin"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name(), std::fs::read(e.path()).unwrap())
        })
        .collect();
    let mut first = first_bin.clone();
    first.sort();
    again.sort();
    assert_eq!(
        first, again,
        "rollback restores the first generation's bin/ exactly"
    );

    let (out, _) = ok(&sb, &root, &["generations"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[2].starts_with(" *    1"), "{out}");

    ok(&sb, &root, &["rollback", "--to", "0"]);
    assert_eq!(
        std::fs::read_dir(root.join(".aibox/current/bin"))
            .unwrap()
            .count(),
        0
    );
    let (code, err) = fails(&sb, &root, &["rollback"]);
    assert_eq!(code, 1);
    assert!(err.contains("no generation to roll back to"), "{err}");
}

#[test]
fn second_sync_is_a_no_op() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project("app", QUICKSTART);
    ok(&sb, &root, &["sync"]);
    let lock_before = std::fs::metadata(root.join("aibox.lock"))
        .unwrap()
        .modified()
        .unwrap();
    let (_, err) = ok(&sb, &root, &["sync"]);
    assert!(err.contains("Fresh"), "{err}");
    let (_, err) = ok(&sb, &root, &["sync", "--locked"]);
    assert!(err.contains("Fresh"), "{err}");
    assert_eq!(
        std::fs::metadata(root.join("aibox.lock"))
            .unwrap()
            .modified()
            .unwrap(),
        lock_before
    );
    let (out, _) = ok(&sb, &root, &["generations", "--json"]);
    let gens: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        gens.as_array().unwrap().len(),
        2,
        "no new generation for a no-op sync"
    );
}

#[test]
fn lock_is_byte_identical_across_homes_and_paths_and_never_rewritten() {
    let a = Sandbox::new();
    let b = Sandbox::new();
    a.repo_packs();
    b.repo_packs();
    let ra = a.project("one", QUICKSTART);
    let rb = b.project("elsewhere", QUICKSTART);
    ok(&a, &ra, &["lock"]);
    ok(&b, &rb, &["lock"]);
    let la = std::fs::read(ra.join("aibox.lock")).unwrap();
    assert_eq!(la, std::fs::read(rb.join("aibox.lock")).unwrap());
    let (_, err) = ok(&a, &ra, &["lock"]);
    assert!(err.contains("Unchanged"), "{err}");
    assert_eq!(la, std::fs::read(ra.join("aibox.lock")).unwrap());
    ok(&a, &ra, &["lock", "--check"]);
    // Comments and formatting do not make the lock stale.
    std::fs::write(
        ra.join("aibox.toml"),
        format!("# a comment\n{}", QUICKSTART.replace(" = ", "=")),
    )
    .unwrap();
    ok(&a, &ra, &["lock", "--check"]);
    let settings = snapshot_filters(&a);
    settings.bind(|| insta::assert_snapshot!("quickstart_lock", String::from_utf8(la).unwrap()));
}

#[test]
fn locked_and_check_fail_when_the_lock_would_change() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project("app", QUICKSTART);
    let (code, err) = fails(&sb, &root, &["sync", "--locked"]);
    assert_eq!(code, 3, "the stale-lock exit code");
    assert!(
        err.contains("does not exist") && err.contains("hint:"),
        "{err}"
    );
    ok(&sb, &root, &["sync"]);
    std::fs::write(
        root.join("aibox.toml"),
        QUICKSTART.replace("editorconfig = \"*\"\n", ""),
    )
    .unwrap();
    let (code, err) = fails(&sb, &root, &["sync", "--locked"]);
    assert_eq!(code, 3, "the stale-lock exit code");
    snapshot_filters(&sb).bind(|| insta::assert_snapshot!("locked_stale", err));
    let (code, err) = fails(&sb, &root, &["lock", "--check"]);
    assert_eq!(code, 3, "the stale-lock exit code");
    assert!(err.contains("--check"), "{err}");
    // --frozen installs the lock as it is, without writing it.
    let before = std::fs::read(root.join("aibox.lock")).unwrap();
    ok(&sb, &root, &["sync", "--frozen"]);
    assert_eq!(before, std::fs::read(root.join("aibox.lock")).unwrap());
    assert!(root.join(".aibox/current/bin/editorconfig-init").exists());
}

#[test]
fn pack_content_changed_after_lock_is_refused_and_nothing_switches() {
    let sb = Sandbox::new();
    let packs = sb.repo_packs();
    let root = sb.project("app", QUICKSTART);
    ok(&sb, &root, &["lock"]);
    std::fs::write(
        packs.join("hello/1.1.0/bin/hello"),
        "#!/bin/sh\necho tampered\n",
    )
    .unwrap();
    let (_, err) = fails(&sb, &root, &["sync", "--frozen"]);
    assert!(
        err.contains("does not match the lock") && err.contains("hint:"),
        "{err}"
    );
    let (out, _) = ok(&sb, &root, &["generations", "--json"]);
    let gens: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(gens.as_array().unwrap().len(), 1, "nothing was switched to");
    assert!(
        std::fs::read_dir(sb.home().join("store-v2/packs"))
            .unwrap()
            .all(|e| {
                !e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains("hello-1.1.0")
            })
    );
}

#[test]
fn manifest_errors_name_file_line_column_and_fix() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let cases = [
        (
            "unknown_key",
            "[registries]\ndefault = \"dir:../packs\"\n[pakcs]\nhello = \"1\"\n",
        ),
        (
            "syntax",
            "[registries]\ndefault = \"dir:../packs\"\n[packs]\nhello = 1.0.0\n",
        ),
        (
            "bad_request",
            "[registries]\ndefault = \"dir:../packs\"\n[packs]\nhello = \">>1\"\n",
        ),
        (
            "unknown_registry",
            "[registries]\ndefault = \"dir:../packs\"\n[packs]\nhello = { version = \"1\", registry = \"defualt\" }\n",
        ),
    ];
    for (name, manifest) in cases {
        let root = sb.project(name, manifest);
        let (code, err) = fails(&sb, &root, &["sync"]);
        assert_eq!(code, 1);
        assert!(err.contains("aibox.toml:"), "{err}");
        snapshot_filters(&sb).bind(|| insta::assert_snapshot!(format!("manifest_{name}"), err));
        assert!(!root.join("aibox.lock").exists());
    }
}

#[test]
fn unknown_pack_suggests_the_closest_name() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project(
        "app",
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\nhelo = \"1\"\n",
    );
    let (_, err) = fails(&sb, &root, &["sync"]);
    snapshot_filters(&sb).bind(|| insta::assert_snapshot!("unknown_pack", err));
}

#[test]
fn conflicts_are_explained_in_plain_words() {
    let sb = Sandbox::new();
    let packs = sb.path().join("packs");
    write_pack(&packs, "[pack]\nname = \"lib\"\nversion = \"1.0.0\"\n", &[]);
    write_pack(&packs, "[pack]\nname = \"lib\"\nversion = \"2.0.0\"\n", &[]);
    write_pack(
        &packs,
        "[pack]\nname = \"app\"\nversion = \"1.0.0\"\n[dependencies]\nlib = \"^2\"\n",
        &[],
    );
    write_pack(
        &packs,
        "[pack]\nname = \"tool\"\nversion = \"3.1.0\"\n[dependencies]\nlib = \"^1\"\n",
        &[],
    );
    let root = sb.project(
        "p",
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\napp = \"1\"\ntool = \"3\"\n",
    );
    let (_, err) = fails(&sb, &root, &["lock"]);
    assert!(err.contains("lib"), "{err}");
    snapshot_filters(&sb).bind(|| insta::assert_snapshot!("conflict", err));
    assert!(!root.join("aibox.lock").exists());
}

#[test]
fn dependency_cycles_are_reported_with_their_path() {
    let sb = Sandbox::new();
    let packs = sb.path().join("packs");
    write_pack(
        &packs,
        "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[dependencies]\nb = \"1\"\n",
        &[],
    );
    write_pack(
        &packs,
        "[pack]\nname = \"b\"\nversion = \"1.0.0\"\n[dependencies]\nc = \"1\"\n",
        &[],
    );
    write_pack(
        &packs,
        "[pack]\nname = \"c\"\nversion = \"1.0.0\"\n[dependencies]\na = \"1\"\n",
        &[],
    );
    let root = sb.project(
        "p",
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\na = \"1\"\n",
    );
    let (_, err) = fails(&sb, &root, &["lock"]);
    assert!(
        err.contains("a 1.0.0 -> b 1.0.0 -> c 1.0.0 -> a 1.0.0"),
        "{err}"
    );
}

#[test]
fn required_and_optional_environment() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project(
        "p",
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\ngreet-api = \"*\"\nshellkit = \"1\"\n",
    );
    ok(&sb, &root, &["sync"]);
    let out = sb
        .aibox(&root)
        .args(["run", "--", "greet-api"])
        .env_remove("GREET_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = text(&out).1;
    assert!(
        err.contains("`GREET_TOKEN` is required by `greet-api`")
            && err.contains("token for the greeting service"),
        "{err}"
    );
    // A command no pack provides needs no pack's variables: it runs, with a warning.
    let out = sb
        .aibox(&root)
        .args(["run", "--", "true"])
        .env_remove("GREET_TOKEN")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(text(&out).1.contains("GREET_TOKEN"), "{}", text(&out).1);
    let out = sb
        .aibox(&root)
        .args(["run", "--", "greet-api"])
        .env("GREET_TOKEN", "secret")
        .output()
        .unwrap();
    let (o, e) = text(&out);
    assert!(out.status.success(), "{e}");
    assert!(o.starts_with(&"-".repeat(40)), "{o}");
    assert!(o.contains("token of 6 characters"), "{o}");
    let out = sb
        .aibox(&root)
        .args(["run", "--", "greet-api"])
        .env("GREET_TOKEN", "x")
        .env("GREET_WIDTH", "3")
        .output()
        .unwrap();
    assert!(text(&out).0.starts_with("---\n"));

    let (json, _) = ok(&sb, &root, &["env", "--shell", "json"]);
    let env: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        env["vars"]["SHELLKIT"]
            .as_str()
            .unwrap()
            .ends_with("lib/shellkit.sh")
    );
    assert_eq!(env["vars"]["GREET_WIDTH"], "40");
    let (bash, _) = ok(&sb, &root, &["env"]);
    // The profile's `current/bin` in the store: where `.aibox/current` leads, not a path a
    // checkout of the project could replace.
    let store_bin = std::fs::read_link(root.join(".aibox/current"))
        .unwrap()
        .join("bin");
    assert!(
        store_bin.starts_with(sb.home())
            && bash.contains(&format!("export PATH='{}'", store_bin.display())),
        "{bash}"
    );
    let script = format!("{bash}\nhello() {{ :; }}\n. \"$SHELLKIT\" && sk_log sourced");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("sourced"));
    let (fish, _) = ok(&sb, &root, &["env", "--shell", "fish"]);
    assert!(fish.contains("set -gx PATH '"), "{fish}");
}

#[test]
fn add_and_remove_edit_lock_and_sync_or_change_nothing() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project(
        "p",
        "# my project\n[registries]\ndefault = \"dir:../packs\"\n\n[packs]\n",
    );
    ok(&sb, &root, &["add", "hello", "json-pretty@0.3"]);
    let manifest = std::fs::read_to_string(root.join("aibox.toml")).unwrap();
    assert!(manifest.starts_with("# my project\n"), "{manifest}");
    assert!(manifest.contains("hello = \"^1.1.0\""), "{manifest}");
    assert!(manifest.contains("json-pretty = \"0.3\""), "{manifest}");
    assert!(root.join(".aibox/current/bin/hello").exists());

    let before = (
        std::fs::read(root.join("aibox.toml")).unwrap(),
        std::fs::read(root.join("aibox.lock")).unwrap(),
    );
    let (_, err) = fails(&sb, &root, &["add", "jsonpretty"]);
    assert!(err.contains("did you mean `json-pretty`"), "{err}");
    let (_, err) = fails(&sb, &root, &["add", "hello@^7"]);
    assert!(err.contains("no version of `hello` matches"), "{err}");
    let after = (
        std::fs::read(root.join("aibox.toml")).unwrap(),
        std::fs::read(root.join("aibox.lock")).unwrap(),
    );
    assert_eq!(before, after, "a failed add changes nothing");

    ok(&sb, &root, &["remove", "hello"]);
    assert!(
        !std::fs::read_to_string(root.join("aibox.toml"))
            .unwrap()
            .contains("hello")
    );
    assert!(!root.join(".aibox/current/bin/hello").exists());
    assert!(
        !std::fs::read_to_string(root.join("aibox.lock"))
            .unwrap()
            .contains("name = \"shellkit\"")
    );
    let (_, err) = fails(&sb, &root, &["remove", "jsn-pretty"]);
    assert!(err.contains("did you mean `json-pretty`"), "{err}");
}

#[test]
fn init_then_add() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.path().join("fresh");
    std::fs::create_dir_all(&root).unwrap();
    ok(&sb, &root, &["init", "--registry", "dir:../packs"]);
    let (_, err) = fails(&sb, &root, &["init"]);
    assert!(err.contains("already exists"), "{err}");
    ok(&sb, &root, &["add", "todo-scan"]);
    std::fs::write(root.join("notes.txt"), "TODO: write docs\n").unwrap();
    let out = sb
        .aibox(&root)
        .args(["run", "--", "todo-scan", "notes.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).0.contains("TODO: write docs"));
}

#[test]
fn global_install_list_uninstall() {
    let sb = Sandbox::new();
    let packs = sb.repo_packs();
    let cwd = sb.path();
    let (_, err) = fails(&sb, cwd, &["install", "hello"]);
    assert!(err.contains("--registry"), "{err}");
    ok(
        &sb,
        cwd,
        &[
            "install",
            "hello@1.0",
            "--registry",
            &format!("dir:{}", packs.display()),
        ],
    );
    let (out, _) = ok(&sb, cwd, &["list"]);
    assert_eq!(
        out,
        "hello 1.0.0     requested\nshellkit 1.2.0  dependency\n"
    );
    let bin = sb.home().join("profiles/global/current/bin/hello");
    let run = std::process::Command::new(&bin)
        .env("SHELLKIT", packs.join("shellkit/lib/shellkit.sh"))
        .arg("x")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "Hello, x!\n");
    // The command is linked into ~/.local/bin through the profile's `current`, and runs there.
    let user_bin = sb.path().join("user/.local/bin");
    let link = user_bin.join("hello");
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        sb.home().join("profiles/global/current/bin/hello")
    );
    let run = std::process::Command::new(&link)
        .env("SHELLKIT", packs.join("shellkit/lib/shellkit.sh"))
        .arg("y")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "Hello, y!\n");
    ok(&sb, cwd, &["uninstall", "hello"]);
    assert_eq!(ok(&sb, cwd, &["list"]).0, "");
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "unlinked with its pack"
    );
    ok(&sb, cwd, &["rollback", "--global"]);
    assert_eq!(
        ok(&sb, cwd, &["list"]).0,
        "hello 1.0.0     requested\nshellkit 1.2.0  dependency\n"
    );
    assert!(
        std::fs::read_link(&link).is_ok(),
        "linked again by the rollback"
    );
    // A file of the user's with a command's name is left alone, and said so.
    std::fs::remove_file(&link).unwrap();
    std::fs::write(&link, "mine").unwrap();
    ok(&sb, cwd, &["uninstall", "hello"]);
    assert_eq!(std::fs::read_to_string(&link).unwrap(), "mine");
    let (_, err) = ok(&sb, cwd, &["rollback", "--global"]);
    assert_eq!(std::fs::read_to_string(&link).unwrap(), "mine");
    assert!(
        err.contains("not linked into") && err.contains("`hello`"),
        "{err}"
    );
}

#[test]
fn gc_and_store_verify_from_the_cli() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project("app", QUICKSTART);
    ok(&sb, &root, &["sync"]);
    std::fs::write(
        root.join("aibox.toml"),
        QUICKSTART.replace("hello = \"1\"", "hello = \"=1.0.0\""),
    )
    .unwrap();
    ok(&sb, &root, &["sync"]);
    let (_, err) = ok(&sb, &root, &["gc", "--keep", "1", "--dry-run"]);
    assert!(err.contains("Would remove generation 1"), "{err}");
    let (_, err) = ok(&sb, &root, &["gc", "--keep", "1"]);
    assert!(err.contains("Removed 1 pack trees"), "{err}");
    let (out, _) = ok(&sb, &root, &["store", "verify", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["corrupt"].as_array().unwrap().len(), 0);
    let (path, _) = ok(&sb, &root, &["store", "path", "hello"]);
    assert!(path.trim().ends_with("-hello-1.0.0"), "{path}");
    let (_, err) = fails(&sb, &root, &["store", "path", "helo"]);
    assert!(err.contains("did you mean `hello`"), "{err}");
}

#[test]
fn repo_packs_build_into_one_layout_and_sync_from_it_offline() {
    let sb = Sandbox::new();
    let packs = sb.repo_packs();
    let mut dirs: Vec<String> = Vec::new();
    for entry in walk_pack_dirs(&packs) {
        dirs.push(entry.display().to_string());
    }
    assert!(dirs.len() >= 8, "{dirs:?}");
    let mut args = vec!["pack", "build", "-o", "layout"];
    args.extend(dirs.iter().map(String::as_str));
    let (out, _) = ok(&sb, sb.path(), &args);
    assert_eq!(
        out.lines().count(),
        dirs.len(),
        "one digest per pack version"
    );
    let (list, _) = ok(&sb, sb.path(), &["pack", "list", "oci-layout:layout"]);
    assert!(list.contains("hello 1.0.0 1.1.0"), "{list}");

    let root = sb.project(
        "p",
        &QUICKSTART.replace("dir:../packs", "oci-layout:../layout"),
    );
    ok(&sb, &root, &["sync", "--offline"]);
    assert_eq!(hello(&sb, &root), "Hello, team! (hello 1.1.0)\n");

    // search and info read every kind of source, `dir:` included.
    let dir_project = sb.project("d", QUICKSTART);
    let (hits, _) = ok(&sb, &dir_project, &["search", "json"]);
    assert!(hits.starts_with("json-pretty@0.3.0"), "{hits}");
    let (info, _) = ok(&sb, &dir_project, &["info", "hello", "--json"]);
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["versions"], serde_json::json!(["1.0.0", "1.1.0"]));
    assert!(
        info.get("digest").is_none(),
        "a dir: source has no OCI digest"
    );
    let (info, _) = ok(&sb, &root, &["info", "hello", "--json"]);
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert!(info["digest"].as_str().unwrap().starts_with("sha256:"));
}

fn walk_pack_dirs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.join("pack.toml").exists() {
            out.push(p);
        } else if p.is_dir() {
            out.extend(walk_pack_dirs(&p));
        }
    }
    out.sort();
    out
}

#[test]
fn plugins_belong_under_plugins_and_land_in_plugins_dir() {
    let sb = Sandbox::new();
    let packs = sb.path().join("packs");
    write_pack(
        &packs,
        "[pack]\nname = \"lint\"\nversion = \"1.2.0\"\nkind = \"plugin\"\n[bin]\naibox-plugin-lint = \"bin/lint\"\n",
        &[("bin/lint", "#!/bin/sh\necho linting\n", true)],
    );
    let wrong = sb.project(
        "wrong",
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\nlint = \"1\"\n",
    );
    let (_, err) = fails(&sb, &wrong, &["sync"]);
    assert!(
        err.contains("is a plugin pack") && err.contains("move `lint` to [plugins]"),
        "{err}"
    );
    let right = sb.project(
        "right",
        "[registries]\ndefault = \"dir:../packs\"\n[plugins]\nlint = \"^1.2\"\n",
    );
    ok(&sb, &right, &["sync"]);
    let out = std::process::Command::new(right.join(".aibox/current/plugins/aibox-plugin-lint"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "linting\n");
    assert!(!right.join(".aibox/current/bin/aibox-plugin-lint").exists());
}

#[test]
fn lock_keeps_locked_versions_until_asked_to_upgrade() {
    let sb = Sandbox::new();
    let packs = sb.path().join("packs");
    let lib = "[pack]\nname = \"lib\"\nversion = \"1.0.0\"\n";
    write_pack(&packs, lib, &[]);
    write_pack(
        &packs,
        "[pack]\nname = \"app\"\nversion = \"1.0.0\"\n[dependencies]\nlib = \"1\"\n",
        &[],
    );
    let root = sb.project(
        "p",
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\napp = \"1\"\n",
    );
    ok(&sb, &root, &["lock"]);
    write_pack(&packs, &lib.replace("1.0.0", "1.1.0"), &[]);
    write_pack(
        &packs,
        "[pack]\nname = \"app\"\nversion = \"1.1.0\"\n[dependencies]\nlib = \"1\"\n",
        &[],
    );
    let version_of = |name: &str| {
        let lock: toml::Table = std::fs::read_to_string(root.join("aibox.lock"))
            .unwrap()
            .parse()
            .unwrap();
        lock["package"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"].as_str() == Some(name))
            .unwrap()["version"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (_, err) = ok(&sb, &root, &["lock"]);
    assert!(err.contains("Unchanged"), "{err}");
    assert_eq!(
        (version_of("app"), version_of("lib")),
        ("1.0.0".into(), "1.0.0".into())
    );
    ok(&sb, &root, &["lock", "--upgrade-package", "lib"]);
    assert_eq!(
        (version_of("app"), version_of("lib")),
        ("1.0.0".into(), "1.1.0".into())
    );
    ok(&sb, &root, &["lock", "--upgrade"]);
    assert_eq!(version_of("app"), "1.1.0");
    let (_, err) = fails(&sb, &root, &["lock", "-P", "nope"]);
    assert!(err.contains("`nope` is not in `aibox.lock`"), "{err}");
}

#[test]
fn a_held_lock_makes_others_wait_then_time_out_clearly() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project("app", QUICKSTART);
    ok(&sb, &root, &["sync"]);
    std::fs::write(
        root.join("aibox.toml"),
        QUICKSTART.replace("hello = \"1\"", "hello = \"=1.0.0\""),
    )
    .unwrap();
    // Another process (util-linux flock) holds the store lock exclusively, as gc would.
    let mut holder = std::process::Command::new("flock")
        .arg("-x")
        .arg(sb.home().join("store-v2/lock"))
        .args(["sleep", "30"])
        .spawn()
        .expect("flock (util-linux) is installed");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = sb
        .aibox(&root)
        .arg("sync")
        .env("AIBOX_LOCK_TIMEOUT", "1")
        .output()
        .unwrap();
    holder.kill().unwrap();
    holder.wait().unwrap();
    let err = text(&out).1;
    assert!(!out.status.success());
    assert!(err.contains("Blocking waiting for lock on"), "{err}");
    assert!(
        err.contains("timed out after") && err.contains("AIBOX_LOCK_TIMEOUT"),
        "{err}"
    );
    assert_eq!(
        hello(&sb, &root),
        "Hello, team! (hello 1.1.0)\n",
        "nothing switched"
    );
    ok(&sb, &root, &["sync"]);
    assert_eq!(hello(&sb, &root), "Hello, team!\n");
}

#[test]
fn concurrent_syncs_of_two_projects_beside_gc_end_consistent() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let a = sb.project("a", QUICKSTART);
    let b = sb.project(
        "b",
        &QUICKSTART.replace("hello = \"1\"", "hello = \"=1.0.0\""),
    );
    for round in 0..6 {
        let spawn = |root: &Path, args: &[&str]| {
            let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("aibox"));
            c.current_dir(root)
                .env("AIBOX_HOME", sb.home())
                .env("CI", "true")
                .args(args);
            c.stderr(std::process::Stdio::piped()).spawn().unwrap()
        };
        let children = vec![
            spawn(&a, &["sync"]),
            spawn(&b, &["sync"]),
            spawn(&a, &["gc", "--keep", "1"]),
            spawn(&b, &["sync"]),
        ];
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_eq!(hello(&sb, &a), "Hello, team! (hello 1.1.0)\n");
        assert_eq!(hello(&sb, &b), "Hello, team!\n");
        ok(&sb, &a, &["store", "verify"]);
    }
}

/// The README's main job: the committed example lock is current for the repository's packs.
#[test]
fn quickstart_example_syncs_locked_from_a_copy_of_the_repository() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.path().join("examples/quickstart");
    std::fs::create_dir_all(&root).unwrap();
    for f in ["aibox.toml", "aibox.lock"] {
        std::fs::copy(
            common::repo_root().join("examples/quickstart").join(f),
            root.join(f),
        )
        .unwrap();
    }
    let (_, err) = ok(
        &sb,
        sb.path(),
        &[
            "sync",
            "--locked",
            "--manifest-path",
            "examples/quickstart/aibox.toml",
        ],
    );
    assert!(err.contains("Switched to generation 1"), "{err}");
    let out = sb
        .aibox(sb.path())
        .args([
            "run",
            "--manifest-path",
            "examples/quickstart/aibox.toml",
            "--",
            "ci-check",
            "examples",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    assert_eq!(
        std::fs::read(root.join("aibox.lock")).unwrap(),
        std::fs::read(common::repo_root().join("examples/quickstart/aibox.lock")).unwrap()
    );
}

#[test]
fn vendor_builds_dir_packs_into_a_layout_that_syncs_the_same_trees() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project("app", QUICKSTART);
    ok(&sb, &root, &["lock"]);
    let (_, err) = ok(&sb, &root, &["vendor", "../vendored"]);
    assert_eq!(err.matches("Vendored").count(), 6, "{err}");
    let offline = sb.project(
        "offline",
        &QUICKSTART.replace("dir:../packs", "oci-layout:../vendored"),
    );
    ok(&sb, &offline, &["lock"]);
    let trees = |p: &Path| -> Vec<String> {
        std::fs::read_to_string(p.join("aibox.lock"))
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("tree = "))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(trees(&root), trees(&offline));
    ok(&sb, &offline, &["sync", "--offline"]);
    assert_eq!(hello(&sb, &offline), "Hello, team! (hello 1.1.0)\n");
}

#[test]
fn run_after_a_failed_sync_never_falls_through_to_another_program() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project(
        "app",
        "[registries]\ndefault = \"dir:../packs\"\n\n[packs]\nhello = \"1\"\n",
    );
    sb.ok(&root, &["sync"]);
    // A program of the same name as the one asked for, elsewhere on PATH.
    let elsewhere = sb.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let marker = sb.path().join("ran-the-wrong-greet");
    let greet = elsewhere.join("greet");
    std::fs::write(&greet, format!("#!/bin/sh\ntouch '{}'\n", marker.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&greet, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", elsewhere.display(), std::env::var("PATH").unwrap());
    // The manifest now asks for a pack the sync cannot get.
    std::fs::write(
        root.join("aibox.toml"),
        "[registries]\ndefault = \"dir:../packs\"\n\n[packs]\nhello = \"1\"\ngreet = \"1\"\n",
    )
    .unwrap();
    let out = sb
        .aibox(&root)
        .env("PATH", &path)
        .args(["run", "--", "greet"])
        .output()
        .unwrap();
    let err = text(&out).1;
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot run `greet`: the current environment does not provide it, and the sync that would have failed: no pack `greet`"), "{err}");
    assert!(!marker.exists(), "the `greet` found elsewhere on PATH ran");
    // A command the current generation has still runs, with a warning.
    let out = sb
        .aibox(&root)
        .env("PATH", &path)
        .args(["run", "--", "hello"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("Hello"), "{stdout}");
    assert!(
        stderr.contains("could not be synced first, so `hello` runs in the current environment"),
        "{stderr}"
    );
}

#[test]
fn x_runs_a_pack_once_without_a_project_and_reuses_its_lock() {
    let sb = Sandbox::new();
    let packs = sb.repo_packs();
    // A registry that gains a version later.
    let reg = sb.path().join("reg");
    common::copy_tree(&packs.join("shellkit"), &reg.join("shellkit"));
    common::copy_tree(&packs.join("hello/1.0.0"), &reg.join("hello/1.0.0"));
    let cwd = sb.path().join("anywhere");
    std::fs::create_dir_all(&cwd).unwrap();
    let registry = format!("dir:{}", reg.display());

    // No registry given and none remembered: said so.
    let (_, err) = fails(&sb, &cwd, &["x", "hello", "--", "a"]);
    assert!(err.contains("--registry"), "{err}");

    let x = |extra: &[&str]| {
        let mut args = vec!["x", "hello", "--registry", &registry];
        args.extend_from_slice(extra);
        args.extend(["--", "a", "b"]);
        ok(&sb, &cwd, &args).0
    };
    assert_eq!(x(&[]), "Hello, a!\n", "1.0.0 greets the first name only");
    assert!(
        !cwd.join("aibox.toml").exists(),
        "no project is made where it runs"
    );
    let generations = || {
        let mut n = 0;
        for p in std::fs::read_dir(sb.home().join("profiles")).unwrap() {
            let dir = p.unwrap().path().join("generations");
            if let Ok(entries) = std::fs::read_dir(dir) {
                n += entries.count();
            }
        }
        n
    };
    let made = generations();
    // 1.1.0 is published: the next run keeps the locked 1.0.0 and makes nothing new.
    common::copy_tree(&packs.join("hello/1.1.0"), &reg.join("hello/1.1.0"));
    assert_eq!(x(&[]), "Hello, a!\n");
    assert_eq!(generations(), made);
    // --upgrade takes the newest in range (1.1.0 greets every name).
    assert_eq!(
        x(&["--upgrade"]),
        "Hello, a! (hello 1.1.0)\nHello, b! (hello 1.1.0)\n"
    );
    // A request of its own is an environment of its own.
    let out = ok(
        &sb,
        &cwd,
        &["x", "hello@=1.0.0", "--registry", &registry, "--", "c", "d"],
    )
    .0;
    assert_eq!(out, "Hello, c!\n");
    // A command the pack does not have: its commands are named.
    let (_, err) = fails(
        &sb,
        &cwd,
        &["x", "hello", "--registry", &registry, "--bin", "nope"],
    );
    assert!(
        err.contains("no command `nope`") && err.contains("hello"),
        "{err}"
    );
}
