//! Every item a parallel iterator produces is dropped exactly once: when a chain over a `Vec`
//! by value leaves items out (`take`, `skip`, `step_by`, an unequal `zip`), when its result is
//! collected and then dropped, when a closure panics mid-chain (the panic must reach the caller
//! and the counts must still balance), and when `find_any` stops early. Also: a search that
//! stops early on a long range shows up in `corepool::iter::skipped_items()`.

mod common;

use corepool::iter::skipped_items;
use corepool::prelude::*;
use corepool::Pool;
use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::OnceLock;

const LENS: [usize; 6] = [0, 1, 2, 7, 1000, 100_003];
const THREADS: [usize; 3] = [1, 2, 5];

fn pools() -> &'static [Pool] {
    static POOLS: OnceLock<Vec<Pool>> = OnceLock::new();
    POOLS.get_or_init(|| common::unpinned_pools(&THREADS))
}

/// Hands out [`D`]s with consecutive ids and counts how often each one is dropped.
#[derive(Debug)]
struct Tracker {
    made: AtomicUsize,
    drops: Vec<AtomicU8>,
}

impl Tracker {
    /// Room for `capacity` items; leaked, so the items can hold a `'static` reference.
    fn new(capacity: usize) -> &'static Tracker {
        Box::leak(Box::new(Tracker {
            made: AtomicUsize::new(0),
            drops: (0..capacity).map(|_| AtomicU8::new(0)).collect(),
        }))
    }

    fn make(&'static self) -> D {
        let id = self.made.fetch_add(1, Ordering::Relaxed);
        assert!(id < self.drops.len(), "tracker full");
        D {
            id,
            pos: 0,
            tracker: self,
        }
    }

    /// `n` new items, each knowing its position in the `Vec`.
    fn vec(&'static self, n: usize) -> Vec<D> {
        (0..n)
            .map(|pos| {
                let mut d = self.make();
                d.pos = pos;
                d
            })
            .collect()
    }

    /// Every item made so far was dropped exactly once.
    fn check(&self, ctx: &str) {
        let made = self.made.load(Ordering::SeqCst);
        let mut wrong = Vec::new();
        for (id, drops) in self.drops[..made].iter().enumerate() {
            let n = drops.load(Ordering::SeqCst);
            if n != 1 {
                wrong.push((id, n));
            }
        }
        assert!(
            wrong.is_empty(),
            "{ctx}: of {made} items, {} were not dropped exactly once; (id, drops): {:?}",
            wrong.len(),
            &wrong[..wrong.len().min(10)]
        );
    }

    /// Starts over, for the next case (every item of the last one must be gone).
    fn reset(&self) {
        self.made.store(0, Ordering::SeqCst);
        for d in &self.drops {
            d.store(0, Ordering::SeqCst);
        }
    }
}

/// An item that reports its drop to its tracker.
#[derive(Debug)]
struct D {
    /// Unique among the items of one case: what the drop counts are kept by.
    id: usize,
    /// The position in the `Vec` it was made in (what the tests' predicates look at).
    pos: usize,
    tracker: &'static Tracker,
}

impl Drop for D {
    fn drop(&mut self) {
        self.tracker.drops[self.id].fetch_add(1, Ordering::SeqCst);
    }
}

/// Runs `case(pool, tracker, len)` for every pool and length, then checks the drops.
fn cases(capacity_per_item: usize, mut case: impl FnMut(&'static Pool, &'static Tracker, usize)) {
    let tracker = Tracker::new(LENS[LENS.len() - 1] * capacity_per_item + 16);
    for pool in pools() {
        for len in LENS {
            tracker.reset();
            case(pool, tracker, len);
            tracker.check(&format!("{} threads len {len}", pool.threads()));
        }
    }
}

