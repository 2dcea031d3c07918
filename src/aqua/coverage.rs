//! How much of a registry aibox installs: every entry through the reader and, for each of a
//! few platforms, through [`crate::aqua::plan`] at the entry's newest version (a checkout's
//! `pkg.yaml` names it). An entry *has an asset* for a platform when it is a download type
//! (`github_release`, `http`, `github_archive`, `github_content`) and says nothing against the
//! platform (`no_asset`, `error_message`, `supported_envs`); it is *fully supported* when its
//! plan is made without an error. `scripts/aqua-coverage` prints this report.

use std::collections::BTreeMap;

use crate::aqua::{AquaError, Index};

/// The package types that download a file (others build from source: `go_install`, `cargo`).
pub const DOWNLOAD_TYPES: [&str; 4] =
    ["github_release", "http", "github_archive", "github_content"];

/// One platform's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlatformCount {
    pub with_asset: usize,
    pub supported: usize,
    /// Why entries with an asset are not supported: reason → entries.
    pub reasons: BTreeMap<String, usize>,
}

/// The whole report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub entries: usize,
    pub parsed: usize,
    /// Entries of types that build from source.
    pub from_source: usize,
    pub platforms: BTreeMap<String, PlatformCount>,
    /// Entries that do not read: name → error.
    pub unreadable: Vec<(String, String)>,
}

/// The reason of an error without the package's own name, so equal reasons add up.
fn reason(e: &AquaError) -> String {
    match e {
        AquaError::Unsupported { feature, .. } => {
            // Templates and paths differ per entry; keep what kind of thing it is.
            let f = feature
                .split_once(": ")
                .map_or(feature.as_str(), |(_, tail)| tail);
            let f = f.split('`').collect::<Vec<_>>();
            match f.as_slice() {
                [head, name, ..] if head.is_empty() || head.ends_with(' ') => {
                    format!("{head}`{name}`")
                }
                _ => feature.clone(),
            }
        }
        other => other.to_string(),
    }
}

/// Measure `index` on `platforms`; `versions` gives each aqua name's newest version (tag);
/// an entry without one is tried as `v1.0.0`.
pub fn measure(index: &Index, versions: &BTreeMap<String, String>, platforms: &[&str]) -> Report {
    let mut report = Report {
        entries: index.entries.len(),
        ..Report::default()
    };
    for e in &index.entries {
        let pkg = match &e.package {
            Ok(p) => p,
            Err(why) => {
                report.unreadable.push((e.aqua.clone(), why.clone()));
                continue;
            }
        };
        report.parsed += 1;
        let tag = versions.get(&e.aqua).map_or("v1.0.0", String::as_str);
        let effective = crate::aqua::resolve::for_version(pkg, tag);
        let kind = effective
            .as_ref()
            .map_or(pkg.kind.as_str(), |x| x.kind.as_str());
        if !DOWNLOAD_TYPES.contains(&kind) {
            report.from_source += 1;
            continue;
        }
        for p in platforms {
            let count = report.platforms.entry((*p).to_owned()).or_default();
            let result = effective.clone().and_then(|eff| eff.plan(tag, p));
            match result {
                Ok(_) => {
                    count.with_asset += 1;
                    count.supported += 1;
                }
                Err(
                    AquaError::NoAsset { .. }
                    | AquaError::Refused { .. }
                    | AquaError::Platform { .. },
                ) => {}
                Err(other) => {
                    count.with_asset += 1;
                    *count.reasons.entry(reason(&other)).or_default() += 1;
                }
            }
        }
    }
    report
}

impl Report {
    /// The report as lines of text.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![
            format!("entries: {}", self.entries),
            format!("parsed: {}", self.parsed),
            format!(
                "built from source (go_install, go_build, cargo): {}",
                self.from_source
            ),
        ];
        for (p, c) in &self.platforms {
            let pct = if c.with_asset == 0 {
                0.0
            } else {
                100.0 * c.supported as f64 / c.with_asset as f64
            };
            out.push(format!(
                "{p}: {} with an asset, {} fully supported ({pct:.1}%)",
                c.with_asset, c.supported
            ));
            let mut reasons: Vec<(&String, &usize)> = c.reasons.iter().collect();
            reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for (r, n) in reasons.iter().take(12) {
                out.push(format!("  {n:>5}  {r}"));
            }
        }
        for (name, why) in self.unreadable.iter().take(20) {
            out.push(format!("unreadable: {name}: {why}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_entries_per_platform() {
        let yaml = r#"
packages:
  - type: github_release
    repo_owner: a
    repo_name: good
    asset: good_{{.OS}}_{{.Arch}}.tar.gz
  - type: github_release
    repo_owner: a
    repo_name: linux-only
    asset: lo_{{.OS}}_{{.Arch}}
    supported_envs: [linux/amd64]
  - type: github_release
    repo_owner: a
    repo_name: odd
    asset: odd_{{env "X"}}
  - type: go_install
    path: example.com/tool
  - type: github_release
    repo_owner: a
    repo_name: broken
    nonsense: 1
"#;
        let index = Index::parse(yaml, "t").unwrap();
        let r = measure(&index, &BTreeMap::new(), &["linux-x86_64", "macos-aarch64"]);
        assert_eq!((r.entries, r.parsed, r.from_source), (5, 4, 1));
        let linux = &r.platforms["linux-x86_64"];
        assert_eq!((linux.with_asset, linux.supported), (3, 2));
        assert_eq!(linux.reasons.values().sum::<usize>(), 1);
        let mac = &r.platforms["macos-aarch64"];
        assert_eq!((mac.with_asset, mac.supported), (2, 1));
        assert_eq!(r.unreadable.len(), 1);
    }
}
