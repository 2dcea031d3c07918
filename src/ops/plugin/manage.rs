//! `aibox plugin install|uninstall|list|verify`: plugins in the global profile. A registry
//! plugin is a `[plugins]` entry of the global manifest; a local directory or binary is first
//! copied (a snapshot: later edits to the source do not change what is installed) into
//! `$AIBOX_HOME/local-plugins/<name>/<version>/`, a `dir:` source the global manifest names
//! `local-plugins`, so it is locked, stored and switched like any pack.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fs;
use crate::manifest::pack::{PackKind, PackManifest};
use crate::manifest::request::PackSpec;

use crate::engine::install::Installed;
use crate::engine::lock::Upgrade;
use crate::engine::plugins::{Found, Origin, PREFIX, find};
use crate::ops::edit::{AddOptions, apply_manifest, install_global, manifest_template};
use crate::ops::{MANIFEST, Options, Target};

/// The registry name local plugins are installed from.
pub const LOCAL_REGISTRY: &str = "local-plugins";

/// What `plugin install` was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// `name[@req]` from the global profile's registry (or `--registry`).
    Registry(String),
    /// A pack directory (with `pack.toml`, `kind = "plugin"`).
    Dir(PathBuf),
    /// An executable named `aibox-plugin-<name>`.
    Binary(PathBuf),
    /// A source URL (`oci://host/base`, `oci-layout:<dir>`, `github:owner/repo`,
    /// `https://…/<archive>`) for plugin `name`, at `version` (`None`: the newest).
    Remote {
        url: String,
        name: String,
        version: Option<semver::Version>,
    },
}

impl PluginSource {
    /// Classify `arg`: an existing path is local; anything else is a registry request.
    pub fn parse(arg: &str) -> Result<PluginSource> {
        if arg.starts_with("github:") || arg.starts_with("https://") || arg.starts_with("http://") {
            return release_source(arg);
        }
        if arg.starts_with("oci://") || arg.starts_with("oci-layout:") {
            let r = crate::registry::PackRef::parse(arg)?;
            let url = match r.source.strip_prefix("oci-layout:") {
                Some(dir) => format!(
                    "oci-layout:{}",
                    std::path::absolute(dir)
                        .map_err(|e| Error::io(format!("cannot resolve `{dir}`"), e))?
                        .display()
                ),
                None => r.source,
            };
            return Ok(PluginSource::Remote {
                url,
                name: r.name,
                version: r.version,
            });
        }
        let path = Path::new(arg);
        let looks_local = arg.starts_with('.') || arg.starts_with('/') || arg.contains('/');
        match fs::metadata(path) {
            Ok(m) if m.is_dir() => Ok(PluginSource::Dir(path.to_path_buf())),
            Ok(m) if m.is_file() => Ok(PluginSource::Binary(path.to_path_buf())),
            Ok(_) => Err(Error::msg(format!("`{arg}` is neither a directory nor a file"))),
            Err(_) if looks_local => Err(Error::msg(format!("`{arg}` does not exist"))
                .with_hint("give a plugin pack directory, an `aibox-plugin-<name>` executable, or `name@version` from a registry")),
            Err(_) => {
                PackSpec::parse(arg)?;
                Ok(PluginSource::Registry(arg.to_owned()))
            }
        }
    }
}

/// `aibox plugin install`.
pub fn install(
    opts: &Options,
    source: &PluginSource,
    registry: Option<&str>,
    version: Option<&semver::Version>,
) -> Result<(String, Installed)> {
    match source {
        PluginSource::Registry(spec) => {
            let how = AddOptions::to(crate::manifest::Section::Plugins);
            let outcome = install_global(opts, std::slice::from_ref(spec), registry, &how)?;
            let name = PackSpec::parse(spec)?.name;
            let installed = outcome
                .installed
                .ok_or_else(|| Error::msg("the plugin was locked but not installed"))?;
            Ok((name, installed))
        }
        PluginSource::Dir(dir) => install_local(opts, dir, None),
        PluginSource::Remote { url, name, version } => {
            let request = version.as_ref().map_or("*".to_owned(), |v| format!("={v}"));
            let installed = install_from(opts, name, &format!("plugin-{name}"), url, &request)?;
            Ok((name.clone(), installed))
        }
        PluginSource::Binary(file) => install_local(opts, file, version),
    }
}