/// Runs `f`, which must panic with `"boom"`, and returns once it has.
fn expect_boom<R>(ctx: &str, f: impl FnOnce() -> R) {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("{ctx}: the closure's panic did not reach the caller"),
        Err(payload) => {
            let msg = common::panic_message(&*payload);
            assert_eq!(msg, "boom", "{ctx}: the caller got another panic");
        }
    }
}

#[test]
fn vec_by_value_with_take_skip_step_by() {
    cases(15, |pool, t, len| {
        for k in [0, 1, len / 2, len, len + 3] {
            let n = pool.install(|| t.vec(len).into_par_iter().take(k).count());
            assert_eq!(n, len.min(k));
            let n = pool.install(|| t.vec(len).into_par_iter().skip(k).count());
            assert_eq!(n, len.saturating_sub(k));
            let kept: Vec<D> =
                pool.install(|| t.vec(len).into_par_iter().skip(k / 2).take(k).collect());
            assert_eq!(kept.len(), len.saturating_sub(k / 2).min(k));
            drop(kept);
        }
    });
    cases(8, |pool, t, len| {
        for step in [1, 2, 3, 1000] {
            let kept: Vec<D> = pool.install(|| t.vec(len).into_par_iter().step_by(step).collect());
            assert_eq!(kept.len(), len.div_ceil(step));
            drop(kept);
            let kept: Vec<D> = pool.install(|| {
                t.vec(len)
                    .into_par_iter()
                    .rev()
                    .step_by(step)
                    .skip(1)
                    .collect()
            });
            drop(kept);
        }
    });
}

#[test]
fn vec_by_value_with_zip_chain_chunks_interleave() {
    cases(7, |pool, t, len| {
        // Unequal zip: the longer side's tail is never produced, but must still be dropped.
        let pairs: Vec<(D, D)> =
            pool.install(|| t.vec(len).into_par_iter().zip(t.vec(len / 2 + 1)).collect());
        assert_eq!(pairs.len(), len.min(len / 2 + 1));
        drop(pairs);
        let n = pool.install(|| {
            t.vec(len)
                .into_par_iter()
                .chain(t.vec(len / 3))
                .filter(|d| d.pos % 2 == 0)
                .count()
        });
        assert!(n <= len + len / 3);
        let chunks: Vec<Vec<D>> = pool.install(|| t.vec(len).into_par_iter().chunks(7).collect());
        drop(chunks);
        let n = pool.install(|| {
            t.vec(len)
                .into_par_iter()
                .interleave(t.vec(len / 2))
                .take(len / 2)
                .count()
        });
        assert_eq!(n, len / 2);
    });
}

#[test]
fn collect_then_drop() {
    cases(4, |pool, t, len| {
        let v: Vec<D> = pool.install(|| t.vec(len).into_par_iter().collect());
        assert_eq!(v.len(), len);
        assert!(
            v.windows(2).all(|w| w[0].pos < w[1].pos),
            "collect keeps order"
        );
        drop(v);
        let v: Vec<D> = pool.install(|| {
            t.vec(len)
                .into_par_iter()
                .filter(|d| d.pos % 3 != 0)
                .collect()
        });
        drop(v);
        let m: HashMap<usize, D> =
            pool.install(|| t.vec(len).into_par_iter().map(|d| (d.pos, d)).collect());
        assert_eq!(m.len(), len);
        drop(m);
        // Duplicate keys: the values replaced in the map are dropped too.
        let m: BTreeMap<usize, D> = pool.install(|| {
            t.vec(len)
                .into_par_iter()
                .map(|d| (d.pos % 10, d))
                .collect()
        });
        drop(m);
    });
}

#[test]
fn find_any_stopping_early() {
    cases(3, |pool, t, len| {
        let hit = pool.install(|| t.vec(len).into_par_iter().find_any(|d| d.pos % 10 == 3));
        assert_eq!(hit.is_some(), len > 3);
        drop(hit);
        let hit = pool.install(|| {
            t.vec(len)
                .into_par_iter()
                .map(|d| (d.pos, d))
                .find_first(|p| p.0 % 10 == 3)
        });
        drop(hit);
        let any = pool.install(|| t.vec(len).into_par_iter().any(|d| d.pos == 1));
        assert_eq!(any, len > 1);
    });
}

