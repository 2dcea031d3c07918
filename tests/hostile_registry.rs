//! Hostile and nosy registries and URLs: credentials go to the one host they are for (from the
//! environment or Docker credential helpers) and are never printed; a URL with userinfo is
//! refused; tag caches of different repositories never collide; a manifest that never ends is
//! cut off at its limit; a redirect — or a challenge's token service — on plain HTTP to a host
//! that is not loopback is refused before anything is asked of that host.
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

/// An IPv4 address of this machine that is not loopback: a "remote" host the test can still
/// watch (its server listens on every address).
fn outside_address() -> String {
    let out = std::process::Command::new("hostname")
        .arg("-I")
        .output()
        .expect("`hostname -I` runs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|a| a.parse::<std::net::Ipv4Addr>().ok())
        .find(|a| !a.is_loopback())
        .expect("this test needs a network interface with an IPv4 address that is not loopback")
        .to_string()
}

/// A registry on loopback serving the artifacts of the OCI layout `dir` (repository
/// `p/<name>`, tags from the layout), answering each blob request with `blob(digest)` when it
/// returns a reply.
fn layout_registry(
    dir: &Path,
    blob: impl Fn(&str) -> Option<Reply> + Send + Sync + 'static,
) -> FakeRegistry {
    let dir = dir.to_path_buf();
    FakeRegistry::start(move |req| {
        let not_found = || {
            Reply::new(
                404,
                b"{\"errors\":[{\"code\":\"NOT_FOUND\",\"message\":\"no\"}]}",
            )
            .header("Content-Type", "application/json")
        };
        let file = |digest: &str| {
            let hex = digest.strip_prefix("sha256:")?;
            if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            std::fs::read(dir.join("blobs/sha256").join(hex)).ok()
        };
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
        let refs: Vec<(String, String)> = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| {
                let name = m["annotations"]["org.opencontainers.image.ref.name"].as_str()?;
                Some((name.to_owned(), m["digest"].as_str()?.to_owned()))
            })
            .collect();
        if req.path == "/v2/" {
            return Reply::new(200, b"{}");
        }
        let Some(rest) = req.path.strip_prefix("/v2/p/") else {
            return not_found();
        };
        let rest = rest.split('?').next().unwrap_or_default();
        let Some((name, tail)) = rest.split_once('/') else {
            return not_found();
        };
        if tail == "tags/list" {
            let tags: Vec<&str> = refs
                .iter()
                .filter_map(|(r, _)| r.strip_prefix(&format!("{name}:")))
                .collect();
            return Reply::new(
                200,
                serde_json::json!({"name": format!("p/{name}"), "tags": tags})
                    .to_string()
                    .as_bytes(),
            )
            .header("Content-Type", "application/json");
        }
        if let Some(reference) = tail.strip_prefix("manifests/") {
            let digest = refs
                .iter()
                .find(|(r, _)| *r == format!("{name}:{reference}"))
                .map(|(_, d)| d.clone())
                .unwrap_or_else(|| reference.to_owned());
            return match file(&digest) {
                Some(bytes) => Reply::new(200, &bytes)
                    .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
                    .header("Docker-Content-Digest", &digest),
                None => not_found(),
            };
        }
        if let Some(digest) = tail.strip_prefix("blobs/") {
            if let Some(reply) = blob(digest) {
                return reply;
            }
            return match file(digest) {
                Some(bytes) => Reply::new(200, &bytes),
                None => not_found(),
            };
        }
        not_found()
    })
}

/// The digest of the tar layer of the only artifact in the layout `dir`.
fn layer_digest(dir: &Path) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let manifest = index["manifests"][0]["digest"].as_str().unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("blobs/sha256").join(&manifest["sha256:".len()..])).unwrap(),
    )
    .unwrap();
    manifest["layers"][0]["digest"].as_str().unwrap().to_owned()
}

