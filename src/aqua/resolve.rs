//! One package entry, one version, one platform → what to download and how to check it
//! ([`Plan`]): the `version_constraint`/`version_overrides` branch chosen for the tag, the
//! platform's `format_overrides` and `overrides`, `supported_envs` (with `rosetta2`), then the
//! asset or URL rendered with the template fields aqua gives (`.Version`, `.SemVer`, `.OS`,
//! `.Arch` after `replacements`, `.Format`, …), the commands (`files` and their `src`), and the
//! checksum file, cosign, SLSA, minisign and GitHub attestation declarations. An entry that
//! says nothing can be downloaded for the platform (`no_asset`, `error_message`, not in
//! `supported_envs`) or uses something aibox does not support is an error naming it.

use std::collections::BTreeMap;

use crate::aqua::model::{self, Downloaded, Package, Spec};
use crate::aqua::template::{self, Val};
use crate::aqua::{AquaError, expr};

/// Renders a template with the given data (the plan's renderer).
type Render<'a> = dyn Fn(&str, &BTreeMap<String, Val>) -> Result<String, AquaError> + 'a;

/// How a downloaded asset is unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    TarGz,
    TarXz,
    TarZst,
    Tar,
    Zip,
    /// The asset is the executable.
    Raw,
    /// One gzip-, xz- or zstd-compressed executable.
    Gz,
    Xz,
    Zst,
}

impl Format {
    /// The format aqua names `name` (`tar.gz`, `tgz`, `raw`, …); `None`: not one aibox unpacks.
    pub fn parse(name: &str) -> Option<Format> {
        Some(match name {
            "tar.gz" | "tgz" => Format::TarGz,
            "tar.xz" | "txz" => Format::TarXz,
            "tar.zst" | "tzst" => Format::TarZst,
            "tar" => Format::Tar,
            "zip" => Format::Zip,
            "raw" => Format::Raw,
            "gz" => Format::Gz,
            "xz" => Format::Xz,
            "zst" => Format::Zst,
            _ => return None,
        })
    }

    /// Whether the asset is an archive of files (else: one executable).
    pub fn is_archive(self) -> bool {
        !matches!(self, Format::Raw | Format::Gz | Format::Xz | Format::Zst)
    }
}

/// The extensions aqua strips from an asset name (`AssetWithoutExt`) and the format each says.
const EXTENSIONS: &[&str] = &[
    "tar.br", "tar.bz2", "tar.gz", "tar.lz4", "tar.sz", "tar.xz", "tbr", "tbz", "tbz2", "tgz",
    "tlz4", "tsz", "txz", "tar.zst", "zip", "gz", "bz2", "lz4", "sz", "xz", "zst", "dmg", "pkg",
    "rar", "tar",
];

/// `name` without its archive extension, and the format that extension names (`raw`: none).
pub fn split_ext(name: &str) -> (&str, &str) {
    for ext in EXTENSIONS {
        if let Some(stem) = name.strip_suffix(ext).and_then(|s| s.strip_suffix('.')) {
            return (stem, ext);
        }
    }
    (name, "raw")
}

/// Where a file is downloaded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A release asset of `owner/repo` at the package's tag.
    Release {
        owner: String,
        repo: String,
        asset: String,
    },
    /// A URL (`http` packages, checksum and signature URLs).
    Url(String),
    /// The source archive of `owner/repo` at the tag (`github_archive`).
    Archive { owner: String, repo: String },
    /// A file of `owner/repo` at the tag (`github_content`).
    Content {
        owner: String,
        repo: String,
        path: String,
    },
}

/// A digest algorithm of a checksum file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha256,
    Sha512,
    Sha1,
    /// Declared, but too weak to be worth anything: recorded as not checked.
    Md5,
}

/// How a checksum file is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileFormat {
    /// `<hex>  <file>` lines (or one bare digest).
    Lines,
    /// The whole file is the digest.
    Raw,
    /// Regular expressions whose first group is the digest and the file name.
    Regexp {
        checksum: String,
        file: Option<String>,
    },
}

