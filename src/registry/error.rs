//! The errors of every source: what went wrong, where, and what to do about it.

use semver::Version;

use oci_client::errors::{OciDistributionError, OciErrorCode};

/// Errors of every source.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("no pack `{name}` in `{source_url}`{}", crate::manifest::did_you_mean_tail(.suggestion))]
    NotFound {
        name: String,
        source_url: String,
        suggestion: Option<String>,
    },
    #[error("pack `{name}` has no version {version} in `{source_url}`")]
    NoSuchVersion {
        name: String,
        version: Version,
        source_url: String,
    },
    #[error("pack `{name}@{version}` has no artifact for platform `{platform}`")]
    NoPlatform {
        name: String,
        version: Version,
        platform: String,
    },
    #[error(
        "pack `{}@{}` from `{}` does not match the lock: expected tree {}, got {}",
        .0.name, .0.version, .0.source_url, .0.expected, .0.actual
    )]
    TreeMismatch(Box<Mismatch>),
    #[error("invalid pack in `{}`: {message}", .path)]
    InvalidPack { path: String, message: String },
    /// A pack whose files could not be read.
    #[error("cannot read pack `{pack}` from `{source_url}`")]
    Unreadable {
        pack: String,
        source_url: String,
        #[source]
        source: Box<crate::store::StoreError>,
    },
    /// A pack whose content breaks a rule of the store (escaping links, devices, bombs, …).
    #[error("pack `{pack}` from `{source_url}` was rejected")]
    Rejected {
        pack: String,
        source_url: String,
        #[source]
        source: Box<crate::store::StoreError>,
    },
    /// `url` is always redacted ([`url::redact`]) before it is put here.
    #[error("invalid source `{url}`: {message}")]
    BadUrl { url: String, message: String },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
    #[error(transparent)]
    Skill(#[from] crate::skill::SkillError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("digest mismatch for {what}: expected {digest}, got {actual}")]
    DigestMismatch {
        what: String,
        digest: String,
        actual: String,
    },
    #[error("authentication failed for {what}: {message}")]
    Auth { what: String, message: String },
    /// The registry's token service may not have the credentials, or may not be asked at all.
    #[error("authentication failed for {what}: {message}")]
    TokenService {
        what: String,
        message: String,
        hint: String,
    },
    #[error("registry error while {what}: {message}")]
    Remote { what: String, message: String },
    /// `message` is the whole chain of causes in one line (what a log or a warning shows);
    /// `source` keeps that chain typed for callers that branch on it (timeouts, refused
    /// connections). [`RegistryError::network`] makes both from one client error.
    #[error("network error while {what}: {message}")]
    Network {
        what: String,
        message: String,
        #[source]
        source: Option<Box<reqwest::Error>>,
    },
    #[error(
        "refusing to follow {how} to `{url}` while {what}: plain HTTP is used only for loopback hosts"
    )]
    InsecureHop {
        what: String,
        url: String,
        how: &'static str,
    },
    #[error("offline: {what} is not in the cache")]
    Offline { what: String },
    /// A registry release whose archive is not the one the lock pins for its tag.
    #[error(
        "the aqua registry `{registry}` at tag `{tag}` is not the archive the lock pins: aibox.lock has {locked}, {place} {actual}"
    )]
    RegistryRetagged {
        registry: String,
        tag: String,
        locked: String,
        actual: String,
        /// Where the other archive came from (`GitHub serves`, `the cache holds`).
        place: &'static str,
    },
    /// A registry, release host or API that answered something aibox cannot use (a status, a
    /// body that is not what the protocol promises). `from` names who answered.
    #[error("{from} {message}")]
    BadAnswer { from: String, message: String },
    /// Published content (a release archive, an aqua entry, a pack.toml) that cannot be made
    /// into a pack. `what` names it.
    #[error("{what} {message}")]
    BadContent { what: String, message: String },
    /// A release or aqua package without the file aibox needs; `assets` are what it has.
    #[error("{what} has no {wanted}{}", assets_tail(.assets))]
    NoAsset {
        what: String,
        wanted: String,
        assets: Vec<String>,
    },
    /// A checksum or signature check that a release declares and that does not pass.
    #[error("{what} {message}")]
    Unverified { what: String, message: String },
    /// Something aibox does not do (yet): `what` names the input, `why` the missing feature.
    #[error("{what}: {why}")]
    Unsupported { what: String, why: String },
    /// An input over one of aibox's limits.
    #[error("{what} exceeds the limit of {limit} {unit}")]
    TooLarge {
        what: String,
        limit: u64,
        unit: &'static str,
    },
    /// A client (HTTP, OCI registry) that could not be set up.
    #[error("cannot create the {what}")]
    Client {
        what: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An aqua registry or package that aibox cannot use.
    #[error(transparent)]
    Aqua(#[from] crate::aqua::AquaError),
    /// An error met once and kept (a source that failed to load says so again, the same).
    #[error(transparent)]
    Again(std::sync::Arc<RegistryError>),
    /// A broken promise inside aibox itself (a worker that stopped, a check that contradicts
    /// the build): never the input's fault.
    #[error("{0}")]
    Internal(String),
}

/// ` (assets: a, b)`, or nothing when none is known.
fn assets_tail(assets: &[String]) -> String {
    if assets.is_empty() {
        String::new()
    } else {
        format!(" (assets: {})", assets.join(", "))
    }
}

/// A fetched tree that is not the one the lock (or the artifact) names.
#[derive(Debug)]
pub struct Mismatch {
    pub name: String,
    pub version: Version,
    pub source_url: String,
    pub expected: crate::store::tree::Hash,
    pub actual: crate::store::tree::Hash,
}

impl RegistryError {
    /// An unusable source URL (printed without any user name or password it holds).
    pub fn bad_url(url: &str, message: impl Into<String>) -> RegistryError {
        RegistryError::BadUrl {
            url: redact(url),
            message: message.into(),
        }
    }

    /// A failed request while doing `what`: its causes (connection refused, TLS, timeout) are
    /// in the message and kept as the typed source.
    pub fn network(e: reqwest::Error, what: &str) -> RegistryError {
        let mut message = e.to_string();
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            message = format!("{message}: {c}");
            cause = c.source();
        }
        RegistryError::Network {
            what: what.into(),
            message,
            source: Some(Box::new(e)),
        }
    }

    /// A tree mismatch of `name@version` from `source_url`.
    pub fn mismatch(
        name: &str,
        version: &Version,
        source_url: &str,
        expected: crate::store::tree::Hash,
        actual: crate::store::tree::Hash,
    ) -> RegistryError {
        RegistryError::TreeMismatch(Box::new(Mismatch {
            name: name.to_owned(),
            version: version.clone(),
            source_url: source_url.to_owned(),
            expected,
            actual,
        }))
    }

    /// `Ok` when `actual`, the tree built for `name@version` from `source_url`, is the tree
    /// the lock names (`expected`); the mismatch otherwise.
    pub fn same_tree(
        name: &str,
        version: &Version,
        source_url: &str,
        expected: crate::store::tree::Hash,
        actual: crate::store::tree::Hash,
    ) -> Result<(), RegistryError> {
        if actual == expected {
            Ok(())
        } else {
            Err(RegistryError::mismatch(
                name, version, source_url, expected, actual,
            ))
        }
    }

    /// A store error met while building `name@version` from `source_url`: a tree mismatch is
    /// named after the pack, a rejected entry says which pack and source it came from.
    pub fn building(
        e: crate::store::StoreError,
        name: &str,
        version: &Version,
        source_url: &str,
    ) -> RegistryError {
        RegistryError::from(e).in_pack(name, version, source_url)
    }

    /// Name the pack and source of an error met while reading that pack's content.
    pub fn in_pack(self, name: &str, version: &Version, source_url: &str) -> RegistryError {
        use crate::store::StoreError;
        match self {
            RegistryError::Store(StoreError::TreeMismatch {
                expected, actual, ..
            }) => RegistryError::mismatch(name, version, source_url, expected, actual),
            RegistryError::Store(
                e @ (StoreError::BadEntry { .. } | StoreError::TooLarge { .. }),
            ) => RegistryError::Rejected {
                pack: format!("{name}@{version}"),
                source_url: source_url.to_owned(),
                source: Box::new(e),
            },
            RegistryError::Store(e @ StoreError::Input { .. }) => RegistryError::Unreadable {
                pack: format!("{name}@{version}"),
                source_url: source_url.to_owned(),
                source: Box::new(e),
            },
            other => other,
        }
    }
}

