//! Making pack artifacts from pack source directories: the reproducible layer, configs,
//! manifests and indexes (`pack build`, `pack publish`).

pub mod layer;
pub mod pack;
