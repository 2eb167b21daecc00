//! Latency histograms: log-scale buckets, recorded with relaxed atomic adds by whichever thread
//! times a sampled task, and read as plain counts by a snapshot.

use super::ENABLED;
use crate::sync::atomic::{AtomicU64, Ordering};
use std::fmt;
use std::time::Duration;

/// Number of latency buckets: bucket 0 is below 128 ns, bucket `i` covers
/// `[2^(i+6), 2^(i+7))` ns, and the last one is open-ended (about 17 s and above). Not part of
/// the API: `Histogram::buckets` is a slice, so the count may change.
pub(crate) const HISTOGRAM_BUCKETS: usize = 29;

/// Atomic log-scale latency buckets.
pub(crate) struct HistogramCells {
    buckets: [AtomicU64; HISTOGRAM_BUCKETS],
    max: AtomicU64,
}

impl Default for HistogramCells {
    fn default() -> Self {
        HistogramCells {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            max: AtomicU64::new(0),
        }
    }
}

fn bucket_of(nanos: u64) -> usize {
    let bits = 64 - nanos.leading_zeros() as usize;
    bits.saturating_sub(7).min(HISTOGRAM_BUCKETS - 1)
}

impl HistogramCells {
    pub(crate) fn record(&self, nanos: u64) {
        if ENABLED {
            self.buckets[bucket_of(nanos)].fetch_add(1, Ordering::Relaxed);
            self.max.fetch_max(nanos, Ordering::Relaxed);
        }
    }

    pub(super) fn add_into(&self, into: &mut Histogram) {
        for (sum, cell) in into.buckets.iter_mut().zip(&self.buckets) {
            *sum += cell.load(Ordering::Relaxed);
        }
        into.max_nanos = into.max_nanos.max(self.max.load(Ordering::Relaxed));
    }
}

/// A log-scale latency histogram: bucket 0 holds samples below 128 ns, and each further bucket
/// covers twice the range of the one before ([`bucket_bounds`](Self::bucket_bounds)); the last
/// one is open-ended. How many buckets there are is not a promise: read
/// [`buckets`](Self::buckets)`().len()`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Histogram {
    buckets: [u64; HISTOGRAM_BUCKETS],
    max_nanos: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: [0; HISTOGRAM_BUCKETS],
            max_nanos: 0,
        }
    }
}

impl Histogram {
    /// Samples recorded.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// The bucket counts; see [`bucket_bounds`](Self::bucket_bounds).
    #[must_use]
    pub fn buckets(&self) -> &[u64] {
        &self.buckets
    }

    /// The `[low, high)` range of bucket `i` (the last one is open-ended: `high` is
    /// `Duration::MAX`).
    #[must_use]
    pub fn bucket_bounds(i: usize) -> (Duration, Duration) {
        let low = if i == 0 { 0 } else { 1u64 << (i + 6) };
        let high = if i + 1 >= HISTOGRAM_BUCKETS {
            Duration::MAX
        } else {
            Duration::from_nanos(1u64 << (i + 7))
        };
        (Duration::from_nanos(low), high)
    }

    /// The upper bound of the bucket holding quantile `q` (0.0..=1.0), or zero if empty.
    #[must_use]
    pub fn quantile(&self, q: f64) -> Duration {
        let total = self.count();
        if total == 0 {
            return Duration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &count) in self.buckets.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let high = Self::bucket_bounds(i).1;
                return high.min(self.max());
            }
        }
        self.max()
    }

    /// Median (bucket upper bound).
    #[must_use]
    pub fn p50(&self) -> Duration {
        self.quantile(0.50)
    }

    /// 95th percentile (bucket upper bound).
    #[must_use]
    pub fn p95(&self) -> Duration {
        self.quantile(0.95)
    }

    /// 99th percentile (bucket upper bound).
    #[must_use]
    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }

    /// The largest sample, exactly.
    #[must_use]
    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.max_nanos)
    }
}

pub(super) fn fmt_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos < 1_000 {
        format!("{nanos}ns")
    } else if nanos < 1_000_000 {
        format!("{:.1}µs", nanos as f64 / 1e3)
    } else if nanos < 1_000_000_000 {
        format!("{:.1}ms", nanos as f64 / 1e6)
    } else {
        format!("{:.2}s", nanos as f64 / 1e9)
    }
}

impl fmt::Display for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "n={} p50={} p95={} p99={} max={}",
            self.count(),
            fmt_duration(self.p50()),
            fmt_duration(self.p95()),
            fmt_duration(self.p99()),
            fmt_duration(self.max())
        )
    }
}
