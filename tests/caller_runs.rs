//! The backpressure rule's caller-runs half keeps memory bounded: a worker task that spawns
//! 1,000,000 detached children in a loop completes without the process growing unboundedly.
//! Own file (own process) so RSS is not disturbed by other tests.
//!
//! Calibration: the pool has ONE worker, so no thief drains the spawner's deque: without
//! caller-runs all 1,000,000 children (each ~350 bytes with its 256-byte capture) would sit in
//! the deque when the loop ends, i.e. ~350 MB of RSS growth, far above the bound. With
//! caller-runs at most `DEFAULT_LOCAL_QUEUE_LIMIT` children are ever queued.

mod common;

use common::{rss_kib, wait_for, watchdog};
use corepool::{Pinning, Pool};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};

const CHILDREN: u64 = 1_000_000;
const RSS_GROWTH_BOUND_KIB: u64 = 64 * 1024;

#[test]
fn worker_spawning_a_million_children_stays_bounded() {
    watchdog("caller-runs RSS", || {
        let pool = Pool::builder()
            .threads(1)
            .pinning(Pinning::None)
            .queue_capacity(1)
            .build()
            .unwrap();
        let sum = Arc::new(AtomicU64::new(0));
        let go = Arc::new(Barrier::new(2));
        let parent = {
            let p = pool.clone();
            let sum = Arc::clone(&sum);
            let go = Arc::clone(&go);
            pool.spawn(move || {
                go.wait(); // the injection queue is full from here on
                let before = rss_kib();
                for i in 0..CHILDREN {
                    let sum = Arc::clone(&sum);
                    let payload = [i; 32]; // 256 bytes captured by each child
                    drop(p.spawn(move || {
                        sum.fetch_add(payload[31] + 1, Ordering::Relaxed);
                    }));
                }
                // Measured while the parent still occupies the only worker: any child not yet
                // run is still queued, holding its memory.
                let after = rss_kib();
                (before, after)
            })
        };
        // The parent has left the queue (it runs on the only worker, waiting for `go`).
        wait_for("the parent to start", || pool.queued() == 0);
        let filler = pool.try_spawn(|| ()).unwrap();
        go.wait();
        let (before, after) = parent.join().unwrap();
        filler.join().unwrap();
        pool.shutdown();

        // Every child ran exactly once: sum of (i + 1) over 0..CHILDREN.
        assert_eq!(sum.load(Ordering::Relaxed), CHILDREN * (CHILDREN + 1) / 2);
        let growth = after.saturating_sub(before);
        eprintln!("RSS before {before} KiB, after {after} KiB, growth {growth} KiB");
        assert!(
            growth < RSS_GROWTH_BOUND_KIB,
            "spawning {CHILDREN} children from a worker grew RSS by {growth} KiB"
        );
    });
}
