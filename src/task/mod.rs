//! Tasks with a handle: the task cell and its state word, the `JoinHandle`, and the future
//! task. A task is a job (`sched::job`) that also settles a result for a handle.

pub(crate) mod cell;
pub(crate) mod future;
pub(crate) mod handle;
pub(crate) mod state;
