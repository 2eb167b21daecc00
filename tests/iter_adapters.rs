//! Every parallel-iterator adapter, consumer and source (`corepool::iter`) gives the result of
//! the same chain on `std`'s sequential `Iterator`: over inputs of lengths 0, 1, 2, 3, 7, 31,
//! 1000 and 100 003, on pools of 1, 2 and 5 threads, each chain run both inside
//! `pool.install(..)` and with `.with_pool(&pool)`.
//!
//! The inputs come from the support module's seeded `Rng` (a fixed seed, so a failure replays);
//! the expected value is always computed by `std` on the same input, never written by hand.

mod common;

use common::Rng;
use corepool::iter::Either;
use corepool::prelude::*;
use corepool::Pool;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, LinkedList, VecDeque};
use std::num::Wrapping;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

const LENS: [usize; 8] = [0, 1, 2, 3, 7, 31, 1000, 100_003];
const THREADS: [usize; 3] = [1, 2, 5];

fn pools() -> &'static [Pool] {
    static POOLS: OnceLock<Vec<Pool>> = OnceLock::new();
    POOLS.get_or_init(|| common::unpinned_pools(&THREADS))
}

/// How a chain is pointed at its pool.
#[derive(Clone, Copy)]
enum Mode {
    Install(&'static Pool),
    WithPool(&'static Pool),
}

impl std::fmt::Debug for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mode::Install(p) => write!(f, "install({} threads)", p.threads()),
            Mode::WithPool(p) => write!(f, "with_pool({} threads)", p.threads()),
        }
    }
}

fn modes() -> impl Iterator<Item = Mode> {
    pools()
        .iter()
        .flat_map(|p| [Mode::Install(p), Mode::WithPool(p)])
}

/// Runs a chain in `mode`: `par!(mode, chain, |it| terminal)` builds `chain` and applies
/// `terminal` to it as `it`, inside `pool.install` or after `.with_pool(pool)`.
macro_rules! par {
    ($m:expr, $chain:expr, |$it:ident| $term:expr) => {
        match $m {
            Mode::Install(pool) => pool.install(|| {
                let $it = $chain;
                $term
            }),
            Mode::WithPool(pool) => {
                let $it = $chain.with_pool(pool);
                $term
            }
        }
    };
}

/// Calls `check(mode, input)` for every length and mode, with inputs of small values (so sums
/// and products stay in range) drawn from a fixed seed.
fn cases(mut check: impl FnMut(Mode, &[u64])) {
    let mut rng = Rng::new(19);
    for len in LENS {
        let input: Vec<u64> = (0..len).map(|_| rng.below(1000)).collect();
        for m in modes() {
            check(m, &input);
        }
    }
}

/// Like [`cases`] but only inside `install`, for terminals that need an indexed chain
/// (`with_pool` makes a chain unindexed, so it must come last).
fn indexed_cases(mut check: impl FnMut(&'static Pool, &[u64])) {
    cases(|m, input| {
        if let Mode::Install(pool) = m {
            check(pool, input)
        }
    })
}

/// `std` has no `interleave`: alternate `a` and `b`, then the rest of the longer one.
fn seq_interleave<T: Clone>(a: &[T], b: &[T]) -> Vec<T> {
    let mut out = Vec::new();
    for i in 0..a.len().max(b.len()) {
        out.extend(a.get(i).cloned());
        out.extend(b.get(i).cloned());
    }
    out
}

// ---- adapters ----

#[test]
fn map_filter_filter_map() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        let seq: Vec<u64> = input.iter().map(|x| x * 3).filter(|x| x % 2 == 0).collect();
        let got: Vec<u64> = par!(
            m,
            input.par_iter().map(|x| x * 3).filter(|x| x % 2 == 0),
            |it| it.collect()
        );
        assert_eq!(got, seq, "{ctx}");
        let seq: Vec<u64> = input
            .iter()
            .filter_map(|&x| (x % 3 == 0).then_some(x / 3))
            .collect();
        let got: Vec<u64> = par!(
            m,
            input
                .par_iter()
                .filter_map(|&x| (x % 3 == 0).then_some(x / 3)),
            |it| it.collect()
        );
        assert_eq!(got, seq, "{ctx}");
    });
}

#[test]
fn map_with_and_map_init() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        let seq: Vec<u64> = input.iter().map(|x| x + 7).collect();
        // The state is a scratch buffer: the result must not depend on how runs share it.
        let got: Vec<u64> = par!(
            m,
            input.par_iter().map_with(Vec::<u64>::new(), |buf, &x| {
                buf.clear();
                buf.push(x + 7);
                buf[0]
            }),
            |it| it.collect()
        );
        assert_eq!(got, seq, "{ctx}");
        let inits = AtomicUsize::new(0);
        let got: Vec<u64> = par!(
            m,
            input.par_iter().map_init(
                || {
                    inits.fetch_add(1, Ordering::Relaxed);
                    7u64
                },
                |seven, &x| x + *seven
            ),
            |it| it.collect()
        );
        assert_eq!(got, seq, "{ctx}");
        if !input.is_empty() {
            assert!(
                inits.load(Ordering::Relaxed) >= 1,
                "{ctx}: map_init never ran init"
            );
        }
    });
}

#[test]
fn flat_map_flat_map_iter_flatten() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        let seq: Vec<u64> = input.iter().flat_map(|&x| 0..x % 5).collect();
        let got: Vec<u64> = par!(
            m,
            input.par_iter().flat_map(|&x| (0..x % 5).into_par_iter()),
            |it| it.collect()
        );
        assert_eq!(got, seq, "{ctx}: flat_map");
        let got: Vec<u64> = par!(m, input.par_iter().flat_map_iter(|&x| 0..x % 5), |it| it
            .collect());
        assert_eq!(got, seq, "{ctx}: flat_map_iter");
        let nested: Vec<Vec<u64>> = input.iter().map(|&x| (0..x % 5).collect()).collect();
        let got: Vec<u64> = par!(m, nested.clone().into_par_iter().flatten(), |it| it
            .collect());
        assert_eq!(got, seq, "{ctx}: flatten");
        let got: Vec<u64> = par!(m, nested.par_iter().flatten_iter().copied(), |it| it
            .collect());
        assert_eq!(got, seq, "{ctx}: flatten_iter");
        // An inner iterator big enough to split on its own, inside an outer one.
        let seq: u64 = input
            .iter()
            .take(40)
            .map(|&x| (0..x * 5).sum::<u64>())
            .sum();
        let got: u64 = par!(
            m,
            input
                .par_iter()
                .take(40)
                .flat_map(|&x| (0..x * 5).into_par_iter()),
            |it| it.sum()
        );
        assert_eq!(got, seq, "{ctx}: flat_map of large inner ranges");
        // Ordered searches through a flat_map see the flattened order.
        let tagged = |(i, &x): (usize, &u64)| (0..x % 5).into_par_iter().map(move |y| (i, y));
        let seq = input
            .iter()
            .enumerate()
            .flat_map(|(i, &x)| (0..x % 5).map(move |y| (i, y)));
        let got = par!(m, input.par_iter().enumerate().flat_map(tagged), |it| it
            .find_first(|&(_, y)| y == 3));
        assert_eq!(
            got,
            seq.clone().find(|&(_, y)| y == 3),
            "{ctx}: flat_map find_first"
        );
        let got = par!(m, input.par_iter().enumerate().flat_map(tagged), |it| it
            .find_last(|&(_, y)| y == 3));
        assert_eq!(
            got,
            seq.clone().rfind(|&(_, y)| y == 3),
            "{ctx}: flat_map find_last"
        );
    });
}

#[test]
fn enumerate_rev_and_their_orders() {
    indexed_cases(|pool, input| {
        let ctx = format!("{} threads len {}", pool.threads(), input.len());
        let seq: Vec<(usize, u64)> = input.iter().copied().enumerate().collect();
        let got: Vec<(usize, u64)> =
            pool.install(|| input.par_iter().copied().enumerate().collect());
        assert_eq!(got, seq, "{ctx}: enumerate");
        let seq: Vec<u64> = input.iter().rev().copied().collect();
        let got: Vec<u64> = pool.install(|| input.par_iter().rev().copied().collect());
        assert_eq!(got, seq, "{ctx}: rev");
        let seq: Vec<(usize, u64)> = input.iter().copied().enumerate().rev().collect();
        let got: Vec<(usize, u64)> =
            pool.install(|| input.par_iter().copied().enumerate().rev().collect());
        assert_eq!(got, seq, "{ctx}: rev after enumerate");
        let seq: Vec<(usize, u64)> = input.iter().rev().copied().enumerate().collect();
        let got: Vec<(usize, u64)> =
            pool.install(|| input.par_iter().rev().copied().enumerate().collect());
        assert_eq!(got, seq, "{ctx}: enumerate after rev");
        let seq: Vec<(usize, u64)> = input
            .iter()
            .copied()
            .enumerate()
            .rev()
            .skip(2)
            .step_by(3)
            .collect();
        let got: Vec<(usize, u64)> = pool.install(|| {
            input
                .par_iter()
                .copied()
                .enumerate()
                .rev()
                .skip(2)
                .step_by(3)
                .collect()
        });
        assert_eq!(got, seq, "{ctx}: enumerate rev skip step_by");
        let seq = input
            .iter()
            .copied()
            .enumerate()
            .rev()
            .take(5)
            .collect::<Vec<_>>();
        let got = pool.install(|| {
            input
                .par_iter()
                .copied()
                .enumerate()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
        });
        assert_eq!(got, seq, "{ctx}: enumerate rev take");
    });
    // The same through with_pool (only after the last indexed adapter).
    cases(|m, input| {
        let seq: Vec<(usize, u64)> = input.iter().copied().enumerate().rev().collect();
        let got: Vec<(usize, u64)> = par!(m, input.par_iter().copied().enumerate().rev(), |it| it
            .collect());
        assert_eq!(got, seq, "{m:?} len {}", input.len());
    });
}

