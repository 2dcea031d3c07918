//! The `aqua:` source: the packages of an aqua registry as packs. Versions are the GitHub
//! releases of each package's repository (through the release listing and its cache),
//! filtered by the entry's `version_prefix` and `version_filter`; a version's pack is the
//! platform's asset, checked as the entry declares ([`crate::registry::backends::aqua::verify`])
//! before it is stored, unpacked by its `format`, with a `pack.toml` putting the entry's
//! `files` on PATH. The lock pins each platform's asset by SHA-256 and tree hash, with the
//! entry, the tag and which checks passed.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek};
use std::sync::{Arc, Mutex, OnceLock};

use semver::Version;

use crate::aqua::Index;
use crate::aqua::model::Package;
use crate::aqua::resolve::{Format, Location, Plan};
use crate::fs;
use crate::lockfile::{AquaPin, LockedPlatform};
use crate::manifest::pack::{PackKind, PackManifest};
use crate::registry::backends::aqua::checkout::{self, Where};
use crate::registry::backends::aqua::verify;
use crate::registry::backends::release::ArchiveSource;
use crate::registry::{LockEntry, RegistryError, Source, SourceOptions};
use crate::store::budget::Limits;
use crate::store::tree::{Entry, Tree};
use crate::store::{PackId, Store};

/// One release of a package: its tag and files.
#[derive(Debug, Clone)]
struct Release {
    tag: String,
    assets: BTreeMap<String, String>,
}

/// A version stored once per run.
#[derive(Debug, Clone)]
struct Built {
    sha256: String,
    id: PackId,
    checks: verify::Outcome,
}

/// A registry as read: its index, and the SHA-256 of the archive it came from (a GitHub
/// release; `None` for a directory).
type Loaded = (Arc<Index>, Option<String>);

/// An aqua registry as a source.
pub struct AquaSource {
    url: String,
    place: Where,
    opts: SourceOptions,
    /// The registry archive's SHA-256 the lock records (`aqua:github:` registries).
    pinned: Option<String>,
    /// The registry and the SHA-256 of the archive it was read from (a GitHub release), read
    /// once; a failure is kept and given again.
    index: OnceLock<Result<Loaded, std::sync::Arc<RegistryError>>>,
    repos: Mutex<HashMap<String, Arc<ArchiveSource>>>,
    releases: Mutex<HashMap<String, Arc<BTreeMap<Version, Release>>>>,
    built: Mutex<HashMap<String, Built>>,
}

impl AquaSource {
    pub fn open(
        url: &str,
        project_root: &std::path::Path,
        opts: &SourceOptions,
    ) -> Result<AquaSource, RegistryError> {
        let place = checkout::parse_url(url, project_root)?;
        Ok(AquaSource {
            url: url.to_owned(),
            place,
            opts: *opts,
            pinned: None,
            index: OnceLock::new(),
            repos: Mutex::default(),
            releases: Mutex::default(),
            built: Mutex::default(),
        })
    }

    /// The registry and its archive's digest, read once.
    fn loaded(&self) -> Result<&Loaded, RegistryError> {
        self.index
            .get_or_init(|| match &self.place {
                Where::Path(p) => checkout::load_path(p)
                    .map(|i| (Arc::new(i), None))
                    .map_err(Arc::new),
                Where::GitHub { repo, tag } => {
                    checkout::load_github(repo, tag, self.pinned.as_deref(), &self.opts)
                        .map(|(i, d)| (Arc::new(i), Some(d)))
                        .map_err(Arc::new)
                }
            })
            .as_ref()
            .map_err(|e| RegistryError::Again(e.clone()))
    }

    /// The registry, read once.
    pub fn index(&self) -> Result<Arc<Index>, RegistryError> {
        Ok(self.loaded()?.0.clone())
    }

    /// The SHA-256 of the registry's archive (a GitHub release), once read.
    fn registry_digest(&self) -> Result<Option<String>, RegistryError> {
        Ok(self.loaded()?.1.clone())
    }

