//! The bodies of LOCK_BATCH_MQ / UNLOCK_BATCH_MQ (remoting.md §5.8, §7.2), read leniently:
//! `{"consumerGroup":"cg","clientId":"ip@pid","mqSet":[{"brokerName":"b","queueId":0,"topic":"T"}]}`
//! from Java (fastjson), ali-ons or the C++ client, and the reply `{"lockOKMQSet":[...]}`.
//!
//! Leniency (§7.1): numbers may come as strings (`"queueId":"3"`), fastjson's bare integer
//! object keys are quoted before parsing, unknown members (5.x `onlyThisBroker`) are ignored,
//! and `clientID` is accepted for `clientId`. A queue without a topic or broker name is
//! skipped, not an error. Never looks at a lock table: the broker's `handle_lock` does, and the
//! client writes its own requests and reads the reply.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

/// One message queue as lock bodies name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueKey {
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i32,
}

/// A lock or unlock request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRequest {
    pub group: String,
    pub client_id: String,
    pub queues: BTreeSet<QueueKey>,
}

/// Why a lock body is refused (the reply is SYSTEM_ERROR with this text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad lock body: {0}")]
pub struct LockBodyError(String);

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn queue_id(v: Option<&Value>) -> Option<i32> {
    match v? {
        Value::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn queue(v: &Value) -> Option<QueueKey> {
    let key = QueueKey {
        topic: text(v.get("topic")),
        broker_name: text(v.get("brokerName")),
        queue_id: queue_id(v.get("queueId"))?,
    };
    (!key.topic.is_empty() && !key.broker_name.is_empty()).then_some(key)
}

/// Parses a LockBatchRequestBody or UnlockBatchRequestBody.
pub fn parse_lock_request(body: &[u8]) -> Result<LockRequest, LockBodyError> {
    let value: Value = super::decode_lenient(body).map_err(|e| LockBodyError(e.to_string()))?;
    if !value.is_object() {
        return Err(LockBodyError("not a JSON object".into()));
    }
    let group = text(value.get("consumerGroup"));
    if group.is_empty() {
        return Err(LockBodyError("no consumerGroup".into()));
    }
    let client_id = match text(value.get("clientId")) {
        id if id.is_empty() => text(value.get("clientID")),
        id => id,
    };
    if client_id.is_empty() {
        return Err(LockBodyError("no clientId".into()));
    }
    let queues = match value.get("mqSet") {
        Some(Value::Array(items)) => items.iter().filter_map(queue).collect(),
        None | Some(Value::Null) => BTreeSet::new(),
        Some(_) => return Err(LockBodyError("mqSet is not an array".into())),
    };
    Ok(LockRequest {
        group,
        client_id,
        queues,
    })
}

/// MessageQueue as Java writes it: members in alphabetical order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireQueue<'a> {
    broker_name: &'a str,
    queue_id: i32,
    topic: &'a str,
}

#[derive(Serialize)]
struct LockResponse<'a> {
    #[serde(rename = "lockOKMQSet")]
    lock_ok_mq_set: Vec<WireQueue<'a>>,
}

/// The LockBatchResponseBody for the queues granted.
pub fn lock_response_body(granted: &BTreeSet<QueueKey>) -> Vec<u8> {
    let body = LockResponse {
        lock_ok_mq_set: granted
            .iter()
            .map(|q| WireQueue {
                broker_name: &q.broker_name,
                queue_id: q.queue_id,
                topic: &q.topic,
            })
            .collect(),
    };
    // Strings and integers only: serde_json cannot fail on them.
    serde_json::to_vec(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_java_lock_body_parses() {
        let body = br#"{"clientId":"10.0.0.1@123","consumerGroup":"cg","onlyThisBroker":false,
          "mqSet":[{"brokerName":"b","queueId":0,"topic":"T"},{"brokerName":"b","queueId":3,"topic":"T"}]}"#;
        let req = parse_lock_request(body).unwrap();
        assert_eq!(req.group, "cg");
        assert_eq!(req.client_id, "10.0.0.1@123");
        let ids: Vec<i32> = req.queues.iter().map(|q| q.queue_id).collect();
        assert_eq!(ids, [0, 3]);
    }

    #[test]
    fn string_numbers_client_id_spelling_and_partial_queues_are_tolerated() {
        let body = br#"{"clientID":"1-10.0.0.1@i","consumerGroup":"cg",
          "mqSet":[{"brokerName":"b","queueId":"2","topic":"T"},{"queueId":1,"topic":"T"},{"brokerName":"b","topic":"T"}]}"#;
        let req = parse_lock_request(body).unwrap();
        assert_eq!(req.client_id, "1-10.0.0.1@i");
        assert_eq!(req.queues.len(), 1);
        assert_eq!(req.queues.iter().next().unwrap().queue_id, 2);
    }

    #[test]
    fn a_cpp_client_body_with_a_trailing_newline_and_no_queues_parses() {
        // jsoncpp's FastWriter ends the text with a newline and omits an empty array.
        let body = b"{\"clientId\":\"1234-10.0.0.1@i\",\"consumerGroup\":\"cg\"}\n";
        let req = parse_lock_request(body).unwrap();
        assert!(req.queues.is_empty());
        let body = b"{\"consumerGroup\":\"cg\",\"clientId\":\"c\",\"mqSet\":[{\"topic\":\"T\",\"brokerName\":\"b\",\"queueId\":7}]}\n";
        assert_eq!(parse_lock_request(body).unwrap().queues.len(), 1);
    }

    #[test]
    fn missing_group_or_client_and_garbage_are_errors_not_panics() {
        assert!(parse_lock_request(b"").is_err());
        assert!(parse_lock_request(b"[1]").is_err());
        assert!(parse_lock_request(br#"{"clientId":"a","mqSet":[]}"#).is_err());
        assert!(parse_lock_request(br#"{"consumerGroup":"g","mqSet":[]}"#).is_err());
        assert!(parse_lock_request(br#"{"consumerGroup":"g","clientId":"a","mqSet":7}"#).is_err());
        let empty = parse_lock_request(br#"{"consumerGroup":"g","clientId":"a"}"#).unwrap();
        assert!(empty.queues.is_empty());
    }

    #[test]
    fn the_response_lists_queues_with_java_member_names() {
        let granted = BTreeSet::from([QueueKey {
            topic: "T".into(),
            broker_name: "b".into(),
            queue_id: 1,
        }]);
        let body = String::from_utf8(lock_response_body(&granted)).unwrap();
        assert_eq!(
            body,
            r#"{"lockOKMQSet":[{"brokerName":"b","queueId":1,"topic":"T"}]}"#
        );
    }
}
