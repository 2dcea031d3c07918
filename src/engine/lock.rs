//! `aibox lock`: resolve the manifest against its registries (keeping locked versions unless
//! asked to upgrade) and write `aibox.lock` only when its bytes change.

use std::path::Path;
use std::sync::Arc;

use semver::Version;

use crate::error::{Error, Result};
use crate::fs;
use crate::lockfile::{LockedPackage, Lockfile};
use crate::manifest::ProjectManifest;
use crate::manifest::pack::PackManifest;
use crate::registry::Source;
use crate::resolver::{IndexError, PackIndex, ResolveOptions, resolve};

use crate::engine::context::{LOCKFILE, Options};
use crate::engine::project::ProjectState;
use crate::engine::sources::Sources;

/// The running aibox's version.
pub fn aibox_version() -> Version {
    crate::platform::version().clone()
}

/// Which locked versions may change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Upgrade {
    /// Keep every locked version that still satisfies the manifest.
    #[default]
    None,
    /// Newest allowed versions of everything.
    All,
    /// Newest allowed versions of these packs; keep the rest.
    Packages(Vec<String>),
}

/// The manifest's registries as the resolver's index.
struct ManifestIndex<'a> {
    manifest: &'a ProjectManifest,
    sources: &'a Sources<'a>,
    /// The policy the packs' status documents are judged by.
    policy: &'a crate::trust::Policy,
    statuses: crate::engine::lifecycle::StatusCache,
}

impl ManifestIndex<'_> {
    fn source_for(&self, name: &str) -> Result<Arc<dyn Source>, IndexError> {
        let (_, spec) = self.manifest.registry_for(name).ok_or_else(|| {
            IndexError::Other(format!(
                "no registry for `{name}`: add a `default` entry under `[registries]` in aibox.toml"
            ))
        })?;
        Ok(self.sources.get(&spec.url)?)
    }
}

impl PackIndex for ManifestIndex<'_> {
    fn versions(&self, name: &str) -> Result<Vec<Version>, IndexError> {
        Ok(self.source_for(name)?.versions(name)?)
    }

    fn manifest(&self, name: &str, version: &Version) -> Result<Arc<PackManifest>, IndexError> {
        Ok(self.source_for(name)?.manifest(name, version)?)
    }

    fn prefetch(&self, name: &str, versions: &[Version]) {
        if let Ok(source) = self.source_for(name) {
            source.prefetch(name, versions);
        }
    }

    fn status(&self, name: &str) -> Option<Arc<crate::registry::lifecycle::StatusDoc>> {
        let source = self.source_for(name).ok()?;
        self.statuses
            .get(
                source.as_ref(),
                name,
                Some(self.policy),
                self.sources.reporter(),
            )
            .map(|j| j.doc)
    }
}

