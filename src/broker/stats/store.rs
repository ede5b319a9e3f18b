//! The node's put and get counters as Java's `StoreStatsService` keeps them, behind
//! GET_BROKER_RUNTIME_INFO: totals since boot, one sample of each total per second (the
//! last 601 kept) for the `putTps`-style strings over 10 s, 60 s and 600 s, and the put
//! latency distribution in Java's 13 buckets, swapped every minute (`putMessageDistributeTime`
//! shows the last full minute). Counting costs one or two relaxed atomic adds.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::common::sync::lock;

/// Java's bucket names, and the upper edge (exclusive, ms) of all but the last.
const BUCKETS: [&str; 13] = [
    "[<=0ms]",
    "[0~10ms]",
    "[10~50ms]",
    "[50~100ms]",
    "[100~200ms]",
    "[200~500ms]",
    "[500ms~1s]",
    "[1~2s]",
    "[2~3s]",
    "[3~4s]",
    "[4~5s]",
    "[5~10s]",
    "[10s~]",
];
const EDGES_MS: [u64; 12] = [
    1, 10, 50, 100, 200, 500, 1000, 2000, 3000, 4000, 5000, 10_000,
];

/// Samples kept: 600 one-second steps (Java's `MAX_RECORDS_OF_SAMPLING + 1`).
const KEEP: usize = 601;
/// The windows of the TPS strings, seconds.
const TPS_WINDOWS: [usize; 3] = [10, 60, 600];

#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    at_ms: i64,
    put: u64,
    found: u64,
    miss: u64,
    transferred: u64,
}

/// Put and get counters of one node.
#[derive(Debug, Default)]
pub struct StoreStats {
    put_times: AtomicU64,
    put_bytes: AtomicU64,
    put_failed: AtomicU64,
    put_max_ms: AtomicU64,
    get_found: AtomicU64,
    get_miss: AtomicU64,
    get_transferred: AtomicU64,
    get_max_ms: AtomicU64,
    distribution: [AtomicU64; 13],
    last_minute: Mutex<Option<[u64; 13]>>,
    samples: Mutex<VecDeque<Totals>>,
}

/// A second-by-second rate over the last `n` seconds of `samples` (as far back as they go).
fn rate(samples: &VecDeque<Totals>, n: usize, pick: fn(&Totals) -> u64) -> f64 {
    let (Some(last), Some(len)) = (samples.back(), samples.len().checked_sub(1)) else {
        return 0.0;
    };
    let first = &samples[len - n.min(len)];
    let elapsed_ms = last.at_ms - first.at_ms;
    if elapsed_ms <= 0 {
        return 0.0;
    }
    pick(last).saturating_sub(pick(first)) as f64 * 1000.0 / elapsed_ms as f64
}

/// Java's `Double.toString` for the figures it prints (`0.0`, `12.5`).
pub fn java_double(v: f64) -> String {
    format!("{v:?}")
}

impl StoreStats {
    /// `messages` stored by one put of `bytes`, which took `elapsed_ms`.
    pub fn put(&self, messages: u64, bytes: u64, elapsed_ms: u64) {
        self.put_times.fetch_add(messages, Ordering::Relaxed);
        self.put_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.put_max_ms.fetch_max(elapsed_ms, Ordering::Relaxed);
        let bucket = EDGES_MS
            .iter()
            .position(|&edge| elapsed_ms < edge)
            .unwrap_or(BUCKETS.len() - 1);
        self.distribution[bucket].fetch_add(1, Ordering::Relaxed);
    }

