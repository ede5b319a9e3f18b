//! The HEART_BEAT body (remoting.md §5.1), read leniently: every real client's quirks.
//!
//! Enum members come as names or as ordinals (the C++ client sends `"consumeType":1`),
//! `subVersion` as a number or a string, `expressionType` and the set fields may be missing,
//! and `codeSet` is not trusted (the C++ client fills it with zeros): the broker recomputes tag
//! codes from `subString` with its tag filter.
//!
//! Owns the reading only: the broker's client table decides what a heartbeat means, and the
//! client writes its own heartbeats (which this reader must accept, as its tests check).

use serde::Deserialize;
use serde_json::Value;

/// A client's heartbeat: who it is and which groups it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Heartbeat {
    pub client_id: String,
    pub producer_groups: Vec<String>,
    pub consumers: Vec<ConsumerData>,
}

/// One consumer group a client belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerData {
    pub group: String,
    /// `CONSUME_ACTIVELY` (pull) or `CONSUME_PASSIVELY` (push).
    pub consume_type: String,
    /// `CLUSTERING` or `BROADCASTING`.
    pub message_model: String,
    pub consume_from_where: String,
    pub subscriptions: Vec<Subscription>,
}

/// One topic a consumer group subscribes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub topic: String,
    /// The expression (`*`, `TagA || TagB`, or SQL92 text).
    pub expression: String,
    /// `TAG` (default) or `SQL92`.
    pub expression_type: String,
    pub sub_version: i64,
}

