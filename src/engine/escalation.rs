//! What a new lock would let packs do that the old one did not: wider `[permissions]`, code that
//! runs at install or before a switch, a changed kind, a new or missing signer — and the one
//! consent check every path that installs a lock runs ([`check_install`]: `add`, `plugin
//! install`, `sync` after an edit, `update`, `import`, the local page): the new lock is compared
//! with the lock the profile's current generation was made from, and what asks for more is
//! taken only with `--yes` or a yes on a terminal outside CI; anywhere else it is refused
//! (exit code 4) before anything is fetched.

use crate::lockfile::{LockedPackage, Lockfile};
use crate::manifest::pack::{Grants, NetTarget, PackKind, Permissions};

use std::collections::BTreeSet;
use std::sync::Mutex;

use crate::engine::context::Consent;
use crate::engine::sources::Sources;
use crate::error::{Error, Result, exit};
use crate::store::Store;
use crate::store::profiles::Profile;

/// One pack asking for more.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Escalation {
    pub name: String,
    pub from: Option<String>,
    pub to: String,
    /// Each thing it now asks for, as a phrase.
    pub asks: Vec<String>,
}

/// What a plugin may do when it declares nothing (docs/plugins.md).
fn plugin_default() -> Permissions {
    let mut p = Permissions::default();
    p.fs.read.push("$PROJECT".into());
    p.fs.write.push("$PLUGIN_DIR".into());
    p
}

fn net_name(t: &NetTarget) -> String {
    match t {
        NetTarget::Port(p) => p.to_string(),
        NetTarget::HostPort(s) => s.clone(),
    }
}

/// What `net.udp = true` allows, as a phrase.
const UDP_PHRASE: &str = "use UDP (any host and port)";

/// How many scripts a phrase names before it says "and N more".
const SHOWN_SCRIPTS: usize = 5;

fn listed(items: &[String]) -> String {
    if items.len() <= SHOWN_SCRIPTS {
        return items.join(", ");
    }
    format!(
        "{} and {} more",
        items[..SHOWN_SCRIPTS].join(", "),
        items.len() - SHOWN_SCRIPTS
    )
}

/// What a skill may do, as phrases: the tools it pre-approves for the agent, the files an
/// agent may run (outside aibox's sandbox) and the tool packs it needs.
fn skill_phrases(g: &Grants, skill: &crate::manifest::pack::SkillSection) -> Vec<String> {
    let mut out = Vec::new();
    out.push(if skill.allowed_tools.is_empty() {
        "pre-approves no agent tools".to_owned()
    } else {
        format!("pre-approves agent tools: {}", listed(&skill.allowed_tools))
    });
    out.push(if skill.scripts.is_empty() {
        "ships no scripts".to_owned()
    } else {
        format!(
            "ships scripts an agent may run with its own permissions (not sandboxed by aibox): {}",
            listed(&skill.scripts)
        )
    });
    if !g.needs.is_empty() {
        out.push(format!("needs packs: {}", g.needs.join(", ")));
    }
    out
}

/// What `[permissions]` let a pack's code do, as phrases for people.
pub fn permission_phrases(p: &Permissions) -> Vec<String> {
    let mut out = Vec::new();
    for (what, list) in [
        ("read", &p.fs.read),
        ("write", &p.fs.write),
        ("the variables", &p.env),
    ] {
        if !list.is_empty() {
            out.push(format!("{what} {}", list.join(", ")));
        }
    }
    let net: Vec<String> = p.net.connect.iter().map(net_name).collect();
    if !net.is_empty() {
        out.push(format!("connect to {}", net.join(", ")));
    }
    if !p.net.unix.is_empty() {
        out.push(format!("use the Unix sockets {}", p.net.unix.join(", ")));
    }
    if p.net.udp {
        out.push(UDP_PHRASE.to_owned());
    }
    if p.net.is_empty() {
        out.push("no network".to_owned());
    }
    for (what, v) in p.limits.named() {
        if let Some(v) = v {
            out.push(format!("{what} ≤ {v}"));
        }
    }
    out
}

/// The kinds of reach the local page filters packs by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traits {
    /// It may reach the network: declared `net` access, or no sandbox at all.
    pub network: bool,
    /// It runs an `[install] run` hook.
    pub install_hook: bool,
    /// It runs unsandboxed (a tool declaring no `[permissions]`).
    pub unsandboxed: bool,
}

/// What [`grant_phrases`] says, as flags (skills run nothing themselves: none set but a hook).
pub fn traits(g: &Grants) -> Traits {
    let permissions = match (&g.permissions, g.kind) {
        (Some(p), _) => Some(p.clone()),
        (None, PackKind::Plugin) => Some(plugin_default()),
        (None, _) => None,
    };
    let unsandboxed = g.skill.is_none() && permissions.is_none();
    Traits {
        network: unsandboxed || permissions.is_some_and(|p| !p.net.is_empty()),
        install_hook: g.install.is_some(),
        unsandboxed,
    }
}

