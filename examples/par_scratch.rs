use corepool::{Pinning, Pool};
use rayon::prelude::*;
use std::time::Instant;
fn med(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}
#[inline(always)]
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
const N: usize = 100_000;
fn skewed(i: usize) -> u64 {
    let r = 1 + i * 999 / N;
    let mut x = i as u64;
    for _ in 0..r {
        x = mix(x)
    }
    x
}
fn scope_map(input: &[usize], threads: usize) -> Vec<u64> {
    let mut out = vec![0; input.len()];
    let chunk = input.len().div_ceil(threads);
    std::thread::scope(|s| {
        for (i, o) in input.chunks(chunk).zip(out.chunks_mut(chunk)) {
            s.spawn(move || {
                for (o, x) in o.iter_mut().zip(i) {
                    *o = skewed(*x)
                }
            });
        }
    });
    out
}
fn main() {
    let pinned = Pool::builder().build().unwrap();
    let unpinned = Pool::builder().pinning(Pinning::None).build().unwrap();
    let inp: Vec<usize> = (0..N).collect();
    let reps = 9;
    let mut r: Vec<Vec<f64>> = vec![vec![]; 5];
    for _ in 0..reps {
        let t = Instant::now();
        std::hint::black_box(pinned.par_map(&inp, |&i| skewed(i)));
        r[0].push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        std::hint::black_box(unpinned.par_map(&inp, |&i| skewed(i)));
        r[1].push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        std::hint::black_box(inp.par_iter().map(|&i| skewed(i)).collect::<Vec<_>>());
        r[2].push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        std::hint::black_box(scope_map(&inp, 2));
        r[3].push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        std::hint::black_box(inp.iter().map(|&i| skewed(i)).collect::<Vec<_>>());
        r[4].push(t.elapsed().as_secs_f64() * 1e3);
    }
    let m: Vec<f64> = r.into_iter().map(med).collect();
    println!(
        "skew: pinned {:.1} unpinned {:.1} rayon {:.1} scope {:.1} seq {:.1} (ideal {:.1})",
        m[0],
        m[1],
        m[2],
        m[3],
        m[4],
        m[4] / 2.0
    );
}
