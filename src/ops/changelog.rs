//! Changelogs: a pack's `CHANGELOG.md` (at its root, one `## <version>` heading per release, as
//! in "Keep a Changelog": `## [1.2.0] - 2026-11-01` works too). `aibox update` prints the
//! entries between the version it replaced and the one it installed; `aibox info` prints a
//! version's entry (from a `dir:` source, or from the version's tree in the store).

use semver::Version;

use crate::store::Store;

pub use crate::manifest::pack::changelog_entries as entries;
use crate::manifest::pack::{CHANGELOG_FILE, MAX_CHANGELOG_BYTES};

/// The changelog of the pack tree `store_dir`, if it has one.
pub fn read(store: &Store, store_dir: &str) -> Option<String> {
    let path = store.layout().pack(store_dir).join(CHANGELOG_FILE);
    crate::fs::read_regular_string(&path, MAX_CHANGELOG_BYTES).ok()
}

/// The entries as text for people: a `name version` heading per entry.
pub fn render(name: &str, entries: &[(Version, String)]) -> String {
    entries
        .iter()
        .map(|(v, body)| {
            if body.is_empty() {
                format!("{name} {v}")
            } else {
                format!("{name} {v}\n{}", indent(body))
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn indent(body: &str) -> String {
    body.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// For each pack `changed` (name, old version, new version) in `generation`: the entries of
/// its new tree's changelog after the old version, up to the new one.
pub fn for_changes(
    store: &Store,
    generation: &crate::store::generations::GenerationRecord,
    changed: &[(String, String, String)],
) -> Vec<(String, Vec<(Version, String)>)> {
    changed
        .iter()
        .filter_map(|(name, old, new)| {
            let (old, new) = (Version::parse(old).ok()?, Version::parse(new).ok()?);
            let pack = generation.packs.iter().find(|p| &p.name == name)?;
            let text = read(store, &pack.store)?;
            let e = entries(&text, Some(&old), &new);
            (!e.is_empty()).then(|| (name.clone(), e))
        })
        .collect()
}