    /// The entry pack `name` is (by pack name, aqua name or alias).
    fn entry(&self, name: &str) -> Result<(String, Package), RegistryError> {
        let index = self.index()?;
        let Some((_, e)) = index.find(name) else {
            return Err(RegistryError::NotFound {
                name: name.to_owned(),
                source_url: self.url.clone(),
                suggestion: crate::manifest::did_you_mean(name, index.names()),
            });
        };
        let pkg = e.package.clone().map_err(|why| RegistryError::BadContent {
            what: format!("the aqua entry `{}` in `{}`", e.aqua, self.url),
            message: format!("does not read: {why}"),
        })?;
        Ok((e.aqua.clone(), pkg))
    }

    /// The pack name `name` (a pack name, an aqua name, an alias) stands for.
    pub fn pack_name(&self, name: &str) -> Result<Option<String>, RegistryError> {
        Ok(self.index()?.pack_name(name).map(str::to_owned))
    }

    fn repo_source(&self, owner: &str, repo: &str) -> Result<Arc<ArchiveSource>, RegistryError> {
        let key = format!("{owner}/{repo}");
        let mut repos = self.repos.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = repos.get(&key) {
            return Ok(s.clone());
        }
        let s = Arc::new(ArchiveSource::open(&format!("github:{key}"), &self.opts)?);
        repos.insert(key, s.clone());
        Ok(s)
    }

