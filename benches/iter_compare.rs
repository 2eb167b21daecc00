//! corepool's parallel iterators (issue #19) against the same chains on rayon, and against
//! hand-chunked `std::thread::scope` for the uniform ones.
//!
//! ```text
//! cargo bench --bench iter_compare -- --full            # 5 rounds, full sizes
//! cargo bench --bench iter_compare -- --rounds N [--small] [--only ROW]
//! ```
//!
//! Every cell (one chain on one system) runs in a fresh process of this binary, which builds
//! the input (not timed), runs the chain once to warm up, then times one run; the systems of a
//! row are alternated round by round, and the table shows medians. Same thread count for all:
//! the machine's (corepool's default pool, rayon's global pool, one scope thread per core).
//! With no arguments of its own (a plain `cargo bench`) it prints this usage and runs nothing.

mod workloads;
use std::collections::HashMap;
use std::hint::black_box;
use std::process::Command;
use std::time::Instant;
use workloads::mix;

/// The chains, with the systems each runs on.
const ROWS: &[(&str, &[&str])] = &[
    ("map_collect", &["corepool", "rayon", "scope"]),
    ("filter_map_sum", &["corepool", "rayon", "scope"]),
    ("zip_dot", &["corepool", "rayon", "scope"]),
    ("word_freq", &["corepool", "rayon"]),
    ("find_first", &["corepool", "rayon"]),
    ("collect_strings", &["corepool", "rayon"]),
    ("skewed_map", &["corepool", "rayon", "scope"]),
    ("bridge_channel", &["corepool", "rayon"]),
];

/// Sizes: the issue's, or a hundredth of them (`--small`, for a quick look).
struct Sizes {
    map: usize,
    sum: u64,
    dot: usize,
    text_bytes: usize,
    find: u64,
    strings: u64,
    skew: usize,
    bridge: u64,
}

impl Sizes {
    fn new(small: bool) -> Sizes {
        let d = if small { 100 } else { 1 };
        Sizes {
            map: 20_000_000 / d,
            sum: 100_000_000 / d as u64,
            dot: 10_000_000 / d,
            text_bytes: 50_000_000 / d,
            find: 50_000_000 / d as u64,
            strings: 10_000_000 / d as u64,
            skew: 100_000 / d,
            bridge: 1_000_000 / d as u64,
        }
    }
}

/// Item `i` of the skewed map: 1 round at the start, 1000 at the end.
fn skewed(i: usize, len: usize) -> u64 {
    let rounds = 1 + i * 999 / len.max(1);
    (0..rounds).fold(i as u64, |x, _| mix(x))
}

fn threads() -> usize {
    corepool::Pool::builder().build().map_or(1, |p| p.threads())
}

/// Splits `0..len` into one range per thread.
fn chunks(len: usize, threads: usize) -> Vec<std::ops::Range<usize>> {
    let step = len.div_ceil(threads).max(1);
    (0..len)
        .step_by(step)
        .map(|s| s..(s + step).min(len))
        .collect()
}

/// A text of `bytes` bytes: lines of ten words drawn from a 1000-word vocabulary.
fn text(bytes: usize) -> String {
    let words: Vec<String> = (0..1000u64)
        .map(|i| format!("w{:x}", mix(i) % 100_000))
        .collect();
    let mut out = String::with_capacity(bytes + 64);
    let mut i = 0u64;
    while out.len() < bytes {
        for _ in 0..10 {
            out.push_str(&words[(mix(i) % 1000) as usize]);
            out.push(' ');
            i += 1;
        }
        out.push('\n');
    }
    out
}

fn merge<'a>(mut a: HashMap<&'a str, u64>, b: HashMap<&'a str, u64>) -> HashMap<&'a str, u64> {
    if a.len() < b.len() {
        return merge(b, a);
    }
    for (k, n) in b {
        *a.entry(k).or_insert(0) += n;
    }
    a
}

