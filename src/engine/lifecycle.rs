//! What a publisher's lifecycle marks mean for a resolution and an install
//! (`registry::lifecycle`): each pack's status document, read once per run and judged against
//! the trust policy; refusing an exact request of a yanked version; and the warnings a sync
//! gives for a locked version that is yanked or deprecated.
//!
//! Trust: every mark only takes away (a yanked or staged version is offered to fewer
//! resolutions, a deprecated one warns), so a document's marks are honoured whoever signed
//! it; under a policy that verifies signatures, a document not signed by a trusted key is
//! named in a warning, so nothing disappears silently. A document that cannot be read or
//! breaks the format's limits is ignored with a warning: the pack resolves as if it had none,
//! and other packs are unaffected.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use semver::Version;

use crate::error::{Error, Result};
use crate::registry::lifecycle::StatusDoc;
use crate::registry::{RegistryError, Source};
use crate::trust::Policy;

/// A pack's status document as judged: the marks, and the trusted keys that sign it.
#[derive(Debug, Clone)]
pub struct Judged {
    pub doc: Arc<StatusDoc>,
    /// Fingerprints of the trusted keys that sign it (empty: unsigned or untrusted; always
    /// empty for a `dir:` file, which has no signatures).
    pub signers: Vec<String>,
    /// Whether the policy looked for signatures and found a trusted one (or needs none).
    pub verified: bool,
}

/// The status document of `name` in `source`, judged against `policy`; `None` when there is
/// none or it cannot be used (said on `reporter`).
pub fn judge(
    source: &dyn Source,
    name: &str,
    policy: Option<&Policy>,
    reporter: crate::printer::Reporter,
) -> Option<Judged> {
    let published = match source.status(name) {
        Ok(Some(p)) => p,
        Ok(None) => return None,
        Err(RegistryError::Offline { .. }) => {
            reporter.verbose(format!(
                "the status document of `{name}` in `{}` is not read offline",
                source.url()
            ));
            return None;
        }
        Err(RegistryError::NotFound { .. }) => return None,
        Err(e) => {
            reporter.warn(format!(
                "{e}; it is ignored (no version of `{name}` is marked yanked, deprecated or staged)"
            ));
            return None;
        }
    };
    let (signers, verified) = match (&published.digest, policy) {
        (Some(digest), Some(policy)) if policy.verifies() => {
            let signers = match source.signatures(name, digest) {
                Ok(entries) => policy.signers(source.url(), digest, &entries),
                Err(e) => {
                    reporter.warn(format!(
                        "cannot read the signatures of the status document of `{name}` in `{}`: {e}",
                        source.url()
                    ));
                    Vec::new()
                }
            };
            if signers.is_empty() && !published.doc.versions.is_empty() {
                reporter.warn(format!(
                    "the status document of `{name}` in `{}` is not signed by a trusted key; its marks are honoured, since they only hold versions back: {}",
                    source.url(),
                    summary(&published.doc)
                ));
            }
            let verified = !signers.is_empty();
            (signers, verified)
        }
        _ => (Vec::new(), true),
    };
    Some(Judged {
        doc: Arc::new(published.doc),
        signers,
        verified,
    })
}

/// `1.1.0 yanked: broken; 2.0.0 beta`.
fn summary(doc: &StatusDoc) -> String {
    doc.versions
        .iter()
        .map(|(v, m)| format!("{v} {}", m.describe()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether a listing offers `v` for `request` as its publisher marked it (`info`,
/// `outdated`): a yanked version only when named exactly, a staged one when named exactly or
/// on a channel that admits the stage.
pub fn offered(
    doc: Option<&StatusDoc>,
    v: &Version,
    request: &crate::manifest::request::Request,
) -> bool {
    let Some(doc) = doc else {
        return true;
    };
    if doc.yanked(v).is_some() && !request.is_exactly(v) {
        return false;
    }
    doc.stage(v)
        .is_none_or(|stage| request.admits_stage(v, stage))
}

/// Status documents read once per run, by source URL and pack name.
#[derive(Default)]
pub struct StatusCache {
    read: Mutex<BTreeMap<(String, String), Option<Judged>>>,
}

impl StatusCache {
    /// The judged status of `name` in `source`, read the first time it is asked for.
    pub fn get(
        &self,
        source: &dyn Source,
        name: &str,
        policy: Option<&Policy>,
        reporter: crate::printer::Reporter,
    ) -> Option<Judged> {
        let key = (source.url().to_owned(), name.to_owned());
        if let Some(j) = self.read.lock().expect("status lock").get(&key) {
            return j.clone();
        }
        let judged = judge(source, name, policy, reporter);
        self.read
            .lock()
            .expect("status lock")
            .insert(key, judged.clone());
        judged
    }
}

/// Refuse a request that names exactly a version its publisher yanked, unless the lock
/// already holds it.
pub fn check_exact(
    name: &str,
    request: &crate::manifest::request::Request,
    doc: &StatusDoc,
    locked: Option<&Version>,
    url: &str,
) -> Result<()> {
    for (v, marks) in &doc.versions {
        let Some(reason) = &marks.yanked else {
            continue;
        };
        if request.is_exactly(v) && locked != Some(v) {
            let why = if reason.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", reason.trim())
            };
            return Err(Error::msg(format!(
                "`{name}@{v}` is yanked in `{url}`{why}"
            ))
            .with_hint(format!(
                "request another version (`aibox info {name}` lists them and marks the yanked ones)"
            ))
            .with_hint("a project whose `aibox.lock` already holds it keeps it; new resolutions never choose it"));
        }
    }
    Ok(())
}

/// Warn about every locked version its publisher yanked or deprecated (what `sync` installs
/// anyway: a lock that pins a yanked version keeps it).
/// Whether its document is signed was said when it was locked; it is not repeated here.
pub fn warn_lock(sources: &crate::engine::sources::Sources, lock: &crate::lockfile::Lockfile) {
    let reporter = sources.reporter();
    // Only these sources keep status documents: others are not even opened for it.
    let keeps = |url: &str| {
        ["oci://", "oci-layout:", "dir:"]
            .iter()
            .any(|s| url.starts_with(s))
    };
    let packs: Vec<(usize, &crate::lockfile::LockedPackage)> = lock
        .packages
        .iter()
        .filter(|p| keeps(&p.source))
        .enumerate()
        .collect();
    // One round trip per pack (its tag list), on the shared pool; warnings in lock order.
    let found: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
    let _ = crate::parallel::try_for_each(&packs, 8, |&(i, p)| -> Result<(), ()> {
        let Ok(source) = sources.get(&p.source) else {
            return Ok(());
        };
        let Some(judged) = judge(source.as_ref(), &p.name, None, reporter) else {
            return Ok(());
        };
        let mut found = found.lock().expect("warnings lock");
        if let Some(reason) = judged.doc.yanked(&p.version) {
            found.push((i, format!(
                "`{}@{}` is yanked{}; the lock keeps it — `aibox lock --upgrade-package {}` moves to a version that is not",
                p.name,
                p.version,
                reason_tail(reason),
                p.name
            )));
        }
        if let Some(message) = judged.doc.deprecated(&p.version) {
            found.push((
                i,
                format!(
                    "`{}@{}` is deprecated{}",
                    p.name,
                    p.version,
                    reason_tail(message)
                ),
            ));
        }
        Ok(())
    });
    let mut found = found.into_inner().expect("warnings lock");
    found.sort_by_key(|(i, _)| *i);
    for (_, warning) in found {
        reporter.warn(warning);
    }
}

fn reason_tail(text: &str) -> String {
    if text.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", text.trim())
    }
}
