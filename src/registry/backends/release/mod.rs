//! Release archives as sources: `https://…/tool-1.2.0-linux-x86_64.tar.gz` (one asset, its
//! version taken from the file name or the URL) and `github:owner/repo` (the repository's
//! releases through the GitHub API, the asset chosen by platform: [`crate::registry::format::assets`]). An asset
//! is a `.tar.gz`/`.tgz`, `.tar.zst`, `.tar.xz`, `.tar` or `.zip` archive, or a bare
//! executable. It is downloaded, its SHA-256 computed while streaming (the lock pins it as the
//! platform's `manifest`), ingested like any layer (the same checks on names, links, sizes;
//! zips checked and converted first, [`crate::registry::transfer::zipfile`]) and stored as a pack tree. An archive without a `pack.toml` at its root gets one: every executable
//! at its root, in `bin/`, or in the one top directory (and its `bin/`) is a command, and one
//! named `aibox-plugin-<name>` makes the pack a plugin.

mod built;

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek};
use std::sync::{Arc, Mutex};

use semver::Version;

use crate::fs;
use crate::lockfile::LockedPlatform;
use crate::manifest::pack::{PackKind, PackManifest};
use crate::registry::{LockEntry, RegistryError, Source, SourceOptions};
use crate::store::budget::Limits;
use crate::store::tree::{Entry, Tree};
use crate::store::{PackId, Store};

/// A release: its tag and its files (name → download URL).
pub type Tagged = (String, BTreeMap<String, String>);

/// The largest archive downloaded.
const MAX_ARCHIVE_BYTES: u64 = 2 << 30;
/// The largest GitHub API answer read.
const MAX_API_BYTES: usize = 16 << 20;
/// The GitHub API (`AIBOX_GITHUB_API` overrides it, e.g. for GitHub Enterprise).
const GITHUB_API: &str = "https://api.github.com";

/// What a release archive is, once stored.
#[derive(Debug, Clone)]
struct Built {
    sha256: String,
    id: PackId,
    manifest: Arc<PackManifest>,
}

/// One release: its tag, the version it names and its downloadable files.
#[derive(Debug, Clone)]
pub struct Release {
    pub tag: String,
    pub version: Version,
    /// Asset name → download URL.
    pub assets: BTreeMap<String, String>,
}

#[derive(Debug)]
enum Kind {
    Url,
    /// A repository's releases (`github:owner/repo`), or its skills at one revision
    /// (`github:owner/repo#<rev>`).
    GitHub {
        api: String,
        repo: String,
        rev: Option<String>,
    },
}

/// A release-archive source.
pub struct ArchiveSource {
    url: String,
    kind: Kind,
    opts: SourceOptions,
    client: reqwest::Client,
    rt: &'static tokio::runtime::Runtime,
    releases: Mutex<Option<Vec<Release>>>,
    built: Mutex<HashMap<String, Built>>,
    /// The skills of a GitHub repository (`github_skills`).
    skills: Option<crate::registry::backends::github_skills::GitHubSkills>,
}

/// The aibox platform an asset's file name is for (`None`: it names none, or several).
pub fn asset_platform(file: &str) -> Option<&'static str> {
    match crate::registry::format::assets::platforms(file).as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// Whether `url` names a release source (`github:…`, `https://…`, `http://…`): one that serves
/// one tool, under whatever name a requirement gives it.
pub fn is_release(url: &str) -> bool {
    ["github:", "https://", "http://"]
        .iter()
        .any(|s| url.starts_with(s))
}

/// A URL whose file has no extension (`…/bin/linux/amd64/kubectl`): a bare executable.
fn bare_executable_url(url: &str) -> bool {
    let file = file_name(url);
    !file.is_empty() && !file.contains('.')
}

fn file_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

