//! Install and Uninstall on the local page: a first POST resolves the edit and shows what would
//! change and what each coming pack may do (and what it asks for beyond the profile's current
//! generation); only a second POST that confirms exactly what was shown applies it, through the
//! same [`ops::edit`] functions as `aibox add`/`install` and `remove`/`uninstall`, so the result
//! is a new generation `aibox rollback` undoes. What was shown is bound to the confirmation by a
//! digest: when the registry changed in between, the new preview is shown instead.

use std::fmt::Write as _;

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::app::{Params, Shared, bad_form, blocking, failed, form_ok, html, target_of};
use super::pages::{esc, notice, page};
use crate::engine::escalation;
use crate::error::{Error, Result};
use crate::manifest::Section;
use crate::ops::preview::Preview;
use crate::ops::{self, Options, Target};

/// A digest of everything a preview shows, so a confirmation applies only what was seen.
fn digest(p: &Preview) -> String {
    let text = format!(
        "{:?}|{:?}|{:?}|{:?}|{}",
        p.added,
        p.removed,
        p.changed,
        p.may,
        escalation::describe(&p.escalations)
    );
    blake3::hash(text.as_bytes()).to_hex().to_string()
}

/// What a preview shows, as HTML: the changes, what each coming pack may do, what it asks for.
fn describe(p: &Preview) -> String {
    let mut out = String::from("<ul>");
    for (name, version) in &p.added {
        let _ = write!(out, "<li>adds {} {}</li>", esc(name), esc(version));
    }
    for (name, from, to) in &p.changed {
        let _ = write!(
            out,
            "<li>changes {} {} → {}</li>",
            esc(name),
            esc(from),
            esc(to)
        );
    }
    for (name, version) in &p.removed {
        let _ = write!(out, "<li>removes {} {}</li>", esc(name), esc(version));
    }
    if p.is_empty() {
        out.push_str("<li>changes no pack</li>");
    }
    out.push_str("</ul>");
    if !p.may.is_empty() {
        out.push_str("<h2>What it may do</h2><table><tbody>");
        for (name, may) in &p.may {
            let _ = write!(
                out,
                "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
                esc(name),
                esc(&may.join("; "))
            );
        }
        out.push_str("</tbody></table>");
    }
    if !p.escalations.is_empty() {
        let _ = write!(
            out,
            "<h2>Asks for more than the current generation</h2><pre>{}</pre>",
            esc(&escalation::describe(&p.escalations))
        );
    }
    out
}

/// One request to `/install` or `/uninstall`.
struct Edit {
    target: Target,
    key: String,
    pack: String,
    /// `/install`: the section, and the registry the hit came from.
    install: Option<(Section, String)>,
    /// The digest of the preview confirmed, if this is the confirmation.
    confirmed: Option<String>,
}

impl Edit {
    fn preview(&self, opts: &Options) -> Result<Preview> {
        match &self.install {
            Some((section, registry)) => ops::preview::add(
                opts,
                self.target,
                std::slice::from_ref(&self.pack),
                *section,
                Some(registry),
            ),
            None => ops::preview::remove(opts, self.target, std::slice::from_ref(&self.pack)),
        }
    }

    fn apply(&self, opts: &Options) -> Result<ops::edit::EditOutcome> {
        let specs = std::slice::from_ref(&self.pack);
        // The pack comes from the registry of the hit, named in the request unless it is the
        // target's default.
        let from = |section: Section, registry: &str| ops::edit::AddOptions {
            registry: Some(registry.to_owned()),
            ..ops::edit::AddOptions::to(section)
        };
        match (&self.install, self.target) {
            (Some((section, registry)), Target::Global) => {
                let root = ops::sync::target_root(opts, Target::Global)?;
                // The registry is written only into a global manifest created now.
                let first = !crate::fs::exists(&root.join(ops::MANIFEST)).unwrap_or(false);
                ops::edit::install_global(
                    opts,
                    specs,
                    first.then_some(registry.as_str()),
                    &from(*section, registry),
                )
            }
            (Some((section, registry)), target) => {
                ops::edit::add(opts, target, specs, &from(*section, registry))
            }
            (None, target) => ops::edit::remove(opts, target, specs, false),
        }
    }
}

/// What a POST asks: `None` when it names no profile or pack, or a registry that is not
/// configured.
fn parse(ui: &Shared, form: &Params, install: bool) -> Option<Edit> {
    let target = target_of(ui, form.get("target"))?;
    let pack = form.get("pack").filter(|p| !p.is_empty())?.clone();
    let install = if install {
        let section = match form.get("kind").map(String::as_str) {
            Some("plugin") => Section::Plugins,
            Some("skill") => Section::Skills,
            _ => Section::Packs,
        };
        Some((section, form.get("registry").cloned().unwrap_or_default()))
    } else {
        None
    };
    Some(Edit {
        target,
        key: form.get("target")?.clone(),
        pack,
        install,
        confirmed: form.get("confirm").filter(|c| !c.is_empty()).cloned(),
    })
}

