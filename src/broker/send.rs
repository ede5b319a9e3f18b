//! The send path without the wire: turning a send request's fields into stored messages
//! (remoting.md §4.2 steps 7 and 11, §4.4).
//!
//! [`build_message`] validates and encodes one message; [`build_batch`] encodes every inner
//! message of a SEND_BATCH_MESSAGE body (read with [`parse_batch`](crate::message::batch::parse_batch))
//! with the batch-level properties added. The result is a body for a `Message` / `MessageBatch` proposal; the store
//! stamps each PHYSICALOFFSET when the leader appends it and the queue offsets when it is
//! applied. Topic resolution and leadership are the handler's business.

use std::net::SocketAddr;

use crate::message::batch::{BatchError, BatchItem};
use crate::message::{
    MAX_PROPERTIES_LEN, MessageToStore, Properties, encode_message_into, parse_properties, property,
};

/// Why a send is refused before anything is proposed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// MESSAGE_ILLEGAL (13): too large, bad properties, malformed batch.
    #[error("{0}")]
    MessageIllegal(String),
}

impl From<BatchError> for SendError {
    fn from(e: BatchError) -> Self {
        SendError::MessageIllegal(e.to_string())
    }
}

/// The fields every message of one send shares.
#[derive(Debug, Clone)]
pub struct SendContext<'a> {
    pub topic: &'a str,
    pub queue_id: u32,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    /// The producer connection's peer address.
    pub born_host: SocketAddr,
    /// This broker's client-facing address (`brokerIP1:listenPort`).
    pub store_host: SocketAddr,
    /// The leader's clock when it accepts the send.
    pub store_timestamp: i64,
    pub reconsume_times: i32,
    /// `brokerClusterName`, added as the `CLUSTER` property.
    pub cluster: &'a str,
    /// `maxMessageSize`: the largest body accepted.
    pub max_body: u64,
}

/// Encodes one message, appending it to `out`.
pub fn build_message(
    ctx: &SendContext<'_>,
    flag: i32,
    body: &[u8],
    mut properties: Properties,
    out: &mut Vec<u8>,
) -> Result<(), SendError> {
    if body.len() as u64 > ctx.max_body {
        return Err(SendError::MessageIllegal(format!(
            "the message body size {} is over the limit {}",
            body.len(),
            ctx.max_body
        )));
    }
    properties.remove(property::WAIT);
    properties.insert(property::CLUSTER.to_string(), ctx.cluster.to_string());
    let msg = MessageToStore {
        queue_id: ctx.queue_id as i32,
        flag,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag: ctx.sys_flag,
        born_timestamp: ctx.born_timestamp,
        born_host: ctx.born_host,
        store_timestamp: ctx.store_timestamp,
        store_host: ctx.store_host,
        reconsume_times: ctx.reconsume_times,
        prepared_transaction_offset: 0,
        body: body.to_vec(),
        topic: ctx.topic.to_string(),
        properties,
    };
    encode_message_into(&msg, out).map_err(|e| SendError::MessageIllegal(e.to_string()))
}

/// Parses the properties string of a send header, refusing one longer than RocketMQ allows.
pub fn parse_send_properties(raw: &str) -> Result<Properties, SendError> {
    if raw.len() > MAX_PROPERTIES_LEN {
        return Err(SendError::MessageIllegal(format!(
            "the message properties length {} is over the limit {MAX_PROPERTIES_LEN}",
            raw.len()
        )));
    }
    Ok(parse_properties(raw.as_bytes()))
}

