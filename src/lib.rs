#![doc = include_str!("lib.md")]
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod blocking;
mod builder;
mod error;
mod futures;
mod global;
pub mod iter;
#[cfg(corepool_loom)]
#[doc(hidden)]
pub mod loom_api;
mod metrics;
mod par;
mod pool;
pub mod prelude;
mod sched;
mod spawn;
mod sync;
mod task;

pub use builder::{defaults, Builder};
pub use error::{BuildError, JoinError, ShutdownError, SpawnError, TaskId};
pub use futures::reserve::{Permit, Reserve};
pub use global::{
    blocking, broadcast, current_num_threads, current_thread_index, in_place_scope,
    in_place_scope_fifo, join, join_all, join_all_async, scope, scope_fifo, spawn, spawn_broadcast,
    spawn_detached, yield_local, yield_now, Yield,
};
pub use metrics::{Histogram, Interval, IoMetrics, Metrics, WorkerMetrics};
pub use par::{
    par_bounded, par_chunks, par_chunks_mut, par_fold, par_for_each, par_map, par_reduce, par_sort,
    par_sort_by, par_sort_by_key, par_sort_unstable, par_sort_unstable_by,
    par_sort_unstable_by_key, IntoParSource, ParBounded, ParSource,
};
pub use pool::{Pool, TaskBuilder};
pub use sched::lanes::Priority;
pub use sched::pinning::{Pinning, NO_PIN_ENV, THREADS_ENV};
pub use spawn::broadcast::BroadcastContext;
pub use spawn::group::{Group, GroupBuilder, GroupMetrics};
pub use spawn::join_set::{AbortHandle, JoinSet};
pub use spawn::scope::{Scope, ScopeFifo};
pub use task::handle::JoinHandle;
