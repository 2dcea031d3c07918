//! The `clawhub:<base-url>` source: agent skills from ClawHub (`clawhub:https://clawhub.ai`)
//! or any registry speaking its HTTP API ([`api`]), as the public `clawhub` CLI does. A slug is
//! a skill pack's name; its versions are the registry's (semver only); a version is the zip
//! `GET /api/v1/download?slug=&version=` serves, downloaded with its SHA-256 computed (the lock
//! pins it as the `any` platform's `manifest`), checked and unpacked with every rule a layer
//! gets plus the zip-only ones (`transfer::zipfile`), and stored as a skill. The registry's
//! moderation verdict is reported ([`Source::moderation`]); what it means for an install is
//! the operations' decision.

pub mod api;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use semver::Version;

use crate::fs;
use crate::lockfile::{ANY_PLATFORM, LockedPlatform};
use crate::manifest::pack::{PackKind, PackManifest};
use crate::registry::backends::skill_archive;
use crate::registry::error::RegistryError;
use crate::registry::moderation::{Moderation, Summary};
use crate::registry::source::{LockEntry, Source, SourceOptions};
use crate::registry::transfer::web::WebClient;
use crate::store::{PackId, Store};

/// The URL scheme of ClawHub sources.
pub const SCHEME: &str = "clawhub:";
/// The largest JSON answer read.
const MAX_JSON: usize = 8 << 20;
/// How many pages of versions or skills are read at most.
const MAX_PAGES: usize = 50;
/// The page size asked for.
const PAGE: u32 = 200;

/// One downloaded, stored version.
#[derive(Debug, Clone)]
struct Built {
    sha256: String,
    id: PackId,
    manifest: Arc<PackManifest>,
}

/// A ClawHub registry.
pub struct ClawHubSource {
    url: String,
    /// The API base, ending in `/`.
    base: url::Url,
    web: WebClient,
    details: Mutex<HashMap<String, Arc<api::SkillResponse>>>,
    versions: Mutex<HashMap<String, Vec<Version>>>,
    built: Mutex<HashMap<String, Built>>,
}

/// Whether `url` names a ClawHub source.
pub fn is_clawhub(url: &str) -> bool {
    url.starts_with(SCHEME)
}

