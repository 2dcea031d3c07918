//! `aibox generations`, `aibox rollback`, `aibox diff`.

use clap::Args;

use crate::error::Result;
use crate::ops::{self, Options, Target};

/// Which profile: the project's (default) or the global one.
#[derive(Debug, Args)]
pub(super) struct ProfileArg {
    /// Act on the global profile (`aibox install`) instead of the project.
    #[arg(long)]
    global: bool,
}

impl ProfileArg {
    pub(super) fn target(&self) -> Target {
        if self.global {
            Target::Global
        } else {
            Target::Project
        }
    }
}

#[derive(Debug, Args)]
pub(super) struct ListArgs {
    #[command(flatten)]
    profile: ProfileArg,
}

#[derive(Debug, Args)]
pub(super) struct RollbackArgs {
    #[command(flatten)]
    profile: ProfileArg,
    /// Switch to generation N instead of the current generation's parent.
    #[arg(long, value_name = "N")]
    to: Option<u64>,
    /// Also restore the `aibox.toml` and `aibox.lock` that generation was made from, so the
    /// rollback can be committed (and the next sync keeps it). Always done for `--global`.
    #[arg(long)]
    lock: bool,
}

#[derive(Debug, Args)]
pub(super) struct DiffArgs {
    #[command(flatten)]
    profile: ProfileArg,
    /// The older generation (default: the parent of B).
    a: Option<u64>,
    /// The newer generation (default: the current one).
    b: Option<u64>,
}

pub(super) fn list(opts: &Options, args: ListArgs) -> Result<()> {
    let (gens, current) = ops::generations::list(opts, args.profile.target())?;
    if opts.json {
        let rows: Vec<serde_json::Value> = gens
            .iter()
            .map(|(id, g)| match g {
                Ok(record) => {
                    let mut v = serde_json::to_value(record).expect("record serializes");
                    v["current"] = serde_json::Value::Bool(Some(*id) == current);
                    snake_case_keys(&mut v);
                    v
                }
                Err(e) => serde_json::json!({ "id": id, "current": false, "error": e }),
            })
            .collect();
        crate::printer::print_json(&rows);
        return Ok(());
    }
    crate::printer::out(format!(
        "{:>2} {:>4}  {:<20}  {:>6}  {:>6}",
        "", "ID", "CREATED", "PARENT", "PACKS"
    ));
    for (id, g) in &gens {
        let mark = if Some(*id) == current { "*" } else { "" };
        match g {
            Ok(g) => {
                let parent = g.parent.map_or("-".to_owned(), |p| p.to_string());
                crate::printer::out(format!(
                    "{mark:>2} {:>4}  {:<20}  {parent:>6}  {:>6}",
                    g.id,
                    g.created,
                    g.packs.len()
                ));
            }
            Err(e) => crate::printer::out(format!("{mark:>2} {id:>4}  unreadable: {e}")),
        }
    }
    Ok(())
}

pub(super) fn rollback(opts: &Options, args: RollbackArgs) -> Result<()> {
    let r = ops::generations::rollback(opts, args.profile.target(), args.to, args.lock)?;
    let message = match r.from {
        Some(from) => format!("from generation {from} to generation {}", r.to),
        None => format!(
            "to generation {} (the broken `current` link is repaired)",
            r.to
        ),
    };
    opts.reporter.status("Switched", message);
    if r.restored && args.profile.target() == ops::Target::Project {
        opts.reporter.status(
            "Restored",
            "`aibox.toml` and `aibox.lock` of that generation (commit them to keep the rollback)",
        );
    }
    if r.lock_differs {
        opts.reporter.warn(format!(
            "`aibox.lock` still describes a newer environment: the next `aibox sync` (or `aibox run`) switches back to it; `aibox rollback --to {n} --lock` also restores `aibox.toml` and `aibox.lock`",
            n = r.to
        ));
    }
    Ok(())
}

pub(super) fn diff(opts: &Options, args: DiffArgs) -> Result<()> {
    let (a, b, d) = ops::generations::diff(opts, args.profile.target(), args.a, args.b)?;
    if opts.json {
        crate::printer::print_json(&serde_json::json!({
            "from": a, "to": b, "added": d.added, "removed": d.removed, "changed": d.changed,
        }));
        return Ok(());
    }
    opts.reporter
        .status("Comparing", format!("generation {a} with generation {b}"));
    for (name, v) in &d.added {
        crate::printer::out(format!("+ {name} {v}"));
    }
    for (name, v) in &d.removed {
        crate::printer::out(format!("- {name} {v}"));
    }
    for (name, old, new) in &d.changed {
        if old == new {
            crate::printer::out(format!("~ {name} {old} (content changed)"));
        } else {
            crate::printer::out(format!("~ {name} {old} -> {new}"));
        }
    }
    if d.added.is_empty() && d.removed.is_empty() && d.changed.is_empty() {
        opts.reporter.status("Same", "no pack differs");
    }
    Ok(())
}

/// JSON output uses `snake_case` keys everywhere; the generation record's TOML keys are
/// `kebab-case` (environment variable names, which are data, are left alone).
fn snake_case_keys(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            let old = std::mem::take(map);
            for (k, mut val) in old {
                let data = k == "vars" || k == "required" || k == "optional";
                if !data {
                    snake_case_keys(&mut val);
                }
                map.insert(k.replace('-', "_"), val);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(snake_case_keys),
        _ => {}
    }
}
