//! aibox: a tool manager for teams. `aibox.toml` + `aibox.lock` → packs, plugins and the CLI
//! itself fetched from OCI registries (or OCI layouts, or directories), verified, stored in a
//! BLAKE3 content-addressed store and switched to atomically as generations.
//!
//! Modules are in layers; a module uses only modules of lower layers, and no two files of
//! `src/` import each other in a cycle (README "Code layout", kept true by
//! `tests/architecture.rs`):
//!
//! 0. [`env_vars`], [`error`], [`parallel`], [`signature`]
//! 1. [`fs`], [`platform`], [`printer`]
//! 2. [`aqua`], [`manifest`], [`trust`]
//! 3. [`config`], [`sandbox`], [`store`]
//! 4. [`audit`], [`lockfile`], [`skill`]
//! 5. [`registry`]
//! 6. [`resolver`]
//! 7. [`engine`], [`fuzz`]
//! 8. [`ops`]
//! 9. [`web`]
//! 10. [`cli`]
//!
//! # A sync, top-down
//!
//! - [`cli`] parses the command, resolves the aibox home once (`store::Home`) and makes the
//!   options every operation gets, then calls one function of [`ops`] (`ops::sync`), the
//!   commands, which run on the [`engine`].
//! - The engine reads `aibox.toml` ([`manifest`]) and `aibox.lock` ([`lockfile`])
//!   (`engine::project`). If the lock still matches the manifest and the current generation
//!   was built from these lock bytes, it stops there (the no-op fast path).
//! - Otherwise, when the manifest changed, the [`resolver`] (PubGrub over the sources'
//!   metadata) writes a new lock (`engine::lock`); locked versions are kept where still
//!   allowed, and versions their publisher yanked or staged are offered only as the status
//!   document says (`engine::lifecycle`).
//! - For each locked pack, [`trust`] gives a verdict on its signatures under the policy from
//!   [`config`] (`engine::verdicts`); a refused pack stops the sync before anything is
//!   fetched.
//! - What the [`store`] lacks is fetched from a [`registry`] source (OCI registry, OCI
//!   layout, directory, archive URL), each blob checked against its digest while it streams
//!   into a staging file (`registry::format::digest`, `registry::transfer::fetch`). A pack's
//!   layer is unpacked from the same bytes as they arrive (`registry::transfer::tee`); its
//!   content-addressed objects get their names only after the digest matched, then a sealed
//!   pack tree is built from them (`engine::install`). Install hooks and health checks run in
//!   the [`sandbox`].
//! - The store builds a generation (links to pack trees, `generation.toml`) and switches the
//!   profile's `current` link with one atomic rename; the [`audit`] log records it.
//!
//! # Invariants
//!
//! - Nothing in the store is ever modified in place: objects, pack trees and generations are
//!   written under temporary names, made durable, then renamed; `current` changes only by
//!   rename. A crash or `kill -9` at any point leaves the previous generation current and the
//!   store valid (`store verify`).
//! - Everything from outside (packs, manifests, locks, registry answers, URLs) is validated
//!   where it enters: names, paths, links, sizes, depths, digests.
//! - The lock is a function of the manifest and the sources: the same inputs give the same
//!   bytes.
//! - Data goes to stdout, progress and errors to stderr through a [`printer::Reporter`]
//!   that the CLI makes from the global flags and passes down (`ops::Options`,
//!   `registry::SourceOptions`, the `store::Store` handle); nothing prints through global
//!   state. A user-facing error carries `hint:` lines ([`error`]).
//!
//! # Locks
//!
//! `flock(2)` locks, taken in this order: the store lock (shared for sync, install and
//! rollback; exclusive for gc and repair), then a profile lock (while a generation is built
//! and switched) or a pack lock (while one pack tree is built). See `store-format/SPEC.md` §7.
//!
//! # Where each format lives
//!
//! | format | written down in | code |
//! |---|---|---|
//! | store layout, generations, listings | `store-format/SPEC.md` | [`store`] |
//! | `aibox.lock` | `store-format/LOCKFILE.md` | [`lockfile`] |
//! | pack artifacts (OCI manifest, config, layer, annotations, signatures) | `store-format/ARTIFACT.md` | [`registry::format::artifact`], [`registry::build::layer`], [`registry::backends::signatures`] |
//! | status documents (yanked, deprecated and staged versions) | `store-format/ARTIFACT.md` §12 | [`registry::lifecycle`], [`registry::backends::status`] |
//! | `aibox.toml`, `pack.toml` | `docs/guide.md` | [`manifest`] |
//! | aqua registry entries (read, not written) | aqua's own schema; `docs/guide.md` "Tools from the aqua registry" | [`aqua`] |
//! | user configuration, trust policy | `docs/configuration.md`, `docs/trust.md` | [`config`], [`trust`] |

// Everything `pub` is reachable from outside the crate or narrowed (`pub(crate)`, `pub(super)`),
// so the public surface is exactly what `pub` says, and dead items show up as dead code.
#![warn(unreachable_pub)]

pub mod aqua;
pub mod audit;
pub mod cli;
pub mod config;
pub mod engine;
pub mod env_vars;
pub mod error;
pub mod fs;
#[cfg(feature = "fuzz")]
pub mod fuzz;
pub mod lockfile;
pub mod manifest;
pub mod ops;
pub mod parallel;
pub mod platform;
pub mod printer;
pub mod registry;
pub mod resolver;
pub mod sandbox;
pub mod signature;
pub mod skill;
pub mod store;
pub mod trust;
pub mod web;
