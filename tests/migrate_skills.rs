//! Migrating skills into aibox with `aibox import`, from what the real installers wrote: the
//! `skills` CLI (npm, pinned) installs local skills for two agents (a folder in
//! `.agents/skills/` and a link to it in `.claude/skills/`, plus `skills-lock.json`), the
//! `clawhub` CLI installs from the loopback ClawHub-compatible server (`.clawhub/lock.json`,
//! `origin.json`). aibox takes them over — the old entries are replaced by its links only after
//! the new generation is complete, and kept in the store — and `aibox rollback` puts every file
//! and link back byte for byte. What the old records say the files hash to is checked; a
//! mapping file moves a ClawHub skill to the team's registry; a folder no record knows becomes
//! a legacy local snapshot; `--dry-run` changes nothing.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::clawhub::{ClawHub, clawhub_cli, run_client, skills_cli};
use common::oci::{Env, stderr, stdout};

fn run(env: &Env, cwd: &Path, args: &[&str]) -> std::process::Output {
    env.aibox().current_dir(cwd).args(args).output().unwrap()
}

fn ok(env: &Env, cwd: &Path, args: &[&str]) -> (String, String) {
    let out = run(env, cwd, args);
    assert!(
        out.status.success(),
        "aibox {args:?} failed:\n{}",
        stderr(&out)
    );
    (stdout(&out), stderr(&out))
}

/// What a folder holds, entry by entry (following no link): a file's mode and bytes, a link's
/// target, a folder; `skip` names top-level entries left out.
#[derive(Debug, PartialEq, Eq)]
enum Node {
    Dir,
    File(u32, Vec<u8>),
    Link(PathBuf),
}

fn snapshot(root: &Path, skip: &[&str]) -> Vec<(String, Node)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(root).unwrap().display().to_string();
            if skip.contains(&rel.as_str()) {
                continue;
            }
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            let node = if meta.file_type().is_symlink() {
                Node::Link(std::fs::read_link(e.path()).unwrap())
            } else if meta.is_dir() {
                stack.push(e.path());
                Node::Dir
            } else {
                Node::File(
                    meta.permissions().mode() & 0o777,
                    std::fs::read(e.path()).unwrap(),
                )
            };
            out.push((rel, node));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Two local skills (one with a script) in `<env>/src`, installed by the real `skills` CLI
/// into the project `<env>/work/app` for Claude Code and Codex; returns the project.
fn installed_by_the_skills_cli(env: &Env) -> PathBuf {
    let src = env.root.path().join("src");
    for (name, body) in [
        ("review-pr", "Review pull requests"),
        ("lint-docs", "Lint the docs"),
    ] {
        let dir = src.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("SKILL.md"),
            format!("---\nname: {name}\ndescription: {body}\n---\n\n# {name}\n\n{body}.\n"),
        )
        .unwrap();
    }
    let scripts = src.join("review-pr/scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    std::fs::write(scripts.join("check.sh"), "#!/bin/sh\necho checked\n").unwrap();
    std::fs::set_permissions(
        scripts.join("check.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(src.join("lint-docs/rules.md"), "# Rules\n").unwrap();

    let root = env.work().join("app");
    std::fs::create_dir_all(&root).unwrap();
    skills_add(
        &env.root.path().join("skills-home"),
        &root,
        src.to_str().unwrap(),
    );
    // What the CLI made: the folders in `.agents/skills/` (Codex's), links from Claude's.
    for name in ["review-pr", "lint-docs"] {
        assert!(
            root.join(".agents/skills")
                .join(name)
                .join("SKILL.md")
                .is_file()
        );
        assert_eq!(
            std::fs::read_link(root.join(".claude/skills").join(name)).unwrap(),
            Path::new("../../.agents/skills").join(name)
        );
    }
    let lock: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("skills-lock.json")).unwrap()).unwrap();
    assert_eq!(lock["skills"]["review-pr"]["sourceType"], "local");
    root
}

/// Whether the project's current generation (if any) holds `review-pr`.
fn switched_to_skills(root: &Path) -> bool {
    std::fs::read_to_string(root.join(".aibox/current/generation.toml"))
        .is_ok_and(|g| g.contains("review-pr"))
}

fn is_aibox_link(path: &Path) -> bool {
    std::fs::read_link(path)
        .map(|t| t.to_string_lossy().contains(".aibox/current/skills/"))
        .unwrap_or(false)
}

