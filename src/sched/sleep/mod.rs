//! Sleep/wake: how idle workers park and how new work or a set latch wakes them.
//!
//! Invariant (no lost wake-up): a worker going to sleep first marks itself sleeping and bumps
//! `sleepers` (SeqCst), then issues a SeqCst fence and re-checks for work and for its wake
//! condition. A publisher makes its work visible, issues a SeqCst fence, then reads `sleepers`.
//! By the fence-fence rule one of the two sees the other: either the worker finds the work, or
//! the publisher sees a sleeper and wakes it. Only the waker clears a worker's `sleeping` flag
//! (under that worker's lock) and decrements `sleepers`, so two publishers never both count on
//! the same sleeper.
//!
//! A timed sleep (a peer's inbox opens at a known moment) ends through the same door: when its
//! deadline passes, the sleeper takes its own lock and, if it is still marked sleeping, clears
//! the flag and decrements `sleepers` itself, exactly as a waker would. A waker that comes
//! second finds the flag clear and wakes someone else; a publisher that counted on this sleeper
//! lost nothing, because the sleeper is now searching again and re-checks before it sleeps
//! (the spurious-wake-up case).
//!
//! A filled LIFO slot (`lifo.rs`) is not work a peer may take at once, but an idle peer must
//! watch it. A sleeper with a wake-up set counts in `watching` from before it parks until it
//! runs again; `notify_slot_filled` wakes a sleeper only when nobody searches or watches. The
//! sleeper reads the slots (its deadline) after its fence, and the filler reads `watching` and
//! `sleepers` after its own, so by the fence-fence rule a sleeper that missed the fill is not
//! yet counted as watching, and is woken. A searcher or watcher the filler counted on may then
//! leave to run other work instead of sleeping: it passes the watch on (`pass_watch`, after
//! its last decrement and a fence), so the fill is seen by someone who will watch it.
//!
//! The fence-free publication (`notify_published_by_rmw`, the spawn fast path): a publisher
//! whose work became visible through a read-modify-write on a word `W` that every worker's
//! re-check (in `sleep` and in the last searcher's `stop_searching`) also reads with a
//! read-modify-write may skip the fence. The two RMWs on `W` are totally ordered: if the
//! publisher's comes first, the re-check reads its value and finds the work; if the re-check's
//! comes first, it is a release that the publisher's acquire RMW reads from (every write to `W`
//! is an RMW, so the release sequence is unbroken), so the worker's `sleepers` bump and
//! `searching` drop happen before the publisher reads them. `W` is the normal injection queue's
//! state word (`Registry::has_work_for` reads it with `InjectionQueue::len_synced`).

use crate::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use crate::sync::{CachePadded, Condvar, Mutex};
use std::time::Instant;

/// One worker's bed.
struct Slot {
    sleeping: AtomicBool,
    lock: Mutex<()>,
    cond: Condvar,
}

/// The sleep state of one pool.
pub(crate) struct Sleep {
    sleepers: AtomicUsize,
    /// Workers currently searching for work (awake but idle). A publisher does not wake a
    /// sleeper while someone is searching: the searcher will find the work, or re-check it
    /// before it sleeps.
    searching: AtomicUsize,
    /// Sleepers with a wake-up set (a timed sleep): each will look at the peers' LIFO slots
    /// again by then, so a filled slot needs no wake-up while one exists (`lifo.rs`).
    watching: AtomicUsize,
    slots: Box<[CachePadded<Slot>]>,
}

impl Sleep {
    /// The sleep state of `workers` awake workers (the protocol models start from it).
    #[cfg(corepool_loom)]
    pub(crate) fn new(workers: usize) -> Self {
        Self::with_state(workers, false)
    }

    /// The sleep state of a new pool: every worker is born asleep, as if it had gone through
    /// [`sleep`](Self::sleep) and parked (see [`wait_born`](Self::wait_born)). A new worker has
    /// no work of its own, so searching would only repeat what a publisher's wake-up does.
    pub(crate) fn new_asleep(workers: usize) -> Self {
        Self::with_state(workers, true)
    }

    fn with_state(workers: usize, asleep: bool) -> Self {
        Sleep {
            sleepers: AtomicUsize::new(if asleep { workers } else { 0 }),
            searching: AtomicUsize::new(0),
            watching: AtomicUsize::new(0),
            slots: (0..workers)
                .map(|_| {
                    // Each slot on its own cache line: a wake-up of one worker does not disturb
                    // another.
                    CachePadded::new(Slot {
                        sleeping: AtomicBool::new(asleep),
                        lock: Mutex::new(()),
                        cond: Condvar::new(),
                    })
                })
                .collect(),
        }
    }

