//! `aibox.toml`: a project's needs — `requires-aibox`, `[registries]`, `[packs]`, `[plugins]`,
//! `[skills]`, `agents`, `[policy]` — parsed from the spanned TOML tree so every error has a
//! line and column.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::agents::AgentSpec;
use super::problem::STEERING_PREFIX;
use super::spans::in_order;
use super::{ManifestError, did_you_mean, validate_pack_name};
use crate::manifest::request::Root;
use crate::manifest::request::{Channel, Request};

/// The whole of an `aibox.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectManifest {
    /// The aibox versions this project needs.
    pub requires_aibox: Option<Request>,
    /// Registry name → where packs come from.
    pub registries: BTreeMap<String, RegistrySpec>,
    /// `[packs]`: tool packs by name.
    pub packs: BTreeMap<String, Requirement>,
    /// `[plugins]`: plugin packs by name (never the same name as a pack).
    pub plugins: BTreeMap<String, Requirement>,
    /// `[skills]`: agent skills by name (never the same name as a pack or plugin).
    pub skills: BTreeMap<String, Requirement>,
    /// `agents`: the coding agents whose skills folders the project's skills are projected
    /// into; `None` (absent) = the cross-agent folder `.agents/skills` alone.
    pub agents: Option<Vec<AgentSpec>>,
    pub policy: Policy,
    /// `[env]`: variables the project exports into its environment (after the packs', so they
    /// win). Unlike a pack, the project may set any name, `PATH` and `LD_*` included.
    pub env: BTreeMap<String, String>,
}

/// One `[registries]` entry: `name = "url"` or `name = { url = "…", insecure = true }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrySpec {
    /// `dir:<path>`, `oci-layout:<path>` or `oci://host/base`, as written.
    pub url: String,
    /// Plain HTTP / unverified TLS for this registry (local test registries).
    pub insecure: bool,
}

/// One requested pack or plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub request: Request,
    /// The registry (a key of [`ProjectManifest::registries`]) it comes from: the one named in
    /// the manifest, else `default`, else the only registry.
    pub registry: String,
    /// Whether `registry` was written explicitly (`{ registry = "…" }`).
    pub registry_explicit: bool,
}

/// `[policy]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Refuse packs not signed by a trusted key (the enterprise level), whatever the user's
    /// configuration says: a project may tighten the policy, never loosen it.
    pub require_signed: bool,
    /// Public keys the project trusts (paths relative to the project root), for every
    /// registry of the project; ignored under a user's enterprise policy.
    pub trusted_keys: Vec<String>,
    /// The platforms to lock for, sorted, without duplicates; `None` (absent) = every
    /// platform the chosen packs publish.
    pub platforms: Option<Vec<String>>,
    /// Protected environment variables (`manifest::env_rule`) the project lets its packs set,
    /// sorted, without duplicates.
    pub allow_pack_env: Vec<String>,
}

impl ProjectManifest {
    /// The resolver's roots: every pack, plugin and skill with its request, sorted by name.
    pub fn roots(&self) -> Vec<Root> {
        let mut roots: Vec<Root> = self
            .packs
            .iter()
            .chain(&self.plugins)
            .chain(&self.skills)
            .map(|(name, req)| Root {
                name: name.clone(),
                request: req.request.clone(),
            })
            .collect();
        roots.sort_by(|a, b| a.name.cmp(&b.name));
        roots
    }

    /// The requirement for `name` in `[packs]`, `[plugins]` or `[skills]`.
    pub fn requirement(&self, name: &str) -> Option<&Requirement> {
        self.packs
            .get(name)
            .or_else(|| self.plugins.get(name))
            .or_else(|| self.skills.get(name))
    }

    /// Every request of `[packs]`, `[plugins]` and `[skills]`.
    pub fn requirements(&self) -> impl Iterator<Item = (&String, &Requirement)> {
        self.packs.iter().chain(&self.plugins).chain(&self.skills)
    }

