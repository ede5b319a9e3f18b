//! GET_BROKER_RUNTIME_INFO (28): `{"table":{...}}` with every key Java 4.9's
//! `AdminBrokerProcessor.prepareRuntimeInfo` returns (its store's `getRuntimeInfo` included),
//! then this broker's Raft keys. Figures come from the node's statistics
//! ([`crate::broker::stats`]: soft state of this node since it started) and its store.
//!
//! Keys that have no meaning here carry Java's neutral value (README lists them): requests run
//! as tokio tasks, so the thread-pool queues are always empty (`*QueueSize` 0,
//! `*HeadWaitTimeMills` 0, the capacities Java's defaults); the store dispatches at apply,
//! so `dispatchBehindBytes`, `dispatchMaxBuffer` and `pageCacheLockTimeMills` are 0; there is
//! no transient store pool (`remainTransientStoreBufferNumbs` is Java's `Integer.MAX_VALUE`).

use std::collections::BTreeMap;
use std::path::Path;

use bytes::Bytes;

use crate::broker::offsets;
use crate::broker::server::{Broker, HandlerResult, lock, now_ms};
use crate::broker::stats::java_double;
use crate::broker::topics::effective_topics;
use crate::remoting::RemotingCommand;
use crate::remoting::command::DEFAULT_VERSION;

/// Java's default capacities of the send, pull, query and end-transaction pool queues.
const QUEUE_CAPACITIES: [(&str, u32); 4] = [
    ("sendThreadPoolQueueCapacity", 10_000),
    ("pullThreadPoolQueueCapacity", 100_000),
    ("queryThreadPoolQueueCapacity", 20_000),
    ("EndTransactionThreadPoolQueueCapacity", 100_000),
];

/// Keys whose value is always 0 here (see the module docs).
const ALWAYS_ZERO: [&str; 9] = [
    "sendThreadPoolQueueSize",
    "pullThreadPoolQueueSize",
    "queryThreadPoolQueueSize",
    "EndTransactionQueueSize",
    "sendThreadPoolQueueHeadWaitTimeMills",
    "pullThreadPoolQueueHeadWaitTimeMills",
    "queryThreadPoolQueueHeadWaitTimeMills",
    "dispatchBehindBytes",
    "pageCacheLockTimeMills",
];

pub(crate) fn runtime_info(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let mut table = BTreeMap::new();
    store_keys(broker, &mut table);
    broker_keys(broker, &mut table);
    raft_keys(broker, &mut table);
    let body = serde_json::json!({ "table": table }).to_string();
    Ok(req.success_response().with_body(Bytes::from(body)))
}

fn put(table: &mut BTreeMap<String, String>, key: &str, value: impl ToString) {
    table.insert(key.to_owned(), value.to_string());
}

/// Java's `StoreStatsService.getRuntimeInfo` and `DefaultMessageStore.getRuntimeInfo`.
fn store_keys(broker: &Broker, table: &mut BTreeMap<String, String>) {
    let stats = broker.stats.store();
    let boot = broker.stats.boot_ms();
    // As Java: the count used for averages is at least 1.
    let times = stats.put_total().max(1);
    let (put_max, get_max) = stats.max_ms();
    put(table, "bootTimestamp", boot);
    put(table, "runtime", runtime_text(now_ms() - boot));
    put(table, "putMessageEntireTimeMax", put_max);
    put(table, "getMessageEntireTimeMax", get_max);
    put(table, "putMessageTimesTotal", times);
    put(table, "putMessageFailedTimes", stats.put_failed_total());
    put(table, "putMessageSizeTotal", stats.put_bytes_total());
    put(table, "putMessageDistributeTime", stats.distribution_text());
    let average = stats.put_bytes_total() as f64 / times as f64;
    put(table, "putMessageAverageSize", java_double(average));
    put(table, "dispatchMaxBuffer", 0);
    for (key, value) in stats.tps_strings() {
        put(table, key, value);
    }
    put(
        table,
        "putLatency99",
        format!("{:.2}", stats.put_latency_px(0.99)),
    );
    put(
        table,
        "putLatency999",
        format!("{:.2}", stats.put_latency_px(0.999)),
    );

    let commitlog = broker.store.commitlog();
    let dir = commitlog.segments_dir();
    let ratio = disk_ratio(dir);
    put(
        table,
        &format!("commitLogDiskRatio_{}", dir.display()),
        &ratio,
    );
    put(table, "commitLogDiskRatio", &ratio);
    put(
        table,
        "consumeQueueDiskRatio",
        disk_ratio(&broker.config.store_path_root_dir),
    );
    let min = commitlog.segments().first().map_or(0, |s| s.0);
    put(table, "commitLogMinOffset", min);
    put(table, "commitLogMaxOffset", commitlog.view().end);
}

