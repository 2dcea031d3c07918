//! The aqua registry's format (github.com/aquaproj/aqua-registry): package entries
//! ([`model`]), the Go template subset their asset names and URLs are written in
//! ([`template`]), the expression language of their version constraints ([`expr`],
//! [`version`]), choosing the download and its checks for one version and platform
//! ([`resolve`]), checksum files ([`checksum`]) and a whole registry with the pack names aibox
//! gives its packages ([`index`]). Data and rules only: no I/O (the `aqua:` source lives in
//! `registry::backends::aqua`).

pub mod checksum;
pub mod coverage;
pub mod expr;
pub mod index;
pub mod model;
pub mod resolve;
pub mod template;
pub mod version;

pub use index::Index;
pub use resolve::{Plan, plan};

/// What an aqua entry cannot give.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AquaError {
    #[error("{origin}: not an aqua registry: {message}")]
    Yaml { origin: String, message: String },
    #[error("the aqua package `{package}` uses {feature}, which aibox does not support")]
    Unsupported { package: String, feature: String },
    #[error("the aqua package `{package}` has no asset for version {version} (`no_asset`)")]
    NoAsset { package: String, version: String },
    #[error("the aqua package `{package}` {version} is not installable: {message}")]
    Refused {
        package: String,
        version: String,
        message: String,
    },
    #[error("the aqua package `{package}` {version} has no asset for `{platform}`")]
    Platform {
        package: String,
        version: String,
        platform: String,
    },
}
