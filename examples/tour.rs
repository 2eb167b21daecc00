//! A short tour of corepool on real CPU-bound work: the data-parallel functions, backpressure
//! and shutdown. Every step checks its answer and the example panics on a wrong one.
//!
//! Run with `cargo run --release --example tour`.
//!
//! 1. Sorting a million integers with `par_sort_unstable`, and records by key with the stable
//!    `par_sort_by_key`, on a pool with one worker per core and on a one-thread pool (the
//!    speedup is printed, not asserted: it depends on the machine and its load).
//! 2. Checksums of a generated 16 MiB buffer: per-chunk digests with `par_map`, a byte sum with
//!    `par_reduce`, a byte histogram with `par_fold`.
//! 3. Word counts of a generated text with a parallel-iterator chain, written as for rayon
//!    (`par_lines` → `flat_map_iter` → `fold` into a `HashMap` → `reduce`), and the first long
//!    word in text order with `find_first`.
//! 4. Parsing the lines of a CSV text with `par_bounded`: a reader's lines cannot be split, so
//!    they are pulled one at a time with at most 64 in flight, parsed in parallel, and handed
//!    to the sink in input order.
//! 5. Backpressure: `try_spawn` on a full queue hands the closure back.
//! 6. Shutdown: `shutdown_now` cancels what is queued and reports how many.
//! 7. The pool's metrics: counters, utilization, latency percentiles.

use corepool::{JoinError, Pool, SpawnError};
use std::io::BufRead;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const SORT_LEN: usize = 1_000_000;
const BUFFER_LEN: usize = 16 << 20;
const CHECKSUM_CHUNK: usize = 256 << 10;
const CSV_LINES: u64 = 50_000;
const IN_FLIGHT: usize = 64;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = Pool::builder().build()?;
    let single = Pool::builder().threads(1).build()?;
    let threads = pool.threads();
    println!("corepool tour: {threads} workers (one per core)\n");

    println!("1. sorting {SORT_LEN} pseudo-random u64");
    let input = random_u64s(SORT_LEN, 0x5EED);
    let mut expected = input.clone();
    expected.sort_unstable();
    let (t_one, sorted_one) = time(|| sorted_on(&single, &input));
    let (t_all, sorted_all) = time(|| sorted_on(&pool, &input));
    assert_eq!(sorted_one, expected, "the one-thread pool sorted correctly");
    assert_eq!(sorted_all, expected, "the full pool sorted correctly");
    report("par_sort_unstable", t_one, t_all, threads);

    // A stable sort keeps records with equal keys in their original order: sort by a key with
    // few distinct values and check that the sequence numbers still rise within each key.
    let mut records: Vec<(u8, usize)> = input
        .iter()
        .enumerate()
        .map(|(seq, &x)| ((x % 16) as u8, seq))
        .collect();
    pool.par_sort_by_key(&mut records, |&(key, _)| key);
    assert!(
        records
            .windows(2)
            .all(|w| w[0].0 < w[1].0 || (w[0].0 == w[1].0 && w[0].1 < w[1].1)),
        "par_sort_by_key is stable"
    );
    println!(
        "   par_sort_by_key: {} records by a 4-bit key, stable\n",
        records.len()
    );

    println!(
        "2. checksums of a {} MiB generated buffer",
        BUFFER_LEN >> 20
    );
    let buffer = generate_buffer(BUFFER_LEN);
    let (t_one, digest_one) = time(|| checksum_on(&single, &buffer));
    let (t_all, digest_all) = time(|| checksum_on(&pool, &buffer));
    let digest_seq = combine(buffer.chunks(CHECKSUM_CHUNK).map(fnv1a));
    assert_eq!(
        digest_one, digest_seq,
        "one-thread pool agrees with sequential"
    );
    assert_eq!(digest_all, digest_seq, "full pool agrees with sequential");
    report("par_map digests", t_one, t_all, threads);

    let byte_sum = pool.par_reduce(&buffer, || 0u64, |&b| u64::from(b), |a, b| a + b);
    let histogram = pool.par_fold(
        &buffer,
        || [0u64; 256],
        |mut h, &b| {
            h[usize::from(b)] += 1;
            h
        },
        |mut a, b| {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
            a
        },
    );
    assert_eq!(
        byte_sum,
        buffer.iter().map(|&b| u64::from(b)).sum::<u64>(),
        "par_reduce agrees with a sequential sum"
    );
    assert_eq!(histogram.iter().sum::<u64>(), BUFFER_LEN as u64);
    assert_eq!(
        histogram
            .iter()
            .enumerate()
            .map(|(b, n)| b as u64 * n)
            .sum::<u64>(),
        byte_sum,
        "the histogram and the sum describe the same bytes"
    );
    println!("   digest {digest_all:#018x}, byte sum {byte_sum} (par_reduce), histogram (par_fold) agrees\n");

    println!("3. word counts with a parallel-iterator chain (`use corepool::prelude::*`)");
    iterator_demo(&pool);

    println!("4. parsing {CSV_LINES} CSV lines with par_bounded, at most {IN_FLIGHT} in flight");
    lines_demo(&pool)?;

    println!("5. backpressure: a pool with one worker and a queue of 2");
    backpressure_demo()?;

    println!("\n6. shutdown_now cancels queued work and says how much");
    shutdown_demo()?;

    println!("\n7. the main pool's metrics after all of the above");
    for line in pool.metrics().to_string().lines() {
        println!("   {line}");
    }
    Ok(())
}