/// What happened, for the page.
enum Done {
    Preview(Preview),
    /// Confirmed, but what would happen now is not what was shown.
    Changed(Preview),
    Applied(Box<ops::edit::EditOutcome>),
}

async fn handle(ui: Shared, form: Params, install: bool) -> Response {
    let (current, title) = if install {
        ("Discover", "Install")
    } else {
        ("Installed", "Uninstall")
    };
    if !form_ok(&ui, &form) {
        return bad_form();
    }
    let Some(edit) = parse(&ui, &form, install) else {
        return failed(&ui, current, title, &Error::msg("no such profile or pack"));
    };
    let opts = ui.opts.clone();
    let work = blocking(move || -> Result<(Edit, Done)> {
        if let Some((_, registry)) = &edit.install {
            // Only the configured registries: a form never points aibox elsewhere.
            if !ops::search::registries(&opts, &[])?
                .iter()
                .any(|(u, ..)| u == registry)
            {
                return Err(Error::msg(format!(
                    "`{registry}` is not one of the configured registries"
                )));
            }
        }
        let preview = edit.preview(&opts)?;
        let done = match &edit.confirmed {
            None => Done::Preview(preview),
            Some(seen) if *seen != digest(&preview) => Done::Changed(preview),
            Some(_) => {
                // The person saw and accepted exactly this: the install's consent check
                // takes it as consented, and refuses anything else.
                escalation::accept(&preview.escalations);
                Done::Applied(Box::new(edit.apply(&opts)?))
            }
        };
        Ok((edit, done))
    })
    .await;
    let links = ui.links();
    let (edit, done) = match work {
        Some(Ok(w)) => w,
        Some(Err(e)) => return failed(&ui, current, title, &e),
        None => return failed(&ui, current, title, &Error::msg("the edit stopped")),
    };
    let verb = if install { "Install" } else { "Uninstall" };
    let confirm_form = |p: &Preview| {
        let mut f = format!(
            "{}<input type=\"hidden\" name=\"target\" value=\"{}\">\
             <input type=\"hidden\" name=\"pack\" value=\"{}\">\
             <input type=\"hidden\" name=\"confirm\" value=\"{}\">",
            links.post_form(if install { "/install" } else { "/uninstall" }),
            esc(&edit.key),
            esc(&edit.pack),
            digest(p)
        );
        if let Some((section, registry)) = &edit.install {
            let kind = match section {
                Section::Plugins => "plugin",
                Section::Skills => "skill",
                Section::Packs => "tool",
            };
            let _ = write!(
                f,
                "<input type=\"hidden\" name=\"kind\" value=\"{kind}\">\
                 <input type=\"hidden\" name=\"registry\" value=\"{}\">",
                esc(registry)
            );
        }
        let _ = write!(
            f,
            "<button type=\"submit\">{verb} {}{}</button></form>",
            esc(&edit.pack),
            if p.escalations.is_empty() {
                ""
            } else {
                ", accepting what it asks for"
            }
        );
        f
    };
    let (status, body) = match done {
        Done::Preview(p) => (
            StatusCode::OK,
            format!(
                "{}{}{}",
                notice(
                    "warn",
                    &format!("Not applied yet. {verb} {} would:", edit.pack)
                ),
                describe(&p),
                confirm_form(&p)
            ),
        ),
        Done::Changed(p) => (
            StatusCode::CONFLICT,
            format!(
                "{}{}{}",
                notice(
                    "error",
                    "Not applied: what it would do changed since it was shown. Review it again:"
                ),
                describe(&p),
                confirm_form(&p)
            ),
        ),
        Done::Applied(outcome) => {
            let generation = outcome
                .installed
                .as_ref()
                .map(|i| i.generation.id.to_string())
                .unwrap_or_else(|| "?".into());
            let what = if install {
                format!("Installed {}", outcome.changed.join(", "))
            } else {
                format!("Uninstalled {}", edit.pack)
            };
            let message = notice(
                "ok",
                &format!(
                    "{what}: generation {generation} is current (`aibox rollback` undoes it)."
                ),
            );
            super::updates::refresh_count(&ui);
            return super::installed::installed_page(&ui, Some(message)).await;
        }
    };
    html(status, page(&links, current, title, &body))
}

pub(super) async fn install(State(ui): State<Shared>, Form(form): Form<Params>) -> Response {
    handle(ui, form, true).await
}

pub(super) async fn uninstall(State(ui): State<Shared>, Form(form): Form<Params>) -> Response {
    handle(ui, form, false).await
}
