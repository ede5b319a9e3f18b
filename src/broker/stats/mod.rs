//! Broker statistics, as Java's `BrokerStatsManager` and `StoreStatsService` keep them: what
//! this node stored and served, per topic, per `topic@group` and per broker, sampled per
//! minute, hour and day (`item`), and the node's put/get totals, per-second rates and put
//! latency distribution (`store`). GET_BROKER_RUNTIME_INFO, VIEW_BROKER_STATS_DATA,
//! GET_CONSUME_STATS' `consumeTps` and GET_BROKER_CONSUME_STATS read them.
//!
//! Soft state of one node, never replicated: a leader counts the sends it stored, any node
//! the pulls it answered; a restart or a leader change starts the counts again. The send,
//! pull and send-back handlers add with one call each ([`BrokerStats::on_put`],
//! [`BrokerStats::on_get`], [`BrokerStats::on_send_back`]); the `stats` task calls
//! [`BrokerStats::tick`] every second.
//!
//! | statsName | statsKey | value, per addition |
//! | --- | --- | --- |
//! | `TOPIC_PUT_NUMS`, `TOPIC_PUT_SIZE` | topic as the producer named it | messages, stored bytes; per send |
//! | `BROKER_PUT_NUMS`, `BROKER_GET_NUMS` | the cluster name | messages (no count of additions, as Java) |
//! | `GROUP_GET_NUMS`, `GROUP_GET_SIZE` | `topic@group` | messages, bytes; per pull that found some |
//! | `GROUP_GET_LATENCY` | `queueId@topic@group` | ms to read a pull's messages |
//! | `SNDBCK_PUT_NUMS` | `topic@group` (the message's topic) | 1 per message handed back |
//! | `DLQ_PUT_NUMS` | group | 1 per message moved to `%DLQ%group` (Java 5's name; 4.9 has none) |

mod item;
mod store;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

pub use item::{Span, StatsItem, StatsItemSet, StatsSnapshot};
pub use store::{StoreStats, java_double};

use crate::common::sync::lock;

pub const TOPIC_PUT_NUMS: &str = "TOPIC_PUT_NUMS";
pub const TOPIC_PUT_SIZE: &str = "TOPIC_PUT_SIZE";
pub const GROUP_GET_NUMS: &str = "GROUP_GET_NUMS";
pub const GROUP_GET_SIZE: &str = "GROUP_GET_SIZE";
pub const GROUP_GET_LATENCY: &str = "GROUP_GET_LATENCY";
pub const SNDBCK_PUT_NUMS: &str = "SNDBCK_PUT_NUMS";
pub const BROKER_PUT_NUMS: &str = "BROKER_PUT_NUMS";
pub const BROKER_GET_NUMS: &str = "BROKER_GET_NUMS";
pub const DLQ_PUT_NUMS: &str = "DLQ_PUT_NUMS";

/// Every statistic by name, in the order of [`BrokerStats::sets`].
const NAMES: [&str; 9] = [
    TOPIC_PUT_NUMS,
    TOPIC_PUT_SIZE,
    GROUP_GET_NUMS,
    GROUP_GET_SIZE,
    GROUP_GET_LATENCY,
    SNDBCK_PUT_NUMS,
    BROKER_PUT_NUMS,
    BROKER_GET_NUMS,
    DLQ_PUT_NUMS,
];

/// Totals at the last two local midnights (Java's `BrokerStats`): yesterday's and today's
/// morning figures, 0 until the node has seen a midnight.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Mornings {
    pub put_yesterday: u64,
    pub put_today: u64,
    pub get_yesterday: u64,
    pub get_today: u64,
}

/// The statistics of one broker node.
#[derive(Debug)]
pub struct BrokerStats {
    cluster: String,
    boot_ms: i64,
    sets: [StatsItemSet; 9],
    store: StoreStats,
    ticks: AtomicU64,
    mornings: Mutex<(Mornings, Option<u8>)>,
}

impl BrokerStats {
    /// Empty statistics of a node of `cluster` that booted at `boot_ms`.
    pub fn new(cluster: &str, boot_ms: i64) -> BrokerStats {
        BrokerStats {
            cluster: cluster.to_owned(),
            boot_ms,
            sets: Default::default(),
            store: StoreStats::default(),
            ticks: AtomicU64::new(0),
            mornings: Mutex::new((Mornings::default(), None)),
        }
    }

    /// When the node started, ms since the epoch.
    pub fn boot_ms(&self) -> i64 {
        self.boot_ms
    }

    /// The put and get counters behind the runtime info.
    pub fn store(&self) -> &StoreStats {
        &self.store
    }

    /// The statistic called `name` (`TOPIC_PUT_NUMS`...), if there is one.
    pub fn set(&self, name: &str) -> Option<&StatsItemSet> {
        NAMES.iter().position(|n| *n == name).map(|i| &self.sets[i])
    }

    fn named(&self, name: &'static str) -> &StatsItemSet {
        let i = NAMES.iter().position(|n| *n == name).unwrap_or(0);
        &self.sets[i]
    }

    /// `messages` of `topic`, `bytes` stored, stored by one send that took `elapsed_ms`.
    pub fn on_put(&self, topic: &str, messages: u64, bytes: u64, elapsed_ms: u64) {
        self.named(TOPIC_PUT_NUMS).add(topic, messages, 1);
        self.named(TOPIC_PUT_SIZE).add(topic, bytes, 1);
        self.named(BROKER_PUT_NUMS).add(&self.cluster, messages, 0);
        self.store.put(messages, bytes, elapsed_ms);
    }

    /// A send that was not stored.
    pub fn on_put_failed(&self) {
        self.store.put_failed();
    }

