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
//! | `messages` | `sendMessage`, `consumeMessage`, `queryMsgByKey`, `queryMsgById` / `queryMsgByOffset` |
//! | `fastjson` | fastjson bodies keyed by objects, as standard JSON |

use serde::Serialize;

mod cluster;
mod fastjson;
mod groups;
mod messages;
mod topics;

pub use cluster::{
    ClusterRow, RaftRow, cluster_addrs, cluster_table, config_lines, raft_table, status_lines,
};
pub use fastjson::{offset_table, quote_object_keys};
pub use groups::{
    Connection, ConsumerConnection, ProducerConnection, ProgressRow, SubGroupConfig,
    SubscriptionEntry, consumer_connection, producer_connection, progress_rows, progress_table,
    reset_rows, reset_table, sub_group_line,
};
pub use messages::{body_text, message_detail, message_line, msg_key_table, send_result};
pub use topics::{
    TopicStatusRow, perm_string, topic_config_line, topic_status_rows, topic_status_table,
};

/// Pretty JSON of `value` plus a newline.
pub fn json<T: Serialize>(value: &T) -> String {
    match serde_json::to_string_pretty(value) {
        Ok(text) => text + "\n",
        Err(e) => format!("{{\"error\":\"cannot encode: {e}\"}}\n"),
    }
}

/// `ms` since the epoch as `yyyy-MM-dd HH:mm:ss,SSS` (UTC); `millis` false drops `,SSS`.
pub fn date_time(ms: i64, millis: bool) -> String {
    const DAY: i64 = 86_400_000;
    let days = ms.div_euclid(DAY);
    let in_day = ms.rem_euclid(DAY);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
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
