//! The budget of one artifact's expansion: bytes and entries every layer of it draws on, so
//! no archive can expand past its limit however its layers are split.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::StoreError;

/// Limits applied while reading an artifact: every layer of one artifact draws on the same
/// budget of expanded bytes and entries (clones share it). The store adds a budget per run
/// ([`Store::charge_unpacked`]), so many artifacts cannot add up to a bomb either.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Total bytes of file content the artifact may expand to.
    pub max_bytes: u64,
    /// Number of entries the artifact may hold.
    pub max_entries: u64,
    used: Arc<AtomicU64>,
    entries: Arc<AtomicU64>,
}

impl Limits {
    /// The default cap for an artifact of `compressed` bytes (all its layers): the larger of
    /// 512 MiB and 20× the compressed size (overridable with `AIBOX_MAX_UNPACKED_BYTES`).
    pub fn for_compressed(compressed: u64) -> Limits {
        let configured = crate::env_vars::var(crate::env_vars::MAX_UNPACKED_BYTES)
            .ok()
            .and_then(|v| v.parse().ok());
        Limits {
            max_bytes: configured.unwrap_or((512 << 20).max(compressed.saturating_mul(20))),
            max_entries: 1_000_000,
            used: Arc::default(),
            entries: Arc::default(),
        }
    }

    /// A budget of `max_bytes` expanded bytes and `max_entries` entries.
    pub fn new(max_bytes: u64, max_entries: u64) -> Limits {
        Limits {
            max_bytes,
            max_entries,
            used: Arc::default(),
            entries: Arc::default(),
        }
    }

    /// No limit (content whose size is known: files of a local directory).
    pub fn unlimited() -> Limits {
        Limits::new(u64::MAX, u64::MAX)
    }

    /// Bytes of this budget still free.
    pub fn left(&self) -> u64 {
        self.max_bytes
            .saturating_sub(self.used.load(Ordering::Relaxed))
    }

    /// Record `n` more bytes expanded.
    pub fn spend(&self, n: u64) {
        self.used.fetch_add(n, Ordering::Relaxed);
    }

    /// Count one more entry; an error past the limit.
    pub fn count_entry(&self) -> Result<(), StoreError> {
        if self.entries.fetch_add(1, Ordering::Relaxed) + 1 > self.max_entries {
            return Err(StoreError::BadEntry {
                entry: "<archive>".into(),
                reason: "too many entries".into(),
            });
        }
        Ok(())
    }

    /// The error for going past this budget.
    pub fn too_large(&self) -> StoreError {
        StoreError::TooLarge {
            limit: self.max_bytes,
            scope: "this pack's archive",
        }
    }
}
