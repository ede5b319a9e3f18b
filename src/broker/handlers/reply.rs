//! SEND_REPLY_MESSAGE (324) and SEND_REPLY_MESSAGE_V2 (325): a replier's answer to a request
//! message (RocketMQ 4.9's request-reply). The reply carries the send header of a plain send
//! and, in its properties, `REPLY_TO_CLIENT` (the requester's client id) and `CORRELATION_ID`.
//!
//! As Java's `ReplyMessageProcessor` does, the reply is first pushed to the requester with
//! PUSH_REPLY_MESSAGE_TO_CLIENT (326) on the connection that client heartbeats on *to this
//! node*, then stored in the reply topic (`<cluster>_REPLY_TOPIC`) when
//! `storeReplyMessageEnable` (through Raft, like any send, so storing needs the leader: a
//! follower refuses the reply with SERVICE_NOT_AVAILABLE before pushing anything, and clients
//! send it again to the master). The answer's code is the push's: SUCCESS once the requester
//! took the reply (whether or not storing then succeeded, as in Java), SYSTEM_ERROR with
//! Java's remark when it did not or when this node knows no connection of that client.
//!
//! Across a failover: the requester heartbeats the master of its request's group; a reply sent
//! to a new leader the requester has not heartbeated yet gets "channel ... not found" until it
//! does (our requester re-registers with the topic's current masters every second while a
//! request waits; a Java requester only every 30 s), and the requester's wait ends in its
//! timeout if no attempt of the replier succeeds in time.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;

use super::send::born_host;
use crate::broker::send::{SendContext, build_message, parse_send_properties};
use crate::broker::server::{Broker, BrokerError, HandlerResult, lock, now_ms};
use crate::message::names::check_send_topic;
use crate::message::{PERM_WRITE, TopicConfig, offset_msg_id, property};
use crate::raft::ProposalKind;
use crate::remoting::header::ReplyMessageRequestHeader;
use crate::remoting::header::send::{SendMessageRequestHeader, SendMessageResponseHeader};
use crate::remoting::{ConnectionInfo, RemotingCommand, RequestCode, ResponseCode};

