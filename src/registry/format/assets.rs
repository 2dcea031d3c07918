//! What a release asset's file name says, the way upstream projects name them
//! (`ripgrep-14.1.0-x86_64-unknown-linux-musl.tar.gz`, `shfmt_v3.8.0_linux_amd64`,
//! `node-v20.11.0-linux-x64.tar.xz`, `jq-linux-arm64`, `terraform_1.7.0_darwin_arm64.zip`): its
//! format (an archive, a bare executable, or something to skip: packages, checksums,
//! signatures), the platforms it is for, and the version it names. Choosing the asset for a
//! platform never falls back to a source tarball when other assets name platforms.

use semver::Version;

/// How an asset is unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    TarGz,
    TarZst,
    TarXz,
    Tar,
    Zip,
    /// One executable file (no archive): it becomes the pack's one command.
    Executable,
}

/// Extensions of archives aibox unpacks, longest first.
const ARCHIVES: [(&str, Format); 8] = [
    (".tar.gz", Format::TarGz),
    (".tar.zst", Format::TarZst),
    (".tar.xz", Format::TarXz),
    (".tgz", Format::TarGz),
    (".tzst", Format::TarZst),
    (".txz", Format::TarXz),
    (".tar", Format::Tar),
    (".zip", Format::Zip),
];

/// Endings of assets that are not tools for aibox: packages for other managers, checksums,
/// signatures, attestations, documents.
const SKIPPED: [&str; 28] = [
    ".deb",
    ".rpm",
    ".apk",
    ".msi",
    ".pkg",
    ".dmg",
    ".exe",
    ".appimage",
    ".snap",
    ".flatpak",
    ".sha256",
    ".sha256sum",
    ".sha512",
    ".md5",
    ".sig",
    ".asc",
    ".pem",
    ".cert",
    ".crt",
    ".sbom",
    ".json",
    ".txt",
    ".md",
    ".intoto.jsonl",
    ".bundle",
    ".pub",
    ".sh",
    ".ps1",
];

/// The format of an asset, or `None` for one aibox does not install.
pub fn format(file: &str) -> Option<Format> {
    let n = file.to_ascii_lowercase();
    if let Some((_, f)) = ARCHIVES.iter().find(|(ext, _)| n.ends_with(ext)) {
        return Some(*f);
    }
    if SKIPPED.iter().any(|e| n.ends_with(e))
        || n.contains("checksum")
        || n.contains("sha256sum")
        || n.ends_with(".gz")
        || n.ends_with(".zst")
        || n.ends_with(".xz")
        || n.ends_with(".bz2")
    {
        return None;
    }
    // A bare executable names its platform (`jq-linux-amd64`); anything else with an
    // extension of letters is some other file.
    (!platforms(file).is_empty()).then_some(Format::Executable)
}

/// The words of a file name: split at `-`, `_`, `.` (lowercase).
fn words(file: &str) -> Vec<String> {
    file.to_ascii_lowercase()
        .split(['-', '_', '.'])
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The aibox platforms an asset's file name is for (empty: it names none). A `universal`
/// macOS build serves both macOS architectures.
pub fn platforms(file: &str) -> Vec<&'static str> {
    let w = words(file);
    let has = |list: &[&str]| w.iter().any(|x| list.contains(&x.as_str()));
    let lower = file.to_ascii_lowercase();
    let os = if has(&["linux"]) {
        "linux"
    } else if has(&["darwin", "apple", "macos", "osx", "mac"]) {
        "macos"
    } else if has(&["windows", "win64", "win"]) || lower.contains("windows") {
        "windows"
    } else {
        return Vec::new();
    };
    let archs: Vec<&str> = if lower.contains("x86_64") || has(&["amd64", "x64"]) {
        vec!["x86_64"]
    } else if has(&["aarch64", "arm64"]) {
        vec!["aarch64"]
    } else if has(&["universal", "universal2"]) && os == "macos" {
        vec!["x86_64", "aarch64"]
    } else {
        return Vec::new();
    };
    archs
        .into_iter()
        .filter_map(|arch| {
            let p = format!("{os}-{arch}");
            crate::platform::KNOWN.iter().copied().find(|k| *k == p)
        })
        .collect()
}