/// The checksum file of an asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksumPlan {
    pub location: Location,
    pub algorithm: Algorithm,
    pub format: FileFormat,
    /// A cosign signature over the checksum file.
    pub cosign: Option<CosignPlan>,
    /// GitHub artifact attestations over the checksum file (their signer workflow).
    pub attestations: Option<String>,
    pub minisign: bool,
}

/// A cosign verification of a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CosignPlan {
    /// A public key and a signature (base64) over the blob, or a bundle holding it.
    Key {
        key: Location,
        signature: Option<Location>,
        bundle: Option<Location>,
    },
    /// A Fulcio certificate for an identity, with a bundle or a signature and certificate.
    Keyless {
        identity: String,
        /// `identity` is a regular expression (`--certificate-identity-regexp`).
        identity_regexp: bool,
        /// Empty: any issuer.
        issuer: String,
        /// `issuer` is a regular expression (`--certificate-oidc-issuer-regexp`).
        issuer_regexp: bool,
        bundle: Option<Location>,
        signature: Option<Location>,
        certificate: Option<Location>,
    },
}

/// A command of the package: `name` on PATH is the file `src` of the unpacked asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub name: String,
    pub src: String,
}

/// Everything needed to install one version of a package on one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub location: Location,
    /// The asset's file name (what checksum files list).
    pub asset: String,
    pub format: Format,
    pub commands: Vec<Command>,
    pub checksum: Option<ChecksumPlan>,
    /// A cosign signature over the asset itself.
    pub cosign: Option<CosignPlan>,
    /// SLSA provenance is declared (it needs the network's transparency log to check).
    pub slsa: bool,
    /// GitHub artifact attestations are declared (their signer workflow).
    pub attestations: Option<String>,
    pub minisign: bool,
}

/// aqua's `(goos, goarch)` for an aibox platform; `None` for the ones aqua packs are not
/// installed on (Windows).
pub fn go_platform(platform: &str) -> Option<(&'static str, &'static str)> {
    match platform {
        "linux-x86_64" => Some(("linux", "amd64")),
        "linux-aarch64" => Some(("linux", "arm64")),
        "macos-x86_64" => Some(("darwin", "amd64")),
        "macos-aarch64" => Some(("darwin", "arm64")),
        _ => None,
    }
}

/// The platforms aqua packs are locked for.
pub const PLATFORMS: [&str; 4] = [
    "linux-x86_64",
    "linux-aarch64",
    "macos-x86_64",
    "macos-aarch64",
];

/// The tag without the package's `version_prefix` (aqua's `SemVer`).
pub fn semver_of<'a>(tag: &'a str, prefix: Option<&str>) -> &'a str {
    prefix
        .filter(|p| !p.is_empty())
        .and_then(|p| tag.strip_prefix(p))
        .unwrap_or(tag)
}

