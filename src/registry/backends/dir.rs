//! The `dir:` source: a directory of pack source directories (`<dir>/<any>/pack.toml` or
//! `<dir>/<any>/<any>/pack.toml`, so several versions of one pack can sit side by side), and
//! of bare skill folders (`<dir>/<name>/SKILL.md`, versioned by `metadata.version`, else
//! 0.0.0). Used for development and for the packs shipped in this repository.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use semver::Version;

use crate::fs;
use crate::lockfile::LockedPlatform;
use crate::manifest::pack::PackManifest;
use crate::registry::{LockEntry, RegistryError, Source};
use crate::store::{PackId, Store, ingest};

/// One pack version found in the directory.
#[derive(Debug)]
struct Found {
    dir: PathBuf,
    manifest: Arc<PackManifest>,
}

/// A directory of pack source directories, scanned once when opened.
#[derive(Debug)]
pub struct DirSource {
    url: String,
    root: PathBuf,
    packs: BTreeMap<String, BTreeMap<Version, Found>>,
    /// Pack directories whose `pack.toml` (or `SKILL.md`) could not be read: skipped with a
    /// warning, so one broken pack does not break the others; asking for one of them by its
    /// directory's name gets its error.
    skipped: Vec<(PathBuf, crate::skill::SkillError)>,
}

impl DirSource {
    /// Scan `root` (the URL's path resolved against the project root). A pack directory that
    /// cannot be read is skipped, with a warning through `reporter` naming its file.
    pub fn open(
        url: &str,
        root: &Path,
        reporter: crate::printer::Reporter,
    ) -> Result<DirSource, RegistryError> {
        let io = |e: std::io::Error| RegistryError::Io {
            context: format!(
                "cannot read the pack directory `{}` (from `{url}`)",
                root.display()
            ),
            source: e,
        };
        let mut packs: BTreeMap<String, BTreeMap<Version, Found>> = BTreeMap::new();
        let mut candidates = Vec::new();
        for item in fs::read_dir(root).map_err(io)? {
            let item = item.map_err(io)?;
            if !item.file_type().map_err(io)?.is_dir() {
                continue;
            }
            let dir = item.path();
            if fs::exists(&dir.join("pack.toml")).map_err(io)? || crate::skill::is_skill_dir(&dir) {
                candidates.push(dir);
                continue;
            }
            for sub in fs::read_dir(&dir).map_err(io)? {
                let sub = sub.map_err(io)?;
                if sub.file_type().map_err(io)?.is_dir()
                    && (fs::exists(&sub.path().join("pack.toml")).map_err(io)?
                        || crate::skill::is_skill_dir(&sub.path()))
                {
                    candidates.push(sub.path());
                }
            }
        }
        candidates.sort();
        let unversioned = Version::new(0, 0, 0);
        let mut skipped = Vec::new();
        for dir in candidates {
            let path = dir.join("pack.toml");
            let manifest = match crate::skill::source_manifest(&dir, None, Some(&unversioned)) {
                Ok(m) => m,
                Err(e) => {
                    let mut why = e.to_string();
                    let mut cause = std::error::Error::source(&e);
                    while let Some(c) = cause {
                        why.push_str(&format!(": {c}"));
                        cause = c.source();
                    }
                    reporter.warn(format!(
                        "skipped the pack directory `{}` of `{url}`: {why}",
                        dir.display()
                    ));
                    skipped.push((dir, e));
                    continue;
                }
            };
            let name = manifest.pack.name.clone();
            let version = manifest.pack.version.clone();
            let versions = packs.entry(name.clone()).or_default();
            if let Some(other) = versions.get(&version) {
                return Err(RegistryError::InvalidPack {
                    path: path.display().to_string(),
                    message: format!(
                        "`{name}@{version}` is also defined in `{}`",
                        other.dir.join("pack.toml").display()
                    ),
                });
            }
            versions.insert(
                version,
                Found {
                    dir,
                    manifest: Arc::new(manifest),
                },
            );
        }
        Ok(DirSource {
            url: url.to_owned(),
            root: root.to_owned(),
            packs,
            skipped,
        })
    }

    fn found(&self, name: &str, version: &Version) -> Result<&Found, RegistryError> {
        self.packs
            .get(name)
            .ok_or_else(|| self.not_found(name))?
            .get(version)
            .ok_or_else(|| RegistryError::NoSuchVersion {
                name: name.to_owned(),
                version: version.clone(),
                source_url: self.url.clone(),
            })
    }

    fn not_found(&self, name: &str) -> RegistryError {
        // A skipped directory named like the pack: its error is the real answer.
        if let Some((dir, e)) = self.skipped.iter().find(|(dir, _)| {
            // Named by its directory under the registry (not by the registry's own path).
            dir.strip_prefix(&self.root)
                .is_ok_and(|rel| rel.iter().any(|c| c.to_str() == Some(name)))
        }) {
            return RegistryError::InvalidPack {
                path: dir.display().to_string(),
                message: e.to_string(),
            };
        }
        RegistryError::NotFound {
            name: name.to_owned(),
            source_url: self.url.clone(),
            suggestion: crate::manifest::did_you_mean(name, self.packs.keys().map(String::as_str)),
        }
    }