/// Resolve the project and build the lock it implies (nothing is written).
pub fn resolve_lock(
    state: &ProjectState,
    sources: &Sources,
    upgrade: &Upgrade,
) -> Result<Lockfile> {
    let manifest = &state.manifest;
    let old = state.lock.as_ref().map(|(_, l)| l);
    let options = resolve_options(manifest, old, upgrade)?;
    // What a registry blocks is never resolved (nor downloaded); what it flags needs consent.
    crate::engine::moderation::check_requests(manifest, sources)?;
    let policy = crate::engine::verdicts::policy(Some(state), sources.reporter())?;
    let index = ManifestIndex {
        manifest,
        sources,
        policy: &policy,
        statuses: Default::default(),
    };
    let roots = manifest.roots();
    // An exact request of a yanked version is refused by name, not as "no version matches".
    for root in &roots {
        if let Some(doc) = index.status(&root.name) {
            let url = index.source_for(&root.name)?.url().to_owned();
            crate::engine::lifecycle::check_exact(
                &root.name,
                &root.request,
                &doc,
                options.preferences.get(&root.name),
                &url,
            )?;
        }
    }
    let resolution = resolve(&roots, &index, &options)?;
    check_sections(manifest, &resolution)?;

    let platforms = manifest.policy.platforms.clone();
    let store = crate::registry::backends::content::home_store(sources.home())?;
    let mut unverified = Vec::new();
    let mut packages = Vec::with_capacity(resolution.packages.len());
    // A previous lock of this format, for the same platforms, whose pins can be kept as they are.
    let keepable =
        old.filter(|l| l.version == crate::lockfile::VERSION && l.platforms == platforms);
    for (name, resolved) in &resolution.packages {
        let source = index.source_for(name)?;
        // The signer: verified now, pinned by the previous lock unless this pack is upgraded
        // deliberately (`--upgrade`, `--upgrade-package`, `aibox add`).
        let upgrading = match upgrade {
            Upgrade::None => false,
            Upgrade::All => true,
            Upgrade::Packages(names) => names.contains(name),
        };
        let previous = old.and_then(|l| l.package(name)).filter(|_| !upgrading);
        // The same version from the same source, not upgraded: its pins are kept as locked,
        // so relocking downloads nothing for it (a release archive's tree hash is otherwise
        // computed by downloading the archive) and works offline. Its content is still checked
        // against these pins when it is fetched.
        let entry = match keepable
            .and_then(|l| l.package(name))
            .filter(|p| !upgrading && p.version == resolved.version && p.source == source.url())
            .filter(|p| !p.platforms.is_empty() && source.published())
        {
            Some(p) => crate::registry::LockEntry {
                digest: p.digest.clone(),
                platforms: p.platforms.clone(),
                aqua: p.aqua.clone(),
                signer: p.aqua.as_ref().and(p.signer.clone()),
            },
            None => source.lock_entry(name, &resolved.version, platforms.as_deref())?,
        };
        let version_text = resolved.version.to_string();
        let signer = if let Some(pin) = &entry.aqua {
            // Checked by the aqua source itself: the policy judges which checks passed.
            if let crate::trust::Verdict::Allowed(Some(w)) =
                policy.judge_checks(name, &version_text, source.url(), &pin.verified)?
            {
                unverified.push(w);
            }
            entry.signer.clone()
        } else if policy.verifies() {
            let subject = crate::trust::Subject {
                name,
                version: &version_text,
                source: source.url(),
                digest: entry.digest.as_deref(),
                locked_signer: previous.and_then(|p| p.signer.as_deref()),
                // Named by `--upgrade-package`: the signer it was locked with is the one to
                // move away from when another trusted key signs it too (a key rotation).
                retiring: if matches!(upgrade, Upgrade::Packages(n) if n.contains(name)) {
                    old.and_then(|l| l.package(name))
                        .and_then(|p| p.signer.as_deref())
                } else {
                    None
                },
            };
            let same_digest = previous
                .filter(|p| p.digest.is_some() && p.digest == entry.digest)
                .and_then(|p| p.signer.as_deref());
            crate::engine::verdicts::lock_signer(
                store.as_ref(),
                sources,
                &policy,
                subject,
                same_digest,
                &mut unverified,
            )?
        } else {
            previous
                .filter(|p| p.digest == entry.digest)
                .and_then(|p| p.signer.clone())
        };
        packages.push(locked_package(name, resolved, source.url(), entry, signer));
    }
    crate::engine::verdicts::warn_unverified(&policy, &unverified, sources.reporter());
    let mut lock = Lockfile {
        version: crate::lockfile::VERSION,
        platforms,
        packages,
    };
    lock.canonicalize();
    Ok(lock)
}

/// The resolver's options: prefer the versions `old` locked, except for what `upgrade` names.
fn resolve_options(
    manifest: &ProjectManifest,
    old: Option<&Lockfile>,
    upgrade: &Upgrade,
) -> Result<ResolveOptions> {
    let mut options = ResolveOptions::for_manifest(manifest, aibox_version(), old);
    match upgrade {
        Upgrade::None => {}
        Upgrade::All => options.preferences.clear(),
        Upgrade::Packages(names) => {
            for name in names {
                if options.preferences.remove(name).is_none() {
                    return Err(Error::msg(format!("`{name}` is not in `aibox.lock`"))
                        .with_hint("`--upgrade-package` takes the name of a locked pack"));
                }
            }
        }
    }
    Ok(options)
}

/// The lock's entry for one resolved pack from `source`.
fn locked_package(
    name: &str,
    resolved: &crate::resolver::Resolved,
    source: &str,
    entry: crate::registry::LockEntry,
    signer: Option<String>,
) -> LockedPackage {
    let dependencies = resolved
        .dependencies
        .iter()
        .map(|d| {
            let request = resolved.manifest.dependencies.get(d).cloned();
            (d.clone(), request.unwrap_or_else(|| "*".into()))
        })
        .collect();
    LockedPackage {
        name: name.to_owned(),
        version: resolved.version.clone(),
        kind: resolved.manifest.pack.kind,
        source: source.to_owned(),
        digest: entry.digest,
        signer,
        dependencies,
        platforms: entry.platforms,
        permissions: resolved.manifest.permissions.clone(),
        install: resolved.manifest.install.as_ref().map(|c| c.run.clone()),
        check: resolved.manifest.check.as_ref().map(|c| c.run.clone()),
        skill: resolved.manifest.skill.clone(),
        aqua: entry.aqua,
    }
}

