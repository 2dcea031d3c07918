//! Resolver tests: the data-driven fixtures of `tests/fixtures/resolver/*.toml` (solutions and
//! snapshotted error messages) and property tests over random small registries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use semver::Version;

use super::*;

fn v(s: &str) -> Version {
    Version::parse(s).unwrap_or_else(|e| panic!("bad version {s:?}: {e}"))
}

struct Fixture {
    index: MemoryIndex,
    roots: Vec<Root>,
    opts: ResolveOptions,
    solution: Option<BTreeMap<String, String>>,
    error: Option<String>,
}

fn str_map(value: Option<&toml::Value>) -> BTreeMap<String, String> {
    value
        .and_then(toml::Value::as_table)
        .map(|t| {
            t.iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("string value").to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn load(path: &Path) -> Fixture {
    let text = crate::fs::read_to_string(path).unwrap();
    let doc: toml::Table =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut index = MemoryIndex::new("dir:./packs");
    for (name, versions) in doc
        .get("packs")
        .and_then(|p| p.as_table())
        .into_iter()
        .flatten()
    {
        match versions {
            toml::Value::Array(list) => {
                for ver in list {
                    index.add(name, v(ver.as_str().unwrap()), &[]);
                }
            }
            toml::Value::Table(t) => {
                for (ver, spec) in t {
                    let spec = spec.as_table().expect("version entry is a table");
                    let full =
                        spec.contains_key("dependencies") || spec.contains_key("requires-aibox");
                    let deps = if full {
                        str_map(spec.get("dependencies"))
                    } else {
                        str_map(Some(&toml::Value::Table(spec.clone())))
                    };
                    let deps: Vec<(&str, &str)> =
                        deps.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    let requires = spec.get("requires-aibox").and_then(|r| r.as_str());
                    index.insert(minimal_manifest(name, v(ver), &deps, requires));
                }
            }
            other => panic!("{}: bad pack entry {other:?}", path.display()),
        }
    }
    let roots = str_map(doc.get("roots"))
        .into_iter()
        .map(|(name, req)| Root::new(name, Request::parse(&req).unwrap()))
        .collect();
    let mut opts = ResolveOptions::new(v(doc
        .get("aibox")
        .and_then(|a| a.as_str())
        .unwrap_or("0.1.0")));
    opts.requires_aibox = doc
        .get("requires-aibox")
        .and_then(|r| r.as_str())
        .map(|r| Request::parse(r).unwrap());
    opts.preferences = str_map(doc.get("preferences"))
        .into_iter()
        .map(|(k, ver)| (k, v(&ver)))
        .collect();
    let expect = doc
        .get("expect")
        .and_then(|e| e.as_table())
        .expect("[expect] table");
    Fixture {
        index,
        roots,
        opts,
        solution: expect.get("solution").map(|s| str_map(Some(s))),
        error: expect
            .get("error")
            .and_then(|e| e.as_str())
            .map(str::to_owned),
    }
}

fn outcome(result: &Result<Resolution, ResolveError>) -> Result<BTreeMap<String, String>, String> {
    match result {
        Ok(res) => Ok(res
            .packages
            .iter()
            .map(|(k, r)| (k.clone(), r.version.to_string()))
            .collect()),
        Err(e) => {
            let hints = crate::error::Hint::hints(e);
            let mut text = format!("error: {e}");
            for h in hints {
                text.push_str(&format!("\nhint: {h}"));
            }
            Err(text)
        }
    }
}

fn fixture_paths() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/resolver");
    let mut paths: Vec<PathBuf> = crate::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn fixtures() {
    let paths = fixture_paths();
    assert!(
        paths.len() >= 30,
        "expected at least 30 fixtures, found {}",
        paths.len()
    );
    for path in paths {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let f = load(&path);
        let first = outcome(&resolve(&f.roots, &f.index, &f.opts));
        let second = outcome(&resolve(&f.roots, &f.index, &f.opts));
        assert_eq!(first, second, "{name}: not deterministic");
        match (&f.solution, &f.error, first) {
            (Some(want), None, Ok(got)) => assert_eq!(&got, want, "{name}: wrong solution"),
            (None, Some(want), Err(got)) => {
                assert!(
                    got.contains(want.as_str()),
                    "{name}: error should contain {want:?}:\n{got}"
                );
                insta::assert_snapshot!(format!("fixture_{name}"), got);
            }
            (_, _, got) => panic!("{name}: unexpected outcome {got:#?}"),
        }
    }
}

#[test]
fn resolution_lists_sorted_dependencies_and_manifests() {
    let mut index = MemoryIndex::new("dir:./packs");
    index.add("app", v("1.0.0"), &[("zlib", "1"), ("alpha", "*")]);
    index.add("zlib", v("1.2.0"), &[]);
    index.add("alpha", v("0.3.0"), &[]);
    let res = resolve(
        &[Root::new("app", Request::any())],
        &index,
        &ResolveOptions::new(v("0.1.0")),
    )
    .unwrap();
    let app = &res.packages["app"];
    assert_eq!(app.dependencies, ["alpha", "zlib"]);
    assert_eq!(app.manifest.pack.name, "app");
}

/// Calls to the index, to check that prefetching happens before manifests are read.
#[test]
fn prefetches_before_reading_manifests() {
    use std::sync::Mutex;
    struct Recording(MemoryIndex, Mutex<Vec<String>>);
    impl PackIndex for Recording {
        fn versions(&self, name: &str) -> Result<Vec<Version>, IndexError> {
            self.0.versions(name)
        }
        fn manifest(
            &self,
            name: &str,
            v: &Version,
        ) -> Result<std::sync::Arc<crate::manifest::pack::PackManifest>, IndexError> {
            self.1.lock().unwrap().push(format!("manifest {name} {v}"));
            self.0.manifest(name, v)
        }
        fn prefetch(&self, name: &str, v: &[Version]) {
            self.1
                .lock()
                .unwrap()
                .push(format!("prefetch {name} {}", v[0]));
        }
    }
    let mut index = MemoryIndex::new("dir:./packs");
    index.add("app", v("1.0.0"), &[("lib", "1")]);
    index.add("lib", v("1.1.0"), &[]);
    let rec = Recording(index, Mutex::default());
    resolve(
        &[Root::new("app", Request::any())],
        &rec,
        &ResolveOptions::new(v("0.1.0")),
    )
    .unwrap();
    let log = rec.1.lock().unwrap().clone();
    let pos = |s: &str| {
        log.iter()
            .position(|l| l == s)
            .unwrap_or_else(|| panic!("{s} missing in {log:?}"))
    };
    assert!(pos("prefetch app 1.0.0") < pos("manifest app 1.0.0"));
    assert!(pos("prefetch lib 1.1.0") < pos("manifest lib 1.1.0"));
}

// ---- property tests ----

const REQUESTS: &[&str] = &[
    "*",
    "^1",
    "~1.1",
    ">=1.0, <2",
    "=1.0.0",
    "1",
    "0",
    "2",
    "^0.1",
    ">=1.1",
];
const VERSIONS: &[&str] = &[
    "0.1.0",
    "0.2.0",
    "1.0.0",
    "1.1.0",
    "1.2.0",
    "2.0.0",
    "2.1.0-beta.1",
];

type Registry = Vec<Vec<(usize, Vec<(usize, usize)>)>>; // pack → versions (index into VERSIONS, deps (pack, request))

fn registry() -> impl Strategy<Value = (Registry, Vec<(usize, usize)>)> {
    (2usize..6).prop_flat_map(|n| {
        let version = (
            0..VERSIONS.len(),
            prop::collection::vec((0..n, 0..REQUESTS.len()), 0..3),
        );
        let pack = prop::collection::vec(version, 1..4);
        (
            prop::collection::vec(pack, n),
            prop::collection::vec((0..n, 0..REQUESTS.len()), 1..3),
        )
    })
}

fn name(i: usize) -> String {
    format!("p{i}")
}

fn build(reg: &Registry) -> MemoryIndex {
    let mut index = MemoryIndex::new("dir:./packs");
    for (i, versions) in reg.iter().enumerate() {
        for (ver, deps) in versions {
            let mut map = BTreeMap::new();
            for (d, r) in deps {
                map.insert(name(*d), REQUESTS[*r]);
            }
            let deps: Vec<(&str, &str)> = map.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            index.add(&name(i), v(VERSIONS[*ver]), &deps);
        }
    }
    index
}

/// Whether `choice` (pack → version) satisfies the roots and every chosen pack's dependencies.
/// A dependency of a pack on itself is not a constraint: it is refused as a cycle.
fn satisfies(index: &MemoryIndex, roots: &[Root], choice: &BTreeMap<String, Version>) -> bool {
    let ok = |name: &str, req: &Request| choice.get(name).is_some_and(|ver| req.matches(ver));
    roots.iter().all(|r| ok(&r.name, &r.request))
        && choice.iter().all(|(n, ver)| {
            let m = index.manifest(n, ver).unwrap();
            m.dependencies
                .iter()
                .filter(|(d, _)| *d != n)
                .all(|(d, r)| ok(d, &Request::parse(r).unwrap()))
        })
}

/// Brute force: does any assignment (each pack absent or one version) satisfy everything?
fn exists(index: &MemoryIndex, roots: &[Root], names: &[String]) -> bool {
    fn go(
        index: &MemoryIndex,
        roots: &[Root],
        names: &[String],
        i: usize,
        choice: &mut BTreeMap<String, Version>,
    ) -> bool {
        if i == names.len() {
            return satisfies(index, roots, choice);
        }
        if go(index, roots, names, i + 1, choice) {
            return true;
        }
        for ver in index.versions(&names[i]).unwrap() {
            choice.insert(names[i].clone(), ver);
            if go(index, roots, names, i + 1, choice) {
                return true;
            }
        }
        choice.remove(&names[i]);
        false
    }
    go(index, roots, names, 0, &mut BTreeMap::new())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn random_registries((reg, root_reqs) in registry()) {
        let index = build(&reg);
        let roots: Vec<Root> = root_reqs
            .iter()
            .map(|(p, r)| (name(*p), REQUESTS[*r]))
            .collect::<BTreeMap<_, _>>()
            .into_iter()
            .map(|(n, r)| Root::new(n, Request::parse(r).unwrap()))
            .collect();
        let opts = ResolveOptions::new(v("0.1.0"));
        let first = resolve(&roots, &index, &opts);
        let second = resolve(&roots, &index, &opts);
        prop_assert_eq!(outcome(&first), outcome(&second));
        let names: Vec<String> = (0..reg.len()).map(name).collect();
        match first {
            Ok(res) => {
                let choice: BTreeMap<String, Version> =
                    res.packages.iter().map(|(k, r)| (k.clone(), r.version.clone())).collect();
                prop_assert!(satisfies(&index, &roots, &choice), "solution {:?} breaks a constraint", choice);
                for r in res.packages.values() {
                    prop_assert!(r.version.pre.is_empty() || r.manifest.pack.version == r.version);
                }
            }
            Err(ResolveError::NoSolution { .. }) | Err(ResolveError::NoMatchingVersion { .. }) => {
                prop_assert!(!exists(&index, &roots, &names), "a solution exists but the resolver found none");
            }
            Err(ResolveError::Cycle { path, versions }) => {
                // The resolver found an assignment and refused it for its cycle: the oracle
                // must agree that a solution exists, and every edge of the reported cycle must
                // be a real dependency of the chosen version, met by the next chosen version.
                prop_assert!(path.len() >= 2 && path.first() == path.last());
                prop_assert_eq!(path.len(), versions.len());
                prop_assert!(exists(&index, &roots, &names), "a cycle reported where no solution exists");
                for i in 0..path.len() - 1 {
                    let m = index.manifest(&path[i], &versions[i]).unwrap();
                    let req = m.dependencies.get(&path[i + 1]);
                    // A self-dependency is a cycle whatever its request says.
                    let self_dep = path[i] == path[i + 1];
                    prop_assert!(
                        req.is_some_and(|r| self_dep || Request::parse(r).unwrap().matches(&versions[i + 1])),
                        "{} {} does not depend on {} {}", path[i], versions[i], path[i + 1], versions[i + 1]
                    );
                }
            }
            Err(other) => prop_assert!(false, "unexpected error {}", other),
        }
    }
}

/// Yanked versions are skipped unless locked; staged ones are taken only when asked for
/// exactly, on a channel that admits the stage, or when locked.
#[test]
fn lifecycle_marks() {
    use crate::manifest::request::Channel;
    use crate::registry::lifecycle::StatusDoc;
    let mut index = MemoryIndex::new("oci://r/p");
    for ver in ["1.0.0", "1.1.0", "2.0.0"] {
        index.add("hello", v(ver), &[]);
    }
    let mut doc = StatusDoc::default();
    doc.edit(&v("1.1.0"), |m| m.yanked = Some("broken".into()));
    doc.edit(&v("2.0.0"), |m| m.stage = Some("beta".into()));
    index.set_status("hello", doc);
    let solve = |req: Request, locked: Option<&str>| {
        let mut opts = ResolveOptions::new(v("0.1.0"));
        if let Some(l) = locked {
            opts.preferences.insert("hello".into(), v(l));
        }
        resolve(&[Root::new("hello", req)], &index, &opts)
            .map(|r| r.packages["hello"].version.to_string())
            .map_err(|e| e.to_string())
    };
    let req = |s: &str| Request::parse(s).unwrap();
    assert_eq!(solve(Request::any(), None).unwrap(), "1.0.0");
    assert_eq!(solve(req("^1"), None).unwrap(), "1.0.0");
    assert_eq!(solve(req("^1"), Some("1.1.0")).unwrap(), "1.1.0");
    assert!(solve(req("=1.1.0"), None).is_err());
    assert_eq!(solve(req("=2.0.0"), None).unwrap(), "2.0.0");
    assert_eq!(solve(req("2.0.0"), None).unwrap(), "2.0.0");
    assert!(solve(req("^2"), None).is_err());
    assert_eq!(
        solve(req("^2").with_channel(Channel::Beta), None).unwrap(),
        "2.0.0"
    );
    assert_eq!(solve(Request::any(), Some("2.0.0")).unwrap(), "2.0.0");
}
