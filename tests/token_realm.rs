//! Credentials and a registry's token service (docs/security.md): a registry names where
//! tokens come from (`WWW-Authenticate: Bearer realm="…"`), and that is no reason to send it a
//! password. A token service on another host than the registry — another address of this
//! machine (`127.0.0.2`, while the registry is on `127.0.0.1`) — gets no credentials unless the
//! user configuration names it (`token-service`), and the error says so; one that is plain
//! HTTP on a host that is not loopback — an address a network namespace gives the machine —
//! gets no request at all. Each server counts what it receives.
// Tests set up their fixtures with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use common::fake::{FakeRegistry, Reply, Request};
use common::oci::{Env, stderr};

const TOKEN: &str = "the-token";
const SECRET: &str = "s3cr3t-Pa55";

/// A registry that wants `Bearer the-token` and sends clients to `realm` for it; its own
/// `/token` hands out the token too (a token service on the registry's host).
fn token_registry(realm: String) -> FakeRegistry {
    let cell = Arc::new(OnceLock::new());
    cell.set(realm).unwrap();
    registry_with(cell)
}

/// A registry whose token service is its own `/token`.
fn registry_with_own_token_service() -> FakeRegistry {
    let cell = Arc::new(OnceLock::new());
    let reg = registry_with(cell.clone());
    cell.set(format!("http://{}/token", reg.host())).unwrap();
    reg
}

fn registry_with(realm: Arc<OnceLock<String>>) -> FakeRegistry {
    FakeRegistry::start(move |req| {
        let realm = realm.get().expect("the realm is set before any request");
        if req.path.starts_with("/token") {
            return Reply::new(200, format!("{{\"token\":\"{TOKEN}\"}}").as_bytes());
        }
        if req.authorization.as_deref() != Some(&format!("Bearer {TOKEN}")) {
            return Reply::new(
                401,
                b"{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"auth\"}]}",
            )
            .header(
                "WWW-Authenticate",
                &format!("Bearer realm=\"{realm}\",service=\"fake\""),
            )
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

/// A token service: a token for anyone, or (`anonymous = false`) only for a request with
/// credentials.
fn token_service(ip: &str, anonymous: bool) -> FakeRegistry {
    FakeRegistry::start_on(ip, move |req: &Request| {
        if !anonymous && req.authorization.is_none() {
            return Reply::new(401, b"{\"details\":\"credentials required\"}");
        }
        Reply::new(200, format!("{{\"token\":\"{TOKEN}\"}}").as_bytes())
    })
}

fn basic() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("alice:{SECRET}"))
    )
}

/// `aibox info tool --registry <reg>` with alice's credentials for the registry's host, and
/// `config` as the user configuration. Returns stderr.
fn info(env: &Env, reg: &FakeRegistry, config: &str) -> String {
    let path = env.work().join("config.toml");
    std::fs::write(&path, config).unwrap();
    let out = env
        .aibox()
        .env("AIBOX_CONFIG", &path)
        .env("AIBOX_REGISTRY_USERNAME", "alice")
        .env("AIBOX_REGISTRY_PASSWORD", SECRET)
        .env("AIBOX_REGISTRY_HOST", reg.host())
        .args(["info", "tool", "--registry", &reg.url("p")])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!err.contains(SECRET), "the secret was printed: {err}");
    err
}

fn authorizations(server: &FakeRegistry) -> Vec<Option<String>> {
    server
        .requests()
        .into_iter()
        .map(|r| r.authorization)
        .collect()
}

#[test]
fn credentials_go_to_a_token_service_on_another_host_only_when_configured() {
    let env = Env::new();

    // The token service on another address of this machine hands out anonymous tokens: it is
    // asked without credentials, and the registry gets the token.
    let other = token_service("127.0.0.2", true);
    let reg = token_registry(format!("http://{}/token", other.host()));
    let err = info(&env, &reg, "");
    // Authenticated, the registry answers: it has no such pack.
    assert!(err.contains("no pack `tool`"), "{err}");
    assert!(
        !other.requests().is_empty(),
        "no token was asked for: {err}"
    );
    assert!(
        authorizations(&other).iter().all(Option::is_none),
        "the token service on another host received credentials: {:?}",
        authorizations(&other)
    );
    assert!(
        authorizations(&reg)
            .iter()
            .any(|a| a.as_deref() == Some(&format!("Bearer {TOKEN}"))),
        "{:?}",
        authorizations(&reg)
    );
    assert!(!authorizations(&reg).contains(&Some(basic())));
    // A push asks for its token the same way.
    let asked = other.requests().len();
    let dir = common::write_pack(
        &env.work().join("src"),
        "[pack]\nname = \"tool\"\nversion = \"1.0.0\"\n",
        &[],
    );
    let out = env
        .aibox()
        .env("AIBOX_REGISTRY_USERNAME", "alice")
        .env("AIBOX_REGISTRY_PASSWORD", SECRET)
        .env("AIBOX_REGISTRY_HOST", reg.host())
        .args([
            "pack",
            "publish",
            &dir.display().to_string(),
            "--registry",
            &reg.url("p"),
        ])
        .output()
        .unwrap();
    assert!(!stderr(&out).contains(SECRET));
    let pushes = &other.requests()[asked..];
    assert!(
        pushes
            .iter()
            .any(|r| r.path.contains("pull%2Cpush") || r.path.contains("pull,push")),
        "the push asked for no token: {pushes:?}\n{}",
        stderr(&out)
    );
    assert!(
        pushes.iter().all(|r| r.authorization.is_none()),
        "{pushes:?}"
    );

    // One that wants credentials refuses the anonymous request: the error says why, and how
    // to say that this host is the registry's token service.
    let strict = token_service("127.0.0.2", false);
    let reg = token_registry(format!("http://{}/token", strict.host()));
    let err = info(&env, &reg, "");
    assert!(
        err.contains("on another host, so aibox sent it none of your credentials"),
        "{err}"
    );
    assert!(
        err.contains(&format!("token-service {}", strict.host())) && err.contains("hint:"),
        "{err}"
    );
    assert!(!strict.requests().is_empty());
    assert!(
        authorizations(&strict).iter().all(Option::is_none),
        "{:?}",
        authorizations(&strict)
    );

    // Named in the configuration as this registry's token service, it gets them.
    let config = format!(
        "[registries.corp]\nurl = \"{}\"\ntoken-service = \"{}\"\n",
        reg.url("p"),
        strict.host()
    );
    let err = info(&env, &reg, &config);
    assert!(err.contains("no pack `tool`"), "{err}");
    assert!(
        authorizations(&strict).contains(&Some(basic())),
        "{:?}",
        authorizations(&strict)
    );

    // A token service on the registry's own host and port gets them without configuration.
    let same = registry_with_own_token_service();
    let err = info(&env, &same, "");
    assert!(err.contains("no pack `tool`"), "{err}");
    let to_token: Vec<Option<String>> = same
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/token"))
        .map(|r| r.authorization)
        .collect();
    assert!(to_token.contains(&Some(basic())), "{to_token:?}");
}