/// Plugins are requested under `[plugins]`, skills under `[skills]`, every other pack under
/// `[packs]`.
fn check_sections(
    manifest: &ProjectManifest,
    resolution: &crate::resolver::Resolution,
) -> Result<()> {
    use crate::manifest::Section;
    for (name, resolved) in &resolution.packages {
        let kind = resolved.manifest.pack.kind;
        let Some(wrong) = manifest.section_of(name) else {
            continue;
        };
        let right = Section::of_kind(kind);
        if wrong == right {
            continue;
        }
        let flag = match right {
            Section::Plugins => " (`aibox add --plugin`)",
            Section::Skills => " (`aibox add --skill`)",
            Section::Packs => "",
        };
        return Err(Error::msg(format!(
            "`{name}` {} is a {} pack, but `aibox.toml` requests it under [{}]",
            resolved.version,
            kind.as_str(),
            wrong.key()
        ))
        .with_hint(format!(
            "move `{name}` to [{}] in `aibox.toml`{flag}",
            right.key()
        )));
    }
    Ok(())
}

/// `aibox.lock` is missing or would change, and the user forbade changing it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("`aibox.lock` {}, but `{flag}` forbids changing it{}", why(.missing, .unmet), listed(.changes))]
pub struct StaleLock {
    pub missing: bool,
    /// What re-locking would change (`Update hello 1.0.0 -> 1.1.0`, …).
    pub changes: Vec<String>,
    /// The first request the lock does not meet, when that is why.
    pub unmet: Option<crate::lockfile::Unmet>,
    /// The flag that forbade it (`--locked`, `--check`).
    pub flag: &'static str,
}

fn listed(changes: &[String]) -> String {
    if changes.is_empty() {
        String::new()
    } else {
        format!("; locking would:\n  {}", changes.join("\n  "))
    }
}

