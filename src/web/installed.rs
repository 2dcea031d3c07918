//! The Installed view: each profile's packs its `aibox.toml` names (an Uninstall button each,
//! the flow of the install module) and its generations, with a switch button per generation.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::app::{Shared, blocking, failed, html};
use super::pages::{self, Links, esc, notice, page};
use crate::error::{Error, Result};
use crate::manifest::Section;
use crate::ops::{self, Options, Target};

/// A pack a profile's manifest names.
pub(super) struct Requested {
    name: String,
    section: Section,
    /// The locked version, or "not locked".
    version: String,
    /// What was verified when it was locked (the lock's signer, or an aqua entry's checks).
    verified: String,
}

/// What the lock says was verified of `p` when it was locked.
fn verified(p: &crate::lockfile::LockedPackage) -> String {
    if let Some(a) = &p.aqua {
        let mut out = if a.verified.is_empty() {
            "no check passed".to_owned()
        } else {
            a.verified.join(", ")
        };
        if !a.unverified.is_empty() {
            let _ = write!(out, "; not checked: {}", a.unverified.join(", "));
        }
        return out;
    }
    match &p.signer {
        Some(key) => format!("signed by {key}"),
        None => "unsigned".to_owned(),
    }
}

/// The packs a profile's manifest names, with what their lock entries say.
pub(super) fn requested(opts: &Options, target: Target) -> Result<Vec<Requested>> {
    let root = ops::sync::target_root(opts, target)?;
    if !crate::fs::exists(&root.join(ops::MANIFEST)).unwrap_or(false) {
        return Ok(Vec::new());
    }
    let state = crate::engine::project::ProjectState::read(&root)?;
    let m = &state.manifest;
    let mut out = Vec::new();
    for (section, names) in [
        (Section::Packs, &m.packs),
        (Section::Plugins, &m.plugins),
        (Section::Skills, &m.skills),
    ] {
        for name in names.keys() {
            let locked = state.lock.as_ref().and_then(|(_, l)| l.package(name));
            out.push(Requested {
                name: name.clone(),
                section,
                version: locked.map_or("not locked".to_owned(), |p| p.version.to_string()),
                verified: locked.map_or_else(String::new, verified),
            });
        }
    }
    Ok(out)
}

/// The Installed view's table of what a profile's manifest names, an Uninstall button each.
pub(super) fn requested_table(
    links: &Links,
    target: &str,
    title: &str,
    list: &[Requested],
) -> String {
    if list.is_empty() {
        return notice("ok", &format!("{title}: its aibox.toml names no pack."));
    }
    let mut out = format!(
        "<table><caption>Named in the aibox.toml of {}</caption><thead><tr><th scope=\"col\">Pack</th>\
         <th scope=\"col\">Section</th><th scope=\"col\">Locked</th><th scope=\"col\">Verified when locked</th>\
         <th scope=\"col\">Uninstall</th></tr></thead><tbody>",
        esc(title)
    );
    for r in list {
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{n}</th><td>[{s}]</td><td>{v}</td><td>{c}</td><td>{form}\
             <input type=\"hidden\" name=\"target\" value=\"{t}\">\
             <input type=\"hidden\" name=\"pack\" value=\"{n}\">\
             <button type=\"submit\" aria-label=\"Uninstall {n} from {ti}\">Uninstall</button></form></td></tr>",
            n = esc(&r.name),
            s = r.section.key(),
            v = esc(&r.version),
            c = esc(&r.verified),
            form = links.post_form("/uninstall"),
            t = esc(target),
            ti = esc(title)
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// The installed page (each profile's requested packs with Uninstall buttons, and its
/// generations), with `message` on top.
pub(super) async fn installed_page(ui: &Shared, message: Option<String>) -> Response {
    let opts = ui.opts.clone();
    let targets = ui.targets();
    let work = blocking(move || {
        targets
            .into_iter()
            .map(|(key, target, title)| {
                (
                    key,
                    title,
                    requested(&opts, target),
                    ops::generations::list(&opts, target),
                )
            })
            .collect::<Vec<_>>()
    })
    .await;
    let Some(work) = work else {
        return failed(
            ui,
            "Installed",
            "Installed",
            &Error::msg("listing the generations stopped"),
        );
    };
    let links = ui.links();
    let mut body = message.unwrap_or_default();
    for (key, title, requested, listed) in work {
        match requested {
            Ok(r) => body.push_str(&requested_table(&links, key, &title, &r)),
            Err(e) => body.push_str(&notice("warn", &e.render())),
        }
        match listed {
            Ok((list, current)) => {
                body.push_str(&pages::generations(&links, key, &title, &list, current));
            }
            Err(e) => {
                body.push_str(&format!("<h2>{}</h2>", esc(&title)));
                body.push_str(&notice("warn", &e.render()));
            }
        }
    }
    html(
        StatusCode::OK,
        page(&links, "Installed", "Installed", &body),
    )
}

pub(super) async fn installed(State(ui): State<Shared>) -> Response {
    installed_page(&ui, None).await
}

#[cfg(test)]
mod tests {
    use super::verified;
    use crate::lockfile::Lockfile;

    #[test]
    fn what_was_verified_is_read_from_the_lock_entry() {
        let mut text = String::from(
            "version = 5\n\n[[package]]\nname = \"fzf\"\nversion = \"0.56.3\"\nkind = \"tool\"\n\
             source = \"aqua:../aqua-registry\"\naqua = \"junegunn/fzf\"\ntag = \"v0.56.3\"\n\
             verified = [\"checksum\", \"cosign-keyless\"]\nunverified = [\"slsa\"]\n\n\
             [package.platforms.linux-x86_64]\ntree = \"blake3:",
        );
        text.push_str(&"2".repeat(64));
        text.push_str("\"\n");
        let lock = Lockfile::parse(&text, std::path::Path::new("aibox.lock")).unwrap();
        let mut p = lock.packages[0].clone();
        assert_eq!(verified(&p), "checksum, cosign-keyless; not checked: slsa");
        p.aqua.as_mut().unwrap().verified.clear();
        assert_eq!(verified(&p), "no check passed; not checked: slsa");
        p.aqua = None;
        assert_eq!(verified(&p), "unsigned");
        p.signer = Some("sha256:abc".into());
        assert_eq!(verified(&p), "signed by sha256:abc");
    }
}
