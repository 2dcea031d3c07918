//! `aibox run` and `aibox env`: the environment of the current generation — its `bin/` first on
//! PATH (through the profile's `current` link in the store, so it follows later syncs), the
//! packs' exports that the rule on protected variables lets through, optional defaults, and a
//! check that required variables are set.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::store::generations::GenerationEnv;

use crate::ops::{Options, Target, open_profile};

/// The environment a generation asks for.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Environment {
    /// Directories to put first on PATH.
    pub path: Vec<PathBuf>,
    /// Variables to set (exports and the defaults of unset optional variables).
    pub vars: BTreeMap<String, String>,
    /// Required variables that are not set: name → (pack, description).
    pub missing: BTreeMap<String, (String, String)>,
}

/// Compute the environment of the current generation of the target profile. PATH gets the
/// profile's `current/bin` in the store (for a project, the one its `.aibox/current` was just
/// checked to lead to), never a path through the project's directory, which a checkout could
/// replace later.
pub fn environment(opts: &Options, target: Target) -> Result<Environment> {
    let (store, profile) = open_profile(opts, target)?;
    let current = store.current(&profile)?;
    let bin_dir = profile.paths.current().join("bin");
    let root = crate::ops::sync::target_root(opts, target)?;
    let manifest_path = root.join(crate::ops::MANIFEST);
    let manifest = match target {
        Target::Project => Some(read_manifest(&manifest_path)?),
        // The global and self profiles have an `aibox.toml` once something was installed.
        Target::Global | Target::SelfCli => read_manifest(&manifest_path).ok(),
    };
    let allowed = manifest
        .as_ref()
        .map(|m| m.policy.allow_pack_env.clone())
        .unwrap_or_default();
    let mut env = resolve_env(&crate::engine::pack_env::exportable(
        &current.env,
        &allowed,
        opts.reporter,
    ));
    if let (Target::Project, Some(manifest)) = (target, manifest) {
        if !lock_matches(&current, &root) {
            opts.reporter.warn(format!(
                "the environment (generation {}) does not match `aibox.lock`; run `aibox sync`",
                current.id
            ));
        }
        // The project's own `[env]` comes last: it may set anything, even what packs may not.
        env.vars.extend(manifest.env);
        env.vars.insert(
            crate::env_vars::WORKSPACE.into(),
            root.display().to_string(),
        );
    }
    env.path.push(bin_dir);
    Ok(env)
}

/// A cheap staleness check: whether the project at `root` has the `aibox.lock` generation
/// `current` was made from (its hash against the one the generation records). A project with
/// no readable lock matches only before its first sync.
pub fn lock_matches(
    current: &crate::store::record::GenerationRecord,
    root: &std::path::Path,
) -> bool {
    crate::fs::read_regular(&root.join(crate::ops::LOCKFILE), crate::ops::MAX_LOCK_BYTES)
        .map(|bytes| current.lock_hash.as_deref() == Some(&crate::ops::sync::lock_hash(&bytes)))
        .unwrap_or(current.id == 0)
}

/// For the shell hook (`aibox activate`): the current generation's id when the project at
/// `root` (canonical) has moved its `aibox.lock` since that generation was made — a
/// `git pull`, a branch switch — so an `aibox sync` is due; `None` when it matches or the
/// project has no environment yet.
pub fn lock_moved(opts: &Options, root: &std::path::Path) -> Result<Option<u64>> {
    let store = opts.store()?;
    let profile = store.project_profile(root)?;
    let current = store.current(&profile)?;
    Ok((current.id != 0 && !lock_matches(&current, root)).then_some(current.id))
}

fn read_manifest(path: &std::path::Path) -> Result<crate::manifest::ProjectManifest> {
    let text = crate::fs::read_regular_string(path, crate::ops::MAX_MANIFEST_BYTES)
        .map_err(|e| Error::io(format!("cannot read `{}`", path.display()), e))?;
    Ok(crate::manifest::parse_project(&text, path)?)
}

fn resolve_env(gen_env: &GenerationEnv) -> Environment {
    let mut vars = gen_env.vars.clone();
    for (k, default) in &gen_env.optional {
        if crate::env_vars::var_os(k).is_none_or(|v| v.is_empty()) {
            vars.insert(k.clone(), default.clone());
        }
    }
    let missing = gen_env
        .required
        .iter()
        .filter(|(k, _)| crate::env_vars::var_os(k).is_none_or(|v| v.is_empty()))
        .map(|(k, r)| (k.clone(), (r.pack.clone(), r.description.clone())))
        .collect();
    Environment {
        path: Vec::new(),
        vars,
        missing,
    }
}

