//! The HTML of the local page and of the static catalog: plain server-rendered documents (no
//! script, forms for every action) with landmarks, labels and table headers, so they work from
//! the keyboard and with a screen reader. Every value shown is escaped.

use std::fmt::Write as _;

use crate::engine::escalation::Escalation;
use crate::ops::search::Info;
use crate::ops::update::Outdated;
use crate::store::generations::{GenerationDiff, GenerationRecord};

/// How links are written: on the live page every URL carries the session token; the static
/// catalog links files.
#[derive(Debug, Clone)]
pub enum Links {
    Live {
        token: String,
        csrf: String,
        /// How many packs have a newer version (the Updates tab shows it), once known.
        updates: Option<usize>,
    },
    Static,
}

impl Links {
    fn token(&self) -> &str {
        match self {
            Links::Live { token, .. } => token,
            Links::Static => "",
        }
    }

    /// A live page: `path?token=…&k=v…`.
    pub fn live(&self, path: &str, params: &[(&str, &str)]) -> String {
        let mut url = format!("{path}?token={}", enc(self.token()));
        for (k, v) in params {
            let _ = write!(url, "&{k}={}", enc(v));
        }
        url
    }

    pub(super) fn pack(&self, name: &str, registry: &str) -> String {
        match self {
            Links::Live { .. } => self.live("/pack", &[("name", name), ("registry", registry)]),
            Links::Static => format!("packs/{}.html", enc(name)),
        }
    }

    /// The opening tag of a state-changing form posting to `path` (the token in its URL, the
    /// CSRF token in a hidden field).
    pub(super) fn post_form(&self, path: &str) -> String {
        let csrf = match self {
            Links::Live { csrf, .. } => csrf.as_str(),
            Links::Static => "",
        };
        format!(
            "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            esc(&self.live(path, &[])),
            esc(csrf)
        )
    }
}

/// HTML-escape text.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encode a URL query value.
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