    /// The versions of pack `name`: its repository's releases whose tags the entry admits.
    fn releases(&self, name: &str) -> Result<Arc<BTreeMap<Version, Release>>, RegistryError> {
        if let Some(r) = self
            .releases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return Ok(r.clone());
        }
        let (aqua, pkg) = self.entry(name)?;
        // A package that builds from source (go_install, cargo) in every version is refused
        // before GitHub is asked for its versions.
        let types = std::iter::once(pkg.kind.as_str()).chain(
            pkg.version_overrides
                .iter()
                .filter_map(|o| o.kind.as_deref()),
        );
        if !types
            .into_iter()
            .any(|t| crate::aqua::coverage::DOWNLOAD_TYPES.contains(&t))
        {
            return Err(crate::aqua::AquaError::Unsupported {
                package: aqua,
                feature: format!(
                    "the package type `{}` (it builds from source; aibox installs the types that download a file: {})",
                    pkg.kind,
                    crate::aqua::coverage::DOWNLOAD_TYPES.join(", ")
                ),
            }
            .into());
        }
        let (Some(owner), Some(repo)) = (pkg.repo_owner.as_deref(), pkg.repo_name.as_deref())
        else {
            return Err(RegistryError::Unsupported {
                what: format!("the aqua package `{aqua}`"),
                why: "it names no GitHub repository, so aibox cannot list its versions".into(),
            });
        };
        let prefix = pkg.spec.version_prefix.as_deref();
        let filter = pkg.spec.version_filter.as_deref();
        let mut out = BTreeMap::new();
        for (tag, assets) in self.repo_source(owner, repo)?.tags()? {
            if prefix.is_some_and(|p| !p.is_empty() && !tag.starts_with(p)) {
                continue;
            }
            let semver = crate::aqua::resolve::semver_of(&tag, prefix);
            if let Some(f) = filter {
                let env = crate::aqua::expr::Env {
                    version: &tag,
                    semver,
                };
                match crate::aqua::expr::eval(f, env) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        return Err(crate::aqua::AquaError::Unsupported {
                            package: aqua,
                            feature: format!("the version filter {e}"),
                        }
                        .into());
                    }
                }
            }
            let Some(version) = to_semver(semver) else {
                continue;
            };
            // Versions the entry says cannot be installed are not offered.
            match crate::aqua::resolve::for_version(&pkg, &tag) {
                Ok(eff) if eff.spec.no_asset != Some(true) && eff.spec.error_message.is_none() => {}
                Ok(_) => continue,
                Err(e) => return Err(e.into()),
            }
            out.entry(version).or_insert(Release { tag, assets });
        }
        let out = Arc::new(out);
        self.releases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_owned(), out.clone());
        Ok(out)
    }

    fn release(&self, name: &str, version: &Version) -> Result<Release, RegistryError> {
        self.releases(name)?
            .get(version)
            .cloned()
            .ok_or_else(|| RegistryError::NoSuchVersion {
                name: name.to_owned(),
                version: version.clone(),
                source_url: self.url.clone(),
            })
    }

    /// The URL of a plan's file.
    fn url_of(&self, loc: &Location, release: &Release) -> Result<String, RegistryError> {
        let api = checkout::github_api();
        Ok(match loc {
            Location::Url(u) => u.clone(),
            Location::Release { owner, repo, asset } => {
                let assets = if self.same_repo(owner, repo, release) {
                    release.assets.clone()
                } else {
                    self.repo_source(owner, repo)?
                        .tags()?
                        .into_iter()
                        .find(|(t, _)| *t == release.tag)
                        .map(|(_, a)| a)
                        .unwrap_or_default()
                };
                assets
                    .get(asset)
                    .cloned()
                    .ok_or_else(|| RegistryError::NoAsset {
                        what: format!("the release `{}` of `{owner}/{repo}`", release.tag),
                        wanted: format!("file `{asset}`"),
                        assets: assets.keys().cloned().collect(),
                    })?
            }
            Location::Archive { owner, repo } => {
                format!("{api}/repos/{owner}/{repo}/tarball/{}", release.tag)
            }
            Location::Content { owner, repo, path } => format!(
                "{api}/repos/{owner}/{repo}/contents/{path}?ref={}",
                release.tag
            ),
        })
    }

    fn same_repo(&self, owner: &str, repo: &str, release: &Release) -> bool {
        // The release was listed from the package's own repository.
        let _ = release;
        self.repos
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&format!("{owner}/{repo}"))
    }

    /// Download a small file (checksums, keys, signatures).
    fn fetch_small(&self, url: &str, what: &str) -> Result<Vec<u8>, RegistryError> {
        if self.opts.offline {
            return Err(RegistryError::Offline {
                what: crate::registry::transfer::url::redact(url),
            });
        }
        crate::registry::backends::release::check_http(url, &self.opts)?;
        let store = self.opts.store()?;
        let mut tmp = crate::registry::backends::content::staging_file(&store)?;
        self.downloader()?.download(url, tmp.as_file_mut(), what)?;
        verify::read_small(tmp.path()).map_err(|e| RegistryError::Io {
            context: format!("{what}: the file is larger than expected"),
            source: e,
        })
    }

    /// A client for downloads (any repository's will do: the rules are the same).
    fn downloader(&self) -> Result<Arc<ArchiveSource>, RegistryError> {
        if let Some(s) = self
            .repos
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .next()
        {
            return Ok(s.clone());
        }
        self.repo_source("aibox", "download")
    }

    /// Download, check and store `name@version` for `platform` (once per run).
    /// With `expected` (the lock's SHA-256 of the asset), a download that differs is refused
    /// before any check runs or anything is stored.
    fn build(
        &self,
        name: &str,
        version: &Version,
        platform: &str,
        expected: Option<&str>,
    ) -> Result<Built, RegistryError> {
        let key = format!("{name}@{version}@{platform}");
        if let Some(b) = self
            .built
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            crate::registry::format::digest::check_pinned(expected, &b.sha256, || {
                format!("the asset of `{name}@{version}` for `{platform}`, as `aibox.lock` pins it")
            })?;
            return Ok(b.clone());
        }
        let (aqua, pkg) = self.entry(name)?;
        let release = self.release(name, version)?;
        let plan = crate::aqua::plan(&pkg, &release.tag, platform)?;
        let url = self.url_of(&plan.location, &release)?;
        let shown = crate::registry::transfer::url::redact(&url);
        if self.opts.offline {
            return Err(RegistryError::Offline {
                what: format!("the asset `{shown}`"),
            });
        }
        crate::registry::backends::release::check_http(&url, &self.opts)?;
        let store = self.opts.store()?;
        let mut tmp = crate::registry::backends::content::staging_file(&store)?;
        let what = format!("`{}` ({aqua} {} for {platform})", plan.asset, release.tag);
        let sha256 = self.downloader()?.download(
            &url,
            tmp.as_file_mut(),
            &format!("downloading `{shown}`"),
        )?;
        let sha256 = if let Location::Content { .. } = plan.location {
            decode_content(tmp.as_file_mut())?;
            sha256_of(tmp.path())?
        } else {
            sha256
        };
        crate::registry::format::digest::check_pinned(expected, &sha256, || {
            format!("{what}, as `aibox.lock` pins it")
        })?;
        // Every declared check passes before anything of the asset is stored.
        let repo = pkg.repo_owner.as_deref().zip(pkg.repo_name.as_deref());
        let checks = verify::check(
            &plan,
            tmp.path(),
            &what,
            repo,
            &|loc| self.url_of(loc, &release),
            &|u, w| self.fetch_small(u, w),
        )?;
        for note in &checks.notes {
            self.opts.reporter.warn(note);
        }
        let file = tmp.as_file_mut();
        file.rewind().map_err(|e| RegistryError::Io {
            context: "cannot read the download".into(),
            source: e,
        })?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let tree = unpack(&store, &plan, file, size).map_err(|e| RegistryError::BadContent {
            what: what.clone(),
            message: format!("is not a usable {:?} asset: {e}", plan.format),
        })?;
        let (tree, manifest) = with_manifest(&store, tree, name, version, &aqua, &pkg, &plan)?;
        crate::registry::backends::content::check_tree(&tree, &manifest, &what)?;
        let id = store.build_pack(name, &version.to_string(), &tree, None)?;
        let built = Built { sha256, id, checks };
        self.built
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, built.clone());
        Ok(built)
    }

    /// The platforms `name@version` is locked for, each planned (an unsupported platform is
    /// left out with a warning; none at all is an error).
    fn platforms(
        &self,
        name: &str,
        version: &Version,
        wanted: Option<&[String]>,
    ) -> Result<Vec<String>, RegistryError> {
        let (aqua, pkg) = self.entry(name)?;
        let release = self.release(name, version)?;
        let mut out = Vec::new();
        let mut first_error = None;
        let mut missing = None;
        for p in crate::aqua::resolve::PLATFORMS {
            if !crate::registry::wanted_platform(p, wanted) {
                continue;
            }
            match crate::aqua::plan(&pkg, &release.tag, p) {
                // An asset the entry names but the release lacks: that platform is left out,
                // as a pack lacking a platform is.
                Ok(plan) => match self.url_of(&plan.location, &release) {
                    Ok(_) => out.push(p.to_owned()),
                    Err(e) => {
                        self.opts
                            .reporter
                            .warn(format!("`{name}` is not locked for `{p}`: {e}"));
                        missing.get_or_insert(e);
                    }
                },
                Err(crate::aqua::AquaError::Platform { .. }) => {}
                Err(e @ crate::aqua::AquaError::Unsupported { .. }) => {
                    self.opts
                        .reporter
                        .warn(format!("`{name}` is not locked for `{p}`: {e}"));
                    first_error.get_or_insert(e);
                }
                Err(e) => return Err(e.into()),
            }
        }
        if out.is_empty() {
            if let Some(e) = missing {
                return Err(e);
            }
            return Err(match first_error {
                Some(e) => e.into(),
                None => RegistryError::NoAsset {
                    what: format!("the aqua package `{aqua}` {}", release.tag),
                    wanted: wanted.map_or(
                        "asset for any platform aibox installs aqua packs on".into(),
                        |w| {
                            format!(
                                "asset for the platforms `aibox.toml` locks ({})",
                                w.join(", ")
                            )
                        },
                    ),
                    assets: Vec::new(),
                },
            });
        }
        Ok(out)
    }
}

