//! Platform names (`linux-x86_64`, `macos-aarch64`, …) and the host's own; the running
//! aibox's version.

use std::sync::OnceLock;

static VERSION: OnceLock<semver::Version> = OnceLock::new();

/// The running aibox's version: what the binary was built as (`AIBOX_BUILD_VERSION` at build
/// time, set through [`set_version`]), else the crate's version.
pub fn version() -> &'static semver::Version {
    VERSION.get_or_init(|| {
        semver::Version::parse(env!("CARGO_PKG_VERSION")).expect("the crate version is semver")
    })
}

/// [`version`] as text, for `--version` and the environment of plugins.
pub fn version_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| version().to_string())
}

/// Record the version the binary was built as (before anything asks for [`version`]).
/// `AIBOX_BUILD_VERSION` must be semver: a build that sets it to anything else is a broken
/// build, refused loudly at start.
pub fn set_version(v: &str) {
    let v = semver::Version::parse(v)
        .unwrap_or_else(|e| panic!("AIBOX_BUILD_VERSION `{v}` is not a semver version: {e}"));
    let _ = VERSION.set(v);
}

/// The platform aibox runs on, in aibox's spelling: `<os>-<arch>`. `AIBOX_PLATFORM` (one of
/// [`KNOWN`]) stands in for it: to see what another platform would install, and in tests.
pub fn host() -> String {
    if let Ok(p) = crate::env_vars::var(crate::env_vars::PLATFORM)
        && KNOWN.contains(&p.as_str())
    {
        return p;
    }
    native()
}

/// The platform this binary was built for.
pub fn native() -> String {
    format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH)
}

/// The platforms aibox knows how to name. Others are rejected in manifests with a hint.
pub const KNOWN: &[&str] = &[
    "linux-x86_64",
    "linux-aarch64",
    "macos-x86_64",
    "macos-aarch64",
    "windows-x86_64",
];

/// Map an aibox platform to OCI's `(os, architecture)` pair.
pub fn to_oci(platform: &str) -> Option<(&'static str, &'static str)> {
    Some(match platform {
        "linux-x86_64" => ("linux", "amd64"),
        "linux-aarch64" => ("linux", "arm64"),
        "macos-x86_64" => ("darwin", "amd64"),
        "macos-aarch64" => ("darwin", "arm64"),
        "windows-x86_64" => ("windows", "amd64"),
        _ => return None,
    })
}

/// Map OCI's `(os, architecture)` back to an aibox platform.
pub fn from_oci(os: &str, arch: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .copied()
        .find(|p| to_oci(p) == Some((os, arch)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn oci_round_trip() {
        for p in super::KNOWN {
            let (os, arch) = super::to_oci(p).unwrap();
            assert_eq!(super::from_oci(os, arch), Some(*p));
        }
        assert!(super::KNOWN.contains(&super::native().as_str()));
    }
}
