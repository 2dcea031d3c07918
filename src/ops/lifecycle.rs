//! `pack yank`, `pack deprecate`, `pack promote` and the stage of `pack publish --stage`: edit
//! the status document of a pack in an OCI registry or layout (ARTIFACT.md §12) and sign it.
//! A version's artifact is never touched: marks live beside it, so promoting a version keeps
//! its manifest digest, and every lock of it stays valid.

use semver::Version;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::registry::backends::dir::DirSource;
use crate::registry::backends::layout::{LayoutSource, layout_dir};
use crate::registry::backends::oci::OciSource;
use crate::registry::lifecycle::{Marks, StatusDoc, check_stage};
use crate::registry::{Source, SourceOptions};
use crate::trust::SigningKey;

/// One change to a version's marks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Yank with a reason (may be empty).
    Yank(String),
    Unyank,
    /// Deprecate with a message.
    Deprecate(String),
    Undeprecate,
    /// Mark as a pre-release stage (`beta`).
    Stage(String),
    /// Remove the stage: the version becomes stable.
    Promote,
}

/// What a change left.
#[derive(Debug, Clone, Serialize)]
pub struct Marked {
    pub name: String,
    pub version: String,
    /// The version's marks now (empty: none).
    pub marks: Marks,
    /// The digest of the status document's manifest (none for a `dir:` file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_digest: Option<String>,
    /// The fingerprint of the key that signed it, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
    /// Whether the document changed.
    pub changed: bool,
}

/// `name@version` (exact) as these commands take it.
pub fn parse_target(spec: &str) -> Result<(String, Version)> {
    let hint = "name one published version: `<name>@<version>`, like `hello@1.2.0`";
    let (name, version) = spec
        .split_once('@')
        .ok_or_else(|| Error::msg(format!("`{spec}` names no version")).with_hint(hint))?;
    let version = Version::parse(version.trim_start_matches('='))
        .map_err(|e| Error::msg(format!("`{version}` is not a version: {e}")).with_hint(hint))?;
    crate::manifest::validate_pack_name(name)
        .map_err(|reason| Error::msg(format!("`{name}` is not a valid pack name: {reason}")))?;
    Ok((name.to_owned(), version))
}

/// A registry or layout the status document is written to.
enum Target {
    Registry(Box<OciSource>),
    Layout(LayoutSource),
    /// A `dir:` directory: the document is a file beside the packs, never signed.
    Dir(DirSource),
}

impl Target {
    fn open(registry: &str, src: &SourceOptions) -> Result<Target> {
        if registry.starts_with("oci://") {
            Ok(Target::Registry(Box::new(OciSource::open(registry, src)?)))
        } else if registry.starts_with("oci-layout:") {
            let root = cwd()?;
            let dir = layout_dir(registry, &root)?;
            Ok(Target::Layout(
                LayoutSource::open(registry, &dir)?.with_options(src),
            ))
        } else if let Some(rest) = registry.strip_prefix("dir:") {
            let dir = cwd()?.join(rest);
            Ok(Target::Dir(DirSource::open(registry, &dir, src.reporter)?))
        } else {
            Err(Error::msg(format!(
                "`{registry}` keeps no status documents"
            ))
            .with_hint("yank, deprecate and promote work on `oci://host/path` registries, `oci-layout:<dir>` layouts and `dir:<dir>` directories"))
        }
    }

    fn source(&self) -> &dyn Source {
        match self {
            Target::Registry(r) => r.as_ref(),
            Target::Layout(l) => l,
            Target::Dir(d) => d,
        }
    }

    /// Write `doc`; the digest of its manifest (`None` for a `dir:` file).
    fn write(&self, name: &str, doc: &StatusDoc) -> Result<Option<String>> {
        Ok(match self {
            Target::Registry(r) => Some(r.push_status(name, doc)?),
            Target::Layout(l) => Some(l.write_status(name, doc)?),
            Target::Dir(d) => {
                d.write_status(name, doc)?;
                None
            }
        })
    }
}

fn cwd() -> Result<std::path::PathBuf> {
    std::env::current_dir().map_err(|e| Error::io("cannot read the current directory", e))
}

/// Apply `change` to `name@version` in `registry` and sign the new document with `key`.
/// The version must be published, except for a stage set before it is (`publish --stage`).
pub fn mark(
    registry: &str,
    name: &str,
    version: &Version,
    change: Change,
    key: Option<&SigningKey>,
    src: &SourceOptions,
) -> Result<Marked> {
    if let Change::Stage(s) = &change {
        check_stage(s).map_err(|e| Error::msg(e.0))?;
    }
    if let Change::Yank(text) | Change::Deprecate(text) = &change {
        // The same limits readers hold the document to.
        let mut probe = StatusDoc::default();
        probe.edit(version, |m| m.yanked = Some(text.clone()));
        probe.check().map_err(|e| Error::msg(e.0))?;
    }
    let target = Target::open(registry, src)?;
    let source = target.source();
    if !matches!(change, Change::Stage(_)) {
        let versions = source.versions(name)?;
        if !versions.contains(version) {
            return Err(Error::msg(format!(
                "`{name}@{version}` is not published in `{registry}`"
            ))
            .with_hint(format!("`aibox pack list {registry}` lists what is")));
        }
    }
    let mut doc = match source.status(name) {
        Ok(Some(p)) => p.doc,
        Ok(None) => StatusDoc::default(),
        Err(e @ crate::registry::RegistryError::BadContent { .. }) => {
            src.reporter
                .warn(format!("{e}; it is replaced by a new one"));
            StatusDoc::default()
        }
        Err(e) => return Err(e.into()),
    };
    let before = doc.clone();
    if change == Change::Promote && doc.stage(version).is_none() {
        return Err(Error::msg(format!(
            "`{name}@{version}` has no stage in `{registry}`: it is already stable"
        ))
        .with_hint(format!("`aibox info {name}` shows each version's marks")));
    }
    doc.edit(version, |m| match change {
        Change::Yank(r) => m.yanked = Some(r),
        Change::Unyank => m.yanked = None,
        Change::Deprecate(t) => m.deprecated = Some(t),
        Change::Undeprecate => m.deprecated = None,
        Change::Stage(s) => m.stage = Some(s),
        Change::Promote => m.stage = None,
    });
    let changed = doc != before;
    let status_digest = if changed {
        target.write(name, &doc)?
    } else {
        match source.status(name)?.and_then(|p| p.digest) {
            Some(d) => Some(d),
            None => target.write(name, &doc)?,
        }
    };
    let signed_by = match (key, &status_digest) {
        (Some(key), Some(digest)) => {
            crate::ops::trust::sign_digest(key, registry, &cwd()?, src, name, digest)?;
            Some(key.public().fingerprint().to_owned())
        }
        (Some(_), None) => {
            src.reporter.warn(format!(
                "`{registry}` is a directory: its status files are not signed (`--key` is unused)"
            ));
            None
        }
        (None, _) => None,
    };
    crate::audit::record_in(
        src.home,
        "status",
        None,
        serde_json::json!({"pack": name, "version": version.to_string(), "source": registry, "digest": status_digest, "marks": doc.marks(version)}),
        src.reporter,
    );
    Ok(Marked {
        name: name.to_owned(),
        version: version.to_string(),
        marks: doc.marks(version).cloned().unwrap_or_default(),
        status_digest,
        signed_by,
        changed,
    })
}