/// The entry as it stands for `tag`: the package's fields, replaced by those of the first
/// `version_overrides` entry whose constraint holds when the package's own does not.
pub fn for_version(pkg: &Package, tag: &str) -> Result<Effective, AquaError> {
    let name = pkg.full_name().unwrap_or_default();
    let unsupported = |feature: String| AquaError::Unsupported {
        package: name.clone(),
        feature,
    };
    let mut eff = Effective {
        name: name.clone(),
        kind: pkg.kind.clone(),
        owner: pkg.repo_owner.clone().unwrap_or_default(),
        repo: pkg.repo_name.clone().unwrap_or_default(),
        spec: pkg.spec.clone(),
        package_name: pkg.name.clone(),
    };
    let Some(top) = &pkg.version_constraint else {
        return Ok(eff);
    };
    let holds = |constraint: &str, prefix: Option<&str>| -> Result<bool, AquaError> {
        if let Some(p) = prefix.filter(|p| !p.is_empty())
            && !tag.starts_with(p)
        {
            return Ok(false);
        }
        expr::eval(
            constraint,
            expr::Env {
                version: tag,
                semver: semver_of(tag, prefix),
            },
        )
        .map_err(|m| unsupported(format!("the version constraint {m}")))
    };
    if holds(top, pkg.spec.version_prefix.as_deref())? {
        return Ok(eff);
    }
    for vo in &pkg.version_overrides {
        let prefix = vo
            .spec
            .version_prefix
            .as_deref()
            .or(pkg.spec.version_prefix.as_deref());
        let constraint = vo.version_constraint.as_deref().unwrap_or("false");
        if holds(constraint, prefix)? {
            if let Some(kind) = &vo.kind
                && kind != &eff.kind
            {
                reset_for_type(&mut eff.spec, kind);
                eff.kind.clone_from(kind);
            }
            if let Some(o) = &vo.repo_owner {
                eff.owner.clone_from(o);
            }
            if let Some(r) = &vo.repo_name {
                eff.repo.clone_from(r);
            }
            model::merge_spec(&mut eff.spec, &vo.spec);
            break;
        }
    }
    Ok(eff)
}

/// aqua clears the fields another package type does not use when an override changes it.
fn reset_for_type(spec: &mut Spec, kind: &str) {
    match kind {
        "github_release" => {
            spec.url = None;
            spec.path = None;
        }
        "github_content" => {
            spec.url = None;
            spec.asset = None;
        }
        "github_archive" => {
            spec.url = None;
            spec.path = None;
            spec.asset = None;
            spec.format = None;
        }
        "http" => {
            spec.path = None;
            spec.asset = None;
        }
        _ => {}
    }
}

/// A package entry with one version's overrides applied.
#[derive(Debug, Clone)]
pub struct Effective {
    pub name: String,
    pub kind: String,
    pub owner: String,
    pub repo: String,
    pub spec: Spec,
    package_name: Option<String>,
}

/// Whether `envs` (`supported_envs`) admit `goos/goarch` (`rosetta2`: a darwin/amd64 build
/// runs on darwin/arm64).
fn admits(envs: &[String], goos: &str, goarch: &str, rosetta2: bool) -> bool {
    let pair = format!("{goos}/{goarch}");
    envs.iter()
        .any(|e| e == goos || e == goarch || *e == pair || e == "all")
        || (goos == "darwin"
            && goarch == "arm64"
            && rosetta2
            && envs.iter().any(|e| e == "amd64" || e == "darwin/amd64"))
}

/// The plan for `pkg` at `tag` on `platform`.
pub fn plan(pkg: &Package, tag: &str, platform: &str) -> Result<Plan, AquaError> {
    let eff = for_version(pkg, tag)?;
    eff.plan(tag, platform)
}

impl Effective {
    fn unsupported(&self, feature: impl Into<String>) -> AquaError {
        AquaError::Unsupported {
            package: self.name.clone(),
            feature: feature.into(),
        }
    }

