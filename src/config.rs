//! The user configuration, `~/.config/aibox/config.toml` (`$XDG_CONFIG_HOME/aibox/`, or the file
//! `AIBOX_CONFIG` names): the trust policy and trusted keys, per-registry settings and
//! credentials, and update checks. Every key is documented in docs/configuration.md. Unknown
//! keys are errors with a "did you mean"; a file of an older `version` is read and migrated.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use crate::fs::{self, Durability};
use crate::manifest::{ManifestError, did_you_mean};
use crate::trust::Level;

/// The configuration format this aibox writes.
pub const VERSION: i64 = 2;

const TOP: &[&str] = &[
    "version",
    "trust",
    "registries",
    "mirrors",
    "update",
    "policy",
    "store",
    "audit",
];
const AUDIT: &[&str] = &["max-size", "keep"];
const POLICY: &[&str] = &["rego"];
const TRUST: &[&str] = &["policy", "allow-dir", "keys", "sigstore-root"];
const KEY: &[&str] = &["path", "fingerprint", "registry"];
const REGISTRY: &[&str] = &[
    "url",
    "insecure",
    "username",
    "password-env",
    "credential-helper",
    "token-service",
];
const UPDATE: &[&str] = &["check", "registry"];
const STORE: &[&str] = &["durability"];
/// Version 1: flat keys.
const TOP_V1: &[&str] = &["version", "require-signed", "trusted-keys"];

/// The whole user configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// Where it was read from (or would be written to).
    pub path: PathBuf,
    /// The version the file had (`None`: no file).
    pub file_version: Option<i64>,
    pub trust: TrustConfig,
    pub registries: BTreeMap<String, RegistryConfig>,
    /// Sources `sync` fetches locked packs from first (`oci-layout:<dir>` or `oci://…`).
    pub mirrors: Vec<String>,
    pub update: UpdateConfig,
    /// A Rego policy evaluated before packs are installed and plugins run (`[policy] rego`).
    pub policy_rego: Option<PathBuf>,
    pub store: StoreConfig,
    pub audit: AuditConfig,
}

/// `[audit]`: when the audit log is rotated (store-format/SPEC.md §11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// `max-size`: the size in bytes past which `audit.jsonl` is rotated.
    pub max_size: u64,
    /// `keep`: how many rotated files (`audit.1.jsonl` …) are kept.
    pub keep: u32,
}

/// The audit log's default rotation size: 10 MiB.
pub const AUDIT_MAX_SIZE: u64 = 10 << 20;
/// The default number of rotated audit files kept.
pub const AUDIT_KEEP: u32 = 5;

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            max_size: AUDIT_MAX_SIZE,
            keep: AUDIT_KEEP,
        }
    }
}

