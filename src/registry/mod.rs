//! Where packs come from, in three rooms:
//!
//! - [`format`]: the pack artifact format as data — OCI JSON types, media types, annotations,
//!   digests and the names release assets carry; no I/O.
//! - [`transfer`]: moving bytes — the HTTP client and the plain-HTTP rule on every hop,
//!   credentials and the token exchange, streamed and verified downloads, unpacking while
//!   downloading, zip archives, the metadata cache, registry URLs.
//! - [`backends`]: the sources themselves behind the one [`Source`] trait — `dir:` (pack source
//!   directories), `oci-layout:` (an OCI image layout), `oci://` (any OCI registry, with
//!   pushing), release archives (`https://…`, `github:owner/repo`), ClawHub registries of
//!   agent skills (`clawhub:https://…`) and the skills of GitHub repositories.
//!
//! [`lifecycle`] is a pack's status document (yanked, deprecated and staged versions) as data.
//!
//! [`build`] makes artifacts from pack source directories (`pack build`, `pack publish`).

pub mod backends;
pub mod build;
pub mod error;
pub mod format;
pub mod lifecycle;
pub mod moderation;
pub mod source;
pub mod transfer;

use std::path::Path;

pub use backends::content::PackSource;
pub use error::{Mismatch, RegistryError};
pub use source::{LockEntry, PackRef, Source, SourceOptions, wanted_platform};

/// Open the source a registry URL names; relative paths are resolved against `project_root`.
/// Registry metadata is cached under the home the options carry.
pub fn open_source(
    url: &str,
    project_root: &Path,
    opts: &SourceOptions,
) -> Result<Box<dyn Source>, RegistryError> {
    match url.split_once(':').map(|(scheme, _)| scheme) {
        Some("dir") => {
            let path = project_root.join(url.strip_prefix("dir:").unwrap_or_default());
            // Canonical, so messages name `/work/packs/x`, not `/work/app/../packs/x`.
            let path = crate::fs::canonicalize(&path).unwrap_or(path);
            Ok(Box::new(backends::dir::DirSource::open(
                url,
                &path,
                opts.reporter,
            )?))
        }
        Some("oci-layout") => {
            let dir = backends::layout::layout_dir(url, project_root)?;
            Ok(Box::new(
                backends::layout::LayoutSource::open(url, &dir)?.with_options(opts),
            ))
        }
        Some("oci") => Ok(Box::new(backends::oci::OciSource::open(url, opts)?)),
        Some("aqua") => Ok(Box::new(backends::aqua::source::AquaSource::open(
            url,
            project_root,
            opts,
        )?)),
        Some("clawhub") => Ok(Box::new(backends::clawhub::ClawHubSource::open(url, opts)?)),
        Some("github" | "https" | "http") => {
            Ok(Box::new(backends::release::ArchiveSource::open(url, opts)?))
        }
        _ => Err(RegistryError::bad_url(
            url,
            "unknown scheme; use `dir:<path>`, `oci-layout:<path>`, `oci://<host>/<base>`, `https://…/<archive>`, `github:<owner>/<repo>`, `aqua:<dir>` or `clawhub:<base-url>`",
        )),
    }
}

/// Open an `oci-layout:` or `oci://` URL as a [`PackSource`].
pub fn open_pack_source(
    url: &str,
    project_root: &std::path::Path,
    opts: &SourceOptions,
) -> Result<Box<dyn PackSource>, RegistryError> {
    if url.starts_with("oci-layout:") {
        let dir = backends::layout::layout_dir(url, project_root)?;
        Ok(Box::new(
            backends::layout::LayoutSource::open(url, &dir)?.with_options(opts),
        ))
    } else if url.starts_with("oci://") {
        Ok(Box::new(backends::oci::OciSource::open(url, opts)?))
    } else {
        Err(RegistryError::bad_url(
            url,
            "expected `oci://host/path` or `oci-layout:<dir>`",
        ))
    }
}
