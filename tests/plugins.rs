//! Plugins and the sandbox, with the real binary: the whole plugin lifecycle (init → test →
//! install → list → run → verify → uninstall), exit codes and signals passing through, the
//! kernel denying writes and TCP connections a pack did not declare (the test's own loopback
//! listener is the oracle), install hooks confined to their staging tree, health checks and
//! `pre-switch` subscribers that stop a switch, lifecycle events delivered as JSON, and a Rego
//! policy refusing a plugin that asks for the network.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};

use common::{Sandbox, plugin, text, write_pack};

/// A loopback listener and a shell line that tries to connect to it (prints `connected` or
/// `refused`).
fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn connect_line(port: u16) -> String {
    format!(
        "python3 -c 'import socket,sys\ntry:\n    socket.create_connection((\"127.0.0.1\", {port}), timeout=5); print(\"connected\")\nexcept OSError as e:\n    print(\"refused\", e)'\n"
    )
}

/// Whether the listener was connected to.
fn was_connected(l: &TcpListener) -> bool {
    std::thread::sleep(std::time::Duration::from_millis(100));
    l.accept().is_ok()
}

#[test]
fn plugin_lifecycle_init_install_list_run_verify_uninstall() {
    let sb = Sandbox::new();
    let work = sb.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    sb.ok(&work, &["plugin", "init", "greet"]);
    // The scaffold passes its own test.
    let out = std::process::Command::new("sh")
        .arg(work.join("greet/tests/run.sh"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    sb.ok(&work, &["plugin", "install", "./greet"]);

    let (json, _) = sb.ok(&work, &["plugin", "list", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "greet")
        .expect("greet is listed");
    assert_eq!(row["version"], "0.1.0");
    assert_eq!(row["origin"], "global");
    assert_eq!(row["signature"], "unsigned");

    let (out, _) = sb.ok(&work, &["greet", "team"]);
    assert_eq!(
        out,
        format!("hello team from greet in {}\n", work.display())
    );
    let (help, _) = sb.ok(&work, &["--help"]);
    assert!(help.contains("Plugins:\n  greet"), "{help}");

    // The scaffold subscribes to post-switch: installing it delivered the event as JSON.
    let data = sb.home().join("plugin-data/greet");
    let event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("last-event.json")).unwrap())
            .unwrap();
    assert_eq!(event["event"], "post-switch");
    assert_eq!(event["added"][0]["name"], "greet");

    let (out, _) = sb.ok(&work, &["plugin", "verify", "greet"]);
    assert!(out.starts_with("greet 0.1.0: intact"), "{out}");

    sb.ok(&work, &["plugin", "uninstall", "greet", "--purge"]);
    assert!(!data.exists(), "--purge removes the data directory");
    let (code, err) = sb.fails(&work, &["greet"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no such command or plugin: `greet`"), "{err}");
}

#[test]
fn exit_codes_signals_arguments_and_stdin_pass_through() {
    let sb = Sandbox::new();
    let work = sb.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    plugin(
        &work,
        "echoer",
        "",
        "case \"$1\" in\n  exit) exit \"$2\" ;;\n  signal) kill -TERM $$ ;;\n  *) printf '%s|' \"$@\"; cat ;;\nesac\n",
    );
    sb.ok(&work, &["plugin", "install", "./echoer"]);
    let out = sb
        .aibox(&work)
        .args(["echoer", "a b", "--flag", "-x"])
        .write_stdin("from stdin")
        .output()
        .unwrap();
    assert_eq!(text(&out).0, "a b|--flag|-x|from stdin");
    let out = sb
        .aibox(&work)
        .args(["echoer", "exit", "7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    let out = sb.aibox(&work).args(["echoer", "signal"]).output().unwrap();
    assert_eq!(out.status.signal(), Some(15), "{out:?}");
}

#[test]
fn a_plugin_cannot_write_outside_its_paths_or_connect_to_undeclared_ports() {
    let sb = Sandbox::new();
    let work = sb.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let outside = sb.path().join("outside.txt");
    let (l, port) = listener();
    let script = format!(
        "echo mine > \"$AIBOX_PLUGIN_DIR/state\" && echo wrote-own\n\
         (echo x > {outside}) 2>/dev/null && echo WROTE-OUTSIDE || echo denied-outside\n\
         (echo x > \"$AIBOX_WORKSPACE/in-project\") 2>/dev/null && echo WROTE-PROJECT || echo denied-project\n\
         {}",
        connect_line(port),
        outside = outside.display()
    );
    plugin(&work, "boxed", "", &script);
    sb.ok(&work, &["plugin", "install", "./boxed"]);
    let (out, _) = sb.ok(&work, &["boxed"]);
    assert!(out.contains("wrote-own"), "{out}");
    assert!(out.contains("denied-outside"), "{out}");
    assert!(
        out.contains("denied-project"),
        "the project is read-only by default: {out}"
    );
    assert!(out.contains("refused"), "{out}");
    assert!(!outside.exists(), "the kernel kept the write out");
    assert!(!work.join("in-project").exists());
    assert!(!was_connected(&l), "no connection reached the listener");
    assert_eq!(
        std::fs::read_to_string(sb.home().join("plugin-data/boxed/state")).unwrap(),
        "mine\n"
    );

    // Declaring the port (and the project as writable) lets exactly that through.
    plugin(
        &work,
        "netted",
        &format!("[permissions]\nfs.write = [\"$PROJECT\"]\nnet.connect = [{port}]\n"),
        &script.replace("boxed", "netted"),
    );
    sb.ok(&work, &["plugin", "install", "./netted"]);
    let (out, _) = sb.ok(&work, &["netted"]);
    assert!(out.contains("connected"), "{out}");
    assert!(out.contains("denied-outside"), "{out}");
    assert!(was_connected(&l), "the declared port was reached");
}

#[test]
fn enterprise_policy_refuses_a_plugin_the_kernel_cannot_sandbox() {
    let sb = Sandbox::new();
    let work = sb.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    plugin(&work, "p", "", "echo ran > \"$AIBOX_PLUGIN_DIR/ran\"\n");
    sb.ok(&work, &["plugin", "install", "./p"]);
    sb.ok(&work, &["config", "set", "trust.policy", "enterprise"]);
    // A local plugin is a `dir:` pack, never signed: allowed here so the kernel's part shows.
    sb.ok(&work, &["config", "set", "trust.allow-dir", "true"]);
    let out = sb
        .aibox(&work)
        .arg("p")
        .env("AIBOX_SANDBOX_ABI", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).1.contains("refusing to run the plugin `p`"),
        "{}",
        text(&out).1
    );
    assert!(
        !sb.home().join("plugin-data/p/ran").exists(),
        "it never ran"
    );
    // With Landlock it runs, fully sandboxed.
    sb.ok(&work, &["p"]);
    assert!(sb.home().join("plugin-data/p/ran").exists());
}

#[test]
fn a_policy_denies_a_plugin_that_asks_for_network() {
    let sb = Sandbox::new();
    let work = sb.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    plugin(&work, "quiet", "", "echo quiet\n");
    plugin(
        &work,
        "chatty",
        "[permissions]\nnet.connect = [443]\n",
        "echo chatty\n",
    );
    sb.ok(&work, &["plugin", "install", "./chatty"]);
    let policy = sb.path().join("policy.rego");
    std::fs::write(
        &policy,
        "package aibox\n\ndeny contains msg if {\n  input.kind == \"plugin\"\n  count(input.permissions.net.connect) > 0\n  msg := sprintf(\"plugin %s asks for network\", [input.name])\n}\n",
    )
    .unwrap();
    sb.ok(
        &work,
        &["config", "set", "policy.rego", policy.to_str().unwrap()],
    );
    // Run: denied with the reason, before anything runs.
    let (_, err) = sb.fails(&work, &["chatty"]);
    assert!(err.contains("plugin chatty asks for network"), "{err}");
    // Install: the one without network goes in; the one with network is refused.
    sb.ok(&work, &["plugin", "install", "./quiet"]);
    plugin(
        &work,
        "chatty2",
        "[permissions]\nnet.connect = [443]\n",
        "echo chatty\n",
    );
    let (_, err) = sb.fails(&work, &["plugin", "install", "./chatty2"]);
    assert!(
        err.contains("install `chatty2`: plugin chatty2 asks for network"),
        "{err}"
    );
    let (list, _) = sb.ok(&work, &["plugin", "list"]);
    assert!(!list.contains("chatty2"), "{list}");
    let (out, _) = sb.ok(&work, &["quiet"]);
    assert_eq!(out, "quiet\n");
    // A policy without `deny` is refused when configured.
    std::fs::write(&policy, "package aibox\nallow := true\n").unwrap();
    let (_, err) = sb.fails(&work, &["quiet"]);
    assert!(err.contains("cannot be evaluated"), "{err}");
}

/// A project on a `dir:` registry at `<sb>/packs`.
fn project(sb: &Sandbox) -> PathBuf {
    std::fs::create_dir_all(sb.path().join("packs")).unwrap();
    let root = sb.path().join("proj");
    std::fs::create_dir_all(&root).unwrap();
    sb.ok(&root, &["init", "--registry", "dir:../packs"]);
    root
}

fn current_generation(root: &Path) -> String {
    std::fs::read_link(root.join(".aibox/current"))
        .map(|_| std::fs::read_to_string(root.join(".aibox/current/generation.toml")).unwrap())
        .unwrap()
}

#[test]
fn a_failing_health_check_leaves_the_previous_generation() {
    let sb = Sandbox::new();
    let root = project(&sb);
    let packs = sb.path().join("packs");
    let pack = |version: &str, check: &str| {
        write_pack(
            &packs,
            &format!(
                "[pack]\nname = \"svc\"\nversion = \"{version}\"\n[bin]\nsvc = \"bin/svc\"\n[check]\nrun = \"{check}\"\n"
            ),
            &[("bin/svc", &format!("#!/bin/sh\necho svc {version}\n"), true)],
        );
    };
    pack("1.0.0", "svc | grep -q 'svc 1.0.0'");
    sb.ok(&root, &["add", "svc@1"]);
    let before = current_generation(&root);
    pack("1.1.0", "echo the service does not answer >&2; exit 3");
    let (_, err) = sb.fails(&root, &["update"]);
    assert!(
        err.contains("the health check of `svc@1.1.0` failed (exit status 3)"),
        "{err}"
    );
    assert!(err.contains("the service does not answer"), "{err}");
    assert_eq!(current_generation(&root), before, "nothing was switched");
    let (out, _) = sb.ok(&root, &["run", "--no-sync", "--", "svc"]);
    assert_eq!(out, "svc 1.0.0\n");
    let (gens, _) = sb.ok(&root, &["generations", "--json"]);
    let gens: serde_json::Value = serde_json::from_str(&gens).unwrap();
    assert_eq!(
        gens.as_array().unwrap().len(),
        2,
        "no half-made generation is left: {gens}"
    );
}

#[test]
fn install_hooks_build_into_staging_only_and_their_output_is_stored() {
    let sb = Sandbox::new();
    let root = project(&sb);
    let packs = sb.path().join("packs");
    let outside = sb.path().join("hook-escaped");
    let (l, port) = listener();
    // The hook is a script inside the pack (easier to quote), run by `[install] run`.
    write_pack(
        &packs,
        "[pack]\nname = \"gen\"\nversion = \"1.0.0\"\n[bin]\ngen = \"bin/gen\"\n[install]\nrun = \"sh ./hook.sh\"\n",
        &[("hook.sh", &hook_script(&outside, port), false)],
    );
    sb.ok(&root, &["add", "gen"]);
    let (out, _) = sb.ok(&root, &["run", "--no-sync", "--", "gen"]);
    assert_eq!(out, "built by hook\n");
    assert!(
        !outside.exists(),
        "the hook could not write outside its staging tree"
    );
    assert!(!was_connected(&l), "the hook had no network");
    // The hook's output is a stored tree: `store verify` checks it like any other.
    let (out, _) = sb.ok(&root, &["store", "verify"]);
    assert!(out.is_empty() || !out.contains("corrupt"), "{out}");

    // A failing hook: an error with its stderr, nothing switched.
    let before = current_generation(&root);
    write_pack(
        &packs,
        "[pack]\nname = \"broken\"\nversion = \"1.0.0\"\n[install]\nrun = \"echo compiler exploded >&2; exit 1\"\n",
        &[],
    );
    // A pack new to an environment that runs an install hook asks first, as an update does.
    let (code, err) = sb.fails(&root, &["add", "broken"]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("broken 1.0.0 (new): runs an install hook: `echo compiler exploded"),
        "{err}"
    );
    assert_eq!(current_generation(&root), before);
    let (_, err) = sb.fails(&root, &["add", "broken", "--yes"]);
    assert!(
        err.contains("the install hook of `broken@1.0.0` failed"),
        "{err}"
    );
    assert!(err.contains("compiler exploded"), "{err}");
    assert_eq!(current_generation(&root), before);
}

fn hook_script(outside: &Path, port: u16) -> String {
    format!(
        "mkdir -p bin\nprintf '#!/bin/sh\\necho built by hook\\n' > bin/gen\nchmod +x bin/gen\n\
         (echo x > {}) 2>/dev/null || echo denied >&2\n{}",
        outside.display(),
        connect_line(port)
    )
}

#[test]
fn a_failing_pre_switch_subscriber_stops_the_switch() {
    let sb = Sandbox::new();
    let root = project(&sb);
    let packs = sb.path().join("packs");
    write_pack(
        &packs,
        "[pack]\nname = \"gate\"\nversion = \"1.0.0\"\nkind = \"plugin\"\n[bin]\naibox-plugin-gate = \"bin/aibox-plugin-gate\"\n[hooks]\nsubscribe = [\"pre-switch\", \"post-rollback\"]\n",
        &[(
            "bin/aibox-plugin-gate",
            "#!/bin/sh\nevent=$(cat)\necho \"$event\" > \"$AIBOX_PLUGIN_DIR/$AIBOX_EVENT.json\"\ncase \"$event\" in *'\"name\":\"blocked\"'*) echo 'gate: blocked is not allowed' >&2; exit 1 ;; esac\n",
            true,
        )],
    );
    write_pack(
        &packs,
        "[pack]\nname = \"blocked\"\nversion = \"1.0.0\"\n",
        &[],
    );
    write_pack(
        &packs,
        "[pack]\nname = \"fine\"\nversion = \"1.0.0\"\n",
        &[],
    );
    sb.ok(&root, &["add", "--plugin", "gate"]);
    sb.ok(&root, &["add", "fine"]);
    let before = current_generation(&root);
    let (_, err) = sb.fails(&root, &["add", "blocked"]);
    assert!(err.contains("gate: blocked is not allowed"), "{err}");
    assert!(err.contains("stopped by the plugin `gate`"), "{err}");
    assert_eq!(current_generation(&root), before);
    let data = sb.home().join("plugin-data/gate");
    let event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("pre-switch.json")).unwrap())
            .unwrap();
    assert_eq!(event["added"][0]["name"], "blocked");
    sb.ok(&root, &["rollback"]);
    let event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("post-rollback.json")).unwrap())
            .unwrap();
    assert_eq!(event["event"], "post-rollback");
    assert_eq!(event["removed"][0]["name"], "fine");

    // A disabled subscriber is not delivered any event: the switch it would stop goes ahead.
    sb.ok(&root, &["plugin", "disable", "gate"]);
    for e in ["pre-switch.json", "post-rollback.json"] {
        std::fs::remove_file(data.join(e)).unwrap();
    }
    sb.ok(&root, &["add", "blocked"]);
    assert_ne!(current_generation(&root), before);
    sb.ok(&root, &["rollback"]);
    assert!(!data.join("pre-switch.json").exists());
    assert!(!data.join("post-rollback.json").exists());
    // Enabled again, it stops the same switch.
    sb.ok(&root, &["plugin", "enable", "gate"]);
    let (_, err) = sb.fails(&root, &["sync"]);
    assert!(err.contains("stopped by the plugin `gate`"), "{err}");
}