    /// The plan for `tag` on `platform`.
    pub fn plan(&self, tag: &str, platform: &str) -> Result<Plan, AquaError> {
        let mut spec = self.spec.clone();
        let mut kind = self.kind.clone();
        if let Some(message) = &spec.error_message {
            return Err(AquaError::Refused {
                package: self.name.clone(),
                version: tag.to_owned(),
                message: message.clone(),
            });
        }
        if spec.no_asset == Some(true) {
            return Err(AquaError::NoAsset {
                package: self.name.clone(),
                version: tag.to_owned(),
            });
        }
        let (goos, goarch) = go_platform(platform).ok_or_else(|| AquaError::Platform {
            package: self.name.clone(),
            version: tag.to_owned(),
            platform: platform.to_owned(),
        })?;
        let rosetta2 = spec.rosetta2 == Some(true);
        if let Some(envs) = &spec.supported_envs
            && !admits(envs, goos, goarch, rosetta2)
        {
            return Err(AquaError::Platform {
                package: self.name.clone(),
                version: tag.to_owned(),
                platform: platform.to_owned(),
            });
        }
        if let Some(f) = spec
            .format_overrides
            .iter()
            .flatten()
            .find(|f| f.goos == goos)
        {
            spec.format = Some(f.format.clone());
        }
        let chosen = spec.overrides.clone().into_iter().flatten().find(|o| {
            o.variants.is_none()
                && o.goos.as_deref().is_none_or(|g| g == goos)
                && o.goarch.as_deref().is_none_or(|a| a == goarch)
                && o.envs
                    .as_deref()
                    .is_none_or(|e| admits(e, goos, goarch, false))
        });
        if let Some(o) = &chosen {
            model::apply_override(&mut spec, &mut kind, o);
        }
        if spec
            .vars
            .iter()
            .flatten()
            .any(|v| v.required == Some(true) && v.default.is_none())
        {
            return Err(self.unsupported("`vars` without a default (set per project in aqua)"));
        }
        let replacements = spec.replacements.clone().unwrap_or_default();
        let replace = |k: &str| replacements.get(k).cloned().unwrap_or_else(|| k.to_owned());
        let arch_key = if rosetta2 && goos == "darwin" && goarch == "arm64" {
            "amd64"
        } else {
            goarch
        };
        let format_name = if kind == "github_archive" {
            "tar.gz".to_owned()
        } else {
            spec.format.clone().unwrap_or_default()
        };
        let semver = semver_of(tag, spec.version_prefix.as_deref()).to_owned();
        let mut data: BTreeMap<String, Val> = [
            ("Version", tag.to_owned()),
            ("SemVer", semver),
            ("GOOS", goos.to_owned()),
            ("GOARCH", goarch.to_owned()),
            ("OS", replace(goos)),
            ("Arch", replace(arch_key)),
            ("Format", format_name.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Val::Str(v)))
        .collect();
        let vars: BTreeMap<String, Val> = spec
            .vars
            .iter()
            .flatten()
            .filter_map(|v| {
                let d = v.default.as_ref()?;
                let text = match d {
                    serde_yaml_ng::Value::String(s) => s.clone(),
                    serde_yaml_ng::Value::Number(n) => n.to_string(),
                    serde_yaml_ng::Value::Bool(b) => b.to_string(),
                    _ => return None,
                };
                Some((v.name.clone(), Val::Str(text)))
            })
            .collect();
        data.insert("Vars".into(), Val::Map(vars));
        let render = |t: &str, data: &BTreeMap<String, Val>| {
            template::render(t, data).map_err(|e| self.unsupported(e.to_string()))
        };
        let append_ext = |s: String| {
            if spec.append_ext == Some(false)
                || split_ext(&s).1 != "raw"
                || format_name.is_empty()
                || format_name == "raw"
                || s.ends_with(&format!(".{format_name}"))
            {
                s
            } else {
                format!("{s}.{format_name}")
            }
        };
        let (location, asset) = match kind.as_str() {
            "github_release" => {
                let t = spec.asset.as_deref().ok_or_else(|| {
                    self.unsupported("a `github_release` package without `asset`")
                })?;
                let asset = append_ext(render(t, &data)?);
                (
                    Location::Release {
                        owner: self.owner.clone(),
                        repo: self.repo.clone(),
                        asset: asset.clone(),
                    },
                    asset,
                )
            }
            "http" => {
                let t = spec
                    .url
                    .as_deref()
                    .ok_or_else(|| self.unsupported("an `http` package without `url`"))?;
                let url = append_ext(render(t, &data)?);
                let file = url
                    .split(['?', '#'])
                    .next()
                    .and_then(|u| u.rsplit('/').next())
                    .unwrap_or_default()
                    .to_owned();
                data.insert("AssetURL".into(), Val::Str(url.clone()));
                (Location::Url(url), file)
            }
            "github_archive" => (
                Location::Archive {
                    owner: self.owner.clone(),
                    repo: self.repo.clone(),
                },
                format!("{}-{tag}.tar.gz", self.repo),
            ),
            "github_content" => {
                let t = spec
                    .path
                    .as_deref()
                    .ok_or_else(|| self.unsupported("a `github_content` package without `path`"))?;
                let path = render(t, &data)?;
                let file = path.rsplit('/').next().unwrap_or_default().to_owned();
                (
                    Location::Content {
                        owner: self.owner.clone(),
                        repo: self.repo.clone(),
                        path,
                    },
                    file,
                )
            }
            other => return Err(self.unsupported(format!("the package type `{other}`"))),
        };
        if self.owner.is_empty() && kind != "http" {
            return Err(self.unsupported("a package without `repo_owner`/`repo_name`"));
        }
        let (stem, ext) = split_ext(&asset);
        let format = match format_name.as_str() {
            "" => {
                if ext == "raw" {
                    Format::Raw
                } else {
                    Format::parse(ext)
                        .ok_or_else(|| self.unsupported(format!("the format `{ext}`")))?
                }
            }
            f => Format::parse(f).ok_or_else(|| self.unsupported(format!("the format `{f}`")))?,
        };
        data.insert("Asset".into(), Val::Str(asset.clone()));
        data.insert("AssetWithoutExt".into(), Val::Str(stem.to_owned()));
        let commands = self.commands(&spec, &asset, stem, format, &data, &render)?;
        let checksum = match &spec.checksum {
            Some(c) if c.enabled() => Some(self.checksum(c, &data, &replacements, &render)?),
            _ => None,
        };
        let cosign = match &spec.cosign {
            Some(c) if c.enabled() => Some(self.cosign(c, &data, &render)?),
            _ => None,
        };
        Ok(Plan {
            location,
            asset,
            format,
            commands,
            checksum,
            cosign,
            slsa: spec
                .slsa_provenance
                .as_ref()
                .is_some_and(model::Slsa::enabled),
            attestations: spec
                .github_artifact_attestations
                .as_ref()
                .filter(|a| a.enabled())
                .map(|a| a.workflow().unwrap_or_default().to_owned()),
            minisign: spec.minisign.as_ref().is_some_and(model::Minisign::enabled),
        })
    }

