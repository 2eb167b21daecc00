//! Aggregation (median, min–max, ratios) and the markdown report.

use crate::catalog::{self, Role, Workload};
use crate::machine::Machine;
use crate::workloads::Sizes;
use crate::Outcome;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// Everything the report header says about the run.
pub struct Header {
    pub machine: Machine,
    pub quick: bool,
    pub reps: usize,
    pub inner: usize,
    pub iters5: u64,
    pub iters1: u64,
    pub sizes: Sizes,
    pub wall: Duration,
}

/// One system's values for one metric over the repetitions.
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

/// One system's row: its stat, or the first failure if no repetition produced a value.
pub struct SystemRow {
    pub system: &'static str,
    pub stat: Option<Stat>,
    pub failed: usize,
    pub error: Option<String>,
}

/// One (workload, metric): every system's row and the ratios.
pub struct MetricRows {
    pub workload: &'static str,
    pub metric: &'static str,
    pub systems: Vec<SystemRow>,
    /// The peer with the lowest median.
    pub best_peer: Option<(&'static str, f64)>,
    /// The lowest single-repetition value of any peer.
    pub best_peer_min: Option<f64>,
    pub sequential: Option<f64>,
}

impl MetricRows {
    pub fn median(&self, system: &str) -> Option<f64> {
        self.systems
            .iter()
            .find(|r| r.system == system)
            .and_then(|r| r.stat.as_ref())
            .map(|s| s.median)
    }

    /// `system`'s median ÷ the best peer's.
    pub fn ratio_to_best(&self, system: &str) -> Option<f64> {
        ratio(self.median(system)?, self.best_peer?.1)
    }

    /// `system`'s best repetition ÷ the best repetition of any peer: less sensitive than the
    /// medians to interference from other load on a shared machine.
    pub fn min_ratio_to_best(&self, system: &str) -> Option<f64> {
        let min = self
            .systems
            .iter()
            .find(|r| r.system == system)
            .and_then(|r| r.stat.as_ref())
            .map(|s| s.min)?;
        ratio(min, self.best_peer_min?)
    }

    /// `system`'s median ÷ sequential's.
    pub fn ratio_to_seq(&self, system: &str) -> Option<f64> {
        ratio(self.median(system)?, self.sequential?)
    }
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0 && a.is_finite() && b.is_finite()).then(|| a / b)
}