#[test]
fn a_pack_command_with_permissions_runs_sandboxed_even_straight_from_path() {
    let sb = Sandbox::new();
    let root = project(&sb);
    let (l, port) = listener();
    write_pack(
        &sb.path().join("packs"),
        "[pack]\nname = \"walled\"\nversion = \"1.0.0\"\n[bin]\nwalled = \"bin/walled\"\n[env]\nWALLED_MODE = \"strict\"\n[permissions]\nfs.write = [\"$PROJECT/out\"]\nenv = [\"KEEP_ME\"]\n",
        &[(
            "bin/walled",
            &format!(
                "#!/bin/sh\necho ok > \"$AIBOX_WORKSPACE/out/ok\" && echo wrote-out\n\
                 (echo x > \"$AIBOX_WORKSPACE/escape\") 2>/dev/null && echo ESCAPED || echo denied\n\
                 echo \"mode=$WALLED_MODE keep=${{KEEP_ME:-}} drop=${{DROP_ME:-}}\"\n{}",
                connect_line(port)
            ),
            true,
        )],
    );
    sb.ok(&root, &["add", "walled"]);
    std::fs::create_dir_all(root.join("out")).unwrap();
    let check = |out: &str| {
        assert!(out.contains("wrote-out"), "{out}");
        assert!(out.contains("denied"), "{out}");
        assert!(out.contains("mode=strict keep=1 drop=\n"), "{out}");
        assert!(out.contains("refused"), "{out}");
        assert!(!root.join("escape").exists());
        assert!(!was_connected(&l));
    };
    let out = sb
        .aibox(&root)
        .args(["run", "--no-sync", "--", "walled"])
        .env("KEEP_ME", "1")
        .env("DROP_ME", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    check(&text(&out).0);
    // The generation's `bin/` on PATH (no aibox in front) is sandboxed just the same.
    std::fs::remove_file(root.join("out/ok")).unwrap();
    let out = std::process::Command::new(root.join(".aibox/current/bin/walled"))
        .current_dir(&root)
        .env_remove("AIBOX_HOME")
        .env("KEEP_ME", "1")
        .env("DROP_ME", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    check(&text(&out).0);
    assert!(root.join("out/ok").exists());
}

#[test]
fn an_update_that_asks_for_more_is_refused_in_ci_without_yes() {
    let sb = Sandbox::new();
    let root = project(&sb);
    let packs = sb.path().join("packs");
    let pack = |version: &str, permissions: &str| {
        write_pack(
            &packs,
            &format!(
                "[pack]\nname = \"fetcher\"\nversion = \"{version}\"\n[permissions]\n{permissions}"
            ),
            &[],
        );
    };
    pack("1.0.0", "net.connect = [443]\n");
    sb.ok(&root, &["add", "fetcher@^1"]);
    let locked = || std::fs::read_to_string(root.join("aibox.lock")).unwrap();
    let before = (locked(), current_generation(&root));
    pack(
        "1.1.0",
        "net.connect = [443, 22]\nfs.write = [\"$HOME\"]\n[install]\nrun = \"true\"\n",
    );
    // The lock records what the locked version may do, so the comparison needs nothing of
    // the old version from the registry: with 1.0.0 gone from it, the difference still shows.
    assert!(
        before
            .0
            .contains("\n[package.permissions]\nconnect = [\n    \"443\",\n]\n"),
        "{}",
        before.0
    );
    std::fs::remove_dir_all(packs.join("fetcher-1.0.0")).unwrap();
    // `CI=true` (as every test runs): refused, nothing changed.
    let (_, err) = sb.fails(&root, &["update"]);
    assert!(
        err.contains(
            "fetcher 1.0.0 → 1.1.0: write $HOME; connect to 22; runs an install hook: `true`"
        ),
        "{err}"
    );
    assert!(err.contains("`--yes`"), "{err}");
    assert_eq!((locked(), current_generation(&root)), before);
    // A dry run shows it and changes nothing either.
    let (_, err) = sb.ok(&root, &["update", "--dry-run"]);
    assert!(err.contains("connect to 22"), "{err}");
    assert_eq!(locked(), before.0);
    // `--yes` applies it.
    sb.ok(&root, &["update", "--yes"]);
    assert!(locked().contains("version = \"1.1.0\""), "{}", locked());
    // A newer version asking for nothing more goes through unasked.
    pack(
        "1.2.0",
        "net.connect = [22]\nfs.write = [\"$HOME\"]\n[install]\nrun = \"true\"\n",
    );
    sb.ok(&root, &["update"]);
    assert!(locked().contains("version = \"1.2.0\""));
}

#[test]
fn a_plugin_published_to_a_registry_installs_from_its_oci_reference() {
    let reg = common::registry::Registry::start();
    let sb = Sandbox::new();
    let work = sb.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    sb.ok(&work, &["plugin", "init", "greet"]);
    let url = reg.url("plugins");
    sb.ok(&work, &["pack", "publish", "greet", "--registry", &url]);
    let reference = format!("{url}/greet:0.1.0");
    sb.ok(&work, &["plugin", "install", &reference]);
    let (out, _) = sb.ok(&work, &["greet", "ci"]);
    assert_eq!(out, format!("hello ci from greet in {}\n", work.display()));
    let (list, _) = sb.ok(&work, &["plugin", "list"]);
    assert!(
        list.contains(&format!("greet 0.1.0 (your global profile, {url})")),
        "{list}"
    );
}

/// Every file under `dir`, relative path → bytes, leaving out build output (`target/`,
/// `pack/bin/`).
fn files_of(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_path_buf();
            if rel.starts_with("target") || rel.starts_with("pack/bin") {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn the_example_plugins_are_what_plugin_init_writes() {
    let sb = Sandbox::new();
    let work = sb.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    for (name, template, example) in [
        ("greet", "shell", "plugin-shell"),
        ("hello-rs", "rust", "plugin-rust"),
    ] {
        sb.ok(&work, &["plugin", "init", name, "--template", template]);
        let example = common::repo_root().join("examples").join(example);
        let mut committed = files_of(&example);
        committed.retain(|p, _| !p.starts_with("target") && !p.starts_with("pack/bin"));
        assert_eq!(
            files_of(&work.join(name)),
            committed,
            "examples/{example:?}"
        );
    }
}

#[test]
fn wrappers_and_sandboxed_checks_follow_aibox_wherever_it_lives() {
    let sb = Sandbox::new();
    let root = project(&sb);
    write_pack(
        &sb.path().join("packs"),
        "[pack]\nname = \"walled\"\nversion = \"1.0.0\"\n[bin]\nwalled = \"bin/walled\"\n[permissions]\nfs.read = [\"$PROJECT\"]\n[check]\nrun = \"walled\"\n",
        &[("bin/walled", "#!/bin/sh\necho walled-ran\n", true)],
    );
    // aibox installed where the sandbox grants nothing (not a system directory).
    let place = |dir: &str| {
        let d = sb.path().join(dir);
        std::fs::create_dir_all(&d).unwrap();
        d.join("aibox")
    };
    let first = place("tools-a");
    std::fs::copy(assert_cmd::cargo::cargo_bin("aibox"), &first).unwrap();
    let run_as = |exe: &std::path::Path, args: &[&str]| {
        std::process::Command::new(exe)
            .current_dir(&root)
            .args(args)
            .env("AIBOX_HOME", sb.home())
            .env("HOME", sb.path().join("user"))
            .env("CI", "true")
            .env("NO_COLOR", "1")
            .env_remove("AIBOX_CONFIG")
            .output()
            .unwrap()
    };
    // The health check runs `walled`, a wrapper that execs aibox inside the sandbox.
    let out = run_as(&first, &["add", "walled"]);
    assert!(out.status.success(), "{}", text(&out).1);
    let wrapper = root.join(".aibox/current/bin/walled");
    let direct = || {
        std::process::Command::new(&wrapper)
            .current_dir(&root)
            .output()
            .unwrap()
    };
    assert_eq!(text(&direct()).0, "walled-ran\n");
    // aibox moves: the first aibox command from the new place mends every wrapper.
    let second = place("tools-b");
    std::fs::rename(&first, &second).unwrap();
    let out = run_as(&second, &["sync"]);
    assert!(out.status.success(), "{}", text(&out).1);
    let out = direct();
    assert!(out.status.success(), "{}", text(&out).1);
    assert_eq!(text(&out).0, "walled-ran\n");
}

#[test]
fn the_enterprise_policy_holds_when_a_plugin_starts_not_only_when_it_was_installed() {
    let sb = Sandbox::new();
    let work = sb.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    plugin(&work, "p", "", "echo ran >> \"$AIBOX_PLUGIN_DIR/ran\"\n");
    sb.ok(&work, &["plugin", "install", "./p"]);
    // A plugin found on PATH, never installed.
    let on_path = sb.path().join("on-path");
    std::fs::create_dir_all(&on_path).unwrap();
    let marker = sb.home().join("plugin-data/loose/ran");
    let exe = on_path.join("aibox-plugin-loose");
    // Outside every directory the sandbox lets a plugin read, yet it runs: its own file and
    // directory are granted.
    std::fs::write(&exe, "#!/bin/sh\necho ran >> \"$AIBOX_PLUGIN_DIR/ran\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", on_path.display(), std::env::var("PATH").unwrap());
    let run = |name: &str| {
        sb.aibox(&work)
            .env("PATH", &path)
            .arg(name)
            .output()
            .unwrap()
    };
    let ran = sb.home().join("plugin-data/p/ran");
    let count = |p: &Path| std::fs::read_to_string(p).map_or(0, |t| t.lines().count());
    // Under the default policy both run.
    for name in ["p", "loose"] {
        let out = run(name);
        assert!(out.status.success(), "{name}: {}", text(&out).1);
    }
    assert_eq!((count(&ran), count(&marker)), (1, 1));

    // The policy turns to enterprise after they were installed: neither starts.
    sb.ok(&work, &["config", "set", "trust.policy", "enterprise"]);
    for name in ["p", "loose"] {
        let out = run(name);
        assert_eq!(out.status.code(), Some(4), "{name}: {}", text(&out).1);
    }
    assert!(text(&run("loose")).1.contains("found on PATH"));
    assert_eq!((count(&ran), count(&marker)), (1, 1), "nothing ran");

    // Local `dir:` plugins allowed: it runs while its stored tree is the one locked...
    sb.ok(&work, &["config", "set", "trust.allow-dir", "true"]);
    assert!(run("p").status.success());
    assert!(run("p").status.success());
    assert_eq!(count(&ran), 3);
    // ...and not once a file of it changed in the store.
    let (dir, _) = sb.ok(&work, &["store", "path", "p", "--global"]);
    let stored = Path::new(dir.trim()).join("bin/aibox-plugin-p");
    std::fs::set_permissions(&stored, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        &stored,
        "#!/bin/sh\necho tampered >> \"$AIBOX_PLUGIN_DIR/ran\"\n",
    )
    .unwrap();
    let out = run("p");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out).1);
    assert!(
        text(&out).1.contains("not the tree it was locked as"),
        "{}",
        text(&out).1
    );
    assert_eq!(count(&ran), 3, "the changed file never ran");
}

#[test]
fn a_disabled_plugin_stays_installed_and_is_not_run_until_enabled() {
    let sb = Sandbox::new();
    let work = sb.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    plugin(&work, "p", "", "echo ran >> \"$AIBOX_PLUGIN_DIR/ran\"\n");
    sb.ok(&work, &["plugin", "install", "./p"]);
    let ran = sb.home().join("plugin-data/p/ran");
    let count = || std::fs::read_to_string(&ran).map_or(0, |t| t.lines().count());
    sb.ok(&work, &["p"]);
    assert_eq!(count(), 1);

    let (_, err) = sb.ok(&work, &["plugin", "disable", "p"]);
    assert!(err.contains("Disabled"), "{err}");
    let (code, err) = sb.fails(&work, &["p"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("the plugin `p` is disabled"), "{err}");
    assert!(err.contains("hint: `aibox plugin enable p`"), "{err}");
    assert_eq!(count(), 1, "a disabled plugin never runs");
    // Still installed: listed, marked, and its tree is in the store.
    let (list, _) = sb.ok(&work, &["plugin", "list"]);
    assert!(list.contains("p 1.0.0 (your global profile"), "{list}");
    assert!(list.contains("[disabled]"), "{list}");
    let (json, _) = sb.ok(&work, &["--json", "plugin", "list"]);
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(rows[0]["name"], "p");
    assert_eq!(rows[0]["disabled"], true);
    sb.ok(&work, &["store", "path", "p", "--global"]);

    // Disabling what is not there is an error; enabling brings it back.
    let (_, err) = sb.fails(&work, &["plugin", "disable", "nope"]);
    assert!(err.contains("no plugin `nope`"), "{err}");
    sb.ok(&work, &["plugin", "enable", "p"]);
    sb.ok(&work, &["p"]);
    assert_eq!(count(), 2);
    let (json, _) = sb.ok(&work, &["--json", "plugin", "list"]);
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(rows[0]["disabled"], false);
    // Both changes are in the audit log.
    let (log, _) = sb.ok(&work, &["log", "--json"]);
    let toggles: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["action"] == "plugin")
        .map(|e| e["detail"].clone())
        .collect();
    assert_eq!(
        toggles,
        [
            serde_json::json!({"name": "p", "enabled": false}),
            serde_json::json!({"name": "p", "enabled": true})
        ]
    );
}

/// A plugin stopped by its own `cpu-seconds` limit is named as such (not a silent end);
/// otherwise its exit status and signals pass through as without a limit.
#[test]
fn a_plugin_stopped_by_its_cpu_limit_says_which_limit_ended_it() {
    let sb = Sandbox::new();
    let work = sb.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    plugin(
        &work,
        "spinner",
        "[permissions.limits]\ncpu-seconds = 1\n",
        "case \"$1\" in\n  exit) exit \"$2\" ;;\n  signal) kill -TERM $$ ;;\n  *) while :; do :; done ;;\nesac\n",
    );
    sb.ok(&work, &["plugin", "install", "./spinner"]);
    let out = sb.aibox(&work).arg("spinner").output().unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(128 + 24), "{out:?}");
    assert!(
        stderr.contains("the plugin `spinner` was stopped: it used up its cpu-seconds limit (1 s"),
        "{stderr}"
    );
    let out = sb
        .aibox(&work)
        .args(["spinner", "exit", "7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    let out = sb
        .aibox(&work)
        .args(["spinner", "signal"])
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(15), "{out:?}");
}

/// Everything of the global profile a refused install must leave alone: its `aibox.toml`,
/// `aibox.lock` and the generation `current` names.
fn global_state(sb: &Sandbox) -> (String, String, String) {
    let global = sb.home().join("global");
    let current = sb.home().join("profiles/global/current");
    (
        std::fs::read_to_string(global.join("aibox.toml")).unwrap(),
        std::fs::read_to_string(global.join("aibox.lock")).unwrap(),
        std::fs::read_to_string(current.join("generation.toml")).unwrap(),
    )
}

#[test]
fn a_plugin_install_that_widens_what_the_plugin_may_do_asks_first() {
    let sb = Sandbox::new();
    let packs = sb.path().join("packs");
    let registry = format!("dir:{}", packs.display());
    let example = |version: &str, connect: &str| {
        write_pack(
            &packs,
            &format!(
                "[pack]\nname = \"example\"\nversion = \"{version}\"\nkind = \"plugin\"\n[bin]\naibox-plugin-example = \"bin/aibox-plugin-example\"\n[permissions]\nfs.read = [\"$PROJECT\"]\nnet.connect = [{connect}]\n"
            ),
            &[(
                "bin/aibox-plugin-example",
                &format!("#!/bin/sh\necho example {version}\n"),
                true,
            )],
        );
    };
    example("1.0.0", "443");
    example("1.1.0", "443, 22");
    example("1.2.0", "22");
    let work = sb.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    sb.ok(
        &work,
        &[
            "plugin",
            "install",
            "example@1.0.0",
            "--registry",
            &registry,
        ],
    );
    let before = global_state(&sb);
    // `CI=true`, as every test runs: refused with the policy-refusal code, nothing changed.
    let (code, err) = sb.fails(&work, &["plugin", "install", "example@1.1.0"]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("example 1.0.0 → 1.1.0: connect to 22"),
        "{err}"
    );
    assert!(err.contains("`--yes`"), "{err}");
    assert_eq!(global_state(&sb), before);
    assert_eq!(sb.ok(&work, &["example"]).0, "example 1.0.0\n");
    // `--yes` takes it, saying what it took.
    let (_, err) = sb.ok(&work, &["plugin", "install", "example@1.1.0", "--yes"]);
    assert!(err.contains("connect to 22"), "{err}");
    assert_eq!(sb.ok(&work, &["example"]).0, "example 1.1.0\n");
    // A version that asks for nothing more (fewer ports) goes through unasked.
    sb.ok(&work, &["plugin", "install", "example@1.2.0"]);
    assert_eq!(sb.ok(&work, &["example"]).0, "example 1.2.0\n");
}

#[test]
fn add_and_sync_after_an_edit_ask_before_widening_what_a_pack_may_do() {
    let sb = Sandbox::new();
    let root = project(&sb);
    let packs = sb.path().join("packs");
    let pack = |version: &str, permissions: &str| {
        write_pack(
            &packs,
            &format!(
                "[pack]\nname = \"fetcher\"\nversion = \"{version}\"\n[bin]\nfetcher = \"bin/fetcher\"\n[permissions]\n{permissions}"
            ),
            &[(
                "bin/fetcher",
                &format!("#!/bin/sh\necho fetcher {version}\n"),
                true,
            )],
        );
    };
    pack("1.0.0", "net.connect = [443]\n");
    pack("1.1.0", "net.connect = [443, 22]\n");
    pack("1.2.0", "net.connect = [443, 22]\nfs.write = [\"$HOME\"]\n");
    pack("1.3.0", "net.connect = [22]\nfs.write = [\"$HOME\"]\n");
    sb.ok(&root, &["add", "fetcher@=1.0.0"]);
    let read = |name: &str| std::fs::read_to_string(root.join(name)).unwrap();
    let state = || {
        (
            read("aibox.toml"),
            read("aibox.lock"),
            current_generation(&root),
        )
    };
    let before = state();

    // `add` of a wider version: refused in CI, nothing changed; `--yes` takes it.
    let (code, err) = sb.fails(&root, &["add", "fetcher@=1.1.0"]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("fetcher 1.0.0 → 1.1.0: connect to 22"),
        "{err}"
    );
    assert!(err.contains("`--yes`"), "{err}");
    assert_eq!(state(), before);
    sb.ok(&root, &["add", "fetcher@=1.1.0", "--yes"]);
    assert!(read("aibox.lock").contains("version = \"1.1.0\""));

    // `sync` after editing `aibox.toml` by hand: the same check, and the lock it wrote for
    // the edit is put back.
    let before = state();
    let edited = read("aibox.toml").replace("=1.1.0", "=1.2.0");
    assert_ne!(edited, before.0);
    std::fs::write(root.join("aibox.toml"), &edited).unwrap();
    let (code, err) = sb.fails(&root, &["sync"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("fetcher 1.1.0 → 1.2.0: write $HOME"), "{err}");
    assert_eq!(
        (read("aibox.lock"), current_generation(&root)),
        (before.1.clone(), before.2.clone())
    );
    sb.ok(&root, &["sync", "--yes"]);
    assert!(read("aibox.lock").contains("version = \"1.2.0\""));
    assert_eq!(sb.ok(&root, &["run", "--", "fetcher"]).0, "fetcher 1.2.0\n");

    // Nothing wider: no question. An unchanged lock under `--locked`: none either.
    std::fs::write(
        root.join("aibox.toml"),
        read("aibox.toml").replace("=1.2.0", "=1.3.0"),
    )
    .unwrap();
    sb.ok(&root, &["sync"]);
    assert!(read("aibox.lock").contains("version = \"1.3.0\""));
    sb.ok(&root, &["sync", "--locked"]);
}
