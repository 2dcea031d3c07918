//! The command line: clap definitions, global flags, dispatch to `ops`, and the one place
//! errors are printed (`error:` plus `hint:` lines on stderr; data on stdout).

mod doctor;
mod env;
mod generations;
mod global;
mod import;
mod pack;
mod plugin;
mod project;
mod report;
mod search;
mod selfcli;
mod shell;
mod store;
mod trust;
mod ui;
mod update;
mod vendor;
mod view;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::engine::required::WrongAibox;
use crate::error::Result;
use crate::ops::Options;
use crate::printer::{ColorChoice, Reporter};

/// A tool manager for teams: `aibox.toml` + `aibox.lock` → an exact, verified environment.
#[derive(Debug, Parser)]
#[command(
    name = "aibox",
    version,
    about,
    long_about = "aibox makes the environment a repository describes exist.\n\n\
A project commits `aibox.toml` (what it needs) and `aibox.lock` (exactly what that resolved \
to). `aibox sync` fetches the locked packs, verifies them, stores every file in a \
content-addressed store and switches atomically to a new generation; `aibox rollback` \
switches back.",
    after_help = "Environment: AIBOX_HOME (store and profiles, default ~/.local/share/aibox), \
AIBOX_LOCK_TIMEOUT (seconds to wait for a lock, default 300), AIBOX_GITHUB_API and \
GITHUB_TOKEN (for `github:` sources), NO_COLOR.\n\n\
Exit status: 0 success; 1 error; 2 usage error (the command line could not be parsed, or \
no such command or plugin); \
3 `aibox.lock` is missing or out of date under `sync --locked` or `lock --check`; \
4 the trust policy refuses a pack, plugin or skill, or what needs consent (a version that may do \
more, a suspicious skill) was not given it (`--yes`)."
)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Print only errors and data.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Print more detail about what is done (`-vv`: also every registry request and cache
    /// decision).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Print data as JSON (where the output is data).
    #[arg(long, global = true)]
    json: bool,
    /// When to color output.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// Use only cached registry data; never touch the network.
    #[arg(long, global = true)]
    offline: bool,
    /// Refetch registry tag lists instead of using the cache.
    #[arg(long, global = true)]
    refresh: bool,
    /// Path to `aibox.toml` (default: the nearest one at or above the current directory).
    #[arg(long, global = true, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// Take what needs consent without asking: a version that may do more than the installed
    /// one (on any add, install, sync, update or import), a skill its registry flags as
    /// suspicious, imported skills whose files differ from what their old installer recorded.
    /// Without it a terminal is asked and anything else (CI, cron, a pipe) is refused.
    #[arg(long, short, global = true)]
    yes: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create an `aibox.toml` in a directory.
    Init(project::InitArgs),
    /// Add packs to `aibox.toml`, lock them and sync.
    Add(project::AddArgs),
    /// Remove packs from `aibox.toml`, re-lock and sync.
    Remove(project::RemoveArgs),
    /// Resolve `aibox.toml` into `aibox.lock` (written only when it changes).
    Lock(project::LockArgs),
    /// Make the environment match `aibox.lock` (locking first if the manifest changed).
    Sync(project::SyncArgs),
    /// Run a command in the project's environment: `aibox run -- <cmd> [args…]`.
    Run(env::RunArgs),
    /// Print the project's environment as shell code (`eval "$(aibox env)"`) or JSON.
    Env(env::EnvArgs),
    /// Run a pack's command once, without a project: `aibox x PACK[@REQ] -- ARGS` (an
    /// environment of its own, locked on first use and reused).
    X(env::XArgs),
    /// Write `aibox.toml` requests from `.tool-versions`, `mise.toml`, `.nvmrc` or
    /// `.python-version` (the files stay as they are).
    Import(import::ImportArgs),
    /// Install packs into your global profile (their commands linked into `~/.local/bin`).
    Install(global::InstallArgs),
    /// Remove packs from your global profile.
    Uninstall(global::UninstallArgs),
    /// List the packs of the project's lock (requested or dependency); `--global` (or outside
    /// a project): of your global profile.
    List(view::ViewArgs),
    /// Show, for each locked pack, the newest version in range and the newest of all.
    Outdated(update::OutdatedArgs),
    /// Move packs to the newest versions their ranges allow (`--major`: past them), then sync.
    Update(update::UpdateArgs),
    /// Show the dependency tree of the project's lock (`(*)`: shown in full above).
    Tree(view::ViewArgs),
    /// List the generations of the project (or, with --global, the global profile).
    Generations(generations::ListArgs),
    /// Switch back to the previous generation (its parent), or to `--to N`.
    Rollback(generations::RollbackArgs),
    /// Show which packs were added, removed or changed between two generations.
    Diff(generations::DiffArgs),
    /// Remove from the store what no kept generation of a live profile uses.
    Gc(store::GcArgs),
    /// Inspect and repair the store.
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// Build, publish, push, pull and list packs (OCI artifacts).
    #[command(subcommand)]
    Pack(pack::PackCommand),
    /// Search registries for packs by name, keyword and description.
    Search(search::SearchArgs),
    /// Show a pack: versions, description, dependencies, size, signature.
    Info(search::InfoArgs),
    /// Copy packs into an OCI image layout for air-gapped `sync`.
    Vendor(vendor::VendorArgs),
    /// Make a cosign-compatible key pair for signing packs.
    Keygen(trust::KeygenArgs),
    /// Sign a published pack version (cosign's `sha256-<hex>.sig` signature manifest).
    Sign(trust::SignArgs),
    /// Verify a pack version's signatures with a key, or with the keys you trust.
    Verify(trust::VerifyArgs),
    /// Manage the keys you trust for signed packs.
    #[command(subcommand)]
    Trust(trust::TrustCommand),
    /// Read and change your configuration (trust policy, registries, updates).
    #[command(subcommand)]
    Config(trust::ConfigCommand),
    /// Show the audit log: installs, switches, rollbacks, gc, verifications, sandboxed runs,
    /// policy denials and failed health checks (rotated files included).
    Log(trust::LogArgs),
    /// Check the store, profiles, configuration, PATH, the project and its registries.
    Doctor,
    /// Print shell completions: `aibox completions bash > ~/.local/share/bash-completion/completions/aibox`.
    Completions(shell::CompletionsArgs),
    /// Print a shell hook that puts the current project's `bin/` on PATH: `eval "$(aibox activate bash)"`
    /// (only a generation aibox made, in your store; a repository's own `.aibox` is never used).
    Activate(shell::ActivateArgs),
    /// Install, list, verify and create plugins (`aibox <name>` runs `aibox-plugin-<name>`).
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Run a program in the sandbox of its pack's `[permissions]` (what the environment's
    /// command wrappers call).
    #[command(hide = true)]
    SandboxExec(plugin::SandboxExecArgs),
    /// Serve a local page to discover packs, see what is installed and update: on 127.0.0.1,
    /// behind a random token in the URL it prints.
    Ui(ui::UiArgs),
    /// Build the discover pages of registries as a static site.
    #[command(subcommand)]
    Catalog(ui::CatalogCommand),
    /// Update aibox itself, or go back to the version an update replaced.
    #[command(name = "self", subcommand)]
    SelfCli(selfcli::SelfCommand),
    /// A plugin: `aibox <name> [args…]` runs `aibox-plugin-<name>` sandboxed.
    #[command(external_subcommand)]
    External(Vec<OsString>),
}

