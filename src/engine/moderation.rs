//! What a registry's moderation means for an install (ClawHub reports a verdict per skill):
//! a skill blocked as malware is refused before anything of it is downloaded, whatever the
//! flags (exit code 4, as for any policy refusal); a suspicious one needs consent — `--yes`,
//! or a yes on a terminal outside CI — and is refused anywhere else. Judged when requests are
//! resolved (before the resolver downloads anything) and before a lock is installed (a verdict
//! can change after a skill was locked); each verdict goes to the audit log.

use std::collections::BTreeSet;
use std::sync::Mutex;

use crate::error::{Error, Result, exit};
use crate::lockfile::Lockfile;
use crate::manifest::ProjectManifest;
use crate::registry::RegistryError;
use crate::registry::moderation::{Moderation, Verdict};
use crate::store::Store;

use crate::engine::sources::Sources;

/// Suspicious skills consented to in this process (`<source> <name>`), so one command asks once.
static ACCEPTED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// The verdict on `name` from the source at `url`: `None` when the source has no moderation,
/// or cannot be asked now (offline without a cached answer: nothing new can arrive then).
fn verdict(sources: &Sources, url: &str, name: &str) -> Result<Option<Moderation>> {
    let source = sources.get(url)?;
    match source.moderation(name) {
        Ok(m) => Ok(m),
        Err(RegistryError::Offline { .. }) => {
            sources.reporter().verbose(format!(
                "the moderation of `{name}` in `{url}` is not cached: not judged (offline)"
            ));
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Refuse `name` (from `url`) when blocked; ask for (or refuse without) consent when
/// suspicious.
fn judge(sources: &Sources, url: &str, name: &str, m: &Moderation) -> Result<()> {
    match m.verdict {
        Verdict::Clean => Ok(()),
        Verdict::Blocked => Err(Error::msg(format!(
            "`{name}` from `{url}` is {}: aibox never installs it",
            m.describe()
        ))
        .with_hint(format!(
            "remove `{name}` from `aibox.toml` (`aibox remove {name}`); nothing was changed and nothing of it was downloaded"
        ))
        .with_exit_code(exit::POLICY)),
        Verdict::Suspicious => {
            let key = format!("{url} {name}");
            if ACCEPTED.lock().unwrap_or_else(|e| e.into_inner()).contains(&key) {
                return Ok(());
            }
            let consent = sources.consent();
            let question = format!(
                "`{name}` from `{url}` is flagged by its registry as {}. Install it anyway?",
                m.describe()
            );
            let taken = if consent.yes {
                sources.reporter().warn(format!(
                    "taking `{name}` from `{url}`, which its registry flags as {} (--yes)",
                    m.describe()
                ));
                true
            } else {
                consent.ask.is_some_and(|ask| ask(sources.reporter(), &question))
            };
            if taken {
                ACCEPTED
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key);
                return Ok(());
            }
            Err(Error::msg(format!(
                "`{name}` from `{url}` is flagged by its registry as {}, and nobody consented to it",
                m.describe()
            ))
            .with_hint(format!(
                "review `{name}` (`aibox info {name}`); to install it anyway run the command again with `--yes` (on a terminal outside CI you are asked); nothing was changed"
            ))
            .with_exit_code(exit::POLICY))
        }
    }
}

/// Judge every request of `manifest` whose registry has moderation, before anything of it is
/// resolved.
pub fn check_requests(manifest: &ProjectManifest, sources: &Sources) -> Result<()> {
    for (name, req) in manifest.requirements() {
        let Some(spec) = manifest.registries.get(&req.registry) else {
            continue;
        };
        if !crate::registry::backends::clawhub::is_clawhub(&spec.url) {
            continue;
        }
        if let Some(m) = verdict(sources, &spec.url, name)? {
            judge(sources, &spec.url, name, &m)?;
        }
    }
    Ok(())
}

/// Judge every package of `lock` from a registry with moderation, before anything is fetched;
/// each verdict goes to the audit log of the store.
pub fn check_lock(store: &Store, sources: &Sources, lock: &Lockfile, profile: &str) -> Result<()> {
    for pkg in &lock.packages {
        if !crate::registry::backends::clawhub::is_clawhub(&pkg.source) {
            continue;
        }
        let Some(m) = verdict(sources, &pkg.source, &pkg.name)? else {
            continue;
        };
        let judged = judge(sources, &pkg.source, &pkg.name, &m);
        crate::audit::record(
            store.layout(),
            "moderation",
            Some(profile),
            serde_json::json!({
                "pack": pkg.name, "version": pkg.version.to_string(), "source": pkg.source,
                "verdict": m.verdict, "summary": m.summary, "reasons": m.reasons,
                "taken": judged.is_ok(),
            }),
            store.reporter(),
        );
        judged?;
    }
    Ok(())
}