/// The chains, written once and compiled twice: against `corepool::prelude` and against
/// `rayon::prelude` (so this also shows that the same source compiles on both).
macro_rules! chains {
    () => {
        use super::{merge, mix, skewed};
        use std::collections::HashMap;

        pub fn map_collect(input: &[u64]) -> Vec<u64> {
            input.par_iter().map(|&x| mix(x)).collect()
        }
        pub fn filter_map_sum(n: u64) -> u64 {
            (0..n)
                .into_par_iter()
                .filter(|x| x % 3 == 0)
                .map(|x| mix(x) >> 32)
                .sum()
        }
        pub fn zip_dot(a: &[f64], b: &[f64]) -> f64 {
            a.par_iter().zip(b).map(|(x, y)| x * y).sum()
        }
        pub fn word_freq(text: &str) -> HashMap<&str, u64> {
            text.par_lines()
                .flat_map_iter(str::split_whitespace)
                .fold(HashMap::new, |mut m, w| {
                    *m.entry(w).or_insert(0u64) += 1;
                    m
                })
                .reduce(HashMap::new, merge)
        }
        // `usize`: rayon's `u64` ranges are not indexed (corepool's are).
        pub fn find_first(n: usize, hit: usize) -> Option<usize> {
            (0..n)
                .into_par_iter()
                .enumerate()
                .find_first(|&(_, x)| x == hit)
                .map(|(i, _)| i)
        }
        pub fn collect_strings(n: u64) -> Vec<String> {
            (0..n).into_par_iter().map(|i| i.to_string()).collect()
        }
        pub fn skewed_map(input: &[usize]) -> Vec<u64> {
            let len = input.len();
            input.par_iter().map(|&i| skewed(i, len)).collect()
        }
        pub fn bridge_channel(rx: std::sync::mpsc::Receiver<u64>) -> u64 {
            rx.into_iter()
                .par_bridge()
                .map(|x| (0..50).fold(x, |x, _| mix(x)) >> 32)
                .sum()
        }
    };
}

mod on_corepool {
    use corepool::prelude::*;
    chains!();
}

mod on_rayon {
    use rayon::prelude::*;
    chains!();
}

/// Hand-chunked `thread::scope` versions of the uniform chains.
mod on_scope {
    use super::{chunks, mix, skewed};

