//! `aibox catalog build`: the discover pages as a static site a team can host next to its
//! registry — `index.html` (every pack, with signer, permissions and size) and one page per
//! pack under `packs/` — rendered by the same code as the local page.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fs;
use crate::ops::{self, Options};

use super::discover::{self, Filters, Row};
use super::pages::{self, Links};

/// What was written.
#[derive(Debug)]
pub struct Built {
    pub dir: PathBuf,
    pub packs: usize,
}

/// Write the catalog of `registries` into `out`.
pub fn build(opts: &Options, registries: &[String], out: &Path) -> Result<Built> {
    let sources = ops::search::registries(opts, registries)?;
    let src = crate::engine::context::source_options(opts, false);
    let hits = ops::search::search("", None, &sources, &src)?;
    let mut infos = Vec::new();
    for h in &hits {
        let roots: Vec<_> = sources
            .iter()
            .filter(|(u, ..)| *u == h.source)
            .cloned()
            .collect();
        infos.push(ops::search::info(
            &format!("{}@={}", h.name, h.version),
            &roots,
            &src,
        )?);
    }
    let write = |path: &Path, text: &str| {
        fs::create_dir_all(path.parent().expect("has a parent"))
            .and_then(|_| fs::write_atomic(path, text.as_bytes()))
            .map_err(|e| Error::io(format!("cannot write `{}`", path.display()), e))
    };
    let links = Links::Static;
    let rows: Vec<Row> = hits
        .iter()
        .zip(&infos)
        .map(|(hit, info)| Row {
            hit,
            info: Some(info),
        })
        .collect();
    let title = format!("Packs of {}", registries.join(", "));
    write(
        &out.join("index.html"),
        &pages::page(
            &links,
            "",
            &title,
            &discover::render(&links, &Filters::of_kind(None), &rows, None),
        ),
    )?;
    // One page per kind, linked from each: the static site's kind filter.
    for (kind, label) in discover::KINDS {
        let of_kind: Vec<Row> = rows
            .iter()
            .filter(|r| r.hit.kind == kind)
            .map(|r| Row {
                hit: r.hit,
                info: r.info,
            })
            .collect();
        let title = format!("{label} of {}", registries.join(", "));
        write(
            &out.join(format!("{kind}.html")),
            &pages::page(
                &links,
                "",
                &title,
                &discover::render(&links, &Filters::of_kind(Some(kind)), &of_kind, None),
            ),
        )?;
    }
    for info in &infos {
        // Names are validated pack names (`[a-z0-9-]`): safe as file names.
        let title = format!("{} {}", info.name, info.version);
        let body = pages::pack(info).replace("href=\"packs/", "href=\"");
        write(
            &out.join("packs").join(format!("{}.html", info.name)),
            &pages::page(&links, "", &title, &body)
                .replace("href=\"index.html\"", "href=\"../index.html\""),
        )?;
    }
    Ok(Built {
        dir: out.to_owned(),
        packs: infos.len(),
    })
}
