//! `aibox search` and `aibox info`: find packs across registries and layouts (names from the
//! catalog API or the layout's index, descriptions and keywords from each newest version's
//! config) ranked by name match, keywords and description; show one pack in detail.

use std::collections::BTreeMap;

use semver::Version;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::ops::Options;
use crate::registry::{self, RegistryError, SourceOptions, backends::content};

/// One search result.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub name: String,
    pub version: String,
    /// `tool`, `plugin`, `skill` or `cli`.
    pub kind: String,
    pub description: Option<String>,
    pub keywords: Vec<String>,
    pub source: String,
    pub score: u32,
    /// Verified status: "signed by `<fingerprint>`, trusted", "not signed", ….
    pub trust: String,
    /// What the registry's moderation says of it, when the registry has moderation (ClawHub).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderation: Option<crate::registry::moderation::Moderation>,
}

/// Where to look: a registry URL, the directory its relative paths start from, its name in
/// `aibox.toml` (or the configuration), when it has one, and the registry digest the project's
/// `aibox.lock` pins it to (an `aqua:github:` release), when it does.
pub type Place = (String, std::path::PathBuf, Option<String>, Option<String>);

/// The registries to search: `--registry` values, else every registry of the project's
/// `aibox.toml`.
pub fn registries(opts: &Options, given: &[String]) -> Result<Vec<Place>> {
    let cwd =
        std::env::current_dir().map_err(|e| Error::io("cannot read the current directory", e))?;
    if !given.is_empty() {
        // Inside a project, a registry its lock pins is read at that pin.
        let pins = match crate::ops::find_project(opts) {
            Ok(project) => crate::engine::project::registry_pins(&project.root)?,
            Err(_) => Default::default(),
        };
        return Ok(given
            .iter()
            .map(|g| (g.clone(), cwd.clone(), None, pins.get(g).cloned()))
            .collect());
    }
    let none = || {
        Error::msg("no registry to search").with_hint("pass `--registry <url>` (`oci://host/path`, `oci-layout:<dir>` or `dir:<dir>`), run inside a project whose `aibox.toml` has `[registries]`, or add one to your configuration: `aibox config set registries.<name>.url <url>`")
    };
    // Outside a project: the registries of the user configuration.
    let Ok(project) = crate::ops::find_project(opts) else {
        let config = crate::config::load()?;
        let urls: Vec<Place> = config
            .registries
            .iter()
            .map(|(k, r)| (r.url.clone(), cwd.clone(), Some(k.clone()), None))
            .collect();
        if urls.is_empty() {
            return Err(none());
        }
        return Ok(urls);
    };
    let state = crate::engine::project::ProjectState::read(&project.root)?;
    let pins = crate::engine::sources::lock_pins(state.lock.as_ref().map(|(_, l)| l));
    let urls: Vec<Place> = state
        .manifest
        .registries
        .iter()
        .map(|(k, r)| {
            let pin = pins.get(&r.url).cloned();
            (r.url.clone(), project.root.clone(), Some(k.clone()), pin)
        })
        .collect();
    if urls.is_empty() {
        return Err(none());
    }
    Ok(urls)
}

/// Score how well a pack matches `query` (0 = not at all).
pub fn score(query: &str, name: &str, description: Option<&str>, keywords: &[String]) -> u32 {
    let q = query.to_lowercase();
    let n = name.to_lowercase();
    let mut s = if n == q {
        100
    } else if n.starts_with(&q) {
        80
    } else if n.contains(&q) {
        60
    } else if strsim::jaro_winkler(&n, &q) > 0.88 {
        40
    } else {
        0
    };
    if keywords.iter().any(|k| k.to_lowercase() == q) {
        s += 30;
    } else if keywords.iter().any(|k| k.to_lowercase().contains(&q)) {
        s += 15;
    }
    if description.is_some_and(|d| d.to_lowercase().contains(&q)) {
        s += 20;
    }
    s
}

