//! Trust operations: the policy in force (user configuration, tightened by the project), key
//! generation, signing a pushed pack, verifying one, managing trusted keys, and judging the
//! packs of a lock before anything is materialized.

use std::path::{Path, PathBuf};

use crate::config::{self, Config, KeyConfig};
use crate::error::{Error, Result};
use crate::fs;
use crate::ops::Options;
use crate::registry::{self, PackRef, SourceOptions};
use crate::signature::{self, Entry};
use crate::trust::keys::{PasswordUse, password, short};
use crate::trust::{Level, Policy, PublicKey, SigningKey, TrustedKey};

/// `aibox keygen`: write `<prefix>.key` (encrypted) and `<prefix>.pub`.
pub fn keygen(prefix: &Path) -> Result<(PathBuf, PathBuf, String)> {
    let key_path = PathBuf::from(format!("{}.key", prefix.display()));
    let pub_path = PathBuf::from(format!("{}.pub", prefix.display()));
    for p in [&key_path, &pub_path] {
        if fs::exists(p).unwrap_or(false) {
            return Err(
                Error::msg(format!("`{}` already exists", p.display())).with_hint(
                    "choose another `--output-key-prefix`, or move the old key away first",
                ),
            );
        }
    }
    let pw = password(PasswordUse::New, &key_path)?;
    let (private, public) = crate::trust::keys::generate(pw.as_bytes())?;
    write_private(&key_path, private.as_bytes())?;
    fs::write_atomic(&pub_path, public.as_bytes())
        .map_err(|e| Error::io(format!("cannot write `{}`", pub_path.display()), e))?;
    let fingerprint = PublicKey::from_pem(&public, "the new key")?
        .fingerprint()
        .to_owned();
    Ok((key_path, pub_path, fingerprint))
}

/// Write a private key readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use crate::fs::PermissionsExt;
    fs::write_atomic(path, bytes)
        .and_then(|()| fs::set_permissions(path, fs::Permissions::from_mode(0o600)))
        .map_err(|e| Error::io(format!("cannot write `{}`", path.display()), e))
}

/// Load a private key, asking for its password as needed.
pub fn signing_key(path: &Path) -> Result<SigningKey> {
    let pw = password(PasswordUse::Unlock, path)?;
    Ok(SigningKey::load(path, pw.as_bytes())?)
}

/// The repository reference a payload names (`host/repo` for registries, the pack name for
/// layouts).
fn docker_reference(source: &str, name: &str) -> Result<String> {
    if source.starts_with("oci://") {
        let reg = registry::transfer::url::RegistryUrl::parse(source)?;
        Ok(format!("{}/{}", reg.host, reg.repo(name)))
    } else {
        Ok(name.to_owned())
    }
}

/// Sign artifact `digest` of `name` in `source` with `key` (appending to its signatures).
/// Returns whether a signature was added (false: the same one was there).
pub fn sign_digest(
    key: &SigningKey,
    source: &str,
    root: &Path,
    opts: &SourceOptions,
    name: &str,
    digest: &str,
) -> Result<bool> {
    let payload = signature::payload(&docker_reference(source, name)?, digest);
    let entry = Entry {
        signature: key.sign(&payload)?,
        payload: payload.clone(),
    };
    // Already signed by this key for this payload: nothing to add (as cosign decides).
    let duplicate =
        |e: &Entry| e.payload == payload && key.public().verifies(&e.payload, &e.signature);
    let added = if source.starts_with("oci-layout:") {
        let dir = registry::backends::layout::layout_dir(source, root)?;
        registry::backends::layout::LayoutSource::open(source, &dir)?
            .push_signature(name, digest, entry, &duplicate)?
    } else {
        registry::backends::oci::OciSource::open(source, opts)?
            .push_signature(name, digest, entry, &duplicate)?
    };
    crate::audit::record_in(
        opts.home,
        "sign",
        None,
        serde_json::json!({"pack": name, "source": source, "digest": digest, "signer": key.public().fingerprint()}),
        opts.reporter,
    );
    Ok(added)
}

