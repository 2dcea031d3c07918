//! Migrating skills into aibox (`aibox import`): what the `skills` CLI (`skills-lock.json`),
//! the `clawhub` CLI (`.clawhub/lock.json`, `origin.json`) and hand-made folders in agents'
//! skills folders hold becomes `[skills]` requests — from the same source (a GitHub repository
//! at a revision, a ClawHub registry, a local folder as a `dir:` registry), from the team's
//! registries where a mapping file says so ([`map`]), or, for a folder no record knows, from a
//! local snapshot under `.aibox/local-skills/` (a *legacy* skill). The folders found are handed
//! over to aibox (`skill::handover`): the next switch keeps them in the store and replaces them
//! by aibox's links, and `aibox rollback` puts them back. What each record says the skill's
//! files hash to is checked against what aibox fetched ([`check`]).

pub mod check;
pub mod found;
pub mod map;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::manifest::ProjectManifest;
use crate::registry::moderation::Verdict;
use crate::skill::handover::{Expectation, HandedEntry, Identity};

use crate::ops::Options;
use found::{FolderEntry, Found};

/// The registry of legacy local snapshots, relative to the project root.
pub const LOCAL_SKILLS: &str = ".aibox/local-skills";
/// Its URL in `aibox.toml`.
pub const LOCAL_SKILLS_URL: &str = "dir:.aibox/local-skills";

/// Whether a registry URL is the one of legacy local snapshots.
pub fn is_legacy(url: &str) -> bool {
    url.trim_end_matches('/') == LOCAL_SKILLS_URL
}

/// The hash another installer recorded of a skill's files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expected {
    /// `skills-lock.json`'s `computedHash`.
    ComputedHash(String),
    /// `origin.json`'s `fingerprint`.
    Fingerprint(String),
}

/// One skill of the migration.
#[derive(Debug, Clone, Serialize)]
pub struct SkillPlan {
    pub name: String,
    /// Where it was found (`skills-lock.json`, `.clawhub/lock.json`, a folder).
    pub from: String,
    /// The registry alias in `aibox.toml`.
    pub registry: String,
    pub url: String,
    /// The version request (`None` for a `git` request).
    pub request: Option<String>,
    /// A `git` request: the repository and revision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git: Option<(String, Option<String>)>,
    /// A local snapshot (`.aibox/local-skills/`): shown as legacy.
    pub legacy: bool,
    /// Entries of agents' folders it replaces (relative to the project root).
    pub replaces: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Expected>,
    /// Already requested in `aibox.toml`: its request is left as it is.
    pub present: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A skill that is not migrated, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub name: String,
    pub at: String,
    pub reason: String,
}

/// The whole migration.
#[derive(Debug, Default, Serialize)]
pub struct Plan {
    pub skills: Vec<SkillPlan>,
    pub skipped: Vec<Skipped>,
    /// Registries added to `aibox.toml` (alias, URL).
    pub registries: Vec<(String, String)>,
    /// Agents added to `aibox.toml`'s `agents`.
    pub agents: Vec<String>,
    #[serde(skip)]
    handed: Vec<HandedEntry>,
    /// Local snapshots to make: (the folder, its place under `.aibox/local-skills/`).
    #[serde(skip)]
    snapshots: Vec<(PathBuf, String)>,
}

impl Plan {
    /// What the old records say the planned skills' files hash to, for the handover record:
    /// the next switch checks each against what aibox stored, before it names the generation.
    fn expectations(&self) -> Vec<Expectation> {
        self.skills
            .iter()
            .filter_map(|s| {
                let (computed_hash, fingerprint) = match s.expected.clone()? {
                    Expected::ComputedHash(h) => (Some(h), None),
                    Expected::Fingerprint(h) => (None, Some(h)),
                };
                Some(Expectation {
                    skill: s.name.clone(),
                    from: s.from.clone(),
                    computed_hash,
                    fingerprint,
                })
            })
            .collect()
    }
}

/// The agent whose project folder is `folder` (`.agents/skills` is everyone's: `universal`).
fn agent_of(folder: &str) -> Option<&'static str> {
    if folder == ".agents/skills" {
        return Some(crate::manifest::agents::UNIVERSAL);
    }
    crate::manifest::agents::BUILT_IN
        .iter()
        .find(|a| a.project == folder)
        .map(|a| a.name)
}

