//! The panic rule: a panicking task never kills its worker; a handle's `join` returns the
//! payload; a detached task's panic reaches `panic_handler` exactly once; `join` re-raises a
//! child's panic (a's wins); `scope` re-raises only after every other child has finished.
//!
//! Panicking tasks print the usual panic message on stderr; that is expected.

mod common;

use common::{count_threads_named, hold_workers, panic_message, unique_prefix, watchdog};
use corepool::{Pinning, Pool};
use std::panic::{catch_unwind, panic_any, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

fn pool(threads: usize) -> Pool {
    Pool::builder()
        .threads(threads)
        .pinning(Pinning::None)
        .build()
        .unwrap()
}

/// Runs `f` and returns its panic message; fails if it does not panic.
fn panic_of<R>(f: impl FnOnce() -> R) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic"),
        Err(payload) => panic_message(&*payload),
    }
}

#[test]
fn panicking_task_keeps_its_worker_and_reports_the_payload() {
    watchdog("task panic", || {
        let prefix = unique_prefix("pan");
        let starts = Arc::new(AtomicUsize::new(0));
        let stops = Arc::new(AtomicUsize::new(0));
        let pool = {
            let (p, starts, stops) = (prefix.clone(), Arc::clone(&starts), Arc::clone(&stops));
            Pool::builder()
                .threads(1)
                .pinning(Pinning::None)
                .thread_name(move |i| format!("{p}{i}"))
                .on_thread_start(move |_| {
                    starts.fetch_add(1, Ordering::SeqCst);
                })
                .on_thread_stop(move |_| {
                    stops.fetch_add(1, Ordering::SeqCst);
                })
                .build()
                .unwrap()
        };
        for round in 0..20 {
            let err = pool
                .spawn(move || -> u32 { panic!("boom-{round}") })
                .join()
                .unwrap_err();
            assert!(err.is_panic() && !err.is_cancelled());
            assert_eq!(err.to_string(), format!("task panicked: boom-{round}"));
            assert_eq!(
                format!("{err:?}"),
                format!("JoinError::Panic(\"boom-{round}\")")
            );
            assert_eq!(panic_message(&*err.into_panic()), format!("boom-{round}"));
            // The same (only) worker keeps serving.
            assert_eq!(pool.spawn(move || round * 2).join().unwrap(), round * 2);
        }
        // A non-string payload comes back as is.
        let err = pool.spawn(|| panic_any(1234u64)).join().unwrap_err();
        assert_eq!(*err.into_panic().downcast::<u64>().unwrap(), 1234);
        let err = pool.spawn(|| panic_any(1234u64)).join().unwrap_err();
        assert_eq!(
            err.try_into_panic().unwrap().downcast_ref::<u64>(),
            Some(&1234)
        );

        assert_eq!(starts.load(Ordering::SeqCst), 1, "no worker was restarted");
        assert_eq!(stops.load(Ordering::SeqCst), 0, "no worker stopped");
        assert_eq!(count_threads_named(&prefix), 1);
        assert_eq!(pool.install(corepool::current_thread_index), Some(0));
        pool.shutdown();
        assert_eq!(stops.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn panicking_hooks_and_handler_do_not_kill_workers() {
    watchdog("hook panics", || {
        let pool = Pool::builder()
            .threads(2)
            .pinning(Pinning::None)
            .on_thread_start(|i| panic!("start hook {i}"))
            .on_thread_stop(|i| panic!("stop hook {i}"))
            .panic_handler(|_| panic!("handler"))
            .build()
            .unwrap();
        drop(pool.spawn(|| panic!("detached")));
        assert_eq!(pool.join(|| 1, || 2), (1, 2));
        assert_eq!(pool.spawn(|| 3).join().unwrap(), 3);
        pool.shutdown();
    });
}

/// Holds the only worker so the handle is provably dropped before the task runs.
#[test]
fn detached_panic_goes_to_the_panic_handler_exactly_once() {
    watchdog("panic handler", || {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let pool = {
            let seen = Arc::clone(&seen);
            Pool::builder()
                .threads(1)
                .pinning(Pinning::None)
                .panic_handler(move |payload| seen.lock().unwrap().push(panic_message(&*payload)))
                .build()
                .unwrap()
        };
        let held = hold_workers(&pool);
        let ran = Arc::new(AtomicBool::new(false));
        let handle = {
            let ran = Arc::clone(&ran);
            pool.spawn(move || {
                ran.store(true, Ordering::SeqCst);
                panic!("detached-boom")
            })
        };
        // A kept handle gets its panic; the handler must not see it.
        let kept = pool.spawn(|| -> () { panic!("kept-boom") });
        drop(handle);
        assert!(
            !ran.load(Ordering::SeqCst),
            "the handle was dropped before the task ran"
        );
        held.release_and_join();

        assert_eq!(
            panic_message(&*kept.join().unwrap_err().into_panic()),
            "kept-boom"
        );
        // Many more detached panics, from outside and from inside a worker.
        for i in 0..20 {
            drop(pool.spawn(move || panic!("many-{i}")));
        }
        let p = pool.clone();
        pool.install(move || {
            for i in 20..30 {
                drop(p.spawn(move || panic!("many-{i}")));
            }
        });
        pool.shutdown(); // graceful: every queued task has run
        assert!(ran.load(Ordering::SeqCst));

        let mut seen = seen.lock().unwrap().clone();
        seen.sort();
        let mut expected: Vec<String> = (0..30).map(|i| format!("many-{i}")).collect();
        expected.push("detached-boom".to_string());
        expected.sort();
        assert_eq!(
            seen, expected,
            "each detached panic reaches the handler exactly once"
        );
    });
}

/// The other order: the task panics first and its handle is dropped afterwards, unread. Nobody
/// will ever read that panic, so the handle's drop hands it to the handler (once), for tasks
/// and for futures alike. A handle that did read its panic reports nothing.
#[test]
fn a_handle_dropped_after_its_task_panicked_reports_the_panic_once() {
    watchdog("late detach", || {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let pool = {
            let seen = Arc::clone(&seen);
            Pool::builder()
                .threads(2)
                .pinning(Pinning::None)
                .panic_handler(move |payload| {
                    let on = thread::current().name().map(str::to_owned);
                    seen.lock().unwrap().push((panic_message(&*payload), on));
                })
                .build()
                .unwrap()
        };
        let task = pool.spawn(|| -> () { panic!("task-late") });
        let future = pool.spawn_future(async { panic!("future-late") });
        let read = pool.spawn(|| -> () { panic!("read") });
        while !(task.is_finished() && future.is_finished() && read.is_finished()) {
            thread::sleep(Duration::from_millis(1));
        }
        assert!(seen.lock().unwrap().is_empty(), "handles still held");
        thread::Builder::new()
            .name("dropper".into())
            .spawn(move || {
                drop(task);
                drop(future);
                assert!(read.join().is_err());
            })
            .unwrap()
            .join()
            .unwrap();
        pool.shutdown();
        let mut seen = seen.lock().unwrap().clone();
        seen.sort();
        let dropper = Some("dropper".to_string());
        assert_eq!(
            seen,
            vec![
                ("future-late".to_string(), dropper.clone()),
                ("task-late".to_string(), dropper)
            ],
            "each unread panic reported once, by the dropping thread"
        );
    });
}

#[test]
fn join_reraises_a_childs_panic_and_as_wins() {
    watchdog("join panics", || {
        for threads in [1, 2] {
            let pool = pool(threads);
            for _ in 0..20 {
                assert_eq!(panic_of(|| pool.join(|| panic!("a"), || 1)), "a");
                assert_eq!(panic_of(|| pool.join(|| 1, || panic!("b"))), "b");
                assert_eq!(panic_of(|| pool.join(|| panic!("a"), || panic!("b"))), "a");
                // Same from inside a worker, with the free function.
                let r = pool.install(|| catch_unwind(|| corepool::join(|| 1, || panic!("in-b"))));
                assert_eq!(panic_message(&*r.unwrap_err()), "in-b");
            }
            assert_eq!(pool.join(|| 1, || 2), (1, 2), "the pool still works");
        }

        // Both halves provably run and panic (b is stolen by the other worker and has panicked
        // before a panics): a's payload still wins.
        let pool = pool(2);
        for _ in 0..20 {
            let b_panicked = AtomicBool::new(false);
            let msg = panic_of(|| {
                pool.join(
                    || {
                        while !b_panicked.load(Ordering::SeqCst) {
                            thread::yield_now();
                        }
                        panic!("a-late")
                    },
                    || {
                        b_panicked.store(true, Ordering::SeqCst);
                        panic!("b-early")
                    },
                )
            });
            assert_eq!(msg, "a-late");
            // And b's panic alone, from a stolen b, reaches the caller.
            let b_started = AtomicBool::new(false);
            let msg = panic_of(|| {
                pool.join(
                    || {
                        while !b_started.load(Ordering::SeqCst) {
                            thread::yield_now();
                        }
                    },
                    || {
                        b_started.store(true, Ordering::SeqCst);
                        panic!("stolen-b")
                    },
                )
            });
            assert_eq!(msg, "stolen-b");
        }
    });
}

#[test]
fn scope_reraises_only_after_every_other_child_finished() {
    watchdog("scope panics", || {
        for threads in [1, 2] {
            let pool = pool(threads);
            // A child panics while a sibling is still sleeping.
            let finished = AtomicBool::new(false);
            let msg = panic_of(|| {
                pool.scope(|s| {
                    s.spawn(|_| {
                        thread::sleep(Duration::from_millis(200));
                        finished.store(true, Ordering::SeqCst);
                    });
                    s.spawn(|_| panic!("child-boom"));
                })
            });
            assert_eq!(msg, "child-boom", "{threads} threads");
            assert!(
                finished.load(Ordering::SeqCst),
                "{threads} threads: re-raised before the sibling finished"
            );

            // The body panics after spawning a sleeper.
            let finished = AtomicBool::new(false);
            let msg = panic_of(|| {
                pool.scope(|s| {
                    s.spawn(|_| {
                        thread::sleep(Duration::from_millis(200));
                        finished.store(true, Ordering::SeqCst);
                    });
                    panic!("body-boom")
                })
            });
            assert_eq!(msg, "body-boom");
            assert!(
                finished.load(Ordering::SeqCst),
                "{threads} threads: body panic re-raised early"
            );

            // Many panicking children and many sleepers: one panic is re-raised, after all.
            let done = AtomicUsize::new(0);
            let msg = panic_of(|| {
                pool.scope(|s| {
                    for i in 0..16 {
                        let done = &done;
                        s.spawn(move |_| {
                            if i % 2 == 0 {
                                panic!("multi")
                            }
                            thread::sleep(Duration::from_millis(10));
                            done.fetch_add(1, Ordering::SeqCst);
                        });
                    }
                })
            });
            assert_eq!(msg, "multi");
            assert_eq!(done.load(Ordering::SeqCst), 8);
            assert_eq!(pool.install(|| 5), 5, "the pool still works");
        }
    });
}

/// rayon's `panic_b_still_executes`: when `a` panics, `b` still runs to completion before the
/// panic is re-raised, whether or not a peer stole it; with one thread it is never stolen.
#[test]
fn join_runs_b_when_a_panics_stolen_or_not() {
    watchdog("b runs after a's panic", || {
        for threads in [1, 2] {
            let pool = pool(threads);
            let joins = 2_000;
            let b_runs = AtomicUsize::new(0);
            for _ in 0..joins {
                let message = panic_of(|| {
                    pool.join(
                        || panic!("a"),
                        || {
                            b_runs.fetch_add(1, Ordering::SeqCst);
                        },
                    )
                });
                assert_eq!(message, "a");
            }
            assert_eq!(b_runs.load(Ordering::SeqCst), joins, "{threads} threads");
            // Nested inside a worker's join (the inner one is not the outermost, so its `b` is
            // usually never published), and `b`'s own panic loses to `a`'s.
            let inner_b = AtomicUsize::new(0);
            let message = panic_of(|| {
                pool.join(
                    || {
                        corepool::join(
                            || panic!("inner a"),
                            || {
                                inner_b.fetch_add(1, Ordering::SeqCst);
                                panic!("inner b")
                            },
                        )
                    },
                    || (),
                )
            });
            assert_eq!(message, "inner a");
            assert_eq!(inner_b.load(Ordering::SeqCst), 1);
        }
    });
}

/// The same rule on a shut-down pool, where `join` runs both halves on the caller.
#[test]
fn join_on_a_shut_down_pool_runs_b_when_a_panics() {
    let pool = pool(1);
    pool.shutdown();
    let b_ran = AtomicBool::new(false);
    let message = panic_of(|| pool.join(|| panic!("a"), || b_ran.store(true, Ordering::SeqCst)));
    assert_eq!(message, "a");
    assert!(b_ran.load(Ordering::SeqCst));
}

/// Scope tasks queued but not started when a sibling (or the body) panicked still run: a
/// scope never drops a spawned task.
#[test]
fn scope_runs_queued_tasks_after_a_sibling_panicked() {
    watchdog("scope tasks after a panic", || {
        for threads in [1, 2] {
            let pool = pool(threads);
            let ran = AtomicUsize::new(0);
            let message = panic_of(|| {
                pool.scope(|s| {
                    s.spawn(|_| panic!("first"));
                    for _ in 0..100 {
                        s.spawn(|_| {
                            ran.fetch_add(1, Ordering::SeqCst);
                        });
                    }
                    panic!("body");
                })
            });
            assert!(message == "body" || message == "first", "{message}");
            assert_eq!(ran.load(Ordering::SeqCst), 100, "{threads} threads");
        }
    });
}