/// Snapshot a local plugin into `local-plugins/` and install it from there.
fn install_local(
    opts: &Options,
    source: &Path,
    version: Option<&semver::Version>,
) -> Result<(String, Installed)> {
    let store = opts.store()?;
    let home = store.layout().home().to_path_buf();
    let staging = fs::temp_dir_in(&store.staging()?)
        .map_err(|e| Error::io("cannot create a staging directory", e))?;
    let manifest = if fs::metadata(source).is_ok_and(|m| m.is_dir()) {
        let text_path = source.join("pack.toml");
        let text = fs::read_regular_string(&text_path, crate::manifest::pack::MAX_PACK_TOML_BYTES)
            .map_err(|e| {
                Error::io(format!("cannot read `{}`", text_path.display()), e)
                    .with_hint("a plugin directory has a `pack.toml` with `kind = \"plugin\"`; `aibox plugin init` makes one")
            })?;
        let manifest = crate::manifest::parse_pack(&text, &text_path)?;
        fs::copy_tree(source, &staging.path().join("pack"), &[".git", "target"])
            .map_err(|e| Error::io(format!("cannot copy `{}`", source.display()), e))?;
        manifest
    } else {
        binary_pack(source, version, &staging.path().join("pack"))?
    };
    if manifest.pack.kind != PackKind::Plugin {
        return Err(Error::msg(format!(
            "`{}` is a {} pack, not a plugin",
            source.display(),
            manifest.pack.kind.as_str()
        ))
        .with_hint("set `kind = \"plugin\"` in its `[pack]`, or install it with `aibox install`"));
    }
    let name = manifest.pack.name.clone();
    let version = manifest.pack.version.to_string();
    let dest = local_dir(&home).join(&name).join(&version);
    fs::create_dir_all(dest.parent().expect("has a parent"))
        .map_err(|e| Error::io(format!("cannot create `{}`", dest.display()), e))?;
    if fs::exists(&dest).unwrap_or(false) {
        store.discard_path(&dest)?;
    }
    fs::rename(staging.path().join("pack"), &dest)
        .map_err(|e| Error::io(format!("cannot create `{}`", dest.display()), e))?;

    let installed = install_from(
        opts,
        &name,
        LOCAL_REGISTRY,
        &format!("dir:{}", local_dir(&home).display()),
        &format!("={version}"),
    )?;
    crate::audit::record(
        store.layout(),
        "install",
        Some("global"),
        serde_json::json!({"packs": [format!("{name}@{version}")], "from": source.display().to_string()}),
        opts.reporter,
    );
    Ok((name, installed))
}

/// Put plugin `name` (`request`) from `url` (named `alias` in `[registries]`) into the global
/// manifest, re-lock it and sync.
fn install_from(
    opts: &Options,
    name: &str,
    alias: &str,
    url: &str,
    request: &str,
) -> Result<Installed> {
    let store = opts.store()?;
    let root = store.layout().global_project();
    let path = root.join(MANIFEST);
    fs::create_dir_all(&root)
        .map_err(|e| Error::io(format!("cannot create `{}`", root.display()), e))?;
    let text = match fs::read_regular_string(&path, crate::ops::MAX_MANIFEST_BYTES) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let t = manifest_template(None);
            fs::write_atomic(&path, t.as_bytes())
                .map_err(|e| Error::io(format!("cannot write `{}`", path.display()), e))?;
            t
        }
        Err(e) => return Err(Error::io(format!("cannot read `{}`", path.display()), e)),
    };
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| Error::with_source(format!("cannot edit `{}`", path.display()), e))?;
    doc["registries"][alias] = toml_edit::value(url);
    let mut entry = toml_edit::InlineTable::new();
    entry.insert("version", request.into());
    entry.insert("registry", alias.into());
    if doc.get("plugins").is_none() {
        doc["plugins"] = toml_edit::table();
    }
    doc["plugins"][name] = toml_edit::value(entry);
    let state = crate::engine::project::ProjectState::read(&root)?;
    let upgrade = match state.lock.as_ref() {
        Some((_, l)) if l.package(name).is_some() => Upgrade::Packages(vec![name.to_owned()]),
        _ => Upgrade::None,
    };
    apply_manifest(opts, Target::Global, &doc.to_string(), &upgrade)
}

/// `github:owner/repo[@tag]` or an archive URL: the plugin's name is the repository's (or the
/// file's, before its version), without an `aibox-plugin-` prefix.
fn release_source(arg: &str) -> Result<PluginSource> {
    let (url, tag) = match arg.strip_prefix("github:").and_then(|r| r.split_once('@')) {
        Some((repo, tag)) => (format!("github:{repo}"), Some(tag)),
        None => (arg.to_owned(), None),
    };
    let base = url.rsplit('/').next().unwrap_or_default();
    let stem = if url.starts_with("github:") {
        base.to_owned()
    } else {
        // `lint-1.2.0-linux-x86_64.tar.gz` → `lint`.
        let cut = base
            .char_indices()
            .find(|(i, c)| c.is_ascii_digit() && *i > 0 && base[..*i].ends_with(['-', '_']))
            .map_or(base.len(), |(i, _)| i - 1);
        base[..cut].to_owned()
    };
    let name = stem
        .strip_prefix(PREFIX)
        .unwrap_or(&stem)
        .to_ascii_lowercase();
    crate::manifest::validate_pack_name(&name).map_err(|r| {
        Error::msg(format!(
            "cannot tell the plugin's name from `{arg}`: `{name}` {r}"
        ))
    })?;
    let version = match tag {
        Some(t) => Some(
            semver::Version::parse(t.trim_start_matches('v')).map_err(|e| {
                Error::msg(format!("`{t}` is not a release version: {e}"))
                    .with_hint("give the release tag, like `github:acme/lint@v1.2.0`")
            })?,
        ),
        None => None,
    };
    Ok(PluginSource::Remote { url, name, version })
}

