//! One statistic and a named set of them, sampled as Java's `StatsItem` / `StatsItemSet` are:
//! a value and a count of additions, both only ever growing (relaxed atomics: adding costs two
//! uncontended atomic adds), and three windows of samples of them. The minute window is
//! sampled every 10 s and keeps 7 samples, the hour window every 10 min (7), the day window
//! every hour (25). A window's figures are Java's `computeStatsData`: `sum` is the value added
//! between its first and last sample, `tps` that sum per second over the time between them,
//! `avgpt` the sum divided by the additions made meanwhile (for a latency item: the mean
//! latency). Time is passed in, so tests drive it.
//!
//! Never replicated: each node counts what it served itself.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::common::sync::lock;

/// A window's figures (Java's `StatsSnapshot`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StatsSnapshot {
    pub sum: u64,
    pub tps: f64,
    pub avgpt: f64,
    /// Additions made within the window.
    pub times: u64,
}

/// Which window a sample goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// Sampled every 10 s, 7 samples: about the last minute.
    Minute,
    /// Sampled every 10 min, 7 samples: about the last hour.
    Hour,
    /// Sampled every hour, 25 samples: about the last day.
    Day,
}

impl Span {
    /// How often this window is sampled, ms.
    pub const fn period_ms(self) -> i64 {
        match self {
            Span::Minute => 10_000,
            Span::Hour => 600_000,
            Span::Day => 3_600_000,
        }
    }

    const fn keep(self) -> usize {
        match self {
            Span::Minute | Span::Hour => 7,
            Span::Day => 25,
        }
    }