/// What a version may do, as phrases for people (`aibox info`, the local page): its sandbox
/// (or that it runs unsandboxed) and the code it runs unasked; for a skill, its tools,
/// scripts and the packs it needs.
pub fn grant_phrases(g: &Grants) -> Vec<String> {
    if let Some(skill) = &g.skill {
        return skill_phrases(g, skill);
    }
    let mut out = Vec::new();
    let permissions = match (&g.permissions, g.kind) {
        (Some(p), _) => Some(p.clone()),
        (None, PackKind::Plugin) => Some(plugin_default()),
        (None, _) => None,
    };
    match permissions {
        None => out.push("runs unsandboxed (declares no [permissions])".to_owned()),
        Some(p) => out.extend(permission_phrases(&p)),
    }
    if let Some(run) = &g.install {
        out.push(format!("runs an install hook: `{run}`"));
    }
    if let Some(run) = &g.check {
        out.push(format!("runs a health check: `{run}`"));
    }
    out
}

/// What a skill asks for beyond the version before: tools it newly pre-approves, scripts it
/// newly ships, packs it newly needs. (A skill new to the lock is shown whole by `info` and
/// asks nothing here, as a new pack without an install hook does.)
fn skill_widened(
    old: &Grants,
    new: &Grants,
    skill: &crate::manifest::pack::SkillSection,
) -> Vec<String> {
    let empty = crate::manifest::pack::SkillSection::default();
    let before = old.skill.as_ref().unwrap_or(&empty);
    let added = |x: &[String], y: &[String]| -> Vec<String> {
        y.iter().filter(|v| !x.contains(v)).cloned().collect()
    };
    let mut asks = Vec::new();
    let tools = added(&before.allowed_tools, &skill.allowed_tools);
    if !tools.is_empty() {
        asks.push(format!("pre-approves agent tools: {}", listed(&tools)));
    }
    let scripts = added(&before.scripts, &skill.scripts);
    if !scripts.is_empty() {
        asks.push(format!(
            "ships new scripts an agent may run: {}",
            listed(&scripts)
        ));
    }
    let needs = added(&old.needs, &new.needs);
    if !needs.is_empty() {
        asks.push(format!("needs new packs: {}", needs.join(", ")));
    }
    asks
}

/// The phrases for what `new` may do beyond `old` (`None`: a package new to the lock).
pub fn widened(old: Option<&Grants>, new: &Grants) -> Vec<String> {
    let mut asks = Vec::new();
    if let Some(skill) = &new.skill {
        if let Some(old) = old {
            if old.kind != new.kind {
                asks.push(format!(
                    "its kind changes from {} to {}",
                    old.kind.as_str(),
                    new.kind.as_str()
                ));
            }
            asks.extend(skill_widened(old, new, skill));
        }
        return asks;
    }
    let sandbox = |m: &Grants| match (&m.permissions, m.kind) {
        (Some(p), _) => Some(p.clone()),
        (None, PackKind::Plugin) => Some(plugin_default()),
        (None, _) => None, // not sandboxed
    };
    if let Some(old) = old
        && old.kind != new.kind
    {
        asks.push(format!(
            "its kind changes from {} to {}",
            old.kind.as_str(),
            new.kind.as_str()
        ));
    }
    match (old.map(sandbox), sandbox(new)) {
        // Newly added, or was not sandboxed and now is: nothing to widen against.
        (None, Some(_)) | (Some(None), Some(_)) | (None, None) | (Some(None), None) => {}
        (Some(Some(_)), None) => asks.push("its commands now run unsandboxed".into()),
        (Some(Some(a)), Some(b)) => {
            let added = |x: &[String], y: &[String]| -> Vec<String> {
                y.iter().filter(|v| !x.contains(v)).cloned().collect()
            };
            for (what, x, y) in [
                ("read", &a.fs.read, &b.fs.read),
                ("write", &a.fs.write, &b.fs.write),
                ("the variables", &a.env, &b.env),
            ] {
                let more = added(x, y);
                if !more.is_empty() {
                    asks.push(format!("{what} {}", more.join(", ")));
                }
            }
            let (xa, xb): (Vec<String>, Vec<String>) = (
                a.net.connect.iter().map(net_name).collect(),
                b.net.connect.iter().map(net_name).collect(),
            );
            let more = added(&xa, &xb);
            if !more.is_empty() {
                asks.push(format!("connect to {}", more.join(", ")));
            }
            let more = added(&a.net.unix, &b.net.unix);
            if !more.is_empty() {
                asks.push(format!("use the Unix sockets {}", more.join(", ")));
            }
            if b.net.udp && !a.net.udp {
                asks.push(UDP_PHRASE.to_owned());
            }
            for ((what, x), (_, y)) in a.limits.named().into_iter().zip(b.limits.named()) {
                match (x, y) {
                    (Some(_), None) => asks.push(format!("no {what} limit")),
                    (Some(x), Some(y)) if y > x => asks.push(format!("{what} {x} → {y}")),
                    _ => {}
                }
            }
        }
    }
    for (what, before, now) in [
        (
            "an install hook",
            old.and_then(|g| g.install.as_ref()),
            new.install.as_ref(),
        ),
        (
            "a health check",
            old.and_then(|g| g.check.as_ref()),
            new.check.as_ref(),
        ),
    ] {
        // Code that runs unasked (at install, before a switch) where none ran: a changed
        // command is only new code of the same pack, like its new binaries.
        if let Some(now) = now
            && before.is_none()
            && (old.is_some() || what == "an install hook")
        {
            asks.push(format!("runs {what}: `{now}`"));
        }
    }
    asks
}

