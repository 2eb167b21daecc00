//! The sleep protocol's idle rule: an idle, warmed-up pool burns essentially no CPU. This file
//! holds a single test so the process-wide CPU measurement is not polluted by other tests; the
//! worker threads' own CPU time is measured as well.
//! (That no wake-up is lost is in `sleep.rs`.)

mod common;

use common::{
    process_cpu_ticks, thread_cpu_ticks, tids_named, unique_prefix, watchdog, MS_PER_TICK,
};
use corepool::{Pinning, Pool};
use std::time::Duration;

/// Generous bound on CPU burned over the idle second (a spinning worker burns ~1000 ms).
const IDLE_CPU_BOUND_MS: u64 = 100;

#[test]
fn idle_pool_burns_no_cpu() {
    watchdog("idle cpu", || {
        let prefix = unique_prefix("idle");
        let p = prefix.clone();
        let pool = Pool::builder()
            .threads(2)
            .pinning(Pinning::None)
            .thread_name(move |i| format!("{p}{i}"))
            .build()
            .unwrap();
        let workers = tids_named(&prefix);
        assert_eq!(workers.len(), 2);

        // Warm up: every path that wakes workers (inject, local push, steal, join, scope).
        for i in 0..200u64 {
            assert_eq!(pool.spawn(move || i * 2).join().unwrap(), i * 2);
            assert_eq!(pool.join(|| i, || i + 1), (i, i + 1));
        }
        pool.install(|| {
            corepool::scope(|s| {
                for _ in 0..64 {
                    s.spawn(|_| {
                        let _ = corepool::join(|| 1, || 2);
                    });
                }
            })
        });
        // Let the workers finish spinning and go to sleep.
        std::thread::sleep(Duration::from_millis(200));

        let workers_cpu = || workers.iter().map(|&t| thread_cpu_ticks(t)).sum::<u64>();
        let (proc0, work0) = (process_cpu_ticks(), workers_cpu());
        std::thread::sleep(Duration::from_secs(1));
        let (proc1, work1) = (process_cpu_ticks(), workers_cpu());

        let workers_ms = (work1 - work0) * MS_PER_TICK;
        let process_ms = (proc1 - proc0) * MS_PER_TICK;
        assert!(
            workers_ms < IDLE_CPU_BOUND_MS,
            "idle workers burned {workers_ms} ms of CPU in 1 s"
        );
        assert!(
            process_ms < IDLE_CPU_BOUND_MS,
            "the process burned {process_ms} ms of CPU in 1 s with an idle pool"
        );

        // And the pool still works after its long sleep.
        assert_eq!(pool.spawn(|| 7).join().unwrap(), 7);
    });
}
