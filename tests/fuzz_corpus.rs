//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`: the hand-written seeds
//! `seed-*`, every input that once crashed `crash-*` once fixed, and the coverage-minimized set
//! of everything the campaigns found) through every target: CI runs no fuzzer, but nothing a
//! fuzzer once found may come back.
// Tests read the corpus with std::fs directly; only the crate goes through crate::fs.
#![allow(clippy::disallowed_methods)]

mod common;

#[test]
fn every_corpus_input_runs_without_a_crash() {
    let corpus = common::repo_root().join("fuzz/corpus");
    for target in aibox::fuzz::TARGETS {
        let dir = corpus.join(target);
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("fuzz/corpus/{target} is missing: {e}"))
            .map(|e| e.unwrap().path())
            .collect();
        inputs.sort();
        assert!(
            inputs.len() >= 4,
            "fuzz/corpus/{target} has only {} seeds",
            inputs.len()
        );
        for input in inputs {
            let data = std::fs::read(&input).unwrap();
            let result = std::panic::catch_unwind(|| aibox::fuzz::run(target, &data));
            assert!(result.is_ok(), "{target}: {} crashes", input.display());
        }
    }
}

/// Minimizing (`scripts/fuzz --minimize`, `--keep`) keeps the seeds whatever their coverage;
/// every other input is named by the first 16 hex digits of its SHA-256 (so it is kept once).
#[test]
fn every_target_keeps_its_seeds_and_names_the_rest_by_content() {
    let corpus = common::repo_root().join("fuzz/corpus");
    for target in aibox::fuzz::TARGETS {
        let names: Vec<String> = std::fs::read_dir(corpus.join(target))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().any(|n| n.starts_with("seed-")),
            "fuzz/corpus/{target} has lost its seeds"
        );
        for name in &names {
            let by_content = name.len() == 16 && name.bytes().all(|b| b.is_ascii_hexdigit());
            assert!(
                by_content || name.starts_with("seed-") || name.starts_with("crash-"),
                "fuzz/corpus/{target}/{name}: neither a seed, a crash nor named by its content"
            );
        }
    }
}

#[test]
fn the_targets_are_the_fuzz_crates_binaries() {
    let manifest = std::fs::read_to_string(common::repo_root().join("fuzz/Cargo.toml")).unwrap();
    for target in aibox::fuzz::TARGETS {
        assert!(
            manifest.contains(&format!("name = \"{target}\"")),
            "fuzz/Cargo.toml has no binary for `{target}`"
        );
    }
}