/// A size: a whole number of bytes, or one with a `KiB`, `MiB` or `GiB` suffix (`512KiB`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, ""),
    };
    let shift = match unit.trim() {
        "" | "B" => 0,
        "KiB" => 10,
        "MiB" => 20,
        "GiB" => 30,
        _ => {
            return Err(format!(
                "`{text}` is not a size: write bytes (`1048576`) or `512KiB`, `10MiB`, `1GiB`"
            ));
        }
    };
    let n: u64 = digits.parse().map_err(|_| {
        format!("`{text}` is not a size: write bytes (`1048576`) or `512KiB`, `10MiB`, `1GiB`")
    })?;
    n.checked_mul(1 << shift)
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{text}` is not a size between 1 byte and 16 EiB"))
}

/// A number of rotated audit files to keep: 1 to 100.
pub fn parse_keep(text: &str) -> Result<u32, String> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=100).contains(n))
        .ok_or_else(|| format!("`audit.keep` is a number from 1 to 100, not `{text}`"))
}

/// `[store]`: how the store writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreConfig {
    /// `durability`: `None` when not set (full).
    pub durability: Option<Durability>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustConfig {
    /// `None`: not set (the default level applies).
    pub policy: Option<Level>,
    pub allow_dir: bool,
    pub keys: Vec<KeyConfig>,
    /// `sigstore-root`: a Sigstore `trusted_root.json` used instead of the built-in
    /// public-good root (absolute, or relative to the configuration file).
    pub sigstore_root: Option<PathBuf>,
}

/// A trusted public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyConfig {
    pub path: PathBuf,
    pub fingerprint: String,
    /// `None`: trusted for every registry.
    pub registry: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryConfig {
    pub url: String,
    pub insecure: bool,
    pub username: Option<String>,
    /// The environment variable holding the password or token (never the secret itself).
    pub password_env: Option<String>,
    pub credential_helper: Option<String>,
    /// The `host[:port]` of the registry's token service when it is not the registry's own
    /// host: the one other host its credentials may be sent to (in a token request).
    pub token_service: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateConfig {
    pub check: bool,
    pub registry: Option<String>,
}

impl Default for UpdateConfig {
    fn default() -> Self {
        UpdateConfig {
            check: true,
            registry: None,
        }
    }
}

/// The configuration file's path: `AIBOX_CONFIG`, else `$XDG_CONFIG_HOME/aibox/config.toml`,
/// else `~/.config/aibox/config.toml`.
pub fn path() -> Option<PathBuf> {
    if let Some(p) = crate::env_vars::var_os(crate::env_vars::CONFIG).filter(|p| !p.is_empty()) {
        return std::path::absolute(PathBuf::from(p)).ok();
    }
    if let Some(x) = crate::env_vars::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
    {
        return Some(x.join("aibox/config.toml"));
    }
    crate::env_vars::var_os("HOME")
        .map(PathBuf::from)
        .filter(|h| h.is_absolute())
        .map(|h| h.join(".config/aibox/config.toml"))
}

/// The configuration as this process read it, with the path it was read from: every part of
/// one command sees the same configuration (a file edited while a command runs cannot change
/// its mind halfway), and it is read once. `Config::save` refreshes it.
type Loaded = Option<(Option<PathBuf>, Result<Config, ManifestError>)>;

fn loaded() -> &'static std::sync::Mutex<Loaded> {
    static LOADED: std::sync::OnceLock<std::sync::Mutex<Loaded>> = std::sync::OnceLock::new();
    LOADED.get_or_init(Default::default)
}

/// The configuration (no file: the defaults), read once per command. An error is the parse
/// error, every time it is asked for: callers deciding anything about security fail closed
/// on it.
pub fn load() -> Result<Config, ManifestError> {
    let path = path();
    let mut cached = loaded().lock().expect("configuration lock");
    if let Some((p, result)) = cached.as_ref()
        && *p == path
    {
        return result.clone();
    }
    let result = read(path.clone());
    *cached = Some((path, result.clone()));
    result
}

/// Read the configuration at `path` from disk.
fn read(path: Option<PathBuf>) -> Result<Config, ManifestError> {
    let Some(path) = path else {
        return Ok(Config::default());
    };
    let text = match fs::read_regular_string(&path, 1 << 20) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Config {
                path,
                ..Config::default()
            });
        }
        Err(e) => {
            return Err(ManifestError {
                path: path.clone(),
                line: 1,
                column: 1,
                message: e.to_string(),
                hints: Vec::new(),
            });
        }
    };
    parse(&text, &path)
}

struct P<'a> {
    text: &'a str,
    path: &'a Path,
}

type Value<'i> = toml::Spanned<DeValue<'i>>;

impl P<'_> {
    fn err(&self, span: std::ops::Range<usize>, message: impl Into<String>) -> ManifestError {
        ManifestError::at(self.path, self.text, span.start, message)
    }

    fn keys(&self, table: &DeTable<'_>, allowed: &[&str], at: &str) -> Result<(), ManifestError> {
        for (k, _) in table.iter() {
            let name = k.get_ref();
            if !allowed.contains(&name.as_ref()) {
                let mut message = format!("unknown key `{name}` {at}");
                if let Some(s) = did_you_mean(name, allowed.iter().copied()) {
                    message.push_str(&format!("; did you mean `{s}`?"));
                }
                return Err(self.err(k.span(), message).with_hint(
                    "the keys are documented in docs/configuration.md; `aibox config list` shows the current values",
                ));
            }
        }
        Ok(())
    }

    fn table<'v, 'i>(
        &self,
        v: &'v Value<'i>,
        what: &str,
    ) -> Result<&'v DeTable<'i>, ManifestError> {
        v.get_ref()
            .as_table()
            .ok_or_else(|| self.err(v.span(), format!("`{what}` must be a table")))
    }

    fn string(&self, v: &Value<'_>, what: &str) -> Result<String, ManifestError> {
        v.get_ref()
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| self.err(v.span(), format!("`{what}` must be a string")))
    }

    fn bool(&self, v: &Value<'_>, what: &str) -> Result<bool, ManifestError> {
        v.get_ref()
            .as_bool()
            .ok_or_else(|| self.err(v.span(), format!("`{what}` must be `true` or `false`")))
    }
}

/// Parse configuration text read from `path`.
pub fn parse(text: &str, path: &Path) -> Result<Config, ManifestError> {
    let doc = DeTable::parse(text).map_err(|e| ManifestError::from_toml(path, text, &e))?;
    let root = doc.get_ref();
    let p = P { text, path };
    let version = match root.get("version") {
        None => VERSION,
        Some(v) => match v.get_ref() {
            DeValue::Integer(i) => i.as_str().parse::<i64>().unwrap_or(-1),
            _ => return Err(p.err(v.span(), "`version` must be a number")),
        },
    };
    let mut config = Config {
        path: path.to_owned(),
        file_version: Some(version),
        ..Config::default()
    };
    match version {
        1 => parse_v1(&p, root, &mut config)?,
        VERSION => parse_v2(&p, root, &mut config)?,
        other => {
            return Err(ManifestError::at(
                path,
                text,
                0,
                format!("configuration version {other} is not supported (this aibox reads 1 and {VERSION})"),
            )
            .with_hint("it was written by a newer aibox: install a newer aibox"));
        }
    }
    Ok(config)
}

/// Version 1 (the first format): `require-signed = true|false` and `trusted-keys = [paths]`
/// at the top. Read as `trust.policy = "enterprise"|"dev"` and one `[[trust.keys]]` each.
fn parse_v1(p: &P<'_>, root: &DeTable<'_>, config: &mut Config) -> Result<(), ManifestError> {
    p.keys(root, TOP_V1, "in a version 1 configuration")?;
    if let Some(v) = root.get("require-signed") {
        config.trust.policy = Some(if p.bool(v, "require-signed")? {
            Level::Enterprise
        } else {
            Level::Dev
        });
    }
    if let Some(v) = root.get("trusted-keys") {
        let items = v
            .get_ref()
            .as_array()
            .ok_or_else(|| p.err(v.span(), "`trusted-keys` must be an array of paths"))?;
        for item in items.iter() {
            let path = PathBuf::from(p.string(item, "trusted-keys")?);
            let key = crate::trust::PublicKey::load(&path)
                .map_err(|e| p.err(item.span(), format!("cannot migrate this key: {e}")))?;
            config.trust.keys.push(KeyConfig {
                path,
                fingerprint: key.fingerprint().to_owned(),
                registry: None,
            });
        }
    }
    Ok(())
}

fn parse_v2(p: &P<'_>, root: &DeTable<'_>, config: &mut Config) -> Result<(), ManifestError> {
    p.keys(root, TOP, "at the top of the configuration")?;
    if let Some(t) = root.get("trust") {
        let t = p.table(t, "trust")?;
        p.keys(t, TRUST, "in `[trust]`")?;
        if let Some(v) = t.get("policy") {
            let s = p.string(v, "trust.policy")?;
            config.trust.policy = Some(Level::parse(&s).ok_or_else(|| {
                p.err(v.span(), format!("unknown policy `{s}`"))
                    .with_hint("use `enterprise`, `dev` or `minimal`")
            })?);
        }
        if let Some(v) = t.get("allow-dir") {
            config.trust.allow_dir = p.bool(v, "trust.allow-dir")?;
        }
        if let Some(v) = t.get("sigstore-root") {
            let file = PathBuf::from(p.string(v, "trust.sigstore-root")?);
            let dir = p.path.parent().unwrap_or(Path::new("/"));
            config.trust.sigstore_root = Some(dir.join(file));
        }
        if let Some(v) = t.get("keys") {
            let items = v.get_ref().as_array().ok_or_else(|| {
                p.err(
                    v.span(),
                    "`trust.keys` must be an array of tables (`[[trust.keys]]`)",
                )
            })?;
            for item in items.iter() {
                let k = p.table(item, "trust.keys")?;
                p.keys(k, KEY, "in `[[trust.keys]]`")?;
                let get = |name: &str| -> Result<Option<String>, ManifestError> {
                    k.get(name)
                        .map(|v| p.string(v, &format!("trust.keys.{name}")))
                        .transpose()
                };
                let path = get("path")?
                    .ok_or_else(|| p.err(item.span(), "a trusted key has no `path`"))?;
                let fingerprint = get("fingerprint")?
                    .ok_or_else(|| p.err(item.span(), "a trusted key has no `fingerprint`"))?;
                config.trust.keys.push(KeyConfig {
                    path: PathBuf::from(path),
                    fingerprint,
                    registry: get("registry")?,
                });
            }
        }
    }
    if let Some(r) = root.get("registries") {
        for (name, v) in p.table(r, "registries")?.iter() {
            let at = format!("registries.{}", name.get_ref());
            let t = p.table(v, &at)?;
            p.keys(t, REGISTRY, &format!("in `[{at}]`"))?;
            let s = |key: &str| -> Result<Option<String>, ManifestError> {
                t.get(key)
                    .map(|v| p.string(v, &format!("{at}.{key}")))
                    .transpose()
            };
            let url = s("url")?.ok_or_else(|| p.err(v.span(), format!("`[{at}]` has no `url`")))?;
            config.registries.insert(
                name.get_ref().to_string(),
                RegistryConfig {
                    url,
                    insecure: t
                        .get("insecure")
                        .map(|v| p.bool(v, "insecure"))
                        .transpose()?
                        .unwrap_or(false),
                    username: s("username")?,
                    password_env: s("password-env")?,
                    credential_helper: s("credential-helper")?,
                    token_service: match t.get("token-service") {
                        None => None,
                        Some(v) => {
                            let host = p.string(v, &format!("{at}.token-service"))?;
                            check_token_service(&host).map_err(|e| {
                                p.err(v.span(), format!("`{at}.token-service` {e}"))
                                    .with_hint("write the token service's host, like `token-service = \"auth.docker.io\"` (with `:port` if it has one)")
                            })?;
                            Some(host)
                        }
                    },
                },
            );
        }
    }
    if let Some(v) = root.get("mirrors") {
        let items = v
            .get_ref()
            .as_array()
            .ok_or_else(|| p.err(v.span(), "`mirrors` must be an array of sources"))?;
        for item in items.iter() {
            let m = p.string(item, "mirrors")?;
            check_mirror(&m).map_err(|e| p.err(item.span(), e))?;
            config.mirrors.push(m);
        }
    }
    if let Some(v) = root.get("policy") {
        let t = p.table(v, "policy")?;
        p.keys(t, POLICY, "in `[policy]`")?;
        if let Some(v) = t.get("rego") {
            let file = PathBuf::from(p.string(v, "policy.rego")?);
            let dir = p.path.parent().unwrap_or(Path::new("/"));
            config.policy_rego = Some(dir.join(file));
        }
    }
    if let Some(v) = root.get("store") {
        let t = p.table(v, "store")?;
        p.keys(t, STORE, "in `[store]`")?;
        if let Some(v) = t.get("durability") {
            let text = p.string(v, "store.durability")?;
            config.store.durability = Some(
                parse_durability(&text)
                    .map_err(|e| p.err(v.span(), e).with_hint(DURABILITY_HINT))?,
            );
        }
    }
    if let Some(v) = root.get("audit") {
        let t = p.table(v, "audit")?;
        p.keys(t, AUDIT, "in `[audit]`")?;
        if let Some(v) = t.get("max-size") {
            let text = match v.get_ref() {
                DeValue::Integer(i) => i.as_str().to_owned(),
                _ => p.string(v, "audit.max-size")?,
            };
            config.audit.max_size = parse_size(&text).map_err(|e| p.err(v.span(), e))?;
        }
        if let Some(v) = t.get("keep") {
            let text = match v.get_ref() {
                DeValue::Integer(i) => i.as_str().to_owned(),
                _ => p.string(v, "audit.keep")?,
            };
            config.audit.keep = parse_keep(&text).map_err(|e| p.err(v.span(), e))?;
        }
    }
    if let Some(u) = root.get("update") {
        let t = p.table(u, "update")?;
        p.keys(t, UPDATE, "in `[update]`")?;
        if let Some(v) = t.get("check") {
            config.update.check = p.bool(v, "update.check")?;
        }
        if let Some(v) = t.get("registry") {
            config.update.registry = Some(p.string(v, "update.registry")?);
        }
    }
    Ok(())
}