impl ArchiveSource {
    pub fn open(url: &str, opts: &SourceOptions) -> Result<ArchiveSource, RegistryError> {
        let kind = if let Some(rest) = url.strip_prefix("github:") {
            let (repo, rev) = match rest.split_once('#') {
                Some((repo, rev)) => (repo, Some(rev.to_owned())),
                None => (rest, None),
            };
            if rev
                .as_deref()
                .is_some_and(|r| crate::manifest::skill_sources::bad_rev(r).is_some())
            {
                return Err(RegistryError::bad_url(
                    url,
                    "the revision after `#` is not a branch, tag or commit name",
                ));
            }
            let ok = repo.split('/').count() == 2
                && repo.split('/').all(|p| {
                    !p.is_empty()
                        && p.len() <= 100
                        && p.chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                        && p != "."
                        && p != ".."
                });
            if !ok {
                return Err(RegistryError::bad_url(
                    url,
                    "expected `github:<owner>/<repo>`",
                ));
            }
            let api = crate::env_vars::var(crate::env_vars::GITHUB_API)
                .ok()
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| GITHUB_API.to_owned());
            check_http(&api, opts)?;
            Kind::GitHub {
                api: api.trim_end_matches('/').to_owned(),
                repo: repo.to_owned(),
                rev,
            }
        } else {
            check_http(url, opts)?;
            if crate::registry::format::assets::format(file_name(url)).is_none()
                && !bare_executable_url(url)
            {
                return Err(RegistryError::bad_url(
                    url,
                    "not a release asset: an archive (`.tar.gz`, `.tgz`, `.tar.zst`, `.tar.xz`, `.tar`, `.zip`) or an executable",
                ));
            }
            Kind::Url
        };
        // Plain HTTP (to a host that is not loopback) only on the host the user asked for.
        let insecure = opts
            .insecure
            .then(|| {
                let start = match &kind {
                    Kind::GitHub { api, .. } => api.as_str(),
                    Kind::Url => url,
                };
                url::Url::parse(start).ok().and_then(|u| {
                    let host = u.host_str()?.to_owned();
                    Some(match u.port() {
                        Some(p) => format!("{host}:{p}"),
                        None => host,
                    })
                })
            })
            .flatten();
        if let Some(host) = &insecure {
            crate::registry::transfer::hops::allow_plain_http(host);
        }
        let client = crate::registry::transfer::client::following()?;
        let rt = crate::registry::transfer::http::runtime()?;
        let skills = match &kind {
            Kind::GitHub { api, repo, .. } => Some(
                crate::registry::backends::github_skills::GitHubSkills::open(url, api, repo, opts)?,
            ),
            Kind::Url => None,
        };
        Ok(ArchiveSource {
            skills,
            url: url.to_owned(),
            kind,
            opts: *opts,
            client,
            rt,
            releases: Mutex::default(),
            built: Mutex::default(),
        })
    }

    /// The releases (GitHub: from the API or its cache; a URL: the one archive).
    pub fn releases(&self) -> Result<Vec<Release>, RegistryError> {
        if let Some(r) = self.releases.lock().expect("releases lock").as_ref() {
            return Ok(r.clone());
        }
        let list = match &self.kind {
            Kind::Url => {
                let file = file_name(&self.url);
                let version = crate::registry::format::assets::version_in(file)
                    .or_else(|| crate::registry::format::assets::version_in(&self.url))
                    .ok_or_else(|| {
                        RegistryError::bad_url(
                            &self.url,
                            "no version in the file name or the URL (like `tool-1.2.0-linux-x86_64.tar.gz`)",
                        )
                    })?;
                vec![Release {
                    tag: version.to_string(),
                    version,
                    assets: BTreeMap::from([(file.to_owned(), self.url.clone())]),
                }]
            }
            Kind::GitHub { api, repo, .. } => parse_releases(&self.github_json(api, repo)?)?,
        };
        *self.releases.lock().expect("releases lock") = Some(list.clone());
        Ok(list)
    }

    /// Every release of a `github:` source (tags that name no version too), newest first as
    /// the API lists them: tag → files.
    pub fn tags(&self) -> Result<Vec<Tagged>, RegistryError> {
        match &self.kind {
            Kind::GitHub { api, repo, .. } => parse_tags(&self.github_json(api, repo)?),
            Kind::Url => Ok(Vec::new()),
        }
    }

    /// The releases JSON of `repo`: from the cache when fresh (or offline), else the API.
    fn github_json(&self, api: &str, repo: &str) -> Result<Vec<u8>, RegistryError> {
        let cache = self.opts.cache_dir().map(|cache| {
            cache.join("github").join(format!(
                "{}.json",
                crate::registry::transfer::cache::escape(&format!("{api}/{repo}"))
            ))
        });
        let cached = cache.as_ref().and_then(|p| {
            let at = fs::metadata(p).ok()?.modified().ok()?;
            let age = at.elapsed().unwrap_or_default();
            Some((fs::read_regular(p, MAX_API_BYTES as u64).ok()?, age))
        });
        if let Some((bytes, age)) = &cached
            && (self.opts.offline
                || (!self.opts.refresh && age < &crate::registry::transfer::cache::tag_ttl()))
        {
            return Ok(bytes.clone());
        }
        if self.opts.offline {
            return Err(RegistryError::Offline {
                what: format!("the releases of `github:{repo}`"),
            });
        }
        let url = format!("{api}/repos/{repo}/releases?per_page=100");
        let what = format!("listing the releases of `github:{repo}`");
        let bytes = self.rt.block_on(async {
            let mut req = self
                .client
                .get(&url)
                .header("Accept", "application/vnd.github+json");
            if let Ok(token) = crate::env_vars::var("GITHUB_TOKEN")
                && !token.is_empty()
            {
                req = req.bearer_auth(token);
            }
            let resp = req
                .send()
                .await
                .map_err(|e| crate::registry::transfer::hops::network_error(e, &what))?;
            let status = resp.status();
            if status.as_u16() == 404 {
                return Err(RegistryError::NotFound {
                    name: repo.to_owned(),
                    source_url: self.url.clone(),
                    suggestion: None,
                });
            }
            if !status.is_success() {
                return Err(RegistryError::Remote {
                    what: what.clone(),
                    message: format!("HTTP {status} (set GITHUB_TOKEN if it is a rate limit)"),
                });
            }
            let mut body = Vec::new();
            let mut resp = resp;
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| crate::registry::transfer::hops::network_error(e, &what))?
            {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_API_BYTES {
                    return Err(RegistryError::Remote {
                        what: what.clone(),
                        message: format!("the answer is larger than {MAX_API_BYTES} bytes"),
                    });
                }
            }
            Ok(body)
        })?;
        if let Some(p) = &cache
            && let Some(dir) = p.parent()
        {
            // Best effort, like every cache write.
            let _ = fs::create_dir_all(dir).and_then(|()| fs::write_atomic(p, &bytes));
        }
        Ok(bytes)
    }

    /// The archive of `version` for `platform` (or, failing that, one that names no platform).
    fn asset(&self, version: &Version, platform: &str) -> Result<(String, String), RegistryError> {
        let releases = self.releases()?;
        let release = releases
            .iter()
            .find(|r| &r.version == version)
            .ok_or_else(|| RegistryError::NoSuchVersion {
                name: self.url.clone(),
                version: version.clone(),
                source_url: self.url.clone(),
            })?;
        pick(&release.assets, platform)
            .map(|(n, u)| (n.clone(), u.clone()))
            .ok_or_else(|| RegistryError::NoAsset {
                what: format!("`{}` {version}", self.url),
                wanted: format!("archive for `{platform}`"),
                assets: release.assets.keys().cloned().collect(),
            })
    }

    /// Download, check and store the archive at `url` as pack `name@version` (once per run).
    fn build(&self, name: &str, version: &Version, url: &str) -> Result<Built, RegistryError> {
        let key = format!("{name}@{version}@{url}");
        if let Some(b) = self.built.lock().expect("built lock").get(&key) {
            return Ok(b.clone());
        }
        // Built by an earlier run and still in the store: nothing to download (`--refresh`
        // downloads it again).
        if !self.opts.refresh
            && let Some(b) = self.built_before(name, version, url)
        {
            self.built
                .lock()
                .expect("built lock")
                .insert(key, b.clone());
            return Ok(b);
        }
        if self.opts.offline {
            return Err(RegistryError::Offline {
                what: format!(
                    "the archive `{}`",
                    crate::registry::transfer::url::redact(url)
                ),
            });
        }
        check_http(url, &self.opts)?;
        let store = self.opts.store()?;
        let tmp_dir = store.staging()?;
        let mut tmp = fs::temp_file_in(&tmp_dir).map_err(|e| RegistryError::Io {
            context: format!("cannot create a file in `{}`", tmp_dir.display()),
            source: e,
        })?;
        let what = format!(
            "downloading `{}`",
            crate::registry::transfer::url::redact(url)
        );
        let sha256 = self.download(url, tmp.as_file_mut(), &what)?;
        let file = tmp.as_file_mut();
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        file.rewind().map_err(|e| RegistryError::Io {
            context: "cannot read the download".into(),
            source: e,
        })?;
        let tree =
            unpack(&store, name, url, file, size).map_err(|e| RegistryError::BadContent {
                what: format!("`{}`", crate::registry::transfer::url::redact(url)),
                message: format!("is not a usable archive: {e}"),
            })?;
        let (tree, manifest) = self.with_manifest(&store, tree, name, version, url)?;
        crate::registry::backends::content::check_tree(&tree, &manifest, &what)?;
        let id = store.build_pack(name, &version.to_string(), &tree, None)?;
        let built = Built {
            sha256,
            id,
            manifest: Arc::new(manifest),
        };
        self.remember_built(url, &built);
        self.built
            .lock()
            .expect("built lock")
            .insert(key, built.clone());
        Ok(built)
    }

    /// Download `url` into `out` (at most [`MAX_ARCHIVE_BYTES`]); its sha256 digest.
    pub fn download(
        &self,
        url: &str,
        out: &mut std::fs::File,
        what: &str,
    ) -> Result<String, RegistryError> {
        self.rt.block_on(async {
            let resp = self
                .client
                .get(url)
                .send()
                .await
                .map_err(|e| crate::registry::transfer::hops::network_error(e, what))?;
            if !resp.status().is_success() {
                return Err(RegistryError::Remote {
                    what: what.to_owned(),
                    message: format!("HTTP {}", resp.status()),
                });
            }
            crate::registry::transfer::web::save(resp, out, MAX_ARCHIVE_BYTES, what).await
        })
    }

    /// The archive's own `pack.toml` (which must name `name` and `version`), or one made from
    /// its executables, added to `tree`.
    fn with_manifest(
        &self,
        store: &Store,
        mut tree: Tree,
        name: &str,
        version: &Version,
        url: &str,
    ) -> Result<(Tree, PackManifest), RegistryError> {
        let shown = crate::registry::transfer::url::redact(url);
        if let Some(Entry::File {
            hash, executable, ..
        }) = tree.entries.get("pack.toml")
        {
            let path = store.object_path(hash, *executable);
            let text = fs::read_regular_string(&path, crate::manifest::pack::MAX_PACK_TOML_BYTES)
                .map_err(|e| RegistryError::Io {
                context: format!("cannot read the pack.toml of `{shown}`"),
                source: e,
            })?;
            let m = crate::manifest::parse_pack(&text, std::path::Path::new(&shown))?;
            if m.pack.name != name || &m.pack.version != version {
                return Err(RegistryError::BadContent {
                    what: format!("`{shown}`"),
                    message: format!(
                        "holds `{}@{}`, not `{name}@{version}`",
                        m.pack.name, m.pack.version
                    ),
                });
            }
            return Ok((tree, m));
        }
        let bin = executables(&tree);
        if bin.is_empty() {
            return Err(RegistryError::BadContent {
                what: format!("`{shown}`"),
                message: "has no pack.toml and no executable to put on PATH".into(),
            });
        }
        let manifest = made_manifest(name, version, &shown, bin);
        crate::registry::backends::content::add_made_manifest(
            store,
            &mut tree,
            &manifest,
            &format!("`{shown}`"),
        )?;
        Ok((tree, manifest))
    }
}

