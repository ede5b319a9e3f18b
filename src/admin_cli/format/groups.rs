//! Consumer and producer group views: `consumerProgress`, `consumerConnection`,
//! `producerConnection`, `resetOffsetByTime` and `updateSubGroup`, with the answer bodies they read.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{date_time, offset_table, quote_object_keys};

/// One `consumerProgress` row: one queue the group has an offset for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressRow {
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i64,
    pub broker_offset: i64,
    pub consumer_offset: i64,
    /// Store time of the last consumed message, ms; 0 = none.
    pub last_timestamp: i64,
}

/// The rows and `consumeTps` of a GET_CONSUME_STATS body.
pub fn progress_rows(body: &[u8]) -> Result<(Vec<ProgressRow>, f64), String> {
    let (top, entries) = offset_table(body)?;
    let tps = top["consumeTps"].as_f64().unwrap_or(0.0);
    let rows = entries
        .into_iter()
        .map(|(k, v)| ProgressRow {
            topic: k["topic"].as_str().unwrap_or_default().to_owned(),
            broker_name: k["brokerName"].as_str().unwrap_or_default().to_owned(),
            queue_id: k["queueId"].as_i64().unwrap_or(-1),
            broker_offset: v["brokerOffset"].as_i64().unwrap_or(0),
            consumer_offset: v["consumerOffset"].as_i64().unwrap_or(0),
            last_timestamp: v["lastTimestamp"].as_i64().unwrap_or(0),
        })
        .collect();
    Ok((rows, tps))
}

/// `consumerProgress -g`'s table (4.9's columns), then `Consume TPS` and `Diff Total`.
pub fn progress_table(rows: &[ProgressRow], tps: f64) -> String {
    let line = |c: [&str; 7]| {
        format!(
            "{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20} {}\n",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6]
        )
    };
    let mut out = line([
        "#Topic",
        "#Broker Name",
        "#QID",
        "#Broker Offset",
        "#Consumer Offset",
        "#Diff",
        "#LastTime",
    ]);
    let mut sorted = rows.to_vec();
    sorted.sort();
    let mut diff_total = 0i64;
    for r in &sorted {
        let diff = r.broker_offset - r.consumer_offset;
        diff_total += diff;
        let last = if r.last_timestamp > 0 {
            date_time(r.last_timestamp, false)
        } else {
            "N/A".into()
        };
        out.push_str(&line([
            &r.topic,
            &r.broker_name,
            &r.queue_id.to_string(),
            &r.broker_offset.to_string(),
            &r.consumer_offset.to_string(),
            &diff.to_string(),
            &last,
        ]));
    }
    out.push_str(&format!(
        "\nConsume TPS: {tps:.2}\nDiff Total: {diff_total}\n"
    ));
    out
}

/// One row of `consumerProgress` without `-g`: a consumer group (named by its `%RETRY%`
/// topic), its live connections and its consume stats summed over the masters.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupProgressRow {
    pub group: String,
    /// Live connections; 0 prints `OFFLINE` and empty type and model.
    pub count: usize,
    /// The lowest client version among the connections (Java's `computeMinVersion`).
    pub min_version: i64,
    /// `CONSUME_ACTIVELY` (pull) or `CONSUME_PASSIVELY` (push), as the broker names it.
    pub consume_type: String,
    pub message_model: String,
    pub consume_tps: f64,
    pub diff_total: i64,
}

/// `consumerProgress` without `-g` (Java 4.9's `%-64s  %-6d  %-24s %-5s  %-14s  %-7d  %d`):
/// the type is `PULL` or `PUSH`, the model only for push consumers, the TPS truncated to an
/// integer as Java's `(int)` cast does.
pub fn group_progress_table(rows: &[GroupProgressRow]) -> String {
    let line = |c: [&str; 7]| {
        format!(
            "{:<64}  {:<6}  {:<24} {:<5}  {:<14}  {:<7}  {}\n",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6]
        )
    };
    let mut out = line([
        "#Group",
        "#Count",
        "#Version",
        "#Type",
        "#Model",
        "#TPS",
        "#Diff Total",
    ]);
    for r in rows {
        let online = r.count > 0;
        let push = r.consume_type == "CONSUME_PASSIVELY";
        let kind = match (online, push) {
            (false, _) => "",
            (true, true) => "PUSH",
            (true, false) => "PULL",
        };
        let version = if online {
            version_desc(r.min_version)
        } else {
            "OFFLINE".to_owned()
        };
        let group: String = r.group.chars().take(64).collect();
        out.push_str(&line([
            &group,
            &r.count.to_string(),
            &version,
            kind,
            if online && push { &r.message_model } else { "" },
            &(r.consume_tps as i64).to_string(),
            &r.diff_total.to_string(),
        ]));
    }
    out
}