impl Config {
    /// The URL of the registry named `default` in the user configuration
    /// (`aibox config set registries.default.url <url>`): where `install`, `x` and
    /// `plugin install` take packs from when nothing else names a registry, and what `init`
    /// writes into a new `aibox.toml`.
    pub fn default_registry(&self) -> Option<&str> {
        self.registries.get("default").map(|r| r.url.as_str())
    }

    /// Render as version 2 TOML (what `aibox config` writes, e.g. after migrating version 1).
    pub fn render(&self) -> String {
        let mut doc = toml_edit::DocumentMut::new();
        doc["version"] = toml_edit::value(VERSION);
        let mut trust = toml_edit::Table::new();
        if let Some(level) = self.trust.policy {
            trust["policy"] = toml_edit::value(level.as_str());
        }
        if self.trust.allow_dir {
            trust["allow-dir"] = toml_edit::value(true);
        }
        if let Some(root) = &self.trust.sigstore_root {
            trust["sigstore-root"] = toml_edit::value(root.display().to_string());
        }
        if !self.trust.keys.is_empty() {
            let mut keys = toml_edit::ArrayOfTables::new();
            for k in &self.trust.keys {
                let mut t = toml_edit::Table::new();
                t["path"] = toml_edit::value(k.path.display().to_string());
                t["fingerprint"] = toml_edit::value(k.fingerprint.as_str());
                if let Some(r) = &k.registry {
                    t["registry"] = toml_edit::value(r.as_str());
                }
                keys.push(t);
            }
            trust.insert("keys", toml_edit::Item::ArrayOfTables(keys));
        }
        if !trust.is_empty() {
            doc["trust"] = toml_edit::Item::Table(trust);
        }
        if !self.registries.is_empty() {
            let mut regs = toml_edit::Table::new();
            regs.set_implicit(true);
            for (name, r) in &self.registries {
                let mut t = toml_edit::Table::new();
                t["url"] = toml_edit::value(r.url.as_str());
                if r.insecure {
                    t["insecure"] = toml_edit::value(true);
                }
                for (k, v) in [
                    ("username", &r.username),
                    ("password-env", &r.password_env),
                    ("credential-helper", &r.credential_helper),
                    ("token-service", &r.token_service),
                ] {
                    if let Some(v) = v {
                        t[k] = toml_edit::value(v.as_str());
                    }
                }
                regs[name.as_str()] = toml_edit::Item::Table(t);
            }
            doc["registries"] = toml_edit::Item::Table(regs);
        }
        if !self.mirrors.is_empty() {
            let mut list = toml_edit::Array::new();
            for m in &self.mirrors {
                list.push(m.as_str());
            }
            doc["mirrors"] = toml_edit::value(list);
        }
        if self.update != UpdateConfig::default() {
            let mut u = toml_edit::Table::new();
            u["check"] = toml_edit::value(self.update.check);
            if let Some(r) = &self.update.registry {
                u["registry"] = toml_edit::value(r.as_str());
            }
            doc["update"] = toml_edit::Item::Table(u);
        }
        if let Some(rego) = &self.policy_rego {
            let mut t = toml_edit::Table::new();
            t["rego"] = toml_edit::value(rego.display().to_string());
            doc["policy"] = toml_edit::Item::Table(t);
        }
        if let Some(d) = self.store.durability {
            let mut t = toml_edit::Table::new();
            t["durability"] = toml_edit::value(d.as_str());
            doc["store"] = toml_edit::Item::Table(t);
        }
        if self.audit != AuditConfig::default() {
            let mut t = toml_edit::Table::new();
            t["max-size"] =
                toml_edit::value(i64::try_from(self.audit.max_size).unwrap_or(i64::MAX));
            t["keep"] = toml_edit::value(i64::from(self.audit.keep));
            doc["audit"] = toml_edit::Item::Table(t);
        }
        format!(
            "# aibox user configuration; `aibox config` edits it, docs/configuration.md documents it.\n{doc}"
        )
    }