fn signer_change(old: Option<&LockedPackage>, new: &LockedPackage) -> Option<String> {
    let old = old?;
    match (&old.signer, &new.signer) {
        (Some(a), Some(b)) if a != b => Some(format!("a new signer: {b} (was {a})")),
        (Some(a), None) => Some(format!("no signature (was signed by {a})")),
        _ => None,
    }
}

/// What a locked package may do: from the lock itself when it records that (version 3 on),
/// else from its `pack.toml` through `sources` (cached by the resolution that made the lock).
pub fn grants_of(lock: &Lockfile, pkg: &LockedPackage, sources: &Sources) -> Result<Grants> {
    if lock.records_grants() {
        return Ok(pkg.grants());
    }
    Ok(sources
        .get(&pkg.source)?
        .manifest(&pkg.name, &pkg.version)?
        .grants())
}

/// The escalations of going from `old` to `new` (packages whose version or source changed, and
/// new ones). With locks that record grants (version 3) this needs no network.
pub fn escalations(old: &Lockfile, new: &Lockfile, sources: &Sources) -> Result<Vec<Escalation>> {
    let mut out = Vec::new();
    for pkg in &new.packages {
        let before = old.package(&pkg.name);
        if before.is_some_and(|b| b.version == pkg.version && b.source == pkg.source) {
            continue;
        }
        let now = grants_of(new, pkg, sources)?;
        let was = before.map(|b| grants_of(old, b, sources)).transpose()?;
        let mut asks = widened(was.as_ref(), &now);
        asks.extend(signer_change(before, pkg));
        if !asks.is_empty() {
            out.push(Escalation {
                name: pkg.name.clone(),
                from: before.map(|b| b.version.to_string()),
                to: pkg.version.to_string(),
                asks,
            });
        }
    }
    Ok(out)
}