    /// The directory this source reads.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file pack `name`'s status document is kept in (ARTIFACT.md §12), if `name` is a
    /// valid pack name.
    pub fn status_file(&self, name: &str) -> Option<PathBuf> {
        crate::manifest::validate_pack_name(name).ok()?;
        Some(
            self.root
                .join(crate::registry::lifecycle::STATUS_DIR)
                .join(format!("{name}.json")),
        )
    }

    /// Write `doc` as pack `name`'s status document.
    pub fn write_status(
        &self,
        name: &str,
        doc: &crate::registry::lifecycle::StatusDoc,
    ) -> Result<PathBuf, RegistryError> {
        let path = self.status_file(name).ok_or_else(|| self.not_found(name))?;
        let io = |e: std::io::Error| RegistryError::Io {
            context: format!("cannot write `{}`", path.display()),
            source: e,
        };
        fs::create_dir_all(path.parent().expect("a status file has a parent")).map_err(io)?;
        fs::write_atomic(&path, &doc.render()).map_err(io)?;
        Ok(path)
    }

    /// The source directory of one pack version.
    pub fn pack_dir(&self, name: &str, version: &Version) -> Result<&Path, RegistryError> {
        Ok(&self.found(name, version)?.dir)
    }
}

impl Source for DirSource {
    fn url(&self) -> &str {
        &self.url
    }

    fn published(&self) -> bool {
        false
    }

    fn names(&self) -> Result<Vec<String>, RegistryError> {
        Ok(self.packs.keys().cloned().collect())
    }

    fn versions(&self, name: &str) -> Result<Vec<Version>, RegistryError> {
        Ok(self
            .packs
            .get(name)
            .ok_or_else(|| self.not_found(name))?
            .keys()
            .cloned()
            .collect())
    }

    fn manifest(&self, name: &str, version: &Version) -> Result<Arc<PackManifest>, RegistryError> {
        Ok(self.found(name, version)?.manifest.clone())
    }

    fn status(
        &self,
        name: &str,
    ) -> Result<Option<crate::registry::lifecycle::Published>, RegistryError> {
        use crate::registry::lifecycle::{MAX_STATUS_BYTES, Published, StatusDoc};
        let Some(path) = self.status_file(name) else {
            return Ok(None);
        };
        let bad = |message: String| RegistryError::BadContent {
            what: format!("the status document of `{name}` in `{}`", self.url),
            message,
        };
        let bytes = match fs::read_regular(&path, MAX_STATUS_BYTES) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                return Err(bad(format!(
                    "is larger than {} KiB",
                    MAX_STATUS_BYTES >> 10
                )));
            }
            Err(e) => {
                return Err(RegistryError::Io {
                    context: format!("cannot read `{}`", path.display()),
                    source: e,
                });
            }
        };
        let doc = StatusDoc::parse(&bytes).map_err(|e| bad(format!("is refused: {}", e.0)))?;
        Ok(Some(Published { doc, digest: None }))
    }

    fn changelog(&self, name: &str, version: &Version) -> Option<String> {
        let found = self.found(name, version).ok()?;
        use crate::manifest::pack::{CHANGELOG_FILE, MAX_CHANGELOG_BYTES};
        fs::read_regular_string(&found.dir.join(CHANGELOG_FILE), MAX_CHANGELOG_BYTES).ok()
    }

    fn lock_entry(
        &self,
        name: &str,
        version: &Version,
        platforms: Option<&[String]>,
    ) -> Result<LockEntry, RegistryError> {
        let found = self.found(name, version)?;
        let tree = ingest::tree_of_dir(&found.dir, None)
            .map_err(|e| RegistryError::building(e, name, version, &self.url))?;
        crate::registry::backends::content::check_tree(
            &tree,
            &found.manifest,
            &found.dir.display().to_string(),
        )?;
        let tree = tree.hash();
        let published = match &found.manifest.pack.platforms {
            None => vec![crate::lockfile::ANY_PLATFORM.to_owned()],
            Some(list) => list.clone(),
        };
        let out = published
            .into_iter()
            .filter(|p| crate::registry::wanted_platform(p, platforms))
            .map(|p| {
                (
                    p,
                    LockedPlatform {
                        manifest: None,
                        tree,
                    },
                )
            })
            .collect();
        Ok(LockEntry {
            digest: None,
            platforms: out,
            ..Default::default()
        })
    }

    fn fetch(
        &self,
        name: &str,
        version: &Version,
        locked: &LockedPlatform,
        store: &Store,
    ) -> Result<PackId, RegistryError> {
        let found = self.found(name, version)?;
        let tree = store
            .ingest_dir(&found.dir)
            .map_err(|e| RegistryError::building(e, name, version, &self.url))?;
        crate::registry::backends::content::check_tree(
            &tree,
            &found.manifest,
            &found.dir.display().to_string(),
        )?;
        store
            .build_pack(name, &version.to_string(), &tree, Some(&locked.tree))
            .map_err(|e| RegistryError::building(e, name, version, &self.url))
    }
}
