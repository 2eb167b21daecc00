//! Model: the bounded injection queue (`src/injection_queue.rs`), through
//! `corepool::loom_api::InjectionQueue`, plus `try_spawn` on a full pool queue.
//!
//! Invariants checked (injection_queue.rs):
//! - **Capacity:** at most `capacity` slots are ever reserved (so at most `capacity` jobs are
//!   ever queued); every thread checks `len() <= capacity` after each of its operations.
//! - **No lost wake-up for blocked submitters:** a submitter blocked on a full queue registers
//!   in `waiting` and re-tries before it waits; a consumer releases slots and then reads
//!   `waiting`. So a blocked submitter is released once room appears (else: loom deadlock), and
//!   `close()` releases every blocked submitter with its job handed back.
//! - **Nothing lost or duplicated:** with two producers and two consumers each job is taken
//!   exactly once; a refused job (`Full`/`Closed`) is handed back unchanged.
//! - **Reserved slots are counted:** after `close()`, a drainer that takes jobs until
//!   `len() == 0` never misses a job whose push raced with the close (the worker exit rule).
#![cfg(corepool_loom)]

mod common;

use common::{model, pool, Counter};
use corepool::loom_api::{InjectionQueue, LocalDeque, Refused, TestJobs};
use loom::thread;
use std::sync::Arc;

struct Setup {
    queue: InjectionQueue,
    jobs: TestJobs,
}

fn setup(capacity: usize, jobs: usize) -> Arc<Setup> {
    Arc::new(Setup {
        queue: InjectionQueue::new(capacity),
        jobs: TestJobs::new(jobs),
    })
}

impl Setup {
    fn check_capacity(&self) {
        let len = self.queue.len();
        assert!(
            len <= self.queue.capacity(),
            "{len} slots reserved, capacity {}",
            self.queue.capacity()
        );
    }

    /// One `take_batch` of up to `max`, returning the ids taken (the batch's extra jobs land in
    /// a local deque and are popped from there).
    fn take(&self, max: usize) -> Vec<usize> {
        let local = LocalDeque::new();
        let mut ids = Vec::new();
        if let Some(first) = self.queue.take_batch(&local, max) {
            ids.push(self.jobs.id(first));
            while let Some(job) = local.pop() {
                ids.push(self.jobs.id(job));
            }
        }
        self.check_capacity();
        ids
    }
}

/// Capacity 1, full. A submitter blocks in `push_blocking`; a consumer takes the queued job,
/// which must release the submitter (a lost wake-up is a deadlock on `join`). `try_push` on the
/// full queue hands its job back. Afterwards exactly the blocked submitter's job is queued.
#[test]
fn blocked_submitter_is_released() {
    model("injection_queue::blocked_submitter_is_released", || {
        let s = setup(1, 3);
        s.queue.try_push(s.jobs.job(0)).unwrap();
        assert_eq!(
            s.queue.try_push(s.jobs.job(2)),
            Err(Refused::Full(s.jobs.job(2)))
        );

        let submitter = {
            let s = Arc::clone(&s);
            thread::spawn(move || {
                s.queue.push_blocking(s.jobs.job(1), None).unwrap();
                s.check_capacity();
            })
        };
        let consumer = {
            let s = Arc::clone(&s);
            thread::spawn(move || s.take(1))
        };
        assert_eq!(consumer.join().unwrap(), vec![0]);
        submitter.join().unwrap();
        assert_eq!(s.take(4), vec![1]);
        assert!(s.queue.is_empty());
    });
}

/// Capacity 1, two producers blocking in `push_blocking`, two consumers that each take one
/// batch of up to 2 (possibly nothing), then the main thread drains the rest: every job is
/// taken exactly once, capacity is never exceeded, and both producers get through.
///
/// The consumers do not retry in a loop: two threads yield-spinning while a third must make
/// progress send loom's (unfair) scheduler into an endless alternation. Only the main thread
/// spins, and only to wait for a producer that has reserved a slot but not pushed yet.
#[test]
fn two_producers_two_consumers() {
    model("injection_queue::two_producers_two_consumers", || {
        let s = setup(1, 2);
        let producers: Vec<_> = (0..2)
            .map(|id| {
                let s = Arc::clone(&s);
                thread::spawn(move || {
                    s.queue.push_blocking(s.jobs.job(id), None).unwrap();
                    s.check_capacity();
                })
            })
            .collect();
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let s = Arc::clone(&s);
                thread::spawn(move || s.take(2))
            })
            .collect();
        let mut taken: Vec<usize> = consumers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        while taken.len() < 2 {
            let ids = s.take(2);
            if ids.is_empty() {
                thread::yield_now();
            }
            taken.extend(ids);
        }
        producers.into_iter().for_each(|p| p.join().unwrap());
        taken.sort_unstable();
        assert_eq!(taken, vec![0, 1], "each job taken exactly once");
        assert!(s.queue.is_empty());
    });
}

