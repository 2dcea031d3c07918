//! Skills that arrive as archives (a ClawHub zip, a folder of a GitHub repository's tarball):
//! the limits they are unpacked under, the checks on the tree they make (a `SKILL.md` at the
//! root, no file over the per-file limit, a `pack.toml` only of a skill), and storing them as
//! a skill pack whose manifest comes from its own files.

use std::io::{Read, Seek};

use semver::Version;

use crate::fs;
use crate::manifest::pack::{PackKind, PackManifest};
use crate::registry::error::RegistryError;
use crate::store::budget::Limits;
use crate::store::tree::{Entry, Tree};
use crate::store::{PackId, Store};

/// The largest skill archive downloaded.
pub const MAX_DOWNLOAD: u64 = 64 << 20;
/// The most a skill archive may expand to.
pub const MAX_UNPACKED: u64 = 256 << 20;
/// The largest single file of a skill.
pub const MAX_FILE: u64 = 64 << 20;
/// The most entries a skill archive may hold.
pub const MAX_ENTRIES: u64 = 20_000;

/// The limits a skill archive is unpacked under (`AIBOX_MAX_UNPACKED_BYTES` lowers the total).
pub fn limits() -> Limits {
    let configured = crate::env_vars::var(crate::env_vars::MAX_UNPACKED_BYTES)
        .ok()
        .and_then(|v| v.parse::<u64>().ok());
    Limits::new(
        configured.map_or(MAX_UNPACKED, |c| c.min(MAX_UNPACKED)),
        MAX_ENTRIES,
    )
}

/// Unpack the zip in `file` (checked: headers, encryption, modes, sizes, entry count) into the
/// store's objects; the tree it holds.
pub fn unpack_zip(store: &Store, file: &mut std::fs::File) -> Result<Tree, RegistryError> {
    let limits = limits();
    let staging = store.staging()?;
    let mut tar = fs::temp_file_in(&staging).map_err(|e| RegistryError::Io {
        context: format!("cannot create a file in `{}`", staging.display()),
        source: e,
    })?;
    file.rewind().map_err(|e| RegistryError::Io {
        context: "cannot read the download".into(),
        source: e,
    })?;
    crate::registry::transfer::zipfile::to_tar_within(&*file, tar.as_file_mut(), &limits, MAX_FILE)
        .map_err(|e| RegistryError::BadContent {
            what: "the zip archive:".into(),
            message: e.to_string(),
        })?;
    tar.as_file_mut().rewind().map_err(|e| RegistryError::Io {
        context: "cannot read the converted archive".into(),
        source: e,
    })?;
    Ok(store.ingest_tar(std::io::BufReader::new(tar.as_file()), &limits)?)
}

/// The first bytes of `file` (rewound after).
pub fn magic(file: &mut std::fs::File) -> Result<[u8; 4], RegistryError> {
    let mut m = [0u8; 4];
    let io = |e| RegistryError::Io {
        context: "cannot read the download".into(),
        source: e,
    };
    file.rewind().map_err(io)?;
    let n = file.read(&mut m).map_err(io)?;
    file.rewind().map_err(io)?;
    if n < 4 {
        return Ok([0; 4]);
    }
    Ok(m)
}

/// Refuse a skill tree without a `SKILL.md` file at its root, or with a file larger than
/// [`MAX_FILE`].
pub fn check(tree: &Tree, what: &str) -> Result<(), RegistryError> {
    if !matches!(
        tree.entries.get(crate::skill::SKILL_FILE),
        Some(Entry::File { .. })
    ) {
        return Err(RegistryError::BadContent {
            what: what.to_string(),
            message: "is not a skill: there is no SKILL.md file at its root".into(),
        });
    }
    for (path, e) in tree.walk() {
        if let Entry::File { size, .. } = e
            && *size > MAX_FILE
        {
            return Err(RegistryError::BadContent {
                what: format!("{what}:"),
                message: format!("`{path}` is larger than {MAX_FILE} bytes"),
            });
        }
    }
    Ok(())
}

/// Store `tree` as skill `name@version` and read its manifest from the stored files: a bare
/// skill (its `SKILL.md` must be named `name`), or one with a `pack.toml` of kind `skill`
/// naming `name` and `version`.
pub fn store_skill(
    store: &Store,
    tree: &Tree,
    name: &str,
    version: &Version,
    source_url: &str,
    what: &str,
) -> Result<(PackId, PackManifest), RegistryError> {
    check(tree, what)?;
    // The `SKILL.md` and any `pack.toml` are read before anything is built.
    let read = |file: &str| -> Result<String, RegistryError> {
        let Some(Entry::File {
            hash, executable, ..
        }) = tree.entries.get(file)
        else {
            return Err(RegistryError::BadContent {
                what: what.to_string(),
                message: format!("has no `{file}` file"),
            });
        };
        let path = store.layout().object(hash, *executable);
        fs::read_regular_string(&path, crate::skill::MAX_SKILL_FILE).map_err(|e| {
            RegistryError::Io {
                context: format!("cannot read the {file} of {what}"),
                source: e,
            }
        })
    };
    let front = crate::skill::front_matter::parse(
        &read(crate::skill::SKILL_FILE)?,
        std::path::Path::new(crate::skill::SKILL_FILE),
    )
    .map_err(|e| RegistryError::BadContent {
        what: format!("{what}:"),
        message: e.to_string(),
    })?;
    if !tree.entries.contains_key("pack.toml") && front.name != name {
        return Err(RegistryError::BadContent {
            what: format!("{what}:"),
            message: format!(
                "its SKILL.md names the skill `{}`, not `{name}`",
                front.name
            ),
        });
    }
    if tree.entries.contains_key("pack.toml") {
        let text = read("pack.toml")?;
        let m =
            crate::manifest::parse_pack(&text, std::path::Path::new("pack.toml")).map_err(|e| {
                RegistryError::BadContent {
                    what: format!("{what}:"),
                    message: e.to_string(),
                }
            })?;
        if m.pack.kind != PackKind::Skill || m.pack.name != name || &m.pack.version != version {
            return Err(RegistryError::BadContent {
                what: what.to_string(),
                message: format!(
                    "has a `pack.toml` for `{}@{}` ({}), not the skill `{name}@{version}`",
                    m.pack.name,
                    m.pack.version,
                    m.pack.kind.as_str()
                ),
            });
        }
    }
    let id = store
        .build_pack(name, &version.to_string(), tree, None)
        .map_err(|e| RegistryError::building(e, name, version, source_url))?;
    let dir = store.pack_path(&id);
    let manifest = if tree.entries.contains_key("pack.toml") {
        crate::skill::source_manifest(&dir, None, None)?
    } else {
        crate::skill::stored_manifest(&dir, name, version)?
    };
    Ok((id, manifest))
}
