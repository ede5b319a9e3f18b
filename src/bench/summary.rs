//! `Summary`: what one measured run produced (messages acknowledged, requests, failures, the
//! measured time and the per-request latency distribution), the common currency of the producer
//! benchmark and the replication probe, so [`super::ratios`] can compare the two.

use std::time::Duration;

use super::latency::Latency;

/// The outcome of one measured run.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Messages acknowledged within the measured time.
    pub messages: u64,
    /// Requests acknowledged within the measured time (a batch request counts once).
    pub requests: u64,
    /// Messages whose send failed.
    pub failed: u64,
    /// The measured time (warm-up excluded).
    pub elapsed: Duration,
    /// Per-request latency, send to acknowledgement, µs.
    pub latency: Latency,
}

impl Summary {
    /// Acknowledged messages per second over the measured time; 0 for an empty run.
    pub fn msgs_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.messages as f64 / secs
        } else {
            0.0
        }
    }

    /// Acknowledged MiB per second for messages of `size` bytes.
    pub fn mib_per_sec(&self, size: usize) -> f64 {
        self.msgs_per_sec() * size as f64 / (1024.0 * 1024.0)
    }

    /// One line for humans: rate, then p50 / p99 / p99.9 / max request latency.
    pub fn line(&self) -> String {
        format!(
            "{:.0} msgs/s ({} msgs in {:.2} s) | P50 RT(ms): {:.3} | P99 RT(ms): {:.3} | P99.9 RT(ms): {:.3} | Max RT(ms): {:.3} | Failed: {}",
            self.msgs_per_sec(),
            self.messages,
            self.elapsed.as_secs_f64(),
            self.latency.quantile_ms(0.5),
            self.latency.quantile_ms(0.99),
            self.latency.quantile_ms(0.999),
            self.latency.max_ms(),
            self.failed,
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Summary;

    #[test]
    fn rates_are_messages_over_the_measured_time() {
        let summary = Summary {
            messages: 2048,
            elapsed: Duration::from_secs(2),
            ..Summary::default()
        };
        assert_eq!(summary.msgs_per_sec(), 1024.0);
        assert_eq!(summary.mib_per_sec(1024), 1.0);
        assert_eq!(Summary::default().msgs_per_sec(), 0.0);
    }
}
