//! Resolution quality, judged against brute force: when an early decision conflicts with most
//! versions of another requested pack, the answer must not walk that pack down to an old
//! version while a combination closer to the newest versions exists (the second look of
//! `provider::solve`).

use proptest::prelude::*;
use semver::Version;

use super::*;

/// What one version of `a` or `b` asks of the shared pack `c` (versions 1, 2 and 3).
const C_REQUESTS: &[Option<&str>] = &[None, Some("1"), Some("2"), Some("3"), Some(">=2")];

/// One requested pack: what each version (1.0.0 upwards) asks of `c`.
fn versions() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..C_REQUESTS.len(), 5..13)
}

/// `a` and `b` (both requested as `*`) and `c`; the oldest `a` and `b` ask nothing of `c`, so
/// the newest of either works with the oldest of the other; the oldest `b` needs `legacy`.
fn build(a: &[usize], b: &[usize]) -> MemoryIndex {
    let mut index = MemoryIndex::new("dir:./packs");
    for (name, list) in [("a", a), ("b", b)] {
        for (i, &req) in list.iter().enumerate() {
            let mut deps = Vec::new();
            if i == 0 {
                if name == "b" {
                    deps.push(("legacy", "*"));
                }
            } else if let Some(r) = C_REQUESTS[req] {
                deps.push(("c", r));
            }
            index.add(name, Version::new(i as u64 + 1, 0, 0), &deps);
        }
    }
    for c in 1..=3 {
        index.add("c", Version::new(c, 0, 0), &[]);
    }
    index.add("legacy", Version::new(1, 0, 0), &[]);
    index
}

/// Whether versions `i` of `a` and `j` of `b` (0-based) can go together with some `c`.
fn compatible(a: &[usize], b: &[usize], i: usize, j: usize) -> bool {
    let need = |list: &[usize], k: usize| {
        (k > 0)
            .then(|| C_REQUESTS[list[k]])
            .flatten()
            .map(|r| Request::parse(r).unwrap())
    };
    (1..=3).any(|c| {
        let c = Version::new(c, 0, 0);
        [need(a, i), need(b, j)]
            .iter()
            .flatten()
            .all(|r| r.matches(&c))
    })
}

/// Brute force: the fewest versions below the newest, in total, over every answer that keeps
/// `a` or `b` at its newest version.
fn best_keeping_one_newest(a: &[usize], b: &[usize]) -> usize {
    let (na, nb) = (a.len() - 1, b.len() - 1);
    let with_a = (0..=nb)
        .rev()
        .find(|&j| compatible(a, b, na, j))
        .map(|j| nb - j);
    let with_b = (0..=na)
        .rev()
        .find(|&i| compatible(a, b, i, nb))
        .map(|i| na - i);
    with_a
        .into_iter()
        .chain(with_b)
        .min()
        .expect("the oldest versions ask nothing")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn no_walk_down_when_a_newer_combination_exists(a in versions(), b in versions()) {
        let index = build(&a, &b);
        let roots = vec![Root::new("a", Request::any()), Root::new("b", Request::any())];
        let res = resolve(&roots, &index, &ResolveOptions::new(Version::new(0, 1, 0)))
            .expect("the oldest versions always resolve");
        let at = |name: &str| res.packages[name].version.major as usize - 1;
        let (i, j) = (at("a"), at("b"));
        prop_assert!(compatible(&a, &b, i, j), "a {} and b {} do not go together", i + 1, j + 1);
        let total = (a.len() - 1 - i) + (b.len() - 1 - j);
        let best = best_keeping_one_newest(&a, &b);
        // Fewer than 5 versions below the newest in total is never looked at again.
        prop_assert!(
            total <= best.max(4),
            "a {} and b {} are {} versions below the newest; {} was possible",
            i + 1, j + 1, total, best
        );
        prop_assert_eq!(res.packages.contains_key("legacy"), j == 0);
    }
}
