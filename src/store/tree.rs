//! The in-memory model of a pack tree and its **tree hash**: a canonical, versioned encoding of
//! entry names, kinds, executable bits, content hashes and symlink targets (store-format/SPEC.md
//! §3). Also the JSON listing kept beside every pack tree.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A BLAKE3 digest shown as `blake3:<64 hex>`: object names and tree hashes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    pub fn of(bytes: &[u8]) -> Hash {
        Hash(*blake3::hash(bytes).as_bytes())
    }

    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl From<blake3::Hash> for Hash {
    fn from(h: blake3::Hash) -> Self {
        Hash(*h.as_bytes())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "blake3:{}", self.hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A malformed `blake3:<hex>` string.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a BLAKE3 hash (expected `blake3:` and 64 hex digits)")]
pub struct BadHash(pub String);

impl FromStr for Hash {
    type Err = BadHash;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex_part = s.strip_prefix("blake3:").unwrap_or(s);
        let mut out = [0u8; 32];
        if hex_part.len() != 64 || hex::decode_to_slice(hex_part, &mut out).is_err() {
            return Err(BadHash(s.to_owned()));
        }
        Ok(Hash(out))
    }
}

impl Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One entry of a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File {
        hash: Hash,
        size: u64,
        executable: bool,
    },
    Symlink {
        target: String,
    },
    Dir(Tree),
}

/// A directory: entries by name, sorted by the UTF-8 bytes of the name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tree {
    pub entries: BTreeMap<String, Entry>,
}

const DIR_DOMAIN: &[u8] = b"aibox-tree-v1\n";

impl Tree {
    /// The tree hash: BLAKE3 of the canonical encoding (SPEC §3).
    pub fn hash(&self) -> Hash {
        let mut h = blake3::Hasher::new();
        h.update(DIR_DOMAIN);
        h.update(&(self.entries.len() as u64).to_le_bytes());
        for (name, entry) in &self.entries {
            let tag = match entry {
                Entry::File {
                    executable: false, ..
                } => b'f',
                Entry::File {
                    executable: true, ..
                } => b'x',
                Entry::Symlink { .. } => b'l',
                Entry::Dir(_) => b'd',
            };
            h.update(&[tag]);
            h.update(&(name.len() as u32).to_le_bytes());
            h.update(name.as_bytes());
            match entry {
                Entry::File { hash, size, .. } => {
                    h.update(&hash.0);
                    h.update(&size.to_le_bytes());
                }
                Entry::Symlink { target } => {
                    h.update(&(target.len() as u32).to_le_bytes());
                    h.update(target.as_bytes());
                }
                Entry::Dir(sub) => {
                    h.update(&sub.hash().0);
                }
            }
        }
        h.finalize().into()
    }

    /// Every entry with its `/`-separated path, parents before children, sorted.
    pub fn walk(&self) -> Vec<(String, &Entry)> {
        let mut out = Vec::new();
        self.walk_into("", &mut out);
        out
    }

    fn walk_into<'a>(&'a self, prefix: &str, out: &mut Vec<(String, &'a Entry)>) {
        for (name, entry) in &self.entries {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            out.push((path.clone(), entry));
            if let Entry::Dir(sub) = entry {
                sub.walk_into(&path, out);
            }
        }
    }

    /// Number of files and total bytes of file content.
    pub fn stats(&self) -> (u64, u64) {
        self.walk()
            .iter()
            .filter_map(|(_, e)| match e {
                Entry::File { size, .. } => Some(*size),
                _ => None,
            })
            .fold((0, 0), |(n, b), s| (n + 1, b + s))
    }

    /// Look up an entry by `/`-separated path.
    pub fn get(&self, path: &str) -> Option<&Entry> {
        let mut cur = self;
        let mut parts = path.split('/').filter(|p| !p.is_empty()).peekable();
        while let Some(part) = parts.next() {
            let entry = cur.entries.get(part)?;
            if parts.peek().is_none() {
                return Some(entry);
            }
            match entry {
                Entry::Dir(sub) => cur = sub,
                _ => return None,
            }
        }
        None
    }

