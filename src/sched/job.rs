//! Job references: the two-word unit of work that every queue carries.
//!
//! Invariant: a `JobRef` is executed (run or cancelled) exactly once, and the memory it points
//! to stays valid until then: stack jobs because their owner waits on a latch before returning,
//! heap jobs and tasks because the `JobRef` owns one reference to them.

use crate::sched::latch::Latch;
use crate::sched::registry::Registry;
use crate::sched::unwind::{self, Payload};
use crate::sync::UnsafeCell;

/// What the executor asks of a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Run it.
    Run,
    /// Run it on CPU worker `index` of the registry passed along (a task counts its completion
    /// in that worker's metrics without a thread-local lookup).
    RunOn(usize),
    /// The pool is shutting down now: cancel it if it can be cancelled, otherwise run it.
    /// Structured work (join halves, scope spawns, installs) cannot be cancelled: a caller is
    /// waiting for it and may be borrowing from its stack.
    Cancel,
}

/// What happened to a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A structured job (join half, scope spawn, install) or a future's poll ran.
    Ran,
    /// A task with a handle ran to completion.
    Completed,
    /// A task with a handle panicked (the panic went to its handle or the panic handler).
    Panicked,
    /// `Mode::Cancel` cancelled it; its handle reports `Cancelled`.
    Cancelled,
    /// Nothing ran: its handle had already cancelled it.
    Skipped,
    /// Nothing ran and nothing is to be counted (a future already finished or cancelled and
    /// counted at that time).
    Nothing,
}

/// Something a `JobRef` can point at.
pub(crate) trait Job {
    /// # Safety
    /// `this` must point to a live job that has not been executed yet; it is executed once.
    unsafe fn execute(this: *const Self, mode: Mode, registry: &Registry) -> Outcome;
}

/// What executes a job from its type-erased data.
pub(crate) type ExecuteFn = unsafe fn(*const (), Mode, &Registry) -> Outcome;

/// A type-erased pointer to a job plus the function that executes it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct JobRef {
    data: *const (),
    execute_fn: ExecuteFn,
}

impl PartialEq for JobRef {
    /// Two references are the same job when they point at the same job memory.
    ///
    /// Only an identity while both jobs are alive: a queued reference always is (see the module
    /// invariant), but a job that was executed may be freed and its address given to a later
    /// job. So compare a popped reference only with one whose job the caller keeps alive
    /// (`join`'s frame on its stack, `batch`'s rest cell).
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.data, other.data)
    }
}

impl Eq for JobRef {}

// SAFETY: every job type a `JobRef` is built from is `Send` (their constructors require it), and
// the pointer is executed on exactly one thread.
unsafe impl Send for JobRef {}

impl JobRef {
    /// # Safety
    /// `data` must stay valid until the returned `JobRef` is executed, exactly once.
    pub(crate) unsafe fn new<J: Job>(data: *const J) -> JobRef {
        unsafe fn call<J: Job>(data: *const (), mode: Mode, registry: &Registry) -> Outcome {
            // SAFETY: `data` was a `*const J` when this `JobRef` was made, and the caller of
            // `execute` guarantees it is still live and unexecuted.
            unsafe { J::execute(data.cast::<J>(), mode, registry) }
        }
        JobRef {
            data: data.cast(),
            execute_fn: call::<J>,
        }
    }

    /// A reference that executes by calling `execute_fn` with `data`: for a job kind whose
    /// references are told apart by that function ([`data_if_run_by`](Self::data_if_run_by)).
    ///
    /// # Safety
    /// As for [`JobRef::new`]: `execute_fn(data, ..)` must be sound to call once, until then.
    pub(crate) unsafe fn from_parts(data: *const (), execute_fn: ExecuteFn) -> JobRef {
        JobRef { data, execute_fn }
    }

    /// The job's data if it executes through `execute_fn` (a reference made by
    /// [`from_parts`](Self::from_parts) with it). Function addresses are not unique: the same
    /// function may have two (one per codegen unit), so a `None` may be wrong; two functions
    /// share one only if their bodies are identical, so a `Some` is right when `execute_fn`'s
    /// body is unlike any other's.
    #[inline]
    pub(crate) fn data_if_run_by(&self, execute_fn: ExecuteFn) -> Option<*const ()> {
        (self.execute_fn as usize == execute_fn as usize).then_some(self.data)
    }

