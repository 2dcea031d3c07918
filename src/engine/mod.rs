//! The engine under every command: the context commands run in, resolving a manifest into a
//! lock, the trust verdicts on it, making a lock real (fetching, install hooks, building and
//! switching a generation, switch hooks, projecting skills), and finding and running plugins
//! sandboxed.

pub mod context;
pub mod disabled;
pub mod escalation;
pub mod handover;
pub mod install;
pub mod install_hooks;
pub mod lifecycle;
pub mod limited;
pub mod lock;
pub mod moderation;
pub mod pack_env;
pub mod plugins;
pub mod project;
pub mod rego;
pub mod required;
pub mod run_log;
pub mod skills;
pub mod sources;
pub mod switch_hooks;
pub mod user_bin;
pub mod verdicts;
