//! `[policy]` of `aibox.toml`: `require-signed`, `platforms`, `trusted-keys` and
//! `allow-pack-env` (the protected environment variables packs may set, `manifest::env_rule`),
//! each checked with line and column.

use super::ManifestError;
use super::env_rule;
use super::project::{Parser, Policy, Value};
use super::spans::in_order;

const POLICY_KEYS: &[&str] = &[
    "require-signed",
    "platforms",
    "trusted-keys",
    "allow-pack-env",
];

impl Parser<'_> {
    pub(super) fn policy(&self, v: &Value<'_>) -> Result<Policy, ManifestError> {
        let table = self.table(v, "policy")?;
        for (key, _) in in_order(table) {
            if !POLICY_KEYS.contains(&key.get_ref().as_ref()) {
                return Err(self.unknown_key(key, POLICY_KEYS, "in `[policy]`"));
            }
        }
        let require_signed = match table.get("require-signed") {
            Some(b) => b.get_ref().as_bool().ok_or_else(|| {
                self.err(
                    b.span(),
                    "`policy.require-signed` must be `true` or `false`",
                )
            })?,
            None => false,
        };
        let platforms = match table.get("platforms") {
            None => None,
            Some(list) => {
                let Some(items) = list.get_ref().as_array() else {
                    return Err(self
                        .err(
                            list.span(),
                            "`policy.platforms` must be an array of platform names",
                        )
                        .with_hint("write `platforms = [\"linux-x86_64\", \"macos-aarch64\"]`"));
                };
                if items.is_empty() {
                    return Err(self
                        .err(list.span(), "`policy.platforms` is empty")
                        .with_hint("name at least one platform, or remove the key to lock every platform the packs publish"));
                }
                let mut out = Vec::new();
                for item in items.iter() {
                    let p = self.string(item, "policy.platforms")?;
                    if !crate::platform::KNOWN.contains(&p) {
                        let (message, hint) = super::validate::unknown_platform_text(p);
                        return Err(self.err(item.span(), message).with_hint(hint));
                    }
                    out.push(p.to_owned());
                }
                out.sort();
                out.dedup();
                Some(out)
            }
        };
        let trusted_keys = match table.get("trusted-keys") {
            None => Vec::new(),
            Some(list) => {
                let items = list.get_ref().as_array().ok_or_else(|| {
                    self.err(list.span(), "`policy.trusted-keys` must be an array of paths")
                        .with_hint("write `trusted-keys = [\"keys/team.pub\"]` (paths relative to the project)")
                })?;
                let mut out = Vec::new();
                for item in items.iter() {
                    let p = self.string(item, "policy.trusted-keys")?;
                    if std::path::Path::new(p).is_absolute() || p.split('/').any(|c| c == "..") {
                        return Err(self
                            .err(item.span(), format!("`{p}` is not a path inside the project"))
                            .with_hint("commit the public key in the project and name it relative to `aibox.toml`"));
                    }
                    out.push(p.to_owned());
                }
                out
            }
        };
        let allow_pack_env = match table.get("allow-pack-env") {
            None => Vec::new(),
            Some(list) => self.allow_pack_env(list)?,
        };
        Ok(Policy {
            require_signed,
            platforms,
            trusted_keys,
            allow_pack_env,
        })
    }

    /// `allow-pack-env`: names of protected variables, each checked to be a name the rule
    /// protects and that a project may allow.
    fn allow_pack_env(&self, list: &Value<'_>) -> Result<Vec<String>, ManifestError> {
        let items = list.get_ref().as_array().ok_or_else(|| {
            self.err(
                list.span(),
                "`policy.allow-pack-env` must be an array of variable names",
            )
            .with_hint("write `allow-pack-env = [\"NODE_OPTIONS\"]`")
        })?;
        let mut out = Vec::new();
        for item in items.iter() {
            let name = self.string(item, "policy.allow-pack-env")?;
            if let Err(reason) = super::check_env_name(name) {
                return Err(self
                    .err(
                        item.span(),
                        format!("`{name}` is not an environment variable name: {reason}"),
                    )
                    .with_hint("write names as packs do, like `NODE_OPTIONS`"));
            }
            match env_rule::protection(name) {
                None => {
                    return Err(self
                        .err(
                            item.span(),
                            format!("`{name}` is not a protected variable: every pack may set it"),
                        )
                        .with_hint("list only names a pack was refused for (docs/security.md lists the protected ones)"));
                }
                Some(p) if p.reserved => {
                    return Err(self
                        .err(
                            item.span(),
                            format!("`{name}` cannot come from a pack: {}", p.what),
                        )
                        .with_hint(
                            "set it in the project's own `[env]` table if it needs a value",
                        ));
                }
                Some(_) => out.push(name.to_owned()),
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}
