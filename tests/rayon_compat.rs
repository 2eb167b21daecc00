//! A small program written for `rayon::prelude` compiles unchanged against `corepool::prelude`
//! and gives the same results.
//!
//! The program's source is written once, inside the `rayon_program!` macro, and expanded twice:
//! in a module that says `use rayon::prelude::*;` and in one that says
//! `use corepool::prelude::*;`. Nothing else differs, so if corepool lacked a trait, a method or
//! a compatible signature that the program uses, this file would not compile. The test then runs
//! both and compares every result (rayon's on its global pool; corepool's on its global pool and
//! inside `install` on pools of 1 and 5 threads).
//!
//! The program also uses the idioms that first did not compile against corepool (extending and
//! collecting from references, `try_for_each_with` / `try_for_each_init`, `while_some`,
//! `par_drain`): each line of it is proof that the form now compiles.

use corepool::{Pinning, Pool};

/// Everything the program computes, compared field by field.
#[derive(Debug, PartialEq)]
pub struct Report {
    squares_of_evens: Vec<u64>,
    dot: f64,
    sorted: Vec<u32>,
    sorted_by_key: Vec<(u8, u32)>,
    chunk_sums: Vec<u64>,
    doubled: Vec<i64>,
    range_sum: u64,
    inclusive_count: usize,
    word_counts: Vec<(String, usize)>,
    line_count: usize,
    longest_line: Option<String>,
    first_big: Option<usize>,
    any_negative: bool,
    all_small: bool,
    extended: Vec<u32>,
    partitioned: (Vec<u32>, Vec<u32>),
    unzipped: (Vec<u32>, Vec<String>),
    flat: Vec<u32>,
    min_by_key: Option<(usize, u32)>,
    max: Option<u32>,
    joined: String,
    bridged: Vec<u32>,
    chunked: Vec<Vec<u32>>,
    windows_increasing: usize,
    reduced: Option<u64>,
    extras: Vec<u64>,
}

