//! Symlinks decided against the tree they live in. A link that looks harmless alone can walk
//! out of the pack through other links (`b -> .`, `u -> b/..`), so every link is resolved the
//! way the kernel will resolve it — component by component, following links already in the
//! tree — and refused if any step leaves the pack root or the chain loops. `[bin]` targets
//! are resolved the same way and must end at a regular, executable file.

use std::collections::VecDeque;

use super::StoreError;
use super::tree::{Entry, Tree};

/// Most links followed while resolving one path (the kernel's limit is 40 too).
const MAX_LINKS: u32 = 40;

/// Where a path inside a tree leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A regular file (at this path inside the tree, after following links).
    File {
        path: String,
        executable: bool,
    },
    Dir,
    /// A component does not exist: resolution stops there (nothing outside is reached).
    Missing {
        component: String,
    },
    /// A component is a file where a directory is needed.
    NotADirectory {
        component: String,
    },
}

/// Why a path cannot be resolved safely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsafe {
    /// A step leads above the pack root (through the named link, if any).
    Escapes { via: Option<String> },
    /// More than `MAX_LINKS` links (a loop).
    Loop,
}

fn components(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty() && *c != ".")
}

impl Tree {
    fn lookup(&self, dir: &[String], name: &str) -> Option<&Entry> {
        let mut cur = self;
        for part in dir {
            match cur.entries.get(part) {
                Some(Entry::Dir(sub)) => cur = sub,
                _ => return None,
            }
        }
        cur.entries.get(name)
    }

