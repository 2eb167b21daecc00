//! Exporting a snapshot: the Prometheus text format always, `Serialize` with the `serde`
//! feature, and `futures::task::Spawn` with the `futures` feature.

mod common;

use common::watchdog;
use corepool::Pool;

#[test]
fn prometheus_text_is_well_formed_and_carries_the_counts() {
    watchdog("prometheus", || {
        let pool = Pool::builder().threads(2).build().unwrap();
        for _ in 0..5 {
            pool.spawn(|| ()).join().unwrap();
        }
        pool.spawn_blocking(|| ()).join().unwrap();
        let m = pool.metrics();
        let text = m.render_prometheus(&[("pool", "a \"quoted\" name")]);
        let mut typed = std::collections::HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
                assert!(typed.insert(name.to_owned()), "{name} typed twice");
                continue;
            }
            if line.starts_with("# HELP ") {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').unwrap();
            assert!(value == "+Inf" || value.parse::<f64>().is_ok(), "{line}");
            assert!(series.starts_with("corepool_"), "{line}");
            assert!(series.contains(r#"pool="a \"quoted\" name""#), "{line}");
            let family = series.split('{').next().unwrap();
            let family = ["_bucket", "_count"]
                .iter()
                .find_map(|s| family.strip_suffix(s).filter(|f| typed.contains(*f)))
                .unwrap_or(family);
            assert!(typed.contains(family), "{line}: no TYPE before it");
        }
        let sample = |series: &str| -> f64 {
            let line = text
                .lines()
                .find(|l| l.starts_with(series))
                .unwrap_or_else(|| panic!("{series} missing"));
            line.rsplit_once(' ').unwrap().1.parse().unwrap()
        };
        assert_eq!(
            sample("corepool_tasks_completed_total{"),
            m.completed as f64
        );
        assert_eq!(sample("corepool_io_tasks_completed_total{"), 1.0);
        assert_eq!(
            sample(r#"corepool_worker_jobs_total{pool="a \"quoted\" name",worker="1"}"#),
            m.workers[1].jobs_run as f64
        );
        // A histogram's buckets are cumulative and its +Inf bucket is its count.
        let buckets: Vec<f64> = text
            .lines()
            .filter(|l| l.starts_with("corepool_cpu_run_seconds_bucket"))
            .map(|l| l.rsplit_once(' ').unwrap().1.parse().unwrap())
            .collect();
        assert!(buckets.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(
            *buckets.last().unwrap(),
            sample("corepool_cpu_run_seconds_count")
        );
        assert!(text.contains(r#"le="+Inf""#));
    });
}

#[cfg(feature = "serde")]
#[test]
fn metrics_serialize_with_the_serde_feature() {
    let pool = Pool::builder().threads(1).build().unwrap();
    pool.spawn(|| ()).join().unwrap();
    let m = pool.metrics();
    let json = serde_json::to_value(&m).unwrap();
    assert_eq!(json["completed"], 1);
    assert_eq!(json["workers"].as_array().unwrap().len(), 1);
    assert!(json["cpu_run_time"]["buckets"].is_array());
    let interval = serde_json::to_value(m.interval_since(&m)).unwrap();
    assert_eq!(interval["utilization"], 0.0);
}

#[cfg(feature = "futures")]
#[test]
fn pool_implements_the_futures_spawn_trait() {
    use futures::task::{Spawn, SpawnExt};
    watchdog("futures-spawn", || {
        let pool = Pool::builder().threads(1).build().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        SpawnExt::spawn(&pool, async move {
            tx.send(corepool::current_thread_index()).unwrap();
        })
        .unwrap();
        assert_eq!(rx.recv().unwrap(), Some(0));
        let handle = pool.spawn_with_handle(async { 6 * 7 }).unwrap();
        assert_eq!(futures::executor::block_on(handle), 42);
        assert!(pool.status().is_ok());
        pool.shutdown();
        assert!(pool.status().unwrap_err().is_shutdown());
        assert!(SpawnExt::spawn(&pool, async {}).unwrap_err().is_shutdown());
    });
}
