//! Property tests: every operation agrees with its sequential counterpart on random inputs,
//! random pools (1, 2, 3 or 8 threads) and random chunk sizes and limits.

use corepool::{Pinning, Pool};
use proptest::prelude::*;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::OnceLock;

/// Pools are built once: a property runs hundreds of cases.
fn pool(which: usize) -> &'static Pool {
    static POOLS: OnceLock<Vec<Pool>> = OnceLock::new();
    let pools = POOLS.get_or_init(|| {
        [1, 2, 3, 8]
            .iter()
            .map(|&n| {
                Pool::builder()
                    .threads(n)
                    .pinning(Pinning::None)
                    .build()
                    .unwrap()
            })
            .collect()
    });
    &pools[which % pools.len()]
}

/// Lengths up to a few thousand, sometimes much longer (so the sorts go parallel).
fn values() -> impl Strategy<Value = Vec<i32>> {
    prop_oneof![
        4 => prop::collection::vec(any::<i32>(), 0..3000),
        1 => prop::collection::vec(-50i32..50, 0..60_000),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn map_matches(v in values(), p in 0usize..4) {
        let pool = pool(p);
        let expect: Vec<i64> = v.iter().map(|&x| i64::from(x) * 3 - 1).collect();
        prop_assert_eq!(pool.par_map(&v, |&x| i64::from(x) * 3 - 1), expect);
        let expect: Vec<usize> = (0..v.len()).map(|i| i ^ 5).collect();
        prop_assert_eq!(pool.par_map(0..v.len(), |i| i ^ 5), expect);
    }

    #[test]
    fn for_each_matches(v in values(), p in 0usize..4) {
        let pool = pool(p);
        let mut w = v.clone();
        pool.par_for_each(&mut w, |x| *x = x.wrapping_mul(7));
        let expect: Vec<i32> = v.iter().map(|x| x.wrapping_mul(7)).collect();
        prop_assert_eq!(w, expect);
        let sum = AtomicI64::new(0);
        pool.par_for_each(&v, |&x| { sum.fetch_add(i64::from(x), Ordering::Relaxed); });
        prop_assert_eq!(sum.into_inner(), v.iter().map(|&x| i64::from(x)).sum::<i64>());
    }

    #[test]
    fn reduce_matches(v in values(), p in 0usize..4) {
        let pool = pool(p);
        let sum = pool.par_reduce(&v, || 0i64, |&x| i64::from(x), |a, b| a + b);
        prop_assert_eq!(sum, v.iter().map(|&x| i64::from(x)).sum::<i64>());
        // Not commutative: the concatenation of the first digits, in order.
        let digits = pool.par_reduce(
            &v,
            String::new,
            |x| x.unsigned_abs().to_string()[..1].to_string(),
            |a, b| a + &b,
        );
        let expect: String = v.iter().map(|x| x.unsigned_abs().to_string()[..1].to_string()).collect();
        prop_assert_eq!(digits, expect);
        let max = pool.par_fold(&v, || i32::MIN, |m, &x| m.max(x), i32::max);
        prop_assert_eq!(max, v.iter().copied().max().unwrap_or(i32::MIN));
    }

    #[test]
    fn chunks_match(v in values(), size in 1usize..600, p in 0usize..4) {
        let pool = pool(p);
        let mut w = v.clone();
        pool.par_chunks_mut(&mut w, size, |c| c.sort_unstable());
        let mut expect = v.clone();
        expect.chunks_mut(size).for_each(|c| c.sort_unstable());
        prop_assert_eq!(w, expect);
        let count = std::sync::atomic::AtomicUsize::new(0);
        pool.par_chunks(&v, size, |c| {
            assert!(!c.is_empty() && c.len() <= size);
            count.fetch_add(1, Ordering::Relaxed);
        });
        prop_assert_eq!(count.into_inner(), v.len().div_ceil(size));
    }

    #[test]
    fn sorts_match(v in values(), p in 0usize..4) {
        let pool = pool(p);
        let mut expect = v.clone();
        expect.sort();
        let mut w = v.clone();
        pool.par_sort(&mut w);
        prop_assert_eq!(&w, &expect);
        let mut w = v.clone();
        pool.par_sort_unstable(&mut w);
        prop_assert_eq!(&w, &expect);
    }

    #[test]
    fn stable_sort_by_key_matches_std(v in values(), modulus in 1i32..20, p in 0usize..4) {
        let pool = pool(p);
        let mut tagged: Vec<(i32, usize)> = v.iter().copied().zip(0..).collect();
        let mut expect = tagged.clone();
        expect.sort_by_key(|&(x, _)| x.rem_euclid(modulus));
        pool.par_sort_by_key(&mut tagged, |&(x, _)| x.rem_euclid(modulus));
        prop_assert_eq!(tagged, expect);
    }

    #[test]
    fn bounded_matches(v in prop::collection::vec(any::<u16>(), 0..500), limit in 1usize..20, p in 0usize..4) {
        let pool = pool(p);
        let mut out = Vec::new();
        pool.par_bounded(v.iter().copied(), limit).map_ordered(|x| u32::from(x) + 1, |y| out.push(y));
        let expect: Vec<u32> = v.iter().map(|&x| u32::from(x) + 1).collect();
        prop_assert_eq!(&out, &expect);
        let mut out = Vec::new();
        pool.par_bounded(v.iter().copied(), limit).map_unordered(|x| u32::from(x) + 1, |y| out.push(y));
        out.sort_unstable();
        let mut expect = expect;
        expect.sort_unstable();
        prop_assert_eq!(out, expect);
    }
}