/// Java's `MQVersion.getVersionDesc`: a client's version number as its release name. From
/// `V4_0_0_SNAPSHOT` (212) to `V5_9_9` (611, also every higher number) each release has a
/// snapshot and a release ordinal; below 212 the 3.x names are irregular and are printed as
/// the number.
pub fn version_desc(version: i64) -> String {
    const FIRST_4X: i64 = 212;
    const LAST: i64 = 611;
    if version < FIRST_4X {
        return version.to_string();
    }
    let step = version.min(LAST) - FIRST_4X;
    let (release, snapshot) = (step / 2, step % 2 == 0);
    let (major, minor, patch) = (4 + release / 100, release / 10 % 10, release % 10);
    let suffix = if snapshot { "_SNAPSHOT" } else { "" };
    format!("V{major}_{minor}_{patch}{suffix}")
}

/// A GET_CONSUMER_CONNECTION_LIST answer (the fields `consumerConnection` prints).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerConnection {
    pub connection_set: Vec<Connection>,
    pub subscription_table: BTreeMap<String, SubscriptionEntry>,
    pub consume_type: String,
    pub message_model: String,
    pub consume_from_where: String,
}

/// One client connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Connection {
    pub client_id: String,
    pub client_addr: String,
    pub language: String,
    pub version: i64,
}

/// One subscription of a consumer group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionEntry {
    pub topic: String,
    pub sub_string: String,
}

/// `consumerConnection`'s text: connections, subscriptions, then the consume mode lines.
pub fn consumer_connection(c: &ConsumerConnection) -> String {
    let mut out = format!(
        "{:<36} {:<22} {:<10} {}\n",
        "#ClientId", "#ClientAddr", "#Language", "#Version"
    );
    for conn in &c.connection_set {
        out.push_str(&format!(
            "{:<36} {:<22} {:<10} {}\n",
            conn.client_id, conn.client_addr, conn.language, conn.version
        ));
    }
    out.push_str("\nBelow is subscription:\n");
    out.push_str(&format!("{:<20} {}\n", "#Topic", "#SubExpression"));
    for s in c.subscription_table.values() {
        out.push_str(&format!("{:<20} {}\n", s.topic, s.sub_string));
    }
    out.push_str(&format!(
        "\nConsumeType: {}\nMessageModel: {}\nConsumeFromWhere: {}\n",
        c.consume_type, c.message_model, c.consume_from_where
    ));
    out
}

/// `(queue id, offset)` of a ResetOffsetBody (`{"offsetTable":{{MessageQueue}:offset}}`).
pub fn reset_rows(body: &[u8]) -> Result<Vec<(i32, i64)>, String> {
    let text = quote_object_keys(&String::from_utf8_lossy(body));
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let table = v["offsetTable"]
        .as_object()
        .ok_or("no offsetTable in the answer")?;
    let mut rows = Vec::new();
    for (key, offset) in table {
        let queue: serde_json::Value = serde_json::from_str(key).map_err(|e| e.to_string())?;
        let queue_id = queue["queueId"].as_i64().ok_or("a key without queueId")?;
        let offset = offset.as_i64().ok_or("an offset that is not a number")?;
        rows.push((i32::try_from(queue_id).map_err(|e| e.to_string())?, offset));
    }
    rows.sort();
    Ok(rows)
}

/// `resetOffsetByTime`'s table: `#brokerName  #queueId  #offset` (40/40/40).
pub fn reset_table(rows: &[(String, i32, i64)]) -> String {
    let mut out = format!(
        "{:<40}  {:<40}  {:<40}\n",
        "#brokerName", "#queueId", "#offset"
    );
    for (broker, queue, offset) in rows {
        out.push_str(&format!("{broker:<40}  {queue:<40}  {offset:<40}\n"));
    }
    out
}

