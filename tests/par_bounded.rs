//! The bounded adapter never holds more than `limit` items (items and results waiting for the
//! sink both count), delivers in order when asked, propagates panics, and works when driven
//! from inside a worker of a one-thread pool.

use corepool::{Pinning, Pool};
use std::io::BufRead;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

const THREADS: [usize; 4] = [1, 2, 3, 8];
const LIMITS: [usize; 5] = [1, 2, 3, 8, 32];

fn pool(threads: usize) -> Pool {
    Pool::builder()
        .threads(threads)
        .pinning(Pinning::None)
        .build()
        .unwrap()
}

/// Counts live tracked values and keeps the highest count seen.
#[derive(Default)]
struct Gauge {
    live: AtomicUsize,
    high: AtomicUsize,
    made: AtomicUsize,
}

struct Tracked<'g> {
    seq: usize,
    gauge: &'g Gauge,
}

impl<'g> Tracked<'g> {
    fn new(seq: usize, gauge: &'g Gauge) -> Self {
        gauge.made.fetch_add(1, Ordering::SeqCst);
        let live = gauge.live.fetch_add(1, Ordering::SeqCst) + 1;
        gauge.high.fetch_max(live, Ordering::SeqCst);
        Tracked { seq, gauge }
    }
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        self.gauge.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Uneven work: every 7th item is ~50x slower, so results finish out of order.
fn work(seq: usize) -> u64 {
    let rounds = if seq % 7 == 0 { 20_000 } else { 400 };
    let mut x = seq as u64;
    for _ in 0..rounds {
        x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
    }
    x
}

fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("");
        if !msg.starts_with("boom") {
            eprintln!("unexpected panic: {info}");
        }
    }));
}

#[test]
fn for_each_never_holds_more_than_the_limit() {
    for threads in THREADS {
        let pool = pool(threads);
        for limit in LIMITS {
            let gauge = Gauge::default();
            let done = AtomicUsize::new(0);
            let source = (0..1500).map(|i| Tracked::new(i, &gauge));
            pool.par_bounded(source, limit).for_each(|item| {
                std::hint::black_box(work(item.seq));
                done.fetch_add(1, Ordering::Relaxed);
            });
            assert_eq!(done.into_inner(), 1500);
            assert_eq!(gauge.live.load(Ordering::SeqCst), 0);
            let high = gauge.high.load(Ordering::SeqCst);
            assert!(
                high <= limit,
                "threads={threads} limit={limit}: {high} live"
            );
        }
    }
}

#[test]
fn ordered_map_delivers_in_order_within_the_limit() {
    for threads in THREADS {
        let pool = pool(threads);
        for limit in LIMITS {
            let gauge = Gauge::default();
            let source = (0..1500).map(|i| Tracked::new(i, &gauge));
            let mut next = 0;
            pool.par_bounded(source, limit).map_ordered(
                // The result keeps the tracked item alive until the sink drops it.
                |item| {
                    let w = work(item.seq);
                    (item, w)
                },
                |(item, w)| {
                    assert_eq!(item.seq, next, "in source order");
                    assert_eq!(w, work(item.seq));
                    next += 1;
                },
            );
            assert_eq!(next, 1500);
            assert_eq!(gauge.live.load(Ordering::SeqCst), 0);
            let high = gauge.high.load(Ordering::SeqCst);
            assert!(
                high <= limit,
                "threads={threads} limit={limit}: {high} live"
            );
        }
    }
}

#[test]
fn unordered_map_delivers_everything_within_the_limit() {
    for threads in THREADS {
        let pool = pool(threads);
        for limit in LIMITS {
            let gauge = Gauge::default();
            let source = (0..1500).map(|i| Tracked::new(i, &gauge));
            let mut seen = vec![false; 1500];
            pool.par_bounded(source, limit).map_unordered(
                |item| item,
                |item| {
                    assert!(!seen[item.seq], "delivered once");
                    seen[item.seq] = true;
                },
            );
            assert!(seen.iter().all(|&s| s));
            assert_eq!(gauge.live.load(Ordering::SeqCst), 0);
            let high = gauge.high.load(Ordering::SeqCst);
            assert!(
                high <= limit,
                "threads={threads} limit={limit}: {high} live"
            );
        }
    }
}

#[test]
fn lines_of_a_reader_in_order() {
    let pool = pool(3);
    let text: String = (0..10_000).map(|i| format!("{i}\n")).collect();
    let mut out = Vec::new();
    pool.par_bounded(std::io::Cursor::new(text).lines(), 16)
        .map_ordered(
            |line| line.unwrap().parse::<u64>().unwrap() * 2,
            |x| out.push(x),
        );
    assert_eq!(out, (0..10_000).map(|i| i * 2).collect::<Vec<u64>>());
}

