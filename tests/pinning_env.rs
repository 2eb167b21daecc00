//! The pinning rule's `COREPOOL_NO_PIN` override: the environment variable turns pinning off
//! whatever the builder says. Environment variables are process-wide, so this file holds a
//! single test (its own process) that sets the variable before each build.

mod common;

use common::{my_cores, thread_allowed_cpus, thread_name, tids_named, unique_prefix, watchdog};
use corepool::{Pinning, Pool};

/// Builds a pool and returns each worker's `Cpus_allowed_list`, by worker index.
fn masks(threads: usize, pinning: Pinning) -> Vec<Vec<usize>> {
    let prefix = unique_prefix("np");
    let p = prefix.clone();
    let pool = Pool::builder()
        .threads(threads)
        .pinning(pinning)
        .thread_name(move |i| format!("{p}{i}"))
        .build()
        .unwrap();
    let mut by_index: Vec<(usize, Vec<usize>)> = tids_named(&prefix)
        .into_iter()
        .map(|tid| {
            (
                thread_name(tid)[prefix.len()..].parse().unwrap(),
                thread_allowed_cpus(tid),
            )
        })
        .collect();
    by_index.sort();
    drop(pool);
    assert_eq!(by_index.len(), threads);
    by_index.into_iter().map(|(_, m)| m).collect()
}

#[test]
fn no_pin_env_var_leaves_workers_unpinned() {
    watchdog("COREPOOL_NO_PIN", || {
        assert_eq!(corepool::NO_PIN_ENV, "COREPOOL_NO_PIN");
        std::env::remove_var(corepool::NO_PIN_ENV);
        let allowed = my_cores();
        let unpinned = vec![allowed.clone(); 4];
        // With more than one core a pinned worker is distinguishable from an unpinned one.
        let distinguishable = allowed.len() > 1;

        for value in ["1", "yes"] {
            std::env::set_var(corepool::NO_PIN_ENV, value);
            assert_eq!(
                masks(4, Pinning::PerCore),
                unpinned,
                "{value:?}: PerCore ignored"
            );
            assert_eq!(
                masks(4, Pinning::Cores(vec![allowed[0]])),
                unpinned,
                "{value:?}: Cores ignored"
            );
        }

        // Empty or "0" does not disable pinning, nor does an unset variable.
        for value in [Some(""), Some("0"), None] {
            match value {
                Some(v) => std::env::set_var(corepool::NO_PIN_ENV, v),
                None => std::env::remove_var(corepool::NO_PIN_ENV),
            }
            let got = masks(4, Pinning::PerCore);
            let expected = common::per_core_from(&allowed, got[0][0]);
            let pinned: Vec<Vec<usize>> = (0..4).map(expected).collect();
            assert_eq!(got, pinned, "{value:?}: pinning stays on");
            if distinguishable {
                assert_ne!(got, unpinned);
            }
        }
    });
}