/// `close()` releases a submitter blocked on a full queue, handing its job back, and refuses
/// every later push; the job queued before the close is still there to drain.
#[test]
fn close_releases_blocked_submitter() {
    model("injection_queue::close_releases_blocked_submitter", || {
        let s = setup(1, 2);
        s.queue.try_push(s.jobs.job(0)).unwrap();
        let submitter = {
            let s = Arc::clone(&s);
            thread::spawn(move || s.queue.push_blocking(s.jobs.job(1), None))
        };
        s.queue.close();
        assert_eq!(
            submitter.join().unwrap(),
            Err(Refused::Closed(s.jobs.job(1)))
        );
        assert_eq!(s.take(4), vec![0]);
        assert_eq!(
            s.queue.try_push(s.jobs.job(1)),
            Err(Refused::Closed(s.jobs.job(1)))
        );
    });
}

/// A push racing `close()`: the drainer (the shutdown path of a worker) takes jobs until no
/// slot is reserved. If the push was accepted its job is drained, exactly once; if refused it
/// comes back as `Closed` and nothing is drained.
#[test]
fn drain_after_close_sees_racing_push() {
    model(
        "injection_queue::drain_after_close_sees_racing_push",
        || {
            let s = setup(2, 1);
            let submitter = {
                let s = Arc::clone(&s);
                thread::spawn(move || s.queue.try_push(s.jobs.job(0)))
            };
            s.queue.close();
            let mut drained = Vec::new();
            while !s.queue.is_empty() {
                let ids = s.take(4);
                if ids.is_empty() {
                    // A slot is reserved but its job not pushed yet.
                    thread::yield_now();
                }
                drained.extend(ids);
            }
            match submitter.join().unwrap() {
                Ok(()) => assert_eq!(drained, vec![0], "an accepted job is drained"),
                Err(refused) => {
                    assert_eq!(refused, Refused::Closed(s.jobs.job(0)));
                    assert!(drained.is_empty());
                }
            }
        },
    );
}

/// Through the public API: `try_spawn` on a pool whose queue is full hands the closure back in
/// `SpawnError::Full`; once the worker drained the queue a later `spawn` gets in. The one
/// worker is kept busy on a task that waits for the main thread, so the queue stays full.
#[test]
fn pool_try_spawn_full_returns_closure() {
    model(
        "injection_queue::pool_try_spawn_full_returns_closure",
        || {
            let pool = pool(1, 1);
            let gate = Arc::new((loom::sync::Mutex::new(false), loom::sync::Condvar::new()));
            let started = Arc::new((loom::sync::Mutex::new(false), loom::sync::Condvar::new()));
            let ran = Counter::new();
            // Occupy the worker until the gate opens.
            let blocker = {
                let (gate, started) = (Arc::clone(&gate), Arc::clone(&started));
                pool.spawn(move || {
                    *started.0.lock().unwrap() = true;
                    started.1.notify_all();
                    let mut open = gate.0.lock().unwrap();
                    while !*open {
                        open = gate.1.wait(open).unwrap();
                    }
                })
            };
            let mut running = started.0.lock().unwrap();
            while !*running {
                running = started.1.wait(running).unwrap();
            }
            drop(running);
            // The worker is busy: one task fills the queue, the next is refused with its closure.
            let r = ran.clone();
            let queued = pool.try_spawn(move || r.incr()).unwrap();
            let r = ran.clone();
            let refused = pool.try_spawn(move || {
                r.incr();
                7
            });
            let closure = match refused {
                Err(e) => {
                    assert!(e.is_full());
                    e.into_inner()
                }
                Ok(_) => panic!("a full queue accepted a task"),
            };
            assert_eq!(closure(), 7, "the refused closure comes back intact");
            *gate.0.lock().unwrap() = true;
            gate.1.notify_all();
            blocker.join().unwrap();
            queued.join().unwrap();
            assert_eq!(ran.get(), 2);
            pool.shutdown();
        },
    );
}
