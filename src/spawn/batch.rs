//! Batches: `spawn_all` submits many tasks as one queued job per batch, and `join_all`
//! collects settled results.
//!
//! Invariants:
//! - From outside the pool, a batch of up to `BATCH` closures takes that many queue slots with
//!   one CAS (so `queue_capacity` still bounds the tasks waiting in the queue) and is pushed as
//!   *one* job. The worker that starts the job gives back the slots beyond the one the job
//!   itself held. A closed pool cancels the closures not yet in a batch (each handle reports
//!   `Cancelled`): every closure is queued once or dropped unrun with its handle told.
//! - A batch's closures become tasks (one allocation and one handle each) exactly once, by
//!   whoever wins the claim CAS: the worker that started the batch job, or the submitter, which
//!   claims the oldest batch itself rather than wait (for room, or for a busy pool). The winner
//!   writes the handles and task jobs, then sets READY; the loser only waits for READY, which
//!   follows after a bounded conversion that runs no user code. So `spawn_all` never waits for
//!   a worker to become free, only for queue room while none of its batches is left to claim.
//! - The batch job runs its task jobs in order on its worker; while each runs, the rest sits
//!   on the worker's deque as one job, which a peer can steal (then it runs the rest the same
//!   way) or the worker pops back. So a batch spreads over the pool and no task waits behind a
//!   long one while a worker is free. The worker knows its rest when it pops it back by the
//!   address of a cell it keeps alive until its loop ends, so no other job can share that
//!   address; a thief takes the list out of the cell and never frees it under the worker.
//! - `join_all` returns one settled result per handle, in input order, failures included; on a
//!   worker it keeps executing other tasks while it waits.

use crate::error::JoinError;
use crate::sched::injection::Slot;
use crate::sched::job::{Job, JobRef, Mode, Outcome};
use crate::sched::registry::{Executor, Registry};
use crate::sched::worker::{Caller, WorkerThread};
use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::{thread, UnsafeCell};
use crate::task::cell::{new_task, PanicsTo};
use crate::task::handle::JoinHandle;
use std::collections::VecDeque;
use std::sync::Arc;

/// Tasks per batch (2 under loom, so small models exercise several batches).
const BATCH: usize = if cfg!(corepool_loom) { 2 } else { 256 };

const UNCLAIMED: usize = 0;
const CLAIMED: usize = 1;
const READY: usize = 2;

/// Spawns every closure of `tasks` on `registry`, in batches.
pub(crate) fn spawn_all<I, F, T>(registry: &Arc<Registry>, tasks: I) -> Vec<JoinHandle<T>>
where
    I: IntoIterator<Item = F>,
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let mut tasks = tasks.into_iter();
    let mut handles = Vec::with_capacity(tasks.size_hint().0);
    if let Caller::Own(worker) = Caller::of(registry) {
        for func in tasks {
            let (task, handle) = new_task(func, registry.stats.sample_submit());
            worker.push_or_run(task.into_job_ref());
            registry.record_submission(Ok(()), false);
            handles.push(handle);
        }
        return handles;
    }
    let mut in_flight: VecDeque<Arc<Batch<F, T>>> = VecDeque::new();
    let mut next: Vec<F> = Vec::with_capacity(BATCH);
    loop {
        if next.is_empty() {
            next.extend(tasks.by_ref().take(BATCH));
        }
        if next.is_empty() {
            for batch in in_flight.drain(..) {
                batch.collect(registry, &mut handles);
            }
            return handles;
        }
        let reserved = match registry.injected.reserve_many(next.len() as u64) {
            Err(Slot::Full) => match in_flight.pop_front() {
                // No room: rather than wait, collect the oldest batch (converting it here if
                // no worker has started it yet).
                Some(batch) => {
                    batch.collect(registry, &mut handles);
                    continue;
                }
                None => registry.injected.reserve_many_blocking(next.len() as u64),
            },
            other => other,
        };
        match reserved {
            Ok(slots) => {
                let rest = next.split_off(slots as usize);
                let funcs = std::mem::replace(&mut next, rest);
                let batch = Arc::new(Batch::new(funcs, slots - 1));
                registry
                    .injected
                    .push_reserved(Batch::job_ref(Arc::clone(&batch)));
                registry.sleep.notify_new_work();
                in_flight.push_back(batch);
            }
            Err(_) => {
                // Closed: what is queued was accepted; the rest is cancelled.
                for batch in in_flight.drain(..) {
                    batch.collect(registry, &mut handles);
                }
                for func in next.drain(..).chain(tasks) {
                    let (task, handle) = new_task(func, crate::metrics::Submit::NONE);
                    task.cancel_unsubmitted(PanicsTo::Caller);
                    registry.record_submission(Err(false), false);
                    handles.push(handle);
                }
                return handles;
            }
        }
    }
}

