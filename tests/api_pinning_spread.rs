//! `Pinning::PerCore` pools of one process spread over the allowed cores instead of stacking
//! on the first ones. Which cores a pool gets depends on the pools built before it in the
//! process, so this file holds a single test (its own process, no other builds in between).

mod common;

use common::{my_cores, thread_allowed_cpus, thread_name, tids_named, unique_prefix, watchdog};
use corepool::{Pinning, Pool};
use std::collections::BTreeSet;

/// The cores a pool's workers are pinned to (each worker's single-core mask).
fn cores_of(threads: usize) -> (Pool, BTreeSet<usize>) {
    let prefix = unique_prefix("spr");
    let p = prefix.clone();
    let pool = Pool::builder()
        .threads(threads)
        .pinning(Pinning::PerCore)
        .thread_name(move |i| format!("{p}{i}"))
        .build()
        .unwrap();
    let masks: Vec<Vec<usize>> = tids_named(&prefix)
        .into_iter()
        .map(|tid| {
            assert!(thread_name(tid).starts_with(&prefix));
            thread_allowed_cpus(tid)
        })
        .collect();
    assert_eq!(masks.len(), threads);
    let cores = masks
        .into_iter()
        .map(|m| {
            assert_eq!(m.len(), 1, "a PerCore worker is pinned to one core");
            m[0]
        })
        .collect();
    (pool, cores)
}

#[test]
fn two_per_core_pools_take_different_cores() {
    watchdog("pinning spread", || {
        let allowed = my_cores();
        if allowed.len() < 2 || std::env::var_os(corepool::NO_PIN_ENV).is_some() {
            return; // nothing to spread over, or pinning is off
        }
        let half = allowed.len() / 2;
        let (_a, first) = cores_of(half);
        let (_b, second) = cores_of(half);
        assert_eq!(first.len(), half);
        assert!(
            first.is_disjoint(&second),
            "two pools of {half} workers on {allowed:?} stacked: {first:?} and {second:?}"
        );
    });
}
