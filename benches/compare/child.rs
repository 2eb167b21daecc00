//! The child side: runs one workload on one system in this fresh process and prints
//! `@@compare <workload> <system> metric=value ...` (values in seconds, CPU-seconds per second,
//! or bytes).

use crate::catalog;
use crate::workloads::{self as w, Sizes};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

const TAG: &str = "@@compare";

/// corepool's injection queue in the offload workload: room for every job, so `spawn` never
/// blocks the tokio thread.
const OFFLOAD_QUEUE: usize = 131_072;

struct Args {
    workload: String,
    system: String,
    quick: bool,
    inner: usize,
    iters5: u64,
    iters1: u64,
}

fn parse(args: &[String]) -> Args {
    let mut it = args.iter();
    let workload = it.next().cloned().unwrap_or_else(|| crate::usage());
    let system = it.next().cloned().unwrap_or_else(|| crate::usage());
    let mut a = Args {
        workload,
        system,
        quick: false,
        inner: 3,
        iters5: 0,
        iters1: 0,
    };
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_else(|| crate::usage());
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--inner" => a.inner = value().parse().unwrap_or_else(|_| crate::usage()),
            "--iters5" => a.iters5 = value().parse().unwrap_or_else(|_| crate::usage()),
            "--iters1" => a.iters1 = value().parse().unwrap_or_else(|_| crate::usage()),
            _ => crate::usage(),
        }
    }
    if a.iters5 == 0 {
        a.iters5 = w::calibrate(Duration::from_micros(5));
    }
    if a.iters1 == 0 {
        a.iters1 = w::calibrate(Duration::from_micros(1));
    }
    a.inner = a.inner.max(1);
    a
}

pub fn main(args: &[String]) {
    let a = parse(args);
    let spec = catalog::workload(&a.workload).unwrap_or_else(|| {
        eprintln!("unknown workload {:?}", a.workload);
        crate::usage()
    });
    if !spec.systems.contains(&a.system.as_str()) {
        eprintln!("workload {} does not run on {:?}", spec.name, a.system);
        crate::usage();
    }
    let sizes = if a.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    let metrics = run(&a, &sizes);
    let fields: Vec<String> = metrics.iter().map(|(k, v)| format!("{k}={v:e}")).collect();
    println!("{TAG} {} {} {}", a.workload, a.system, fields.join(" "));
}

/// Parses a child's stdout.
pub fn parse_result(out: &str) -> Option<BTreeMap<String, f64>> {
    let line = out.lines().find(|l| l.starts_with(TAG))?;
    let mut metrics = BTreeMap::new();
    for field in line.split_whitespace().skip(3) {
        let (k, v) = field.split_once('=')?;
        metrics.insert(k.to_owned(), v.parse().ok()?);
    }
    (!metrics.is_empty()).then_some(metrics)
}