    /// The commands: `files` (default: one named after the package), each found at its `src`.
    fn commands(
        &self,
        spec: &Spec,
        asset: &str,
        stem: &str,
        format: Format,
        data: &BTreeMap<String, Val>,
        render: &Render<'_>,
    ) -> Result<Vec<Command>, AquaError> {
        let default = model::File {
            name: self.default_command(),
            ..Default::default()
        };
        let files: Vec<model::File> = match &spec.files {
            Some(f) if !f.is_empty() => f.clone(),
            _ => vec![default],
        };
        let mut out = Vec::new();
        for f in files {
            if f.dir.is_some() {
                return Err(self.unsupported("`files[].dir`"));
            }
            if f.link.is_some() {
                return Err(self.unsupported("`files[].link`"));
            }
            let src = if !format.is_archive() {
                // The one file is the command: aibox stores it as `<asset without extension>`.
                match format {
                    Format::Raw => asset.to_owned(),
                    _ => stem.to_owned(),
                }
            } else if let Some(t) = &f.src {
                let mut d = data.clone();
                d.insert("FileName".into(), Val::Str(f.name.clone()));
                render(t, &d)?
            } else {
                f.name.clone()
            };
            let src = src.trim_start_matches("./").to_owned();
            let bad = src.is_empty()
                || src.starts_with('/')
                || src.split('/').any(|p| p == ".." || p.is_empty());
            if bad {
                return Err(self.unsupported(format!(
                    "the file path `{src}` (it must stay inside the asset)"
                )));
            }
            let name_ok = !f.name.is_empty()
                && !f.name.starts_with(['-', '.'])
                && f.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'));
            if !name_ok {
                return Err(self.unsupported(format!("the command name `{}`", f.name)));
            }
            out.push(Command { name: f.name, src });
        }
        Ok(out)
    }

