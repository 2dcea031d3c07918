//! `aibox pack build | publish | push | pull | list | yank | deprecate | promote`: clap arguments
//! and output.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use crate::error::Result;
use crate::ops::lifecycle::Change;
use crate::ops::{self, Options};
use crate::registry::build::pack::BuildOptions;
use crate::registry::format::artifact::Compression;

#[derive(Debug, Subcommand)]
pub(super) enum PackCommand {
    /// Build pack directories into an OCI image layout (refs `<name>:<version>`).
    Build {
        /// Pack directories (each with `pack.toml`, or a bare agent skill folder with a
        /// `SKILL.md`). Directories with the same name and version are the platforms of one
        /// pack (an image index); others are packs of their own.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// The OCI layout directory to write (created if missing).
        #[arg(long, short, default_value = "oci-layout")]
        output: PathBuf,
        #[command(flatten)]
        build: BuildArgs,
        /// Sign each pack with this cosign-format private key (`aibox keygen` makes one).
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
    },
    /// Validate, build and push pack directories to a registry.
    Publish {
        /// Pack directories (each with `pack.toml`, or a bare agent skill folder with a
        /// `SKILL.md`); the same name and version in several directories = one pack with a
        /// platform each.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// The registry: `oci://host[:port]/path` (the pack goes to `<path>/<name>:<version>`).
        #[arg(long, env = crate::env_vars::REGISTRY)]
        registry: String,
        #[command(flatten)]
        build: BuildArgs,
        /// Sign each pack with this cosign-format private key (`aibox keygen` makes one); the
        /// signature is pushed as cosign does (`sha256-<hex>.sig`).
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        /// Publish as a pre-release stage (`beta`, `alpha`, `rc`): the version is pushed but
        /// marked in the pack's status document, so plain requests skip it until
        /// `aibox pack promote` makes it stable (an exact request, or a `channel` that admits
        /// the stage, takes it now). The status document is signed with `--key` too.
        #[arg(long, value_name = "STAGE")]
        stage: Option<String>,
        #[command(flatten)]
        net: NetArgs,
    },
    /// Yank a published version: new resolutions never choose it; a project whose lock already
    /// holds it keeps it (with a warning), as Cargo does.
    #[command(
        after_help = "The mark is kept in the pack's status document (the tag `aibox-status` beside its versions); the artifact itself is not touched. `--undo` takes the yank back."
    )]
    Yank {
        #[command(flatten)]
        at: MarkArgs,
        /// Why it was yanked (shown to everyone who locks or syncs it).
        #[arg(long, value_name = "TEXT", conflicts_with = "undo")]
        reason: Option<String>,
        /// Take the yank back.
        #[arg(long)]
        undo: bool,
    },
    /// Deprecate a published version: it still resolves, with a warning carrying the message.
    Deprecate {
        #[command(flatten)]
        at: MarkArgs,
        /// What users should do instead.
        #[arg(
            long,
            value_name = "TEXT",
            required_unless_present = "undo",
            conflicts_with = "undo"
        )]
        message: Option<String>,
        /// Take the deprecation back.
        #[arg(long)]
        undo: bool,
    },
    /// Promote a version published with `--stage` to stable, without rebuilding or pushing it
    /// again: its manifest digest (and every lock of it) stays the same.
    Promote {
        #[command(flatten)]
        at: MarkArgs,
    },
    /// Push the packs of an OCI layout to a registry.
    Push {
        /// The OCI layout: `oci-layout:<dir>` (as everywhere else) or the directory itself.
        layout: String,
        /// The registry: `oci://host[:port]/path`.
        target: String,
        /// Push only these refs (`<name>:<version>`); default: every pack of the layout.
        #[arg(long = "ref", value_name = "NAME:VERSION")]
        refs: Vec<String>,
        #[command(flatten)]
        net: NetArgs,
    },
    /// Fetch a pack, verify it, add it to the store and extract its files.
    Pull {
        /// `oci://host/path/<name>[:<version>]` or `oci-layout:<dir>:<name>[:<version>]`.
        reference: String,
        /// Extract the pack's files here (default: `<name>-<version>`).
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// The platform to pull from a multi-platform pack.
        #[arg(long, default_value_t = crate::platform::host())]
        platform: String,
        #[command(flatten)]
        net: NetArgs,
    },
    /// List the packs and versions of a registry or layout.
    List {
        /// `oci://host[:port]/path` or `oci-layout:<dir>` (an OCI layout's directory by itself
        /// works too).
        source: String,
        #[command(flatten)]
        net: NetArgs,
    },
}