/// The rayon program. Its body is ordinary rayon code: only the `use` line in front of each
/// expansion picks the library.
macro_rules! rayon_program {
    () => {
        use std::collections::HashMap;

        pub fn run(text: &str, xs: &[f64], ys: &[f64], numbers: &[u32]) -> super::Report {
            // map / filter / collect
            let squares_of_evens: Vec<u64> = numbers
                .par_iter()
                .filter(|&&n| n % 2 == 0)
                .map(|&n| u64::from(n) * u64::from(n))
                .collect();

            // zip / sum: a dot product (the partial sums are integers, so exact in any order)
            let dot: f64 = xs.par_iter().zip(ys).map(|(x, y)| x * y).sum();

            // par_sort and friends
            let mut sorted = numbers.to_vec();
            sorted.par_sort();
            let mut sorted_by_key: Vec<(u8, u32)> =
                numbers.iter().map(|&n| ((n % 7) as u8, n)).collect();
            sorted_by_key.par_sort_by_key(|p| p.0);
            let mut unstable = numbers.to_vec();
            unstable.par_sort_unstable_by(|a, b| b.cmp(a));
            assert!(unstable.windows(2).all(|w| w[0] >= w[1]));

            // par_chunks_mut: each chunk replaced by its running sum, then summed per chunk
            let mut prefix: Vec<u64> = numbers.iter().map(|&n| u64::from(n)).collect();
            prefix.par_chunks_mut(16).for_each(|chunk| {
                for i in 1..chunk.len() {
                    chunk[i] += chunk[i - 1];
                }
            });
            let chunk_sums: Vec<u64> = prefix.par_chunks(16).map(|c| *c.last().unwrap()).collect();

            // par_iter_mut
            let mut doubled: Vec<i64> = numbers.iter().map(|&n| i64::from(n) - 500).collect();
            doubled.par_iter_mut().for_each(|x| *x *= 2);

            // into_par_iter on ranges
            let range_sum: u64 = (0..100_000u64).into_par_iter().map(|x| x % 1000).sum();
            let inclusive_count = (1..=5000u32).into_par_iter().filter(|x| x % 3 == 0).count();

            // fold / reduce into a HashMap: word frequencies over par_lines
            let counts: HashMap<String, usize> = text
                .par_lines()
                .flat_map_iter(|line| line.split_whitespace())
                .fold(HashMap::new, |mut map, word| {
                    *map.entry(word.to_lowercase()).or_insert(0) += 1;
                    map
                })
                .reduce(HashMap::new, |mut a, b| {
                    for (word, n) in b {
                        *a.entry(word).or_insert(0) += n;
                    }
                    a
                });
            let mut word_counts: Vec<(String, usize)> = counts.into_iter().collect();
            word_counts.sort();
            let line_count = text.par_lines().count();
            let longest_line = text
                .par_lines()
                .max_by_key(|l| l.chars().count())
                .map(str::to_string);

            // searches
            let first_big = numbers.par_iter().position_first(|&n| n > 900);
            let any_negative = doubled.par_iter().any(|&x| x < 0);
            let all_small = numbers.par_iter().all(|&n| n < 1000);

            // extend, partition, unzip, flat_map, min/max
            let mut extended = vec![1u32, 2, 3];
            extended.par_extend(numbers.par_iter().filter(|&&n| n < 50).cloned());
            // From references: `ParallelExtend<&T>`.
            let partitioned: (Vec<u32>, Vec<u32>) = numbers.par_iter().partition(|&&n| n % 3 == 0);
            extended.par_extend(numbers[..5].par_iter());
            let unzipped: (Vec<u32>, Vec<String>) =
                numbers.par_iter().map(|&n| (n, n.to_string())).unzip();
            let flat: Vec<u32> = numbers
                .par_iter()
                .take(100)
                .flat_map(|&n| (0..n % 4).into_par_iter())
                .collect();
            let min_by_key = numbers
                .par_iter()
                .copied()
                .enumerate()
                .min_by_key(|&(_, n)| n % 100);
            let max = numbers.par_iter().copied().max();

            // strings, par_bridge, chunks, windows, reduce_with
            let joined: String = numbers.par_iter().take(50).map(|n| n.to_string()).collect();
            let mut bridged: Vec<u32> = numbers
                .iter()
                .copied()
                .par_bridge()
                .map(|n| n + 1)
                .collect();
            bridged.sort(); // rayon's par_bridge does not keep order
            let chunked: Vec<Vec<u32>> = numbers.par_iter().copied().chunks(100).collect();
            let windows_increasing = numbers.par_windows(2).filter(|w| w[0] < w[1]).count();
            let reduced = numbers
                .par_iter()
                .map(|&n| u64::from(n))
                .reduce_with(|a, b| a.max(b));

            // more everyday idioms, gathered into one list of numbers
            let mut marked = numbers.to_vec();
            marked
                .par_iter_mut()
                .enumerate()
                .for_each(|(i, x)| *x += i as u32);
            let try_ok: Result<(), u32> =
                numbers
                    .par_iter()
                    .try_for_each(|&n| if n < 1000 { Ok(()) } else { Err(n) });
            let least_x = xs
                .par_iter()
                .copied()
                .min_by(|a, b| a.partial_cmp(b).unwrap());
            let chars: Vec<char> = text.chars().take(50).collect();
            let from_chars: String = chars.par_iter().collect();
            let mut drained: Vec<u32> = numbers.to_vec();
            let drained_sum: u64 = drained.par_drain(10..20).map(u64::from).sum();
            let until_big: Vec<u32> = numbers
                .par_iter()
                .map(|&n| (n < 990).then_some(n))
                .while_some()
                .collect();
            let tried = numbers.par_iter().try_for_each_with(0u32, |acc, &n| {
                if n < 2000 {
                    *acc += 1;
                    Ok(())
                } else {
                    Err(n)
                }
            });
            let tried_init = numbers
                .par_iter()
                .try_for_each_init(Vec::<u32>::new, |buf, &n| {
                    buf.push(n);
                    if n == u32::MAX {
                        None
                    } else {
                        Some(())
                    }
                });
            let extras: Vec<u64> = vec![
                from_chars.len() as u64,
                drained_sum,
                drained.len() as u64,
                u64::from(until_big.iter().all(|&n| n < 990)),
                u64::from(tried.is_ok()),
                u64::from(tried_init.is_some()),
                u64::from(numbers.par_iter().sum::<u32>()),
                numbers
                    .par_iter()
                    .map(|&n| u64::from(n % 2 + 1))
                    .take(40)
                    .product(),
                numbers
                    .par_iter()
                    .with_min_len(64)
                    .filter(|&&n| n > 10)
                    .count() as u64,
                numbers.par_chunks_exact(7).map(|c| u64::from(c[0])).sum(),
                numbers
                    .par_iter()
                    .map_init(|| 3u64, |k, &n| u64::from(n) * *k)
                    .sum(),
                numbers
                    .par_iter()
                    .copied()
                    .flat_map_iter(|n| vec![n; 2])
                    .count() as u64,
                numbers
                    .par_split(|&n| n % 10 == 0)
                    .filter(|s| s.is_empty())
                    .count() as u64,
                u64::from(marked.par_iter().copied().max().unwrap_or(0)),
                numbers
                    .par_iter()
                    .rev()
                    .enumerate()
                    .map(|(i, &n)| i as u64 * u64::from(n))
                    .sum(),
                numbers.par_iter().copied().step_by(3).map(u64::from).sum(),
                u64::from(try_ok.is_ok()),
                least_x.unwrap_or(-1.0) as u64,
                text.par_split_whitespace()
                    .filter(|w| w.chars().count() > 4)
                    .count() as u64,
                text.par_chars().filter(|c| !c.is_ascii()).count() as u64,
            ];

            super::Report {
                squares_of_evens,
                dot,
                sorted,
                sorted_by_key,
                chunk_sums,
                doubled,
                range_sum,
                inclusive_count,
                word_counts,
                line_count,
                longest_line,
                first_big,
                any_negative,
                all_small,
                extended,
                partitioned,
                unzipped,
                flat,
                min_by_key,
                max,
                joined,
                bridged,
                chunked,
                windows_increasing,
                reduced,
                extras,
            }
        }
    };
}