impl crate::error::Hint for RegistryError {
    fn hints(&self) -> Vec<String> {
        match self {
            RegistryError::NotFound { .. } => {
                vec!["check the name, or `aibox search <query>` to find packs".into()]
            }
            RegistryError::TreeMismatch(m) => vec![format!(
                "the pack's content changed since it was locked; to accept the new content, lock it again: `aibox lock --upgrade-package {}`",
                m.name
            )],
            RegistryError::DigestMismatch { .. } => vec![
                "the registry or mirror served corrupted or tampered content; nothing was added to the store — report it to the registry's operator".into(),
            ],
            RegistryError::Auth { .. } => vec![
                "log in with `docker login <host>` (aibox reads `~/.docker/config.json` and its credential helpers), or set `AIBOX_REGISTRY_USERNAME`, `AIBOX_REGISTRY_PASSWORD` and `AIBOX_REGISTRY_HOST` (the host they are for)".into(),
            ],
            RegistryError::TokenService { hint, .. } => vec![hint.clone()],
            RegistryError::Network { .. } => vec![
                "check that the registry is reachable and run the command again; a partly downloaded blob is resumed".into(),
                "when everything this needs was fetched before (packs in the store, tag lists and signatures in the cache), add `--offline` to work without the registry".into(),
            ],
            RegistryError::InsecureHop { .. } => vec![
                "nothing was sent to that host: the registry (or a proxy or CDN in front of it) must send aibox to `https://` — ask its operator. A registry marked `insecure` may use plain HTTP on its own host only".into(),
            ],
            RegistryError::Rejected { .. } => vec![
                "nothing from this pack was installed; its publisher must fix it (`aibox pack build` reports the same problem)".into(),
            ],
            RegistryError::Store(e) => e.hints(),
            RegistryError::Skill(e) => e.hints(),
            RegistryError::Manifest(e) => e.hints.clone(),
            RegistryError::Unreadable { source, .. } => source.hints(),
            RegistryError::RegistryRetagged { registry, tag, .. } => vec![
                format!("the tag `{tag}` of `{registry}` was moved or its archive replaced since the lock was made; nothing was read from it and nothing changed"),
                "check the registry's releases for what changed; to move on, pin a release you have reviewed in `[registries]` of aibox.toml (`aqua:github:<owner>/<repo>@<tag>`) and run `aibox lock`".into(),
            ],
            RegistryError::Offline { .. } => vec![
                "run the command once without `--offline` to fill the cache, or use an `oci-layout:` mirror made by `aibox vendor`".into(),
            ],
            RegistryError::BadAnswer { .. } => vec![
                "check the source URL; when it is right, the server (or a proxy in front of it) is at fault — nothing was installed".into(),
            ],
            RegistryError::BadContent { .. } => vec![
                "nothing from it was installed; lock another version, or ask its publisher to fix it".into(),
            ],
            RegistryError::NoAsset { .. } => vec![
                "lock a version that publishes it, or leave that platform out of `platforms` in aibox.toml".into(),
            ],
            RegistryError::Unverified { .. } => vec![
                "the release's checksums or signatures do not vouch for what was downloaded; nothing was installed — report it to the publisher, or lock another version".into(),
            ],
            RegistryError::Unsupported { .. } => vec![
                "this is a limit of aibox, not of your setup: use another source for this pack".into(),
            ],
            RegistryError::TooLarge { .. } => vec![
                "aibox refuses inputs over its limits to protect the machine; nothing was installed".into(),
            ],
            RegistryError::Client { .. } => vec![
                "the TLS setup of this machine may be broken (system certificates); see the cause above".into(),
            ],
            RegistryError::Aqua(crate::aqua::AquaError::Unsupported { .. }) => vec![
                "aibox installs the common aqua package types only; install this one another way".into(),
            ],
            RegistryError::Again(e) => e.hints(),
            _ => Vec::new(),
        }
    }

