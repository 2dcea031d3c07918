//! `aibox import`: turn the version files of other tools (`.tool-versions`, `mise.toml`,
//! `.nvmrc`, `.python-version`) into `aibox.toml` requests. Each tool is mapped to a pack of the
//! project's registries (or `--registry`) by name or by a pack's `aliases`, its version
//! translated to a request and checked against the versions published; what cannot be mapped is
//! listed with the reason. The source files are left as they are.
//!
//! Skills installed by other tools (`skills-lock.json`, `.clawhub/lock.json`, folders in the
//! agents' skills folders) are migrated in the same run ([`crate::ops::migrate`]); `--apply`
//! then syncs and checks what the old records say the skills hash to.

use std::path::{Path, PathBuf};

use semver::Version;

use crate::error::{Error, Result};
use crate::fs;
use crate::manifest::legacy::{self, Wanted};
use crate::manifest::{Section, add_requirement};
use crate::registry::{self, Source};

use crate::ops::{MANIFEST, Options};

/// One tool mapped to a pack.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Mapped {
    pub tool: String,
    pub version: String,
    pub at: String,
    pub pack: String,
    pub request: String,
    /// The registry alias in `aibox.toml` it comes from.
    pub registry: String,
    /// Other versions the file lists, not imported (`aibox.toml` holds one per pack).
    pub dropped: Vec<String>,
    /// Already requested in `aibox.toml`: left as it is.
    pub present: bool,
}

/// One tool that could not be mapped, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Unmapped {
    pub tool: String,
    pub at: String,
    pub reason: String,
}

/// What an import found and (unless a dry run) wrote.
#[derive(Debug, serde::Serialize)]
pub struct Imported {
    pub files: Vec<String>,
    pub mapped: Vec<Mapped>,
    pub unmapped: Vec<Unmapped>,
    /// The skills migrated from other installers (`None`: none was looked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skills: Option<crate::ops::migrate::Plan>,
    /// The `aibox.toml` written (or that would be).
    pub manifest: String,
    pub path: PathBuf,
    pub created: bool,
}

/// A registry's packs: name, versions, aliases of the newest version.
struct Catalog {
    alias: String,
    packs: Vec<(String, Vec<Version>, Vec<String>)>,
}

fn catalog(alias: &str, source: &dyn Source) -> Result<Catalog> {
    let mut packs = Vec::new();
    let names = source.names()?;
    // A release source serves one tool: also known by its registry's name, and its aliases
    // would cost a download.
    if registry::backends::release::is_release(source.url())
        && let [name] = names.as_slice()
    {
        let versions = source.versions(name)?;
        packs.push((name.clone(), versions, vec![alias.to_owned()]));
        return Ok(Catalog {
            alias: alias.to_owned(),
            packs,
        });
    }
    for name in names {
        let Ok(versions) = source.versions(&name) else {
            continue;
        };
        let aliases = versions
            .iter()
            .filter(|v| v.pre.is_empty())
            .max()
            .and_then(|v| source.manifest(&name, v).ok())
            .map(|m| m.pack.aliases.clone())
            .unwrap_or_default();
        packs.push((name, versions, aliases));
    }
    Ok(Catalog {
        alias: alias.to_owned(),
        packs,
    })
}

