//! User code is hostile: every place it runs on a pool thread (the list in
//! `src/sched/unwind.rs`) may panic. For each entry point: panic there, then check that the pool
//! still runs tasks on every worker, that the panic reached the panic handler exactly once (or
//! the thread that asked for the result), and that `shutdown` returns.
//!
//! Panicking user code prints the usual panic message on stderr; that is expected.

mod common;

use common::{hold_workers, panic_message, pool_reporting_panics, watchdog};
use corepool::{Pinning, Pool};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

/// What the panic handler received, as messages, and how many (an atomic, so that a waiter's
/// read of the messages is ordered after the handler's push also for ThreadSanitizer, which does
/// not see std's uninstrumented `Mutex`).
#[derive(Default)]
struct ReportsInner {
    messages: Mutex<Vec<String>>,
    count: AtomicUsize,
}

type Reports = Arc<ReportsInner>;

/// The planned panics on pool threads stay off stderr (the default hook formats on every
/// panicking thread at once, which ThreadSanitizer, with std uninstrumented, reports as races in
/// std). Panics on other threads (assertions) print as usual.
fn quiet_pool_thread_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let on_pool = thread::current()
                .name()
                .is_some_and(|name| name.starts_with("corepool-"));
            if !on_pool {
                default(info);
            }
        }));
    });
}

fn pool_with_handler(threads: usize, capacity: usize) -> (Pool, Reports) {
    quiet_pool_thread_panics();
    let reports: Reports = Arc::default();
    let sink = Arc::clone(&reports);
    let pool = pool_reporting_panics(threads, capacity, move |message| {
        sink.messages.lock().unwrap().push(message);
        sink.count.fetch_add(1, Ordering::Release);
    });
    (pool, reports)
}

/// The pool still runs a task on each worker (a dead worker would leave one of these queued
/// for ever: the watchdog catches that), and the I/O pool still runs one.
fn assert_pool_alive(pool: &Pool) {
    let n = pool.threads();
    let barrier = Arc::new(std::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            pool.spawn(move || {
                // Every worker must take one of these at the same time.
                barrier.wait();
                pool_index()
            })
        })
        .collect();
    let mut seen: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..n).collect::<Vec<_>>(), "every worker ran a task");
    assert_eq!(pool.spawn_blocking(|| 7).join().unwrap(), 7);
}

fn pool_index() -> usize {
    corepool::current_thread_index().expect("runs on a worker")
}

/// Waits until the handler has `n` reports and returns them.
fn reports_after(reports: &Reports, n: usize) -> Vec<String> {
    common::wait_for("the panic handler's reports", || {
        reports.count.load(Ordering::Acquire) >= n
    });
    reports.messages.lock().unwrap().clone()
}

/// Ends the test: shutdown returns, and the handler saw exactly `expected`.
fn finish(pool: Pool, reports: &Reports, expected: &[&str]) {
    pool.shutdown();
    reports.count.load(Ordering::Acquire);
    let got = reports.messages.lock().unwrap().clone();
    assert_eq!(got, expected, "each panic reached the handler exactly once");
}

/// A value whose `Drop` panics with `msg` (and first sets `dropped`).
struct PanicOnDrop {
    msg: &'static str,
    dropped: Option<Arc<AtomicBool>>,
}

impl PanicOnDrop {
    fn new(msg: &'static str) -> Self {
        PanicOnDrop { msg, dropped: None }
    }
}

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if let Some(flag) = &self.dropped {
            flag.store(true, Ordering::SeqCst);
        }
        panic!("{}", self.msg);
    }
}

/// A waker whose `wake` (by value or by reference) panics.
struct PanickingWake;

impl Wake for PanickingWake {
    fn wake(self: Arc<Self>) {
        panic!("waker wake");
    }
}

/// A waker whose last reference panics when dropped; `wake` counts.
struct PanickingWakerDrop(Arc<AtomicUsize>);

