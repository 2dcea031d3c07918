//! Shell integration in real shells: completions answer in bash and fish (and parse in zsh),
//! and the `activate` hook puts the current project's `bin/` on PATH once, swaps it between
//! projects and removes it on leaving, in bash, zsh and fish.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::Path;
use std::process::Command as Std;

use common::{Sandbox, text};

fn aibox_bin() -> String {
    assert_cmd::cargo::cargo_bin("aibox").display().to_string()
}

/// Run `script` in `shell` (`-c`), in `cwd`; it must succeed. Returns stdout.
fn shell(shell: &str, cwd: &Path, script: &str) -> String {
    let out = Std::new(shell)
        .args(["-c", script])
        .current_dir(cwd)
        .env("AIBOX_BIN", aibox_bin())
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", cwd)
        .env("XDG_CONFIG_HOME", cwd.join(".config"))
        .output()
        .unwrap_or_else(|e| panic!("{shell} runs: {e}"));
    let (o, e) = text(&out);
    assert!(out.status.success(), "{shell} failed:\n{o}\n{e}");
    o
}

#[test]
fn completions_answer_in_bash_and_fish_and_parse_in_zsh() {
    let sb = Sandbox::new();
    let dir = sb.path();
    for sh in ["bash", "zsh", "fish"] {
        let out = sb.aibox(dir).args(["completions", sh]).output().unwrap();
        assert!(out.status.success());
        std::fs::write(dir.join(format!("aibox.{sh}")), &out.stdout).unwrap();
    }
    let bash = shell(
        "bash",
        dir,
        r#"source ./aibox.bash
           COMP_WORDS=(aibox sy); COMP_CWORD=1; _aibox aibox sy aibox; echo "1: ${COMPREPLY[*]}"
           COMP_WORDS=(aibox sync --lo); COMP_CWORD=2; _aibox aibox --lo sync; echo "2: ${COMPREPLY[*]}"
           COMP_WORDS=(aibox trust ""); COMP_CWORD=2; _aibox aibox "" trust; echo "3: ${COMPREPLY[*]}""#,
    );
    assert!(bash.contains("1: sync"), "{bash}");
    assert!(bash.contains("2: --locked"), "{bash}");
    let trust = bash.lines().find(|l| l.starts_with("3:")).unwrap();
    for sub in ["add", "list", "remove"] {
        assert!(trust.split_whitespace().any(|w| w == sub), "{bash}");
    }
    let fish = shell(
        "fish",
        dir,
        "source ./aibox.fish; complete -C 'aibox sy'; complete -C 'aibox rollback --'",
    );
    assert!(fish.lines().any(|l| l.starts_with("sync\t")), "{fish}");
    assert!(fish.lines().any(|l| l.starts_with("--to")), "{fish}");
    shell("zsh", dir, "zsh -n ./aibox.zsh");
}

/// Two projects (one nested directory deep) and a place outside both.
fn projects(sb: &Sandbox) -> (std::path::PathBuf, std::path::PathBuf) {
    let a = sb.project("a", "[packs]\n");
    let b = sb.project("b", "[packs]\n");
    std::fs::create_dir_all(a.join("src/deep")).unwrap();
    std::fs::create_dir_all(sb.path().join("outside")).unwrap();
    (a, b)
}

/// The PATH entries a shell prints (one per line) after each step, as seen from `dir`.
fn check(paths: &str, a: &Path, b: &Path) {
    let steps: Vec<&str> = paths.lines().filter(|l| l.starts_with("PATH=")).collect();
    assert_eq!(steps.len(), 5, "{paths}");
    let a_bin = format!("{}/.aibox/current/bin", a.display());
    let b_bin = format!("{}/.aibox/current/bin", b.display());
    let count = |step: &str, entry: &str| {
        step.trim_start_matches("PATH=")
            .split(':')
            .filter(|e| *e == entry)
            .count()
    };
    // In a/src/deep: a's bin first, once.
    assert!(steps[0].starts_with(&format!("PATH={a_bin}:")), "{paths}");
    assert_eq!(count(steps[0], &a_bin), 1, "{paths}");
    // The hook ran again in the same place: still once.
    assert_eq!(count(steps[1], &a_bin), 1, "{paths}");
    // In b: b's, not a's.
    assert_eq!(
        (count(steps[2], &a_bin), count(steps[2], &b_bin)),
        (0, 1),
        "{paths}"
    );
    // Outside any project: neither, and the rest of PATH as it was.
    assert_eq!(
        (count(steps[3], &a_bin), count(steps[3], &b_bin)),
        (0, 0),
        "{paths}"
    );
    assert_eq!(steps[3], "PATH=/usr/local/bin:/usr/bin:/bin", "{paths}");
    // Back into a: once again.
    assert_eq!(count(steps[4], &a_bin), 1, "{paths}");
}