/// `$AIBOX_HOME/local-plugins`.
fn local_dir(home: &Path) -> PathBuf {
    home.join("local-plugins")
}

/// Make a plugin pack in `dest` around the executable `file` (`aibox-plugin-<name>`).
fn binary_pack(
    file: &Path,
    version: Option<&semver::Version>,
    dest: &Path,
) -> Result<PackManifest> {
    let file_name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let name = file_name.strip_prefix(PREFIX).ok_or_else(|| {
        Error::msg(format!(
            "`{}` is not named `{PREFIX}<name>`",
            file.display()
        ))
        .with_hint(format!(
            "rename it to `{PREFIX}<name>`; aibox runs it as `aibox <name>`"
        ))
    })?;
    crate::manifest::validate_pack_name(name)
        .map_err(|r| Error::msg(format!("`{name}` is not a plugin name: {r}")))?;
    let version = version
        .cloned()
        .unwrap_or_else(|| semver::Version::new(0, 0, 0));
    let text = format!(
        "[pack]\nname = \"{name}\"\nversion = \"{version}\"\nkind = \"plugin\"\ndescription = \"installed from a local executable\"\n\n[bin]\n{PREFIX}{name} = \"bin/{PREFIX}{name}\"\n"
    );
    let manifest = crate::manifest::parse_pack(&text, Path::new("pack.toml"))?;
    let bin = dest.join("bin");
    fs::create_dir_all(&bin).map_err(|e| Error::io("cannot create the pack", e))?;
    let target = bin.join(file_name);
    fs::copy(file, &target)
        .and_then(|_| {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))
        })
        .map_err(|e| Error::io(format!("cannot copy `{}`", file.display()), e))?;
    fs::write_atomic(&dest.join("pack.toml"), text.as_bytes())
        .map_err(|e| Error::io("cannot write pack.toml", e))?;
    Ok(manifest)
}

/// `aibox plugin uninstall <name> [--purge]`.
pub fn uninstall(opts: &Options, name: &str, purge: bool) -> Result<Option<Installed>> {
    let store = opts.store()?;
    let root = store.layout().global_project();
    let text = fs::read_regular_string(&root.join(MANIFEST), crate::ops::MAX_MANIFEST_BYTES)
        .unwrap_or_default();
    let manifest = crate::manifest::parse_project(&text, &root.join(MANIFEST)).ok();
    let installed = if manifest.is_some_and(|m| m.plugins.contains_key(name)) {
        let outcome = crate::ops::edit::remove(opts, Target::Global, &[name.to_owned()], false)?;
        let local = local_dir(store.layout().home()).join(name);
        if fs::exists(&local).unwrap_or(false) {
            store.discard_path(&local)?;
        }
        outcome.installed
    } else {
        let found = find(opts, Some(name));
        let mut e = Error::msg(format!(
            "the plugin `{name}` is not installed in your global profile"
        ));
        if let Some(f) = found.first() {
            e = e.with_hint(match f.origin {
                Origin::Project => {
                    "it comes from the project: remove it with `aibox remove` there".to_owned()
                }
                _ => format!("it is on PATH (`{}`): remove that file", f.path.display()),
            });
        }
        if !purge {
            return Err(e);
        }
        None
    };
    if purge {
        let dir = store.layout().plugin_data(name);
        if fs::exists(&dir).unwrap_or(false) {
            store.discard_path(&dir)?;
            opts.reporter
                .status("Purged", format!("the data of `{name}`"));
        }
    }
    Ok(installed)
}

/// One row of `aibox plugin list`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listed {
    pub name: String,
    pub version: Option<String>,
    pub origin: Origin,
    pub path: PathBuf,
    /// The locked source URL (`None`: on PATH).
    pub source: Option<String>,
    /// `signed by <fingerprint>` or `unsigned`.
    pub signature: String,
    pub description: Option<String>,
    /// The declared permissions as short phrases (`None` declared: the plugin defaults).
    pub permissions: Vec<String>,
    /// Whether another plugin of the same name comes first.
    pub shadowed: bool,
    /// Whether `aibox plugin disable` turned it off (kept, not run).
    pub disabled: bool,
}

