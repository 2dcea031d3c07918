//! Explaining a failed resolution in plain words: the facts at the leaves of PubGrub's
//! derivation tree (who needs what, which versions are unusable and why), a headline naming
//! the conflict, and a hint.

use std::sync::Arc;

use pubgrub::{DerivationTree, External};
use semver::Version;

use super::index::IndexError;
use super::provider::{At, Pkg, Provider, VS};

/// A leaf of the derivation tree.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fact {
    /// `who` (in `versions`) depends on `dep` in `range`.
    Needs {
        who: Pkg,
        versions: VS,
        dep: Arc<str>,
        range: VS,
    },
    /// Some versions of a pack cannot be used (`requires-aibox`, broken metadata).
    Unusable {
        name: Arc<str>,
        versions: VS,
        reason: String,
    },
}

fn collect(tree: &DerivationTree<Pkg, VS, String>, out: &mut Vec<Fact>) {
    match tree {
        DerivationTree::Derived(d) => {
            collect(&d.cause1, out);
            collect(&d.cause2, out);
        }
        DerivationTree::External(e) => {
            let fact = match e {
                External::FromDependencyOf(who, versions, Pkg::Pack(dep), range) => Fact::Needs {
                    who: who.clone(),
                    versions: versions.clone(),
                    dep: dep.key(),
                    range: range.clone(),
                },
                External::Custom(Pkg::Pack(name), versions, reason) => Fact::Unusable {
                    name: name.key(),
                    versions: versions.clone(),
                    reason: reason.clone(),
                },
                _ => return,
            };
            if !out.contains(&fact) {
                out.push(fact);
            }
        }
    }
}

struct Words<'p, 'a> {
    provider: &'p Provider<'a>,
}

impl Words<'_, '_> {
    fn known_in(&self, name: &str, range: &VS) -> Vec<Version> {
        (0..)
            .zip(self.provider.known_versions(name).iter())
            .filter(|(at, _)| range.contains(at))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// "`app 1.0.0`", "every version of `app`", "`app` 1.0.0 to 1.4.0"; and whether plural.
    fn who(&self, who: &Pkg, versions: &VS) -> (String, bool) {
        match who {
            Pkg::Root => ("your project".into(), false),
            Pkg::Pack(name) => self.named(name, versions),
        }
    }

    /// [`Words::who`] for pack `name`.
    fn named(&self, name: &str, versions: &VS) -> (String, bool) {
        let all = self.provider.known_versions(name);
        let inside = self.known_in(name, versions);
        match inside.len() {
            0 => (format!("`{name}` (no known version)"), false),
            1 => (format!("`{name} {}`", inside[0]), false),
            n if n == all.len() => (format!("every version of `{name}`"), false),
            2 => (format!("`{name}` {} and {}", inside[0], inside[1]), true),
            _ => (
                format!("`{name}` {} to {}", inside[0], inside[inside.len() - 1]),
                true,
            ),
        }
    }

    /// The request text behind a dependency fact, else the versions it allows.
    fn request(&self, who: &Pkg, versions: &VS, dep: &Arc<str>, range: &VS) -> String {
        let first = match who {
            Pkg::Root => Some(0),
            Pkg::Pack(pack) => (0..pack.known() as At).find(|at| versions.contains(at)),
        };
        if let Some(text) = first.and_then(|at| self.provider.request_text(who, at, dep)) {
            return text;
        }
        let inside: Vec<String> = self
            .known_in(dep, range)
            .iter()
            .map(|v| format!("={v}"))
            .collect();
        if inside.is_empty() {
            "no known version".into()
        } else {
            inside.join(" or ")
        }
    }

    fn needs(&self, fact: &Fact) -> String {
        let Fact::Needs {
            who,
            versions,
            dep,
            range,
        } = fact
        else {
            return self.unusable(fact);
        };
        let (subject, plural) = self.who(who, versions);
        let verb = if plural { "need" } else { "needs" };
        let req = self.request(who, versions, dep, range);
        let mut text = format!("{subject} {verb} `{dep} {req}`");
        if self.known_in(dep, range).is_empty() {
            match self.provider.missing.borrow().get(&**dep) {
                Some(e) => text.push_str(&format!(", but {}", missing_words(e))),
                None => text.push_str(&format!(
                    ", but no version of `{dep}` matches `{req}` (available: {})",
                    super::index::available_list(&self.provider.known_versions(dep))
                )),
            }
        }
        text
    }

    fn unusable(&self, fact: &Fact) -> String {
        let Fact::Unusable {
            name,
            versions,
            reason,
        } = fact
        else {
            return self.needs(fact);
        };
        let (subject, _) = self.named(name, versions);
        format!("{subject} {reason}")
    }
}

fn missing_words(e: &IndexError) -> String {
    match e {
        IndexError::NotFound {
            name,
            source_url,
            suggestion,
        } => {
            let mut s = format!("there is no pack `{name}` in `{source_url}`");
            if let Some(sug) = suggestion {
                s.push_str(&format!(" (did you mean `{sug}`?)"));
            }
            s
        }
        other => other.to_string(),
    }
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The explanation (message) and hints for a derivation tree.
pub(crate) fn explain(
    tree: &DerivationTree<Pkg, VS, String>,
    provider: &Provider<'_>,
) -> (String, Vec<String>) {
    let mut facts = Vec::new();
    collect(tree, &mut facts);
    let words = Words { provider };
    let mut used = vec![false; facts.len()];
    let mut hints = Vec::new();
    let headline = headline(&facts, &words, &mut used, &mut hints);
    let rest: Vec<String> = facts
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(f, _)| format!("\n  - {}", words.needs(f)))
        .collect();
    let mut message = headline;
    if !rest.is_empty() {
        message.push_str("\nrequirements involved:");
        message.extend(rest);
    }
    (message, hints)
}

/// One `Needs` fact: its index, who needs, which pack and which versions.
type Need<'f> = (usize, &'f Pkg, &'f Arc<str>, &'f VS);

