//! Workloads 1 and 2: fork-join with a `join` at every level.
//!
//! - `fib30`: `fib(30)`, no cutoff — corepool, corepool-nopin, rayon, sequential.
//! - `tree_sum`: sum of a complete binary tree of 2^22 − 1 boxed nodes, one `join` per internal
//!   node — corepool, corepool-nopin, rayon, sequential.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::Duration;

mod workloads;
use workloads as w;

fn fib30(c: &mut Criterion) {
    let n = w::Sizes::full().fib_n;
    let expected = w::fib_expected(n);
    let threads = w::threads();
    let mut g = c.benchmark_group("fib30");
    g.sample_size(10).measurement_time(Duration::from_secs(5));

    for (name, pin) in [("corepool", true), ("corepool-nopin", false)] {
        let pool = w::corepool_pool(threads, pin, None);
        g.bench_function(name, |b| {
            b.iter(|| assert_eq!(pool.install(|| w::fib_corepool(black_box(n))), expected))
        });
    }
    let pool = w::rayon_pool(threads);
    g.bench_function("rayon", |b| {
        b.iter(|| assert_eq!(pool.install(|| w::fib_rayon(black_box(n))), expected))
    });
    drop(pool);
    g.bench_function("sequential", |b| {
        b.iter(|| assert_eq!(w::fib_seq(black_box(n)), expected))
    });
    g.finish();
}

fn tree_sum(c: &mut Criterion) {
    let depth = w::Sizes::full().tree_depth;
    let (tree, expected) = w::build_tree(depth);
    let t: &w::Node = &tree;
    let threads = w::threads();
    let mut g = c.benchmark_group("tree_sum");
    g.sample_size(10).measurement_time(Duration::from_secs(5));

    for (name, pin) in [("corepool", true), ("corepool-nopin", false)] {
        let pool = w::corepool_pool(threads, pin, None);
        g.bench_function(name, |b| {
            b.iter(|| {
                assert_eq!(
                    pool.install(|| w::tree_sum_corepool(black_box(t))),
                    expected
                )
            })
        });
    }
    let pool = w::rayon_pool(threads);
    g.bench_function("rayon", |b| {
        b.iter(|| assert_eq!(pool.install(|| w::tree_sum_rayon(black_box(t))), expected))
    });
    drop(pool);
    g.bench_function("sequential", |b| {
        b.iter(|| assert_eq!(w::tree_sum_seq(black_box(t)), expected))
    });
    g.finish();
}

// `criterion_group!` generates an undocumented `pub fn`.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, fib30, tree_sum);
}
criterion_main!(group::benches);