/// Word counts of a generated text, as a rayon user writes them, checked against a sequential
/// count; then the first long word in text order.
fn iterator_demo(pool: &Pool) {
    use corepool::prelude::*;
    use std::collections::HashMap;

    const WORDS: [&str; 6] = ["alpha", "beta", "gamma", "delta", "kappa", "epsilon"];
    let text: String = random_u64s(400_000, 3)
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let sep = if i % 12 == 11 { '\n' } else { ' ' };
            format!("{}{sep}", WORDS[(r % 6) as usize])
        })
        .collect();
    let (took, counts) = time(|| {
        pool.install(|| {
            text.par_lines()
                .flat_map_iter(str::split_whitespace)
                .fold(HashMap::new, |mut m, w| {
                    *m.entry(w).or_insert(0u64) += 1;
                    m
                })
                .reduce(HashMap::new, |mut a, b| {
                    for (w, n) in b {
                        *a.entry(w).or_insert(0) += n;
                    }
                    a
                })
        })
    });
    let mut expected: HashMap<&str, u64> = HashMap::new();
    for w in text.split_whitespace() {
        *expected.entry(w).or_insert(0) += 1;
    }
    assert_eq!(
        counts, expected,
        "the chain counts what a sequential loop counts"
    );
    let first_long = pool.install(|| text.par_split_whitespace().find_first(|w| w.len() > 5));
    assert_eq!(first_long, text.split_whitespace().find(|w| w.len() > 5));
    println!(
        "   {} words, {} distinct, counted in {:.1} ms; first word longer than 5: {:?}\n",
        expected.values().sum::<u64>(),
        counts.len(),
        took.as_secs_f64() * 1e3,
        first_long.unwrap_or("none"),
    );
}

fn time<R>(f: impl FnOnce() -> R) -> (Duration, R) {
    let start = Instant::now();
    let r = f();
    (start.elapsed(), r)
}