#[test]
fn zip_of_unequal_lengths() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        let half = &input[..input.len() / 2];
        let longer: Vec<u64> = input.iter().chain(&[1, 2, 3]).map(|x| x + 1).collect();
        let seq: Vec<(u64, u64)> = input.iter().copied().zip(half.iter().copied()).collect();
        let got: Vec<(u64, u64)> = par!(
            m,
            input.par_iter().copied().zip(half.par_iter().copied()),
            |it| it.collect()
        );
        assert_eq!(got, seq, "{ctx}: longer zip shorter");
        let seq: Vec<(u64, u64)> = half.iter().copied().zip(input.iter().copied()).collect();
        let got: Vec<(u64, u64)> = par!(
            m,
            half.par_iter().copied().zip(input.par_iter().copied()),
            |it| it.collect()
        );
        assert_eq!(got, seq, "{ctx}: shorter zip longer");
        let seq: Vec<(&u64, &u64)> = input.iter().zip(&longer).collect();
        let got: Vec<(&u64, &u64)> = par!(m, input.par_iter().zip(&longer), |it| it.collect());
        assert_eq!(got, seq, "{ctx}: zip with a &Vec");
        let seq: u64 = input.iter().zip(0u64..).map(|(a, b)| a * b).sum();
        let got: u64 = par!(
            m,
            input
                .par_iter()
                .zip(0u64..u64::from(u32::MAX))
                .map(|(a, b)| a * b),
            |it| it.sum()
        );
        assert_eq!(got, seq, "{ctx}: zip with a long range");
        let seq: Vec<(u64, u64)> = input
            .iter()
            .copied()
            .zip(input.iter().copied().rev())
            .collect();
        let got: Vec<(u64, u64)> = par!(
            m,
            input
                .par_iter()
                .copied()
                .zip(input.par_iter().copied().rev()),
            |it| it.collect()
        );
        assert_eq!(got, seq, "{ctx}: zip with its reverse");
        let seq: Vec<(u64, u64)> = input
            .iter()
            .copied()
            .zip(longer.iter().copied())
            .rev()
            .collect();
        let got: Vec<(u64, u64)> = par!(
            m,
            input
                .par_iter()
                .copied()
                .zip(longer.par_iter().copied())
                .rev(),
            |it| it.collect()
        );
        assert_eq!(got, seq, "{ctx}: rev of an unequal zip");
        let got: Vec<(u64, u64)> = par!(
            m,
            input
                .par_iter()
                .copied()
                .zip_eq(longer[..input.len()].par_iter().copied()),
            |it| it.collect()
        );
        let seq: Vec<(u64, u64)> = input.iter().copied().zip(longer.iter().copied()).collect();
        assert_eq!(got, seq, "{ctx}: zip_eq");
    });
}

#[test]
fn zip_eq_panics_on_unequal_lengths() {
    for (a, b) in [(0usize, 1usize), (5, 4), (1000, 1001)] {
        let left: Vec<u32> = (0..a as u32).collect();
        let right: Vec<u32> = (0..b as u32).collect();
        let ran = AtomicUsize::new(0);
        let result = catch_unwind(AssertUnwindSafe(|| {
            pools()[1].install(|| {
                left.par_iter().zip_eq(&right).for_each(|_| {
                    ran.fetch_add(1, Ordering::Relaxed);
                })
            })
        }));
        let payload = result.expect_err("zip_eq of unequal lengths must panic");
        let msg = common::panic_message(&*payload);
        assert!(msg.contains("zip_eq"), "unexpected panic message {msg:?}");
        assert_eq!(
            ran.load(Ordering::Relaxed),
            0,
            "zip_eq ran items before panicking"
        );
    }
}

#[test]
fn chain_of_indexed_and_unindexed_parts() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        let odd = |x: &&u64| **x % 2 == 1;
        let tail = [5u64, 6, 7];
        let seq: Vec<u64> = input.iter().chain(input.iter().rev()).copied().collect();
        let got: Vec<u64> = par!(
            m,
            input.par_iter().chain(input.par_iter().rev()).copied(),
            |it| it.collect()
        );
        assert_eq!(got, seq, "{ctx}: indexed + indexed");
        let seq: Vec<u64> = input
            .iter()
            .chain(input.iter().filter(odd))
            .copied()
            .collect();
        let got: Vec<u64> = par!(
            m,
            input
                .par_iter()
                .chain(input.par_iter().filter(odd))
                .copied(),
            |it| it.collect()
        );
        assert_eq!(got, seq, "{ctx}: indexed + filter");
        let seq: Vec<u64> = input
            .iter()
            .filter(odd)
            .chain(input.iter())
            .copied()
            .collect();
        let got: Vec<u64> = par!(
            m,
            input
                .par_iter()
                .filter(odd)
                .chain(input.par_iter())
                .copied(),
            |it| it.collect()
        );
        assert_eq!(got, seq, "{ctx}: filter + indexed");
        let seq: Vec<u64> = input
            .iter()
            .filter(odd)
            .chain(&tail)
            .chain(input.iter().filter(odd))
            .copied()
            .collect();
        let got: Vec<u64> = par!(
            m,
            input
                .par_iter()
                .filter(odd)
                .chain(&tail)
                .chain(input.par_iter().filter(odd))
                .copied(),
            |it| it.collect()
        );
        assert_eq!(got, seq, "{ctx}: filter + indexed + filter");
        // Ordered searches across the parts, with hits in both: every item is tagged with
        // its part and its index in `input`, so the first and the last hit are told apart.
        let hit = |x: &u64| *x % 10 == 3;
        let part = |p: usize| move |(i, x): (usize, u64)| (p, i, x);
        let chain = || {
            input
                .par_iter()
                .copied()
                .enumerate()
                .filter(|(_, x)| x % 2 == 1)
                .map(|(i, x)| (0usize, i, x))
                .chain(input.par_iter().copied().enumerate().map(part(1)))
        };
        // The filtered part's tags are positions in `input`, so recompute std's with those.
        let seq_tagged: Vec<(usize, usize, u64)> = input
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, x)| x % 2 == 1)
            .map(|(i, x)| (0, i, x))
            .chain(input.iter().copied().enumerate().map(part(1)))
            .collect();
        let want_first = seq_tagged.iter().copied().find(|t| hit(&t.2));
        let want_last = seq_tagged.iter().copied().rfind(|t| hit(&t.2));
        assert_eq!(
            par!(m, chain(), |it| it.find_first(|t| hit(&t.2))),
            want_first,
            "{ctx}: find_first over a chain"
        );
        assert_eq!(
            par!(m, chain(), |it| it.find_last(|t| hit(&t.2))),
            want_last,
            "{ctx}: find_last over a chain"
        );
    });
    // An indexed chain is indexed: indexed adapters on top of it.
    indexed_cases(|pool, input| {
        let ctx = format!("{} threads len {}", pool.threads(), input.len());
        let third = &input[..input.len() / 3];
        let joined: Vec<u64> = input.iter().chain(third).copied().collect();
        let seq: Vec<(usize, u64)> = joined
            .iter()
            .copied()
            .enumerate()
            .rev()
            .skip(1)
            .step_by(2)
            .collect();
        let got: Vec<(usize, u64)> = pool.install(|| {
            input
                .par_iter()
                .chain(third)
                .copied()
                .enumerate()
                .rev()
                .skip(1)
                .step_by(2)
                .collect()
        });
        assert_eq!(
            got, seq,
            "{ctx}: indexed chain under enumerate/rev/skip/step_by"
        );
        let n = input.len() + third.len();
        for at in [0, input.len(), n / 2, n, n + 1] {
            let seq: Vec<u64> = input.iter().chain(third).copied().take(at).collect();
            let got: Vec<u64> =
                pool.install(|| input.par_iter().chain(third).copied().take(at).collect());
            assert_eq!(got, seq, "{ctx}: chain take {at}");
            let seq: Vec<u64> = input.iter().chain(third).copied().skip(at).collect();
            let got: Vec<u64> =
                pool.install(|| input.par_iter().chain(third).copied().skip(at).collect());
            assert_eq!(got, seq, "{ctx}: chain skip {at}");
        }
        let seq: Vec<(u64, u64)> = input
            .iter()
            .chain(third)
            .copied()
            .zip(third.iter().chain(input).copied())
            .collect();
        let got: Vec<(u64, u64)> = pool.install(|| {
            input
                .par_iter()
                .chain(third)
                .copied()
                .zip(third.par_iter().chain(input).copied())
                .collect()
        });
        assert_eq!(
            got, seq,
            "{ctx}: zip of two chains split at different places"
        );
    });
}

#[test]
fn take_skip_beyond_the_end() {
    indexed_cases(|pool, input| {
        let ctx = format!("{} threads len {}", pool.threads(), input.len());
        let n = input.len();
        for k in [
            0,
            1,
            n / 2,
            n.saturating_sub(1),
            n,
            n + 1,
            n + 100,
            usize::MAX,
        ] {
            let seq: Vec<u64> = input.iter().copied().take(k).collect();
            let got: Vec<u64> = pool.install(|| input.par_iter().copied().take(k).collect());
            assert_eq!(got, seq, "{ctx}: take {k}");
            let seq: Vec<u64> = input.iter().copied().skip(k).collect();
            let got: Vec<u64> = pool.install(|| input.par_iter().copied().skip(k).collect());
            assert_eq!(got, seq, "{ctx}: skip {k}");
            let seq: Vec<u64> = input.iter().copied().skip(k / 3).take(k).collect();
            let got: Vec<u64> =
                pool.install(|| input.par_iter().copied().skip(k / 3).take(k).collect());
            assert_eq!(got, seq, "{ctx}: skip {} take {k}", k / 3);
            let seq: Vec<u64> = input.iter().copied().take(k).skip(k / 3).rev().collect();
            let got: Vec<u64> = pool.install(|| {
                input
                    .par_iter()
                    .copied()
                    .take(k)
                    .skip(k / 3)
                    .rev()
                    .collect()
            });
            assert_eq!(got, seq, "{ctx}: take {k} skip {} rev", k / 3);
            let len = pool.install(|| input.par_iter().skip(k).len());
            assert_eq!(len, n.saturating_sub(k), "{ctx}: skip {k} len");
        }
    });
    cases(|m, input| {
        let n = input.len();
        let seq: u64 = input.iter().skip(n / 4).take(n / 2 + 10).sum();
        let got: u64 = par!(m, input.par_iter().skip(n / 4).take(n / 2 + 10), |it| it
            .sum());
        assert_eq!(got, seq, "{m:?} len {n}");
    });
}

#[test]
fn step_by() {
    indexed_cases(|pool, input| {
        let ctx = format!("{} threads len {}", pool.threads(), input.len());
        for step in [1, 2, 3, 7, 1000, input.len() + 1] {
            let seq: Vec<u64> = input.iter().copied().step_by(step).collect();
            let got: Vec<u64> = pool.install(|| input.par_iter().copied().step_by(step).collect());
            assert_eq!(got, seq, "{ctx}: step_by {step}");
            let seq: Vec<u64> = input.iter().copied().step_by(step).rev().collect();
            let got: Vec<u64> =
                pool.install(|| input.par_iter().copied().step_by(step).rev().collect());
            assert_eq!(got, seq, "{ctx}: step_by {step} rev");
            let seq: Vec<u64> = input.iter().copied().rev().step_by(step).collect();
            let got: Vec<u64> =
                pool.install(|| input.par_iter().copied().rev().step_by(step).collect());
            assert_eq!(got, seq, "{ctx}: rev step_by {step}");
            let seq: Vec<(usize, u64)> = input
                .iter()
                .copied()
                .skip(1)
                .step_by(step)
                .enumerate()
                .collect();
            let got: Vec<(usize, u64)> = pool.install(|| {
                input
                    .par_iter()
                    .copied()
                    .skip(1)
                    .step_by(step)
                    .enumerate()
                    .collect()
            });
            assert_eq!(got, seq, "{ctx}: skip step_by {step} enumerate");
            let len = pool.install(|| input.par_iter().step_by(step).len());
            assert_eq!(
                len,
                input.iter().step_by(step).len(),
                "{ctx}: step_by {step} len"
            );
        }
    });
}