/// A version a reference names (its newest when it names none), opened: the parsed reference,
/// the directory relative sources are taken from, the source, the version and its digest.
struct Named {
    r: PackRef,
    root: PathBuf,
    source: Box<dyn registry::PackSource>,
    version: semver::Version,
    digest: String,
}

fn named(reference: &str, opts: &SourceOptions) -> Result<Named> {
    let r = PackRef::parse(reference)?;
    let root =
        std::env::current_dir().map_err(|e| Error::io("cannot read the current directory", e))?;
    let source = registry::open_pack_source(&r.source, &root, opts)?;
    let version = match &r.version {
        Some(v) => v.clone(),
        None => {
            crate::ops::search::newest(&source.versions(&r.name)?).expect("versions is never empty")
        }
    };
    let digest = registry::backends::content::resolve(source.as_ref(), &r.name, &version)?.digest;
    Ok(Named {
        r,
        root,
        source,
        version,
        digest,
    })
}

/// `aibox sign <ref> --key FILE`: sign the version a reference names.
pub fn sign(reference: &str, key_path: &Path, opts: &SourceOptions) -> Result<(String, bool)> {
    let Named {
        r, root, digest, ..
    } = named(reference, opts)?;
    let key = signing_key(key_path)?;
    let added = sign_digest(&key, &r.source, &root, opts, &r.name, &digest)?;
    Ok((digest, added))
}

/// What `aibox verify` found.
#[derive(Debug, serde::Serialize)]
pub struct Verified {
    pub pack: String,
    pub version: String,
    pub digest: String,
    pub signatures: usize,
    /// Fingerprints of the given (or trusted) keys that sign the digest.
    pub signers: Vec<String>,
}

/// `aibox verify <ref> [--key FILE]`: check a version's signatures against `key`, or against
/// the keys trusted for its registry.
pub fn verify(reference: &str, key: Option<&Path>, opts: &SourceOptions) -> Result<Verified> {
    let Named {
        r,
        source,
        version,
        digest,
        ..
    } = named(reference, opts)?;
    let entries = source.signatures(&r.name, &digest)?;
    let policy = match key {
        Some(path) => Policy {
            level: Level::Enterprise,
            allow_dir: false,
            keys: vec![TrustedKey {
                key: PublicKey::load(path)?,
                registry: None,
                origin: path.display().to_string(),
            }],
        },
        None => crate::engine::verdicts::policy(None, opts.reporter)?,
    };
    let signers = policy.signers(&r.source, &digest, &entries);
    let verified = Verified {
        pack: r.name.clone(),
        version: version.to_string(),
        digest: digest.clone(),
        signatures: entries.len(),
        signers: signers.clone(),
    };
    crate::audit::record_in(
        opts.home,
        "verify",
        None,
        serde_json::json!({"pack": r.name, "version": version.to_string(), "source": r.source, "digest": digest, "verdict": if signers.is_empty() { "unverified" } else { "signed" }, "signer": signers.first()}),
        opts.reporter,
    );
    if signers.is_empty() {
        let why = if entries.is_empty() {
            "it has no signature".to_owned()
        } else if key.is_some() {
            format!(
                "none of its {} signature(s) verifies with that key",
                entries.len()
            )
        } else {
            format!(
                "none of its {} signature(s) is by a trusted key",
                entries.len()
            )
        };
        return Err(Error::msg(format!(
            "`{}@{version}` ({digest}) is not verified: {why}",
            r.name
        ))
        .with_hint(
            "check the key with its publisher; `aibox trust list` shows the keys you trust",
        ));
    }
    Ok(verified)
}

