//! Every command aibox names exists: each backticked `aibox …` in the source (hints, errors,
//! `--help` text), the rendered `--help` of every command, the README, `docs/` and
//! `store-format/` must parse with the real command-line definition.
// Tests read the repository with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::Path;

use aibox::cli::Cli;
use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};

/// Every `aibox …` between backticks in `text`.
fn mentions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1
            && let Some(rest) = part.strip_prefix("aibox")
            && (rest.is_empty() || rest.starts_with(' '))
        {
            out.push(part.to_owned());
        }
    }
    out
}

/// The words to give clap: placeholders (`<pack>`, `{name}`, `N`) become a sample value, optional
/// parts (`[…]`) and ellipses are dropped, `a|b` alternatives take the first.
fn words(mention: &str) -> Vec<String> {
    // `aibox a | b | c` lists commands: check the first.
    let mention = mention.split(" | ").next().unwrap_or(mention);
    let mut out = Vec::new();
    let mut depth = 0;
    for word in mention.split_whitespace().skip(1) {
        if word.starts_with('[') {
            depth += word.matches('[').count();
        }
        if depth > 0 {
            depth -= word.matches(']').count().min(depth);
            continue;
        }
        if word == "…" || word == "..." || word == "|" {
            continue;
        }
        // A shell redirection ends the command.
        if word.starts_with('>') || word.starts_with("2>") {
            break;
        }
        let word = word.split('|').next().unwrap_or(word);
        let word = word.trim_end_matches(['…', ',']);
        if word.contains('<') || word.contains('{') || word == "N" {
            out.push(
                if word.contains("<N>") || word == "N" || word.contains("{n}") {
                    "1".into()
                } else if let Some((flag, _)) = word.split_once('=') {
                    format!("{flag}=x")
                } else {
                    "x".into()
                },
            );
        } else {
            out.push(word.trim_matches('"').to_owned());
        }
    }
    out
}

fn check(mention: &str, origin: &str, failures: &mut Vec<String>) {
    let mut argv = vec!["aibox".to_owned()];
    argv.extend(words(mention));
    let placeholders = mention.contains('<') || mention.contains('{');
    match Cli::try_parse_from(&argv) {
        // `aibox <name>` (a placeholder) is how docs speak of plugins; any other name is not a
        // command.
        Ok(cli) => match cli.plugin() {
            Some(name) if name != "x" => failures.push(format!(
                "{origin}: `{mention}` → no such command (it would run a plugin `{name}`)"
            )),
            _ => {}
        },
        // A placeholder stands for a value the sample cannot guess (`--template <level>`).
        Err(e) if placeholders && e.kind() == ErrorKind::InvalidValue => {}
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::MissingRequiredArgument
                    | ErrorKind::MissingSubcommand
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) => {}
        Err(e) => failures.push(format!("{origin}: `{mention}` → {:?}: {e}", e.kind())),
    }
}