#[test]
fn a_redirect_to_plain_http_on_another_host_is_refused_and_nothing_is_fetched_there() {
    let env = Env::new();
    let layout = env.work().join("layout");
    let packs = common::write_pack(
        &env.work().join("src"),
        "[pack]\nname = \"hello\"\nversion = \"1.0.0\"\n[bin]\nhello = \"hello\"\n",
        &[("hello", "#!/bin/sh\necho hello\n", true)],
    );
    let out = env
        .aibox()
        .args(["pack", "build", packs.to_str().unwrap(), "-o"])
        .arg(&layout)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let layer = layer_digest(&layout);
    let blob = std::fs::read(layout.join("blobs/sha256").join(&layer["sha256:".len()..])).unwrap();

    // The "remote" host: it would serve the blob, and counts who asks.
    let remote = {
        let blob = blob.clone();
        FakeRegistry::start_on("0.0.0.0", move |_| Reply::new(200, &blob))
    };
    let outside = format!("http://{}:{}/cdn/blob", outside_address(), remote.port);
    let registry = {
        let (layer, outside) = (layer.clone(), outside.clone());
        layout_registry(&layout, move |digest| {
            (digest == layer).then(|| Reply::new(307, b"").header("Location", &outside))
        })
    };
    let project = |name: &str, reg: &FakeRegistry| {
        let root = env.work().join(name);
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(
            root.join("aibox.toml"),
            format!(
                "[registries]\ndefault = \"{}\"\n\n[packs]\nhello = \"1\"\n",
                reg.url("p")
            ),
        )
        .unwrap();
        root
    };
    let root = project("redirected", &registry);
    let out = env
        .aibox()
        .current_dir(&root)
        .args(["sync"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "refusing to follow a redirect to `{outside}` while"
        )),
        "{err}"
    );
    assert!(
        err.contains("plain HTTP is used only for loopback hosts"),
        "{err}"
    );
    assert!(err.contains("hint: nothing was sent to that host"), "{err}");
    assert!(
        registry.requests().iter().any(|r| r.path.ends_with(&layer)),
        "the blob was asked for"
    );
    assert!(
        remote.requests().is_empty(),
        "nothing was fetched from the other host: {:?}",
        remote.requests()
    );
    assert!(
        !env.store_packs().iter().any(|p| p.contains("hello")),
        "nothing was stored"
    );

    // A redirect to another loopback server (a local cache, a test CDN) is still followed.
    let local = {
        let blob = blob.clone();
        FakeRegistry::start(move |_| Reply::new(200, &blob))
    };
    let local_url = format!("http://127.0.0.1:{}/cdn/blob", local.port);
    let fine = {
        let layer = layer.clone();
        layout_registry(&layout, move |digest| {
            (digest == layer).then(|| Reply::new(307, b"").header("Location", &local_url))
        })
    };
    let root = project("local", &fine);
    let out = env
        .aibox()
        .current_dir(&root)
        .args(["sync"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(local.requests().len(), 1);
    assert!(remote.requests().is_empty());
}

#[test]
fn a_challenge_naming_a_plain_http_token_service_elsewhere_is_refused() {
    let remote = FakeRegistry::start_on("0.0.0.0", |_| {
        Reply::new(200, b"{\"token\":\"t\"}").header("Content-Type", "application/json")
    });
    let realm = format!("http://{}:{}/token", outside_address(), remote.port);
    let challenge = format!("Bearer realm=\"{realm}\",service=\"fake\"");
    let registry = FakeRegistry::start(move |_| {
        Reply::new(
            401,
            b"{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"auth\"}]}",
        )
        .header("WWW-Authenticate", &challenge)
        .header("Content-Type", "application/json")
    });
    let env = Env::new();
    let out = env
        .aibox()
        .env("AIBOX_REGISTRY_HOST", registry.host())
        .env("AIBOX_REGISTRY_USERNAME", "me")
        .env("AIBOX_REGISTRY_PASSWORD", "s3cr3t")
        .args(["info", "tool", "--registry", &registry.url("p")])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "refusing to follow the token service of a challenge to `{realm}`"
        )),
        "{err}"
    );
    assert!(!err.contains("s3cr3t"), "{err}");
    assert!(
        remote.requests().is_empty(),
        "no credentials went to the other host: {:?}",
        remote.requests()
    );
}
