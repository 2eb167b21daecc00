//! Fork-join: `join(a, b)` runs `a` here while `b` is offered to thieves — on demand.
//!
//! Invariants:
//! - `b` lives on this stack frame, in a `JoinJob` headed by a `JoinFrame`. The frame is first
//!   only linked into this worker's chain of pending frames (newest to oldest); it is
//!   *published* (its latch armed, its job pushed on the worker's deque, where thieves can
//!   steal it) only while some worker is hungry (searching or asleep), oldest frame first, at a
//!   later `join` of this worker or right now. The outermost join of a worker is published at
//!   once (its `a` may never reach another join). Unpublished, `b` is simply run inline after
//!   `a`: no deque traffic, no latch, no fence, no shared cache line written. Published frames
//!   are always the oldest ones of the chain.
//! - A published `b` is not left behind: the frame is not left until `b` is either popped back
//!   (then run inline) or its latch is set by the thief.
//! - `b` always runs, also when `a` panicked (rayon's rule, so `b`'s side effects never depend
//!   on timing): inline if nobody stole it. Its closure is consumed exactly once (run by the
//!   owner or by the thief), and its result slot is written only by an executor and read only after the
//!   latch is set; the job itself has no drop glue, so every path says what it consumes.
//! - While `b` is stolen, this worker executes other jobs (so nested joins never deadlock, even
//!   with one thread) and sleeps only through the sleep protocol, whose re-check reads the latch.
//! - A panic in `a` is re-raised only after `b` finished and can no longer touch the frame;
//!   `a`'s panic wins over `b`'s, whose payload (or value) is dropped without unwinding.

use crate::sched::job::{Job, JobRef, Mode, Outcome};
use crate::sched::latch::{JoinLatch, Latch};
use crate::sched::registry::Registry;
use crate::sched::unwind::{self, AbortOnUnwind, Payload};
use crate::sched::worker::WorkerThread;
use crate::sync::UnsafeCell;
use std::cell::Cell;
use std::mem::{ManuallyDrop, MaybeUninit};

/// The part of a join's stack job that its worker's chain of frames sees: the link to the
/// frame it is nested in, how to execute the whole job, and the latch, which only a published
/// frame has. It heads every `JoinJob` (`repr(C)`, offset 0), so a frame pointer is a job
/// pointer.
#[repr(C)]
struct JoinFrame {
    /// The frame this one is nested in (null: the worker's outermost join). Touched only by
    /// the owner.
    prev: Cell<*const JoinFrame>,
    /// Executes the `JoinJob` this frame heads.
    execute: unsafe fn(*const JoinFrame, Mode, &Registry) -> Outcome,
    /// Initialized by `publish`, before anyone else can see the frame; an atomic flag inside
    /// (the thief sets it while the owner probes it), so it is no loom-tracked cell.
    latch: std::cell::UnsafeCell<MaybeUninit<JoinLatch>>,
}

impl JoinFrame {
    /// Arms the latch for `owner` and returns the job reference to push.
    ///
    /// # Safety
    /// `this` is a live frame of `owner`'s chain, published once, here; the caller pushes the
    /// reference (the push orders the latch's initialization before any thief sees it).
    unsafe fn publish(this: *const JoinFrame, owner: &WorkerThread) -> JobRef {
        // SAFETY: nobody else has seen the frame yet (caller contract); the owner's join reads
        // the latch only once the frame is published.
        unsafe { (*(*this).latch.get()).write(JoinLatch::new(owner)) };
        // SAFETY: the join does not leave its stack frame before the job is popped back or
        // its latch is set (`join_published`).
        unsafe { JobRef::new(this) }
    }

    /// The latch of a published frame.
    #[inline]
    fn latch(&self) -> *const JoinLatch {
        self.latch.get().cast::<JoinLatch>()
    }

    /// Whether the latch of this published frame is set.
    fn probe(&self) -> bool {
        // SAFETY: only called on a published frame, whose latch `publish` initialized.
        unsafe { (*self.latch()).probe() }
    }
}

impl Job for JoinFrame {
    unsafe fn execute(this: *const Self, mode: Mode, registry: &Registry) -> Outcome {
        // SAFETY: forwarded; `execute` was set for the job this frame heads.
        unsafe { ((*this).execute)(this, mode, registry) }
    }
}

/// One worker's chain of pending join frames, kept in its `WorkerThread` and touched only by
/// `join`, on the worker's own thread.
pub(crate) struct FrameChain {
    /// The newest join frame the worker is inside (null: none); each links to the one it is
    /// nested in, so the chain runs from the newest to the oldest.
    head: Cell<*const JoinFrame>,
    /// The newest *published* frame (null: none). Published frames are always the oldest ones
    /// of the chain: this frame and every frame older than it.
    published: Cell<*const JoinFrame>,
}

impl FrameChain {
    pub(crate) const fn new() -> Self {
        FrameChain {
            head: Cell::new(std::ptr::null()),
            published: Cell::new(std::ptr::null()),
        }
    }

