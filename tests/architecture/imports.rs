//! The import graph of `src/`: every path a file names — `use` trees (nested groups, renames and
//! globs expanded), paths in code and types, paths inside macro calls, and intra-doc links —
//! resolved to the file that defines the module it names. Parsed with `syn`, so no path form
//! escapes the way a text scan lets `super::super::x` or `crate::{a::{b, c}}` through.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

/// A module path below the crate root (`["registry", "oci"]`); the root is `[]`.
pub type ModPath = Vec<String>;

/// One path a file names, made absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub path: ModPath,
    pub line: usize,
}

/// What one file names.
#[derive(Debug, Default)]
pub struct Names {
    pub named: Vec<Named>,
    /// `super::super::…` paths (line, text): an import that climbs over its own parent.
    pub upward: Vec<(usize, String)>,
    /// The file's re-exports (`pub use a::B;`, `pub(crate) use a::B as C;`): name → the
    /// absolute path it stands for. A re-export is an alias, not a use: a path through it is
    /// followed to where the item is defined.
    pub aliases: BTreeMap<String, ModPath>,
}

/// The paths `text` (the file of module `module`) names, made absolute. A path that starts
/// with neither `crate`, `super`, `self` nor a module of `known` (the modules of the crate) is
/// another crate's, or a local item's, and is left out.
pub fn names(text: &str, module: &[String], known: &BTreeSet<ModPath>) -> syn::Result<Names> {
    let file = syn::parse_file(text)?;
    let mut v = Visitor {
        scope: module.to_vec(),
        file: module.to_vec(),
        known,
        out: Names::default(),
        alias: false,
    };
    for attr in &file.attrs {
        v.visit_attribute(attr);
    }
    for item in &file.items {
        v.visit_item(item);
    }
    Ok(v.out)
}

struct Visitor<'a> {
    /// The module the visited code is in (a file's module, then its inline `mod`s).
    scope: ModPath,
    /// The file's own module.
    file: ModPath,
    known: &'a BTreeSet<ModPath>,
    out: Names,
    /// Whether the `use` tree being read is a re-export of the file's module.
    alias: bool,
}

impl Visitor<'_> {
    /// Record `segments` (as written) at `line`; in a re-export, as the alias `name`.
    fn record_as(&mut self, segments: &[String], line: usize, name: Option<&str>) {
        if segments.len() >= 2 && segments[0] == "super" && segments[1] == "super" {
            self.out.upward.push((line, segments.join("::")));
        }
        if let Some(path) = self.absolute(segments) {
            match name {
                Some(name) if self.alias => {
                    self.out.aliases.insert(name.to_owned(), path);
                }
                _ => self.out.named.push(Named { path, line }),
            }
        }
    }

    fn record(&mut self, segments: &[String], line: usize) {
        self.record_as(segments, line, None);
    }

    fn absolute(&self, segments: &[String]) -> Option<ModPath> {
        let (first, rest) = segments.split_first()?;
        let mut base = match first.as_str() {
            "crate" => Vec::new(),
            "self" => self.scope.clone(),
            "super" => {
                let mut base = self.scope.clone();
                base.pop()?;
                let mut rest = rest;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop()?;
                    rest = &rest[1..];
                }
                base.extend(rest.iter().cloned());
                return Some(base);
            }
            _ => {
                // A child module of the current one, named without `self::`.
                let mut child = self.scope.clone();
                child.push(first.clone());
                if !self.known.contains(&child) {
                    return None;
                }
                child.extend(rest.iter().cloned());
                return Some(child);
            }
        };
        base.extend(rest.iter().cloned());
        Some(base)
    }

    /// Every path of a `use` tree, groups and globs expanded.
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let line = n.ident.span().start().line;
                if n.ident == "self" {
                    let whole = prefix.clone();
                    let name = whole.last().cloned();
                    self.record_as(&whole, line, name.as_deref());
                } else {
                    prefix.push(n.ident.to_string());
                    let whole = prefix.clone();
                    self.record_as(&whole, line, Some(&n.ident.to_string()));
                    prefix.pop();
                }
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                let whole = prefix.clone();
                let line = r.ident.span().start().line;
                self.record_as(&whole, line, Some(&r.rename.to_string()));
                prefix.pop();
            }
            syn::UseTree::Glob(g) => {
                let whole = prefix.clone();
                self.record(&whole, g.star_token.spans[0].start().line);
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }

    /// Paths inside a macro call's tokens: `crate :: a :: b`, `super :: x`, `self :: y`.
    fn tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < trees.len() {
            match &trees[i] {
                TokenTree::Group(g) => {
                    self.tokens(g.stream());
                    i += 1;
                }
                TokenTree::Ident(id)
                    if (id == "crate" || id == "super" || id == "self")
                        && !preceded_by_colons(&trees, i) =>
                {
                    let line = id.span().start().line;
                    let mut segments = vec![id.to_string()];
                    let mut j = i + 1;
                    while j + 2 < trees.len() && is_colons(&trees, j) {
                        match &trees[j + 2] {
                            TokenTree::Ident(next) => {
                                segments.push(next.to_string());
                                j += 3;
                            }
                            _ => break,
                        }
                    }
                    if segments.len() > 1 {
                        self.record(&segments, line);
                    }
                    i = j.max(i + 1);
                }
                _ => i += 1,
            }
        }
    }

    /// Intra-doc links: `[`crate::a::b`]`, `[x](super::y)`.
    fn doc(&mut self, text: &str, line: usize) {
        for start in ["crate::", "super::", "self::"] {
            for (at, _) in text.match_indices(start) {
                // A link: `[crate::x]`, `[`crate::x`]` or `[text](crate::x)`; code spans
                // that are not links are prose.
                let before = &text[..at];
                if !(before.ends_with('[') || before.ends_with("[`") || before.ends_with("](")) {
                    continue;
                }
                let path: String = text[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                let segments: Vec<String> = path
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                if segments.len() > 1 {
                    self.record(&segments, line);
                }
            }
        }
    }
}

