//! Helpers for the OCI distribution tests: an isolated aibox environment (own `AIBOX_HOME`,
//! `HOME`, working directory), pack directories, oras-py and tool checks, and a flaky TCP
//! proxy that cuts a download mid-blob.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

pub struct Env {
    pub root: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        let root = tempfile::tempdir().unwrap();
        for d in ["home", "user", "work"] {
            aibox::fs::create_dir_all(root.path().join(d)).unwrap();
        }
        Env { root }
    }

    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    /// A pack `tool` at `version` whose command prints `tool <version>`, written under
    /// `work()/src`; returns its directory.
    pub fn tool_pack(&self, version: &str) -> PathBuf {
        super::write_pack(
            &self.work().join("src"),
            &format!(
                "[pack]\nname = \"tool\"\nversion = \"{version}\"\n[bin]\ntool = \"bin/tool\"\n"
            ),
            &[(
                "bin/tool",
                &format!("#!/bin/sh\necho tool {version}\n"),
                true,
            )],
        )
    }

    pub fn work(&self) -> PathBuf {
        self.root.path().join("work")
    }

    /// The `HOME` of the aibox process (for `~/.docker/config.json`).
    pub fn user_home(&self) -> PathBuf {
        self.root.path().join("user")
    }

    pub fn aibox(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::cargo_bin("aibox").unwrap();
        c.current_dir(self.work())
            .env("AIBOX_HOME", self.home())
            .env("HOME", self.user_home())
            .env("CI", "1")
            .env("NO_COLOR", "1")
            .env("AIBOX_FETCH_RETRIES", "3")
            .env_remove("DOCKER_CONFIG")
            .env_remove("AIBOX_REGISTRY_USERNAME")
            .env_remove("AIBOX_REGISTRY_PASSWORD")
            .env_remove("AIBOX_REGISTRY_HOST")
            .env_remove("AIBOX_CONFIG")
            .env_remove("AIBOX_PASSWORD")
            .env_remove("COSIGN_PASSWORD")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME");
        c
    }

    /// Pack trees in this environment's store.
    pub fn store_packs(&self) -> Vec<String> {
        let dir = self.home().join("store-v2/packs");
        let mut v: Vec<String> = aibox::fs::read_dir(&dir)
            .map(|rd| {
                rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Objects in this environment's store.
    pub fn store_objects(&self) -> usize {
        let dir = self.home().join("store-v2/objects");
        aibox::fs::read_dir(&dir)
            .map(|rd| {
                rd.map(|e| aibox::fs::read_dir(e.unwrap().path()).unwrap().count())
                    .sum()
            })
            .unwrap_or(0)
    }
}

/// Write a pack source directory `<parent>/<name>-<version>` with a script and a data file.
pub fn make_pack(parent: &Path, name: &str, version: &str, extra_toml: &str) -> PathBuf {
    let dir = parent.join(format!("{name}-{version}"));
    aibox::fs::create_dir_all(dir.join("bin")).unwrap();
    aibox::fs::write(
        dir.join("pack.toml"),
        format!(
            "[pack]\nname = \"{name}\"\nversion = \"{version}\"\ndescription = \"The {name} tool\"\nkeywords = [\"demo\", \"{name}-kw\"]\nlicense = \"MIT\"\n{extra_toml}\n[bin]\n{name} = \"bin/{name}\"\n\n[dependencies]\nbase = \"^1\"\n"
        ),
    )
    .unwrap();
    let script = dir.join("bin").join(name);
    aibox::fs::write(&script, format!("#!/bin/sh\necho {name} {version}\n")).unwrap();
    aibox::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    aibox::fs::write(dir.join("data.txt"), format!("data of {name} {version}\n")).unwrap();
    aibox::fs::symlink(format!("bin/{name}"), dir.join("run")).unwrap();
    dir
}

/// Add a file of `n` pseudo-random (incompressible) bytes to a pack directory.
pub fn add_random_file(dir: &Path, rel: &str, n: usize) {
    let mut x: u64 = 0x9E3779B97F4A7C15;
    let mut data = Vec::with_capacity(n);
    while data.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    data.truncate(n);
    aibox::fs::write(dir.join(rel), data).unwrap();
}

pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Fail loudly if a tool the test needs is missing.
pub fn require_tool(cmd: &str, args: &[&str], package: &str) {
    let ok = std::process::Command::new(cmd)
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "`{cmd}` is missing or broken: install {package} (scripts/test does)"
    );
}

/// The Python interpreter of the tests' venv (oras, cryptography, pynacl): `AIBOX_TEST_PYTHON`
/// (set by scripts/test), else `target/test-venv/bin/python3`. Missing fails the test loudly.
pub fn python3() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("AIBOX_TEST_PYTHON").filter(|p| !p.is_empty()) {
        return p.into();
    }
    let venv = super::repo_root().join("target/test-venv/bin/python3");
    assert!(
        venv.exists(),
        "no Python for the tests: run `scripts/test` once (it creates target/test-venv), or set AIBOX_TEST_PYTHON"
    );
    venv
}