/// How long the requester gets to take a pushed reply (Java's `callClient`: 10 s).
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Handles a reply: push it to the requester, then store it if the config says so.
pub(crate) async fn send_reply(
    broker: &Broker,
    conn: &ConnectionInfo,
    req: &RemotingCommand,
) -> HandlerResult {
    let header = SendMessageRequestHeader::from_command(req)
        .map_err(|e| BrokerError::system(e.to_string()))?;
    check_send_topic(&header.topic).map_err(BrokerError::from)?;
    let store = broker.config.store_reply_message_enable;
    if store {
        broker.require_leader()?;
        broker
            .disk_guard
            .check()
            .map_err(BrokerError::Unavailable)?;
    }
    let topic = reply_topic(broker, &header).await?;
    let queue_id = match u32::try_from(header.queue_id) {
        Ok(q) if q < (topic.write_queue_nums as u32).max(topic.read_queue_nums as u32) => q,
        Ok(q) => {
            return Err(BrokerError::system(format!(
                "request queueId[{q}] is illegal"
            )));
        }
        Err(_) => (now_ms() as u64 % u64::from((topic.write_queue_nums as u32).max(1))) as u32,
    };
    let raw_properties = header.properties.as_deref().unwrap_or("");
    let properties = parse_send_properties(raw_properties).map_err(BrokerError::from)?;
    let born = born_host(conn.peer());

    let pushed = push(broker, &header, queue_id, born, raw_properties, &req.body).await;
    let mut response = SendMessageResponseHeader {
        msg_id: "0".into(),
        queue_id: queue_id as i32,
        queue_offset: 0,
        transaction_id: None,
        msg_region: Some("DefaultRegion".to_string()),
        trace_on: Some(true),
        raft_term: None,
    };
    if store {
        let ctx = SendContext {
            topic: &header.topic,
            queue_id,
            sys_flag: header.sys_flag,
            born_timestamp: header.born_timestamp,
            born_host: born,
            store_host: broker.store_host,
            store_timestamp: now_ms(),
            reconsume_times: header.reconsume_times.unwrap_or(0),
            cluster: &broker.config.broker_cluster_name,
            max_body: broker.config.max_message_size,
        };
        let mut body = Vec::with_capacity(req.body.len() + 256);
        let stored = match build_message(&ctx, header.flag, &req.body, properties, &mut body) {
            Ok(()) => broker
                .propose(ProposalKind::Message, Bytes::from(body))
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match stored {
            Ok(applied) => {
                if let Some(first) = applied.messages.first() {
                    response.msg_id = offset_msg_id(broker.store_host, first.physical_offset);
                    response.queue_id = first.queue_id as i32;
                    response.queue_offset = first.queue_offset as i64;
                    response.raft_term = i64::try_from(applied.term).ok();
                }
            }
            Err(e) => tracing::warn!(topic = %header.topic, error = %e, "reply not stored"),
        }
    }
    match pushed {
        Ok(()) => Ok(req.success_response().with_header(&response)),
        Err(remark) => Err(BrokerError::System(remark)),
    }
}

/// The reply topic's config: the system topic `<cluster>_REPLY_TOPIC`, or any topic a send
/// could use (created as a send would create it).
async fn reply_topic(
    broker: &Broker,
    header: &SendMessageRequestHeader,
) -> Result<TopicConfig, BrokerError> {
    let topic = super::send::send_topic(broker, header).await?;
    if topic.perm & PERM_WRITE == 0 {
        return Err(BrokerError::NoPermission(format!(
            "the topic[{}] sending message is forbidden",
            header.topic
        )));
    }
    Ok(topic)
}

/// Pushes the reply to the client `REPLY_TO_CLIENT` names, on its connection to this node.
/// `Err` is the remark the replier gets (Java's wording, plus where we looked).
async fn push(
    broker: &Broker,
    header: &SendMessageRequestHeader,
    queue_id: u32,
    born: SocketAddr,
    raw_properties: &str,
    body: &Bytes,
) -> Result<(), String> {
    let properties = parse_send_properties(raw_properties).unwrap_or_default();
    let Some(client_id) = properties.get(property::REPLY_TO_CLIENT) else {
        return Err(format!(
            "reply message properties[{}] is null",
            property::REPLY_TO_CLIENT
        ));
    };
    let Some(conn) = producer_conn(broker, client_id) else {
        return Err(format!(
            "push reply message fail, channel of <{client_id}> not found. (node {} of {} knows \
             no producer connection of that client: it heartbeats another node, or is gone)",
            broker.node.id(),
            broker.config.broker_name
        ));
    };
    let pushed_at = now_ms();
    let mut properties_out = raw_properties.to_owned();
    if !properties_out.is_empty() {
        properties_out.push('\u{2}');
    }
    properties_out.push_str(&format!("{}\u{1}{pushed_at}", property::PUSH_REPLY_TIME));
    let push_header = ReplyMessageRequestHeader {
        producer_group: header.producer_group.clone(),
        topic: header.topic.clone(),
        default_topic: header.default_topic.clone(),
        default_topic_queue_nums: header.default_topic_queue_nums,
        queue_id: queue_id as i32,
        sys_flag: header.sys_flag,
        born_timestamp: header.born_timestamp,
        flag: header.flag,
        properties: Some(properties_out),
        reconsume_times: header.reconsume_times,
        unit_mode: Some(header.unit_mode.unwrap_or(false)),
        born_host: born.to_string(),
        store_host: broker.store_host.to_string(),
        store_timestamp: pushed_at,
    };
    let request = RemotingCommand::request(
        RequestCode::PushReplyMessageToClient,
        Default::default(),
        body.clone(),
    )
    .with_header(&push_header);
    match conn.invoke(request, PUSH_TIMEOUT).await {
        Ok(answer) if answer.response_code() == ResponseCode::Success => Ok(()),
        Ok(answer) => {
            let why = answer.remark.unwrap_or_default();
            tracing::warn!(client_id, remark = %why, "the requester refused a pushed reply");
            Err(format!("push reply message to {client_id} fail. ({why})"))
        }
        Err(e) => {
            tracing::warn!(client_id, error = %e, "pushing a reply failed");
            Err(format!("push reply message to {client_id} fail. ({e})"))
        }
    }
}

/// The live connection a producer client heartbeats this node on.
fn producer_conn(broker: &Broker, client_id: &str) -> Option<ConnectionInfo> {
    let id = lock(&broker.clients).producer_connection(client_id)?;
    lock(&broker.connections)
        .get(&id)
        .filter(|c| !c.is_closed())
        .cloned()
}