impl Wake for PanickingWakerDrop {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for PanickingWakerDrop {
    fn drop(&mut self) {
        panic!("waker drop");
    }
}

/// A waker that counts its wakes.
struct CountingWake(AtomicUsize);

impl Wake for CountingWake {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn poll_once<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

#[test]
fn a_detached_results_drop_panics_on_a_one_thread_pool() {
    watchdog("result drop, 1 thread", || {
        let (pool, reports) = pool_with_handler(1, 64);
        let held = hold_workers(&pool);
        // Detached before it ran: the worker disposes of the result.
        drop(pool.spawn(|| PanicOnDrop::new("result drop")));
        held.release_and_join();
        reports_after(&reports, 1);
        assert_eq!(pool.spawn(|| 42).join().unwrap(), 42);
        assert_pool_alive(&pool);
        finish(pool, &reports, &["result drop"]);
    });
}

#[test]
fn a_results_drop_panic_after_completion_is_raised_where_the_handle_is_dropped() {
    watchdog("result drop on the handle's thread", || {
        let (pool, reports) = pool_with_handler(2, 64);
        let handle = pool.spawn(|| PanicOnDrop::new("late result drop"));
        common::wait_for("the task to finish", || handle.is_finished());
        let raised = catch_unwind(AssertUnwindSafe(|| drop(handle))).unwrap_err();
        assert_eq!(panic_message(&*raised), "late result drop");
        assert_pool_alive(&pool);
        finish(pool, &reports, &[]);
    });
}

#[test]
fn a_join_whose_helper_runs_a_panicking_drop_waits_for_its_stolen_half() {
    // The shape that used to unwind out of `join` while the thief still ran `b`: `a` spawns a
    // detached task whose result panics in `Drop`; while `b` is stolen, the joining worker
    // helps by running that task.
    watchdog("join helper", || {
        let (pool, reports) = pool_with_handler(2, 64);
        let b_started = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicBool::new(false));
        let (b_started2, dropped2) = (Arc::clone(&b_started), Arc::clone(&dropped));
        let pool2 = pool.clone();
        let (ra, rb) = pool.install(move || {
            pool2.join(
                || {
                    // Wait until the peer stole `b`, then leave a task behind on this deque.
                    while !b_started.load(Ordering::SeqCst) {
                        thread::yield_now();
                    }
                    drop(pool2.spawn(move || PanicOnDrop {
                        msg: "helper's drop",
                        dropped: Some(dropped),
                    }));
                    "a"
                },
                move || {
                    b_started2.store(true, Ordering::SeqCst);
                    // Outlive the helper's panic, so the join frame must still be there.
                    while !dropped2.load(Ordering::SeqCst) {
                        thread::yield_now();
                    }
                    "b"
                },
            )
        });
        assert_eq!((ra, rb), ("a", "b"));
        reports_after(&reports, 1);
        assert_pool_alive(&pool);
        finish(pool, &reports, &["helper's drop"]);
    });
}

#[test]
fn a_handles_waker_that_panics_on_wake() {
    watchdog("handle waker wake", || {
        let (pool, reports) = pool_with_handler(1, 64);
        let (go, wait) = mpsc::channel::<()>();
        let mut handle = pool.spawn(move || wait.recv().unwrap());
        let waker = Waker::from(Arc::new(PanickingWake));
        assert!(poll_once(&mut handle, &waker).is_pending());
        drop(waker);
        go.send(()).unwrap();
        reports_after(&reports, 1);
        assert!(handle.is_finished());
        assert_pool_alive(&pool);
        finish(pool, &reports, &["waker wake"]);
    });
}

#[test]
fn a_handles_waker_that_panics_on_drop() {
    watchdog("handle waker drop", || {
        let (pool, reports) = pool_with_handler(1, 64);
        let (go, wait) = mpsc::channel::<()>();
        let mut handle = pool.spawn(move || wait.recv().unwrap());
        let wakes = Arc::new(AtomicUsize::new(0));
        let waker = Waker::from(Arc::new(PanickingWakerDrop(Arc::clone(&wakes))));
        assert!(poll_once(&mut handle, &waker).is_pending());
        // The handle's clone is now the last reference: the worker's wake drops it.
        drop(waker);
        go.send(()).unwrap();
        reports_after(&reports, 1);
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        assert!(handle.is_finished());
        assert_pool_alive(&pool);
        finish(pool, &reports, &["waker drop"]);
    });
}

#[test]
fn a_blocking_tasks_result_drop_and_waker_panic_on_an_io_thread() {
    watchdog("io thread", || {
        let (pool, reports) = pool_with_handler(1, 64);
        // Detached before it ran (the gate opens after the drop), so the I/O thread disposes
        // of the result; had it finished first, the drop would panic here, by design.
        let (open, gate) = mpsc::channel::<()>();
        drop(pool.spawn_blocking(move || {
            gate.recv().unwrap();
            PanicOnDrop::new("io result drop")
        }));
        open.send(()).unwrap();
        reports_after(&reports, 1);
        let (go, wait) = mpsc::channel::<()>();
        let mut handle = pool.spawn_blocking(move || wait.recv().unwrap());
        let waker = Waker::from(Arc::new(PanickingWake));
        assert!(poll_once(&mut handle, &waker).is_pending());
        go.send(()).unwrap();
        reports_after(&reports, 2);
        // The I/O thread lives on: `blocking` from a worker still reaches it, and returns.
        let on_io =
            pool.install(|| corepool::blocking(|| thread::current().name().map(String::from)));
        assert!(on_io.is_some());
        assert_pool_alive(&pool);
        finish(pool, &reports, &["io result drop", "waker wake"]);
    });
}

#[test]
fn a_closure_whose_drop_panics_when_shutdown_now_cancels_it() {
    watchdog("cancelled closure drop at shutdown", || {
        let (pool, reports) = pool_with_handler(1, 64);
        let held = hold_workers(&pool);
        let doomed = PanicOnDrop::new("cancelled closure drop");
        let handle = pool.spawn(move || drop(doomed));
        let pool2 = pool.clone();
        let stopper = thread::spawn(move || pool2.shutdown_now());
        common::wait_for("shutdown to start", || pool.is_shutdown());
        drop(held);
        stopper.join().unwrap();
        assert!(handle.join().unwrap_err().is_cancelled());
        finish(pool, &reports, &["cancelled closure drop"]);
    });
}

#[test]
fn a_closure_whose_drop_panics_when_its_handle_cancels_it() {
    watchdog("cancelled closure drop by handle", || {
        let (pool, reports) = pool_with_handler(1, 64);
        let held = hold_workers(&pool);
        let doomed = PanicOnDrop::new("handle cancel drop");
        let handle = pool.spawn(move || drop(doomed));
        // On the caller's thread: raised there, once the cancel is complete.
        let raised = catch_unwind(AssertUnwindSafe(|| handle.cancel())).unwrap_err();
        assert_eq!(panic_message(&*raised), "handle cancel drop");
        assert!(handle.is_finished());
        drop(held);
        assert!(handle.join().unwrap_err().is_cancelled());
        assert_pool_alive(&pool);
        finish(pool, &reports, &[]);
    });
}

/// A future that is ready at once with `output`, and whose own `Drop` may panic.
struct Ready<T> {
    output: Option<T>,
    drop_panics: bool,
}

impl<T: Unpin> Future for Ready<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<T> {
        Poll::Ready(self.output.take().expect("polled once"))
    }
}

