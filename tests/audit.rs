//! The audit log records every verdict, with the real binary: a plugin run (who, what, which
//! grants, what the kernel enforces), Rego and trust denials at run and install time, a
//! failed health check and a rollback — read back through `aibox log --json`, one object per
//! line — and rotation by the configured size, read across the rotated files.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::Path;

use common::{Sandbox, plugin, write_pack};
use serde_json::Value;

/// Every record `aibox log --json` prints (each line must be one JSON object).
fn log(sb: &Sandbox, cwd: &Path) -> Vec<Value> {
    let (out, _) = sb.ok(cwd, &["log", "--json"]);
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The records of `action` whose detail has `key` = `value`.
fn find<'a>(events: &'a [Value], action: &str, key: &str, value: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["action"] == action && e["detail"][key] == value)
        .collect()
}

#[test]
fn runs_denials_refusals_health_checks_and_rollbacks_are_recorded() {
    let sb = Sandbox::new();
    let work = sb.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    plugin(
        &work,
        "chatty",
        "[permissions]\nnet.connect = [443]\nfs.write = [\"$PLUGIN_DIR\"]\n",
        "echo chatty \"$@\"\n",
    );
    sb.ok(&work, &["plugin", "install", "./chatty"]);

    // A plugin run: who, what, which permissions, what the kernel enforces.
    let (out, _) = sb.ok(&work, &["chatty", "one", "two"]);
    assert_eq!(out, "chatty one two\n");
    let events = log(&sb, &work);
    let runs = find(&events, "run", "pack", "chatty");
    assert_eq!(runs.len(), 1, "{events:?}");
    let run = runs[0];
    assert!(run["user"].as_str().is_some_and(|u| !u.is_empty()), "{run}");
    let d = &run["detail"];
    assert_eq!(d["kind"], "plugin");
    assert_eq!(d["version"], "1.0.0");
    assert_eq!(d["origin"], "your global profile");
    assert_eq!(d["args"], serde_json::json!(["one", "two"]));
    assert!(
        d["program"]
            .as_str()
            .unwrap()
            .ends_with("aibox-plugin-chatty"),
        "{d}"
    );
    assert_eq!(d["grants"]["connect"], serde_json::json!([443]));
    let plugin_dir = sb.home().join("plugin-data/chatty");
    assert!(
        d["grants"]["write"].as_array().unwrap().iter().any(|w| w
            .as_str()
            .unwrap()
            .trim_end_matches('/')
            == plugin_dir.to_str().unwrap()),
        "{d}"
    );
    assert_eq!(d["permissions"]["net"]["connect"], serde_json::json!([443]));
    assert!(
        ["full", "partial", "none"].contains(&d["enforcement"].as_str().unwrap()),
        "{d}"
    );
    assert!(d["kernel"]["seccomp"].is_boolean(), "{d}");

    // A Rego policy denies it at run time and a new one at install time: both recorded.
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
    sb.fails(&work, &["chatty"]);
    plugin(
        &work,
        "chatty2",
        "[permissions]\nnet.connect = [443]\n",
        "echo chatty\n",
    );
    sb.fails(&work, &["plugin", "install", "./chatty2"]);
    let events = log(&sb, &work);
    let denials: Vec<&Value> = find(&events, "deny", "policy", "rego");
    assert_eq!(denials.len(), 2, "{denials:?}");
    let (at_run, at_install) = (&denials[0]["detail"], &denials[1]["detail"]);
    assert_eq!(at_run["file"], policy.to_str().unwrap());
    assert_eq!(at_run["denied"][0]["action"], "run");
    assert_eq!(at_run["denied"][0]["pack"], "chatty");
    assert_eq!(
        at_run["denied"][0]["reasons"],
        serde_json::json!(["plugin chatty asks for network"])
    );
    assert_eq!(at_install["denied"][0]["action"], "install");
    assert_eq!(at_install["denied"][0]["pack"], "chatty2");
    assert_eq!(
        find(&events, "run", "pack", "chatty").len(),
        1,
        "the denied run is not recorded as a run"
    );
    sb.ok(&work, &["config", "set", "policy.rego", ""]);

    // The enterprise policy: the unsigned plugin is refused when it starts, and a `dir:`
    // pack is refused at install time — each a trust denial with the reason.
    sb.ok(&work, &["config", "set", "trust.policy", "enterprise"]);
    let (code, _) = sb.fails(&work, &["chatty"]);
    assert_eq!(code, 4);
    let root = sb.path().join("proj");
    std::fs::create_dir_all(&root).unwrap();
    let packs = sb.path().join("packs");
    write_pack(
        &packs,
        "[pack]\nname = \"svc\"\nversion = \"1.0.0\"\n[bin]\nsvc = \"bin/svc\"\n",
        &[("bin/svc", "#!/bin/sh\necho svc\n", true)],
    );
    std::fs::write(
        root.join("aibox.toml"),
        "[registries]\ndefault = \"dir:../packs\"\n[packs]\nsvc = \"1\"\n",
    )
    .unwrap();
    let (code, _) = sb.fails(&root, &["sync"]);
    assert_eq!(code, 4);
    let events = log(&sb, &work);
    let trust = find(&events, "deny", "policy", "trust");
    assert_eq!(trust.len(), 2, "{trust:?}");
    assert_eq!(trust[0]["detail"]["action"], "run");
    assert_eq!(trust[0]["detail"]["pack"], "chatty");
    assert!(
        trust[0]["detail"]["reason"]
            .as_str()
            .unwrap()
            .contains("chatty"),
        "{}",
        trust[0]
    );
    // Refused while the lock was made, before anything was fetched.
    assert_eq!(trust[1]["detail"]["action"], "lock");
    assert_eq!(trust[1]["detail"]["pack"], "svc");
    assert_eq!(trust[1]["detail"]["level"], "enterprise");
    assert!(
        trust[1]["detail"]["reason"]
            .as_str()
            .unwrap()
            .contains("`dir:` source"),
        "{}",
        trust[1]
    );
    sb.ok(&work, &["config", "set", "trust.policy", "dev"]);

    // A health check that passes, one that fails, then a rollback.
    sb.ok(&root, &["sync"]);
    let pack = |version: &str, check: &str| {
        write_pack(
            &packs,
            &format!(
                "[pack]\nname = \"svc\"\nversion = \"{version}\"\n[bin]\nsvc = \"bin/svc\"\n[check]\nrun = \"{check}\"\n"
            ),
            &[("bin/svc", &format!("#!/bin/sh\necho svc {version}\n"), true)],
        );
    };
    pack("1.1.0", "svc | grep -q 'svc 1.1.0'");
    sb.ok(&root, &["update", "--yes"]);
    pack("1.2.0", "echo no answer >&2; exit 3");
    sb.fails(&root, &["update", "--yes"]);
    sb.ok(&root, &["rollback"]);
    let events = log(&sb, &work);
    let health = find(&events, "health", "pack", "svc");
    assert_eq!(health.len(), 1, "only the failure: {health:?}");
    let h = &health[0]["detail"];
    assert_eq!(h["version"], "1.2.0");
    assert_eq!(h["passed"], false);
    assert!(
        h["error"].as_str().unwrap().contains("exit status 3"),
        "{h}"
    );
    let checks: Vec<&Value> = find(&events, "run", "kind", "health-check");
    let statuses: Vec<(&str, &str)> = checks
        .iter()
        .map(|c| {
            (
                c["detail"]["version"].as_str().unwrap(),
                c["detail"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [("1.1.0", "ok"), ("1.2.0", "exit status 3")],
        "{checks:?}"
    );
    let rollbacks: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "rollback")
        .collect();
    assert_eq!(rollbacks.len(), 1);
    assert!(rollbacks[0]["detail"]["to"].is_u64(), "{}", rollbacks[0]);
}

#[test]
fn the_log_rotates_at_the_configured_size_and_is_read_across_the_files() {
    let sb = Sandbox::new();
    let work = sb.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    plugin(&work, "p", "", "exit 0\n");
    sb.ok(&work, &["plugin", "install", "./p"]);
    sb.ok(&work, &["config", "set", "audit.max-size", "4KiB"]);
    sb.ok(&work, &["config", "set", "audit.keep", "2"]);
    let (size, _) = sb.ok(&work, &["config", "get", "audit.max-size"]);
    assert_eq!(size.trim(), "4096");
    let (_, err) = sb.fails(&work, &["config", "set", "audit.max-size", "lots"]);
    assert!(err.contains("is not a size"), "{err}");
    for i in 0..30 {
        sb.ok(&work, &["p", &i.to_string()]);
    }
    let dir = sb.home().join("log");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jsonl"))
        .collect();
    names.sort();
    assert_eq!(names, ["audit.1.jsonl", "audit.2.jsonl", "audit.jsonl"]);
    // Every file of the log is its owner's only (it names programs and their arguments).
    for name in &names {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}: {mode:o}");
    }
    for n in &names {
        let len = std::fs::metadata(dir.join(n)).unwrap().len();
        assert!(len <= 4096, "{n} is {len} bytes");
    }
    // Read oldest first across the files: the newest runs, in order, the oldest dropped.
    let runs: Vec<u64> = log(&sb, &work)
        .iter()
        .filter(|e| e["action"] == "run")
        .map(|e| e["detail"]["args"][0].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(runs.last(), Some(&29));
    assert!(
        runs[0] > 0,
        "the oldest records were rotated away: {runs:?}"
    );
    let expected: Vec<u64> = (runs[0]..30).collect();
    assert_eq!(runs, expected);
    // The newest record is in `audit.jsonl`.
    let current = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap();
    let last: Value = serde_json::from_str(current.lines().last().unwrap()).unwrap();
    assert_eq!(last["detail"]["args"], serde_json::json!(["29"]));
}
