//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`, seeds plus everything a
//! campaign kept, crashes included once fixed) through every target: CI runs no fuzzer, but
//! nothing a fuzzer once found may come back.
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
