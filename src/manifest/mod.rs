//! The files users write: `aibox.toml` (a project's needs) and `pack.toml` (a pack's metadata),
//! parsed with errors that give file, line and column.

pub mod agents;
pub mod edit;
pub mod env_rule;
mod error;
pub mod legacy;
mod names;
pub mod pack;
pub mod permissions;
mod problem;
pub mod project;
mod project_policy;
pub mod request;
pub mod skill_sources;
mod spans;
#[cfg(test)]
mod tests;
mod validate;

pub use agents::AgentSpec;
pub use edit::{
    Section, add_agents, add_requirement, remove_requirement, set_requirement_registry,
};
pub use error::{ManifestError, conflict_line, is_conflict_marker, line_col};
pub use names::{did_you_mean, did_you_mean_tail, validate_pack_name};
pub use problem::{Problem, STEERING_PREFIX, bad_relative_path, check_env_name};
pub use project::{ProjectManifest, RegistrySpec, Requirement, parse_project};
pub use spans::{Part, locate};
pub use validate::{check_pack, parse_pack};