impl Listed {
    /// Where it was found, for people.
    pub fn origin_text(&self) -> &'static str {
        self.origin.describe()
    }
}

/// Every plugin found, in lookup order.
pub fn list(opts: &Options) -> Vec<Listed> {
    let mut seen = std::collections::BTreeSet::new();
    let disabled = opts
        .home
        .layout()
        .map(crate::engine::disabled::read)
        .unwrap_or_default();
    find(opts, None)
        .into_iter()
        .map(|f| {
            let shadowed = !seen.insert(f.name.clone());
            let off = disabled.contains(&f.name);
            listed(f, shadowed, off)
        })
        .collect()
}

/// `aibox plugin disable NAME` (`enabled` false) and `enable NAME`: whether anything changed.
/// Disabling needs a plugin of that name to be found; enabling works for any name disabled.
pub fn set_enabled(opts: &Options, name: &str, enabled: bool) -> Result<bool> {
    let store = opts.store()?;
    let layout = store.layout();
    let known = crate::engine::disabled::is_disabled(layout, name)
        || crate::manifest::validate_pack_name(name).is_ok() && !find(opts, Some(name)).is_empty();
    if !known {
        return Err(
            Error::msg(format!("no plugin `{name}` is installed or on PATH"))
                .with_hint("`aibox plugin list` shows the plugins found"),
        );
    }
    let changed = crate::engine::disabled::set(layout, name, !enabled)?;
    if changed {
        crate::audit::record(
            layout,
            "plugin",
            None,
            serde_json::json!({"name": name, "enabled": enabled}),
            opts.reporter,
        );
    }
    Ok(changed)
}

fn listed(f: Found, shadowed: bool, disabled: bool) -> Listed {
    let permissions = describe_permissions(f.manifest.as_ref());
    Listed {
        version: f.pack.as_ref().map(|p| p.version.clone()),
        source: f.pack.as_ref().and_then(|p| p.source.clone()),
        signature: match f.pack.as_ref().and_then(|p| p.signer.clone()) {
            Some(s) => format!("signed by {s}"),
            None => "unsigned".into(),
        },
        description: f.description().map(str::to_owned),
        permissions,
        shadowed,
        disabled,
        name: f.name,
        origin: f.origin,
        path: f.path,
    }
}

/// Short phrases for a plugin's permissions.
pub fn describe_permissions(manifest: Option<&PackManifest>) -> Vec<String> {
    let Some(p) = manifest.and_then(|m| m.permissions.as_ref()) else {
        return vec!["default: project read-only, own data directory, no network".into()];
    };
    crate::engine::escalation::permission_phrases(p)
}

/// One row of `aibox plugin verify`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verified {
    pub name: String,
    pub version: String,
    pub origin: Origin,
    /// Whether every file still hashes to the tree the plugin was locked with.
    pub intact: bool,
    /// What is wrong, when not intact.
    pub problem: Option<String>,
    /// The signature status under your trust policy (from the signatures kept in the store).
    pub signature: String,
}

/// `aibox plugin verify [name…]`: rehash each installed plugin's tree and judge its kept
/// signatures under the trust policy. Plugins on PATH are not aibox's to verify.
pub fn verify(opts: &Options, names: &[String]) -> Result<Vec<Verified>> {
    let store = opts.store()?;
    let policy = crate::engine::verdicts::policy(None, opts.reporter)?;
    let mut out = Vec::new();
    for f in find(opts, None) {
        let Some(pack) = &f.pack else { continue };
        if !names.is_empty() && !names.contains(&f.name) {
            continue;
        }
        let dir = store.layout().pack(&pack.store);
        let (intact, problem) = match crate::store::ingest::hash_stored_tree(&dir) {
            Ok(h) if h == pack.tree => (true, None),
            Ok(h) => (
                false,
                Some(format!("its files hash to {h}, not {}", pack.tree)),
            ),
            Err(e) => (false, Some(e.to_string())),
        };
        let signature = match (&pack.digest, &pack.source) {
            (Some(digest), Some(source)) => {
                let kept = store.signatures(digest)?.unwrap_or_default();
                crate::engine::verdicts::status(&policy, source, digest, &kept)
            }
            _ => "not signable (a local or `dir:` source)".into(),
        };
        out.push(Verified {
            name: f.name.clone(),
            version: pack.version.clone(),
            origin: f.origin,
            intact,
            problem,
            signature,
        });
    }
    for n in names {
        if !out.iter().any(|v| &v.name == n) {
            return Err(Error::msg(format!("no installed plugin `{n}`"))
                .with_hint("`aibox plugin list` shows the plugins found"));
        }
    }
    Ok(out)
}