    /// aqua's default command name: the repository's name, else the package name's last part.
    pub fn default_command(&self) -> String {
        match self.package_name.as_deref() {
            Some(n) if !self.repo.is_empty() => n.rsplit('/').next().unwrap_or(n).to_owned(),
            _ if !self.repo.is_empty() => self.repo.clone(),
            _ => self.name.rsplit('/').next().unwrap_or_default().to_owned(),
        }
    }

    fn downloaded(
        &self,
        d: &Downloaded,
        data: &BTreeMap<String, Val>,
        render: &Render<'_>,
    ) -> Result<Location, AquaError> {
        match d.kind.as_str() {
            "github_release" => {
                let asset = d
                    .asset
                    .as_deref()
                    .ok_or_else(|| self.unsupported("a release file without `asset`"))?;
                Ok(Location::Release {
                    owner: d.repo_owner.clone().unwrap_or_else(|| self.owner.clone()),
                    repo: d.repo_name.clone().unwrap_or_else(|| self.repo.clone()),
                    asset: render(asset, data)?,
                })
            }
            "http" => {
                let url = d
                    .url
                    .as_deref()
                    .ok_or_else(|| self.unsupported("an `http` file without `url`"))?;
                Ok(Location::Url(render(url, data)?))
            }
            other => Err(self.unsupported(format!("a file of type `{other}`"))),
        }
    }

    fn checksum(
        &self,
        c: &model::Checksum,
        data: &BTreeMap<String, Val>,
        replacements: &BTreeMap<String, String>,
        render: &Render<'_>,
    ) -> Result<ChecksumPlan, AquaError> {
        let mut data = data.clone();
        if let Some(r) = &c.replacements {
            // The checksum's own replacements on top of the package's.
            let mut all = replacements.clone();
            all.extend(r.iter().map(|(k, v)| (k.clone(), v.clone())));
            for key in ["OS", "Arch"] {
                let go = if key == "OS" { "GOOS" } else { "GOARCH" };
                if let Some(Val::Str(raw)) = data.get(go).cloned() {
                    let v = all.get(&raw).cloned().unwrap_or(raw);
                    data.insert(key.into(), Val::Str(v));
                }
            }
        }
        let location = match c.kind.as_deref() {
            Some("github_release") => {
                let asset = c.asset.as_deref().ok_or_else(|| {
                    self.unsupported("a `github_release` checksum without `asset`")
                })?;
                Location::Release {
                    owner: self.owner.clone(),
                    repo: self.repo.clone(),
                    asset: render(asset, &data)?,
                }
            }
            Some("http") => {
                let url = c
                    .url
                    .as_deref()
                    .ok_or_else(|| self.unsupported("an `http` checksum without `url`"))?;
                Location::Url(render(url, &data)?)
            }
            other => {
                return Err(
                    self.unsupported(format!("the checksum type `{}`", other.unwrap_or_default()))
                );
            }
        };
        let algorithm = match c.algorithm.as_deref() {
            Some("sha256") => Algorithm::Sha256,
            Some("sha512") => Algorithm::Sha512,
            Some("sha1") => Algorithm::Sha1,
            Some("md5") => Algorithm::Md5,
            other => {
                return Err(self.unsupported(format!(
                    "the checksum algorithm `{}`",
                    other.unwrap_or_default()
                )));
            }
        };
        let format = match c.file_format.as_deref() {
            None | Some("") => FileFormat::Lines,
            Some("raw") => FileFormat::Raw,
            Some("regexp") => {
                let p = c
                    .pattern
                    .as_ref()
                    .ok_or_else(|| self.unsupported("a `regexp` checksum without `pattern`"))?;
                for re in std::iter::once(&p.checksum).chain(p.file.iter()) {
                    regex::Regex::new(re).map_err(|e| {
                        self.unsupported(format!("the checksum pattern `{re}`: {e}"))
                    })?;
                }
                FileFormat::Regexp {
                    checksum: p.checksum.clone(),
                    file: p.file.clone(),
                }
            }
            Some(other) => {
                return Err(self.unsupported(format!("the checksum file format `{other}`")));
            }
        };
        let cosign = match &c.cosign {
            Some(cs) if cs.enabled() => Some(self.cosign(cs, &data, render)?),
            _ => None,
        };
        Ok(ChecksumPlan {
            location,
            algorithm,
            format,
            cosign,
            attestations: c
                .github_artifact_attestations
                .as_ref()
                .filter(|a| a.enabled())
                .map(|a| a.workflow().unwrap_or_default().to_owned()),
            minisign: c.minisign.as_ref().is_some_and(model::Minisign::enabled),
        })
    }