/// What the registry aliases and URLs in play are: the manifest's and those planned.
struct Registries<'a> {
    manifest: &'a ProjectManifest,
    added: Vec<(String, String)>,
}

impl Registries<'_> {
    /// The alias of `url`: an existing one, else a new one from `base` (`base-2`, … when taken).
    fn alias(&mut self, url: &str, base: &str) -> String {
        if let Some((alias, _)) = self
            .manifest
            .registries
            .iter()
            .find(|(a, r)| r.url == url && !crate::manifest::skill_sources::is_git_alias(a))
        {
            return alias.clone();
        }
        if let Some((alias, _)) = self.added.iter().find(|(_, u)| u == url) {
            return alias.clone();
        }
        let taken = |a: &str| {
            self.manifest.registries.contains_key(a) || self.added.iter().any(|(x, _)| x == a)
        };
        let mut alias = base.to_owned();
        let mut n = 2;
        while taken(&alias) {
            alias = format!("{base}-{n}");
            n += 1;
        }
        self.added.push((alias.clone(), url.to_owned()));
        alias
    }
}

/// Plan the migration of what `found` holds into the project at `root` (manifest
/// `manifest`), mapping through `map` where it says so.
pub fn plan(
    opts: &Options,
    root: &Path,
    manifest: &ProjectManifest,
    found: &Found,
    map: Option<&map::Map>,
) -> Result<Plan> {
    let mut out = Plan::default();
    let mut regs = Registries {
        manifest,
        added: Vec::new(),
    };
    let mut by_name: BTreeMap<String, Vec<&FolderEntry>> = BTreeMap::new();
    for e in &found.entries {
        by_name.entry(e.name.clone()).or_default().push(e);
    }
    // Every name any record or folder knows, with the ClawHub key it has (if any).
    let mut names: BTreeMap<String, Option<String>> = BTreeMap::new();
    if let Some((_, lock)) = &found.skills_lock {
        names.extend(lock.keys().map(|k| (k.clone(), None)));
    }
    if let Some((_, lock)) = &found.clawhub {
        for key in lock.keys() {
            names.insert(map::slug_of(key).to_owned(), Some(key.clone()));
        }
    }
    for k in by_name.keys() {
        names.entry(k.clone()).or_insert(None);
    }
    let src = crate::engine::context::source_options(opts, false);

    for (name, clawhub_key) in names {
        let entries = by_name.get(&name).cloned().unwrap_or_default();
        let at = entries
            .first()
            .map(|e| e.rel.clone())
            .unwrap_or_else(|| name.clone());
        let skip = |out: &mut Plan, reason: String| {
            out.skipped.push(Skipped {
                name: name.clone(),
                at: at.clone(),
                reason,
            })
        };
        if crate::manifest::validate_pack_name(&name).is_err() {
            skip(
                &mut out,
                "not a name aibox gives a skill (lowercase letters, digits and `-`)".into(),
            );
            continue;
        }
        if manifest.packs.contains_key(&name) || manifest.plugins.contains_key(&name) {
            skip(
                &mut out,
                format!("`aibox.toml` already requests a pack named `{name}`"),
            );
            continue;
        }
        // Different folders of one name cannot both become one skill.
        let mut trees: Vec<(String, Option<crate::store::tree::Hash>)> = Vec::new();
        for e in &entries {
            let tree = crate::store::ingest::tree_of_dir(&e.real, None)
                .ok()
                .map(|t| t.hash());
            if !trees.iter().any(|(_, t)| *t == tree) {
                trees.push((e.rel.clone(), tree));
            }
        }
        if let Some((rel, _)) = trees.iter().find(|(_, t)| t.is_none()) {
            skip(
                &mut out,
                format!(
                    "`{rel}` holds something aibox cannot keep in its store (a link out of it, a device, a name not valid everywhere)"
                ),
            );
            continue;
        }
        if trees.len() > 1 {
            let list: Vec<String> = trees.iter().map(|(r, _)| format!("`{r}`")).collect();
            skip(
                &mut out,
                format!("different folders have this name: {}", list.join(", ")),
            );
            continue;
        }
        let mut step = Step {
            name: &name,
            root,
            entries: &entries,
            regs: &mut regs,
        };
        let mapped = match map.and_then(|m| {
            m.target(std::iter::once(name.as_str()).chain(clawhub_key.as_deref()))
                .map(|(k, t)| (m, k, t))
        }) {
            Some((m, key, target)) => step.mapped(m, key, target),
            None => {
                if let Some(e) = found.skills_lock.as_ref().and_then(|(_, l)| l.get(&name)) {
                    step.skills_lock_entry(e)
                } else if let Some(key) = &clawhub_key {
                    let entry = found.clawhub.as_ref().and_then(|(_, l)| l.get(key));
                    step.clawhub_entry(key, entry, &src)?
                } else {
                    step.unmanaged(&mut out.snapshots)
                }
            }
        };
        match mapped {
            Err(reason) => skip(&mut out, reason),
            Ok(mut plan) => {
                plan.present = manifest.skills.contains_key(&plan.name);
                // The agents that had it get it from aibox.
                for e in &entries {
                    if let Some(agent) = agent_of(&e.folder)
                        && !out.agents.iter().any(|a| a == agent)
                    {
                        out.agents.push(agent.to_owned());
                    }
                }
                if plan.name == name {
                    for e in &entries {
                        let identity = crate::skill::handover::identity(&root.join(&e.rel));
                        let (tree, link) = match identity {
                            Some(Identity::Folder(t)) => (Some(t), None),
                            Some(Identity::Link(l)) => (None, Some(l)),
                            None => continue,
                        };
                        out.handed.push(HandedEntry {
                            path: e.rel.clone(),
                            skill: name.clone(),
                            tree,
                            link,
                        });
                        plan.replaces.push(e.rel.clone());
                    }
                } else if !entries.is_empty() {
                    plan.note = Some(format!(
                        "the folders named `{name}` stay as they are (the skill is now `{}`)",
                        plan.name
                    ));
                }
                out.skills.push(plan);
            }
        }
    }
    // Agents already listed stay; the default (`universal`) counts as listed.
    let listed: Vec<String> = manifest
        .agents()
        .iter()
        .map(|a| a.name().to_owned())
        .collect();
    out.agents
        .retain(|a| manifest.agents.is_none() || !listed.contains(a));
    out.agents.sort();
    out.registries = regs.added;
    Ok(out)
}