    /// The requirement for `name`, to change it.
    pub fn requirement_mut(&mut self, name: &str) -> Option<&mut Requirement> {
        [&mut self.packs, &mut self.plugins, &mut self.skills]
            .into_iter()
            .find_map(|t| t.get_mut(name))
    }

    /// The table `name` is requested in, if any.
    pub fn section_of(&self, name: &str) -> Option<super::Section> {
        use super::Section;
        [
            (Section::Packs, &self.packs),
            (Section::Plugins, &self.plugins),
            (Section::Skills, &self.skills),
        ]
        .into_iter()
        .find(|(_, table)| table.contains_key(name))
        .map(|(s, _)| s)
    }

    /// The agents whose skills folders this project feeds: `agents`, else `universal`.
    pub fn agents(&self) -> Vec<AgentSpec> {
        self.agents.clone().unwrap_or_else(|| {
            vec![AgentSpec::BuiltIn(
                super::agents::built_in(super::agents::UNIVERSAL).expect("built in"),
            )]
        })
    }

    /// The registry transitive dependencies come from: `default`, else the only registry.
    pub fn default_registry(&self) -> Option<(&str, &RegistrySpec)> {
        if let Some(spec) = self.registries.get("default") {
            return Some(("default", spec));
        }
        if self.registries.len() == 1 {
            return self.registries.iter().next().map(|(k, v)| (k.as_str(), v));
        }
        None
    }

    /// Where pack `name` comes from: its requirement's registry if it is requested, else the
    /// default registry.
    pub fn registry_for(&self, name: &str) -> Option<(&str, &RegistrySpec)> {
        match self.requirement(name) {
            Some(req) => self
                .registries
                .get_key_value(&req.registry)
                .map(|(k, v)| (k.as_str(), v)),
            None => self.default_registry(),
        }
    }
}

const TOP_KEYS: &[&str] = &[
    "requires-aibox",
    "channel",
    "agents",
    "registries",
    "packs",
    "plugins",
    "skills",
    "policy",
    "env",
];
const AGENT_KEYS: &[&str] = &["name", "path"];
const REGISTRY_KEYS: &[&str] = &["url", "insecure"];
const REQUIREMENT_KEYS: &[&str] = &["version", "registry", "channel", "git", "rev"];
const SCHEMES: &[&str] = &[
    "aqua:",
    "dir:",
    "oci-layout:",
    "oci://",
    "https://",
    "http://",
    "github:",
    "clawhub:",
];

