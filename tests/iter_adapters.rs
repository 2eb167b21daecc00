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
use corepool::{Pinning, Pool};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, LinkedList, VecDeque};
use std::num::Wrapping;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

const LENS: [usize; 8] = [0, 1, 2, 3, 7, 31, 1000, 100_003];
const THREADS: [usize; 3] = [1, 2, 5];

fn pools() -> &'static [Pool] {
    static POOLS: OnceLock<Vec<Pool>> = OnceLock::new();
    POOLS.get_or_init(|| {
        THREADS
            .iter()
            .map(|&n| {
                Pool::builder()
                    .threads(n)
                    .pinning(Pinning::None)
                    .build()
                    .expect("build pool")
            })
            .collect()
    })
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
            seq.clone().filter(|&(_, y)| y == 3).last(),
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
        let want_last = seq_tagged.iter().copied().filter(|t| hit(&t.2)).last();
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