    /// Write the configuration (as version 2), creating its directory.
    pub fn save(&self) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::write_atomic(&self.path, self.render().as_bytes())?;
        let mut cached = loaded().lock().expect("configuration lock");
        if cached
            .as_ref()
            .is_some_and(|(p, _)| p.as_deref() == Some(&self.path))
        {
            *cached = Some((Some(self.path.clone()), Ok(self.clone())));
        }
        Ok(())
    }

    /// Every setting as `key = value` pairs, in a fixed order (for `aibox config list`).
    pub fn entries(&self) -> Vec<(String, String)> {
        let mut out = vec![
            (
                "trust.policy".to_owned(),
                self.trust
                    .policy
                    .unwrap_or(DEFAULT_LEVEL)
                    .as_str()
                    .to_owned(),
            ),
            ("trust.allow-dir".into(), self.trust.allow_dir.to_string()),
        ];
        if let Some(root) = &self.trust.sigstore_root {
            out.push(("trust.sigstore-root".into(), root.display().to_string()));
        }
        for (i, k) in self.trust.keys.iter().enumerate() {
            out.push((
                format!("trust.keys.{i}"),
                format!(
                    "{} ({}{})",
                    k.fingerprint,
                    k.path.display(),
                    k.registry
                        .as_deref()
                        .map(|r| format!(", for {r}"))
                        .unwrap_or_default()
                ),
            ));
        }
        for (name, r) in &self.registries {
            out.push((format!("registries.{name}.url"), r.url.clone()));
            out.push((
                format!("registries.{name}.insecure"),
                r.insecure.to_string(),
            ));
            for (k, v) in [
                ("username", &r.username),
                ("password-env", &r.password_env),
                ("credential-helper", &r.credential_helper),
                ("token-service", &r.token_service),
            ] {
                if let Some(v) = v {
                    out.push((format!("registries.{name}.{k}"), v.clone()));
                }
            }
        }
        out.push(("mirrors".into(), self.mirrors.join(" ")));
        out.push(("update.check".into(), self.update.check.to_string()));
        if let Some(r) = &self.update.registry {
            out.push(("update.registry".into(), r.clone()));
        }
        if let Some(rego) = &self.policy_rego {
            out.push(("policy.rego".into(), rego.display().to_string()));
        }
        out.push((
            "store.durability".into(),
            self.store.durability.unwrap_or_default().as_str().into(),
        ));
        out.push(("audit.max-size".into(), self.audit.max_size.to_string()));
        out.push(("audit.keep".into(), self.audit.keep.to_string()));
        out
    }
}