    /// Whether some worker is searching or asleep, i.e. would take published work. Two relaxed
    /// loads of lines that change only on idle transitions: cheap enough for every `join`.
    #[inline]
    pub(crate) fn anyone_hungry(&self) -> bool {
        (self.searching.load(Ordering::Relaxed) | self.sleepers.load(Ordering::Relaxed)) != 0
    }

    /// A worker starts searching for work; returns how many others were searching already.
    pub(crate) fn start_searching(&self) -> usize {
        self.searching.fetch_add(1, Ordering::SeqCst)
    }

    /// A searching worker stops searching (it found work, or its wait is over). If it was the
    /// last searcher and `has_work` holds, it wakes one sleeper: publishers skipped waking anyone
    /// while it searched, and work may be waiting that it will not take (tokio's "last searcher
    /// wakes one" rule). A publisher that skipped read `searching` before this decrement, so by
    /// the fence-fence rule `has_work` (after the fence) sees its work, unless a worker already
    /// took it. The caller takes the job it will run *before* calling this, so the job it took
    /// does not count as waiting work: otherwise every wake-up would wake a second worker for
    /// nothing.
    ///
    /// Without visible work it wakes nobody: otherwise two idle workers wake each other forever
    /// (a worker woken with nothing to do stops searching as the last searcher, wakes the other
    /// sleeper, goes back to sleep, and is woken by that one in turn).
    pub(crate) fn stop_searching(&self, has_work: impl Fn() -> bool) {
        if self.searching.fetch_sub(1, Ordering::SeqCst) == 1 {
            fence(Ordering::SeqCst);
            if has_work() {
                self.notify_new_work();
            }
        }
    }

