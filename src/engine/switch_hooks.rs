//! Pack code aibox runs around a switch, always sandboxed and without the terminal (see
//! [`run_captured`]): health checks (`[check] run`,
//! against a new generation before it becomes current: a failure means no switch) and
//! lifecycle events delivered to plugins that subscribe (`[hooks] subscribe`; the event as
//! JSON on stdin; a failing `pre-switch` subscriber stops the switch, the others only warn).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::manifest::pack::{PackKind, PackManifest};
use crate::sandbox::{Context, Sandbox};
use crate::store::Store;
use crate::store::generations::{GenerationDiff, GenerationRecord};

use crate::engine::plugins::{PREFIX, check_enforcement, data_dir, plugin_sandbox, sandbox_error};
use crate::engine::run_log::{self, RunRecord};

/// How much of a failing program's output an error shows.
const TAIL_LINES: usize = 20;

/// The event a subscriber receives on stdin.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Event<'a> {
    pub event: &'a str,
    pub profile: &'a str,
    pub old_generation: Option<u64>,
    pub new_generation: u64,
    /// `{name, version}` of each pack added.
    pub added: Vec<serde_json::Value>,
    /// `{name, version}` of each pack removed.
    pub removed: Vec<serde_json::Value>,
    /// `{name, from, to}` of each pack whose version or tree changed.
    pub changed: Vec<serde_json::Value>,
}

impl<'a> Event<'a> {
    pub fn new(
        event: &'a str,
        profile: &'a str,
        old: Option<u64>,
        new: u64,
        diff: &GenerationDiff,
    ) -> Event<'a> {
        let pair = |(n, v): &(String, String)| serde_json::json!({"name": n, "version": v});
        Event {
            event,
            profile,
            old_generation: old,
            new_generation: new,
            added: diff.added.iter().map(pair).collect(),
            removed: diff.removed.iter().map(pair).collect(),
            changed: diff
                .changed
                .iter()
                .map(|(n, a, b)| serde_json::json!({"name": n, "from": a, "to": b}))
                .collect(),
        }
    }
}

/// The last `count` lines of a program's output, indented for a message.
fn tail(output: &[u8], count: usize) -> String {
    let text = String::from_utf8_lossy(output);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(count);
    lines[start..]
        .iter()
        .map(|l| format!("  | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Run `cmd` (sandboxed already) without the terminal: in a new session, stdin from
/// `/dev/null` (or fed `stdin` through a pipe), stdout and stderr through pipes aibox reads.
/// What it printed is relayed with `--verbose` (control characters made visible, as all pack
/// output); on failure its tail is in the error. Errors name `what`.
pub(super) fn run_captured(
    mut cmd: Command,
    stdin: Option<&[u8]>,
    what: &str,
    record: (&RunRecord, &crate::store::Layout),
    reporter: crate::printer::Reporter,
) -> Result<()> {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    crate::sandbox::without_terminal(&mut cmd);
    let mut child = cmd.spawn().map_err(|e| {
        record.0.write(record.1, Some("not started"), reporter);
        Error::io(format!("cannot run {what}"), e)
    })?;
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A subscriber that does not read its input is not an error.
        let _ = pipe.write_all(bytes);
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io(format!("cannot run {what}"), e))?;
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        if !bytes.is_empty() {
            reporter.verbose(format!(
                "{what} printed on {stream}:\n{}",
                tail(bytes, usize::MAX)
            ));
        }
    }
    if out.status.success() {
        record.0.write(record.1, Some("ok"), reporter);
        return Ok(());
    }
    let status = match (
        out.status.code(),
        std::os::unix::process::ExitStatusExt::signal(&out.status),
    ) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => "failure".into(),
    };
    record.0.write(record.1, Some(&status), reporter);
    let mut shown = tail(&out.stderr, TAIL_LINES);
    if shown.is_empty() {
        shown = tail(&out.stdout, TAIL_LINES);
    }
    Err(Error::msg(if shown.is_empty() {
        format!("{what} failed ({status})")
    } else {
        format!("{what} failed ({status}):\n{shown}")
    }))
}

/// The sandbox context of pack code run for `project` (or the global profile).
fn context(store: &Store, project: Option<&Path>) -> Context {
    Context {
        project: project.map(Path::to_path_buf),
        home: crate::env_vars::var_os("HOME").map(PathBuf::from),
        cache: Some(store.layout().cache()),
        plugin_dir: None,
    }
}

