//! `aibox config get`, `set`, `list`, `path` and `init`: reading and editing the user
//! configuration (src/config.rs) by dotted keys, and writing a policy template.

use crate::config::{self, Config, RegistryConfig};
use crate::error::{Error, Result};
use crate::fs;
use crate::trust::Level;

/// The keys `config get`/`set` know (`<name>` is a registry name).
pub const KEYS: &[&str] = &[
    "trust.policy",
    "trust.allow-dir",
    "trust.sigstore-root",
    "mirrors",
    "update.check",
    "update.registry",
    "policy.rego",
    "store.durability",
    "audit.max-size",
    "audit.keep",
    "registries.<name>.url",
    "registries.<name>.insecure",
    "registries.<name>.username",
    "registries.<name>.password-env",
    "registries.<name>.credential-helper",
    "registries.<name>.token-service",
];

fn unknown(key: &str) -> Error {
    let mut e = Error::msg(format!("unknown configuration key `{key}`"));
    if let Some(s) = crate::manifest::did_you_mean(key, KEYS.iter().copied()) {
        e = Error::msg(format!(
            "unknown configuration key `{key}`; did you mean `{s}`?"
        ));
    }
    e.with_hint(format!(
        "the keys are {}; trusted keys are managed with `aibox trust add` and `aibox trust remove`",
        KEYS.iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

fn boolean(key: &str, value: &str) -> Result<bool> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::msg(format!(
            "`{key}` is `true` or `false`, not `{value}`"
        ))),
    }
}

/// Whether `key` is one of [`KEYS`] (a registry's fields under any name).
fn is_known(key: &str) -> bool {
    if KEYS.contains(&key) {
        return true;
    }
    key.strip_prefix("registries.")
        .and_then(|rest| rest.rsplit_once('.'))
        .is_some_and(|(name, field)| {
            !name.is_empty()
                && !name.contains('.')
                && KEYS.contains(&format!("registries.<name>.{field}").as_str())
        })
}

/// `aibox config get KEY`: its value; a known key that is not set is an error saying so.
pub fn get(key: &str) -> Result<String> {
    let config = config::load()?;
    config
        .entries()
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .ok_or_else(|| {
            if is_known(key) {
                Error::msg(format!("`{key}` is not set")).with_hint(format!(
                    "`aibox config set {key} VALUE` sets it; `aibox config list` shows what is set"
                ))
            } else {
                unknown(key)
            }
        })
}

/// `aibox config set KEY ""`: back to the default (a registry without its url is removed).
fn unset(config: &mut Config, key: &str) -> Result<()> {
    match key {
        "trust.policy" => config.trust.policy = None,
        "trust.allow-dir" => config.trust.allow_dir = false,
        "trust.sigstore-root" => config.trust.sigstore_root = None,
        "mirrors" => config.mirrors.clear(),
        "update.check" => config.update.check = true,
        "update.registry" => config.update.registry = None,
        "policy.rego" => config.policy_rego = None,
        "store.durability" => config.store.durability = None,
        "audit.max-size" => config.audit.max_size = config::AUDIT_MAX_SIZE,
        "audit.keep" => config.audit.keep = config::AUDIT_KEEP,
        _ if is_known(key) => {
            let (name, field) = key
                .strip_prefix("registries.")
                .and_then(|rest| rest.rsplit_once('.'))
                .expect("a known registry key");
            if let Some(entry) = config.registries.get_mut(name) {
                match field {
                    "url" => {
                        config.registries.remove(name);
                    }
                    "insecure" => entry.insecure = false,
                    "username" => entry.username = None,
                    "password-env" => entry.password_env = None,
                    "credential-helper" => entry.credential_helper = None,
                    _ => entry.token_service = None,
                }
            }
        }
        _ => return Err(unknown(key)),
    }
    Ok(())
}