    /// Records a join's frame as the newest pending one; returns the frame it is nested in
    /// (null for the worker's outermost join).
    ///
    /// The frame must stay in place until `pop` (it lives in the join's stack frame).
    #[inline(always)]
    fn push(&self, frame: &JoinFrame) -> *const JoinFrame {
        let prev = self.head.get();
        frame.prev.set(prev);
        self.head.set(frame);
        prev
    }

    /// Removes `frame`, the newest; returns whether it had been published.
    #[inline(always)]
    fn pop(&self, frame: &JoinFrame, prev: *const JoinFrame) -> bool {
        debug_assert!(std::ptr::eq(self.head.get(), frame));
        self.head.set(prev);
        if std::ptr::eq(self.published.get(), frame) {
            // Published frames are the oldest: the one it is nested in is published too.
            self.published.set(prev);
            true
        } else {
            false
        }
    }
}

/// If a worker is hungry and `worker` offers nothing to steal, publishes its oldest
/// unpublished join frame (the biggest piece of work it holds).
#[inline(always)]
fn publish_if_hungry(worker: &WorkerThread) {
    if worker.registry.sleep.anyone_hungry() {
        publish_oldest(worker);
    }
}

#[cold]
#[inline(never)]
fn publish_oldest(worker: &WorkerThread) {
    if worker.deque_is_empty() {
        publish_next(worker);
    }
}

/// Publishes `worker`'s oldest unpublished join frame, if any.
#[inline(never)]
fn publish_next(worker: &WorkerThread) {
    let chain = worker.frames();
    let published = chain.published.get();
    let mut frame = chain.head.get();
    let mut oldest_unpublished = std::ptr::null();
    while !frame.is_null() && !std::ptr::eq(frame, published) {
        oldest_unpublished = frame;
        // SAFETY: every frame of the chain belongs to a join this worker is still inside, so
        // it is live; the chain is touched only by this worker's thread.
        frame = unsafe { (*frame).prev.get() };
    }
    if !oldest_unpublished.is_null() {
        chain.published.set(oldest_unpublished);
        // SAFETY: live and unpublished (as above); it is published exactly once, here.
        let job = unsafe { JoinFrame::publish(oldest_unpublished, worker) };
        worker.push(job);
    }
}

/// The `b` half of a join, on the joining worker's stack.
#[repr(C)]
struct JoinJob<F, R> {
    /// First: a `*const JoinFrame` is a `*const JoinJob`.
    frame: JoinFrame,
    /// Consumed exactly once: see the invariants.
    func: UnsafeCell<ManuallyDrop<F>>,
    /// Written by an executor before it sets the latch; uninitialized otherwise.
    result: UnsafeCell<MaybeUninit<Result<R, Payload>>>,
}