#[test]
#[should_panic(expected = "step_by")]
fn step_by_zero_panics() {
    let _ = (0..10u32).into_par_iter().step_by(0);
}

#[test]
fn chunks_adapter() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        for size in [1, 3, 1000, input.len() + 1] {
            let seq: Vec<Vec<u64>> = input.chunks(size).map(<[u64]>::to_vec).collect();
            let got: Vec<Vec<u64>> =
                par!(m, input.par_iter().copied().chunks(size), |it| it.collect());
            assert_eq!(got, seq, "{ctx}: chunks {size}");
        }
    });
    indexed_cases(|pool, input| {
        let seq: Vec<(usize, Vec<u64>)> = input
            .chunks(7)
            .map(<[u64]>::to_vec)
            .enumerate()
            .rev()
            .collect();
        let got: Vec<(usize, Vec<u64>)> = pool.install(|| {
            input
                .par_iter()
                .copied()
                .chunks(7)
                .enumerate()
                .rev()
                .collect()
        });
        assert_eq!(
            got,
            seq,
            "{} threads len {}: chunks enumerate rev",
            pool.threads(),
            input.len()
        );
    });
}

#[test]
#[should_panic(expected = "chunks")]
fn chunks_zero_panics() {
    let _ = (0..10u32).into_par_iter().chunks(0);
}

#[test]
fn copied_cloned_inspect_update() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        let strings: Vec<String> = input.iter().map(u64::to_string).collect();
        let got: Vec<String> = par!(m, strings.par_iter().cloned(), |it| it.collect());
        assert_eq!(got, strings, "{ctx}: cloned");
        let got: Vec<u64> = par!(m, input.par_iter().copied(), |it| it.collect());
        assert_eq!(got, input, "{ctx}: copied");
        let seen = AtomicU64::new(0);
        let seen_count = AtomicUsize::new(0);
        let got: Vec<u64> = par!(
            m,
            input.par_iter().inspect(|&&x| {
                seen.fetch_add(x, Ordering::Relaxed);
                seen_count.fetch_add(1, Ordering::Relaxed);
            }),
            |it| it.copied().collect()
        );
        assert_eq!(got, input, "{ctx}: inspect passes items on");
        assert_eq!(
            seen.into_inner(),
            input.iter().sum::<u64>(),
            "{ctx}: inspect saw every item"
        );
        assert_eq!(
            seen_count.into_inner(),
            input.len(),
            "{ctx}: inspect saw every item once"
        );
        let seq: Vec<u64> = input.iter().map(|x| x * 2 + 1).collect();
        let got: Vec<u64> = par!(
            m,
            input.par_iter().copied().update(|x| *x = *x * 2 + 1),
            |it| it.collect()
        );
        assert_eq!(got, seq, "{ctx}: update");
    });
}

#[test]
fn with_min_len_and_with_max_len() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        let seq: Vec<u64> = input.iter().map(|x| x ^ 5).collect();
        for k in [1, 2, 64, 5000] {
            let got: Vec<u64> = par!(m, input.par_iter().with_min_len(k).map(|x| x ^ 5), |it| it
                .collect());
            assert_eq!(got, seq, "{ctx}: with_min_len {k}");
            let got: Vec<u64> = par!(m, input.par_iter().with_max_len(k).map(|x| x ^ 5), |it| it
                .collect());
            assert_eq!(got, seq, "{ctx}: with_max_len {k}");
            let got: Vec<u64> = par!(
                m,
                input
                    .par_iter()
                    .with_min_len(k)
                    .with_max_len(k * 2)
                    .map(|x| x ^ 5),
                |it| it.collect()
            );
            assert_eq!(got, seq, "{ctx}: with_min_len {k} with_max_len {}", k * 2);
        }
    });
}

#[test]
fn with_max_len_bounds_every_fold_run() {
    // A fold's accumulator covers one run of the input: with_max_len(k) caps runs at k items,
    // so no accumulator may count more (rayon's contract for `with_max_len`).
    indexed_cases(|pool, input| {
        for k in [1, 3, 100] {
            let runs: Vec<usize> = pool.install(|| {
                input
                    .par_iter()
                    .with_max_len(k)
                    .fold(|| 0usize, |n, _| n + 1)
                    .collect()
            });
            assert_eq!(runs.iter().sum::<usize>(), input.len());
            let longest = runs.iter().copied().max().unwrap_or(0);
            assert!(
                longest <= k,
                "{} threads len {}: a run of {longest} items under with_max_len({k})",
                pool.threads(),
                input.len()
            );
        }
    });
}

#[test]
fn interleave_of_unequal_lengths() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        let other: Vec<u64> = input
            .iter()
            .take(input.len() / 3)
            .map(|x| x + 10_000)
            .collect();
        let got: Vec<u64> = par!(
            m,
            input
                .par_iter()
                .copied()
                .interleave(other.par_iter().copied()),
            |it| it.collect()
        );
        assert_eq!(
            got,
            seq_interleave(input, &other),
            "{ctx}: longer interleave shorter"
        );
        let got: Vec<u64> = par!(
            m,
            other
                .par_iter()
                .copied()
                .interleave(input.par_iter().copied()),
            |it| it.collect()
        );
        assert_eq!(
            got,
            seq_interleave(&other, input),
            "{ctx}: shorter interleave longer"
        );
        let got: Vec<u64> = par!(
            m,
            input
                .par_iter()
                .copied()
                .interleave(input.par_iter().copied().rev()),
            |it| it.collect()
        );
        let rev: Vec<u64> = input.iter().rev().copied().collect();
        assert_eq!(got, seq_interleave(input, &rev), "{ctx}: equal lengths");
    });
    indexed_cases(|pool, input| {
        let other: Vec<u64> = input
            .iter()
            .take(input.len() / 3 + 1)
            .map(|x| x + 10_000)
            .collect();
        let mut seq = seq_interleave(input, &other);
        seq.reverse();
        let got: Vec<u64> = pool.install(|| {
            input
                .par_iter()
                .copied()
                .interleave(other.par_iter().copied())
                .rev()
                .collect()
        });
        assert_eq!(
            got,
            seq,
            "{} threads len {}: interleave rev",
            pool.threads(),
            input.len()
        );
        let seq: Vec<(usize, u64)> = seq_interleave(input, &other)
            .into_iter()
            .enumerate()
            .skip(3)
            .step_by(2)
            .collect();
        let got: Vec<(usize, u64)> = pool.install(|| {
            input
                .par_iter()
                .copied()
                .interleave(other.par_iter().copied())
                .enumerate()
                .skip(3)
                .step_by(2)
                .collect()
        });
        assert_eq!(
            got,
            seq,
            "{} threads len {}: interleave enumerate skip step_by",
            pool.threads(),
            input.len()
        );
    });
}

#[test]
fn positions() {
    cases(|m, input| {
        let seq: Vec<usize> = input
            .iter()
            .enumerate()
            .filter(|(_, x)| *x % 7 == 0)
            .map(|(i, _)| i)
            .collect();
        let got: Vec<usize> = par!(m, input.par_iter().positions(|x| x % 7 == 0), |it| it
            .collect());
        assert_eq!(got, seq, "{m:?} len {}", input.len());
    });
}

// ---- consumers ----

#[test]
fn for_each_for_each_with_for_each_init() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        let seen = Mutex::new(Vec::new());
        par!(m, input.par_iter().enumerate(), |it| it
            .for_each(|(i, &x)| seen.lock().unwrap().push((i, x))));
        let mut seen = seen.into_inner().unwrap();
        seen.sort_unstable();
        let seq: Vec<(usize, u64)> = input.iter().copied().enumerate().collect();
        assert_eq!(seen, seq, "{ctx}: for_each saw every item once");
        // rayon's idiom: a channel's sender cloned into every run.
        let (tx, rx) = std::sync::mpsc::channel();
        par!(m, input.par_iter().enumerate(), |it| it
            .for_each_with(tx, |tx, (i, &x)| tx.send((i, x)).unwrap()));
        let mut got: Vec<(usize, u64)> = rx.into_iter().collect();
        got.sort_unstable();
        assert_eq!(got, seq, "{ctx}: for_each_with");
        let total = AtomicU64::new(0);
        par!(m, input.par_iter(), |it| it.for_each_init(
            || 3u64,
            |three, &x| {
                total.fetch_add(x * *three, Ordering::Relaxed);
            }
        ));
        assert_eq!(
            total.into_inner(),
            3 * input.iter().sum::<u64>(),
            "{ctx}: for_each_init"
        );
    });
}

#[test]
fn collect_into_collections() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        // Duplicate keys: the last value in input order wins, as with std's `collect`.
        let pairs = || input.par_iter().enumerate().map(|(i, &x)| (x % 50, (i, x)));
        let seq: HashMap<u64, (usize, u64)> = input
            .iter()
            .enumerate()
            .map(|(i, &x)| (x % 50, (i, x)))
            .collect();
        let got: HashMap<u64, (usize, u64)> = par!(m, pairs(), |it| it.collect());
        assert_eq!(got, seq, "{ctx}: HashMap");
        let seq: BTreeMap<u64, (usize, u64)> = seq.into_iter().collect();
        let got: BTreeMap<u64, (usize, u64)> = par!(m, pairs(), |it| it.collect());
        assert_eq!(got, seq, "{ctx}: BTreeMap");
        let seq: HashSet<u64> = input.iter().copied().collect();
        let got: HashSet<u64> = par!(m, input.par_iter().copied(), |it| it.collect());
        assert_eq!(got, seq, "{ctx}: HashSet");
        let seq: BTreeSet<u64> = input.iter().copied().collect();
        let got: BTreeSet<u64> = par!(m, input.par_iter().copied(), |it| it.collect());
        assert_eq!(got, seq, "{ctx}: BTreeSet");
        let seq: VecDeque<u64> = input.iter().copied().filter(|x| x % 3 != 0).collect();
        let got: VecDeque<u64> = par!(m, input.par_iter().copied().filter(|x| x % 3 != 0), |it| it
            .collect());
        assert_eq!(got, seq, "{ctx}: VecDeque");
        let seq: LinkedList<u64> = input.iter().copied().collect();
        let got: LinkedList<u64> = par!(m, input.par_iter().copied(), |it| it.collect());
        assert_eq!(got, seq, "{ctx}: LinkedList");
        let to_char = |x: &u64| char::from_u32(0x3b1 + (*x % 20) as u32).unwrap(); // Greek: 2 bytes each
        let seq: String = input.iter().map(to_char).collect();
        let got: String = par!(m, input.par_iter().map(to_char), |it| it.collect());
        assert_eq!(got, seq, "{ctx}: String from chars");
        let words: Vec<String> = input.iter().map(|x| format!("{x},")).collect();
        let seq: String = words.concat();
        let got: String = par!(m, words.par_iter().map(String::as_str), |it| it.collect());
        assert_eq!(got, seq, "{ctx}: String from &str");
        let got: String = par!(m, words.par_iter().cloned(), |it| it.collect());
        assert_eq!(got, seq, "{ctx}: String from String");
        let got: Vec<u64> = par!(m, input.par_iter().copied().filter(|x| x % 3 != 0), |it| it
            .collect());
        assert_eq!(
            got,
            Vec::from(seq_filter(input)),
            "{ctx}: Vec from an unindexed chain"
        );
        let () = par!(m, input.par_iter().map(|_| ()), |it| it.collect());
    });
}