/// What `AdminBrokerProcessor.prepareRuntimeInfo` adds.
fn broker_keys(broker: &Broker, table: &mut BTreeMap<String, String>) {
    let stats = broker.stats.store();
    let mornings = broker.stats.mornings();
    put(table, "brokerVersionDesc", "dledger-broker 0.1.0");
    put(table, "brokerVersion", DEFAULT_VERSION);
    put(table, "msgPutTotalYesterdayMorning", mornings.put_yesterday);
    put(table, "msgPutTotalTodayMorning", mornings.put_today);
    put(table, "msgPutTotalTodayNow", stats.put_total());
    put(table, "msgGetTotalYesterdayMorning", mornings.get_yesterday);
    put(table, "msgGetTotalTodayMorning", mornings.get_today);
    put(table, "msgGetTotalTodayNow", stats.transferred_total());
    for key in ALWAYS_ZERO {
        put(table, key, 0);
    }
    for (key, capacity) in QUEUE_CAPACITIES {
        put(table, key, capacity);
    }
    put(
        table,
        "earliestMessageTimeStamp",
        earliest_message_time(broker),
    );
    put(table, "startAcceptSendRequestTimeStamp", 0);
    put(table, "remainTransientStoreBufferNumbs", i32::MAX);
}

/// The keys this broker adds: its Raft state and role.
fn raft_keys(broker: &Broker, table: &mut BTreeMap<String, String>) {
    let status = broker.node.status();
    let role = if broker.is_leader() {
        "SYNC_MASTER"
    } else {
        "SLAVE"
    };
    put(table, "brokerRole", role);
    put(table, "raftNodeId", status.id);
    // Why appends or applies wait for a resource (a full disk), while they do: unhealthy.
    put(
        table,
        "raftStorageBlocked",
        broker.store.blocked().unwrap_or_else(|| "-".into()),
    );
    put(table, "raftRole", status.role);
    put(table, "raftTerm", status.term);
    let or_dash = |v: Option<u64>| v.map_or("-".into(), |i| i.to_string());
    put(table, "raftLeader", or_dash(status.leader));
    put(table, "raftLastLogIndex", or_dash(status.last_log_index));
    put(table, "raftCommitted", or_dash(status.committed));
    put(table, "raftApplied", or_dash(status.applied));
    let groups = lock(&broker.clients).consumer_groups().len();
    put(table, "consumerGroups", groups);
}

/// The used share of `dir`'s disk (0.0..=1.0), -1 when it cannot be read, as Java's.
fn disk_ratio(dir: &Path) -> String {
    java_double(crate::store::disk_used_ratio(dir).unwrap_or(-1.0))
}

/// The store time of the oldest message still held, over every queue; -1 when none.
fn earliest_message_time(broker: &Broker) -> i64 {
    let topics = effective_topics(&broker.node.tables(), &broker.topic_defaults);
    topics
        .values()
        .flat_map(|t| {
            let queues = t.read_queue_nums.max(t.write_queue_nums).max(0) as u32;
            (0..queues).map(move |q| (t.topic_name.as_str(), q))
        })
        .filter_map(|(topic, q)| offsets::earliest_store_time(&broker.store, topic, q).ok())
        .filter(|&t| t > 0)
        .min()
        .unwrap_or(-1)
}

/// Java's `runtime`: `[ 0 days, 1 hours, 2 minutes, 3 seconds ]`.
fn runtime_text(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!(
        "[ {} days, {} hours, {} minutes, {} seconds ]",
        s / 86_400,
        s / 3600 % 24,
        s / 60 % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::runtime_text;

    #[test]
    fn runtime_reads_as_javas() {
        assert_eq!(
            runtime_text(((86_400 + 2 * 3600 + 3 * 60 + 4) * 1000) + 999),
            "[ 1 days, 2 hours, 3 minutes, 4 seconds ]"
        );
        assert_eq!(
            runtime_text(-5),
            "[ 0 days, 0 hours, 0 minutes, 0 seconds ]"
        );
    }
}
