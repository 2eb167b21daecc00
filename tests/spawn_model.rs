//! Property test: random sequences of API calls against a model.
//!
//! A one-worker pool with a small queue is driven by a random sequence of `try_spawn`,
//! `spawn`, `spawn_timeout(0)`, `cancel`, handle `join`, `scope`, `join`, holding and
//! releasing the worker, `shutdown` and `shutdown_now`. While the worker is held, the model
//! predicts every outcome exactly (which submissions fit, which are `Full`, that `cancel`
//! succeeds, that `shutdown_now` cancels exactly the queued tasks); while it runs freely the
//! model accepts the racy outcomes but still demands consistency (a `cancel` that said true
//! means `Cancelled`, otherwise the value). At the end every handle resolves as predicted,
//! every task ran at most once, `shutdown_now`'s count matches, and the metrics agree.
//!
//! 256 cases in CI mode, 5,000 under `COREPOOL_SOAK=1`; proptest shrinks a failure to a
//! minimal sequence and prints it.

// These tests cover the spawn forms `Pool::task()` replaces, which stay until their removal.
#![allow(deprecated)]

mod common;

use corepool::{JoinHandle, Pinning, Pool, SpawnError};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{mpsc, Arc};
use std::time::Duration;

#[derive(Debug, Clone)]
enum Op {
    TrySpawn,
    Spawn,
    SpawnTimeoutZero,
    Cancel(usize),
    JoinHandle(usize),
    Hold,
    Release,
    Scope(usize),
    Join,
    Shutdown,
    ShutdownNow,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::TrySpawn),
        3 => Just(Op::Spawn),
        2 => Just(Op::SpawnTimeoutZero),
        4 => (0..64usize).prop_map(Op::Cancel),
        2 => (0..64usize).prop_map(Op::JoinHandle),
        3 => Just(Op::Hold),
        2 => Just(Op::Release),
        1 => (0..5usize).prop_map(Op::Scope),
        1 => Just(Op::Join),
        1 => Just(Op::Shutdown),
        1 => Just(Op::ShutdownNow),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Runs,
    Cancelled,
    /// Raced with a free-running worker: ran or was cancelled, the handle decides.
    Either,
}

struct Task {
    value: usize,
    handle: Option<JoinHandle<usize>>,
    expect: Expect,
    ran: Arc<AtomicUsize>,
    /// Accepted while the worker was held in this hold epoch (so it is surely still queued).
    epoch: Option<usize>,
    cancel_said_true: bool,
    refused_at_spawn: bool,
}

struct Harness {
    /// Declared before `pool` so that, when a failing case drops the harness early, the held
    /// worker is released before the pool's drop waits for it.
    held: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
    pool: Pool,
    cap: usize,
    epoch: usize,
    slots: usize,
    shutdown: bool,
    tasks: Vec<Task>,
    gates: Vec<JoinHandle<()>>,
    full: u64,
    refused: u64,
    shutdown_now_count: usize,
}

fn check(cond: bool, msg: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if cond {
        Ok(())
    } else {
        Err(TestCaseError::fail(msg()))
    }
}

impl Harness {
    fn new_task(
        &mut self,
        value: usize,
    ) -> (Arc<AtomicUsize>, impl FnOnce() -> usize + Send + 'static) {
        let ran = Arc::new(AtomicUsize::new(0));
        let r = Arc::clone(&ran);
        (ran, move || {
            r.fetch_add(1, SeqCst);
            value
        })
    }

    fn accepted(&mut self, value: usize, ran: Arc<AtomicUsize>, h: JoinHandle<usize>) {
        let held = self.held.is_some();
        if held {
            self.slots += 1;
        }
        self.tasks.push(Task {
            value,
            handle: Some(h),
            expect: Expect::Runs,
            ran,
            epoch: held.then_some(self.epoch),
            cancel_said_true: false,
            refused_at_spawn: false,
        });
    }

