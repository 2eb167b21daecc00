//! Futures on the pool, and async backpressure.
//!
//! Run with `cargo run --release --example futures`.
//!
//! 1. `spawn_future` polls a `Future + Send` on the CPU workers. A `JoinHandle` is itself a
//!    future, so async code awaits CPU tasks; a wake from any thread (here a oneshot channel
//!    fed by a plain thread) puts the future back on the pool.
//! 2. `block_on` drives a future on the calling thread; free functions such as
//!    `corepool::spawn` called inside it use this pool.
//! 3. `reserve()` waits, as a future, for a free slot in the bounded queue and returns a
//!    `Permit` that spawns without waiting; `spawn_async` does both in one call. An async
//!    producer gets backpressure without blocking its executor's thread.
//! 4. A permit never holds up shutdown: spent after `shutdown`, it hands the closure back.
//!
//! Every step checks its results; the example panics on a wrong one.

use corepool::{Pool, SpawnError};
use futures::FutureExt;
use std::sync::{Arc, Barrier};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    futures_on_the_pool()?;
    backpressure()?;
    permit_after_shutdown()?;
    println!("done");
    Ok(())
}

fn futures_on_the_pool() -> Result<(), Box<dyn std::error::Error>> {
    let pool = Pool::builder().threads(2).build()?;

    // 1. A future on the workers that awaits a CPU task and a value sent from another thread.
    let (tx, rx) = futures::channel::oneshot::channel::<u64>();
    let cpu = pool.spawn(|| (1..=1_000u64).sum::<u64>());
    let task = pool.spawn_future(async move {
        let sum = cpu.await.expect("the CPU task ran");
        let offset = rx.await.expect("the sender sent");
        sum + offset
    });
    // The future is pending on `rx` until this thread sends; the send wakes it from outside.
    let sender = std::thread::spawn(move || tx.send(500).expect("the future is waiting"));
    sender.join().expect("sender thread");
    let value = task.join()?;
    assert_eq!(value, 500_500 + 500);
    println!("1. spawn_future awaited a CPU task and a oneshot: {value}");

    // 2. block_on on this (non-pool) thread: `corepool::spawn` inside it uses `pool`.
    let p = pool.clone();
    let (on_pool, squares) = pool.block_on(async move {
        let on_pool = corepool::spawn(move || p.current_thread_index().is_some())
            .await
            .expect("spawned task ran");
        let handles = (0..10u64).map(|i| corepool::spawn(move || i * i));
        let squares: Vec<u64> = futures::future::join_all(handles)
            .await
            .into_iter()
            .collect::<Result<_, _>>()
            .expect("every task ran");
        (on_pool, squares)
    });
    assert!(
        on_pool,
        "corepool::spawn inside block_on ran on this pool's worker"
    );
    assert_eq!(squares, (0..10u64).map(|i| i * i).collect::<Vec<_>>());
    println!("2. block_on: tasks spawned inside ran on the pool; squares {squares:?}");
    Ok(())
}

fn backpressure() -> Result<(), Box<dyn std::error::Error>> {
    const CAPACITY: usize = 4;
    const JOBS: u64 = 200;
    let pool = Pool::builder()
        .threads(1)
        .queue_capacity(CAPACITY)
        .build()?;

    // Hold the only worker so the queue fills and stays full until we let it go.
    let gate = Arc::new(Barrier::new(2));
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let held = {
        let gate = Arc::clone(&gate);
        pool.spawn(move || {
            started_tx.send(()).expect("main is listening");
            gate.wait();
        })
    };
    started_rx.recv()?;

    let total = pool.block_on(async {
        // 3a. Four permits fill the queue; the fifth reservation has to wait.
        let mut handles = Vec::new();
        for i in 0..CAPACITY as u64 {
            let permit = pool
                .reserve()
                .now_or_never()
                .expect("room in the queue")
                .expect("pool is running");
            handles.push(permit.spawn(move || i).expect("pool is running"));
        }
        let mut fifth = pool.reserve();
        assert!(
            futures::poll!(&mut fifth).is_pending(),
            "the queue is full: the reservation waits (without blocking this thread)"
        );
        gate.wait(); // let the worker go; it drains the queue and the waiter is woken
        let permit = fifth.await.expect("pool is running");
        handles.push(permit.spawn(|| CAPACITY as u64).expect("pool is running"));

        // 3b. spawn_async: reserve and spawn in one call, as a producer loop would.
        for i in CAPACITY as u64 + 1..JOBS {
            let handle = pool
                .spawn_async(move || i)
                .await
                .map_err(|_| "pool shut down")
                .expect("pool is running");
            assert!(
                pool.queued() <= CAPACITY,
                "the queue never grows past its capacity"
            );
            handles.push(handle);
        }
        let mut total = 0;
        for handle in handles {
            total += handle.await.expect("task ran");
        }
        total
    });
    held.join()?;
    assert_eq!(total, (0..JOBS).sum::<u64>());
    println!(
        "3. {JOBS} jobs through a queue of {CAPACITY} with reserve() and spawn_async: sum {total}"
    );
    Ok(())
}

fn permit_after_shutdown() -> Result<(), Box<dyn std::error::Error>> {
    let pool = Pool::builder().threads(1).build()?;
    // Permits are plain futures: any executor can drive them, here the `futures` crate's.
    let permit = futures::executor::block_on(pool.reserve())?;
    pool.shutdown(); // returns although a permit is outstanding
    match permit.spawn(|| "late") {
        Err(SpawnError::Shutdown(closure)) => assert_eq!(closure(), "late"),
        Err(other) => panic!("expected Shutdown, got {other}"),
        Ok(_) => panic!("a shut-down pool accepted a task"),
    }
    assert!(
        futures::executor::block_on(pool.reserve()).is_err(),
        "reserve fails once the pool is shut down"
    );
    println!("4. after shutdown: the permit handed its closure back, reserve() fails");
    Ok(())
}