/// Which version a status change is about, where, and who signs it.
#[derive(Debug, Clone, Args)]
pub(super) struct MarkArgs {
    /// The version: `<name>@<version>`.
    #[arg(value_name = "NAME@VERSION")]
    target: String,
    /// The registry or layout it is published in: `oci://host[:port]/path` or `oci-layout:<dir>`.
    #[arg(long, env = crate::env_vars::REGISTRY)]
    registry: String,
    /// Sign the new status document with this cosign-format private key (password from
    /// `AIBOX_PASSWORD` or a prompt), so policies that verify signatures can tell who marked it.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    #[command(flatten)]
    net: NetArgs,
}

#[derive(Debug, Clone, Args)]
pub(super) struct BuildArgs {
    /// Layer compression.
    #[arg(long, value_enum, default_value_t = CompressionArg::Zstd)]
    compression: CompressionArg,
    /// Source revision recorded as `org.opencontainers.image.revision`.
    #[arg(long)]
    revision: Option<String>,
    /// Creation time recorded as `org.opencontainers.image.created` (RFC 3339; none by
    /// default, so builds are reproducible).
    #[arg(long)]
    created: Option<String>,
    /// The version of a bare skill folder (a `SKILL.md` without `pack.toml`); default: its
    /// front matter's `metadata.version`.
    #[arg(long, value_name = "X.Y.Z")]
    version: Option<semver::Version>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CompressionArg {
    Zstd,
    Gzip,
}

impl BuildArgs {
    fn options(&self) -> BuildOptions {
        BuildOptions {
            compression: match self.compression {
                CompressionArg::Zstd => Compression::Zstd,
                CompressionArg::Gzip => Compression::Gzip,
            },
            revision: self.revision.clone(),
            created: self.created.clone(),
            version: self.version.clone(),
        }
    }
}

/// Network flags of registry commands.
#[derive(Debug, Clone, Args)]
pub(super) struct NetArgs {
    /// Allow plain HTTP to a registry that is not on loopback.
    #[arg(long)]
    pub insecure: bool,
}

pub(super) fn run(opts: &Options, cmd: PackCommand) -> Result<()> {
    match cmd {
        PackCommand::Build {
            dirs,
            output,
            build,
            key,
        } => {
            let key = key.as_deref().map(ops::trust::signing_key).transpose()?;
            let reports = ops::pack::build(opts, &dirs, &output, &build.options())?;
            let source = format!("oci-layout:{}", output.display());
            for r in &reports {
                opts.reporter.status(
                    "Built",
                    format!("{}@{} → {} ({})", r.name, r.version, r.location, r.digest),
                );
                if let Some(key) = &key {
                    sign_built(
                        key,
                        &source,
                        r,
                        &crate::engine::context::source_options(opts, false),
                    )?;
                }
            }
            print_reports(opts, &reports);
        }
        PackCommand::Publish {
            dirs,
            registry,
            build,
            key,
            stage,
            net,
        } => {
            let key = key.as_deref().map(ops::trust::signing_key).transpose()?;
            let src = crate::engine::context::source_options(opts, net.insecure);
            let stage = stage.as_deref().map(|name| ops::pack::Stage {
                name,
                key: key.as_ref(),
            });
            let reports = ops::pack::publish(&dirs, &registry, &build.options(), &src, stage)?;
            for r in &reports {
                opts.reporter.status(
                    "Published",
                    format!("{}@{} to {} ({})", r.name, r.version, r.location, r.digest),
                );
                if let Some(key) = &key {
                    sign_built(key, &registry, r, &src)?;
                }
                if let Some(stage) = &stage {
                    opts.reporter.status(
                        "Staged",
                        format!(
                            "{}@{} as `{}` (`aibox pack promote {}@{} --registry {registry}` makes it stable)",
                            r.name, r.version, stage.name, r.name, r.version
                        ),
                    );
                }
            }
            print_reports(opts, &reports);
        }
        PackCommand::Yank { at, reason, undo } => {
            let change = if undo {
                Change::Unyank
            } else {
                Change::Yank(reason.unwrap_or_default())
            };
            mark(opts, at, change, if undo { "Unyanked" } else { "Yanked" })?;
        }
        PackCommand::Deprecate { at, message, undo } => {
            let change = match message {
                Some(m) if !undo => Change::Deprecate(m),
                _ => Change::Undeprecate,
            };
            mark(
                opts,
                at,
                change,
                if undo { "Undeprecated" } else { "Deprecated" },
            )?;
        }
        PackCommand::Promote { at } => mark(opts, at, Change::Promote, "Promoted")?,
        PackCommand::Push {
            layout,
            target,
            refs,
            net,
        } => {
            let src = crate::engine::context::source_options(opts, net.insecure);
            let dir = PathBuf::from(layout.strip_prefix("oci-layout:").unwrap_or(&layout));
            let pushed = ops::pack::push(&dir, &target, &refs, &src)?;
            for p in &pushed {
                opts.reporter.status(
                    "Pushed",
                    format!("{}@{} to {} ({})", p.name, p.version, p.location, p.digest),
                );
            }
            if opts.json {
                crate::printer::print_json(&pushed);
            }
        }
        PackCommand::Pull {
            reference,
            output,
            platform,
            net,
        } => {
            let src = crate::engine::context::source_options(opts, net.insecure);
            let r = crate::registry::PackRef::parse(&reference)?;
            let output = output.unwrap_or_else(|| match &r.version {
                Some(v) => PathBuf::from(format!("{}-{v}", r.name)),
                None => PathBuf::from(&r.name),
            });
            let p = ops::pack::pull(&reference, Some(&output), &platform, &src)?;
            opts.reporter.status(
                "Pulled",
                format!(
                    "{}@{} ({}) into `{}`",
                    p.name,
                    p.version,
                    p.tree,
                    output.display()
                ),
            );
            if opts.json {
                crate::printer::print_json(&p);
            }
        }
        PackCommand::List { source, net } => {
            let src = crate::engine::context::source_options(opts, net.insecure);
            // A directory holding an OCI layout is taken as `oci-layout:<dir>`, as `push` takes it.
            let is_layout = !source.contains(':')
                && crate::fs::exists(&std::path::Path::new(&source).join("oci-layout"))
                    .unwrap_or(false);
            let source = if is_layout {
                format!("oci-layout:{source}")
            } else {
                source
            };
            let packs = ops::pack::list(&source, &src)?;
            if opts.json {
                crate::printer::print_json(&packs);
            } else {
                for p in &packs {
                    crate::printer::out(format!("{} {}", p.name, p.versions.join(" ")));
                }
            }
        }
    }
    Ok(())
}

/// Apply one status change and report it (with `--json`, what it left).
fn mark(opts: &Options, at: MarkArgs, change: Change, verb: &str) -> Result<()> {
    let (name, version) = ops::lifecycle::parse_target(&at.target)?;
    let key = at.key.as_deref().map(ops::trust::signing_key).transpose()?;
    let src = crate::engine::context::source_options(opts, at.net.insecure);
    let m = ops::lifecycle::mark(&at.registry, &name, &version, change, key.as_ref(), &src)?;
    let now = m.marks.describe();
    opts.reporter.status(
        if m.changed { verb } else { "Unchanged" },
        format!(
            "{name}@{version} in {} ({}){}",
            at.registry,
            if now.is_empty() { "no marks" } else { &now },
            m.signed_by
                .as_deref()
                .map(|f| format!(", signed with key {}", crate::trust::keys::short(f)))
                .unwrap_or_default()
        ),
    );
    if opts.json {
        crate::printer::print_json(&m);
    }
    Ok(())
}

fn sign_built(
    key: &crate::trust::SigningKey,
    source: &str,
    r: &ops::pack::BuildReport,
    src: &crate::registry::SourceOptions,
) -> Result<()> {
    let root = std::env::current_dir()
        .map_err(|e| crate::error::Error::io("cannot read the current directory", e))?;
    let added = ops::trust::sign_digest(key, source, &root, src, &r.name, &r.digest)?;
    src.reporter.status(
        if added { "Signed" } else { "Signed already" },
        format!(
            "{}@{} with key {}",
            r.name,
            r.version,
            crate::trust::keys::short(key.public().fingerprint())
        ),
    );
    Ok(())
}

/// Digests on stdout, one per pack (with `--json`, a list of reports).
fn print_reports(opts: &Options, reports: &[ops::pack::BuildReport]) {
    if opts.json {
        crate::printer::print_json(&reports);
    } else {
        for r in reports {
            crate::printer::out(&r.digest);
        }
    }
}
