//! The sources of packs, each behind [`crate::registry::Source`]: `dir:`, OCI content
//! (`oci-layout:` and `oci://`, read through one [`backend::Backend`] interface), and release
//! archives, aqua registries (`aqua:`), ClawHub registries and the skills of GitHub
//! repositories.

pub mod aqua;
pub mod backend;
pub mod clawhub;
pub mod content;
pub mod dir;
pub mod github_skills;
pub mod layout;
pub mod oci;
pub mod oci_metadata;
pub mod oci_push;
pub mod release;
pub mod signatures;
pub mod skill_archive;
pub mod status;
