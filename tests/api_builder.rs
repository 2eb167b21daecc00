//! The builder's consistency fixes: default thread names that tell pools apart, I/O thread
//! hooks, naming closures with the same bounds (so a `Builder` is `Send`), and a `Debug` that
//! shows every setting.

mod common;

use common::{wait_for, watchdog};
use corepool::{Builder, Pool};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn worker_name(pool: &Pool) -> String {
    pool.spawn(|| std::thread::current().name().unwrap().to_owned())
        .join()
        .unwrap()
}

fn io_name(pool: &Pool) -> String {
    pool.spawn_blocking(|| std::thread::current().name().unwrap().to_owned())
        .join()
        .unwrap()
}

#[test]
fn two_pools_default_thread_names_differ() {
    watchdog("default-names", || {
        let a = Pool::builder().threads(1).build().unwrap();
        let b = Pool::builder().threads(1).build().unwrap();
        let (wa, wb, ia, ib) = (worker_name(&a), worker_name(&b), io_name(&a), io_name(&b));
        for name in [&wa, &wb, &ia, &ib] {
            assert!(name.starts_with("corepool"), "{name}");
            assert!(name.len() <= 15, "{name} fits Linux's thread-name limit");
        }
        assert_ne!(wa, wb);
        assert_ne!(ia, ib);
        // One pool's workers and I/O threads share its prefix.
        let prefix = |n: &str| n[..n.find('-').unwrap()].to_owned();
        assert_eq!(prefix(&wa), prefix(&ia));
        assert_ne!(prefix(&wa), prefix(&wb));
    });
}

#[test]
fn io_thread_hooks_run_on_the_io_thread_at_start_and_exit() {
    watchdog("io-hooks", || {
        let events = Arc::new(Mutex::new(Vec::new()));
        let (s, t) = (Arc::clone(&events), Arc::clone(&events));
        let pool = Pool::builder()
            .threads(1)
            .io_keep_alive(Duration::from_millis(1))
            .io_thread_name(|i| format!("hk-io-{i}"))
            .on_io_thread_start(move |i| {
                let name = std::thread::current().name().unwrap().to_owned();
                s.lock().unwrap().push(format!("start {i} {name}"));
            })
            .on_io_thread_stop(move |i| {
                let name = std::thread::current().name().unwrap().to_owned();
                t.lock().unwrap().push(format!("stop {i} {name}"));
            })
            .build()
            .unwrap();
        pool.spawn_blocking(|| ()).join().unwrap();
        // The keep-alive runs out: the thread exits and says so.
        wait_for("the idle I/O thread to exit", || {
            pool.io_threads_alive() == 0
        });
        wait_for("the stop hook", || events.lock().unwrap().len() == 2);
        assert_eq!(
            *events.lock().unwrap(),
            ["start 0 hk-io-0", "stop 0 hk-io-0"]
        );
        // A new thread at shutdown.
        pool.spawn_blocking(|| ()).join().unwrap();
        pool.shutdown();
        assert_eq!(
            events.lock().unwrap()[2..],
            ["start 1 hk-io-1", "stop 1 hk-io-1"]
        );
    });
}

#[test]
fn a_panicking_io_start_hook_does_not_stop_the_thread() {
    watchdog("io-hook-panic", || {
        let pool = Pool::builder()
            .threads(1)
            .on_io_thread_start(|_| panic!("hook"))
            .build()
            .unwrap();
        assert_eq!(pool.spawn_blocking(|| 5).join().unwrap(), 5);
    });
}

#[test]
fn a_builder_with_names_and_hooks_is_send_and_builds_on_another_thread() {
    fn assert_send<T: Send>(_: &T) {}
    let builder = Pool::builder()
        .threads(1)
        .thread_name(|i| format!("sent-{i}"))
        .on_thread_start(|_| {});
    assert_send(&builder);
    let pool = std::thread::spawn(move || builder.build().unwrap())
        .join()
        .unwrap();
    assert_eq!(worker_name(&pool), "sent-0");
}

#[test]
fn builder_debug_shows_every_setting() {
    let shown = format!(
        "{:?}",
        Builder::new()
            .threads(3)
            .thread_name(|i| format!("x{i}"))
            .panic_handler(|_| {})
            .on_io_thread_stop(|_| {})
    );
    for field in [
        "threads: Some(3)",
        "pinning",
        "queue_capacity",
        "local_queue_limit",
        "thread_name: \"custom\"",
        "stack_size",
        "on_thread_start: None",
        "on_thread_stop: None",
        "panic_handler: Some(\"custom\")",
        "io_threads",
        "io_queue_capacity",
        "io_keep_alive",
        "io_thread_name: \"default\"",
        "on_io_thread_start: None",
        "on_io_thread_stop: Some(\"custom\")",
        "latency_sample_every",
        "affinity_patience",
    ] {
        assert!(shown.contains(field), "{field} missing from {shown}");
    }
    assert!(!shown.contains(".."), "nothing left out: {shown}");
}
