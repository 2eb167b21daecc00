//! Every data-parallel operation gives the sequential result, for sizes 0, 1, 2, 1023 and
//! 1 million, on pools of 1, 2, 3 and 8 threads, and through the free functions.

use corepool::{Pinning, Pool};
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};

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
