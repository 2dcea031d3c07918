//! `aibox ui` in a real browser (Debian's chromium and chromedriver, driven by selenium from
//! tests/python/ui_browser.py) against a loopback registry, and `aibox catalog build`. The
//! browser searches, reads a pack's signer and permissions, is refused an update that asks
//! for more until it confirms, and rolls back; this side checks the effects on disk.
#![allow(clippy::disallowed_methods)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::oci::{Env, python3, require_tool, stderr};
use common::registry::Registry;

const PASSWORD: &str = "ui test";

fn aibox(env: &Env) -> assert_cmd::Command {
    let mut c = env.aibox();
    c.env("AIBOX_PASSWORD", PASSWORD);
    c
}

fn ok(env: &Env, cwd: &Path, args: &[&str]) -> String {
    let out = aibox(env).current_dir(cwd).args(args).output().unwrap();
    assert!(out.status.success(), "aibox {args:?}: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `fetcher` at `version`: a command, permissions, and a changelog.
fn fetcher(env: &Env, version: &str, connect: &str, extra: &str) -> PathBuf {
    common::write_pack(
        &env.work().join("src"),
        &format!(
            "[pack]\nname = \"fetcher\"\nversion = \"{version}\"\ndescription = \"Fetches things\"\n\
             [bin]\nfetcher = \"bin/fetcher\"\n[permissions]\nnet.connect = [{connect}]\n{extra}"
        ),
        &[
            (
                "bin/fetcher",
                &format!("#!/bin/sh\necho fetcher {version}\n"),
                true,
            ),
            (
                "CHANGELOG.md",
                "# Changelog\n\n## 1.1.0\n- scans faster\n\n## 1.0.0\n- first\n",
                false,
            ),
        ],
    )
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `aibox ui` in `cwd`; returns it and the URL it printed.
fn start_ui(env: &Env, cwd: &Path) -> (Server, String) {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("aibox"));
    cmd.current_dir(cwd)
        .args(["ui", "--no-open"])
        .env("AIBOX_HOME", env.home())
        .env("HOME", env.user_home())
        .env("NO_COLOR", "1")
        .env("CI", "1")
        .env_remove("AIBOX_CONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.contains("/?token="),
        "{url}"
    );
    (Server(child), url)
}

#[test]
fn the_page_discovers_updates_with_confirmation_and_rolls_back_in_a_browser() {
    require_tool("/usr/bin/chromium", &["--version"], "Debian's chromium");
    require_tool(
        "/usr/bin/chromedriver",
        &["--version"],
        "Debian's chromium-driver",
    );
    let reg = Registry::start();
    let env = Env::new();
    let url = reg.url("packs");
    ok(
        &env,
        &env.work(),
        &["keygen", "--output-key-prefix", "team"],
    );
    ok(&env, &env.work(), &["trust", "add", "team.pub"]);
    publish(
        &env,
        &fetcher(&env, "1.0.0", "443", ""),
        &url,
        &["--key", "team.key"],
    );

    let root = env.work().join("project");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("aibox.toml"),
        format!("[registries]\ndefault = \"{url}\"\n\n[packs]\nfetcher = \"^1.0\"\n"),
    )
    .unwrap();
    ok(&env, &root, &["sync"]);
    // The next version asks for more: another port, and writing the home directory.
    let next = fetcher(&env, "1.1.0", "443, 22", "fs.write = [\"$HOME\"]\n");
    publish(&env, &next, &url, &["--key", "team.key"]);

    let (_server, page) = start_ui(&env, &root);
    let shots = std::env::var_os("AIBOX_UI_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| env.root.path().join("shots"));
    let out = Command::new(python3())
        .arg(common::repo_root().join("tests/python/ui_browser.py"))
        .arg(&page)
        .arg(root.join("aibox.lock"))
        .arg(&shots)
        .env("HOME", env.user_home())
        .output()
        .unwrap();
    assert!(
        out.status.success()
            && String::from_utf8_lossy(&out.stdout)
                .trim_end()
                .ends_with("ok"),
        "browser run:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The effects: the update took 1.1.0 into the lock, and the rollback made the generation
    // with 1.0.0 current again.
    let lock = std::fs::read_to_string(root.join("aibox.lock")).unwrap();
    assert!(lock.contains("version = \"1.1.0\""), "{lock}");
    let current = std::fs::read_link(env.home().join(format!(
        "profiles/{}/current",
        std::fs::read_dir(env.home().join("profiles"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .find(|n| n.starts_with("project-"))
            .unwrap()
    )))
    .unwrap();
    assert!(current.ends_with("generations/1"), "{}", current.display());
    for view in ["discover", "pack", "updates", "installed"] {
        let png = std::fs::read(shots.join(format!("ui-{view}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{view}");
    }
}

#[test]
fn catalog_build_writes_the_discover_pages_as_a_static_site() {
    let reg = Registry::start();
    let env = Env::new();
    let url = reg.url("packs");
    let v1 = fetcher(&env, "1.1.0", "443", "");
    let dir = v1.to_str().unwrap();
    ok(
        &env,
        &env.work(),
        &["pack", "publish", dir, "--registry", &url],
    );
    // An agent skill beside the tool: a bare skill folder with a script.
    let skill = env.work().join("review-pr");
    std::fs::create_dir_all(skill.join("scripts")).unwrap();
    std::fs::write(
        skill.join("SKILL.md"),
        "---\nname: review-pr\ndescription: Review pull requests.\nallowed-tools: Read\n---\nSteps.\n",
    )
    .unwrap();
    std::fs::write(skill.join("scripts/diff.sh"), "#!/bin/sh\ngit diff\n").unwrap();
    ok(
        &env,
        &env.work(),
        &[
            "pack",
            "publish",
            skill.to_str().unwrap(),
            "--version",
            "1.0.0",
            "--registry",
            &url,
        ],
    );
    let site = env.work().join("site");
    ok(
        &env,
        &env.work(),
        &[
            "catalog",
            "build",
            "--registry",
            &url,
            "-o",
            site.to_str().unwrap(),
        ],
    );
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(
        index.contains("<a href=\"packs/fetcher.html\">fetcher</a>"),
        "{index}"
    );
    assert!(index.contains("connect to 443"), "{index}");
    assert!(!index.contains("token="), "a static page carries no token");
    let pack = std::fs::read_to_string(site.join("packs/fetcher.html")).unwrap();
    assert!(pack.contains("aibox add fetcher@1.1.0"), "{pack}");
    assert!(pack.contains("- scans faster"), "{pack}");
    assert!(pack.contains("href=\"../index.html\""), "{pack}");
    assert!(!pack.contains("<form"), "a static page has no actions");
    // Skills beside packs: a kind column and one page per kind.
    assert!(
        index.contains("<td>skill</td>") && index.contains("ships scripts an agent may run"),
        "{index}"
    );
    let skills = std::fs::read_to_string(site.join("skill.html")).unwrap();
    assert!(
        skills.contains("packs/review-pr.html") && !skills.contains("packs/fetcher.html"),
        "{skills}"
    );
    let tools = std::fs::read_to_string(site.join("tool.html")).unwrap();
    assert!(
        tools.contains("packs/fetcher.html") && !tools.contains("packs/review-pr.html"),
        "{tools}"
    );
    let page = std::fs::read_to_string(site.join("packs/review-pr.html")).unwrap();
    assert!(page.contains("aibox add --skill review-pr@1.0.0"), "{page}");
    assert!(
        page.contains("pre-approves agent tools: Read") && page.contains("Projected into"),
        "{page}"
    );
}

/// The page's address and token, from the URL `aibox ui` printed.
struct Page {
    port: u16,
    token: String,
}

impl Page {
    fn of(url: &str) -> Page {
        let rest = url.strip_prefix("http://127.0.0.1:").unwrap();
        let (port, token) = rest.split_once("/?token=").unwrap();
        Page {
            port: port.parse().unwrap(),
            token: token.to_owned(),
        }
    }

    /// One HTTP/1.0 request on loopback: (status, body).
    fn request(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        form: &[(&str, &str)],
    ) -> (u16, String) {
        use std::io::{Read, Write};
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("token", &self.token);
        for (k, v) in query {
            q.append_pair(k, v);
        }
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in form {
            body.append_pair(k, v);
        }
        let body = body.finish();
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "{method} {path}?{} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            q.finish(),
            self.port,
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        let status = answer[9..12].parse().unwrap();
        let body = answer.split_once("\r\n\r\n").unwrap().1.to_owned();
        (status, body)
    }

    fn get(&self, path: &str, query: &[(&str, &str)]) -> String {
        let (status, body) = self.request("GET", path, query, &[]);
        assert_eq!(status, 200, "GET {path} {query:?}: {body}");
        body
    }

    /// The form token of a page's forms.
    fn csrf(&self) -> String {
        field(&self.get("/installed", &[]), "csrf")
    }
}

/// The value of the first hidden field `name` in `html`.
fn field(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no field {name}: {html}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// The packs a Discover page lists, in its order.
fn listed(html: &str) -> Vec<String> {
    html.split("<tr><th scope=\"row\"><a href=\"")
        .skip(1)
        .map(|row| {
            let name = &row[row.find("\">").unwrap() + 2..];
            name[..name.find("</a>").unwrap()].to_owned()
        })
        .collect()
}

/// `aibox pack publish DIR --registry URL` with `extra` arguments (`--key team.key`, …).
fn publish(env: &Env, dir: &Path, url: &str, extra: &[&str]) {
    let mut args = vec!["pack", "publish", dir.to_str().unwrap(), "--registry", url];
    args.extend_from_slice(extra);
    ok(env, &env.work(), &args);
}

/// A pack at `version` with `extra` pack.toml text and a changelog up to 1.1.0.
fn pack_dir(env: &Env, name: &str, version: &str, extra: &str) -> PathBuf {
    common::write_pack(
        &env.work().join("src"),
        &format!(
            "[pack]\nname = \"{name}\"\nversion = \"{version}\"\ndescription = \"{name}\"\n{extra}"
        ),
        &[
            ("bin/run", "#!/bin/sh\necho run\n", true),
            (
                "CHANGELOG.md",
                "# Changelog\n\n## 1.1.0\n- scans faster\n\n## 1.0.1\n- fixes a crash\n\n## 1.0.0\n- first\n",
                false,
            ),
        ],
    )
}

/// A registry with: `fetcher` (a tool signed by a trusted key, connects to 443), `quiet`
/// (unsigned, no network, runs an install hook), `loose` (unsigned, no sandbox) and the skill
/// `review-pr` (unsigned); and a project that locks `fetcher` 1.0.0 (`~1.0`) and `loose`
/// 1.0.0 (`^1.0`), synced. Returns the registry's URL and the project.
fn catalog(env: &Env, reg: &Registry) -> (String, PathBuf) {
    let url = reg.url("packs");
    ok(env, &env.work(), &["keygen", "--output-key-prefix", "team"]);
    ok(env, &env.work(), &["trust", "add", "team.pub"]);
    let publish = |dir: &Path, signed: bool| {
        let key: &[&str] = if signed { &["--key", "team.key"] } else { &[] };
        publish(env, dir, &url, key);
    };
    let net = "[bin]\nrun = \"bin/run\"\n[permissions]\nnet.connect = [443]\n";
    publish(&pack_dir(env, "fetcher", "1.0.0", net), true);
    publish(
        &pack_dir(
            env,
            "quiet",
            "1.0.0",
            "[permissions]\nfs.read = [\"$PROJECT\"]\n[install]\nrun = \"true\"\n",
        ),
        false,
    );
    publish(&pack_dir(env, "loose", "1.0.0", ""), false);
    let skill = env.work().join("review-pr");
    std::fs::create_dir_all(&skill).unwrap();
    std::fs::write(
        skill.join("SKILL.md"),
        "---\nname: review-pr\ndescription: Review pull requests.\n---\nSteps.\n",
    )
    .unwrap();
    let args = [
        "pack",
        "publish",
        skill.to_str().unwrap(),
        "--version",
        "1.0.0",
        "--registry",
        &url,
    ];
    ok(env, &env.work(), &args);
    let root = env.work().join("project");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("aibox.toml"),
        format!(
            "[registries]\ndefault = \"{url}\"\n\n[packs]\nfetcher = \"~1.0\"\nloose = \"^1.0\"\n"
        ),
    )
    .unwrap();
    ok(env, &root, &["sync"]);
    (url, root)
}

/// The generation the project's profile has current.
fn current_generation(env: &Env) -> String {
    let profile = std::fs::read_dir(env.home().join("profiles"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.starts_with("project-"))
        .unwrap();
    let link = std::fs::read_link(env.home().join(format!("profiles/{profile}/current"))).unwrap();
    link.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn the_page_filters_and_sorts_discover_by_kind_signer_and_permissions() {
    let reg = Registry::start();
    let env = Env::new();
    let (_url, root) = catalog(&env, &reg);
    let (_server, url) = start_ui(&env, &root);
    let page = Page::of(&url);
    let names = |query: &[(&str, &str)]| {
        let mut q = vec![("sort", "name")];
        q.extend_from_slice(query);
        listed(&page.get("/discover", &q))
    };
    assert_eq!(names(&[]), ["fetcher", "loose", "quiet", "review-pr"]);
    assert_eq!(names(&[("kind", "skill")]), ["review-pr"]);
    assert_eq!(names(&[("kind", "tool")]), ["fetcher", "loose", "quiet"]);
    assert_eq!(names(&[("signer", "signed")]), ["fetcher"]);
    assert_eq!(
        names(&[("signer", "unsigned")]),
        ["loose", "quiet", "review-pr"]
    );
    assert_eq!(names(&[("may", "network")]), ["fetcher", "loose"]);
    assert_eq!(names(&[("may", "no-network")]), ["quiet", "review-pr"]);
    assert_eq!(names(&[("may", "install-hook")]), ["quiet"]);
    assert_eq!(names(&[("may", "no-sandbox")]), ["loose"]);
    assert_eq!(
        names(&[("kind", "tool"), ("signer", "unsigned"), ("may", "network")]),
        ["loose"]
    );
    // The chosen filters are kept selected in the form.
    let html = page.get("/discover", &[("may", "install-hook")]);
    assert!(
        html.contains("<option value=\"install-hook\" selected>"),
        "{html}"
    );
}

#[test]
fn the_page_installs_and_uninstalls_after_showing_what_it_may_do_and_counts_updates() {
    let reg = Registry::start();
    let env = Env::new();
    let (url, root) = catalog(&env, &reg);
    // Newer versions: 1.0.1 is in `fetcher`'s range, 1.1.0 past it; `loose` 1.0.1 in range.
    let net = "[bin]\nrun = \"bin/run\"\n[permissions]\nnet.connect = [443]\n";
    for v in ["1.0.1", "1.1.0"] {
        let dir = pack_dir(&env, "fetcher", v, net);
        publish(&env, &dir, &url, &["--key", "team.key"]);
    }
    publish(&env, &pack_dir(&env, "loose", "1.0.1", ""), &url, &[]);
    let (_server, page_url) = start_ui(&env, &root);
    let page = Page::of(&page_url);

    // The count on the Updates tab: the packs the view lists; the changelog shown is the one
    // up to the version the update moves to (1.0.1), not the newest's.
    let updates = page.get("/updates", &[]);
    assert!(updates.contains(">Updates (2)</a>"), "{updates}");
    assert_eq!(
        updates.matches("<tr><th scope=\"row\">").count(),
        2,
        "{updates}"
    );
    assert!(updates.contains("fixes a crash"), "{updates}");
    assert!(!updates.contains("scans faster"), "{updates}");

    assert_eq!(current_generation(&env), "1");
    let csrf = page.csrf();
    let manifest = || std::fs::read_to_string(root.join("aibox.toml")).unwrap();
    let lock = || std::fs::read_to_string(root.join("aibox.lock")).unwrap();
    let install = [
        ("csrf", csrf.as_str()),
        ("target", "project"),
        ("pack", "quiet"),
        ("kind", "tool"),
        ("registry", url.as_str()),
    ];
    // Without the form token: refused.
    let (status, _) = page.request("POST", "/install", &[], &install[1..]);
    assert_eq!(status, 403);
    // The first POST only shows what would change and what the pack may do.
    let (status, shown) = page.request("POST", "/install", &[], &install);
    assert_eq!(status, 200, "{shown}");
    assert!(shown.contains("adds quiet 1.0.0"), "{shown}");
    assert!(shown.contains("runs an install hook: `true`"), "{shown}");
    assert!(
        shown.contains("Asks for more than the current generation"),
        "{shown}"
    );
    assert_eq!(current_generation(&env), "1");
    assert!(!manifest().contains("quiet") && !lock().contains("quiet"));
    // A confirmation of something else than what was shown applies nothing.
    let mut wrong = install.to_vec();
    wrong.push(("confirm", "0000"));
    let (status, _) = page.request("POST", "/install", &[], &wrong);
    assert_eq!(status, 409);
    assert_eq!(current_generation(&env), "1");
    // Confirmed: a new generation with the pack, through the same edit as `aibox add`.
    let digest = field(&shown, "confirm");
    let mut confirmed = install.to_vec();
    confirmed.push(("confirm", digest.as_str()));
    let (status, done) = page.request("POST", "/install", &[], &confirmed);
    assert_eq!(status, 200, "{done}");
    assert_eq!(current_generation(&env), "2");
    assert!(manifest().contains("quiet = \"^1.0.0\""), "{}", manifest());
    assert!(lock().contains("name = \"quiet\""), "{}", lock());
    assert!(done.contains("Uninstall quiet"), "{done}");
    // The Installed view says what was verified when each pack was locked: the key that
    // signed `fetcher` (as the lock records it), and that `quiet` is unsigned.
    let locked = lock();
    let at = locked
        .find("signer = \"")
        .expect("fetcher's signer is locked")
        + 10;
    let signer = &locked[at..at + locked[at..].find('"').unwrap()];
    let installed = page.get("/installed", &[]);
    let row = |name: &str| {
        let start = installed
            .find(&format!("<tr><th scope=\"row\">{name}</th>"))
            .unwrap_or_else(|| panic!("no row for {name}: {installed}"));
        installed[start..start + installed[start..].find("</tr>").unwrap()].to_owned()
    };
    assert!(
        row("fetcher").contains(&format!("<td>signed by {signer}</td>")),
        "{}",
        row("fetcher")
    );
    assert!(
        row("quiet").contains("<td>unsigned</td>"),
        "{}",
        row("quiet")
    );

    // Uninstall: shown first, then applied.
    let uninstall = [
        ("csrf", csrf.as_str()),
        ("target", "project"),
        ("pack", "quiet"),
    ];
    let (status, shown) = page.request("POST", "/uninstall", &[], &uninstall);
    assert_eq!(status, 200, "{shown}");
    assert!(shown.contains("removes quiet 1.0.0"), "{shown}");
    assert_eq!(current_generation(&env), "2");
    let digest = field(&shown, "confirm");
    let mut confirmed = uninstall.to_vec();
    confirmed.push(("confirm", digest.as_str()));
    let (status, done) = page.request("POST", "/uninstall", &[], &confirmed);
    assert_eq!(status, 200, "{done}");
    assert_eq!(current_generation(&env), "3");
    assert!(!manifest().contains("quiet") && !lock().contains("quiet"));
    // `aibox rollback` undoes it: the generation with the pack is current again.
    ok(&env, &root, &["rollback"]);
    assert_eq!(current_generation(&env), "2");

    // A second registry serves another `quiet`: Install takes the pack from the registry of
    // the hit, and the request names it (not the default registry's `quiet`).
    let other = reg.url("other");
    publish(&env, &pack_dir(&env, "quiet", "2.0.0", ""), &other, &[]);
    let text = manifest().replace(
        "[registries]\n",
        &format!("[registries]\nother = \"{other}\"\n"),
    );
    std::fs::write(root.join("aibox.toml"), text).unwrap();
    let install = [
        ("csrf", csrf.as_str()),
        ("target", "project"),
        ("pack", "quiet"),
        ("kind", "tool"),
        ("registry", other.as_str()),
    ];
    let (status, shown) = page.request("POST", "/install", &[], &install);
    assert_eq!(status, 200, "{shown}");
    assert!(shown.contains("adds quiet 2.0.0"), "{shown}");
    let mut confirmed = install.to_vec();
    let digest = field(&shown, "confirm");
    confirmed.push(("confirm", digest.as_str()));
    let (status, done) = page.request("POST", "/install", &[], &confirmed);
    assert_eq!(status, 200, "{done}");
    assert!(
        manifest().contains("quiet = { version = \"^2.0.0\", registry = \"other\" }"),
        "{}",
        manifest()
    );
    assert!(lock().contains("version = \"2.0.0\""), "{}", lock());
}
