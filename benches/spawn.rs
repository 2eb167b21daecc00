//! Workloads 3 and 4: spawning many small tasks.
//!
//! - `spawn_1m`: 1,000,000 empty tasks spawned from a thread outside the pool, completion
//!   through an atomic countdown and one final notification — corepool (`Pool::spawn`, handle
//!   dropped), corepool-nopin, rayon (`ThreadPool::spawn`), tokio (`Runtime::spawn`),
//!   threadpool (`execute`).
//! - `nested_scope`: 1,000 tasks each spawning 1,000 tasks — corepool and rayon in a scope,
//!   tokio with nested `tokio::spawn` and a countdown (it has no scope).

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use std::time::Duration;

mod workloads;
use workloads as w;

fn spawn_1m(c: &mut Criterion) {
    let n = w::Sizes::full().spawn_tasks;
    let threads = w::threads();
    let done = w::Countdown::leak();
    let mut g = c.benchmark_group("spawn_1m");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(7))
        .throughput(Throughput::Elements(n as u64));

    for (name, pin) in [("corepool", true), ("corepool-nopin", false)] {
        let pool = w::corepool_pool(threads, pin, None);
        g.bench_function(name, |b| b.iter(|| w::spawn_empty_corepool(&pool, n, done)));
    }
    let pool = w::rayon_pool(threads);
    g.bench_function("rayon", |b| b.iter(|| w::spawn_empty_rayon(&pool, n, done)));
    drop(pool);
    let rt = w::tokio_multi(threads, None);
    g.bench_function("tokio", |b| b.iter(|| w::spawn_empty_tokio(&rt, n, done)));
    drop(rt);
    let pool = w::threadpool_pool(threads);
    g.bench_function("threadpool", |b| {
        b.iter(|| w::spawn_empty_threadpool(&pool, n, done))
    });
    g.finish();
}

fn nested_scope(c: &mut Criterion) {
    let sizes = w::Sizes::full();
    let (outer, inner) = (sizes.nested_outer, sizes.nested_inner);
    let threads = w::threads();
    let counters = w::nested_counters(outer);
    let done = w::Countdown::leak();
    let mut g = c.benchmark_group("nested_scope");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements((outer * inner) as u64));

    for (name, pin) in [("corepool", true), ("corepool-nopin", false)] {
        let pool = w::corepool_pool(threads, pin, None);
        g.bench_function(name, |b| {
            b.iter(|| w::nested_corepool(&pool, counters, inner))
        });
    }
    let pool = w::rayon_pool(threads);
    g.bench_function("rayon", |b| {
        b.iter(|| w::nested_rayon(&pool, counters, inner))
    });
    drop(pool);
    let rt = w::tokio_multi(threads, None);
    g.bench_function("tokio", |b| {
        b.iter(|| w::nested_tokio(&rt, counters, inner, done))
    });
    g.finish();
}

// `criterion_group!` generates an undocumented `pub fn`.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, spawn_1m, nested_scope);
}
criterion_main!(group::benches);
