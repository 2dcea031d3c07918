//! The trust policy's verdicts on packs: the policy in force (user configuration, tightened
//! by the project), judging each pack's signatures, checking a whole lock before anything is
//! fetched, and the signer a lock records.

use crate::config::{self};
use crate::error::{Error, Result};
use crate::lockfile::Lockfile;
use crate::registry::RegistryError;
use crate::signature::Entry;
use crate::store::Store;
use crate::trust::keys::short;
use crate::trust::{Level, Policy, PublicKey, Subject, TrustError, TrustedKey, Verdict};

use crate::engine::project::ProjectState;
use crate::engine::sources::Sources;

/// The policy in force: the user's level, keys and `allow-dir`, tightened by the project's
/// `[policy]` (`require-signed` raises the level to enterprise; the project's keys are added,
/// except under a user's enterprise policy, where only the user's own keys count).
pub fn policy(
    project: Option<&ProjectState>,
    reporter: crate::printer::Reporter,
) -> Result<Policy> {
    let config = config::load()?;
    let user_level = config.trust.policy.unwrap_or(config::DEFAULT_LEVEL);
    let mut keys = Vec::new();
    for k in &config.trust.keys {
        let key = PublicKey::load(&k.path)?;
        if key.fingerprint() != k.fingerprint {
            return Err(Error::msg(format!(
                "the trusted key `{}` changed: its fingerprint is {}, the configuration recorded {}",
                k.path.display(),
                key.fingerprint(),
                k.fingerprint
            ))
            .with_hint("if the new key is right, run `aibox trust remove` for the old fingerprint and `aibox trust add` for the file"));
        }
        keys.push(TrustedKey {
            key,
            registry: k.registry.clone(),
            origin: config.path.display().to_string(),
        });
    }
    let mut level = user_level;
    if let Some(state) = project {
        let p = &state.manifest.policy;
        if p.require_signed {
            level = level.max(Level::Enterprise);
        }
        if !p.trusted_keys.is_empty() && user_level == Level::Enterprise {
            reporter
                .verbose("the project's `trusted-keys` are ignored under your enterprise policy");
        } else {
            for rel in &p.trusted_keys {
                let path = state.root.join(rel);
                keys.push(TrustedKey {
                    key: PublicKey::load(&path)?,
                    registry: None,
                    origin: state
                        .root
                        .join(crate::engine::context::MANIFEST)
                        .display()
                        .to_string(),
                });
            }
        }
    }
    Ok(Policy {
        level,
        allow_dir: config.trust.allow_dir,
        keys,
    })
}

/// Judge a pack from its signatures: those kept in the store when they already satisfy the
/// policy (no request needed, offline too), else the registry's current ones (signatures are
/// added over time), merged into the store. Offline, the kept ones are all there is.
pub fn judge(
    store: Option<&Store>,
    sources: &Sources,
    policy: &Policy,
    subject: Subject<'_>,
) -> Result<std::result::Result<Verdict, TrustError>> {
    let Some(digest) = subject.digest else {
        return Ok(policy.judge(subject, &[]));
    };
    let kept = match store {
        Some(s) => s.signatures(digest)?.unwrap_or_default(),
        None => Vec::new(),
    };
    // A deliberate re-lock (`retiring`) always asks the registry: the new signature it is for
    // may not be kept yet.
    if !kept.is_empty()
        && subject.retiring.is_none()
        && let Ok(Verdict::Signed(f)) = policy.judge(subject, &kept)
    {
        return Ok(Ok(Verdict::Signed(f)));
    }
    let entries = match sources.signatures(subject.source, subject.name, digest) {
        Ok(fresh) => {
            let mut all = kept;
            for e in fresh {
                if !all.contains(&e) {
                    all.push(e);
                }
            }
            if let Some(s) = store {
                s.keep_signatures(digest, &all)?;
            }
            all
        }
        Err(RegistryError::Offline { .. }) => kept,
        Err(e) => return Err(e.into()),
    };
    Ok(policy.judge(subject, &entries))
}

/// One package's verdict, or why it was refused.
type Judged = std::result::Result<Verdict, TrustError>;

