//! The aqua registry's package entries as data (`registry.yaml`: `packages:` of
//! `type: github_release | http | github_archive | github_content | …`), read with serde
//! exactly as the schema spells them; unknown keys are errors naming the key. Merging a
//! `version_overrides` entry into its package and a platform `overrides` entry into that is
//! here too, field by field, as aqua does it.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One package entry. (Its keys are checked by [`check_keys`]: serde cannot refuse unknown
/// keys of a struct with a flattened part.)
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Package {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub aliases: Vec<Alias>,
    #[serde(default)]
    pub search_words: Vec<String>,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub repo_owner: Option<String>,
    #[serde(default)]
    pub repo_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub link: Option<String>,
    #[serde(flatten)]
    pub spec: Spec,
    #[serde(default)]
    pub version_constraint: Option<String>,
    #[serde(default)]
    pub version_overrides: Vec<VersionOverride>,
}

/// The fields a `version_overrides` entry may replace (and the package has too).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Spec {
    #[serde(default)]
    pub asset: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(rename = "crate", default)]
    pub crate_: Option<String>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub format_overrides: Option<Vec<FormatOverride>>,
    #[serde(default)]
    pub files: Option<Vec<File>>,
    #[serde(default, deserialize_with = "scalar_map")]
    pub replacements: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub overrides: Option<Vec<Override>>,
    #[serde(default)]
    pub supported_envs: Option<Vec<String>>,
    #[serde(default)]
    pub version_filter: Option<String>,
    #[serde(default)]
    pub version_prefix: Option<String>,
    #[serde(default)]
    pub version_source: Option<String>,
    #[serde(default)]
    pub go_version_path: Option<String>,
    #[serde(default)]
    pub rosetta2: Option<bool>,
    #[serde(default)]
    pub windows_arm_emulation: Option<bool>,
    #[serde(default)]
    pub complete_windows_ext: Option<bool>,
    #[serde(default)]
    pub windows_ext: Option<String>,
    #[serde(default)]
    pub no_asset: Option<bool>,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub append_ext: Option<bool>,
    #[serde(default)]
    pub private: Option<bool>,
    #[serde(default)]
    pub checksum: Option<Checksum>,
    #[serde(default)]
    pub cosign: Option<Cosign>,
    #[serde(default)]
    pub slsa_provenance: Option<Slsa>,
    #[serde(default)]
    pub minisign: Option<Minisign>,
    #[serde(default)]
    pub github_artifact_attestations: Option<Attestations>,
    #[serde(default)]
    pub vars: Option<Vec<Var>>,
    #[serde(default)]
    pub build: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    pub cargo: Option<serde_yaml_ng::Value>,
}

/// A `version_overrides` entry: a constraint and the fields it replaces.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct VersionOverride {
    #[serde(default)]
    pub version_constraint: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub repo_owner: Option<String>,
    #[serde(default)]
    pub repo_name: Option<String>,
    #[serde(flatten)]
    pub spec: Spec,
}

/// An `overrides` entry: for one `goos`/`goarch` (or `envs`), the fields it replaces.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    #[serde(default)]
    pub goos: Option<String>,
    #[serde(default)]
    pub goarch: Option<String>,
    #[serde(default)]
    pub envs: Option<Vec<String>>,
    #[serde(default)]
    pub variants: Option<Vec<serde_yaml_ng::Value>>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub asset: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(rename = "crate", default)]
    pub crate_: Option<String>,
    #[serde(default)]
    pub cargo: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    pub go_version_path: Option<String>,
    #[serde(default)]
    pub complete_windows_ext: Option<bool>,
    #[serde(default)]
    pub windows_ext: Option<String>,
    #[serde(default)]
    pub append_ext: Option<bool>,
    #[serde(default)]
    pub files: Option<Vec<File>>,
    #[serde(default, deserialize_with = "scalar_map")]
    pub replacements: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub checksum: Option<Checksum>,
    #[serde(default)]
    pub cosign: Option<Cosign>,
    #[serde(default)]
    pub slsa_provenance: Option<Slsa>,
    #[serde(default)]
    pub minisign: Option<Minisign>,
    #[serde(default)]
    pub github_artifact_attestations: Option<Attestations>,
    #[serde(default)]
    pub vars: Option<Vec<Var>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alias {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormatOverride {
    pub goos: String,
    pub format: String,
}

/// A command the package provides: `name` on PATH, found at `src` (a template) in the asset.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct File {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub src: Option<String>,
    #[serde(default)]
    pub dir: Option<String>,
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub hard: Option<bool>,
}

