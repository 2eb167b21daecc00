//! Blocking I/O beside CPU work: the elastic I/O pool, `spawn_blocking` and `blocking`.
//!
//! Run with `cargo run --release --example blocking_io`.
//!
//! A CPU worker that sleeps in a system call is a core lost to every other task. corepool
//! keeps such calls off its CPU workers:
//!
//! 1. `Pool::spawn_blocking` runs a closure on the pool's I/O threads (an elastic pool that
//!    starts threads up to `io_threads` and lets idle ones go after a keep-alive). Here, 32
//!    slow "requests" (a sleep standing in for the network, then a real file write and read)
//!    run there while the CPU workers sort, and neither waits for the other.
//! 2. `Pool::blocking` (and the free function `corepool::blocking`) is for blocking code
//!    reached from *inside* a CPU task: the closure moves to the I/O pool and the worker keeps
//!    running other CPU tasks until it is done; on any other thread it simply runs there.
//!
//! Every step checks its results; the example panics on a wrong one.

use corepool::Pool;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const REQUESTS: usize = 32;
const IO_THREADS: usize = 8;
const SORT_LEN: usize = 2_000_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = Pool::builder().io_threads(IO_THREADS).build()?;
    let dir = scratch_dir()?;
    println!(
        "{} CPU workers, at most {} I/O threads\n",
        pool.threads(),
        pool.io_threads()
    );

    println!("1. {REQUESTS} slow requests with spawn_blocking while the CPU pool sorts");
    let start = Instant::now();
    let requests: Vec<_> = (0..REQUESTS)
        .map(|i| {
            let path = dir.join(format!("part-{i}.txt"));
            pool.spawn_blocking(move || -> std::io::Result<usize> {
                std::thread::sleep(Duration::from_millis(10)); // the "network"
                std::fs::write(&path, format!("part {i}\n").repeat(100))?;
                Ok(std::fs::read(&path)?.len())
            })
        })
        .collect();
    let mut data: Vec<u64> = (0..SORT_LEN as u64)
        .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .collect();
    pool.par_sort_unstable(&mut data);
    let sorted_at = start.elapsed();
    assert!(data.windows(2).all(|w| w[0] <= w[1]), "sorted");

    let mut bytes = 0;
    for (i, request) in requests.into_iter().enumerate() {
        let len = request.join()??;
        assert_eq!(
            len,
            format!("part {i}\n").len() * 100,
            "request {i} read back its file"
        );
        bytes += len;
    }
    let io_done_at = start.elapsed();
    let m = pool.metrics();
    assert_eq!(
        m.io.completed, REQUESTS as u64,
        "every request ran on the I/O pool"
    );
    assert_eq!(m.io.threads_max, IO_THREADS);
    assert!(
        m.io.threads_alive <= IO_THREADS,
        "the I/O pool stays within io_threads"
    );
    println!(
        "   sorted {SORT_LEN} integers in {:.1} ms; the requests moved {bytes} bytes, all done after {:.1} ms",
        ms(sorted_at),
        ms(io_done_at)
    );
    println!(
        "   I/O pool: {} thread(s) started, {} alive now\n",
        m.io.thread_starts, m.io.threads_alive
    );

    println!("2. blocking calls from inside CPU tasks");
    // Each CPU task computes something, then needs a blocking call (here: listing the
    // directory). `blocking` hands that call to the I/O pool; meanwhile this worker runs the
    // other tasks instead of sleeping in the kernel.
    let listings: Vec<_> = (0..4)
        .map(|_| {
            let dir = dir.clone();
            let pool2 = pool.clone();
            pool.spawn(move || {
                let cpu_part: u64 = (0..100_000u64).map(|x| x % 7).sum();
                let files = pool2.blocking(|| std::fs::read_dir(&dir).map(|d| d.count()))?;
                Ok::<_, std::io::Error>((cpu_part, files))
            })
        })
        .collect();
    for listing in listings {
        let (cpu_part, files) = listing.join()??;
        assert_eq!(cpu_part, (0..100_000u64).map(|x| x % 7).sum::<u64>());
        assert_eq!(
            files, REQUESTS,
            "the listing sees every file written in step 1"
        );
    }
    // The free function does the same for the pool of the worker it is called on; on a thread
    // that is no worker (like this one) it just runs the closure here.
    let here = corepool::blocking(|| std::fs::read_dir(&dir).map(|d| d.count()))?;
    assert_eq!(here, REQUESTS);
    println!("   4 CPU tasks each listed {REQUESTS} files through blocking(); so did main\n");

    std::fs::remove_dir_all(&dir)?;
    pool.shutdown();
    println!("done");
    Ok(())
}

fn scratch_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("corepool-blocking-io-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
