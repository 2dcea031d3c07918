//! Pushing to a registry: a built pack (blobs that are missing, platform manifests, then the
//! top-level manifest or index tagged with its version), or the parts of an OCI layout ref.

use futures_util::Stream;
use oci_client::Reference;
use oci_client::errors::OciDistributionError;

use crate::fs;
use crate::registry::RegistryError;
use crate::registry::backends::oci::OciSource;
use crate::registry::error::map_error;
use crate::registry::format::artifact::{
    Blob, Body, BuiltPack, INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE,
};
use crate::signature::{self, Entry};

/// The size of each upload request of a blob streamed from a file (oci-client's chunk size).
const CHUNK: usize = 4 << 20;

impl OciSource {
    /// Push a built pack: blobs (skipping those present), platform manifests, then the
    /// top-level manifest or index tagged with the version. Returns the top digest.
    pub fn push(&self, built: &BuiltPack) -> Result<String, RegistryError> {
        let mut manifests = Vec::new();
        let mut blobs = Vec::new();
        for b in &built.blobs {
            if b.media_type == MANIFEST_MEDIA_TYPE || b.media_type == INDEX_MEDIA_TYPE {
                manifests.push(b.clone());
            } else {
                blobs.push(b.clone());
            }
        }
        self.push_parts(
            &built.name,
            &built.version.to_string(),
            blobs,
            manifests,
            &built.top,
        )
    }

    /// Push blobs and manifests, then tag `top` as `tag` in pack `name`'s repository.
    pub fn push_parts(
        &self,
        name: &str,
        tag: &str,
        blobs: Vec<Blob>,
        manifests: Vec<Blob>,
        top: &Blob,
    ) -> Result<String, RegistryError> {
        if self.opts.offline {
            return Err(self.offline(format!("pushing `{name}:{tag}` to {}", self.reg.host)));
        }
        let image = self.reference(name, tag);
        let what = format!(
            "pushing `{}:{tag}` to {}",
            self.reg.repo(name),
            self.reg.host
        );
        self.rt.block_on(async {
            // The challenge's token service must follow the plain-HTTP rule; then aibox's
            // token exchange, and the registry client is given what it granted.
            self.http.check_token_service(&self.reg, &what).await?;
            let grant = self
                .token
                .grant(
                    &self.reg.repo(name),
                    oci_client::RegistryOperation::Push,
                    &what,
                )
                .await
                .map_err(|e| self.auth_hint(e))?;
            if grant != crate::registry::transfer::token::Grant::Anonymous {
                self.client
                    .auth(
                        &image,
                        &grant.as_auth(),
                        oci_client::RegistryOperation::Push,
                    )
                    .await
                    .map_err(|e| self.auth_hint(map_error(e, &what)))?;
            }
            let bar =
                self.opts
                    .reporter
                    .progress(blobs.iter().map(|b| b.size).sum(), "Pushing", true);
            for b in &blobs {
                let exists = self
                    .client
                    .blob_exists(&image, &b.digest)
                    .await
                    .unwrap_or(false);
                if exists {
                    bar.inc(b.size);
                } else {
                    self.send_blob(&image, b, &bar)
                        .await
                        .map_err(|e| self.auth_hint(map_error(e, &what)))?;
                }
            }
            bar.finish_and_clear();
            for m in &manifests {
                let r = self.by_digest(name, &m.digest);
                let ct = m.media_type.parse().map_err(|_| {
                    RegistryError::Internal(format!("bad media type `{}`", m.media_type))
                })?;
                self.client
                    .push_manifest_raw(&r, in_memory(m)?, ct)
                    .await
                    .map_err(|e| self.auth_hint(map_error(e, &what)))?;
            }
            let ct = top.media_type.parse().map_err(|_| {
                RegistryError::Internal(format!("bad media type `{}`", top.media_type))
            })?;
            self.client
                .push_manifest_raw(&image, in_memory(top)?, ct)
                .await
                .map_err(|e| self.auth_hint(map_error(e, &what)))?;
            Ok::<(), RegistryError>(())
        })?;
        self.cache
            .set_tag_digest(&self.reg.repo(name), tag, &top.digest);
        self.cache.add_tag(&self.reg.repo(name), tag);
        self.tags.lock().expect("tags lock").remove(name);
        Ok(top.digest.clone())
    }

    /// Upload one blob: from memory in one go, or streamed from its file in chunks.
    async fn send_blob(
        &self,
        image: &Reference,
        b: &Blob,
        bar: &indicatif::ProgressBar,
    ) -> Result<(), OciDistributionError> {
        match &b.body {
            Body::Bytes(data) => {
                self.client
                    .push_blob(image, data.clone(), &b.digest)
                    .await?;
                bar.inc(b.size);
            }
            Body::File { path, .. } => {
                let file = fs::open_regular(path)?;
                self.client
                    .push_blob_stream(image, chunks(file, bar.clone()), &b.digest, Some(b.size))
                    .await?;
            }
        }
        Ok(())
    }
}

/// A manifest's bytes (manifests are always built or read into memory).
fn in_memory(b: &Blob) -> Result<Vec<u8>, RegistryError> {
    b.bytes()
        .map(<[u8]>::to_vec)
        .ok_or_else(|| RegistryError::Internal(format!("manifest {} is not in memory", b.digest)))
}

/// A file as a stream of [`CHUNK`]-sized pieces, counted on `bar` as they are read.
fn chunks(
    file: fs::File,
    bar: indicatif::ProgressBar,
) -> impl Stream<Item = Result<bytes::Bytes, OciDistributionError>> + Send + 'static {
    futures_util::stream::try_unfold((file, bar), |(mut file, bar)| async move {
        use std::io::Read;
        let mut buf = Vec::with_capacity(CHUNK);
        (&mut file).take(CHUNK as u64).read_to_end(&mut buf)?;
        if buf.is_empty() {
            return Ok(None);
        }
        bar.inc(buf.len() as u64);
        Ok(Some((bytes::Bytes::from(buf), (file, bar))))
    })
}

impl OciSource {
    /// Add a signature for `digest` of pack `name` to the registry.
    pub fn push_signature(
        &self,
        name: &str,
        digest: &str,
        entry: Entry,
        duplicate: &dyn Fn(&Entry) -> bool,
    ) -> Result<bool, RegistryError> {
        let existing = crate::registry::backends::signatures::read(self, name, digest)?;
        let Some(all) = crate::registry::backends::signatures::appended(existing, entry, duplicate)
        else {
            return Ok(false);
        };
        let (blobs, top) = crate::registry::backends::signatures::build(&all);
        self.push_parts(name, &signature::tag(digest), blobs, Vec::new(), &top)?;
        Ok(true)
    }
}

impl OciSource {
    /// Push `doc` as the status document of `name` (tag `aibox-status`, ARTIFACT.md §12);
    /// returns its manifest digest.
    pub fn push_status(
        &self,
        name: &str,
        doc: &crate::registry::lifecycle::StatusDoc,
    ) -> Result<String, RegistryError> {
        let (blobs, top) = crate::registry::backends::status::build(doc);
        self.push_parts(
            name,
            crate::registry::lifecycle::STATUS_TAG,
            blobs,
            Vec::new(),
            &top,
        )
    }
}
