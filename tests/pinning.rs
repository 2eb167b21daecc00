//! The pinning rule: `PerCore` pins worker i to allowed core i (round-robin), `Cores(ids)` pins
//! to the listed cores and rejects cores outside the allowed set, `None` pins nothing; a pool
//! built on a pinned worker does not inherit that worker's single core (neither its mask nor its
//! default thread count).
//!
//! Each worker's mask is read twice: by the worker itself (`core_affinity::get_core_ids` reads
//! the calling thread's mask) from `on_thread_start` and from a task, and from outside through
//! `/proc/self/task/<tid>/status`. (The `COREPOOL_NO_PIN` variable is in `pinning_env.rs`.)
//!
//! A test named `bug_*`, or whose doc comment starts "Fixed bug", guards a fixed bug: it failed on
//! the code before the fix, and its doc comment says what the bug was.

mod common;

use common::{my_cores, thread_allowed_cpus, thread_name, tids_named, unique_prefix, watchdog};
use corepool::{BuildError, Pinning, Pool};
use std::collections::BTreeMap;
use std::sync::{Arc, Barrier, Mutex};

/// The allowed cores of this process (the test threads are never pinned).
fn allowed() -> Vec<usize> {
    assert!(
        std::env::var_os(corepool::NO_PIN_ENV).is_none(),
        "unset {} to run the pinning tests",
        corepool::NO_PIN_ENV
    );
    my_cores()
}

/// Builds a pool and returns, per worker index, its mask as seen (1) by `on_thread_start`,
/// (2) by a task running on it, (3) by `/proc`.
fn worker_masks(threads: usize, pinning: Pinning) -> BTreeMap<usize, [Vec<usize>; 3]> {
    let prefix = unique_prefix("pin");
    let from_hook = Arc::new(Mutex::new(BTreeMap::new()));
    let pool = {
        let p = prefix.clone();
        let from_hook = Arc::clone(&from_hook);
        Pool::builder()
            .threads(threads)
            .pinning(pinning)
            .thread_name(move |i| format!("{p}{i}"))
            .on_thread_start(move |i| {
                from_hook.lock().unwrap().insert(i, my_cores());
            })
            .build()
            .unwrap()
    };

    // One task per worker, all at once (they wait for each other), so every worker reports.
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            pool.spawn(move || {
                barrier.wait();
                (corepool::current_thread_index().unwrap(), my_cores())
            })
        })
        .collect();
    let from_task: BTreeMap<usize, Vec<usize>> =
        handles.into_iter().map(|h| h.join().unwrap()).collect();

    // Listing /proc/self/task while other tests' threads come and go can skip a live thread
    // (the kernel walks the thread list by position), so list again until all are seen.
    let read_proc = || -> BTreeMap<usize, Vec<usize>> {
        tids_named(&prefix)
            .into_iter()
            .map(|tid| {
                let index = thread_name(tid)[prefix.len()..].parse().unwrap();
                (index, thread_allowed_cpus(tid))
            })
            .collect()
    };
    let mut from_proc = read_proc();
    for _ in 0..100 {
        if from_proc.len() == threads {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
        from_proc = read_proc();
    }
    drop(pool);

    let from_hook = from_hook.lock().unwrap().clone();
    assert_eq!(from_hook.len(), threads);
    assert_eq!(from_task.len(), threads);
    assert_eq!(from_proc.len(), threads);
    (0..threads)
        .map(|i| {
            (
                i,
                [
                    from_hook[&i].clone(),
                    from_task[&i].clone(),
                    from_proc[&i].clone(),
                ],
            )
        })
        .collect()
}

fn assert_masks(masks: &BTreeMap<usize, [Vec<usize>; 3]>, expected: impl Fn(usize) -> Vec<usize>) {
    for (i, [hook, task, proc_]) in masks {
        let want = expected(*i);
        assert_eq!(hook, &want, "worker {i}: mask seen by on_thread_start");
        assert_eq!(task, &want, "worker {i}: mask seen by a task");
        assert_eq!(proc_, &want, "worker {i}: Cpus_allowed_list in /proc");
    }
}

#[test]
fn per_core_pins_worker_i_to_allowed_core_i() {
    watchdog("per core", || {
        let allowed = allowed();
        let masks = worker_masks(allowed.len(), Pinning::PerCore);
        let first = masks[&0][0][0];
        assert_masks(&masks, common::per_core_from(&allowed, first));
    });
}

#[test]
fn per_core_is_the_default() {
    watchdog("default pinning", || {
        let allowed = allowed();
        let prefix = unique_prefix("dpin");
        let p = prefix.clone();
        let pool = Pool::builder()
            .threads(allowed.len())
            .thread_name(move |i| format!("{p}{i}"))
            .build()
            .unwrap();
        let by_index: BTreeMap<usize, Vec<usize>> = tids_named(&prefix)
            .into_iter()
            .map(|tid| {
                let i: usize = thread_name(tid)[prefix.len()..].parse().unwrap();
                (i, thread_allowed_cpus(tid))
            })
            .collect();
        let expected = common::per_core_from(&allowed, by_index[&0][0]);
        for (i, mask) in by_index {
            assert_eq!(mask, expected(i), "worker {i}");
        }
        drop(pool);
    });
}

