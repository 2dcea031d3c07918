//! `aibox plugin …` and `aibox <plugin> …`: install, list, verify, scaffold and run plugins.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use crate::error::{Error, Result};
use crate::ops::Options;
use crate::ops::plugin::init::Template;
use crate::ops::plugin::manage::{self, PluginSource};

#[derive(Debug, Subcommand)]
pub(super) enum PluginCommand {
    /// Install a plugin into your global profile: `name[@req]` from a registry, an `oci://`
    /// reference, `github:owner/repo[@tag]` or an `https://` release archive, a plugin pack directory, or an
    /// `aibox-plugin-<name>` executable.
    Install(InstallArgs),
    /// Remove a plugin from your global profile (`--purge`: also its data directory).
    Uninstall(UninstallArgs),
    /// List the plugins found (project, global profile, PATH): version, source, signature,
    /// permissions.
    List,
    /// Turn a plugin off: it stays installed, but `aibox <name>` refuses to run it and it
    /// receives no lifecycle events.
    Disable(ToggleArgs),
    /// Turn a disabled plugin back on.
    Enable(ToggleArgs),
    /// Check installed plugins: every file against the tree they were locked with, and their
    /// signatures under your trust policy.
    Verify(VerifyArgs),
    /// Create a plugin project that builds, tests and publishes.
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub(super) struct InstallArgs {
    /// `name[@req]`, `oci://host/base/name[:version]`, `github:owner/repo[@tag]`,
    /// `https://…/<name>-<version>.tar.gz`, a
    /// directory with a plugin `pack.toml`, or an `aibox-plugin-<name>` file.
    #[arg(value_name = "SOURCE")]
    source: String,
    /// The registry for `name[@req]` (required the first time; then remembered).
    #[arg(long, value_name = "URL")]
    registry: Option<String>,
    /// The version to give an installed executable (default 0.0.0).
    #[arg(long, value_name = "VERSION")]
    version: Option<semver::Version>,
}

#[derive(Debug, Args)]
pub(super) struct UninstallArgs {
    #[arg(value_name = "NAME")]
    name: String,
    /// Also delete the plugin's data directory (`AIBOX_PLUGIN_DIR`).
    #[arg(long)]
    purge: bool,
}

#[derive(Debug, Args)]
pub(super) struct ToggleArgs {
    #[arg(value_name = "NAME")]
    name: String,
}

#[derive(Debug, Args)]
pub(super) struct VerifyArgs {
    /// Plugins to verify (default: all installed).
    #[arg(value_name = "NAME")]
    names: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TemplateArg {
    Shell,
    Rust,
}

#[derive(Debug, Args)]
pub(super) struct InitArgs {
    /// The plugin's name: it runs as `aibox <name>`.
    name: String,
    #[arg(long, value_enum, default_value_t = TemplateArg::Shell)]
    template: TemplateArg,
    /// Where to create it (default: `./<name>`).
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,
}

pub(super) fn run(opts: &Options, cmd: PluginCommand) -> Result<()> {
    match cmd {
        PluginCommand::Install(a) => {
            let source = PluginSource::parse(&a.source)?;
            let (name, installed) =
                manage::install(opts, &source, a.registry.as_deref(), a.version.as_ref())?;
            let version = installed
                .generation
                .packs
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.version.clone())
                .unwrap_or_default();
            opts.reporter.status(
                "Installed",
                format!("plugin `{name}` {version}: run it as `aibox {name}`"),
            );
            Ok(())
        }
        PluginCommand::Uninstall(a) => {
            manage::uninstall(opts, &a.name, a.purge)?;
            opts.reporter
                .status("Uninstalled", format!("plugin `{}`", a.name));
            Ok(())
        }
        PluginCommand::Disable(a) => {
            let changed = manage::set_enabled(opts, &a.name, false)?;
            opts.reporter.status(
                "Disabled",
                if changed {
                    format!(
                        "plugin `{}`: kept installed, not run (`aibox plugin enable {}` turns it back on)",
                        a.name, a.name
                    )
                } else {
                    format!("plugin `{}` was already disabled", a.name)
                },
            );
            Ok(())
        }
        PluginCommand::Enable(a) => {
            let changed = manage::set_enabled(opts, &a.name, true)?;
            opts.reporter.status(
                "Enabled",
                if changed {
                    format!("plugin `{}`: run it as `aibox {}`", a.name, a.name)
                } else {
                    format!("plugin `{}` was not disabled", a.name)
                },
            );
            Ok(())
        }
        PluginCommand::List => {
            let rows = manage::list(opts);
            if opts.json {
                crate::printer::print_json(&rows);
                return Ok(());
            }
            if rows.is_empty() {
                opts.reporter
                    .status("Plugins", "none found (`aibox plugin install` adds one)");
            }
            for r in rows {
                crate::printer::out(format!(
                    "{} {} ({}{}){}",
                    r.name,
                    r.version.as_deref().unwrap_or("-"),
                    r.origin_text(),
                    r.source
                        .as_deref()
                        .map(|s| format!(", {s}"))
                        .unwrap_or_default(),
                    [(r.shadowed, " [shadowed]"), (r.disabled, " [disabled]")]
                        .iter()
                        .filter(|(on, _)| *on)
                        .map(|(_, t)| *t)
                        .collect::<String>()
                ));
                if let Some(d) = &r.description {
                    crate::printer::out(format!("  {d}"));
                }
                crate::printer::out(format!("  signature: {}", r.signature));
                crate::printer::out(format!("  permissions: {}", r.permissions.join("; ")));
            }
            Ok(())
        }
        PluginCommand::Verify(a) => {
            let rows = manage::verify(opts, &a.names)?;
            if opts.json {
                crate::printer::print_json(&rows);
            } else {
                for r in &rows {
                    let state = if r.intact { "intact" } else { "CORRUPT" };
                    crate::printer::out(format!(
                        "{} {}: {state}; {}",
                        r.name, r.version, r.signature
                    ));
                    if let Some(p) = &r.problem {
                        crate::printer::out(format!("  {p}"));
                    }
                }
            }
            let bad: Vec<&str> = rows
                .iter()
                .filter(|r| !r.intact)
                .map(|r| r.name.as_str())
                .collect();
            if bad.is_empty() {
                Ok(())
            } else {
                Err(Error::shown_in_output(format!("corrupt plugins: {}", bad.join(", ")))
                    .with_hint("run `aibox store verify --repair`, then `aibox sync` (or `aibox plugin install` again)"))
            }
        }
        PluginCommand::Init(a) => {
            let template = match a.template {
                TemplateArg::Shell => Template::Shell,
                TemplateArg::Rust => Template::Rust,
            };
            let dir = crate::ops::plugin::init::init(&a.name, template, a.path.as_deref())?;
            opts.reporter.status(
                "Created",
                format!(
                    "plugin project `{}` in `{}` (see its README.md)",
                    a.name,
                    dir.display()
                ),
            );
            Ok(())
        }
    }
}

#[derive(Debug, Args)]
pub(super) struct SandboxExecArgs {
    /// The pack tree (in the store) whose `[permissions]` apply.
    #[arg(long, value_name = "DIR")]
    pack_dir: PathBuf,
    /// A variable of the generation to keep (repeatable).
    #[arg(long, value_name = "NAME")]
    keep: Vec<String>,
    /// The program and its arguments.
    #[arg(last = true, required = true, value_name = "PROGRAM")]
    argv: Vec<OsString>,
}

pub(super) fn sandbox_exec(opts: &Options, a: SandboxExecArgs) -> Result<()> {
    crate::engine::plugins::sandbox_exec(opts, &a.pack_dir, &a.keep, &a.argv)
}

/// `aibox <name> [args…]` for a name that is not a built-in command.
pub(super) fn external(opts: &Options, argv: Vec<OsString>, commands: &[String]) -> Result<()> {
    let mut it = argv.into_iter();
    let name = it.next().unwrap_or_default();
    let name = name.to_string_lossy().into_owned();
    let args: Vec<OsString> = it.collect();
    crate::engine::plugins::run(opts, &name, &args, commands)
}

/// The "Plugins:" section of `aibox --help`.
pub(super) fn help_section(opts: &Options) -> Option<String> {
    let mut seen = std::collections::BTreeSet::new();
    let disabled = opts
        .home
        .layout()
        .map(crate::engine::disabled::read)
        .unwrap_or_default();
    let rows: Vec<String> = crate::engine::plugins::find(opts, None)
        .into_iter()
        .filter(|f| seen.insert(f.name.clone()))
        .map(|f| {
            let mut desc = f
                .description()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("(from {})", f.origin.describe()));
            if disabled.contains(&f.name) {
                desc = format!("{desc} [disabled: `aibox plugin enable {}`]", f.name);
            }
            format!("  {:<12} {desc}", f.name)
        })
        .collect();
    (!rows.is_empty()).then(|| format!("Plugins:\n{}", rows.join("\n")))
}