#[test]
fn driven_from_inside_a_one_thread_pool() {
    // The driver runs on the only worker: it must run the tasks itself while it waits.
    let pool = pool(1);
    let sum = pool.install(|| {
        let mut sum = 0u64;
        corepool::par_bounded(0..5_000u64, 4).map_ordered(|x| x * 3, |y| sum += y);
        sum
    });
    assert_eq!(sum, 3 * 4999 * 5000 / 2);
    // Nested in a par_for_each item too.
    let total = AtomicUsize::new(0);
    pool.par_for_each(0..4usize, |_| {
        corepool::par_bounded(0..100usize, 2).for_each(|x| {
            total.fetch_add(x, Ordering::Relaxed);
        });
    });
    assert_eq!(total.into_inner(), 4 * 4950);
}

#[test]
fn a_panic_stops_the_pulling_and_reaches_the_caller() {
    quiet_panics();
    for threads in THREADS {
        let pool = pool(threads);
        for limit in LIMITS {
            let gauge = Gauge::default();
            let panic_at = 300;
            let source = (0..100_000).map(|i| Tracked::new(i, &gauge));
            let mut delivered = 0;
            let r = catch_unwind(AssertUnwindSafe(|| {
                pool.par_bounded(source, limit).map_ordered(
                    |item| {
                        if item.seq == panic_at {
                            panic!("boom at {panic_at}");
                        }
                        item
                    },
                    |_| delivered += 1,
                )
            }));
            assert!(r.is_err(), "the panic reaches the caller");
            assert_eq!(gauge.live.load(Ordering::SeqCst), 0, "nothing leaks");
            assert!(delivered <= panic_at, "only a prefix was delivered");
            let made = gauge.made.load(Ordering::SeqCst);
            // In order, at most `limit` items can be pulled from the panicking one on.
            assert!(made <= panic_at + limit, "pulled {made}, limit {limit}");
            let high = gauge.high.load(Ordering::SeqCst);
            assert!(high <= limit);

            let mut after = Vec::new();
            pool.par_bounded(0..10u8, limit)
                .map_ordered(|x| x, |x| after.push(x));
            assert_eq!(
                after,
                (0..10).collect::<Vec<u8>>(),
                "the pool is still usable"
            );
        }
    }
}

#[test]
fn a_panicking_sink_or_source_reaches_the_caller() {
    quiet_panics();
    let pool = pool(2);
    let r = catch_unwind(AssertUnwindSafe(|| {
        pool.par_bounded(0..1000u32, 4)
            .map_unordered(|x| x, |x| assert!(x != 500, "boom sink"))
    }));
    assert!(r.is_err());
    let r = catch_unwind(AssertUnwindSafe(|| {
        let source = (0..1000u32).inspect(|&x| assert!(x != 700, "boom source"));
        pool.par_bounded(source, 4).for_each(|x| {
            std::hint::black_box(x);
        })
    }));
    assert!(r.is_err());
    let mut n = 0;
    pool.par_bounded(0..100, 3).map_unordered(|x| x, |_| n += 1);
    assert_eq!(n, 100);
}

#[test]
#[should_panic(expected = "limit of at least 1")]
fn a_zero_limit_is_refused() {
    let pool = pool(1);
    pool.par_bounded(0..10, 0).for_each(|_| {});
}

/// As a parallel iterator (issue #19), a `ParBounded` keeps the source's order through any
/// chain and never has more than `limit` items pulled and not yet consumed.
#[test]
fn as_a_parallel_iterator_it_keeps_order_within_the_limit() {
    use corepool::prelude::*;
    for threads in THREADS {
        let pool = pool(threads);
        for limit in LIMITS {
            let gauge = Gauge::default();
            let source = (0..1500).map(|i| Tracked::new(i, &gauge));
            let out: Vec<(usize, u64)> = pool
                .par_bounded(source, limit)
                .map(|item| (item.seq, work(item.seq)))
                .filter(|&(seq, _)| seq % 3 != 0)
                .collect();
            let expected: Vec<(usize, u64)> = (0..1500)
                .filter(|seq| seq % 3 != 0)
                .map(|seq| (seq, work(seq)))
                .collect();
            assert_eq!(out, expected, "threads={threads} limit={limit}");
            assert_eq!(gauge.made.load(Ordering::SeqCst), 1500);
            assert_eq!(gauge.live.load(Ordering::SeqCst), 0);
            let high = gauge.high.load(Ordering::SeqCst);
            assert!(
                high <= limit,
                "threads={threads} limit={limit}: {high} live"
            );
        }
    }
}
