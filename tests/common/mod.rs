//! Shared helpers for integration tests: a sandbox with its own `AIBOX_HOME` and project
//! directories, and a way to run the real `aibox` binary in it.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]
#![allow(dead_code)]

pub mod clawhub;
pub mod evil;
pub mod fake;
pub mod github;
pub mod oci;
pub mod registry;
pub mod skills_github;
pub mod userns;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// A temporary world: `home/` (AIBOX_HOME), and room for projects and pack dirs.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// `aibox` with this sandbox's home, run in `cwd`.
    pub fn aibox(&self, cwd: &Path) -> Command {
        let mut cmd = Command::cargo_bin("aibox").expect("binary built");
        cmd.current_dir(cwd)
            .env("AIBOX_HOME", self.home())
            .env("NO_COLOR", "1")
            .env("CI", "true")
            .env("HOME", self.path().join("user"))
            .env_remove("AIBOX_CONFIG")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("AIBOX_LOCK_TIMEOUT");
        cmd
    }

    /// `aibox` with this sandbox's home, run in `cwd` inside the namespace of `fs` (where its
    /// small filesystem is visible).
    pub fn aibox_in(&self, fs: &userns::SmallFs, cwd: &Path) -> std::process::Command {
        let mut cmd = fs.command(cwd, assert_cmd::cargo::cargo_bin("aibox"));
        cmd.env("AIBOX_HOME", self.home())
            .env("NO_COLOR", "1")
            .env("CI", "true")
            .env_remove("AIBOX_LOCK_TIMEOUT");
        cmd
    }

    /// Run `aibox args` in `cwd`; it must succeed. Returns (stdout, stderr).
    pub fn ok(&self, cwd: &Path, args: &[&str]) -> (String, String) {
        let out = self.aibox(cwd).args(args).output().unwrap();
        let (o, e) = text(&out);
        assert!(out.status.success(), "aibox {args:?} failed:\n{e}");
        (o, e)
    }

    /// Run `aibox args` in `cwd`; it must fail. Returns (exit code, stderr).
    pub fn fails(&self, cwd: &Path, args: &[&str]) -> (i32, String) {
        let out = self.aibox(cwd).args(args).output().unwrap();
        assert!(
            !out.status.success(),
            "aibox {args:?} should fail:\n{}",
            text(&out).1
        );
        (out.status.code().unwrap_or(-1), text(&out).1)
    }

    /// Copy this repository's `packs/` into the sandbox and return its path.
    pub fn repo_packs(&self) -> PathBuf {
        let dest = self.dir.path().join("packs");
        copy_tree(&repo_root().join("packs"), &dest);
        dest
    }

    /// `git args` in `root` as this sandbox's user, with this aibox first on `PATH` (the merge
    /// driver `aibox init` registers runs it). Returns stdout and stderr together.
    pub fn git(&self, root: &Path, args: &[&str]) -> String {
        let bin = assert_cmd::cargo::cargo_bin("aibox");
        let path = format!(
            "{}:{}",
            bin.parent().unwrap().display(),
            std::env::var("PATH").unwrap()
        );
        let out = std::process::Command::new("git")
            .current_dir(root)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(["-c", "commit.gpgsign=false"])
            .args(args)
            .env("HOME", self.path().join("user"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("AIBOX_HOME", self.home())
            .env("NO_COLOR", "1")
            .env("PATH", path)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }

    /// Write a project with the given `aibox.toml` text; returns its root.
    pub fn project(&self, name: &str, manifest: &str) -> PathBuf {
        let root = self.dir.path().join(name);
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("aibox.toml"), manifest).unwrap();
        root
    }
}

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Recursively copy a directory (keeping modes and symlinks).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let ft = e.file_type().unwrap();
        let dest = to.join(e.file_name());
        if ft.is_dir() {
            copy_tree(&e.path(), &dest);
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path()).unwrap(), &dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// stdout and stderr of an output as strings.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Write a pack source dir `<dir>/<name>-<version>/` with a pack.toml and files.
pub fn write_pack(dir: &Path, pack_toml: &str, files: &[(&str, &str, bool)]) -> PathBuf {
    let parsed: toml::Table = pack_toml.parse().expect("pack.toml parses");
    let pack = parsed["pack"].as_table().unwrap();
    let name = pack["name"].as_str().unwrap();
    let version = pack["version"].as_str().unwrap();
    let root = dir.join(format!("{name}-{version}"));
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("pack.toml"), pack_toml).unwrap();
    for (path, content, exec) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        if *exec {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    root
}

/// A plugin pack directory `<dir>/<name>` (version 1.0.0) whose executable is the shell
/// `script`, with extra pack.toml text (`[permissions]`, `[hooks]`, …).
pub fn plugin(dir: &Path, name: &str, extra: &str, script: &str) -> PathBuf {
    let root = dir.join(name);
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::write(
        root.join("pack.toml"),
        format!(
            "[pack]\nname = \"{name}\"\nversion = \"1.0.0\"\nkind = \"plugin\"\ndescription = \"test plugin {name}\"\n[bin]\naibox-plugin-{name} = \"bin/aibox-plugin-{name}\"\n{extra}"
        ),
    )
    .unwrap();
    let exe = root.join("bin").join(format!("aibox-plugin-{name}"));
    std::fs::write(&exe, format!("#!/bin/sh\n{script}")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    root
}