/// The tree of a downloaded asset (`file`, `size` bytes, at its start): an archive by its
/// content (gzip, zstd, xz, zip magic; else a plain tar), or — when its name says it is a bare
/// executable and its content is no archive — one command `bin/<name>`.
fn unpack(
    store: &Store,
    name: &str,
    url: &str,
    file: &mut std::fs::File,
    size: u64,
) -> Result<Tree, Box<dyn std::error::Error + Send + Sync>> {
    use crate::registry::format::assets::Format;
    let mut magic = [0u8; 6];
    let n = file.read(&mut magic)?;
    file.rewind()?;
    let limits = Limits::for_compressed(size);
    let by_name = crate::registry::format::assets::format(file_name(url))
        .or(bare_executable_url(url).then_some(Format::Executable));
    let reader = std::io::BufReader::new(&*file);
    let tree = match &magic[..n] {
        [0x1f, 0x8b, ..] => store.ingest_tar(flate2::read::GzDecoder::new(reader), &limits)?,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => {
            store.ingest_tar(zstd::stream::read::Decoder::new(reader)?, &limits)?
        }
        [0xfd, b'7', b'z', b'X', b'Z', 0x00] => {
            store.ingest_tar(liblzma::read::XzDecoder::new(reader), &limits)?
        }
        [b'P', b'K', 0x03, 0x04, ..] => {
            // Checked and converted into a tar in the staging area, then ingested.
            let staging = store.staging()?;
            let mut tar = fs::temp_file_in(&staging)?;
            crate::registry::transfer::zipfile::to_tar(&*file, tar.as_file_mut(), &limits)?;
            tar.as_file_mut().rewind()?;
            store.ingest_tar(std::io::BufReader::new(tar.as_file()), &limits)?
        }
        _ if by_name == Some(Format::Executable) => {
            if size > limits.max_bytes {
                return Err(
                    format!("the executable is larger than {} bytes", limits.max_bytes).into(),
                );
            }
            let mut batch = store.batch();
            let stored = batch.add_reader(reader, true, &limits)?;
            batch.commit()?;
            let mut bin = Tree::default();
            bin.entries.insert(
                name.to_owned(),
                Entry::File {
                    hash: stored.hash,
                    size: stored.size,
                    executable: true,
                },
            );
            let mut tree = Tree::default();
            tree.entries.insert("bin".into(), Entry::Dir(bin));
            tree
        }
        _ => store.ingest_tar(reader, &limits)?,
    };
    Ok(tree)
}

