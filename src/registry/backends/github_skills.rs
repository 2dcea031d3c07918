//! Agent skills from GitHub repositories: a repository holding `skills/<name>/SKILL.md` (or
//! one `SKILL.md` at its root) provides skills, versioned by its release tags (through
//! `github:owner/repo`, beside the release assets of a tool) or taken at one revision
//! (`github:owner/repo#<rev>`, what `{ git = "…", rev = "…" }` asks for). A revision is
//! resolved to its commit (`GET /repos/<repo>/commits/<ref>`), the commit's source archive is
//! downloaded (`GET /repos/<repo>/tarball/<commit>`), the skill's folder is taken out of it and
//! stored with every rule a layer gets. The lock pins the commit (`git:<sha>` as the `any`
//! platform's `manifest`) and the tree hash: GitHub's archives are not byte-stable, their
//! content is.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek};
use std::sync::{Arc, Mutex};

use semver::Version;

use crate::fs;
use crate::lockfile::{ANY_PLATFORM, LockedPlatform};
use crate::manifest::pack::PackManifest;
use crate::registry::backends::skill_archive;
use crate::registry::error::RegistryError;
use crate::registry::source::{LockEntry, SourceOptions};
use crate::registry::transfer::web::WebClient;
use crate::store::{PackId, Store};

/// The largest repository archive downloaded.
const MAX_REPO_DOWNLOAD: u64 = 256 << 20;
/// The most bytes read out of a repository archive while looking for a skill (nothing of it is
/// kept but the skill's folder).
const MAX_REPO_UNPACKED: u64 = 2 << 30;
/// The largest JSON answer read.
const MAX_JSON: usize = 1 << 20;
/// The folder of a repository holding one skill per sub-folder.
const SKILLS_FOLDER: &str = "skills";

/// A stored skill of one commit.
#[derive(Debug, Clone)]
pub struct Built {
    pub commit: String,
    pub id: PackId,
    pub manifest: Arc<PackManifest>,
}

impl Built {
    /// The lock entry of this skill: the commit and the tree, for every platform.
    pub fn lock_entry(&self) -> LockEntry {
        LockEntry {
            digest: None,
            platforms: BTreeMap::from([(
                ANY_PLATFORM.to_owned(),
                LockedPlatform {
                    manifest: Some(format!("git:{}", self.commit)),
                    tree: self.id.tree,
                },
            )]),
            aqua: None,
            signer: None,
        }
    }
}

/// The skills of one GitHub repository.
pub struct GitHubSkills {
    url: String,
    api: String,
    repo: String,
    web: WebClient,
    /// ref → commit.
    commits: Mutex<HashMap<String, String>>,
    /// commit → its downloaded archive (a staging file, kept for this run).
    archives: Mutex<HashMap<String, Arc<tempfile::NamedTempFile>>>,
    /// `name@commit` → the skill's tree (its objects in the store).
    trees: Mutex<HashMap<String, crate::store::tree::Tree>>,
    built: Mutex<HashMap<String, Built>>,
}