impl<T> Drop for Ready<T> {
    fn drop(&mut self) {
        if self.drop_panics {
            panic!("future drop");
        }
    }
}

#[test]
fn a_futures_poll_drop_and_output_drop_panic() {
    watchdog("future entry points", || {
        let (pool, reports) = pool_with_handler(1, 64);
        // `poll` panics: the handle gets it.
        let err = pool
            .spawn_future(async { panic!("future poll") })
            .join()
            .map(|()| "no panic")
            .unwrap_err();
        assert_eq!(panic_message(&*err.into_panic()), "future poll");
        // The future's own `Drop` panics after `Ready`: the handler gets it, the value arrives.
        let value = pool
            .spawn_future(Ready {
                output: Some(5),
                drop_panics: true,
            })
            .join()
            .unwrap();
        assert_eq!(value, 5);
        reports_after(&reports, 1);
        // The output of a detached future panics in `Drop`.
        let held = hold_workers(&pool);
        drop(pool.spawn_future(Ready {
            output: Some(PanicOnDrop::new("future output drop")),
            drop_panics: false,
        }));
        held.release_and_join();
        reports_after(&reports, 2);
        assert_pool_alive(&pool);
        finish(pool, &reports, &["future drop", "future output drop"]);
    });
}

#[test]
fn a_reserve_waiters_waker_that_panics_on_wake() {
    watchdog("reserve waker", || {
        let (pool, reports) = pool_with_handler(1, 1);
        let held = hold_workers(&pool);
        let queued = pool.spawn(|| 1);
        let mut reserve = pool.reserve();
        let waker = Waker::from(Arc::new(PanickingWake));
        assert!(poll_once(&mut reserve, &waker).is_pending());
        // The worker takes the queued task, frees its slot and wakes the waiter, from inside
        // its own loop.
        held.release_and_join();
        assert_eq!(queued.join().unwrap(), 1);
        reports_after(&reports, 1);
        drop(reserve);
        assert_pool_alive(&pool);
        finish(pool, &reports, &["waker wake"]);
    });
}

