//! What `mqadmin` prints, as pure functions over plain rows so tests can check the text:
//! RocketMQ's `#Column` headers and widths (`tools/` of rocketmq-all-4.9.4), one function per
//! table, and the JSON variants.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::client::{MessageExt, SendResult};
use crate::namesrv::ClusterInfo;
use crate::namesrv::bodies::TopicConfig;

/// One `clusterList` row: one broker address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRow {
    pub cluster: String,
    pub broker_name: String,
    /// 0 = master; others are node numbers.
    pub broker_id: u64,
    pub addr: String,
    /// `brokerVersionDesc` from the runtime info, `-` when the broker did not answer.
    pub version: String,
}

/// One `raftStatus` row, from a broker's runtime info (`-` for what it did not say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RaftRow {
    pub broker_name: String,
    pub addr: String,
    /// `Leader`, `Follower`, `Candidate`, `Learner`, or `UNREACHABLE`.
    pub role: String,
    pub term: String,
    pub leader: String,
    pub last_index: String,
    pub committed: String,
    pub applied: String,
}

impl RaftRow {
    /// The row of a broker whose runtime info is `table`.
    pub fn from_table(broker_name: &str, addr: &str, table: &BTreeMap<String, String>) -> Self {
        let get = |k: &str| table.get(k).cloned().unwrap_or_else(|| "-".into());
        RaftRow {
            broker_name: broker_name.to_owned(),
            addr: addr.to_owned(),
            role: get("raftRole"),
            term: get("raftTerm"),
            leader: get("raftLeader"),
            last_index: get("raftLastLogIndex"),
            committed: get("raftCommitted"),
            applied: get("raftApplied"),
        }
    }

    /// The row of a broker that did not answer.
    pub fn unreachable(broker_name: &str, addr: &str) -> Self {
        let dash = || "-".to_owned();
        RaftRow {
            broker_name: broker_name.to_owned(),
            addr: addr.to_owned(),
            role: "UNREACHABLE".into(),
            term: dash(),
            leader: dash(),
            last_index: dash(),
            committed: dash(),
            applied: dash(),
        }
    }
}

/// `(cluster, broker name, broker id, addr)` of every broker address, sorted, the way
/// `clusterList` walks them.
pub fn cluster_addrs(info: &ClusterInfo) -> Vec<(String, String, u64, String)> {
    let mut out = Vec::new();
    for (cluster, names) in &info.cluster_addr_table {
        for name in names {
            let Some(data) = info.broker_addr_table.get(name) else {
                continue;
            };
            for (id, addr) in &data.broker_addrs {
                out.push((cluster.clone(), name.clone(), *id, addr.clone()));
            }
        }
    }
    out
}

/// `clusterList`'s table (4.9's columns; statistics we do not keep are `-`).
pub fn cluster_table(rows: &[ClusterRow]) -> String {
    let line = |c: &str, b: &str, id: &str, a: &str, v: &str, rest: [&str; 5]| {
        format!(
            "{c:<16}  {b:<22}  {id:<4}  {a:<22} {v:<16} {:>19} {:>19} {:>10} {:>5} {:>6}\n",
            rest[0], rest[1], rest[2], rest[3], rest[4]
        )
    };
    let mut out = line(
        "#Cluster Name",
        "#Broker Name",
        "#BID",
        "#Addr",
        "#Version",
        [
            "#InTPS(LOAD)",
            "#OutTPS(LOAD)",
            "#PCWait(ms)",
            "#Hour",
            "#SPACE",
        ],
    );
    for r in rows {
        out.push_str(&line(
            &r.cluster,
            &r.broker_name,
            &r.broker_id.to_string(),
            &r.addr,
            &r.version,
            ["-", "-", "-", "-", "-"],
        ));
    }
    out
}