#[test]
fn a_panicking_closure_reaches_the_caller_and_drops_balance() {
    cases(3, |pool, t, len| {
        // At least two items, so the item that panics is past the one `skip(1)` leaves out.
        if len < 2 {
            return;
        }
        let ctx = format!("{} threads len {len}", pool.threads());
        let at = len / 2;
        let boom = |d: &D| {
            if d.pos == at {
                panic!("boom");
            }
        };
        // Indexed collect (written in place) panicking halfway.
        expect_boom(&ctx, || -> Vec<D> {
            pool.install(|| {
                t.vec(len)
                    .into_par_iter()
                    .map(|d| {
                        boom(&d);
                        d
                    })
                    .collect()
            })
        });
        t.check(&format!("{ctx}: in-place collect"));
        t.reset();
        // Unindexed collect (per-run buffers).
        expect_boom(&ctx, || -> Vec<D> {
            pool.install(|| {
                t.vec(len)
                    .into_par_iter()
                    .filter(|d| {
                        boom(d);
                        true
                    })
                    .collect()
            })
        });
        t.check(&format!("{ctx}: unindexed collect"));
        t.reset();
        // A map that makes new items, panicking while items of both kinds are alive.
        expect_boom(&ctx, || {
            pool.install(|| {
                t.vec(len)
                    .into_par_iter()
                    .map(|d| {
                        boom(&d);
                        (d, t.make())
                    })
                    .for_each(drop)
            })
        });
        t.check(&format!("{ctx}: map making items"));
        t.reset();
        // In fold and in reduce.
        expect_boom(&ctx, || {
            pool.install(|| {
                t.vec(len)
                    .into_par_iter()
                    .fold(Vec::new, |mut v, d| {
                        boom(&d);
                        v.push(d);
                        v
                    })
                    .reduce(Vec::new, |mut a, b| {
                        a.extend(b);
                        a
                    })
            })
        });
        t.check(&format!("{ctx}: fold"));
        t.reset();
        expect_boom(&ctx, || {
            pool.install(|| {
                t.vec(len)
                    .into_par_iter()
                    .map(|d| vec![d])
                    .reduce(Vec::new, |mut a, b| {
                        if b.first().is_some_and(|d| d.pos == at) {
                            panic!("boom");
                        }
                        a.extend(b);
                        a
                    })
            })
        });
        t.check(&format!("{ctx}: reduce"));
        t.reset();
        // Through zip, skip and a chain, into a HashMap.
        expect_boom(&ctx, || -> HashMap<usize, (D, D)> {
            pool.install(|| {
                t.vec(len)
                    .into_par_iter()
                    .zip(t.vec(len + 5))
                    .skip(1)
                    .chain(t.vec(2).into_par_iter().zip(t.vec(2)))
                    .map(|(a, b)| {
                        boom(&a);
                        (a.pos, (a, b))
                    })
                    .collect()
            })
        });
        t.check(&format!("{ctx}: zip skip chain into HashMap"));
        t.reset();
        // through with_pool instead of install, and a Result collect that sees the panic.
        expect_boom(&ctx, || -> Result<Vec<D>, usize> {
            t.vec(len)
                .into_par_iter()
                .map(|d| {
                    boom(&d);
                    Ok(d)
                })
                .with_pool(pool)
                .collect()
        });
    });
}

#[test]
fn a_result_collect_that_fails_drops_the_oks() {
    cases(2, |pool, t, len| {
        let got: Result<Vec<D>, D> = pool.install(|| {
            t.vec(len)
                .into_par_iter()
                .map(|d| if d.pos % 100 == 50 { Err(d) } else { Ok(d) })
                .collect()
        });
        assert_eq!(got.is_err(), len > 50);
        drop(got);
        let got: Option<Vec<D>> = pool.install(|| {
            t.vec(len)
                .into_par_iter()
                .map(|d| (d.pos != 0).then_some(d))
                .collect()
        });
        assert_eq!(got.is_some(), len == 0);
    });
}