/// Where the digests of a release's assets are published.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checksum {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub asset: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub file_format: Option<String>,
    #[serde(default)]
    pub algorithm: Option<String>,
    #[serde(default)]
    pub pattern: Option<ChecksumPattern>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "scalar_map")]
    pub replacements: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub cosign: Option<Cosign>,
    #[serde(default)]
    pub minisign: Option<Minisign>,
    #[serde(default)]
    pub github_artifact_attestations: Option<Attestations>,
}

impl Checksum {
    /// Declared and not switched off.
    pub fn enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksumPattern {
    pub checksum: String,
    #[serde(default)]
    pub file: Option<String>,
}

/// A cosign verification: `opts` as given to `cosign verify-blob`, and where the signature,
/// certificate, key and bundle are downloaded from.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cosign {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub opts: Vec<String>,
    #[serde(default)]
    pub signature: Option<Downloaded>,
    #[serde(default)]
    pub certificate: Option<Downloaded>,
    #[serde(default)]
    pub key: Option<Downloaded>,
    #[serde(default)]
    pub bundle: Option<Downloaded>,
}

impl Cosign {
    /// Declared and not switched off (aqua: explicitly, or by having anything to verify).
    pub fn enabled(&self) -> bool {
        self.enabled.unwrap_or(
            !self.opts.is_empty()
                || self.signature.is_some()
                || self.certificate.is_some()
                || self.key.is_some()
                || self.bundle.is_some(),
        )
    }
}

/// A file downloaded for verification: a release asset (of this or another repository) or a
/// URL, both templates.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Downloaded {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub repo_owner: Option<String>,
    #[serde(default)]
    pub repo_name: Option<String>,
    #[serde(default)]
    pub asset: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slsa {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub repo_owner: Option<String>,
    #[serde(default)]
    pub repo_name: Option<String>,
    #[serde(default)]
    pub asset: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub source_uri: Option<String>,
    #[serde(default)]
    pub source_tag: Option<String>,
}