/// Judge every package of `lock` before anything is fetched: refuse what the policy refuses,
/// warn about what it lets through unverified, and log each verdict.
pub fn check_lock(
    store: &Store,
    sources: &Sources,
    policy: &Policy,
    lock: &Lockfile,
    profile: &str,
) -> Result<()> {
    if !policy.verifies() {
        return Ok(());
    }
    let mut unverified = Vec::new();
    // Each judgement may ask a registry for signatures (a round trip per pack): they are
    // judged on the shared pool, then logged and acted on in the lock's order.
    let verdicts: Vec<std::sync::Mutex<Option<Judged>>> =
        lock.packages.iter().map(|_| Default::default()).collect();
    let indices: Vec<usize> = (0..lock.packages.len()).collect();
    crate::parallel::try_for_each(&indices, 8, |&i| {
        let pkg = &lock.packages[i];
        let version = pkg.version.to_string();
        if let Some(pin) = &pkg.aqua {
            // An aqua pack was checked by its source when it was locked: judge what passed.
            let verdict = policy.judge_checks(&pkg.name, &version, &pkg.source, &pin.verified);
            *verdicts[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(verdict);
            return Ok::<_, Error>(());
        }
        let subject = Subject {
            name: &pkg.name,
            version: &version,
            source: &pkg.source,
            digest: pkg.digest.as_deref(),
            locked_signer: pkg.signer.as_deref(),
            retiring: None,
        };
        let verdict = judge(Some(store), sources, policy, subject)?;
        *verdicts[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(verdict);
        Ok::<_, Error>(())
    })?;
    for (pkg, verdict) in lock.packages.iter().zip(verdicts) {
        let version = pkg.version.to_string();
        let verdict = verdict
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .expect("every package was judged");
        let (outcome, signer) = match &verdict {
            Ok(Verdict::Signed(f)) => ("signed", Some(f.clone())),
            Ok(Verdict::Allowed(_)) => ("allowed", None),
            Err(_) => ("refused", None),
        };
        crate::audit::record(
            store.layout(),
            "verify",
            Some(profile),
            match &pkg.aqua {
                // What an aqua pack's source checked when it was locked.
                Some(pin) => serde_json::json!({
                    "pack": pkg.name, "version": version, "source": pkg.source,
                    "verified": pin.verified, "unverified": pin.unverified,
                    "verdict": outcome, "signer": pkg.signer,
                    "policy": policy.level.as_str(),
                }),
                None => serde_json::json!({
                    "pack": pkg.name, "version": version, "source": pkg.source,
                    "digest": pkg.digest, "verdict": outcome, "signer": signer,
                    "policy": policy.level.as_str(),
                }),
            },
            store.reporter(),
        );
        if let Err(e) = &verdict {
            crate::engine::run_log::deny(
                Some(store.layout()),
                "trust",
                Some(profile),
                serde_json::json!({
                    "action": "install", "pack": pkg.name, "version": version,
                    "source": pkg.source, "digest": pkg.digest, "reason": e.to_string(),
                    "level": policy.level.as_str(),
                }),
                store.reporter(),
            );
        }
        if let Ok(Verdict::Allowed(Some(warning))) = &verdict {
            unverified.push(warning.clone());
        }
        verdict?;
    }
    warn_unverified(policy, &unverified, sources.reporter());
    Ok(())
}

/// One warning for every pack let through without a verified signature (the `dev` policy),
/// once per process (an edit resolves and then installs: both judge the same packs).
pub fn warn_unverified(policy: &Policy, unverified: &[String], reporter: crate::printer::Reporter) {
    static SHOWN: std::sync::Mutex<std::collections::BTreeSet<String>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let unverified: Vec<String> = {
        let mut shown = SHOWN.lock().unwrap_or_else(|e| e.into_inner());
        unverified
            .iter()
            .filter(|w| shown.insert((*w).clone()))
            .cloned()
            .collect()
    };
    match unverified.as_slice() {
        [] => {}
        [one] => reporter.warn(format!(
            "{one} (the {} policy allows it)",
            policy.level.as_str()
        )),
        many => reporter.warn(format!(
            "{} packs are not verified by a trusted key (the {} policy allows them): {}",
            many.len(),
            policy.level.as_str(),
            many.join("; ")
        )),
    }
}

/// The signer to record in a new lock for a pack: verified now under `policy`, or kept from
/// the previous lock when the digest is unchanged and nothing here can verify it.
pub fn lock_signer(
    store: Option<&Store>,
    sources: &Sources,
    policy: &Policy,
    subject: Subject<'_>,
    previous_same_digest: Option<&str>,
    unverified: &mut Vec<String>,
) -> Result<Option<String>> {
    let judged = judge(store, sources, policy, subject)?;
    if let Err(e) = &judged {
        let detail = serde_json::json!({
            "action": "lock", "pack": subject.name, "version": subject.version,
            "source": subject.source, "digest": subject.digest, "reason": e.to_string(),
            "level": policy.level.as_str(),
        });
        let layout = store.map(Store::layout);
        crate::engine::run_log::deny(layout, "trust", None, detail, sources.reporter());
    }
    match judged? {
        Verdict::Signed(f) => Ok(Some(f)),
        Verdict::Allowed(warning) => {
            unverified.extend(warning);
            Ok(previous_same_digest.map(str::to_owned))
        }
    }
}

/// The trust status of a published version, for `info` and `search`.
pub fn status(policy: &Policy, source: &str, digest: &str, entries: &[Entry]) -> String {
    let signers = policy.signers(source, digest, entries);
    match signers.first() {
        Some(f) => format!("signed by {}, trusted", short(f)),
        None if entries.is_empty() => "not signed".into(),
        None => format!("signed ({} signature(s)), by no trusted key", entries.len()),
    }
}
