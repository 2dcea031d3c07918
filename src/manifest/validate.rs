//! Checks on a parsed `pack.toml` that the TOML shape alone cannot express: name syntax,
//! dependency requests, `requires-aibox`, `bin` paths, platforms and the plugin executable.

use std::path::Path;

use super::pack::{PackKind, PackManifest};
use super::spans::{Part, locate};
use super::{ManifestError, validate_pack_name};
use crate::resolver::request::Request;

/// Validate `manifest` (parsed from `text` at `path`); errors point at the offending key.
pub(crate) fn validate_pack(
    manifest: &PackManifest,
    text: &str,
    path: &Path,
) -> Result<(), ManifestError> {
    let err = |keys: &[&str], part: Part, message: String| {
        let offset = locate(text, keys, part).map_or(0, |s| s.start);
        ManifestError::at(path, text, offset, message)
    };
    let pack = &manifest.pack;
    if let Err(reason) = validate_pack_name(&pack.name) {
        return Err(err(
            &["pack", "name"],
            Part::Value,
            format!("`{}` is not a valid pack name: {reason}", pack.name),
        )
        .with_hint("pack names use lowercase letters, digits and `-` (at most 64 characters), like `java` or `node-lts`"));
    }
    if let Some(req) = &pack.requires_aibox
        && let Err(e) = Request::parse(req)
    {
        return Err(err(&["pack", "requires-aibox"], Part::Value, e.to_string())
            .with_hint("write an aibox version request like `>=0.3`"));
    }
    if let Some(platforms) = &pack.platforms {
        for p in platforms {
            if !crate::platform::KNOWN.contains(&p.as_str()) {
                return Err(unknown_platform(
                    err(&["pack", "platforms"], Part::Value, String::new()),
                    p,
                ));
            }
        }
    }
    for (dep, req) in &manifest.dependencies {
        if let Err(reason) = validate_pack_name(dep) {
            return Err(err(
                &["dependencies", dep],
                Part::Key,
                format!("dependency `{dep}` is not a valid pack name: {reason}"),
            ));
        }
        if let Err(e) = Request::parse(req) {
            return Err(err(&["dependencies", dep], Part::Value, e.to_string())
                .with_hint("write a version request like `1`, `^1.6`, `~2.3` or `*`"));
        }
    }
    for (command, target) in &manifest.bin {
        if command.is_empty() || command.contains(['/', '\\']) || command == "." || command == ".."
        {
            return Err(err(
                &["bin", command],
                Part::Key,
                format!("`{command}` is not a command name"),
            )
            .with_hint("a `[bin]` key is the command's name on PATH, without `/`"));
        }
        if let Some(reason) = bad_relative_path(target) {
            return Err(err(
                &["bin", command],
                Part::Value,
                format!("`bin.{command}` = `{target}` {reason}"),
            )
            .with_hint("write a path inside the pack, relative to its root, like `bin/tool`"));
        }
    }
    if pack.kind == PackKind::Plugin {
        let expected = format!("aibox-plugin-{}", pack.name);
        if !manifest.bin.contains_key(&expected) {
            return Err(err(
                &["pack", "kind"],
                Part::Value,
                format!("a plugin pack must provide the executable `{expected}` in `[bin]`"),
            )
            .with_hint(format!(
                "add `[bin]` with `{expected} = \"bin/{expected}\"` (the path inside the pack)"
            )));
        }
    }
    Ok(())
}

/// Why `p` is not a relative path inside the pack, or `None` when it is one.
pub(crate) fn bad_relative_path(p: &str) -> Option<&'static str> {
    if p.is_empty() {
        return Some("is empty");
    }
    if p.starts_with('/') || p.starts_with('\\') || Path::new(p).is_absolute() {
        return Some("is an absolute path");
    }
    if p.split(['/', '\\']).any(|c| c == "..") {
        return Some("leaves the pack (`..`)");
    }
    if p.contains('\0') {
        return Some("contains a NUL byte");
    }
    None
}

/// Fill in the message and hints for an unknown platform name.
pub(crate) fn unknown_platform(mut e: ManifestError, platform: &str) -> ManifestError {
    let known = crate::platform::KNOWN;
    e.message = format!("unknown platform `{platform}`");
    if let Some(s) = super::did_you_mean(platform, known.iter().copied()) {
        e.message.push_str(&format!("; did you mean `{s}`?"));
    }
    e.with_hint(format!("known platforms: {}", known.join(", ")))
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
            "[pack]\nname = \"lint\"\nversion = \"1.0.0\"\nkind = \"plugin\"\n[bin]\naibox-plugin-lint = \"bin/lint\"\n[dependencies]\njq = \"^1.6\"\n",
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
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[bin]\nx = \"../x\"\n",
                "pack.toml:5:5: `bin.x` = `../x` leaves the pack",
            ),
            (
                "[pack]\nname = \"a\"\nversion = \"1.0.0\"\n[bin]\nx = \"/usr/bin/x\"\n",
                "is an absolute path",
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
