//! aibox: a tool manager for teams. `aibox.toml` + `aibox.lock` → packs, plugins and the CLI
//! itself fetched from OCI registries (or OCI layouts, or directories), verified, stored in a
//! BLAKE3 content-addressed store and switched to atomically as generations.
//!
//! Modules are in layers; a module uses only modules of lower layers (README "Code layout",
//! kept true by `tests/architecture.rs`):
//!
//! 0. [`error`], [`platform`], [`printer`], [`signature`]
//! 1. [`fs`]
//! 2. [`manifest`], [`trust`]
//! 3. [`config`], [`sandbox`], [`store`]
//! 4. [`audit`], [`lockfile`]
//! 5. [`registry`]
//! 6. [`resolver`]
//! 7. [`ops`], [`fuzz`]
//! 8. [`web`]
//! 9. [`cli`]
//!
//! A sync, top-down: [`cli`] parses the command and calls one function of [`ops`]; `ops` reads
//! `aibox.toml` ([`manifest`]) and `aibox.lock` ([`lockfile`]), re-locks with the [`resolver`]
//! when the manifest changed, asks [`trust`] for a verdict on each locked pack's signatures
//! (policy from [`config`]), fetches what the [`store`] lacks from a [`registry`] source
//! (digests checked while streaming), ingests it into content-addressed objects and pack
//! trees, builds a generation and switches `current` atomically, and appends to the
//! [`audit`] log.

pub mod audit;
pub mod cli;
pub mod config;
pub mod error;
pub mod fs;
pub mod fuzz;
pub mod lockfile;
pub mod manifest;
pub mod ops;
pub mod platform;
pub mod printer;
pub mod registry;
pub mod resolver;
pub mod sandbox;
pub mod signature;
pub mod store;
pub mod trust;
pub mod web;
