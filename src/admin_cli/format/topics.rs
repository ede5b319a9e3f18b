//! Topic views: the `perm` string, `updateTopic`'s `TopicConfig [...]` line and `topicStatus`.

use serde::Serialize;

use super::{date_time, offset_table};
use crate::message::TopicConfig;

/// Java's `perm` rendering: `RW-`, `R--`, ...
pub fn perm_string(perm: i32) -> String {
    let bit = |b: i32, c: char| if perm & b != 0 { c } else { '-' };
    [bit(4, 'R'), bit(2, 'W'), bit(1, 'X')].iter().collect()
}

/// The `TopicConfig [...]` line `updateTopic` prints after the brokers.
pub fn topic_config_line(c: &TopicConfig) -> String {
    format!(
        "TopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, perm={}, \
         topicFilterType=SINGLE_TAG, topicSysFlag={}, order={}, attributes={{}}]\n",
        c.topic_name,
        c.read_queue_nums,
        c.write_queue_nums,
        perm_string(c.perm),
        c.topic_sys_flag,
        c.order
    )
}

/// One `topicStatus` row: one queue.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicStatusRow {
    pub broker_name: String,
    pub queue_id: i64,
    pub min_offset: i64,
    pub max_offset: i64,
    /// Store time of the last message, ms; 0 = none.
    pub last_update: i64,
}

/// The rows of a GET_TOPIC_STATS_INFO body.
pub fn topic_status_rows(body: &[u8]) -> Result<Vec<TopicStatusRow>, String> {
    let (_, entries) = offset_table(body)?;
    Ok(entries
        .into_iter()
        .map(|(k, v)| TopicStatusRow {
            broker_name: k["brokerName"].as_str().unwrap_or_default().to_owned(),
            queue_id: k["queueId"].as_i64().unwrap_or(-1),
            min_offset: v["minOffset"].as_i64().unwrap_or(0),
            max_offset: v["maxOffset"].as_i64().unwrap_or(0),
            last_update: v["lastUpdateTimestamp"].as_i64().unwrap_or(0),
        })
        .collect())
}

/// `topicStatus`'s table (`%-32s  %-4s  %-20s  %-20s    %s`), rows sorted by broker and queue.
pub fn topic_status_table(rows: &[TopicStatusRow]) -> String {
    let line = |b: &str, q: &str, min: &str, max: &str, t: &str| {
        format!("{b:<32}  {q:<4}  {min:<20}  {max:<20}    {t}\n")
    };
    let mut out = line(
        "#Broker Name",
        "#QID",
        "#Min Offset",
        "#Max Offset",
        "#Last Updated",
    );
    let mut sorted = rows.to_vec();
    sorted.sort();
    for r in &sorted {
        let last = if r.last_update > 0 {
            date_time(r.last_update, true)
        } else {
            String::new()
        };
        out.push_str(
            line(
                &r.broker_name,
                &r.queue_id.to_string(),
                &r.min_offset.to_string(),
                &r.max_offset.to_string(),
                &last,
            )
            .trim_end(),
        );
        out.push('\n');
    }
    out
}
