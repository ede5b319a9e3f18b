//! Request-reply's message shapes (RocketMQ 4.9), without any I/O: what a request carries
//! (`request_properties`), the reply a replier builds from a request it consumed
//! ([`create_reply_message`], as Java's `MessageUtil.createReplyMessage`), and the reply a
//! requester reads from a broker's PUSH_REPLY_MESSAGE_TO_CLIENT (`reply_from_push`).
//!
//! The waiting (correlation ids, timeouts) is the producer's (`producer/request.rs`); the
//! producer sends a message whose `MSG_TYPE` is `reply` (`is_reply`) with SEND_REPLY_MESSAGE.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;

use super::message::UniqKeys;
use super::{ClientError, Message, MessageExt, MessageQueue};
use crate::message::names::reply_topic_name;
use crate::message::{MessageToStore, parse_properties, property};
use crate::remoting::RemotingCommand;
use crate::remoting::header::{HeaderError, ReplyMessageRequestHeader};

/// `MSG_TYPE` of a reply message.
pub const REPLY_MESSAGE_TYPE: &str = "reply";

/// A fresh correlation id: UUID-shaped (8-4-4-4-12 hex digits, as Java's `UUID` prints), made
/// of a UNIQ_KEY, so unique within this process and across hosts.
pub(crate) fn new_correlation_id() -> String {
    let hex = UniqKeys::global().next();
    let hex = format!("{hex:0>32}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Adds what a request carries: its correlation id, the requester's client id, and the
/// requester's timeout (`TTL`, ms), as Java's `DefaultMQProducerImpl.request` does.
pub(crate) fn request_properties(
    message: &mut Message,
    correlation_id: &str,
    client_id: &str,
    timeout: Duration,
) {
    let props = &mut message.properties;
    props.insert(property::CORRELATION_ID.into(), correlation_id.into());
    props.insert(property::REPLY_TO_CLIENT.into(), client_id.into());
    props.insert(property::TTL.into(), timeout.as_millis().to_string());
}

/// The reply to `request` (a consumed request message) carrying `body`: to
/// `<cluster>_REPLY_TOPIC` of the cluster that stored the request, with the request's
/// correlation id, requester and TTL and `MSG_TYPE=reply`. Send it with
/// [`Producer::send`](super::Producer::send). Fails when the request has no `CLUSTER`
/// property (it was not stored by a broker, or not by one that stamps it).
pub fn create_reply_message(
    request: &MessageExt,
    body: impl Into<Bytes>,
) -> Result<Message, ClientError> {
    let Some(cluster) = request.property(property::CLUSTER) else {
        return Err(ClientError::InvalidMessage(format!(
            "create reply message fail, requestMessage error, property[{}] is null.",
            property::CLUSTER
        )));
    };
    let mut reply = Message::new(reply_topic_name(cluster), body);
    reply
        .properties
        .insert(property::MSG_TYPE.into(), REPLY_MESSAGE_TYPE.into());
    for name in [
        property::CORRELATION_ID,
        property::REPLY_TO_CLIENT,
        property::TTL,
    ] {
        if let Some(value) = request.property(name) {
            reply.properties.insert(name.into(), value.into());
        }
    }
    Ok(reply)
}

/// Whether `message` is a reply (goes out as SEND_REPLY_MESSAGE rather than a plain send).
pub(crate) fn is_reply(message: &Message) -> bool {
    message
        .properties
        .get(property::MSG_TYPE)
        .map(String::as_str)
        == Some(REPLY_MESSAGE_TYPE)
}

/// The reply a broker pushed (PUSH_REPLY_MESSAGE_TO_CLIENT), as the requester hands it to its
/// caller: the header's fields, the body, and `ARRIVE_TIME` = `arrived_ms`. The broker name is
/// unknown to a push and left empty; the queue offset is 0 (the push precedes storing).
pub(crate) fn reply_from_push(
    push: &RemotingCommand,
    arrived_ms: i64,
) -> Result<MessageExt, HeaderError> {
    let header: ReplyMessageRequestHeader = push.header()?;
    let mut properties = parse_properties(header.properties.as_deref().unwrap_or("").as_bytes());
    properties.insert(property::ARRIVE_TIME.into(), arrived_ms.to_string());
    let unknown = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
    let mut stored = MessageToStore::new(&header.topic, header.queue_id, push.body.to_vec());
    stored.flag = header.flag;
    stored.sys_flag = header.sys_flag;
    stored.born_timestamp = header.born_timestamp;
    stored.born_host = header.born_host.parse().unwrap_or(unknown);
    stored.store_timestamp = header.store_timestamp;
    stored.store_host = header.store_host.parse().unwrap_or(unknown);
    stored.reconsume_times = header.reconsume_times.unwrap_or(0);
    stored.properties = properties;
    Ok(MessageExt {
        queue: MessageQueue {
            topic: header.topic,
            broker_name: String::new(),
            queue_id: header.queue_id,
        },
        offset_msg_id: String::new(),
        stored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remoting::RequestCode;

    fn consumed(props: &[(&str, &str)]) -> MessageExt {
        let mut stored = MessageToStore::new("Requests", 0, b"ask".to_vec());
        for (k, v) in props {
            stored.properties.insert((*k).into(), (*v).into());
        }
        MessageExt {
            stored,
            queue: MessageQueue {
                topic: "Requests".into(),
                broker_name: "b".into(),
                queue_id: 0,
            },
            offset_msg_id: String::new(),
        }
    }

    #[test]
    fn a_reply_goes_to_the_clusters_reply_topic_with_the_requests_correlation() {
        let mut request = Message::new("Requests", "ask");
        request_properties(&mut request, "c-1", "10.0.0.1@7#0", Duration::from_secs(3));
        let mut props: Vec<(&str, &str)> = request
            .properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        props.push(("CLUSTER", "TestCluster"));
        let reply = create_reply_message(&consumed(&props), "answer").unwrap();
        assert_eq!(reply.topic, "TestCluster_REPLY_TOPIC");
        assert!(is_reply(&reply) && !is_reply(&request));
        assert_eq!(reply.properties["CORRELATION_ID"], "c-1");
        assert_eq!(reply.properties["REPLY_TO_CLIENT"], "10.0.0.1@7#0");
        assert_eq!(reply.properties["TTL"], "3000");
        assert_eq!(&reply.body[..], b"answer");
    }

    #[test]
    fn a_request_without_cluster_cannot_be_replied_to() {
        let err = create_reply_message(&consumed(&[("CORRELATION_ID", "c")]), "x").unwrap_err();
        assert!(
            err.to_string().contains("property[CLUSTER] is null"),
            "{err}"
        );
    }

    #[test]
    fn correlation_ids_are_uuid_shaped_and_distinct() {
        let (a, b) = (new_correlation_id(), new_correlation_id());
        assert_ne!(a, b);
        let groups: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{a}");
    }

    #[test]
    fn a_pushed_reply_is_read_with_its_properties_and_arrival_time() {
        let header = ReplyMessageRequestHeader {
            producer_group: "replier".into(),
            topic: "TestCluster_REPLY_TOPIC".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 0,
            sys_flag: 0,
            born_timestamp: 5,
            flag: 0,
            properties: Some("CORRELATION_ID\u{1}c-1\u{2}PUSH_REPLY_TIME\u{1}9".into()),
            reconsume_times: Some(0),
            unit_mode: Some(false),
            born_host: "127.0.0.1:5000".into(),
            store_host: "127.0.0.1:10911".into(),
            store_timestamp: 9,
        };
        let push = RemotingCommand::request(
            RequestCode::PushReplyMessageToClient,
            Default::default(),
            Bytes::from_static(b"answer"),
        )
        .with_header(&header);
        let reply = reply_from_push(&push, 12).unwrap();
        assert_eq!(reply.property("CORRELATION_ID"), Some("c-1"));
        assert_eq!(reply.property("ARRIVE_TIME"), Some("12"));
        assert_eq!(reply.body(), b"answer");
        assert_eq!(reply.stored.store_host.port(), 10911);
        let mut missing = push.clone();
        missing.ext_fields.remove("storeHost");
        assert!(reply_from_push(&missing, 0).is_err());
    }
}