#[test]
fn par_bridge_and_flat_map_drops() {
    cases(5, |pool, t, len| {
        let v: Vec<D> = pool.install(|| t.vec(len).into_iter().par_bridge().collect());
        drop(v);
        // A search stops the pulling: the items never pulled go with the source iterator.
        let hit = pool.install(|| {
            t.vec(len)
                .into_iter()
                .par_bridge()
                .find_any(|d| d.pos % 50 == 2)
        });
        drop(hit);
        let hit = pool.install(|| {
            t.vec(len / 10 + 1)
                .into_par_iter()
                .flat_map(|d| vec![d, t.make(), t.make()])
                .find_first(|d| d.pos % 7 == 5)
        });
        drop(hit);
        if len > 0 {
            let at = len / 2;
            expect_boom("par_bridge", || -> Vec<D> {
                pool.install(|| {
                    t.vec(len)
                        .into_iter()
                        .par_bridge()
                        .map(|d| {
                            if d.pos == at {
                                panic!("boom");
                            }
                            d
                        })
                        .collect()
                })
            });
        }
    });
}

#[test]
fn a_panicking_sort_comparator_loses_no_item() {
    // Not an iterator chain, but the same promise: user code that panics mid-operation leaves
    // every item owned exactly once (the slice still holds each item once).
    cases(2, |pool, t, len| {
        if len < 2 {
            return;
        }
        let calls = AtomicUsize::new(0);
        let limit = len / 4; // below the comparisons any sort of `len` items makes
        for stable in [true, false] {
            let mut v = t.vec(len);
            v.reverse();
            calls.store(0, Ordering::Relaxed);
            let cmp = |a: &D, b: &D| {
                if calls.fetch_add(1, Ordering::Relaxed) == limit {
                    panic!("boom");
                }
                a.pos.cmp(&b.pos)
            };
            expect_boom("sort", || {
                pool.install(|| {
                    if stable {
                        v.par_sort_by(cmp)
                    } else {
                        v.par_sort_unstable_by(cmp)
                    }
                })
            });
            let mut ids: Vec<usize> = v.iter().map(|d| d.id).collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(
                ids.len(),
                v.len(),
                "an item was duplicated by the panicking sort"
            );
            drop(v);
        }
    });
}

#[test]
fn find_any_on_a_long_range_counts_skipped_items() {
    // The search's answer is near the start, so it stops early whatever the timing: some
    // items are never run, and those are counted. (How many depends on how far a thief got
    // before the hit was found: under load, a lot; so the check is on what holds always.)
    use std::sync::atomic::AtomicU64;
    const N: u64 = 50_000_000;
    for pool in pools() {
        for target in [10u64, 1000] {
            let ran = AtomicU64::new(0);
            let before = skipped_items();
            let hit = pool.install(|| {
                (0..N).into_par_iter().find_any(|&x| {
                    ran.fetch_add(1, Ordering::Relaxed);
                    x == target
                })
            });
            assert_eq!(hit, Some(target));
            let skipped = skipped_items() - before;
            let ran = ran.into_inner();
            assert!(
                ran < N,
                "{} threads: the search ran all {N} items",
                pool.threads()
            );
            assert!(
                skipped > 0,
                "{} threads: no item counted as skipped",
                pool.threads()
            );
            // Other tests of this binary may count too, but they run far fewer items.
            assert!(
                ran + skipped <= N + N / 10,
                "{} threads: ran {ran} + skipped {skipped} of {N}",
                pool.threads()
            );
        }
        let before = skipped_items();
        assert!(pool.install(|| (0..N).into_par_iter().any(|x| x == 1000)));
        assert!(skipped_items() > before, "any() did not stop early");
    }
}

