//! The sources of one run, opened once each by URL: the manifest's registries (with what it
//! marks `insecure`) and the mirrors tried first for locked content.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::lockfile::LockedPackage;
use crate::registry::{self, RegistryError, Source, SourceOptions};

use crate::store::{PackId, Store};

/// Opened sources by URL, so each is opened (scanned, authenticated) once per run.
pub struct Sources<'a> {
    root: &'a Path,
    opts: SourceOptions,
    /// URLs of registries the manifest marks `insecure`.
    insecure: BTreeSet<String>,
    /// Sources tried first for locked content (`sync --mirror`, `AIBOX_MIRROR`, config).
    mirrors: Vec<String>,
    /// The registry digests the lock records, by source URL (`aqua:github:` registries).
    pins: BTreeMap<String, String>,
    open: Mutex<BTreeMap<String, std::sync::Arc<dyn Source>>>,
    /// Consent to what needs it (a suspicious skill: `engine::moderation`).
    consent: crate::engine::context::Consent,
}

/// The mirrors in force: `--mirror` flags, then `AIBOX_MIRROR` (space-separated), then the
/// user configuration's `mirrors`; each checked, duplicates dropped.
pub fn mirrors(opts: &crate::engine::context::Options) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let env = crate::env_vars::var(crate::env_vars::MIRROR).unwrap_or_default();
    let configured = if opts.mirrors.is_empty() && env.trim().is_empty() {
        crate::config::load()?.mirrors
    } else {
        Vec::new()
    };
    for (m, from) in opts
        .mirrors
        .iter()
        .map(|m| (m.as_str(), "--mirror"))
        .chain(env.split_whitespace().map(|m| (m, crate::env_vars::MIRROR)))
        .chain(configured.iter().map(|m| (m.as_str(), "the configuration")))
    {
        crate::config::check_mirror(m).map_err(|e| Error::msg(format!("{e} (from {from})")))?;
        if !out.iter().any(|o| o == m) {
            out.push(m.to_owned());
        }
    }
    Ok(out)
}

/// The registry digests `lock` records, by source URL (`aqua:github:` registries).
pub fn lock_pins(lock: Option<&crate::lockfile::Lockfile>) -> BTreeMap<String, String> {
    let mut pins = BTreeMap::new();
    for p in lock.map(|l| l.packages.as_slice()).unwrap_or_default() {
        if let Some(d) = p.aqua.as_ref().and_then(|a| a.registry.as_ref()) {
            pins.insert(p.source.clone(), d.clone());
        }
    }
    pins
}

/// Open the source `url` names (relative paths from `root`), its registry pinned to `pin`
/// (the digest a lock records for it): a release re-tagged since is refused by every command
/// that reads it, as `sync` and `lock` refuse it.
pub fn open_pinned(
    url: &str,
    root: &Path,
    opts: &SourceOptions,
    pin: Option<&str>,
) -> Result<Box<dyn Source>, RegistryError> {
    let mut source = registry::open_source(url, root, opts)?;
    if let Some(d) = pin {
        source.pin_registry(d);
    }
    Ok(source)
}

impl<'a> Sources<'a> {
    pub fn new(root: &'a Path, opts: SourceOptions, insecure: BTreeSet<String>) -> Self {
        Sources {
            root,
            opts,
            insecure,
            mirrors: Vec::new(),
            pins: BTreeMap::new(),
            open: Mutex::new(BTreeMap::new()),
            consent: crate::engine::context::Consent::default(),
        }
    }

    /// These sources, under `consent`.
    pub fn with_consent(mut self, consent: crate::engine::context::Consent) -> Self {
        self.consent = consent;
        self
    }

    /// The consent these sources run under.
    pub fn consent(&self) -> crate::engine::context::Consent {
        self.consent
    }

    /// These sources, each registry pinned to the digest `lock` records for it (an
    /// `aqua:github:` release whose archive changed is then refused).
    pub fn pinned_by(mut self, lock: Option<&crate::lockfile::Lockfile>) -> Self {
        self.pins = lock_pins(lock);
        self
    }

    /// Where these sources report.
    /// The aibox home these sources cache into and lock against.
    pub fn home(&self) -> crate::store::Home {
        self.opts.home
    }

    pub fn reporter(&self) -> crate::printer::Reporter {
        self.opts.reporter
    }

    /// These sources, trying `mirrors` first for locked content and signatures.
    pub fn with_mirrors(mut self, mirrors: Vec<String>) -> Self {
        self.mirrors = mirrors;
        self
    }

    /// Fetch one locked artifact: from the first mirror that has it, else from its origin.
    /// A mirror's content is checked exactly as the origin's (digests, tree hash).
    pub fn fetch(
        &self,
        store: &Store,
        pkg: &LockedPackage,
        locked: &crate::lockfile::LockedPlatform,
    ) -> Result<PackId> {
        for m in &self.mirrors {
            match self
                .get(m)
                .and_then(|s| s.fetch(&pkg.name, &pkg.version, locked, store))
            {
                Ok(id) => {
                    self.opts.reporter.verbose(format!(
                        "{}@{} from the mirror `{m}`",
                        pkg.name, pkg.version
                    ));
                    return Ok(id);
                }
                Err(RegistryError::NotFound { .. } | RegistryError::NoSuchVersion { .. }) => {
                    self.opts.reporter.verbose(format!(
                        "the mirror `{m}` has no {}@{}",
                        pkg.name, pkg.version
                    ));
                }
                Err(e) => self.opts.reporter.warn(format!(
                    "the mirror `{m}` cannot serve {}@{} ({e}); trying the next source",
                    pkg.name, pkg.version
                )),
            }
        }
        Ok(self
            .get(&pkg.source)?
            .fetch(&pkg.name, &pkg.version, locked, store)?)
    }

    /// The signatures of `digest` of `name` (from `origin`): the mirrors' and the origin's,
    /// merged. An origin that cannot be asked (offline, gone) is not an error when a mirror
    /// answered.
    pub fn signatures(
        &self,
        origin: &str,
        name: &str,
        digest: &str,
    ) -> Result<Vec<crate::signature::Entry>, RegistryError> {
        let mut all: Vec<crate::signature::Entry> = Vec::new();
        let mut mirrored = false;
        for m in &self.mirrors {
            if let Ok(entries) = self.get(m).and_then(|s| s.signatures(name, digest)) {
                mirrored = true;
                for e in entries {
                    if !all.contains(&e) {
                        all.push(e);
                    }
                }
            }
        }
        match self.get(origin).and_then(|s| s.signatures(name, digest)) {
            Ok(entries) => {
                for e in entries {
                    if !all.contains(&e) {
                        all.push(e);
                    }
                }
                Ok(all)
            }
            Err(_) if mirrored => Ok(all),
            Err(e) => Err(e),
        }
    }

    /// The source for `url`, opened on first use.
    pub fn get(&self, url: &str) -> Result<std::sync::Arc<dyn Source>, RegistryError> {
        if let Some(s) = self.open.lock().expect("sources lock").get(url) {
            return Ok(s.clone());
        }
        let opts = SourceOptions {
            insecure: self.insecure.contains(url),
            ..self.opts
        };
        let source: std::sync::Arc<dyn Source> = open_pinned(
            url,
            self.root,
            &opts,
            self.pins.get(url).map(String::as_str),
        )?
        .into();
        self.open
            .lock()
            .expect("sources lock")
            .insert(url.to_owned(), source.clone());
        Ok(source)
    }
}
