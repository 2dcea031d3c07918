//! Signatures kept in the store (`store-v2/signatures/<hex>.json`, SPEC §10): the cosign
//! signatures fetched for an artifact digest, kept with the packs so that verification works
//! offline and after the registry is gone. New signatures are merged in, never dropped.

use serde::{Deserialize, Serialize};

use super::{IoContext, Store, StoreError};
use crate::fs;
use crate::signature::{Entry, MAX_SIGNATURES};

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    version: u32,
    digest: String,
    entries: Vec<Entry>,
}

/// The hex of a `sha256:` digest, checked (it becomes a file name).
fn hex_of(digest: &str) -> Option<&str> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then_some(hex)
}

impl Store {
    /// The signatures kept for `digest`; `None` when none were ever kept.
    pub fn signatures(&self, digest: &str) -> Result<Option<Vec<Entry>>, StoreError> {
        let Some(hex) = hex_of(digest) else {
            return Ok(None);
        };
        let path = self.layout().signatures().join(format!("{hex}.json"));
        // A record this handle staged and has not named yet is the newest.
        let from = self.staged_file(&path).unwrap_or_else(|| path.clone());
        let bytes = match fs::read_regular(&from, 4 << 20) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).ctx(|| format!("cannot read `{}`", path.display())),
        };
        let record: Record = serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if record.digest != digest {
            return Err(StoreError::Corrupt {
                path,
                reason: format!("it holds the signatures of {}", record.digest),
            });
        }
        Ok(Some(record.entries))
    }

    /// Keep `entries` for `digest`, merged with those already kept (an empty list is kept
    /// too: "fetched, and none").
    pub fn keep_signatures(&self, digest: &str, entries: &[Entry]) -> Result<(), StoreError> {
        let Some(hex) = hex_of(digest) else {
            return Ok(());
        };
        let mut all = self.signatures(digest)?.unwrap_or_default();
        for e in entries {
            if !all.contains(e) && all.len() < MAX_SIGNATURES {
                all.push(e.clone());
            }
        }
        let dir = self.layout().signatures();
        fs::create_dir_all(&dir).ctx(|| format!("cannot create `{}`", dir.display()))?;
        let path = dir.join(format!("{hex}.json"));
        let record = Record {
            version: 1,
            digest: digest.to_owned(),
            entries: all,
        };
        self.write_record(
            &path,
            &serde_json::to_vec(&record).expect("signatures serialize"),
        )
    }
}