/// A tag's version as semver: `v1.2.3`, `1.2` (→ 1.2.0), `1.0.0-rc.1`; `None` for others.
fn to_semver(tag: &str) -> Option<Version> {
    let t = tag.strip_prefix(['v', 'V']).unwrap_or(tag);
    if let Ok(v) = Version::parse(t) {
        return Some(v);
    }
    let g = crate::aqua::version::GoVersion::parse(t)?;
    if g.segments.len() > 3 {
        return None;
    }
    let n = |i: usize| g.segments.get(i).copied().unwrap_or(0);
    let text = if g.pre.is_empty() {
        format!("{}.{}.{}", n(0), n(1), n(2))
    } else {
        format!("{}.{}.{}-{}", n(0), n(1), n(2), g.pre)
    };
    Version::parse(&text).ok()
}

fn sha256_of(path: &std::path::Path) -> Result<String, RegistryError> {
    use sha2::Digest as _;
    let mut f = fs::File::open(path).map_err(|e| RegistryError::Io {
        context: "cannot read the download".into(),
        source: e,
    })?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| RegistryError::Io {
        context: "cannot read the download".into(),
        source: e,
    })?;
    Ok(format!("sha256:{}", hex::encode(h.finalize())))
}

/// A GitHub contents API answer (`{"content": base64, "encoding": "base64"}`) replaced by the
/// file it holds.
fn decode_content(file: &mut std::fs::File) -> Result<(), RegistryError> {
    use base64::Engine as _;
    use std::io::Write as _;
    #[derive(serde::Deserialize)]
    struct Content {
        content: String,
        encoding: String,
    }
    let io = |e| RegistryError::Io {
        context: "cannot read the GitHub contents answer".into(),
        source: e,
    };
    file.rewind().map_err(io)?;
    let mut text = Vec::new();
    file.take(64 << 20).read_to_end(&mut text).map_err(io)?;
    let c: Content = serde_json::from_slice(&text).map_err(|e| RegistryError::BadAnswer {
        from: "the GitHub contents API".into(),
        message: format!("answered something else: {e}"),
    })?;
    if c.encoding != "base64" {
        return Err(RegistryError::BadAnswer {
            from: "the GitHub contents API".into(),
            message: format!("answered in `{}`, not base64", c.encoding),
        });
    }
    let clean: String = c.content.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(clean)
        .map_err(|e| RegistryError::BadAnswer {
            from: "the GitHub contents API".into(),
            message: format!("answered something that is not base64: {e}"),
        })?;
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    file.write_all(&bytes).map_err(io)?;
    file.rewind().map_err(io)
}