/// The executables an archive without a `pack.toml` puts on PATH: those at its top, in its
/// `bin/`, and (when the archive holds one directory) in that directory and its `bin/`; the
/// first found of each name wins. Names that could be options or hidden files are skipped.
fn executables(tree: &Tree) -> BTreeMap<String, String> {
    let mut bin = BTreeMap::new();
    let mut scan = |prefix: &str, t: &Tree| {
        for (file, e) in &t.entries {
            if matches!(
                e,
                Entry::File {
                    executable: true,
                    ..
                }
            ) && file
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
                && !file.starts_with(['-', '.'])
            {
                bin.entry(file.clone()).or_insert(format!("{prefix}{file}"));
            }
        }
    };
    scan("", tree);
    let dirs: Vec<(&String, &Tree)> = tree
        .entries
        .iter()
        .filter_map(|(n, e)| match e {
            Entry::Dir(t) => Some((n, t)),
            _ => None,
        })
        .collect();
    if let Some(Entry::Dir(b)) = tree.entries.get("bin") {
        scan("bin/", b);
    }
    if let [(top, t)] = dirs.as_slice() {
        scan(&format!("{top}/"), t);
        if let Some(Entry::Dir(b)) = t.entries.get("bin") {
            scan(&format!("{top}/bin/"), b);
        }
    }
    bin
}