/// What to do about a durability value that is neither.
pub const DURABILITY_HINT: &str = "use `full` (the default: a crash of the machine never damages the store) or `ephemeral` (nothing is flushed: for throwaway machines such as CI runners; after a crash run `aibox store verify --repair`)";

/// A `store.durability` or `AIBOX_DURABILITY` value.
pub fn parse_durability(text: &str) -> Result<Durability, String> {
    Durability::parse(text).ok_or_else(|| {
        format!(
            "durability `{text}` is not one of {}",
            Durability::VALUES
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// The durability in force: `AIBOX_DURABILITY` when set, else the configuration's
/// `store.durability`, else full. A configuration that cannot be read counts as unset here
/// (the commands that read it report it); an `AIBOX_DURABILITY` that is neither value is an
/// error.
pub fn durability() -> Result<Durability, String> {
    match crate::env_vars::var(crate::env_vars::DURABILITY) {
        Ok(v) if !v.trim().is_empty() => {
            parse_durability(&v).map_err(|e| format!("`AIBOX_DURABILITY`: {e}"))
        }
        _ => Ok(load()
            .ok()
            .and_then(|c| c.store.durability)
            .unwrap_or_default()),
    }
}

/// The trust level when the configuration sets none.
pub const DEFAULT_LEVEL: Level = Level::Dev;

/// Whether `source` can be a mirror: an OCI image layout or an OCI registry (content is
/// checked against the lock's digests and tree hashes, so only artifact sources qualify).
pub fn check_mirror(source: &str) -> Result<(), String> {
    // The URL itself is parsed (and refused there) when the mirror is opened.
    let rest = source
        .strip_prefix("oci-layout:")
        .or_else(|| source.strip_prefix("oci://"));
    if rest.is_some_and(|r| !r.is_empty()) {
        return Ok(());
    }
    Err(format!(
        "`{source}` cannot be a mirror: use `oci-layout:<dir>` or `oci://host/path`"
    ))
}

/// Why `value` is not a token service's `host[:port]` (no scheme, path or user name).
pub fn check_token_service(value: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("`{value}` is not a host: {why}"));
    if value.is_empty() {
        return bad("it is empty");
    }
    if value.contains("://")
        || value.contains(['/', '@', '?', '#'])
        || value.contains(char::is_whitespace)
    {
        return bad("write only `host` or `host:port`, without a scheme, path or user name");
    }
    match url::Url::parse(&format!("https://{value}/")) {
        Ok(u) if u.host().is_some() => Ok(()),
        Ok(_) => bad("it names no host"),
        Err(e) => bad(&e.to_string()),
    }
}