/// The tree of an asset by the format its entry declares (the content must agree).
fn unpack(
    store: &Store,
    plan: &Plan,
    file: &mut std::fs::File,
    size: u64,
) -> Result<Tree, Box<dyn std::error::Error + Send + Sync>> {
    let limits = Limits::for_compressed(size);
    let reader = std::io::BufReader::new(&*file);
    let one =
        |r: &mut dyn Read, name: &str| -> Result<Tree, Box<dyn std::error::Error + Send + Sync>> {
            let mut batch = store.batch();
            let stored = batch.add_reader(r, true, &limits)?;
            batch.commit()?;
            let mut tree = Tree::default();
            tree.entries.insert(
                name.to_owned(),
                Entry::File {
                    hash: stored.hash,
                    size: stored.size,
                    executable: true,
                },
            );
            Ok(tree)
        };
    let stem = crate::aqua::resolve::split_ext(&plan.asset).0.to_owned();
    Ok(match plan.format {
        Format::TarGz => store.ingest_tar(flate2::read::GzDecoder::new(reader), &limits)?,
        Format::TarXz => store.ingest_tar(liblzma::read::XzDecoder::new(reader), &limits)?,
        Format::TarZst => store.ingest_tar(zstd::stream::read::Decoder::new(reader)?, &limits)?,
        Format::Tar => store.ingest_tar(reader, &limits)?,
        Format::Zip => {
            let staging = store.staging()?;
            let mut tar = fs::temp_file_in(&staging)?;
            crate::registry::transfer::zipfile::to_tar(&*file, tar.as_file_mut(), &limits)?;
            tar.as_file_mut().rewind()?;
            store.ingest_tar(std::io::BufReader::new(tar.as_file()), &limits)?
        }
        Format::Raw => {
            if size > limits.max_bytes {
                return Err(
                    format!("the executable is larger than {} bytes", limits.max_bytes).into(),
                );
            }
            one(&mut { reader }, &plan.asset)?
        }
        Format::Gz => one(&mut flate2::read::GzDecoder::new(reader), &stem)?,
        Format::Xz => one(&mut liblzma::read::XzDecoder::new(reader), &stem)?,
        Format::Zst => one(&mut zstd::stream::read::Decoder::new(reader)?, &stem)?,
    })
}