fn seq_filter(input: &[u64]) -> VecDeque<u64> {
    input.iter().copied().filter(|x| x % 3 != 0).collect()
}

#[test]
fn collect_into_result_and_option() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        let seq: Result<Vec<u64>, String> = input.iter().map(|&x| Ok(x)).collect();
        let got: Result<Vec<u64>, String> =
            par!(m, input.par_iter().map(|&x| Ok(x)), |it| it.collect());
        assert_eq!(got, seq, "{ctx}: all Ok");
        // Several errors: which one comes back is whichever was met first in time, but it is
        // one of them, and the `Ok`s are thrown away.
        let bad = |x: u64| x % 100 == 42;
        let got: Result<Vec<u64>, (usize, u64)> = par!(
            m,
            input
                .par_iter()
                .enumerate()
                .map(|(i, &x)| if bad(x) { Err((i, x)) } else { Ok(x) }),
            |it| it.collect()
        );
        let errors: Vec<(usize, u64)> = input
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, x)| bad(x))
            .collect();
        match got {
            Ok(v) => assert!(
                errors.is_empty() && v == input,
                "{ctx}: Ok although there are errors"
            ),
            Err(e) => assert!(errors.contains(&e), "{ctx}: {e:?} is not one of the errors"),
        }
        let got: Result<HashSet<u64>, u64> = par!(
            m,
            input
                .par_iter()
                .map(|&x| if x == 999 { Err(x) } else { Ok(x) }),
            |it| it.collect()
        );
        let seq: Result<HashSet<u64>, u64> = input
            .iter()
            .map(|&x| if x == 999 { Err(x) } else { Ok(x) })
            .collect();
        assert_eq!(
            got, seq,
            "{ctx}: Result<HashSet> (every error is the same value)"
        );
        let seq: Option<Vec<u64>> = input.iter().map(|&x| Some(x)).collect();
        let got: Option<Vec<u64>> = par!(m, input.par_iter().map(|&x| Some(x)), |it| it.collect());
        assert_eq!(got, seq, "{ctx}: all Some");
        let seq: Option<Vec<u64>> = input.iter().map(|&x| (!bad(x)).then_some(x)).collect();
        let got: Option<Vec<u64>> =
            par!(m, input.par_iter().map(|&x| (!bad(x)).then_some(x)), |it| {
                it.collect()
            });
        assert_eq!(got, seq, "{ctx}: a None");
    });
    // One error at a known place, the only one.
    for m in modes() {
        let got: Result<Vec<u32>, u32> = par!(
            m,
            (0..100_000u32)
                .into_par_iter()
                .map(|x| if x == 77_777 { Err(x) } else { Ok(x) }),
            |it| it.collect()
        );
        assert_eq!(got, Err(77_777), "{m:?}");
    }
}

#[test]
fn unzip_partition_partition_map() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        let seq: (Vec<u64>, Vec<usize>) = input.iter().enumerate().map(|(i, &x)| (x, i)).unzip();
        let got: (Vec<u64>, Vec<usize>) = par!(
            m,
            input.par_iter().enumerate().map(|(i, &x)| (x, i)),
            |it| it.unzip()
        );
        assert_eq!(got, seq, "{ctx}: unzip");
        let got: (VecDeque<u64>, HashSet<usize>) = par!(
            m,
            input.par_iter().enumerate().map(|(i, &x)| (x, i)),
            |it| it.unzip()
        );
        assert_eq!(got.0, seq.0, "{ctx}: unzip into VecDeque");
        assert_eq!(
            got.1,
            seq.1.iter().copied().collect::<HashSet<_>>(),
            "{ctx}: unzip into HashSet"
        );
        let seq: (Vec<u64>, Vec<u64>) = input.iter().partition(|&&x| x % 3 == 0);
        let got: (Vec<u64>, Vec<u64>) = par!(m, input.par_iter().copied(), |it| it
            .partition(|&x| x % 3 == 0));
        assert_eq!(got, seq, "{ctx}: partition");
        let seq_l: Vec<String> = input
            .iter()
            .filter(|&&x| x % 2 == 0)
            .map(u64::to_string)
            .collect();
        let seq_r: Vec<u64> = input.iter().filter(|&&x| x % 2 == 1).copied().collect();
        let got: (Vec<String>, Vec<u64>) = par!(m, input.par_iter(), |it| it.partition_map(|&x| {
            if x % 2 == 0 {
                Either::Left(x.to_string())
            } else {
                Either::Right(x)
            }
        }));
        assert_eq!(got, (seq_l, seq_r), "{ctx}: partition_map");
    });
    indexed_cases(|pool, input| {
        let (mut a, mut b) = (vec![1u64, 2, 3], vec![9usize]);
        pool.install(|| {
            input
                .par_iter()
                .enumerate()
                .map(|(i, &x)| (x, i))
                .unzip_into_vecs(&mut a, &mut b)
        });
        assert_eq!(a, input);
        assert_eq!(b, (0..input.len()).collect::<Vec<_>>());
    });
}

#[test]
fn par_extend_and_collect_into_vec() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        let mut got = vec![7u64, 8];
        let mut seq = got.clone();
        seq.extend(input.iter().map(|x| x + 1));
        par!(m, input.par_iter().map(|x| x + 1), |it| got.par_extend(it));
        assert_eq!(got, seq, "{ctx}: Vec::par_extend, indexed");
        seq.extend(input.iter().filter(|&&x| x > 500));
        par!(m, input.par_iter().copied().filter(|&x| x > 500), |it| got
            .par_extend(it));
        assert_eq!(got, seq, "{ctx}: Vec::par_extend, unindexed");
        let mut map: HashMap<u64, u64> = HashMap::from([(1_000_000, 1)]);
        let mut seq_map = map.clone();
        seq_map.extend(input.iter().map(|&x| (x, x * 2)));
        par!(m, input.par_iter().map(|&x| (x, x * 2)), |it| map
            .par_extend(it));
        assert_eq!(map, seq_map, "{ctx}: HashMap::par_extend");
        let mut text = String::from("start:");
        let mut seq_text = text.clone();
        seq_text.extend(input.iter().map(|&x| char::from(b'a' + (x % 26) as u8)));
        par!(
            m,
            input.par_iter().map(|&x| char::from(b'a' + (x % 26) as u8)),
            |it| text.par_extend(it)
        );
        assert_eq!(text, seq_text, "{ctx}: String::par_extend");
    });
    indexed_cases(|pool, input| {
        // The target's old contents go, its allocation stays when big enough.
        let mut target: Vec<u64> = (0..input.len() as u64 + 5).collect();
        pool.install(|| {
            input
                .par_iter()
                .map(|x| x * 2)
                .collect_into_vec(&mut target)
        });
        assert_eq!(target, input.iter().map(|x| x * 2).collect::<Vec<_>>());
        let mut target = vec![1u64; 3];
        pool.install(|| {
            input
                .par_iter()
                .copied()
                .rev()
                .collect_into_vec(&mut target)
        });
        assert_eq!(target, input.iter().rev().copied().collect::<Vec<_>>());
    });
}

#[test]
fn fold_reduce_and_reduce_with() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        // Concatenation is associative but not commutative: any reordering of runs shows.
        let got: Vec<u64> = par!(
            m,
            input.par_iter().fold(Vec::new, |mut v, &x| {
                v.push(x);
                v
            }),
            |it| it.reduce(Vec::new, |mut a, b| {
                a.extend(b);
                a
            })
        );
        assert_eq!(got, input, "{ctx}: fold then reduce keeps order");
        let got: u64 = par!(m, input.par_iter().fold(|| 0u64, |a, &x| a + x), |it| it
            .sum());
        assert_eq!(got, input.iter().sum::<u64>(), "{ctx}: fold then sum");
        let got: Vec<u64> = par!(
            m,
            input.par_iter().fold_with(Vec::new(), |mut v, &x| {
                v.push(x);
                v
            }),
            |it| it.flatten_iter().collect()
        );
        assert_eq!(got, input, "{ctx}: fold_with then flatten");
        let got = par!(m, input.par_iter().map(|&x| vec![x]), |it| it.reduce_with(
            |mut a, b| {
                a.extend(b);
                a
            }
        ));
        assert_eq!(
            got,
            (!input.is_empty()).then(|| input.to_vec()),
            "{ctx}: reduce_with"
        );
        let got = par!(m, input.par_iter().map(|x| x.to_string()), |it| it
            .reduce(String::new, |a, b| a + &b));
        assert_eq!(
            got,
            input.iter().map(u64::to_string).collect::<String>(),
            "{ctx}: reduce"
        );
    });
}

#[test]
fn try_fold_try_reduce_try_for_each() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        let total: u64 = input.iter().sum();
        let got = par!(
            m,
            input.par_iter().try_fold(|| 0u64, |a, &x| a.checked_add(x)),
            |it| it.try_reduce(|| 0, |a, b| a.checked_add(b))
        );
        assert_eq!(
            got,
            Some(total),
            "{ctx}: try_fold/try_reduce without a stop"
        );
        // Overflow on purpose: any two "big" values overflow a u64, in whatever runs they
        // land, so the answer is the sequential one whatever the split.
        let big = |x: u64| if x >= 900 { u64::MAX / 2 + 1 } else { x };
        let got = par!(
            m,
            input
                .par_iter()
                .try_fold(|| 0u64, |a, &x| a.checked_add(big(x))),
            |it| it.try_reduce(|| 0, |a, b| a.checked_add(b))
        );
        let seq = input.iter().try_fold(0u64, |a, &x| a.checked_add(big(x)));
        assert_eq!(got, seq, "{ctx}: overflowing try_fold");
        let got: Result<(), u64> =
            par!(m, input.par_iter(), |it| it
                .try_for_each(|&x| if x >= 990 { Err(x) } else { Ok(()) }));
        match input.iter().find(|&&x| x >= 990) {
            None => assert_eq!(got, Ok(()), "{ctx}: try_for_each without an error"),
            Some(_) => {
                let e = got.expect_err("try_for_each must report an error");
                assert!(
                    e >= 990 && input.contains(&e),
                    "{ctx}: try_for_each returned {e}, not an error"
                );
            }
        }
        let got: Option<()> = par!(m, input.par_iter(), |it| it
            .try_for_each(|&x| (x != 500).then_some(())));
        assert_eq!(
            got,
            input.iter().try_for_each(|&x| (x != 500).then_some(())),
            "{ctx}: try_for_each with Option"
        );
        let got: Result<u64, String> =
            par!(m, input.par_iter().map(|&x| Ok::<u64, String>(x)), |it| it
                .try_reduce(|| 0, |a, b| Ok(a + b)));
        assert_eq!(got, Ok(total), "{ctx}: try_reduce of Results");
        let got = par!(
            m,
            input
                .par_iter()
                .map(|&x| if x == 999 { Err(x) } else { Ok(x) }),
            |it| it.try_reduce(|| 0, |a, b| Ok(a + b))
        );
        let seq = if input.contains(&999) {
            Err(999)
        } else {
            Ok(total)
        };
        assert_eq!(
            got, seq,
            "{ctx}: try_reduce with errors (all the same value)"
        );
    });
}