/// The escalations as lines for people.
pub fn describe(list: &[Escalation]) -> String {
    list.iter()
        .map(|e| {
            let head = match &e.from {
                Some(f) => format!("{} {f} → {}", e.name, e.to),
                None => format!("{} {} (new)", e.name, e.to),
            };
            format!("  {head}: {}", e.asks.join("; "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Escalations consented to in this process (each as [`describe`] shows it), so that one
/// command asks once: `update` asks, and the install it then runs does not ask again.
static ACCEPTED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

fn key(e: &Escalation) -> String {
    describe(std::slice::from_ref(e))
}

/// Record `list` as consented to (by a person on the local page, or through [`consent`]).
pub fn accept(list: &[Escalation]) {
    let mut accepted = ACCEPTED.lock().unwrap_or_else(|e| e.into_inner());
    accepted.extend(list.iter().map(key));
}

/// Whether `list` may be taken under `consent`: `--yes` (with a warning naming what is taken),
/// else a yes from the person at the terminal (outside CI); anywhere else no.
pub fn asked(list: &[Escalation], consent: Consent, reporter: crate::printer::Reporter) -> bool {
    if consent.yes {
        reporter.warn(format!(
            "taking versions that ask for more than the installed ones (--yes):\n{}",
            describe(list)
        ));
        return true;
    }
    consent.ask.is_some_and(|ask| {
        ask(
            reporter,
            &format!(
                "These versions ask for more than the installed ones:\n{}\nTake them?",
                describe(list)
            ),
        )
    })
}

/// Versions that ask for more than the installed ones, refused for want of consent (exit
/// code 4, as every policy refusal).
#[derive(Debug, thiserror::Error)]
#[error("these versions ask for more than the installed ones, and nobody consented:\n{}", describe(.0))]
pub struct Unconsented(pub Vec<Escalation>);

impl crate::error::Hint for Unconsented {
    fn hints(&self) -> Vec<String> {
        vec![
            "review them (`aibox info <pack>` shows what a version may do), then run the same command again with `--yes`; on a terminal outside CI you are asked instead".into(),
            "nothing was changed: the current generation, `aibox.toml` and `aibox.lock` are as they were".into(),
        ]
    }

    fn exit_code(&self) -> i32 {
        exit::POLICY
    }
}

/// The refusal of `list` for want of consent.
pub fn refusal(list: &[Escalation]) -> Error {
    Unconsented(list.to_vec()).into()
}

/// Go on only with consent to `list` ([`asked`]); what was consented to before in this process
/// is not asked again. Refused: [`refusal`].
pub fn consent(
    list: &[Escalation],
    consent: Consent,
    reporter: crate::printer::Reporter,
) -> Result<()> {
    let open: Vec<Escalation> = {
        let accepted = ACCEPTED.lock().unwrap_or_else(|e| e.into_inner());
        list.iter()
            .filter(|e| !accepted.contains(&key(e)))
            .cloned()
            .collect()
    };
    if open.is_empty() {
        return Ok(());
    }
    if asked(&open, consent, reporter) {
        accept(&open);
        return Ok(());
    }
    Err(refusal(&open))
}

/// The lock `profile`'s current generation was made from: `None` when it has no generation
/// yet, or its current generation keeps no lock (generation 0, one made by an older aibox).
pub fn current_lock(store: &Store, profile: &Profile) -> Result<Option<Lockfile>> {
    let Ok(id) = store.current_id(profile) else {
        return Ok(None);
    };
    let Some(files) = store.project_files(profile, id) else {
        return Ok(None);
    };
    let path = profile.paths.generation(id).join("aibox.lock");
    Ok(Some(Lockfile::parse(
        &String::from_utf8_lossy(&files.lock),
        &path,
    )?))
}

/// What installing `lock` into `profile` would let packs do beyond what its current
/// generation lets them: the escalations against the lock that generation was made from.
/// Nothing when the profile has no generation to compare with (a first install of a lock
/// asks nothing; `aibox info` shows what each pack may do), or when `lock` is that lock.
pub fn pending(
    store: &Store,
    profile: &Profile,
    lock: &Lockfile,
    sources: &Sources,
) -> Result<Vec<Escalation>> {
    match current_lock(store, profile)? {
        Some(current) if current != *lock => escalations(&current, lock, sources),
        _ => Ok(Vec::new()),
    }
}

/// The one consent check of every path that installs a lock into `profile` (`add`, `plugin
/// install`, `sync`, `update`, `import`, the local page): what `lock` asks for beyond the
/// current generation ([`pending`]) needs [`consent`]; refused, nothing is fetched or switched.
pub fn check_install(
    store: &Store,
    profile: &Profile,
    lock: &Lockfile,
    sources: &Sources,
) -> Result<()> {
    let list = pending(store, profile, lock, sources)?;
    consent(&list, sources.consent(), sources.reporter())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(p: Permissions) -> Grants {
        Grants {
            kind: PackKind::Tool,
            permissions: Some(p),
            install: None,
            check: None,
            skill: None,
            needs: Vec::new(),
        }
    }

    #[test]
    fn unix_sockets_and_udp_are_shown_and_count_as_growth() {
        let mut old = Permissions::default();
        old.fs.read.push("$PROJECT".into());
        let mut new = old.clone();
        new.net.unix = vec!["/run/app.sock".into(), "$HOME/.agent".into()];
        new.net.udp = true;
        assert_eq!(
            grant_phrases(&grants(new.clone())),
            [
                "read $PROJECT",
                "use the Unix sockets /run/app.sock, $HOME/.agent",
                "use UDP (any host and port)"
            ]
        );
        assert!(grant_phrases(&grants(old.clone())).contains(&"no network".to_owned()));
        assert_eq!(
            widened(Some(&grants(old.clone())), &grants(new.clone())),
            [
                "use the Unix sockets /run/app.sock, $HOME/.agent",
                "use UDP (any host and port)"
            ]
        );
        // A socket already allowed is not asked for again; dropping UDP asks nothing.
        let mut fewer = new.clone();
        fewer.net.udp = false;
        fewer.net.unix.push("/run/other.sock".into());
        assert_eq!(
            widened(Some(&grants(new)), &grants(fewer)),
            ["use the Unix sockets /run/other.sock"]
        );
    }
}