/// Run Python code (for the oras-py client) and return stdout; panics with stderr on failure.
pub fn python(code: &str, cwd: &Path) -> String {
    let out = std::process::Command::new(python3())
        .arg("-c")
        .arg(code)
        .current_dir(cwd)
        .output()
        .expect("the test Python cannot run");
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A TCP proxy to `upstream` on a free loopback port. The first connection whose responses
/// exceed `cut_after` bytes is cut there; with `die_after_cut` the proxy then refuses
/// every later connection (as if the registry died mid-download).
pub struct FlakyProxy {
    pub port: u16,
    pub cuts: Arc<AtomicU64>,
    /// Every byte of every response the proxy passed on to aibox.
    pub sent: Arc<AtomicU64>,
}

impl FlakyProxy {
    pub fn start(upstream: u16, cut_after: u64, die_after_cut: bool) -> FlakyProxy {
        Self::start_with(upstream, cut_after, die_after_cut, false)
    }

    /// Like [`FlakyProxy::start`]; with `ignore_range`, the `Range` header of every request is
    /// dropped, as by a registry (or proxy) that always answers with the whole blob.
    pub fn start_with(
        upstream: u16,
        cut_after: u64,
        die_after_cut: bool,
        ignore_range: bool,
    ) -> FlakyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cuts = Arc::new(AtomicU64::new(0));
        let sent_total = Arc::new(AtomicU64::new(0));
        let cut_done = Arc::new(AtomicBool::new(false));
        let c2 = cuts.clone();
        let s2 = sent_total.clone();
        let live: Arc<std::sync::Mutex<Vec<TcpStream>>> = Arc::default();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if die_after_cut && cut_done.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                live.lock().unwrap().push(client.try_clone().unwrap());
                let (cut_done, cuts, live) = (cut_done.clone(), c2.clone(), live.clone());
                let total = s2.clone();
                let (mut c_read, mut s_write) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    if ignore_range {
                        copy_without_range(&mut c_read, &mut s_write);
                    } else {
                        let _ = std::io::copy(&mut c_read, &mut s_write);
                    }
                    let _ = s_write.shutdown(Shutdown::Write);
                });
                std::thread::spawn(move || {
                    let (mut s_read, mut c_write) = (server, client);
                    let mut sent = 0u64;
                    let mut buf = [0u8; 16 << 10];
                    loop {
                        let n = match s_read.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if !cut_done.load(Ordering::SeqCst) && sent + n as u64 > cut_after {
                            let keep = (cut_after - sent) as usize;
                            let _ = c_write.write_all(&buf[..keep]);
                            total.fetch_add(keep as u64, Ordering::SeqCst);
                            cut_done.store(true, Ordering::SeqCst);
                            cuts.fetch_add(1, Ordering::SeqCst);
                            let _ = c_write.shutdown(Shutdown::Both);
                            let _ = s_read.shutdown(Shutdown::Both);
                            if die_after_cut {
                                // The "registry" is gone: every open connection drops too.
                                for s in live.lock().unwrap().iter() {
                                    let _ = s.shutdown(Shutdown::Both);
                                }
                            }
                            return;
                        }
                        sent += n as u64;
                        if c_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        total.fetch_add(n as u64, Ordering::SeqCst);
                    }
                    let _ = c_write.shutdown(Shutdown::Write);
                });
            }
        });
        FlakyProxy {
            port,
            cuts,
            sent: sent_total,
        }
    }
}

/// Copy requests from `from` to `to`, leaving out every `Range:` header line (requests are
/// small: each arrives in one read).
fn copy_without_range(from: &mut TcpStream, to: &mut TcpStream) {
    let mut buf = [0u8; 64 << 10];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let text = String::from_utf8_lossy(&buf[..n]);
        let kept: String = text
            .split_inclusive("\r\n")
            .filter(|line| !line.to_ascii_lowercase().starts_with("range:"))
            .collect();
        if to.write_all(kept.as_bytes()).is_err() {
            return;
        }
    }
}
