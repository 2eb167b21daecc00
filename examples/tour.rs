//! A short tour of corepool on real CPU-bound work.
//!
//! Run with `cargo run --release --example tour`.
//!
//! 1. A parallel merge sort of 10 million integers with `join`.
//! 2. A parallel checksum of a generated 256 MiB buffer with `scope`.
//!    Both run on a pool with one worker per core and on a one-thread pool; the speedup is
//!    printed.
//! 3. Blocking I/O on the elastic I/O pool while the CPU workers keep sorting.
//! 4. Backpressure: `try_spawn` on a full queue hands the closure back.
//! 5. Shutdown: `shutdown_now` cancels what is queued and reports how many.
//! 6. The pool's metrics: counters, utilization, latency percentiles.

use corepool::{JoinError, Pool, SpawnError};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const SORT_LEN: usize = 10_000_000;
const SORT_CUTOFF: usize = 8 * 1024;
const BUFFER_LEN: usize = 256 << 20;
const CHECKSUM_CHUNK: usize = 1 << 20;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cores = num_cpus::get();
    let pool = Pool::builder().build()?;
    let single = Pool::builder().threads(1).build()?;
    println!(
        "corepool tour: {} workers (one per core), pinned per core\n",
        pool.threads()
    );

    println!("1. merge sort of {SORT_LEN} pseudo-random u64 with join");
    let input = random_u64s(SORT_LEN, 0x5EED);
    let (t_one, sorted_one) = time(|| sort_on(&single, input.clone()));
    let (t_all, sorted_all) = time(|| sort_on(&pool, input.clone()));
    assert!(
        sorted_all.windows(2).all(|w| w[0] <= w[1]),
        "output is sorted"
    );
    assert_eq!(sorted_one, sorted_all, "both pools agree");
    report(t_one, t_all, cores);

    println!(
        "2. checksum of a {} MiB generated buffer with scope",
        BUFFER_LEN >> 20
    );
    let buffer = generate_buffer(BUFFER_LEN);
    let (t_one, sum_one) = time(|| checksum_on(&single, &buffer));
    let (t_all, sum_all) = time(|| checksum_on(&pool, &buffer));
    assert_eq!(sum_one, sum_all, "both pools agree");
    println!("   checksum {sum_all:#018x}");
    report(t_one, t_all, cores);

    println!("3. blocking I/O beside CPU work");
    blocking_demo(&pool, &input)?;

    println!("4. backpressure: a pool with one worker and a queue of 2");
    backpressure_demo()?;

    println!("\n5. shutdown_now cancels queued work and says how much");
    shutdown_demo()?;

    println!("\n6. the main pool's metrics after all of the above");
    let metrics = pool.metrics();
    for line in metrics.to_string().lines() {
        println!("   {line}");
    }
    Ok(())
}

fn time<R>(f: impl FnOnce() -> R) -> (Duration, R) {
    let start = Instant::now();
    let r = f();
    (start.elapsed(), r)
}

fn report(one: Duration, all: Duration, cores: usize) {
    println!(
        "   one thread: {:>8.1} ms   {} threads: {:>8.1} ms   speedup {:.2}x (ideal {}x)\n",
        one.as_secs_f64() * 1e3,
        cores,
        all.as_secs_f64() * 1e3,
        one.as_secs_f64() / all.as_secs_f64(),
        cores
    );
}

/// splitmix64: a fast, decent generator so the tour needs no extra dependency.
fn random_u64s(len: usize, seed: u64) -> Vec<u64> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        })
        .collect()
}

fn sort_on(pool: &Pool, mut data: Vec<u64>) -> Vec<u64> {
    let mut scratch = vec![0u64; data.len()];
    pool.install(|| merge_sort(&mut data, &mut scratch));
    data
}

/// Sorts `data` using `scratch` (same length) as merge space.
fn merge_sort(data: &mut [u64], scratch: &mut [u64]) {
    if data.len() <= SORT_CUTOFF {
        data.sort_unstable();
        return;
    }
    let mid = data.len() / 2;
    {
        let (left, right) = data.split_at_mut(mid);
        let (scratch_left, scratch_right) = scratch.split_at_mut(mid);
        corepool::join(
            || merge_sort(left, scratch_left),
            || merge_sort(right, scratch_right),
        );
    }
    merge(&data[..mid], &data[mid..], scratch);
    data.copy_from_slice(scratch);
}

fn merge(left: &[u64], right: &[u64], out: &mut [u64]) {
    let (mut i, mut j) = (0, 0);
    for slot in out.iter_mut() {
        if j >= right.len() || (i < left.len() && left[i] <= right[j]) {
            *slot = left[i];
            i += 1;
        } else {
            *slot = right[j];
            j += 1;
        }
    }
}

fn generate_buffer(len: usize) -> Vec<u8> {
    let words = random_u64s(len / 8, 0xB0FF);
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// FNV-1a per chunk, chunk digests combined in order: the same answer on any pool size.
fn checksum_on(pool: &Pool, buffer: &[u8]) -> u64 {
    let chunks: Vec<&[u8]> = buffer.chunks(CHECKSUM_CHUNK).collect();
    let mut digests = vec![0u64; chunks.len()];
    pool.scope(|s| {
        for (chunk, digest) in chunks.iter().zip(digests.iter_mut()) {
            s.spawn(move |_| *digest = fnv1a(chunk));
        }
    });
    digests.iter().fold(0xCBF2_9CE4_8422_2325, |acc, d| {
        (acc ^ d).wrapping_mul(0x100_0000_01B3)
    })
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
    })
}

