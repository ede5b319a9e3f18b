//! Message-trace records in Java RocketMQ's text format (4.9's `TraceDataEncoder`): what
//! `enableMsgTrace` clients write to the trace topic (`RMQ_SYS_TRACE_TOPIC` by default) and
//! `mqadmin queryMsgTraceById` reads back.
//!
//! A trace message's body is one or more records, each ended by 0x02; a record's fields are
//! separated by 0x01, the first naming its type. Its KEYS are the traced msgIds (UNIQ_KEY) and
//! the traced messages' own keys, so a key query on the trace topic by msgId finds it.
//!
//! | type | fields after the type |
//! | --- | --- |
//! | `Pub` | timestamp, region, producer group, topic, msgId, tags, keys, store host, body length, cost ms, message type (0 normal, 1 half, 2 commit, 3 delay), offset msgId, success |
//! | `SubBefore` | timestamp, region, consumer group, request id, msgId, retry times, keys |
//! | `SubAfter` | request id, msgId, cost ms, success, keys, context code, timestamp, consumer group |
//! | `EndTransaction` | timestamp, region, producer group, topic, msgId, tags, keys, store host, message type, transaction id, transaction state, from check |
//!
//! Reading follows Java's, which also takes older `Pub` records (13 fields without the offset
//! msgId, 15 with a client host) and `SubAfter` records without the time and group, but never
//! fails on bad input: a record that does not parse is returned as a [`TraceError`].

use std::fmt;

/// Ends a record.
pub const FIELD_SEPARATOR: char = '\u{2}';
/// Separates a record's fields.
pub const CONTENT_SEPARATOR: char = '\u{1}';

/// A record's type, spelled as Java's `TraceType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceType {
    Pub,
    SubBefore,
    SubAfter,
    EndTransaction,
}

impl TraceType {
    pub fn as_str(self) -> &'static str {
        match self {
            TraceType::Pub => "Pub",
            TraceType::SubBefore => "SubBefore",
            TraceType::SubAfter => "SubAfter",
            TraceType::EndTransaction => "EndTransaction",
        }
    }
}

impl fmt::Display for TraceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Java's `MessageType` ordinal of a normal message (1 half, 2 commit, 3 delay).
pub const MSG_TYPE_NORMAL: i32 = 0;
/// Java's `MessageType` ordinal of a delayed message.
pub const MSG_TYPE_DELAY: i32 = 3;

/// One trace record (Java's `TraceContext` with its one `TraceBean`). Fields a type does not
/// carry stay at their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TraceRecord {
    pub trace_type: Option<TraceType>,
    /// When the traced step began, ms since the epoch.
    pub timestamp: i64,
    pub region_id: String,
    /// Producer group (`Pub`, `EndTransaction`) or consumer group (`Sub*`).
    pub group_name: String,
    pub cost_time_ms: i32,
    pub success: bool,
    /// Consumption's request id (`Sub*`).
    pub request_id: String,
    /// `SubAfter`'s consume result code.
    pub context_code: i32,
    pub topic: String,
    /// The traced message's msgId (its UNIQ_KEY).
    pub msg_id: String,
    pub offset_msg_id: String,
    pub tags: String,
    /// Space-separated keys.
    pub keys: String,
    pub store_host: String,
    /// Only in old 15-field `Pub` records.
    pub client_host: String,
    pub body_length: i32,
    /// Java's `MessageType` ordinal.
    pub msg_type: i32,
    pub retry_times: i32,
    pub transaction_id: String,
    pub transaction_state: String,
    pub from_transaction_check: bool,
}

/// Why a record was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceError {
    #[error("trace record of unknown type {0:?}")]
    UnknownType(String),
    #[error("{kind} trace record has {found} fields, at least {needed} expected")]
    TooShort {
        kind: TraceType,
        found: usize,
        needed: usize,
    },
    #[error("{kind} trace record: field {index} is not a number: {value:?}")]
    NotANumber {
        kind: TraceType,
        index: usize,
        value: String,
    },
}

/// Encodes `record` as Java's encoder does (non-cloud access channel), record separator
/// included. A record without a type encodes as nothing.
pub fn encode_record(record: &TraceRecord) -> String {
    let r = record;
    let fields: Vec<String> = match r.trace_type {
        None => return String::new(),
        Some(TraceType::Pub) => vec![
            "Pub".into(),
            r.timestamp.to_string(),
            r.region_id.clone(),
            r.group_name.clone(),
            r.topic.clone(),
            r.msg_id.clone(),
            r.tags.clone(),
            r.keys.clone(),
            r.store_host.clone(),
            r.body_length.to_string(),
            r.cost_time_ms.to_string(),
            r.msg_type.to_string(),
            r.offset_msg_id.clone(),
            r.success.to_string(),
        ],
        Some(TraceType::SubBefore) => vec![
            "SubBefore".into(),
            r.timestamp.to_string(),
            r.region_id.clone(),
            r.group_name.clone(),
            r.request_id.clone(),
            r.msg_id.clone(),
            r.retry_times.to_string(),
            r.keys.clone(),
        ],
        Some(TraceType::SubAfter) => vec![
            "SubAfter".into(),
            r.request_id.clone(),
            r.msg_id.clone(),
            r.cost_time_ms.to_string(),
            r.success.to_string(),
            r.keys.clone(),
            r.context_code.to_string(),
            r.timestamp.to_string(),
            r.group_name.clone(),
        ],
        Some(TraceType::EndTransaction) => vec![
            "EndTransaction".into(),
            r.timestamp.to_string(),
            r.region_id.clone(),
            r.group_name.clone(),
            r.topic.clone(),
            r.msg_id.clone(),
            r.tags.clone(),
            r.keys.clone(),
            r.store_host.clone(),
            r.msg_type.to_string(),
            r.transaction_id.clone(),
            r.transaction_state.clone(),
            r.from_transaction_check.to_string(),
        ],
    };
    let mut out = fields.join(&CONTENT_SEPARATOR.to_string());
    out.push(FIELD_SEPARATOR);
    out
}

