//! Skills from GitHub repositories, against a loopback GitHub serving real git repositories
//! (`git archive` makes the source archives as GitHub does): a repository of
//! `skills/<name>/SKILL.md` versioned by its release tags, `{ git = …, rev = … }` pinned by
//! commit, a repository that is one skill at its root; the lock pins the commit and the tree,
//! so a moved tag changes nothing and a server that serves other content for a locked commit
//! is refused.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::{Path, PathBuf};

use common::clawhub::files;
use common::oci::{Env, stderr, stdout};
use common::skills_github::{GitHub, commit, git, init_repo};

fn run(env: &Env, gh: &GitHub, cwd: &Path, args: &[&str]) -> std::process::Output {
    env.aibox()
        .current_dir(cwd)
        .env("AIBOX_GITHUB_API", gh.api())
        .args(args)
        .output()
        .unwrap()
}

fn ok(env: &Env, gh: &GitHub, cwd: &Path, args: &[&str]) -> String {
    let out = run(env, gh, cwd, args);
    assert!(
        out.status.success(),
        "aibox {args:?} failed:\n{}",
        stderr(&out)
    );
    stdout(&out)
}

fn skill_md(name: &str, body: &str) -> String {
    format!("---\nname: {name}\ndescription: The {name} skill.\n---\n\n{body}\n")
}

fn project(env: &Env, manifest: &str) -> PathBuf {
    let root = env.work().join("app");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("aibox.toml"), manifest).unwrap();
    root
}

fn lock_of(root: &Path) -> toml::Table {
    std::fs::read_to_string(root.join("aibox.lock"))
        .unwrap()
        .parse()
        .unwrap()
}

fn locked(root: &Path, name: &str) -> (String, String, String) {
    let lock = lock_of(root);
    let pkg = lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("{name} is not locked"))
        .clone();
    let any = &pkg["platforms"]["any"];
    (
        pkg["version"].as_str().unwrap().to_owned(),
        any["manifest"].as_str().unwrap().to_owned(),
        pkg["source"].as_str().unwrap().to_owned(),
    )
}

/// The files of the skill projected at `link` (through the store).
fn projected(link: &Path) -> Vec<(String, Vec<u8>)> {
    files(&std::fs::canonicalize(link).unwrap(), &[])
}

