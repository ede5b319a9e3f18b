//! What `mqadmin` prints, as pure functions over plain rows so tests can check the text:
//! RocketMQ's `#Column` headers and widths (`tools/` of rocketmq-all-4.9.4), one function per
//! table, and the JSON variants.
//!
//! | file | holds |
//! | --- | --- |
//! | this one | [`json`], [`date_time`] and the re-exports, so every function is `format::name` |
//! | `cluster` | `clusterList`, `raftStatus`, `brokerStatus`, `getBrokerConfig` |
//! | `topics` | `perm`, `updateTopic`, `topicStatus` |
//! | `groups` | `consumerProgress`, `consumerConnection`, `producerConnection`, `resetOffsetByTime`, `updateSubGroup` |
//! | `messages` | `sendMessage`, `consumeMessage`, `queryMsgByKey`, `queryMsgById` / `queryMsgByOffset`, `queryMsgByUniqueKey` |
//! | `fastjson` | fastjson bodies keyed by objects, as standard JSON |
//! | `trace` | `queryMsgTraceById` |

use serde::Serialize;

use crate::common::clock::{DAY_MS, civil_from_days};

mod cluster;
mod fastjson;
mod groups;
mod messages;
mod topics;
mod trace;

pub use cluster::{
    ClusterRow, RaftRow, cluster_addrs, cluster_table, config_lines, raft_table, status_lines,
};
pub use fastjson::{offset_table, quote_object_keys};
pub use groups::{
    Connection, ConsumerConnection, GroupProgressRow, ProducerConnection, ProgressRow,
    SubGroupConfig, SubscriptionEntry, consumer_connection, group_progress_table,
    producer_connection, progress_rows, progress_table, reset_rows, reset_table, sub_group_line,
    version_desc,
};
pub use messages::{
    body_text, message_detail, message_line, msg_key_table, send_result, unique_key_detail,
};
pub use topics::{
    TopicStatusRow, perm_string, topic_config_line, topic_status_rows, topic_status_table,
};
pub use trace::{TraceView, msg_trace};

/// Pretty JSON of `value` plus a newline.
pub fn json<T: Serialize>(value: &T) -> String {
    match serde_json::to_string_pretty(value) {
        Ok(text) => text + "\n",
        Err(e) => format!("{{\"error\":\"cannot encode: {e}\"}}\n"),
    }
}

/// `ms` since the epoch as `yyyy-MM-dd HH:mm:ss,SSS` (UTC); `millis` false drops `,SSS`.
pub fn date_time(ms: i64, millis: bool) -> String {
    let (days, in_day) = (ms.div_euclid(DAY_MS), ms.rem_euclid(DAY_MS));
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    let mut out = format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}");
    if millis {
        out.push_str(&format!(",{milli:03}"));
    }
    out
}
