//! The Discover view: a search narrowed by kind, signer status and what a pack may do, sorted
//! by relevance, name or size (all query parameters, rendered on the server), with an Install
//! button per pack for the page's current profile (the install module); and the same table for
//! the static catalog, which has links per kind instead of the form.

use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::app::{Params, Shared, blocking, failed, html};
use super::pages::{Links, badges, esc, moderated, notice, page};
use crate::error::{Error, Result};
use crate::manifest::pack::PackKind;
use crate::ops::{self, search::Hit, search::Info};

/// One search hit with what its pack page knows (kind, permissions, size, signer).
pub struct Row<'a> {
    pub hit: &'a Hit,
    pub info: Option<&'a Info>,
}

impl Row<'_> {
    /// Signed by a key `aibox trust` trusts.
    fn signed(&self) -> bool {
        self.info
            .and_then(|i| i.artifact.as_ref())
            .map_or(self.hit.trust.ends_with(", trusted"), |a| {
                !a.signers.is_empty()
            })
    }

    fn size(&self) -> Option<u64> {
        self.info.and_then(|i| i.artifact.as_ref()).map(|a| a.size)
    }
}

/// The kinds the discover page filters by: (value, label).
pub const KINDS: [(&str, &str); 4] = [
    ("tool", "Tools"),
    ("plugin", "Plugins"),
    ("skill", "Agent skills"),
    ("cli", "aibox"),
];

/// Signer filters: (value, label).
const SIGNERS: [(&str, &str); 2] = [
    ("signed", "Signed by a trusted key"),
    ("unsigned", "Not signed by a trusted key"),
];

/// Permission filters: (value, label).
const MAY: [(&str, &str); 4] = [
    ("network", "Asks for network"),
    ("no-network", "No network"),
    ("install-hook", "Runs an install hook"),
    ("no-sandbox", "No sandbox"),
];

/// Orders: (value, label); the first is the default.
const SORTS: [(&str, &str); 3] = [
    ("relevance", "Relevance"),
    ("name", "Name"),
    ("size", "Size (smallest first)"),
];

/// What the list shows: each a known value or nothing (an unknown value filters nothing).
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub query: String,
    pub kind: Option<&'static str>,
    signer: Option<&'static str>,
    may: Option<&'static str>,
    sort: Option<&'static str>,
}

fn known(list: &[(&'static str, &str)], value: Option<&String>) -> Option<&'static str> {
    let value = value?;
    list.iter().find(|(v, _)| v == value).map(|(v, _)| *v)
}

impl Filters {
    /// From the page's query parameters `q`, `kind`, `signer`, `may` and `sort`.
    pub fn from_query(q: &Params) -> Filters {
        Filters {
            query: q.get("q").cloned().unwrap_or_default(),
            kind: known(&KINDS, q.get("kind")),
            signer: known(&SIGNERS, q.get("signer")),
            may: known(&MAY, q.get("may")),
            sort: known(&SORTS, q.get("sort")),
        }
    }

    /// Only a kind (the static catalog's page per kind).
    pub fn of_kind(kind: Option<&'static str>) -> Filters {
        Filters {
            kind,
            ..Filters::default()
        }
    }

    /// Whether `row` passes every filter. What is not known of a row (its pack could not be
    /// read) passes no permission filter.
    fn keeps(&self, row: &Row) -> bool {
        let kind = row.info.map_or(row.hit.kind.as_str(), |i| i.kind.as_str());
        if self.kind.is_some_and(|k| k != kind) {
            return false;
        }
        match self.signer {
            Some("signed") if !row.signed() => return false,
            Some("unsigned") if row.signed() => return false,
            _ => {}
        }
        let Some(may) = self.may else {
            return true;
        };
        let Some(t) = row.info.map(|i| i.traits) else {
            return false;
        };
        match may {
            "network" => t.network,
            "no-network" => !t.network,
            "install-hook" => t.install_hook,
            "no-sandbox" => t.unsandboxed,
            _ => true,
        }
    }

    /// `rows` filtered and in the chosen order (relevance: the search's own).
    pub fn apply<'a>(&self, rows: Vec<Row<'a>>) -> Vec<Row<'a>> {
        let mut rows: Vec<Row> = rows.into_iter().filter(|r| self.keeps(r)).collect();
        match self.sort {
            Some("name") => rows.sort_by(|a, b| a.hit.name.cmp(&b.hit.name)),
            // Unknown sizes last.
            Some("size") => rows.sort_by_key(|r| (r.size().is_none(), r.size())),
            _ => {}
        }
        rows
    }

    /// The pack kind searched for, if one.
    fn pack_kind(&self) -> Option<PackKind> {
        [
            PackKind::Tool,
            PackKind::Plugin,
            PackKind::Skill,
            PackKind::Cli,
        ]
        .into_iter()
        .find(|p| Some(p.as_str()) == self.kind)
    }
}

/// A `<select>` named `name` with an empty first choice `any`.
fn select(
    name: &str,
    label: &str,
    any: &str,
    list: &[(&str, &str)],
    current: Option<&str>,
) -> String {
    let mut options = if any.is_empty() {
        String::new()
    } else {
        format!(
            "<option value=\"\"{}>{any}</option>",
            if current.is_none() { " selected" } else { "" }
        )
    };
    for (value, text) in list {
        let _ = write!(
            options,
            "<option value=\"{value}\"{}>{text}</option>",
            if current == Some(*value) {
                " selected"
            } else {
                ""
            }
        );
    }
    format!(
        "<label for=\"{name}\">{label}</label> <select id=\"{name}\" name=\"{name}\">{options}</select> "
    )
}

/// Where Install buttons install: the profile's key and title.
pub struct InstallTo<'a> {
    pub target: &'a str,
    pub title: &'a str,
}

