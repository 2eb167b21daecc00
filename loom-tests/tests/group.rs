//! Model: task groups (`src/group.rs`): at most `max_concurrency` of a group's closures run at
//! once on the shared pool.
//!
//! Invariants checked:
//! - A task holds a slot from admission until its closure is dropped, when its `SlotGuard`
//!   hands the slot to the oldest queued task or gives it back: with `max_concurrency(1)` on
//!   two workers no two of the group's tasks ever run at once (a loom-visible high-water mark
//!   inside the tasks), and every task completes (a lost hand-over would be a deadlock).
//! - A queued task cancelled through its handle leaves the group's queue (its place is free for
//!   the next spawn) and returns no slot (it never held one): the running task keeps the only
//!   slot and the next task waits for it.
//!
//! All group spawns happen inside one `install`, so the pool gets one submission from outside
//! (see the README's known limits); the tasks are pushed on the worker's deque and stolen.
#![cfg(corepool_loom)]

mod common;

use common::{io_pool, model, model_with, pool, Gate, Seen};
use corepool::Group;
use loom::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;

/// The group's running tasks and their high-water mark, in loom atomics so that loom can
/// switch threads while a task is inside (between entering and leaving).
#[derive(Clone)]
struct Running(Arc<(AtomicUsize, AtomicUsize)>);

impl Running {
    fn new() -> Self {
        Running(Arc::new((AtomicUsize::new(0), AtomicUsize::new(0))))
    }

    fn enter(&self) {
        let now = self.0 .0.fetch_add(1, SeqCst) + 1;
        self.0 .1.fetch_max(now, SeqCst);
    }

    fn leave(&self) {
        self.0 .0.fetch_sub(1, SeqCst);
    }

    fn high_water(&self) -> usize {
        self.0 .1.load(SeqCst)
    }
}

/// A one-worker pool (injection capacity 4) and a group on it.
fn one_worker_group(max_concurrency: usize, capacity: Option<usize>) -> (corepool::Pool, Group) {
    let pool = pool(1, 4);
    let mut builder = pool.group().max_concurrency(max_concurrency);
    if let Some(capacity) = capacity {
        builder = builder.capacity(capacity);
    }
    let group = builder.build().expect("group builds");
    (pool, group)
}

/// Asserts an idle group's figures: nothing running or queued, and these totals.
fn assert_settled(group: &Group, completed: u64, cancelled: u64) {
    let metrics = group.metrics();
    assert_eq!((metrics.running, metrics.queued), (0, 0));
    assert_eq!(
        (metrics.completed, metrics.cancelled),
        (completed, cancelled)
    );
}

/// `max_concurrency(1)`, three tasks spawned from a worker of a two-worker pool: the first
/// holds the slot, the others queue in the group and are handed the slot one by one (by the
/// worker that finished the previous task, onto its own deque, where the other worker may
/// steal it). Never two at once; all three complete; the group ends with no slot in use.
/// Preemption bound 1: a two-worker pool's start-up, idling and shutdown alone take about
/// 500 000 iterations at bound 2 (this model: 543 000, 3 to 5 minutes here).
#[test]
fn max_concurrency_one_on_two_workers() {
    static ON_BOTH: Seen = Seen::new("the group's tasks ran on both workers");
    model_with("group::max_concurrency_one_on_two_workers", Some(1), || {
        let pool = pool(2, 4);
        let group = pool
            .group()
            .max_concurrency(1)
            .build()
            .expect("group builds");
        let running = Running::new();
        let workers = pool.install(|| {
            let handles: Vec<_> = (0..3)
                .map(|_| {
                    let running = running.clone();
                    group.spawn(move || {
                        running.enter();
                        let index = corepool::current_thread_index();
                        running.leave();
                        index
                    })
                })
                .collect();
            let results = corepool::join_all(handles);
            group.wait();
            results
                .into_iter()
                .map(|r| r.expect("every task completes"))
                .collect::<Vec<_>>()
        });
        assert_eq!(
            running.high_water(),
            1,
            "two of the group's tasks ran at once"
        );
        let metrics = group.metrics();
        assert_eq!((metrics.running, metrics.queued), (0, 0));
        assert_eq!((metrics.completed, metrics.cancelled), (3, 0));
        ON_BOTH.mark_if(workers.contains(&Some(0)) && workers.contains(&Some(1)));
        pool.shutdown();
    });
    ON_BOTH.assert_seen();
}

