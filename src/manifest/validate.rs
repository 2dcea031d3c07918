//! Checks on a parsed pack manifest that its shape alone cannot express: name syntax,
//! dependency names and requests, `requires-aibox`, `bin` names and paths, environment
//! variable names, platforms and the plugin executable. The same checks run on `pack.toml`
//! text (errors point at the key) and on the JSON carried in OCI configs (errors name the key),
//! so nothing a registry sends reaches a path or a shell unchecked.

use std::path::Path;

use super::error::ManifestError;
use super::names::validate_pack_name;
use super::pack::{PackKind, PackManifest};
use super::problem::{Problem, STEERING_PREFIX, bad_relative_path, check_env_name};
use super::spans::{Part, locate};
use crate::manifest::request::Request;

/// Parse and validate a `pack.toml`: TOML shape, then name syntax, dependency requests,
/// `requires-aibox`, `bin` paths, platforms, and the plugin executable of `kind = "plugin"`.
pub fn parse_pack(text: &str, path: &Path) -> Result<PackManifest, ManifestError> {
    let manifest: PackManifest =
        toml::from_str(text).map_err(|e| ManifestError::from_toml(path, text, &e))?;
    validate_pack(&manifest, text, path)?;
    Ok(manifest)
}

/// Validate `manifest` parsed from `text` at `path`; the error points at the offending key.
pub(crate) fn validate_pack(
    manifest: &PackManifest,
    text: &str,
    path: &Path,
) -> Result<(), ManifestError> {
    let derived = manifest.skill.is_some().then(|| {
        Problem::new(&["skill"], Part::Key, "`[skill]` is not written by hand: aibox derives it from the skill's `SKILL.md` and files".into())
            .hint("remove the `[skill]` table; `allowed-tools` goes in the front matter of `SKILL.md`")
    });
    derived
        .map_or_else(|| check_pack(manifest), Err)
        .map_err(|p| {
            let keys: Vec<&str> = p.keys.iter().map(String::as_str).collect();
            let offset = locate(text, &keys, p.part).map_or(0, |s| s.start);
            let e = ManifestError::at(path, text, offset, p.message);
            match p.hint {
                Some(h) => e.with_hint(h),
                None => e,
            }
        })
}