/// Parse and validate an `aibox.toml`.
pub fn parse_project(text: &str, path: &Path) -> Result<ProjectManifest, ManifestError> {
    if let Some(line) = super::conflict_line(text) {
        let offset: usize = text.lines().take(line - 1).map(|l| l.len() + 1).sum();
        return Err(ManifestError::at(
            path,
            text,
            offset,
            format!("resolve the merge conflict in aibox.toml at line {line}"),
        )
        .with_hint("keep the requests of both branches (each pack once), remove the `<<<<<<<`, `=======` and `>>>>>>>` lines, then run `aibox lock`"));
    }
    let doc = DeTable::parse(text).map_err(|e| {
        ManifestError::from_toml(path, text, &e).with_hint(
            "this is not valid TOML: version requests and URLs are strings in double quotes, e.g. `hello = \"1.0.0\"`",
        )
    })?;
    let p = Parser { text, path };
    let root = doc.get_ref();
    for (key, _) in in_order(root) {
        if !TOP_KEYS.contains(&key.get_ref().as_ref()) {
            return Err(p.unknown_key(key, TOP_KEYS, "at the top of `aibox.toml`"));
        }
    }
    let requires_aibox = match root.get("requires-aibox") {
        Some(v) => Some(p.request(v, "requires-aibox")?),
        None => None,
    };
    let registries = match root.get("registries") {
        Some(v) => p.registries(v)?,
        None => BTreeMap::new(),
    };
    let channel = match root.get("channel") {
        Some(v) => p.channel(v, "channel")?,
        None => Channel::Stable,
    };
    // `{ git = … }` requests name their repository themselves: each becomes a registry of its own.
    let mut implicit = BTreeMap::new();
    let packs = match root.get("packs") {
        Some(v) => p.requirements(v, "packs", &registries, channel, &mut implicit)?,
        None => BTreeMap::new(),
    };
    let plugins = match root.get("plugins") {
        Some(v) => p.requirements(v, "plugins", &registries, channel, &mut implicit)?,
        None => BTreeMap::new(),
    };
    let skills = match root.get("skills") {
        Some(v) => p.requirements(v, "skills", &registries, channel, &mut implicit)?,
        None => BTreeMap::new(),
    };
    for (later, earlier) in [
        ("plugins", vec![("packs", &packs)]),
        ("skills", vec![("packs", &packs), ("plugins", &plugins)]),
    ] {
        let Some(table) = root.get(later).and_then(|v| v.get_ref().as_table()) else {
            continue;
        };
        for (key, _) in in_order(table) {
            if let Some((first, _)) = earlier
                .iter()
                .find(|(_, t)| t.contains_key(key.get_ref().as_ref()))
            {
                return Err(p
                    .err(key.span(), format!("`{}` is in both `[{first}]` and `[{later}]`", key.get_ref()))
                    .with_hint("keep it in one table: `[plugins]` for plugin packs, `[skills]` for agent skills, `[packs]` for the others"));
            }
        }
    }
    let mut registries = registries;
    registries.extend(implicit);
    let agents = match root.get("agents") {
        Some(v) => Some(p.agents(v)?),
        None => None,
    };
    let policy = match root.get("policy") {
        Some(v) => p.policy(v)?,
        None => Policy::default(),
    };
    let env = match root.get("env") {
        Some(v) => p.env(v)?,
        None => BTreeMap::new(),
    };
    Ok(ProjectManifest {
        requires_aibox,
        registries,
        packs,
        plugins,
        skills,
        agents,
        policy,
        env,
    })
}

pub(super) type Key<'i> = Spanned<Cow<'i, str>>;
pub(super) type Value<'i> = Spanned<DeValue<'i>>;