/// `max_concurrency(1)`, `capacity(1)`, blocking tasks (run on the I/O threads, two allowed,
/// so two of them could run at once if the group let them): task A holds the slot and waits
/// for a gate opened after the checks below; B is queued and cancelled through its handle.
/// B's queue place is free again (a `try_spawn_blocking` of C is accepted, not `Full`), and no
/// slot was released: C is queued behind A and never runs at the same time. B never runs; A
/// and C complete, C handed the slot by A's release on an I/O thread.
#[test]
fn cancel_queued_task_keeps_slot() {
    model("group::cancel_queued_task_keeps_slot", || {
        let pool = io_pool(1, 2, 4);
        let group = pool
            .group()
            .max_concurrency(1)
            .capacity(1)
            .build()
            .expect("group builds");
        let running = Running::new();
        let gate = Gate::new();
        let (r, g) = (running.clone(), gate.clone());
        let a = group.spawn_blocking(move || {
            r.enter();
            g.wait();
            r.leave();
        });
        let b = group.spawn_blocking(|| ());
        assert!(b.cancel(), "a queued task is cancelled");
        let r = running.clone();
        let c = group
            .try_spawn_blocking(move || {
                r.enter();
                r.leave();
            })
            .unwrap_or_else(|_| panic!("the cancelled task's queue place is free"));
        let metrics = group.metrics();
        assert_eq!(
            (metrics.running, metrics.queued),
            (1, 1),
            "A keeps the only slot, C waits for it"
        );
        gate.open();
        assert!(b.join().expect_err("B never runs").is_cancelled());
        a.join().expect("A runs");
        c.join().expect("C runs");
        group.wait();
        assert_eq!(
            running.high_water(),
            1,
            "two of the group's tasks ran at once"
        );
        let metrics = group.metrics();
        assert_eq!((metrics.running, metrics.queued), (0, 0));
        assert_eq!((metrics.completed, metrics.cancelled), (2, 1));
        pool.shutdown();
    });
}

/// `max_concurrency(2)`, one worker, nothing ever queued: the task's slot is given back
/// without the lock, while main (outside the pool) waits in `group.wait()`. The lock-free
/// give-back's fence and read of `waiters` pair with the waiter's registration and fence:
/// a lost wake-up would leave main waiting (a loom deadlock).
#[test]
fn wait_woken_by_lock_free_give_back() {
    model("group::wait_woken_by_lock_free_give_back", || {
        let (pool, group) = one_worker_group(2, None);
        let running = Running::new();
        let r = running.clone();
        let h = group.spawn(move || {
            r.enter();
            r.leave();
        });
        group.wait();
        let metrics = group.metrics();
        assert_eq!((metrics.running, metrics.queued), (0, 0));
        assert_eq!(
            metrics.completed, 1,
            "wait returned before the task was done"
        );
        h.join().expect("the task runs");
        pool.shutdown();
    });
}

/// `max_concurrency(1)`, one worker: main spawns A, then B, from outside the pool while A may
/// be finishing. B's spawn decides between starting and queueing with one CAS against A's
/// lock-free give-back, so B is never left queued behind a free slot (that would leave
/// `join` waiting: a loom deadlock); both run, one at a time, and the group ends idle.
#[test]
fn spawn_races_lock_free_give_back() {
    static QUEUED: Seen = Seen::new("B was queued behind A and handed the slot");
    static STARTED: Seen = Seen::new("B found A's slot given back and started at once");
    model("group::spawn_races_lock_free_give_back", || {
        let (pool, group) = one_worker_group(1, None);
        let running = Running::new();
        let r = running.clone();
        let a = group.spawn(move || {
            r.enter();
            r.leave();
        });
        let r = running.clone();
        let b = group.spawn(move || {
            r.enter();
            r.leave();
        });
        let queued = group.metrics().queued;
        QUEUED.mark_if(queued == 1);
        STARTED.mark_if(queued == 0);
        a.join().expect("A runs");
        b.join().expect("B runs");
        group.wait();
        assert_eq!(running.high_water(), 1);
        assert_settled(&group, 2, 0);
        pool.shutdown();
    });
    QUEUED.assert_seen();
    STARTED.assert_seen();
}

/// `max_concurrency(1)`, `capacity(1)`, one worker: main spawns A, then B (queued behind A),
/// then C, which finds the queue full and sleeps on the group (no yields under loom). A's
/// release passes the slot to B, which frees B's queue place: that pop must wake main (its
/// RMW sees the WAITERS bit main set with its own RMW before checking). B holds the slot
/// until main opens a gate after C's spawn, so nothing else can wake main: a lost wake-up is
/// a loom deadlock. All three run, one at a time.
#[test]
fn full_spawn_woken_by_hand_off() {
    static FULL: Seen = Seen::new("the queue was full just before C's spawn");
    model("group::full_spawn_woken_by_hand_off", || {
        let (pool, group) = one_worker_group(1, Some(1));
        let running = Running::new();
        let gate = Gate::new();
        let spawn = |running: &Running, gate: Option<Gate>| {
            let r = running.clone();
            group.spawn(move || {
                r.enter();
                if let Some(gate) = gate {
                    gate.wait();
                }
                r.leave();
            })
        };
        let a = spawn(&running, None);
        let b = spawn(&running, Some(gate.clone()));
        let m = group.metrics();
        FULL.mark_if(m.running == 1 && m.queued == 1);
        let c = spawn(&running, None);
        gate.open();
        for h in [a, b, c] {
            h.join().expect("every task runs");
        }
        group.wait();
        assert_eq!(running.high_water(), 1);
        assert_settled(&group, 3, 0);
        pool.shutdown();
    });
    FULL.assert_seen();
}