impl<F: FnOnce() -> R + Send, R: Send> JoinJob<F, R> {
    #[inline(always)]
    fn new(func: F) -> Self {
        JoinJob {
            frame: JoinFrame {
                prev: Cell::new(std::ptr::null()),
                execute: Self::execute_frame,
                latch: std::cell::UnsafeCell::new(MaybeUninit::uninit()),
            },
            func: UnsafeCell::new(ManuallyDrop::new(func)),
            result: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Runs the closure here.
    ///
    /// # Safety
    /// The job was never executed and never will be: it was not published, or it was popped
    /// back from the owner's own deque. Called at most once, and not together with `discard`.
    #[inline(always)]
    unsafe fn run_inline(&self) -> R {
        let func = self.func.with_mut(|f| {
            // SAFETY: exclusive and unconsumed (caller contract).
            unsafe { ManuallyDrop::take(&mut *f) }
        });
        func()
    }

    /// The result written by the executor.
    ///
    /// # Safety
    /// The latch is set (the executor wrote the slot and will not touch the job again); called
    /// once.
    unsafe fn take_result(&self) -> Result<R, Payload> {
        self.result.with_mut(|r| {
            // SAFETY: initialized before the latch was set, whose SeqCst load ordered it first;
            // read once (caller contract).
            unsafe { (*r).assume_init_read() }
        })
    }

    /// Executes the published job whose frame is `this` (a thief, or the owner helping).
    ///
    /// # Safety
    /// `this` heads a live `JoinJob<F, R>` that was published and is executed once.
    unsafe fn execute_frame(this: *const JoinFrame, _mode: Mode, _registry: &Registry) -> Outcome {
        // A join half is structured work (its owner waits for it): it runs even in
        // `Mode::Cancel`.
        // SAFETY: `this` is the first field of a `repr(C)` `JoinJob<F, R>`, which its owner
        // keeps alive until the latch is set, which happens last.
        let job = unsafe { &*this.cast::<Self>() };
        let func = job.func.with_mut(|f| {
            // SAFETY: a published job is executed once, by one thread, and the owner does not
            // touch the closure unless it pops the job back (then this never runs).
            unsafe { ManuallyDrop::take(&mut *f) }
        });
        let result = unwind::catch(func);
        job.result.with_mut(|r| {
            // SAFETY: exclusive until the latch is set; nobody else writes the slot.
            unsafe { (*r).write(result) };
        });
        // SAFETY: the latch was initialized by `publish`; after `set` returns nothing of the
        // job is touched.
        unsafe { JoinLatch::set(job.frame.latch()) };
        Outcome::Ran
    }
}

/// `join` on a worker of the pool that should run it.
#[inline(always)]
pub(crate) fn join_on_worker<A, B, RA, RB>(worker: &WorkerThread, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let job_b = JoinJob::new(b);
    // The frame stays in place until `chain.pop`, and once published this function does not
    // return before `job_b` is popped back or its latch is set (`join_published`); nothing
    // between here and there can unwind: `a` is caught, and executing a job never unwinds
    // (`unwind`). `join_published` holds an abort guard all the same.
    let chain = worker.frames();
    let prev = chain.push(&job_b.frame);
    if prev.is_null() {
        // The outermost join on this worker is always offered at once: its `a` may run long
        // without ever reaching another join, where a pending frame could be published.
        publish_next(worker);
    } else {
        publish_if_hungry(worker);
    }
    let result_a = unwind::catch(a);
    if chain.pop(&job_b.frame, prev) {
        return join_published(worker, &job_b, result_a);
    }
    // Never published: nobody else can have seen `b`.
    match result_a {
        // SAFETY: unpublished, so never executed; consumed once here.
        Ok(ra) => (ra, unsafe { job_b.run_inline() }),
        // SAFETY: as above.
        Err(payload) => unsafe { b_after_a_panicked(&job_b, payload) },
    }
}

/// `a` panicked and `b` is still ours (never published, or popped back): runs `b` inline,
/// then re-raises `a`'s panic. Out of line, so the hot path of a join stays as small as it was.
///
/// # Safety
/// As for [`JoinJob::run_inline`]: `b` was never executed and never will be by anyone else.
#[cold]
#[inline(never)]
unsafe fn b_after_a_panicked<F: FnOnce() -> R + Send, R: Send>(
    job_b: &JoinJob<F, R>,
    payload: Payload,
) -> ! {
    // SAFETY: forwarded from the caller.
    a_panicked(payload, unwind::catch(|| unsafe { job_b.run_inline() }))
}

/// `join` on a thread with no worker to share with (the pool is shut down): `a`, then `b`, by
/// the same rules.
pub(crate) fn join_here<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA,
    B: FnOnce() -> RB,
{
    match unwind::catch(a) {
        Ok(ra) => (ra, b()),
        Err(payload) => a_panicked(payload, unwind::catch(b)),
    }
}

/// `a` panicked and `b` has finished with `result_b`: drops `b`'s value or payload (a panic
/// from that `Drop` is swallowed, `a`'s panic wins) and re-raises `a`'s panic.
#[cold]
fn a_panicked<RB>(payload: Payload, result_b: Result<RB, Payload>) -> ! {
    match result_b {
        Ok(value) => {
            if let Err(again) = unwind::catch(move || drop(value)) {
                unwind::drop_quietly(again);
            }
        }
        Err(b_payload) => unwind::drop_quietly(b_payload),
    }
    std::panic::resume_unwind(payload)
}

/// The rest of a join whose `b` was published: pop it back, or help until its latch is set.
#[inline(never)]
fn join_published<F, RA, RB>(
    worker: &WorkerThread,
    job_b: &JoinJob<F, RB>,
    result_a: Result<RA, Payload>,
) -> (RA, RB)
where
    F: FnOnce() -> RB + Send,
    RB: Send,
{
    // SAFETY: only compared with popped references, never executed.
    let job_b_ref = unsafe { JobRef::new(&job_b.frame as *const JoinFrame) };
    // The comparison below is a sound identity: `job_b` lives in the caller's frame, which stays
    // on this worker's stack until this function returns, and every popped reference points at
    // a live job (heap jobs are owned by their reference; stack jobs' owners wait for them). Two
    // live jobs never share an address, so only `job_b`'s own reference equals `job_b_ref`.
    // Until `b` is popped back or its latch is set, a thief may write into this frame.
    let shared = AbortOnUnwind::new("a join waiting for its stolen half");
    while !job_b.frame.probe() {
        if let Some(due) = worker.fair_pick_if_due() {
            // The oldest local job may be `b` itself (a thief had not taken it yet): it is
            // executed like any other published half, which sets its latch.
            worker.execute(due);
            continue;
        }
        match worker.pop() {
            Some(job) if job == job_b_ref => {
                shared.disarm();
                // Popped back from our own deque: nobody executed it, nobody else can now.
                return match result_a {
                    // SAFETY: popped back unexecuted; consumed once here.
                    Ok(ra) => (ra, unsafe { job_b.run_inline() }),
                    // SAFETY: as above.
                    Err(payload) => unsafe { b_after_a_panicked(job_b, payload) },
                };
            }
            Some(other) => worker.execute(other),
            None => {
                worker.wait_until(&|| job_b.frame.probe());
                break;
            }
        }
    }
    shared.disarm();
    // SAFETY: the latch is set; the result is read once.
    let result_b = unsafe { job_b.take_result() };
    match (result_a, result_b) {
        (Ok(ra), Ok(rb)) => (ra, rb),
        (Ok(_), Err(payload)) => std::panic::resume_unwind(payload),
        (Err(payload), result_b) => a_panicked(payload, result_b),
    }
}