fn report(what: &str, one: Duration, all: Duration, threads: usize) {
    println!(
        "   {what}: one thread {:.1} ms, {threads} threads {:.1} ms, speedup {:.2}x\n",
        one.as_secs_f64() * 1e3,
        all.as_secs_f64() * 1e3,
        one.as_secs_f64() / all.as_secs_f64(),
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

fn sorted_on(pool: &Pool, input: &[u64]) -> Vec<u64> {
    let mut data = input.to_vec();
    pool.par_sort_unstable(&mut data);
    data
}

fn generate_buffer(len: usize) -> Vec<u8> {
    let words = random_u64s(len / 8, 0xB0FF);
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// FNV-1a per chunk (in parallel), chunk digests combined in order: the same answer on any
/// pool size.
fn checksum_on(pool: &Pool, buffer: &[u8]) -> u64 {
    let chunks = buffer.len().div_ceil(CHECKSUM_CHUNK);
    let digests = pool.par_map(0..chunks, |i| {
        let end = ((i + 1) * CHECKSUM_CHUNK).min(buffer.len());
        fnv1a(&buffer[i * CHECKSUM_CHUNK..end])
    });
    combine(digests)
}

fn combine(digests: impl IntoIterator<Item = u64>) -> u64 {
    digests.into_iter().fold(0xCBF2_9CE4_8422_2325, |acc, d| {
        (acc ^ d).wrapping_mul(0x100_0000_01B3)
    })
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
    })
}

/// One record of the CSV text: `id,name,amount`.
#[derive(Debug, PartialEq)]
struct Record {
    id: u64,
    amount: u64,
}

fn parse(line: &str) -> Result<Record, String> {
    let mut fields = line.split(',');
    let mut field = |name| {
        fields
            .next()
            .ok_or_else(|| format!("no {name} in {line:?}"))
    };
    let id = field("id")?.parse().map_err(|e| format!("id: {e}"))?;
    let _name = field("name")?;
    let amount = field("amount")?
        .parse()
        .map_err(|e| format!("amount: {e}"))?;
    Ok(Record { id, amount })
}

fn lines_demo(pool: &Pool) -> Result<(), Box<dyn std::error::Error>> {
    // Any `BufRead` would do (a file, a socket); an in-memory text keeps the tour self-contained.
    let text: String = (0..CSV_LINES)
        .map(|id| format!("{id},customer-{},{}\n", id % 97, id * 3 % 1000))
        .collect();
    let reader = std::io::Cursor::new(text.into_bytes());

    let mut records = Vec::new();
    let mut errors = Vec::new();
    pool.par_bounded(reader.lines(), IN_FLIGHT).map_ordered(
        |line| parse(&line.map_err(|e| e.to_string())?),
        |parsed| match parsed {
            Ok(record) => records.push(record),
            Err(e) => errors.push(e),
        },
    );
    assert!(errors.is_empty(), "every line parses: {errors:?}");
    assert_eq!(records.len() as u64, CSV_LINES);
    assert!(
        records.iter().zip(0..).all(|(r, id)| r.id == id),
        "map_ordered hands results to the sink in input order"
    );
    let total: u64 = records.iter().map(|r| r.amount).sum();
    assert_eq!(total, (0..CSV_LINES).map(|id| id * 3 % 1000).sum::<u64>());
    println!(
        "   {} records in input order, amounts total {total}\n",
        records.len()
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
    // Once the worker has taken the held task off the queue, it stays inside it until the
    // gate opens, so the next two tasks fill the queue and stay there.
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
            let value = closure();
            assert_eq!(value, "the refused task");
            println!("   try_spawn -> Full: the closure came back; ran it here: {value:?}");
        }
        Err(other) => panic!("try_spawn on a full queue: expected Full, got {other}"),
        Ok(_) => panic!("try_spawn on a full queue was accepted"),
    }
    let timeout = Duration::from_millis(50);
    match pool.task().timeout(timeout).spawn(|| 0) {
        Err(err) => {
            assert!(
                err.is_full(),
                "task().timeout(..): expected Full, got {err}"
            );
            println!("   task().timeout({timeout:?}).spawn(..) -> {err}");
        }
        Ok(_) => panic!("a spawn with a timeout on a full queue was accepted"),
    }
    gate.wait();
    assert_eq!(held.join()?, "the held task");
    let values: Result<Vec<_>, JoinError> = queued.into_iter().map(|h| h.join()).collect();
    let values = values?;
    assert_eq!(values, [0, 1]);
    println!("   released; the queued tasks ran: {values:?}");
    Ok(())
}

fn shutdown_demo() -> Result<(), Box<dyn std::error::Error>> {
    const QUEUED: usize = 10;
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
    let queued: Vec<_> = (0..QUEUED).map(|i| pool.spawn(move || i)).collect();
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
    assert_eq!(
        cancelled, QUEUED,
        "shutdown_now cancelled every queued task"
    );
    assert_eq!(reported, QUEUED, "every cancelled handle says so");
    println!(
        "   shutdown_now cancelled {cancelled} queued tasks; {reported} handles report Cancelled"
    );
    match pool.try_spawn(|| ()) {
        Err(SpawnError::Shutdown(_)) => {
            println!("   a later try_spawn -> Shutdown, closure handed back")
        }
        _ => panic!("the pool accepted work after shutdown"),
    }
    Ok(())
}