/// The file at `path` in `tree`, if it is one.
fn file_at<'a>(tree: &'a mut Tree, path: &str) -> Option<&'a mut Entry> {
    let mut parts = path.split('/').peekable();
    let mut t = tree;
    while let Some(p) = parts.next() {
        let e = t.entries.get_mut(p)?;
        if parts.peek().is_none() {
            return matches!(e, Entry::File { .. }).then_some(e);
        }
        match e {
            Entry::Dir(sub) => t = sub,
            _ => return None,
        }
    }
    None
}

/// `tree` with a `pack.toml` putting the entry's commands on PATH (each made executable).
fn with_manifest(
    store: &Store,
    mut tree: Tree,
    name: &str,
    version: &Version,
    aqua: &str,
    pkg: &Package,
    plan: &Plan,
) -> Result<(Tree, PackManifest), RegistryError> {
    let mut bin = BTreeMap::new();
    for c in &plan.commands {
        let Some(entry) = file_at(&mut tree, &c.src) else {
            return Err(RegistryError::NoAsset {
                what: format!("the asset `{}` of `{aqua}`", plan.asset),
                wanted: format!(
                    "file `{}` for the command `{}` (the entry's `files`)",
                    c.src, c.name
                ),
                assets: Vec::new(),
            });
        };
        if let Entry::File {
            hash,
            size,
            executable,
        } = entry
            && !*executable
        {
            // aqua makes commands executable; so does aibox, as a new object.
            let path = store.layout().object(hash, false);
            let f = fs::open_regular(&path).map_err(|e| RegistryError::Io {
                context: format!("cannot read `{}`", path.display()),
                source: e,
            })?;
            let mut batch = store.batch();
            let stored = batch.add_reader(f, true, &Limits::new(*size + 1, 1))?;
            batch.commit()?;
            *hash = stored.hash;
            *executable = true;
        }
        bin.insert(c.name.clone(), c.src.clone());
    }
    let repository = match (pkg.repo_owner.as_deref(), pkg.repo_name.as_deref()) {
        (Some(o), Some(r)) => Some(format!("https://github.com/{o}/{r}")),
        _ => None,
    };
    let description = match &pkg.description {
        Some(d) => format!("{} (aqua: {aqua})", d.trim()),
        None => format!("aqua: {aqua}"),
    };
    let mut manifest = crate::registry::backends::content::made_manifest(
        name,
        version,
        PackKind::Tool,
        description,
        bin,
    );
    manifest.pack.homepage = pkg.link.clone().or(repository.clone());
    manifest.pack.repository = repository;
    crate::registry::backends::content::add_made_manifest(
        store,
        &mut tree,
        &manifest,
        &format!("the aqua package `{aqua}`"),
    )?;
    Ok((tree, manifest))
}

impl Source for AquaSource {
    fn url(&self) -> &str {
        &self.url
    }

    fn pin_registry(&mut self, digest: &str) {
        self.pinned = Some(digest.to_owned());
    }

    fn names(&self) -> Result<Vec<String>, RegistryError> {
        Ok(self.index()?.names().map(str::to_owned).collect())
    }

    fn versions(&self, name: &str) -> Result<Vec<Version>, RegistryError> {
        Ok(self.releases(name)?.keys().cloned().collect())
    }

