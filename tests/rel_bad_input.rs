//! Suite 6 — bad input.
//!
//! Every builder misuse is a `BuildError` with a clear message and leaves no thread behind;
//! hooks (`on_thread_start`, `on_thread_stop`, `panic_handler`) that panic do not take the
//! pool down (it keeps working and shuts down); structured waiting inside `on_thread_stop`
//! works; extreme-but-legal arguments (`Duration::MAX` timeouts, a zero keep-alive, the
//! largest limits) behave. Spawning a detached task from `on_thread_stop` and a huge
//! `io_keep_alive` are bugs: see `rel_bugs.rs`.

mod rel_support;

use corepool::{BuildError, Pinning, Pool, MAX_IO_THREADS, MAX_QUEUE_CAPACITY, MAX_THREADS};
use rel_support::{eventually, threads_named, watchdog};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Tests in this file count threads by name prefix; the prefixes are unique per test.
fn expect_error(
    what: &str,
    builder: corepool::Builder,
    check: impl Fn(&BuildError) -> bool,
    words: &[&str],
) {
    let builder = builder.thread_name(|i| format!("rbe-{i}"));
    match builder.build() {
        Ok(_) => panic!("{what}: build() accepted it"),
        Err(e) => {
            let msg = e.to_string();
            assert!(check(&e), "{what}: wrong variant {e:?}");
            for w in words {
                assert!(msg.contains(w), "{what}: message {msg:?} lacks {w:?}");
            }
            // Debug and std::error::Error work too.
            let _ = format!("{e:?}");
            let _: &dyn std::error::Error = &e;
        }
    }
}

#[test]
fn every_builder_mistake_is_a_build_error_with_a_clear_message() {
    let _g = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let b = || Pool::builder().pinning(Pinning::None);
    expect_error(
        "threads(0)",
        b().threads(0),
        |e| matches!(e, BuildError::ZeroThreads),
        &["at least one thread", "threads(0)"],
    );
    expect_error(
        "threads(MAX+1)",
        b().threads(MAX_THREADS + 1),
        |e| matches!(e, BuildError::TooManyThreads { requested, max } if *requested == MAX_THREADS + 1 && *max == MAX_THREADS),
        &["1025", "1024"],
    );
    expect_error(
        "queue_capacity(0)",
        b().threads(1).queue_capacity(0),
        |e| matches!(e, BuildError::ZeroQueueCapacity),
        &["queue_capacity(0)"],
    );
    expect_error(
        "queue_capacity(MAX+1)",
        b().threads(1).queue_capacity(MAX_QUEUE_CAPACITY + 1),
        |e| matches!(e, BuildError::QueueCapacityTooLarge { .. }),
        &[
            &(MAX_QUEUE_CAPACITY + 1).to_string(),
            &MAX_QUEUE_CAPACITY.to_string(),
        ],
    );
    expect_error(
        "local_queue_limit(0)",
        b().threads(1).local_queue_limit(0),
        |e| matches!(e, BuildError::ZeroLocalQueueLimit),
        &["local_queue_limit(0)"],
    );
    expect_error(
        "stack_size(MIN-1)",
        b().threads(1).stack_size(corepool::MIN_STACK_SIZE - 1),
        |e| matches!(e, BuildError::StackTooSmall { .. }),
        &[
            &(corepool::MIN_STACK_SIZE - 1).to_string(),
            &corepool::MIN_STACK_SIZE.to_string(),
        ],
    );
    expect_error(
        "latency_sample_every(0)",
        b().threads(1).latency_sample_every(0),
        |e| matches!(e, BuildError::ZeroSampleEvery),
        &["latency_sample_every(0)"],
    );
    expect_error(
        "io_threads(0)",
        b().threads(1).io_threads(0),
        |e| matches!(e, BuildError::ZeroIoThreads),
        &["io_threads(0)"],
    );
    expect_error(
        "io_threads(MAX+1)",
        b().threads(1).io_threads(MAX_IO_THREADS + 1),
        |e| matches!(e, BuildError::TooManyIoThreads { .. }),
        &[
            &(MAX_IO_THREADS + 1).to_string(),
            &MAX_IO_THREADS.to_string(),
        ],
    );
    expect_error(
        "io_queue_capacity(0)",
        b().threads(1).io_queue_capacity(0),
        |e| matches!(e, BuildError::ZeroIoQueueCapacity),
        &["io_queue_capacity(0)"],
    );
    expect_error(
        "io_queue_capacity(MAX+1)",
        b().threads(1).io_queue_capacity(MAX_QUEUE_CAPACITY + 1),
        |e| matches!(e, BuildError::QueueCapacityTooLarge { .. }),
        &[&(MAX_QUEUE_CAPACITY + 1).to_string()],
    );
    expect_error(
        "Cores(vec![])",
        b().threads(1).pinning(Pinning::Cores(vec![])),
        |e| matches!(e, BuildError::NoCores),
        &["empty list"],
    );
    let pinning_off =
        std::env::var_os(corepool::NO_PIN_ENV).is_some_and(|v| !v.is_empty() && v != "0");
    if !pinning_off {
        expect_error(
            "Cores(vec![100000])",
            b().threads(2).pinning(Pinning::Cores(vec![0, 100_000])),
            |e| matches!(e, BuildError::UnknownCore { core: 100_000, .. }),
            &["100000", "allowed cores"],
        );
    }
    // Thread names with NUL: the CPU name (checked for every worker) and the I/O name.
    let bad = Pool::builder()
        .threads(3)
        .pinning(Pinning::None)
        .thread_name(|i| {
            if i == 2 {
                "bad\0name".to_string()
            } else {
                format!("rbn-{i}")
            }
        })
        .build();
    match bad {
        Err(BuildError::InvalidThreadName { name }) => assert_eq!(name, "bad\0name"),
        other => panic!("NUL in a worker name: {other:?}"),
    }
    let bad = Pool::builder()
        .threads(1)
        .pinning(Pinning::None)
        .thread_name(|i| format!("rbn-{i}"))
        .io_thread_name(|_| "io\0".to_string())
        .build();
    match bad {
        Err(e @ BuildError::InvalidThreadName { .. }) => assert!(e.to_string().contains("NUL")),
        other => panic!("NUL in the I/O name: {other:?}"),
    }
    // A stack no OS can give: the spawn failure is an error, and the workers already started
    // are shut down.
    let huge = Pool::builder()
        .threads(4)
        .pinning(Pinning::None)
        .thread_name(|i| format!("rbh-{i}"))
        .stack_size(1 << 46)
        .build();
    match huge {
        Err(e @ BuildError::ThreadSpawn(_)) => {
            assert!(
                e.to_string().contains("refused to start a worker thread"),
                "{e}"
            );
            assert!(std::error::Error::source(&e).is_some());
        }
        Ok(_) => eprintln!("note: this machine granted a 64 TiB stack (overcommit); skipped"),
        Err(other) => panic!("huge stack: {other:?}"),
    }
    for prefix in ["rbe-", "rbn-", "rbh-"] {
        assert!(
            eventually(Duration::from_secs(10), || threads_named(prefix) == 0),
            "a failed build left {prefix}* threads running"
        );
    }
}

