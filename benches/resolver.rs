//! Resolver benchmarks: a synthetic index of 10,000 packs × 20 versions with seeded random
//! dependencies (root on ~100 packs), and adversarial backtracking cases that must end quickly.
// A benchmark prints its own results; only the crate prints through crate::printer.
#![allow(clippy::disallowed_macros)]

use std::hint::black_box;

use aibox::resolver::{MemoryIndex, Request, ResolveOptions, Root, resolve};
use criterion::{Criterion, criterion_group, criterion_main};
use semver::Version;

/// xorshift64*: a tiny deterministic generator, so every run sees the same index.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const PACKS: usize = 10_000;

fn name(i: usize) -> String {
    format!("pack-{i:05}")
}

/// 20 versions per pack (majors 1–4 × minors 0–4); each version depends on 0–3 packs with a
/// higher number (a DAG). Requests are mostly `^3`/`^4` (as in real registries); `hard` draws
/// `^m`, `>=m.n`, `~m.n` and `*` evenly, which makes many conflicts to backtrack over.
fn synthetic(hard: bool) -> MemoryIndex {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut index = MemoryIndex::new("dir:./bench");
    for i in 0..PACKS {
        for major in 1..=4u64 {
            for minor in 0..5u64 {
                let mut deps = Vec::new();
                if i + 1 < PACKS {
                    for _ in 0..rng.below(4) {
                        let span = (PACKS - i - 1) as u64;
                        let dep = i + 1 + rng.below(span.min(200)) as usize;
                        let req = if hard {
                            match rng.below(4) {
                                0 => format!("^{}", 1 + rng.below(4)),
                                1 => format!(">={}.{}", 1 + rng.below(3), rng.below(5)),
                                2 => format!("~{}.{}", 1 + rng.below(4), rng.below(5)),
                                _ => "*".to_owned(),
                            }
                        } else {
                            // Like real registries: mostly caret requests on a recent major.
                            match rng.below(20) {
                                0..=13 => format!("^{}", 3 + rng.below(2)),
                                14..=16 => format!(">={}.{}", 1 + rng.below(3), rng.below(5)),
                                17 => format!("~{}.{}", 3 + rng.below(2), rng.below(5)),
                                _ => "*".to_owned(),
                            }
                        };
                        deps.push((name(dep), req));
                    }
                }
                deps.sort();
                deps.dedup_by(|a, b| a.0 == b.0);
                let deps: Vec<(&str, &str)> =
                    deps.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                index.add(&name(i), Version::new(major, minor, 0), &deps);
            }
        }
    }
    index
}

fn synthetic_roots() -> Vec<Root> {
    let mut rng = Rng(42);
    let mut picked: Vec<usize> = (0..100).map(|_| rng.below(PACKS as u64) as usize).collect();
    picked.sort();
    picked.dedup();
    picked
        .into_iter()
        .map(|i| {
            Root::new(
                name(i),
                Request::parse(if i % 3 == 0 { "*" } else { "^3" }).unwrap(),
            )
        })
        .collect()
}

/// A chain `c0 → c1 → … → c{depth}` where version k of each link needs exactly version k of
/// the next, and the project pins the last link to `=1.0.0`: only the oldest versions work
/// (with `solvable` false, `c{depth}` has no 1.0.0), so a naive newest-first search would backtrack
/// through every version of every link.
fn adversarial(depth: usize, versions: u64, solvable: bool) -> (MemoryIndex, Vec<Root>) {
    let mut index = MemoryIndex::new("dir:./adversarial");
    for link in 0..depth {
        for k in 1..=versions {
            let next = format!("c{}", link + 1);
            let req = format!("={k}.0.0");
            index.add(
                &format!("c{link}"),
                Version::new(k, 0, 0),
                &[(next.as_str(), req.as_str())],
            );
        }
    }
    let first = if solvable { 1 } else { 2 };
    for k in first..=versions {
        index.add(&format!("c{depth}"), Version::new(k, 0, 0), &[]);
    }
    let roots = vec![
        Root::new("c0", Request::any()),
        Root::new(
            format!("c{depth}"),
            Request::parse("=1.0.0").expect("valid request"),
        ),
    ];
    (index, roots)
}

fn bench(c: &mut Criterion) {
    let opts = ResolveOptions::new(Version::new(0, 1, 0));

    let mut group = c.benchmark_group("resolver");
    group.sample_size(10);
    for (label, hard) in [
        ("synthetic_10k_x_20", false),
        ("synthetic_10k_x_20_hard", true),
    ] {
        let index = synthetic(hard);
        let roots = synthetic_roots();
        let res = resolve(&roots, &index, &opts).expect("the synthetic index resolves");
        eprintln!(
            "{label}: {} pack versions in the index, {} roots, {} packs chosen",
            index.len(),
            roots.len(),
            res.packages.len()
        );
        group.bench_function(label, |b| {
            b.iter(|| resolve(black_box(&roots), &index, &opts).unwrap())
        });
    }

    let (index, roots) = adversarial(30, 50, true);
    assert!(resolve(&roots, &index, &opts).is_ok());
    group.bench_function("adversarial_chain_30x50_solvable", |b| {
        b.iter(|| resolve(black_box(&roots), &index, &opts).unwrap())
    });

    // Unsolvable: c30 has no 1.0.0, yet the project pins c29 to 1.0.0, which needs it.
    let (index, mut roots) = adversarial(30, 50, false);
    roots[1] = Root::new("c29", Request::parse("=1.0.0").unwrap());
    let err = resolve(&roots, &index, &opts).expect_err("unsolvable");
    eprintln!("adversarial unsolvable explanation:\n{err}");
    group.bench_function("adversarial_chain_30x50_unsolvable", |b| {
        b.iter(|| resolve(black_box(&roots), &index, &opts).unwrap_err())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
