//! Internals exposed to the loom models in `loom-tests/`; compiled only under
//! `--cfg corepool_loom`, hidden from the docs, not part of the public API.
//!
//! Invariant: these are thin wrappers; the models exercise the very code the pool runs.
//! Nothing here adds synchronization of its own: every wrapper forwards to the pool's type.
//! The model hooks at the end (`expire_io_keep_alive`, `injection_slots_in_use`) reach a
//! pool through `Pool::registry`; the first drives a timeout loom cannot produce itself, as
//! `Sleep::expire` does for a worker's timed sleep. `push_heap_job_here` puts a heap job on the
//! calling worker's deque, as an injected batch does, without the outside submitter a model
//! would need to get it there.

use crate::sched::injection::PushError;
use crate::sched::job::{Job, JobRef, Mode, Outcome};
use crate::sched::registry::Registry;
use crate::sync::Worker;
use std::time::Instant;

/// The pool's sleep/wake protocol (`sched/sleep`), for `workers` workers.
pub struct Sleep(crate::sched::sleep::Sleep);

impl Sleep {
    /// Sleep state for `workers` workers, none searching, none asleep.
    pub fn new(workers: usize) -> Self {
        Sleep(crate::sched::sleep::Sleep::new(workers))
    }

    /// A worker starts searching for work.
    pub fn start_searching(&self) {
        self.0.start_searching();
    }

    /// A searching worker stops searching (the last one wakes a sleeper if `has_work` holds).
    pub fn stop_searching(&self, has_work: impl Fn() -> bool) {
        self.0.stop_searching(has_work);
    }

    /// Parks worker `index` unless `should_wake` holds once it is registered as sleeping.
    /// The caller must be searching, and still is when this returns.
    pub fn sleep(&self, index: usize, should_wake: impl Fn() -> bool) {
        self.0.sleep(index, should_wake, || None, || {});
    }

    /// [`sleep`](Self::sleep) with a wake-up set (a peer's inbox opens then): the sleep also
    /// ends when the deadline passes, which under loom happens only through
    /// [`expire`](Self::expire).
    pub fn sleep_timed(&self, index: usize, should_wake: impl Fn() -> bool) {
        self.0
            .sleep(index, should_wake, || Some(Instant::now()), || {});
    }

    /// [`sleep`](Self::sleep) for a worker that watches the peers' LIFO slots: its wake-up is
    /// set (a timed sleep, ended by [`expire`](Self::expire)) if `watch` says a slot is full
    /// once it is registered as sleeping, as a worker's does (`WorkerThread::idle`).
    pub fn sleep_watching(
        &self,
        index: usize,
        should_wake: impl Fn() -> bool,
        watch: impl Fn() -> bool,
    ) {
        self.0
            .sleep(index, should_wake, || watch().then(Instant::now), || {});
    }

    /// A searcher leaves to run a job: passes the watch on if `any_full` (a peer's slot).
    pub fn pass_watch(&self, any_full: impl Fn() -> bool) {
        self.0.pass_watch(any_full);
    }

    /// A worker filled its LIFO slot: wakes a sleeper if nobody searches or watches.
    pub fn notify_slot_filled(&self) {
        self.0.notify_slot_filled();
    }

    /// Model hook: worker `index`'s timed sleep reaches its deadline now (or its next one, if
    /// it is not waiting).
    pub fn expire(&self, index: usize) {
        self.0.expire(index);
    }

    /// Workers counted as sleeping.
    pub fn sleepers(&self) -> usize {
        self.0.sleepers()
    }

    /// New work was made visible: wakes one sleeper if nobody is searching.
    pub fn notify_new_work(&self) {
        self.0.notify_new_work();
    }

    /// New work was made visible by a read-modify-write on a word every worker's final
    /// re-check also reads with a read-modify-write: wakes one sleeper if nobody is searching,
    /// without a fence (the spawn fast path).
    pub fn notify_published_by_rmw(&self) {
        self.0.notify_published_by_rmw();
    }

    /// Worker `index`'s wake condition was just made true: wakes it if it sleeps.
    pub fn wake_worker(&self, index: usize) {
        self.0.wake_worker(index);
    }

    /// Wakes every sleeper (shutdown).
    pub fn wake_all(&self) {
        self.0.wake_all();
    }
}

/// A set of distinct test jobs that queues can carry. A test job is never executed: a model
/// identifies the jobs it takes back with [`TestJobs::id`] and counts them itself.
pub struct TestJobs {
    slots: Box<[TestJob]>,
}