/// The KEYS a trace message carrying `record` gets: its msgId and the traced message's keys.
pub fn record_keys(record: &TraceRecord) -> Vec<String> {
    let mut keys = vec![record.msg_id.clone()];
    for key in record.keys.split(' ').filter(|k| !k.is_empty()) {
        if !keys.iter().any(|k| k == key) {
            keys.push(key.to_owned());
        }
    }
    keys
}

/// Splits as Java's `String.split` does: trailing empty pieces dropped.
fn java_split(text: &str, separator: char) -> Vec<&str> {
    let mut pieces: Vec<&str> = text.split(separator).collect();
    while pieces.last().is_some_and(|p| p.is_empty()) {
        pieces.pop();
    }
    pieces
}

/// Reads every record of a trace message's body.
pub fn decode_records(data: &str) -> Vec<Result<TraceRecord, TraceError>> {
    java_split(data, FIELD_SEPARATOR)
        .into_iter()
        .filter(|record| !record.is_empty())
        .map(|record| decode_record(&java_split(record, CONTENT_SEPARATOR)))
        .collect()
}

/// One record's fields, checked and read.
struct Fields<'a> {
    kind: TraceType,
    line: &'a [&'a str],
}

impl Fields<'_> {
    fn need(&self, needed: usize) -> Result<(), TraceError> {
        if self.line.len() < needed {
            return Err(TraceError::TooShort {
                kind: self.kind,
                found: self.line.len(),
                needed,
            });
        }
        Ok(())
    }

    fn text(&self, index: usize) -> String {
        self.line.get(index).copied().unwrap_or_default().to_owned()
    }

    fn number<T: std::str::FromStr>(&self, index: usize) -> Result<T, TraceError> {
        let value = self.line.get(index).copied().unwrap_or_default();
        value.parse().map_err(|_| TraceError::NotANumber {
            kind: self.kind,
            index,
            value: value.to_owned(),
        })
    }

    /// Java's `Boolean.parseBoolean`: only `true`, any case.
    fn boolean(&self, index: usize) -> bool {
        self.line
            .get(index)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

fn decode_record(line: &[&str]) -> Result<TraceRecord, TraceError> {
    let kind = match line.first().copied().unwrap_or_default() {
        "Pub" => TraceType::Pub,
        "SubBefore" => TraceType::SubBefore,
        "SubAfter" => TraceType::SubAfter,
        "EndTransaction" => TraceType::EndTransaction,
        other => return Err(TraceError::UnknownType(other.to_owned())),
    };
    let f = Fields { kind, line };
    let mut r = TraceRecord {
        trace_type: Some(kind),
        ..TraceRecord::default()
    };
    match kind {
        TraceType::Pub => {
            f.need(12)?;
            r.timestamp = f.number(1)?;
            r.region_id = f.text(2);
            r.group_name = f.text(3);
            r.topic = f.text(4);
            r.msg_id = f.text(5);
            r.tags = f.text(6);
            r.keys = f.text(7);
            r.store_host = f.text(8);
            r.body_length = f.number(9)?;
            r.cost_time_ms = f.number(10)?;
            r.msg_type = f.number(11)?;
            match line.len() {
                13 => r.success = f.boolean(12),
                n if n >= 14 => {
                    r.offset_msg_id = f.text(12);
                    r.success = f.boolean(13);
                    r.client_host = f.text(14);
                }
                _ => r.success = true,
            }
        }
        TraceType::SubBefore => {
            f.need(8)?;
            r.timestamp = f.number(1)?;
            r.region_id = f.text(2);
            r.group_name = f.text(3);
            r.request_id = f.text(4);
            r.msg_id = f.text(5);
            r.retry_times = f.number(6)?;
            r.keys = f.text(7);
            r.success = true;
        }
        TraceType::SubAfter => {
            f.need(6)?;
            r.request_id = f.text(1);
            r.msg_id = f.text(2);
            r.cost_time_ms = f.number(3)?;
            r.success = f.boolean(4);
            r.keys = f.text(5);
            if line.len() >= 7 {
                r.context_code = f.number(6)?;
            }
            if line.len() >= 9 {
                r.timestamp = f.number(7)?;
                r.group_name = f.text(8);
            }
        }
        TraceType::EndTransaction => {
            f.need(13)?;
            r.timestamp = f.number(1)?;
            r.region_id = f.text(2);
            r.group_name = f.text(3);
            r.topic = f.text(4);
            r.msg_id = f.text(5);
            r.tags = f.text(6);
            r.keys = f.text(7);
            r.store_host = f.text(8);
            r.msg_type = f.number(9)?;
            r.transaction_id = f.text(10);
            r.transaction_state = f.text(11);
            r.from_transaction_check = f.boolean(12);
            r.success = true;
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests;