impl Cli {
    /// The plugin name when the command line names no built-in command (`aibox <name> …`).
    pub fn plugin(&self) -> Option<String> {
        match &self.command {
            Command::External(argv) => argv.first().map(|a| a.to_string_lossy().into_owned()),
            _ => None,
        }
    }
}

impl GlobalArgs {
    fn options(&self) -> Options {
        Options {
            offline: self.offline,
            refresh: self.refresh,
            json: self.json,
            manifest_path: self.manifest_path.clone(),
            mirrors: Vec::new(),
            reporter: self.reporter(),
            consent: crate::engine::context::Consent {
                yes: self.yes,
                ask: interactive().then_some(ask as fn(Reporter, &str) -> bool),
            },
            home: crate::store::Home::of_process(),
        }
    }

    /// The reporter `--quiet`, `--verbose` and `--color` ask for.
    fn reporter(&self) -> Reporter {
        Reporter::new(
            self.quiet,
            self.verbose,
            match self.color {
                Color::Auto => ColorChoice::Auto,
                Color::Always => ColorChoice::Always,
                Color::Never => ColorChoice::Never,
            },
        )
    }
}

/// Whether the user can be asked: stdin and stderr are terminals, and this is not CI.
fn interactive() -> bool {
    use std::io::IsTerminal;
    let ci = crate::env_vars::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
    !ci && std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Ask `question` on the terminal; yes only for `y` or `yes`.
fn ask(reporter: Reporter, question: &str) -> bool {
    use std::io::BufRead;
    reporter.prompt(format!("{question} [y/N] "));
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes")
}

fn run(cli: Cli) -> Result<()> {
    let opts = cli.global.options();
    match cli.command {
        Command::Init(a) => project::init(&opts, a),
        Command::Add(a) => project::add(&opts, a),
        Command::Remove(a) => project::remove(&opts, a),
        Command::Lock(a) => project::lock(&opts, a),
        Command::Sync(a) => project::sync(&opts, a),
        Command::Run(a) => env::run(&opts, a),
        Command::Env(a) => env::env(&opts, a),
        Command::X(a) => env::x(&opts, a),
        Command::Import(a) => import::run(&opts, a),
        Command::Install(a) => global::install(&opts, a),
        Command::Uninstall(a) => global::uninstall(&opts, a),
        Command::List(a) => view::list(&opts, a),
        Command::Tree(a) => view::tree(&opts, a),
        Command::Outdated(a) => update::outdated(&opts, a),
        Command::Update(a) => update::update(&opts, a),
        Command::Generations(a) => generations::list(&opts, a),
        Command::Rollback(a) => generations::rollback(&opts, a),
        Command::Diff(a) => generations::diff(&opts, a),
        Command::Gc(a) => store::gc(&opts, a),
        Command::Store(c) => store::run(&opts, c),
        Command::Pack(c) => pack::run(&opts, c),
        Command::Search(a) => search::search(&opts, a),
        Command::Info(a) => search::info(&opts, a),
        Command::Vendor(a) => vendor::run(&opts, a),
        Command::Keygen(a) => trust::keygen(&opts, a),
        Command::Sign(a) => trust::sign(&opts, a),
        Command::Verify(a) => trust::verify(&opts, a),
        Command::Trust(c) => trust::trust(&opts, c),
        Command::Config(c) => trust::config(&opts, c),
        Command::Log(a) => trust::log(&opts, a),
        Command::Doctor => doctor::run(&opts),
        Command::Completions(a) => shell::completions(a, Cli::command()),
        Command::Activate(a) => shell::activate(&opts, a),
        Command::Plugin(c) => plugin::run(&opts, c),
        Command::SandboxExec(a) => plugin::sandbox_exec(&opts, a),
        Command::SelfCli(c) => selfcli::run(&opts, c),
        Command::Ui(a) => ui::serve(&opts, a),
        Command::Catalog(c) => ui::catalog(&opts, c),
        Command::External(argv) => plugin::external(&opts, argv, &builtin_commands()),
    }
}

/// Parse the command line, run it, print any error; returns the process exit code.
pub fn main() -> i32 {
    crate::env_vars::snapshot();
    let mut command = Cli::command().version(crate::platform::version_text());
    // `aibox --help` lists the plugins found too (looked for only when help is asked for).
    // Arguments may be any bytes (`aibox run -- ls $'\xff'`): never `std::env::args`.
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if matches!(args.as_slice(), [] | [_])
        && args
            .first()
            .is_none_or(|a| ["-h", "--help", "help"].iter().any(|h| a == h))
        && let Some(section) = plugin::help_section(&Options {
            home: crate::store::Home::of_process(),
            ..Options::default()
        })
    {
        let text = command
            .get_after_help()
            .map(|t| t.to_string())
            .unwrap_or_default();
        command = command.after_help(format!("{section}\n\n{text}"));
    }
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let reporter = cli.global.reporter();
    report_panics(reporter);
    let notices = !matches!(
        cli.command,
        Command::SelfCli(_)
            | Command::SandboxExec(_)
            | Command::External(_)
            | Command::Completions(_)
            | Command::Activate(_)
    );
    let quiet = cli.global.quiet;
    let json = cli.global.json;
    // Ctrl-C says what it stopped. (A program aibox execs gets the default handling back; the
    // local page's server just stops.)
    if !matches!(cli.command, Command::SandboxExec(_) | Command::Ui(_)) {
        interrupt::on_ctrl_c();
    }
    // Wrappers exec `libexec/aibox`: keep it pointing at this aibox (once a store has one).
    let home = crate::store::Home::of_process();
    if let Some(layout) = home.layout()
        && crate::fs::exists(&layout.aibox_link()).unwrap_or(false)
        && let Ok(store) = crate::store::Store::open_layout(layout.clone())
    {
        let _ = store.aibox_link();
    }
    let result = run(cli);
    crate::fs::release_staging();
    match result {
        Ok(()) => {
            if notices
                && let Some(notice) = crate::ops::self_update::notice::after_command(quiet, home)
            {
                reporter.note(&notice);
            }
            0
        }
        Err(e) => {
            if let Some(wrong) = e.downcast_ref::<WrongAibox>() {
                run_required(wrong, reporter, home);
            }
            reporter.error(&e.render());
            if json && e.downcast_ref::<crate::error::ShownInOutput>().is_none() {
                report::print_error(&e);
            }
            e.exit_code()
        }
    }
}

mod interrupt {
    //! Ctrl-C: one line saying whether anything was switched, then exit 130. What the run
    //! staged is left to the next run, which removes it (`Store::sweep_staging`).

    extern "C" fn handler(_: libc::c_int) {
        let msg: &[u8] = if crate::engine::install::SWITCHED
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            b"\ninterrupted after the switch to the new generation; `aibox sync` finishes what is left\n"
        } else {
            b"\ninterrupted; nothing was switched\n"
        };
        // SAFETY: write(2) and _exit(2) are async-signal-safe; `msg` is a static buffer.
        unsafe {
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::_exit(130);
        }
    }

    /// Install the handler for SIGINT (and SIGTERM, which CI runners send on cancel).
    pub(super) fn on_ctrl_c() {
        let handler: extern "C" fn(libc::c_int) = handler;
        for signal in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: the handler only calls async-signal-safe functions.
            unsafe {
                libc::signal(signal, handler as libc::sighandler_t);
            }
        }
    }
}

/// Show a panic as an internal error ([`crate::error::Kind::Internal`]) instead of Rust's
/// default `thread 'main' panicked` text; the process still exits with code 101.
fn report_panics(reporter: Reporter) {
    std::panic::set_hook(Box::new(move |info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        let at = info
            .location()
            .map(|l| format!(" (at {}:{})", l.file(), l.line()))
            .unwrap_or_default();
        reporter.error(&crate::error::Error::internal(format!("{what}{at}")).render());
    }));
}

/// A project needs another aibox: run the newest matching one from the store in this
/// process's place (unless this process is already one started so).
fn run_required(wrong: &WrongAibox, reporter: Reporter, home: crate::store::Home) {
    use crate::engine::required;
    if crate::env_vars::var_os(required::REEXEC_ENV).is_some() {
        return;
    }
    if let Some((version, path)) = required::matching_binary(&wrong.request, home) {
        reporter.status(
            "Using",
            format!(
                "aibox {version} from the store (`{}` requires `{}`)",
                wrong.manifest.display(),
                wrong.request
            ),
        );
        let e = required::exec(&path, &wrong.request);
        reporter.warn(format!("cannot run `{}`: {e}", path.display()));
    }
}

/// The names of the built-in commands.
fn builtin_commands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect()
}