/// The memory one test job reference points at (not zero-sized, so every slot has its own
/// address and thus its own identity).
struct TestJob {
    _id: usize,
}

impl Job for TestJob {
    unsafe fn execute(_this: *const Self, _mode: Mode, _registry: &Registry) -> Outcome {
        unreachable!("loom_api test jobs are identified by the model, never executed")
    }
}

/// A job reference made by [`TestJobs`]; `Send`, like the pool's job references.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestJobRef(JobRef);

impl TestJobs {
    /// `count` distinct jobs, with ids `0..count`.
    pub fn new(count: usize) -> Self {
        TestJobs {
            slots: (0..count).map(|id| TestJob { _id: id }).collect(),
        }
    }

    /// The reference to job `id`. The models keep `self` alive while any reference is queued.
    pub fn job(&self, id: usize) -> TestJobRef {
        // SAFETY: a test job is never executed (its `execute` is unreachable), so the pointer is
        // only compared, never dereferenced.
        TestJobRef(unsafe { JobRef::new(&self.slots[id] as *const TestJob) })
    }

    /// The id of `job`. Panics if it is not one of these jobs.
    pub fn id(&self, job: TestJobRef) -> usize {
        (0..self.slots.len())
            .find(|&id| self.job(id) == job)
            .expect("not a job of this TestJobs")
    }
}

/// A worker's LIFO slot (`sched/lifo.rs`).
pub struct LifoSlot(crate::sched::lifo::LifoSlot);

impl LifoSlot {
    /// An empty slot.
    pub fn new() -> Self {
        LifoSlot(crate::sched::lifo::LifoSlot::new())
    }

    /// Owner only: puts `job` in the emptied slot.
    pub fn fill(&self, job: TestJobRef) {
        self.0.fill(job.0);
    }

    /// Owner only: takes the job back unless a peer stole it.
    pub fn take_own(&self) -> Option<TestJobRef> {
        self.0.take_own().map(TestJobRef)
    }

    /// A peer: takes the job if there is one.
    pub fn steal(&self) -> Option<TestJobRef> {
        self.0.steal().map(TestJobRef)
    }

    /// Whether the slot holds a job.
    pub fn is_full(&self) -> bool {
        self.0.is_full()
    }
}

impl Default for LifoSlot {
    fn default() -> Self {
        LifoSlot::new()
    }
}

/// The shared stack of recycled task blocks (`task/recycle.rs`), over blocks the model makes.
pub struct RecycleStack(crate::task::recycle::SharedStack);

/// A block for [`RecycleStack`]: an allocation of the recycled blocks' layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block(usize);

impl Block {
    /// A new block. The model owns it until it pushes it; [`RecycleStack::free`] frees it.
    pub fn new() -> Block {
        // SAFETY: the layout has a non-zero size.
        let block = unsafe { std::alloc::alloc(crate::task::recycle::BLOCK) };
        assert!(!block.is_null());
        Block(block as usize)
    }
}

impl RecycleStack {
    /// An empty stack.
    pub fn new() -> Self {
        RecycleStack(crate::task::recycle::SharedStack::new())
    }

    /// Links `blocks` (owned by the caller, at least one) into a list and pushes it whole.
    pub fn push(&self, blocks: &[Block]) {
        use crate::task::recycle::Free;
        let mut head = std::ptr::null_mut();
        for block in blocks.iter().rev() {
            // SAFETY: the model's own block, given up here.
            head = unsafe { Free::init(block.0 as *mut u8, head) };
        }
        let tail = blocks.last().expect("a list of at least one block").0 as *mut Free;
        // SAFETY: `head..=tail` is the list just built, which the caller gave up.
        unsafe { self.0.push_list(head, tail) };
    }

    /// Takes every block on the stack, in list order, following the links.
    pub fn take_all(&self) -> Vec<Block> {
        use crate::task::recycle::Free;
        let mut out = Vec::new();
        let mut node = self.0.take_all();
        while !node.is_null() {
            out.push(Block(node as usize));
            // SAFETY: the list is ours since the swap.
            node = unsafe { Free::next(node) };
        }
        out
    }

    /// Frees a block taken back from the stack.
    pub fn free(block: Block) {
        // SAFETY: an allocation of the blocks' layout, which the caller owns.
        unsafe { std::alloc::dealloc(block.0 as *mut u8, crate::task::recycle::BLOCK) };
    }
}

impl Default for RecycleStack {
    fn default() -> Self {
        RecycleStack::new()
    }
}

