//! Every indexed source and adapter's producer splits correctly (rayon's `producer_split_at`
//! scenario, in corepool's words): for every split point, the two halves' items, in order, are
//! the whole's; each half's sequential iterator reports its exact length and runs the same
//! backwards. The bridge trusts these splits for the order of `collect`, so a wrong one shows
//! as a silently reordered or duplicated result, not a crash.

mod common;

use common::Rng;
use corepool::iter::plumbing::{Producer, ProducerCallback};
use corepool::prelude::*;
use std::fmt::Debug;

/// Splits a producer at every index (and recursively at random points), checking each piece.
struct Check<T> {
    expected: Vec<T>,
    seed: u64,
}

impl<T: Clone + PartialEq + Debug> ProducerCallback<T> for Check<T> {
    type Output = ();
    fn callback<P: Producer<Item = T>>(self, producer: P) {
        let mut rng = Rng::new(self.seed);
        check_pieces(producer, &self.expected, &mut rng, 3);
    }
}

/// Checks `producer` against `expected`, then splits it at a few points and checks both halves.
fn check_pieces<P, T>(producer: P, expected: &[T], rng: &mut Rng, depth: usize)
where
    P: Producer<Item = T>,
    T: Clone + PartialEq + Debug,
{
    let len = expected.len();
    if depth == 0 || len == 0 {
        let iter = producer.into_iter();
        assert_eq!(iter.len(), len, "exact length");
        assert_eq!(iter.collect::<Vec<_>>(), expected);
        return;
    }
    let at = rng.below(len as u64 + 1) as usize;
    let (left, right) = producer.split_at(at);
    let (l, r) = expected.split_at(at);
    // One half forwards, the other backwards.
    let back: Vec<T> = right.into_iter().rev().collect();
    assert_eq!(
        back,
        r.iter().rev().cloned().collect::<Vec<_>>(),
        "reversed right half at {at}"
    );
    check_pieces(left, l, rng, depth - 1);
}

/// Runs the check for every split point of a small iterator and random ones of a larger one.
fn check<I>(name: &str, make: impl Fn() -> I + Sync, expected: Vec<I::Item>)
where
    I: IndexedParallelIterator,
    I::Item: Clone + PartialEq + Debug,
{
    assert_eq!(make().len(), expected.len(), "{name}: len");
    for seed in 0..40 {
        make().with_producer(Check {
            expected: expected.clone(),
            seed,
        });
    }
    // And through the bridge, on a pool, with tiny pieces forced.
    let pool = corepool::Pool::builder().threads(3).build().unwrap();
    let got: Vec<I::Item> = pool.install(|| make().with_max_len(1).collect());
    assert_eq!(got, expected, "{name}: collected");
}

#[test]
fn sources_split_exactly() {
    for n in [0usize, 1, 2, 3, 10, 37] {
        let v: Vec<u32> = (0..n as u32).collect();
        check("slice", || v.par_iter(), v.iter().collect());
        check("vec", || v.clone().into_par_iter(), v.clone());
        check(
            "range u8",
            || (0..n as u8).into_par_iter(),
            (0..n as u8).collect(),
        );
        check(
            "range i64",
            || (-5..n as i64 - 5).into_par_iter(),
            (-5..n as i64 - 5).collect(),
        );
        check(
            "inclusive",
            || (3..=n as u64 + 3).into_par_iter(),
            (3..=n as u64 + 3).collect(),
        );
        check("chunks", || v.par_chunks(4), v.chunks(4).collect());
        check(
            "chunks_exact",
            || v.par_chunks_exact(4),
            v.chunks_exact(4).collect(),
        );
        check("windows", || v.par_windows(3), v.windows(3).collect());
        check(
            "bytes",
            || "héllo wörld".par_bytes(),
            "héllo wörld".bytes().collect(),
        );
    }
    check("option", || Some(5).into_par_iter(), vec![5]);
    check("none", || None::<u8>.into_par_iter(), vec![]);
}

#[test]
fn adapters_split_exactly() {
    for n in [0usize, 1, 2, 5, 16, 33] {
        let v: Vec<u32> = (0..n as u32).collect();
        let w: Vec<u32> = (100..100 + n as u32 / 2).collect();
        check(
            "map",
            || v.par_iter().map(|x| x * 2),
            v.iter().map(|x| x * 2).collect(),
        );
        check(
            "enumerate",
            || v.par_iter().enumerate(),
            v.iter().enumerate().collect(),
        );
        check("rev", || v.par_iter().rev(), v.iter().rev().collect());
        check(
            "rev enumerate",
            || v.par_iter().enumerate().rev(),
            v.iter().enumerate().rev().collect(),
        );
        for k in [0, 1, n / 2, n, n + 3] {
            check("take", || v.par_iter().take(k), v.iter().take(k).collect());
            check("skip", || v.par_iter().skip(k), v.iter().skip(k).collect());
        }
        for step in [1, 2, 3, 7] {
            check(
                "step_by",
                || v.par_iter().step_by(step),
                v.iter().step_by(step).collect(),
            );
        }
        check("zip", || v.par_iter().zip(&w), v.iter().zip(&w).collect());
        check(
            "zip flipped",
            || w.par_iter().zip(&v),
            w.iter().zip(&v).collect(),
        );
        check(
            "chain",
            || v.par_iter().chain(&w),
            v.iter().chain(&w).collect(),
        );
        check(
            "chunks adapter",
            || v.par_iter().copied().chunks(3),
            v.chunks(3).map(<[u32]>::to_vec).collect(),
        );
        let interleaved = |a: &[u32], b: &[u32]| {
            let (mut x, mut y) = (a.iter().copied(), b.iter().copied());
            let mut out = Vec::new();
            loop {
                match (x.next(), y.next()) {
                    (None, None) => return out,
                    (p, q) => {
                        out.extend(p);
                        out.extend(q);
                    }
                }
            }
        };
        check(
            "interleave",
            || v.par_iter().copied().interleave(w.par_iter().copied()),
            interleaved(&v, &w),
        );
        check(
            "interleave flipped",
            || w.par_iter().copied().interleave(v.par_iter().copied()),
            interleaved(&w, &v),
        );
        check(
            "min_len",
            || v.par_iter().with_min_len(4),
            v.iter().collect(),
        );
    }
}