/// Mapping one skill.
struct Step<'a, 'm> {
    name: &'a str,
    root: &'a Path,
    entries: &'a [&'a FolderEntry],
    regs: &'a mut Registries<'m>,
}

impl Step<'_, '_> {
    fn plan(
        &self,
        from: String,
        registry: String,
        url: String,
        request: Option<String>,
    ) -> SkillPlan {
        SkillPlan {
            name: self.name.to_owned(),
            from,
            registry,
            url,
            request,
            git: None,
            legacy: false,
            replaces: Vec::new(),
            expected: None,
            present: false,
            note: None,
        }
    }

    fn mapped(
        &mut self,
        m: &map::Map,
        key: &str,
        t: &map::Target,
    ) -> std::result::Result<SkillPlan, String> {
        let url = match (
            m.registries.get(&t.registry),
            self.regs.manifest.registries.get(&t.registry),
        ) {
            (Some(u), _) => u.clone(),
            (None, Some(r)) => r.url.clone(),
            (None, None) => {
                return Err(format!(
                    "the mapping names the registry `{}`, which neither the mapping file nor `aibox.toml` defines",
                    t.registry
                ));
            }
        };
        let alias = self.regs.alias(&url, &t.registry);
        let mut p = self.plan(
            format!("the mapping (`{key}`)"),
            alias,
            url,
            Some(t.version.clone()),
        );
        p.name = t.name.clone();
        Ok(p)
    }

