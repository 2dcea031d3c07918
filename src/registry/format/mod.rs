//! The pack artifact format as data (store-format/ARTIFACT.md): OCI JSON types, media types,
//! annotations, digests and what release asset names say. No I/O.

pub mod artifact;
pub mod assets;
pub mod digest;