const CSS: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fff}\
header{background:#123;color:#fff;padding:.5rem 1rem}header a{color:#fff}\
nav ul{list-style:none;display:flex;gap:1.5rem;margin:0;padding:0}\
nav a[aria-current=page]{font-weight:bold;text-decoration:underline}\
main{padding:1rem 2rem;max-width:72rem}table{border-collapse:collapse;margin:1rem 0;width:100%}\
th,td{border:1px solid #bbb;padding:.3rem .5rem;text-align:left;vertical-align:top}\
th{background:#eef}.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#ff0;color:#000}\
.warn{background:#fff3cd;border:1px solid #c90;padding:.5rem 1rem}.ok{background:#e6ffed;border:1px solid #2a2;padding:.5rem 1rem}\
.error{background:#fde;border:1px solid #c00;padding:.5rem 1rem}code,pre{background:#f4f4f4;padding:.1rem .3rem}\
:focus{outline:3px solid #f90}button{font:inherit;padding:.2rem .8rem}\
.badge{background:#fff3cd;border:1px solid #c90;border-radius:.3rem;padding:0 .3rem;margin-left:.3rem;font-size:.85em}";

/// A whole page: `title`, the nav (with `current` marked) and `body`.
pub fn page(links: &Links, current: &str, title: &str, body: &str) -> String {
    let nav: Vec<String> = match links {
        Links::Live { .. } => [
            ("Discover", "/discover"),
            ("Installed", "/installed"),
            ("Updates", "/updates"),
        ]
        .iter()
        .map(|(label, path)| {
            let cur = if *label == current {
                " aria-current=\"page\""
            } else {
                ""
            };
            let count = match links {
                Links::Live {
                    updates: Some(n), ..
                } if *label == "Updates" => format!(" ({n})"),
                _ => String::new(),
            };
            format!(
                "<li><a href=\"{}\"{cur}>{label}{count}</a></li>",
                esc(&links.live(path, &[]))
            )
        })
        .collect(),
        Links::Static => vec!["<li><a href=\"index.html\">All packs</a></li>".into()],
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} · aibox</title><style>{CSS}</style></head><body>\
         <a class=\"skip\" href=\"#main\">Skip to content</a>\
         <header><nav aria-label=\"Main\"><ul><li><strong>aibox</strong></li>{nav}</ul></nav></header>\
         <main id=\"main\"><h1>{t}</h1>\n{body}\n</main></body></html>\n",
        t = esc(title),
        nav = nav.join("")
    )
}

/// A message box (`ok`, `warn` or `error`), announced to screen readers.
pub fn notice(class: &str, text: &str) -> String {
    let role = if class == "error" { "alert" } else { "status" };
    format!("<div class=\"{class}\" role=\"{role}\">{}</div>", esc(text))
}

/// A hit's description, led by its registry's moderation verdict when that is not clean.
pub(super) fn moderated(
    m: Option<&crate::registry::moderation::Moderation>,
    description: Option<&str>,
) -> String {
    let description = description.unwrap_or("");
    match m.filter(|m| m.verdict != crate::registry::moderation::Verdict::Clean) {
        Some(m) => format!("Moderation: {}. {description}", m.describe()),
        None => description.to_owned(),
    }
}

/// Badges for a version's publisher marks (`yanked`, `deprecated`, its stage), each with the
/// publisher's text as its title; empty when it has none.
pub(super) fn badges(info: &Info, version: &str) -> String {
    let Some(m) = info.status.get(version) else {
        return String::new();
    };
    let mut out = String::new();
    for (word, text) in [
        ("yanked", m.yanked.as_deref()),
        ("deprecated", m.deprecated.as_deref()),
        (m.stage.as_deref().unwrap_or_default(), m.stage.as_deref()),
    ] {
        if let Some(text) = text {
            let title = if text == word || text.trim().is_empty() {
                String::new()
            } else {
                format!(" title=\"{}\"", esc(text.trim()))
            };
            let _ = write!(out, "<span class=\"badge\"{title}>{}</span>", esc(word));
        }
    }
    out
}

/// A pack's page: everything `aibox info` shows, and the command to add it.
pub fn pack(info: &Info) -> String {
    let mut out = String::new();
    let marked = badges(info, &info.version);
    if !marked.is_empty() {
        let _ = write!(
            out,
            "<p>{} {}{marked}</p>",
            esc(&info.name),
            esc(&info.version)
        );
    }
    if let Some(d) = &info.description {
        let _ = write!(out, "<p>{}</p>", esc(d));
    }
    let mut rows: Vec<(&str, String)> = vec![
        ("Version", info.version.clone()),
        ("Versions", info.versions_text()),
        ("Kind", info.kind.clone()),
    ];
    if let Some(a) = &info.artifact {
        rows.push(("Signature", a.trust.clone()));
        if !a.signers.is_empty() {
            rows.push(("Signed by", a.signers.join(", ")));
        }
        rows.push(("Size", crate::printer::human_bytes(a.size)));
        rows.push(("Digest", a.digest.clone()));
    }
    if let Some(c) = &info.checks {
        rows.push((
            "Checks",
            if c.is_empty() {
                "none declared by its aqua entry".to_owned()
            } else {
                format!(
                    "{} (declared by its aqua entry, made before it is stored)",
                    c.join(", ")
                )
            },
        ));
    }
    if let Some(m) = info
        .moderation
        .as_ref()
        .filter(|m| m.verdict != crate::registry::moderation::Verdict::Clean)
    {
        rows.push(("Moderation", m.describe()));
    }
    rows.push(("May", info.permissions.join("; ")));
    if info.kind == "skill" {
        rows.push((
            "Projected into",
            if info.agents.is_empty() {
                "the skills folders of the agents a project lists in `agents` (default `.agents/skills`)".to_owned()
            } else {
                info.agents.join(", ")
            },
        ));
    }
    rows.push(("Dependencies", info.dependencies_text()));
    if !info.bin.is_empty() {
        rows.push(("Commands", info.commands_text()));
    }
    rows.push(("Platforms", info.platforms_text()));
    for (k, v) in [
        ("License", &info.license),
        ("Homepage", &info.homepage),
        ("Repository", &info.repository),
    ] {
        if let Some(v) = v {
            rows.push((k, v.clone()));
        }
    }
    rows.push(("Registry", info.source.clone()));
    out.push_str("<table><tbody>");
    for (k, v) in rows {
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{k}</th><td>{}</td></tr>",
            esc(&v)
        );
    }
    out.push_str("</tbody></table>");
    let flag = match info.kind.as_str() {
        "skill" => "--skill ",
        "plugin" => "--plugin ",
        _ => "",
    };
    let _ = write!(
        out,
        "<h2>Add it</h2><p><code>aibox add {flag}{}@{}</code></p>",
        esc(&info.name),
        esc(&info.version)
    );
    if let Some(c) = &info.changelog {
        let _ = write!(out, "<h2>Changes</h2><pre>{}</pre>", esc(c));
    }
    out
}

/// One profile's generations, a diff form and a rollback button per generation.
pub fn generations(
    links: &Links,
    target: &str,
    title: &str,
    list: &[(u64, Result<GenerationRecord, String>)],
    current: Option<u64>,
) -> String {
    let mut out = format!(
        "<section aria-labelledby=\"{target}-h\"><h2 id=\"{target}-h\">{}</h2>",
        esc(title)
    );
    out.push_str(
        "<table><thead><tr><th scope=\"col\">Generation</th><th scope=\"col\">Created</th>\
         <th scope=\"col\">Packs</th><th scope=\"col\">Lock</th><th scope=\"col\">Action</th></tr></thead><tbody>",
    );
    for (id, record) in list.iter().rev() {
        let is_current = Some(*id) == current;
        let (created, packs, lock) = match record {
            Ok(r) => (
                r.created.clone(),
                r.packs
                    .iter()
                    .map(|p| {
                        // A local snapshot `aibox import` made of an unmanaged skill folder.
                        let legacy = p
                            .source
                            .as_deref()
                            .is_some_and(crate::ops::migrate::is_legacy);
                        format!(
                            "{} {}{}",
                            p.name,
                            p.version,
                            if legacy {
                                " (legacy: a local snapshot, move it to a registry)"
                            } else {
                                ""
                            }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                r.lock_hash
                    .as_deref()
                    .map(|h| h.chars().take(19).collect())
                    .unwrap_or_default(),
            ),
            Err(e) => (String::new(), format!("unreadable: {e}"), String::new()),
        };
        let action = if is_current {
            "current".to_owned()
        } else {
            format!(
                "{}<input type=\"hidden\" name=\"target\" value=\"{target}\">\
                 <input type=\"hidden\" name=\"to\" value=\"{id}\">\
                 <button type=\"submit\" aria-label=\"Switch {} to generation {id}\">Switch to {id}</button></form>",
                links.post_form("/rollback"),
                esc(title)
            )
        };
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{id}{}</th><td>{}</td><td>{}</td><td><code>{}</code></td><td>{action}</td></tr>",
            if is_current { " (current)" } else { "" },
            esc(&created),
            esc(if packs.is_empty() { "(empty)" } else { &packs }),
            esc(&lock)
        );
    }
    out.push_str("</tbody></table>");
    if let Links::Live { token, .. } = links {
        let options: String = list
            .iter()
            .map(|(id, _)| format!("<option value=\"{id}\">{id}</option>"))
            .collect();
        let _ = write!(
            out,
            "<form method=\"get\" action=\"/diff\"><input type=\"hidden\" name=\"token\" value=\"{}\">\
             <input type=\"hidden\" name=\"target\" value=\"{target}\">\
             <label for=\"{target}-a\">Compare generation</label> <select id=\"{target}-a\" name=\"a\">{options}</select> \
             <label for=\"{target}-b\">with</label> <select id=\"{target}-b\" name=\"b\">{options}</select> \
             <button type=\"submit\">Show the difference</button></form>",
            esc(token)
        );
    }
    out.push_str("</section>");
    out
}

/// What changed between two generations.
pub fn diff(a: u64, b: u64, d: &GenerationDiff) -> String {
    let mut out = format!("<p>From generation {a} to generation {b}:</p><ul>");
    let mut any = false;
    for (name, version) in &d.added {
        any = true;
        let _ = write!(out, "<li>added {} {}</li>", esc(name), esc(version));
    }
    for (name, version) in &d.removed {
        any = true;
        let _ = write!(out, "<li>removed {} {}</li>", esc(name), esc(version));
    }
    for (name, old, new) in &d.changed {
        any = true;
        let _ = write!(
            out,
            "<li>changed {} {} → {}</li>",
            esc(name),
            esc(old),
            esc(new)
        );
    }
    if !any {
        out.push_str("<li>no difference</li>");
    }
    out.push_str("</ul>");
    out
}

/// One profile's outdated packs, what newer versions ask for, and the update forms.
pub fn updates(
    links: &Links,
    target: &str,
    title: &str,
    outdated: &[Outdated],
    escalations: &[Escalation],
    changes: &[(String, String)],
) -> String {
    let mut out = format!(
        "<section aria-labelledby=\"{target}-u\"><h2 id=\"{target}-u\">{}</h2>",
        esc(title)
    );
    if outdated.is_empty() {
        out.push_str(&notice("ok", "Every locked pack is at its newest version."));
        out.push_str("</section>");
        return out;
    }
    out.push_str(
        "<table><thead><tr><th scope=\"col\">Pack</th><th scope=\"col\">Current</th>\
         <th scope=\"col\">In range</th><th scope=\"col\">Newest</th><th scope=\"col\">Change</th>\
         <th scope=\"col\">Changes</th><th scope=\"col\">Asks for more</th><th scope=\"col\">Update</th></tr></thead><tbody>",
    );
    for o in outdated {
        let asks = escalations
            .iter()
            .find(|e| e.name == o.name)
            .map(|e| e.asks.join("; "))
            .unwrap_or_default();
        let change = o
            .change
            .map(|c| format!("{c:?}").to_lowercase())
            .unwrap_or_default();
        let log = changes
            .iter()
            .find(|(n, _)| *n == o.name)
            .map(|(_, c)| c.clone())
            .unwrap_or_default();
        let form = if o.in_range != o.current {
            update_form(links, target, Some(&o.name), !asks.is_empty())
        } else {
            format!(
                "past the range in aibox.toml: <code>aibox update --major {}</code>",
                esc(&o.name)
            )
        };
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td><td>{}</td><td>{form}</td></tr>",
            esc(&o.name),
            esc(&o.current),
            esc(&o.in_range),
            esc(&o.newest),
            esc(&change),
            esc(if log.is_empty() { "–" } else { &log }),
            esc(if asks.is_empty() {
                "nothing more"
            } else {
                &asks
            })
        );
    }
    out.push_str("</tbody></table>");
    out.push_str(&update_form(links, target, None, !escalations.is_empty()));
    out.push_str("</section>");
    out
}

/// An update button (one pack, or all), with the confirmation box when it asks for more.
fn update_form(links: &Links, target: &str, pack: Option<&str>, asks: bool) -> String {
    let id = format!("{target}-confirm-{}", pack.unwrap_or("all"));
    let confirm = if asks {
        format!(
            "<input type=\"checkbox\" id=\"{id}\" name=\"confirm\" value=\"yes\"> \
             <label for=\"{id}\">Accept what it asks for</label> "
        )
    } else {
        String::new()
    };
    let label = match pack {
        Some(p) => format!("Update {}", esc(p)),
        None => "Update all within range".into(),
    };
    format!(
        "{}<input type=\"hidden\" name=\"target\" value=\"{target}\">\
         <input type=\"hidden\" name=\"pack\" value=\"{}\">{confirm}<button type=\"submit\">{label}</button></form>",
        links.post_form("/update"),
        esc(pack.unwrap_or(""))
    )
}

#[cfg(test)]
mod tests {
    use crate::store::generations::{GenerationPack, GenerationRecord};

    /// A pack's page and Discover rows carry a badge per publisher mark, its text as title.
    #[test]
    fn marked_versions_get_badges() {
        let mut info = crate::ops::search::Info::unknown("hello", "oci://r/p");
        info.version = "1.0.0".into();
        info.versions = vec!["1.0.0".into(), "1.1.0".into()];
        let marks = |y: Option<&str>, d: Option<&str>| crate::registry::lifecycle::Marks {
            yanked: y.map(Into::into),
            deprecated: d.map(Into::into),
            stage: None,
        };
        info.status
            .insert("1.0.0".into(), marks(None, Some("use <2>")));
        info.status.insert("1.1.0".into(), marks(Some(""), None));
        assert_eq!(
            super::badges(&info, "1.0.0"),
            "<span class=\"badge\" title=\"use &lt;2&gt;\">deprecated</span>"
        );
        assert_eq!(
            super::badges(&info, "1.1.0"),
            "<span class=\"badge\">yanked</span>"
        );
        let page = super::pack(&info);
        assert!(page.contains(">deprecated</span>"), "{page}");
        assert!(page.contains("1.1.0 (yanked)"), "{page}");
    }

    /// The Installed page marks a skill `aibox import` snapshotted from an unmanaged folder.
    #[test]
    fn legacy_skills_are_marked_on_the_installed_page() {
        let mut record = GenerationRecord::empty();
        record.id = 1;
        let pack = |name: &str, source: &str| GenerationPack {
            name: name.into(),
            version: "1.0.0".into(),
            kind: crate::manifest::pack::PackKind::Skill,
            tree: crate::store::tree::Hash::of(b""),
            store: String::new(),
            digest: None,
            source: Some(source.into()),
            signer: None,
        };
        record.packs = vec![
            pack("notes-helper", crate::ops::migrate::LOCAL_SKILLS_URL),
            pack("review-pr", "oci://registry.example/skills"),
        ];
        let html = super::generations(
            &super::Links::Static,
            "project",
            "p",
            &[(1, Ok(record))],
            Some(1),
        );
        assert!(
            html.contains("notes-helper 1.0.0 (legacy: a local snapshot"),
            "{html}"
        );
        assert!(
            html.contains("review-pr 1.0.0,") || html.contains("review-pr 1.0.0<"),
            "{html}"
        );
        assert_eq!(html.matches("legacy").count(), 1, "{html}");
    }
}