/// Why a heartbeat body is refused (the reply is SYSTEM_ERROR with this text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad heartbeat body: {0}")]
pub struct HeartbeatError(String);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawHeartbeat {
    #[serde(rename = "clientID", default)]
    client_id: Value,
    #[serde(default)]
    producer_data_set: Vec<RawGroup>,
    #[serde(default)]
    consumer_data_set: Vec<RawConsumer>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawGroup {
    #[serde(default)]
    group_name: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConsumer {
    #[serde(default)]
    group_name: Value,
    #[serde(default)]
    consume_type: Value,
    #[serde(default)]
    message_model: Value,
    #[serde(default)]
    consume_from_where: Value,
    #[serde(default)]
    subscription_data_set: Vec<RawSubscription>,
}

/// A `SubscriptionData` as real clients write it (also inside CHECK_CLIENT_CONFIG's body).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawSubscription {
    #[serde(default)]
    topic: Value,
    #[serde(default)]
    sub_string: Value,
    #[serde(default)]
    expression_type: Value,
    #[serde(default)]
    sub_version: Value,
}

impl RawSubscription {
    /// Missing members are empty; a missing or empty `expressionType` is `TAG`.
    pub(super) fn read(&self) -> Subscription {
        Subscription {
            topic: text(&self.topic),
            expression: text(&self.sub_string),
            expression_type: match text(&self.expression_type) {
                t if t.is_empty() => "TAG".to_string(),
                t => t,
            },
            sub_version: number(&self.sub_version),
        }
    }
}

pub(super) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// An enum member given by name or by ordinal.
fn member(v: &Value, names: &[&str], default: &str) -> String {
    match v {
        Value::String(s) if !s.is_empty() => s.clone(),
        Value::Number(n) => n
            .as_u64()
            .and_then(|i| names.get(i as usize))
            .map_or_else(|| default.to_string(), |s| (*s).to_string()),
        _ => default.to_string(),
    }
}

fn number(v: &Value) -> i64 {
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => s.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

const CONSUME_TYPES: &[&str] = &["CONSUME_ACTIVELY", "CONSUME_PASSIVELY", "CONSUME_POP"];
const MESSAGE_MODELS: &[&str] = &["BROADCASTING", "CLUSTERING"];
const CONSUME_FROM: &[&str] = &[
    "CONSUME_FROM_LAST_OFFSET",
    "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
    "CONSUME_FROM_MIN_OFFSET",
    "CONSUME_FROM_MAX_OFFSET",
    "CONSUME_FROM_FIRST_OFFSET",
    "CONSUME_FROM_TIMESTAMP",
];

/// Parses a HEART_BEAT body.
pub fn parse_heartbeat(body: &[u8]) -> Result<Heartbeat, HeartbeatError> {
    let raw: RawHeartbeat =
        serde_json::from_slice(body).map_err(|e| HeartbeatError(e.to_string()))?;
    let client_id = text(&raw.client_id);
    if client_id.is_empty() {
        return Err(HeartbeatError("no clientID".into()));
    }
    Ok(Heartbeat {
        client_id,
        producer_groups: raw
            .producer_data_set
            .iter()
            .map(|g| text(&g.group_name))
            .filter(|g| !g.is_empty())
            .collect(),
        consumers: raw
            .consumer_data_set
            .iter()
            .map(|c| ConsumerData {
                group: text(&c.group_name),
                consume_type: member(&c.consume_type, CONSUME_TYPES, "CONSUME_PASSIVELY"),
                message_model: member(&c.message_model, MESSAGE_MODELS, "CLUSTERING"),
                consume_from_where: member(
                    &c.consume_from_where,
                    CONSUME_FROM,
                    "CONSUME_FROM_LAST_OFFSET",
                ),
                subscriptions: c
                    .subscription_data_set
                    .iter()
                    .map(RawSubscription::read)
                    .filter(|s| !s.topic.is_empty())
                    .collect(),
            })
            .filter(|c| !c.group.is_empty())
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_java_heartbeat_parses_with_enum_names() {
        let body = br#"{"clientID":"192.168.1.5@12345",
          "producerDataSet":[{"groupName":"pg"},{"groupName":"CLIENT_INNER_PRODUCER"}],
          "consumerDataSet":[{"groupName":"cg","consumeType":"CONSUME_PASSIVELY",
            "messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","unitMode":false,
            "subscriptionDataSet":[{"topic":"TopicTest","subString":"TagA || TagB",
              "tagsSet":["TagA","TagB"],"codeSet":[2598919,2598920],"subVersion":1700000000000,
              "expressionType":"TAG","classFilterMode":false}]}],
          "heartbeatFingerprint":7}"#;
        let hb = parse_heartbeat(body).unwrap();
        assert_eq!(hb.client_id, "192.168.1.5@12345");
        assert_eq!(hb.producer_groups, ["pg", "CLIENT_INNER_PRODUCER"]);
        let c = &hb.consumers[0];
        assert_eq!(
            (c.group.as_str(), c.message_model.as_str()),
            ("cg", "CLUSTERING")
        );
        assert_eq!(c.consume_from_where, "CONSUME_FROM_FIRST_OFFSET");
        assert_eq!(c.subscriptions[0].sub_version, 1_700_000_000_000);
        assert_eq!(c.subscriptions[0].expression, "TagA || TagB");
    }

    #[test]
    fn a_cpp_client_heartbeat_with_ordinals_and_string_versions_parses() {
        let body = br#"{"clientID":"1234-10.0.0.1@inst","consumerDataSet":[{"groupName":"cg",
          "consumeType":1,"messageModel":0,"consumeFromWhere":4,
          "subscriptionDataSet":[{"topic":"T","subString":"*","subVersion":"1700000000001",
          "codeSet":[0]}]}]}"#;
        let hb = parse_heartbeat(body).unwrap();
        assert!(hb.producer_groups.is_empty());
        let c = &hb.consumers[0];
        assert_eq!(c.consume_type, "CONSUME_PASSIVELY");
        assert_eq!(c.message_model, "BROADCASTING");
        assert_eq!(c.consume_from_where, "CONSUME_FROM_FIRST_OFFSET");
        assert_eq!(c.subscriptions[0].expression_type, "TAG");
        assert_eq!(c.subscriptions[0].sub_version, 1_700_000_000_001);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_heartbeat(b"").is_err());
        assert!(parse_heartbeat(b"[1,2]").is_err());
        assert!(parse_heartbeat(br#"{"producerDataSet":[]}"#).is_err());
        assert!(parse_heartbeat(br#"{"clientID":"x","consumerDataSet":"nope"}"#).is_err());
    }
}