    fn skills_lock_entry(
        &mut self,
        e: &crate::skill::legacy_locks::SkillsEntry,
    ) -> std::result::Result<SkillPlan, String> {
        let expected = e.computed_hash.clone().map(Expected::ComputedHash);
        match e.source_type.as_str() {
            "local" => {
                // The CLI records the folder it was given: the skill's own folder, or one
                // holding it (directly or under `skills/`). A `dir:` registry finds a skill by
                // its folder's name in the folder it names.
                let source = Path::new(&e.source);
                let given = if source.is_absolute() {
                    source.to_owned()
                } else {
                    self.root.join(source)
                };
                let named = |d: &Path| {
                    d.file_name().and_then(|n| n.to_str()) == Some(self.name)
                        && crate::skill::is_skill_dir(d)
                };
                let registry_dir = if named(&given) {
                    given.parent().map(Path::to_owned)
                } else {
                    [given.clone(), given.join("skills")]
                        .into_iter()
                        .find(|d| named(&d.join(self.name)))
                };
                let Some(registry_dir) = registry_dir else {
                    return Err(format!(
                        "its source `{}` holds no skill folder named `{}` now",
                        e.source, self.name
                    ));
                };
                // Relative to the project when inside it, as `aibox.toml` is shared.
                let shown = match registry_dir.strip_prefix(self.root) {
                    Ok(rel) if rel.as_os_str().is_empty() => ".".to_owned(),
                    Ok(rel) => rel.display().to_string(),
                    Err(_) => registry_dir.display().to_string(),
                };
                let url = format!("dir:{shown}");
                let alias = self.regs.alias(&url, "local-skills");
                let mut p = self.plan(
                    format!("skills-lock.json (local `{}`)", e.source),
                    alias,
                    url,
                    Some("*".into()),
                );
                p.expected = expected;
                Ok(p)
            }
            "github" => {
                let ok_path = match e.skill_path.as_deref() {
                    None | Some("SKILL.md") => true,
                    Some(p) => p == format!("skills/{}/SKILL.md", self.name),
                };
                if !ok_path {
                    return Err(format!(
                        "its skill lies at `{}` in `{}`; aibox reads a repository's skills from `skills/<name>/` or its root",
                        e.skill_path.as_deref().unwrap_or(""),
                        e.source
                    ));
                }
                let git = format!("https://github.com/{}", e.source);
                let url = crate::manifest::skill_sources::git_url(&git, e.reference.as_deref())?;
                let mut p = self.plan(
                    format!("skills-lock.json (GitHub `{}`)", e.source),
                    crate::manifest::skill_sources::git_alias(self.name),
                    url,
                    None,
                );
                p.git = Some((git, e.reference.clone()));
                p.expected = expected;
                Ok(p)
            }
            other => Err(format!(
                "its source type `{other}` is not one aibox imports (local folders and GitHub repositories are)"
            )),
        }
    }

    fn clawhub_entry(
        &mut self,
        key: &str,
        entry: Option<&crate::skill::legacy_locks::ClawhubEntry>,
        src: &crate::registry::SourceOptions,
    ) -> Result<std::result::Result<SkillPlan, String>> {
        let folder = self.root.join(found::CLAWHUB_FOLDER).join(key);
        let origin = crate::skill::legacy_locks::origin(&folder);
        let base = origin
            .as_ref()
            .map_or("https://clawhub.ai", |o| o.registry.trim_end_matches('/'));
        let url = format!("clawhub:{base}");
        if let Err(reason) = crate::manifest::skill_sources::check_clawhub(&url) {
            return Ok(Err(format!("its registry `{base}` {reason}")));
        }
        let version = entry
            .and_then(|e| e.version.clone())
            .or_else(|| origin.as_ref().and_then(|o| o.installed_version.clone()));
        let request = match version {
            Some(v) if semver::Version::parse(&v).is_ok() => v,
            Some(v) => return Ok(Err(format!("its version `{v}` is not semver"))),
            None => "*".into(),
        };
        // What the registry says now: a skill it blocks is not migrated at all.
        let source = crate::registry::open_source(&url, self.root, src)?;
        let moderation = source.moderation(self.name)?;
        let note = match moderation.as_ref().map(|m| (m.verdict, m.describe())) {
            Some((Verdict::Blocked, d)) => {
                return Ok(Err(format!(
                    "its registry has it {d}: not migrated — remove its folder yourself"
                )));
            }
            Some((Verdict::Suspicious, d)) => Some(format!(
                "its registry flags it as {d}: syncing it needs `--yes`"
            )),
            _ => None,
        };
        let alias = self.regs.alias(&url, "clawhub");
        let mut p = self.plan(
            format!(".clawhub/lock.json (`{key}`)"),
            alias,
            url,
            Some(request),
        );
        p.expected = origin
            .and_then(|o| o.fingerprint)
            .map(Expected::Fingerprint);
        p.note = note;
        Ok(Ok(p))
    }