#[test]
fn token_service_is_checked_in_the_configuration() {
    let env = Env::new();
    let path = env.work().join("config.toml");
    for (value, expected) in [
        (
            "https://auth.example",
            "config.toml:3:17: `registries.corp.token-service` `https://auth.example` is not a host",
        ),
        ("auth.example/token", "is not a host"),
        ("", "it is empty"),
    ] {
        std::fs::write(
            &path,
            format!(
                "[registries.corp]\nurl = \"oci://reg.example/p\"\ntoken-service = \"{value}\"\n"
            ),
        )
        .unwrap();
        let out = env
            .aibox()
            .env("AIBOX_CONFIG", &path)
            .args(["config", "list"])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(
            !out.status.success() && err.contains(expected),
            "{value}: {err}"
        );
        assert!(err.contains("hint:"), "{err}");
    }
    std::fs::remove_file(&path).unwrap();
    let set = |args: &[&str]| {
        env.aibox()
            .env("AIBOX_CONFIG", &path)
            .args(["config", "set"])
            .args(args)
            .output()
            .unwrap()
    };
    assert!(
        set(&["registries.corp.url", "oci://reg.example/p"])
            .status
            .success()
    );
    assert!(
        set(&["registries.corp.token-service", "auth.example:8443"])
            .status
            .success()
    );
    let bad = set(&["registries.corp.token-service", "http://x"]);
    assert!(!bad.status.success(), "{}", stderr(&bad));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("token-service = \"auth.example:8443\""),
        "{text}"
    );
}

/// The program `ip` (iproute2), wherever this system keeps it.
fn ip_command() -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join("ip"))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
        .expect("`ip` (iproute2) must be installed (scripts/test does)")
}

/// The address the namespace gives the machine besides loopback.
const OTHER_ADDRESS: &str = "10.200.0.1";

#[test]
fn a_plain_http_token_service_off_loopback_receives_nothing() {
    // Run this test again inside a new network namespace (of a new user namespace, so no
    // privilege is needed) whose loopback interface also holds a non-loopback address.
    if std::env::var_os("AIBOX_TEST_IN_NETNS").is_none() {
        let me = std::env::current_exe().unwrap();
        let out = std::process::Command::new("unshare")
            .args(["--user", "--map-root-user", "--net", "--", "sh", "-c"])
            .arg(format!(
                "{ip} link set lo up && {ip} addr add {OTHER_ADDRESS}/32 dev lo && exec \"$0\" \"$@\"",
                ip = ip_command()
            ))
            .arg(me)
            .args([
                "a_plain_http_token_service_off_loopback_receives_nothing",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("AIBOX_TEST_IN_NETNS", "1")
            .output()
            .expect("unshare runs (unprivileged user namespaces must be enabled)");
        let (o, e) = common::text(&out);
        assert!(out.status.success(), "inside the namespace:\n{o}\n{e}");
        assert!(
            o.contains("1 passed"),
            "the test did not run inside:\n{o}\n{e}"
        );
        return;
    }
    let env = Env::new();
    let other = token_service(OTHER_ADDRESS, true);
    let realm = format!("http://{}/token", other.host());
    let reg = token_registry(realm.clone());
    // Anonymous or with credentials, configured as the token service or not: no request.
    let config = format!(
        "[registries.corp]\nurl = \"{}\"\ntoken-service = \"{}\"\n",
        reg.url("p"),
        other.host()
    );
    for config in ["", config.as_str()] {
        let err = info(&env, &reg, config);
        assert_eq!(
            other.connections.load(Ordering::SeqCst),
            0,
            "the plain-HTTP token service off loopback was contacted: {:?}\n{err}",
            other.requests()
        );
        assert!(
            err.contains(&format!("the token service of a challenge to `{realm}`"))
                && err.contains("plain HTTP is used only for loopback hosts"),
            "{err}"
        );
        assert!(err.contains("hint:"), "{err}");
        let out = env
            .aibox()
            .args(["info", "tool", "--registry", &reg.url("p")])
            .output()
            .unwrap();
        assert!(
            stderr(&out).contains("plain HTTP is used only for loopback hosts"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(
        other.connections.load(Ordering::SeqCst),
        0,
        "the plain-HTTP token service off loopback was contacted: {:?}",
        other.requests()
    );
    // (The address is reachable: what aibox refused, a client could have sent.)
    assert!(std::net::TcpStream::connect((OTHER_ADDRESS, other.port)).is_ok());
}