impl Slsa {
    pub fn enabled(&self) -> bool {
        self.enabled.unwrap_or(self.kind.is_some())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Minisign {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub repo_owner: Option<String>,
    #[serde(default)]
    pub repo_name: Option<String>,
    #[serde(default)]
    pub asset: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub public_key: Option<String>,
}

impl Minisign {
    pub fn enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attestations {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub predicate_type: Option<String>,
    #[serde(default)]
    pub signer_workflow: Option<String>,
    #[serde(rename = "signer-workflow", default)]
    pub signer_workflow_old: Option<String>,
}

impl Attestations {
    pub fn enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }

    /// The workflow that must have signed (the old spelling `signer-workflow` too).
    pub fn workflow(&self) -> Option<&str> {
        self.signer_workflow
            .as_deref()
            .or(self.signer_workflow_old.as_deref())
    }
}

/// A template variable (`{{.Vars.name}}`) with its default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Var {
    pub name: String,
    #[serde(default)]
    pub required: Option<bool>,
    #[serde(default)]
    pub default: Option<serde_yaml_ng::Value>,
}

impl Package {
    /// The package's name: `name`, else `<repo_owner>/<repo_name>`.
    pub fn full_name(&self) -> Option<String> {
        if let Some(n) = self.name.as_deref().filter(|n| !n.is_empty()) {
            return Some(n.to_owned());
        }
        match (self.repo_owner.as_deref(), self.repo_name.as_deref()) {
            (Some(o), Some(r)) if !o.is_empty() && !r.is_empty() => Some(format!("{o}/{r}")),
            _ => None,
        }
    }
}

/// Replace `base`'s fields by those `over` sets (aqua's `version_overrides` rule).
pub fn merge_spec(base: &mut Spec, over: &Spec) {
    macro_rules! take {
        ($($f:ident),*) => {$(
            if over.$f.is_some() {
                base.$f = over.$f.clone();
            }
        )*};
    }
    take!(
        asset,
        url,
        path,
        crate_,
        format,
        format_overrides,
        files,
        replacements,
        overrides,
        supported_envs,
        version_filter,
        version_prefix,
        version_source,
        go_version_path,
        rosetta2,
        windows_arm_emulation,
        complete_windows_ext,
        windows_ext,
        no_asset,
        error_message,
        append_ext,
        private,
        checksum,
        cosign,
        slsa_provenance,
        minisign,
        github_artifact_attestations,
        vars,
        build,
        cargo
    );
}

/// Apply a platform `overrides` entry (aqua's rule: replacements are merged key by key, every
/// other field set replaces).
pub fn apply_override(base: &mut Spec, kind: &mut String, ov: &Override) {
    if let Some(k) = &ov.kind {
        kind.clone_from(k);
    }
    macro_rules! take {
        ($($f:ident),*) => {$(
            if ov.$f.is_some() {
                base.$f = ov.$f.clone();
            }
        )*};
    }
    take!(
        format,
        asset,
        url,
        path,
        crate_,
        cargo,
        go_version_path,
        complete_windows_ext,
        windows_ext,
        append_ext,
        files,
        checksum,
        cosign,
        slsa_provenance,
        minisign,
        github_artifact_attestations,
        vars
    );
    if let Some(r) = &ov.replacements {
        let mut merged = base.replacements.clone().unwrap_or_default();
        merged.extend(r.iter().map(|(k, v)| (k.clone(), v.clone())));
        base.replacements = Some(merged);
    }
}

/// The keys of [`Spec`].
const SPEC_KEYS: &[&str] = &[
    "asset",
    "url",
    "path",
    "crate",
    "format",
    "format_overrides",
    "files",
    "replacements",
    "overrides",
    "supported_envs",
    "version_filter",
    "version_prefix",
    "version_source",
    "go_version_path",
    "rosetta2",
    "windows_arm_emulation",
    "complete_windows_ext",
    "windows_ext",
    "no_asset",
    "error_message",
    "append_ext",
    "private",
    "checksum",
    "cosign",
    "slsa_provenance",
    "minisign",
    "github_artifact_attestations",
    "vars",
    "build",
    "cargo",
];

/// The keys a package has beside its [`Spec`].
const PACKAGE_KEYS: &[&str] = &[
    "name",
    "aliases",
    "search_words",
    "type",
    "repo_owner",
    "repo_name",
    "description",
    "link",
    "version_constraint",
    "version_overrides",
];

/// The keys a `version_overrides` entry has beside its [`Spec`].
const OVERRIDE_KEYS: &[&str] = &["version_constraint", "type", "repo_owner", "repo_name"];

/// The first key of a package entry (or of one of its `version_overrides`) that the format
/// does not have, with where it is.
pub fn check_keys(entry: &serde_yaml_ng::Value) -> Option<String> {
    let known = |k: &str, extra: &[&str]| SPEC_KEYS.contains(&k) || extra.contains(&k);
    let map = entry.as_mapping()?;
    for k in map.keys() {
        let k = k.as_str().unwrap_or("?");
        if !known(k, PACKAGE_KEYS) {
            return Some(format!("`{k}`"));
        }
    }
    let overrides = map
        .get("version_overrides")
        .and_then(serde_yaml_ng::Value::as_sequence);
    for (i, o) in overrides.into_iter().flatten().enumerate() {
        for k in o.as_mapping().into_iter().flat_map(|m| m.keys()) {
            let k = k.as_str().unwrap_or("?");
            if !known(k, OVERRIDE_KEYS) {
                return Some(format!("`{k}` in `version_overrides[{i}]`"));
            }
        }
    }
    None
}

/// A map of scalars as text (`replacements` keys like `386` are numbers in YAML).
fn scalar_map<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<BTreeMap<String, String>>, D::Error> {
    let raw: Option<serde_yaml_ng::Mapping> = Option::deserialize(d)?;
    let text = |v: &serde_yaml_ng::Value| match v {
        serde_yaml_ng::Value::String(s) => Ok(s.clone()),
        serde_yaml_ng::Value::Number(n) => Ok(n.to_string()),
        serde_yaml_ng::Value::Bool(b) => Ok(b.to_string()),
        _ => Err(serde::de::Error::custom("a replacement is a word")),
    };
    raw.map(|m| {
        m.iter()
            .map(|(k, v)| Ok((text(k)?, text(v)?)))
            .collect::<Result<BTreeMap<_, _>, D::Error>>()
    })
    .transpose()
}