/// Closures submitted as one queued job, turned into tasks by whoever claims them.
struct Batch<F, T> {
    state: AtomicUsize,
    /// Queue slots reserved for the batch beyond the one its job holds.
    extra_slots: u64,
    /// Taken by the claimer.
    funcs: UnsafeCell<Vec<F>>,
    /// Written by the claimer before READY; taken by the submitter after it.
    handles: UnsafeCell<Vec<JoinHandle<T>>>,
    /// Written by the claimer before READY; taken by the batch job after it.
    jobs: UnsafeCell<Vec<JobRef>>,
}

// The cells are handed from thread to thread through `state`: `funcs` is touched by the claim
// winner only; `handles` and `jobs` by the winner before READY, then once each by the submitter
// (`handles`) and the batch job (`jobs`).
// SAFETY: so one thread at a time touches each cell, and `F`, the handles and jobs are `Send`.
unsafe impl<F: Send, T: Send> Sync for Batch<F, T> {}

impl<F, T> Batch<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn new(funcs: Vec<F>, extra_slots: u64) -> Self {
        Batch {
            state: AtomicUsize::new(UNCLAIMED),
            extra_slots,
            funcs: UnsafeCell::new(funcs),
            handles: UnsafeCell::new(Vec::new()),
            jobs: UnsafeCell::new(Vec::new()),
        }
    }

    fn job_ref(batch: Arc<Self>) -> JobRef {
        let raw = Arc::into_raw(batch);
        // SAFETY: the leaked reference keeps the batch alive until the job is executed, which
        // takes it back.
        unsafe { JobRef::new(raw) }
    }

    /// Claims the batch and turns its closures into tasks, or waits until the claimer has.
    fn claim_or_wait(&self, registry: &Registry) {
        if self
            .state
            .compare_exchange(UNCLAIMED, CLAIMED, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            self.convert(registry);
            return;
        }
        // The claimer is converting: a bounded loop of allocations, no user code.
        while self.state.load(Ordering::SeqCst) != READY {
            thread::yield_now();
        }
    }

    fn convert(&self, registry: &Registry) {
        let funcs = self.funcs.with_mut(|f| {
            // SAFETY: this thread won the claim, so it alone touches `funcs`.
            unsafe { std::mem::take(&mut *f) }
        });
        let mut handles = Vec::with_capacity(funcs.len());
        let mut jobs = Vec::with_capacity(funcs.len());
        for func in funcs {
            let (task, handle) = new_task(func, registry.stats.sample_submit());
            // Counted before anyone can see the task finish.
            registry.record_submission(Ok(()), false);
            jobs.push(task.into_job_ref());
            handles.push(handle);
        }
        self.handles.with_mut(|h| {
            // SAFETY: the claim winner writes before READY; nobody reads before READY.
            unsafe { *h = handles }
        });
        self.jobs.with_mut(|j| {
            // SAFETY: as above.
            unsafe { *j = jobs }
        });
        self.state.store(READY, Ordering::SeqCst);
    }

    /// The submitter's side: the batch's handles, appended to `out`.
    fn collect(&self, registry: &Registry, out: &mut Vec<JoinHandle<T>>) {
        self.claim_or_wait(registry);
        let handles = self.handles.with_mut(|h| {
            // SAFETY: READY was observed (SeqCst), so the claimer's writes are visible; only
            // the submitter takes the handles, once.
            unsafe { std::mem::take(&mut *h) }
        });
        out.extend(handles);
    }
}

impl<F, T> Job for Batch<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    unsafe fn execute(this: *const Self, mode: Mode, registry: &Registry) -> Outcome {
        // SAFETY: the `JobRef` owned one strong reference, made by `Arc::into_raw` in
        // `job_ref`; it is consumed here, exactly once.
        let batch = unsafe { Arc::from_raw(this) };
        // The tasks leave the queue now.
        registry.injected.release_slots(batch.extra_slots);
        batch.claim_or_wait(registry);
        let jobs = batch.jobs.with_mut(|j| {
            // SAFETY: READY was observed; only this job (executed once) takes the jobs.
            unsafe { std::mem::take(&mut *j) }
        });
        run_jobs(jobs, mode, registry);
        Outcome::Ran
    }
}

/// The tasks of a batch not run yet, from `next` on.
struct RunList {
    jobs: Vec<JobRef>,
    next: usize,
}