    /// A fallible submission's result against the model.
    fn fallible<F: FnOnce() -> usize>(
        &mut self,
        value: usize,
        ran: Arc<AtomicUsize>,
        r: Result<JoinHandle<usize>, SpawnError<F>>,
    ) -> Result<(), TestCaseError> {
        let held_full = self.held.is_some() && self.slots == self.cap;
        match r {
            Ok(h) => {
                check(!self.shutdown, || "accepted after shutdown".into())?;
                check(!held_full, || {
                    format!("accepted beyond capacity {}", self.cap)
                })?;
                self.accepted(value, ran, h);
            }
            Err(SpawnError::Shutdown(f)) => {
                check(self.shutdown, || "Shutdown before shutdown".into())?;
                check(f() == value, || "a different closure came back".into())?;
                self.refused += 1;
            }
            Err(SpawnError::Full(f)) => {
                check(!self.shutdown, || "Full after shutdown".into())?;
                check(held_full || self.held.is_none(), || {
                    format!("Full with {} of {} slots used", self.slots, self.cap)
                })?;
                check(f() == value, || "a different closure came back".into())?;
                self.full += 1;
            }
            Err(other) => return Err(TestCaseError::fail(format!("unexpected {other}"))),
        }
        Ok(())
    }

    fn release(&mut self) {
        if let Some((tx, gate)) = self.held.take() {
            drop(tx);
            self.gates.push(gate);
        }
    }

    fn resolve(&mut self, idx: usize) -> Result<(), TestCaseError> {
        let t = &mut self.tasks[idx];
        let Some(h) = t.handle.take() else {
            return Ok(());
        };
        let out = h.join();
        let ran = t.ran.load(SeqCst);
        check(ran <= 1, || format!("task {} ran {ran} times", t.value))?;
        match (&out, t.expect) {
            (Ok(v), Expect::Runs | Expect::Either) => {
                check(*v == t.value && ran == 1, || {
                    format!("task {} gave {v}, ran {ran}", t.value)
                })?;
                check(!t.cancel_said_true, || {
                    "ran after cancel() said true".into()
                })?;
                t.expect = Expect::Runs;
            }
            (Err(e), Expect::Cancelled | Expect::Either) if e.is_cancelled() => {
                check(ran == 0, || format!("task {} cancelled but ran", t.value))?;
                t.expect = Expect::Cancelled;
            }
            _ => {
                return Err(TestCaseError::fail(format!(
                    "task {}: expected {:?}, got {out:?}",
                    t.value, t.expect
                )))
            }
        }
        Ok(())
    }

