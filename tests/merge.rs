//! Two branches' locks merged by git: `aibox init` registers `aibox lock merge` as the merge
//! driver, so adjacent additions and an upgrade beside an addition merge into a lock that
//! `aibox sync --locked` accepts; a lock left with conflict markers (no driver) is re-locked by
//! `aibox lock` keeping every pin; `aibox.toml` with markers gets an error naming the line.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::{Path, PathBuf};

use common::Sandbox;

struct Repo<'a> {
    sb: &'a Sandbox,
    root: PathBuf,
}

impl Repo<'_> {
    /// A git repository `app` beside the sandbox's packs, with `aibox init` run in it.
    fn new(sb: &Sandbox) -> Repo<'_> {
        sb.repo_packs();
        let root = sb.path().join("app");
        std::fs::create_dir_all(&root).unwrap();
        let repo = Repo { sb, root };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.aibox(&["init", "--registry", "dir:../packs"]);
        repo
    }

    fn git(&self, args: &[&str]) -> String {
        self.sb.git(&self.root, args)
    }

    fn aibox(&self, args: &[&str]) -> String {
        self.sb.ok(&self.root, args).1
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.root.join(file)).unwrap()
    }
}

fn packs_of(lock: &str) -> Vec<String> {
    let t: toml::Table = lock.parse().unwrap();
    t["package"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}@{}",
                p["name"].as_str().unwrap(),
                p["version"].as_str().unwrap()
            )
        })
        .collect()
}

/// After a conflict in `aibox.toml` only, keep both sides' lines.
fn keep_both(root: &Path) {
    let text = std::fs::read_to_string(root.join("aibox.toml")).unwrap();
    let kept: String = text
        .lines()
        .filter(|l| !aibox::manifest::is_conflict_marker(l))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(root.join("aibox.toml"), kept).unwrap();
}

#[test]
fn adjacent_additions_on_two_branches_merge_into_a_fresh_lock() {
    let sb = Sandbox::new();
    let repo = Repo::new(&sb);
    assert!(
        repo.read(".gitattributes")
            .contains("aibox.lock merge=aibox")
    );
    assert!(
        repo.git(&["config", "merge.aibox.driver"])
            .contains("aibox lock merge %O %A %B")
    );
    repo.aibox(&["add", "hello"]);
    repo.commit("hello");
    repo.git(&["checkout", "-q", "-b", "a"]);
    repo.aibox(&["add", "editorconfig", "--no-sync"]);
    repo.commit("editorconfig");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["checkout", "-q", "-b", "b"]);
    repo.aibox(&["add", "greet-api", "--no-sync"]);
    repo.commit("greet-api");
    let out = repo.git(&["merge", "a"]);
    // `aibox.toml` conflicts (two lines added at one place); the lock does not.
    assert!(
        out.contains("CONFLICT (content): Merge conflict in aibox.toml"),
        "{out}"
    );
    assert!(!out.contains("in aibox.lock"), "{out}");
    let lock = repo.read("aibox.lock");
    assert!(!lock.contains("<<<<<<<"), "{lock}");
    let err = sb.fails(&repo.root, &["sync", "--locked"]).1;
    assert!(
        err.contains("resolve the merge conflict in aibox.toml at line"),
        "{err}"
    );
    keep_both(&repo.root);
    repo.aibox(&["sync", "--locked"]);
    let packs = packs_of(&repo.read("aibox.lock"));
    for p in ["editorconfig@1.0.0", "greet-api@0.1.0", "hello@1.1.0"] {
        assert!(packs.contains(&p.to_owned()), "{packs:?}");
    }
}

#[test]
fn an_upgrade_beside_an_addition_keeps_both() {
    let sb = Sandbox::new();
    let repo = Repo::new(&sb);
    repo.aibox(&["add", "hello@=1.0.0"]);
    let text = repo
        .read("aibox.toml")
        .replace("hello = \"=1.0.0\"", "hello = \"1\"");
    std::fs::write(repo.root.join("aibox.toml"), text).unwrap();
    repo.aibox(&["lock"]);
    assert!(packs_of(&repo.read("aibox.lock")).contains(&"hello@1.0.0".to_owned()));
    repo.commit("hello 1.0.0");
    repo.git(&["checkout", "-q", "-b", "a"]);
    repo.aibox(&["lock", "--upgrade-package", "hello"]);
    repo.commit("upgrade hello");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["checkout", "-q", "-b", "b"]);
    repo.aibox(&["add", "json-pretty", "--no-sync"]);
    repo.commit("json-pretty");
    let out = repo.git(&["merge", "-q", "a", "-m", "merge"]);
    assert!(!out.contains("CONFLICT"), "{out}");
    repo.aibox(&["sync", "--locked"]);
    let packs = packs_of(&repo.read("aibox.lock"));
    assert!(packs.contains(&"hello@1.1.0".to_owned()), "{packs:?}");
    assert!(packs.contains(&"json-pretty@0.3.0".to_owned()), "{packs:?}");
}

#[test]
fn a_lock_with_conflict_markers_is_locked_again_keeping_its_pins() {
    let sb = Sandbox::new();
    let repo = Repo::new(&sb);
    // No driver: git merges the lock as text and leaves markers.
    repo.git(&["config", "--remove-section", "merge.aibox"]);
    repo.aibox(&["add", "hello@=1.0.0"]);
    let text = repo
        .read("aibox.toml")
        .replace("hello = \"=1.0.0\"", "hello = \"1\"");
    std::fs::write(repo.root.join("aibox.toml"), text).unwrap();
    repo.aibox(&["lock"]);
    repo.commit("hello");
    repo.git(&["checkout", "-q", "-b", "a"]);
    repo.aibox(&["add", "editorconfig", "--no-sync"]);
    repo.commit("a");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["checkout", "-q", "-b", "b"]);
    repo.aibox(&["add", "greet-api", "--no-sync"]);
    repo.commit("b");
    let out = repo.git(&["merge", "a"]);
    assert!(
        repo.read("aibox.lock").contains("<<<<<<<"),
        "{out}\n{}",
        repo.read("aibox.lock")
    );
    keep_both(&repo.root);
    let err = sb.fails(&repo.root, &["sync"]).1;
    assert!(
        err.contains("aibox.lock:") && err.contains("merge conflict markers"),
        "{err}"
    );
    assert!(err.contains("hint: run `aibox lock`"), "{err}");
    let err = repo.aibox(&["lock"]);
    assert!(err.contains("locking again, keeping the"), "{err}");
    repo.aibox(&["sync", "--locked"]);
    let packs = packs_of(&repo.read("aibox.lock"));
    // hello's pin survived (1.0.0, though 1.1.0 is allowed), and both additions are there.
    for p in ["hello@1.0.0", "editorconfig@1.0.0", "greet-api@0.1.0"] {
        assert!(packs.contains(&p.to_owned()), "{packs:?}");
    }
}
