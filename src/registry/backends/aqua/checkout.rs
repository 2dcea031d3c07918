//! Where an `aqua:` registry is read from: a local file or checkout (`aqua:./aqua-registry`:
//! its `registry.yaml`, else every `pkgs/**/registry.yaml`), or a tagged release of a GitHub
//! repository (`aqua:github:aquaproj/aqua-registry@v4.400.0`: the release's source archive,
//! through the GitHub API, its `registry.yaml` kept in the cache by tag).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::aqua::Index;
use crate::fs;
use crate::registry::{RegistryError, SourceOptions};

/// The largest registry file read (the public registry's is a few MiB).
const MAX_REGISTRY_BYTES: u64 = 64 << 20;
/// The most `registry.yaml` files read from a checkout's `pkgs/`.
const MAX_FILES: usize = 50_000;
/// The largest source archive downloaded.
const MAX_ARCHIVE_BYTES: u64 = 256 << 20;

/// Where a registry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Where {
    /// A `registry.yaml` file or a checkout directory.
    Path(PathBuf),
    /// A tagged release of `owner/repo`.
    GitHub { repo: String, tag: String },
}

/// Read an `aqua:` URL (relative paths against `project_root`).
pub fn parse_url(url: &str, project_root: &Path) -> Result<Where, RegistryError> {
    let rest = url
        .strip_prefix("aqua:")
        .ok_or_else(|| RegistryError::bad_url(url, "expected `aqua:<dir>`"))?;
    if let Some(gh) = rest.strip_prefix("github:") {
        let (repo, tag) = gh.split_once('@').ok_or_else(|| {
            RegistryError::bad_url(
                url,
                "name the release: `aqua:github:<owner>/<repo>@<tag>` (a registry is pinned by its tag)",
            )
        })?;
        let name_ok = |p: &str| {
            !p.is_empty()
                && p.len() <= 100
                && p != "."
                && p != ".."
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        let parts: Vec<&str> = repo.split('/').collect();
        if parts.len() != 2 || !parts.iter().all(|p| name_ok(p)) || !name_ok(tag) {
            return Err(RegistryError::bad_url(
                url,
                "expected `aqua:github:<owner>/<repo>@<tag>`",
            ));
        }
        return Ok(Where::GitHub {
            repo: repo.to_owned(),
            tag: tag.to_owned(),
        });
    }
    if rest.is_empty() {
        return Err(RegistryError::bad_url(
            url,
            "expected `aqua:<dir>` (a checkout of an aqua registry) or `aqua:github:<owner>/<repo>@<tag>`",
        ));
    }
    Ok(Where::Path(project_root.join(rest)))
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> RegistryError {
    move |source| RegistryError::Io { context, source }
}

/// Read a registry file, or a checkout: its top `registry.yaml`, else `pkgs/**/registry.yaml`.
pub fn load_path(path: &Path) -> Result<Index, RegistryError> {
    let meta = fs::metadata(path).map_err(io(format!(
        "cannot read the aqua registry `{}`",
        path.display()
    )))?;
    let file = if meta.is_dir() {
        path.join("registry.yaml")
    } else {
        path.to_owned()
    };
    if fs::metadata(&file).is_ok_and(|m| m.is_file()) {
        let text = fs::read_regular_string(&file, MAX_REGISTRY_BYTES)
            .map_err(io(format!("cannot read `{}`", file.display())))?;
        return Index::parse(&text, &file.display().to_string()).map_err(RegistryError::Aqua);
    }
    let files = registry_files(&path.join("pkgs"))?;
    if files.is_empty() {
        return Err(RegistryError::bad_url(
            &path.display().to_string(),
            "not an aqua registry: it has no `registry.yaml` and no `pkgs/**/registry.yaml`",
        ));
    }
    let mut texts = Vec::with_capacity(files.len());
    for f in &files {
        let text = fs::read_regular_string(f, MAX_REGISTRY_BYTES)
            .map_err(io(format!("cannot read `{}`", f.display())))?;
        texts.push((text, f.display().to_string()));
    }
    Index::parse_many(texts.iter().map(|(t, o)| (t.as_str(), o.clone())))
        .map_err(RegistryError::Aqua)
}

/// Every `registry.yaml` under `dir` (no links followed), sorted.
pub fn registry_files(dir: &Path) -> Result<Vec<PathBuf>, RegistryError> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                todo.push(e.path());
            } else if ft.is_file() && e.file_name() == "registry.yaml" {
                out.push(e.path());
                if out.len() > MAX_FILES {
                    return Err(RegistryError::TooLarge {
                        what: format!("`{}`", dir.display()),
                        limit: MAX_FILES as u64,
                        unit: "registry files",
                    });
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The newest version a checkout's `pkg.yaml` files name for each package (the first
/// `name: <package>@<version>` of each file): what `scripts/aqua-coverage` tries.
pub fn newest_versions(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(files) = registry_files(&dir.join("pkgs")) else {
        return out;
    };
    for f in files {
        let pkg = f.with_file_name("pkg.yaml");
        let Ok(text) = fs::read_regular_string(&pkg, 1 << 20) else {
            continue;
        };
        for line in text.lines() {
            let line = line.trim().trim_start_matches("- ").trim();
            if let Some(v) = line.strip_prefix("name:") {
                let v = v.trim().trim_matches(['"', '\'']);
                if let Some((name, version)) = v.rsplit_once('@') {
                    out.entry(name.to_owned())
                        .or_insert_with(|| version.to_owned());
                }
            }
        }
    }
    out
}

/// The GitHub API (`AIBOX_GITHUB_API` overrides it).
pub fn github_api() -> String {
    crate::env_vars::var(crate::env_vars::GITHUB_API)
        .ok()
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "https://api.github.com".to_owned())
        .trim_end_matches('/')
        .to_owned()
}

/// The first line of a cached registry: the SHA-256 of the archive it was read from.
const CACHE_HEADER: &str = "# aibox: the registry.yaml of the source archive ";

/// The registry of release `tag` of `repo` and the SHA-256 of its source archive
/// (`sha256:<hex>`): from the cache, else the archive. With `pinned` (the digest the lock
/// records for this tag), an archive with another digest is refused before it is read, and a
/// cached one is used only when it was read from that archive.
pub fn load_github(
    repo: &str,
    tag: &str,
    pinned: Option<&str>,
    opts: &SourceOptions,
) -> Result<(Index, String), RegistryError> {
    let api = github_api();
    let origin = format!("github:{repo}@{tag}");
    let retagged = |actual: String, place: &'static str| RegistryError::RegistryRetagged {
        registry: format!("github:{repo}"),
        tag: tag.to_owned(),
        locked: pinned.unwrap_or_default().to_owned(),
        actual,
        place,
    };
    let cache = opts.cache_dir().map(|cache| {
        cache.join("aqua").join(format!(
            "{}.yaml",
            crate::registry::transfer::cache::escape(&format!("{api}/{repo}@{tag}"))
        ))
    });
    // A cache entry without the archive's digest (an older aibox's) is a miss.
    let cached = cache
        .as_ref()
        .filter(|_| !opts.refresh)
        .and_then(|p| fs::read_regular_string(p, MAX_REGISTRY_BYTES).ok())
        .and_then(|text| {
            let (first, rest) = text.split_once('\n')?;
            let digest = first.strip_prefix(CACHE_HEADER)?.to_owned();
            Some((digest, rest.to_owned()))
        });
    if let Some((digest, text)) = cached {
        match pinned {
            Some(p) if p != digest => {
                if opts.offline {
                    return Err(retagged(digest, "the cache holds"));
                }
                // The cache may hold another project's (newer) archive for the tag: ask again.
                opts.reporter.verbose(format!(
                    "the cached aqua registry `{origin}` is {digest}, the lock pins {p}; downloading it again"
                ));
            }
            _ => {
                return Ok((
                    Index::parse(&text, &origin).map_err(RegistryError::Aqua)?,
                    digest,
                ));
            }
        }
    }
    if opts.offline {
        return Err(RegistryError::Offline {
            what: format!("the aqua registry `{origin}`"),
        });
    }
    let source =
        crate::registry::backends::release::ArchiveSource::open(&format!("github:{repo}"), opts)?;
    let store = opts.store()?;
    let mut tmp = crate::registry::backends::content::staging_file(&store)?;
    let url = format!("{api}/repos/{repo}/tarball/{tag}");
    let digest = source.download(
        &url,
        tmp.as_file_mut(),
        &format!("downloading the aqua registry `{origin}`"),
    )?;
    if let Some(p) = pinned
        && p != digest
    {
        return Err(retagged(digest, "GitHub now serves"));
    }
    let size = tmp.as_file().metadata().map(|m| m.len()).unwrap_or(0);
    if size > MAX_ARCHIVE_BYTES {
        return Err(RegistryError::TooLarge {
            what: format!("the source archive of `{origin}`"),
            limit: MAX_ARCHIVE_BYTES,
            unit: "bytes",
        });
    }
    let file = fs::File::open(tmp.path()).map_err(io("cannot read the download".into()))?;
    let text = registry_in_archive(file.into_parts().0).map_err(|e| RegistryError::BadContent {
        what: format!("the source archive of `{origin}`"),
        message: format!("is not usable: {e}"),
    })?;
    let index = Index::parse(&text, &origin).map_err(RegistryError::Aqua)?;
    if let Some(p) = &cache
        && let Some(dir) = p.parent()
    {
        // Best effort, like every cache write.
        let body = format!("{CACHE_HEADER}{digest}\n{text}");
        let _ = fs::create_dir_all(dir).and_then(|()| fs::write_atomic(p, body.as_bytes()));
    }
    Ok((index, digest))
}

/// The `registry.yaml` one directory down in a `.tar.gz` source archive.
fn registry_in_archive(file: std::fs::File) -> Result<String, String> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
    for entry in tar.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path().map_err(|e| e.to_string())?.into_owned();
        let parts: Vec<_> = path.components().collect();
        if parts.len() == 2
            && path.file_name().is_some_and(|n| n == "registry.yaml")
            && entry.header().entry_type().is_file()
        {
            if entry.size() > MAX_REGISTRY_BYTES {
                return Err(format!(
                    "its registry.yaml is larger than {MAX_REGISTRY_BYTES} bytes"
                ));
            }
            let mut text = String::new();
            entry
                .by_ref()
                .take(MAX_REGISTRY_BYTES)
                .read_to_string(&mut text)
                .map_err(|e| e.to_string())?;
            return Ok(text);
        }
    }
    Err("it has no `<dir>/registry.yaml`".into())
}