/// Words that belong to a platform or build, never to a version's pre-release.
const BUILD_WORDS: [&str; 24] = [
    "linux",
    "darwin",
    "apple",
    "macos",
    "osx",
    "windows",
    "win64",
    "unknown",
    "musl",
    "gnu",
    "msvc",
    "pc",
    "x86",
    "x64",
    "amd64",
    "arm64",
    "aarch64",
    "arm",
    "armv7",
    "i686",
    "static",
    "universal",
    "baseline",
    "gnueabihf",
];

/// The version an asset or tag names: the first `x.y.z` (a `v` before it allowed, `-` and `_`
/// around it), with a pre-release only when it is not a platform (`1.0.0-linux-x86_64` is
/// 1.0.0, `2.0.0-rc.1` keeps `rc.1`). Tags like `jq-1.7.1` and `v14.1.0` work the same.
pub fn version_in(name: &str) -> Option<Version> {
    let bytes = name.as_bytes();
    (0..bytes.len())
        .filter(|&i| {
            let boundary = |j: usize| j == 0 || !bytes[j - 1].is_ascii_alphanumeric();
            bytes[i].is_ascii_digit()
                && (boundary(i) || (matches!(bytes[i - 1], b'v' | b'V') && boundary(i - 1)))
        })
        .find_map(|i| {
            let rest = &name[i..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
                .unwrap_or(rest.len());
            let mut s = &rest[..end];
            // Trim extensions and platform words from the right until it parses cleanly.
            loop {
                if let Ok(v) = Version::parse(s) {
                    let platformish = v
                        .pre
                        .split(['.', '-'])
                        .any(|w| BUILD_WORDS.contains(&w.to_ascii_lowercase().as_str()));
                    if !platformish {
                        return Some(v);
                    }
                }
                s = &s[..s.rfind(['.', '-'])?];
            }
        })
}

/// The asset of `assets` (name, URL) for `platform`: the installable assets naming it (a
/// `musl` build first, an archive before a bare executable, then the shortest name); when no
/// asset names any platform, the single installable one (a platform-independent pack). A
/// release whose assets name other platforms has nothing for this one: its source tarball is
/// never taken instead.
pub fn pick<'a>(
    assets: impl IntoIterator<Item = (&'a String, &'a String)>,
    platform: &str,
) -> Option<(&'a String, &'a String)> {
    let installable: Vec<_> = assets
        .into_iter()
        .filter(|(n, _)| format(n).is_some())
        .collect();
    let mut named: Vec<_> = installable
        .iter()
        .filter(|(n, _)| platforms(n).contains(&platform))
        .copied()
        .collect();
    named.sort_by_key(|(n, _)| {
        (
            !n.to_ascii_lowercase().contains("musl"),
            format(n) == Some(Format::Executable),
            n.len(),
        )
    });
    if let Some(first) = named.first() {
        return Some(*first);
    }
    if installable.iter().any(|(n, _)| !platforms(n).is_empty()) {
        return None;
    }
    match installable.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asset names as upstream projects publish them: (name, platforms, version).
    const REAL: &[(&str, &[&str], Option<&str>)] = &[
        (
            "ripgrep-14.1.0-x86_64-unknown-linux-musl.tar.gz",
            &["linux-x86_64"],
            Some("14.1.0"),
        ),
        (
            "ripgrep-14.1.0-aarch64-apple-darwin.tar.gz",
            &["macos-aarch64"],
            Some("14.1.0"),
        ),
        (
            "ripgrep-14.1.0-aarch64-unknown-linux-gnu.tar.gz",
            &["linux-aarch64"],
            Some("14.1.0"),
        ),
        (
            "fd-v10.1.0-x86_64-unknown-linux-musl.tar.gz",
            &["linux-x86_64"],
            Some("10.1.0"),
        ),
        (
            "bat-v0.24.0-aarch64-unknown-linux-gnu.tar.gz",
            &["linux-aarch64"],
            Some("0.24.0"),
        ),
        ("jq-linux-amd64", &["linux-x86_64"], None),
        ("jq-macos-arm64", &["macos-aarch64"], None),
        ("yq_linux_arm64.tar.gz", &["linux-aarch64"], None),
        (
            "gh_2.40.0_linux_amd64.tar.gz",
            &["linux-x86_64"],
            Some("2.40.0"),
        ),
        (
            "gh_2.40.0_macOS_arm64.zip",
            &["macos-aarch64"],
            Some("2.40.0"),
        ),
        ("shfmt_v3.8.0_linux_amd64", &["linux-x86_64"], Some("3.8.0")),
        (
            "shfmt-v3.8.0-linux-amd64.tar.gz",
            &["linux-x86_64"],
            Some("3.8.0"),
        ),
        (
            "shfmt-3.8.0-linux-x86_64.tar.gz",
            &["linux-x86_64"],
            Some("3.8.0"),
        ),
        (
            "node-v20.11.0-linux-x64.tar.xz",
            &["linux-x86_64"],
            Some("20.11.0"),
        ),
        (
            "node-v20.11.0-darwin-arm64.tar.gz",
            &["macos-aarch64"],
            Some("20.11.0"),
        ),
        (
            "terraform_1.7.0_linux_amd64.zip",
            &["linux-x86_64"],
            Some("1.7.0"),
        ),
        (
            "terraform_1.7.0_darwin_arm64.zip",
            &["macos-aarch64"],
            Some("1.7.0"),
        ),
        (
            "fzf-0.46.0-linux_amd64.tar.gz",
            &["linux-x86_64"],
            Some("0.46.0"),
        ),
        (
            "shellcheck-v0.10.0.linux.x86_64.tar.xz",
            &["linux-x86_64"],
            Some("0.10.0"),
        ),
        (
            "shellcheck-v0.10.0.darwin.aarch64.tar.xz",
            &["macos-aarch64"],
            Some("0.10.0"),
        ),
        (
            "uv-x86_64-unknown-linux-musl.tar.gz",
            &["linux-x86_64"],
            None,
        ),
        ("ruff-aarch64-apple-darwin.tar.gz", &["macos-aarch64"], None),
        ("deno-x86_64-unknown-linux-gnu.zip", &["linux-x86_64"], None),
        ("bun-linux-x64.zip", &["linux-x86_64"], None),
        (
            "helm-v3.14.0-linux-arm64.tar.gz",
            &["linux-aarch64"],
            Some("3.14.0"),
        ),
        (
            "lazygit_0.40.2_Linux_x86_64.tar.gz",
            &["linux-x86_64"],
            Some("0.40.2"),
        ),
        (
            "lazygit_0.40.2_Darwin_arm64.tar.gz",
            &["macos-aarch64"],
            Some("0.40.2"),
        ),
        ("k9s_Linux_amd64.tar.gz", &["linux-x86_64"], None),
        (
            "golangci-lint-1.55.2-linux-amd64.tar.gz",
            &["linux-x86_64"],
            Some("1.55.2"),
        ),
        (
            "hugo_extended_0.121.1_darwin-universal.tar.gz",
            &["macos-aarch64", "macos-x86_64"],
            Some("0.121.1"),
        ),
        ("sops-v3.8.1.linux.amd64", &["linux-x86_64"], Some("3.8.1")),
        (
            "mkcert-v1.4.4-linux-arm64",
            &["linux-aarch64"],
            Some("1.4.4"),
        ),
        (
            "zoxide-0.9.2-x86_64-unknown-linux-musl.tar.gz",
            &["linux-x86_64"],
            Some("0.9.2"),
        ),
        (
            "just-1.23.0-aarch64-apple-darwin.tar.gz",
            &["macos-aarch64"],
            Some("1.23.0"),
        ),
        (
            "actionlint_1.6.26_linux_amd64.tar.gz",
            &["linux-x86_64"],
            Some("1.6.26"),
        ),
        (
            "age-v1.1.1-linux-amd64.tar.gz",
            &["linux-x86_64"],
            Some("1.1.1"),
        ),
        (
            "tool-2.0.0-rc.1-linux-x86_64.tar.gz",
            &["linux-x86_64"],
            Some("2.0.0-rc.1"),
        ),
    ];

    #[test]
    fn real_asset_names_say_their_platform_and_version() {
        for (name, want, version) in REAL {
            let mut got = platforms(name);
            got.sort_unstable();
            assert_eq!(&got, want, "{name}");
            assert!(format(name).is_some(), "{name} is installable");
            assert_eq!(
                version_in(name).map(|v| v.to_string()).as_deref(),
                *version,
                "{name}"
            );
        }
        assert_eq!(
            format("node-v20.11.0-linux-x64.tar.xz"),
            Some(Format::TarXz)
        );
        assert_eq!(format("terraform_1.7.0_linux_amd64.zip"), Some(Format::Zip));
        assert_eq!(format("jq-linux-amd64"), Some(Format::Executable));
    }

    #[test]
    fn tags_name_versions() {
        for (tag, v) in [
            ("v14.1.0", "14.1.0"),
            ("jq-1.7.1", "1.7.1"),
            ("14.1.0", "14.1.0"),
            ("release-2.3.4", "2.3.4"),
            ("v2.0.0-beta.2", "2.0.0-beta.2"),
        ] {
            assert_eq!(version_in(tag).unwrap().to_string(), v, "{tag}");
        }
        assert_eq!(version_in("nightly"), None);
    }

    #[test]
    fn what_is_not_a_tool_is_skipped() {
        for name in [
            "ripgrep_14.1.0-1_amd64.deb",
            "gh_2.40.0_linux_amd64.rpm",
            "sha256sum.txt",
            "checksums.txt",
            "jq-windows-amd64.exe",
            "ripgrep-14.1.0-x86_64-unknown-linux-musl.tar.gz.sha256",
            "cosign.pub",
            "tool-1.0.0.tar.gz.sig",
            "SHA256SUMS",
            "install.sh",
            "multiple.intoto.jsonl",
        ] {
            assert_eq!(format(name), None, "{name}");
        }
    }

    #[test]
    fn no_source_tarball_for_a_platform_the_release_lacks() {
        let jq: Vec<(String, String)> = [
            "jq-1.7.1.tar.gz",
            "jq-1.7.1.zip",
            "jq-linux-amd64",
            "jq-linux-arm64",
            "jq-macos-arm64",
            "jq-windows-amd64.exe",
            "sha256sum.txt",
        ]
        .iter()
        .map(|n| ((*n).to_owned(), format!("https://example.com/{n}")))
        .collect();
        let pick_for = |p| pick(jq.iter().map(|(a, b)| (a, b)), p).map(|(n, _)| n.clone());
        assert_eq!(pick_for("linux-x86_64").as_deref(), Some("jq-linux-amd64"));
        assert_eq!(pick_for("macos-x86_64"), None, "never the source tarball");
        let rg: Vec<(String, String)> = [
            "ripgrep-14.1.0-x86_64-unknown-linux-gnu.tar.gz",
            "ripgrep-14.1.0-x86_64-unknown-linux-musl.tar.gz",
            "ripgrep_14.1.0-1_amd64.deb",
        ]
        .iter()
        .map(|n| ((*n).to_owned(), String::new()))
        .collect();
        let got = pick(rg.iter().map(|(a, b)| (a, b)), "linux-x86_64")
            .unwrap()
            .0;
        assert!(got.contains("musl"), "{got}");
        // A release of one platform-independent archive serves every platform.
        let scripts = [("tool-1.0.0.tar.gz".to_owned(), String::new())];
        assert!(pick(scripts.iter().map(|(a, b)| (a, b)), "linux-aarch64").is_some());
    }
}