/// Every check on a pack manifest, wherever it came from.
pub fn check_pack(manifest: &PackManifest) -> Result<(), Problem> {
    let pack = &manifest.pack;
    if let Err(reason) = validate_pack_name(&pack.name) {
        return Err(Problem::new(
            &["pack", "name"],
            Part::Value,
            format!("`{}` is not a valid pack name: {reason}", pack.name),
        )
        .hint("pack names use lowercase letters, digits and `-` (at most 64 characters), like `java` or `node-lts`"));
    }
    for alias in &pack.aliases {
        if let Err(reason) = validate_pack_name(alias) {
            return Err(Problem::new(
                &["pack", "aliases"],
                Part::Value,
                format!("`{alias}` is not a valid alias: {reason}"),
            )
            .hint("aliases are tool names like pack names: lowercase letters, digits and `-`"));
        }
    }
    if let Some(req) = &pack.requires_aibox
        && let Err(e) = Request::parse(req)
    {
        return Err(
            Problem::new(&["pack", "requires-aibox"], Part::Value, e.to_string())
                .hint("write an aibox version request like `>=0.3`"),
        );
    }
    if let Some(platforms) = &pack.platforms {
        for p in platforms {
            if !crate::platform::KNOWN.contains(&p.as_str()) {
                return Err(unknown_platform(
                    Problem::new(&["pack", "platforms"], Part::Value, String::new()),
                    p,
                ));
            }
        }
    }
    for (dep, req) in &manifest.dependencies {
        if let Err(reason) = validate_pack_name(dep) {
            return Err(Problem::new(
                &["dependencies", dep],
                Part::Key,
                format!("dependency `{dep}` is not a valid pack name: {reason}"),
            ));
        }
        if let Err(e) = Request::parse(req) {
            return Err(
                Problem::new(&["dependencies", dep], Part::Value, e.to_string())
                    .hint("write a version request like `1`, `^1.6`, `~2.3` or `*`"),
            );
        }
    }
    for (command, target) in &manifest.bin {
        if let Err(reason) = check_command_name(command) {
            return Err(Problem::new(
                &["bin", command],
                Part::Key,
                format!("`{command}` is not a command name: {reason}"),
            )
            .hint("a `[bin]` key is the command's name on PATH: letters, digits, `-`, `_`, `.`"));
        }
        if let Some(reason) = bad_relative_path(target) {
            return Err(Problem::new(
                &["bin", command],
                Part::Value,
                format!("`bin.{command}` = `{target}` {reason}"),
            )
            .hint("write a path inside the pack, relative to its root, like `bin/tool`"));
        }
    }
    check_env(manifest)?;
    super::permissions::check(
        manifest.permissions.as_ref(),
        manifest.install.as_ref(),
        manifest.check.as_ref(),
        &manifest.hooks,
    )?;
    if !manifest.hooks.is_empty() && pack.kind != PackKind::Plugin {
        return Err(Problem::new(
            &["hooks", "subscribe"],
            Part::Key,
            "only plugins receive lifecycle events".into(),
        )
        .hint("set `kind = \"plugin\"` in `[pack]`, or remove `[hooks]`"));
    }
    check_skill(manifest)?;
    if pack.kind == PackKind::Plugin {
        let expected = format!("aibox-plugin-{}", pack.name);
        if !manifest.bin.contains_key(&expected) {
            return Err(Problem::new(
                &["pack", "kind"],
                Part::Value,
                format!("a plugin pack must provide the executable `{expected}` in `[bin]`"),
            )
            .hint(format!(
                "add `[bin]` with `{expected} = \"bin/{expected}\"` (the path inside the pack)"
            )));
        }
    }
    Ok(())
}

/// A skill is one folder read by agents: aibox puts nothing of it on PATH, runs none of its
/// code and exports no variables for it, so the tables that would say so are refused.
fn check_skill(manifest: &PackManifest) -> Result<(), Problem> {
    if manifest.pack.kind != PackKind::Skill {
        return match manifest.skill {
            Some(_) => Err(Problem::new(
                &["pack", "kind"],
                Part::Value,
                "only a skill pack (`kind = \"skill\"`) has a `skill` section".into(),
            )),
            None => Ok(()),
        };
    }
    let refused: [(&str, bool); 7] = [
        ("bin", !manifest.bin.is_empty()),
        ("env", !manifest.env.is_empty()),
        ("permissions", manifest.permissions.is_some()),
        ("install", manifest.install.is_some()),
        ("check", manifest.check.is_some()),
        ("hooks", !manifest.hooks.is_empty()),
        ("pack.platforms", manifest.pack.platforms.is_some()),
    ];
    if let Some((key, _)) = refused.iter().find(|(_, present)| *present) {
        let keys: Vec<&str> = key.split('.').collect();
        return Err(Problem::new(
            &keys,
            Part::Key,
            format!("a skill pack cannot have `{key}`: agents read a skill's folder, aibox runs none of it"),
        )
        .hint("remove it; tools a skill needs are `[dependencies]` on tool packs"));
    }
    if let Some(skill) = &manifest.skill {
        if skill.allowed_tools.len() > MAX_SKILL_ITEMS || skill.scripts.len() > MAX_SKILL_ITEMS {
            return Err(Problem::new(
                &["skill"],
                Part::Key,
                format!("a skill lists more than {MAX_SKILL_ITEMS} tools or scripts"),
            ));
        }
        for tool in &skill.allowed_tools {
            if tool.is_empty() || tool.len() > 1024 || tool.chars().any(char::is_control) {
                return Err(Problem::new(
                    &["skill", "allowed-tools"],
                    Part::Value,
                    format!(
                        "{tool:?} is not a tool name (1–1024 characters, no control characters)"
                    ),
                ));
            }
        }
        for script in &skill.scripts {
            if let Some(reason) = bad_relative_path(script) {
                return Err(Problem::new(
                    &["skill", "scripts"],
                    Part::Value,
                    format!("script `{script}` {reason}"),
                ));
            }
        }
    }
    Ok(())
}