/// The `pack.toml` made for an archive without one: a tool (a plugin when it has
/// `aibox-plugin-<name>`) putting `bin` on PATH.
fn made_manifest(
    name: &str,
    version: &Version,
    shown: &str,
    bin: BTreeMap<String, String>,
) -> PackManifest {
    let kind = if bin.contains_key(&format!("aibox-plugin-{name}")) {
        PackKind::Plugin
    } else {
        PackKind::Tool
    };
    crate::registry::backends::content::made_manifest(
        name,
        version,
        kind,
        format!("from {shown}"),
        bin,
    )
}

fn pick<'a>(
    assets: &'a BTreeMap<String, String>,
    platform: &str,
) -> Option<(&'a String, &'a String)> {
    crate::registry::format::assets::pick(assets.iter(), platform)
}

/// The releases in a GitHub API answer (drafts and tags that are not versions left out).
fn parse_releases(bytes: &[u8]) -> Result<Vec<Release>, RegistryError> {
    Ok(parse_tags(bytes)?
        .into_iter()
        .filter_map(|(tag, assets)| {
            let version = crate::registry::format::assets::version_in(&tag)?;
            Some(Release {
                tag,
                version,
                assets,
            })
        })
        .collect())
}

/// Every release of a GitHub API answer but drafts: its tag and files (name → URL).
pub fn parse_tags(bytes: &[u8]) -> Result<Vec<Tagged>, RegistryError> {
    #[derive(serde::Deserialize)]
    struct Asset {
        name: String,
        browser_download_url: String,
    }
    #[derive(serde::Deserialize)]
    struct Raw {
        tag_name: String,
        #[serde(default)]
        draft: bool,
        #[serde(default)]
        assets: Vec<Asset>,
    }
    let raw: Vec<Raw> = serde_json::from_slice(bytes).map_err(|e| RegistryError::BadAnswer {
        from: "the GitHub API".into(),
        message: format!("answered something else than releases: {e}"),
    })?;
    Ok(raw
        .into_iter()
        .filter(|r| !r.draft)
        .map(|r| {
            let assets = r
                .assets
                .into_iter()
                .filter(|a| {
                    a.browser_download_url.starts_with("https://")
                        || a.browser_download_url.starts_with("http://")
                })
                .map(|a| (a.name, a.browser_download_url))
                .collect();
            (r.tag_name, assets)
        })
        .collect())
}