/// `#[cfg(test)]`.
fn is_cfg_test(a: &syn::Attribute) -> bool {
    a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
}

fn is_colons(trees: &[TokenTree], at: usize) -> bool {
    matches!((trees.get(at), trees.get(at + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) if a.as_char() == ':' && b.as_char() == ':')
}

/// Whether the ident at `at` follows `::` (then it is not the start of a path).
fn preceded_by_colons(trees: &[TokenTree], at: usize) -> bool {
    at >= 2 && is_colons(trees, at - 2)
}

impl<'ast> Visit<'ast> for Visitor<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        // Unit tests (`#[cfg(test)] mod tests { … }`) are not part of the architecture: they
        // may reach for whatever builds their fixtures.
        if m.attrs.iter().any(is_cfg_test) {
            return;
        }
        for attr in &m.attrs {
            self.visit_attribute(attr);
        }
        if let Some((_, items)) = &m.content {
            self.scope.push(m.ident.to_string());
            for item in items {
                self.visit_item(item);
            }
            self.scope.pop();
        }
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        for attr in &u.attrs {
            self.visit_attribute(attr);
        }
        if u.leading_colon.is_none() {
            self.alias = self.scope == self.file && !matches!(u.vis, syn::Visibility::Inherited);
            self.use_tree(&mut Vec::new(), &u.tree);
            self.alias = false;
        }
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        if p.leading_colon.is_none() && p.segments.len() >= 2 {
            let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
            let line = p.segments[0].ident.span().start().line;
            self.record(&segments, line);
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.tokens(m.tokens.clone());
        syn::visit::visit_macro(self, m);
    }

    fn visit_attribute(&mut self, a: &'ast syn::Attribute) {
        if let syn::Meta::NameValue(nv) = &a.meta
            && nv.path.is_ident("doc")
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
        {
            self.doc(&s.value(), s.span().start().line);
            return;
        }
        syn::visit::visit_attribute(self, a);
    }
}

/// The file (by module path) that defines `path`: its longest prefix that is a file's module,
/// re-exports followed (`aliases`: each file's, as [`Names::aliases`]).
pub fn owner<'a>(
    path: &[String],
    files: &'a BTreeSet<ModPath>,
    aliases: &BTreeMap<ModPath, BTreeMap<String, ModPath>>,
) -> Option<&'a ModPath> {
    let mut path = path.to_vec();
    // A chain of re-exports is short; a loop of them (which rustc refuses) stops here.
    for _ in 0..16 {
        let file = (0..=path.len())
            .rev()
            .find_map(|n| files.get(&path[..n].to_vec()))?;
        let next = path
            .get(file.len())
            .and_then(|name| aliases.get(file)?.get(name));
        match next {
            Some(target) => {
                let mut followed = target.clone();
                followed.extend(path[file.len() + 1..].iter().cloned());
                path = followed;
            }
            None => return Some(file),
        }
    }
    None
}

/// The cycles of `graph` (its strongly connected components of more than one node, and nodes
/// with an edge to themselves are not kept in the graph), each sorted.
pub fn cycles(graph: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<Vec<ModPath>> {
    struct Tarjan<'g> {
        graph: &'g BTreeMap<ModPath, BTreeSet<ModPath>>,
        index: BTreeMap<&'g ModPath, usize>,
        low: BTreeMap<&'g ModPath, usize>,
        stack: Vec<&'g ModPath>,
        on_stack: BTreeSet<&'g ModPath>,
        next: usize,
        out: Vec<Vec<ModPath>>,
    }
    impl<'g> Tarjan<'g> {
        fn visit(&mut self, v: &'g ModPath) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                loop {
                    let w = self.stack.pop().unwrap();
                    self.on_stack.remove(w);
                    component.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.out.push(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    // Nodes that are only targets are visited through their sources; every key is a start.
    let keys: Vec<&ModPath> = graph.keys().collect();
    for k in keys {
        if !t.index.contains_key(k) {
            t.visit(k);
        }
    }
    t.out.sort();
    t.out
}
