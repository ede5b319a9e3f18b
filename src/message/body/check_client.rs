//! The CHECK_CLIENT_CONFIG body (request 46, remoting.md §5): a consumer's client id, its group
//! and one subscription, which a consumer with a non-TAG subscription sends before it starts
//! so that a broker that cannot filter that way says so at once (Java's
//! `CheckClientRequestBody`).
//!
//! The client writes it with [`encode_check_client`], the broker reads it with
//! [`parse_check_client`], leniently as it reads heartbeats (the subscription's members are the
//! heartbeat's `SubscriptionData`). Whether the broker accepts the subscription is the broker's
//! business.

use serde::Deserialize;
use serde_json::{Value, json};

use super::heartbeat::{RawSubscription, Subscription, text};

/// What CHECK_CLIENT_CONFIG asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckClientBody {
    pub client_id: String,
    pub group: String,
    /// `None` when the body carries none (Java then answers SUCCESS).
    pub subscription: Option<Subscription>,
}

/// Why a CHECK_CLIENT_CONFIG body is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad CHECK_CLIENT_CONFIG body: {0}")]
pub struct CheckClientError(String);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCheckClient {
    #[serde(default)]
    client_id: Value,
    #[serde(default)]
    group: Value,
    #[serde(default)]
    subscription_data: Option<RawSubscription>,
}

/// Reads a CHECK_CLIENT_CONFIG body; an empty body asks about nothing.
pub fn parse_check_client(body: &[u8]) -> Result<CheckClientBody, CheckClientError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(CheckClientBody {
            client_id: String::new(),
            group: String::new(),
            subscription: None,
        });
    }
    let raw: RawCheckClient =
        serde_json::from_slice(body).map_err(|e| CheckClientError(e.to_string()))?;
    Ok(CheckClientBody {
        client_id: text(&raw.client_id),
        group: text(&raw.group),
        subscription: raw.subscription_data.as_ref().map(RawSubscription::read),
    })
}

/// The body Java's client sends for `subscription` (members in fastjson's alphabetical order;
/// a non-TAG subscription has no tags).
pub fn encode_check_client(client_id: &str, group: &str, subscription: &Subscription) -> Vec<u8> {
    json!({
        "clientId": client_id,
        "group": group,
        "subscriptionData": {
            "classFilterMode": false,
            "codeSet": [],
            "expressionType": subscription.expression_type,
            "subString": subscription.expression,
            "subVersion": subscription.sub_version,
            "tagsSet": [],
            "topic": subscription.topic,
        },
    })
    .to_string()
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_java_clients_body_reads() {
        let body = br#"{"clientId":"10.0.0.7@4242#1","group":"G",
          "subscriptionData":{"classFilterMode":false,"codeSet":[],"expressionType":"SQL92",
          "subString":"a > 5 AND b = 'x'","subVersion":1700000000000,"tagsSet":[],"topic":"T"}}"#;
        let read = parse_check_client(body).unwrap();
        assert_eq!(read.client_id, "10.0.0.7@4242#1");
        assert_eq!(read.group, "G");
        let sub = read.subscription.unwrap();
        assert_eq!(sub.expression_type, "SQL92");
        assert_eq!(sub.expression, "a > 5 AND b = 'x'");
        assert_eq!(sub.sub_version, 1_700_000_000_000);
        assert_eq!(sub.topic, "T");
    }

    #[test]
    fn what_the_client_writes_the_broker_reads() {
        let sub = Subscription {
            topic: "T".into(),
            expression: "a IN ('it''s', \"q\")".into(),
            expression_type: "SQL92".into(),
            sub_version: 7,
        };
        let read = parse_check_client(&encode_check_client("c1", "G", &sub)).unwrap();
        assert_eq!(
            read,
            CheckClientBody {
                client_id: "c1".into(),
                group: "G".into(),
                subscription: Some(sub),
            }
        );
    }

    #[test]
    fn an_empty_body_or_one_without_a_subscription_asks_about_nothing_and_garbage_is_refused() {
        assert_eq!(parse_check_client(b"").unwrap().subscription, None);
        let read = parse_check_client(br#"{"clientId":"c","group":"G"}"#).unwrap();
        assert_eq!(read.subscription, None);
        let tag = parse_check_client(br#"{"subscriptionData":{"topic":"T","subString":"*"}}"#);
        assert_eq!(tag.unwrap().subscription.unwrap().expression_type, "TAG");
        assert!(parse_check_client(b"{").is_err());
        assert!(parse_check_client(b"\"text\"").is_err());
    }
}