/// `raftStatus`'s table.
pub fn raft_table(rows: &[RaftRow]) -> String {
    let line = |c: [&str; 8]| {
        format!(
            "{:<22}  {:<22}  {:<11}  {:>6}  {:>7}  {:>12}  {:>12}  {:>12}\n",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
        )
    };
    let mut out = line([
        "#Broker Name",
        "#Addr",
        "#Role",
        "#Term",
        "#Leader",
        "#LastIndex",
        "#Committed",
        "#Applied",
    ]);
    for r in rows {
        out.push_str(&line([
            &r.broker_name,
            &r.addr,
            &r.role,
            &r.term,
            &r.leader,
            &r.last_index,
            &r.committed,
            &r.applied,
        ]));
    }
    out
}

/// Pretty JSON of `value` plus a newline.
pub fn json<T: Serialize>(value: &T) -> String {
    match serde_json::to_string_pretty(value) {
        Ok(text) => text + "\n",
        Err(e) => format!("{{\"error\":\"cannot encode: {e}\"}}\n"),
    }
}

/// `brokerStatus`: one `%-32s: %s` line per runtime key, sorted by key.
pub fn status_lines(table: &BTreeMap<String, String>) -> String {
    table
        .iter()
        .map(|(k, v)| format!("{k:<32}: {v}\n"))
        .collect()
}

/// `getBrokerConfig`: Java's banner, then one `%-50s=  %s` line per `key=value` line of the
/// properties text (comments and blank lines skipped).
pub fn config_lines(addr: &str, properties: &str) -> String {
    let mut out = format!("============{addr}============\n");
    for line in properties.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        match line.split_once('=') {
            Some((k, v)) => out.push_str(&format!("{:<50}=  {}\n", k.trim(), v.trim())),
            None => out.push_str(&format!("{line}\n")),
        }
    }
    out
}

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

/// `sendMessage`'s header and row.
pub fn send_result(r: &SendResult) -> String {
    let line = |b: &str, q: &str, o: &str, m: &str| format!("{b:<32}  {q:<4}  {o:<20}    {m}\n");
    line("#Broker Name", "#QID", "#Offset", "#MsgId")
        + &line(
            &r.queue.broker_name,
            &r.queue.queue_id.to_string(),
            &r.queue_offset.to_string(),
            &r.msg_id,
        )
}

/// A body as text when it is UTF-8, else as hex (`0x...`).
pub fn body_text(body: &[u8]) -> String {
    match std::str::from_utf8(body) {
        Ok(text) => text.to_owned(),
        Err(_) => {
            let hex: String = body.iter().map(|b| format!("{b:02X}")).collect();
            format!("0x{hex}")
        }
    }
}

/// One `consumeMessage` line.
pub fn message_line(m: &MessageExt) -> String {
    format!(
        "MSGID: {} BROKER: {} QID: {} OFFSET: {} BODY: {}\n",
        m.msg_id(),
        m.broker_name(),
        m.queue_id(),
        m.queue_offset(),
        body_text(m.body())
    )
}

