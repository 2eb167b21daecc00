//! corepool as a downstream crate uses it in its first hour: `anyhow` with `?` on a
//! `JoinError` (and on a `SpawnError`, a `BuildError`), a `JoinSet`, `broadcast`,
//! `in_place_scope` and the task builder, through the public API only.

use anyhow::{Context, Result};
use corepool::{JoinSet, Pool, Priority};
use std::cell::Cell;
use std::time::Duration;

/// Word counts of some documents, in parallel, as a library would write it.
fn count_words(pool: &Pool, docs: &[&'static str]) -> Result<usize> {
    let mut set = JoinSet::new();
    for &doc in docs {
        set.spawn(pool, move || doc.split_whitespace().count());
    }
    let mut total = 0;
    while let Some(result) = set.join_next() {
        total += result?; // JoinError -> anyhow::Error
    }
    Ok(total)
}

fn failing_task(pool: &Pool) -> Result<u32> {
    let handle = pool
        .task()
        .priority(Priority::High)
        .timeout(Duration::from_secs(5))
        .spawn(|| -> u32 { panic!("the task failed") })?; // SpawnError -> anyhow::Error
    let value = handle.join().context("running the failing task")?;
    Ok(value)
}

#[test]
fn a_downstream_crate_uses_the_api_with_anyhow() -> Result<()> {
    let pool = Pool::builder().threads(2).build()?; // BuildError -> anyhow::Error

    assert_eq!(count_words(&pool, &["a b c", "d e", "f"])?, 6);

    let err = failing_task(&pool).unwrap_err();
    assert_eq!(err.to_string(), "running the failing task");
    let join_err = err.downcast_ref::<corepool::JoinError>().unwrap();
    assert!(join_err.is_panic());

    // Warm a thread-local on every worker, then read it back from each.
    std::thread_local! {
        static WARM: Cell<usize> = const { Cell::new(0) };
    }
    pool.broadcast(|ctx| WARM.with(|w| w.set(ctx.index() + 100)));
    let warmed = pool.broadcast(|_| WARM.with(Cell::get));
    assert_eq!(warmed, [100, 101]);

    // A scope whose body stays on this thread, borrowing from it.
    let mut parts = [0u64; 4];
    pool.in_place_scope(|s| {
        for (i, part) in parts.iter_mut().enumerate() {
            s.spawn(move |_| *part = (i as u64 + 1) * 10);
        }
    });
    assert_eq!(parts, [10, 20, 30, 40]);

    // The task builder's placement, and `?` all the way.
    // (`on` is affinity, not a promise: if worker 1 stays busy past the affinity patience, as
    // under a CPU hog, a peer runs the task, so only "on a worker" is asserted here.)
    let on_one = pool.task().on(1).spawn(corepool::current_thread_index)?;
    assert!(matches!(on_one.join()?, Some(0 | 1)));
    let bytes = pool
        .task()
        .blocking()
        .spawn(|| std::fs::read("Cargo.toml"))?
        .join()??;
    assert!(!bytes.is_empty());
    Ok(())
}