/// Runs `f` once untimed, then `inner` times timed; the median, in seconds. What `f` returns is
/// dropped after the clock stops.
fn timed<R>(inner: usize, mut f: impl FnMut() -> R) -> f64 {
    drop(black_box(f()));
    let mut times: Vec<f64> = (0..inner)
        .map(|_| {
            let start = Instant::now();
            let r = black_box(f());
            let t = start.elapsed().as_secs_f64();
            drop(r);
            t
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let n = times.len();
    if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2.0
    }
}

fn time(v: f64) -> Vec<(&'static str, f64)> {
    vec![("time", v)]
}

fn run(a: &Args, s: &Sizes) -> Vec<(&'static str, f64)> {
    let t = w::threads();
    let sys = a.system.as_str();
    let pin = sys != "corepool-nopin";
    let cp = |queue: Option<usize>| w::corepool_pool(t, pin, queue);
    let inner = a.inner;
    match a.workload.as_str() {
        "fib" => {
            let n = s.fib_n;
            let want = w::fib_expected(n);
            time(match sys {
                "corepool" | "corepool-nopin" => {
                    let pool = cp(None);
                    timed(inner, || {
                        assert_eq!(pool.install(|| w::fib_corepool(black_box(n))), want)
                    })
                }
                "rayon" => {
                    let pool = w::rayon_pool(t);
                    timed(inner, || {
                        assert_eq!(pool.install(|| w::fib_rayon(black_box(n))), want)
                    })
                }
                _ => timed(inner, || assert_eq!(w::fib_seq(black_box(n)), want)),
            })
        }
        "tree_sum" => {
            let (tree, want) = w::build_tree(s.tree_depth);
            let tree: &w::Node = &tree;
            time(match sys {
                "corepool" | "corepool-nopin" => {
                    let pool = cp(None);
                    timed(inner, || {
                        assert_eq!(pool.install(|| w::tree_sum_corepool(black_box(tree))), want)
                    })
                }
                "rayon" => {
                    let pool = w::rayon_pool(t);
                    timed(inner, || {
                        assert_eq!(pool.install(|| w::tree_sum_rayon(black_box(tree))), want)
                    })
                }
                _ => timed(inner, || assert_eq!(w::tree_sum_seq(black_box(tree)), want)),
            })
        }
        "spawn_empty" => {
            let n = s.spawn_tasks;
            let done = w::Countdown::leak();
            time(match sys {
                "corepool" | "corepool-nopin" => {
                    let pool = cp(None);
                    timed(inner, || w::spawn_empty_corepool(&pool, n, done))
                }
                "corepool-detached" => {
                    let pool = cp(None);
                    timed(inner, || w::spawn_empty_corepool_detached(&pool, n, done))
                }
                "rayon" => {
                    let pool = w::rayon_pool(t);
                    timed(inner, || w::spawn_empty_rayon(&pool, n, done))
                }
                "tokio" => {
                    let rt = w::tokio_multi(t, None);
                    timed(inner, || w::spawn_empty_tokio(&rt, n, done))
                }
                _ => {
                    let pool = w::threadpool_pool(t);
                    timed(inner, || w::spawn_empty_threadpool(&pool, n, done))
                }
            })
        }
        "spawn_chain" => {
            let n = s.spawn_tasks / 10;
            let done = w::Countdown::leak();
            time(match sys {
                "corepool" | "corepool-nopin" => {
                    let pool = cp(None);
                    timed(inner, || w::chain_corepool(&pool, n, done))
                }
                "corepool-detached" => {
                    let pool = cp(None);
                    timed(inner, || w::chain_corepool_detached(&pool, n, done))
                }
                "rayon" => {
                    let pool = w::rayon_pool(t);
                    timed(inner, || w::chain_rayon(&pool, n, done))
                }
                _ => {
                    let rt = w::tokio_multi(t, None);
                    timed(inner, || w::chain_tokio(&rt, n, done))
                }
            })
        }
        "nested_spawn" => {
            let counters = w::nested_counters(s.nested_outer);
            let n = s.nested_inner;
            let done = w::Countdown::leak();
            time(match sys {
                "corepool" | "corepool-nopin" => {
                    let pool = cp(None);
                    timed(inner, || w::nested_corepool(&pool, counters, n))
                }
                "rayon" => {
                    let pool = w::rayon_pool(t);
                    timed(inner, || w::nested_rayon(&pool, counters, n))
                }
                _ => {
                    let rt = w::tokio_multi(t, None);
                    timed(inner, || w::nested_tokio(&rt, counters, n, done))
                }
            })
        }
        "map" => {
            let input = w::map_input(s.map_len);
            let input = &input[..];
            let check = |out: Vec<f64>| {
                w::map_check(input, &out);
                out
            };
            time(match sys {
                "corepool" | "corepool-nopin" => {
                    let pool = cp(None);
                    check(w::map_corepool(&pool, input));
                    timed(inner, || w::map_corepool(&pool, black_box(input)))
                }
                "rayon" => {
                    let pool = w::rayon_pool(t);
                    check(w::map_rayon(&pool, input));
                    timed(inner, || w::map_rayon(&pool, black_box(input)))
                }
                "std" => {
                    check(w::map_std(input, t));
                    timed(inner, || w::map_std(black_box(input), t))
                }
                _ => {
                    check(w::map_seq(input));
                    timed(inner, || w::map_seq(black_box(input)))
                }
            })
        }
        "offload" => {
            let (n, iters) = (s.offload_jobs, a.iters5);
            let rt = w::tokio_current(t);
            time(match sys {
                "corepool" | "corepool-nopin" => {
                    let pool = cp(Some(OFFLOAD_QUEUE.max(n)));
                    timed(inner, || w::offload_corepool(&rt, &pool, n, iters))
                }
                "corepool-async" => {
                    let pool = cp(None);
                    timed(inner, || w::offload_corepool_async(&rt, &pool, n, iters))
                }
                "rayon" => {
                    let pool = w::rayon_pool(t);
                    timed(inner, || w::offload_rayon(&rt, &pool, n, iters))
                }
                _ => timed(inner, || w::offload_tokio(&rt, n, iters)),
            })
        }
        "blocking_sleep" => {
            let (n, d) = (s.blocking_tasks, s.blocking_sleep);
            let done = w::Countdown::leak();
            time(match sys {
                "corepool" | "corepool-nopin" => {
                    let pool = cp(None);
                    timed(inner, || w::blocking_corepool(&pool, n, d, done))
                }
                "corepool-blocking" => {
                    let pool = cp(None);
                    timed(inner, || w::blocking_corepool_io(&pool, n, d, done))
                }
                "rayon" => {
                    let pool = w::rayon_pool(t);
                    timed(inner, || w::blocking_rayon(&pool, n, d, done))
                }
                "tokio" => {
                    let rt = w::tokio_multi(t, Some(t));
                    timed(inner, || w::blocking_tokio(&rt, n, d, done))
                }
                "tokio-elastic" => {
                    let rt = w::tokio_multi(t, None);
                    timed(inner, || w::blocking_tokio(&rt, n, d, done))
                }
                _ => {
                    let pool = w::threadpool_pool(t);
                    timed(inner, || w::blocking_threadpool(&pool, n, d, done))
                }
            })
        }
        "wake_latency" => {
            let (n, gap) = (s.wake_samples, s.wake_gap);
            let warm = (n / 20).max(5);
            let mut lat = match sys {
                "corepool" | "corepool-nopin" => {
                    let pool = cp(None);
                    w::wake_latency(n, warm, gap, |p| drop(pool.spawn(move || p.run())))
                }
                "rayon" => {
                    let pool = w::rayon_pool(t);
                    w::wake_latency(n, warm, gap, |p| pool.spawn(move || p.run()))
                }
                "tokio" => {
                    let rt = w::tokio_multi(t, None);
                    w::wake_latency(n, warm, gap, |p| drop(rt.spawn(async move { p.run() })))
                }
                _ => {
                    let pool = w::threadpool_pool(t);
                    w::wake_latency(n, warm, gap, |p| pool.execute(move || p.run()))
                }
            };
            let p50 = w::quantile(&mut lat, 0.50) as f64 * 1e-9;
            let p99 = w::quantile(&mut lat, 0.99) as f64 * 1e-9;
            vec![("p50", p50), ("p99", p99)]
        }
        "idle_cpu" => {
            let window = s.idle_window;
            let done = w::Countdown::leak();
            let warm_spawns = 10_000;
            let measure = |warm: &dyn Fn()| {
                warm();
                let c0 = w::process_cpu_ns().expect("process CPU time (Linux /proc)");
                let start = Instant::now();
                std::thread::sleep(window);
                let c1 = w::process_cpu_ns().expect("process CPU time");
                let wall = start.elapsed().as_secs_f64();
                c1.saturating_sub(c0) as f64 * 1e-9 / wall
            };
            let cpu = match sys {
                "corepool" | "corepool-nopin" => {
                    let pool = cp(None);
                    measure(&|| {
                        w::spawn_empty_corepool(&pool, warm_spawns, done);
                        assert_eq!(pool.install(|| w::fib_corepool(20)), w::fib_expected(20));
                    })
                }
                "rayon" => {
                    let pool = w::rayon_pool(t);
                    measure(&|| {
                        w::spawn_empty_rayon(&pool, warm_spawns, done);
                        assert_eq!(pool.install(|| w::fib_rayon(20)), w::fib_expected(20));
                    })
                }
                "tokio" => {
                    let rt = w::tokio_multi(t, None);
                    measure(&|| w::spawn_empty_tokio(&rt, warm_spawns, done))
                }
                // The floor: an ideal idle pool, `t` threads parked for good, so the measuring
                // thread reads as many schedstat files as for a real pool. It first blocks
                // briefly, as every pool's warm-up ends with it blocked on the results: its own
                // schedstat advances only when it is descheduled (or at a tick), so otherwise
                // the process's start-up CPU would land in the window.
                "sequential" => {
                    for _ in 0..t {
                        std::thread::spawn(|| loop {
                            std::thread::park();
                        });
                    }
                    measure(&|| std::thread::sleep(Duration::from_millis(10)))
                }
                _ => {
                    let pool = w::threadpool_pool(t);
                    measure(&|| w::spawn_empty_threadpool(&pool, warm_spawns, done))
                }
            };
            vec![("cpu", cpu)]
        }
        "spawn_rss" => {
            let (n, iters) = (s.rss_tasks, a.iters1);
            let done = w::Countdown::leak();
            // Warm the pool (threads started, stacks touched), reset the peak, submit, wait.
            let measure = |submit: &dyn Fn(usize)| {
                let warm = 1_000;
                done.reset(warm);
                for i in 0..warm {
                    submit(i);
                }
                done.wait();
                let reset = w::reset_peak_rss();
                let (rss0, hwm0) = w::rss_kib().expect("VmRSS (Linux /proc)");
                let base = if reset { rss0 } else { hwm0 };
                done.reset(n);
                let start = Instant::now();
                for i in 0..n {
                    submit(i);
                }
                done.wait();
                let elapsed = start.elapsed().as_secs_f64();
                let (_, hwm) = w::rss_kib().expect("VmHWM");
                vec![
                    ("rss", hwm.saturating_sub(base) as f64 * 1024.0),
                    ("time", elapsed),
                ]
            };
            match sys {
                "corepool" | "corepool-nopin" => {
                    let pool = cp(None);
                    measure(&|i| {
                        let p = w::rss_payload(i);
                        drop(pool.spawn(move || {
                            w::rss_task(p, iters);
                            done.hit();
                        }));
                    })
                }
                "rayon" => {
                    let pool = w::rayon_pool(t);
                    measure(&|i| {
                        let p = w::rss_payload(i);
                        pool.spawn(move || {
                            w::rss_task(p, iters);
                            done.hit();
                        });
                    })
                }
                "tokio" => {
                    let rt = w::tokio_multi(t, None);
                    measure(&|i| {
                        let p = w::rss_payload(i);
                        drop(rt.spawn(async move {
                            w::rss_task(p, iters);
                            done.hit();
                        }));
                    })
                }
                _ => {
                    let pool = w::threadpool_pool(t);
                    measure(&|i| {
                        let p = w::rss_payload(i);
                        pool.execute(move || {
                            w::rss_task(p, iters);
                            done.hit();
                        });
                    })
                }
            }
        }
        "spawn_all" => {
            let n = s.spawn_tasks;
            let pool = cp(None);
            time(match sys {
                "corepool" => timed(inner, || w::spawn_all_corepool(&pool, n)),
                _ => timed(inner, || w::spawn_each_corepool(&pool, n)),
            })
        }
        "group" => {
            let n = s.spawn_tasks;
            let pool = cp(None);
            time(match sys {
                "corepool" => timed(inner, || w::group_corepool(&pool, n, t)),
                "corepool-group-64" => timed(inner, || w::group_corepool(&pool, n, 64)),
                _ => timed(inner, || w::spawn_each_corepool(&pool, n)),
            })
        }
        other => unreachable!("workload {other} is in the catalog but not here"),
    }
}
