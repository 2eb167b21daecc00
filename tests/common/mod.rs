//! Helpers shared by the integration tests: a deadlock watchdog, `/proc` readers (thread
//! names and counts, per-thread CPU time, affinity, RSS), a minimal `block_on`, a seeded PRNG
//! and the `COREPOOL_SOAK` switch for the randomised stress tests.
//!
//! Every test file includes this with `mod common;` and uses a subset, hence the allow.
#![allow(dead_code)]

use std::future::Future;
use std::panic::resume_unwind;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

/// How long any single test body may run before it is declared deadlocked.
pub const WATCHDOG: Duration = Duration::from_secs(60);

/// Runs `body` on its own thread and fails the test if it does not finish within
/// [`WATCHDOG`], so a deadlock is a test failure instead of a hung CI job. A panic in the body
/// is re-raised here with its original payload.
pub fn watchdog<R, F>(name: &str, body: F) -> R
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    watchdog_for(name, WATCHDOG, body)
}

/// [`watchdog`] with a longer deadline, for a test whose running time is dominated by thread
/// hand-offs (each one a scheduler wake-up) and so stretches on an oversubscribed machine. A
/// lost wake-up still fails it: nothing in such a test re-wakes a stuck thread.
pub fn watchdog_for<R, F>(name: &str, deadline: Duration, body: F) -> R
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let handle = thread::Builder::new()
        .name(format!("wd-{name}"))
        .spawn(move || {
            let value = body();
            let _ = tx.send(());
            value
        })
        .expect("spawn watchdog body");
    match rx.recv_timeout(deadline) {
        Ok(()) | Err(RecvTimeoutError::Disconnected) => match handle.join() {
            Ok(value) => value,
            Err(payload) => resume_unwind(payload),
        },
        Err(RecvTimeoutError::Timeout) => {
            panic!("{name}: did not finish within {deadline:?} (deadlock or lost wake-up?)")
        }
    }
}

/// Polls `cond` until it holds, failing after [`WATCHDOG`] with `what`.
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WATCHDOG;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        thread::sleep(Duration::from_millis(1));
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

/// A prefix no other test (or test binary) uses, for naming a pool's worker threads. Linux
/// keeps only the first 15 bytes of a thread name, so keep prefixes short.
pub fn unique_prefix(tag: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let prefix = format!("{tag}{n}-");
    assert!(
        prefix.len() <= 10,
        "prefix {prefix:?} too long for a 15-byte comm"
    );
    prefix
}

/// The thread ids (`/proc/self/task/<tid>`) whose name starts with `prefix`.
pub fn tids_named(prefix: &str) -> Vec<u64> {
    let mut tids = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return tids;
    };
    for entry in dir.flatten() {
        let path = entry.path();
        // A thread may exit between listing and reading; skip it then.
        let Ok(comm) = std::fs::read_to_string(path.join("comm")) else {
            continue;
        };
        if comm.trim_end().starts_with(prefix) {
            if let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) {
                tids.push(tid);
            }
        }
    }
    tids.sort_unstable();
    tids
}

/// How many live threads of this process have a name starting with `prefix`.
pub fn count_threads_named(prefix: &str) -> usize {
    tids_named(prefix).len()
}

/// The name of thread `tid`.
pub fn thread_name(tid: u64) -> String {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
        .map(|s| s.trim_end().to_string())
        .unwrap_or_default()
}

/// utime + stime of thread `tid`, in clock ticks (`/proc/self/task/<tid>/stat` fields 14, 15).
pub fn thread_cpu_ticks(tid: u64) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap_or_default();
    stat_cpu_ticks(&stat)
}

/// utime + stime of the whole process, in clock ticks.
pub fn process_cpu_ticks() -> u64 {
    stat_cpu_ticks(&std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat"))
}

fn stat_cpu_ticks(stat: &str) -> u64 {
    // The name (field 2) is in parentheses and may hold spaces: split after the last ')'.
    // Then field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
    let rest = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    num(11) + num(12)
}

/// Milliseconds per clock tick of `/proc/*/stat` (USER_HZ, 100 on every Linux ABI we run on).
pub const MS_PER_TICK: u64 = 10;

/// Parses a kernel cpu list like `0-3,6,8-9`.
pub fn parse_cpu_list(list: &str) -> Vec<usize> {
    let mut cpus = Vec::new();
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => cpus.extend(a.parse::<usize>().unwrap()..=b.parse::<usize>().unwrap()),
            None => cpus.push(part.parse().unwrap()),
        }
    }
    cpus
}

