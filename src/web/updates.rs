//! The updates page of `aibox ui`: each profile's outdated packs with changelog entries and
//! what newer versions ask for, and the update forms — refused until confirmed when
//! permissions grow, as `aibox update` does.

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::app::{Params, Shared, bad_form, blocking, failed, form_ok, html, target_of};
use super::pages;
use crate::error::{Error, Result};
use crate::ops::{self, Options, Target};
use pages::{esc, notice, page};

/// What the updates page shows for one profile.
struct Pending {
    /// Whether the profile has a lock at all.
    locked: bool,
    key: &'static str,
    title: String,
    outdated: Vec<ops::update::Outdated>,
    escalations: Vec<crate::engine::escalation::Escalation>,
    changelogs: Vec<(String, String)>,
}

/// The packs of `target` the Updates view lists: those with a newer version (in range or
/// not); nothing when the profile has no lock.
fn outdated(opts: &Options, target: Target) -> Result<Vec<ops::update::Outdated>> {
    let root = ops::sync::target_root(opts, target)?;
    if !crate::fs::exists(&root.join(ops::LOCKFILE)).unwrap_or(false) {
        return Ok(Vec::new());
    }
    Ok(ops::update::outdated(opts, target)?
        .into_iter()
        .filter(|o| o.current != o.newest || o.current != o.in_range)
        .collect())
}

/// Count, off the server's threads, the packs the Updates view would list, for its tab (the
/// count is unknown until then, and when a profile cannot be read).
pub(super) fn refresh_count(ui: &Shared) {
    ui.set_updates(None);
    let ui = ui.clone();
    tokio::task::spawn_blocking(move || {
        crate::store::new_run();
        let mut count = 0;
        for (_, target, _) in ui.targets() {
            match outdated(&ui.opts, target) {
                Ok(list) => count += list.len(),
                Err(_) => return,
            }
        }
        ui.set_updates(Some(count));
    });
}

fn pending(opts: &Options, key: &'static str, target: Target, title: String) -> Result<Pending> {
    let empty = Pending {
        locked: false,
        key,
        title: title.clone(),
        outdated: Vec::new(),
        escalations: Vec::new(),
        changelogs: Vec::new(),
    };
    let root = ops::sync::target_root(opts, target)?;
    if !crate::fs::exists(&root.join(ops::LOCKFILE)).unwrap_or(false) {
        return Ok(empty); // nothing locked (e.g. a global profile nothing was installed into)
    }
    let outdated = outdated(opts, target)?;
    let escalations = if outdated.is_empty() {
        Vec::new()
    } else {
        ops::update::update(opts, target, &[], false, true, &mut |_| false)?.escalations
    };
    let changelogs = ops::update::changelogs(opts, target, &outdated);
    Ok(Pending {
        locked: true,
        key,
        title,
        outdated,
        escalations,
        changelogs,
    })
}

async fn updates_page(ui: &Shared, status: StatusCode, message: Option<String>) -> Response {
    let opts = ui.opts.clone();
    let targets = ui.targets();
    let work = blocking(move || {
        targets
            .into_iter()
            .map(|(key, target, title)| (title.clone(), pending(&opts, key, target, title)))
            .collect::<Vec<_>>()
    })
    .await;
    let Some(work) = work else {
        return failed(
            ui,
            "Updates",
            "Updates",
            &Error::msg("looking for updates stopped"),
        );
    };
    ui.set_updates(Some(
        work.iter()
            .filter_map(|(_, p)| p.as_ref().ok())
            .map(|p| p.outdated.len())
            .sum(),
    ));
    let links = ui.links();
    let mut body = message.unwrap_or_default();
    for (title, p) in work {
        match p {
            Ok(p) if !p.locked => {
                body.push_str(&format!("<h2>{}</h2>", esc(&p.title)));
                body.push_str(&notice("ok", "Nothing is installed here yet."));
            }
            Ok(p) => body.push_str(&pages::updates(
                &links,
                p.key,
                &p.title,
                &p.outdated,
                &p.escalations,
                &p.changelogs,
            )),
            Err(e) => {
                body.push_str(&format!("<h2>{}</h2>", esc(&title)));
                body.push_str(&notice("warn", &e.render()));
            }
        }
    }
    html(status, page(&links, "Updates", "Updates", &body))
}

pub(super) async fn updates(State(ui): State<Shared>) -> Response {
    updates_page(&ui, StatusCode::OK, None).await
}

pub(super) async fn update(State(ui): State<Shared>, Form(form): Form<Params>) -> Response {
    if !form_ok(&ui, &form) {
        return bad_form();
    }
    let Some(target) = target_of(&ui, form.get("target")) else {
        return failed(&ui, "Updates", "Updates", &Error::msg("no such profile"));
    };
    let names: Vec<String> = form
        .get("pack")
        .filter(|p| !p.is_empty())
        .cloned()
        .into_iter()
        .collect();
    let confirmed = form.get("confirm").is_some_and(|c| c == "yes");
    let opts = ui.opts.clone();
    // Exactly as the CLI: what asks for more is applied only when confirmed.
    let work = blocking(move || -> Result<std::result::Result<ops::update::Updated, Vec<crate::engine::escalation::Escalation>>> {
        let dry = ops::update::update(&opts, target, &names, false, true, &mut |_| false)?;
        if !dry.escalations.is_empty() && !confirmed {
            return Ok(Err(dry.escalations));
        }
        Ok(Ok(ops::update::update(&opts, target, &names, false, false, &mut |_| confirmed)?))
    })
    .await;
    let (status, message) = match work {
        Some(Ok(Ok(u))) => {
            let changes: Vec<String> = u.changes.iter().map(|(v, w)| format!("{v} {w}")).collect();
            (
                StatusCode::OK,
                notice(
                    "ok",
                    &if changes.is_empty() {
                        "Nothing to update within range.".to_owned()
                    } else {
                        format!("Done: {}.", changes.join("; "))
                    },
                ),
            )
        }
        Some(Ok(Err(asks))) => (
            StatusCode::CONFLICT,
            notice(
                "error",
                &format!(
                    "Not updated: the new versions ask for more than the locked ones ({}). Tick “Accept what it asks for” and submit again to apply it.",
                    asks.iter()
                        .map(|e| format!("{}: {}", e.name, e.asks.join("; ")))
                        .collect::<Vec<_>>()
                        .join(" / ")
                ),
            ),
        ),
        Some(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            notice("error", &e.render()),
        ),
        None => (
            StatusCode::INTERNAL_SERVER_ERROR,
            notice("error", "the update stopped"),
        ),
    };
    updates_page(&ui, status, Some(message)).await
}
