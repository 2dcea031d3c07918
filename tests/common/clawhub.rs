//! The agent-skills peers of the tests: the loopback ClawHub-compatible server
//! (`tests/python/clawhub_server.py`, started per test) with helpers to publish skills to it,
//! and the real npm clients `clawhub` and `skills` (pinned versions installed by scripts/test
//! into `target/test-npm`; a missing or other version fails the test).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The `clawhub` CLI version scripts/test installs.
pub const CLAWHUB_VERSION: &str = "0.23.3";
/// The `skills` CLI version scripts/test installs (the newest that runs on Node 20).
pub const SKILLS_VERSION: &str = "1.5.18";

/// A running ClawHub-compatible server over the data directory `data`.
pub struct ClawHub {
    child: Child,
    pub port: u16,
    pub data: PathBuf,
}

impl ClawHub {
    /// Start a server over `data` (created if missing).
    pub fn start(data: &Path) -> ClawHub {
        std::fs::create_dir_all(data.join("skills")).unwrap();
        let script = super::repo_root().join("tests/python/clawhub_server.py");
        let python = std::env::var_os("AIBOX_TEST_PYTHON")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("python3"));
        let mut child = Command::new(&python)
            .arg(&script)
            .arg(data)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} with {}: {e}",
                    script.display(),
                    python.display()
                )
            });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the ClawHub server did not start: {line:?}"));
        ClawHub {
            child,
            port,
            data: data.to_owned(),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `aibox.toml` registry URL.
    pub fn url(&self) -> String {
        format!("clawhub:{}", self.base())
    }

    fn skill_dir(&self, slug: &str) -> PathBuf {
        self.data.join("skills").join(slug)
    }

    /// Publish `files` (path, content, executable) as `slug@version`; SKILL.md is written from
    /// `description` unless `files` has one.
    pub fn publish(&self, slug: &str, version: &str, description: &str, files: &[(&str, &str)]) {
        let dir = self.skill_dir(slug).join(version);
        std::fs::create_dir_all(&dir).unwrap();
        if !files.iter().any(|(p, _)| *p == "SKILL.md") {
            std::fs::write(
                dir.join("SKILL.md"),
                format!(
                    "---\nname: {slug}\ndescription: {description}\n---\n\n# {slug} {version}\n"
                ),
            )
            .unwrap();
        }
        for (path, content) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
    }

    /// Serve `bytes` as the zip of `slug@version` (whatever the version folder holds).
    pub fn serve_zip(&self, slug: &str, version: &str, bytes: &[u8]) {
        std::fs::create_dir_all(self.skill_dir(slug)).unwrap();
        std::fs::write(self.skill_dir(slug).join(format!("{version}.zip")), bytes).unwrap();
    }

    /// Set the skill's `skill.json` (display name, summary, owner, moderation).
    pub fn set_meta(&self, slug: &str, meta: serde_json::Value) {
        std::fs::create_dir_all(self.skill_dir(slug)).unwrap();
        std::fs::write(
            self.skill_dir(slug).join("skill.json"),
            serde_json::to_vec(&meta).unwrap(),
        )
        .unwrap();
    }

    /// Every request so far as `(path, query)`.
    pub fn requests(&self) -> Vec<(String, serde_json::Map<String, serde_json::Value>)> {
        let text = std::fs::read_to_string(self.data.join("requests.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    v["path"].as_str().unwrap().to_owned(),
                    v["query"].as_object().unwrap().clone(),
                )
            })
            .collect()
    }

    /// GET `path` from the server (HTTP/1.0, whole body), as an independent client.
    pub fn get(&self, path: &str) -> Vec<u8> {
        use std::io::{Read, Write};
        let mut conn = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(conn, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        let mut answer = Vec::new();
        conn.read_to_end(&mut answer).unwrap();
        let at = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("an HTTP answer");
        assert!(answer.starts_with(b"HTTP/1.0 200"), "{path}");
        answer[at + 4..].to_vec()
    }

    /// Forget the requests logged so far.
    pub fn clear_requests(&self) {
        let _ = std::fs::remove_file(self.data.join("requests.jsonl"));
    }
}

impl Drop for ClawHub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An npm client installed by scripts/test: `var` (set by scripts/test), else
/// `target/test-npm/node_modules/.bin/<bin>`; its version (from `version_args`) must be
/// `version`, or the test fails saying how to get it.
pub fn npm_client(var: &str, bin: &str, version_args: &[&str], version: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            super::repo_root()
                .join("target/test-npm/node_modules/.bin")
                .join(bin)
        });
    let out = Command::new(&path).args(version_args).output();
    let found = out
        .as_ref()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    assert_eq!(
        found.as_deref(),
        Some(version),
        "`{}` is missing or not version {version}: scripts/test installs {bin}@{version} from npm",
        path.display()
    );
    path
}

/// The real `clawhub` CLI.
pub fn clawhub_cli() -> PathBuf {
    npm_client("AIBOX_TEST_CLAWHUB", "clawhub", &["-V"], CLAWHUB_VERSION)
}

/// The real `skills` CLI.
pub fn skills_cli() -> PathBuf {
    npm_client(
        "AIBOX_TEST_SKILLS",
        "skills",
        &["--version"],
        SKILLS_VERSION,
    )
}

/// Run an npm client isolated from the machine: its own `HOME`, no telemetry, no colors, no
/// agent detection; returns the output.
pub fn run_client(bin: &Path, home: &Path, cwd: &Path, args: &[&str]) -> std::process::Output {
    std::fs::create_dir_all(home).unwrap();
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .current_dir(cwd)
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env("CLAWHUB_DISABLE_TELEMETRY", "1")
        .env("DISABLE_TELEMETRY", "1")
        .env("DO_NOT_TRACK", "1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdin(Stdio::null());
    for var in [
        "XDG_CONFIG_HOME",
        "XDG_STATE_HOME",
        "CLAUDE_CONFIG_DIR",
        "CODEX_HOME",
        "CLAWHUB_REGISTRY",
        "CLAWHUB_WORKDIR",
        "CLAWHUB_SITE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
        "AI_AGENT",
        "CLAUDECODE",
        "CLAUDE_CODE",
        "CURSOR_TRACE_ID",
        "CODEX_SANDBOX",
        "CODEX_CI",
        "CODEX_THREAD_ID",
        "GEMINI_CLI",
        "OPENCODE_CLIENT",
    ] {
        cmd.env_remove(var);
    }
    cmd.output().unwrap()
}

/// Every file below `dir` (following no links) with its bytes, sorted; paths under any
/// folder named in `skip` are left out.
pub fn files(dir: &Path, skip: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            if meta.is_dir() {
                if !skip.contains(&name.as_str()) {
                    stack.push(e.path());
                }
            } else {
                let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}
