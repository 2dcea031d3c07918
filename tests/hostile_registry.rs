//! Hostile and nosy registries and URLs: credentials go to the one host they are for (from the
//! environment or Docker credential helpers) and are never printed; a URL with userinfo is
//! refused; tag caches of different repositories never collide; a manifest that never ends is
//! cut off at its limit.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::fake::{FakeRegistry, Reply};
use common::oci::{Env, stderr};
use common::registry::Registry;

/// A registry that wants Basic auth for everything.
fn basic_registry() -> FakeRegistry {
    FakeRegistry::start(|req| {
        if req.authorization.is_none() {
            return Reply::new(
                401,
                b"{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"auth\"}]}",
            )
            .header("WWW-Authenticate", "Basic realm=\"fake\"")
            .header("Content-Type", "application/json");
        }
        if req.path == "/v2/" {
            return Reply::new(200, b"{}");
        }
        Reply::new(
            404,
            b"{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"no\"}]}",
        )
        .header("Content-Type", "application/json")
    })
}

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

fn auths(reg: &FakeRegistry) -> Vec<String> {
    reg.requests()
        .into_iter()
        .filter_map(|r| r.authorization)
        .collect()
}

#[test]
fn environment_credentials_go_to_their_one_host_only() {
    let a = basic_registry();
    let b = basic_registry();
    let env = Env::new();
    let secret = "s3cr3t-Pa55";
    let with = |cmd: &mut assert_cmd::Command| {
        cmd.env("AIBOX_REGISTRY_USERNAME", "alice")
            .env("AIBOX_REGISTRY_PASSWORD", secret);
    };
    // Without AIBOX_REGISTRY_HOST they go nowhere, with a warning.
    let mut cmd = env.aibox();
    with(&mut cmd);
    let out = cmd
        .args(["info", "tool", "--registry", &a.url("p")])
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("AIBOX_REGISTRY_HOST"),
        "{}",
        stderr(&out)
    );
    assert!(auths(&a).is_empty(), "sent without a host: {:?}", auths(&a));
    // Scoped to A: A gets them, B never does.
    for reg in [&a, &b] {
        let mut cmd = env.aibox();
        with(&mut cmd);
        let out = cmd
            .env("AIBOX_REGISTRY_HOST", a.host())
            .args(["info", "tool", "--registry", &reg.url("p")])
            .output()
            .unwrap();
        assert!(
            !stderr(&out).contains(secret),
            "the secret was printed: {}",
            stderr(&out)
        );
    }
    assert!(
        auths(&a).iter().any(|h| *h == basic("alice", secret)),
        "{:?}",
        auths(&a)
    );
    assert!(
        auths(&b).is_empty(),
        "B received credentials: {:?}",
        auths(&b)
    );
}

/// A `docker-credential-<name>` that answers for `host` only and logs what it was asked.
fn helper(dir: &Path, name: &str, host: &str, user: &str, secret: &str) {
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread -r server\necho \"$server\" >> \"{log}\"\nif [ \"$server\" = \"{host}\" ]; then\n  printf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{secret}\"}}' \"$server\"\nelse\n  echo 'credentials not found in native keychain'; exit 1\nfi\n",
        log = dir.join(format!("{name}.log")).display()
    );
    let path = dir.join(format!("docker-credential-{name}"));
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn docker_credential_helpers_are_asked_for_their_host() {
    let a = basic_registry();
    let b = basic_registry();
    let env = Env::new();
    let bin = env.work().join("helpers");
    std::fs::create_dir_all(&bin).unwrap();
    helper(&bin, "pass", &a.host(), "bob", "from-helper");
    helper(&bin, "store", &b.host(), "carol", "from-store");
    let docker = env.user_home().join(".docker");
    std::fs::create_dir_all(&docker).unwrap();
    std::fs::write(
        docker.join("config.json"),
        format!(
            r#"{{"credsStore":"store","credHelpers":{{"{}":"pass"}}}}"#,
            a.host()
        ),
    )
    .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    for reg in [&a, &b] {
        let out = env
            .aibox()
            .env("PATH", &path)
            .args(["info", "tool", "--registry", &reg.url("p")])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(
            !err.contains("from-helper") && !err.contains("from-store"),
            "{err}"
        );
    }
    assert!(auths(&a).iter().all(|h| *h == basic("bob", "from-helper")) && !auths(&a).is_empty());
    assert!(auths(&b).iter().all(|h| *h == basic("carol", "from-store")) && !auths(&b).is_empty());
    let asked = std::fs::read_to_string(bin.join("pass.log")).unwrap();
    assert_eq!(
        asked.trim(),
        a.host(),
        "credHelpers is asked for its own host only"
    );
    let asked = std::fs::read_to_string(bin.join("store.log")).unwrap();
    assert_eq!(
        asked.trim(),
        b.host(),
        "credsStore is asked for the other host"
    );
}