/// The search form with its filters (live), or the links to the catalog's page of each kind
/// (static), and the rows (already filtered and sorted).
pub fn render(links: &Links, f: &Filters, rows: &[Row], install: Option<&InstallTo>) -> String {
    let mut out = String::new();
    match links {
        Links::Live { token, .. } => {
            let _ = write!(
                out,
                "<form method=\"get\" action=\"/discover\" role=\"search\">\
                 <input type=\"hidden\" name=\"token\" value=\"{}\">\
                 <label for=\"q\">Search packs</label> \
                 <input id=\"q\" name=\"q\" type=\"search\" value=\"{}\"> {}{}{}{}\
                 <button type=\"submit\">Search</button></form>",
                esc(token),
                esc(&f.query),
                select("kind", "Kind", "All kinds", &KINDS, f.kind),
                select("signer", "Signer", "Any signer", &SIGNERS, f.signer),
                select("may", "May", "Anything", &MAY, f.may),
                select("sort", "Sort by", "", &SORTS, f.sort.or(Some("relevance"))),
            );
        }
        Links::Static => {
            let mut nav = vec![if f.kind.is_none() {
                "<strong>All</strong>".to_owned()
            } else {
                "<a href=\"index.html\">All</a>".to_owned()
            }];
            for (value, label) in KINDS {
                nav.push(if f.kind == Some(value) {
                    format!("<strong>{label}</strong>")
                } else {
                    format!("<a href=\"{value}.html\">{label}</a>")
                });
            }
            let _ = write!(
                out,
                "<nav aria-label=\"Kinds\"><p>{}</p></nav>",
                nav.join(" · ")
            );
        }
    }
    if rows.is_empty() {
        out.push_str(&notice("warn", "No pack matches."));
        return out;
    }
    let _ = write!(
        out,
        "<table><caption>{} pack{}</caption><thead><tr><th scope=\"col\">Pack</th>\
         <th scope=\"col\">Version</th><th scope=\"col\">Kind</th><th scope=\"col\">Description</th>\
         <th scope=\"col\">Signature</th><th scope=\"col\">May</th><th scope=\"col\">Size</th>\
         <th scope=\"col\">Registry</th>{}</tr></thead><tbody>",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        if install.is_some() {
            "<th scope=\"col\">Install</th>"
        } else {
            ""
        }
    );
    for r in rows {
        let h = r.hit;
        let (kind, may, size) = match r.info {
            Some(i) => (
                i.kind.clone(),
                i.permissions.join("; "),
                i.artifact
                    .as_ref()
                    .map_or("–".into(), |a| crate::printer::human_bytes(a.size)),
            ),
            None => ("?".into(), "?".into(), "–".into()),
        };
        let action = install.map_or(String::new(), |to| {
            format!(
                "<td>{}<input type=\"hidden\" name=\"target\" value=\"{}\">\
                 <input type=\"hidden\" name=\"pack\" value=\"{}\">\
                 <input type=\"hidden\" name=\"kind\" value=\"{}\">\
                 <input type=\"hidden\" name=\"registry\" value=\"{}\">\
                 <button type=\"submit\" aria-label=\"Install {} into {}\">Install</button></form></td>",
                links.post_form("/install"),
                esc(to.target),
                esc(&h.name),
                esc(&kind),
                esc(&h.source),
                esc(&h.name),
                esc(to.title)
            )
        });
        let _ = write!(
            out,
            "<tr><th scope=\"row\"><a href=\"{}\">{}</a></th><td>{}{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td>{action}</tr>",
            esc(&links.pack(&h.name, &h.source)),
            esc(&h.name),
            esc(&h.version),
            r.info.map_or(String::new(), |i| badges(i, &h.version)),
            esc(&kind),
            esc(&moderated(h.moderation.as_ref(), h.description.as_deref())),
            esc(&h.trust),
            esc(&may),
            esc(&size),
            esc(&h.source)
        );
    }
    out.push_str("</tbody></table>");
    out
}

pub(super) async fn discover(State(ui): State<Shared>, Query(q): Query<Params>) -> Response {
    let filters = Filters::from_query(&q);
    let opts = ui.opts.clone();
    let query = filters.query.clone();
    let wanted = filters.pack_kind();
    let work = blocking(move || -> Result<Vec<(Hit, Option<Info>)>> {
        let sources = ops::search::registries(&opts, &[])?;
        let src = crate::engine::context::source_options(&opts, false);
        let hits = ops::search::search(&query, wanted, &sources, &src)?;
        Ok(hits
            .into_iter()
            .map(|h| {
                let roots: Vec<_> = sources
                    .iter()
                    .filter(|(u, ..)| *u == h.source)
                    .cloned()
                    .collect();
                let info =
                    ops::search::info(&format!("{}@={}", h.name, h.version), &roots, &src).ok();
                (h, info)
            })
            .collect())
    })
    .await;
    match work {
        Some(Ok(found)) => {
            let rows = filters.apply(
                found
                    .iter()
                    .map(|(hit, info)| Row {
                        hit,
                        info: info.as_ref(),
                    })
                    .collect(),
            );
            let links = ui.links();
            let targets = ui.targets();
            let install = targets
                .first()
                .map(|(key, _, title)| InstallTo { target: key, title });
            html(
                StatusCode::OK,
                page(
                    &links,
                    "Discover",
                    "Discover packs",
                    &render(&links, &filters, &rows, install.as_ref()),
                ),
            )
        }
        Some(Err(e)) => failed(&ui, "Discover", "Discover packs", &e),
        None => failed(
            &ui,
            "Discover",
            "Discover packs",
            &Error::msg("the search stopped"),
        ),
    }
}
