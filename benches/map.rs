//! Workload 5: map 20,000,000 u64 through a cheap float function into a `Vec<f64>`.
//!
//! corepool: `Pool::par_map` (demand-driven splitting, written straight into the new Vec).
//! Peers: rayon `par_iter().collect()`, hand-chunked `std::thread::scope` (one chunk per
//! thread), sequential.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

mod workloads;
use workloads as w;

fn map_20m(c: &mut Criterion) {
    let len = w::Sizes::full().map_len;
    let threads = w::threads();
    let input = w::map_input(len);
    let mut g = c.benchmark_group("map_20m");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(6))
        .throughput(Throughput::Elements(len as u64));

    for (name, pin) in [("corepool", true), ("corepool-nopin", false)] {
        let pool = w::corepool_pool(threads, pin, None);
        // Checked once outside the timing; the timed runs keep the output alive via black_box.
        w::map_check(&input, &w::map_corepool(&pool, &input));
        g.bench_function(name, |b| {
            b.iter(|| black_box(w::map_corepool(&pool, black_box(&input))))
        });
    }
    let pool = w::rayon_pool(threads);
    w::map_check(&input, &w::map_rayon(&pool, &input));
    g.bench_function("rayon", |b| {
        b.iter(|| black_box(w::map_rayon(&pool, black_box(&input))))
    });
    drop(pool);
    w::map_check(&input, &w::map_std(&input, threads));
    g.bench_function("std", |b| {
        b.iter(|| black_box(w::map_std(black_box(&input), threads)))
    });
    w::map_check(&input, &w::map_seq(&input));
    g.bench_function("sequential", |b| {
        b.iter(|| black_box(w::map_seq(black_box(&input))))
    });
    g.finish();
}

// `criterion_group!` generates an undocumented `pub fn`.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, map_20m);
}
criterion_main!(group::benches);