/// The rest of a batch while it sits on its worker's deque: a job that a thief may steal and
/// execute (it takes the list and runs it) or that the worker pops back (it takes the list
/// again). Exactly one of the two happens to each push, so one thread at a time touches `list`:
/// the worker before its push and after popping the job back, a thief after its steal (the
/// deque's push and steal order the accesses).
///
/// The worker holds its own reference to the cell until its loop ends, so the cell's address
/// is live, and no other job can have it, for as long as the worker compares popped jobs with
/// its rest. A thief only drops the job's reference. (With the list itself as the job, a thief
/// freed it, and a job allocated later at the same address and moved to this deque with an
/// injected batch was taken for the rest.)
struct Rest {
    list: UnsafeCell<Option<RunList>>,
}

// SAFETY: `list` is touched by one thread at a time (above), and a `RunList` is `Send` (its
// jobs are).
unsafe impl Sync for Rest {}

impl Rest {
    /// Takes the list out. The caller has the cell to itself (see [`Rest`]).
    fn take(&self) -> Option<RunList> {
        self.list.with_mut(|l| {
            // SAFETY: exclusive access, by the caller's contract.
            unsafe { (*l).take() }
        })
    }

    /// Puts the list back. As for `take`.
    fn put(&self, list: RunList) {
        self.list.with_mut(|l| {
            // SAFETY: as in `take`.
            unsafe { *l = Some(list) }
        })
    }
}

impl Job for Rest {
    unsafe fn execute(this: *const Self, mode: Mode, registry: &Registry) -> Outcome {
        // SAFETY: the job owned one strong reference, made by `Arc::into_raw` in
        // `run_on_worker`; it is consumed here, once. The worker still holds its own.
        let rest = unsafe { Arc::from_raw(this) };
        // Stolen (or executed by the worker itself from a nested wait): the list is ours.
        let list = rest
            .take()
            .expect("the rest of a batch holds its list until run");
        drop(rest);
        run_list(list, mode, registry);
        Outcome::Ran
    }
}

/// Executes task jobs in order.
fn run_jobs(jobs: Vec<JobRef>, mode: Mode, registry: &Registry) {
    run_list(RunList { jobs, next: 0 }, mode, registry);
}

fn run_list(list: RunList, mode: Mode, registry: &Registry) {
    match Caller::of(registry).own() {
        Some(worker) => run_on_worker(worker, list),
        None => {
            for &job in &list.jobs[list.next..] {
                // SAFETY: each task job came from `convert` and is executed once, here.
                let outcome = unsafe { job.execute(mode, registry) };
                registry.record_outcome(outcome, Executor::CpuOutside);
            }
        }
    }
}

/// Runs the list's tasks on `worker`. While each runs, the rest of the list sits on the
/// worker's deque, where a peer can steal it: a long task never holds up the ones behind it
/// while another worker is free. Afterwards the worker pops the rest back (running newer local
/// work first, as its own loop would); if it is gone, someone else took it.
fn run_on_worker(worker: &WorkerThread, list: RunList) {
    let rest = Arc::new(Rest {
        list: UnsafeCell::new(Some(list)),
    });
    loop {
        // Ours: never pushed yet, or popped back.
        let mut list = rest
            .take()
            .expect("the worker holds the list between pushes");
        let Some(&job) = list.jobs.get(list.next) else {
            return;
        };
        list.next += 1;
        if list.next == list.jobs.len() {
            worker.execute(job);
            return;
        }
        rest.put(list);
        let raw = Arc::into_raw(Arc::clone(&rest));
        // SAFETY: the reference leaked here keeps the cell alive until the job is executed (by
        // a thief) or taken back by the pop below, whichever comes first; exactly one happens.
        let rest_job = unsafe { JobRef::new(raw) };
        worker.push(rest_job);
        worker.execute(job);
        loop {
            match worker.pop() {
                // Identity by address is sound here: `rest` is alive, so no other job has it.
                Some(popped) if popped == rest_job => {
                    // SAFETY: popped back unexecuted, so the job's reference is ours to drop.
                    drop(unsafe { Arc::from_raw(raw) });
                    break;
                }
                Some(newer) => worker.execute(newer),
                None => return,
            }
        }
    }
}

/// Waits for every handle and returns their settled results in input order.
pub(crate) fn join_all<T, I>(handles: I) -> Vec<Result<T, JoinError>>
where
    I: IntoIterator<Item = JoinHandle<T>>,
{
    handles.into_iter().map(JoinHandle::join).collect()
}

/// `join_all` as a future: every result, settled, in input order.
pub(crate) async fn join_all_async<T, I>(handles: I) -> Vec<Result<T, JoinError>>
where
    I: IntoIterator<Item = JoinHandle<T>>,
{
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await);
    }
    results
}
