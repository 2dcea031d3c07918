//! Variables a pack may not set (docs/security.md): prompts, shell start-up and every variable a
//! common program reads as code are refused at sync unless the project allows the name in
//! `[policy] allow-pack-env`; `aibox env` exports only names the rule lets through now, so a
//! prompt from a pack never runs in an interactive bash.
// Tests build hostile inputs with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::Path;

use common::{Sandbox, text, write_pack};

/// A prompt that runs code each time bash draws it.
const PWN_PROMPT: &str = "$(touch PWNED)$ ";

fn project(sb: &Sandbox, policy: &str) -> std::path::PathBuf {
    sb.project(
        "p",
        &format!("[registries]\ndefault = \"dir:../packs\"\n[packs]\nprompt = \"1\"\n{policy}"),
    )
}

/// Evaluate `aibox env` in an interactive bash (prompts are drawn, as in a terminal), then run
/// one command; returns bash's stderr (where the prompts go).
fn interactive_bash(sb: &Sandbox, root: &Path) -> String {
    let bin = assert_cmd::cargo::cargo_bin("aibox");
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-i"])
        .current_dir(root)
        .env("AIBOX_HOME", sb.home())
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            let script = format!("eval \"$('{}' env)\"\necho done\n", bin.display());
            child.stdin.take().unwrap().write_all(script.as_bytes())?;
            child.wait_with_output()
        })
        .expect("bash runs");
    let (o, e) = text(&out);
    assert!(o.contains("done"), "{o}{e}");
    e
}