/// `aibox import [FILE…]`: read `files` (default: those of [`legacy::FILES`] present in the
/// project directory), map them, and write `aibox.toml` (unless `dry_run`).
pub fn import(
    opts: &Options,
    dir: &Path,
    files: &[PathBuf],
    registry: Option<&str>,
    map: Option<&Path>,
    dry_run: bool,
) -> Result<Imported> {
    use crate::ops::migrate::{self, found};
    // The files named split into version files and skill installers' records.
    let (records, versions): (Vec<PathBuf>, Vec<PathBuf>) =
        files.iter().cloned().partition(|f| found::is_record(f));
    let look_for_skills = files.is_empty() || !records.is_empty() || map.is_some();
    let map = map.map(migrate::map::Map::read).transpose()?;
    let found = if look_for_skills {
        Some(found::find(dir, &records, None)?)
    } else {
        None
    };
    let skills_found = found.as_ref().is_some_and(|f| !f.is_empty());
    let files = if !files.is_empty() && versions.is_empty() {
        Vec::new()
    } else {
        match files_to_read(dir, &versions) {
            Ok(f) => f,
            Err(_) if skills_found => Vec::new(),
            Err(e) => return Err(e.with_hint(
                "aibox also migrates skills: `skills-lock.json`, `.clawhub/lock.json`, or skill folders in the agents' skills folders (none was found here)",
            )),
        }
    };
    let wanted = read_wanted(&files)?;
    // The manifest to extend (or to create), and the registries to map against.
    let path = dir.join(MANIFEST);
    let existing = fs::read_regular_string(&path, crate::ops::MAX_MANIFEST_BYTES).ok();
    let mut text = match &existing {
        Some(t) => t.clone(),
        None => {
            if wanted.is_empty() {
                crate::ops::edit::manifest_template(registry)
            } else {
                let url = registry.ok_or_else(|| {
                Error::msg(format!("`{}` does not exist yet", path.display())).with_hint(
                    "pass `--registry <url>` (where the packs are), or run `aibox init --registry <url>` first",
                )
            })?;
                crate::ops::edit::manifest_template(Some(url))
            }
        }
    };
    let manifest = crate::manifest::parse_project(&text, &path)?;
    let catalogs = if wanted.is_empty() {
        Vec::new()
    } else {
        catalogs(opts, dir, &manifest, &wanted)?
    };

    let mut mapped: Vec<Mapped> = Vec::new();
    let mut unmapped = Vec::new();
    for w in wanted {
        let mut m = match map_one(&w, &catalogs)? {
            Ok(m) => m,
            Err(reason) => {
                unmapped.push(Unmapped {
                    tool: w.tool.clone(),
                    at: w.at.clone(),
                    reason,
                });
                continue;
            }
        };
        m.present = manifest.packs.contains_key(&m.pack) || mapped.iter().any(|x| x.pack == m.pack);
        if !m.present {
            text = add_requirement(&text, Section::Packs, &m.pack, &m.request)?;
            if m.registry != "default" {
                text = with_registry(&text, &m.pack, &m.request, &m.registry)?;
            }
        }
        mapped.push(m);
    }
    // The skills, planned against the manifest as extended so far (found with its custom
    // agents' folders).
    let skills = match found {
        Some(_) => {
            let manifest = crate::manifest::parse_project(&text, &path)?;
            let found = found::find(dir, &records, Some(&manifest))?;
            let plan = migrate::plan(opts, dir, &manifest, &found, map.as_ref())?;
            text = migrate::edit(&text, &plan)?;
            Some(plan)
        }
        None => None,
    };
    // What is written must read back as a manifest.
    crate::manifest::parse_project(&text, &path)?;
    if !dry_run {
        if let Some(plan) = &skills {
            migrate::prepare(opts, dir, plan)?;
        }
        if existing.as_deref() != Some(text.as_str()) {
            fs::write_atomic(&path, text.as_bytes())
                .map_err(|e| Error::io(format!("cannot write `{}`", path.display()), e))?;
        }
    }
    Ok(Imported {
        files: files.iter().map(|f| f.display().to_string()).collect(),
        mapped,
        unmapped,
        skills,
        manifest: text,
        path,
        created: existing.is_none(),
    })
}

/// The files named, else the known ones present in `dir`; none is an error.
fn files_to_read(dir: &Path, files: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let files: Vec<PathBuf> = if files.is_empty() {
        legacy::FILES
            .iter()
            .map(|f| dir.join(f))
            .filter(|p| fs::exists(p).unwrap_or(false))
            .collect()
    } else {
        files.to_vec()
    };
    if files.is_empty() {
        return Err(
            Error::msg(format!("no version files to import in `{}`", dir.display())).with_hint(
                format!(
                    "aibox imports {}; name one: `aibox import path/to/.tool-versions`",
                    legacy::FILES.join(", ")
                ),
            ),
        );
    }
    Ok(files)
}

/// Every tool the files ask for, in file order.
fn read_wanted(files: &[PathBuf]) -> Result<Vec<Wanted>> {
    let mut wanted = Vec::new();
    for file in files {
        let kind = legacy::kind_of(file).ok_or_else(|| {
            Error::msg(format!(
                "`{}` is not a file aibox can import",
                file.display()
            ))
            .with_hint(format!("aibox imports {}", legacy::FILES.join(", ")))
        })?;
        let text = fs::read_regular_string(file, crate::ops::MAX_MANIFEST_BYTES)
            .map_err(|e| Error::io(format!("cannot read `{}`", file.display()), e))?;
        wanted.extend(legacy::parse(kind, &text).map_err(Error::msg)?);
    }
    Ok(wanted)
}

