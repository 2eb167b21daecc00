//! Tasks with a handle: the task cell and its state word, the `JoinHandle`, and the future
//! task. A task is a job (`sched::job`) that also settles a result for a handle. Beside them,
//! the handle-less task of `spawn_detached` (`detached.rs`), which settles nothing.

pub(crate) mod cell;
pub(crate) mod detached;
pub(crate) mod future;
pub(crate) mod handle;
pub(crate) mod recycle;
pub(crate) mod state;