#[test]
fn a_reserve_waiters_waker_that_panics_on_drop() {
    watchdog("reserve waker drop", || {
        let (pool, reports) = pool_with_handler(1, 1);
        let held = hold_workers(&pool);
        let queued = pool.spawn(|| 1);
        let mut reserve = pool.reserve();
        let wakes = Arc::new(AtomicUsize::new(0));
        let waker = Waker::from(Arc::new(PanickingWakerDrop(Arc::clone(&wakes))));
        assert!(poll_once(&mut reserve, &waker).is_pending());
        // The queue's clone is now the last reference.
        drop(waker);
        held.release_and_join();
        assert_eq!(queued.join().unwrap(), 1);
        reports_after(&reports, 1);
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        drop(reserve);
        assert_pool_alive(&pool);
        finish(pool, &reports, &["waker drop"]);
    });
}

#[test]
fn one_freed_slot_wakes_one_waiting_reserve_and_an_unused_wake_is_passed_on() {
    watchdog("wake one", || {
        let (pool, reports) = pool_with_handler(1, 1);
        let held = hold_workers(&pool);
        let queued = pool.spawn(|| 1);
        let wakers: Vec<Arc<CountingWake>> = (0..16)
            .map(|_| Arc::new(CountingWake(AtomicUsize::new(0))))
            .collect();
        let mut reserves: Vec<_> = wakers
            .iter()
            .map(|w| {
                let mut r = pool.reserve();
                assert!(poll_once(&mut r, &Waker::from(Arc::clone(w))).is_pending());
                r
            })
            .collect();
        let woken = |wakers: &[Arc<CountingWake>]| -> Vec<usize> {
            wakers.iter().map(|w| w.0.load(Ordering::SeqCst)).collect()
        };
        held.release_and_join();
        assert_eq!(queued.join().unwrap(), 1);
        common::wait_for("a waiter to be woken", || woken(&wakers)[0] == 1);
        // The slot freed by the one queued task woke the oldest waiter only.
        assert_eq!(woken(&wakers).iter().sum::<usize>(), 1);
        // It leaves without taking the slot: the wake-up passes to the next one.
        drop(reserves.remove(0));
        assert_eq!(woken(&wakers[1..])[0], 1, "passed on, synchronously");
        assert_eq!(woken(&wakers[1..]).iter().sum::<usize>(), 1);
        // That one takes the slot; nobody else is woken (no room).
        let waker = Waker::from(Arc::clone(&wakers[1]));
        let permit = match poll_once(&mut reserves[0], &waker) {
            Poll::Ready(permit) => permit.unwrap(),
            Poll::Pending => panic!("woken with room"),
        };
        assert_eq!(woken(&wakers[2..]).iter().sum::<usize>(), 0);
        assert_eq!(permit.spawn(|| 2).unwrap().join().unwrap(), 2);
        drop(reserves);
        assert_pool_alive(&pool);
        finish(pool, &reports, &[]);
    });
}

