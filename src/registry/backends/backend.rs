//! What an OCI content source (an image layout or a registry) says how to do: list, read
//! manifests and blobs. Everything else — finding, locking and fetching a pack — is `content`,
//! the same for every backend.

use semver::Version;

use crate::registry::RegistryError;
use crate::registry::format::artifact::Descriptor;
use crate::registry::transfer::tee::Tee;
use crate::store::Store;

/// Content access of one OCI source. Every byte returned has been checked against its digest.
/// Every backend is a [`crate::registry::Source`] through the one implementation below; a backend only
/// says how to list and read, never how a pack is found, locked or fetched.
pub trait Backend: Send + Sync {
    /// The source URL (for messages).
    fn url(&self) -> &str;
    /// Where the store handles this source opens report (`--quiet`, `--color` hold there too).
    fn reporter(&self) -> crate::printer::Reporter;
    /// The aibox home whose store the source's lock entries are computed in.
    fn home(&self) -> crate::store::Home;
    /// Every pack name the source lists.
    fn list_names(&self) -> Result<Vec<String>, RegistryError>;
    /// The versions of `name`, sorted; [`RegistryError::NotFound`] when it has none.
    fn list_versions(&self, name: &str) -> Result<Vec<Version>, RegistryError>;
    /// Whether reading a manifest costs a round trip, so [`crate::registry::Source::prefetch`] should
    /// read several at once.
    fn remote(&self) -> bool {
        false
    }
    /// The manifest or index the version tag of `name` points at, and its digest.
    fn tagged(&self, name: &str, version: &Version) -> Result<(Vec<u8>, String), RegistryError>;
    /// A manifest by digest (verified).
    fn manifest_by_digest(&self, name: &str, digest: &str) -> Result<Vec<u8>, RegistryError>;
    /// The manifest another tag of `name` points at (signatures), and its digest; `None` when
    /// the tag does not exist. Never cached: signatures are added over time.
    fn manifest_by_tag(
        &self,
        name: &str,
        tag: &str,
    ) -> Result<Option<(Vec<u8>, String)>, RegistryError>;
    /// Whether the tag list of `name` (as cached) has `tag`; `None` when the backend cannot
    /// tell without reading the tag itself.
    fn lists_tag(&self, _name: &str, _tag: &str) -> Option<bool> {
        None
    }
    /// A small blob (config, `pack.toml`) by descriptor, verified, at most `max` bytes.
    fn small_blob(&self, name: &str, desc: &Descriptor, max: u64)
    -> Result<Vec<u8>, RegistryError>;
    /// A blob copied into a verified staging file under the store's `tmp/`; with a `tee`, its
    /// bytes are also handed on as they arrive (before the digest is checked).
    fn stage_blob(
        &self,
        name: &str,
        desc: &Descriptor,
        store: &Store,
        tee: Option<&Tee>,
    ) -> Result<tempfile::NamedTempFile, RegistryError>;
}