/// Serialises the tests that count threads by name.
static NAMES: Mutex<()> = Mutex::new(());

#[test]
fn a_panicking_thread_name_closure_leaves_nothing_running() {
    let _g = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let r = std::panic::catch_unwind(|| {
        Pool::builder()
            .threads(4)
            .pinning(Pinning::None)
            .thread_name(|i| {
                if i == 3 {
                    panic!("no name for {i}")
                } else {
                    format!("rbp-{i}")
                }
            })
            .build()
    });
    // Either a BuildError or the closure's own panic, but never a half-started pool.
    if let Ok(Ok(_)) = r {
        panic!("a pool was built with a panicking name closure");
    }
    assert!(eventually(Duration::from_secs(10), || threads_named(
        "rbp-"
    ) == 0));
}

#[test]
fn hooks_that_panic_do_not_take_the_pool_down() {
    let _g = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    watchdog("panicking hooks", 60, || {
        let starts = Arc::new(AtomicUsize::new(0));
        let stops = Arc::new(AtomicUsize::new(0));
        let reported = Arc::new(AtomicUsize::new(0));
        let (s1, s2, r1) = (
            Arc::clone(&starts),
            Arc::clone(&stops),
            Arc::clone(&reported),
        );
        let pool = Pool::builder()
            .threads(3)
            .pinning(Pinning::None)
            .thread_name(|i| format!("rbk-{i}"))
            .on_thread_start(move |i| {
                s1.fetch_add(1, SeqCst);
                panic!("start hook of worker {i} fails");
            })
            .on_thread_stop(move |i| {
                s2.fetch_add(1, SeqCst);
                panic!("stop hook of worker {i} fails");
            })
            .panic_handler(move |_payload| {
                r1.fetch_add(1, SeqCst);
                panic!("the panic handler itself panics");
            })
            .build()
            .expect("a panicking start hook does not fail build");
        assert_eq!(starts.load(SeqCst), 3);
        // Detached panicking tasks go to the (panicking) handler; the workers survive.
        for _ in 0..20 {
            drop(pool.spawn(|| panic!("detached")));
        }
        assert!(eventually(Duration::from_secs(10), || reported
            .load(SeqCst)
            == 20));
        assert_eq!(pool.install(|| corepool::join(|| 1, || 2)), (1, 2));
        let hs: Vec<_> = (0..100).map(|i| pool.spawn(move || i)).collect();
        assert_eq!(hs.into_iter().map(|h| h.join().unwrap()).sum::<i32>(), 4950);
        assert_eq!(pool.spawn_blocking(|| 3).join().unwrap(), 3);
        pool.shutdown();
        assert_eq!(stops.load(SeqCst), 3);
        // `shutdown` joined the threads, but a joined thread can linger in /proc/self/task for
        // a moment (the kernel wakes the joiner before it removes the task), as elsewhere here.
        assert!(eventually(Duration::from_secs(10), || threads_named(
            "rbk-"
        ) == 0));
    });
}