/// Whether `s` is a full commit id (40 lowercase hex digits).
pub fn is_commit(s: &str) -> bool {
    s.len() == 40
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl GitHubSkills {
    /// The skills of `repo` (`owner/name`) through the GitHub API at `api`; `url` is the
    /// source as written in `aibox.toml`.
    pub fn open(
        url: &str,
        api: &str,
        repo: &str,
        opts: &SourceOptions,
    ) -> Result<GitHubSkills, RegistryError> {
        let token = crate::env_vars::var("GITHUB_TOKEN")
            .ok()
            .filter(|t| !t.is_empty());
        let web = WebClient::new(api, opts, token, "github")?;
        Ok(GitHubSkills {
            url: url.to_owned(),
            api: api.trim_end_matches('/').to_owned(),
            repo: repo.to_owned(),
            web,
            commits: Mutex::default(),
            archives: Mutex::default(),
            trees: Mutex::default(),
            built: Mutex::default(),
        })
    }

    /// The commit `reference` (a commit, tag or branch; `HEAD` for the default branch) names
    /// now.
    pub fn commit_of(&self, reference: &str) -> Result<String, RegistryError> {
        if is_commit(reference) {
            return Ok(reference.to_owned());
        }
        if let Some(c) = self.commits.lock().expect("commits lock").get(reference) {
            return Ok(c.clone());
        }
        let what = format!("resolving `{reference}` of `github:{}`", self.repo);
        let url = format!(
            "{}/repos/{}/commits/{}",
            self.api,
            self.repo,
            url_segment(reference)
        );
        let answer = self
            .web
            .get(&url, "application/vnd.github+json", MAX_JSON, &what)?;
        if answer.status == 404 || answer.status == 422 {
            return Err(RegistryError::BadAnswer {
                from: format!("`github:{}`", self.repo),
                message: format!("has no commit, branch or tag `{reference}`"),
            });
        }
        if !(200..300).contains(&answer.status) {
            return Err(RegistryError::Remote {
                what,
                message: format!(
                    "HTTP {} (set GITHUB_TOKEN if it is a rate limit)",
                    answer.status
                ),
            });
        }
        #[derive(serde::Deserialize)]
        struct Commit {
            sha: String,
        }
        let commit: Commit =
            serde_json::from_slice(&answer.body).map_err(|e| RegistryError::Remote {
                what: what.clone(),
                message: format!("the GitHub API answered something else than a commit: {e}"),
            })?;
        let sha = commit.sha.to_ascii_lowercase();
        if !is_commit(&sha) {
            return Err(RegistryError::Remote {
                what,
                message: format!("`{}` is not a commit id", crate::printer::visible(&sha)),
            });
        }
        self.commits
            .lock()
            .expect("commits lock")
            .insert(reference.to_owned(), sha.clone());
        Ok(sha)
    }

    /// The source archive of `commit`, downloaded once per run.
    fn archive(&self, commit: &str) -> Result<Arc<tempfile::NamedTempFile>, RegistryError> {
        if let Some(a) = self.archives.lock().expect("archives lock").get(commit) {
            return Ok(a.clone());
        }
        let store = self.web.options().store()?;
        let staging = store.staging()?;
        let mut tmp = fs::temp_file_in(&staging).map_err(|e| RegistryError::Io {
            context: format!("cannot create a file in `{}`", staging.display()),
            source: e,
        })?;
        let url = format!("{}/repos/{}/tarball/{commit}", self.api, self.repo);
        let what = format!("downloading `github:{}` at {commit}", self.repo);
        self.web.download(
            &url,
            "application/vnd.github+json",
            tmp.as_file_mut(),
            MAX_REPO_DOWNLOAD,
            &what,
        )?;
        let archive = Arc::new(tmp);
        self.archives
            .lock()
            .expect("archives lock")
            .insert(commit.to_owned(), archive.clone());
        Ok(archive)
    }

    /// The skills of `commit`: the folders of `skills/` with a `SKILL.md`, and the root's skill
    /// (by the name its `SKILL.md` gives), sorted.
    pub fn names(&self, commit: &str) -> Result<Vec<String>, RegistryError> {
        let archive = self.archive(commit)?;
        let mut out = Vec::new();
        let mut root_skill = None;
        walk(&archive, &self.url, |rel, entry| {
            let parts: Vec<&str> = rel.split('/').collect();
            match parts.as_slice() {
                [SKILLS_FOLDER, name, "SKILL.md"] => out.push((*name).to_owned()),
                ["SKILL.md"] => {
                    let mut text = String::new();
                    let _ = entry
                        .take(crate::skill::MAX_SKILL_FILE)
                        .read_to_string(&mut text);
                    root_skill =
                        crate::skill::front_matter::parse(&text, std::path::Path::new("SKILL.md"))
                            .ok()
                            .map(|f| f.name);
                }
                _ => {}
            }
            Ok(())
        })?;
        out.extend(root_skill);
        out.retain(|n| crate::manifest::validate_pack_name(n).is_ok());
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The version a skill taken at a revision has: its `metadata.version` when that is a
    /// release version, else 0.0.0.
    pub fn version_at(&self, name: &str, commit: &str) -> Result<Version, RegistryError> {
        let store = self.web.options().store()?;
        let tree = self.tree(&store, name, commit)?;
        let Some(crate::store::tree::Entry::File {
            hash, executable, ..
        }) = tree.entries.get(crate::skill::SKILL_FILE)
        else {
            return Ok(Version::new(0, 0, 0));
        };
        let path = store.layout().object(hash, *executable);
        let text = fs::read_regular_string(&path, crate::skill::MAX_SKILL_FILE).map_err(|e| {
            RegistryError::Io {
                context: format!("cannot read the SKILL.md of `{name}`"),
                source: e,
            }
        })?;
        let front = crate::skill::front_matter::parse(&text, std::path::Path::new("SKILL.md"))?;
        Ok(front
            .metadata
            .get("version")
            .and_then(|v| crate::skill::lenient_version(v))
            .filter(|v| v.pre.is_empty())
            .unwrap_or_else(|| Version::new(0, 0, 0)))
    }

    /// The tree of skill `name` at `commit`: `skills/<name>/`, else the root when its
    /// `SKILL.md` names `name` (once per run).
    fn tree(
        &self,
        store: &Store,
        name: &str,
        commit: &str,
    ) -> Result<crate::store::tree::Tree, RegistryError> {
        let key = format!("{name}@{commit}");
        if let Some(t) = self.trees.lock().expect("trees lock").get(&key) {
            return Ok(t.clone());
        }
        let archive = self.archive(commit)?;
        let prefix = format!("{SKILLS_FOLDER}/{name}/");
        let tree = match extract(store, &archive, &self.url, &prefix)? {
            Some(tree) => tree,
            None => {
                // A repository of one skill: its root, when its SKILL.md names it.
                let names = self.names(commit)?;
                if !names.iter().any(|n| n == name) {
                    return Err(RegistryError::NotFound {
                        name: name.to_owned(),
                        source_url: format!("{} at {commit}", self.url),
                        suggestion: crate::manifest::did_you_mean(
                            name,
                            names.iter().map(String::as_str),
                        ),
                    });
                }
                extract(store, &archive, &self.url, "")?.ok_or_else(|| {
                    RegistryError::BadContent {
                        what: format!("`{}` at {commit}", self.url),
                        message: "has no SKILL.md at its root".into(),
                    }
                })?
            }
        };
        self.trees
            .lock()
            .expect("trees lock")
            .insert(key, tree.clone());
        Ok(tree)
    }

    /// Skill `name` of `commit`, stored as `name@version` (once per run).
    pub fn skill(
        &self,
        name: &str,
        version: &Version,
        commit: &str,
    ) -> Result<Built, RegistryError> {
        let key = format!("{name}@{version}@{commit}");
        if let Some(b) = self.built.lock().expect("built lock").get(&key) {
            return Ok(b.clone());
        }
        let store = self.web.options().store()?;
        let tree = self.tree(&store, name, commit)?;
        let what = format!("the skill `{name}` of `github:{}` at {commit}", self.repo);
        let (id, manifest) =
            skill_archive::store_skill(&store, &tree, name, version, &self.url, &what)?;
        let built = Built {
            commit: commit.to_owned(),
            id,
            manifest: Arc::new(manifest),
        };
        self.built
            .lock()
            .expect("built lock")
            .insert(key, built.clone());
        Ok(built)
    }

    /// Fetch `name@version` at the locked commit (`git:<sha>`); its tree must be the locked one.
    pub fn fetch(
        &self,
        name: &str,
        version: &Version,
        locked: &LockedPlatform,
    ) -> Result<PackId, RegistryError> {
        let commit = locked
            .manifest
            .as_deref()
            .and_then(|m| m.strip_prefix("git:"))
            .filter(|c| is_commit(c))
            .ok_or_else(|| RegistryError::BadContent {
                what: "the lock".into(),
                message: format!("names no commit of `{}` for `{name}`", self.url),
            })?;
        let b = self.skill(name, version, commit)?;
        RegistryError::same_tree(name, version, &self.url, locked.tree, b.id.tree)?;
        Ok(b.id)
    }
}

/// A revision as one URL path segment (`/` kept as the API takes it).
fn url_segment(reference: &str) -> String {
    reference
        .split('/')
        .map(|p| url::form_urlencoded::byte_serialize(p.as_bytes()).collect::<String>())
        .collect::<Vec<_>>()
        .join("/")
}

/// One entry of a repository archive as it is read.
type RepoEntry<'a> =
    tar::Entry<'a, std::io::Take<flate2::read::GzDecoder<std::io::BufReader<std::fs::File>>>>;

/// Call `each` with every entry of the repository archive (`.tar.gz` with one top folder) and
/// its path inside the repository, reading at most [`MAX_REPO_UNPACKED`] bytes.
fn walk(
    archive: &tempfile::NamedTempFile,
    url: &str,
    mut each: impl FnMut(&str, &mut RepoEntry<'_>) -> Result<(), RegistryError>,
) -> Result<(), RegistryError> {
    let bad = |m: String| RegistryError::BadContent {
        what: format!("the source archive of `{url}`:"),
        message: m,
    };
    let mut file = archive.reopen().map_err(|e| RegistryError::Io {
        context: "cannot read the downloaded archive".into(),
        source: e,
    })?;
    file.rewind().map_err(|e| RegistryError::Io {
        context: "cannot read the downloaded archive".into(),
        source: e,
    })?;
    let gz = flate2::read::GzDecoder::new(std::io::BufReader::new(file));
    let mut tar = tar::Archive::new(gz.take(MAX_REPO_UNPACKED));
    let entries = tar.entries().map_err(|e| bad(e.to_string()))?;
    for item in entries {
        let mut item = item.map_err(|e| bad(e.to_string()))?;
        if matches!(
            item.header().entry_type(),
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader
        ) {
            continue;
        }
        let raw = item.path_bytes();
        let path = String::from_utf8_lossy(&raw).into_owned();
        // Everything sits in one top folder (`owner-repo-<commit>/`).
        let Some((_, rel)) = path.split_once('/') else {
            continue;
        };
        let rel = rel.trim_end_matches('/').to_owned();
        if rel.is_empty() {
            continue;
        }
        each(&rel, &mut item)?;
    }
    Ok(())
}

/// The entries of the archive under `prefix` (a folder, `""` for all), taken out into a tar
/// (paths relative to `prefix`) and ingested with every rule a layer gets; `None` when the
/// folder holds no `SKILL.md`.
fn extract(
    store: &Store,
    archive: &tempfile::NamedTempFile,
    url: &str,
    prefix: &str,
) -> Result<Option<crate::store::tree::Tree>, RegistryError> {
    let staging = store.staging()?;
    let io = |context: &str| {
        let context = context.to_owned();
        move |source| RegistryError::Io { context, source }
    };
    let mut out = fs::temp_file_in(&staging).map_err(io("cannot create a staging file"))?;
    let mut found = false;
    {
        let mut builder = tar::Builder::new(out.as_file_mut());
        builder.mode(tar::HeaderMode::Deterministic);
        let mut failure = None;
        walk(archive, url, |rel, entry| {
            let Some(inner) = rel.strip_prefix(prefix) else {
                return Ok(());
            };
            if inner.is_empty() || failure.is_some() {
                return Ok(());
            }
            if inner == crate::skill::SKILL_FILE {
                found = true;
            }
            let result = copy_entry(&mut builder, inner, entry);
            if let Err(e) = result {
                failure = Some(e);
            }
            Ok(())
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        builder
            .finish()
            .map_err(io("cannot write a staging file"))?;
    }
    if !found {
        return Ok(None);
    }
    out.as_file_mut()
        .rewind()
        .map_err(io("cannot read a staging file"))?;
    let tree = store.ingest_tar(
        std::io::BufReader::new(out.as_file()),
        &skill_archive::limits(),
    )?;
    Ok(Some(tree))
}

/// Append one archive entry at `path` to `builder`.
fn copy_entry(
    builder: &mut tar::Builder<&mut std::fs::File>,
    path: &str,
    entry: &mut RepoEntry<'_>,
) -> Result<(), RegistryError> {
    let io = |source| RegistryError::Io {
        context: "cannot write a staging file".into(),
        source,
    };
    let mut header = entry.header().clone();
    match header.entry_type() {
        tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::Directory => {
            builder.append_data(&mut header, path, entry).map_err(io)
        }
        tar::EntryType::Symlink => {
            let target = entry
                .link_name()
                .map_err(io)?
                .map(|t| t.into_owned())
                .unwrap_or_default();
            builder.append_link(&mut header, path, target).map_err(io)
        }
        other => Err(RegistryError::BadContent {
            what: format!("`{path}`"),
            message: format!("is a {other:?} entry, which a skill cannot hold"),
        }),
    }
}