    /// A cosign declaration: its `opts` (as `cosign verify-blob` takes them) and files.
    fn cosign(
        &self,
        c: &model::Cosign,
        data: &BTreeMap<String, Val>,
        render: &Render<'_>,
    ) -> Result<CosignPlan, AquaError> {
        let mut opts: BTreeMap<&str, String> = BTreeMap::new();
        let mut it = c.opts.iter();
        while let Some(o) = it.next() {
            let (flag, inline) = match o.split_once('=') {
                Some((f, v)) => (f, Some(v.to_owned())),
                None => (o.as_str(), None),
            };
            let key = match flag {
                "--key" => "key",
                "--signature" => "signature",
                "--certificate" => "certificate",
                "--bundle" => "bundle",
                "--certificate-identity" => "identity",
                "--certificate-identity-regexp" => "identity-regexp",
                "--certificate-oidc-issuer" => "issuer",
                "--certificate-oidc-issuer-regexp" => "issuer-regexp",
                "--insecure-ignore-tlog" | "--insecure-ignore-sct" => continue,
                other => return Err(self.unsupported(format!("the cosign option `{other}`"))),
            };
            let value = match inline {
                Some(v) => v,
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| self.unsupported(format!("`{flag}` without a value")))?,
            };
            opts.insert(key, render(&value, data)?);
        }
        let file = |d: &Option<Downloaded>, opt: &str| -> Result<Option<Location>, AquaError> {
            match (d, opts.get(opt)) {
                (Some(d), _) => Ok(Some(self.downloaded(d, data, render)?)),
                (None, Some(v)) if v.starts_with("https://") || v.starts_with("http://") => {
                    Ok(Some(Location::Url(v.clone())))
                }
                (None, Some(v)) => Err(self.unsupported(format!(
                    "the cosign file `{v}` (a local path or a key reference)"
                ))),
                (None, None) => Ok(None),
            }
        };
        let key = file(&c.key, "key")?;
        let signature = file(&c.signature, "signature")?;
        let certificate = file(&c.certificate, "certificate")?;
        let bundle = file(&c.bundle, "bundle")?;
        if let Some(key) = key {
            if signature.is_none() && bundle.is_none() {
                return Err(self.unsupported("a cosign key without a signature or a bundle"));
            }
            return Ok(CosignPlan::Key {
                key,
                signature,
                bundle,
            });
        }
        let identity = opts
            .get("identity")
            .or(opts.get("identity-regexp"))
            .cloned()
            .ok_or_else(|| self.unsupported("cosign without a key or a certificate identity"))?;
        let issuer = opts
            .get("issuer")
            .or(opts.get("issuer-regexp"))
            .cloned()
            .unwrap_or_default();
        if bundle.is_none() && (signature.is_none() || certificate.is_none()) {
            return Err(
                self.unsupported("keyless cosign without a bundle or a signature and certificate")
            );
        }
        Ok(CosignPlan::Keyless {
            identity,
            identity_regexp: !opts.contains_key("identity"),
            issuer,
            issuer_regexp: !opts.contains_key("issuer") && opts.contains_key("issuer-regexp"),
            bundle,
            signature,
            certificate,
        })
    }
}
