//! The architecture map is true: the README's "Code layout" table names exactly the modules of
//! `src/lib.rs`, `src/lib.rs` lists the same layers, no module uses a module of its own or a
//! higher layer, and the files of `src/` import each other without a cycle — inside a folder
//! and between a `mod.rs` and its children — and never by `super::super` (see
//! `architecture/imports.rs` for how every path form is found).
// Tests read the repository with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;
#[path = "architecture/imports.rs"]
mod imports;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use imports::ModPath;

/// Module → layer, from the README table rows "| `name.rs` or `name/` | N | … |".
fn readme_layers(root: &Path) -> BTreeMap<String, u32> {
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let table = readme
        .split("## Code layout")
        .nth(1)
        .expect("the README has a Code layout section");
    let mut out = BTreeMap::new();
    for line in table.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`');
        let name = name.trim_end_matches(".rs").trim_end_matches('/');
        let layer: u32 = cells[2]
            .parse()
            .unwrap_or_else(|_| panic!("no layer number in `{line}`"));
        assert!(out.insert(name.to_owned(), layer).is_none(), "{name} twice");
    }
    out
}

/// Module → layer, from the `//! N. [`a`], [`b`]` lines of src/lib.rs, and its `pub mod`s.
fn lib_layers(root: &Path) -> (BTreeMap<String, u32>, Vec<String>) {
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let mut layers = BTreeMap::new();
    let mut mods = Vec::new();
    for line in lib.lines() {
        if let Some(rest) = line.strip_prefix("//! ")
            && let Some((n, names)) = rest.split_once(". [")
            && let Ok(n) = n.parse::<u32>()
        {
            for name in format!("[{names}").split(", ") {
                layers.insert(name.trim_matches(['[', ']', '`']).to_owned(), n);
            }
        }
        if let Some(m) = line.strip_prefix("pub mod ") {
            mods.push(m.trim_end_matches(';').to_owned());
        }
    }
    (layers, mods)
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module a file of `src/` defines (`src/a/mod.rs` and `src/a.rs` are `a`; `src/lib.rs`
/// is the root); `None` for the binary's `main.rs`.
fn module_of(rel: &Path) -> Option<ModPath> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop()?;
    match last.as_str() {
        "lib.rs" if parts.is_empty() => Some(parts),
        "main.rs" if parts.is_empty() => None,
        "mod.rs" => Some(parts),
        name => {
            parts.push(name.trim_end_matches(".rs").to_owned());
            Some(parts)
        }
    }
}

/// The import graph of a set of files (module path → text): edges between files, and every
/// problem found — an upward `super::super` import or a file that does not parse.
struct Graph {
    edges: BTreeMap<ModPath, BTreeSet<ModPath>>,
    /// For each edge, the first place it is made (file, line).
    where_: BTreeMap<(ModPath, ModPath), usize>,
    /// The top-level modules each file names in a path (as written, before re-exports are
    /// followed), with the first line naming each.
    written: BTreeMap<(ModPath, String), usize>,
    problems: Vec<String>,
}

fn graph(files: &BTreeMap<ModPath, String>) -> Graph {
    let known: BTreeSet<ModPath> = files.keys().cloned().collect();
    let mut g = Graph {
        edges: BTreeMap::new(),
        where_: BTreeMap::new(),
        written: BTreeMap::new(),
        problems: Vec::new(),
    };
    let mut parsed = BTreeMap::new();
    for (module, text) in files {
        match imports::names(text, module, &known) {
            Ok(n) => {
                parsed.insert(module.clone(), n);
            }
            Err(e) => g
                .problems
                .push(format!("{}: does not parse: {e}", shown(module))),
        }
    }
    let aliases: BTreeMap<ModPath, BTreeMap<String, ModPath>> = parsed
        .iter_mut()
        .map(|(m, n)| (m.clone(), std::mem::take(&mut n.aliases)))
        .collect();
    for (module, names) in parsed {
        for (line, path) in names.upward {
            g.problems.push(format!(
                "{}:{line}: `{path}` climbs over its own parent (name the module by `crate::`)",
                shown(&module)
            ));
        }
        g.edges.entry(module.clone()).or_default();
        for named in names.named {
            // A path written through another top-level module's re-export still names that
            // module: `crate::ops::Options` in `engine` is an upward import even though the
            // item is defined lower down.
            if let (Some(written), Some(own)) = (named.path.first(), module.first())
                && written != own
                && known.contains(&vec![written.clone()])
            {
                g.written
                    .entry((module.clone(), written.clone()))
                    .or_insert(named.line);
            }
            let Some(to) = imports::owner(&named.path, &known, &aliases) else {
                continue;
            };
            if *to == module {
                continue;
            }
            g.edges
                .entry(module.clone())
                .or_default()
                .insert(to.clone());
            g.where_
                .entry((module.clone(), to.clone()))
                .or_insert(named.line);
        }
    }
    g
}

fn shown(module: &[String]) -> String {
    if module.is_empty() {
        "crate".into()
    } else {
        module.join("::")
    }
}

/// Every problem of the graph: cycles (each with the edges that make it), and upward imports.
fn cycle_problems(g: &Graph) -> Vec<String> {
    let mut out = Vec::new();
    for cycle in imports::cycles(&g.edges) {
        let members: BTreeSet<&ModPath> = cycle.iter().collect();
        let mut edges = Vec::new();
        for from in &cycle {
            for to in &g.edges[from] {
                if members.contains(to) {
                    edges.push(format!(
                        "{} → {} (line {})",
                        shown(from),
                        shown(to),
                        g.where_[&(from.clone(), to.clone())]
                    ));
                }
            }
        }
        out.push(format!(
            "an import cycle of {} files: {}",
            cycle.len(),
            edges.join(", ")
        ));
    }
    out
}

fn src_files(root: &Path) -> BTreeMap<ModPath, String> {
    let mut paths = Vec::new();
    sources(&root.join("src"), &mut paths);
    let mut files = BTreeMap::new();
    for p in paths {
        let rel = p.strip_prefix(root.join("src")).unwrap();
        if let Some(m) = module_of(rel) {
            files.insert(m, std::fs::read_to_string(&p).unwrap());
        }
    }
    files
}

#[test]
fn the_code_layout_is_true() {
    let root = common::repo_root();
    let readme = readme_layers(&root);
    let (lib, mods) = lib_layers(&root);
    let mut sorted = mods.clone();
    sorted.sort();
    assert_eq!(
        readme.keys().cloned().collect::<Vec<_>>(),
        sorted,
        "the README's Code layout table and the `pub mod`s of src/lib.rs"
    );
    assert_eq!(readme, lib, "the layers in the README and in src/lib.rs");
    let files = src_files(&root);
    let g = graph(&files);
    let mut violations = g.problems.clone();
    for (from, tos) in &g.edges {
        let (Some(top_from), false) = (from.first(), from.is_empty()) else {
            continue;
        };
        for to in tos {
            let Some(top_to) = to.first() else {
                continue;
            };
            if top_to == top_from {
                continue;
            }
            let (Some(lf), Some(lt)) = (readme.get(top_from), readme.get(top_to)) else {
                violations.push(format!(
                    "{}: `{top_to}` is not in the layer map",
                    shown(from)
                ));
                continue;
            };
            if lt >= lf {
                violations.push(format!(
                    "{}:{}: `{top_from}` (layer {lf}) uses `{}` (`{top_to}`, layer {lt})",
                    shown(from),
                    g.where_[&(from.clone(), to.clone())],
                    shown(to)
                ));
            }
        }
    }
    for ((from, written), line) in &g.written {
        let (Some(lf), Some(lt)) = (readme.get(&from[0]), readme.get(written)) else {
            continue;
        };
        if lt >= lf {
            violations.push(format!(
                "{}:{line}: `{}` (layer {lf}) names `{written}` (layer {lt})",
                shown(from),
                from[0]
            ));
        }
    }
    violations.extend(cycle_problems(&g));
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

fn planted(files: &[(&str, &str)]) -> Graph {
    let files = files
        .iter()
        .map(|(m, text)| {
            let m: ModPath = if m.is_empty() {
                Vec::new()
            } else {
                m.split("::").map(str::to_owned).collect()
            };
            (m, text.to_string())
        })
        .collect();
    graph(&files)
}

fn edges_of(g: &Graph, from: &str) -> Vec<String> {
    let from: ModPath = from.split("::").map(str::to_owned).collect();
    g.edges[&from].iter().map(|m| shown(m)).collect()
}

#[test]
fn the_checker_sees_every_path_form() {
    let g = planted(&[
        ("", "pub mod a; pub mod b; pub mod c; pub mod d;"),
        ("a", "mod x;"),
        ("a::x", ""),
        ("b", ""),
        ("c", ""),
        ("d", ""),
        (
            "e",
            "use crate::{a::{x::Thing, self}, b};\n\
             fn f() { let _ = crate::c::g(); }\n\
             /// See [`crate::d::D`].\n\
             fn h() { assert!(matches!(v, crate::store::Y)); }\n",
        ),
        ("store", ""),
    ]);
    assert_eq!(edges_of(&g, "e"), ["a", "a::x", "b", "c", "d", "store"]);
}

#[test]
fn the_checker_refuses_a_cycle_inside_a_folder_and_between_parent_and_child() {
    let g = planted(&[
        ("r", "mod x; mod y; pub use x::X;"),
        ("r::x", "use super::y::Y;"),
        ("r::y", "fn f() -> super::x::X { todo!() }"),
    ]);
    let problems = cycle_problems(&g);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("r::x → r::y") && problems[0].contains("r::y → r::x"));
    // A child naming an item of its parent while the parent calls into the child.
    let g = planted(&[
        ("r", "mod x; pub struct E; fn f() { x::g() }"),
        ("r::x", "use super::E; pub fn g() {}"),
    ]);
    assert_eq!(cycle_problems(&g).len(), 1);
    // A re-export is an alias, followed to where the item is defined: a child naming its
    // sibling's item through the parent depends on the sibling, not the parent.
    let g = planted(&[
        ("r", "mod x; mod y; pub use y::Y; pub struct E;"),
        ("r::x", "use super::{E, Y};"),
        ("r::y", "pub struct Y;"),
    ]);
    assert!(cycle_problems(&g).is_empty());
    assert_eq!(edges_of(&g, "r::x"), ["r", "r::y"]);
    assert!(edges_of(&g, "r").is_empty());
}

#[test]
fn the_checker_refuses_an_upward_import() {
    let g = planted(&[
        ("r", "mod s;"),
        ("r::s", "mod t;"),
        ("r::s::t", "fn f() { super::super::g(); }"),
    ]);
    assert_eq!(g.problems.len(), 1, "{:?}", g.problems);
    assert!(g.problems[0].starts_with("r::s::t:1: `super::super::g`"));
}

/// Output settings travel as a `Reporter` value passed down from the CLI: the library keeps no
/// global output state (a `static` in `printer.rs` would bring back process-wide settings that
/// every module reads behind its caller's back).
#[test]
fn reporting_is_passed_down_not_global() {
    let root = common::repo_root();
    let printer = std::fs::read_to_string(root.join("src/printer.rs")).unwrap();
    for global in [
        "static ",
        "OnceLock",
        "thread_local!",
        "lazy_static",
        "LazyLock",
    ] {
        assert!(
            !printer.contains(global),
            "src/printer.rs holds global state (`{global}`)"
        );
    }
    assert!(printer.contains("pub struct Reporter"));
}

/// The aibox home is resolved once, by the CLI, and passed down in the options: no other file
/// of `src/` resolves it from the environment or opens a store of its own choosing; and the
/// environment is read from the one snapshot `env_vars` takes.
#[test]
fn the_home_is_resolved_once_by_the_cli_and_passed_down() {
    let root = common::repo_root();
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    let mut resolving = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&root).unwrap();
        let text = std::fs::read_to_string(f).unwrap();
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        if code.contains("Home::of_process()") && !rel.starts_with("src/cli") {
            resolving.push(rel.display().to_string());
        }
        if rel != Path::new("src/store/layout.rs")
            && (code.contains("Layout::from_env") || code.contains("Layout::default_home"))
        {
            resolving.push(rel.display().to_string());
        }
        // The environment too: read once, from the snapshot `env_vars` takes.
        // (Code that aibox writes for others — `plugin init`'s template — is a string.)
        let reads = |call: &str| {
            code.match_indices(call)
                .any(|(i, _)| !code[i + call.len()..].starts_with("\\\""))
        };
        if rel != Path::new("src/env_vars.rs")
            && (reads("std::env::var(") || reads("std::env::var_os("))
        {
            resolving.push(rel.display().to_string());
        }
    }
    assert!(
        resolving.is_empty(),
        "resolve the home from the environment outside the CLI: {resolving:?}"
    );
    let layout = std::fs::read_to_string(root.join("src/store/layout.rs")).unwrap();
    assert!(
        layout.contains("    fn from_env() -> Option<Layout>"),
        "from_env stays private"
    );
}
