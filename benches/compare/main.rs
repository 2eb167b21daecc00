//! Side-by-side comparison of corepool with rayon, tokio, threadpool and std (issue #5), as a
//! bench target without the libtest harness.
//!
//! ```text
//! cargo bench --bench compare -- --full                     # full sizes, 5 repetitions
//! cargo bench --bench compare -- --quick                    # small sizes, 1 repetition (CI)
//! cargo bench --bench compare -- [--quick] [--reps N] [--out DIR] [--only W1,W2] [--inner N]
//! ```
//!
//! Every workload × system runs in a fresh process (this executable re-invoked with
//! `--one <workload> <system>`), which prints one machine-readable result line. Systems are
//! alternated within each repetition (the starting system rotates per repetition). The parent
//! prints a markdown table — median, min–max over the repetitions, and per workload the ratio
//! corepool ÷ best peer (and ÷ sequential where there is one) — and writes it to
//! `DIR/compare.md`, with an SVG chart of the ratios in `DIR/compare.svg` and every raw value
//! in `DIR/compare.tsv`.
//! Default DIR: `target/compare` in the crate root. `--quick` runs small sizes, one repetition
//! (the CI smoke run).
//!
//! A full run takes minutes, so the runner starts only when asked to: `cargo bench` passes
//! `--bench` to every bench binary, and with nothing else (a plain `cargo bench`, which runs
//! the criterion benches) or with arguments meant for other benches (a name filter, criterion's
//! flags) this binary prints how to run it and exits successfully.
//!
//! The workloads themselves live in `benches/workloads/mod.rs`, shared with the criterion
//! benches, so both measure the same code.

#[path = "../workloads/mod.rs"]
mod workloads;

mod catalog;
mod chart;
mod child;
mod machine;
mod report;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Command-line options of the parent (runner) process.
struct Options {
    quick: bool,
    reps: usize,
    out: PathBuf,
    only: Option<Vec<String>>,
    inner: Option<usize>,
}

