//! The Prometheus text exposition format for a snapshot, so a service can serve its pool's
//! figures without writing glue.

use super::{Histogram, Metrics};
use std::fmt::Write;

/// Writes one metric family: its `# HELP` and `# TYPE` lines, then one sample per
/// `(extra label, value)`.
struct Family<'a> {
    out: &'a mut String,
    labels: &'a str,
}

impl Family<'_> {
    fn header(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP corepool_{name} {help}");
        let _ = writeln!(self.out, "# TYPE corepool_{name} {kind}");
    }

    fn sample(&mut self, name: &str, extra: &str, value: impl std::fmt::Display) {
        let labels = match (self.labels.is_empty(), extra.is_empty()) {
            (true, true) => String::new(),
            (false, true) => format!("{{{}}}", self.labels),
            (true, false) => format!("{{{extra}}}"),
            (false, false) => format!("{{{},{extra}}}", self.labels),
        };
        let _ = writeln!(self.out, "corepool_{name}{labels} {value}");
    }

    fn one(&mut self, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
        self.header(name, kind, help);
        self.sample(name, "", value);
    }

    fn histogram(&mut self, name: &str, help: &str, h: &Histogram) {
        self.header(name, "histogram", help);
        let mut cumulative = 0;
        let last = h.buckets().len() - 1;
        for (i, &count) in h.buckets().iter().enumerate() {
            cumulative += count;
            let le = if i == last {
                "+Inf".to_owned()
            } else {
                Histogram::bucket_bounds(i).1.as_secs_f64().to_string()
            };
            self.sample(
                &format!("{name}_bucket"),
                &format!("le=\"{le}\""),
                cumulative,
            );
        }
        self.sample(&format!("{name}_count"), "", h.count());
    }
}

/// Escapes a label value as the text format wants (backslash, quote, newline).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// The snapshot in the Prometheus text exposition format (version 0.0.4), every metric
    /// named `corepool_*` and carrying `labels` (to tell pools apart, say
    /// `&[("pool", "cpu")]`). Counters end in `_total`; per-worker figures carry a `worker`
    /// label; the latency histograms are in seconds, with the bucket bounds of [`Histogram`]
    /// and no `_sum` (they hold samples, see [`Metrics::sample_every`]).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(1).build()?;
    /// pool.spawn(|| ()).join().unwrap();
    /// let text = pool.metrics().render_prometheus(&[("pool", "main")]);
    /// assert!(text.contains("corepool_tasks_completed_total{pool=\"main\"} 1\n"));
    /// assert!(text.contains("# TYPE corepool_cpu_queue_wait_seconds histogram\n"));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    #[must_use]
    pub fn render_prometheus(&self, labels: &[(&str, &str)]) -> String {
        let labels = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect::<Vec<_>>()
            .join(",");
        let mut out = String::new();
        let mut f = Family {
            out: &mut out,
            labels: &labels,
        };
        let m = self;
        f.one("workers", "gauge", "CPU workers.", m.workers.len());
        f.one("workers_active", "gauge", "CPU workers busy now.", m.active);
        f.one(
            "uptime_seconds",
            "gauge",
            "Time since the pool was built.",
            m.uptime.as_secs_f64(),
        );
        f.one(
            "busy_seconds_total",
            "counter",
            "CPU workers' busy time, summed.",
            m.busy.as_secs_f64(),
        );
        f.one(
            "tasks_spawned_total",
            "counter",
            "CPU tasks accepted.",
            m.spawned,
        );
        f.one(
            "tasks_completed_total",
            "counter",
            "CPU tasks finished, panics included.",
            m.completed,
        );
        f.one(
            "tasks_panicked_total",
            "counter",
            "CPU tasks that panicked.",
            m.panicked,
        );
        f.one(
            "tasks_cancelled_total",
            "counter",
            "CPU tasks that never ran.",
            m.cancelled,
        );
        f.one(
            "caller_runs_total",
            "counter",
            "Spawns run inline by the spawning worker.",
            m.caller_runs,
        );
        f.header(
            "rejected_total",
            "counter",
            "Submissions refused, by reason (both pools).",
        );
        f.sample("rejected_total", "reason=\"full\"", m.rejected_full);
        f.sample("rejected_total", "reason=\"shutdown\"", m.rejected_shutdown);
        f.one(
            "injection_queue_depth",
            "gauge",
            "Submissions waiting outside the workers' deques.",
            m.injection_queue_depth,
        );
        f.one(
            "injection_queue_bound",
            "gauge",
            "The most submissions that can wait at once.",
            m.injection_queue_bound,
        );
        type PerWorker = fn(&super::WorkerMetrics) -> String;
        let per_worker: [(&str, &str, &str, PerWorker); 5] = [
            (
                "worker_jobs_total",
                "counter",
                "Jobs a worker executed.",
                |w| w.jobs_run.to_string(),
            ),
            (
                "worker_steals_total",
                "counter",
                "Jobs a worker stole from peers.",
                |w| w.steals.to_string(),
            ),
            (
                "worker_parks_total",
                "counter",
                "Times a worker went to sleep.",
                |w| w.parks.to_string(),
            ),
            (
                "worker_busy_seconds_total",
                "counter",
                "A worker's busy time.",
                |w| w.busy.as_secs_f64().to_string(),
            ),
            (
                "worker_local_queue_depth",
                "gauge",
                "Jobs in a worker's own deque.",
                |w| w.local_queue_depth.to_string(),
            ),
        ];
        for (name, kind, help, value) in per_worker {
            f.header(name, kind, help);
            for w in &m.workers {
                f.sample(name, &format!("worker=\"{}\"", w.index), value(w));
            }
        }
        let io = &m.io;
        f.one(
            "io_threads_alive",
            "gauge",
            "Blocking-I/O threads alive.",
            io.threads_alive,
        );
        f.one(
            "io_threads_idle",
            "gauge",
            "Blocking-I/O threads idle.",
            io.threads_idle,
        );
        f.one(
            "io_queue_depth",
            "gauge",
            "Blocking tasks waiting.",
            io.queue_depth,
        );
        f.one(
            "io_tasks_spawned_total",
            "counter",
            "Blocking tasks accepted.",
            io.spawned,
        );
        f.one(
            "io_tasks_completed_total",
            "counter",
            "Blocking tasks finished, panics included.",
            io.completed,
        );
        f.one(
            "io_tasks_panicked_total",
            "counter",
            "Blocking tasks that panicked.",
            io.panicked,
        );
        f.one(
            "io_tasks_cancelled_total",
            "counter",
            "Blocking tasks that never ran.",
            io.cancelled,
        );
        f.one(
            "io_thread_starts_total",
            "counter",
            "Blocking-I/O threads started.",
            io.thread_starts,
        );
        f.histogram(
            "cpu_queue_wait_seconds",
            "Sampled CPU task wait, submit to start.",
            &m.cpu_queue_wait,
        );
        f.histogram(
            "cpu_run_seconds",
            "Sampled CPU task run time.",
            &m.cpu_run_time,
        );
        f.histogram(
            "io_queue_wait_seconds",
            "Sampled blocking task wait, submit to start.",
            &m.io_queue_wait,
        );
        f.histogram(
            "io_run_seconds",
            "Sampled blocking task run time.",
            &m.io_run_time,
        );
        out
    }
}