/// What changes from lock `old` to lock `new`, one line per package, in name order: `Add`,
/// `Remove`, `Update`/`Downgrade` (version), `Change` (same version, other content or source),
/// `Re-sign` (other signer).
pub fn changes(old: Option<&Lockfile>, new: &Lockfile) -> Vec<(&'static str, String)> {
    let empty = Vec::new();
    let before = old.map(|l| &l.packages).unwrap_or(&empty);
    let mut out = Vec::new();
    for p in &new.packages {
        match before.iter().find(|o| o.name == p.name) {
            None => out.push(("Add", format!("{} {}", p.name, p.version))),
            Some(o) if o.version < p.version => out.push((
                "Update",
                format!("{} {} -> {}", p.name, o.version, p.version),
            )),
            Some(o) if o.version > p.version => out.push((
                "Downgrade",
                format!("{} {} -> {}", p.name, o.version, p.version),
            )),
            Some(o)
                if o.source != p.source || o.digest != p.digest || o.platforms != p.platforms =>
            {
                out.push((
                    "Change",
                    format!("{} {} (new content or source)", p.name, p.version),
                ))
            }
            Some(o) if o.signer != p.signer => out.push((
                "Re-sign",
                format!(
                    "{} {}: signer {} -> {}",
                    p.name,
                    p.version,
                    o.signer
                        .as_deref()
                        .map(crate::trust::keys::short)
                        .unwrap_or("none"),
                    p.signer
                        .as_deref()
                        .map(crate::trust::keys::short)
                        .unwrap_or("none")
                ),
            )),
            Some(_) => {}
        }
    }
    for o in before {
        if !new.packages.iter().any(|p| p.name == o.name) {
            out.push(("Remove", format!("{} {}", o.name, o.version)));
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

fn why(missing: &bool, unmet: &Option<crate::lockfile::Unmet>) -> String {
    match (missing, unmet) {
        (true, _) => "does not exist".into(),
        (false, Some(u)) => format!("is out of date with `aibox.toml` ({u})"),
        (false, None) => "is out of date with `aibox.toml`".into(),
    }
}

impl crate::error::Hint for StaleLock {
    fn hints(&self) -> Vec<String> {
        let also = if self.flag == "--locked" {
            ", or drop `--locked`"
        } else {
            ""
        };
        vec![format!(
            "run `aibox lock` and commit the updated `aibox.lock`{also}"
        )]
    }

    fn exit_code(&self) -> i32 {
        crate::error::exit::STALE_LOCK
    }
}

/// How `aibox lock`/`sync` may treat an out-of-date lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockPolicy {
    /// Re-resolve and write the lock when it changes.
    #[default]
    Update,
    /// Fail when the lock would change (`--locked`, `lock --check`).
    Locked,
    /// Use the lock as it is; never resolve, never write (`--frozen`).
    Frozen,
}

/// The outcome of bringing the lock up to date.
#[derive(Debug)]
pub struct LockOutcome {
    pub lock: Lockfile,
    /// The lock's bytes as on disk after this step.
    pub bytes: Vec<u8>,
    /// Whether `aibox.lock` was (re)written.
    pub written: bool,
    /// Whether resolution ran.
    pub resolved: bool,
}

/// Bring `aibox.lock` up to date under `policy`. With `force_resolve`, re-resolve even when the
/// lock is fresh (`aibox lock`).
pub fn ensure_lock(
    state: &ProjectState,
    opts: &Options,
    policy: LockPolicy,
    upgrade: &Upgrade,
    force_resolve: bool,
) -> Result<LockOutcome> {
    let lock_path = state.root.join(LOCKFILE);
    if policy == LockPolicy::Frozen {
        let (bytes, lock) = state.lock.clone().ok_or_else(|| {
            Error::msg(format!(
                "`--frozen` needs `{}`, which does not exist",
                lock_path.display()
            ))
            .with_hint("run `aibox lock` and commit `aibox.lock`")
        })?;
        return Ok(LockOutcome {
            lock,
            bytes,
            written: false,
            resolved: false,
        });
    }
    if !force_resolve
        && *upgrade == Upgrade::None
        && let Some((bytes, lock)) = &state.lock
        && lock.satisfies(&state.manifest)
    {
        return Ok(LockOutcome {
            lock: lock.clone(),
            bytes: bytes.clone(),
            written: false,
            resolved: false,
        });
    }
    let sources = state.sources(opts);
    let lock = resolve_lock(state, &sources, upgrade)?;
    opts.reporter
        .status("Resolved", format!("{} packs", lock.packages.len()));
    let text = lock.render();
    let unchanged = state
        .lock
        .as_ref()
        .is_some_and(|(bytes, _)| bytes.as_slice() == text.as_bytes());
    if unchanged {
        return Ok(LockOutcome {
            lock,
            bytes: text.into_bytes(),
            written: false,
            resolved: true,
        });
    }
    if policy == LockPolicy::Locked {
        let unmet = state
            .lock
            .as_ref()
            .and_then(|(_, l)| l.check(&state.manifest).err());
        return Err(StaleLock {
            missing: state.lock.is_none(),
            changes: changes(state.lock.as_ref().map(|(_, l)| l), &lock)
                .into_iter()
                .map(|(verb, what)| format!("{} {what}", verb.to_lowercase()))
                .collect(),
            unmet,
            flag: "--locked",
        }
        .into());
    }
    fs::write_atomic(&lock_path, text.as_bytes())
        .map_err(|e| Error::io(format!("cannot write `{}`", lock_path.display()), e))?;
    for (verb, what) in changes(state.lock.as_ref().map(|(_, l)| l), &lock) {
        let verb = match verb {
            "Add" => "Adding",
            "Remove" => "Removing",
            "Update" => "Updating",
            "Downgrade" => "Downgrading",
            "Change" => "Changing",
            _ => "Re-signing",
        };
        opts.reporter.status(verb, what);
    }
    opts.reporter
        .status("Locked", format!("`{}`", lock_path.display()));
    Ok(LockOutcome {
        lock,
        bytes: text.into_bytes(),
        written: true,
        resolved: true,
    })
}

/// `aibox lock merge BASE OURS THEIRS` (git's merge driver): merge the three locks and write
/// the result to `ours`. A side that no longer reads is salvaged; a missing or empty base means
/// both sides added the lock.
pub fn merge_files(
    base: &Path,
    ours: &Path,
    theirs: &Path,
) -> Result<crate::lockfile::merge::Merged> {
    use crate::lockfile::merge::{merge, salvage};
    let read = |path: &Path| -> Result<Option<Lockfile>> {
        let text = match fs::read_regular_string(path, crate::engine::context::MAX_LOCK_BYTES) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("cannot read `{}`", path.display()), e)),
        };
        if text.trim().is_empty() {
            return Ok(None);
        }
        Ok(Some(
            Lockfile::parse(&text, path).unwrap_or_else(|_| salvage(&text).lock),
        ))
    };
    let base = read(base)?;
    let ours_lock = read(ours)?.unwrap_or_else(|| salvage("").lock);
    let theirs_lock = read(theirs)?.unwrap_or_else(|| salvage("").lock);
    let merged = merge(base.as_ref(), &ours_lock, &theirs_lock).map_err(|c| {
        // `ours` is left as it was: git marks the lock conflicted and keeps this branch's.
        Error::msg(format!("cannot merge `aibox.lock`: {c}")).with_hint(
            "`aibox.lock` keeps this branch's lock (`git checkout --theirs aibox.lock` takes the other's); review the registry's releases, keep the lock of the one you trust or name another in `[registries]` of `aibox.toml`, then run `aibox lock` (it locks every pack against the release that lock pins) and `git add aibox.lock`",
        )
    })?;
    fs::write_atomic(ours, merged.lock.render().as_bytes())
        .map_err(|e| Error::io(format!("cannot write `{}`", ours.display()), e))?;
    Ok(merged)
}
