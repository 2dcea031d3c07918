//! Pushing to a registry: a built pack (blobs that are missing, platform manifests, then the
//! top-level manifest or index tagged with its version), or the parts of an OCI layout ref.

use super::RegistryError;
use super::artifact::{Blob, BuiltPack, INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE};
use super::oci::{OciSource, map_error};

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
            self.client
                .auth(&image, &self.auth, oci_client::RegistryOperation::Push)
                .await
                .map_err(|e| self.auth_hint(map_error(e, &what)))?;
            let bar = crate::printer::progress(
                blobs.iter().map(|b| b.data.len() as u64).sum(),
                "Pushing",
                true,
            );
            for b in &blobs {
                let exists = self
                    .client
                    .blob_exists(&image, &b.digest)
                    .await
                    .unwrap_or(false);
                if !exists {
                    self.client
                        .push_blob(&image, b.data.clone(), &b.digest)
                        .await
                        .map_err(|e| self.auth_hint(map_error(e, &what)))?;
                }
                bar.inc(b.data.len() as u64);
            }
            bar.finish_and_clear();
            for m in &manifests {
                let r = self.by_digest(name, &m.digest);
                let ct = m.media_type.parse().map_err(|_| {
                    RegistryError::Other(format!("bad media type `{}`", m.media_type))
                })?;
                self.client
                    .push_manifest_raw(&r, m.data.clone(), ct)
                    .await
                    .map_err(|e| self.auth_hint(map_error(e, &what)))?;
            }
            let ct = top.media_type.parse().map_err(|_| {
                RegistryError::Other(format!("bad media type `{}`", top.media_type))
            })?;
            self.client
                .push_manifest_raw(&image, top.data.clone(), ct)
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
}
