//! What state-changing commands did, as one JSON document on stdout under `--json` (status
//! lines stay on stderr), and an error as a JSON object. Keys are `snake_case`.

use serde::Serialize;

use crate::engine::install::Installed;
use crate::error::Error;

/// A pack and its version.
#[derive(Debug, Serialize)]
pub(super) struct Named {
    name: String,
    version: String,
}

/// A pack whose version (or content) changed.
#[derive(Debug, Serialize)]
pub(super) struct Changed {
    name: String,
    from: String,
    to: String,
}

/// What a sync did: the generation in force afterwards, whether it is new, how many packs
/// were fetched, and what changed against the previous generation.
#[derive(Debug, Serialize)]
pub(super) struct SyncReport {
    generation: u64,
    switched: bool,
    fetched: usize,
    added: Vec<Named>,
    removed: Vec<Named>,
    changed: Vec<Changed>,
}

impl SyncReport {
    pub(super) fn of(installed: &Installed) -> SyncReport {
        let d = &installed.diff;
        let named = |v: &[(String, String)]| {
            v.iter()
                .map(|(name, version)| Named {
                    name: name.clone(),
                    version: version.clone(),
                })
                .collect()
        };
        SyncReport {
            generation: installed.generation.id,
            switched: installed.switched,
            fetched: installed.fetched,
            added: named(&d.added),
            removed: named(&d.removed),
            changed: d
                .changed
                .iter()
                .map(|(name, from, to)| Changed {
                    name: name.clone(),
                    from: from.clone(),
                    to: to.clone(),
                })
                .collect(),
        }
    }

    /// Nothing to do: `generation` already matches the lock.
    pub(super) fn fresh(generation: u64) -> SyncReport {
        SyncReport {
            generation,
            switched: false,
            fetched: 0,
            added: Vec::new(),
            removed: Vec::new(),
            changed: Vec::new(),
        }
    }
}

/// What `add`, `remove`, `install` and `uninstall` did: the packs locked by the change, and
/// the sync that followed (none with `--no-sync`).
#[derive(Debug, Serialize)]
pub(super) struct EditReport {
    pub(super) locked: Vec<String>,
    pub(super) sync: Option<SyncReport>,
}

/// An error, as `--json` prints it on stdout (the same error goes to stderr for people).
#[derive(Debug, Serialize)]
struct ErrorReport {
    error: ErrorBody,
}

#[derive(Debug, Serialize)]
struct ErrorBody {
    message: String,
    causes: Vec<String>,
    hints: Vec<String>,
    exit_code: i32,
    /// `user`, `config` or `internal` ([`crate::error::Kind`]).
    kind: crate::error::Kind,
}

/// Print `e` as a JSON object on stdout.
pub(super) fn print_error(e: &Error) {
    let rendered = e.render();
    let mut lines = rendered.lines();
    let message = lines
        .next()
        .unwrap_or_default()
        .split_once(": ")
        .map_or_else(String::new, |(_, m)| m.to_owned());
    let causes = lines
        .clone()
        .filter_map(|l| l.strip_prefix("  caused by: "))
        .map(str::to_owned)
        .collect();
    crate::printer::print_json(&ErrorReport {
        error: ErrorBody {
            message,
            causes,
            hints: e.hints().to_vec(),
            exit_code: e.exit_code(),
            kind: e.kind(),
        },
    });
}