#[test]
fn a_url_with_userinfo_is_refused() {
    let env = Env::new();
    for url in [
        "oci://localhost:1@example.com/packs",
        "oci://user:secret-pw@127.0.0.1:5000/packs",
    ] {
        let out = env
            .aibox()
            .args(["info", "x", "--registry", url])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(!out.status.success());
        assert!(err.contains("user name or password"), "{err}");
        assert!(
            !err.contains("secret-pw"),
            "the password was printed: {err}"
        );
    }
}

#[test]
fn tag_caches_of_different_repositories_never_collide() {
    let reg = Registry::start();
    let env = Env::new();
    let pack = |v: &str| {
        common::write_pack(
            &env.work().join(v),
            &format!("[pack]\nname = \"hello\"\nversion = \"{v}\"\n"),
            &[("readme", v, false)],
        )
    };
    let (one, two) = (pack("1.0.0"), pack("2.0.0"));
    for (dir, base) in [(&one, "team/x"), (&two, "team_x")] {
        env.aibox()
            .args(["pack", "publish"])
            .arg(dir)
            .args(["--registry", &reg.url(base)])
            .assert()
            .success();
    }
    let project = |name: &str, base: &str| {
        let root = env.work().join(name);
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(
            root.join("aibox.toml"),
            format!(
                "[registries]\ndefault = \"{}\"\n[packs]\nhello = \"*\"\n",
                reg.url(base)
            ),
        )
        .unwrap();
        root
    };
    let a = project("a", "team/x");
    let b = project("b", "team_x");
    for root in [&a, &b] {
        let out = env.aibox().current_dir(root).arg("lock").output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let lock = |root: &Path| std::fs::read_to_string(root.join("aibox.lock")).unwrap();
    assert!(lock(&a).contains("version = \"1.0.0\""), "{}", lock(&a));
    assert!(
        lock(&b).contains("version = \"2.0.0\""),
        "B got A's cached tags: {}",
        lock(&b)
    );
}

#[test]
fn a_manifest_that_never_ends_is_cut_off() {
    let reg = FakeRegistry::start(|req| {
        if req.path == "/v2/" {
            return Reply::new(200, b"{}");
        }
        if req.path.contains("/tags/list") {
            return Reply::new(200, b"{\"name\":\"p/tool\",\"tags\":[\"1.0.0\"]}")
                .header("Content-Type", "application/json");
        }
        Reply::endless(200)
            .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            .header(
                "Docker-Content-Digest",
                &format!("sha256:{}", "a".repeat(64)),
            )
    });
    let env = Env::new();
    let start = Instant::now();
    let out = env
        .aibox()
        .timeout(Duration::from_secs(60))
        .args(["info", "tool", "--registry", &reg.url("p")])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("larger than 4 MiB") || err.contains("more than 4194304"),
        "{err}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "it stopped reading quickly"
    );
    // It read about the limit, not the stream: what the server managed to send is bounded by
    // the limit plus socket buffers.
    let sent = reg.sent.load(std::sync::atomic::Ordering::SeqCst);
    assert!(sent < 64 << 20, "{sent} bytes were read for a 4 MiB limit");
}