#[test]
fn a_par_bridge_source_that_panics_in_next() {
    // The user's iterator itself panics while being pulled: the panic reaches the caller, the
    // items already pulled are dropped once, and so are the ones left in the source.
    cases(1, |pool, t, len| {
        if len == 0 {
            return;
        }
        let at = len / 2;
        let mut pulled = 0;
        let source = t.vec(len).into_iter().inspect(move |_| {
            pulled += 1;
            if pulled == at + 1 {
                panic!("boom");
            }
        });
        expect_boom("par_bridge source", || -> Vec<D> {
            pool.install(|| source.par_bridge().window(3).collect())
        });
    });
}

#[test]
fn a_panicking_map_init_or_filter_map() {
    cases(2, |pool, t, len| {
        if len == 0 {
            return;
        }
        let inits = AtomicUsize::new(0);
        expect_boom("map_init's init", || -> Vec<D> {
            pool.install(|| {
                t.vec(len)
                    .into_par_iter()
                    .map_init(
                        || {
                            if inits.fetch_add(1, Ordering::SeqCst) == 0 {
                                panic!("boom");
                            }
                        },
                        |_, d| d,
                    )
                    .collect()
            })
        });
        let at = len / 2;
        expect_boom("filter_map", || -> Vec<D> {
            pool.install(|| {
                t.vec(len)
                    .into_par_iter()
                    .filter_map(|d| {
                        if d.pos == at {
                            panic!("boom");
                        }
                        (d.pos % 2 == 0).then_some(d)
                    })
                    .collect()
            })
        });
    });
}

#[test]
fn a_panic_while_other_pieces_run_drops_every_written_item() {
    // The panicking item waits until other workers have written items of their own pieces, so
    // those pieces stop early (at the abort) with part of their output written: every written
    // item must still be dropped once, whichever runs it ends up in.
    let t = Tracker::new(100_016);
    for pool in &pools()[1..] {
        for round in 0..3 {
            t.reset();
            let written = AtomicUsize::new(0);
            expect_boom("in-place collect with pieces in flight", || -> Vec<D> {
                pool.install(|| {
                    t.vec(100_000)
                        .into_par_iter()
                        .map(|d| {
                            if d.pos == 0 {
                                common::eventually(std::time::Duration::from_secs(2), || {
                                    written.load(Ordering::SeqCst) > 5_000
                                });
                                panic!("boom");
                            }
                            written.fetch_add(1, Ordering::SeqCst);
                            d
                        })
                        .collect()
                })
            });
            t.check(&format!("{} threads round {round}", pool.threads()));
        }
    }
}

#[test]
fn an_inconsistent_sort_comparator_loses_no_item() {
    // A comparator that is not a total order (answers at random): the sort may put the items in
    // any order or panic, but each item must still be in the slice exactly once, and dropped
    // once after.
    cases(2, |pool, t, len| {
        let calls = AtomicUsize::new(0);
        let random = |_: &D, _: &D| {
            let n = calls.fetch_add(1, Ordering::Relaxed) as u64;
            match common::Rng::new(n).below(3) {
                0 => std::cmp::Ordering::Less,
                1 => std::cmp::Ordering::Equal,
                _ => std::cmp::Ordering::Greater,
            }
        };
        for stable in [true, false] {
            let mut v = t.vec(len);
            // std's sorts may panic on such a comparator (they detect some violations), and so
            // may corepool's, whose small pieces are std's: either outcome is allowed.
            let _ = catch_unwind(AssertUnwindSafe(|| {
                pool.install(|| {
                    if stable {
                        v.par_sort_by(random)
                    } else {
                        v.par_sort_unstable_by(random)
                    }
                })
            }));
            let mut positions: Vec<usize> = v.iter().map(|d| d.pos).collect();
            positions.sort_unstable();
            assert_eq!(
                positions,
                (0..len).collect::<Vec<_>>(),
                "stable {stable}: the sort lost or doubled items"
            );
        }
    });
}
