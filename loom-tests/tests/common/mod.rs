//! Shared helpers for the models: a model runner that counts iterations and reports wall time,
//! a panic hook that keeps deliberate test panics quiet, and drop counters.
#![allow(dead_code)] // each test file uses a different subset

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::time::Instant;

/// The payload of every panic a model raises on purpose; the hook below does not print it.
pub const EXPECTED_PANIC: &str = "corepool-loom: expected panic";

/// Runs `f` under loom with the bounds from the environment (`LOOM_MAX_PREEMPTIONS` etc.),
/// `max_branches` raised to at least 10 000, and an optional tighter preemption bound.
/// Prints `loom-model <name>: <iterations> iterations in <secs> s` on stderr.
pub fn model_with<F>(name: &str, max_preemptions: Option<usize>, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    quiet_expected_panics();
    let iterations = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&iterations);
    let mut builder = loom::model::Builder::new();
    builder.max_branches = builder.max_branches.max(10_000);
    if let Some(bound) = max_preemptions {
        builder.preemption_bound = Some(builder.preemption_bound.map_or(bound, |b| b.min(bound)));
    }
    let bound = builder.preemption_bound;
    let start = Instant::now();
    builder.check(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        f();
    });
    eprintln!(
        "loom-model {name}: {} iterations in {:.2} s (preemption bound {bound:?})",
        iterations.load(Ordering::Relaxed),
        start.elapsed().as_secs_f64()
    );
}

/// [`model_with`] at the environment's preemption bound.
pub fn model<F>(name: &str, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    model_with(name, None, f);
}

/// Installs (once) a panic hook that stays silent for [`EXPECTED_PANIC`] and prints every
/// other panic as the default hook would, so loom's own failure reports still show.
fn quiet_expected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            if payload.downcast_ref::<&str>() == Some(&EXPECTED_PANIC) || payload.is::<PanicToken>()
            {
                return;
            }
            default(info);
        }));
    });
}

/// Panics with [`EXPECTED_PANIC`].
pub fn expected_panic() -> ! {
    std::panic::panic_any(EXPECTED_PANIC)
}

/// Whether a caught panic payload is the one [`expected_panic`] raises.
pub fn is_expected(payload: &(dyn std::any::Any + Send)) -> bool {
    payload.downcast_ref::<&str>() == Some(&EXPECTED_PANIC)
}

/// A panic payload whose drop is counted: `std::panic::panic_any(PanicToken(drops.token()))`.
/// The hook stays silent for it too.
pub struct PanicToken(pub DropToken);

/// Counts drops. The count lives in a std atomic: loom runs every modelled thread on one OS
/// thread, and the models read it only after joining everything, so it needs no loom edges.
#[derive(Clone, Default)]
pub struct Drops(Arc<AtomicUsize>);

impl Drops {
    pub fn new() -> Self {
        Drops::default()
    }

    /// A value whose drop is counted here.
    pub fn token(&self) -> DropToken {
        DropToken(Arc::clone(&self.0))
    }

    pub fn count(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// Increments its [`Drops`] when dropped.
pub struct DropToken(Arc<AtomicUsize>);

impl Drop for DropToken {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A plain counter shared by value (same reasoning as [`Drops`]).
#[derive(Clone, Default)]
pub struct Counter(Arc<AtomicUsize>);

impl Counter {
    pub fn new() -> Self {
        Counter::default()
    }

    pub fn incr(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// A small pool for a model: `threads` workers, the given injection capacity.
pub fn pool(threads: usize, capacity: usize) -> corepool::Pool {
    corepool::Pool::builder()
        .threads(threads)
        .queue_capacity(capacity)
        .build()
        .expect("a loom pool builds")
}

/// A pool with `threads` CPU workers and a blocking-I/O pool of at most `io_threads` threads;
/// both queues hold `capacity` jobs. The keep-alive never runs out by itself under loom (see
/// `corepool::loom_api::expire_io_keep_alive`).
pub fn io_pool(threads: usize, io_threads: usize, capacity: usize) -> corepool::Pool {
    corepool::Pool::builder()
        .threads(threads)
        .queue_capacity(capacity)
        .io_threads(io_threads)
        .io_queue_capacity(capacity)
        .build()
        .expect("a loom pool builds")
}

/// A one-shot gate loom sees completely (a `Mutex<bool>` and a `Condvar`): `wait` blocks until
/// `open` was called, so a missing `open` shows up as a loom deadlock.
#[derive(Clone)]
pub struct Gate(Arc<(loom::sync::Mutex<bool>, loom::sync::Condvar)>);

impl Gate {
    pub fn new() -> Self {
        Gate(Arc::new((
            loom::sync::Mutex::new(false),
            loom::sync::Condvar::new(),
        )))
    }

    pub fn open(&self) {
        *self.0 .0.lock().unwrap() = true;
        self.0 .1.notify_all();
    }

    pub fn wait(&self) {
        let mut open = self.0 .0.lock().unwrap();
        while !*open {
            open = self.0 .1.wait(open).unwrap();
        }
    }

    pub fn is_open(&self) -> bool {
        *self.0 .0.lock().unwrap()
    }
}

impl Default for Gate {
    fn default() -> Self {
        Gate::new()
    }
}

/// A loom-visible waker: `wait` blocks until `wake` was called since the last `wait` (a lost
/// wake-up deadlocks the model).
#[derive(Default)]
pub struct Flag {
    woken: loom::sync::Mutex<bool>,
    cond: loom::sync::Condvar,
}

impl std::task::Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        *self.woken.lock().unwrap() = true;
        self.cond.notify_all();
    }
}

impl Flag {
    pub fn new() -> Arc<Self> {
        Arc::new(Flag::default())
    }

    pub fn wait(&self) {
        let mut woken = self.woken.lock().unwrap();
        while !*woken {
            woken = self.cond.wait(woken).unwrap();
        }
        *woken = false;
    }
}

/// Records, across the iterations of one model, that a path was taken at least once. Models
/// assert afterwards that every path they claim to cover was explored.
pub struct Seen {
    name: &'static str,
    seen: std::sync::atomic::AtomicBool,
}

impl Seen {
    pub const fn new(name: &'static str) -> Self {
        Seen {
            name,
            seen: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub fn mark(&self) {
        self.seen.store(true, Ordering::Relaxed);
    }

    pub fn mark_if(&self, taken: bool) {
        if taken {
            self.mark();
        }
    }

    pub fn assert_seen(&self) {
        assert!(
            self.seen.load(Ordering::Relaxed),
            "no iteration took the path: {}",
            self.name
        );
    }
}