fn files(dir: &Path, ext: &str, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

#[test]
fn every_command_named_in_hints_help_and_docs_exists() {
    let root = common::repo_root();
    let mut sources = Vec::new();
    files(&root.join("src"), "rs", &mut sources);
    files(&root.join("docs"), "md", &mut sources);
    files(&root.join("store-format"), "md", &mut sources);
    sources.push(root.join("README.md"));
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in &sources {
        let text = std::fs::read_to_string(path).unwrap();
        for m in mentions(&text) {
            checked += 1;
            check(
                &m,
                &path.strip_prefix(&root).unwrap().display().to_string(),
                &mut failures,
            );
        }
    }
    // The rendered help of every command and subcommand.
    fn walk(cmd: &mut clap::Command, path: &str, failures: &mut Vec<String>, checked: &mut usize) {
        let help = cmd.render_long_help().to_string();
        for m in mentions(&help) {
            *checked += 1;
            check(&m, &format!("`{path} --help`"), failures);
        }
        for sub in cmd.get_subcommands_mut() {
            let name = format!("{path} {}", sub.get_name());
            walk(sub, &name, failures, checked);
        }
    }
    walk(&mut Cli::command(), "aibox", &mut failures, &mut checked);
    assert!(
        checked > 100,
        "only {checked} mentions found: the scan is broken"
    );
    assert!(
        failures.is_empty(),
        "commands that do not exist:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_checker_rejects_what_does_not_exist() {
    let mut failures = Vec::new();
    for bad in [
        "aibox selfie update",
        "aibox sync --lockd",
        "aibox env --shell tcsh",
        "aibox frobnicate <pack>",
    ] {
        check(bad, "test", &mut failures);
    }
    assert_eq!(failures.len(), 4, "{failures:#?}");
    for good in [
        "aibox sync --locked",
        "aibox self update --version <REQ>",
        "aibox add <pack>[@req] [--plugin]",
        "aibox rollback --to <N>",
        "aibox run -- <cmd> [args…]",
        "aibox lock --upgrade-package {name}",
    ] {
        let mut f = Vec::new();
        check(good, "test", &mut f);
        assert!(f.is_empty(), "{f:?}");
    }
}

#[test]
fn security_md_lists_every_protected_variable_with_its_source() {
    use aibox::manifest::env_rule::{GROUPS, RESERVED};
    let text = std::fs::read_to_string(common::repo_root().join("docs/security.md")).unwrap();
    let start = text
        .find("### Variables a pack may not set")
        .expect("docs/security.md has the section");
    let section = &text[start..];
    let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| `")).collect();
    let mut missing = Vec::new();
    for group in std::iter::once(&RESERVED).chain(GROUPS) {
        let row = rows
            .iter()
            .find(|r| r.contains(group.source) && r.contains(group.what));
        match row {
            None => missing.push(format!("a row for {:?} ({})", group.what, group.source)),
            Some(row) => missing.extend(
                group
                    .names
                    .iter()
                    .filter(|n| !row.contains(&format!("`{n}`")))
                    .map(|n| format!("`{n}` in the row of {:?}", group.what)),
            ),
        }
    }
    assert!(
        missing.is_empty(),
        "docs/security.md lacks:\n{}",
        missing.join("\n")
    );
}

/// Every `AIBOX_*` variable aibox reads is a row of the guide's environment table and no row
/// names one it does not read; every variable it gives pack code is in docs/plugins.md; and no
/// file of `src/` but `env_vars.rs` spells an `AIBOX_*` name as a string (`main.rs`'s
/// build-time `option_env!` aside), so the list is the whole truth.
#[test]
fn every_aibox_variable_is_declared_once_and_documented() {
    let root = common::repo_root();
    let guide = std::fs::read_to_string(root.join("docs/guide.md")).unwrap();
    let table: String = guide
        .split("## Environment variables")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .nth(1)
        .unwrap()
        .to_owned();
    let rows: std::collections::BTreeSet<String> = table
        .lines()
        .flat_map(|l| l.split('|').nth(1).unwrap_or("").split('`'))
        .filter(|w| w.starts_with("AIBOX_"))
        .map(str::to_owned)
        .collect();
    let read: std::collections::BTreeSet<String> = aibox::env_vars::READ
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(rows, read, "the guide's table against env_vars::READ");
    let plugins = std::fs::read_to_string(root.join("docs/plugins.md")).unwrap();
    for v in aibox::env_vars::GIVEN {
        assert!(
            plugins.contains(&format!("`{v}`")),
            "{v} in docs/plugins.md"
        );
    }
    for v in aibox::env_vars::INTERNAL {
        assert!(guide.contains(&format!("`{v}`")), "{v} in docs/guide.md");
    }
    let mut stray = Vec::new();
    let mut stack = vec![root.join("src")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name == "env_vars.rs" || name == "main.rs" || !name.ends_with(".rs") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for (i, _) in text.match_indices("\"AIBOX_") {
                let escaped = i > 0 && text.as_bytes()[i - 1] == b'\\';
                let rest = &text[i + 1..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                    .unwrap_or(rest.len());
                if !escaped && end > "AIBOX_".len() && rest[end..].starts_with('"') {
                    stray.push(format!("{}: {}", p.display(), &rest[..end]));
                }
            }
        }
    }
    assert!(
        stray.is_empty(),
        "spell these through aibox::env_vars: {stray:?}"
    );
}
