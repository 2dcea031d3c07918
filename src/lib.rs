//! aibox: a tool manager for teams. `aibox.toml` + `aibox.lock` → packs, plugins and the CLI
//! itself fetched from OCI registries (or OCI layouts, or directories), verified, stored in a
//! BLAKE3 content-addressed store and switched to atomically as generations.
//!
//! Dependencies run one way: `cli → ops → {resolver, store, registry} → fs`.

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
pub mod signature;
pub mod store;
pub mod trust;