/// A value ordered by `key` alone, so equal keys with different `at`s show which one a
/// `min`/`max` picked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Keyed {
    key: u64,
    at: usize,
}

impl PartialOrd for Keyed {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Keyed {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

#[test]
fn min_max_with_ties() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        // Keys in 0..7: every min and max is tied many times over in the longer inputs.
        let items: Vec<Keyed> = input
            .iter()
            .enumerate()
            .map(|(at, &x)| Keyed { key: x % 7, at })
            .collect();
        let cmp = |a: &Keyed, b: &Keyed| a.key.cmp(&b.key);
        let key = |k: &Keyed| k.key;
        assert_eq!(
            par!(m, items.par_iter().copied(), |it| it.min()),
            items.iter().copied().min(),
            "{ctx}: min (first of ties)"
        );
        assert_eq!(
            par!(m, items.par_iter().copied(), |it| it.max()),
            items.iter().copied().max(),
            "{ctx}: max (last of ties)"
        );
        assert_eq!(
            par!(m, items.par_iter().copied(), |it| it.min_by(cmp)),
            items.iter().copied().min_by(cmp),
            "{ctx}: min_by"
        );
        assert_eq!(
            par!(m, items.par_iter().copied(), |it| it.max_by(cmp)),
            items.iter().copied().max_by(cmp),
            "{ctx}: max_by"
        );
        assert_eq!(
            par!(m, items.par_iter().copied(), |it| it.min_by_key(key)),
            items.iter().copied().min_by_key(key),
            "{ctx}: min_by_key"
        );
        assert_eq!(
            par!(m, items.par_iter().copied(), |it| it.max_by_key(key)),
            items.iter().copied().max_by_key(key),
            "{ctx}: max_by_key"
        );
        assert_eq!(
            par!(m, input.par_iter(), |it| it.min()),
            input.iter().min(),
            "{ctx}: min of plain values"
        );
        assert_eq!(
            par!(m, input.par_iter(), |it| it.max()),
            input.iter().max(),
            "{ctx}: max of plain values"
        );
    });
}

#[test]
fn sum_product_count_any_all() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        assert_eq!(
            par!(m, input.par_iter(), |it| it.sum::<u64>()),
            input.iter().sum::<u64>(),
            "{ctx}: sum of refs"
        );
        assert_eq!(
            par!(m, input.par_iter().map(|&x| x as i64 - 500), |it| it
                .sum::<i64>()),
            input.iter().map(|&x| x as i64 - 500).sum::<i64>(),
            "{ctx}: sum of values"
        );
        let seq: Wrapping<u64> = input.iter().map(|&x| Wrapping(x | 1)).product();
        let got: Wrapping<u64> = par!(m, input.par_iter().map(|&x| Wrapping(x | 1)), |it| it
            .product());
        assert_eq!(got, seq, "{ctx}: product");
        assert_eq!(
            par!(m, input.par_iter().filter(|&&x| x < 100), |it| it.count()),
            input.iter().filter(|&&x| x < 100).count(),
            "{ctx}: count"
        );
        assert_eq!(
            par!(m, input.par_iter(), |it| it.count()),
            input.len(),
            "{ctx}: count of all"
        );
        for t in [0, 500, 998, 999, 1000] {
            assert_eq!(
                par!(m, input.par_iter(), |it| it.any(|&x| x == t)),
                input.contains(&t),
                "{ctx}: any == {t}"
            );
            assert_eq!(
                par!(m, input.par_iter(), |it| it.all(|&x| x < t)),
                input.iter().all(|&x| x < t),
                "{ctx}: all < {t}"
            );
        }
    });
}

#[test]
fn searches_with_several_hits() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        // About one item in 100 is a hit (x % 100 == 7), so the longer inputs have many.
        let items: Vec<(usize, u64)> = input.iter().copied().enumerate().collect();
        let hit = |p: &(usize, u64)| p.1 % 100 == 7;
        let first = items.iter().copied().find(hit);
        let last = items.iter().copied().rev().find(hit);
        assert_eq!(
            par!(m, items.par_iter().copied(), |it| it.find_first(hit)),
            first,
            "{ctx}: find_first"
        );
        assert_eq!(
            par!(m, items.par_iter().copied(), |it| it.find_last(hit)),
            last,
            "{ctx}: find_last"
        );
        let any = par!(m, items.par_iter().copied(), |it| it.find_any(hit));
        assert_eq!(any.is_some(), first.is_some(), "{ctx}: find_any");
        if let Some(p) = any {
            assert!(
                hit(&p) && items[p.0] == p,
                "{ctx}: find_any returned {p:?}, not a hit of the input"
            );
        }
        let f = |p: (usize, u64)| hit(&p).then_some(p.0);
        assert_eq!(
            par!(m, items.par_iter().copied(), |it| it.find_map_first(f)),
            first.map(|p| p.0),
            "{ctx}: find_map_first"
        );
        let any = par!(m, items.par_iter().copied(), |it| it.find_map_any(f));
        assert!(
            any.is_none() == first.is_none() && any.map_or(true, |i| hit(&items[i])),
            "{ctx}: find_map_any"
        );
        // Unindexed chains search in input order too.
        let got = par!(
            m,
            items.par_iter().copied().filter(|p| p.1 % 2 == 1),
            |it| it.find_first(hit)
        );
        assert_eq!(
            got,
            items.iter().copied().filter(|p| p.1 % 2 == 1).find(hit),
            "{ctx}: find_first after filter"
        );
        let got = par!(
            m,
            items.par_iter().copied().filter(|p| p.1 % 2 == 1),
            |it| it.find_last(hit)
        );
        assert_eq!(
            got,
            items
                .iter()
                .copied()
                .filter(|p| p.1 % 2 == 1)
                .rev()
                .find(hit),
            "{ctx}: find_last after filter"
        );
    });
    indexed_cases(|pool, input| {
        let ctx = format!("{} threads len {}", pool.threads(), input.len());
        let hit = |x: &u64| x % 100 == 7;
        let first = input.iter().position(hit);
        let last = input.iter().rposition(hit);
        assert_eq!(
            pool.install(|| input.par_iter().position_first(hit)),
            first,
            "{ctx}: position_first"
        );
        assert_eq!(
            pool.install(|| input.par_iter().position_last(hit)),
            last,
            "{ctx}: position_last"
        );
        let any = pool.install(|| input.par_iter().position_any(hit));
        assert_eq!(any.is_some(), first.is_some(), "{ctx}: position_any");
        assert!(
            any.map_or(true, |i| hit(&input[i])),
            "{ctx}: position_any gave {any:?}, not a hit"
        );
        let first = input.iter().rev().position(hit);
        assert_eq!(
            pool.install(|| input.par_iter().rev().position_first(hit)),
            first,
            "{ctx}: rev position_first"
        );
    });
}

// ---- sources ----

#[test]
fn vec_by_value_arrays_and_mut_refs() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        let strings: Vec<String> = input.iter().map(u64::to_string).collect();
        let got: Vec<String> = par!(m, strings.clone().into_par_iter(), |it| it.collect());
        assert_eq!(got, strings, "{ctx}: Vec by value");
        let got: Vec<String> = par!(
            m,
            strings
                .clone()
                .into_par_iter()
                .rev()
                .skip(1)
                .map(|s| s + "!"),
            |it| it.collect()
        );
        let seq: Vec<String> = strings
            .iter()
            .rev()
            .skip(1)
            .map(|s| s.clone() + "!")
            .collect();
        assert_eq!(got, seq, "{ctx}: Vec by value, rev skip map");
        let got: Vec<String> = par!(
            m,
            strings.clone().into_par_iter().step_by(3).take(10),
            |it| it.collect()
        );
        let seq: Vec<String> = strings.iter().step_by(3).take(10).cloned().collect();
        assert_eq!(got, seq, "{ctx}: Vec by value, step_by take");
        let mut v = input.to_vec();
        par!(m, v.par_iter_mut(), |it| it.for_each(|x| *x = *x * 2 + 1));
        assert_eq!(
            v,
            input.iter().map(|x| x * 2 + 1).collect::<Vec<_>>(),
            "{ctx}: par_iter_mut on a Vec"
        );
        let slice: &mut [u64] = &mut v;
        par!(m, slice.par_iter_mut().enumerate(), |it| it
            .for_each(|(i, x)| *x = i as u64));
        assert_eq!(
            v,
            (0..input.len() as u64).collect::<Vec<_>>(),
            "{ctx}: par_iter_mut on a slice"
        );
    });
    for m in modes() {
        let arr = [String::from("a"), String::from("bé"), String::from("日本")];
        let got: Vec<String> = par!(m, arr.clone().into_par_iter(), |it| it.collect());
        assert_eq!(got, arr, "{m:?}: array by value");
        let got: Vec<usize> = par!(m, (&arr).into_par_iter().map(String::len), |it| it
            .collect());
        assert_eq!(got, [1, 3, 6], "{m:?}: array by reference");
        let empty: [u8; 0] = [];
        assert_eq!(
            par!(m, empty.into_par_iter(), |it| it.count()),
            0,
            "{m:?}: empty array"
        );
        let mut nums = [1u32, 2, 3, 4, 5, 6, 7];
        par!(m, nums.par_iter_mut(), |it| it.for_each(|x| *x *= 10));
        assert_eq!(
            nums,
            [10, 20, 30, 40, 50, 60, 70],
            "{m:?}: array par_iter_mut"
        );
        let big: [u16; 4096] = std::array::from_fn(|i| i as u16);
        let got: u64 = par!(m, big.into_par_iter().map(u64::from), |it| it.sum());
        assert_eq!(
            got,
            (0..4096u64).sum::<u64>(),
            "{m:?}: large array by value"
        );
    }
}