    fn manifest(&self, name: &str, version: &Version) -> Result<Arc<PackManifest>, RegistryError> {
        // The pack.toml aibox makes from the entry (no download needed): a tool whose
        // commands are the entry's files.
        let (aqua, pkg) = self.entry(name)?;
        let release = self.release(name, version)?;
        let platform = crate::platform::host();
        let platform = if crate::aqua::resolve::go_platform(&platform).is_some() {
            platform
        } else {
            "linux-x86_64".to_owned()
        };
        let plan = match crate::aqua::plan(&pkg, &release.tag, &platform) {
            Ok(p) => p,
            Err(_) => {
                let p = self.platforms(name, version, None)?;
                crate::aqua::plan(&pkg, &release.tag, &p[0])?
            }
        };
        let mut bin = BTreeMap::new();
        for c in &plan.commands {
            bin.insert(c.name.clone(), c.src.clone());
        }
        let mut m = PackManifest::skill_stub(name, version);
        m.pack.kind = PackKind::Tool;
        m.pack.description = Some(match &pkg.description {
            Some(d) => format!("{} (aqua: {aqua})", d.trim()),
            None => format!("aqua: {aqua}"),
        });
        m.bin = bin;
        m.skill = None;
        Ok(Arc::new(m))
    }

    fn description(&self, name: &str) -> Option<String> {
        let (aqua, pkg) = self.entry(name).ok()?;
        Some(match &pkg.description {
            Some(d) => format!("{} (aqua: {aqua})", d.trim()),
            None => format!("aqua: {aqua}"),
        })
    }

    fn declared_checks(&self, name: &str, version: &Version) -> Option<Vec<String>> {
        let (_, pkg) = self.entry(name).ok()?;
        let release = self.release(name, version).ok()?;
        let host = crate::platform::host();
        let platform = if crate::aqua::resolve::go_platform(&host).is_some() {
            host
        } else {
            "linux-x86_64".to_owned()
        };
        let plan = crate::aqua::plan(&pkg, &release.tag, &platform).ok()?;
        Some(verify::declared(&plan))
    }

    fn lock_entry(
        &self,
        name: &str,
        version: &Version,
        platforms: Option<&[String]>,
    ) -> Result<LockEntry, RegistryError> {
        let (aqua, _) = self.entry(name)?;
        let release = self.release(name, version)?;
        let mut out = BTreeMap::new();
        let mut verified: Option<Vec<String>> = None;
        let mut unverified = Vec::new();
        let mut signer = None;
        for p in self.platforms(name, version, platforms)? {
            let b = self.build(name, version, &p, None)?;
            // A check counts as passed only when it passed on every platform.
            verified = Some(match verified {
                None => b.checks.verified.clone(),
                Some(v) => v
                    .into_iter()
                    .filter(|c| b.checks.verified.contains(c))
                    .collect(),
            });
            unverified.extend(b.checks.unverified.iter().cloned());
            signer = signer.or(b.checks.signer.clone());
            out.insert(
                p,
                LockedPlatform {
                    manifest: Some(b.sha256),
                    tree: b.id.tree,
                },
            );
        }
        let verified = verified.unwrap_or_default();
        unverified.sort();
        unverified.dedup();
        unverified.retain(|c| !verified.contains(c));
        Ok(LockEntry {
            digest: None,
            platforms: out,
            aqua: Some(AquaPin {
                package: aqua,
                tag: release.tag,
                registry: self.registry_digest()?,
                verified,
                unverified,
            }),
            signer,
        })
    }

    fn fetch(
        &self,
        name: &str,
        version: &Version,
        locked: &LockedPlatform,
        _store: &Store,
    ) -> Result<PackId, RegistryError> {
        let platform = crate::platform::host();
        let b = self.build(name, version, &platform, locked.manifest.as_deref())?;
        RegistryError::same_tree(name, version, &self.url, locked.tree, b.id.tree)?;
        Ok(b.id)
    }
}
