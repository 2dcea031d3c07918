//! The manifest hash recorded in the lock: BLAKE3 over a canonical encoding of exactly what
//! resolution depends on, so comments, whitespace and key order never make a lock stale.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::manifest::ProjectManifest;

#[derive(Serialize)]
struct Canonical<'a> {
    format: &'static str,
    requires_aibox: Option<&'a str>,
    /// Name → URL of the registries some request (or transitive dependency) uses.
    registries: BTreeMap<&'a str, &'a str>,
    /// Name → (request as written, registry name).
    packs: BTreeMap<&'a str, (&'a str, &'a str)>,
    plugins: BTreeMap<&'a str, (&'a str, &'a str)>,
    platforms: &'a [String],
}

/// `blake3:<hex>` of the canonical JSON of: `requires-aibox`, the used registries' URLs, the
/// requested packs and plugins with their requests and registries, and the platforms.
pub fn manifest_hash(manifest: &ProjectManifest) -> String {
    let mut registries = BTreeMap::new();
    let used = manifest
        .packs
        .values()
        .chain(manifest.plugins.values())
        .map(|r| r.registry.as_str())
        .chain(manifest.default_registry().map(|(name, _)| name));
    for name in used {
        if let Some(spec) = manifest.registries.get(name) {
            registries.insert(name, spec.url.as_str());
        }
    }
    let canonical = Canonical {
        format: "aibox-manifest-hash-v1",
        requires_aibox: manifest.requires_aibox.as_ref().map(|r| r.as_str()),
        registries,
        packs: requests(&manifest.packs),
        plugins: requests(&manifest.plugins),
        platforms: &manifest.policy.platforms,
    };
    let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
    crate::store::tree::Hash::of(&bytes).to_string()
}

fn requests(m: &BTreeMap<String, crate::manifest::Requirement>) -> BTreeMap<&str, (&str, &str)> {
    m.iter()
        .map(|(k, r)| (k.as_str(), (r.request.as_str(), r.registry.as_str())))
        .collect()
}
