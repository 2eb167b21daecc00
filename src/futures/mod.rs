//! Futures meet the pool: `block_on` (a worker keeps working while it waits for a future) and
//! `Reserve` (async backpressure: wait for room in the injection queue without a thread).

pub(crate) mod block_on;
pub(crate) mod reserve;