#[test]
fn vecdeque_source() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        // Built from both ends, so its storage wraps around.
        let mut deque = VecDeque::new();
        for (i, &x) in input.iter().enumerate() {
            if i % 2 == 0 {
                deque.push_back(x);
            } else {
                deque.push_front(x);
            }
        }
        let seq: Vec<u64> = deque.iter().copied().collect();
        let got: Vec<u64> = par!(m, deque.par_iter().copied(), |it| it.collect());
        assert_eq!(got, seq, "{ctx}: &VecDeque");
        let got: Vec<u64> = par!(m, deque.clone().into_par_iter(), |it| it.collect());
        assert_eq!(got, seq, "{ctx}: VecDeque by value");
        par!(m, deque.par_iter_mut(), |it| it.for_each(|x| *x += 1));
        assert_eq!(
            deque.iter().copied().collect::<Vec<_>>(),
            seq.iter().map(|x| x + 1).collect::<Vec<_>>(),
            "{ctx}: &mut VecDeque"
        );
    });
}

/// `(a..b)` and `(a..=b)` of one integer type against std's, on every mode.
macro_rules! check_ranges {
    ($($t:ty),*) => {$({
        let min = <$t>::MIN;
        let max = <$t>::MAX;
        let mid: $t = (max / 2) as $t;
        let ranges: Vec<(&str, std::ops::Range<$t>)> = vec![
            ("empty", 5..5),
            ("backwards", 9..3),
            ("short", 0..7),
            ("from min", min..min.saturating_add(100)),
            ("to max", max.saturating_sub(100)..max),
            ("middle", mid.saturating_sub(90)..mid.saturating_add(90)),
        ];
        let inclusive: Vec<(&str, std::ops::RangeInclusive<$t>)> = vec![
            ("empty inclusive", 5..=4),
            ("one", 7..=7),
            ("to max inclusive", max.saturating_sub(50)..=max),
            ("from min inclusive", min..=min.saturating_add(50)),
            ("one at max", max..=max),
        ];
        for m in modes() {
            let ctx = format!("{m:?} {}", stringify!($t));
            for (what, r) in &ranges {
                let seq: Vec<$t> = r.clone().collect();
                let got: Vec<$t> = par!(m, r.clone().into_par_iter(), |it| it.collect());
                assert_eq!(got, seq, "{ctx} {what} {r:?}");
                let got: Vec<$t> = par!(m, r.clone().into_par_iter().rev(), |it| it.collect());
                assert_eq!(got, seq.iter().rev().copied().collect::<Vec<_>>(), "{ctx} {what} {r:?} rev");
            }
            for (what, r) in &inclusive {
                let seq: Vec<$t> = r.clone().collect();
                let got: Vec<$t> = par!(m, r.clone().into_par_iter(), |it| it.collect());
                assert_eq!(got, seq, "{ctx} {what} {r:?}");
                let got: usize = par!(m, r.clone().into_par_iter(), |it| it.count());
                assert_eq!(got, seq.len(), "{ctx} {what} {r:?} count");
            }
        }
    })*};
}

#[test]
// Empty and backwards ranges are among the cases on purpose.
#[allow(clippy::reversed_empty_ranges)]
fn integer_ranges_of_every_type() {
    check_ranges!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);
    for m in modes() {
        // The whole of the small types, inclusive.
        let got: Vec<u8> = par!(m, (0..=u8::MAX).into_par_iter(), |it| it.collect());
        assert_eq!(got, (0..=u8::MAX).collect::<Vec<_>>(), "{m:?}");
        let got: Vec<i8> = par!(m, (i8::MIN..=i8::MAX).into_par_iter(), |it| it.collect());
        assert_eq!(got, (i8::MIN..=i8::MAX).collect::<Vec<_>>(), "{m:?}");
        let got: i64 = par!(
            m,
            (i16::MIN..=i16::MAX).into_par_iter().map(i64::from),
            |it| it.sum()
        );
        assert_eq!(
            got,
            (i16::MIN..=i16::MAX).map(i64::from).sum::<i64>(),
            "{m:?}"
        );
        // Negative to positive, and long enough to split.
        let got: Vec<i64> = par!(
            m,
            (-50_000i64..50_003).into_par_iter().filter(|x| x % 7 == 0),
            |it| it.collect()
        );
        assert_eq!(
            got,
            (-50_000i64..50_003)
                .filter(|x| x % 7 == 0)
                .collect::<Vec<_>>(),
            "{m:?}"
        );
        let got: Vec<i128> = par!(
            m,
            (-100_000i128..=100_000).into_par_iter().step_by(999),
            |it| it.collect()
        );
        assert_eq!(
            got,
            (-100_000i128..=100_000).step_by(999).collect::<Vec<_>>(),
            "{m:?}"
        );
        let got = par!(m, (u64::MAX - 100_000..=u64::MAX).into_par_iter(), |it| it
            .max());
        assert_eq!(got, Some(u64::MAX), "{m:?}");
        let got = par!(
            m,
            (u128::MAX - 1000..u128::MAX).into_par_iter().enumerate(),
            |it| it.find_last(|_| true)
        );
        assert_eq!(got, Some((999, u128::MAX - 1)), "{m:?}");
    }
}

#[test]
fn option_and_result_sources() {
    for m in modes() {
        assert_eq!(
            par!(m, Some(5u32).into_par_iter(), |it| it.collect::<Vec<_>>()),
            [5],
            "{m:?}"
        );
        assert_eq!(
            par!(m, None::<u32>.into_par_iter(), |it| it.collect::<Vec<_>>()),
            Vec::<u32>::new(),
            "{m:?}"
        );
        let some = Some(String::from("x"));
        assert_eq!(
            par!(m, some.par_iter(), |it| it.collect::<Vec<_>>()),
            [&String::from("x")],
            "{m:?}"
        );
        let mut some = Some(3);
        par!(m, some.par_iter_mut(), |it| it.for_each(|x| *x += 1));
        assert_eq!(some, Some(4), "{m:?}");
        let ok: Result<u32, String> = Ok(9);
        let err: Result<u32, String> = Err("no".into());
        assert_eq!(
            par!(m, ok.par_iter(), |it| it.copied().collect::<Vec<_>>()),
            [9],
            "{m:?}"
        );
        assert_eq!(par!(m, err.par_iter(), |it| it.count()), 0, "{m:?}");
        assert_eq!(
            par!(m, ok.into_par_iter(), |it| it.sum::<u32>()),
            9,
            "{m:?}"
        );
        assert_eq!(par!(m, err.into_par_iter(), |it| it.count()), 0, "{m:?}");
        // An Option is indexed: it zips and chains.
        let got: Vec<(u32, char)> = par!(m, Some(1u32).into_par_iter().zip(Some('a')), |it| it
            .collect());
        assert_eq!(got, [(1, 'a')], "{m:?}");
        let got: Vec<u32> = par!(
            m,
            Some(1u32).into_par_iter().chain(None).chain(Some(3)),
            |it| it.collect()
        );
        assert_eq!(got, [1, 3], "{m:?}");
    }
}

#[test]
fn hash_and_tree_collections_by_ref_and_value() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        let map: HashMap<usize, u64> = input.iter().copied().enumerate().collect();
        let mut got: Vec<(usize, u64)> =
            par!(m, map.par_iter().map(|(&k, &v)| (k, v)), |it| it.collect());
        got.sort_unstable();
        let seq: Vec<(usize, u64)> = input.iter().copied().enumerate().collect();
        assert_eq!(got, seq, "{ctx}: &HashMap");
        let mut got: Vec<(usize, u64)> = par!(m, map.clone().into_par_iter(), |it| it.collect());
        got.sort_unstable();
        assert_eq!(got, seq, "{ctx}: HashMap by value");
        let mut map = map;
        par!(m, map.par_iter_mut(), |it| it
            .for_each(|(&k, v)| *v += k as u64));
        assert!(
            map.iter().all(|(&k, &v)| v == input[k] + k as u64),
            "{ctx}: &mut HashMap"
        );

        let set: HashSet<u64> = input.iter().copied().collect();
        let mut got: Vec<u64> = par!(m, set.par_iter().copied(), |it| it.collect());
        got.sort_unstable();
        let mut seq: Vec<u64> = set.iter().copied().collect();
        seq.sort_unstable();
        assert_eq!(got, seq, "{ctx}: &HashSet");
        let mut got: Vec<u64> = par!(m, set.into_par_iter(), |it| it.collect());
        got.sort_unstable();
        assert_eq!(got, seq, "{ctx}: HashSet by value");

        // Tree collections come in key order, and the parallel iterator keeps it.
        let tree: BTreeMap<u64, usize> = input.iter().copied().zip(0..).collect();
        let seq: Vec<(u64, usize)> = tree.iter().map(|(&k, &v)| (k, v)).collect();
        let got: Vec<(u64, usize)> =
            par!(m, tree.par_iter().map(|(&k, &v)| (k, v)), |it| it.collect());
        assert_eq!(got, seq, "{ctx}: &BTreeMap");
        let got: Vec<(u64, usize)> = par!(m, tree.clone().into_par_iter(), |it| it.collect());
        assert_eq!(got, seq, "{ctx}: BTreeMap by value");
        let mut tree = tree;
        par!(m, tree.par_iter_mut(), |it| it.for_each(|(_, v)| *v *= 2));
        assert_eq!(
            tree.values().copied().collect::<Vec<_>>(),
            seq.iter().map(|p| p.1 * 2).collect::<Vec<_>>(),
            "{ctx}: &mut BTreeMap"
        );
        let bset: BTreeSet<u64> = input.iter().copied().collect();
        let seq: Vec<u64> = bset.iter().copied().collect();
        assert_eq!(
            par!(m, bset.par_iter().copied(), |it| it.collect::<Vec<_>>()),
            seq,
            "{ctx}: &BTreeSet"
        );
        assert_eq!(
            par!(m, bset.into_par_iter(), |it| it.collect::<Vec<_>>()),
            seq,
            "{ctx}: BTreeSet by value"
        );
    });
}

/// Random text of multi-byte characters, spaces of several kinds and line ends of both kinds.
fn text(rng: &mut Rng, chars: usize) -> String {
    const PIECES: [&str; 16] = [
        "a",
        "Z",
        "é",
        "ß",
        "日",
        "本",
        "🎉",
        "\u{1F600}",
        " ",
        " ",
        "\t",
        "\n",
        "\r\n",
        "\u{3000}",
        "\u{85}",
        "\r",
    ];
    (0..chars).map(|_| PIECES[rng.below(16) as usize]).collect()
}