    /// One pull of `group` on `topic` queue `queue_id` that read `messages` (0: nothing) of
    /// `bytes` in `elapsed_ms`.
    pub fn on_get(
        &self,
        group: &str,
        topic: &str,
        queue_id: u32,
        (messages, bytes): (u64, u64),
        elapsed_ms: u64,
    ) {
        self.store.get(messages, elapsed_ms);
        if messages == 0 {
            return;
        }
        let key = format!("{topic}@{group}");
        self.named(GROUP_GET_NUMS).add(&key, messages, 1);
        self.named(GROUP_GET_SIZE).add(&key, bytes, 1);
        self.named(BROKER_GET_NUMS).add(&self.cluster, messages, 0);
        self.named(GROUP_GET_LATENCY)
            .add(&format!("{queue_id}@{key}"), elapsed_ms, 1);
    }

    /// A message of `topic` handed back by `group`; `dead` when it went to the DLQ.
    pub fn on_send_back(&self, group: &str, topic: &str, dead: bool) {
        self.named(SNDBCK_PUT_NUMS)
            .add(&format!("{topic}@{group}"), 1, 1);
        if dead {
            self.on_dead_letter(group);
        }
    }

    /// A message of `group` stored in its dead-letter topic.
    pub fn on_dead_letter(&self, group: &str) {
        self.named(DLQ_PUT_NUMS).add(group, 1, 1);
    }

    /// `group`'s pulls of `topic` per second over the last minute (Java's `tpsGroupGetNums`).
    pub fn group_get_tps(&self, group: &str, topic: &str) -> f64 {
        self.named(GROUP_GET_NUMS)
            .get(&format!("{topic}@{group}"))
            .map_or(0.0, |item| item.window(Span::Minute).tps)
    }

    /// The figures of the last two local midnights.
    pub fn mornings(&self) -> Mornings {
        lock(&self.mornings).0
    }

    /// One second passed: the per-second sample; every 10 s the minute windows, every
    /// 10 min the hour windows, every hour the day windows (all of them on the first tick,
    /// as Java samples at start); every minute the latency distribution rolls; at local
    /// midnight (`local_hour` went down) the morning figures move.
    pub fn tick(&self, now_ms: i64, local_hour: u8) {
        let n = self.ticks.fetch_add(1, Ordering::Relaxed);
        self.store.sample(now_ms);
        for span in [Span::Minute, Span::Hour, Span::Day] {
            if n.is_multiple_of(span.period_ms() as u64 / 1000) {
                for set in &self.sets {
                    set.sample(span, now_ms);
                }
            }
        }
        if n % 60 == 59 {
            self.store.roll_distribution();
        }
        let mut mornings = lock(&self.mornings);
        let (figures, last_hour) = &mut *mornings;
        if last_hour.is_some_and(|h| local_hour < h) {
            *figures = Mornings {
                put_yesterday: figures.put_today,
                put_today: self.store.put_total(),
                get_yesterday: figures.get_today,
                get_today: self.store.transferred_total(),
            };
        }
        *last_hour = Some(local_hour);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn puts_gets_and_send_backs_land_in_javas_items() {
        let stats = BrokerStats::new("C", 0);
        stats.tick(0, 10);
        stats.on_put("T", 3, 300, 2);
        stats.on_get("G", "T", 1, (2, 200), 4);
        stats.on_get("G", "T", 1, (0, 0), 1);
        stats.on_send_back("G", "T", true);
        for s in 1..=10 {
            stats.tick(s * 1000, 10);
        }
        let minute = |name: &str, key: &str| {
            stats
                .set(name)
                .and_then(|s| s.get(key))
                .map(|i| i.window(Span::Minute))
                .unwrap_or_else(|| panic!("no {name} {key}"))
        };
        assert_eq!(minute(TOPIC_PUT_NUMS, "T").sum, 3);
        assert_eq!(minute(TOPIC_PUT_SIZE, "T").sum, 300);
        assert_eq!(minute(BROKER_PUT_NUMS, "C").sum, 3);
        assert_eq!(minute(GROUP_GET_NUMS, "T@G").sum, 2);
        assert_eq!(minute(GROUP_GET_SIZE, "T@G").sum, 200);
        assert_eq!(minute(BROKER_GET_NUMS, "C").sum, 2);
        assert_eq!(minute(GROUP_GET_LATENCY, "1@T@G").avgpt, 4.0);
        assert_eq!(minute(SNDBCK_PUT_NUMS, "T@G").sum, 1);
        assert_eq!(minute(DLQ_PUT_NUMS, "G").sum, 1);
        // The item was created after the first tick: its window runs from the zero sample
        // one period before its first sample (0 s) to that sample (10 s): 2 in 10 s.
        assert!((stats.group_get_tps("G", "T") - 0.2).abs() < 1e-9);
        assert!(stats.set("NO_SUCH_STATS").is_none());
    }

    #[test]
    fn morning_figures_move_at_local_midnight() {
        let stats = BrokerStats::new("C", 0);
        stats.tick(0, 23);
        stats.on_put("T", 5, 50, 1);
        stats.on_get("G", "T", 0, (4, 40), 1);
        assert_eq!(stats.mornings(), Mornings::default());
        stats.tick(1000, 0);
        let first = Mornings {
            put_yesterday: 0,
            put_today: 5,
            get_yesterday: 0,
            get_today: 4,
        };
        assert_eq!(stats.mornings(), first);
        stats.on_put("T", 1, 10, 1);
        stats.tick(2000, 0);
        stats.tick(3000, 13);
        assert_eq!(stats.mornings(), first);
        stats.tick(4000, 0);
        assert_eq!(
            stats.mornings(),
            Mornings {
                put_yesterday: 5,
                put_today: 6,
                get_yesterday: 4,
                get_today: 4,
            }
        );
    }
}