#[test]
fn skills_cli_installs_are_taken_over_and_rollback_restores_them_byte_identical() {
    let env = Env::new();
    let root = installed_by_the_skills_cli(&env);
    let before = snapshot(&root, &[]);

    // A dry run prints the plan and changes nothing, in the project or the aibox home.
    let home_before = snapshot(&env.home(), &[]);
    let (plan, err) = ok(&env, &root, &["import", "--dry-run"]);
    assert!(
        plan.contains("review-pr = { version = \"*\", registry = \"local-skills\" }"),
        "{plan}"
    );
    assert!(
        plan.contains("agents = [\"claude-code\", \"universal\"]"),
        "{plan}"
    );
    assert!(err.contains("Replaces `.claude/skills/review-pr`"), "{err}");
    assert_eq!(snapshot(&root, &[]), before, "a dry run writes nothing");
    assert_eq!(snapshot(&env.home(), &[]), home_before);

    // import, then sync: the old entries become aibox's links.
    ok(&env, &root, &["import"]);
    let manifest = std::fs::read_to_string(root.join("aibox.toml")).unwrap();
    assert!(manifest.contains("local-skills = \"dir:"), "{manifest}");
    // Importing changes no skill folder yet: only the next switch does.
    assert_eq!(snapshot(&root, &["aibox.toml", ".aibox"]), before);
    let (_, err) = ok(&env, &root, &["sync"]);
    assert!(err.contains("Replaced"), "{err}");
    for agent in [".agents/skills", ".claude/skills"] {
        for name in ["review-pr", "lint-docs"] {
            let entry = root.join(agent).join(name);
            assert!(
                is_aibox_link(&entry),
                "{} is not aibox's link",
                entry.display()
            );
        }
    }
    let script = root.join(".claude/skills/review-pr/scripts/check.sh");
    assert_eq!(
        std::fs::read_to_string(&script).unwrap(),
        "#!/bin/sh\necho checked\n"
    );

    // rollback puts every file and link back as the skills CLI made them.
    ok(&env, &root, &["rollback"]);
    let after = snapshot(&root, &["aibox.toml", "aibox.lock", ".aibox"]);
    assert_eq!(after, before, "the original folders are back byte for byte");

    // The next sync takes them over again (they are still what was handed over).
    ok(&env, &root, &["sync"]);
    assert!(is_aibox_link(&root.join(".agents/skills/review-pr")));
    assert!(is_aibox_link(&root.join(".claude/skills/lint-docs")));
}

#[test]
fn a_computed_hash_that_differs_from_what_aibox_fetched_stops_the_sync_before_the_switch() {
    let env = Env::new();
    let root = installed_by_the_skills_cli(&env);
    let before = snapshot(&root, &[]);
    let lock: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("skills-lock.json")).unwrap()).unwrap();
    let recorded = lock["skills"]["review-pr"]["computedHash"]
        .as_str()
        .unwrap()
        .to_owned();
    // The source changed after the skills CLI installed (and hashed) it.
    let skill_md = env.root.path().join("src/review-pr/SKILL.md");
    let original = std::fs::read(&skill_md).unwrap();
    std::fs::write(
        &skill_md,
        "---\nname: review-pr\ndescription: Something else\n---\n\n# changed\n",
    )
    .unwrap();

    // A plain import, then sync: refused before any generation is named.
    ok(&env, &root, &["import"]);
    let out = run(&env, &root, &["sync"]);
    let err = stderr(&out);
    assert!(!out.status.success(), "a mismatch must fail:\n{err}");
    assert!(
        err.contains(&format!(
            "review-pr@0.0.0 (from skills-lock.json (local `{}`)): skills-lock.json's computedHash is {recorded}, but the files aibox fetched hash to ",
            env.root.path().join("src").display()
        )),
        "{err}"
    );
    assert!(!err.contains("lint-docs@"), "{err}");
    assert!(err.contains("nothing was switched"), "{err}");
    assert!(err.contains("`aibox sync --yes`"), "{err}");
    // The lock that sync wrote for the import is taken back: the next sync resolves again.
    assert!(!root.join("aibox.lock").exists());
    // Nothing switched: no generation holds the skills, every old folder and link is as it was.
    assert!(!switched_to_skills(&root));
    assert_eq!(
        snapshot(&root, &["aibox.toml", "aibox.lock", ".aibox"]),
        before
    );
    // `import --apply` stops at the same place.
    let out = run(&env, &root, &["import", "--apply"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("skills-lock.json's computedHash is"));
    assert_eq!(
        snapshot(&root, &["aibox.toml", "aibox.lock", ".aibox"]),
        before
    );

    // The source as the skills CLI installed it: the same sync passes, both checked.
    std::fs::write(&skill_md, &original).unwrap();
    let (_, err) = ok(&env, &root, &["sync"]);
    assert!(
        err.contains("Checked review-pr: the same files as skills-lock.json's computedHash says"),
        "{err}"
    );
    assert!(is_aibox_link(&root.join(".agents/skills/review-pr")));
    assert!(is_aibox_link(&root.join(".claude/skills/lint-docs")));
    ok(&env, &root, &["rollback"]);
    assert_eq!(
        snapshot(&root, &["aibox.toml", "aibox.lock", ".aibox"]),
        before
    );
}

