//! Task groups, priority lanes and worker affinity on one shared pool.
//!
//! Run with `cargo run --release --example groups`.
//!
//! 1. A group with `max_concurrency(2)`: 40 "downloads" spawned at once, never more than 2
//!    running (a rate limit for one kind of work, while the rest of the pool stays free).
//! 2. A group's bounded queue: `try_spawn` hands the closure back when it is full, `cancel`
//!    drops what still waits, `metrics` and `wait` watch it.
//! 3. Priority lanes: `task().priority(Priority::High).spawn(..)` is taken before Normal work queued
//!    earlier.
//! 4. Affinity: `task().on(i)` runs on worker `i`, `task().keyed(key)` on the worker the
//!    key hashes to, so tasks with one key share a worker's caches.
//!
//! Every step checks what it shows; the example panics if a rule is broken.

use corepool::{JoinError, Pool, Priority, SpawnError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    rate_limited()?;
    bounded_queue()?;
    priorities()?;
    affinity()?;
    println!("done");
    Ok(())
}

/// 1. At most two of the group's tasks run at once, whatever the pool's size.
fn rate_limited() -> Result<(), Box<dyn std::error::Error>> {
    const DOWNLOADS: usize = 40;
    let pool = Pool::builder().threads(4).build()?;
    let group = pool.group().max_concurrency(2).build()?;
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..DOWNLOADS)
        .map(|i| {
            let (running, most) = (Arc::clone(&running), Arc::clone(&most));
            group.spawn(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(1)); // the "download"
                running.fetch_sub(1, Ordering::SeqCst);
                i * 10
            })
        })
        .collect();
    // Settled results, in spawn order (failures would be `Err` entries, not a lost value).
    let results = corepool::join_all(handles);
    let values: Vec<usize> = results.into_iter().collect::<Result<_, JoinError>>()?;
    assert_eq!(values, (0..DOWNLOADS).map(|i| i * 10).collect::<Vec<_>>());
    let most = most.load(Ordering::SeqCst);
    assert!(most <= 2, "max_concurrency(2) let {most} run at once");
    group.wait();
    let m = group.metrics();
    assert_eq!((m.running, m.queued, m.completed), (0, 0, DOWNLOADS as u64));
    println!(
        "1. {DOWNLOADS} downloads through a group of max_concurrency 2 on a {}-worker pool: \
         at most {most} ran at once",
        pool.threads()
    );
    Ok(())
}

/// 2. The group's queue is bounded; queued tasks can be cancelled.
fn bounded_queue() -> Result<(), Box<dyn std::error::Error>> {
    let pool = Pool::builder().threads(2).build()?;
    let group = pool.group().max_concurrency(1).capacity(3).build()?;
    // The first task takes the group's only slot and holds it until the gate opens; the next
    // three wait in the group (not in a worker: the pool stays free for other work).
    let gate = Arc::new(Barrier::new(2));
    let first = {
        let gate = Arc::clone(&gate);
        group.spawn(move || {
            gate.wait();
            "first"
        })
    };
    let waiting: Vec<_> = (0..3).map(|i| group.spawn(move || i)).collect();
    let m = group.metrics();
    assert_eq!((m.running, m.queued), (1, 3));
    match group.try_spawn(|| 99) {
        Err(SpawnError::Full(closure)) => assert_eq!(closure(), 99),
        Err(other) => panic!("expected Full, got {other}"),
        Ok(_) => panic!("a full group accepted a task"),
    }
    // Other work on the same pool is not held up by the group.
    assert_eq!(pool.spawn(|| "other work").join()?, "other work");

    let cancelled = group.cancel();
    assert_eq!(cancelled, 3, "the three waiting tasks were cancelled");
    gate.wait();
    assert_eq!(first.join()?, "first");
    for handle in waiting {
        let err = handle.join().expect_err("a cancelled task has no value");
        assert!(err.is_cancelled());
    }
    group.wait();
    let m = group.metrics();
    assert_eq!((m.completed, m.cancelled), (1, 3));
    println!(
        "2. group of capacity 3: try_spawn on the full queue -> Full (closure handed back); \
         cancel() dropped {cancelled} waiting tasks: {m:?}"
    );
    Ok(())
}

/// 3. High-priority work queued after Normal work still runs first.
fn priorities() -> Result<(), Box<dyn std::error::Error>> {
    let pool = Pool::builder().threads(1).build()?;
    let gate = Arc::new(Barrier::new(2));
    let (started_tx, started_rx) = mpsc::channel();
    let held = {
        let gate = Arc::clone(&gate);
        pool.spawn(move || {
            started_tx.send(()).expect("main is listening");
            gate.wait();
        })
    };
    // The only worker is inside the held task: what follows waits in the pool's lanes.
    started_rx.recv()?;
    let order = Arc::new(Mutex::new(Vec::new()));
    let record = |name: String| {
        let order = Arc::clone(&order);
        move || order.lock().unwrap().push(name)
    };
    let mut handles: Vec<_> = (0..4)
        .map(|i| pool.task().spawn(record(format!("normal-{i}"))))
        .collect::<Result<_, _>>()?;
    for i in 0..4 {
        let high = record(format!("high-{i}"));
        handles.push(pool.task().priority(Priority::High).spawn(high)?);
    }
    gate.wait();
    held.join()?;
    for handle in handles {
        handle.join()?;
    }
    let order = order.lock().unwrap().clone();
    let first_normal = order.iter().position(|n| n.starts_with("normal")).unwrap();
    assert!(
        order[..first_normal].len() == 4
            && order[first_normal..]
                .iter()
                .all(|n| n.starts_with("normal")),
        "every High task ran before the Normal ones queued earlier: {order:?}"
    );
    println!(
        "3. queued Normal first, then High; ran: {}",
        order.join(" ")
    );
    Ok(())
}

/// 4. Tasks pinned to a worker, by index or by key.
fn affinity() -> Result<(), Box<dyn std::error::Error>> {
    // A long patience: idle peers never take a task from another worker's inbox in this run,
    // so where each task runs is certain (the default, 2 ms, trades locality for progress).
    let pool = Pool::builder()
        .threads(2)
        .affinity_patience(Duration::from_secs(60))
        .build()?;
    for i in 0..pool.threads() {
        let ran_on = pool
            .task()
            .on(i)
            .spawn(corepool::current_thread_index)?
            .join()?;
        assert_eq!(ran_on, Some(i), "task().on({i}) ran on worker {i}");
    }
    let customers = ["alice", "bob", "carol"];
    for customer in customers {
        let workers: Vec<Option<usize>> = (0..5)
            .map(|_| {
                pool.task()
                    .keyed(customer)
                    .spawn(corepool::current_thread_index)
            })
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(|h| h.join())
            .collect::<Result<_, _>>()?;
        assert!(workers[0].is_some());
        assert!(
            workers.iter().all(|w| *w == workers[0]),
            "every task keyed {customer:?} ran on one worker: {workers:?}"
        );
        println!(
            "4. tasks keyed {customer:?} all ran on worker {}",
            workers[0].unwrap()
        );
    }
    Ok(())
}