#[test]
fn per_core_round_robins_when_threads_exceed_cores() {
    watchdog("round robin", || {
        let allowed = allowed();
        let threads = 2 * allowed.len().max(2);
        let masks = worker_masks(threads, Pinning::PerCore);
        let first = masks[&0][0][0];
        assert_masks(&masks, common::per_core_from(&allowed, first));
    });
}

#[test]
fn explicit_cores_are_used_round_robin() {
    watchdog("explicit cores", || {
        let allowed = allowed();
        let last = *allowed.last().unwrap();
        let masks = worker_masks(2, Pinning::Cores(vec![last]));
        assert_masks(&masks, |_| vec![last]);

        // Listed order, not sorted order.
        let ids: Vec<usize> = allowed.iter().rev().copied().collect();
        let masks = worker_masks(3, Pinning::Cores(ids.clone()));
        assert_masks(&masks, |i| vec![ids[i % ids.len()]]);
    });
}

#[test]
fn unknown_core_is_rejected_with_the_allowed_set() {
    let allowed = allowed();
    let first_outside = (0..).find(|c| !allowed.contains(c)).unwrap();
    for bad in [vec![9999], vec![allowed[0], first_outside]] {
        let offending = *bad.iter().find(|c| !allowed.contains(c)).unwrap();
        match Pool::builder()
            .threads(2)
            .pinning(Pinning::Cores(bad.clone()))
            .build()
        {
            Err(BuildError::UnknownCore {
                core,
                allowed: reported,
            }) => {
                assert_eq!(core, offending, "{bad:?}");
                let mut reported = reported;
                reported.sort_unstable();
                assert_eq!(
                    reported, allowed,
                    "the error lists the cores this process may use"
                );
            }
            other => panic!("Cores({bad:?}): expected UnknownCore, got {other:?}"),
        }
    }
}

#[test]
fn none_pins_nothing() {
    watchdog("no pinning", || {
        let allowed = allowed();
        let masks = worker_masks(allowed.len() + 1, Pinning::None);
        assert_masks(&masks, |_| allowed.clone());
    });
}

/// A pool built without `.threads()` on a pinned worker gets the process's CPU count, as it
/// does outside any worker. Before the fix `num_cpus::get()` read the pinned worker's own
/// mask there and the pool got 1 thread.
#[test]
fn default_thread_count_does_not_shrink_on_a_pinned_worker() {
    watchdog(
        "default_thread_count_does_not_shrink_on_a_pinned_worker",
        || {
            let outside = Pool::builder().pinning(Pinning::None).build().unwrap();
            let expected = outside.threads();
            drop(outside);
            let pinned = Pool::builder()
                .threads(1)
                .pinning(Pinning::PerCore)
                .build()
                .unwrap();
            let (inner, mask) = pinned
                .spawn(|| {
                    let inner = Pool::builder().pinning(Pinning::None).build().unwrap();
                    (inner.threads(), common::my_cores().len())
                })
                .join()
                .unwrap();
            if expected > 1 && std::env::var_os(corepool::NO_PIN_ENV).is_none() {
                assert_eq!(mask, 1, "the worker is pinned to one core");
            }
            assert_eq!(inner, expected);
        },
    );
}

/// Fixed bug: pinning used the *building thread's* affinity mask as "the cores this process may
/// run on" (`pinning::plan` calls `core_affinity::get_core_ids()`, which reads the calling
/// thread's mask), and new worker threads inherit the builder's mask. A pool built from a task
/// (i.e. on a worker that `PerCore` pinned to one core) therefore:
/// - rejects `Pinning::Cores` with another core the process may run on (`UnknownCore`, whose
///   message claims the process may not run there), and
/// - with `Pinning::None` confines all its workers to the builder's single core.
///
/// Needs at least two allowed cores to show; passes trivially on one.
#[test]
fn bug_pool_built_on_a_pinned_worker_inherits_its_single_core() {
    watchdog("pinned builder", || {
        let allowed = my_cores();
        if allowed.len() < 2 || std::env::var_os(corepool::NO_PIN_ENV).is_some() {
            return;
        }
        let outer = Pool::builder()
            .threads(2)
            .pinning(Pinning::PerCore)
            .build()
            .unwrap();
        let prefix = unique_prefix("inh");
        let allowed2 = allowed.clone();
        let (my_core, cores_result, inner_masks) = outer.install(move || {
            let my_core = my_cores();
            let other = *allowed2.iter().find(|c| !my_core.contains(c)).unwrap();
            let cores_result = Pool::builder()
                .threads(1)
                .pinning(Pinning::Cores(vec![other]))
                .build()
                .map(|_| ())
                .map_err(|e| e.to_string());
            let p = prefix.clone();
            let inner = Pool::builder()
                .threads(2)
                .pinning(Pinning::None)
                .thread_name(move |i| format!("{p}{i}"))
                .build()
                .unwrap();
            let masks: Vec<Vec<usize>> = tids_named(&prefix)
                .into_iter()
                .map(thread_allowed_cpus)
                .collect();
            drop(inner);
            (my_core, cores_result, masks)
        });
        assert_eq!(my_core.len(), 1, "the outer worker is pinned");
        assert!(
            cores_result.is_ok(),
            "Pinning::Cores with a core this process may run on was rejected: {cores_result:?}"
        );
        for mask in inner_masks {
            assert_eq!(
                mask, allowed,
                "a Pinning::None worker is confined to {my_core:?}"
            );
        }
    });
}
