//! The docs run: every shell block of the guide, `trust.md` and `plugins.md` is run, line by
//! line in order, by the real binary in a world that holds what a reader has at that point (a
//! project with this repository's packs, a skill folder, a plugin to install), with the docs'
//! registries (`oci://registry.example.com/…`, `oci://ghcr.io/acme/…`) served by a real
//! registry on loopback. Each line must succeed. The few lines that cannot run offline are
//! listed in [`NOT_RUN`] with the reason; a listed line that no doc shows any more fails the
//! test.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::{Path, PathBuf};

use common::registry::Registry;

/// Lines of the docs' shell blocks that are not run, and why.
const NOT_RUN: &[(&str, &str)] = &[
    (
        "git clone git@example.com:team/app.git && cd app",
        "needs the network; the world the lines run in is that clone",
    ),
    (
        "aibox plugin install github:acme/aibox-plugin-lint@v1.2.0",
        "needs GitHub (tests/releases.rs runs the same against a loopback mimic)",
    ),
    (
        "aibox plugin install https://example.com/lint-1.2.0-linux-x86_64.tar.gz",
        "needs the network (tests/releases.rs runs archive URLs on loopback)",
    ),
    (
        "aibox plugin list | verify [NAME…] | uninstall NAME [--purge]",
        "a synopsis of three commands, each run by tests/plugins.rs",
    ),
    (
        "aibox trust add /etc/aibox/release.pub --registry oci://registry.example.com/team",
        "reads the key an administrator installed under /etc",
    ),
];

/// The shell blocks of a Markdown text that run aibox: each a list of lines.
fn shell_blocks(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut block: Option<Vec<String>> = None;
    for line in text.lines() {
        if let Some(info) = line.strip_prefix("```") {
            match block.take() {
                Some(b) => out.push(b),
                None if ["", "sh", "bash", "console"].contains(&info.trim()) => {
                    block = Some(Vec::new())
                }
                None => block = Some(vec!["<not shell>".into()]),
            }
            continue;
        }
        if let Some(b) = block.as_mut() {
            b.push(line.to_owned());
        }
    }
    out.retain(|b| {
        b.first().is_none_or(|l| l != "<not shell>")
            && b.iter()
                .any(|l| l.starts_with("aibox ") || l.contains("$(aibox "))
    });
    out
}

/// A line without its trailing `# comment`.
fn command_of(line: &str) -> &str {
    match line.find("  #") {
        Some(i) => line[..i].trim_end(),
        None => line.trim_end(),
    }
}

/// The world a doc's lines run in.
struct World {
    dir: tempfile::TempDir,
    registry: Registry,
}

impl World {
    fn root(&self) -> PathBuf {
        self.dir.path().join("app")
    }

    /// A project with this repository's packs and a skill folder, in a git repository.
    fn new() -> World {
        let w = World {
            dir: tempfile::tempdir().unwrap(),
            registry: Registry::start(),
        };
        let root = w.root();
        common::copy_tree(&common::repo_root().join("packs"), &root.join("packs"));
        let skill = "---\nname: review-pr\ndescription: Review pull requests.\nmetadata:\n  version: \"1.0.0\"\n---\nRead the diff, then comment.\n";
        for dir in ["skills/review-pr", "packs/review-pr"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
            std::fs::write(root.join(dir).join("SKILL.md"), skill).unwrap();
        }
        std::fs::write(
            root.join("aibox.toml"),
            "[registries]\ndefault = \"dir:./packs\"\n\n[packs]\nhello = \"1\"\n",
        )
        .unwrap();
        w.sh("git init -q -b main && git add -A && git commit -q -m start")
            .unwrap();
        w
    }

    /// Run a shell line in the project; its output on failure.
    fn sh(&self, line: &str) -> Result<String, String> {
        let bin = assert_cmd::cargo::cargo_bin("aibox");
        let registry = format!("oci://127.0.0.1:{}/", self.registry.port);
        let line = line
            .replace("oci://registry.example.com/", &registry)
            .replace("oci://ghcr.io/acme/", &format!("{registry}acme/"));
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(&line)
            .current_dir(self.root())
            .env_clear()
            .env(
                "PATH",
                format!(
                    "{}:/usr/local/bin:/usr/bin:/bin",
                    bin.parent().unwrap().display()
                ),
            )
            .env("HOME", self.dir.path().join("user"))
            .env("AIBOX_HOME", self.dir.path().join("aibox-home"))
            .env("CI", "true")
            .env("NO_COLOR", "1")
            .env("AIBOX_PASSWORD", "correct horse")
            .env("RELEASE_KEY_PASSWORD", "correct horse")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        let text = common::text(&out);
        if out.status.success() {
            Ok(text.0)
        } else {
            Err(format!("`{line}` failed:\n{}{}", text.0, text.1))
        }
    }

