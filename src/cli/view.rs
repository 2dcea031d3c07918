//! `aibox list` and `aibox tree`: what a profile's lock holds.

use clap::Args;

use crate::error::Result;
use crate::ops::view::TreeNode;
use crate::ops::{self, Options, Target};

use super::generations::ProfileArg;

#[derive(Debug, Args)]
pub(super) struct ViewArgs {
    #[command(flatten)]
    profile: ProfileArg,
}

/// The project's profile, or the global one with `--global` or outside any project.
fn target(opts: &Options, args: &ViewArgs) -> Target {
    match args.profile.target() {
        Target::Project if ops::find_project(opts).is_err() => Target::Global,
        t => t,
    }
}

pub(super) fn list(opts: &Options, args: ViewArgs) -> Result<()> {
    let packs = ops::view::list(opts, target(opts, &args))?;
    if opts.json {
        crate::printer::print_json(&packs);
        return Ok(());
    }
    let width = packs
        .iter()
        .map(|p| p.name.len() + p.version.len() + 1)
        .max()
        .unwrap_or(0);
    for p in &packs {
        let what = if p.requested {
            "requested"
        } else {
            "dependency"
        };
        let id = format!("{} {}", p.name, p.version);
        let kind = if p.kind == "tool" {
            String::new()
        } else {
            format!("  {}", p.kind)
        };
        let kind = if p.legacy {
            format!("{kind} (legacy: a local snapshot, move it to a registry)")
        } else {
            kind
        };
        let may = if p.may.is_empty() {
            String::new()
        } else {
            format!("  may: {}", p.may.join("; "))
        };
        let checked = match &p.verified {
            None => String::new(),
            Some(v) => {
                let mut text = format!(
                    "  verified: {}",
                    if v.is_empty() {
                        "nothing".to_owned()
                    } else {
                        v.join(", ")
                    }
                );
                if !p.unverified.is_empty() {
                    text.push_str(&format!(" (not checked: {})", p.unverified.join(", ")));
                }
                text
            }
        };
        crate::printer::out(format!("{id:width$}  {what}{kind}{may}{checked}"));
    }
    Ok(())
}

pub(super) fn tree(opts: &Options, args: ViewArgs) -> Result<()> {
    let roots = ops::view::tree(opts, target(opts, &args))?;
    if opts.json {
        crate::printer::print_json(&roots);
        return Ok(());
    }
    for root in &roots {
        print_node(root, "", None);
    }
    Ok(())
}

/// Print `node` with the box-drawing prefix of its depth (`last`: `None` for a root).
fn print_node(node: &TreeNode, prefix: &str, last: Option<bool>) {
    let (branch, next) = match last {
        None => ("", String::new()),
        Some(true) => ("└── ", format!("{prefix}    ")),
        Some(false) => ("├── ", format!("{prefix}│   ")),
    };
    // Shown in full above: its dependencies are not repeated.
    let mark = if node.repeated { " (*)" } else { "" };
    crate::printer::out(format!(
        "{prefix}{branch}{} {}{mark}",
        node.name, node.version
    ));
    let n = node.dependencies.len();
    for (i, child) in node.dependencies.iter().enumerate() {
        print_node(child, &next, Some(i + 1 == n));
    }
}