impl ClawHubSource {
    /// Open `clawhub:<base-url>` (`https://`, or plain `http://` to loopback or when marked
    /// insecure). Nothing is asked until a skill is.
    pub fn open(url: &str, opts: &SourceOptions) -> Result<ClawHubSource, RegistryError> {
        let base = url.strip_prefix(SCHEME).unwrap_or_default();
        if base.is_empty() {
            return Err(RegistryError::bad_url(
                url,
                "expected `clawhub:<base-url>`, like `clawhub:https://clawhub.ai`",
            ));
        }
        let mut parsed = crate::registry::transfer::web::check_scheme(base, opts.insecure)?;
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(RegistryError::bad_url(
                url,
                "the base URL of a ClawHub registry has no query or fragment",
            ));
        }
        if !parsed.path().ends_with('/') {
            let path = format!("{}/", parsed.path());
            parsed.set_path(&path);
        }
        let web = WebClient::new(base, opts, None, "clawhub")?;
        Ok(ClawHubSource {
            url: url.to_owned(),
            base: parsed,
            web,
            details: Mutex::default(),
            versions: Mutex::default(),
            built: Mutex::default(),
        })
    }

    /// The URL of an API route (`api/v1/…`, relative to the base) with query pairs.
    fn route(&self, path: &str, query: &[(&str, &str)]) -> String {
        let mut u = self.base.join(path).unwrap_or_else(|_| self.base.clone());
        if !query.is_empty() {
            u.query_pairs_mut().extend_pairs(query);
        }
        u.to_string()
    }

    fn check_slug(&self, name: &str) -> Result<(), RegistryError> {
        crate::manifest::validate_pack_name(name).map_err(|reason| RegistryError::BadContent {
            what: format!("`{}`", crate::printer::visible(name)),
            message: format!(
                "is not a skill name aibox asks `{}` for: {reason}",
                self.url
            ),
        })
    }

    fn not_found(&self, name: &str) -> RegistryError {
        RegistryError::NotFound {
            name: name.to_owned(),
            source_url: self.url.clone(),
            suggestion: None,
        }
    }

    fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, RegistryError> {
        serde_json::from_slice(bytes).map_err(|e| RegistryError::Remote {
            what: what.to_owned(),
            message: format!("the answer is not what the ClawHub API answers: {e}"),
        })
    }

    /// `GET /api/v1/skills/<slug>` (once per run).
    fn detail(&self, name: &str) -> Result<Arc<api::SkillResponse>, RegistryError> {
        if let Some(d) = self.details.lock().expect("details lock").get(name) {
            return Ok(d.clone());
        }
        self.check_slug(name)?;
        let what = format!("reading skill `{name}` from `{}`", self.url);
        let url = self.route(&format!("api/v1/skills/{name}"), &[]);
        let bytes = self
            .web
            .json(&url, MAX_JSON, &what)?
            .ok_or_else(|| self.not_found(name))?;
        let detail: api::SkillResponse = Self::parse(&bytes, &what)?;
        if detail.skill.as_ref().is_some_and(|s| s.slug != name) {
            return Err(RegistryError::Remote {
                what,
                message: "the registry answered for another skill".into(),
            });
        }
        let detail = Arc::new(detail);
        self.details
            .lock()
            .expect("details lock")
            .insert(name.to_owned(), detail.clone());
        Ok(detail)
    }

    /// Every version of `name` the registry lists (pages followed), semver ones only, sorted.
    fn list_versions(&self, name: &str) -> Result<Vec<Version>, RegistryError> {
        if let Some(v) = self.versions.lock().expect("versions lock").get(name) {
            return Ok(v.clone());
        }
        self.check_slug(name)?;
        let what = format!("listing the versions of `{name}` in `{}`", self.url);
        let limit = PAGE.to_string();
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![("limit", limit.as_str())];
            if let Some(c) = &cursor {
                query.push(("cursor", c.as_str()));
            }
            let url = self.route(&format!("api/v1/skills/{name}/versions"), &query);
            let bytes = self
                .web
                .json(&url, MAX_JSON, &what)?
                .ok_or_else(|| self.not_found(name))?;
            let page: api::VersionList = Self::parse(&bytes, &what)?;
            for item in page.items {
                match Version::parse(item.version.trim_start_matches('v')) {
                    Ok(v) => out.push(v),
                    Err(_) => self.web.options().reporter.verbose(format!(
                        "`{name}` in `{}`: skipping version `{}` (not semver)",
                        self.url,
                        crate::printer::visible(&item.version)
                    )),
                }
            }
            match page.next_cursor.filter(|c| !c.is_empty()) {
                Some(c) if Some(&c) != cursor.as_ref() => cursor = Some(c),
                _ => break,
            }
        }
        out.sort();
        out.dedup();
        self.versions
            .lock()
            .expect("versions lock")
            .insert(name.to_owned(), out.clone());
        Ok(out)
    }

    /// Download `name@version`, check its SHA-256 against `expected` (when given) before
    /// anything of it is unpacked, and store it (once per run).
    fn build(
        &self,
        name: &str,
        version: &Version,
        expected: Option<&str>,
    ) -> Result<Built, RegistryError> {
        let key = format!("{name}@{version}");
        if let Some(b) = self.built.lock().expect("built lock").get(&key) {
            crate::registry::format::digest::check_pinned(expected, &b.sha256, || {
                format!("the zip of `{name}@{version}` from `{}`", self.url)
            })?;
            return Ok(b.clone());
        }
        let detail = self.detail(name)?;
        let v = version.to_string();
        let mut query = vec![("slug", name), ("version", v.as_str())];
        if let Some(owner) = detail.owner_handle() {
            query.insert(1, ("ownerHandle", owner));
        }
        let url = self.route("api/v1/download", &query);
        let store = self.web.options().store()?;
        let staging = store.staging()?;
        let mut tmp = fs::temp_file_in(&staging).map_err(|e| RegistryError::Io {
            context: format!("cannot create a file in `{}`", staging.display()),
            source: e,
        })?;
        let what = format!("downloading `{name}@{version}` from `{}`", self.url);
        let sha256 = self.web.download(
            &url,
            "application/zip",
            tmp.as_file_mut(),
            skill_archive::MAX_DOWNLOAD,
            &what,
        )?;
        crate::registry::format::digest::check_pinned(expected, &sha256, || {
            format!("the zip of `{name}@{version}` from `{}`", self.url)
        })?;
        let shown = format!("`{name}@{version}` from `{}`", self.url);
        if &skill_archive::magic(tmp.as_file_mut())? != b"PK\x03\x04" {
            return Err(RegistryError::BadContent {
                what: shown,
                message: "is not a zip archive".into(),
            });
        }
        let tree = skill_archive::unpack_zip(&store, tmp.as_file_mut()).map_err(|e| {
            RegistryError::BadContent {
                what: shown.clone(),
                message: format!("was refused: {e}"),
            }
        })?;
        let (id, manifest) =
            skill_archive::store_skill(&store, &tree, name, version, &self.url, &shown)?;
        let built = Built {
            sha256,
            id,
            manifest: Arc::new(manifest),
        };
        self.built
            .lock()
            .expect("built lock")
            .insert(key, built.clone());
        Ok(built)
    }
}