#[test]
fn a_nested_block_on_gets_the_slot_its_outer_one_was_woken_for() {
    // One worker, one slot, held by an outside permit. A task waits for room in `block_on`
    // (outer); while it waits, the worker runs a second task that waits for room in its own
    // `block_on` (inner, registered after the outer). Freeing the slot wakes the outer waiter
    // only, which cannot be polled before the inner call returns: the inner one must be
    // re-polled, or the worker waits for ever.
    watchdog("nested block_on", || {
        let (pool, reports) = pool_with_handler(1, 1);
        let (go_outer, wait_outer) = mpsc::channel::<()>();
        let (inner_registered_tx, inner_registered) = mpsc::channel::<()>();
        let p = pool.clone();
        let outer = pool.spawn(move || {
            wait_outer.recv().unwrap();
            let p2 = p.clone();
            // On this worker's deque: run while the outer block_on below waits.
            let inner = p.spawn(move || {
                let mut reserve = p2.reserve();
                let noop = Waker::from(Arc::new(CountingWake(AtomicUsize::new(0))));
                assert!(poll_once(&mut reserve, &noop).is_pending());
                inner_registered_tx.send(()).unwrap();
                let permit = p2.block_on(reserve).unwrap();
                drop(permit);
                "inner"
            });
            let permit = p.block_on(p.reserve()).unwrap();
            drop(permit);
            inner
        });
        let permit = Pool::block_on_here(pool.reserve()).unwrap();
        go_outer.send(()).unwrap();
        inner_registered.recv().unwrap();
        // Let the inner task reach its wait (the test passes either way; without the re-poll it
        // only deadlocks if the slot is freed while the inner one waits).
        thread::sleep(Duration::from_millis(50));
        drop(permit);
        let inner = outer.join().unwrap();
        assert_eq!(inner.join().unwrap(), "inner");
        assert_pool_alive(&pool);
        finish(pool, &reports, &[]);
    });
}

#[test]
fn hooks_and_the_panic_handler_itself_may_panic() {
    quiet_pool_thread_panics();
    watchdog("hooks", || {
        // One worker: the reports these print come from one thread at a time (libtest's output
        // capture, shared by every thread of a test, sits behind std's uninstrumented lock,
        // which ThreadSanitizer would report).
        let pool = Pool::builder()
            .threads(1)
            .pinning(Pinning::None)
            .on_thread_start(|_| panic!("start hook"))
            .on_thread_stop(|_| panic!("stop hook"))
            .panic_handler(|_| panic!("handler"))
            .build()
            .unwrap();
        // Detached before they run, so the worker reports both (to the panicking handler).
        let held = hold_workers(&pool);
        drop(pool.spawn(|| -> () { panic!("detached") }));
        drop(pool.spawn(|| PanicOnDrop::new("result drop")));
        held.release_and_join();
        assert_pool_alive(&pool);
        pool.shutdown();
    });
}