    fn kind(&self) -> crate::error::Kind {
        match self {
            RegistryError::Internal(_) => crate::error::Kind::Internal,
            RegistryError::Manifest(_) => crate::error::Kind::Config,
            RegistryError::Store(e) => e.kind(),
            _ => crate::error::Kind::User,
        }
    }
}

/// `url` safe to print: anything before an `@` in its authority (a user name, a password) is
/// replaced by `***`.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), url),
    };
    let end = rest.find('/').unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}***@{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// Map an `oci-client` error to a typed error naming `what` was being done.
pub fn map_error(e: OciDistributionError, what: &str) -> RegistryError {
    match e {
        OciDistributionError::UnauthorizedError { url } => RegistryError::Auth {
            what: what.into(),
            message: format!("the registry refused access to {url} (401)"),
        },
        OciDistributionError::AuthenticationFailure(m) => RegistryError::Auth {
            what: what.into(),
            message: m,
        },
        OciDistributionError::RegistryError { envelope, .. } => {
            let msg = envelope
                .errors
                .iter()
                .map(|e| format!("{:?}: {}", e.code, e.message))
                .collect::<Vec<_>>()
                .join("; ");
            if envelope
                .errors
                .iter()
                .any(|e| matches!(e.code, OciErrorCode::Unauthorized | OciErrorCode::Denied))
            {
                RegistryError::Auth {
                    what: what.into(),
                    message: msg,
                }
            } else {
                RegistryError::Remote {
                    what: what.into(),
                    message: msg,
                }
            }
        }
        OciDistributionError::ServerError {
            code: code @ (401 | 403),
            url,
            ..
        } => RegistryError::Auth {
            what: what.into(),
            message: format!("the registry refused access to {url} ({code})"),
        },
        OciDistributionError::RequestError(r) => RegistryError::network(r, what),
        other => RegistryError::Remote {
            what: what.into(),
            message: other.to_string(),
        },
    }
}