impl Source for ClawHubSource {
    fn url(&self) -> &str {
        &self.url
    }

    fn names(&self) -> Result<Vec<String>, RegistryError> {
        let what = format!("listing the skills of `{}`", self.url);
        let limit = PAGE.to_string();
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![("limit", limit.as_str())];
            if let Some(c) = &cursor {
                query.push(("cursor", c.as_str()));
            }
            let url = self.route("api/v1/skills", &query);
            let Some(bytes) = self.web.json(&url, MAX_JSON, &what)? else {
                break;
            };
            let page: api::SkillList = Self::parse(&bytes, &what)?;
            out.extend(
                page.items
                    .into_iter()
                    .map(|s| s.slug)
                    .filter(|s| crate::manifest::validate_pack_name(s).is_ok()),
            );
            match page.next_cursor.filter(|c| !c.is_empty()) {
                Some(c) if Some(&c) != cursor.as_ref() => cursor = Some(c),
                _ => break,
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn versions(&self, name: &str) -> Result<Vec<Version>, RegistryError> {
        self.list_versions(name)
    }

    fn manifest(&self, name: &str, version: &Version) -> Result<Arc<PackManifest>, RegistryError> {
        if !self.list_versions(name)?.contains(version) {
            return Err(RegistryError::NoSuchVersion {
                name: name.to_owned(),
                version: version.clone(),
                source_url: self.url.clone(),
            });
        }
        Ok(self.build(name, version, None)?.manifest)
    }

    fn lock_entry(
        &self,
        name: &str,
        version: &Version,
        _platforms: Option<&[String]>,
    ) -> Result<LockEntry, RegistryError> {
        let b = self.build(name, version, None)?;
        Ok(LockEntry {
            digest: None,
            platforms: BTreeMap::from([(
                ANY_PLATFORM.to_owned(),
                LockedPlatform {
                    manifest: Some(b.sha256),
                    tree: b.id.tree,
                },
            )]),
            aqua: None,
            signer: None,
        })
    }

    fn moderation(&self, name: &str) -> Result<Option<Moderation>, RegistryError> {
        Ok(Some(self.detail(name)?.moderation()))
    }

    fn search(&self, query: &str) -> Option<Result<Vec<Summary>, RegistryError>> {
        // Everything (a catalog, an empty search): the listing of skills, not the search route.
        if query.trim().is_empty() {
            return None;
        }
        let what = format!("searching `{}`", self.url);
        let url = self.route("api/v1/search", &[("q", query), ("limit", "25")]);
        let found = (|| {
            let Some(bytes) = self.web.json(&url, MAX_JSON, &what)? else {
                return Ok(Vec::new());
            };
            let answer: api::SearchResponse = Self::parse(&bytes, &what)?;
            Ok(answer
                .results
                .into_iter()
                .filter_map(|r| {
                    let name = r.slug?;
                    crate::manifest::validate_pack_name(&name).ok()?;
                    let version = Version::parse(r.version?.trim_start_matches('v')).ok()?;
                    Some(Summary {
                        name,
                        version,
                        description: r.summary.or(r.display_name),
                        kind: PackKind::Skill,
                    })
                })
                .collect())
        })();
        Some(found)
    }

    fn fetch(
        &self,
        name: &str,
        version: &Version,
        locked: &LockedPlatform,
        _store: &Store,
    ) -> Result<PackId, RegistryError> {
        let b = self.build(name, version, locked.manifest.as_deref())?;
        RegistryError::same_tree(name, version, &self.url, locked.tree, b.id.tree)?;
        Ok(b.id)
    }
}