/// The first line of the error: the most specific explanation found, in this order: two
/// requirements with no version in common, three or more that only conflict together, a
/// requirement nothing matches, versions ruled out (requires-aibox, broken metadata). The
/// facts it cites are marked in `used`; its advice goes to `hints`.
fn headline(
    facts: &[Fact],
    words: &Words<'_, '_>,
    used: &mut [bool],
    hints: &mut Vec<String>,
) -> String {
    let needs: Vec<Need<'_>> = facts
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match f {
            Fact::Needs {
                who, dep, range, ..
            } => Some((i, who, dep, range)),
            Fact::Unusable { .. } => None,
        })
        .collect();
    if let Some(text) = pair_conflict(facts, &needs, words, used, hints)
        .or_else(|| group_conflict(facts, &needs, words, used, hints))
        .or_else(|| unmatched(facts, &needs, words, used, hints))
        .or_else(|| unusable_versions(facts, words, used, hints))
    {
        return text;
    }
    hints.push("relax the version requests in `aibox.toml`".into());
    "no combination of pack versions satisfies every requirement".into()
}

/// Advice for a conflict over `dep` among the facts of `group`: who to change in
/// `aibox.toml`, and whose authors could widen a range.
fn conflict_hint(facts: &[Fact], dep: &str, group: &[usize]) -> String {
    let mut names: Vec<String> = group
        .iter()
        .filter_map(|&i| match &facts[i] {
            Fact::Needs {
                who: Pkg::Pack(n), ..
            } => Some(format!("`{n}`")),
            _ => None,
        })
        .collect();
    names.dedup();
    let from_root = group
        .iter()
        .any(|&i| matches!(&facts[i], Fact::Needs { who: Pkg::Root, .. }));
    let mut ways = Vec::new();
    if !names.is_empty() {
        ways.push(format!(
            "request other versions of {} (or of the packs that pull them in)",
            join_and(&names)
        ));
    }
    if from_root {
        ways.push(format!("change the request for `{dep}`"));
    }
    let mut hint = format!("{} in `aibox.toml`", ways.join(" or "));
    if !names.is_empty() {
        hint.push_str(&format!(
            "; the authors of {} could also widen their range for `{dep}`",
            join_and(&names)
        ));
    }
    hint
}