/// `aibox config set KEY VALUE`; an empty VALUE unsets the key. A version 1 file is written
/// back as version 2.
pub fn set(key: &str, value: &str) -> Result<Config> {
    let mut config = config::load()?;
    if config.path.as_os_str().is_empty() {
        return Err(Error::msg(
            "no place for the configuration: set `HOME` or `AIBOX_CONFIG`",
        ));
    }
    if value.is_empty() {
        unset(&mut config, key)?;
        config
            .save()
            .map_err(|e| Error::io(format!("cannot write `{}`", config.path.display()), e))?;
        return Ok(config);
    }
    match key {
        "trust.policy" => {
            config.trust.policy = Some(Level::parse(value).ok_or_else(|| {
                Error::msg(format!("unknown policy `{value}`"))
                    .with_hint("use `enterprise`, `dev` or `minimal`")
            })?);
        }
        "trust.allow-dir" => config.trust.allow_dir = boolean(key, value)?,
        "trust.sigstore-root" => {
            let path = std::path::absolute(value)
                .map_err(|e| Error::io(format!("cannot resolve `{value}`"), e))?;
            crate::trust::sigstore::TrustedRoot::load(Some(&path))
                .map_err(|e| Error::msg(e.to_string()))?;
            config.trust.sigstore_root = Some(path);
        }
        "mirrors" => {
            let list: Vec<String> = value.split_whitespace().map(str::to_owned).collect();
            for m in &list {
                config::check_mirror(m).map_err(Error::msg)?;
            }
            config.mirrors = list;
        }
        "update.check" => config.update.check = boolean(key, value)?,
        "store.durability" => {
            config.store.durability = Some(
                config::parse_durability(value)
                    .map_err(|e| Error::msg(e).with_hint(config::DURABILITY_HINT))?,
            );
        }
        "audit.max-size" => {
            config.audit.max_size =
                config::parse_size(value).map_err(|e| Error::msg(format!("`{key}`: {e}")))?;
        }
        "audit.keep" => config.audit.keep = config::parse_keep(value).map_err(Error::msg)?,
        "update.registry" => config.update.registry = Some(value.to_owned()),
        "policy.rego" => {
            let path = std::path::absolute(value)
                .map_err(|e| Error::io(format!("cannot resolve `{value}`"), e))?;
            crate::engine::rego::Policy::load(&path)?;
            config.policy_rego = Some(path);
        }
        _ => {
            let Some((name, field)) = key
                .strip_prefix("registries.")
                .and_then(|rest| rest.rsplit_once('.'))
            else {
                return Err(unknown(key));
            };
            if name.is_empty() || name.contains('.') {
                return Err(unknown(key));
            }
            let entry = config
                .registries
                .entry(name.to_owned())
                .or_insert_with(RegistryConfig::default);
            match field {
                "url" => {
                    if value.starts_with("oci://") {
                        crate::registry::transfer::url::RegistryUrl::parse(value)?;
                    }
                    entry.url = value.to_owned();
                }
                "insecure" => entry.insecure = boolean(key, value)?,
                "username" => entry.username = Some(value.to_owned()),
                "password-env" => {
                    crate::manifest::check_env_name(value).map_err(|reason| {
                        Error::msg(format!("`{value}` is not an environment variable name: {reason}"))
                            .with_hint("`password-env` names the variable that holds the password, never the password itself")
                    })?;
                    entry.password_env = Some(value.to_owned());
                }
                "credential-helper" => entry.credential_helper = Some(value.to_owned()),
                "token-service" => {
                    config::check_token_service(value).map_err(|e| {
                        Error::msg(format!("`{key}`: {e}")).with_hint(
                            "write the host of the registry's token service, like `auth.docker.io`",
                        )
                    })?;
                    entry.token_service = Some(value.to_owned());
                }
                _ => return Err(unknown(key)),
            }
            if entry.url.is_empty() {
                return Err(
                    Error::msg(format!("registry `{name}` has no url yet")).with_hint(format!(
                        "set it first: `aibox config set registries.{name}.url oci://host/base`"
                    )),
                );
            }
        }
    }
    config
        .save()
        .map_err(|e| Error::io(format!("cannot write `{}`", config.path.display()), e))?;
    Ok(config)
}

/// The text of a policy template.
pub fn template(level: Level) -> String {
    let (what, allow_dir) = match level {
        Level::Enterprise => (
            "Only packs signed by a key trusted for their registry are installed; unsigned,\n# untrusted or unverifiable packs, and `dir:` packs, are refused.",
            false,
        ),
        Level::Dev => (
            "Packs not signed by a trusted key are installed with a warning.",
            true,
        ),
        Level::Minimal => (
            "Signatures are not checked; every pack is still verified against its locked digests.",
            true,
        ),
    };
    format!(
        "# aibox user configuration (docs/configuration.md documents every key).\n\
         version = {}\n\n\
         [trust]\n\
         # {what}\n\
         policy = \"{}\"\n\
         # Allow `dir:` packs (local, never signed) under the enterprise policy: development only.\n\
         allow-dir = {allow_dir}\n\
         # Trusted keys: `aibox trust add KEY.pub [--registry URL]` adds `[[trust.keys]]` entries.\n\n\
         [update]\n\
         check = true\n",
        config::VERSION,
        level.as_str(),
    )
}

/// `aibox config init --template <level>`: write the template (refusing to overwrite unless `force`;
/// trusted keys already configured are kept).
pub fn init(level: Level, force: bool) -> Result<Config> {
    let existing = config::load()?;
    let path = existing.path.clone();
    if path.as_os_str().is_empty() {
        return Err(Error::msg(
            "no place for the configuration: set `HOME` or `AIBOX_CONFIG`",
        ));
    }
    if existing.file_version.is_some() && !force {
        return Err(Error::msg(format!("`{}` exists", path.display()))
            .with_hint("pass `--force` to replace its policy (trusted keys and registries are kept), or edit it with `aibox config set`"));
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create `{}`", dir.display()), e))?;
    }
    let mut config = config::parse(&template(level), &path)?;
    config.trust.keys = existing.trust.keys;
    config.registries = existing.registries;
    let text = if config.trust.keys.is_empty() && config.registries.is_empty() {
        template(level)
    } else {
        config.render()
    };
    fs::write_atomic(&path, text.as_bytes())
        .map_err(|e| Error::io(format!("cannot write `{}`", path.display()), e))?;
    Ok(config)
}
