//! Shared helpers for the reliability suites (`tests/rel_*.rs`): a seeded PRNG, a watchdog
//! that turns a hang into a test failure, `/proc` probes for threads and RSS, and the
//! `COREPOOL_SOAK` switch.
#![allow(dead_code)]

use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `true` when `COREPOOL_SOAK` is set to anything but empty or `0`: long-mode volumes.
pub fn soak() -> bool {
    matches!(std::env::var("COREPOOL_SOAK"), Ok(v) if !v.is_empty() && v != "0")
}

/// Picks `ci` normally and `long` under `COREPOOL_SOAK=1`.
pub fn volume(ci: usize, long: usize) -> usize {
    if soak() {
        long
    } else {
        ci
    }
}

/// A small deterministic PRNG (splitmix64).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// A seed from `COREPOOL_SEED` if set, else from the clock; printed so a failure can be
    /// replayed with `COREPOOL_SEED=<seed>`.
    pub fn seeded(test: &str) -> Self {
        let seed = std::env::var("COREPOOL_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        eprintln!("[{test}] seed {seed} (replay with COREPOOL_SEED={seed})");
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// `true` with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn fork(&mut self) -> Rng {
        Rng(self.next_u64())
    }
}

/// Runs `f` on its own thread and fails the test with `what` if it has not finished within
/// `secs` seconds (a deadlock becomes a failure instead of a hung CI job). A panic in `f` is
/// re-raised here.
pub fn watchdog<R: Send + 'static>(
    what: &str,
    secs: u64,
    f: impl FnOnce() -> R + Send + 'static,
) -> R {
    let (tx, rx) = mpsc::channel();
    let body = std::thread::Builder::new()
        .name(format!("rel-body-{what}"))
        .spawn(move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(out);
        })
        .expect("spawn test body");
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(Ok(value)) => {
            let _ = body.join();
            value
        }
        Ok(Err(payload)) => std::panic::resume_unwind(payload),
        Err(_) => panic!("DEADLOCK/HANG: `{what}` did not finish within {secs} s"),
    }
}

/// Polls `cond` until it holds or `timeout` passes; returns whether it held.
pub fn eventually(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Threads of this process (`/proc/self/task`).
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Threads of this process whose name starts with `prefix`.
pub fn threads_named(prefix: &str) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
        .filter(|name| name.starts_with(prefix))
        .count()
}

/// Resident set size in KiB (`VmRSS` in `/proc/self/status`).
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Spawns a task on `pool` that blocks its worker until the returned sender is dropped or
/// sent to, and waits until the worker has taken it (the injection queue is empty again).
pub fn hold_worker(pool: &corepool::Pool) -> (mpsc::Sender<()>, corepool::JoinHandle<()>) {
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let handle = pool.spawn(move || {
        let _ = started_tx.send(());
        let _ = release_rx.recv();
    });
    started_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the holding task never started");
    assert!(
        eventually(Duration::from_secs(30), || pool.queued() == 0),
        "the queue did not drain after the holder started"
    );
    (release_tx, handle)
}