    pub fn map_collect(input: &[u64], threads: usize) -> Vec<u64> {
        let mut out = vec![0u64; input.len()];
        let step = input.len().div_ceil(threads).max(1);
        std::thread::scope(|s| {
            for (i, o) in input.chunks(step).zip(out.chunks_mut(step)) {
                s.spawn(move || o.iter_mut().zip(i).for_each(|(o, &x)| *o = mix(x)));
            }
        });
        out
    }
    pub fn filter_map_sum(n: u64, threads: usize) -> u64 {
        std::thread::scope(|s| {
            let hs: Vec<_> = chunks(n as usize, threads)
                .into_iter()
                .map(|r| {
                    s.spawn(move || {
                        (r.start as u64..r.end as u64)
                            .filter(|x| x % 3 == 0)
                            .map(|x| mix(x) >> 32)
                            .sum::<u64>()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum()
        })
    }
    pub fn zip_dot(a: &[f64], b: &[f64], threads: usize) -> f64 {
        std::thread::scope(|s| {
            let hs: Vec<_> = chunks(a.len(), threads)
                .into_iter()
                .map(|r| {
                    let (a, b) = (&a[r.clone()], &b[r]);
                    s.spawn(move || a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>())
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum()
        })
    }
    pub fn skewed_map(input: &[usize], threads: usize) -> Vec<u64> {
        let len = input.len();
        let mut out = vec![0u64; len];
        let step = len.div_ceil(threads).max(1);
        std::thread::scope(|s| {
            for (i, o) in input.chunks(step).zip(out.chunks_mut(step)) {
                s.spawn(move || o.iter_mut().zip(i).for_each(|(o, &i)| *o = skewed(i, len)));
            }
        });
        out
    }
}

/// Runs one cell once (after one warm-up run, with its result checked against the sequential
/// one) and returns its time in nanoseconds.
fn cell(row: &str, system: &str, sizes: &Sizes) -> u128 {
    let threads = threads();
    // Each arm: the input (not timed), the run, and a check of its result.
    fn time<R>(run: impl Fn() -> R, check: impl Fn(&R)) -> u128 {
        check(&black_box(run()));
        let start = Instant::now();
        let r = black_box(run());
        let nanos = start.elapsed().as_nanos();
        check(&r);
        nanos
    }
    macro_rules! pick {
        ($f:ident($($arg:expr),*), $check:expr) => {
            match system {
                "corepool" => time(|| on_corepool::$f($($arg),*), $check),
                "rayon" => time(|| on_rayon::$f($($arg),*), $check),
                _ => time(|| on_scope::$f($($arg,)* threads), $check),
            }
        };
    }
    match row {
        "map_collect" => {
            let input: Vec<u64> = (0..sizes.map as u64).collect();
            let want: Vec<u64> = input.iter().map(|&x| mix(x)).collect();
            pick!(map_collect(&input), |r: &Vec<u64>| assert!(*r == want))
        }
        "filter_map_sum" => {
            let n = sizes.sum;
            let want: u64 = (0..n).filter(|x| x % 3 == 0).map(|x| mix(x) >> 32).sum();
            pick!(filter_map_sum(n), |r: &u64| assert_eq!(*r, want))
        }
        "zip_dot" => {
            let a: Vec<f64> = (0..sizes.dot).map(|i| (i % 1000) as f64 * 0.5).collect();
            let b: Vec<f64> = (0..sizes.dot).map(|i| (i % 777) as f64 * 0.25).collect();
            let want: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            pick!(zip_dot(&a, &b), |r: &f64| assert!(
                (r - want).abs() <= want * 1e-9
            ))
        }
        "word_freq" => {
            let text = text(sizes.text_bytes);
            let words = text.split_whitespace().count() as u64;
            let check = |r: &HashMap<&str, u64>| assert_eq!(r.values().sum::<u64>(), words);
            match system {
                "corepool" => time(|| on_corepool::word_freq(&text), check),
                _ => time(|| on_rayon::word_freq(&text), check),
            }
        }
        "find_first" => {
            let (n, hit) = (sizes.find as usize, sizes.find as usize / 10 * 9);
            let check = |r: &Option<usize>| assert_eq!(*r, Some(hit));
            match system {
                "corepool" => time(|| on_corepool::find_first(n, hit), check),
                _ => time(|| on_rayon::find_first(n, hit), check),
            }
        }
        "collect_strings" => {
            let n = sizes.strings;
            let check = |r: &Vec<String>| assert!(r.len() as u64 == n && r[7] == "7");
            match system {
                "corepool" => time(|| on_corepool::collect_strings(n), check),
                _ => time(|| on_rayon::collect_strings(n), check),
            }
        }
        "skewed_map" => {
            let input: Vec<usize> = (0..sizes.skew).collect();
            let want: Vec<u64> = input.iter().map(|&i| skewed(i, input.len())).collect();
            pick!(skewed_map(&input), |r: &Vec<u64>| assert!(*r == want))
        }
        "bridge_channel" => {
            let n = sizes.bridge;
            let want: u64 = (0..n).map(|x| (0..50).fold(x, |x, _| mix(x)) >> 32).sum();
            let run = || {
                let (tx, rx) = std::sync::mpsc::sync_channel(1024);
                let producer = std::thread::spawn(move || (0..n).for_each(|i| tx.send(i).unwrap()));
                let sum = if system == "corepool" {
                    on_corepool::bridge_channel(rx)
                } else {
                    on_rayon::bridge_channel(rx)
                };
                producer.join().unwrap();
                sum
            };
            time(run, |r: &u64| assert_eq!(*r, want))
        }
        other => panic!("iter_compare: no row {other}"),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

const USAGE: &str = "usage: cargo bench --bench iter_compare -- --full | --rounds N \
     [--small] [--only ROW] [--svg PATH]";

/// A bar chart of corepool's time over rayon's (and over `thread::scope`'s) per chain, with
/// the 1.0 line: below it corepool is faster.
fn svg(rows: &[(&str, f64, Option<f64>)]) -> String {
    let (w, row_h, left, top) = (760.0, 34.0, 150.0, 40.0);
    let h = top + row_h * rows.len() as f64 + 40.0;
    let max = rows
        .iter()
        .flat_map(|&(_, r, s)| [r, s.unwrap_or(0.0)])
        .fold(1.5f64, f64::max);
    let x = |v: f64| left + (w - left - 20.0) * v / max;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n\
         <text x=\"{left}\" y=\"20\">corepool time / peer time (lower is better): \
         blue = vs rayon, grey = vs hand-chunked thread::scope</text>\n"
    );
    for (i, &(name, vs_rayon, vs_scope)) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        out += &format!("<text x=\"8\" y=\"{}\">{name}</text>\n", y + 16.0);
        out += &format!(
            "<rect x=\"{left}\" y=\"{y}\" width=\"{}\" height=\"12\" fill=\"#3a6ea5\"/>\
             <text x=\"{}\" y=\"{}\">{vs_rayon:.2}</text>\n",
            x(vs_rayon) - left,
            x(vs_rayon) + 4.0,
            y + 10.0
        );
        if let Some(s) = vs_scope {
            out += &format!(
                "<rect x=\"{left}\" y=\"{}\" width=\"{}\" height=\"12\" fill=\"#999\"/>\
                 <text x=\"{}\" y=\"{}\">{s:.2}</text>\n",
                y + 14.0,
                x(s) - left,
                x(s) + 4.0,
                y + 24.0
            );
        }
    }
    let one = x(1.0);
    out += &format!(
        "<line x1=\"{one}\" y1=\"{}\" x2=\"{one}\" y2=\"{}\" stroke=\"#c00\"/>\n\
         <text x=\"{}\" y=\"{}\" fill=\"#c00\">1.0</text>\n</svg>\n",
        top - 6.0,
        h - 30.0,
        one - 8.0,
        h - 16.0
    );
    out
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let small = args.iter().any(|a| a == "--small");
    if let Some(i) = args.iter().position(|a| a == "--cell") {
        let (row, system) = (&args[i + 1], &args[i + 2]);
        println!("{}", cell(row, system, &Sizes::new(small)));
        return;
    }
    let rounds = if args.iter().any(|a| a == "--full") {
        5
    } else if let Some(i) = args.iter().position(|a| a == "--rounds") {
        match args.get(i + 1).and_then(|s| s.parse().ok()) {
            Some(n) if n > 0 => n,
            _ => {
                eprintln!("{USAGE}");
                std::process::exit(2)
            }
        }
    } else {
        println!("iter_compare: nothing run (it maps tens of millions of items):\n{USAGE}");
        return;
    };
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1));
    let svg_path = args
        .iter()
        .position(|a| a == "--svg")
        .and_then(|i| args.get(i + 1));
    let mut chart = Vec::new();
    let exe = std::env::current_exe().expect("the bench's own path");
    println!(
        "iter_compare: {} threads per system, {rounds} rounds, fresh process per cell{}",
        threads(),
        if small { ", small sizes" } else { "" }
    );
    println!("\n| chain | corepool | rayon | scope | corepool / rayon | corepool / scope |");
    println!("|---|---:|---:|---:|---:|---:|");
    for &(row, systems) in ROWS.iter().filter(|(r, _)| only.map_or(true, |o| o == r)) {
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); systems.len()];
        for round in 0..rounds {
            for k in 0..systems.len() {
                let sys = (round + k) % systems.len();
                let mut cmd = Command::new(&exe);
                cmd.args(["--cell", row, systems[sys]]);
                if small {
                    cmd.arg("--small");
                }
                let out = cmd.output().expect("run a cell");
                assert!(out.status.success(), "{row} on {}: {out:?}", systems[sys]);
                let nanos: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
                samples[sys].push(nanos / 1e6);
            }
        }
        let med: Vec<f64> = samples.into_iter().map(median).collect();
        let scope = med.get(2).copied();
        chart.push((row, med[0] / med[1], scope.map(|s| med[0] / s)));
        println!(
            "| {row} | {:.1} ms | {:.1} ms | {} | {:.2} | {} |",
            med[0],
            med[1],
            scope.map_or("–".into(), |s| format!("{s:.1} ms")),
            med[0] / med[1],
            scope.map_or("–".into(), |s| format!("{:.2}", med[0] / s)),
        );
    }
    if let Some(path) = svg_path {
        std::fs::write(path, svg(&chart)).expect("write the chart");
        println!("\nchart: {path}");
    }
}