#[test]
fn a_repository_of_skills_is_versioned_by_its_release_tags() {
    let env = Env::new();
    let gh = GitHub::start();
    let repo = env.root.path().join("repo");
    let v1 = init_repo(
        &repo,
        &[
            ("README.md", "A repository of skills\n"),
            (
                "skills/review-pr/SKILL.md",
                &skill_md("review-pr", "Version one."),
            ),
            ("skills/review-pr/scripts/check.sh", "#!/bin/sh\necho one\n"),
            ("skills/lint-docs/SKILL.md", &skill_md("lint-docs", "Lint.")),
        ],
        Some("v1.0.0"),
    );
    gh.serve("acme/skills", &repo, &["v1.0.0"]);
    let root = project(
        &env,
        "agents = [\"claude-code\"]\n[registries]\nteam = \"github:acme/skills\"\n[skills]\nreview-pr = \"1\"\n",
    );
    ok(&env, &gh, &root, &["sync"]);
    let (version, manifest, source) = locked(&root, "review-pr");
    assert_eq!(
        (version.as_str(), source.as_str()),
        ("1.0.0", "github:acme/skills")
    );
    assert_eq!(
        manifest,
        format!("git:{v1}"),
        "the lock pins the tag's commit"
    );
    let link = root.join(".claude/skills/review-pr");
    let got = projected(&link);
    assert_eq!(
        got,
        files(&repo.join("skills/review-pr"), &[]),
        "exactly the skill's folder of the repository"
    );
    assert!(
        std::fs::metadata(
            std::fs::canonicalize(&link)
                .unwrap()
                .join("scripts/check.sh")
        )
        .map(|m| {
            use std::os::unix::fs::PermissionsExt;
            m.permissions().mode() & 0o111 != 0
        })
        .unwrap()
    );

    // A new release: `update` takes it; the archive was read at the new tag's commit.
    let v2 = commit(
        &repo,
        &[(
            "skills/review-pr/SKILL.md",
            &skill_md("review-pr", "Version two."),
        )],
        "two",
        Some("v1.1.0"),
    );
    gh.release("acme/skills", "v1.1.0");
    ok(&env, &gh, &root, &["update", "--refresh"]);
    assert_eq!(locked(&root, "review-pr").1, format!("git:{v2}"));
    assert!(
        std::fs::read_to_string(link.join("SKILL.md"))
            .unwrap()
            .contains("Version two.")
    );
    assert!(
        gh.paths()
            .iter()
            .any(|p| p == &format!("/repos/acme/skills/tarball/{v2}")),
        "{:?}",
        gh.paths()
    );

    // The tag is moved to other content: the locked commit is what a fresh machine gets.
    let moved = commit(
        &repo,
        &[(
            "skills/review-pr/SKILL.md",
            &skill_md("review-pr", "Moved tag."),
        )],
        "moved",
        Some("v1.1.0"),
    );
    assert_ne!(moved, v2);
    let fresh = Env::new();
    let clone = fresh.work().join("app");
    std::fs::create_dir_all(&clone).unwrap();
    for f in ["aibox.toml", "aibox.lock"] {
        std::fs::copy(root.join(f), clone.join(f)).unwrap();
    }
    ok(&fresh, &gh, &clone, &["sync", "--locked"]);
    assert!(
        std::fs::read_to_string(clone.join(".claude/skills/review-pr/SKILL.md"))
            .unwrap()
            .contains("Version two.")
    );

    // A server that answers for the locked commit with other content is refused.
    gh.swap("acme/skills", &v2, &moved);
    let other = Env::new();
    let clone2 = other.work().join("app");
    std::fs::create_dir_all(&clone2).unwrap();
    for f in ["aibox.toml", "aibox.lock"] {
        std::fs::copy(root.join(f), clone2.join(f)).unwrap();
    }
    let out = run(&other, &gh, &clone2, &["sync", "--locked"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("does not match the lock"),
        "{}",
        stderr(&out)
    );
    assert!(!clone2.join(".claude/skills/review-pr").exists());
}

#[test]
fn a_git_request_is_pinned_by_commit_and_moves_only_when_asked() {
    let env = Env::new();
    let gh = GitHub::start();
    let repo = env.root.path().join("repo");
    let first = init_repo(
        &repo,
        &[
            (
                "skills/lint-docs/SKILL.md",
                "---\nname: lint-docs\ndescription: Lint.\nmetadata:\n  version: \"2.1\"\n---\nFirst.\n",
            ),
            ("skills/lint-docs/references/rules.md", "# Rules\n"),
        ],
        None,
    );
    gh.serve("acme/skills", &repo, &[]);
    let root = project(
        &env,
        "[skills]\nlint-docs = { git = \"https://github.com/acme/skills\", rev = \"main\" }\n",
    );
    ok(&env, &gh, &root, &["sync"]);
    let (version, manifest, source) = locked(&root, "lint-docs");
    assert_eq!(version, "2.1.0", "from the skill's metadata.version");
    assert_eq!(source, "github:acme/skills#main");
    assert_eq!(manifest, format!("git:{first}"));
    let link = root.join(".agents/skills/lint-docs");
    assert_eq!(projected(&link), files(&repo.join("skills/lint-docs"), &[]));

    // The branch moves on: the lock holds until it is upgraded on purpose.
    let second = commit(
        &repo,
        &[(
            "skills/lint-docs/SKILL.md",
            "---\nname: lint-docs\ndescription: Lint.\nmetadata:\n  version: \"2.1\"\n---\nSecond.\n",
        )],
        "second",
        None,
    );
    ok(&env, &gh, &root, &["sync", "--locked"]);
    assert_eq!(locked(&root, "lint-docs").1, format!("git:{first}"));
    assert!(
        std::fs::read_to_string(link.join("SKILL.md"))
            .unwrap()
            .contains("First.")
    );
    ok(&env, &gh, &root, &["lock", "--upgrade"]);
    ok(&env, &gh, &root, &["sync"]);
    assert_eq!(locked(&root, "lint-docs").1, format!("git:{second}"));
    assert!(
        std::fs::read_to_string(link.join("SKILL.md"))
            .unwrap()
            .contains("Second.")
    );

    // A commit id as `rev`; a rev that names nothing is a clear error.
    std::fs::write(
        root.join("aibox.toml"),
        format!("[skills]\nlint-docs = {{ git = \"github:acme/skills\", rev = \"{first}\" }}\n"),
    )
    .unwrap();
    ok(&env, &gh, &root, &["sync"]);
    assert_eq!(locked(&root, "lint-docs").1, format!("git:{first}"));
    std::fs::write(
        root.join("aibox.toml"),
        "[skills]\nlint-docs = { git = \"github:acme/skills\", rev = \"no-such-branch\" }\n",
    )
    .unwrap();
    let out = run(&env, &gh, &root, &["sync"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("has no commit, branch or tag `no-such-branch`"),
        "{}",
        stderr(&out)
    );
    // Only GitHub repositories, and a revision that is a name.
    for bad in [
        "{ git = \"https://gitlab.com/acme/skills\" }",
        "{ git = \"github:acme/skills\", rev = \"../x\" }",
        "{ git = \"github:acme/skills\", version = \"1\" }",
    ] {
        std::fs::write(
            root.join("aibox.toml"),
            format!("[skills]\nlint-docs = {bad}\n"),
        )
        .unwrap();
        let out = run(&env, &gh, &root, &["sync"]);
        assert_eq!(out.status.code(), Some(1), "{bad}");
        assert!(
            stderr(&out).contains("aibox.toml:2:"),
            "{bad}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_repository_that_is_one_skill_serves_it_from_its_root() {
    let env = Env::new();
    let gh = GitHub::start();
    let repo = env.root.path().join("review-pr");
    let head = init_repo(
        &repo,
        &[
            ("SKILL.md", &skill_md("review-pr", "At the root.")),
            ("references/checklist.md", "- tests\n"),
        ],
        None,
    );
    git(&repo, &["branch", "-M", "main"]);
    gh.serve("acme/review-pr", &repo, &[]);
    let root = project(
        &env,
        "[skills]\nreview-pr = { git = \"https://github.com/acme/review-pr.git\" }\n",
    );
    ok(&env, &gh, &root, &["sync"]);
    let (version, manifest, source) = locked(&root, "review-pr");
    assert_eq!(
        (version.as_str(), source.as_str()),
        ("0.0.0", "github:acme/review-pr#HEAD")
    );
    assert_eq!(manifest, format!("git:{head}"));
    assert_eq!(
        projected(&root.join(".agents/skills/review-pr")),
        files(&repo, &[".git"])
    );
    // A name the repository does not hold.
    std::fs::write(
        root.join("aibox.toml"),
        "[skills]\nother = { git = \"https://github.com/acme/review-pr\" }\n",
    )
    .unwrap();
    let out = run(&env, &gh, &root, &["sync"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no pack `other`"), "{}", stderr(&out));
}
