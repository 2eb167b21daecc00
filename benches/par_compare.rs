//! corepool's data-parallel operations against rayon and hand-chunked `std::thread::scope`.
//!
//! ```text
//! cargo bench --bench par_compare -- --full          # 5 rounds after one warm-up round
//! cargo bench --bench par_compare -- --rounds N
//! ```
//!
//! With no arguments of its own (a plain `cargo bench` passes only `--bench`) it prints this
//! usage and runs nothing: the full sizes take about a minute per round.
//!
//! Workloads (issue #8):
//! - uniform map: 20M `u64`, one splitmix64 round each, collected into a `Vec`;
//! - skewed map: 100k items whose cost grows with the index (1 to 1000 splitmix64 rounds);
//! - sort: 10M random `u64`, stable (`par_sort`) and unstable (`par_sort_unstable`);
//! - sum-reduce: 100M `u64`.
//!
//! Each round runs every system once, in turn (so a burst of load from elsewhere hits all of
//! them alike); 5 rounds after one warm-up round; the table shows medians. `--rounds N` changes
//! the number of rounds; set `COREPOOL_NO_PIN=1` to run corepool's workers unpinned like
//! rayon's and `thread::scope`'s threads.

mod workloads;
use corepool::Pool;
use rayon::prelude::*;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use workloads::mix;

const UNIFORM_LEN: usize = 20_000_000;
const SKEW_LEN: usize = 100_000;
const SKEW_MAX_ROUNDS: usize = 1000;
const SORT_LEN: usize = 10_000_000;
const SUM_LEN: usize = 100_000_000;

/// The cost of item `i` of the skewed map, in rounds.
#[inline]
fn skew_rounds(i: usize) -> usize {
    1 + i * (SKEW_MAX_ROUNDS - 1) / SKEW_LEN
}

/// Item `i` of the skewed map: 1 round at the start, `SKEW_MAX_ROUNDS` at the end.
#[inline]
fn skewed(i: usize) -> u64 {
    let rounds = skew_rounds(i);
    let mut x = i as u64;
    for _ in 0..rounds {
        x = mix(x);
    }
    x
}

/// Hand-chunked map: one equal slice of the input per thread.
fn scope_map<T: Sync, U: Send + Copy + Default>(
    input: &[T],
    threads: usize,
    f: impl Fn(&T) -> U + Sync,
) -> Vec<U> {
    let mut out = vec![U::default(); input.len()];
    let chunk = input.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for (inp, outp) in input.chunks(chunk).zip(out.chunks_mut(chunk)) {
            let f = &f;
            s.spawn(move || {
                for (o, x) in outp.iter_mut().zip(inp) {
                    *o = f(x);
                }
            });
        }
    });
    out
}