/// 64 simulated I/O calls (20 ms sleeps, then a real file write and read) on the I/O pool,
/// while the CPU pool sorts: neither waits for the other.
fn blocking_demo(pool: &Pool, input: &[u64]) -> Result<(), Box<dyn std::error::Error>> {
    const CALLS: usize = 64;
    let dir = std::env::temp_dir().join(format!("corepool-tour-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let start = Instant::now();
    let io: Vec<_> = (0..CALLS)
        .map(|i| {
            let path = dir.join(format!("part-{i}.txt"));
            pool.spawn_blocking(move || -> std::io::Result<(usize, Instant)> {
                std::thread::sleep(Duration::from_millis(20));
                std::fs::write(&path, format!("part {i}\n").repeat(100))?;
                Ok((std::fs::read(&path)?.len(), Instant::now()))
            })
        })
        .collect();
    let (t_sort, sorted) = time(|| sort_on(pool, input.to_vec()));
    assert!(sorted.windows(2).all(|w| w[0] <= w[1]));
    let mut bytes = 0;
    let mut io_done = start;
    for handle in io {
        let (len, finished) = handle.join()??;
        bytes += len;
        io_done = io_done.max(finished);
    }
    let t_io = io_done - start;
    // A CPU task may also call blocking code directly: `blocking` moves it to the I/O pool and
    // the worker keeps running CPU tasks until it is done.
    let listed =
        pool.install(|| corepool::blocking(|| std::fs::read_dir(&dir).map(|d| d.count())))?;
    std::fs::remove_dir_all(&dir)?;
    println!(
        "   {CALLS} blocking calls (20 ms each, {} I/O threads at most) moved {bytes} bytes in {:.1} ms",
        pool.io_threads(),
        t_io.as_secs_f64() * 1e3
    );
    println!(
        "   meanwhile the CPU pool sorted {} integers in {:.1} ms; blocking() listed {listed} files\n",
        input.len(),
        t_sort.as_secs_f64() * 1e3
    );
    Ok(())
}

fn backpressure_demo() -> Result<(), Box<dyn std::error::Error>> {
    let pool = Pool::builder().threads(1).queue_capacity(2).build()?;
    let gate = Arc::new(Barrier::new(2));
    let held = {
        let gate = Arc::clone(&gate);
        pool.spawn(move || {
            gate.wait();
            "the held task"
        })
    };
    while pool.queued() > 0 {
        std::thread::yield_now();
    }
    let queued: Vec<_> = (0..2).map(|i| pool.spawn(move || i)).collect();
    println!(
        "   worker held, queue {}/{}",
        pool.queued(),
        pool.queue_capacity()
    );
    match pool.try_spawn(|| "the refused task") {
        Err(SpawnError::Full(closure)) => {
            println!(
                "   try_spawn -> Full: the closure came back; running it here: {:?}",
                closure()
            )
        }
        Err(other) => println!("   try_spawn -> unexpected {other}"),
        Ok(_) => println!("   try_spawn -> accepted (the worker was faster than the demo)"),
    }
    let timeout = Duration::from_millis(50);
    if let Err(err) = pool.spawn_timeout(|| 0, timeout) {
        println!("   spawn_timeout({timeout:?}) -> {err}");
    }
    gate.wait();
    println!("   released: {}", held.join()?);
    let values: Result<Vec<_>, JoinError> = queued.into_iter().map(|h| h.join()).collect();
    println!("   the queued tasks ran: {:?}", values?);
    Ok(())
}

fn shutdown_demo() -> Result<(), Box<dyn std::error::Error>> {
    let pool = Pool::builder().threads(1).queue_capacity(100).build()?;
    let gate = Arc::new(Barrier::new(2));
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let held = {
        let gate = Arc::clone(&gate);
        pool.spawn(move || {
            started_tx.send(()).expect("tour is listening");
            gate.wait();
        })
    };
    // The worker must be inside the held task, or shutdown_now would cancel it too.
    started_rx.recv()?;
    let queued: Vec<_> = (0..10).map(|i| pool.spawn(move || i)).collect();
    let shutting = {
        let pool = pool.clone();
        std::thread::spawn(move || pool.shutdown_now())
    };
    while !pool.is_shutdown() {
        std::thread::yield_now();
    }
    gate.wait();
    let cancelled = shutting.join().expect("shutdown thread");
    held.join()?;
    let reported = queued
        .into_iter()
        .filter_map(|h| h.join().err())
        .filter(JoinError::is_cancelled)
        .count();
    println!(
        "   shutdown_now cancelled {cancelled} queued tasks; {reported} handles report Cancelled"
    );
    match pool.try_spawn(|| ()) {
        Err(SpawnError::Shutdown(_)) => {
            println!("   a later try_spawn -> Shutdown, closure handed back")
        }
        _ => println!("   unexpected: the pool accepted work after shutdown"),
    }
    Ok(())
}
