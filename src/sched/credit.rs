//! Worker-local credit for counted children (a scope's): a worker that finishes a child keeps
//! the child's decrement of its parent's count in a per-thread cache instead of writing the
//! count's cache line, and a spawn into the same parent from that worker spends a kept
//! decrement instead of an increment. A stream of children on one worker then costs the
//! parent's count one write per visit, not one per child (issue #20: at 64–256 cores a count
//! that every worker writes once per child moves between all of them).
//!
//! Invariants:
//! - The parent's count only ever over-states: a kept credit is a decrement not yet applied.
//!   So the count cannot reach zero while a child is pending or a credit is kept, and the
//!   parent (which its waiter may free the moment the count reads zero) is alive while any
//!   thread keeps credit for it.
//! - A thread keeps credit for one parent at most. It folds it (one `fetch_sub` of the whole
//!   credit, through the parent's fold function, which wakes the parent's waiter on zero)
//!   before it keeps credit for another parent, before it executes any job that is not a
//!   child of that parent (`before_job`, at every depth), when it goes idle, and when it
//!   leaves its main loop (`fold`). The cache is emptied before the fold, and nothing of the
//!   parent is touched after it.
//! - A finishing child keeps its decrement only where its thread goes on to one of those folds
//!   before anything else can run: the worker's main loop (the child ran at depth 1 there), or
//!   the parent's own waiter (the parent checks its waiter's credit in its wait check, so the
//!   waiter may keep credit at any depth: it returns to that check, and the parent cannot end
//!   before it does anyway). Anywhere else (a child run inside another job's wait, or by
//!   caller-runs) its thread returns into the enclosing job's code, which may block: the child
//!   folds at once, together with any credit kept for the same parent.
//! - Where a worker stops running a parent's children, and what folds there: it takes another
//!   job (`before_job`, in `execute`, also for nested and handed jobs), finds none and idles
//!   (`fold` at the start of `idle`, the main loop's and every wait's), leaves its main loop
//!   (`fold` in `exit_main_loop`), finishes a child of another parent (`child_done` folds the
//!   old credit first), or returns from a nested child into the enclosing job (that child did
//!   not keep). Nothing needs to fold where a worker blocks or yields *inside* a child of the
//!   parent (user code, `help_once`): the parent waits for that child anyway, so the credit
//!   it keeps delays nothing. The same holds for the parent's owner anywhere inside its
//!   scope, which is why the owner keeps credit at any depth.
//! - Only a CPU worker of the parent's pool keeps credit (the child ran with `Mode::RunOn`):
//!   the fold wakes the waiter through that pool, which the folding worker belongs to.

use crate::sched::job::{JobRef, Mode, Outcome};
use crate::sched::registry::Registry;
use crate::sched::worker::WorkerThread;
use std::cell::Cell;

/// Applies `n` decrements to the count of `target` (a parent), waking its waiter if the count
/// reaches zero.
///
/// # Safety
/// `target` must be live on entry; it may be freed as soon as the count reaches zero.
pub(crate) type FoldFn = unsafe fn(target: *const (), n: usize, registry: &Registry);

