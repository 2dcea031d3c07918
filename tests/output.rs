//! What reaches the terminal, as the guide's environment table and "Output" section promise:
//! `-q` prints only errors and data; `NO_COLOR` means no colors and no progress bars; `CI`
//! means no colors and no bars either. Checked on a real pseudo-terminal (`script`), where
//! colors and bars are otherwise drawn — the control run proves the terminal would show them.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::{Path, PathBuf};

use common::{Sandbox, text, write_pack};

/// A project on a copy of this repository's packs.
fn project(sb: &Sandbox) -> PathBuf {
    let packs = sb.repo_packs();
    sb.project(
        "proj",
        &format!(
            "[registries]\ndefault = \"dir:{}\"\n\n[packs]\nhello = \"1\"\nci-tools = \"^1.0\"\neditorconfig = \"*\"\n",
            packs.display()
        ),
    )
}

/// `aibox <args>` on a fresh pseudo-terminal in `cwd`, with `env` set (and `NO_COLOR`/`CI`
/// only when `env` sets them). Returns everything the terminal showed.
fn on_terminal(sb: &Sandbox, cwd: &Path, args: &str, env: &[(&str, &str)]) -> String {
    let aibox = assert_cmd::cargo::cargo_bin("aibox");
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &format!("{} {args}", aibox.display()), "/dev/null"])
        .current_dir(cwd)
        .env("AIBOX_HOME", sb.home())
        .env("HOME", sb.path().join("user"))
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .env_remove("CI")
        .env_remove("AIBOX_CONFIG")
        .env_remove("XDG_CONFIG_HOME");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    stdout
}

#[test]
fn no_color_and_ci_turn_off_colors_and_bars_on_a_terminal() {
    let sb = Sandbox::new();
    let root = project(&sb);
    // The control: on a terminal with neither set, status verbs are colored.
    let shown = on_terminal(&sb, &root, "lock", &[]);
    assert!(shown.contains("\x1b[1;32m"), "{shown:?}");
    for env in [("NO_COLOR", "1"), ("CI", "true")] {
        std::fs::remove_file(root.join("aibox.lock")).unwrap();
        let _ = std::fs::remove_dir_all(sb.home());
        let shown = on_terminal(&sb, &root, "sync", &[env]);
        // No escape sequence at all: no colors, and no bar (bars redraw with `\r` and erase
        // lines with `ESC [ K`).
        assert!(!shown.contains('\x1b'), "{env:?}: {shown:?}");
        assert!(
            !shown.replace("\r\n", "\n").contains('\r'),
            "{env:?}: {shown:?}"
        );
        assert!(
            shown.contains("Switched to generation 1"),
            "{env:?}: {shown:?}"
        );
    }
}

#[test]
fn quiet_prints_only_errors_and_data() {
    let sb = Sandbox::new();
    let work = sb.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    // `write_pack` makes `<dir>/p-1.0.0`.
    write_pack(
        &work,
        "[pack]\nname = \"p\"\nversion = \"1.0.0\"\nkind = \"plugin\"\n[bin]\naibox-plugin-p = \"bin/aibox-plugin-p\"\n",
        &[("bin/aibox-plugin-p", "#!/bin/sh\necho data\n", true)],
    );
    sb.ok(&work, &["plugin", "install", "./p-1.0.0"]);
    // Without Landlock (simulated; honoured by test builds) the plugin runs partly
    // sandboxed, and aibox warns about it…
    let run = |quiet: bool| {
        let mut cmd = sb.aibox(&work);
        if quiet {
            cmd.arg("-q");
        }
        let out = cmd.arg("p").env("AIBOX_SANDBOX_ABI", "0").output().unwrap();
        assert!(out.status.success(), "{}", text(&out).1);
        text(&out)
    };
    let (stdout, stderr) = run(false);
    assert_eq!(stdout, "data\n");
    assert!(
        stderr.starts_with("warning: the plugin `p` runs only partly sandboxed"),
        "{stderr}"
    );
    // …but `-q` prints only the data.
    assert_eq!(run(true), ("data\n".to_owned(), String::new()));
    // An error is still shown under `-q`.
    let out = sb
        .aibox(&work)
        .args(["-q", "no-such-plugin"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out).1.starts_with("error: "), "{}", text(&out).1);
}

/// `aibox --json <args>` in `root`: its exit status and stdout parsed as one JSON document.
fn json(sb: &Sandbox, root: &Path, args: &[&str]) -> (bool, serde_json::Value) {
    let out = sb.aibox(root).arg("--json").args(args).output().unwrap();
    let (stdout, stderr) = text(&out);
    let value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("{args:?}: stdout is not one JSON document ({e}): {stdout:?}\n{stderr}")
    });
    (out.status.success(), value)
}