#[test]
fn a_panicking_comparator_and_bounded_source_and_sink_reach_the_caller() {
    watchdog("par entry points", || {
        let (pool, reports) = pool_with_handler(2, 64);
        let mut v: Vec<u32> = (0..10_000).rev().collect();
        let raised = catch_unwind(AssertUnwindSafe(|| {
            pool.par_sort_by(&mut v, |a, b| {
                if *a == 4321 {
                    panic!("comparator");
                }
                a.cmp(b)
            })
        }))
        .unwrap_err();
        assert_eq!(panic_message(&*raised), "comparator");
        let mut all = v.clone();
        all.sort_unstable();
        assert_eq!(all, (0..10_000).collect::<Vec<_>>(), "no element lost");
        let source = (0..100u32).map(|i| if i == 50 { panic!("source") } else { i });
        let raised = catch_unwind(AssertUnwindSafe(|| {
            pool.par_bounded(source, 4).for_each(|_| {});
        }))
        .unwrap_err();
        assert_eq!(panic_message(&*raised), "source");
        let raised = catch_unwind(AssertUnwindSafe(|| {
            pool.par_bounded(0..100u32, 4).map_ordered(
                |i| i,
                |i| {
                    if i == 50 {
                        panic!("sink")
                    }
                },
            );
        }))
        .unwrap_err();
        assert_eq!(panic_message(&*raised), "sink");
        assert_pool_alive(&pool);
        finish(pool, &reports, &[]);
    });
}

#[test]
fn a_group_task_handed_on_is_not_held_up_by_the_previous_tasks_drop() {
    // A one-slot group: when the first task ends on a worker, its slot passes to the next,
    // which that worker would run next. The first task's unread result then blocks in `Drop`
    // until the next task ran: it must run elsewhere meanwhile.
    watchdog("hand-off behind a drop", || {
        let (pool, reports) = pool_with_handler(2, 64);
        let group = pool.group().max_concurrency(1).build().unwrap();
        let next_ran = Arc::new(AtomicBool::new(false));
        let gave_up = Arc::new(AtomicBool::new(false));
        struct WaitsInDrop(Arc<AtomicBool>, Arc<AtomicBool>);
        impl Drop for WaitsInDrop {
            fn drop(&mut self) {
                for _ in 0..2_000 {
                    if self.0.load(Ordering::SeqCst) {
                        return;
                    }
                    thread::sleep(Duration::from_millis(5));
                }
                self.1.store(true, Ordering::SeqCst);
            }
        }
        let (go, wait) = mpsc::channel::<()>();
        let (n, g) = (Arc::clone(&next_ran), Arc::clone(&gave_up));
        drop(group.spawn(move || {
            wait.recv().unwrap();
            WaitsInDrop(n, g)
        }));
        let n = Arc::clone(&next_ran);
        let next = group.spawn(move || n.store(true, Ordering::SeqCst));
        go.send(()).unwrap();
        next.join().unwrap();
        group.wait();
        assert!(
            !gave_up.load(Ordering::SeqCst),
            "the next task waited behind the drop"
        );
        assert_pool_alive(&pool);
        finish(pool, &reports, &[]);
    });
}

/// A future that panics in `poll`, and whose `Drop` records `thread::panicking()` and may
/// panic too.
struct PanicsInPoll {
    saw_panicking: Arc<Mutex<Option<bool>>>,
    drop_panics: bool,
}

impl Future for PanicsInPoll {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        panic!("poll")
    }
}

impl Drop for PanicsInPoll {
    fn drop(&mut self) {
        *self.saw_panicking.lock().unwrap() = Some(thread::panicking());
        if self.drop_panics {
            panic!("drop after poll panic");
        }
    }
}

#[test]
fn a_future_that_panicked_in_poll_is_dropped_after_the_unwind() {
    // The documented choice (`Pool::spawn_future`): dropped after the catch, so a second panic
    // from its `Drop` reaches the handler instead of aborting the process.
    watchdog("future drop after poll panic", || {
        let (pool, reports) = pool_with_handler(1, 64);
        for drop_panics in [false, true] {
            let saw = Arc::new(Mutex::new(None));
            let err = pool
                .spawn_future(PanicsInPoll {
                    saw_panicking: Arc::clone(&saw),
                    drop_panics,
                })
                .join()
                .unwrap_err();
            assert_eq!(panic_message(&*err.into_panic()), "poll");
            assert_eq!(
                *saw.lock().unwrap(),
                Some(false),
                "not dropped during the unwind"
            );
        }
        reports_after(&reports, 1);
        assert_pool_alive(&pool);
        finish(pool, &reports, &["drop after poll panic"]);
    });
}
