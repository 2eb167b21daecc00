//! A panic in a user closure reaches the caller once every piece has stopped; results already
//! made are dropped exactly once (no double drop, no leak); a sort whose comparator panics
//! leaves a permutation; and the pool stays usable afterwards.

use corepool::{Pinning, Pool};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

const THREADS: [usize; 4] = [1, 2, 3, 8];

fn pool(threads: usize) -> Pool {
    Pool::builder()
        .threads(threads)
        .pinning(Pinning::None)
        .build()
        .unwrap()
}

/// Counts, per id, how often a `Counted` was made and dropped.
#[derive(Debug)]
struct Tracker {
    made: Vec<AtomicUsize>,
    dropped: Vec<AtomicUsize>,
}

impl Tracker {
    fn new(n: usize) -> Tracker {
        Tracker {
            made: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            dropped: (0..n).map(|_| AtomicUsize::new(0)).collect(),
        }
    }

    /// Every value made was dropped exactly once, and nothing else was dropped.
    fn assert_balanced(&self, what: &str) {
        for (id, (m, d)) in self.made.iter().zip(&self.dropped).enumerate() {
            let (m, d) = (m.load(Ordering::SeqCst), d.load(Ordering::SeqCst));
            assert!(m <= 1, "{what}: id {id} made {m} times");
            assert_eq!(m, d, "{what}: id {id} made {m} times but dropped {d} times");
        }
    }

    fn made_count(&self) -> usize {
        self.made
            .iter()
            .map(|m| m.load(Ordering::SeqCst))
            .sum::<usize>()
    }
}

#[derive(Debug)]
struct Counted<'t> {
    id: usize,
    key: u64,
    tracker: &'t Tracker,
}