#[test]
fn strings_against_std() {
    let mut rng = Rng::new(1919);
    let mut texts: Vec<String> = vec![
        String::new(),
        "\n".into(),
        "\n\n\n".into(),
        "no line end".into(),
        "trailing\n".into(),
        "crlf\r\n\r\nend\r\n".into(),
        "   ".into(),
        "日本語のテキスト 🎉\n二行目".into(),
    ];
    for chars in [3, 7, 31, 300, 1000, 5000, 100_003] {
        texts.push(text(&mut rng, chars));
    }
    // Long runs with no separator at all, and separators only at the ends.
    texts.push("é".repeat(3000));
    texts.push(format!("\n{}\n", "word".repeat(1000)));
    texts.push(format!(" {} ", "日".repeat(1000)));
    for t in &texts {
        for m in modes() {
            let ctx = format!("{m:?} text of {} bytes", t.len());
            assert_eq!(
                par!(m, t.par_chars(), |it| it.collect::<Vec<_>>()),
                t.chars().collect::<Vec<_>>(),
                "{ctx}: par_chars"
            );
            assert_eq!(
                par!(m, t.par_chars(), |it| it.collect::<String>()),
                *t,
                "{ctx}: par_chars into String"
            );
            assert_eq!(
                par!(m, t.par_lines(), |it| it.collect::<Vec<_>>()),
                t.lines().collect::<Vec<_>>(),
                "{ctx}: par_lines"
            );
            assert_eq!(
                par!(m, t.par_split_whitespace(), |it| it.collect::<Vec<_>>()),
                t.split_whitespace().collect::<Vec<_>>(),
                "{ctx}: par_split_whitespace"
            );
            assert_eq!(
                par!(m, t.par_bytes(), |it| it.collect::<Vec<_>>()),
                t.bytes().collect::<Vec<_>>(),
                "{ctx}: par_bytes"
            );
            let got = par!(m, t.par_lines().map(str::len), |it| it.sum::<usize>());
            assert_eq!(
                got,
                t.lines().map(str::len).sum::<usize>(),
                "{ctx}: par_lines sum"
            );
            let got = par!(m, t.par_chars(), |it| it.find_last(|c| c.is_whitespace()));
            assert_eq!(
                got,
                t.chars().rev().find(|c| c.is_whitespace()),
                "{ctx}: par_chars find_last"
            );
        }
    }
}

#[test]
fn slice_chunks_windows_split() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        for size in [1, 2, 7, 1000, input.len() + 1] {
            assert_eq!(
                par!(m, input.par_chunks(size), |it| it.collect::<Vec<_>>()),
                input.chunks(size).collect::<Vec<_>>(),
                "{ctx}: par_chunks {size}"
            );
            assert_eq!(
                par!(m, input.par_chunks_exact(size), |it| it.collect::<Vec<_>>()),
                input.chunks_exact(size).collect::<Vec<_>>(),
                "{ctx}: par_chunks_exact {size}"
            );
            assert_eq!(
                par!(m, input.par_windows(size), |it| it.collect::<Vec<_>>()),
                input.windows(size).collect::<Vec<_>>(),
                "{ctx}: par_windows {size}"
            );
        }
        // Separators: rare, common, at the ends and back to back (empty subslices).
        for sep in [0u64, 7, 500] {
            let pred = |x: &u64| *x % 1000 <= sep || *x % 97 == 0;
            assert_eq!(
                par!(m, input.par_split(pred), |it| it.collect::<Vec<_>>()),
                input.split(pred).collect::<Vec<_>>(),
                "{ctx}: par_split <= {sep}"
            );
        }
        let got = par!(m, input.par_split(|_| true), |it| it.count());
        assert_eq!(
            got,
            input.split(|_| true).count(),
            "{ctx}: par_split on every item"
        );
        let got = par!(m, input.par_chunks(3).enumerate().rev(), |it| it
            .collect::<Vec<_>>());
        assert_eq!(
            got,
            input.chunks(3).enumerate().rev().collect::<Vec<_>>(),
            "{ctx}: par_chunks enumerate rev"
        );
        let got: Vec<u64> = par!(m, input.par_windows(2).map(|w| w[0].abs_diff(w[1])), |it| {
            it.collect()
        });
        assert_eq!(
            got,
            input
                .windows(2)
                .map(|w| w[0].abs_diff(w[1]))
                .collect::<Vec<_>>(),
            "{ctx}: par_windows map"
        );
    });
}

#[test]
fn slice_chunks_mut() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        for size in [1, 3, 1000, input.len() + 1] {
            let mut seq = input.to_vec();
            seq.chunks_mut(size).enumerate().for_each(|(i, c)| {
                c.reverse();
                c[0] += i as u64;
            });
            let mut got = input.to_vec();
            par!(m, got.par_chunks_mut(size).enumerate(), |it| it.for_each(
                |(i, c)| {
                    c.reverse();
                    c[0] += i as u64;
                }
            ));
            assert_eq!(got, seq, "{ctx}: par_chunks_mut {size}");
            let mut seq = input.to_vec();
            seq.chunks_exact_mut(size).for_each(|c| c.fill(1));
            let mut got = input.to_vec();
            par!(m, got.par_chunks_exact_mut(size), |it| it
                .for_each(|c| c.fill(1)));
            assert_eq!(got, seq, "{ctx}: par_chunks_exact_mut {size}");
        }
    });
}

#[test]
fn sorts_against_std() {
    let mut rng = Rng::new(7);
    for len in LENS {
        // Few distinct keys, so stability shows: the payload is the original position.
        let input: Vec<(u8, usize)> = (0..len).map(|i| (rng.below(10) as u8, i)).collect();
        for pool in pools() {
            let ctx = format!("{} threads len {len}", pool.threads());
            let mut seq = input.clone();
            seq.sort();
            let mut got = input.clone();
            pool.install(|| got.par_sort());
            assert_eq!(got, seq, "{ctx}: par_sort");
            let mut got = input.clone();
            pool.install(|| got.par_sort_unstable());
            assert_eq!(got, seq, "{ctx}: par_sort_unstable (all distinct)");
            let mut seq = input.clone();
            seq.sort_by_key(|p| p.0);
            let mut got = input.clone();
            pool.install(|| got.par_sort_by_key(|p| p.0));
            assert_eq!(got, seq, "{ctx}: par_sort_by_key is stable");
            let mut got = input.clone();
            pool.install(|| got.par_sort_by(|a, b| a.0.cmp(&b.0)));
            assert_eq!(got, seq, "{ctx}: par_sort_by is stable");
            let mut got = input.clone();
            pool.install(|| got.par_sort_unstable_by_key(|p| p.0));
            assert!(
                got.windows(2).all(|w| w[0].0 <= w[1].0),
                "{ctx}: par_sort_unstable_by_key sorts"
            );
            let (mut a, mut b) = (got.clone(), input.clone());
            a.sort();
            b.sort();
            assert_eq!(a, b, "{ctx}: par_sort_unstable_by_key permutes");
            let mut got = input.clone();
            pool.install(|| got.par_sort_unstable_by(|a, b| b.cmp(a)));
            let mut seq = input.clone();
            seq.sort_by(|a, b| b.cmp(a));
            assert_eq!(got, seq, "{ctx}: par_sort_unstable_by descending");
            let mut strings: Vec<String> = input
                .iter()
                .map(|p| format!("{}-{}", p.0, p.1 % 13))
                .collect();
            let mut seq = strings.clone();
            seq.sort();
            pool.install(|| strings.par_sort());
            assert_eq!(strings, seq, "{ctx}: par_sort of Strings");
        }
    }
}

#[test]
fn par_bridge_keeps_order() {
    cases(|m, input| {
        let ctx = format!("{m:?} len {}", input.len());
        let seq: Vec<u64> = input.iter().map(|x| x * 3).collect();
        let got: Vec<u64> = par!(m, input.iter().par_bridge().map(|x| x * 3), |it| it
            .collect());
        assert_eq!(got, seq, "{ctx}: par_bridge over a slice iterator");
        for w in [1, 3, 64] {
            let got: Vec<u64> = par!(
                m,
                input.iter().par_bridge().window(w).map(|x| x * 3),
                |it| it.collect()
            );
            assert_eq!(got, seq, "{ctx}: par_bridge window {w}");
        }
        let got = par!(m, input.iter().copied().enumerate().par_bridge(), |it| it
            .find_first(|p| p.1 % 100 == 7));
        assert_eq!(
            got,
            input.iter().copied().enumerate().find(|p| p.1 % 100 == 7),
            "{ctx}: par_bridge find_first"
        );
        let got: Vec<u64> = par!(
            m,
            input.iter().par_bridge().filter(|&&x| x % 2 == 0).copied(),
            |it| it.collect()
        );
        assert_eq!(
            got,
            input
                .iter()
                .filter(|&&x| x % 2 == 0)
                .copied()
                .collect::<Vec<_>>(),
            "{ctx}: par_bridge filter"
        );
    });
    // Over a channel, fed by another thread: a source that cannot be split or measured.
    for m in modes() {
        for n in [0u64, 1, 5000] {
            let (tx, rx) = std::sync::mpsc::channel();
            let feeder = std::thread::spawn(move || (0..n).for_each(|i| tx.send(i).unwrap()));
            let got: Vec<u64> = par!(m, rx.into_iter().par_bridge().map(|x| x * x), |it| it
                .collect());
            feeder.join().unwrap();
            assert_eq!(
                got,
                (0..n).map(|x| x * x).collect::<Vec<_>>(),
                "{m:?}: par_bridge over a channel of {n}"
            );
        }
        let (tx, rx) = std::sync::mpsc::sync_channel(4);
        let feeder = std::thread::spawn(move || (0..3000u64).for_each(|i| tx.send(i).unwrap()));
        let got: u64 = par!(m, rx.into_iter().par_bridge().window(2), |it| it.sum());
        feeder.join().unwrap();
        assert_eq!(
            got,
            (0..3000u64).sum::<u64>(),
            "{m:?}: par_bridge over a bounded channel, window 2"
        );
    }
}

#[test]
fn bridge_window_bounds_items_pulled_ahead() {
    // `window(w)` caps the items pulled ahead of the ones processed at 2 * w (its contract):
    // count pulls minus items processed, as the source sees them.
    for pool in pools() {
        for w in [1usize, 4, 50] {
            let pulled = AtomicUsize::new(0);
            let done = AtomicUsize::new(0);
            let worst = AtomicUsize::new(0);
            let source = (0..2000u32).inspect(|_| {
                let ahead = pulled.fetch_add(1, Ordering::SeqCst) + 1 - done.load(Ordering::SeqCst);
                worst.fetch_max(ahead, Ordering::SeqCst);
            });
            let sum: u64 = pool.install(|| {
                source
                    .par_bridge()
                    .window(w)
                    .map(|x| {
                        done.fetch_add(1, Ordering::SeqCst);
                        u64::from(x)
                    })
                    .sum()
            });
            assert_eq!(sum, (0..2000u64).sum::<u64>());
            let worst = worst.into_inner();
            assert!(
                worst <= 2 * w,
                "{} threads window {w}: {worst} items pulled ahead",
                pool.threads()
            );
        }
    }
}