/// A GET_PRODUCER_CONNECTION_LIST answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerConnection {
    pub connection_set: Vec<Connection>,
}

/// `producerConnection`'s text: no header, one numbered row per connection as Java prints
/// them (`%04d  %-32s %-22s %-8s %s`); the version is the client's number.
pub fn producer_connection(p: &ProducerConnection) -> String {
    p.connection_set
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "{:04}  {:<32} {:<22} {:<8} {}\n",
                i + 1,
                c.client_id,
                c.client_addr,
                c.language,
                c.version
            )
        })
        .collect()
}

/// The subscription group `updateSubGroup` sends (Java's `SubscriptionGroupConfig` fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubGroupConfig {
    pub group_name: String,
    pub consume_enable: bool,
    pub consume_from_min_enable: bool,
    pub consume_broadcast_enable: bool,
    pub retry_queue_nums: u32,
    pub retry_max_times: u32,
    pub broker_id: u64,
    pub which_broker_when_consume_slowly: u64,
    pub notify_consumer_ids_changed_enable: bool,
}

/// The `SubscriptionGroupConfig [...]` line `updateSubGroup` prints after the brokers.
pub fn sub_group_line(c: &SubGroupConfig) -> String {
    format!(
        "SubscriptionGroupConfig [groupName={}, consumeEnable={}, consumeFromMinEnable={}, \
         consumeBroadcastEnable={}, retryQueueNums={}, retryMaxTimes={}, brokerId={}, \
         whichBrokerWhenConsumeSlowly={}, notifyConsumerIdsChangedEnable={}]\n",
        c.group_name,
        c.consume_enable,
        c.consume_from_min_enable,
        c.consume_broadcast_enable,
        c.retry_queue_nums,
        c.retry_max_times,
        c.broker_id,
        c.which_broker_when_consume_slowly,
        c.notify_consumer_ids_changed_enable
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_numbers_print_as_javas_release_names() {
        assert_eq!(version_desc(401), "V4_9_4");
        assert_eq!(version_desc(407), "V4_9_7");
        assert_eq!(version_desc(409), "V4_9_8");
        assert_eq!(version_desc(212), "V4_0_0_SNAPSHOT");
        assert_eq!(version_desc(213), "V4_0_0");
        assert_eq!(version_desc(412), "V5_0_0_SNAPSHOT");
        assert_eq!(version_desc(9999), "V5_9_9");
    }

    #[test]
    fn every_group_prints_in_javas_columns_offline_ones_without_type() {
        let rows = [
            GroupProgressRow {
                group: "G1".into(),
                count: 2,
                min_version: 401,
                consume_type: "CONSUME_PASSIVELY".into(),
                message_model: "CLUSTERING".into(),
                consume_tps: 12.9,
                diff_total: 5,
            },
            GroupProgressRow {
                group: "G2".into(),
                count: 1,
                min_version: 409,
                consume_type: "CONSUME_ACTIVELY".into(),
                message_model: "CLUSTERING".into(),
                ..GroupProgressRow::default()
            },
            GroupProgressRow {
                group: "G3".into(),
                diff_total: 7,
                ..GroupProgressRow::default()
            },
        ];
        let text = group_progress_table(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                "{:<64}  {:<6}  {:<24} {:<5}  {:<14}  {:<7}  {}",
                "#Group", "#Count", "#Version", "#Type", "#Model", "#TPS", "#Diff Total"
            )
        );
        assert_eq!(
            lines[1],
            format!(
                "{:<64}  {:<6}  {:<24} {:<5}  {:<14}  {:<7}  {}",
                "G1", 2, "V4_9_4", "PUSH", "CLUSTERING", 12, 5
            )
        );
        let cells = |l: &str| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(cells(lines[2]), ["G2", "1", "V4_9_8", "PULL", "0", "0"]);
        assert_eq!(cells(lines[3]), ["G3", "0", "OFFLINE", "0", "7"]);
    }
}