    /// Parks worker `index` unless `should_wake` already holds once the worker is registered as
    /// sleeping. Returns when woken (spuriously included), or once the instant `deadline`
    /// returns has passed (asked once, after `should_wake` said no; `None`: no wake-up set);
    /// the caller re-checks everything. `parked` is called once, just before the worker
    /// actually parks (so a worker's park count includes a park in progress).
    ///
    /// The caller must be searching (`start_searching`); it stays counted as searching when
    /// this returns. Returns whether it actually slept.
    pub(crate) fn sleep(
        &self,
        index: usize,
        should_wake: impl Fn() -> bool,
        deadline: impl FnOnce() -> Option<Instant>,
        parked: impl FnOnce(),
    ) -> bool {
        let slot = &*self.slots[index];
        let mut guard = slot.lock.lock();
        slot.sleeping.store(true, Ordering::SeqCst);
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        self.searching.fetch_sub(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let slept = if should_wake() {
            slot.sleeping.store(false, Ordering::SeqCst);
            self.sleepers.fetch_sub(1, Ordering::SeqCst);
            false
        } else {
            let deadline = deadline();
            if deadline.is_some() {
                self.watching.fetch_add(1, Ordering::SeqCst);
            }
            parked();
            while slot.sleeping.load(Ordering::SeqCst) {
                let Some(deadline) = deadline else {
                    slot.cond.wait(&mut guard);
                    continue;
                };
                if slot.cond.wait_until(&mut guard, deadline)
                    && slot.sleeping.load(Ordering::SeqCst)
                {
                    // Timed out, and no waker came first: wake ourselves as a waker would
                    // (module invariant), under the lock a waker takes.
                    slot.sleeping.store(false, Ordering::SeqCst);
                    self.sleepers.fetch_sub(1, Ordering::SeqCst);
                }
            }
            if deadline.is_some() {
                self.watching.fetch_sub(1, Ordering::SeqCst);
            }
            true
        };
        self.searching.fetch_add(1, Ordering::SeqCst);
        slept
    }

    /// The first wait of worker `index` of a pool built with [`new_asleep`](Self::new_asleep):
    /// it is counted as sleeping from before its thread started, so it only waits until a
    /// waker (a publisher, a latch, the shutdown) clears its flag, which may have happened
    /// already. Returns, like [`sleep`](Self::sleep), with the worker counted as searching
    /// (the caller re-checks everything); `parked` is called if it actually waits. Returns
    /// whether it waited.
    pub(crate) fn wait_born(&self, index: usize, parked: impl FnOnce()) -> bool {
        let slot = &*self.slots[index];
        let mut guard = slot.lock.lock();
        let slept = slot.sleeping.load(Ordering::SeqCst);
        if slept {
            parked();
            while slot.sleeping.load(Ordering::SeqCst) {
                slot.cond.wait(&mut guard);
            }
        }
        drop(guard);
        self.searching.fetch_add(1, Ordering::SeqCst);
        slept
    }

    /// Worker `index` of a pool built with [`new_asleep`](Self::new_asleep) will never start
    /// (its thread could not be spawned): it stops counting as a sleeper, so no publisher
    /// counts on waking it.
    pub(crate) fn forget_unborn(&self, index: usize) {
        let slot = &*self.slots[index];
        let _guard = slot.lock.lock();
        if slot.sleeping.load(Ordering::SeqCst) {
            slot.sleeping.store(false, Ordering::SeqCst);
            self.sleepers.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Called after new work was made visible: wakes one sleeper if nobody is searching.
    #[inline]
    pub(crate) fn notify_new_work(&self) {
        fence(Ordering::SeqCst);
        if self.sleepers.load(Ordering::SeqCst) == 0 || self.searching.load(Ordering::SeqCst) > 0 {
            return;
        }
        self.wake_any();
    }

    /// Called after a worker filled its LIFO slot (`lifo.rs`): the job is not work a peer may
    /// take at once, but some idle peer must watch it, so this wakes one sleeper only if
    /// nobody is searching and no sleeper has a wake-up set. A searcher about to sleep, or a
    /// timed sleeper waking, looks at the slots and sets its wake-up by them: by the fence-fence
    /// rule of the module invariant, a sleeper whose deadline missed this fill is seen here as
    /// a sleeper that is not watching, and is woken.
    #[inline]
    pub(crate) fn notify_slot_filled(&self) {
        fence(Ordering::SeqCst);
        if self.sleepers.load(Ordering::SeqCst) == 0
            || self.searching.load(Ordering::SeqCst) > 0
            || self.watching.load(Ordering::SeqCst) > 0
        {
            return;
        }
        self.wake_any();
    }

    /// A worker that was searching (or watching) stops, to run a job: if `any_full` says a
    /// peer's LIFO slot is full, that slot may have counted on this worker to watch it (a
    /// filler skips the wake-up while anyone searches or watches), so the watch is passed on,
    /// as a fill would (`lifo.rs`). Call after `stop_searching` (and after a timed sleep's
    /// `watching` decrement): the fence here pairs with the filler's, so a filler that saw this
    /// worker searching or watching has its fill seen by `any_full`.
    #[inline]
    pub(crate) fn pass_watch(&self, any_full: impl Fn() -> bool) {
        fence(Ordering::SeqCst);
        if any_full() {
            self.notify_slot_filled();
        }
    }

    /// Called after new work was made visible by a read-modify-write on a word that every
    /// worker's final re-check also reads with a read-modify-write (see the module invariant):
    /// wakes one sleeper if nobody is searching, without the fence of
    /// [`notify_new_work`](Self::notify_new_work). Two loads of a line that changes only on
    /// idle transitions.
    #[inline]
    pub(crate) fn notify_published_by_rmw(&self) {
        if self.sleepers.load(Ordering::SeqCst) == 0 || self.searching.load(Ordering::SeqCst) > 0 {
            return;
        }
        self.wake_any();
    }

    #[cold]
    fn wake_any(&self) {
        for index in 0..self.slots.len() {
            if self.try_wake(index) {
                return;
            }
        }
    }

    /// Wakes worker `index` if it sleeps. The caller has just made the worker's wake condition
    /// true with a SeqCst store.
    pub(crate) fn wake_worker(&self, index: usize) {
        fence(Ordering::SeqCst);
        self.try_wake(index);
    }

    /// Wakes every sleeper (shutdown).
    pub(crate) fn wake_all(&self) {
        fence(Ordering::SeqCst);
        for index in 0..self.slots.len() {
            self.try_wake(index);
        }
    }

    /// Model hook: the timed sleep of worker `index` reaches its deadline now (or its next
    /// one, if it is not waiting). loom never times a wait out by itself.
    #[cfg(corepool_loom)]
    pub(crate) fn expire(&self, index: usize) {
        let slot = &*self.slots[index];
        let guard = slot.lock.lock();
        slot.cond.expire_one(&guard);
    }

    /// Workers counted as sleeping (for the models' final checks).
    #[cfg(corepool_loom)]
    pub(crate) fn sleepers(&self) -> usize {
        self.sleepers.load(Ordering::SeqCst)
    }

    fn try_wake(&self, index: usize) -> bool {
        let slot = &*self.slots[index];
        if !slot.sleeping.load(Ordering::SeqCst) {
            return false;
        }
        let _guard = slot.lock.lock();
        if !slot.sleeping.load(Ordering::SeqCst) {
            return false;
        }
        slot.sleeping.store(false, Ordering::SeqCst);
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        slot.cond.notify_one();
        true
    }
}