#[test]
fn with_pool_and_install_run_on_that_pool() {
    for pool in pools() {
        let on = |_: &&u64| {
            assert!(
                pool.current_thread_index().is_some(),
                "item ran off the pool"
            )
        };
        let v: Vec<u64> = (0..10_000).collect();
        v.par_iter().inspect(on).with_pool(pool).for_each(|_| {});
        v.par_iter()
            .filter(|&&x| x % 3 == 0)
            .inspect(on)
            .with_pool(pool)
            .count();
        v.par_iter()
            .chain(v.par_iter().filter(|&&x| x > 5))
            .inspect(on)
            .with_pool(pool)
            .count();
        v.iter().par_bridge().inspect(on).with_pool(pool).count();
        pool.install(|| v.par_iter().inspect(on).count());
        pool.install(|| v.iter().par_bridge().inspect(on).count());
        // Sorts called inside install sort on that pool, too (their comparator runs there).
        let mut w: Vec<u64> = v.iter().rev().copied().collect();
        pool.install(|| {
            w.par_sort_by(|a, b| {
                assert!(
                    pool.current_thread_index().is_some(),
                    "comparator ran off the pool"
                );
                a.cmp(b)
            })
        });
        assert_eq!(w, v);
    }
}

#[test]

fn with_min_len_bounds_every_fold_run() {
    // rayon's contract for `with_min_len(k)`: no piece shorter than k is folded on its own, so
    // a fold's accumulator (one per run) covers at least k items, unless the whole input is
    // shorter.
    indexed_cases(|pool, input| {
        for k in [2, 10, 1000] {
            let runs: Vec<usize> = pool.install(|| {
                input
                    .par_iter()
                    .with_min_len(k)
                    .fold(|| 0usize, |n, _| n + 1)
                    .collect()
            });
            assert_eq!(runs.iter().sum::<usize>(), input.len());
            let nonempty: Vec<usize> = runs.iter().copied().filter(|&n| n > 0).collect();
            if input.len() >= k {
                let shortest = nonempty.iter().copied().min().unwrap_or(k);
                assert!(shortest >= k, "{} threads len {}: a run of {shortest} items under with_min_len({k}); runs {:?}", pool.threads(), input.len(), &runs[..runs.len().min(20)]);
            }
        }
    });
}

// ---- a user's own sources, through the public plumbing ----

mod user_source {
    use corepool::iter::plumbing::{
        bridge, bridge_unindexed, Consumer, Folder, Producer, ProducerCallback, UnindexedProducer,
    };
    use corepool::prelude::*;

    /// The squares of `start .. start + len`, as an indexed source. `lie` makes every piece's
    /// sequential iterator yield that many items more (positive) or fewer (negative) than the
    /// piece holds: a buggy user producer, which must never make corepool unsound.
    #[derive(Clone, Copy)]
    pub struct Squares {
        pub start: u32,
        pub len: usize,
        pub lie: i32,
    }

    impl Producer for Squares {
        type Item = u64;
        type IntoIter = std::iter::Map<std::ops::Range<u32>, fn(u32) -> u64>;
        fn into_iter(self) -> Self::IntoIter {
            let end = (self.start + self.len as u32).saturating_add_signed(self.lie);
            (self.start..end.max(self.start)).map(|x| u64::from(x) * u64::from(x))
        }
        fn split_at(self, index: usize) -> (Self, Self) {
            let left = Squares { len: index, ..self };
            let right = Squares {
                start: self.start + index as u32,
                len: self.len - index,
                ..self
            };
            (left, right)
        }
    }

    impl ParallelIterator for Squares {
        type Item = u64;
        fn drive_unindexed<C: Consumer<u64>>(self, consumer: C) -> C::Result {
            bridge(self, consumer)
        }
        fn opt_len(&self) -> Option<usize> {
            Some(self.len)
        }
    }

    impl IndexedParallelIterator for Squares {
        fn len(&self) -> usize {
            self.len
        }
        fn with_producer<CB: ProducerCallback<u64>>(self, callback: CB) -> CB::Output {
            callback.callback(self)
        }
    }

    /// The numbers `lo..hi`, as an unindexed source that halves itself.
    pub struct Halves {
        pub lo: u64,
        pub hi: u64,
    }

    impl UnindexedProducer for Halves {
        type Item = u64;
        fn split(self) -> (Self, Option<Self>) {
            if self.hi - self.lo < 2 {
                return (self, None);
            }
            let mid = self.lo + (self.hi - self.lo) / 2;
            (
                Halves {
                    lo: self.lo,
                    hi: mid,
                },
                Some(Halves {
                    lo: mid,
                    hi: self.hi,
                }),
            )
        }
        fn fold_with<F: Folder<u64>>(self, folder: F) -> F {
            folder.consume_iter(self.lo..self.hi)
        }
    }

    impl ParallelIterator for Halves {
        type Item = u64;
        fn drive_unindexed<C: Consumer<u64>>(self, consumer: C) -> C::Result {
            bridge_unindexed(self, &consumer, 0)
        }
    }
}

#[test]
fn a_users_own_sources() {
    use user_source::{Halves, Squares};
    indexed_cases(|pool, input| {
        let len = input.len();
        let ctx = format!("{} threads len {len}", pool.threads());
        let src = Squares {
            start: 3,
            len,
            lie: 0,
        };
        let seq: Vec<u64> = (3..3 + len as u64).map(|x| x * x).collect();
        assert_eq!(
            pool.install(|| src.collect::<Vec<_>>()),
            seq,
            "{ctx}: collect"
        );
        let got: Vec<(usize, u64)> = pool.install(|| src.enumerate().rev().skip(1).collect());
        assert_eq!(
            got,
            seq.iter()
                .copied()
                .enumerate()
                .rev()
                .skip(1)
                .collect::<Vec<_>>(),
            "{ctx}: enumerate rev skip"
        );
        let got: Vec<(u64, &u64)> =
            pool.install(|| src.zip(input).filter(|p| p.1 % 2 == 0).collect());
        assert_eq!(
            got,
            seq.iter()
                .copied()
                .zip(input)
                .filter(|p| p.1 % 2 == 0)
                .collect::<Vec<_>>(),
            "{ctx}: zip filter"
        );
        assert_eq!(
            pool.install(|| src.find_last(|x| x % 10 == 1)),
            seq.iter().copied().rev().find(|x| x % 10 == 1),
            "{ctx}: find_last"
        );
        let hi = len as u64;
        let got: Vec<u64> = pool.install(|| Halves { lo: 0, hi }.map(|x| x + 1).collect());
        assert_eq!(
            got,
            (1..=hi).collect::<Vec<_>>(),
            "{ctx}: unindexed user source keeps order"
        );
        assert_eq!(
            pool.install(|| Halves { lo: 0, hi }.find_first(|x| x % 100 == 99)),
            (0..hi).find(|x| x % 100 == 99),
            "{ctx}"
        );
        // A producer whose pieces yield one item too many: an in-place collect (here through
        // corepool's own `enumerate`) takes only what each piece holds, so the result is the
        // honest producer's.
        let more = Squares { lie: 1, ..src };
        assert_eq!(
            pool.install(|| more.enumerate().collect::<Vec<_>>()),
            seq.iter().copied().enumerate().collect::<Vec<_>>(),
            "{ctx}: lying producer (more)"
        );
        // Through a chain that does not write by position (a user source is not provably
        // exact, so `collect` goes through per-run buffers) the extra items are not cut off:
        // the result is unspecified, but the chain completes, memory-safely.
        let got = pool.install(|| more.map(|x| x + 1).collect::<Vec<_>>());
        assert!(got.len() >= seq.len(), "{ctx}: lying producer (more), map");
        // One item too few per piece: an in-place collect must notice the hole and panic
        // rather than hand out uninitialised slots.
        if len > 0 {
            let fewer = Squares { lie: -1, ..src };
            let result = catch_unwind(AssertUnwindSafe(|| {
                pool.install(|| fewer.enumerate().collect::<Vec<_>>())
            }));
            let msg = common::panic_message(
                &*result.expect_err("a short producer's in-place collect must panic"),
            );
            assert!(msg.contains("yielded"), "{ctx}: unexpected panic {msg:?}");
            let got: Vec<u64> = pool.install(|| fewer.map(|x| x + 1).collect());
            let squares: HashSet<u64> = seq.iter().copied().collect();
            assert!(
                got.len() < len && got.iter().all(|x| squares.contains(&(x - 1))),
                "{ctx}: short producer, buffered collect"
            );
        }
    });
}

#[test]
fn chain_find_first_when_the_second_part_hits_first() {
    // The second part's hit is found before the first part's: the first part's hit must still
    // win, so the second part's runs must never be taken for earlier ones. The first part's
    // first item waits (boundedly) for the second part's hit, which another worker finds once
    // it has taken the second part; the first part's hit lies in the half it split off.
    for pool in &pools()[1..] {
        for n in [1000u64, 100_000] {
            let second_hit = std::sync::atomic::AtomicBool::new(false);
            let got = pool.install(|| {
                (0..n)
                    .into_par_iter()
                    .map(|x| (0, x))
                    .chain((0..n).into_par_iter().map(|x| (1, x)))
                    .find_first(|&(part, x)| {
                        if part == 1 {
                            if x == 0 {
                                second_hit.store(true, Ordering::SeqCst);
                            }
                            return x == 0;
                        }
                        if x == 0 {
                            common::eventually(std::time::Duration::from_secs(2), || {
                                second_hit.load(Ordering::SeqCst)
                            });
                        }
                        x == n - 1
                    })
            });
            assert_eq!(got, Some((0, n - 1)), "{} threads n {n}", pool.threads());
        }
    }
}

#[test]

fn length_limits_pass_through_step_by_and_chunks() {
    // rayon's step_by and chunks producers pass their base's limits on, scaled: a limit set
    // below them still bounds the pieces (here: runs of at most k base items).
    indexed_cases(|pool, input| {
        let ctx = format!("{} threads len {}", pool.threads(), input.len());
        let runs: Vec<usize> = pool.install(|| {
            input
                .par_iter()
                .with_max_len(4)
                .step_by(2)
                .fold(|| 0usize, |n, _| n + 1)
                .collect()
        });
        assert_eq!(runs.iter().sum::<usize>(), input.len().div_ceil(2), "{ctx}");
        let longest = runs.iter().copied().max().unwrap_or(0);
        assert!(
            longest <= 2,
            "{ctx}: with_max_len(4).step_by(2) folded a run of {longest} items"
        );
        let runs: Vec<usize> = pool.install(|| {
            input
                .par_iter()
                .with_max_len(6)
                .chunks(3)
                .fold(|| 0usize, |n, _| n + 1)
                .collect()
        });
        let longest = runs.iter().copied().max().unwrap_or(0);
        assert!(
            longest <= 2,
            "{ctx}: with_max_len(6).chunks(3) folded a run of {longest} chunks"
        );
    });
}
