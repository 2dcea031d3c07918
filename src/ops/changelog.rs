//! Changelogs: a pack's `CHANGELOG.md` (at its root, one `## <version>` heading per release, as
//! in "Keep a Changelog": `## [1.2.0] - 2026-11-01` works too). `aibox update` prints the
//! entries between the version it replaced and the one it installed; `aibox info` prints a
//! version's entry (from a `dir:` source, or from the version's tree in the store).

use semver::Version;

use crate::store::Store;

use crate::manifest::pack::{CHANGELOG_FILE, MAX_CHANGELOG_BYTES};

/// The version a `## …` heading names (`## 1.2.0`, `## [v1.2.0] - date`), if any.
fn heading_version(line: &str) -> Option<Version> {
    let rest = line.strip_prefix("## ")?.trim_start();
    let word = rest
        .split(|c: char| c.is_whitespace())
        .next()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    Version::parse(word.trim_start_matches('v')).ok()
}

/// The sections of `text` for versions in `(after, upto]`, newest first: (version, body).
pub fn entries(text: &str, after: Option<&Version>, upto: &Version) -> Vec<(Version, String)> {
    let mut out: Vec<(Version, String)> = Vec::new();
    let mut current: Option<(Version, String)> = None;
    for line in text.lines() {
        if line.starts_with("## ") || line.starts_with("# ") {
            if let Some(done) = current.take() {
                out.push(done);
            }
            current = heading_version(line).map(|v| (v, String::new()));
            continue;
        }
        if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out.extend(current);
    let mut picked: Vec<(Version, String)> = out
        .into_iter()
        .filter(|(v, _)| v <= upto && after.is_none_or(|a| v > a))
        .map(|(v, body)| (v, body.trim().to_owned()))
        .collect();
    picked.sort_by(|a, b| b.0.cmp(&a.0));
    picked
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_versions_between_newest_first() {
        let text = "# Changelog\n\n## [Unreleased]\n- wip\n\n## [1.2.0] - 2026-11-01\n- faster\n\n## v1.1.0\n- new flag\n\n## 1.0.0\n- first\n";
        let v = |s| Version::parse(s).unwrap();
        let got = entries(text, Some(&v("1.0.0")), &v("1.2.0"));
        assert_eq!(
            got,
            vec![
                (v("1.2.0"), "- faster".to_owned()),
                (v("1.1.0"), "- new flag".to_owned())
            ]
        );
        assert_eq!(entries(text, None, &v("1.0.0")).len(), 1);
        assert!(entries(text, Some(&v("1.2.0")), &v("1.2.0")).is_empty());
    }
}
