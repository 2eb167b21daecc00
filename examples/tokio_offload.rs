//! Offloading CPU work from a tokio program to corepool, with async backpressure.
//!
//! Run with `cargo run --release --example tokio_offload [-- JOBS]`.
//!
//! A tokio current-thread runtime (one thread: any blocking would stall it) submits JOBS
//! (default 100,000) CPU jobs of about 5 µs each and awaits every result. corepool is reached
//! through `spawn_async`, which waits for room in the bounded queue without blocking the
//! runtime thread; a ticker task on the same runtime proves the thread stays free. The same
//! work is then offloaded with tokio's own `spawn_blocking` and with rayon plus a oneshot
//! channel, the usual glue, and the three times are printed side by side.

use corepool::Pool;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// About 5 µs of arithmetic; `rounds` is calibrated at start-up.
fn job(seed: u64, rounds: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..rounds {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

fn calibrate() -> u64 {
    let mut rounds = 1_000;
    loop {
        let start = Instant::now();
        for i in 0..100 {
            std::hint::black_box(job(i, rounds));
        }
        let per_job = start.elapsed() / 100;
        if per_job >= Duration::from_micros(5) {
            return rounds;
        }
        rounds = rounds * 5 / 4 + 1;
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let jobs: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let rounds = calibrate();
    let cores = num_cpus::get();
    println!("offloading {jobs} jobs of ~5 µs ({rounds} rounds) from a tokio current-thread runtime; {cores} cores\n");
    let expected: u64 = (0..jobs).map(|i| job(i, rounds)).fold(0, u64::wrapping_add);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;

    // corepool: bounded queue, async backpressure.
    let pool = Pool::builder().queue_capacity(1024).build()?;
    let ticks = Arc::new(AtomicUsize::new(0));
    let (corepool_time, sum) = rt.block_on({
        let pool = pool.clone();
        let ticks = Arc::clone(&ticks);
        async move {
            let ticker = tokio::spawn(async move {
                let mut interval = tokio::time::interval(Duration::from_millis(1));
                loop {
                    interval.tick().await;
                    ticks.fetch_add(1, Ordering::Relaxed);
                }
            });
            let start = Instant::now();
            let mut handles = Vec::with_capacity(jobs as usize);
            for i in 0..jobs {
                let handle = pool.spawn_async(move || job(i, rounds)).await?;
                handles.push(handle);
            }
            let mut sum = 0u64;
            for handle in handles {
                sum = sum.wrapping_add(handle.await?);
            }
            let elapsed = start.elapsed();
            ticker.abort();
            Ok::<_, Box<dyn std::error::Error>>((elapsed, sum))
        }
    })?;
    assert_eq!(sum, expected);
    println!(
        "corepool spawn_async + await : {:>8.1} ms   (runtime timer ticked {} times meanwhile; queue capacity {})",
        ms(corepool_time),
        ticks.load(Ordering::Relaxed),
        pool.queue_capacity()
    );

    // tokio's blocking pool (unbounded queue, up to 512 threads).
    let (tokio_time, sum) = rt.block_on(async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..jobs)
            .map(|i| tokio::task::spawn_blocking(move || job(i, rounds)))
            .collect();
        let mut sum = 0u64;
        for handle in handles {
            sum = sum.wrapping_add(handle.await.expect("job"));
        }
        (start.elapsed(), sum)
    });
    assert_eq!(sum, expected);
    println!("tokio spawn_blocking + await : {:>8.1} ms", ms(tokio_time));

    // rayon plus a oneshot channel per job.
    let rayon_pool = rayon::ThreadPoolBuilder::new().num_threads(cores).build()?;
    let (rayon_time, sum) = rt.block_on(async move {
        let start = Instant::now();
        let receivers: Vec<_> = (0..jobs)
            .map(|i| {
                let (tx, rx) = tokio::sync::oneshot::channel();
                rayon_pool.spawn(move || {
                    let _ = tx.send(job(i, rounds));
                });
                rx
            })
            .collect();
        let mut sum = 0u64;
        for rx in receivers {
            sum = sum.wrapping_add(rx.await.expect("job"));
        }
        (start.elapsed(), sum)
    });
    assert_eq!(sum, expected);
    println!("rayon spawn + oneshot        : {:>8.1} ms", ms(rayon_time));

    let best_peer = tokio_time.min(rayon_time);
    println!(
        "\ncorepool / best peer: {:.2}x (lower is better)",
        corepool_time.as_secs_f64() / best_peer.as_secs_f64()
    );
    pool.shutdown();
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
