//! The scheduler: jobs, latches, the worker loop, the sleep protocol, the injection queues and
//! lanes, one pool's shared state (the registry) and its shutdown, the I/O threads, pinning, and
//! the catch boundaries around user code. Everything above this layer reaches the workers
//! through it; nothing here knows about tasks, handles or the public API.

pub(crate) mod config;
pub(crate) mod credit;
pub(crate) mod find;
pub(crate) mod injection;
pub(crate) mod io_pool;
pub(crate) mod job;
pub(crate) mod join;
pub(crate) mod lanes;
pub(crate) mod latch;
pub(crate) mod lifo;
pub(crate) mod pinning;
pub(crate) mod registry;
pub(crate) mod shutdown;
pub(crate) mod sleep;
pub(crate) mod unwind;
pub(crate) mod worker;