pub struct Summary {
    pub rows: Vec<MetricRows>,
    pub failures: usize,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

impl Summary {
    pub fn build(
        selected: &[&Workload],
        results: &BTreeMap<(&str, &str), Vec<Outcome>>,
    ) -> Summary {
        let mut rows = Vec::new();
        let mut failures = 0;
        for w in selected {
            for &metric in w.metrics {
                let mut systems = Vec::new();
                for &system in w.systems {
                    let outcomes = results
                        .get(&(w.name, system))
                        .map(Vec::as_slice)
                        .unwrap_or(&[]);
                    let mut values: Vec<f64> = Vec::new();
                    let mut failed = 0;
                    let mut error = None;
                    for o in outcomes {
                        match o {
                            Ok(m) => match m.get(metric) {
                                Some(v) => values.push(*v),
                                None => {
                                    failed += 1;
                                    error.get_or_insert_with(|| format!("no {metric} in result"));
                                }
                            },
                            Err(e) => {
                                failed += 1;
                                error.get_or_insert_with(|| e.clone());
                            }
                        }
                    }
                    if metric == w.metrics[0] {
                        failures += failed;
                    }
                    let stat = (!values.is_empty()).then(|| Stat {
                        min: values.iter().copied().fold(f64::INFINITY, f64::min),
                        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                        runs: values.len(),
                        median: median(&mut values),
                    });
                    systems.push(SystemRow {
                        system,
                        stat,
                        failed,
                        error,
                    });
                }
                let best_peer = systems
                    .iter()
                    .filter(|r| catalog::role(r.system) == Role::Peer)
                    .filter_map(|r| r.stat.as_ref().map(|s| (r.system, s.median)))
                    .min_by(|a, b| a.1.total_cmp(&b.1));
                let best_peer_min = systems
                    .iter()
                    .filter(|r| catalog::role(r.system) == Role::Peer)
                    .filter_map(|r| r.stat.as_ref().map(|s| s.min))
                    .min_by(f64::total_cmp);
                let sequential = systems
                    .iter()
                    .find(|r| catalog::role(r.system) == Role::Sequential)
                    .and_then(|r| r.stat.as_ref())
                    .map(|s| s.median);
                rows.push(MetricRows {
                    workload: w.name,
                    metric,
                    systems,
                    best_peer,
                    best_peer_min,
                    sequential,
                });
            }
        }
        Summary { rows, failures }
    }
}

/// The row label: the workload's title, plus the metric where it is not plain time.
pub fn row_label(row: &MetricRows, sizes: &Sizes) -> String {
    let title = catalog::title(row.workload, sizes);
    if row.metric == "time" && catalog::workload(row.workload).is_some_and(|w| w.metrics.len() == 1)
    {
        title
    } else {
        format!("{title} — {}", catalog::metric_label(row.metric))
    }
}

fn fmt_ratio(r: Option<f64>) -> String {
    match r {
        Some(r) if r >= 100.0 => format!("{r:.0}×"),
        Some(r) if r >= 10.0 => format!("{r:.1}×"),
        Some(r) if r >= 0.1 => format!("{r:.2}×"),
        Some(r) if r >= 0.01 => format!("{r:.3}×"),
        Some(r) => format!("{r:.4}×"),
        None => "—".to_owned(),
    }
}

/// The full markdown report.
pub fn markdown(h: &Header, selected: &[&Workload], s: &Summary) -> String {
    let m = &h.machine;
    let mut out = String::new();
    let _ = writeln!(out, "## corepool vs rayon, tokio, threadpool, std\n");
    let _ = writeln!(out, "- Date: {}", m.date);
    let _ = writeln!(
        out,
        "- Machine: {} cores (`num_cpus::get()`), {}, {}; load average at start {}, at end {}",
        m.cores,
        m.cpu,
        m.kernel,
        m.load_at_start,
        Machine::load_now()
    );
    let _ = writeln!(
        out,
        "- Compiler: {}, `bench` profile (release + debug line tables)",
        m.rustc
    );
    let _ = writeln!(
        out,
        "- Mode: {}; {} repetition(s); every workload × system in a fresh process, systems alternated (start rotates per repetition); each process: 1 warm-up run, then the median of {} timed run(s) (single-shot for wake latency, idle CPU, RSS). Shown: median and min–max over repetitions. Lower is better everywhere.",
        if h.quick { "**quick** (small sizes — smoke test, not for conclusions)" } else { "full sizes" },
        h.reps,
        h.inner
    );
    let _ = writeln!(
        out,
        "- Every pool has {} threads. corepool = defaults (pinned one worker per core); corepool-nopin = `Pinning::None`.{}",
        m.cores,
        match &m.no_pin_env {
            Some(v) => format!(" (`{}={v}` was set in the runner's environment and removed for the children.)", corepool::NO_PIN_ENV),
            None => String::new(),
        }
    );
    let _ = writeln!(
        out,
        "- Calibrated spin work: ~5 µs = {} iterations, ~1 µs = {} iterations (same for every system in this run).",
        h.iters5, h.iters1
    );
    let _ = writeln!(out, "- Runner wall time: {:.1} s\n", h.wall.as_secs_f64());

    // Ratios at a glance.
    let _ = writeln!(
        out,
        "### Ratios (corepool ÷ best peer; < 1 means corepool is ahead)\n"
    );
    let _ = writeln!(
        out,
        "\"÷ best\" compares medians; \"best run\" compares each side's fastest repetition (less sensitive to other load on a shared machine).\n"
    );
    let _ = writeln!(
        out,
        "| Workload | best peer | corepool | ÷ best | best run | corepool-nopin | ÷ best | best run | other corepool API | ÷ best | corepool ÷ sequential |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|");
    for row in &s.rows {
        let cell = |sys: &str| {
            row.median(sys)
                .map(|v| catalog::format_value(row.metric, v))
                .unwrap_or_else(|| "—".to_owned())
        };
        let best = row
            .best_peer
            .map(|(sys, v)| format!("{sys} {}", catalog::format_value(row.metric, v)))
            .unwrap_or_else(|| "—".to_owned());
        let other = row.systems.iter().find(|r| {
            catalog::role(r.system) == Role::Corepool
                && !matches!(r.system, "corepool" | "corepool-nopin")
        });
        let (other_cell, other_ratio) = match other {
            Some(r) => (
                format!("{} {}", r.system, cell(r.system)),
                fmt_ratio(row.ratio_to_best(r.system)),
            ),
            None => (String::new(), String::new()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row_label(row, &h.sizes),
            best,
            cell("corepool"),
            fmt_ratio(row.ratio_to_best("corepool")),
            fmt_ratio(row.min_ratio_to_best("corepool")),
            cell("corepool-nopin"),
            fmt_ratio(row.ratio_to_best("corepool-nopin")),
            fmt_ratio(row.min_ratio_to_best("corepool-nopin")),
            other_cell,
            other_ratio,
            if row.sequential.is_some() {
                fmt_ratio(row.ratio_to_seq("corepool"))
            } else {
                String::new()
            },
        );
    }

    // The full table.
    let _ = writeln!(out, "\n### All results\n");
    let _ = writeln!(
        out,
        "| Workload | System | Median | Min–Max | ÷ best peer | ÷ sequential |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|");
    for row in &s.rows {
        let label = row_label(row, &h.sizes);
        for (i, r) in row.systems.iter().enumerate() {
            let workload_cell = if i == 0 { label.as_str() } else { "" };
            let system_cell = match catalog::role(r.system) {
                Role::Corepool
                    if row.workload == "blocking_sleep" && r.system != "corepool-blocking" =>
                {
                    format!("{} (CPU pool `spawn`)", r.system)
                }
                _ => r.system.to_owned(),
            };
            let (median, range) = match &r.stat {
                Some(st) => (
                    format!(
                        "{}{}",
                        catalog::format_value(row.metric, st.median),
                        if r.failed > 0 {
                            format!(" ({}/{} runs ok)", st.runs, st.runs + r.failed)
                        } else {
                            String::new()
                        }
                    ),
                    format!(
                        "{} – {}",
                        catalog::format_value(row.metric, st.min),
                        catalog::format_value(row.metric, st.max)
                    ),
                ),
                None => (
                    format!(
                        "FAILED: {}",
                        r.error
                            .as_deref()
                            .unwrap_or("no result")
                            .replace('|', "/")
                            .lines()
                            .next()
                            .unwrap_or("")
                    ),
                    "—".to_owned(),
                ),
            };
            let (to_best, to_seq) = if catalog::role(r.system) == Role::Corepool {
                let best = match (row.ratio_to_best(r.system), row.best_peer) {
                    (Some(x), Some((peer, _))) => format!("**{}** (vs {peer})", fmt_ratio(Some(x))),
                    _ => "—".to_owned(),
                };
                let seq = if row.sequential.is_some() {
                    fmt_ratio(row.ratio_to_seq(r.system))
                } else {
                    String::new()
                };
                (best, seq)
            } else {
                (String::new(), String::new())
            };
            let _ = writeln!(
                out,
                "| {workload_cell} | {system_cell} | {median} | {range} | {to_best} | {to_seq} |"
            );
        }
    }

    let _ = writeln!(out, "\n### What each workload measures\n");
    for w in selected {
        let _ = writeln!(
            out,
            "- **{}** — {}",
            catalog::title(w.name, &h.sizes),
            w.note
        );
    }
    let _ = writeln!(
        out,
        "\nReproduce: `cargo bench --bench compare -- --full` (or `--quick` for the smoke run; `--reps N`, `--out DIR`, `--only fib,map`)."
    );
    if let Some(n) = (s.failures > 0).then_some(s.failures) {
        let _ = writeln!(out, "\n**{n} run(s) failed** — see the FAILED cells.");
    }
    out
}