#[test]
fn a_differing_import_is_taken_only_with_yes_and_rollback_still_restores() {
    let env = Env::new();
    let root = installed_by_the_skills_cli(&env);
    let before = snapshot(&root, &[]);
    std::fs::write(
        env.root.path().join("src/review-pr/SKILL.md"),
        "---\nname: review-pr\ndescription: Something else\n---\n\n# changed\n",
    )
    .unwrap();
    ok(&env, &root, &["import"]);
    let out = run(&env, &root, &["sync"]);
    assert!(!out.status.success(), "{}", stderr(&out));
    // Consent takes the fetched files; the old folders are kept and come back on rollback.
    ok(&env, &root, &["sync", "--yes"]);
    assert_eq!(
        std::fs::read_to_string(root.join(".agents/skills/review-pr/SKILL.md")).unwrap(),
        "---\nname: review-pr\ndescription: Something else\n---\n\n# changed\n"
    );
    ok(&env, &root, &["rollback"]);
    assert_eq!(
        snapshot(&root, &["aibox.toml", "aibox.lock", ".aibox"]),
        before
    );
}

/// `skills add SOURCE` for claude-code and codex, every skill, by the real `skills` CLI whose
/// home is `home`, in `root`.
fn skills_add(home: &Path, root: &Path, source: &str) {
    let out = run_client(
        &skills_cli(),
        home,
        root,
        &[
            "add",
            source,
            "--agent",
            "claude-code",
            "--agent",
            "codex",
            "--skill",
            "*",
            "--yes",
        ],
    );
    assert!(
        out.status.success(),
        "skills add failed:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
}

fn clawhub_install(env: &Env, hub: &ClawHub, root: &Path, slug: &str, version: &str) {
    let out = run_client(
        &clawhub_cli(),
        &env.root.path().join("clawhub-home"),
        root,
        &[
            "--registry",
            &hub.base(),
            "--workdir",
            root.to_str().unwrap(),
            "--no-input",
            "install",
            slug,
            "--version",
            version,
        ],
    );
    assert!(
        out.status.success(),
        "clawhub install failed:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn a_clawhub_install_is_imported_from_its_registry_at_its_version() {
    let env = Env::new();
    let hub = ClawHub::start(&env.root.path().join("hub"));
    hub.publish(
        "review-pr",
        "1.0.0",
        "Review PRs",
        &[("scripts/check.sh", "#!/bin/sh\necho one\n")],
    );
    hub.publish("review-pr", "1.1.0", "Review PRs", &[]);
    let root = env.work().join("app");
    std::fs::create_dir_all(&root).unwrap();
    clawhub_install(&env, &hub, &root, "review-pr", "1.0.0");
    assert!(root.join("skills/review-pr/.clawhub/origin.json").is_file());
    let before = snapshot(&root, &[]);

    let (_, err) = ok(&env, &root, &["import", "--apply"]);
    let manifest = std::fs::read_to_string(root.join("aibox.toml")).unwrap();
    assert!(
        manifest.contains(&format!("clawhub = \"{}\"", hub.url()))
            && manifest.contains("review-pr = { version = \"1.0.0\", registry = \"clawhub\" }")
            && manifest.contains("\"openclaw\""),
        "{manifest}"
    );
    // The version the CLI installed, not the newest; its fingerprint checked.
    let lock = std::fs::read_to_string(root.join("aibox.lock")).unwrap();
    assert!(lock.contains("version = \"1.0.0\""), "{lock}");
    assert!(
        err.contains("Checked review-pr: the same files as origin.json's fingerprint says"),
        "{err}"
    );
    assert!(is_aibox_link(&root.join("skills/review-pr")));
    assert_eq!(
        std::fs::read_to_string(root.join("skills/review-pr/scripts/check.sh")).unwrap(),
        "#!/bin/sh\necho one\n"
    );
    ok(&env, &root, &["rollback"]);
    assert_eq!(
        snapshot(&root, &["aibox.toml", "aibox.lock", ".aibox"]),
        before
    );
}

#[test]
fn a_mapping_file_moves_a_clawhub_skill_to_the_teams_registry() {
    let env = Env::new();
    let hub = ClawHub::start(&env.root.path().join("hub"));
    hub.publish("review-pr", "1.0.0", "Review PRs from the hub", &[]);
    let root = env.work().join("app");
    std::fs::create_dir_all(&root).unwrap();
    clawhub_install(&env, &hub, &root, "review-pr", "1.0.0");
    // The team's registry holds its own review skill under another name.
    let team = env.root.path().join("team");
    std::fs::create_dir_all(team.join("code-review")).unwrap();
    std::fs::write(
        team.join("code-review/SKILL.md"),
        "---\nname: code-review\ndescription: The team's review\nmetadata:\n  version: 2.1.0\n---\n\n# Ours\n",
    )
    .unwrap();
    let map = env.root.path().join("map.json");
    std::fs::write(
        &map,
        serde_json::json!({
            "registries": {"team": format!("dir:{}", team.display())},
            "skills": {"review-pr": {"registry": "team", "name": "code-review", "version": "^2"}}
        })
        .to_string(),
    )
    .unwrap();
    hub.clear_requests();
    ok(
        &env,
        &root,
        &["import", "--map", map.to_str().unwrap(), "--apply"],
    );
    assert!(hub.requests().is_empty(), "nothing was asked of ClawHub");
    let manifest = std::fs::read_to_string(root.join("aibox.toml")).unwrap();
    assert!(
        manifest.contains("code-review = { version = \"^2\", registry = \"team\" }")
            && !manifest.contains("clawhub:"),
        "{manifest}"
    );
    assert!(is_aibox_link(&root.join("skills/code-review")));
    // The ClawHub folder is not the team's skill: it stays as it was.
    assert!(root.join("skills/review-pr/.clawhub/origin.json").is_file());
    // A mapping naming a registry nobody defines is refused with the reason.
    std::fs::write(&map, r#"{"skills": {"review-pr": "nowhere"}}"#).unwrap();
    let (_, err) = ok(
        &env,
        &root,
        &["import", "--map", map.to_str().unwrap(), "--dry-run"],
    );
    assert!(err.contains("names the registry `nowhere`"), "{err}");
}

#[test]
fn a_folder_no_record_knows_becomes_a_legacy_local_snapshot() {
    let env = Env::new();
    let root = env.work().join("app");
    let skill = root.join(".claude/skills/notes-helper");
    std::fs::create_dir_all(&skill).unwrap();
    std::fs::write(
        skill.join("SKILL.md"),
        "---\nname: notes-helper\ndescription: Hand-made\nmetadata:\n  version: \"1.2\"\n---\n\n# Notes\n",
    )
    .unwrap();
    let before = snapshot(&root, &[]);
    ok(&env, &root, &["import", "--apply"]);
    let manifest = std::fs::read_to_string(root.join("aibox.toml")).unwrap();
    assert!(
        manifest.contains("legacy-skills = \"dir:.aibox/local-skills\"")
            && manifest
                .contains("notes-helper = { version = \"1.2.0\", registry = \"legacy-skills\" }"),
        "{manifest}"
    );
    let original = before
        .iter()
        .find(|(p, _)| p == ".claude/skills/notes-helper/SKILL.md")
        .map(|(_, n)| n)
        .unwrap();
    let Node::File(_, original) = original else {
        panic!("a file")
    };
    assert_eq!(
        &std::fs::read(root.join(".aibox/local-skills/notes-helper/1.2.0/SKILL.md")).unwrap(),
        original,
        "the snapshot is the folder's copy"
    );
    assert!(is_aibox_link(&skill));
    let (list, _) = ok(&env, &root, &["list"]);
    assert!(
        list.contains("notes-helper 1.2.0") && list.contains("legacy"),
        "{list}"
    );
    ok(&env, &root, &["rollback"]);
    assert_eq!(
        snapshot(&root, &["aibox.toml", "aibox.lock", ".aibox"]),
        before
    );
}

/// The regular files below `dir` (following the link `dir` may be), path → bytes.
fn files_below(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_github_entry_the_skills_cli_wrote_is_synced_from_github_and_checked() {
    use common::skills_github::{GitHub, commit, init_repo};
    let env = Env::new();
    let gh = GitHub::start();
    // The repository: two skills under `skills/`, served by the loopback GitHub.
    let repo = env.root.path().join("gh/acme/skills");
    let review = "---\nname: review-pr\ndescription: Review PRs\n---\n\n# review-pr\n";
    init_repo(
        &repo,
        &[
            ("skills/review-pr/SKILL.md", review),
            (
                "skills/review-pr/scripts/check.sh",
                "#!/bin/sh\necho checked\n",
            ),
            (
                "skills/lint-docs/SKILL.md",
                "---\nname: lint-docs\ndescription: Lint docs\n---\n\n# lint-docs\n",
            ),
            ("README.md", "# acme skills\n"),
        ],
        None,
    );
    gh.serve("acme/skills", &repo, &[]);
    // The skills CLI clones `https://github.com/acme/skills.git` with git; tests reach no
    // network, so its git (through the CLI's own HOME) is pointed at the same repository.
    let cli_home = env.root.path().join("skills-home");
    std::fs::create_dir_all(&cli_home).unwrap();
    std::fs::write(
        cli_home.join(".gitconfig"),
        format!(
            "[url \"file://{}\"]\n\tinsteadOf = https://github.com/acme/skills.git\n[protocol \"file\"]\n\tallow = always\n",
            repo.display()
        ),
    )
    .unwrap();
    let root = env.work().join("app");
    std::fs::create_dir_all(&root).unwrap();
    skills_add(&cli_home, &root, "acme/skills");
    let lock: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("skills-lock.json")).unwrap()).unwrap();
    let entry = &lock["skills"]["review-pr"];
    assert_eq!(entry["sourceType"], "github", "{lock}");
    assert_eq!(entry["source"], "acme/skills", "{lock}");
    assert_eq!(entry["skillPath"], "skills/review-pr/SKILL.md", "{lock}");
    let installed = files_below(&root.join(".agents/skills/review-pr"));
    let before = snapshot(&root, &[]);

    let aibox = |args: &[&str]| {
        env.aibox()
            .current_dir(&root)
            .env("AIBOX_GITHUB_API", gh.api())
            .args(args)
            .output()
            .unwrap()
    };
    // The repository moved on after the install (the entry names no ref: its default branch).
    commit(
        &repo,
        &[(
            "skills/review-pr/SKILL.md",
            "---\nname: review-pr\ndescription: Review PRs\n---\n\n# changed upstream\n",
        )],
        "second",
        None,
    );
    let out = aibox(&["import"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest = std::fs::read_to_string(root.join("aibox.toml")).unwrap();
    assert!(
        manifest.contains("review-pr = { git = \"https://github.com/acme/skills\" }"),
        "{manifest}"
    );
    let out = aibox(&["sync"]);
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "the moved branch must be refused:\n{err}"
    );
    assert!(
        err.contains(&format!(
            "(from skills-lock.json (GitHub `acme/skills`)): skills-lock.json's computedHash is {}",
            entry["computedHash"].as_str().unwrap()
        )),
        "{err}"
    );
    assert!(!switched_to_skills(&root));
    assert_eq!(
        snapshot(&root, &["aibox.toml", "aibox.lock", ".aibox"]),
        before
    );

    // Back to what was installed (a new commit with the old files): the same files come from
    // the loopback GitHub, checked, and replace the CLI's folders.
    commit(
        &repo,
        &[("skills/review-pr/SKILL.md", review)],
        "revert",
        None,
    );
    let out = aibox(&["sync"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("Checked review-pr: the same files as skills-lock.json's computedHash says")
            && err.contains("Checked lint-docs"),
        "{err}"
    );
    assert!(
        gh.paths()
            .iter()
            .any(|p| p.starts_with("/repos/acme/skills/tarball/")),
        "{:?}",
        gh.paths()
    );
    assert!(is_aibox_link(&root.join(".agents/skills/review-pr")));
    assert!(is_aibox_link(&root.join(".claude/skills/review-pr")));
    assert_eq!(
        files_below(&root.join(".claude/skills/review-pr")),
        installed
    );
    let out = aibox(&["rollback"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        snapshot(&root, &["aibox.toml", "aibox.lock", ".aibox"]),
        before
    );
}
