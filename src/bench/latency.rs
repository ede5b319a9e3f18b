//! `Latency`: request latencies in microseconds, kept in an HDR histogram (three significant
//! digits from 1 µs to one hour), read back as milliseconds the way RocketMQ's tools print them.
//!
//! Used by the producer and consumer benchmarks and by the replication probe; it only records and
//! answers percentiles, it never prints.

use hdrhistogram::Histogram;

/// Largest value kept exactly (µs); longer waits are recorded as this value.
const MAX_TRACKED_US: u64 = 3_600_000_000;

/// A latency distribution in microseconds.
#[derive(Clone, Debug)]
pub struct Latency {
    histogram: Histogram<u64>,
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    /// An empty distribution.
    pub fn new() -> Latency {
        let histogram = Histogram::new_with_bounds(1, MAX_TRACKED_US, 3)
            .expect("bounds 1..1h with 3 significant digits are valid");
        Latency { histogram }
    }

    /// Records one latency in microseconds (0 counts as 1 µs, beyond an hour as an hour).
    pub fn record(&mut self, us: u64) {
        self.histogram
            .saturating_record(us.clamp(1, MAX_TRACKED_US));
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Latency) {
        // Both histograms have the same bounds, so adding never fails; saturate regardless.
        let _ = self.histogram.add(&other.histogram);
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// The value at quantile `q` (0.5 = p50), in µs; 0 when empty.
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.histogram.is_empty() {
            0
        } else {
            self.histogram.value_at_quantile(q)
        }
    }

    /// The value at quantile `q`, in ms.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        self.quantile_us(q) as f64 / 1000.0
    }

    /// The largest value, in ms.
    pub fn max_ms(&self) -> f64 {
        self.histogram.max() as f64 / 1000.0
    }

    /// The mean, in ms; 0 when empty.
    pub fn mean_ms(&self) -> f64 {
        if self.histogram.is_empty() {
            0.0
        } else {
            self.histogram.mean() / 1000.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Latency;

    #[test]
    fn percentiles_come_from_the_recorded_distribution() {
        let mut latency = Latency::new();
        for us in 1..=10_000u64 {
            latency.record(us);
        }
        assert_eq!(latency.count(), 10_000);
        assert!((latency.quantile_ms(0.5) - 5.0).abs() < 0.01);
        assert!((latency.quantile_ms(0.99) - 9.9).abs() < 0.01);
        assert!((latency.quantile_ms(0.999) - 9.99).abs() < 0.01);
        assert!((latency.max_ms() - 10.0).abs() < 0.01);
        assert!((latency.mean_ms() - 5.0005).abs() < 0.005);
    }

    #[test]
    fn an_empty_distribution_reads_as_zero() {
        let latency = Latency::new();
        assert_eq!(latency.quantile_us(0.5), 0);
        assert_eq!(latency.mean_ms(), 0.0);
        assert_eq!(latency.count(), 0);
    }

    #[test]
    fn merging_keeps_both_sides_and_out_of_range_values_saturate() {
        let mut a = Latency::new();
        a.record(0);
        let mut b = Latency::new();
        b.record(u64::MAX);
        a.merge(&b);
        assert_eq!(a.count(), 2);
        assert_eq!(a.quantile_us(0.0), 1);
        assert!(a.max_ms() >= 3_600_000.0 * 0.999);
    }
}
