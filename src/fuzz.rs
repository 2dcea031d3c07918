//! Fuzz targets: every parser of hostile input, and archive ingestion, driven by arbitrary
//! bytes. `fuzz/` builds each target for AFL++ (`scripts/fuzz <target> <seconds>`), and the
//! test suite replays the committed corpus (`fuzz/corpus/<target>/`) through [`run`], so a
//! crash found once stays fixed. A target returns normally on any input; a panic is a bug.

use std::path::Path;
use std::sync::OnceLock;

use crate::store::Store;
use crate::store::budget::Limits;

/// Every target, by name.
pub const TARGETS: &[&str] = &[
    "aibox_toml",
    "pack_toml",
    "aibox_lock",
    "oci_json",
    "registry_url",
    "ingest",
];

/// Run target `name` on `data`. Unknown names panic (a harness bug).
pub fn run(name: &str, data: &[u8]) {
    match name {
        "aibox_toml" => aibox_toml(data),
        "pack_toml" => pack_toml(data),
        "aibox_lock" => aibox_lock(data),
        "oci_json" => oci_json(data),
        "registry_url" => registry_url(data),
        "ingest" => ingest(data),
        other => panic!("unknown fuzz target `{other}`"),
    }
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

fn aibox_toml(data: &[u8]) {
    if let Some(t) = text(data)
        && let Ok(m) = crate::manifest::parse_project(t, Path::new("aibox.toml"))
    {
        // What parsed must be usable: roots, registries and the lock's manifest hash.
        let _ = m.roots();
        for (name, _) in m.requirements() {
            let _ = m.registry_for(name);
        }
    }
}

fn pack_toml(data: &[u8]) {
    if let Some(t) = text(data)
        && let Ok(p) = crate::manifest::parse_pack(t, Path::new("pack.toml"))
    {
        // A valid pack.toml survives the trip through an OCI config unchanged.
        let json = serde_json::to_vec(&p).expect("a parsed pack serializes");
        let back: crate::manifest::pack::PackManifest =
            serde_json::from_slice(&json).expect("and parses back");
        assert_eq!(back, p, "pack.toml → JSON → pack.toml");
        crate::manifest::check_pack(&back).expect("and still validates");
    }
}

fn aibox_lock(data: &[u8]) {
    if let Some(t) = text(data)
        && let Ok(lock) = crate::lockfile::Lockfile::parse(t, Path::new("aibox.lock"))
    {
        // The renderer and the parser agree on everything the parser accepts.
        let rendered = lock.render();
        let again = crate::lockfile::Lockfile::parse(&rendered, Path::new("aibox.lock"))
            .expect("a rendered lock parses");
        assert_eq!(again.packages, lock.packages, "parse(render(lock)) == lock");
        assert_eq!(
            again.platforms, lock.platforms,
            "parse(render(lock)) == lock"
        );
        assert_eq!(again.render(), rendered, "rendering is deterministic");
    }
}

fn oci_json(data: &[u8]) {
    use crate::registry::format::artifact;
    if let Ok(top) = artifact::TopLevel::parse(data, "fuzz") {
        let _ = top.annotations();
    }
    let _ = artifact::parse_manifest(data, "fuzz");
    if let Ok(config) = crate::registry::transfer::unpack::parse_config(data, "fuzz") {
        crate::manifest::check_pack(&config.pack).expect("a parsed config is valid");
    }
}

fn registry_url(data: &[u8]) {
    if let Some(t) = text(data) {
        if let Ok(u) = crate::registry::transfer::url::RegistryUrl::parse(t) {
            assert!(!u.host.contains('@') && !u.host.is_empty(), "{t:?} → {u:?}");
            let _ = u.repo("x");
        }
        let _ = crate::registry::PackRef::parse(t);
        let _ = crate::manifest::request::Request::parse(t);
        let _ = crate::resolver::PackSpec::parse(t);
        let redacted = crate::registry::transfer::url::redact(t);
        if let Some((before, _)) = t.split_once('@')
            && before.contains("://")
            && !before.ends_with("://")
            && !before[before.find("://").unwrap_or(0)..].contains('/')
        {
            assert!(redacted.contains("***@"), "{t:?} → {redacted:?}");
        }
    }
}

/// A store shared by every run of the process (ingestion writes objects).
fn store() -> &'static Store {
    static STORE: OnceLock<(tempfile::TempDir, Store)> = OnceLock::new();
    let (_, store) = STORE.get_or_init(|| {
        let dir = crate::fs::temp_dir().expect("a temp dir for the fuzz store");
        let store = Store::open(&dir.path().join("home")).expect("a fuzz store");
        (dir, store)
    });
    store
}

fn ingest(data: &[u8]) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let Some((&format, body)) = data.split_first() else {
        return;
    };
    let limits = Limits::new(4 << 20, 10_000);
    let store = store();
    // Long campaigns would fill the disk with objects: start over now and then.
    if RUNS.fetch_add(1, Ordering::Relaxed) % 512 == 511 {
        let objects = store.layout().objects();
        let _ = crate::fs::remove_tree(&objects);
        let _ = crate::fs::create_dir_all(&objects);
    }
    let result = match format % 3 {
        0 => store.ingest_tar(body, &limits),
        1 => match zstd::stream::read::Decoder::new(body) {
            Ok(dec) => store.ingest_tar(dec, &limits),
            Err(_) => return,
        },
        _ => store.ingest_tar(flate2::read::GzDecoder::new(body), &limits),
    };
    if let Ok(tree) = result {
        // An accepted tree is sound: its links stay inside, it hashes, and its listing
        // rebuilds it.
        tree.check_links().expect("an ingested tree has safe links");
        let listing = tree.to_listing();
        assert_eq!(
            crate::store::tree::Tree::from_listing(&listing).as_ref(),
            Some(&tree),
            "listing round trip"
        );
    }
}