    const fn index(self) -> usize {
        match self {
            Span::Minute => 0,
            Span::Hour => 1,
            Span::Day => 2,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    at_ms: i64,
    times: u64,
    value: u64,
}

/// The samples of one window, oldest first.
#[derive(Debug, Default)]
struct Window(VecDeque<Sample>);

impl Window {
    fn sample(&mut self, span: Span, at_ms: i64, times: u64, value: u64) {
        if self.0.is_empty() {
            // As Java: a zero sample one period back, so the first window covers the start.
            self.0.push_back(Sample {
                at_ms: at_ms - span.period_ms(),
                times: 0,
                value: 0,
            });
        }
        self.0.push_back(Sample {
            at_ms,
            times,
            value,
        });
        while self.0.len() > span.keep() {
            self.0.pop_front();
        }
    }

    fn snapshot(&self) -> StatsSnapshot {
        let (Some(first), Some(last)) = (self.0.front(), self.0.back()) else {
            return StatsSnapshot::default();
        };
        let sum = last.value.saturating_sub(first.value);
        let times = last.times.saturating_sub(first.times);
        let elapsed_ms = last.at_ms - first.at_ms;
        StatsSnapshot {
            sum,
            tps: if elapsed_ms > 0 {
                sum as f64 * 1000.0 / elapsed_ms as f64
            } else {
                0.0
            },
            avgpt: if times > 0 {
                sum as f64 / times as f64
            } else {
                0.0
            },
            times,
        }
    }
}

/// One statistic: a growing value, a count of additions, and its three windows.
#[derive(Debug, Default)]
pub struct StatsItem {
    value: AtomicU64,
    times: AtomicU64,
    windows: Mutex<[Window; 3]>,
}

impl StatsItem {
    /// Adds `value` in `times` additions.
    pub fn add(&self, value: u64, times: u64) {
        self.value.fetch_add(value, Ordering::Relaxed);
        self.times.fetch_add(times, Ordering::Relaxed);
    }

    /// Everything added since the item was created.
    pub fn total(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }

    /// Takes a sample of the totals into `span`'s window.
    pub fn sample(&self, span: Span, at_ms: i64) {
        let (times, value) = (
            self.times.load(Ordering::Relaxed),
            self.value.load(Ordering::Relaxed),
        );
        lock(&self.windows)[span.index()].sample(span, at_ms, times, value);
    }

    /// `span`'s figures (Java's `getStatsDataInMinute/Hour/Day`).
    pub fn window(&self, span: Span) -> StatsSnapshot {
        lock(&self.windows)[span.index()].snapshot()
    }
}

/// The items of one statistic by key (`topic`, `topic@group`, the cluster name...).
#[derive(Debug, Default)]
pub struct StatsItemSet {
    items: RwLock<HashMap<String, Arc<StatsItem>>>,
}

impl StatsItemSet {
    /// Adds to `key`'s item, creating it on first use. A known key costs a read lock and a
    /// hash lookup.
    pub fn add(&self, key: &str, value: u64, times: u64) {
        self.item(key).add(value, times);
    }

    /// `key`'s item, created on first use.
    pub fn item(&self, key: &str) -> Arc<StatsItem> {
        if let Some(item) = self.get(key) {
            return item;
        }
        let mut items = self.items.write().unwrap_or_else(|p| p.into_inner());
        items.entry(key.to_owned()).or_default().clone()
    }

    /// `key`'s item, if anything was ever added to it.
    pub fn get(&self, key: &str) -> Option<Arc<StatsItem>> {
        let items = self.items.read().unwrap_or_else(|p| p.into_inner());
        items.get(key).cloned()
    }

    /// Samples every item into `span`'s window.
    pub fn sample(&self, span: Span, at_ms: i64) {
        let items: Vec<Arc<StatsItem>> = {
            let items = self.items.read().unwrap_or_else(|p| p.into_inner());
            items.values().cloned().collect()
        };
        for item in items {
            item.sample(span, at_ms);
        }
    }

    /// Drops the items whose key `gone` names (a deleted topic or group).
    pub fn remove_where(&self, gone: impl Fn(&str) -> bool) {
        let mut items = self.items.write().unwrap_or_else(|p| p.into_inner());
        items.retain(|key, _| !gone(key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_window_sums_what_was_added_between_its_first_and_last_sample() {
        let item = StatsItem::default();
        item.sample(Span::Minute, 100_000);
        item.add(30, 3);
        item.sample(Span::Minute, 110_000);
        item.add(20, 1);
        item.sample(Span::Minute, 120_000);
        let s = item.window(Span::Minute);
        // The zero sample at 90 s starts the window: 50 added over 30 s in 4 additions.
        assert_eq!((s.sum, s.times), (50, 4));
        assert!((s.tps - 50.0 / 30.0).abs() < 1e-9, "{s:?}");
        assert!((s.avgpt - 12.5).abs() < 1e-9, "{s:?}");
    }

    #[test]
    fn old_samples_leave_the_window() {
        let item = StatsItem::default();
        item.add(1000, 1);
        for i in 0..10 {
            item.sample(Span::Minute, 10_000 * i);
        }
        // Seven samples kept, all after the addition: nothing added within them.
        assert_eq!(item.window(Span::Minute), StatsSnapshot::default());
        assert_eq!(item.total(), 1000);
        let mut day = Window::default();
        for i in 0..40 {
            day.sample(Span::Day, i * 3_600_000, i as u64, i as u64 * 2);
        }
        assert_eq!(day.0.len(), 25);
        assert_eq!(day.snapshot().sum, 48);
    }

    #[test]
    fn an_unsampled_item_reports_zeros_and_sets_create_items_on_first_use() {
        let set = StatsItemSet::default();
        assert!(set.get("T").is_none());
        set.add("T", 5, 1);
        set.add("T", 5, 1);
        let item = set.get("T").unwrap();
        assert_eq!(item.total(), 10);
        assert_eq!(item.window(Span::Hour), StatsSnapshot::default());
        set.sample(Span::Hour, 600_000);
        assert_eq!(item.window(Span::Hour).sum, 10);
        set.remove_where(|k| k == "T");
        assert!(set.get("T").is_none());
    }
}