/// The most tools or scripts a skill section lists.
pub(crate) const MAX_SKILL_ITEMS: usize = 4096;

fn check_env(manifest: &PackManifest) -> Result<(), Problem> {
    let env = &manifest.env;
    let names = env
        .vars
        .keys()
        .map(|k| (k, vec!["env", k.as_str()]))
        .chain(
            env.required
                .keys()
                .map(|k| (k, vec!["env", "required", k.as_str()])),
        )
        .chain(
            env.optional
                .keys()
                .map(|k| (k, vec!["env", "optional", k.as_str()])),
        );
    for (name, keys) in names {
        if let Err(reason) = check_env_name(name) {
            return Err(Problem::new(
                &keys,
                Part::Key,
                format!("`{name}` is not an environment variable name: {reason}"),
            ));
        }
        if name.starts_with(STEERING_PREFIX) {
            return Err(Problem::new(
                &keys,
                Part::Key,
                format!("a pack may not set `{name}`: variables named `{STEERING_PREFIX}*` steer aibox itself"),
            )
            .hint("aibox reads them only from the environment it is started in"));
        }
        if let Some(p) = super::env_rule::protection(name).filter(|p| p.reserved) {
            return Err(Problem::new(
                &keys,
                Part::Key,
                format!("a pack may not set `{name}`: {}", p.what),
            )
            .hint("a project that needs it sets it in the `[env]` table of its own `aibox.toml`"));
        }
    }
    for (name, value) in env.vars.iter().chain(
        env.optional
            .iter()
            .map(|(k, v)| (k, &v.default))
            .collect::<Vec<_>>(),
    ) {
        if value.contains('\0') {
            return Err(Problem::new(
                &["env", name],
                Part::Value,
                format!("the value of `{name}` contains a NUL byte"),
            ));
        }
    }
    Ok(())
}

/// Whether `command` can be a file name on PATH in every generation.
fn check_command_name(command: &str) -> Result<(), String> {
    if command.is_empty() || command == "." || command == ".." {
        return Err("it is empty, `.` or `..`".into());
    }
    if command.len() > 128 {
        return Err("it is longer than 128 bytes".into());
    }
    if command.starts_with('-') {
        return Err("it starts with `-`".into());
    }
    if let Some(c) = command
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+')))
    {
        return Err(format!("{c:?} is not allowed"));
    }
    Ok(())
}

/// Fill in the message and hints for an unknown platform name.
fn unknown_platform(mut e: Problem, platform: &str) -> Problem {
    let (message, hint) = unknown_platform_text(platform);
    e.message = message;
    e.hint(hint)
}

