//! `aibox keygen`, `sign`, `verify`, `trust add | list | remove`, `config …` and `log`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use crate::error::{Error, Result};
use crate::ops::{self, Options};
use crate::trust::keys::short;

#[derive(Debug, Args)]
pub(super) struct KeygenArgs {
    /// Write `<PREFIX>.key` (encrypted private key) and `<PREFIX>.pub` (public key).
    #[arg(long, value_name = "PREFIX", default_value = "aibox")]
    output_key_prefix: PathBuf,
}

#[derive(Debug, Args)]
pub(super) struct SignArgs {
    /// `oci://host/path/<name>[:<version>]` or `oci-layout:<dir>:<name>[:<version>]`.
    reference: String,
    /// The private key (`aibox keygen` or `cosign generate-key-pair` makes one).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    #[command(flatten)]
    net: super::pack::NetArgs,
}

#[derive(Debug, Args)]
pub(super) struct VerifyArgs {
    /// `oci://host/path/<name>[:<version>]` or `oci-layout:<dir>:<name>[:<version>]`.
    reference: String,
    /// Verify with this public key (default: the keys trusted for the registry).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    #[command(flatten)]
    net: super::pack::NetArgs,
}

#[derive(Debug, Subcommand)]
pub(super) enum TrustCommand {
    /// Trust a public key for every registry, or for one (`--registry`).
    Add {
        /// The public key (PEM), e.g. from `aibox keygen` or `cosign generate-key-pair`.
        key: PathBuf,
        /// Trust it only for packs from this registry (a URL prefix, as in aibox.toml).
        #[arg(long, value_name = "URL")]
        registry: Option<String>,
    },
    /// List the trusted keys and the policy level.
    List,
    /// Stop trusting a key.
    Remove {
        /// Its fingerprint (at least 8 hex digits).
        fingerprint: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum TemplateArg {
    Enterprise,
    Dev,
    Minimal,
}

#[derive(Debug, Subcommand)]
pub(super) enum ConfigCommand {
    /// Print one setting.
    Get { key: String },
    /// Change one setting (e.g. `trust.policy enterprise`, `update.check false`); an empty
    /// value (`""`) sets it back to its default.
    Set { key: String, value: String },
    /// Print every setting.
    List,
    /// Print the configuration file's path.
    Path,
    /// Write a policy template: enterprise (signed only), dev (warn) or minimal (digests only).
    Init {
        #[arg(long, value_enum)]
        template: TemplateArg,
        /// Replace an existing configuration's policy (its keys and registries are kept).
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Args)]
pub(super) struct LogArgs {
    /// Only events since a time (`2026-11-20`, `2026-11-20T10:00:00Z`) or for a while (`2h`,
    /// `3days`).
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
}

pub(super) fn keygen(opts: &Options, args: KeygenArgs) -> Result<()> {
    let (key, public, fingerprint) = ops::trust::keygen(&args.output_key_prefix)?;
    opts.reporter.status(
        "Created",
        format!("`{}` (private, encrypted)", key.display()),
    );
    opts.reporter
        .status("Created", format!("`{}` (public)", public.display()));
    crate::printer::out(fingerprint);
    Ok(())
}

pub(super) fn sign(opts: &Options, args: SignArgs) -> Result<()> {
    let src = crate::engine::context::source_options(opts, args.net.insecure);
    let (digest, added) = ops::trust::sign(&args.reference, &args.key, &src)?;
    opts.reporter.status(
        if added { "Signed" } else { "Signed already" },
        format!("{} ({digest})", args.reference),
    );
    crate::printer::out(digest);
    Ok(())
}

pub(super) fn verify(opts: &Options, args: VerifyArgs) -> Result<()> {
    let src = crate::engine::context::source_options(opts, args.net.insecure);
    let v = ops::trust::verify(&args.reference, args.key.as_deref(), &src)?;
    if opts.json {
        crate::printer::print_json(&v);
        return Ok(());
    }
    opts.reporter.status(
        "Verified",
        format!(
            "{}@{} ({}) signed by {}",
            v.pack,
            v.version,
            v.digest,
            v.signers
                .iter()
                .map(|f| short(f))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    for s in &v.signers {
        crate::printer::out(s);
    }
    Ok(())
}

pub(super) fn trust(opts: &Options, cmd: TrustCommand) -> Result<()> {
    match cmd {
        TrustCommand::Add { key, registry } => {
            let (_, fingerprint) = ops::trust::trust_add(opts, &key, registry.as_deref())?;
            let scope = registry.map_or("every registry".to_owned(), |r| format!("`{r}`"));
            opts.reporter
                .status("Trusted", format!("{} for {scope}", short(&fingerprint)));
            crate::printer::out(fingerprint);
        }
        TrustCommand::List => {
            let (level, keys) = ops::trust::trust_list()?;
            if opts.json {
                crate::printer::print_json(&serde_json::json!({"policy": level, "keys": keys}));
                return Ok(());
            }
            opts.reporter.status("Policy", level.as_str());
            for k in &keys {
                crate::printer::out(format!(
                    "{}  {}  {}",
                    k.fingerprint,
                    k.registry.as_deref().unwrap_or("every registry"),
                    k.path.display()
                ));
            }
            if keys.is_empty() {
                opts.reporter.status(
                    "No keys",
                    "are trusted; add one with `aibox trust add KEY.pub`",
                );
            }
        }
        TrustCommand::Remove { fingerprint } => {
            let n = ops::trust::trust_remove(opts, &fingerprint)?;
            opts.reporter.status(
                "Removed",
                format!("{n} trusted key entr{}", if n == 1 { "y" } else { "ies" }),
            );
        }
    }
    Ok(())
}

pub(super) fn config(opts: &Options, cmd: ConfigCommand) -> Result<()> {
    match cmd {
        ConfigCommand::Get { key } => crate::printer::out(ops::config::get(&key)?),
        ConfigCommand::Set { key, value } => {
            let c = ops::config::set(&key, &value)?;
            if value.is_empty() {
                opts.reporter
                    .status("Unset", format!("{key} in `{}`", c.path.display()));
            } else {
                opts.reporter
                    .status("Set", format!("{key} = {value} in `{}`", c.path.display()));
            }
        }
        ConfigCommand::List => {
            let c = crate::config::load()?;
            if opts.json {
                let map: std::collections::BTreeMap<String, String> =
                    c.entries().into_iter().collect();
                crate::printer::print_json(&map);
            } else {
                for (k, v) in c.entries() {
                    crate::printer::out(format!("{k} = {v}"));
                }
            }
        }
        ConfigCommand::Path => match crate::config::path() {
            Some(p) => crate::printer::out(p.display().to_string()),
            None => {
                return Err(Error::msg(
                    "no configuration path: set `HOME` or `AIBOX_CONFIG`",
                ));
            }
        },
        ConfigCommand::Init { template, force } => {
            let level = match template {
                TemplateArg::Enterprise => crate::trust::Level::Enterprise,
                TemplateArg::Dev => crate::trust::Level::Dev,
                TemplateArg::Minimal => crate::trust::Level::Minimal,
            };
            let c = ops::config::init(level, force)?;
            opts.reporter.status(
                "Created",
                format!("`{}` with the {} policy", c.path.display(), level.as_str()),
            );
        }
    }
    Ok(())
}

pub(super) fn log(opts: &Options, args: LogArgs) -> Result<()> {
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let path = crate::store::Store::home_layout(opts.home)?.audit_log();
    let (events, bad) = crate::audit::read(&path)
        .map_err(|e| Error::io(format!("cannot read `{}`", path.display()), e))?;
    let events: Vec<_> = events
        .into_iter()
        .filter(|e| {
            since.is_none_or(|s| humantime::parse_rfc3339_weak(&e.time).is_ok_and(|t| t >= s))
        })
        .collect();
    if bad > 0 {
        opts.reporter.warn(format!(
            "{bad} line(s) of `{}` could not be read",
            path.display()
        ));
    }
    if opts.json {
        // One JSON object per line, like the log itself (easy to `grep` and stream).
        for e in &events {
            crate::printer::data(format!("{}\n", crate::printer::json_line(e)));
        }
        return Ok(());
    }
    for e in &events {
        let detail = summarize(&e.detail);
        crate::printer::out(format!(
            "{}  {:<8} {:<10} {}{}",
            e.time,
            e.user,
            e.action,
            e.profile
                .as_deref()
                .map(|p| format!("{p}  "))
                .unwrap_or_default(),
            detail
        ));
    }
    Ok(())
}

/// `key=value` pairs of an event's detail, compactly.
fn summarize(detail: &serde_json::Value) -> String {
    let Some(map) = detail.as_object() else {
        return String::new();
    };
    map.iter()
        .filter(|(_, v)| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
        .map(|(k, v)| match v.as_str() {
            Some(s) => format!("{k}={s}"),
            None => format!("{k}={v}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn parse_since(text: &str) -> Result<std::time::SystemTime> {
    if let Ok(d) = humantime::parse_duration(text) {
        return Ok(std::time::SystemTime::now() - d);
    }
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_owned()
    };
    humantime::parse_rfc3339_weak(&full).map_err(|_| {
        Error::msg(format!("`{text}` is not a time")).with_hint(
            "use a date (`2026-11-20`), a time (`2026-11-20T10:00:00Z`) or a span (`2h`, `3days`)",
        )
    })
}
