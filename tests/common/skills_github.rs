//! A loopback GitHub for repositories of skills: real git repositories (made with the `git`
//! CLI) served through the routes of the GitHub API aibox reads — releases, a ref's commit, and
//! a commit's source archive, which `git archive` makes as GitHub does (one top folder
//! `<owner>-<repo>-<short sha>/`, a pax header with the commit id) behind the redirect GitHub
//! answers with. A repository can be told to serve another commit's archive (a tampering
//! server).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use super::fake::{FakeRegistry, Reply};

/// One served repository.
#[derive(Clone)]
struct Repo {
    dir: PathBuf,
    /// Release tags the releases API lists.
    releases: Vec<String>,
    /// commit → the commit whose archive is served instead.
    swapped: BTreeMap<String, String>,
}

/// The loopback GitHub.
pub struct GitHub {
    pub server: FakeRegistry,
    repos: Arc<Mutex<BTreeMap<String, Repo>>>,
}

/// Run `git args` in `dir`; its trimmed stdout (it must succeed).
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
        .args(["-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs (scripts/test installs it)");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A new git repository at `dir` with `files` committed (and tagged `tag`, when given);
/// returns the commit.
pub fn init_repo(dir: &Path, files: &[(&str, &str)], tag: Option<&str>) -> String {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q"]);
    commit(dir, files, "first", tag)
}

/// Write `files` into the repository at `dir`, commit them (tagging `tag`); the commit.
pub fn commit(dir: &Path, files: &[(&str, &str)], message: &str, tag: Option<&str>) -> String {
    for (path, content) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        if path.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    if let Some(t) = tag {
        git(dir, &["tag", "-f", t]);
    }
    git(dir, &["rev-parse", "HEAD"])
}

impl GitHub {
    pub fn start() -> GitHub {
        let repos: Arc<Mutex<BTreeMap<String, Repo>>> = Arc::default();
        let r = repos.clone();
        let server = FakeRegistry::start(move |req| {
            let path = req.path.split('?').next().unwrap_or_default().to_owned();
            let repos = r.lock().unwrap().clone();
            answer(&repos, &path)
        });
        GitHub { server, repos }
    }

    /// Serve the git repository at `dir` as `owner/name`, listing `releases` (tags).
    pub fn serve(&self, name: &str, dir: &Path, releases: &[&str]) {
        self.repos.lock().unwrap().insert(
            name.to_owned(),
            Repo {
                dir: dir.to_owned(),
                releases: releases.iter().map(|t| (*t).to_owned()).collect(),
                swapped: BTreeMap::new(),
            },
        );
    }

    /// List `tag` as a release of `name` too.
    pub fn release(&self, name: &str, tag: &str) {
        self.repos
            .lock()
            .unwrap()
            .get_mut(name)
            .unwrap()
            .releases
            .push(tag.to_owned());
    }

    /// Serve the archive of `instead` when `commit`'s is asked for.
    pub fn swap(&self, name: &str, commit: &str, instead: &str) {
        self.repos
            .lock()
            .unwrap()
            .get_mut(name)
            .unwrap()
            .swapped
            .insert(commit.to_owned(), instead.to_owned());
    }

    /// The `AIBOX_GITHUB_API` value.
    pub fn api(&self) -> String {
        format!("http://{}", self.server.host())
    }

    /// The paths asked for so far.
    pub fn paths(&self) -> Vec<String> {
        self.server.requests().into_iter().map(|r| r.path).collect()
    }
}

fn json(v: serde_json::Value) -> Reply {
    Reply::new(200, serde_json::to_string(&v).unwrap().as_bytes())
        .header("Content-Type", "application/json")
}

fn not_found() -> Reply {
    Reply::new(404, b"{\"message\":\"Not Found\"}")
}

/// What GitHub answers at `path`.
fn answer(repos: &BTreeMap<String, Repo>, path: &str) -> Reply {
    let parts: Vec<&str> = path.trim_start_matches('/').splitn(5, '/').collect();
    match parts.as_slice() {
        ["repos", owner, name, "releases"] => {
            let Some(repo) = repos.get(&format!("{owner}/{name}")) else {
                return not_found();
            };
            let list: Vec<serde_json::Value> = repo
                .releases
                .iter()
                .rev()
                .map(|t| serde_json::json!({"tag_name": t, "draft": false, "prerelease": false, "assets": []}))
                .collect();
            json(serde_json::Value::Array(list))
        }
        ["repos", owner, name, "commits", reference] => {
            let Some(repo) = repos.get(&format!("{owner}/{name}")) else {
                return not_found();
            };
            let out = Command::new("git")
                .args(["rev-parse", "--verify", "--quiet"])
                .arg(format!("{reference}^{{commit}}"))
                .current_dir(&repo.dir)
                .output()
                .unwrap();
            if !out.status.success() {
                return Reply::new(422, b"{\"message\":\"No commit found\"}");
            }
            let sha = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            json(serde_json::json!({"sha": sha, "commit": {"message": "…"}}))
        }
        ["repos", owner, name, "tarball", commit] => {
            if !repos.contains_key(&format!("{owner}/{name}")) {
                return not_found();
            }
            Reply::new(302, b"").header("Location", &format!("/codeload/{owner}/{name}/{commit}"))
        }
        ["codeload", owner, name, commit] => {
            let Some(repo) = repos.get(&format!("{owner}/{name}")) else {
                return not_found();
            };
            let served = repo.swapped.get(*commit).map_or(*commit, String::as_str);
            let short = &commit[..7.min(commit.len())];
            let out = Command::new("git")
                .arg("archive")
                .arg("--format=tar.gz")
                .arg(format!("--prefix={owner}-{name}-{short}/"))
                .arg(served)
                .current_dir(&repo.dir)
                .output()
                .unwrap();
            if !out.status.success() {
                return not_found();
            }
            Reply::new(200, &out.stdout).header("Content-Type", "application/x-gzip")
        }
        _ => not_found(),
    }
}