/// `aibox trust add KEY.pub [--registry URL]`: copy the key into the configuration directory
/// and trust it.
pub fn trust_add(opts: &Options, path: &Path, registry: Option<&str>) -> Result<(Config, String)> {
    let key = PublicKey::load(path)?;
    if let Some(r) = registry {
        validate_registry_prefix(r)?;
    }
    let mut config = config::load()?;
    if config.path.as_os_str().is_empty() {
        return Err(Error::msg(
            "no place for the configuration: set `HOME` or `AIBOX_CONFIG`",
        ));
    }
    let fingerprint = key.fingerprint().to_owned();
    if config
        .trust
        .keys
        .iter()
        .any(|k| k.fingerprint == fingerprint && k.registry.as_deref() == registry)
    {
        return Ok((config, fingerprint));
    }
    let dir = config.path.parent().unwrap_or(Path::new(".")).join("keys");
    fs::create_dir_all(&dir)
        .map_err(|e| Error::io(format!("cannot create `{}`", dir.display()), e))?;
    let copy = dir.join(format!("{}.pub", fingerprint.replace(':', "-")));
    fs::write_atomic(&copy, key.pem().as_bytes())
        .map_err(|e| Error::io(format!("cannot write `{}`", copy.display()), e))?;
    config.trust.keys.push(KeyConfig {
        path: copy,
        fingerprint: fingerprint.clone(),
        registry: registry.map(str::to_owned),
    });
    config
        .save()
        .map_err(|e| Error::io(format!("cannot write `{}`", config.path.display()), e))?;
    crate::audit::record_in(
        opts.home,
        "trust",
        None,
        serde_json::json!({"added": fingerprint, "registry": registry}),
        opts.reporter,
    );
    Ok((config, fingerprint))
}

fn validate_registry_prefix(r: &str) -> Result<()> {
    if r.starts_with("oci://") {
        registry::transfer::url::RegistryUrl::parse(r)?;
        Ok(())
    } else if r.starts_with("oci-layout:") || r.starts_with("dir:") {
        Ok(())
    } else {
        Err(Error::msg(format!("`{r}` is not a registry URL"))
            .with_hint("use `oci://host/base` (or `oci-layout:<dir>`), as written in aibox.toml"))
    }
}

/// `aibox trust remove FINGERPRINT`: stop trusting a key (every registry it was trusted for).
pub fn trust_remove(opts: &Options, fingerprint: &str) -> Result<usize> {
    let wanted = fingerprint.strip_prefix("sha256:").unwrap_or(fingerprint);
    if wanted.len() < 8 || !wanted.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(
            Error::msg(format!("`{fingerprint}` is not a key fingerprint"))
                .with_hint("give at least 8 hex digits of it; `aibox trust list` shows them"),
        );
    }
    let mut config = config::load()?;
    let before = config.trust.keys.len();
    config.trust.keys.retain(|k| {
        !k.fingerprint
            .trim_start_matches("sha256:")
            .starts_with(&wanted.to_ascii_lowercase())
    });
    let removed = before - config.trust.keys.len();
    if removed == 0 {
        return Err(Error::msg(format!(
            "no trusted key has the fingerprint `{fingerprint}`"
        ))
        .with_hint(
            "`aibox trust list` shows the trusted keys (at least 8 hex digits identify one)",
        ));
    }
    config
        .save()
        .map_err(|e| Error::io(format!("cannot write `{}`", config.path.display()), e))?;
    crate::audit::record_in(
        opts.home,
        "trust",
        None,
        serde_json::json!({"removed": fingerprint}),
        opts.reporter,
    );
    Ok(removed)
}

/// A trusted key for `aibox trust list`.
#[derive(Debug, serde::Serialize)]
pub struct Listed {
    pub fingerprint: String,
    pub short: String,
    pub path: PathBuf,
    pub registry: Option<String>,
}

/// `aibox trust list`.
pub fn trust_list() -> Result<(Level, Vec<Listed>)> {
    let config = config::load()?;
    Ok((
        config.trust.policy.unwrap_or(config::DEFAULT_LEVEL),
        config
            .trust
            .keys
            .iter()
            .map(|k| Listed {
                short: short(&k.fingerprint).to_owned(),
                fingerprint: k.fingerprint.clone(),
                path: k.path.clone(),
                registry: k.registry.clone(),
            })
            .collect(),
    ))
}