    /// Resolve `target` as if opened from directory `base` (components from the root, every
    /// one a real directory), following the tree's own links.
    pub fn resolve(&self, base: &[String], target: &str) -> Result<Resolved, Unsafe> {
        if target.starts_with('/') {
            return Err(Unsafe::Escapes { via: None });
        }
        let mut cur: Vec<String> = base.to_vec();
        let mut pending: VecDeque<String> = components(target).map(str::to_owned).collect();
        let mut via: Option<String> = None;
        let mut links = 0;
        while let Some(c) = pending.pop_front() {
            if c == ".." {
                if cur.pop().is_none() {
                    return Err(Unsafe::Escapes { via });
                }
                continue;
            }
            match self.lookup(&cur, &c) {
                None => return Ok(Resolved::Missing { component: c }),
                Some(Entry::Dir(_)) => cur.push(c),
                Some(Entry::File { executable, .. }) => {
                    if !pending.is_empty() {
                        return Ok(Resolved::NotADirectory { component: c });
                    }
                    cur.push(c);
                    return Ok(Resolved::File {
                        path: cur.join("/"),
                        executable: *executable,
                    });
                }
                Some(Entry::Symlink { target }) => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(Unsafe::Loop);
                    }
                    if target.starts_with('/') {
                        return Err(Unsafe::Escapes { via: Some(c) });
                    }
                    let mut shown = cur.clone();
                    shown.push(c);
                    via = Some(shown.join("/"));
                    for (i, part) in components(target).enumerate() {
                        pending.insert(i, part.to_owned());
                    }
                }
            }
        }
        Ok(Resolved::Dir)
    }

    /// Refuse the tree if any of its links, resolved through the others, leaves the root or
    /// loops. Iterative, so any depth is safe.
    pub fn check_links(&self) -> Result<(), StoreError> {
        let mut stack: Vec<(Vec<String>, &Tree)> = vec![(Vec::new(), self)];
        while let Some((dir, tree)) = stack.pop() {
            for (name, entry) in &tree.entries {
                match entry {
                    Entry::Dir(sub) => {
                        let mut d = dir.clone();
                        d.push(name.clone());
                        stack.push((d, sub));
                    }
                    Entry::Symlink { target } => {
                        let mut at = dir.clone();
                        at.push(name.clone());
                        let shown = at.join("/");
                        let reason = match self.resolve(&dir, target) {
                            Ok(_) => continue,
                            Err(Unsafe::Loop) => {
                                format!("symlink to `{target}` is part of a loop")
                            }
                            Err(Unsafe::Escapes { via: Some(via) }) if via != shown => format!(
                                "symlink to `{target}` resolves outside the pack (through the link `{via}`)"
                            ),
                            Err(Unsafe::Escapes { .. }) => {
                                format!("symlink to `{target}` leaves the pack")
                            }
                        };
                        return Err(StoreError::BadEntry {
                            entry: shown,
                            reason,
                        });
                    }
                    Entry::File { .. } => {}
                }
            }
        }
        Ok(())
    }

    /// Why `[bin]` path `rel` is not a regular executable file inside this tree, if it is not.
    pub fn bin_problem(&self, rel: &str) -> Option<String> {
        match self.resolve(&[], rel) {
            Ok(Resolved::File {
                executable: true, ..
            }) => None,
            Ok(Resolved::File { path, .. }) => Some(format!("`{path}` is not executable")),
            Ok(Resolved::Dir) => Some("it is a directory".into()),
            Ok(Resolved::NotADirectory { component }) => {
                Some(format!("`{component}` is a file, not a directory"))
            }
            Ok(Resolved::Missing { .. }) => {
                let base = rel.rsplit('/').next().unwrap_or(rel);
                let flattened = self
                    .walk()
                    .into_iter()
                    .find(|(p, e)| {
                        matches!(e, Entry::File { .. })
                            && p.rsplit('/').next() == Some(base)
                            && p != rel
                    })
                    .map(|(p, _)| p);
                Some(match flattened {
                    Some(p) => format!(
                        "no such file in the pack, but it has `{p}`: was it pushed by a client that drops directories (oras-py names each layer by its base name)? Push the pack with `aibox pack publish`, or point `[bin]` at `{p}`"
                    ),
                    None => "no such file in the pack".into(),
                })
            }
            Err(Unsafe::Loop) => Some("it resolves through a symlink loop".into()),
            Err(Unsafe::Escapes { .. }) => Some("it resolves outside the pack".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tree::Hash;

    fn tree(entries: &[(&str, Option<&str>)]) -> Tree {
        let mut root = Tree::default();
        for (path, link) in entries {
            let parts: Vec<String> = path.split('/').map(str::to_owned).collect();
            let entry = match link {
                Some(t) => Entry::Symlink {
                    target: (*t).to_owned(),
                },
                None if path.ends_with("/") => continue,
                None => Entry::File {
                    hash: Hash::of(b""),
                    size: 0,
                    executable: true,
                },
            };
            crate::store::ingest::insert(&mut root, path, &parts, entry).unwrap();
        }
        root
    }

    #[test]
    fn a_chain_of_harmless_looking_links_is_refused() {
        let mut entries = vec![("b", Some(".")), ("u1", Some("b/.."))];
        let names: Vec<String> = (2..=12).map(|i| format!("u{i}")).collect();
        let targets: Vec<String> = (1..=11).map(|i| format!("u{i}/..")).collect();
        for (n, t) in names.iter().zip(&targets) {
            entries.push((n.as_str(), Some(t.as_str())));
        }
        entries.push(("passwd", Some("u12/etc/passwd")));
        let t = tree(&entries);
        let err = t.check_links().unwrap_err().to_string();
        assert!(err.contains("outside the pack"), "{err}");
        assert_eq!(
            t.bin_problem("u1/usr/bin/dash").as_deref(),
            Some("it resolves outside the pack")
        );
    }

    #[test]
    fn links_inside_are_accepted_and_loops_refused() {
        let t = tree(&[
            ("bin/tool", None),
            ("bin/alias", Some("tool")),
            ("current", Some("bin")),
            ("deep/x", Some("../current/alias")),
        ]);
        t.check_links().unwrap();
        assert_eq!(t.bin_problem("deep/x"), None);
        assert_eq!(t.bin_problem("current"), Some("it is a directory".into()));
        let looped = tree(&[("a", Some("b")), ("b", Some("a"))]);
        assert!(
            looped
                .check_links()
                .unwrap_err()
                .to_string()
                .contains("loop")
        );
    }

    #[test]
    fn a_flattened_bin_target_is_explained() {
        let t = tree(&[("hello", None)]);
        let p = t.bin_problem("bin/hello").unwrap();
        assert!(p.contains("it has `hello`") && p.contains("oras-py"), "{p}");
    }
}