/// Skills of a GitHub repository (`github_skills`): at the revision the URL names, or at the
/// tag of a release.
impl ArchiveSource {
    fn rev(&self) -> Option<&str> {
        match &self.kind {
            Kind::GitHub { rev, .. } => rev.as_deref(),
            Kind::Url => None,
        }
    }

    /// The skills at the URL's revision.
    fn skills_at(&self, rev: &str) -> Result<Vec<String>, RegistryError> {
        match &self.skills {
            Some(skills) => skills.names(&skills.commit_of(rev)?),
            None => Ok(Vec::new()),
        }
    }

    /// The commit `name@version` comes from when this source serves it as a skill: the URL's
    /// revision, or the tag of its release when that release has no assets (a release with
    /// assets is the repository's tool, whatever name a request gives it).
    fn skill_commit(
        &self,
        _name: &str,
        version: &Version,
    ) -> Result<Option<String>, RegistryError> {
        let Some(skills) = &self.skills else {
            return Ok(None);
        };
        if let Some(rev) = self.rev() {
            return Ok(Some(skills.commit_of(rev)?));
        }
        let releases = self.releases()?;
        let Some(release) = releases.iter().find(|r| &r.version == version) else {
            return Ok(None);
        };
        if !release.assets.is_empty() {
            return Ok(None);
        }
        Ok(Some(skills.commit_of(&release.tag)?))
    }
}

/// Plain `http://` only to loopback hosts (or a registry marked insecure).
pub fn check_http(url: &str, opts: &SourceOptions) -> Result<(), RegistryError> {
    let parsed = url::Url::parse(url).map_err(|e| RegistryError::bad_url(url, e.to_string()))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = parsed
                .host()
                .is_some_and(|h| crate::registry::transfer::hops::is_loopback_host(&h));
            if loopback || opts.insecure {
                Ok(())
            } else {
                Err(RegistryError::bad_url(
                    url,
                    "plain HTTP is only used for loopback hosts; use https://",
                ))
            }
        }
        _ => Err(RegistryError::bad_url(url, "expected an https:// URL")),
    }
}

impl Source for ArchiveSource {
    fn url(&self) -> &str {
        &self.url
    }