    /// A put that failed.
    pub fn put_failed(&self) {
        self.put_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// One read: `messages` found (0: a miss), taking `elapsed_ms`.
    pub fn get(&self, messages: u64, elapsed_ms: u64) {
        if messages == 0 {
            self.get_miss.fetch_add(1, Ordering::Relaxed);
        } else {
            self.get_found.fetch_add(1, Ordering::Relaxed);
            self.get_transferred.fetch_add(messages, Ordering::Relaxed);
        }
        self.get_max_ms.fetch_max(elapsed_ms, Ordering::Relaxed);
    }

    /// Messages stored since boot (Java's `getPutMessageTimesTotal`).
    pub fn put_total(&self) -> u64 {
        self.put_times.load(Ordering::Relaxed)
    }

    /// Bytes stored since boot.
    pub fn put_bytes_total(&self) -> u64 {
        self.put_bytes.load(Ordering::Relaxed)
    }

    /// Messages handed to consumers since boot (Java's `getMessageTransferedMsgCount`).
    pub fn transferred_total(&self) -> u64 {
        self.get_transferred.load(Ordering::Relaxed)
    }

    /// Failed puts since boot.
    pub fn put_failed_total(&self) -> u64 {
        self.put_failed.load(Ordering::Relaxed)
    }

    /// The slowest put and the slowest get since boot, ms.
    pub fn max_ms(&self) -> (u64, u64) {
        (
            self.put_max_ms.load(Ordering::Relaxed),
            self.get_max_ms.load(Ordering::Relaxed),
        )
    }

    /// Takes this second's sample of the totals.
    pub fn sample(&self, at_ms: i64) {
        let totals = Totals {
            at_ms,
            put: self.put_total(),
            found: self.get_found.load(Ordering::Relaxed),
            miss: self.get_miss.load(Ordering::Relaxed),
            transferred: self.transferred_total(),
        };
        let mut samples = lock(&self.samples);
        samples.push_back(totals);
        while samples.len() > KEEP {
            samples.pop_front();
        }
    }

    /// Ends a minute of the put latency distribution: the counts go to
    /// [`Self::distribution_text`] and counting starts again from zero.
    pub fn roll_distribution(&self) {
        let counts = std::array::from_fn(|i| self.distribution[i].swap(0, Ordering::Relaxed));
        *lock(&self.last_minute) = Some(counts);
    }

    /// `putMessageDistributeTime`: `[<=0ms]:0 [0~10ms]:5 ... ` over the last full minute
    /// (every count 0 before the first minute ended), each pair followed by a space as Java's.
    pub fn distribution_text(&self) -> String {
        let counts = lock(&self.last_minute).unwrap_or([0; 13]);
        BUCKETS
            .iter()
            .zip(counts)
            .map(|(name, n)| format!("{name}:{n} "))
            .collect()
    }

    /// The put latency below which `px` (0.99) of the last full minute's puts fell, ms: the
    /// upper edge of the bucket holding that put (the lower edge, 10 000, for the last one).
    pub fn put_latency_px(&self, px: f64) -> f64 {
        let counts = lock(&self.last_minute).unwrap_or([0; 13]);
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let wanted = (total as f64 * px).ceil() as u64;
        let mut seen = 0;
        for (i, n) in counts.iter().enumerate() {
            seen += n;
            if seen >= wanted {
                return EDGES_MS.get(i).copied().unwrap_or(10_000) as f64;
            }
        }
        10_000.0
    }

    /// The three-window strings (`putTps`, `getFoundTps`, `getMissTps`, `getTotalTps`,
    /// `getTransferedTps`): rates over 10 s, 60 s and 600 s, space-separated, always three
    /// numbers (a window longer than the samples so far uses all of them; Java leaves it empty).
    pub fn tps_strings(&self) -> [(&'static str, String); 5] {
        let samples = lock(&self.samples);
        let three = |pick: fn(&Totals) -> u64| {
            TPS_WINDOWS
                .iter()
                .map(|&n| java_double(rate(&samples, n, pick)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        [
            ("putTps", three(|t| t.put)),
            ("getFoundTps", three(|t| t.found)),
            ("getMissTps", three(|t| t.miss)),
            ("getTotalTps", three(|t| t.found + t.miss)),
            ("getTransferedTps", three(|t| t.transferred)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tps_strings_are_three_numbers_over_10_60_and_600_seconds() {
        let stats = StoreStats::default();
        let empty = stats.tps_strings();
        assert!(empty.iter().all(|(_, v)| v == "0.0 0.0 0.0"), "{empty:?}");
        for second in 0..=60 {
            if second > 0 {
                stats.put(2, 100, 3);
            }
            if second > 50 {
                stats.get(4, 1);
                stats.get(0, 1);
            }
            stats.sample(second * 1000);
        }
        let tps: std::collections::BTreeMap<_, _> = stats.tps_strings().into_iter().collect();
        assert_eq!(tps["putTps"], "2.0 2.0 2.0");
        assert_eq!(
            tps["getTransferedTps"],
            "4.0 0.6666666666666666 0.6666666666666666"
        );
        assert_eq!(
            tps["getFoundTps"],
            "1.0 0.16666666666666666 0.16666666666666666"
        );
        assert_eq!(
            tps["getTotalTps"],
            "2.0 0.3333333333333333 0.3333333333333333"
        );
        assert_eq!(stats.put_total(), 120);
        assert_eq!(stats.put_bytes_total(), 6000);
        assert_eq!(stats.transferred_total(), 40);
    }

    #[test]
    fn the_distribution_shows_the_last_full_minute_in_javas_buckets() {
        let stats = StoreStats::default();
        assert!(
            stats
                .distribution_text()
                .starts_with("[<=0ms]:0 [0~10ms]:0 ")
        );
        for ms in [0, 3, 9, 10, 250, 12_000] {
            stats.put(1, 1, ms);
        }
        stats.roll_distribution();
        assert_eq!(
            stats.distribution_text(),
            "[<=0ms]:1 [0~10ms]:2 [10~50ms]:1 [50~100ms]:0 [100~200ms]:0 [200~500ms]:1 \
             [500ms~1s]:0 [1~2s]:0 [2~3s]:0 [3~4s]:0 [4~5s]:0 [5~10s]:0 [10s~]:1 "
        );
        assert_eq!(stats.put_latency_px(0.5), 10.0);
        assert_eq!(stats.put_latency_px(0.99), 10_000.0);
        assert_eq!(stats.max_ms().0, 12_000);
        stats.roll_distribution();
        assert_eq!(stats.put_latency_px(0.99), 0.0);
    }
}