/// The message and hint for an unknown platform name.
pub(crate) fn unknown_platform_text(platform: &str) -> (String, String) {
    let known = crate::platform::KNOWN;
    let mut message = format!("unknown platform `{platform}`");
    if let Some(s) = super::did_you_mean(platform, known.iter().copied()) {
        message.push_str(&format!("; did you mean `{s}`?"));
    }
    (message, format!("known platforms: {}", known.join(", ")))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn check(text: &str) -> Result<(), String> {
        crate::manifest::parse_pack(text, Path::new("pack.toml"))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_good_pack() {
        check(
            "[pack]\nname = \"lint\"\nversion = \"1.0.0\"\nkind = \"plugin\"\n[bin]\naibox-plugin-lint = \"bin/lint\"\n[dependencies]\njq = \"^1.6\"\n[env]\nJAVA_HOME = \"${pack}/jdk\"\n",
        )
        .unwrap();
    }

    #[test]
    fn rejects_bad_packs() {
        let cases = [
            (
                "[pack]\nname = \"Java\"\nversion = \"1.0.0\"\n",
                "pack.toml:2:8: `Java` is not a valid pack name",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[dependencies]\njq = \"^^1\"\n",
                "pack.toml:5:6: `^^1` is not a version request",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[dependencies]\n\"x-1.0.0/../../pwn\" = \"1\"\n",
                "dependency `x-1.0.0/../../pwn` is not a valid pack name",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[bin]\nx = \"../x\"\n",
                "pack.toml:5:5: `bin.x` = `../x` leaves the pack",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[bin]\nx = \"/usr/bin/x\"\n",
                "is an absolute path",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[bin]\n\"-rf\" = \"x\"\n",
                "`-rf` is not a command name",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[env]\n\"X=1; touch F; Y\" = \"v\"\n",
                "pack.toml:5:1: `X=1; touch F; Y` is not an environment variable name",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[env]\nAIBOX_HOME = \"x\"\n",
                "pack.toml:5:1: a pack may not set `AIBOX_HOME`: variables named `AIBOX_*` steer aibox itself",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[env.required]\nPATH = \"p\"\n",
                "a pack may not set `PATH`",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\nplatforms = [\"linux-x86-64\"]\n",
                "unknown platform `linux-x86-64`; did you mean `linux-x86_64`?",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\nkind = \"plugin\"\n",
                "pack.toml:4:8: a plugin pack must provide the executable `aibox-plugin-a`",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\nrequires-aibox = \"soon\"\n",
                "pack.toml:4:18: `soon` is not a version request",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[permissions]\nfs.write = [\"$PROJECT/../x\"]\n",
                "pack.toml:5:12: `$PROJECT/../x` contains `..`",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[permissions]\nfs.read = [\"relative/dir\"]\n",
                "must be absolute or start with one of $PROJECT",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[permissions]\nfs.read = [\"$HOME$EVIL\"]\n",
                "must be absolute or start with one of",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[permissions]\nnet.connect = [70000]\n",
                "`70000` is not a TCP port",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[permissions]\nnet.connect = [\"evil host;:443\"]\n",
                "is not a host name or address",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[permissions]\nnet.unix = [\"run/docker.sock\"]\n",
                "pack.toml:5:12: `run/docker.sock` must be absolute or start with one of $PROJECT",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[permissions]\nnet.unix = [\"/a.sock\", \"/a.sock\"]\n",
                "`net.unix` lists at most 16 sockets, each once",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[permissions]\nnet.udp = \"yes\"\n",
                "invalid type: string \"yes\", expected a boolean",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[env]\nAIBOX_SANDBOX_ABI = \"0\"\n",
                "pack.toml:5:1: a pack may not set `AIBOX_SANDBOX_ABI`: variables named `AIBOX_*` steer aibox itself",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[permissions]\nenv = [\"LD_PRELOAD\"]\n",
                "`LD_PRELOAD` may not be passed into a sandbox",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[permissions]\nlimits = { memory-mib = 1 }\n",
                "`memory-mib` must be at least 16",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[permissions]\nnet.bind = [80]\n",
                "unknown field `bind`",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[install]\nrun = \"  \"\n",
                "`install.run` must be a non-empty shell command",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[hooks]\nsubscribe = [\"post-sync\"]\n",
                "only plugins receive lifecycle events",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\nkind = \"plugin\"\n[bin]\naibox-plugin-a = \"a\"\n[hooks]\nsubscribe = [\"pre-sync\"]\n",
                "`pre-sync` is not an event",
            ),
        ];
        for (text, expected) in cases {
            let got = check(text).unwrap_err();
            assert!(
                got.contains(expected),
                "{got:?} should contain {expected:?}"
            );
        }
    }
}