impl<'t> Counted<'t> {
    fn new(id: usize, key: u64, tracker: &'t Tracker) -> Self {
        tracker.made[id].fetch_add(1, Ordering::SeqCst);
        Counted { id, key, tracker }
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.tracker.dropped[self.id].fetch_add(1, Ordering::SeqCst);
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("?")
}

fn assert_usable(pool: &Pool) {
    let v = pool.par_map(0..10_000usize, |i| i * 2);
    assert_eq!(v, (0..10_000).map(|i| i * 2).collect::<Vec<_>>());
}

fn quiet_panics() {
    // The expected panics would flood the test output.
    std::panic::set_hook(Box::new(|info| {
        let msg = panic_message(info.payload());
        if !msg.starts_with("boom") {
            eprintln!("unexpected panic: {info}");
        }
    }));
}

#[test]
fn panic_mid_map_drops_every_made_result_once_and_propagates() {
    quiet_panics();
    for threads in THREADS {
        let pool = pool(threads);
        for n in [1, 2, 1023, 100_000] {
            for at in [0, n / 2, n - 1] {
                let tracker = Tracker::new(n);
                let active = AtomicUsize::new(0);
                let calls = AtomicUsize::new(0);
                let result = catch_unwind(AssertUnwindSafe(|| {
                    pool.par_map(0..n, |i| {
                        active.fetch_add(1, Ordering::SeqCst);
                        calls.fetch_add(1, Ordering::SeqCst);
                        let made = Counted::new(i, i as u64, &tracker);
                        if i == at {
                            active.fetch_sub(1, Ordering::SeqCst);
                            panic!("boom at {i}");
                        }
                        active.fetch_sub(1, Ordering::SeqCst);
                        made
                    })
                }));
                let payload = result.expect_err("the panic reaches the caller");
                assert_eq!(panic_message(&*payload), format!("boom at {at}"));
                // Every piece has stopped: nothing is running, and nothing starts later.
                assert_eq!(active.load(Ordering::SeqCst), 0);
                let calls_at_return = calls.load(Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(2));
                assert_eq!(calls.load(Ordering::SeqCst), calls_at_return);
                tracker.assert_balanced(&format!("threads={threads} n={n} at={at}"));
                assert!(tracker.made_count() >= 1);
                assert_usable(&pool);
            }
        }
    }
}

#[test]
fn completed_map_owns_each_result_once() {
    for threads in THREADS {
        let pool = pool(threads);
        let n = 50_000;
        let tracker = Tracker::new(n);
        let out = pool.par_map(0..n, |i| Counted::new(i, 0, &tracker));
        assert!(out.iter().enumerate().all(|(i, c)| c.id == i));
        drop(out);
        tracker.assert_balanced("completed map");
        assert_eq!(tracker.made_count(), n);
    }
}

#[test]
fn panic_in_for_each_reduce_and_chunks_propagates() {
    quiet_panics();
    for threads in THREADS {
        let pool = pool(threads);
        let r = catch_unwind(AssertUnwindSafe(|| {
            pool.par_for_each(0..100_000usize, |i| {
                if i == 77_777 {
                    panic!("boom for_each");
                }
            })
        }));
        assert_eq!(panic_message(&*r.unwrap_err()), "boom for_each");
        assert_usable(&pool);

        // The accumulators of a reduce hold tracked values: none leaks, none is dropped twice.
        let n = 100_000;
        let tracker = Tracker::new(n);
        let r = catch_unwind(AssertUnwindSafe(|| {
            pool.par_reduce(
                0..n,
                Vec::new,
                |i| {
                    if i == 61_234 {
                        panic!("boom reduce");
                    }
                    vec![Counted::new(i, 0, &tracker)]
                },
                |mut a, mut b| {
                    a.append(&mut b);
                    a
                },
            )
        }));
        assert_eq!(panic_message(&*r.unwrap_err()), "boom reduce");
        tracker.assert_balanced("reduce");
        assert_usable(&pool);

        let mut v = vec![0u8; 100_000];
        let r = catch_unwind(AssertUnwindSafe(|| {
            pool.par_chunks_mut(&mut v, 100, |c| {
                c.fill(1);
                if c.as_ptr() as usize % 7 == 3 {
                    panic!("boom chunks");
                }
            })
        }));
        if let Err(p) = r {
            assert_eq!(panic_message(&*p), "boom chunks");
        }
        assert_usable(&pool);
    }
}

/// Runs `sort` on tracked elements with a comparator that panics at comparison `panic_at`.
/// Returns whether it panicked; checks the slice is a permutation either way and that every
/// element is dropped exactly once afterwards.
fn sort_with_panicking_compare(
    pool: &Pool,
    n: usize,
    panic_at: usize,
    stable: bool,
) -> (bool, usize) {
    let tracker = Tracker::new(n);
    let mut v: Vec<Counted<'_>> = (0..n)
        .map(|i| Counted::new(i, (i as u64).wrapping_mul(0x9E37_79B9) % 1000, &tracker))
        .collect();
    let compares = AtomicUsize::new(0);
    let cmp = |a: &Counted<'_>, b: &Counted<'_>| {
        if compares.fetch_add(1, Ordering::SeqCst) == panic_at {
            panic!("boom compare");
        }
        a.key.cmp(&b.key)
    };
    let r = catch_unwind(AssertUnwindSafe(|| {
        if stable {
            pool.par_sort_by(&mut v, cmp)
        } else {
            pool.par_sort_unstable_by(&mut v, cmp)
        }
    }));
    let panicked = r.is_err();
    let mut ids: Vec<usize> = v.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    assert!(
        ids.iter().copied().eq(0..n),
        "a permutation after a panic at {panic_at} (stable={stable})"
    );
    if !panicked {
        assert!(v.windows(2).all(|w| w[0].key <= w[1].key));
    }
    drop(v);
    tracker.assert_balanced("sort");
    (panicked, compares.load(Ordering::SeqCst))
}

#[test]
fn sort_with_a_panicking_comparator_leaves_a_permutation() {
    quiet_panics();
    for threads in THREADS {
        let pool = pool(threads);
        for stable in [true, false] {
            for n in [1_000, 100_000] {
                // How many comparisons a full sort makes (roughly: it varies with the splits).
                let (_, total) = sort_with_panicking_compare(&pool, n, usize::MAX, stable);
                for at in [
                    0,
                    10,
                    total / 3,
                    total / 2,
                    total - total / 10,
                    total - n / 2,
                ] {
                    let (panicked, _) = sort_with_panicking_compare(&pool, n, at, stable);
                    if at < total / 2 {
                        assert!(panicked, "comparison {at} of {total} panicked");
                    }
                }
                assert_usable(&pool);
            }
        }
    }
}