/// Why the injection queue refused a job; the job is handed back.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// No free slot.
    Full(TestJobRef),
    /// The queue is closed.
    Closed(TestJobRef),
}

impl From<PushError> for Refused {
    fn from(error: PushError) -> Self {
        match error {
            PushError::Full(job) => Refused::Full(TestJobRef(job)),
            PushError::Closed(job) => Refused::Closed(TestJobRef(job)),
        }
    }
}

/// A worker's own deque (the loom stand-in), the destination of an injection-queue batch.
pub struct LocalDeque(Worker<JobRef>);

impl LocalDeque {
    /// An empty deque.
    pub fn new() -> Self {
        LocalDeque(Worker::new_lifo())
    }

    /// Pops the newest job.
    pub fn pop(&self) -> Option<TestJobRef> {
        self.0.pop().map(TestJobRef)
    }
}

impl Default for LocalDeque {
    fn default() -> Self {
        LocalDeque::new()
    }
}

/// The pool's bounded injection queue (`sched/injection`).
pub struct InjectionQueue(crate::sched::injection::InjectionQueue);

impl InjectionQueue {
    /// An empty queue of `capacity` slots.
    pub fn new(capacity: usize) -> Self {
        InjectionQueue(crate::sched::injection::InjectionQueue::new(capacity))
    }

    /// Pushes without blocking.
    pub fn try_push(&self, job: TestJobRef) -> Result<(), Refused> {
        self.0.try_push(job.0).map_err(Refused::from)
    }

    /// Pushes, waiting for room until `deadline` (forever if `None`). Under loom a timed wait
    /// never times out, so a deadline only changes which branch of the code is taken.
    pub fn push_blocking(&self, job: TestJobRef, deadline: Option<Instant>) -> Result<(), Refused> {
        self.0.push_blocking(job.0, deadline).map_err(Refused::from)
    }

    /// Takes up to `max` jobs: the first is returned, the rest go to `local`.
    pub fn take_batch(&self, local: &LocalDeque, max: usize) -> Option<TestJobRef> {
        self.0.take_batch(&local.0, max).map(TestJobRef)
    }

    /// Refuses every later reservation and releases every blocked submitter.
    pub fn close(&self) {
        self.0.close();
    }

    /// Whether `close` was called.
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }

    /// Reserved slots: jobs queued or about to be.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no slot is reserved.
    pub fn is_empty(&self) -> bool {
        self.0.len() == 0
    }

    /// The capacity.
    pub fn capacity(&self) -> usize {
        self.0.capacity()
    }
}

/// Model hook: the keep-alive of one idle blocking-I/O thread of `pool` runs out now (of the
/// next thread to wait, if none is waiting). loom never times a condvar wait out by itself, so
/// this is how a model reaches the retirement branch of the I/O threads' wait; it adds no
/// synchronization beyond the pool's own lock, which the expiry takes like a notification.
pub fn expire_io_keep_alive(pool: &crate::Pool) {
    pool.registry().blocking.expire_keep_alive();
}

/// Tasks of `pool` cancelled through their handle, as its metrics count them: `(cpu, io)`.
/// (The metrics are compiled out under loom except for these two counts, which a model checks
/// for being counted before `cancel()` returns.)
pub fn cancelled_by_handle(pool: &crate::Pool) -> (u64, u64) {
    let shared = &pool.registry().stats.shared;
    (shared.outside_cancelled.get(), shared.io_cancelled.get())
}

/// Slots of `pool`'s (normal-lane) injection queue in use: queued jobs, reserved submissions
/// and outstanding permits. Zero means every slot was given back.
pub fn injection_slots_in_use(pool: &crate::Pool) -> usize {
    pool.registry().injected.slots_in_use()
}

/// Model hook: pushes a heap job (the kind a scope spawn makes) that runs `f` onto the calling
/// worker's own deque, where a worker's `take_batch` leaves the jobs it moved from an injection
/// queue beyond the first. The job is allocated here, so it may get the address of a job freed
/// just before. `f` must not panic. Panics if the caller is not a worker.
pub fn push_heap_job_here(f: impl FnOnce() + Send + 'static) {
    let worker =
        crate::sched::worker::WorkerThread::current().expect("push_heap_job_here off a worker");
    // SAFETY: `f` is `'static`: it borrows nothing the job could outlive.
    let job = unsafe { crate::sched::job::HeapJob::into_job_ref(move |_: &Registry| f()) };
    worker.push(job);
}