/// The catalogs of the manifest's registries, the default one first (a tool found in several
/// is taken from it).
fn catalogs(
    opts: &Options,
    dir: &Path,
    manifest: &crate::manifest::ProjectManifest,
    wanted: &[Wanted],
) -> Result<Vec<Catalog>> {
    let src = crate::engine::context::source_options(opts, false);
    // A registry the project's lock pins is read at that pin (a re-tagged release is refused).
    let pins = crate::engine::project::registry_pins(dir)?;
    let mut aliases: Vec<_> = manifest.registries.iter().collect();
    aliases.sort_by_key(|(a, _)| a.as_str() != "default");
    let mut out = Vec::new();
    for (alias, spec) in aliases {
        let pin = pins.get(&spec.url).map(String::as_str);
        if spec.url.starts_with("aqua:") {
            out.push(aqua_catalog(alias, &spec.url, dir, &src, pin, wanted)?);
            continue;
        }
        let source = crate::engine::sources::open_pinned(&spec.url, dir, &src, pin)?;
        out.push(catalog(alias, source.as_ref())?);
    }
    Ok(out)
}

/// The asdf and mise names that differ from the aqua package's pack name (the rest are found
/// by their own name: the repository's name, or an `aliases` entry of the registry).
pub const AQUA_ALIASES: &[(&str, &str)] = &[
    ("gh", "cli/cli"),
    ("github-cli", "cli/cli"),
    ("rg", "BurntSushi/ripgrep"),
    ("nodejs", "nodejs/node"),
    ("awscli", "aws/aws-cli"),
    ("kubernetes-cli", "kubernetes/kubectl"),
    ("golangci", "golangci/golangci-lint"),
];

/// An aqua registry's catalog, for the tools `wanted` names only (listing the versions of
/// every package would ask GitHub about thousands of repositories).
fn aqua_catalog(
    alias: &str,
    url: &str,
    dir: &Path,
    src: &registry::SourceOptions,
    pin: Option<&str>,
    wanted: &[Wanted],
) -> Result<Catalog> {
    let mut source = registry::backends::aqua::source::AquaSource::open(url, dir, src)?;
    if let Some(d) = pin {
        registry::Source::pin_registry(&mut source, d);
    }
    let mut packs: Vec<(String, Vec<Version>, Vec<String>)> = Vec::new();
    for w in wanted {
        let tool = legacy::tool_name(&w.tool);
        let aqua_name = AQUA_ALIASES
            .iter()
            .find(|(t, _)| *t == tool)
            .map_or(tool.as_str(), |(_, a)| a);
        let Some(pack) = source.pack_name(aqua_name)? else {
            continue;
        };
        if let Some(p) = packs.iter_mut().find(|p| p.0 == pack) {
            p.2.push(tool.clone());
            continue;
        }
        let versions = source.versions(&pack)?;
        packs.push((pack, versions, vec![tool.clone()]));
    }
    Ok(Catalog {
        alias: alias.to_owned(),
        packs,
    })
}

/// Map one tool to a pack and request, or say why it cannot be (`Ok(Err(reason))`).
fn map_one(w: &Wanted, catalogs: &[Catalog]) -> Result<std::result::Result<Mapped, String>> {
    let Some(version) = w.versions.first() else {
        return Ok(Err("no version is given".into()));
    };
    let request = match legacy::translate(version) {
        Ok(r) => r,
        Err(reason) => return Ok(Err(reason)),
    };
    let name = legacy::tool_name(&w.tool);
    let found = catalogs.iter().find_map(|c| {
        c.packs
            .iter()
            .find(|(n, _, _)| *n == name)
            .or_else(|| c.packs.iter().find(|(_, _, a)| a.contains(&name)))
            .map(|p| (c, p))
    });
    let Some((cat, (pack, versions, _))) = found else {
        let names: Vec<String> = catalogs.iter().map(|c| format!("`{}`", c.alias)).collect();
        return Ok(Err(format!(
            "no pack named `{name}` (or with that alias) in {}",
            names.join(", ")
        )));
    };
    let req = crate::manifest::request::Request::parse(&request)
        .map_err(|e| Error::msg(e.to_string()))?;
    if !versions.iter().any(|v| req.matches(v)) {
        let newest = versions
            .iter()
            .max()
            .map_or("none".into(), Version::to_string);
        return Ok(Err(format!(
            "pack `{pack}` has no version matching `{request}` (newest: {newest})"
        )));
    }
    Ok(Ok(Mapped {
        tool: w.tool.clone(),
        version: version.clone(),
        at: w.at.clone(),
        pack: pack.clone(),
        request,
        registry: cat.alias.clone(),
        dropped: w.versions[1..].to_vec(),
        present: false,
    }))
}

/// `name = "request"` in `[packs]` rewritten as `{ version = …, registry = alias }`.
fn with_registry(text: &str, name: &str, request: &str, alias: &str) -> Result<String> {
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| Error::with_source("cannot edit `aibox.toml`", e))?;
    let mut entry = toml_edit::InlineTable::new();
    entry.insert("version", request.into());
    entry.insert("registry", alias.into());
    doc["packs"][name] = toml_edit::value(entry);
    Ok(doc.to_string())
}