    fn unmanaged(
        &mut self,
        snapshots: &mut Vec<(PathBuf, String)>,
    ) -> std::result::Result<SkillPlan, String> {
        let Some(first) = self.entries.first() else {
            return Err("no folder holds it".into());
        };
        let front = crate::skill::read_front_matter(&first.real).map_err(|e| e.to_string())?;
        if front.name != self.name {
            return Err(format!(
                "its SKILL.md names the skill `{}`; rename the folder or the skill",
                front.name
            ));
        }
        let version = front
            .metadata
            .get("version")
            .and_then(|v| crate::skill::lenient_version(v))
            .unwrap_or_else(|| semver::Version::new(0, 0, 0));
        snapshots.push((first.real.clone(), format!("{}/{version}", self.name)));
        let alias = self.regs.alias(LOCAL_SKILLS_URL, "legacy-skills");
        let mut p = self.plan(
            format!("the folder `{}` (no record)", first.rel),
            alias,
            LOCAL_SKILLS_URL.into(),
            Some(version.to_string()),
        );
        p.legacy = true;
        Ok(p)
    }
}

/// `text` (an `aibox.toml`) with the plan's registries, skills and agents added.
pub fn edit(text: &str, plan: &Plan) -> Result<String> {
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| Error::with_source("cannot edit `aibox.toml`", e))?;
    for (alias, url) in &plan.registries {
        let regs = doc
            .entry("registries")
            .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
        if let Some(t) = regs.as_table_like_mut() {
            t.insert(alias, toml_edit::value(url.as_str()));
        }
    }
    let mut text = doc.to_string();
    for s in plan.skills.iter().filter(|s| !s.present) {
        text = crate::manifest::add_requirement(
            &text,
            crate::manifest::Section::Skills,
            &s.name,
            s.request.as_deref().unwrap_or("*"),
        )?;
        let mut doc: toml_edit::DocumentMut = text
            .parse()
            .map_err(|e| Error::with_source("cannot edit `aibox.toml`", e))?;
        let mut entry = toml_edit::InlineTable::new();
        match &s.git {
            Some((git, rev)) => {
                entry.insert("git", git.as_str().into());
                if let Some(rev) = rev {
                    entry.insert("rev", rev.as_str().into());
                }
            }
            None => {
                entry.insert("version", s.request.as_deref().unwrap_or("*").into());
                entry.insert("registry", s.registry.as_str().into());
            }
        }
        doc["skills"][s.name.as_str()] = toml_edit::value(entry);
        text = doc.to_string();
    }
    if !plan.agents.is_empty() {
        text = crate::manifest::add_agents(&text, &plan.agents)?;
    }
    Ok(text)
}

/// Make the plan's files: the local snapshots under `.aibox/local-skills/` and the handover
/// record in the project's profile (what a switch may replace).
pub fn prepare(opts: &Options, root: &Path, plan: &Plan) -> Result<()> {
    let expected = plan.expectations();
    if plan.snapshots.is_empty() && plan.handed.is_empty() && expected.is_empty() {
        return Ok(());
    }
    crate::store::state_dir::check_state_dir(root)?;
    for (from, rel) in &plan.snapshots {
        let dest = root.join(LOCAL_SKILLS).join(rel);
        crate::fs::remove_tree(&dest)
            .and_then(|()| crate::fs::create_dir_all(dest.parent().unwrap_or(root)))
            .and_then(|()| crate::fs::copy_tree(from, &dest, &[]))
            .map_err(|e| {
                Error::io(
                    format!("cannot copy `{}` to `{}`", from.display(), dest.display()),
                    e,
                )
            })?;
    }
    if !plan.handed.is_empty() || !expected.is_empty() {
        let store = opts.store()?;
        let profile = store.project_profile(root)?;
        let mut record = crate::skill::handover::Handover::read(&profile.paths.dir);
        record.merge(plan.handed.clone());
        record.expect(expected);
        record
            .write(&profile.paths.dir)
            .map_err(|e| Error::io("cannot write the handover record", e))?;
    }
    Ok(())
}