/// Run every `[check]` of `packs` against the generation in `dir`; the first failure is the
/// error (naming the pack), and nothing may be switched.
pub fn run_checks(
    store: &Store,
    packs: &[(crate::store::PackId, PackManifest)],
    dir: &Path,
    project: Option<&Path>,
) -> Result<()> {
    for (id, manifest) in packs {
        let Some(check) = &manifest.check else {
            continue;
        };
        let what = format!("the health check of `{}@{}`", id.name, id.version);
        store.reporter().verbose(format!("running {what}"));
        let ctx = context(store, project);
        let mut sandbox = match &manifest.permissions {
            Some(p) => Sandbox::from_permissions(p, &ctx),
            None => Sandbox::new(),
        };
        sandbox.allow_read(store.layout().store()).allow_read(dir);
        if let Some(p) = project {
            sandbox.allow_read(p);
        }
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(&check.run)
            .current_dir(store.pack_path(id));
        let mut vars = BTreeMap::<String, OsString>::new();
        let mut path = vec![dir.join("bin")];
        path.extend(std::env::split_paths(
            &crate::env_vars::var_os("PATH").unwrap_or_default(),
        ));
        vars.insert(
            "PATH".into(),
            std::env::join_paths(path).unwrap_or_default(),
        );
        vars.insert(crate::env_vars::GENERATION_DIR.into(), dir.into());
        if let Some(p) = project {
            vars.insert(crate::env_vars::WORKSPACE.into(), p.into());
        }
        let enforcement = sandbox
            .apply(&mut cmd, &vars)
            .map_err(|e| sandbox_error(&what, e))?;
        check_enforcement(enforcement, &what, store.layout(), store.reporter())?;
        let profile = Some(run_log::profile_of(project));
        let version = id.version.to_string();
        let record = RunRecord::new(
            "health-check",
            &id.name,
            Some(&version),
            &cmd,
            &sandbox,
            enforcement,
        )
        .for_profile(profile.clone());
        let layout = store.layout();
        if let Err(e) = run_captured(cmd, None, &what, (&record, layout), store.reporter()) {
            crate::audit::record(
                layout,
                "health",
                profile.as_deref(),
                serde_json::json!({
                    "pack": id.name, "version": version, "run": check.run,
                    "generation": dir.display().to_string(), "passed": false,
                    "error": e.to_string(),
                }),
                store.reporter(),
            );
            return Err(e.with_hint(format!(
                "the new environment was not switched to; the previous generation is still current. Fix or remove `{}`, or ask its publisher",
                id.name
            )));
        }
    }
    Ok(())
}

/// Deliver `event` to every plugin of `generation` (whose tree is `dir`) that subscribes.
/// `pre-switch` failures are errors; other failures are warnings.
pub fn emit(
    store: &Store,
    generation: &GenerationRecord,
    dir: &Path,
    project: Option<&Path>,
    event: &Event<'_>,
) -> Result<()> {
    let payload = serde_json::to_vec(event).expect("event serializes");
    for pack in generation
        .packs
        .iter()
        .filter(|p| p.kind == PackKind::Plugin)
    {
        let Some(manifest) = crate::engine::plugins::stored_manifest(store.layout(), &pack.store)
        else {
            continue;
        };
        if !manifest.hooks.subscribe.iter().any(|e| e == event.event)
            || crate::engine::disabled::is_disabled(store.layout(), &pack.name)
        {
            continue;
        }
        let what = format!("the `{}` subscriber `{}`", event.event, pack.name);
        let result = (|| {
            let plugin_dir = data_dir(store.layout(), &pack.name)?;
            let sandbox = plugin_sandbox(store.layout(), Some(&manifest), project, &plugin_dir);
            let exe = dir.join("plugins").join(format!("{PREFIX}{}", pack.name));
            let mut cmd = Command::new(&exe);
            cmd.arg(format!("--aibox-event={}", event.event));
            let mut vars =
                crate::engine::plugins::plugin_env(store.layout(), project, &plugin_dir)?;
            vars.insert(crate::env_vars::EVENT.into(), event.event.into());
            vars.insert(
                crate::env_vars::GENERATION.into(),
                generation.id.to_string().into(),
            );
            let enforcement = sandbox
                .apply(&mut cmd, &vars)
                .map_err(|e| sandbox_error(&what, e))?;
            check_enforcement(enforcement, &what, store.layout(), store.reporter())?;
            let record = RunRecord::new(
                "subscriber",
                &pack.name,
                Some(&pack.version),
                &cmd,
                &sandbox,
                enforcement,
            )
            .with("event", event.event.into())
            .for_profile(Some(event.profile.to_owned()));
            run_captured(
                cmd,
                Some(&payload),
                &what,
                (&record, store.layout()),
                store.reporter(),
            )
        })();
        match result {
            Ok(()) => store.reporter().verbose(format!("{what} ran")),
            Err(e) if event.event == "pre-switch" => {
                return Err(e.with_hint(format!(
                    "the switch was stopped by the plugin `{}`; the previous generation is still current",
                    pack.name
                )));
            }
            Err(e) => store.reporter().warn(e.render()),
        }
    }
    Ok(())
}
