//! Every data-parallel operation gives the sequential result: for sizes 0, 1, 2, 1023 and
//! 1 million, on pools of 1, 2, 3 and 8 threads, and through the free functions; and, as
//! property tests, on random inputs, random pools (1, 2, 3 or 8 threads) and random chunk sizes
//! and limits.

use corepool::{Pinning, Pool};
use proptest::prelude::*;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::OnceLock;

const SIZES: [usize; 5] = [0, 1, 2, 1023, 1_000_000];

const THREADS: [usize; 4] = [1, 2, 3, 8];

fn pools() -> Vec<Pool> {
    THREADS
        .iter()
        .map(|&n| {
            Pool::builder()
                .threads(n)
                .pinning(Pinning::None)
                .build()
                .unwrap()
        })
        .collect()
}

fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn input(n: usize) -> Vec<u64> {
    (0..n as u64).map(mix).collect()
}

/// An associative but not commutative combination: a polynomial hash of the sequence.
/// `(h, p)` stands for a run with hash `h` and multiplier `p = B^len`.
fn hash_one(x: u64) -> (u64, u64) {
    (x, 0x100_0000_01B3)
}

fn hash_combine(a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
    (
        a.0.wrapping_mul(b.1).wrapping_add(b.0),
        a.1.wrapping_mul(b.1),
    )
}

#[test]
fn map_equals_sequential() {
    for pool in pools() {
        for n in SIZES {
            let v = input(n);
            let expect: Vec<u64> = v.iter().map(|&x| x ^ (x >> 7)).collect();
            assert_eq!(pool.par_map(&v, |&x| x ^ (x >> 7)), expect, "n={n}");
            let expect: Vec<usize> = (0..n).map(|i| i * 3).collect();
            assert_eq!(pool.par_map(0..n, |i| i * 3), expect, "range n={n}");
            // Non-Copy output.
            let expect: Vec<String> = (0..n.min(5000)).map(|i| i.to_string()).collect();
            assert_eq!(pool.par_map(0..n.min(5000), |i| i.to_string()), expect);
        }
    }
}

#[test]
fn map_of_a_range_that_does_not_start_at_zero() {
    for pool in pools() {
        assert_eq!(
            pool.par_map(10..20, |i| i),
            (10..20).collect::<Vec<usize>>()
        );
        let (start, end) = (20, 10);
        assert!(pool.par_map(start..end, |i| i).is_empty());
    }
}