    /// The listing stored beside a pack tree (SPEC §4).
    pub fn to_listing(&self) -> Listing {
        let entries = self
            .walk()
            .into_iter()
            .map(|(path, e)| match e {
                Entry::File {
                    hash,
                    size,
                    executable,
                } => ListingEntry {
                    path,
                    kind: ListingKind::File,
                    hash: Some(*hash),
                    size: Some(*size),
                    executable: *executable,
                    target: None,
                },
                Entry::Symlink { target } => ListingEntry {
                    path,
                    kind: ListingKind::Symlink,
                    hash: None,
                    size: None,
                    executable: false,
                    target: Some(target.clone()),
                },
                Entry::Dir(_) => ListingEntry {
                    path,
                    kind: ListingKind::Dir,
                    hash: None,
                    size: None,
                    executable: false,
                    target: None,
                },
            })
            .collect();
        Listing {
            version: 1,
            tree: self.hash(),
            entries,
        }
    }

    /// Rebuild a tree from its listing (checked: the result must hash to `listing.tree`).
    pub fn from_listing(listing: &Listing) -> Option<Tree> {
        let mut root = Tree::default();
        for e in &listing.entries {
            let (parent, name) = match e.path.rsplit_once('/') {
                Some((p, n)) => (Some(p), n),
                None => (None, e.path.as_str()),
            };
            let dir = match parent {
                None => &mut root,
                Some(p) => root.dir_mut(p)?,
            };
            let entry = match e.kind {
                ListingKind::File => Entry::File {
                    hash: e.hash?,
                    size: e.size?,
                    executable: e.executable,
                },
                ListingKind::Symlink => Entry::Symlink {
                    target: e.target.clone()?,
                },
                ListingKind::Dir => Entry::Dir(Tree::default()),
            };
            dir.entries.insert(name.to_owned(), entry);
        }
        (root.hash() == listing.tree).then_some(root)
    }

    fn dir_mut(&mut self, path: &str) -> Option<&mut Tree> {
        let mut cur = self;
        for part in path.split('/') {
            match cur.entries.get_mut(part)? {
                Entry::Dir(sub) => cur = sub,
                _ => return None,
            }
        }
        Some(cur)
    }
}

/// `<pack id>.tree.json`: every entry of a pack tree, so gc and verify never re-walk to learn
/// which objects a pack uses.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    pub version: u32,
    pub tree: Hash,
    pub entries: Vec<ListingEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ListingEntry {
    pub path: String,
    pub kind: ListingKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<Hash>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub executable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ListingKind {
    File,
    Symlink,
    Dir,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Tree {
        let mut bin = Tree::default();
        bin.entries.insert(
            "hello".into(),
            Entry::File {
                hash: Hash::of(b"#!/bin/sh\necho hello\n"),
                size: 21,
                executable: true,
            },
        );
        let mut root = Tree::default();
        root.entries.insert("bin".into(), Entry::Dir(bin));
        root.entries.insert(
            "link".into(),
            Entry::Symlink {
                target: "bin/hello".into(),
            },
        );
        root
    }

    #[test]
    fn listing_round_trips() {
        let t = sample();
        let listing = t.to_listing();
        assert_eq!(Tree::from_listing(&listing), Some(t));
    }

    #[test]
    fn exec_bit_changes_hash() {
        let mut t = sample();
        let h1 = t.hash();
        if let Some(Entry::Dir(bin)) = t.entries.get_mut("bin")
            && let Some(Entry::File { executable, .. }) = bin.entries.get_mut("hello")
        {
            *executable = false;
        }
        assert_ne!(h1, t.hash());
    }

    #[test]
    fn hash_parses_back() {
        let h = Hash::of(b"x");
        assert_eq!(h.to_string().parse::<Hash>().unwrap(), h);
        assert!("blake3:zz".parse::<Hash>().is_err());
    }
}
