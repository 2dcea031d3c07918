//! The sources of packs, each behind [`crate::registry::Source`]: `dir:`, OCI content
//! (`oci-layout:` and `oci://`, read through one [`backend::Backend`] interface), and release
//! archives, and aqua registries (`aqua:`).

pub mod aqua;
pub mod backend;
pub mod content;
pub mod dir;
pub mod layout;
pub mod oci;
pub mod oci_metadata;
pub mod oci_push;
pub mod release;
pub mod signatures;