#[test]
fn a_prompt_from_a_pack_is_refused_and_never_runs_in_bash() {
    let sb = Sandbox::new();
    write_pack(
        &sb.path().join("packs"),
        &format!(
            "[pack]\nname = \"prompt\"\nversion = \"1.0.0\"\n[env]\nPS1 = {}\nTOOL_MODE = \"on\"\n",
            toml::Value::String(PWN_PROMPT.into())
        ),
        &[],
    );
    let root = project(&sb, "");
    let (code, err) = sb.fails(&root, &["sync"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("pack `prompt` may not set `PS1`"), "{err}");
    assert!(err.contains("`PS*`") && err.contains("bash(1)"), "{err}");
    assert!(
        err.contains("hint:") && err.contains("allow-pack-env = [\"PS1\"]"),
        "{err}"
    );
    assert!(!root.join(".aibox/current/packs/prompt").exists());

    // Allowed by name, it is exported like any variable.
    std::fs::write(
        root.join("aibox.toml"),
        std::fs::read_to_string(root.join("aibox.toml")).unwrap()
            + "[policy]\nallow-pack-env = [\"PS1\"]\n",
    )
    .unwrap();
    sb.ok(&root, &["sync"]);
    let (json, _) = sb.ok(&root, &["env", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["vars"]["PS1"], PWN_PROMPT);
    // (What this test guards against, made visible: the allowed prompt does run in bash.)
    interactive_bash(&sb, &root);
    assert!(root.join("PWNED").exists(), "the harness sees a prompt run");
    std::fs::remove_file(root.join("PWNED")).unwrap();

    // The allowance withdrawn, the generation made under it exports nothing protected: the
    // prompt never reaches bash, with a warning naming it; sync rebuilds, and refuses.
    std::fs::write(
        root.join("aibox.toml"),
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\nprompt = \"1\"\n",
    )
    .unwrap();
    let stderr = interactive_bash(&sb, &root);
    assert!(
        !root.join("PWNED").exists(),
        "the pack's prompt ran in bash:\n{stderr}"
    );
    let (out, err) = sb.ok(&root, &["env"]);
    assert!(
        !out.contains("PS1") && out.contains("TOOL_MODE='on'"),
        "{out}"
    );
    assert!(err.contains("not exporting `PS1`"), "{err}");
    let (_, err) = sb.fails(&root, &["sync"]);
    assert!(err.contains("pack `prompt` may not set `PS1`"), "{err}");
}

#[test]
fn variables_that_make_programs_run_code_are_refused_from_every_source() {
    let sb = Sandbox::new();
    let names = [
        "PS0",
        "PS2",
        "PROMPT_COMMAND",
        "RPROMPT",
        "BASH_ENV",
        "ENV",
        "ZDOTDIR",
        "fish_function_path",
        "GIT_SSH_COMMAND",
        "GIT_CONFIG_GLOBAL",
        "NODE_OPTIONS",
        "npm_config_script_shell",
        "PYTHONSTARTUP",
        "PERL5OPT",
        "LESSOPEN",
        "EDITOR",
        "LD_PRELOAD",
        "https_proxy",
        "ANY_TOOL_COMMAND",
        "OTHER_OPTIONS",
    ];
    // Each name, in `[env]` and as the default of an optional variable, from a `dir:` source.
    for (i, name) in names.iter().enumerate() {
        for (j, env) in [
            format!("[env]\n{name} = \"x\"\n"),
            format!("[env.optional]\n{name} = {{ default = \"x\", description = \"d\" }}\n"),
        ]
        .iter()
        .enumerate()
        {
            let packs = sb.path().join(format!("packs-{i}-{j}"));
            write_pack(
                &packs,
                &format!("[pack]\nname = \"evil\"\nversion = \"1.0.0\"\n{env}"),
                &[],
            );
            let root = sb.project(
                &format!("p-{i}-{j}"),
                &format!(
                    "[registries]\ndefault = \"dir:../packs-{i}-{j}\"\n[packs]\nevil = \"1\"\n"
                ),
            );
            let (_, err) = sb.fails(&root, &["sync"]);
            assert!(
                err.contains(&format!("pack `evil` may not set `{name}`")),
                "{name}: {err}"
            );
        }
    }
    // From an OCI image layout `pack build` made: the pack is publishable, projects decide.
    let dir = write_pack(
        &sb.path().join("src"),
        "[pack]\nname = \"evil\"\nversion = \"1.0.0\"\n[env]\nNODE_OPTIONS = \"--require /tmp/x.js\"\n",
        &[],
    );
    let (_, err) = sb.ok(
        sb.path(),
        &["pack", "build", &dir.display().to_string(), "-o", "lay"],
    );
    assert!(
        err.contains("`evil` sets `NODE_OPTIONS`, a protected variable")
            && err.contains("allow-pack-env"),
        "the publisher is told: {err}"
    );
    let root = sb.project(
        "from-layout",
        "[registries]\ndefault = \"oci-layout:../lay\"\n[packs]\nevil = \"1\"\n",
    );
    let (_, err) = sb.fails(&root, &["sync"]);
    assert!(
        err.contains("pack `evil` may not set `NODE_OPTIONS`"),
        "{err}"
    );
    assert!(err.contains("node(1)"), "{err}");
    std::fs::write(
        root.join("aibox.toml"),
        "[registries]\ndefault = \"oci-layout:../lay\"\n[packs]\nevil = \"1\"\n[policy]\nallow-pack-env = [\"NODE_OPTIONS\"]\n",
    )
    .unwrap();
    sb.ok(&root, &["sync"]);
    // What no rule protects passes without an allowance.
    write_pack(
        &sb.path().join("packs-fine"),
        "[pack]\nname = \"fine\"\nversion = \"1.0.0\"\n[env]\nJAVA_HOME = \"${pack}/jdk\"\n",
        &[],
    );
    let root = sb.project(
        "fine",
        "[registries]\ndefault = \"dir:../packs-fine\"\n[packs]\nfine = \"1\"\n",
    );
    sb.ok(&root, &["sync"]);
}

#[test]
fn allow_pack_env_is_checked_with_line_and_column() {
    let sb = Sandbox::new();
    let cases = [
        (
            "allow-pack-env = [\"PATH\"]",
            "aibox.toml:2:19: `PATH` cannot come from a pack: aibox sets it itself",
        ),
        (
            "allow-pack-env = [\"JAVA_HOME\"]",
            "aibox.toml:2:19: `JAVA_HOME` is not a protected variable",
        ),
        (
            "allow-pack-env = [\"X Y\"]",
            "aibox.toml:2:19: `X Y` is not an environment variable name",
        ),
        (
            "allow-pack-env = \"PS1\"",
            "aibox.toml:2:18: `policy.allow-pack-env` must be an array of variable names",
        ),
        (
            "allow-pack-envs = [\"PS1\"]",
            "unknown key `allow-pack-envs` in `[policy]`; did you mean `allow-pack-env`?",
        ),
    ];
    for (line, expected) in cases {
        let root = sb.project("p", &format!("[policy]\n{line}\n"));
        let (code, err) = sb.fails(&root, &["lock"]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(expected), "{line}: {err}");
        assert!(err.contains("hint:"), "{line}: {err}");
    }
}