/// Search every source for `query` (only packs of `kind`, when given).
pub fn search(
    query: &str,
    kind: Option<crate::manifest::pack::PackKind>,
    sources: &[Place],
    src: &SourceOptions,
) -> Result<Vec<Hit>> {
    let mut hits = Vec::new();
    let policy = crate::engine::verdicts::policy(None, src.reporter)?;
    for (url, root, key, pin) in sources {
        let source = crate::engine::sources::open_pinned(url, root, src, pin.as_deref())?;
        // A registry with a search of its own answers for itself (ClawHub).
        if let Some(found) = source.search(query) {
            for summary in found? {
                if kind.is_some_and(|k| k != summary.kind) {
                    continue;
                }
                let score = score(query, &summary.name, summary.description.as_deref(), &[]);
                hits.push(Hit {
                    moderation: source.moderation(&summary.name)?,
                    trust: trust_status(&policy, url, root, src, &summary.name, &summary.version)?,
                    name: summary.name,
                    version: summary.version.to_string(),
                    kind: summary.kind.as_str().to_owned(),
                    description: summary.description,
                    keywords: Vec::new(),
                    source: url.clone(),
                    // Ranked by the registry: never below what it found.
                    score: score.max(1),
                });
            }
            continue;
        }
        let names = source.names()?;
        // A registry that serves one pack is also found by its name in `aibox.toml`.
        let single = names.len() == 1;
        for name in names {
            // A source that describes its packs without listing versions (an aqua registry of
            // thousands) is asked for versions only of the packs that match.
            if let Some(d) = source.description(&name)
                && score(query, &name, Some(&d), &[]) == 0
                && !(single
                    && key
                        .as_deref()
                        .is_some_and(|k| score(query, k, None, &[]) > 0))
            {
                continue;
            }
            let Ok(mut versions) = source.versions(&name) else {
                continue;
            };
            // What a plain request would take: not a yanked or staged version.
            if let Some(j) =
                crate::engine::lifecycle::judge(source.as_ref(), &name, None, src.reporter)
            {
                let any = crate::manifest::request::Request::any();
                versions.retain(|v| crate::engine::lifecycle::offered(Some(&j.doc), v, &any));
            }
            let Some(newest) = newest(&versions) else {
                continue;
            };
            let (description, keywords, found) = match source.manifest(&name, &newest) {
                Ok(m) => (
                    m.pack.description.clone(),
                    m.pack.keywords.clone(),
                    m.pack.kind,
                ),
                Err(e) => {
                    src.reporter
                        .verbose(format!("skipping `{name}` in `{url}`: {e}"));
                    continue;
                }
            };
            let mut s = score(query, &name, description.as_deref(), &keywords);
            if single && let Some(key) = key {
                s = s.max(score(query, key, None, &[]));
            }
            if s > 0 && kind.is_none_or(|k| k == found) {
                let trust = match source.declared_checks(&name, &newest) {
                    Some(c) if c.is_empty() => {
                        "an aqua package: its entry declares no checks".into()
                    }
                    Some(c) => format!("an aqua package: {} checked when locked", c.join(", ")),
                    None => trust_status(&policy, url, root, src, &name, &newest)?,
                };
                hits.push(Hit {
                    moderation: source.moderation(&name)?,
                    name,
                    version: newest.to_string(),
                    kind: found.as_str().to_owned(),
                    description,
                    keywords,
                    source: url.clone(),
                    score: s,
                    trust,
                });
            }
        }
    }
    hits.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.name.cmp(&b.name)));
    Ok(hits)
}

/// The verified status of one version (its signatures checked against the trusted keys).
fn trust_status(
    policy: &crate::trust::Policy,
    url: &str,
    root: &std::path::Path,
    src: &SourceOptions,
    name: &str,
    version: &Version,
) -> Result<String> {
    if url.starts_with("dir:") {
        return Ok("local (`dir:` packs are not signed)".into());
    }
    if registry::backends::clawhub::is_clawhub(url) {
        return Ok("a ClawHub skill (not signed; the lock pins its zip's SHA-256)".into());
    }
    if registry::backends::release::is_release(url) {
        return Ok("a release asset (not signed; the lock pins its SHA-256)".into());
    }
    let oci = crate::registry::open_pack_source(url, root, src)?;
    let digest = content::resolve(oci.as_ref(), name, version)?.digest;
    match oci.signatures(name, &digest) {
        Ok(entries) => Ok(crate::engine::verdicts::status(
            policy, url, &digest, &entries,
        )),
        Err(RegistryError::Offline { .. }) => Ok("not checked (offline)".into()),
        Err(e) => Err(e.into()),
    }
}

