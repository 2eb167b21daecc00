//! Regression tests for bugs found in `src/` by this suite, each fixed since: a NUL byte in a
//! thread name, workers leaked by a build that failed part-way, and pools built on a pinned
//! worker inheriting its single core. Each test failed on the code before its fix.

mod common;

use common::{
    count_threads_named, my_cores, thread_allowed_cpus, tids_named, unique_prefix, watchdog,
};
use corepool::{Pinning, Pool};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// Fixed bug 1 — `Builder::build` panics on bad input. A worker name with an interior NUL byte makes
/// `std::thread::Builder::spawn` panic ("thread name may not contain interior null bytes")
/// inside `sync::spawn_thread` (called from `Registry::build`), instead of `build()` returning
/// a `BuildError`. Contract 8 / builder.rs invariant: "it never panics on bad input".
#[test]
fn bug_thread_name_with_nul_byte_panics_instead_of_build_error() {
    let result = catch_unwind(AssertUnwindSafe(|| {
        Pool::builder()
            .threads(1)
            .pinning(Pinning::None)
            .thread_name(|i| format!("bad\0name-{i}"))
            .build()
    }));
    match result {
        Ok(Err(_)) => {}
        Ok(Ok(_)) => panic!("a NUL in a thread name was accepted"),
        Err(_) => panic!("build() panicked on a thread name with an interior NUL byte"),
    }
}

/// Fixed bug 2 — a build that fails part-way leaks the workers it already started. In
/// `Registry::build` the loop calls the user's `thread_name(index)` and `spawn_thread` for each
/// worker; when either panics for worker k > 0 (here: a NUL byte in worker 1's name), the
/// unwind skips `registry.shutdown(..)`, so workers 0..k (which hold an `Arc<Registry>`) sleep
/// forever: no `Pool` handle exists to shut them down.
#[test]
fn bug_failed_build_leaks_already_started_workers() {
    watchdog("leak on failed build", || {
        let prefix = unique_prefix("lk");
        let p = prefix.clone();
        let _ = catch_unwind(AssertUnwindSafe(move || {
            Pool::builder()
                .threads(2)
                .pinning(Pinning::None)
                .thread_name(move |i| match i {
                    0 => format!("{p}{i}"),
                    _ => "bad\0name".to_string(),
                })
                .build()
                .map(|_| ())
        }));
        let deadline = Instant::now() + Duration::from_secs(3);
        while count_threads_named(&prefix) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            count_threads_named(&prefix),
            0,
            "worker 0 of a failed build is still alive"
        );
    });
}

/// Fixed bug 3 — pinning uses the *building thread's* affinity mask as "the cores this process may
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

/// Fixed bug 4 — during a graceful shutdown, idle workers exited as soon as their own queues
/// were empty. A task still running on another worker that then spawned a child and waited for
/// it without helping (a channel, not a join) was left alone with the child stuck in its own
/// deque behind it, and `shutdown()` hung. Workers now exit only once the pool is drained.
#[test]
fn graceful_shutdown_keeps_serving_children_of_running_tasks() {
    watchdog("children spawned during shutdown", || {
        let pool = Pool::builder()
            .threads(2)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let parent = pool.spawn(move || {
            started_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            let child = corepool::spawn(move || tx.send(7).unwrap());
            let got = rx.recv().unwrap();
            child.join().unwrap();
            got
        });
        started_rx.recv().unwrap();
        let shutter = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.shutdown())
        };
        while !pool.is_shutdown() {
            std::thread::yield_now();
        }
        // Give the idle worker every chance to (wrongly) exit before the child exists.
        std::thread::sleep(Duration::from_millis(50));
        go_tx.send(()).unwrap();
        assert_eq!(parent.join().unwrap(), 7);
        shutter.join().unwrap();
    });
}