#[test]
fn activate_follows_the_current_project_in_bash_zsh_and_fish() {
    let sb = Sandbox::new();
    let (a, b) = projects(&sb);
    let deep = a.join("src/deep");
    let outside = sb.path().join("outside");
    for sh in ["bash", "zsh"] {
        let script = format!(
            r#"eval "$("$AIBOX_BIN" activate {sh})"
               cd '{}'; _aibox_hook; echo "PATH=$PATH"
               _aibox_hook; echo "PATH=$PATH"
               cd '{}'; _aibox_hook; echo "PATH=$PATH"
               cd '{}'; _aibox_hook; echo "PATH=$PATH"
               cd '{}'; _aibox_hook; echo "PATH=$PATH""#,
            deep.display(),
            b.display(),
            outside.display(),
            a.display()
        );
        check(&shell(sh, &outside, &script), &a, &b);
    }
    // fish runs its hook on every change of PWD by itself.
    let script = format!(
        r#""$AIBOX_BIN" activate fish | source
           cd '{}'; echo "PATH="(string join : $PATH)
           _aibox_hook; echo "PATH="(string join : $PATH)
           cd '{}'; echo "PATH="(string join : $PATH)
           cd '{}'; echo "PATH="(string join : $PATH)
           cd '{}'; echo "PATH="(string join : $PATH)"#,
        deep.display(),
        b.display(),
        outside.display(),
        a.display()
    );
    check(&shell("fish", &outside, &script), &a, &b);
}

#[test]
fn activated_commands_run_by_name() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project(
        "p",
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\njson-pretty = \"*\"\n",
    );
    sb.ok(&root, &["sync"]);
    let out = Std::new("bash")
        .args([
            "-c",
            r#"eval "$("$AIBOX_BIN" activate bash)"; _aibox_hook; command -v json-pretty; echo '{"a":1}' | json-pretty"#,
        ])
        .current_dir(&root)
        .env("AIBOX_BIN", aibox_bin())
        .env("AIBOX_HOME", sb.home())
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .output()
        .unwrap();
    let (o, e) = text(&out);
    assert!(out.status.success(), "{o}{e}");
    assert!(
        o.starts_with(&format!(
            "{}/.aibox/current/bin/json-pretty",
            root.display()
        )),
        "{o}"
    );
    assert!(o.contains("\"a\""), "{o}");
}

#[test]
fn commands_of_packs_with_an_environment_work_from_path_alone() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project(
        "p",
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\nhello = \"1\"\ngreet-api = \"*\"\n",
    );
    sb.ok(&root, &["sync"]);
    let bin = root.join(".aibox/current/bin");
    let run = |cmd: &str, token: Option<&str>| {
        let mut c = Std::new(bin.join(cmd));
        c.arg("team")
            .current_dir(sb.path())
            .env_clear()
            .env("PATH", "/usr/bin:/bin");
        if let Some(t) = token {
            c.env("GREET_TOKEN", t);
        }
        c.output().unwrap()
    };
    // hello needs SHELLKIT, which its dependency shellkit declares: the wrapper sets it, and
    // greet-api's required variable is not hello's business.
    let out = run("hello", None);
    assert!(out.status.success(), "{}", text(&out).1);
    assert_eq!(text(&out).0, "Hello, team! (hello 1.1.0)\n");
    // greet-api's own required variable is checked, with its description.
    let out = run("greet-api", None);
    assert!(!out.status.success());
    assert!(
        text(&out).1.contains("GREET_TOKEN") && text(&out).1.contains("token for the greeting"),
        "{}",
        text(&out).1
    );
    let out = run("greet-api", Some("secret"));
    assert!(out.status.success(), "{}", text(&out).1);
    // The optional default is applied: the banner is GREET_WIDTH (40) wide.
    assert!(
        text(&out).0.lines().any(|l| l.chars().count() == 40),
        "{}",
        text(&out).0
    );
}