mod on_rayon {
    use rayon::prelude::*;
    rayon_program!();
}

mod on_corepool {
    use corepool::prelude::*;
    rayon_program!();
}

/// The program's inputs: generated text (several lines, repeated words, multi-byte letters)
/// and numbers, from a fixed seed.
fn inputs() -> (String, Vec<f64>, Vec<f64>, Vec<u32>) {
    let mut state = 0x5eed_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    const WORDS: [&str; 8] = [
        "alpha",
        "Beta",
        "gamma",
        "δέλτα",
        "alpha",
        "ε",
        "日本",
        "beta",
    ];
    let mut text = String::new();
    for line in 0..2000 {
        for _ in 0..(next() % 12) {
            text.push_str(WORDS[(next() % 8) as usize]);
            text.push(if next() % 5 == 0 { '\t' } else { ' ' });
        }
        text.push_str(if line % 3 == 0 { "\r\n" } else { "\n" });
    }
    let xs: Vec<f64> = (0..10_000).map(|_| (next() % 100) as f64).collect();
    let ys: Vec<f64> = (0..10_000).map(|_| (next() % 100) as f64).collect();
    let numbers: Vec<u32> = (0..5000).map(|_| (next() % 1000) as u32).collect();
    (text, xs, ys, numbers)
}

#[test]
fn a_rayon_program_compiles_and_agrees_on_corepool() {
    let (text, xs, ys, numbers) = inputs();
    let on_rayon = on_rayon::run(&text, &xs, &ys, &numbers);
    assert!(
        on_rayon.word_counts.len() > 5 && on_rayon.line_count == 2000,
        "the inputs exercise the program"
    );
    let on_global = on_corepool::run(&text, &xs, &ys, &numbers);
    assert_eq!(on_global, on_rayon, "corepool's global pool");
    for threads in [1, 5] {
        let pool = Pool::builder()
            .threads(threads)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        let on_pool = pool.install(|| on_corepool::run(&text, &xs, &ys, &numbers));
        assert_eq!(on_pool, on_rayon, "corepool pool of {threads} threads");
    }
}
