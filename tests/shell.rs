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

/// Run `script` in `shell` (`-c`), in `cwd`, with the store at `home`; it must succeed.
/// Returns stdout and stderr.
fn shell_in(shell: &str, cwd: &Path, home: &Path, script: &str) -> (String, String) {
    let out = Std::new(shell)
        .args(["-c", script])
        .current_dir(cwd)
        .env("AIBOX_BIN", aibox_bin())
        .env("AIBOX_HOME", home)
        .env("NO_COLOR", "1")
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", cwd)
        .env("XDG_CONFIG_HOME", cwd.join(".config"))
        .output()
        .unwrap_or_else(|e| panic!("{shell} runs: {e}"));
    let (o, e) = text(&out);
    assert!(out.status.success(), "{shell} failed:\n{o}\n{e}");
    (o, e)
}

/// [`shell_in`] with a store under `cwd`, stdout only.
fn shell(shell: &str, cwd: &Path, script: &str) -> String {
    shell_in(shell, cwd, &cwd.join("aibox-home"), script).0
}

/// Where the hook puts a synced project's commands: its profile's `current/bin` in the store,
/// which `.aibox/current` links to.
fn store_bin(root: &Path) -> String {
    std::fs::read_link(root.join(".aibox/current"))
        .unwrap()
        .join("bin")
        .display()
        .to_string()
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

/// Two synced projects (one nested directory deep) and a place outside both.
fn projects(sb: &Sandbox) -> (std::path::PathBuf, std::path::PathBuf) {
    let a = sb.project("a", "[packs]\n");
    let b = sb.project("b", "[packs]\n");
    sb.ok(&a, &["sync"]);
    sb.ok(&b, &["sync"]);
    std::fs::create_dir_all(a.join("src/deep")).unwrap();
    std::fs::create_dir_all(sb.path().join("outside")).unwrap();
    (a, b)
}

/// The PATH entries a shell prints (one per line) after each step, as seen from `dir`.
fn check(paths: &str, a: &Path, b: &Path) {
    let steps: Vec<&str> = paths.lines().filter(|l| l.starts_with("PATH=")).collect();
    assert_eq!(steps.len(), 5, "{paths}");
    let (a_bin, b_bin) = (store_bin(a), store_bin(b));
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
        check(&shell_in(sh, &outside, &sb.home(), &script).0, &a, &b);
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
    check(&shell_in("fish", &outside, &sb.home(), &script).0, &a, &b);
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
        o.starts_with(&format!("{}/json-pretty", store_bin(&root))),
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

/// A cloned repository that commits its own `.aibox`, each way it can: a `current` directory
/// with a `bin/ls`, a `current` link to a directory of the repository, and a `current` link
/// to a real generation of another of the user's projects.
fn hostile_repositories(sb: &Sandbox) -> Vec<std::path::PathBuf> {
    let payload = |dir: &Path| {
        std::fs::create_dir_all(dir).unwrap();
        let ls = dir.join("ls");
        std::fs::write(&ls, "#!/bin/sh\ntouch \"$HOME/PWNED\"\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ls, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    let dir = sb.project("committed-dir", "[packs]\n");
    payload(&dir.join(".aibox/current/bin"));
    let link = sb.project("committed-link", "[packs]\n");
    payload(&link.join("payload/bin"));
    std::fs::create_dir_all(link.join(".aibox")).unwrap();
    std::os::unix::fs::symlink("../payload", link.join(".aibox/current")).unwrap();
    // Another project of the user's, synced, with an `ls` of its own on its PATH.
    let other = sb.project("other", "[packs]\n");
    sb.ok(&other, &["sync"]);
    let borrowed = sb.project("borrowed", "[packs]\n");
    std::fs::create_dir_all(borrowed.join(".aibox")).unwrap();
    std::os::unix::fs::symlink(
        std::fs::read_link(other.join(".aibox/current")).unwrap(),
        borrowed.join(".aibox/current"),
    )
    .unwrap();
    vec![dir, link, borrowed]
}

#[test]
fn a_repository_s_own_aibox_never_reaches_path_in_bash_zsh_and_fish() {
    let sb = Sandbox::new();
    let outside = sb.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    for repo in hostile_repositories(&sb) {
        for sh in ["bash", "zsh", "fish"] {
            // Enter the repository, draw two prompts, run `ls`.
            let script = match sh {
                "fish" => format!(
                    r#""$AIBOX_BIN" activate fish | source
                       cd '{}'; _aibox_hook; echo "PATH="(string join : $PATH); ls >/dev/null"#,
                    repo.display()
                ),
                _ => format!(
                    r#"eval "$("$AIBOX_BIN" activate {sh})"
                       cd '{}'; _aibox_hook; _aibox_hook; echo "PATH=$PATH"; ls >/dev/null"#,
                    repo.display()
                ),
            };
            let (out, err) = shell_in(sh, &outside, &sb.home(), &script);
            let what = format!("{sh} in {}", repo.display());
            assert!(
                !outside.join("PWNED").exists(),
                "{what}: the repository's `ls` ran\n{out}{err}"
            );
            let path = out.lines().find(|l| l.starts_with("PATH=")).unwrap();
            assert_eq!(path, "PATH=/usr/local/bin:/usr/bin:/bin", "{what}");
            // One warning, naming the path it did not use.
            let named = format!("`{}/.aibox/current/bin`", repo.display());
            assert_eq!(err.matches("warning:").count(), 1, "{what}: {err}");
            assert!(
                err.contains(&named) && err.contains("aibox sync"),
                "{what}: {err}"
            );
        }
        // The same repository, synced by its user: refused, nothing adopted.
        let (_, err) = sb.fails(&repo, &["sync"]);
        assert!(
            err.contains("refusing to use") && err.contains("hint:"),
            "{err}"
        );
    }
}

#[test]
fn activate_notices_once_when_a_pull_moves_the_lock_in_bash_zsh_and_fish() {
    let sb = Sandbox::new();
    sb.repo_packs();
    let root = sb.project(
        "p",
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\njson-pretty = \"*\"\n",
    );
    sb.ok(&root, &["sync"]);
    let pulled = std::fs::read(root.join("aibox.lock")).unwrap();
    // The environment moves on (an `add`), then a checkout brings the older lock back.
    sb.ok(&root, &["add", "hello"]);
    let moved = "changed since generation";
    let hooks = |sh: &str| -> (String, String) {
        let (source, bump) = match sh {
            "fish" => (
                r#""$AIBOX_BIN" activate fish | source"#,
                r#"touch -d "@"(math (date +%s) + 5) aibox.lock"#,
            ),
            _ => (
                if sh == "bash" {
                    r#"eval "$("$AIBOX_BIN" activate bash)""#
                } else {
                    r#"eval "$("$AIBOX_BIN" activate zsh)""#
                },
                r#"touch -d "@$(( $(date +%s) + 5 ))" aibox.lock"#,
            ),
        };
        std::fs::write(root.join("pulled.lock"), &pulled).unwrap();
        let script = format!(
            "{source}\n_aibox_hook; echo step1 >&2\n\
             cp pulled.lock aibox.lock; {bump}\n\
             _aibox_hook; echo step2 >&2\n_aibox_hook; echo step3 >&2\n\
             \"$AIBOX_BIN\" sync -q\n_aibox_hook; echo step4 >&2\n"
        );
        shell_in(sh, &root, &sb.home(), &script)
    };
    for sh in ["bash", "zsh", "fish"] {
        let (_, err) = hooks(sh);
        let before = |step: &str| err.split(step).next().unwrap().to_owned();
        // Nothing while the lock matches; one notice when it moved, naming the lock; no
        // repeat at the next prompt; none once synced.
        assert_eq!(before("step1").matches(moved).count(), 0, "{sh}: {err}");
        assert_eq!(before("step2").matches(moved).count(), 1, "{sh}: {err}");
        assert!(before("step2").contains("aibox.lock"), "{sh}: {err}");
        assert_eq!(before("step4").matches(moved).count(), 1, "{sh}: {err}");
    }
}
