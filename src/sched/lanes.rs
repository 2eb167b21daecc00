//! Priority lanes and worker affinity: where a worker looks among the shared queues.
//!
//! Invariants:
//! - High-priority injected work is taken before Normal injected work, but after
//!   `HIGH_BEFORE_NORMAL` High picks in a row (a pick takes a batch of up to 32 tasks) a worker
//!   takes one Normal pick, if any is queued: Normal work is delayed, never starved.
//! - Each worker has an inbox for tasks spawned onto it (`spawn_on`, `spawn_keyed`). Its owner
//!   takes from it right after its own deque, also while it waits inside a join. A peer takes
//!   from another worker's inbox only when it found no other work and that owner has been busy
//!   (executing, not idle or asleep) for at least `AFFINITY_PATIENCE`: locality first, never a
//!   task stuck behind a busy owner. An idle or sleeping owner is woken for its inbox, and a
//!   push to a busy owner's inbox also wakes a peer. A peer's inbox that it may not take from
//!   yet is not work for a worker: it sleeps, with a wake-up set for the moment the first such
//!   inbox opens (`Inbox::opens_at`), instead of spinning through the patience. An owner that
//!   goes busy with work left in its inbox marks itself busy before it stops searching, whose
//!   last-searcher check counts its own inbox, so a peer is awake to watch it (`sched/sleep`).
//! - While an inbox holds a call that only its owner may run (a broadcast's), it is closed to
//!   peers (`hold_for_owner`), so they do not take the call only to hand it back. The hold is a
//!   hint like the busy stamp: a peer that reads it stale takes the call, and the broadcast sends
//!   it back (`spawn/broadcast.rs`), which stays correct.

use crate::sched::injection::InjectionQueue;
// The owner's busy stamp is a locality heuristic, not part of any protocol (a stale read only
// delays or hastens a peer's help), so it is a hint atomic: std's even under loom, where it
// would only multiply the interleavings to explore.
use crate::sync::hint::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// After this many High picks in a row, a worker takes one Normal pick.
pub const HIGH_BEFORE_NORMAL: u32 = 8;
/// How long a worker must have been busy before idle peers may take tasks spawned onto it,
/// when not set with [`Builder::affinity_patience`](crate::Builder::affinity_patience).
/// Public as `corepool::defaults::AFFINITY_PATIENCE`.
pub const AFFINITY_PATIENCE: Duration = Duration::from_millis(2);

/// The priority of an injected task; see [`Pool::spawn_with`](crate::Pool::spawn_with).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Priority {
    /// Taken before Normal work from the shared queues (Normal still gets a pick after a few
    /// High picks in a row: delayed, never starved).
    High,
    /// The default.
    #[default]
    Normal,
}

/// Where a submission goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lane {
    /// The normal injection queue (or a worker's own deque).
    Normal,
    /// The high-priority injection queue.
    High,
    /// Worker `index`'s inbox.
    Worker(usize),
}

/// One worker's inbox of tasks spawned onto it.
pub(crate) struct Inbox {
    pub(crate) queue: InjectionQueue,
    /// Nanoseconds since `epoch` at which the owner started its current busy period; 0 while
    /// it is idle.
    owner_busy_since: AtomicU64,
    epoch: Instant,
    patience_nanos: u64,
    /// Calls in the queue that only the owner may run (see the module's last invariant).
    owner_only: AtomicU64,
}

impl Inbox {
    pub(crate) fn new(capacity: usize, epoch: Instant, patience: Duration) -> Self {
        Inbox {
            patience_nanos: patience.as_nanos().min(u64::MAX as u128) as u64,
            queue: InjectionQueue::new(capacity),
            owner_busy_since: AtomicU64::new(0),
            epoch,
            owner_only: AtomicU64::new(0),
        }
    }

    /// A call only the owner may run is about to be queued here: peers keep out until it ran.
    pub(crate) fn hold_for_owner(&self) {
        self.owner_only.fetch_add(1, Ordering::Relaxed);
    }

    /// A call `hold_for_owner` announced is running (on its owner, or anywhere after shutdown).
    pub(crate) fn release_for_owner(&self) {
        self.owner_only.fetch_sub(1, Ordering::Relaxed);
    }

    fn held_for_owner(&self) -> bool {
        self.owner_only.load(Ordering::Relaxed) != 0
    }

    fn now(&self) -> u64 {
        (self.epoch.elapsed().as_nanos() as u64).max(1)
    }

    /// The owner leaves its idle loop.
    pub(crate) fn owner_busy(&self) {
        let now = if cfg!(corepool_loom) { 1 } else { self.now() };
        self.owner_busy_since.store(now, Ordering::Relaxed);
    }

    /// The owner enters its idle loop.
    pub(crate) fn owner_idle(&self) {
        self.owner_busy_since.store(0, Ordering::Relaxed);
    }

    /// Whether the owner is executing (so a push should also alert a peer).
    pub(crate) fn owner_is_busy(&self) -> bool {
        self.owner_busy_since.load(Ordering::Relaxed) != 0
    }

    /// When this inbox opens to peers: it holds work and its owner is busy (`None` otherwise,
    /// or if the moment is too far off to represent, and under loom, where a busy owner is
    /// enough for `open_to_peers`).
    pub(crate) fn opens_at(&self) -> Option<Instant> {
        if cfg!(corepool_loom) || self.held_for_owner() || self.queue.len() == 0 {
            return None;
        }
        let since = self.owner_busy_since.load(Ordering::Relaxed);
        if since == 0 {
            return None;
        }
        self.epoch.checked_add(Duration::from_nanos(
            since.saturating_add(self.patience_nanos),
        ))
    }

    /// Whether a peer may take from this inbox now: it holds work and its owner has been busy
    /// for at least the patience.
    pub(crate) fn open_to_peers(&self) -> bool {
        // The owner's stamp first: it is a hint, and the usual answer (the owner is idle or
        // asleep) then costs no look at the queue (under loom, no scheduling point).
        let since = self.owner_busy_since.load(Ordering::Relaxed);
        if since == 0 || self.held_for_owner() || self.queue.len() == 0 {
            return false;
        }
        // No clock under loom (a model must be deterministic): a busy owner is enough.
        cfg!(corepool_loom) || self.now().saturating_sub(since) >= self.patience_nanos
    }
}

/// The worker index a key maps to.
pub(crate) fn worker_for_key<K: std::hash::Hash + ?Sized>(key: &K, workers: usize) -> usize {
    use std::hash::Hasher;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    (hasher.finish() % workers as u64) as usize
}