/// Encodes every message of a batch back to back, the batch-level properties added to each.
pub fn build_batch(
    ctx: &SendContext<'_>,
    items: Vec<BatchItem>,
    batch_properties: &Properties,
) -> Result<Vec<u8>, SendError> {
    let mut out = Vec::new();
    for item in items {
        let mut properties = item.properties;
        for (k, v) in batch_properties {
            properties.entry(k.clone()).or_insert_with(|| v.clone());
        }
        build_message(ctx, item.flag, &item.body, properties, &mut out)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::BrokerError;
    use crate::message::batch::parse_batch;
    use crate::message::{decode_message, walk_messages};

    fn ctx() -> SendContext<'static> {
        SendContext {
            topic: "TopicTest",
            queue_id: 2,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            born_host: "127.0.0.1:50000".parse().unwrap(),
            store_host: "127.0.0.1:30911".parse().unwrap(),
            store_timestamp: 1_700_000_000_123,
            reconsume_times: 0,
            cluster: "RaftCluster",
            max_body: 16,
        }
    }

    fn batch_record(flag: i32, body: &[u8], props: &str) -> Vec<u8> {
        let total = 20 + body.len() + 2 + props.len();
        let mut r = Vec::new();
        r.extend((total as i32).to_be_bytes());
        r.extend(0i32.to_be_bytes());
        r.extend(0i32.to_be_bytes());
        r.extend(flag.to_be_bytes());
        r.extend((body.len() as i32).to_be_bytes());
        r.extend(body);
        r.extend((props.len() as u16).to_be_bytes());
        r.extend(props.as_bytes());
        r
    }

    #[test]
    fn a_message_is_stored_with_cluster_added_and_wait_stripped() {
        let props =
            parse_send_properties("WAIT\u{1}true\u{2}TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}ABC\u{2}")
                .unwrap();
        let mut out = Vec::new();
        build_message(&ctx(), 7, b"hello", props, &mut out).unwrap();
        let (m, len) = decode_message(&out).unwrap();
        assert_eq!(len, out.len());
        let m = m.message;
        assert_eq!((m.topic.as_str(), m.queue_id, m.flag), ("TopicTest", 2, 7));
        assert_eq!(m.body, b"hello");
        assert_eq!(m.properties.get("TAGS").map(String::as_str), Some("TagA"));
        assert_eq!(
            m.properties.get("UNIQ_KEY").map(String::as_str),
            Some("ABC")
        );
        assert_eq!(
            m.properties.get("CLUSTER").map(String::as_str),
            Some("RaftCluster")
        );
        assert!(!m.properties.contains_key("WAIT"));
        assert_eq!(m.store_timestamp, 1_700_000_000_123);
    }

    #[test]
    fn a_body_over_max_message_size_is_message_illegal() {
        let err =
            build_message(&ctx(), 0, &[0u8; 17], Properties::new(), &mut Vec::new()).unwrap_err();
        assert_eq!(BrokerError::from(err.clone()).code().as_i32(), 13);
        assert!(err.to_string().contains("over the limit 16"));
        let long = "k\u{1}".to_string() + &"v".repeat(MAX_PROPERTIES_LEN);
        assert_eq!(
            BrokerError::from(parse_send_properties(&long).unwrap_err())
                .code()
                .as_i32(),
            13
        );
    }

    #[test]
    fn batches_parse_and_every_message_gets_the_batch_properties() {
        let mut body = batch_record(1, b"one", "TAGS\u{1}A\u{2}KEYS\u{1}k1");
        body.extend(batch_record(2, b"two", "TAGS\u{1}B"));
        let items = parse_batch(&body).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!((items[1].flag, items[1].body.as_slice()), (2, &b"two"[..]));
        let batch_props = parse_send_properties("WAIT\u{1}true\u{2}").unwrap();
        let out = build_batch(&ctx(), items, &batch_props).unwrap();
        let decoded: Vec<_> = walk_messages(&out)
            .map(|s| {
                let (at, len) = s.unwrap();
                decode_message(&out[at..at + len]).unwrap().0.message
            })
            .collect();
        assert_eq!(decoded.len(), 2);
        assert_eq!(
            decoded[0].properties.get("KEYS").map(String::as_str),
            Some("k1")
        );
        assert!(decoded.iter().all(|m| m.properties.contains_key("CLUSTER")));
        assert!(decoded.iter().all(|m| !m.properties.contains_key("WAIT")));
    }
}