pub(super) struct Parser<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Parser<'_> {
    pub(super) fn err(&self, span: Range<usize>, message: impl Into<String>) -> ManifestError {
        ManifestError::at(self.path, self.text, span.start, message)
    }

    pub(super) fn unknown_key(
        &self,
        key: &Key<'_>,
        allowed: &[&str],
        context: &str,
    ) -> ManifestError {
        let name = key.get_ref();
        let mut message = format!("unknown key `{name}` {context}");
        if let Some(s) = did_you_mean(name, allowed.iter().copied()) {
            message.push_str(&format!("; did you mean `{s}`?"));
        }
        let list: Vec<String> = allowed.iter().map(|k| format!("`{k}`")).collect();
        self.err(key.span(), message)
            .with_hint(format!("the keys allowed here are {}", list.join(", ")))
    }

    pub(super) fn table<'v, 'i>(
        &self,
        v: &'v Value<'i>,
        what: &str,
    ) -> Result<&'v DeTable<'i>, ManifestError> {
        v.get_ref().as_table().ok_or_else(|| {
            self.err(
                v.span(),
                format!("`{what}` must be a table, found {}", v.get_ref().type_str()),
            )
            .with_hint(format!("write it as a `[{what}]` section"))
        })
    }

    pub(super) fn string<'v>(
        &self,
        v: &'v Value<'_>,
        what: &str,
    ) -> Result<&'v str, ManifestError> {
        v.get_ref().as_str().ok_or_else(|| {
            self.err(
                v.span(),
                format!(
                    "`{what}` must be a string, found {}",
                    v.get_ref().type_str()
                ),
            )
        })
    }

    fn channel(&self, v: &Value<'_>, what: &str) -> Result<Channel, ManifestError> {
        let s = self.string(v, what)?;
        Channel::parse(s).ok_or_else(|| {
            self.err(v.span(), format!("`{what}` is `{s}`, not a channel"))
                .with_hint("use `stable` (releases only), `beta` (also alpha, beta and rc pre-releases) or `nightly` (also nightly builds)")
        })
    }

    fn request(&self, v: &Value<'_>, what: &str) -> Result<Request, ManifestError> {
        let text = match v.get_ref() {
            DeValue::String(s) => s.as_ref(),
            DeValue::Integer(i) => {
                return Err(self
                    .err(
                        v.span(),
                        format!("`{what}` must be a string, found the number {}", i.as_str()),
                    )
                    .with_hint(format!("quote it: `\"{}\"`", i.as_str())));
            }
            DeValue::Float(f) => {
                return Err(self
                    .err(
                        v.span(),
                        format!("`{what}` must be a string, found the number {}", f.as_str()),
                    )
                    .with_hint(format!("quote it: `\"{}\"`", f.as_str())));
            }
            other => {
                return Err(self.err(
                    v.span(),
                    format!(
                        "`{what}` must be a version request string, found {}",
                        other.type_str()
                    ),
                ));
            }
        };
        Request::parse(text).map_err(|e| {
            self.err(v.span(), format!("`{what}`: {e}")).with_hint(
                "write a version request like `1`, `1.2`, `1.2.3`, `^1.2`, `~1.2`, `>=1, <2`, `*` or `latest`",
            )
        })
    }

    /// `agents = ["claude-code", { name = "mybot", path = ".mybot/skills" }]`.
    fn agents(&self, v: &Value<'_>) -> Result<Vec<AgentSpec>, ManifestError> {
        let known = || {
            super::agents::BUILT_IN
                .iter()
                .map(|a| a.name)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Some(items) = v.get_ref().as_array() else {
            return Err(self
                .err(
                    v.span(),
                    format!(
                        "`agents` must be an array, found {}",
                        v.get_ref().type_str()
                    ),
                )
                .with_hint("write `agents = [\"claude-code\", \"codex\"]`"));
        };
        let mut out: Vec<AgentSpec> = Vec::new();
        for item in items.iter() {
            let spec = match item.get_ref() {
                DeValue::String(name) => match super::agents::built_in(name) {
                    Some(a) => AgentSpec::BuiltIn(a),
                    None => {
                        let mut message = format!("unknown agent `{name}`");
                        if let Some(s) =
                            did_you_mean(name, super::agents::BUILT_IN.iter().map(|a| a.name))
                        {
                            message.push_str(&format!("; did you mean `{s}`?"));
                        }
                        return Err(self.err(item.span(), message).with_hint(format!(
                            "known agents: {}; any other as `{{ name = \"mybot\", path = \".mybot/skills\" }}`",
                            known()
                        )));
                    }
                },
                DeValue::Table(t) => {
                    for (k, _) in in_order(t) {
                        if !AGENT_KEYS.contains(&k.get_ref().as_ref()) {
                            return Err(self.unknown_key(k, AGENT_KEYS, "in an `agents` entry"));
                        }
                    }
                    let (Some(name), Some(path)) = (t.get("name"), t.get("path")) else {
                        return Err(self
                            .err(item.span(), "an `agents` table needs `name` and `path`")
                            .with_hint("write `{ name = \"mybot\", path = \".mybot/skills\" }`"));
                    };
                    let name_text = self.string(name, "agents.name")?;
                    if let Err(reason) = validate_pack_name(name_text) {
                        return Err(self.err(
                            name.span(),
                            format!("`{name_text}` is not an agent name: {reason}"),
                        ));
                    }
                    if super::agents::built_in(name_text).is_some() {
                        return Err(self
                            .err(name.span(), format!("`{name_text}` is a built-in agent"))
                            .with_hint(format!("write it as the string `\"{name_text}\"`")));
                    }
                    let path_text = self.string(path, "agents.path")?;
                    if let Some(reason) = super::agents::bad_agent_path(path_text) {
                        return Err(self
                            .err(
                                path.span(),
                                format!("agent `{name_text}`: `{path_text}` {reason}"),
                            )
                            .with_hint(
                                "write a folder relative to the project root, like `.mybot/skills`",
                            ));
                    }
                    AgentSpec::Custom {
                        name: name_text.to_owned(),
                        path: path_text.trim_end_matches('/').to_owned(),
                    }
                }
                other => {
                    return Err(self.err(
                        item.span(),
                        format!(
                            "an `agents` entry must be an agent name or a table, found {}",
                            other.type_str()
                        ),
                    ));
                }
            };
            if out.iter().any(|a| a.name() == spec.name()) {
                return Err(self.err(
                    item.span(),
                    format!("agent `{}` is listed twice", spec.name()),
                ));
            }
            out.push(spec);
        }
        Ok(out)
    }

    fn env(&self, v: &Value<'_>) -> Result<BTreeMap<String, String>, ManifestError> {
        let mut out = BTreeMap::new();
        for (key, value) in in_order(self.table(v, "env")?) {
            let name = key.get_ref().to_string();
            if let Err(reason) = super::check_env_name(&name) {
                return Err(self.err(
                    key.span(),
                    format!("`{name}` is not an environment variable name: {reason}"),
                ));
            }
            if name.starts_with(STEERING_PREFIX) {
                return Err(self
                    .err(
                        key.span(),
                        format!(
                            "`{name}` may not be set in `[env]`: variables named `{STEERING_PREFIX}*` steer aibox itself and are read only from the environment aibox is started in"
                        ),
                    )
                    .with_hint(format!(
                        "remove `{name}` from aibox.toml; to use it yourself, set it in your shell (`{name}=… aibox …`)"
                    )));
            }
            let text = self.string(value, &format!("env.{name}"))?;
            if text.contains('\0') {
                return Err(self.err(
                    value.span(),
                    format!("the value of `{name}` contains a NUL byte"),
                ));
            }
            out.insert(name, text.to_owned());
        }
        Ok(out)
    }

    /// The registry URL of a `{ git = "…", rev = "…" }` request (`None`: not one); `git` goes
    /// with no `version` or `registry`, and `rev` only with `git`.
    fn git_request(&self, t: &DeTable<'_>, what: &str) -> Result<Option<String>, ManifestError> {
        let Some(git) = t.get("git") else {
            if let Some(rev) = t.get("rev") {
                return Err(self
                    .err(rev.span(), format!("`{what}.rev` needs `git`"))
                    .with_hint(
                        "write `{ git = \"https://github.com/owner/repo\", rev = \"…\" }`",
                    ));
            }
            return Ok(None);
        };
        for other in ["version", "registry", "channel"] {
            if let Some(v) = t.get(other) {
                return Err(self
                    .err(v.span(), format!("`{what}` has both `git` and `{other}`"))
                    .with_hint("a `git` request is pinned by its `rev` (a commit, tag or branch): drop the other key"));
            }
        }
        let git_text = self.string(git, &format!("{what}.git"))?;
        let rev = match t.get("rev") {
            Some(r) => Some(self.string(r, &format!("{what}.rev"))?),
            None => None,
        };
        super::skill_sources::git_url(git_text, rev)
            .map(Some)
            .map_err(|e| {
                self.err(git.span(), format!("`{what}`: {e}")).with_hint(
                    "write `{ git = \"https://github.com/owner/repo\", rev = \"<commit, tag or branch>\" }`",
                )
            })
    }

    fn registries(&self, v: &Value<'_>) -> Result<BTreeMap<String, RegistrySpec>, ManifestError> {
        let mut out = BTreeMap::new();
        for (key, value) in in_order(self.table(v, "registries")?) {
            let name = key.get_ref().to_string();
            let what = format!("registries.{name}");
            let (url, url_span, insecure) = match value.get_ref() {
                DeValue::String(s) => (s.to_string(), value.span(), false),
                DeValue::Table(t) => {
                    for (k, _) in in_order(t) {
                        if !REGISTRY_KEYS.contains(&k.get_ref().as_ref()) {
                            return Err(self.unknown_key(
                                k,
                                REGISTRY_KEYS,
                                &format!("in registry `{name}`"),
                            ));
                        }
                    }
                    let Some(url) = t.get("url") else {
                        return Err(self
                            .err(value.span(), format!("registry `{name}` has no `url`"))
                            .with_hint(format!(
                                "write `{name} = {{ url = \"oci://host/base\" }}`"
                            )));
                    };
                    let insecure = match t.get("insecure") {
                        Some(b) => b.get_ref().as_bool().ok_or_else(|| {
                            self.err(
                                b.span(),
                                format!("`{what}.insecure` must be `true` or `false`"),
                            )
                        })?,
                        None => false,
                    };
                    (
                        self.string(url, &format!("{what}.url"))?.to_owned(),
                        url.span(),
                        insecure,
                    )
                }
                other => {
                    return Err(self
                        .err(value.span(), format!("`{what}` must be a URL string or a table, found {}", other.type_str()))
                        .with_hint(format!("write `{name} = \"oci://host/base\"` or `{name} = {{ url = \"…\", insecure = true }}`")));
                }
            };
            let rest = SCHEMES.iter().find_map(|s| url.strip_prefix(s));
            if rest.is_none_or(|r| r.trim().is_empty()) {
                return Err(self
                    .err(url_span, format!("registry `{name}` has an unsupported URL `{url}`"))
                    .with_hint("use `dir:<path>` (pack source directories), `oci-layout:<path>` (an OCI image layout), `oci://host/base` (a registry), `https://…/tool-1.2.0-linux-x86_64.tar.gz` (a release archive), `github:owner/repo` (its releases, or its skills) `clawhub:https://clawhub.ai` (agent skills) or `aqua:<dir>` (an aqua registry)"));
            }
            if let Err(reason) = check_release_url(&url) {
                return Err(self
                    .err(url_span, format!("registry `{name}`: `{url}` {reason}"))
                    .with_hint("a release source is `https://host/…/tool-1.2.0-linux-x86_64.tar.gz` (an archive or an executable) or `github:owner/repo` (`github:owner/repo#<rev>` for its skills at one revision)"));
            }
            if let Some(reason) = if url.starts_with("clawhub:") {
                super::skill_sources::check_clawhub(&url).err()
            } else {
                None
            } {
                return Err(self
                    .err(url_span, format!("registry `{name}`: `{url}` {reason}"))
                    .with_hint("a ClawHub registry is `clawhub:https://clawhub.ai` (or another base URL speaking ClawHub's API)"));
            }
            out.insert(name, RegistrySpec { url, insecure });
        }
        Ok(out)
    }

    fn requirements(
        &self,
        v: &Value<'_>,
        section: &str,
        registries: &BTreeMap<String, RegistrySpec>,
        channel: Channel,
        implicit: &mut BTreeMap<String, RegistrySpec>,
    ) -> Result<BTreeMap<String, Requirement>, ManifestError> {
        let mut out = BTreeMap::new();
        for (key, value) in in_order(self.table(v, section)?) {
            let name = key.get_ref().to_string();
            if let Err(reason) = validate_pack_name(&name) {
                return Err(self
                    .err(
                        key.span(),
                        format!("`{name}` is not a valid pack name: {reason}"),
                    )
                    .with_hint(
                        "pack names use lowercase letters, digits and `-` (at most 64 characters)",
                    ));
            }
            let what = format!("{section}.{name}");
            let (request, registry) = match value.get_ref() {
                DeValue::Table(t) => {
                    for (k, _) in in_order(t) {
                        if !REQUIREMENT_KEYS.contains(&k.get_ref().as_ref()) {
                            return Err(self.unknown_key(
                                k,
                                REQUIREMENT_KEYS,
                                &format!("in `{what}`"),
                            ));
                        }
                    }
                    let request = match t.get("version") {
                        Some(v) => self.request(v, &format!("{what}.version"))?,
                        None => Request::any(),
                    };
                    let request = match t.get("channel") {
                        Some(c) => {
                            request.with_channel(self.channel(c, &format!("{what}.channel"))?)
                        }
                        None => request.with_channel(channel),
                    };
                    let registry = match t.get("registry") {
                        Some(r) => Some((
                            self.string(r, &format!("{what}.registry"))?.to_owned(),
                            r.span(),
                        )),
                        None => None,
                    };
                    if let Some(url) = self.git_request(t, &what)? {
                        let alias = super::skill_sources::git_alias(&name);
                        implicit.insert(
                            alias.clone(),
                            RegistrySpec {
                                url,
                                insecure: false,
                            },
                        );
                        out.insert(
                            name,
                            Requirement {
                                request,
                                registry: alias,
                                registry_explicit: true,
                            },
                        );
                        continue;
                    }
                    (request, registry)
                }
                _ => (self.request(value, &what)?.with_channel(channel), None),
            };
            let requirement = match registry {
                Some((reg, span)) => {
                    if !registries.contains_key(&reg) {
                        let mut message = format!(
                            "`{what}` names the registry `{reg}`, which `[registries]` does not define"
                        );
                        if let Some(s) = did_you_mean(&reg, registries.keys().map(String::as_str)) {
                            message.push_str(&format!("; did you mean `{s}`?"));
                        }
                        return Err(self.err(span, message).with_hint(if registries.is_empty() {
                            "add a `[registries]` table, e.g. `default = \"oci://ghcr.io/acme/packs\"`".to_owned()
                        } else {
                            let names: Vec<String> = registries.keys().map(|k| format!("`{k}`")).collect();
                            format!("defined registries: {}", names.join(", "))
                        }));
                    }
                    Requirement {
                        request,
                        registry: reg,
                        registry_explicit: true,
                    }
                }
                None => {
                    let chosen = if registries.contains_key("default") {
                        "default".to_owned()
                    } else if registries.len() == 1 {
                        registries.keys().next().cloned().unwrap_or_default()
                    } else if registries.is_empty() {
                        return Err(self
                            .err(key.span(), format!("no registry to get `{name}` from: `aibox.toml` has no `[registries]`"))
                            .with_hint("add `[registries]` with `default = \"oci://host/base\"` (or `dir:./packs` for local pack directories)"));
                    } else {
                        return Err(self
                            .err(key.span(), format!("`{what}` does not say which registry it comes from, and none is named `default`"))
                            .with_hint(format!("write `{name} = {{ version = \"…\", registry = \"…\" }}`, or name one registry `default`")));
                    };
                    Requirement {
                        request,
                        registry: chosen,
                        registry_explicit: false,
                    }
                }
            };
            out.insert(name, requirement);
        }
        Ok(out)
    }
}

/// Why a release-source URL (`https://`, `http://`, `github:`) is unusable; other schemes pass.
fn check_release_url(url: &str) -> Result<(), &'static str> {
    if url.starts_with("github:") {
        return super::skill_sources::check_github(url);
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        // Which assets are usable (archives, bare executables) the source itself says.
        let file = ::url::Url::parse(url)
            .ok()
            .and_then(|u| u.path_segments()?.next_back().map(str::to_owned))
            .unwrap_or_default();
        return if file.is_empty() {
            Err("names no file")
        } else {
            Ok(())
        };
    }
    Ok(())
}