    /// Executes the job. Never unwinds: every job catches its user code where it runs (see
    /// `unwind`), and this is the boundary behind those, so a payload that escaped one still
    /// reaches the panic handler instead of the executing thread's loop.
    ///
    /// # Safety
    /// Must be called at most once per `JobRef` made by [`JobRef::new`] (copies included).
    #[inline]
    pub(crate) unsafe fn execute(self, mode: Mode, registry: &Registry) -> Outcome {
        // SAFETY: forwarded from the caller.
        match unwind::catch(|| unsafe { (self.execute_fn)(self.data, mode, registry) }) {
            Ok(outcome) => outcome,
            Err(payload) => {
                registry.report_panic("a job", payload);
                Outcome::Ran
            }
        }
    }
}

/// The result slot of a stack job.
pub(crate) enum JobResult<R> {
    Pending,
    Ok(R),
    Panic(Payload),
}

/// A job that lives on its owner's stack (the second half of a `join`, an `install`).
///
/// The owner waits on `latch` before the frame is popped, which keeps the pointer valid.
pub(crate) struct StackJob<L, F, R> {
    pub(crate) latch: L,
    func: UnsafeCell<Option<F>>,
    result: UnsafeCell<JobResult<R>>,
}

impl<L: Latch, F: FnOnce() -> R + Send, R: Send> StackJob<L, F, R> {
    pub(crate) fn new(func: F, latch: L) -> Self {
        StackJob {
            latch,
            func: UnsafeCell::new(Some(func)),
            result: UnsafeCell::new(JobResult::Pending),
        }
    }

    /// A reference queues can carry.
    ///
    /// # Safety
    /// The caller must not let `self` move or drop before the job has executed (its latch is set)
    /// or has been taken back unexecuted (popped from the owner's own deque).
    pub(crate) unsafe fn as_job_ref(&self) -> JobRef {
        // SAFETY: forwarded from the caller.
        unsafe { JobRef::new(self as *const Self) }
    }

    /// Runs the closure on the calling thread; used when the owner pops its own job back.
    pub(crate) fn run_inline(self) -> R {
        let func = self.func.with_mut(|f| {
            // SAFETY: the job was taken back before any other thread could execute it, so the
            // owner has exclusive access to the slot.
            unsafe { (*f).take() }
        });
        func.expect("stack job already executed")()
    }

    /// The result after the latch was set, re-raising the job's panic on this thread.
    pub(crate) fn into_result(self) -> R {
        let result = self.result.with_mut(|r| {
            // SAFETY: the latch is set, so the executing thread has finished writing the slot
            // and will never touch it again; the acquire on the latch orders its writes first.
            unsafe { std::mem::replace(&mut *r, JobResult::Pending) }
        });
        match result {
            JobResult::Ok(value) => value,
            JobResult::Panic(payload) => std::panic::resume_unwind(payload),
            JobResult::Pending => unreachable!("stack job result read before its latch was set"),
        }
    }
}

impl<L: Latch, F: FnOnce() -> R + Send, R: Send> Job for StackJob<L, F, R> {
    unsafe fn execute(this: *const Self, _mode: Mode, _registry: &Registry) -> Outcome {
        // SAFETY: the owner keeps the job alive until its latch is set, which happens last.
        let this = unsafe { &*this };
        let func = this.func.with_mut(|f| {
            // SAFETY: a job is executed once, by one thread; the owner does not touch the slot
            // until the latch is set.
            unsafe { (*f).take() }
        });
        let func = func.expect("stack job executed twice");
        let result = match unwind::catch(func) {
            Ok(value) => JobResult::Ok(value),
            Err(payload) => JobResult::Panic(payload),
        };
        this.result.with_mut(|r| {
            // SAFETY: as above: exclusive until the latch is set.
            unsafe { *r = result }
        });
        // SAFETY: `this.latch` is live; after `set` returns we touch nothing of `this`.
        unsafe { L::set(&this.latch) };
        Outcome::Ran
    }
}

/// A boxed job with no result slot; the closure reports its own completion (scope spawns).
pub(crate) struct HeapJob<F> {
    func: F,
}

impl<F: FnOnce(&Registry) + Send> HeapJob<F> {
    /// Boxes `func` into a job reference that owns it.
    ///
    /// # Safety
    /// Whatever `func` borrows must outlive the job's execution (the scope guarantees it).
    pub(crate) unsafe fn into_job_ref(func: F) -> JobRef {
        let boxed = Box::new(HeapJob { func });
        // SAFETY: the box is leaked here and reclaimed exactly once, in `execute`.
        unsafe { JobRef::new(Box::into_raw(boxed) as *const Self) }
    }
}

impl<F: FnOnce(&Registry) + Send> Job for HeapJob<F> {
    unsafe fn execute(this: *const Self, _mode: Mode, registry: &Registry) -> Outcome {
        // SAFETY: `this` came from `Box::into_raw` in `into_job_ref` and is executed once.
        let job = unsafe { Box::from_raw(this as *mut Self) };
        (job.func)(registry);
        Outcome::Ran
    }
}
