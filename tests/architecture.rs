//! The architecture map is true: the README's "Code layout" table names exactly the modules of
//! `src/lib.rs`, `src/lib.rs` lists the same layers, and no module uses (`crate::…`) a module
//! of its own or a higher layer.
// Tests read the repository with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

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

/// Every top-level module a Rust source names as `crate::x`, including `crate::{x, y::z}`.
fn uses(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                let item = item.trim();
                let first = item.split("::").next().unwrap_or(item);
                if !first.is_empty() && first != "self" {
                    out.push(first.to_owned());
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `crate::outln!(…)`: an exported macro (defined in `printer`, layer 0).
            if rest[name.len()..].starts_with('!') {
                continue;
            }
            out.push(name);
        }
    }
    out
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
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
    let mut violations = Vec::new();
    for m in &mods {
        let mut files = Vec::new();
        let dir = root.join("src").join(m);
        if dir.is_dir() {
            sources(&dir, &mut files);
        } else {
            files.push(root.join(format!("src/{m}.rs")));
        }
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for used in uses(&text) {
                if used == *m {
                    continue;
                }
                let Some(layer) = readme.get(&used) else {
                    violations.push(format!("{}: `crate::{used}` is not a module", f.display()));
                    continue;
                };
                if *layer >= readme[m] {
                    violations.push(format!(
                        "{}: `{m}` (layer {}) uses `{used}` (layer {layer})",
                        f.display(),
                        readme[m]
                    ));
                }
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_checker_sees_grouped_and_nested_paths() {
    let text = "use crate::{fs, store::Store};\nlet x = crate::registry::open();\n";
    assert_eq!(uses(text), ["fs", "store", "registry"]);
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