/// The newest release of `versions`, or the newest pre-release when there is no release.
pub(super) fn newest(versions: &[Version]) -> Option<Version> {
    versions
        .iter()
        .filter(|v| v.pre.is_empty())
        .max()
        .or_else(|| versions.iter().max())
        .cloned()
}

/// A pack's `requires-aibox`, as `aibox info` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RequiresAibox {
    pub request: String,
    /// `None` when the request does not parse (the pack is then refused at lock time).
    pub satisfied: Option<bool>,
}

impl RequiresAibox {
    fn of(request: &str) -> RequiresAibox {
        let running = crate::engine::lock::aibox_version();
        RequiresAibox {
            request: request.to_owned(),
            satisfied: crate::manifest::request::Request::parse(request)
                .ok()
                .map(|r| crate::resolver::aibox_matches(&r, &running)),
        }
    }
}

/// Everything `aibox info` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Info {
    pub name: String,
    pub version: String,
    pub versions: Vec<String>,
    pub kind: String,
    pub description: Option<String>,
    pub license: Option<String>,
    /// The aibox versions the pack says it works with (its `requires-aibox`), and whether the
    /// running aibox is one of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requires_aibox: Option<RequiresAibox>,
    pub homepage: Option<String>,
    pub repository: Option<String>,
    pub keywords: Vec<String>,
    pub dependencies: std::collections::BTreeMap<String, String>,
    pub bin: std::collections::BTreeMap<String, String>,
    pub platforms: Vec<String>,
    /// What only OCI sources (registries, layouts) have.
    #[serde(flatten)]
    pub artifact: Option<ArtifactInfo>,
    /// What a source checks itself before storing (an aqua entry's declared `checksum`,
    /// `cosign`, …: made when it is locked; the lock records which passed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<Vec<String>>,
    pub source: String,
    /// What it may do: its sandbox (or none) and the code it runs unasked, as phrases.
    pub permissions: Vec<String>,
    /// For a skill: the agents' folders the current project projects it into
    /// (`.claude/skills (claude-code)`, …); empty outside a project.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<String>,
    /// The version's entry in the pack's `CHANGELOG.md`, when its tree is in the store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changelog: Option<String>,
    /// What the registry's moderation says of it, when the registry has moderation (ClawHub).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderation: Option<crate::registry::moderation::Moderation>,
    /// Its publisher's marks by version (yanked, deprecated, stage), from its status document.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub status: BTreeMap<String, crate::registry::lifecycle::Marks>,
    /// Whether that document is signed by a key the trust policy trusts (absent: no document).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_signed: Option<bool>,
    /// What it may do, as flags (the local page's filters).
    #[serde(skip)]
    pub traits: crate::engine::escalation::Traits,
}

impl Info {
    /// An `Info` that knows only `name` and its source (to be filled in).
    pub(crate) fn unknown(name: &str, url: &str) -> Info {
        Info {
            name: name.into(),
            version: String::new(),
            versions: Vec::new(),
            kind: String::new(),
            description: None,
            license: None,
            requires_aibox: None,
            homepage: None,
            repository: None,
            keywords: Vec::new(),
            dependencies: Default::default(),
            bin: Default::default(),
            platforms: Vec::new(),
            artifact: None,
            checks: None,
            source: url.into(),
            permissions: Vec::new(),
            agents: Vec::new(),
            changelog: None,
            moderation: None,
            status: BTreeMap::new(),
            status_signed: None,
            traits: Default::default(),
        }
    }

