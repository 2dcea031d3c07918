//! The registry metadata cache under `oci-v2/` in the cache directory (store-format/ARTIFACT.md §10):
//! manifests and configs by digest (immutable, kept forever, re-verified on read) and, per
//! repository, the tag list and tag → digest answers with a time-to-live.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::fs;
use crate::registry::format::artifact;

/// How long tag lists and tag → digest answers are trusted (`AIBOX_TAG_TTL` seconds).
pub fn tag_ttl() -> Duration {
    crate::env_vars::var(crate::env_vars::TAG_TTL)
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(600))
}

/// The largest tag or catalog record read back.
const MAX_RECORD_BYTES: u64 = 64 << 20;

/// The cache for one registry host.
#[derive(Debug, Clone)]
pub struct MetaCache {
    root: PathBuf,
    host: String,
}

/// A repository's cached tags.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TagRecord {
    /// Unix seconds when the tag list was fetched (`None`: never listed, only resolved).
    #[serde(default)]
    pub listed_at: Option<u64>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// tag → (digest, unix seconds when resolved).
    #[serde(default)]
    pub digests: BTreeMap<String, (String, u64)>,
}

/// Unix seconds now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Whether a time stamp is younger than the TTL.
pub fn fresh(at: u64) -> bool {
    now().saturating_sub(at) < tag_ttl().as_secs()
}

/// A file name for any host or repository, injective: bytes other than `[a-z0-9.-]` are
/// written `_xx` (hex), so `team/x/hello` and `team_x/hello` never share a file.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-' {
            out.push(b as char);
        } else {
            out.push_str(&format!("_{b:02x}"));
        }
    }
    if out.starts_with('.') {
        out.replace_range(0..1, "_2e");
    }
    out
}

impl MetaCache {
    /// The cache of `host` (`host[:port]`) under `cache_root` (`$AIBOX_HOME/cache`, or `$XDG_CACHE_HOME/aibox`).
    pub fn new(cache_root: &Path, host: &str) -> MetaCache {
        MetaCache {
            root: cache_root.join("oci-v2"),
            host: escape(host),
        }
    }

    fn blob_path(&self, digest: &str) -> Option<PathBuf> {
        let hex = artifact::digest_hex(digest).ok()?;
        Some(self.root.join("blobs/sha256").join(&hex[..2]).join(hex))
    }

    /// A cached manifest or config, if present and still matching its digest.
    pub fn get_blob(&self, digest: &str) -> Option<Vec<u8>> {
        let bytes =
            fs::read_regular(&self.blob_path(digest)?, artifact::MAX_METADATA_BYTES).ok()?;
        (artifact::sha256_digest(&bytes) == digest).then_some(bytes)
    }

    /// Remember a verified manifest or config (best effort: a cache write failure is ignored).
    pub fn put_blob(&self, digest: &str, bytes: &[u8]) {
        if let Some(path) = self.blob_path(digest)
            && let Some(dir) = path.parent()
            && fs::create_dir_all(dir).is_ok()
        {
            let _ = fs::write_replace(&path, bytes);
        }
    }

    fn tags_path(&self, repo: &str) -> PathBuf {
        self.root
            .join("tags")
            .join(&self.host)
            .join(format!("{}.json", escape(repo)))
    }

    pub fn get_tags(&self, repo: &str) -> TagRecord {
        fs::read_regular(&self.tags_path(repo), MAX_RECORD_BYTES)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn put_tags(&self, repo: &str, record: &TagRecord) {
        let path = self.tags_path(repo);
        if let Some(dir) = path.parent()
            && fs::create_dir_all(dir).is_ok()
        {
            let _ = fs::write_replace(&path, &serde_json::to_vec(record).expect("tags serialize"));
        }
    }

    /// Record a fresh tag list.
    pub fn set_tag_list(&self, repo: &str, tags: Vec<String>) {
        let mut r = self.get_tags(repo);
        r.listed_at = Some(now());
        r.tags = tags;
        self.put_tags(repo, &r);
    }

    /// Add a tag this process just pushed to a cached tag list (if one is cached).
    pub fn add_tag(&self, repo: &str, tag: &str) {
        let mut r = self.get_tags(repo);
        if r.listed_at.is_some() && !r.tags.iter().any(|t| t == tag) {
            r.tags.push(tag.into());
            self.put_tags(repo, &r);
        }
    }

    /// Record what a tag points at now.
    pub fn set_tag_digest(&self, repo: &str, tag: &str, digest: &str) {
        let mut r = self.get_tags(repo);
        r.digests.insert(tag.into(), (digest.into(), now()));
        self.put_tags(repo, &r);
    }

    /// Record the repository list of the registry (`/v2/_catalog`).
    pub fn set_catalog(&self, repos: &[String]) {
        let path = self
            .root
            .join("catalog")
            .join(format!("{}.json", self.host));
        if let Some(dir) = path.parent()
            && fs::create_dir_all(dir).is_ok()
        {
            let _ = fs::write_replace(
                &path,
                &serde_json::to_vec(&(now(), repos)).expect("catalog serializes"),
            );
        }
    }

    /// The cached repository list and when it was fetched.
    pub fn get_catalog(&self) -> Option<(u64, Vec<String>)> {
        let path = self
            .root
            .join("catalog")
            .join(format!("{}.json", self.host));
        fs::read_regular(&path, MAX_RECORD_BYTES)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn cache_names_are_injective() {
        assert_ne!(escape("team/x/hello"), escape("team_x/hello"));
        assert_ne!(escape("a:1"), escape("a_1"));
        assert_eq!(escape("127.0.0.1:5000"), "127.0.0.1_3a5000");
        assert_eq!(escape(".."), "_2e.");
        assert!(!escape("../../etc").contains('/'));
    }
}
