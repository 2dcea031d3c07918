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