    /// `1.0.0, 1.1.0 (yanked: broken), 2.0.0 (beta)`: the versions with their publisher's
    /// marks.
    pub fn versions_text(&self) -> String {
        self.versions
            .iter()
            .map(|v| match self.status.get(v) {
                Some(m) if !m.is_empty() => format!("{v} ({})", m.describe()),
                _ => v.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `jq ^1.6, shellkit ^1`, or `none`: as `info` and the page show them.
    pub fn dependencies_text(&self) -> String {
        let deps: Vec<String> = self
            .dependencies
            .iter()
            .map(|(n, r)| format!("{n} {r}"))
            .collect();
        if deps.is_empty() {
            "none".into()
        } else {
            deps.join(", ")
        }
    }

    /// The command names, comma-separated.
    pub fn commands_text(&self) -> String {
        self.bin.keys().cloned().collect::<Vec<_>>().join(", ")
    }

    /// The platforms, or `any`.
    pub fn platforms_text(&self) -> String {
        if self.platforms.is_empty() {
            "any".into()
        } else {
            self.platforms.join(", ")
        }
    }
}

/// The entry for `version` in its changelog: read from a `dir:` source, or from the version's
/// tree in the store for an OCI one (once installed or pulled; nothing is downloaded for it).
fn version_changelog(
    home: crate::store::Home,
    source: &dyn registry::Source,
    name: &str,
    version: &Version,
    versions: &[Version],
) -> Option<String> {
    let text = match source.changelog(name, version) {
        Some(text) => text,
        None => stored_changelog_text(home, source, name, version)?,
    };
    let previous = versions.iter().filter(|v| *v < version).max();
    let entries = crate::ops::changelog::entries(&text, previous, version);
    (!entries.is_empty()).then(|| crate::ops::changelog::render(name, &entries))
}

/// The changelog of `version`'s tree in the store, if it is there.
fn stored_changelog_text(
    home: crate::store::Home,
    source: &dyn registry::Source,
    name: &str,
    version: &Version,
) -> Option<String> {
    let url = source.url();
    if !(url.starts_with("oci://") || url.starts_with("oci-layout:")) {
        return None; // a release archive's entry would mean downloading it
    }
    let entry = source.lock_entry(name, version, None).ok()?;
    let host = crate::platform::host();
    let locked = entry
        .platforms
        .get(&host)
        .or_else(|| entry.platforms.get(crate::lockfile::ANY_PLATFORM))?;
    let store = crate::store::Store::open_home(home).ok()?;
    let id = crate::store::PackId {
        tree: locked.tree,
        name: name.to_owned(),
        version: version.to_string(),
    };
    if !store.has_pack(&id) {
        return None;
    }
    crate::ops::changelog::read(&store, &id.dir_name())
}

/// The OCI side of a pack version.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactInfo {
    pub digest: String,
    /// Compressed size of the first platform's layers.
    pub size: u64,
    pub tree: Option<String>,
    /// Verified status: "signed by `<fingerprint>`, trusted", "not signed", ….
    pub trust: String,
    /// Fingerprints of the trusted keys that sign it.
    pub signers: Vec<String>,
}

/// Show `name` (or `name@version`) from the first source that has it.
pub fn info(spec: &str, sources: &[Place], src: &SourceOptions) -> Result<Info> {
    // `name`, `name@1.2.3`, or any request: `name@^1.2`, `name@1`, `name@latest`.
    let parsed = crate::manifest::request::PackSpec::parse(spec)?;
    let name = parsed.name.as_str();
    let request = parsed.request;
    let mut last_err = None;
    for (url, root, key, pin) in sources {
        let source = crate::engine::sources::open_pinned(url, root, src, pin.as_deref())?;
        // A release source serves its one tool under any name a requirement gives it: here it
        // answers only to that tool's name or its registry's.
        if registry::backends::release::is_release(url)
            && key.as_deref() != Some(name)
            && !source.names()?.iter().any(|n| n == name)
        {
            last_err = Some(RegistryError::NotFound {
                name: name.to_owned(),
                source_url: url.clone(),
                suggestion: None,
            });
            continue;
        }
        let mut versions = match source.versions(name) {
            Ok(v) => v,
            Err(e @ RegistryError::NotFound { .. }) => {
                last_err = Some(e);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        versions.sort();
        let policy = crate::engine::verdicts::policy(None, src.reporter)?;
        let judged =
            crate::engine::lifecycle::judge(source.as_ref(), name, Some(&policy), src.reporter);
        let doc = judged.as_ref().map(|j| j.doc.as_ref());
        let status: BTreeMap<String, crate::registry::lifecycle::Marks> = doc
            .map(|d| {
                d.versions
                    .iter()
                    .filter(|(v, m)| versions.contains(v) && !m.is_empty())
                    .map(|(v, m)| (v.to_string(), m.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let status_signed = judged.as_ref().map(|j| j.verified);
        let matching: Vec<Version> = versions
            .iter()
            .filter(|v| request.matches(v) && crate::engine::lifecycle::offered(doc, v, &request))
            .cloned()
            .collect();
        let Some(v) = newest(&matching) else {
            let listed = Info {
                versions: versions.iter().map(ToString::to_string).collect(),
                status: status.clone(),
                ..Info::unknown(name, url)
            };
            let hint = if status.is_empty() {
                format!("`aibox info {name}` shows the newest version")
            } else {
                format!(
                    "a yanked or staged version is shown when named exactly: `aibox info {name}@<version>`"
                )
            };
            return Err(Error::msg(format!(
                "no version of `{name}` in `{url}` matches `{request}` (it has {})",
                listed.versions_text()
            ))
            .with_hint(hint));
        };
        let moderation = source.moderation(name)?;
        if let Some(m) = moderation
            .as_ref()
            .filter(|m| m.verdict == crate::registry::moderation::Verdict::Blocked)
        {
            // Never downloaded, not even to be shown.
            return Ok(Info {
                permissions: vec![format!(
                    "not examined: its registry has it {}",
                    m.describe()
                )],
                version: v.to_string(),
                versions: versions.iter().map(ToString::to_string).collect(),
                kind: crate::manifest::pack::PackKind::Skill.as_str().into(),
                moderation,
                status,
                status_signed,
                ..Info::unknown(name, url)
            });
        }
        let manifest = source.manifest(name, &v)?;
        let p = &manifest.pack;
        let mut platforms = p.platforms.clone().unwrap_or_default();
        let artifact = if !(url.starts_with("oci://") || url.starts_with("oci-layout:")) {
            None
        } else {
            let oci = crate::registry::open_pack_source(url, root, src)?;
            let (resolved, pinfo) = content::manifest(oci.as_ref(), name, &v)?;
            if let crate::registry::format::artifact::TopLevel::Index(_) = &resolved.top {
                platforms = resolved
                    .entries
                    .iter()
                    .filter_map(|(p, _)| p.clone())
                    .collect();
            }
            let (trust, signers) = match oci.signatures(name, &resolved.digest) {
                Ok(entries) => (
                    crate::engine::verdicts::status(&policy, url, &resolved.digest, &entries),
                    policy.signers(url, &resolved.digest, &entries),
                ),
                Err(RegistryError::Offline { .. }) => ("not checked (offline)".into(), Vec::new()),
                Err(e) => return Err(e.into()),
            };
            Some(ArtifactInfo {
                trust,
                signers,
                digest: resolved.digest.clone(),
                size: pinfo.manifest.layers.iter().map(|l| l.size).sum(),
                tree: pinfo.tree.map(|t| t.to_string()),
            })
        };
        let changelog = version_changelog(src.home, source.as_ref(), name, &v, &versions);
        return Ok(Info {
            agents: Vec::new(),
            changelog,
            permissions: crate::engine::escalation::grant_phrases(&manifest.grants()),
            traits: crate::engine::escalation::traits(&manifest.grants()),
            name: name.into(),
            version: v.to_string(),
            versions: versions.iter().map(ToString::to_string).collect(),
            kind: p.kind.as_str().into(),
            description: p.description.clone(),
            license: p.license.clone(),
            requires_aibox: p.requires_aibox.as_deref().map(RequiresAibox::of),
            homepage: p.homepage.clone(),
            repository: p.repository.clone(),
            keywords: p.keywords.clone(),
            dependencies: manifest.dependencies.clone(),
            bin: manifest.bin.clone(),
            platforms,
            artifact,
            checks: source.declared_checks(name, &v),
            source: url.clone(),
            moderation,
            status,
            status_signed,
        });
    }
    Err(match last_err {
        Some(e) => e.into(),
        None => Error::msg(format!("no source to look `{name}` up in")),
    })
}
