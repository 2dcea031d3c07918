//! `aibox search <query>` and `aibox info <pack>`: clap arguments and output.

use clap::Args;

use super::pack::NetArgs;
use crate::error::{Error, Result};
use crate::ops::{self, Options};

#[derive(Debug, Args)]
pub(super) struct SearchArgs {
    /// Words to match against pack names, keywords and descriptions.
    query: String,
    /// Where to search (`oci://host/path` or `oci-layout:<dir>`; repeatable). Default: the
    /// project's `[registries]`.
    #[arg(long)]
    registry: Vec<String>,
    /// Only packs of this kind (`skill` for agent skills).
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    #[command(flatten)]
    net: NetArgs,
}

/// The kinds of packs `--kind` filters by.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(super) enum KindArg {
    Tool,
    Plugin,
    Skill,
    Cli,
}

impl KindArg {
    pub(super) fn kind(self) -> crate::manifest::pack::PackKind {
        use crate::manifest::pack::PackKind;
        match self {
            KindArg::Tool => PackKind::Tool,
            KindArg::Plugin => PackKind::Plugin,
            KindArg::Skill => PackKind::Skill,
            KindArg::Cli => PackKind::Cli,
        }
    }
}

#[derive(Debug, Args)]
pub(super) struct InfoArgs {
    /// The pack: `<name>` (newest version) or `<name>@<version>`.
    pack: String,
    /// Where to look (`oci://host/path` or `oci-layout:<dir>`; repeatable). Default: the
    /// project's `[registries]`.
    #[arg(long)]
    registry: Vec<String>,
    #[command(flatten)]
    net: NetArgs,
}

pub(super) fn search(opts: &Options, args: SearchArgs) -> Result<()> {
    let sources = ops::search::registries(opts, &args.registry)?;
    let src = crate::engine::context::source_options(opts, args.net.insecure);
    let hits = ops::search::search(&args.query, args.kind.map(KindArg::kind), &sources, &src)?;
    if opts.json {
        crate::printer::print_json(&hits);
        return Ok(());
    }
    if hits.is_empty() {
        return Err(Error::msg(format!("no pack matches `{}`", args.query))
            .with_exit_code(1)
            .with_hint("try a shorter query, or another `--registry`"));
    }
    let width = hits
        .iter()
        .map(|h| h.name.len() + h.version.len() + 1)
        .max()
        .unwrap_or(0);
    for h in &hits {
        let id = format!("{}@{}", h.name, h.version);
        let kind = if h.kind == "tool" {
            String::new()
        } else {
            format!("({}) ", h.kind)
        };
        let flagged = h
            .moderation
            .as_ref()
            .map(|m| format!("; moderation: {}", m.describe()))
            .unwrap_or_default();
        crate::printer::out(format!(
            "{id:<width$}  {kind}{}  [{}{flagged}]",
            h.description.as_deref().unwrap_or(""),
            h.trust
        ));
    }
    Ok(())
}

pub(super) fn info(opts: &Options, args: InfoArgs) -> Result<()> {
    let sources = ops::search::registries(opts, &args.registry)?;
    let src = crate::engine::context::source_options(opts, args.net.insecure);
    let mut i = ops::search::info(&args.pack, &sources, &src)?;
    if i.kind == "skill" {
        i.agents = crate::engine::skills::project_folders(opts);
    }
    if opts.json {
        crate::printer::print_json(&i);
        return Ok(());
    }
    crate::printer::out(format!("{} {} ({})", i.name, i.version, i.kind));
    if let Some(d) = &i.description {
        crate::printer::out(d);
    }
    crate::printer::out(format!("versions:     {}", i.versions_text()));
    if let Some(l) = &i.license {
        crate::printer::out(format!("license:      {l}"));
    }
    if let Some(r) = &i.requires_aibox {
        let verdict = match r.satisfied {
            Some(true) => "this aibox is one",
            Some(false) => "not this aibox: it cannot be locked here",
            None => "not a version request: it cannot be locked",
        };
        crate::printer::out(format!("requires:     aibox {} ({verdict})", r.request));
    }
    if let Some(h) = &i.homepage {
        crate::printer::out(format!("homepage:     {h}"));
    }
    if let Some(r) = &i.repository {
        crate::printer::out(format!("repository:   {r}"));
    }
    if !i.keywords.is_empty() {
        crate::printer::out(format!("keywords:     {}", i.keywords.join(", ")));
    }
    crate::printer::out(format!("dependencies: {}", i.dependencies_text()));
    if !i.bin.is_empty() {
        crate::printer::out(format!("commands:     {}", i.commands_text()));
    }
    crate::printer::out(format!("platforms:    {}", i.platforms_text()));
    if let Some(a) = &i.artifact {
        crate::printer::out(format!(
            "size:         {}",
            crate::printer::human_bytes(a.size)
        ));
        crate::printer::out(format!("digest:       {}", a.digest));
        crate::printer::out(format!("trust:        {}", a.trust));
    }
    if let Some(c) = &i.checks {
        crate::printer::out(format!(
            "checks:       {} (declared by its aqua entry, made before it is stored; `aibox list` shows what passed)",
            if c.is_empty() {
                "none".to_owned()
            } else {
                c.join(", ")
            }
        ));
    }
    crate::printer::out(format!("may:          {}", i.permissions.join("; ")));
    if !i.agents.is_empty() {
        crate::printer::out(format!("projected to: {}", i.agents.join(", ")));
    }
    if let Some(m) = &i.moderation {
        crate::printer::out(format!("moderation:   {}", m.describe()));
    }
    crate::printer::out(format!("source:       {}", i.source));
    if let Some(c) = &i.changelog {
        crate::printer::out(format!("changes:\n{}", indent(c)));
    }
    Ok(())
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
