//! A mixed workload watched live through `Pool::metrics()`.
//!
//! Run with `cargo run --release --example metrics`.
//!
//! CPU tasks (recursive fork-join), blocking tasks (sleeps on the I/O pool) and a burst that
//! fills the bounded queue run together; a progress bar redraws from a metrics snapshot every
//! 50 ms, and the final snapshot is printed as a table. The example checks the tasks' results
//! and that the final counters account for every task exactly (counts are exact; only the
//! latency histograms are sampled).

use corepool::Pool;
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const CPU_TASKS: u64 = 2_000;
const IO_TASKS: u64 = 200;
const BURST: u64 = 20_000;

fn fib(n: u32) -> u64 {
    if n < 2 {
        return n as u64;
    }
    let (a, b) = corepool::join(|| fib(n - 1), || fib(n - 2));
    a + b
}

fn fib_seq(n: u32) -> u64 {
    if n < 2 {
        n as u64
    } else {
        fib_seq(n - 1) + fib_seq(n - 2)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = Pool::builder().queue_capacity(256).io_threads(16).build()?;
    let total = CPU_TASKS + IO_TASKS + BURST;
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} tasks  {msg}")?.progress_chars("=> "),
    );
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let pool = pool.clone();
        let bar = bar.clone();
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut previous = pool.metrics();
            while !done.load(Ordering::Acquire) {
                let m = pool.metrics();
                // Utilization over the last tick: this watcher's own interval.
                let tick = m.interval_since(&previous);
                bar.set_position(m.completed + m.io.completed);
                bar.set_message(format!(
                    "cpu queue {:>3}/{} util {:>3.0}% | io threads {:>2} queue {:>3}",
                    m.injection_queue_depth,
                    m.injection_queue_capacity,
                    tick.utilization * 100.0,
                    m.io.threads_alive,
                    m.io.queue_depth
                ));
                previous = m;
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };

    let io: Vec<_> = (0..IO_TASKS)
        .map(|i| pool.spawn_blocking(move || std::thread::sleep(Duration::from_millis(5 + i % 10))))
        .collect();
    let cpu: Vec<_> = (0..CPU_TASKS)
        .map(|i| pool.spawn(move || fib(12 + (i % 8) as u32)))
        .collect();
    // A burst: try_spawn until the queue is full, then wait for room.
    let mut refused = 0u64;
    let mut burst = Vec::with_capacity(BURST as usize);
    for i in 0..BURST {
        match pool.try_spawn(move || i.wrapping_mul(2_654_435_761)) {
            Ok(handle) => burst.push(handle),
            Err(err) => {
                refused += 1;
                burst.push(pool.spawn(err.into_inner()));
            }
        }
    }
    for h in io {
        h.join()?;
    }
    let cpu_sum: u64 = cpu.into_iter().map(|h| h.join()).sum::<Result<u64, _>>()?;
    for (i, h) in (0..BURST).zip(burst) {
        assert_eq!(h.join()?, i.wrapping_mul(2_654_435_761));
    }
    let expected_sum: u64 = (0..CPU_TASKS).map(|i| fib_seq(12 + (i % 8) as u32)).sum();
    assert_eq!(
        cpu_sum, expected_sum,
        "fork-join fib agrees with a sequential fib"
    );
    done.store(true, Ordering::Release);
    watcher.join().expect("watcher");
    let m = pool.metrics();
    bar.set_position(m.completed + m.io.completed);
    bar.finish();
    // Every handle was joined, and a task is counted before its handle sees it complete.
    assert_eq!(m.spawned, CPU_TASKS + BURST);
    assert_eq!(m.completed, CPU_TASKS + BURST);
    assert_eq!(
        m.rejected_full, refused,
        "each refused try_spawn was counted"
    );
    assert_eq!(m.io.spawned, IO_TASKS);
    assert_eq!(m.io.completed, IO_TASKS);
    println!(
        "\nfib checksum {cpu_sum}; {refused} burst submissions found the queue full and waited\n"
    );
    println!("{m}");
    Ok(())
}