    fn apply(&mut self, i: usize, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::TrySpawn => {
                let (ran, f) = self.new_task(i);
                let r = self.pool.try_spawn(f);
                self.fallible(i, ran, r)?;
            }
            Op::SpawnTimeoutZero => {
                let (ran, f) = self.new_task(i);
                let r = self.pool.spawn_timeout(f, Duration::ZERO);
                self.fallible(i, ran, r)?;
            }
            Op::Spawn => {
                if self.held.is_some() && self.slots == self.cap {
                    return Ok(()); // would block until release
                }
                let (ran, f) = self.new_task(i);
                let h = self.pool.spawn(f);
                if self.shutdown {
                    self.refused += 1;
                    self.tasks.push(Task {
                        value: i,
                        handle: Some(h),
                        expect: Expect::Cancelled,
                        ran,
                        epoch: None,
                        cancel_said_true: false,
                        refused_at_spawn: true,
                    });
                } else {
                    self.accepted(i, ran, h);
                }
            }
            Op::Cancel(k) => {
                if self.tasks.is_empty() {
                    return Ok(());
                }
                let k = k % self.tasks.len();
                let held_epoch = self.held.is_some().then_some(self.epoch);
                let t = &mut self.tasks[k];
                let Some(h) = &t.handle else { return Ok(()) };
                let r = h.cancel();
                match t.expect {
                    Expect::Cancelled => {
                        check(r, || "cancel() of a cancelled task said false".into())?
                    }
                    Expect::Runs if t.epoch.is_some() && t.epoch == held_epoch => {
                        check(r, || {
                            format!("cancel() of queued task {} said false", t.value)
                        })?;
                    }
                    _ => {}
                }
                if r {
                    // `Either` tasks were settled by a completed `shutdown_now`: a true here
                    // only reports that cancellation.
                    if t.expect == Expect::Runs {
                        t.cancel_said_true = true;
                    }
                    t.expect = Expect::Cancelled;
                } else {
                    t.expect = Expect::Runs;
                }
            }
            Op::JoinHandle(k) => {
                if self.held.is_some() || self.tasks.is_empty() {
                    return Ok(());
                }
                let k = k % self.tasks.len();
                self.resolve(k)?;
            }
            Op::Hold => {
                if self.shutdown || self.held.is_some() {
                    return Ok(());
                }
                self.held = Some(common::hold_worker(&self.pool));
                self.epoch += 1;
                self.slots = 0;
                // Tasks accepted earlier that are still queued behind the gate are racy.
            }
            Op::Release => self.release(),
            Op::Scope(n) => {
                if self.held.is_some() {
                    return Ok(());
                }
                let mut v = vec![0usize; n];
                self.pool.scope(|s| {
                    for (j, x) in v.iter_mut().enumerate() {
                        s.spawn(move |_| *x = j + 1);
                    }
                });
                check(v.iter().enumerate().all(|(j, &x)| x == j + 1), || {
                    "scope task missing".into()
                })?;
            }
            Op::Join => {
                if self.held.is_some() {
                    return Ok(());
                }
                check(self.pool.join(|| i, || i + 1) == (i, i + 1), || {
                    "join".into()
                })?;
            }
            Op::Shutdown => {
                self.release();
                self.pool.shutdown();
                self.shutdown = true;
            }
            Op::ShutdownNow => {
                if self.shutdown {
                    self.pool.shutdown_now();
                    return Ok(());
                }
                if self.held.is_some() {
                    let p = self.pool.clone();
                    let t = std::thread::spawn(move || p.shutdown_now());
                    while !self.pool.is_shutdown() {
                        std::thread::yield_now();
                    }
                    // Everything queued in this hold epoch is cancelled, not run.
                    let epoch = self.epoch;
                    for t in self.tasks.iter_mut() {
                        if t.epoch == Some(epoch) && t.expect == Expect::Runs {
                            t.expect = Expect::Cancelled;
                        } else if t.expect == Expect::Runs && t.handle.is_some() {
                            t.expect = Expect::Either;
                        }
                    }
                    self.release();
                    self.shutdown_now_count = t.join().unwrap();
                } else {
                    for t in self.tasks.iter_mut().filter(|t| t.handle.is_some()) {
                        if t.expect == Expect::Runs {
                            t.expect = Expect::Either;
                        }
                    }
                    self.shutdown_now_count = self.pool.shutdown_now();
                }
                self.shutdown = true;
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<(), TestCaseError> {
        self.release();
        self.pool.shutdown();
        for k in 0..self.tasks.len() {
            self.resolve(k)?;
        }
        for g in self.gates.drain(..) {
            check(g.join().is_ok(), || "gate task".into())?;
        }
        let by_shutdown_now = self
            .tasks
            .iter()
            .filter(|t| t.expect == Expect::Cancelled && !t.cancel_said_true && !t.refused_at_spawn)
            .count();
        check(by_shutdown_now == self.shutdown_now_count, || {
            format!(
                "shutdown_now said {} cancelled, handles say {by_shutdown_now}",
                self.shutdown_now_count
            )
        })?;
        let m = self.pool.metrics();
        let ran = self
            .tasks
            .iter()
            .filter(|t| t.expect == Expect::Runs)
            .count() as u64;
        let gates = self.epoch as u64;
        check(m.completed == ran + gates, || {
            format!("metrics.completed {} != {}\n{m}", m.completed, ran + gates)
        })?;
        check(m.spawned == m.completed + m.cancelled, || {
            format!("spawned != completed + cancelled\n{m}")
        })?;
        check(m.rejected_full == self.full, || {
            format!("rejected_full {} != {}\n{m}", m.rejected_full, self.full)
        })?;
        check(m.rejected_shutdown == self.refused, || {
            format!(
                "rejected_shutdown {} != {}\n{m}",
                m.rejected_shutdown, self.refused
            )
        })?;
        Ok(())
    }
}

fn run_case(cap: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let pool = Pool::builder()
        .threads(1)
        .pinning(Pinning::None)
        .queue_capacity(cap)
        .build()
        .unwrap();
    let mut h = Harness {
        held: None,
        pool,
        cap,
        epoch: 0,
        slots: 0,
        shutdown: false,
        tasks: Vec::new(),
        gates: Vec::new(),
        full: 0,
        refused: 0,
        shutdown_now_count: 0,
    };
    for (i, op) in ops.iter().enumerate() {
        h.apply(i, op)?;
    }
    h.finish()
}

#[test]
fn random_api_sequences_match_the_model() {
    let cases = common::volume(256, 5_000) as u32;
    common::watchdog_for("proptest model", Duration::from_secs(300), move || {
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let strategy = (1..4usize, proptest::collection::vec(op(), 1..40));
        if let Err(e) = runner.run(&strategy, |(cap, ops)| run_case(cap, ops)) {
            panic!("{e}");
        }
    });
}