/// Declares this module's thread-locals: `const`-initialised outside loom (a plain load from
/// the thread's block), loom's own under it (each modelled thread gets its own).
macro_rules! locals {
    ($($(#[$doc:meta])* $name:ident: $ty:ty = $init:expr;)*) => {
        #[cfg(not(corepool_loom))]
        crate::sync::thread_local! {
            $($(#[$doc])* static $name: Cell<$ty> = const { Cell::new($init) };)*
        }
        #[cfg(corepool_loom)]
        crate::sync::thread_local! {
            $($(#[$doc])* static $name: Cell<$ty> = Cell::new($init);)*
        }
    };
}

locals! {
    /// Decrements kept (for `TARGET`).
    COUNT: usize = 0;
    /// The parent whose decrements are kept (stale while `COUNT` is 0).
    TARGET: *const () = std::ptr::null();
    /// `TARGET`'s fold function (stale while `COUNT` is 0).
    FOLD: Option<FoldFn> = None;
    /// The thread is a worker in its main loop (not in a start hook): a job it executes at
    /// depth 1 is followed by the main loop's next step, which folds.
    MAIN: bool = false;
}

/// The start of a counted job: its parent, and its code (which gets the executing mode and
/// whether the child may keep its decrement).
#[repr(C)]
struct Header {
    target: *const (),
    run: unsafe fn(*const Header, Mode, bool, &Registry),
}

/// A counted child: the header first (`repr(C)`), so a pointer to the job is one to its header.
#[repr(C)]
struct Counted<F> {
    header: Header,
    body: F,
}

/// Boxes `body`, a child of `target`, into a job reference that owns it. `body` gets the
/// executing registry and mode, and whether it may keep its decrement here (see the module
/// invariants; the caller adds its own waiter rule).
///
/// # Safety
/// Whatever `body` borrows, and `target`, must outlive the job's execution.
pub(crate) unsafe fn counted_job<F>(target: *const (), body: F) -> JobRef
where
    F: FnOnce(&Registry, Mode, bool) + Send,
{
    let boxed = Box::new(Counted {
        header: Header {
            target,
            run: run_counted::<F>,
        },
        body,
    });
    // SAFETY: the box is leaked here and reclaimed exactly once, in `run_counted`, called
    // only by `execute_counted`.
    unsafe { JobRef::from_parts(Box::into_raw(boxed) as *const (), execute_counted) }
}

/// # Safety
/// `header` must come from `counted_job::<F>`'s box, not executed before.
unsafe fn run_counted<F>(header: *const Header, mode: Mode, keep: bool, registry: &Registry)
where
    F: FnOnce(&Registry, Mode, bool) + Send,
{
    // SAFETY: the header is the first field of the `repr(C)` box, reclaimed once here.
    let job = unsafe { Box::from_raw(header as *mut Counted<F>) };
    (job.body)(registry, mode, keep);
}

/// What every counted job's reference executes through, so `before_job` can tell counted jobs
/// from all others. Its body reads this module's thread-local, which no other function does:
/// no other function can share its address (see `JobRef::data_if_run_by`).
unsafe fn execute_counted(data: *const (), mode: Mode, registry: &Registry) -> Outcome {
    let header = data.cast::<Header>();
    // Executed by a worker of the parent's pool (`RunOn`) from its main loop (depth 1).
    let keep = matches!(mode, Mode::RunOn(_))
        && MAIN.with(Cell::get)
        && WorkerThread::current().is_some_and(|w| w.executing.get() == 1);
    // SAFETY: `data` is a counted job's header, live and unexecuted (the caller's guarantee).
    unsafe { ((*header).run)(header, mode, keep, registry) };
    Outcome::Ran
}

/// Hook: the worker enters its main loop (its start hook, user code, is behind it: from now on
/// a job it executes at depth 1 returns to the main loop).
pub(crate) fn in_main_loop() {
    MAIN.with(|m| m.set(true));
}

/// Hook: the worker of `registry` is about to execute `job`. Folds the kept credit unless
/// `job` is a child of the same parent.
#[inline]
pub(crate) fn before_job(job: &JobRef, registry: &Registry) {
    if COUNT.with(Cell::get) == 0 {
        return;
    }
    if let Some(data) = job.data_if_run_by(execute_counted) {
        // SAFETY: a counted job's data is its header; the job is live and unexecuted.
        if unsafe { (*data.cast::<Header>()).target } == TARGET.with(Cell::get) {
            return;
        }
    }
    fold(registry);
}

/// Hook, and the fold itself: applies this thread's kept credit to its parent (which wakes
/// the parent's waiter if that brings its count to zero); `registry` is the calling worker's.
#[inline]
pub(crate) fn fold(registry: &Registry) {
    let count = COUNT.with(|c| c.replace(0));
    if count != 0 {
        fold_now(count, registry);
    }
}

#[cold]
fn fold_now(count: usize, registry: &Registry) {
    let fold = FOLD.with(Cell::get).expect("kept credit has its fold");
    // SAFETY: the parent is alive while credit for it is kept (the module invariants; `COUNT`
    // is already 0), and this is this thread's last use of it.
    unsafe { fold(TARGET.with(Cell::get), count, registry) };
}

/// A child of `target` finished on this thread. With `keep`, its decrement is kept (after
/// folding credit kept for another parent); without, it is applied now, with any credit kept
/// for `target`.
///
/// # Safety
/// `target` must be live, and `fold` its fold function.
#[inline]
pub(crate) unsafe fn child_done(target: *const (), fold: FoldFn, keep: bool, registry: &Registry) {
    let count = COUNT.with(Cell::get);
    let same = TARGET.with(Cell::get) == target;
    if keep {
        if same {
            // `TARGET` may be left from credit already spent or folded (`COUNT` 0): it is
            // this parent's again, with this fold.
            FOLD.with(|f| f.set(Some(fold)));
            COUNT.with(|c| c.set(count + 1));
        } else {
            // SAFETY: the caller's guarantee.
            unsafe { keep_first(target, fold, registry) };
        }
        return;
    }
    let mut n = 1;
    if count != 0 && same {
        n += count;
        COUNT.with(|c| c.set(0));
    }
    // SAFETY: the caller's guarantee; nothing of `target` is used after.
    unsafe { fold(target, n, registry) };
}

/// The first kept decrement for `target` after another parent's: folds what is kept for that
/// one first.
///
/// # Safety
/// As for [`child_done`].
#[cold]
unsafe fn keep_first(target: *const (), fold: FoldFn, registry: &Registry) {
    self::fold(registry);
    TARGET.with(|t| t.set(target));
    FOLD.with(|f| f.set(Some(fold)));
    COUNT.with(|c| c.set(1));
}

/// Spends one decrement kept for `target` on a new child of it (instead of an increment):
/// whether there was one.
#[inline]
pub(crate) fn take_one(target: *const ()) -> bool {
    let count = COUNT.with(Cell::get);
    if count == 0 || TARGET.with(Cell::get) != target {
        return false;
    }
    COUNT.with(|c| c.set(count - 1));
    true
}

/// How many decrements this thread keeps for `target`.
#[inline]
pub(crate) fn kept_for(target: *const ()) -> usize {
    if TARGET.with(Cell::get) == target {
        COUNT.with(Cell::get)
    } else {
        0
    }
}

/// Takes the decrements this thread keeps for `target` back, for the caller to apply.
pub(crate) fn take_all(target: *const ()) -> usize {
    let count = kept_for(target);
    if count != 0 {
        COUNT.with(|c| c.set(0));
    }
    count
}