/// Run `argv` in the environment (replacing this process). Returns only on failure. With
/// `failed_sync` (the error of the sync that should have brought the environment up to date),
/// a command the current generation provides still runs (with a warning); any other command
/// fails with that error instead of falling through to another program of the same name on
/// PATH.
pub fn run(
    opts: &Options,
    target: Target,
    argv: &[std::ffi::OsString],
    failed_sync: Option<Error>,
) -> Result<()> {
    let env = environment(opts, target)?;
    let (program_os, args) = argv.split_first().ok_or_else(|| {
        Error::msg("no command given").with_hint("usage: aibox run -- <command> [args...]")
    })?;
    // Arguments go to the program as given, any bytes; the program's name is shown lossily.
    let program = &*program_os.to_string_lossy();
    let has_slash = program_os.as_encoded_bytes().contains(&b'/');
    // A command of the generation checks the required variables of its own pack (its wrapper
    // does, store/wrappers.rs); another command needs no pack in particular: a warning.
    let own_command = !has_slash
        && env
            .path
            .first()
            .is_some_and(|bin| crate::fs::exists(&bin.join(program_os)).unwrap_or(false));
    if let Some(e) = failed_sync {
        // What the policy refuses does not run, whichever generation holds it.
        if e.exit_code() == crate::error::exit::POLICY {
            return Err(e);
        }
        if !own_command && !has_slash {
            let hints = e.hints().to_vec();
            let code = e.exit_code();
            let mut err = Error::msg(format!(
                "cannot run `{program}`: the current environment does not provide it, and the sync that would have failed: {e}"
            ))
            .with_exit_code(code);
            for h in hints {
                err = err.with_hint(h);
            }
            return Err(err.with_hint(format!(
                "fix the sync (`aibox sync` shows the error again), or run a program outside the environment by its path (`/usr/bin/{program}`)"
            )));
        }
        opts.reporter.warn(format!(
            "the project could not be synced first, so `{program}` runs in the current environment: {e}"
        ));
    }
    if !env.missing.is_empty() && !own_command {
        let list: Vec<String> = env
            .missing
            .iter()
            .map(|(k, (pack, d))| format!("`{k}` (needed by `{pack}`): {d}"))
            .collect();
        opts.reporter.warn(format!(
            "required environment variables are not set (commands of these packs will refuse to run):\n  {}",
            list.join("\n  ")
        ));
    }
    let mut path = env.path.clone();
    if let Some(old) = crate::env_vars::var_os("PATH") {
        path.extend(std::env::split_paths(&old));
    }
    let joined = std::env::join_paths(path).map_err(|e| {
        Error::with_source("a directory of the environment cannot be put on PATH", e)
    })?;
    let mut cmd = std::process::Command::new(program_os);
    cmd.args(args).envs(&env.vars).env("PATH", &joined);
    // Look the program up on the new PATH (Command uses the parent's PATH otherwise).
    if !has_slash
        && let Some(found) = std::env::split_paths(&joined)
            .map(|d| d.join(program_os))
            .find(|p| crate::fs::metadata(p).is_ok_and(|m| m.is_file()))
    {
        cmd = std::process::Command::new(found);
        cmd.args(args).envs(&env.vars).env("PATH", &joined);
    }
    use std::os::unix::process::CommandExt;
    let err = cmd.exec();
    Err(Error::io(format!("cannot run `{program}`"), err).with_hint(
        "`aibox env` shows the environment; check that a synced pack provides the command",
    ))
}

/// A shell whose syntax [`render`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShellKind {
    /// bash, zsh and other POSIX shells.
    Posix,
    Fish,
}

/// Quote `s` as one word: single quotes, in which POSIX shells take every byte literally (a
/// `'` is written `'\''`) and fish only `\\` and `\'` are escapes. Control characters (and
/// invisible direction overrides) never appear raw, so the output is safe to look at: each of
/// their bytes is written as an escape the shell decodes — `$'\x1b'` in bash and zsh, `\x1b`
/// (`\X9b` above ASCII) in fish, outside the quotes — and the value stays exact.
pub fn quote(s: &str, shell: ShellKind) -> String {
    let literal = |part: &str| match shell {
        ShellKind::Fish => format!("'{}'", part.replace('\\', "\\\\").replace('\'', "\\'")),
        ShellKind::Posix => format!("'{}'", part.replace('\'', "'\\''")),
    };
    let mut out = String::new();
    let mut rest = s;
    while let Some((at, c)) = rest
        .char_indices()
        .find(|(_, c)| crate::printer::is_hidden(*c))
    {
        if at > 0 {
            out.push_str(&literal(&rest[..at]));
        }
        let mut bytes = [0u8; 4];
        let escaped: String = c
            .encode_utf8(&mut bytes)
            .bytes()
            .map(|b| match (shell, b) {
                (ShellKind::Fish, 0x80..) => format!("\\X{b:02x}"),
                _ => format!("\\x{b:02x}"),
            })
            .collect();
        match shell {
            ShellKind::Fish => out.push_str(&escaped),
            ShellKind::Posix => out.push_str(&format!("$'{escaped}'")),
        }
        rest = &rest[at + c.len_utf8()..];
    }
    if !rest.is_empty() || out.is_empty() {
        out.push_str(&literal(rest));
    }
    out
}

/// Render the environment as shell code to `eval`. Every name is checked again (a record could
/// come from anywhere) and every value is quoted, so nothing in it runs.
pub fn render(env: &Environment, shell: ShellKind) -> Result<String> {
    let mut out = String::new();
    for dir in &env.path {
        let d = quote(&dir.display().to_string(), shell);
        match shell {
            ShellKind::Fish => out.push_str(&format!("set -gx PATH {d} $PATH\n")),
            ShellKind::Posix => out.push_str(&format!("export PATH={d}\"${{PATH:+:$PATH}}\"\n")),
        }
    }
    for (k, v) in &env.vars {
        crate::manifest::check_env_name(k).map_err(|reason| {
            Error::msg(format!("refusing to export `{k}`: {reason}"))
                .with_hint("the environment record is damaged: run `aibox sync`")
        })?;
        match shell {
            ShellKind::Fish => out.push_str(&format!("set -gx {k} {}\n", quote(v, shell))),
            ShellKind::Posix => out.push_str(&format!("export {k}={}\n", quote(v, shell))),
        }
    }
    Ok(out)
}