/// The CPUs thread `tid` may run on, per `/proc/self/task/<tid>/status` `Cpus_allowed_list`.
pub fn thread_allowed_cpus(tid: u64) -> Vec<usize> {
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status"))
        .expect("read thread status");
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .expect("Cpus_allowed_list line");
    parse_cpu_list(line)
}

/// The CPUs the calling thread may run on, as `core_affinity` reports them (it reads the
/// calling thread's mask).
pub fn my_cores() -> Vec<usize> {
    let mut ids: Vec<usize> = core_affinity::get_core_ids()
        .expect("core_affinity::get_core_ids")
        .into_iter()
        .map(|c| c.id)
        .collect();
    ids.sort_unstable();
    ids
}

/// Resident set size of this process in KiB (`VmRSS`).
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS line")
}

/// Wakes a parked thread.
struct ThreadWaker(thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// A minimal executor: polls `future` on this thread, parking between polls. Returns the
/// output and how many times the future was polled.
pub fn block_on<F: Future>(future: F) -> (F::Output, usize) {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut polls = 0;
    loop {
        polls += 1;
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return (out, polls);
        }
        thread::park();
    }
}

/// The message of a panic payload (`&str` or `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string payload>".to_string()
    }
}

/// Sets a flag when dropped: proves when a closure (that owns it) is dropped.
pub struct DropFlag(pub Arc<std::sync::atomic::AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Every worker of a pool, held inside a task until [`Held::release`]. Dropping it releases the
/// workers too, so a failing assertion does not leave the pool wedged (which would hang the
/// `Pool` drop during unwinding and hide the real failure behind the watchdog).
pub struct Held {
    barrier: Arc<std::sync::Barrier>,
    released: bool,
    /// The blocking tasks' handles; each returns `"held"`.
    pub blockers: Vec<corepool::JoinHandle<&'static str>>,
}

impl Held {
    /// Lets the held workers go (once).
    pub fn release(&mut self) {
        if !self.released {
            self.released = true;
            self.barrier.wait();
        }
    }

    /// Lets the held workers go and checks that the blocking tasks completed.
    pub fn release_and_join(mut self) {
        self.release();
        for h in std::mem::take(&mut self.blockers) {
            assert_eq!(h.join().unwrap(), "held");
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.release();
    }
}

/// Occupies every worker of `pool` with a task that waits on a barrier, and returns once all of
/// them are running (so the injection queue is empty and nothing else can run).
pub fn hold_workers(pool: &corepool::Pool) -> Held {
    let n = pool.threads();
    let barrier = Arc::new(std::sync::Barrier::new(n + 1));
    let started = Arc::new(AtomicUsize::new(0));
    let blockers = (0..n)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            let started = Arc::clone(&started);
            pool.spawn(move || {
                started.fetch_add(1, Ordering::SeqCst);
                barrier.wait();
                "held"
            })
        })
        .collect();
    wait_for("every worker to be held", || {
        started.load(Ordering::SeqCst) == n
    });
    assert_eq!(pool.queued(), 0, "held pool has an empty injection queue");
    Held {
        barrier,
        released: false,
        blockers,
    }
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

/// `Pinning::PerCore`'s placement of a pool whose worker 0 took core `first`: worker `i` on
/// the `i`-th allowed core after it, round-robin (pools of one process start where the
/// previous one ended, so `first` is not always the first allowed core).
pub fn per_core_from(allowed: &[usize], first: usize) -> impl Fn(usize) -> Vec<usize> + '_ {
    let start = allowed
        .iter()
        .position(|&c| c == first)
        .unwrap_or_else(|| panic!("worker 0's core {first} is not among {allowed:?}"));
    move |i| vec![allowed[(start + i) % allowed.len()]]
}

/// One unpinned pool per thread count (pinned workers of several pools would share cores).
pub fn unpinned_pools(threads: &[usize]) -> Vec<corepool::Pool> {
    threads
        .iter()
        .map(|&n| {
            corepool::Pool::builder()
                .threads(n)
                .pinning(corepool::Pinning::None)
                .build()
                .expect("build pool")
        })
        .collect()
}

/// A pool of `threads` unpinned workers and an injection queue of `capacity`, whose panic
/// handler hands each payload's message to `report`.
pub fn pool_reporting_panics(
    threads: usize,
    capacity: usize,
    report: impl Fn(String) + Send + Sync + 'static,
) -> corepool::Pool {
    corepool::Pool::builder()
        .threads(threads)
        .queue_capacity(capacity)
        .pinning(corepool::Pinning::None)
        .panic_handler(move |payload| report(panic_message(&*payload)))
        .build()
        .unwrap()
}