fn usage_text() -> String {
    format!(
        "usage: cargo bench --bench compare -- --full | --quick | [--reps N] [--out DIR] [--only WORKLOAD,..] [--inner N]\n\
         \x20      (child) compare --one WORKLOAD SYSTEM [--quick] [--inner N] [--iters5 K] [--iters1 K]\n\
         workloads: {}",
        catalog::WORKLOADS
            .iter()
            .map(|w| w.name)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn usage() -> ! {
    eprintln!("{}", usage_text());
    std::process::exit(2)
}

/// The runner's own flags (`--one` is the child's and comes first).
const FLAGS: [&str; 7] = [
    "--full", "--quick", "--reps", "--out", "--only", "--inner", "--help",
];

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` appends `--bench`; it is not ours.
    let from_cargo_bench = args.iter().any(|a| a == "--bench");
    args.retain(|a| a != "--bench");
    if args.first().map(String::as_str) == Some("--one") {
        child::main(&args[1..]);
        return;
    }
    if args.is_empty() {
        // A plain `cargo bench` (or the binary run bare): a full comparison takes minutes and
        // is started only on request.
        println!(
            "compare: nothing run; a full comparison takes minutes, ask for it:\n{}",
            usage_text()
        );
        return;
    }
    let ours = |a: &String| FLAGS.contains(&a.as_str()) || a == "-h";
    if from_cargo_bench && !args.first().is_some_and(ours) {
        // Arguments meant for the other benches (a name filter, criterion's flags).
        println!(
            "compare: arguments not for this runner, nothing run ({})",
            args.join(" ")
        );
        return;
    }
    let options = parse(&args);
    run(options);
}

fn parse(args: &[String]) -> Options {
    let mut options = Options {
        quick: false,
        reps: 0,
        out: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/compare"),
        only: None,
        inner: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--full" => {}
            "--quick" => options.quick = true,
            "--reps" => options.reps = value().parse().unwrap_or_else(|_| usage()),
            "--out" => options.out = PathBuf::from(value()),
            "--only" => options.only = Some(value().split(',').map(str::to_owned).collect()),
            "--inner" => options.inner = Some(value().parse().unwrap_or_else(|_| usage())),
            "-h" | "--help" => usage(),
            _ => usage(),
        }
    }
    if options.reps == 0 {
        options.reps = if options.quick { 1 } else { 5 };
    }
    if let Some(only) = &options.only {
        for name in only {
            if catalog::workload(name).is_none() {
                eprintln!("unknown workload {name:?}");
                usage();
            }
        }
    }
    options
}

/// One child's outcome: metric → value, or why there is none.
type Outcome = Result<BTreeMap<String, f64>, String>;

fn run(options: Options) {
    let started = Instant::now();
    let sizes = if options.quick {
        workloads::Sizes::quick()
    } else {
        workloads::Sizes::full()
    };
    let inner = options.inner.unwrap_or(if options.quick { 1 } else { 3 });
    let iters5 = workloads::calibrate(Duration::from_micros(5));
    let iters1 = workloads::calibrate(Duration::from_micros(1));
    let machine = machine::Machine::probe();
    let exe = std::env::current_exe().expect("current_exe");
    let timeout = if options.quick {
        Duration::from_secs(120)
    } else {
        Duration::from_secs(600)
    };

    let selected: Vec<&catalog::Workload> = catalog::WORKLOADS
        .iter()
        .filter(|w| {
            options
                .only
                .as_ref()
                .map_or(true, |o| o.iter().any(|n| n == w.name))
        })
        .collect();
    eprintln!(
        "compare: {} mode, {} rep(s), {} workload(s), {} threads per pool; 5 µs = {iters5} iters, 1 µs = {iters1} iters",
        if options.quick { "quick" } else { "full" },
        options.reps,
        selected.len(),
        workloads::threads(),
    );

    // results[(workload, system)] = one outcome per repetition.
    let mut results: BTreeMap<(&str, &str), Vec<Outcome>> = BTreeMap::new();
    for rep in 0..options.reps {
        for workload in &selected {
            let n = workload.systems.len();
            for k in 0..n {
                let system = workload.systems[(k + rep) % n];
                let mut cmd = Command::new(&exe);
                cmd.args(["--one", workload.name, system])
                    .args(["--inner", &inner.to_string()])
                    .args(["--iters5", &iters5.to_string()])
                    .args(["--iters1", &iters1.to_string()])
                    .env_remove(corepool::NO_PIN_ENV);
                if options.quick {
                    cmd.arg("--quick");
                }
                let t = Instant::now();
                let outcome = run_child(cmd, timeout);
                eprintln!(
                    "[rep {}/{}] {:<15} {:<15} {:>8.2?}  {}",
                    rep + 1,
                    options.reps,
                    workload.name,
                    system,
                    t.elapsed(),
                    match &outcome {
                        Ok(metrics) => metrics
                            .iter()
                            .map(|(k, v)| format!("{k}={}", catalog::format_value(k, *v)))
                            .collect::<Vec<_>>()
                            .join(" "),
                        Err(e) => format!("FAILED: {}", e.lines().next().unwrap_or("")),
                    }
                );
                results
                    .entry((workload.name, system))
                    .or_default()
                    .push(outcome);
            }
        }
    }

    let summary = report::Summary::build(&selected, &results);
    let header = report::Header {
        machine,
        quick: options.quick,
        reps: options.reps,
        inner,
        iters5,
        iters1,
        sizes: sizes.clone(),
        wall: started.elapsed(),
    };
    let markdown = report::markdown(&header, &selected, &summary);
    println!("{markdown}");

    if let Err(e) = std::fs::create_dir_all(&options.out) {
        eprintln!("compare: cannot create {}: {e}", options.out.display());
        std::process::exit(1);
    }
    let tsv_path = options.out.join("compare.tsv");
    std::fs::write(&tsv_path, raw_tsv(&results)).expect("write compare.tsv");
    let md_path = options.out.join("compare.md");
    let svg_path = options.out.join("compare.svg");
    std::fs::write(&md_path, &markdown).expect("write compare.md");
    if let Err(e) = chart::write_svg(&svg_path, &header, &summary) {
        eprintln!("compare: chart failed: {e}");
        std::process::exit(1);
    }
    eprintln!(
        "compare: wrote {}, {} and {} in {:.1?}",
        md_path.display(),
        tsv_path.display(),
        svg_path.display(),
        started.elapsed()
    );
    if summary.failures > 0 {
        eprintln!("compare: {} run(s) failed", summary.failures);
        std::process::exit(1);
    }
}

/// Every repetition's raw value, one per line: workload, system, rep, metric, value (or the
/// failure), for digging deeper than the medians.
fn raw_tsv(results: &BTreeMap<(&str, &str), Vec<Outcome>>) -> String {
    let mut out = String::from("workload\tsystem\trep\tmetric\tvalue\n");
    for ((workload, system), outcomes) in results {
        for (rep, outcome) in outcomes.iter().enumerate() {
            match outcome {
                Ok(metrics) => {
                    for (metric, value) in metrics {
                        out.push_str(&format!(
                            "{workload}\t{system}\t{}\t{metric}\t{value:e}\n",
                            rep + 1
                        ));
                    }
                }
                Err(e) => {
                    let e = e.replace(['\t', '\n'], " ");
                    out.push_str(&format!(
                        "{workload}\t{system}\t{}\t-\tFAILED: {e}\n",
                        rep + 1
                    ));
                }
            }
        }
    }
    out
}

/// Runs one child, killing it after `timeout`; parses its result line.
fn run_child(mut cmd: Command, timeout: Duration) -> Outcome {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("wait: {e}")),
        }
    };
    let out = out_reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    match status {
        None => Err(format!("timed out after {timeout:?}")),
        Some(s) if !s.success() => Err(format!("exit {s}: {}", err.trim())),
        Some(_) => child::parse_result(&out).ok_or_else(|| format!("no result line in {out:?}")),
    }
}