    fn names(&self) -> Result<Vec<String>, RegistryError> {
        // A release source serves one tool (under whatever name a requirement gives it): its
        // repository's name, or the file's name before its version.
        let name = match &self.kind {
            Kind::GitHub { rev: Some(rev), .. } => return self.skills_at(rev),
            Kind::GitHub { repo, .. } => repo.rsplit('/').next().unwrap_or(repo).to_owned(),
            Kind::Url => {
                let file = file_name(&self.url);
                let cut = file
                    .find(|c: char| c.is_ascii_digit())
                    .unwrap_or(file.len());
                file[..cut]
                    .trim_end_matches(['-', '_', '.', 'v', 'V'])
                    .to_owned()
            }
        };
        let name: String = name
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let name = name.trim_matches('-').to_owned();
        Ok(crate::manifest::validate_pack_name(&name)
            .is_ok()
            .then_some(name)
            .into_iter()
            .collect())
    }

    fn versions(&self, name: &str) -> Result<Vec<Version>, RegistryError> {
        if let (Some(rev), Some(skills)) = (self.rev(), &self.skills) {
            return Ok(vec![skills.version_at(name, &skills.commit_of(rev)?)?]);
        }
        Ok(self.releases()?.into_iter().map(|r| r.version).collect())
    }

    fn manifest(&self, name: &str, version: &Version) -> Result<Arc<PackManifest>, RegistryError> {
        if let (Some(commit), Some(skills)) = (self.skill_commit(name, version)?, &self.skills) {
            return Ok(skills.skill(name, version, &commit)?.manifest);
        }
        let (_, url) = self.asset(version, &crate::platform::host())?;
        Ok(self.build(name, version, &url)?.manifest)
    }

    fn lock_entry(
        &self,
        name: &str,
        version: &Version,
        platforms: Option<&[String]>,
    ) -> Result<LockEntry, RegistryError> {
        if let (Some(commit), Some(skills)) = (self.skill_commit(name, version)?, &self.skills) {
            return Ok(skills.skill(name, version, &commit)?.lock_entry());
        }
        let releases = self.releases()?;
        let release = releases
            .iter()
            .find(|r| &r.version == version)
            .ok_or_else(|| RegistryError::NoSuchVersion {
                name: name.to_owned(),
                version: version.clone(),
                source_url: self.url.clone(),
            })?;
        let mut out = BTreeMap::new();
        let wanted = |p: &str| platforms.is_none_or(|ps| ps.iter().any(|x| x == p));
        for platform in crate::platform::KNOWN.iter().filter(|p| wanted(p)) {
            if let Some((file, url)) = pick(&release.assets, platform)
                && asset_platform(file).is_some()
            {
                let b = self.build(name, version, url)?;
                out.insert(
                    (*platform).to_owned(),
                    LockedPlatform {
                        manifest: Some(b.sha256),
                        tree: b.id.tree,
                    },
                );
            }
        }
        if out.is_empty() {
            // An archive naming no platform serves every platform.
            let (file, url) =
                pick(&release.assets, "any").ok_or_else(|| RegistryError::NoAsset {
                    what: format!("`{}` {version}", self.url),
                    wanted: "archive this aibox can choose".into(),
                    assets: release.assets.keys().cloned().collect(),
                })?;
            let _ = file;
            let b = self.build(name, version, url)?;
            out.insert(
                crate::lockfile::ANY_PLATFORM.to_owned(),
                LockedPlatform {
                    manifest: Some(b.sha256),
                    tree: b.id.tree,
                },
            );
        }
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
        _store: &Store,
    ) -> Result<PackId, RegistryError> {
        if let Some(skills) = &self.skills
            && locked
                .manifest
                .as_deref()
                .is_some_and(|m| m.starts_with("git:"))
        {
            return skills.fetch(name, version, locked);
        }
        let platform = crate::platform::host();
        let (_, url) = self.asset(version, &platform)?;
        let b = self.build(name, version, &url)?;
        crate::registry::format::digest::check_pinned(
            locked.manifest.as_deref(),
            &b.sha256,
            || {
                format!(
                    "`{}` ({name}@{version})",
                    crate::registry::transfer::url::redact(&url)
                )
            },
        )?;
        RegistryError::same_tree(name, version, &self.url, locked.tree, b.id.tree)?;
        Ok(b.id)
    }
}