/// `max_concurrency(1)`, one worker: main spawns A, then B (queued behind A, or started if A
/// was done), then cancels B through its handle while A's release may be popping B. One CAS
/// on B's state word decides: either the popper marks B slotted and B runs (the cancel
/// fails), or B is cancelled first and the popper skips its entry and gives the slot back.
/// Never both, never neither: a slot handed to a cancelled task would never come back
/// (`wait` deadlocks), and a cancelled task that also ran would break the counts.
#[test]
fn handle_cancel_races_hand_off() {
    static CANCELLED: Seen = Seen::new("B was cancelled while queued");
    static RAN: Seen = Seen::new("B was handed the slot before the cancel");
    model("group::handle_cancel_races_hand_off", || {
        let (pool, group) = one_worker_group(1, None);
        let ran_b = Arc::new(AtomicUsize::new(0));
        let a = group.spawn(|| ());
        let r = Arc::clone(&ran_b);
        let b = group.spawn(move || {
            r.fetch_add(1, SeqCst);
        });
        let cancelled = b.cancel();
        a.join().expect("A runs");
        let b_result = b.join();
        group.wait();
        assert_eq!(cancelled, b_result.is_err(), "cancel() matches B's result");
        assert_eq!(ran_b.load(SeqCst), usize::from(!cancelled));
        let cancelled_count = u64::from(cancelled);
        assert_settled(&group, 2 - cancelled_count, cancelled_count);
        CANCELLED.mark_if(cancelled);
        RAN.mark_if(!cancelled);
        pool.shutdown();
    });
    CANCELLED.assert_seen();
    RAN.assert_seen();
}

/// `max_concurrency(1)`, one worker: main spawns A and B, then `group.cancel()` while A's
/// release may be handing the slot to B. Whoever pops B's entry first owns it: the drain
/// cancels it (and says so), or the release starts it. The counts add up and the group ends
/// idle either way.
#[test]
fn group_cancel_races_hand_off() {
    static DRAINED: Seen = Seen::new("group.cancel() took B");
    static STARTED: Seen = Seen::new("B was started before group.cancel()");
    model("group::group_cancel_races_hand_off", || {
        let (pool, group) = one_worker_group(1, None);
        let a = group.spawn(|| 1);
        let b = group.spawn(|| 2);
        let drained = group.cancel();
        assert_eq!(a.join().expect("A runs"), 1);
        match b.join() {
            Ok(v) => {
                assert_eq!((v, drained), (2, 0));
                STARTED.mark();
            }
            Err(e) => {
                assert!(e.is_cancelled());
                assert_eq!(drained, 1);
                DRAINED.mark();
            }
        }
        group.wait();
        assert_settled(&group, 2 - drained as u64, drained as u64);
        pool.shutdown();
    });
    DRAINED.assert_seen();
    STARTED.assert_seen();
}

/// `max_concurrency(1)`, one worker: A runs, B waits in the queue, and another thread calls
/// `group.cancel()` while main waits for the group to be idle. The drain counts B cancelled
/// before it uncounts B's entry, so once `wait` returns the figures add up (completed +
/// cancelled = 2) in every interleaving.
#[test]
fn group_cancel_seen_by_a_waiter() {
    model("group::group_cancel_seen_by_a_waiter", || {
        let (pool, group) = one_worker_group(1, None);
        let gate = Gate::new();
        let g = gate.clone();
        let a = group.spawn(move || g.wait());
        let b = group.spawn(|| ());
        let canceller = {
            let group = group.clone();
            loom::thread::spawn(move || group.cancel())
        };
        gate.open();
        group.wait();
        let metrics = group.metrics();
        assert_eq!(
            metrics.completed + metrics.cancelled,
            2,
            "wait returned before the drained task was counted"
        );
        let drained = canceller.join().expect("cancel returns") as u64;
        assert_eq!(metrics.cancelled, drained);
        a.join().expect("A runs");
        let _ = b.join();
        pool.shutdown();
    });
}