/// Two requirements on one pack with no version in common.
fn pair_conflict(
    facts: &[Fact],
    needs: &[Need<'_>],
    words: &Words<'_, '_>,
    used: &mut [bool],
    hints: &mut Vec<String>,
) -> Option<String> {
    for (a, &(i, who_i, dep_i, range_i)) in needs.iter().enumerate() {
        for &(j, who_j, dep_j, range_j) in &needs[a + 1..] {
            if dep_i == dep_j
                && who_i != who_j
                && !words.known_in(dep_i, range_i).is_empty()
                && words
                    .known_in(dep_i, &range_i.intersection(range_j))
                    .is_empty()
            {
                used[i] = true;
                used[j] = true;
                // Packs in name order, the project's own request last.
                let order = |p: &Pkg| (matches!(p, Pkg::Root), p.to_string());
                let (i, j) = if order(who_i) <= order(who_j) {
                    (i, j)
                } else {
                    (j, i)
                };
                hints.push(conflict_hint(facts, dep_i, &[i, j]));
                return Some(format!(
                    "{} but {}; no version of `{dep_i}` satisfies both",
                    words.needs(&facts[i]),
                    words.needs(&facts[j])
                ));
            }
        }
    }
    None
}

/// Three or more requirements on one pack that only conflict together.
fn group_conflict(
    facts: &[Fact],
    needs: &[Need<'_>],
    words: &Words<'_, '_>,
    used: &mut [bool],
    hints: &mut Vec<String>,
) -> Option<String> {
    for &(_, _, dep, _) in needs {
        let group: Vec<usize> = needs.iter().filter(|n| n.2 == dep).map(|n| n.0).collect();
        let mut all = VS::full();
        for &(_, _, d, r) in needs {
            if d == dep {
                all = all.intersection(r);
            }
        }
        if group.len() >= 3 && words.known_in(dep, &all).is_empty() {
            let parts: Vec<String> = group.iter().map(|&i| words.needs(&facts[i])).collect();
            for &i in &group {
                used[i] = true;
            }
            hints.push(conflict_hint(facts, dep, &group));
            return Some(format!(
                "{}; no version of `{dep}` satisfies all of them",
                join_and(&parts)
            ));
        }
    }
    None
}

/// A requirement no known version matches.
fn unmatched(
    facts: &[Fact],
    needs: &[Need<'_>],
    words: &Words<'_, '_>,
    used: &mut [bool],
    hints: &mut Vec<String>,
) -> Option<String> {
    let &(i, _, dep, _) = needs.iter().find(|n| words.known_in(n.2, n.3).is_empty())?;
    used[i] = true;
    match words.provider.missing.borrow().get(&**dep) {
        Some(e) => hints.extend(crate::error::Hint::hints(e)),
        None => hints.push(match &facts[i] {
            Fact::Needs { who: Pkg::Pack(who), .. } => format!(
                "request another version of `{who}` (or of the packs that pull it in) in `aibox.toml`, or ask its authors to update its dependency on `{dep}`"
            ),
            _ => format!("change the request for `{dep}` in `aibox.toml` to match a published version"),
        }),
    }
    Some(words.needs(&facts[i]))
}

/// Versions ruled out by requires-aibox or broken metadata.
fn unusable_versions(
    facts: &[Fact],
    words: &Words<'_, '_>,
    used: &mut [bool],
    hints: &mut Vec<String>,
) -> Option<String> {
    let unusable: Vec<usize> = (0..facts.len())
        .filter(|&i| matches!(facts[i], Fact::Unusable { .. }))
        .collect();
    if unusable.is_empty() {
        return None;
    }
    let parts: Vec<String> = unusable
        .iter()
        .map(|&i| words.unusable(&facts[i]))
        .collect();
    let mut names: Vec<String> = unusable
        .iter()
        .filter_map(|&i| match &facts[i] {
            Fact::Unusable { name, .. } => Some(format!("`{name}`")),
            Fact::Needs { .. } => None,
        })
        .collect();
    names.dedup();
    for &i in &unusable {
        used[i] = true;
    }
    let mut text = format!(
        "no usable version of {} fits the requirements: {}",
        join_and(&names),
        join_and(&parts)
    );
    if parts.iter().any(|p| p.contains("requires aibox")) {
        let running = words.provider.aibox_version();
        text.push_str(&format!(" (this is aibox {running})"));
        hints.push(format!(
            "install a newer aibox, or request versions of {} that work with aibox {running}",
            join_and(&names)
        ));
    } else {
        hints.push(format!(
            "ask the authors of {} to publish fixed versions, or request other versions",
            join_and(&names)
        ));
    }
    Some(text)
}