fn scope_sum(input: &[u64], threads: usize) -> u64 {
    let chunk = input.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = input
            .chunks(chunk)
            .map(|c| s.spawn(move || c.iter().sum::<u64>()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

struct Row {
    name: &'static str,
    /// (system, samples)
    systems: Vec<(&'static str, Vec<Duration>)>,
    target: &'static str,
}

fn median(samples: &[Duration]) -> Duration {
    let mut s = samples.to_vec();
    s.sort();
    s[s.len() / 2]
}

fn time<R>(f: impl FnOnce() -> R) -> (Duration, R) {
    let start = Instant::now();
    let r = black_box(f());
    (start.elapsed(), r)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".into())
}

const USAGE: &str = "usage: cargo bench --bench par_compare -- --full | --rounds N";

/// The number of rounds asked for, or `None` when this run is not for us (no arguments of ours:
/// a plain `cargo bench`, a name filter, criterion's flags). Exits on a malformed request.
fn rounds_requested() -> Option<usize> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` appends `--bench`; it is not ours.
    let from_cargo_bench = args.iter().any(|a| a == "--bench");
    args.retain(|a| a != "--bench");
    let mut rounds = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--full" => rounds = Some(rounds.unwrap_or(5)),
            "--rounds" => {
                let n = it.next().and_then(|s| s.parse().ok()).filter(|&n| n > 0);
                rounds = Some(n.unwrap_or_else(|| {
                    eprintln!("{USAGE}");
                    std::process::exit(2)
                }));
            }
            _ if from_cargo_bench => return None,
            _ => {
                eprintln!("{USAGE}");
                std::process::exit(2)
            }
        }
    }
    rounds
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(rounds) = rounds_requested() else {
        println!(
            "par_compare: nothing run (it sorts and maps tens of millions of items):\n{USAGE}"
        );
        return Ok(());
    };
    let pool = Pool::builder().build()?;
    let threads = pool.threads();
    let rayon_threads = rayon::current_num_threads();
    let pinned = std::env::var(corepool::NO_PIN_ENV).map_or(true, |v| v.is_empty() || v == "0");
    println!(
        "par_compare: corepool {threads} workers ({}), rayon {rayon_threads} threads, \
         thread::scope {threads} threads; {rounds} rounds + 1 warm-up; load average {}",
        if pinned { "pinned" } else { "unpinned" },
        load_average()
    );

    let uniform_in: Vec<u64> = (0..UNIFORM_LEN as u64).collect();
    let skew_in: Vec<usize> = (0..SKEW_LEN).collect();
    let sort_in: Vec<u64> = (0..SORT_LEN as u64).map(|i| mix(i ^ 0x5EED)).collect();
    let sum_in: Vec<u64> = (0..SUM_LEN as u64).collect();

    // Correctness first, untimed.
    let expect = scope_map(&uniform_in, threads, |&x| mix(x));
    assert_eq!(pool.par_map(&uniform_in, |&x| mix(x)), expect);
    assert_eq!(
        uniform_in.par_iter().map(|&x| mix(x)).collect::<Vec<_>>(),
        expect
    );
    drop(expect);
    let expect = scope_map(&skew_in, threads, |&i| skewed(i));
    assert_eq!(pool.par_map(&skew_in, |&i| skewed(i)), expect);
    drop(expect);
    let mut sorted = sort_in.clone();
    sorted.sort_unstable();
    let mut v = sort_in.clone();
    pool.par_sort(&mut v);
    assert_eq!(v, sorted);
    let mut v = sort_in.clone();
    pool.par_sort_unstable(&mut v);
    assert_eq!(v, sorted);
    drop((v, sorted));
    let sum_expect: u64 = sum_in.iter().sum();
    assert_eq!(
        pool.par_reduce(&sum_in, || 0, |&x| x, |a, b| a + b),
        sum_expect
    );

    let mut rows = vec![
        Row {
            name: "uniform map 20M",
            systems: vec![("corepool", vec![]), ("rayon", vec![]), ("scope", vec![])],
            target: "≤ 1.02× scope, ≤ rayon",
        },
        Row {
            name: "skewed map 100k (1–1000×)",
            systems: vec![("corepool", vec![]), ("rayon", vec![]), ("scope", vec![])],
            target: "≤ 0.8× scope, ≤ rayon",
        },
        Row {
            name: "sort 10M u64, stable",
            systems: vec![("corepool", vec![]), ("rayon", vec![])],
            target: "≤ rayon",
        },
        Row {
            name: "sort 10M u64, unstable",
            systems: vec![("corepool", vec![]), ("rayon", vec![])],
            target: "≤ rayon",
        },
        Row {
            name: "sum-reduce 100M u64",
            systems: vec![("corepool", vec![]), ("rayon", vec![]), ("scope", vec![])],
            target: "≤ rayon",
        },
    ];

    for round in 0..=rounds {
        let warm_up = round == 0;
        let mut record = |row: usize, sys: usize, d: Duration| {
            if !warm_up {
                rows[row].systems[sys].1.push(d);
            }
        };
        // Alternate which system goes first, so none always runs right after another's
        // allocation churn.
        let order: [usize; 3] = match round % 3 {
            0 => [0, 1, 2],
            1 => [1, 2, 0],
            _ => [2, 0, 1],
        };
        for &sys in &order {
            let (d, _) = match sys {
                0 => time(|| pool.par_map(&uniform_in, |&x| mix(x))),
                1 => time(|| uniform_in.par_iter().map(|&x| mix(x)).collect::<Vec<_>>()),
                _ => time(|| scope_map(&uniform_in, threads, |&x| mix(x))),
            };
            record(0, sys, d);
        }
        for &sys in &order {
            let (d, _) = match sys {
                0 => time(|| pool.par_map(&skew_in, |&i| skewed(i))),
                1 => time(|| skew_in.par_iter().map(|&i| skewed(i)).collect::<Vec<_>>()),
                _ => time(|| scope_map(&skew_in, threads, |&i| skewed(i))),
            };
            record(1, sys, d);
        }
        for &sys in order.iter().filter(|&&s| s < 2) {
            let mut v = sort_in.clone();
            let (d, _) = match sys {
                0 => time(|| pool.par_sort(&mut v)),
                _ => time(|| v.par_sort()),
            };
            record(2, sys, d);
            let mut v = sort_in.clone();
            let (d, _) = match sys {
                0 => time(|| pool.par_sort_unstable(&mut v)),
                _ => time(|| v.par_sort_unstable()),
            };
            record(3, sys, d);
        }
        for &sys in &order {
            let (d, s) = match sys {
                0 => time(|| pool.par_reduce(&sum_in, || 0, |&x| x, |a, b| a + b)),
                1 => time(|| sum_in.par_iter().sum::<u64>()),
                _ => time(|| scope_sum(&sum_in, threads)),
            };
            assert_eq!(s, sum_expect);
            record(4, sys, d);
        }
        if !warm_up {
            eprintln!(
                "round {round}/{rounds} done (load average {})",
                load_average()
            );
        }
    }

    println!();
    println!(
        "| workload | corepool | rayon | scope | corepool / rayon | corepool / scope | target |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|");
    for row in &rows {
        let med: Vec<f64> = row
            .systems
            .iter()
            .map(|(_, s)| median(s).as_secs_f64() * 1e3)
            .collect();
        let scope = med.get(2).copied();
        println!(
            "| {} | {:.1} ms | {:.1} ms | {} | {:.2} | {} | {} |",
            row.name,
            med[0],
            med[1],
            scope.map_or("–".to_string(), |s| format!("{s:.1} ms")),
            med[0] / med[1],
            scope.map_or("–".to_string(), |s| format!("{:.2}", med[0] / s)),
            row.target
        );
    }
    println!(
        "\nmedians of {rounds} rounds; load average at the end {}",
        load_average()
    );

    // How evenly the skewed map ended: each worker notes when it finished its last item; the
    // idle tail is how long the first one to run out of work waited for the map to end, as a
    // share of the whole run. Less sensitive to the machine's load than the times above.
    let tail = |ends: &[AtomicU64]| -> String {
        let ends: Vec<u64> = ends.iter().map(|a| a.load(Ordering::Relaxed)).collect();
        let (first, last) = (ends.iter().min().unwrap(), ends.iter().max().unwrap());
        format!("{:.1}%", (last - first) as f64 * 100.0 / *last as f64)
    };
    let note_end = |ends: &[AtomicU64], worker: usize, start: Instant| {
        ends[worker].fetch_max(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
    };
    let ours: Vec<AtomicU64> = (0..threads).map(|_| AtomicU64::new(0)).collect();
    let start = Instant::now();
    pool.par_map(&skew_in, |&i| {
        let r = skewed(i);
        note_end(
            &ours,
            pool.current_thread_index().expect("on the pool"),
            start,
        );
        r
    });
    let theirs: Vec<AtomicU64> = (0..rayon_threads).map(|_| AtomicU64::new(0)).collect();
    let start = Instant::now();
    skew_in
        .par_iter()
        .map(|&i| {
            let r = skewed(i);
            note_end(
                &theirs,
                rayon::current_thread_index().expect("on rayon"),
                start,
            );
            r
        })
        .collect::<Vec<_>>();
    let static_split: Vec<AtomicU64> = (0..threads).map(|_| AtomicU64::new(0)).collect();
    let chunk = SKEW_LEN.div_ceil(threads);
    let start = Instant::now();
    scope_map(&skew_in, threads, |&i| {
        let r = skewed(i);
        note_end(&static_split, i / chunk, start);
        r
    });
    println!(
        "skewed map, idle tail (first worker out of work until the end, share of the run): \
         corepool {}, rayon {}, scope {}",
        tail(&ours),
        tail(&theirs),
        tail(&static_split)
    );
    Ok(())
}
