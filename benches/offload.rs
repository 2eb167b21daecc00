//! Workloads 6 and 7: offloading from async code, and blocking tasks.
//!
//! - `tokio_offload`: 100,000 jobs of ~5 µs (calibrated spin work) submitted from a tokio
//!   current-thread runtime and awaited there in submission order — tokio `spawn_blocking`
//!   (blocking pool capped at the core count), rayon `spawn` + tokio oneshot, corepool
//!   `Pool::spawn` with its `JoinHandle` awaited. corepool's `spawn` blocks the calling thread
//!   while the injection queue is full, so its pool gets `queue_capacity(131_072)` (more than
//!   the job count): the runtime thread never blocks. corepool-async uses
//!   `spawn_async(..).await` instead (waits for room without blocking the thread) at the
//!   default queue capacity.
//! - `blocking_sleep`: 1,000 tasks that each sleep 1 ms, spawned from outside — corepool
//!   `spawn` on the CPU pool (the baseline issue #5 asked for), corepool-blocking
//!   (`spawn_blocking` on the elastic blocking-I/O pool, defaults), rayon, tokio
//!   `spawn_blocking` with the blocking pool capped at the core count, tokio-elastic (tokio's
//!   default cap of 512 threads), threadpool.

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use std::time::Duration;

mod workloads;
use workloads as w;

/// corepool's queue in the offload workload: room for every job.
const OFFLOAD_QUEUE: usize = 131_072;

fn tokio_offload(c: &mut Criterion) {
    let n = w::Sizes::full().offload_jobs;
    let threads = w::threads();
    let iters = w::calibrate(Duration::from_micros(5));
    let mut g = c.benchmark_group("tokio_offload");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(n as u64));

    let rt = w::tokio_current(threads);
    for (name, pin) in [("corepool", true), ("corepool-nopin", false)] {
        let pool = w::corepool_pool(threads, pin, Some(OFFLOAD_QUEUE.max(n)));
        g.bench_function(name, |b| {
            b.iter(|| w::offload_corepool(&rt, &pool, n, iters))
        });
    }
    let pool = w::corepool_pool(threads, true, None);
    g.bench_function("corepool-async", |b| {
        b.iter(|| w::offload_corepool_async(&rt, &pool, n, iters))
    });
    drop(pool);
    g.bench_function("tokio", |b| b.iter(|| w::offload_tokio(&rt, n, iters)));
    let pool = w::rayon_pool(threads);
    g.bench_function("rayon", |b| {
        b.iter(|| w::offload_rayon(&rt, &pool, n, iters))
    });
    g.finish();
}

fn blocking_sleep(c: &mut Criterion) {
    let sizes = w::Sizes::full();
    let (n, d) = (sizes.blocking_tasks, sizes.blocking_sleep);
    let threads = w::threads();
    let done = w::Countdown::leak();
    let mut g = c.benchmark_group("blocking_sleep");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(6));

    for (name, pin) in [("corepool", true), ("corepool-nopin", false)] {
        let pool = w::corepool_pool(threads, pin, None);
        g.bench_function(name, |b| b.iter(|| w::blocking_corepool(&pool, n, d, done)));
    }
    let pool = w::corepool_pool(threads, true, None);
    g.bench_function("corepool-blocking", |b| {
        b.iter(|| w::blocking_corepool_io(&pool, n, d, done))
    });
    drop(pool);
    let pool = w::rayon_pool(threads);
    g.bench_function("rayon", |b| b.iter(|| w::blocking_rayon(&pool, n, d, done)));
    drop(pool);
    let rt = w::tokio_multi(threads, Some(threads));
    g.bench_function("tokio", |b| b.iter(|| w::blocking_tokio(&rt, n, d, done)));
    drop(rt);
    let rt = w::tokio_multi(threads, None);
    g.bench_function("tokio-elastic", |b| {
        b.iter(|| w::blocking_tokio(&rt, n, d, done))
    });
    drop(rt);
    let pool = w::threadpool_pool(threads);
    g.bench_function("threadpool", |b| {
        b.iter(|| w::blocking_threadpool(&pool, n, d, done))
    });
    g.finish();
}

// `criterion_group!` generates an undocumented `pub fn`.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, tokio_offload, blocking_sleep);
}
criterion_main!(group::benches);