#[test]
fn for_each_visits_every_item_once() {
    for pool in pools() {
        for n in SIZES {
            let seen: Vec<AtomicU8> = (0..n).map(|_| AtomicU8::new(0)).collect();
            pool.par_for_each(0..n, |i| {
                seen[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(seen.iter().all(|c| c.load(Ordering::Relaxed) == 1), "n={n}");

            let v = input(n);
            let sum = AtomicU64::new(0);
            pool.par_for_each(&v, |&x| {
                sum.fetch_add(x, Ordering::Relaxed);
            });
            let expect = v.iter().fold(0u64, |a, &x| a.wrapping_add(x));
            assert_eq!(sum.into_inner(), expect, "n={n}");
        }
    }
}

#[test]
fn for_each_mut_equals_sequential() {
    for pool in pools() {
        for n in SIZES {
            let mut v = input(n);
            let mut expect = v.clone();
            expect.iter_mut().for_each(|x| *x = x.rotate_left(13) ^ 1);
            pool.par_for_each(&mut v, |x| *x = x.rotate_left(13) ^ 1);
            assert_eq!(v, expect, "n={n}");
        }
    }
}

#[test]
fn reduce_and_fold_equal_sequential() {
    for pool in pools() {
        for n in SIZES {
            let v = input(n);
            let sum = pool.par_reduce(&v, || 0u64, |&x| x, u64::wrapping_add);
            assert_eq!(sum, v.iter().fold(0u64, |a, &x| a.wrapping_add(x)), "n={n}");

            let min = pool.par_reduce(&v, || u64::MAX, |&x| x, u64::min);
            assert_eq!(min, v.iter().copied().min().unwrap_or(u64::MAX));

            // Order-sensitive: catches any piece combined out of order.
            let hash = pool.par_reduce(&v, || (0, 1), |&x| hash_one(x), hash_combine);
            let expect = v.iter().map(|&x| hash_one(x)).fold((0, 1), hash_combine);
            assert_eq!(hash, expect, "n={n}");

            let hist = pool.par_fold(
                &v,
                || vec![0usize; 16],
                |mut h, &x| {
                    h[(x % 16) as usize] += 1;
                    h
                },
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                    a
                },
            );
            let mut expect = vec![0usize; 16];
            v.iter().for_each(|&x| expect[(x % 16) as usize] += 1);
            assert_eq!(hist, expect, "n={n}");

            let count = pool.par_fold(0..n, || 0usize, |c, _| c + 1, |a, b| a + b);
            assert_eq!(count, n);
        }
    }
}

#[test]
fn chunks_equal_sequential() {
    for pool in pools() {
        for n in SIZES {
            for size in [1, 7, 1000, 4096] {
                let v = input(n);
                // Record each chunk's (offset, sum) and compare with the sequential chunks.
                let got = std::sync::Mutex::new(Vec::new());
                pool.par_chunks(&v, size, |c| {
                    let offset = (c.as_ptr() as usize - v.as_ptr() as usize) / 8;
                    let sum = c.iter().fold(0u64, |a, &x| a.wrapping_add(x));
                    got.lock().unwrap().push((offset, c.len(), sum));
                });
                let mut got = got.into_inner().unwrap();
                got.sort();
                let expect: Vec<_> = v
                    .chunks(size)
                    .enumerate()
                    .map(|(i, c)| {
                        (
                            i * size,
                            c.len(),
                            c.iter().fold(0u64, |a, &x| a.wrapping_add(x)),
                        )
                    })
                    .collect();
                assert_eq!(got, expect, "n={n} size={size}");

                let mut w = v.clone();
                pool.par_chunks_mut(&mut w, size, |c| {
                    c.reverse();
                    if let Some(first) = c.first_mut() {
                        *first = first.wrapping_add(1);
                    }
                });
                let mut expect = v.clone();
                expect.chunks_mut(size).for_each(|c| {
                    c.reverse();
                    if let Some(first) = c.first_mut() {
                        *first = first.wrapping_add(1);
                    }
                });
                assert_eq!(w, expect, "n={n} size={size}");
            }
        }
    }
}

#[test]
fn sorts_equal_sequential() {
    for pool in pools() {
        for n in SIZES {
            let v = input(n);
            let mut expect = v.clone();
            expect.sort();

            let mut w = v.clone();
            pool.par_sort(&mut w);
            assert_eq!(w, expect, "par_sort n={n}");
            let mut w = v.clone();
            pool.par_sort_unstable(&mut w);
            assert_eq!(w, expect, "par_sort_unstable n={n}");

            let mut expect_desc = v.clone();
            expect_desc.sort_by(|a, b| b.cmp(a));
            let mut w = v.clone();
            pool.par_sort_by(&mut w, |a, b| b.cmp(a));
            assert_eq!(w, expect_desc, "par_sort_by n={n}");
            let mut w = v.clone();
            pool.par_sort_unstable_by(&mut w, |a, b| b.cmp(a));
            assert_eq!(w, expect_desc, "par_sort_unstable_by n={n}");

            // Keyed with many duplicates: stable must match std's stable sort exactly.
            let mut expect_key = v.clone();
            expect_key.sort_by_key(|x| x % 100);
            let mut w = v.clone();
            pool.par_sort_by_key(&mut w, |x| x % 100);
            assert_eq!(w, expect_key, "par_sort_by_key n={n}");
            let mut w = v.clone();
            pool.par_sort_unstable_by_key(&mut w, |x| x % 100);
            assert!(w.windows(2).all(|p| p[0] % 100 <= p[1] % 100));
            w.sort();
            assert_eq!(
                w, expect,
                "par_sort_unstable_by_key is a permutation, n={n}"
            );
        }
    }
}

#[test]
fn sorts_of_presorted_reversed_and_constant_inputs() {
    let pool = Pool::builder()
        .threads(3)
        .pinning(Pinning::None)
        .build()
        .unwrap();
    let n = 300_000;
    let inputs: Vec<Vec<u32>> = vec![
        (0..n).collect(),
        (0..n).rev().collect(),
        vec![7; n as usize],
        (0..n).map(|i| i % 3).collect(),
    ];
    for v in inputs {
        let mut expect = v.clone();
        expect.sort();
        let mut w = v.clone();
        pool.par_sort(&mut w);
        assert_eq!(w, expect);
        let mut w = v.clone();
        pool.par_sort_unstable(&mut w);
        assert_eq!(w, expect);
    }
}

#[test]
fn stable_sort_keeps_equal_keys_in_input_order() {
    for pool in pools() {
        for n in SIZES {
            // (key, original index): few distinct keys, so long runs of duplicates.
            let mut v: Vec<(u8, usize)> = (0..n).map(|i| ((mix(i as u64) % 5) as u8, i)).collect();
            pool.par_sort_by_key(&mut v, |&(k, _)| k);
            assert!(
                v.windows(2)
                    .all(|w| w[0].0 < w[1].0 || (w[0].0 == w[1].0 && w[0].1 < w[1].1)),
                "stability, n={n}"
            );
            assert_eq!(v.len(), n);
        }
    }
}

#[test]
fn free_functions_use_the_current_pool_or_the_global_one() {
    let v = input(100_000);
    let expect: Vec<u64> = v.iter().map(|x| x / 3).collect();
    // Outside any worker: the global pool.
    assert_eq!(corepool::par_map(&v, |x| x / 3), expect);
    let pool = Pool::builder()
        .threads(3)
        .pinning(Pinning::None)
        .build()
        .unwrap();
    // Inside a worker: that worker's pool (every item runs on one of its workers).
    let on_pool = AtomicUsize::new(0);
    let got = pool.install(|| {
        corepool::par_map(&v, |x| {
            if pool.current_thread_index().is_some() {
                on_pool.fetch_add(1, Ordering::Relaxed);
            }
            x / 3
        })
    });
    assert_eq!(got, expect);
    assert_eq!(on_pool.into_inner(), v.len());

    let mut w = v.clone();
    corepool::par_for_each(&mut w, |x| *x /= 3);
    assert_eq!(w, expect);
    assert_eq!(
        corepool::par_reduce(&v, || 0u64, |&x| x, u64::wrapping_add),
        v.iter().fold(0u64, |a, &x| a.wrapping_add(x))
    );
    assert_eq!(
        corepool::par_fold(0..1000usize, || 0, |a, i| a + i, |a, b| a + b),
        499_500
    );
    let total = AtomicU64::new(0);
    corepool::par_chunks(&v, 333, |c| {
        total.fetch_add(c.len() as u64, Ordering::Relaxed);
    });
    assert_eq!(total.into_inner(), v.len() as u64);
    let mut w = v.clone();
    corepool::par_chunks_mut(&mut w, 333, |c| c.iter_mut().for_each(|x| *x /= 3));
    assert_eq!(w, expect);

    let mut sorted = v.clone();
    sorted.sort();
    for sort in [
        corepool::par_sort::<u64>,
        corepool::par_sort_unstable::<u64>,
    ] {
        let mut w = v.clone();
        sort(&mut w);
        assert_eq!(w, sorted);
        let mut w = v.clone();
        pool.install(|| sort(&mut w));
        assert_eq!(w, sorted);
    }
    let mut w = v.clone();
    corepool::par_sort_by(&mut w, |a, b| a.cmp(b));
    assert_eq!(w, sorted);
    let mut w = v.clone();
    corepool::par_sort_by_key(&mut w, |&a| a);
    assert_eq!(w, sorted);
    let mut w = v.clone();
    corepool::par_sort_unstable_by(&mut w, |a, b| a.cmp(b));
    assert_eq!(w, sorted);
    let mut w = v.clone();
    corepool::par_sort_unstable_by_key(&mut w, |&a| a);
    assert_eq!(w, sorted);
}

#[test]
fn nested_operations_inside_items() {
    for pool in pools() {
        // A par_map whose items run a par_reduce each: nested splitting must not deadlock
        // and must give the same answer.
        let rows = pool.par_map(0..64usize, |r| {
            corepool::par_reduce(0..1000usize, || 0, |c| r * c, |a, b| a + b)
        });
        let expect: Vec<usize> = (0..64).map(|r| (0..1000).map(|c| r * c).sum()).collect();
        assert_eq!(rows, expect);
    }
}

#[test]
fn operations_on_a_shut_down_pool_run_on_the_caller() {
    let pool = Pool::builder()
        .threads(2)
        .pinning(Pinning::None)
        .build()
        .unwrap();
    pool.shutdown();
    let v = input(50_000);
    let expect: Vec<u64> = v.iter().map(|x| x % 1000).collect();
    assert_eq!(pool.par_map(&v, |x| x % 1000), expect);
    let mut w = v.clone();
    pool.par_sort(&mut w);
    let mut s = v.clone();
    s.sort();
    assert_eq!(w, s);
    let mut out = Vec::new();
    pool.par_bounded(0..100u32, 4)
        .map_ordered(|x| x + 1, |y| out.push(y));
    assert_eq!(out, (1..=100).collect::<Vec<u32>>());
}

#[test]
fn zero_sized_items_and_results() {
    for pool in pools() {
        let units = pool.par_map(0..100_000, |_| ());
        assert_eq!(units.len(), 100_000);
        let mut v = vec![(); 100_000];
        pool.par_sort(&mut v);
        pool.par_sort_unstable(&mut v);
        pool.par_for_each(&mut v, |u| *u = ());
        assert_eq!(v.len(), 100_000);
        assert_eq!(pool.par_reduce(&v, || 0usize, |_| 1, |a, b| a + b), 100_000);
    }
}

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
