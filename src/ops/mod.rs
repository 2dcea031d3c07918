//! The commands: one entry function per user operation. Each takes parsed options, does the
//! work through the [`crate::engine`] (and the store, resolver and registry below it), and
//! returns data for `cli` and `web` to show.

pub mod changelog;
pub mod config;
pub mod doctor;
pub mod edit;
pub mod generations;
pub mod import;
pub mod lifecycle;
pub mod maintenance;
pub mod migrate;
pub mod pack;
pub mod plugin;
pub mod preview;
pub mod run;
pub mod search;
pub mod self_update;
pub mod sync;
pub mod trust;
pub mod update;
pub mod vendor;
pub mod view;
pub mod x;

pub use crate::engine::context::{
    LOCKFILE, MANIFEST, MAX_LOCK_BYTES, MAX_MANIFEST_BYTES, Options, Project, Target, find_project,
    open_profile,
};