/// fastjson text whose maps may be keyed by objects (`{{"brokerName":..}:{..}}`) turned into
/// standard JSON: every object key that is not a string becomes the string of its text.
pub fn quote_object_keys(text: &str) -> String {
    let b = text.as_bytes();
    // (is an object, expecting a key)
    let mut stack: Vec<(bool, bool)> = Vec::new();
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0;
    let string_end = |mut j: usize| {
        // j is just after the opening quote
        while j < b.len() {
            match b[j] {
                b'\\' => j += 2,
                b'"' => return j + 1,
                _ => j += 1,
            }
        }
        b.len()
    };
    while i < b.len() {
        let c = b[i];
        let at_key = matches!(stack.last(), Some((true, true)));
        match c {
            b'"' => {
                let end = string_end(i + 1);
                out.push_str(&text[i..end]);
                i = end;
                continue;
            }
            b'{' | b'[' if at_key => {
                // A composite key: find its balanced end and quote it.
                let mut depth = 0usize;
                let mut j = i;
                while j < b.len() {
                    match b[j] {
                        b'"' => {
                            j = string_end(j + 1);
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                j += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                out.push_str(&serde_json::Value::from(&text[i..j.min(b.len())]).to_string());
                if let Some(top) = stack.last_mut() {
                    top.1 = false;
                }
                i = j;
                continue;
            }
            b'{' => stack.push((true, true)),
            b'[' => stack.push((false, false)),
            b'}' | b']' => {
                stack.pop();
            }
            b':' => {
                if let Some(top) = stack.last_mut() {
                    top.1 = false;
                }
            }
            b',' => {
                if let Some(top) = stack.last_mut() {
                    top.1 = top.0;
                }
            }
            _ => {}
        }
        // Copy one whole UTF-8 character.
        let len = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + len]);
        i += len;
    }
    out
}

/// The entries of a fastjson `offsetTable` (MessageQueue keys), as `(key, value)` objects;
/// plus the top-level object (for `consumeTps`).
pub fn offset_table(
    body: &[u8],
) -> Result<
    (
        serde_json::Value,
        Vec<(serde_json::Value, serde_json::Value)>,
    ),
    String,
> {
    let text = std::str::from_utf8(body).map_err(|e| format!("body is not UTF-8: {e}"))?;
    let top: serde_json::Value =
        serde_json::from_str(&quote_object_keys(text)).map_err(|e| format!("bad JSON: {e}"))?;
    let mut entries = Vec::new();
    if let Some(table) = top.get("offsetTable").and_then(|t| t.as_object()) {
        for (k, v) in table {
            let key: serde_json::Value =
                serde_json::from_str(k).map_err(|e| format!("bad MessageQueue key {k}: {e}"))?;
            entries.push((key, v.clone()));
        }
    }
    Ok((top, entries))
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

/// One `queryMsgByKey` row: `(offset msgId, queue id, queue offset)`.
pub fn msg_key_table(rows: &[(String, i32, i64)]) -> String {
    let mut out = format!("{:<50} {:<4} {}\n", "#Message ID", "#QID", "#Offset");
    for (id, q, o) in rows {
        out.push_str(&format!("{id:<50} {q:<4} {o}\n"));
    }
    out
}

/// The message-detail block of `queryMsgById` / `queryMsgByOffset` (one `%-20s %s` line per
/// field; times in UTC; the body inline as text or `0x` hex instead of Java's file dump).
pub fn message_detail(m: &crate::store::MessageToStore, offset_msg_id: &str) -> String {
    let props: Vec<String> = m
        .properties
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let opt = |v: Option<&String>| v.map_or("null".to_owned(), Clone::clone);
    let fields = [
        ("OffsetID:", offset_msg_id.to_owned()),
        ("Topic:", m.topic.clone()),
        (
            "Tags:",
            format!("[{}]", opt(m.properties.get(crate::store::property::TAGS))),
        ),
        (
            "Keys:",
            format!("[{}]", opt(m.properties.get(crate::store::property::KEYS))),
        ),
        ("Queue ID:", m.queue_id.to_string()),
        ("Queue Offset:", m.queue_offset.to_string()),
        ("CommitLog Offset:", m.physical_offset.to_string()),
        ("Reconsume Times:", m.reconsume_times.to_string()),
        ("Born Timestamp:", date_time(m.born_timestamp, true)),
        ("Store Timestamp:", date_time(m.store_timestamp, true)),
        ("Born Host:", m.born_host.to_string()),
        ("Store Host:", m.store_host.to_string()),
        ("System Flag:", m.sys_flag.to_string()),
        ("Properties:", format!("{{{}}}", props.join(", "))),
        ("Message Body:", body_text(&m.body)),
    ];
    fields
        .iter()
        .map(|(k, v)| format!("{k:<20} {v}\n"))
        .collect()
}