#[test]
fn structured_waiting_inside_on_thread_stop_works() {
    let _g = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    watchdog("join/scope/handle.join in on_thread_stop", 60, || {
        let sums = Arc::new(AtomicUsize::new(0));
        let s = Arc::clone(&sums);
        let pool = Pool::builder()
            .threads(2)
            .pinning(Pinning::None)
            .thread_name(|i| format!("rbs-{i}"))
            .on_thread_stop(move |_| {
                let (a, b) = corepool::join(|| 1, || 2);
                let mut v = [0usize; 4];
                corepool::scope(|sc| {
                    for (i, x) in v.iter_mut().enumerate() {
                        sc.spawn(move |_| *x = i);
                    }
                });
                // A joined handle is run by the waiting worker itself.
                let h = corepool::spawn(|| 10);
                s.fetch_add(a + b + v.iter().sum::<usize>() + h.join().unwrap(), SeqCst);
            })
            .build()
            .unwrap();
        pool.shutdown();
        assert_eq!(sums.load(SeqCst), 2 * (3 + 6 + 10));
        assert!(eventually(Duration::from_secs(10), || threads_named(
            "rbs-"
        ) == 0));
    });
}

#[test]
fn extreme_but_legal_arguments_behave() {
    watchdog("extreme arguments", 60, || {
        let pool = Pool::builder()
            .threads(1)
            .pinning(Pinning::None)
            .queue_capacity(1)
            .local_queue_limit(1)
            .io_threads(1)
            .io_queue_capacity(1)
            .io_keep_alive(Duration::ZERO)
            .latency_sample_every(1)
            .build()
            .unwrap();
        assert_eq!(
            pool.spawn_timeout(|| 1, Duration::MAX)
                .unwrap()
                .join()
                .unwrap(),
            1
        );
        assert_eq!(
            pool.spawn_blocking_timeout(|| 2, Duration::MAX)
                .unwrap()
                .join()
                .unwrap(),
            2
        );
        // Zero keep-alive: threads come and go, every task still runs.
        let hs: Vec<_> = (0..200).map(|i| pool.spawn_blocking(move || i)).collect();
        assert_eq!(
            hs.into_iter().map(|h| h.join().unwrap()).sum::<i32>(),
            19_900
        );
        // local_queue_limit(1): spawning in a loop from a worker runs inline past the bound.
        let n = pool.install(|| {
            let hs: Vec<_> = (0..1000).map(|i| corepool::spawn(move || i)).collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum::<i32>()
        });
        assert_eq!(n, 499_500);
        assert!(pool.metrics().caller_runs > 0);
        pool.shutdown();
        // Shutdown is idempotent, from any handle, in any form.
        pool.shutdown();
        assert_eq!(pool.shutdown_now(), 0);
        assert!(pool.shutdown_timeout(Duration::ZERO));
        // Everything after shutdown is refused or runs inline, never hangs.
        assert!(pool.spawn(|| 1).join().unwrap_err().is_cancelled());
        assert!(pool.spawn_blocking(|| 1).join().unwrap_err().is_cancelled());
        assert!(pool
            .spawn_future(async { 1 })
            .join()
            .unwrap_err()
            .is_cancelled());
        assert_eq!(pool.install(|| 5), 5);
        assert_eq!(pool.join(|| 1, || 2), (1, 2));
        assert_eq!(
            pool.scope(|s| {
                s.spawn(|_| {});
                3
            }),
            3
        );
        assert_eq!(pool.blocking(|| 4), 4);
        assert!(pool.block_on(pool.reserve()).is_err());
    });
}

#[test]
fn cancel_and_join_error_misuse_is_reported_not_undefined() {
    let pool = Pool::builder()
        .threads(1)
        .pinning(Pinning::None)
        .build()
        .unwrap();
    let (release, held) = rel_support::hold_worker(&pool);
    let h = pool.spawn(|| 1);
    assert!(h.cancel());
    assert!(h.cancel(), "cancel is idempotent");
    assert!(h.is_finished());
    drop(release);
    held.join().unwrap();
    let e = h.join().unwrap_err();
    assert!(e.is_cancelled() && !e.is_panic());
    assert_eq!(e.to_string(), "task was cancelled before it ran");
    let e = e.try_into_panic().unwrap_err();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| e.into_panic()));
    let msg = r.unwrap_err();
    let text = msg
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| msg.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    assert!(text.contains("cancelled task"), "{text:?}");
    // A finished task cannot be cancelled.
    let h = pool.spawn(|| 2);
    while !h.is_finished() {
        std::thread::yield_now();
    }
    assert!(!h.cancel());
    assert_eq!(h.join().unwrap(), 2);
}
