//! Java's `enableMsgTrace` for our producer: after a successful send, a `Pub` trace record
//! ([`crate::client::trace`]) goes to [`ProducerConfig::msg_trace_topic`](super::ProducerConfig)
//! in a task of its own, keyed by the message's msgId and keys, so `mqadmin
//! queryMsgTraceById` (and Java's tools) find it. Java batches records; here each send writes
//! one trace message. Failures are logged and never reach the traced send. Sends to the trace
//! topic itself are not traced.

use std::sync::Arc;

use super::{Inner, SendResult, SendStatus};
use crate::client::Message;
use crate::client::message::now_ms;
use crate::client::trace::{
    MSG_TYPE_DELAY, MSG_TYPE_NORMAL, TraceRecord, TraceType, encode_record, record_keys,
};
use crate::message::parse_offset_msg_id;

/// The region brokers name in send answers when they set none (Java's `DefaultRegion`).
const DEFAULT_REGION: &str = "DefaultRegion";

/// The `Pub` record of a send of `message` that began at `started_ms` and ended in `sent`.
fn pub_record(group: &str, message: &Message, sent: &SendResult, started_ms: i64) -> TraceRecord {
    let store_host = sent
        .offset_msg_id
        .split(',')
        .next()
        .and_then(|id| parse_offset_msg_id(id).ok())
        .map(|(host, _)| host.to_string())
        .unwrap_or_default();
    TraceRecord {
        trace_type: Some(TraceType::Pub),
        timestamp: started_ms,
        region_id: DEFAULT_REGION.into(),
        group_name: group.into(),
        cost_time_ms: i32::try_from(now_ms().saturating_sub(started_ms)).unwrap_or(i32::MAX),
        success: sent.status == SendStatus::SendOk,
        topic: message.topic.clone(),
        msg_id: sent.msg_id.clone(),
        offset_msg_id: sent.offset_msg_id.clone(),
        tags: message.tags.clone().unwrap_or_default(),
        keys: message.keys.join(" "),
        store_host,
        body_length: i32::try_from(message.body.len()).unwrap_or(i32::MAX),
        msg_type: if message.delay_level.is_some_and(|l| l > 0) {
            MSG_TYPE_DELAY
        } else {
            MSG_TYPE_NORMAL
        },
        ..TraceRecord::default()
    }
}

/// Writes the `Pub` record of a send in the background, if tracing is on.
pub(super) fn trace_send(inner: &Arc<Inner>, message: &Message, sent: &SendResult, started: i64) {
    let Some(trace_topic) = inner.config.msg_trace_topic.clone() else {
        return;
    };
    if message.topic == trace_topic {
        return;
    }
    let record = pub_record(&inner.config.group, message, sent, started);
    let mut trace = Message::new(trace_topic.clone(), encode_record(&record));
    trace.keys = record_keys(&record);
    let inner = inner.clone();
    tokio::spawn(async move {
        let sent = match inner.single_payload(&trace) {
            Ok(payload) => inner.send_with_retries(&trace_topic, payload).await,
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            tracing::warn!(topic = %trace_topic, msg_id = %record.msg_id, error = %e,
                "message trace not written");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::MessageQueue;
    use crate::client::trace::decode_records;

    #[test]
    fn a_send_becomes_a_pub_record_javas_tools_read() {
        let message = Message::new("TopicTest", "hello")
            .with_tags("TagA")
            .with_key("k1");
        let sent = SendResult {
            status: SendStatus::SendOk,
            msg_id: "7F0000010B5C18B4AAC27E2A1F3E0000".into(),
            offset_msg_id: "7F00000100002A9F000000000000A1B2".into(),
            queue: MessageQueue {
                topic: "TopicTest".into(),
                broker_name: "b".into(),
                queue_id: 1,
            },
            queue_offset: 7,
            attempt: 1,
            raft_term: None,
        };
        let record = pub_record("PG", &message, &sent, now_ms());
        assert_eq!(record.store_host, "127.0.0.1:10911");
        let body = encode_record(&record);
        let back = decode_records(&body).remove(0).unwrap();
        assert_eq!(back, record);
        assert_eq!(
            (back.body_length, back.tags.as_str(), back.keys.as_str()),
            (5, "TagA", "k1")
        );
        assert_eq!(record_keys(&record), [sent.msg_id.as_str(), "k1"]);
    }
}