    /// Run every runnable line of `doc`'s shell blocks in order; returns the lines run.
    fn run_doc(&self, doc: &str) -> usize {
        let text = std::fs::read_to_string(common::repo_root().join(doc)).unwrap();
        let mut ran = 0;
        for block in shell_blocks(&text) {
            for line in block.iter().filter(|l| !l.trim().is_empty()) {
                let command = command_of(line);
                if NOT_RUN.iter().any(|(l, _)| *l == command) {
                    continue;
                }
                // `export` lines set the environment of the lines after them.
                if let Some(assign) = command.strip_prefix("export ") {
                    assert_eq!(
                        assign, "AIBOX_PASSWORD=\"$RELEASE_KEY_PASSWORD\"",
                        "{doc}: a new export"
                    );
                    continue;
                }
                if let Err(e) = self.sh(command) {
                    panic!("{doc}: {e}");
                }
                ran += 1;
            }
        }
        ran
    }
}

fn write_exe(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn the_guide_runs() {
    let w = World::new();
    let ran = w.run_doc("docs/guide.md");
    assert!(ran >= 15, "only {ran} lines of the guide ran");
    // What the lines did, looked at after the fact (the skills block ends with a rollback).
    let added = w.sh("aibox diff 2 3").unwrap();
    assert!(added.contains("review-pr"), "{added}");
    assert!(
        w.root().join("layout/index.json").exists()
            && w.root().join("vendor/packs/index.json").exists()
    );
    assert!(w.sh("git log --oneline").unwrap().contains("Add todo-scan"));
}

#[test]
fn trust_md_runs() {
    let w = World::new();
    let ran = w.run_doc("docs/trust.md");
    assert!(ran >= 7, "only {ran} lines of trust.md ran");
    let listed = w.sh("aibox trust list").unwrap();
    assert!(listed.contains("sha256:"), "{listed}");
}

#[test]
fn plugins_md_runs() {
    let w = World::new();
    // What the installing lines install: a plugin published to the docs' registry, a plugin
    // directory and a bare executable of the same plugin, and the policy the doc names.
    let lint = |dir: &Path, version: &str| {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("pack.toml"),
            format!("[pack]\nname = \"lint\"\nversion = \"{version}\"\nkind = \"plugin\"\n[bin]\naibox-plugin-lint = \"bin/aibox-plugin-lint\"\n"),
        )
        .unwrap();
        write_exe(
            &dir.join("bin/aibox-plugin-lint"),
            &format!("#!/bin/sh\necho lint {version}\n"),
        );
    };
    lint(&w.dir.path().join("published"), "1.2.0");
    w.sh(&format!(
        "aibox pack publish {} --registry oci://ghcr.io/acme/packs",
        w.dir.path().join("published").display()
    ))
    .unwrap();
    lint(&w.root().join("lint"), "1.3.0");
    write_exe(
        &w.root().join("aibox-plugin-lint"),
        "#!/bin/sh\necho lint bare\n",
    );
    let policy = w.dir.path().join("user/.config/aibox/policy.rego");
    std::fs::create_dir_all(policy.parent().unwrap()).unwrap();
    std::fs::write(
        &policy,
        "package aibox\n\ndeny contains msg if {\n  input.kind == \"plugin\"\n  count(input.permissions.net.connect) > 0\n  msg := sprintf(\"plugin %s asks for network access\", [input.name])\n}\n",
    )
    .unwrap();
    let ran = w.run_doc("docs/plugins.md");
    assert!(ran >= 7, "only {ran} lines of plugins.md ran");
    assert_eq!(w.sh("aibox tidy").unwrap().lines().count(), 1);
}

#[test]
fn every_line_not_run_is_still_in_the_docs() {
    let docs: String = ["docs/guide.md", "docs/trust.md", "docs/plugins.md"]
        .iter()
        .map(|d| std::fs::read_to_string(common::repo_root().join(d)).unwrap())
        .collect();
    for (line, why) in NOT_RUN {
        assert!(
            docs.contains(line),
            "`{line}` ({why}) is in no doc any more"
        );
    }
}