#[test]
fn json_reports_what_state_changing_commands_did_and_errors_as_json() {
    let sb = Sandbox::new();
    let packs = sb.repo_packs();
    let root = sb.project(
        "proj",
        &format!(
            "[registries]\ndefault = \"dir:{}\"\n\n[packs]\nhello = \"=1.0.0\"\n",
            packs.display()
        ),
    );
    let (ok, lock) = json(&sb, &root, &["lock"]);
    assert!(ok);
    assert_eq!(lock["written"], true);
    assert_eq!(lock["packages"][0]["name"], "hello");
    assert_eq!(lock["packages"][0]["version"], "1.0.0");

    let (ok, sync) = json(&sb, &root, &["sync"]);
    assert!(ok);
    assert_eq!(sync["generation"], 1);
    assert_eq!(sync["switched"], true);
    // Every locked pack was fetched and added (hello and what it depends on).
    let added = sync["added"].as_array().unwrap();
    assert_eq!(added.len(), lock["packages"].as_array().unwrap().len());
    assert_eq!(sync["fetched"], added.len());
    assert!(
        added.contains(&serde_json::json!({ "name": "hello", "version": "1.0.0" })),
        "{sync}"
    );
    let (_, again) = json(&sb, &root, &["sync"]);
    assert_eq!(
        (again["generation"].clone(), again["switched"].clone()),
        (1.into(), false.into())
    );

    let (ok, add) = json(&sb, &root, &["add", "json-pretty"]);
    assert!(ok);
    let locked: Vec<&str> = add["locked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        locked.iter().any(|l| l.starts_with("json-pretty@")),
        "{add}"
    );
    assert_eq!(add["sync"]["generation"], 2);
    assert!(
        add["sync"]["added"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "json-pretty"),
        "{add}"
    );

    // A newer hello exists beyond `=1.0.0`: a dry run of `--major` says what it would do.
    let (ok, plan) = json(&sb, &root, &["update", "--major", "--dry-run"]);
    assert!(ok);
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["widened"][0]["name"], "hello");
    assert!(plan["sync"].is_null());
    assert!(
        !root
            .join(".aibox/current/packs/hello")
            .read_link()
            .unwrap()
            .to_string_lossy()
            .contains("1.1")
    );

    // An error is a JSON object on stdout too, with the exit status it had.
    let out = sb
        .aibox(&root)
        .args(["--json", "add", "no-such-pack"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success());
    let err: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no-such-pack"),
        "{err}"
    );
    assert_eq!(err["error"]["exit_code"], out.status.code().unwrap());
    assert_eq!(err["error"]["kind"], "user", "{err}");
    assert!(stderr.starts_with("error: "), "{stderr}");
}

/// A file the user wrote that is wrong is a configuration error: shown with its position, a
/// hint naming the commands that check and find the configuration, and `kind: config`.
#[test]
fn a_broken_manifest_is_shown_as_a_configuration_error() {
    let sb = Sandbox::new();
    let root = sb.project(
        "proj",
        "[packs]
hello = \"1\"\nhello = \"2\"\n",
    );
    let out = sb.aibox(&root).args(["--json", "lock"]).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let err: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(err["error"]["kind"], "config", "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("aibox.toml:3:"),
        "{err}"
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("hint: `aibox doctor` checks"), "{stderr}");
}

#[test]
fn a_failing_command_whose_json_says_why_prints_one_document() {
    let sb = Sandbox::new();
    let root = sb.project("proj", "[packs]\n");
    let config = sb.path().join("config.toml");
    std::fs::write(&config, "[trust]\npolicy = \"strict\"\n").unwrap();
    let out = sb
        .aibox(&root)
        .env("AIBOX_CONFIG", &config)
        .args(["--json", "doctor", "--offline"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let checks: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out).0));
    assert!(
        checks
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "config" && c["status"] == "fail"),
        "{checks}"
    );
}

/// `-q` on every path a team walks: each command succeeds and prints nothing on stderr (its
/// data, if any, goes to stdout). A status line, warning or notice that ignores `-q` fails.
#[test]
fn quiet_is_silent_on_every_path() {
    let sb = Sandbox::new();
    let packs = sb.repo_packs();
    let root = sb.path().join("proj");
    std::fs::create_dir_all(&root).unwrap();
    let quiet = |args: &[&str]| -> String {
        let out = sb.aibox(&root).arg("-q").args(args).output().unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "aibox -q {args:?} failed:\n{stderr}");
        assert_eq!(stderr, "", "aibox -q {args:?} printed on stderr");
        stdout
    };
    quiet(&["init"]);
    let registry = format!("default = \"dir:{}\"", packs.display());
    let manifest = std::fs::read_to_string(root.join("aibox.toml")).unwrap();
    let manifest = if manifest.contains("[registries]") {
        manifest.replacen("[registries]", &format!("[registries]\n{registry}"), 1)
    } else {
        format!("[registries]\n{registry}\n\n{manifest}")
    };
    std::fs::write(root.join("aibox.toml"), manifest).unwrap();
    std::fs::write(root.join(".tool-versions"), "hello 1.0.0\n").unwrap();

    quiet(&["import"]);
    quiet(&["lock"]);
    quiet(&["sync"]);
    assert!(root.join(".aibox/current/bin/hello").exists());
    quiet(&["add", "json-pretty", "todo-scan"]);
    assert!(quiet(&["run", "--", "hello", "team"]).contains("team"));
    quiet(&["outdated"]);
    quiet(&["update"]);
    quiet(&["list"]);
    quiet(&["tree"]);
    quiet(&["env"]);
    quiet(&["generations"]);
    quiet(&["diff"]);
    quiet(&["remove", "json-pretty"]);
    quiet(&["rollback"]);
    quiet(&["sync", "--locked"]);
    quiet(&[
        "install",
        "editorconfig",
        "--registry",
        &format!("dir:{}", packs.display()),
    ]);
    quiet(&["uninstall", "editorconfig"]);
    quiet(&[
        "x",
        "hello",
        "--registry",
        &format!("dir:{}", packs.display()),
        "--",
        "hello",
    ]);
    quiet(&[
        "pack",
        "build",
        &packs.join("ci-tools").display().to_string(),
        "--output",
        &sb.path().join("built").display().to_string(),
    ]);
    quiet(&["vendor", &sb.path().join("vendored").display().to_string()]);
    quiet(&[
        "sync",
        "--mirror",
        &format!("oci-layout:{}", sb.path().join("vendored").display()),
    ]);
    quiet(&["gc"]);
    quiet(&["store", "verify"]);
    quiet(&["log"]);
    quiet(&["config", "set", "update.check", "false"]);
    quiet(&["search", "hello"]);
    quiet(&["info", "hello"]);
}
