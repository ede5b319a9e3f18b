//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320): remoting.md §4.
//!
//! Validate (names, leadership, topic, queue id, size, properties), build the stored
//! message(s), propose them, and answer only once they are committed and applied, with the
//! offset msgIds and queue offsets every replica agrees on.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;

use crate::broker::delay::{Placement, place};
use crate::broker::on_demand;
use crate::broker::retry::dlq_topic_config;
use crate::broker::send::{
    SendContext, SendError, build_batch, build_message, parse_send_properties,
};
use crate::broker::server::{Broker, BrokerError, HandlerResult, now_ms};
use crate::broker::topics::{SendTopic, resolve_for_send};
use crate::broker::transaction::{half_placement, is_half_send};
use crate::message::batch::parse_batch;
use crate::message::names::{DLQ_PREFIX, RETRY_PREFIX, check_send_topic};
use crate::message::{PERM_WRITE, TopicConfig, offset_msg_id, property};
use crate::raft::ProposalKind;
use crate::remoting::header::send::{SendMessageRequestHeader, SendMessageResponseHeader};
use crate::remoting::{ConnectionInfo, RemotingCommand};

/// The producer's address as stored in BORNHOST: IPv4-mapped IPv6 peers are stored as IPv4,
/// so strict 4.x decoders (ali-ons) always see 4-byte hosts.
pub(super) fn born_host(peer: SocketAddr) -> SocketAddr {
    match peer.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), peer.port()),
            None if v6.is_loopback() => SocketAddr::from(([127, 0, 0, 1], peer.port())),
            None => peer,
        },
        IpAddr::V4(_) => peer,
    }
}

/// A message produced to `%RETRY%<group>` (clients do this when CONSUMER_SEND_MSG_BACK
/// fails) goes to `%DLQ%<group>` once it has been re-consumed the group's maximum number of
/// times (remoting.md §4.2 step 5).
async fn dead_letter_if_exhausted(
    broker: &Broker,
    group: &str,
    header: &SendMessageRequestHeader,
    placement: Placement,
) -> Result<Placement, BrokerError> {
    let config = on_demand::group_config(broker, group).await?;
    let max = header
        .max_reconsume_times
        .unwrap_or(i32::try_from(config.retry_max_times).unwrap_or(i32::MAX));
    if header.reconsume_times.unwrap_or(0) < max {
        return Ok(placement);
    }
    let dlq = on_demand::topic(broker, dlq_topic_config(group)).await?;
    let mut properties = placement.properties;
    properties.remove(property::DELAY);
    Ok(Placement {
        topic: dlq.topic_name,
        queue_id: 0,
        properties,
    })
}

/// The topic a send (or a reply) names: the advertised one, created from the default topic
/// when auto-create allows, or TOPIC_NOT_EXIST.
pub(super) async fn send_topic(
    broker: &Broker,
    header: &SendMessageRequestHeader,
) -> Result<TopicConfig, BrokerError> {
    let resolved = broker.node.with_tables(|tables| {
        resolve_for_send(
            tables,
            &broker.topic_defaults,
            &header.topic,
            &header.default_topic,
            u32::try_from(header.default_topic_queue_nums).unwrap_or(4),
        )
    });
    match resolved {
        SendTopic::Exists(t) => Ok(t),
        SendTopic::Create(t) => on_demand::topic(broker, t).await,
        SendTopic::NotExist(remark) => Err(BrokerError::TopicNotExist(remark)),
    }
}

/// Handles a send or a batch send.
pub(crate) async fn send(
    broker: &Broker,
    conn: &ConnectionInfo,
    req: &RemotingCommand,
    batch: bool,
) -> HandlerResult {
    let header = SendMessageRequestHeader::from_command(req)
        .map_err(|e| BrokerError::system(e.to_string()))?;
    check_send_topic(&header.topic).map_err(BrokerError::from)?;
    broker.require_leader()?;
    broker
        .disk_guard
        .check()
        .map_err(BrokerError::Unavailable)?;

    let topic = send_topic(broker, &header).await?;
    if topic.order && broker.config.broker_permission & PERM_WRITE == 0 {
        // Java refuses only order topics here; others are steered away by the advertised perm.
        return Err(BrokerError::NoPermission(format!(
            "the broker[{}] sending message is forbidden",
            broker.config.broker_ip1
        )));
    }
    if topic.perm & PERM_WRITE == 0 {
        return Err(BrokerError::NoPermission(format!(
            "the topic[{}] sending message is forbidden",
            header.topic
        )));
    }
    let queues = (topic.write_queue_nums as u32).max(topic.read_queue_nums as u32);
    let queue_id = match u32::try_from(header.queue_id) {
        Ok(q) if q < queues => q,
        Ok(q) => {
            return Err(BrokerError::system(format!(
                "request queueId[{q}] is illegal"
            )));
        }
        // Negative: the broker picks one.
        Err(_) => (now_ms() as u64 % u64::from((topic.write_queue_nums as u32).max(1))) as u32,
    };

    let properties = parse_send_properties(header.properties.as_deref().unwrap_or(""))
        .map_err(BrokerError::from)?;
    let reconsume_times = header.reconsume_times.unwrap_or(0);
    let mut placement = Placement {
        topic: header.topic.clone(),
        queue_id,
        properties,
    };
    if let Some(group) = header.topic.strip_prefix(RETRY_PREFIX) {
        placement = dead_letter_if_exhausted(broker, group, &header, placement).await?;
    }
    let is_batch = batch || header.batch == Some(true);
    let mut sys_flag = header.sys_flag;
    let reconsumed = header.reconsume_times.unwrap_or(0);
    if is_half_send(
        &placement.properties,
        reconsumed,
        &broker.config.message_delay_level,
    ) {
        if broker.config.reject_transaction_message {
            return Err(BrokerError::NoPermission(format!(
                "the broker[{}] sending transaction message is forbidden",
                broker.config.broker_ip1
            )));
        }
        if is_batch {
            return Err(BrokerError::MessageIllegal(
                "a batch cannot carry transactional (half) messages".into(),
            ));
        }
        // Checks go to producers of PGROUP; a client that did not set it (Java's does) is
        // checked through the group it sent as.
        placement
            .properties
            .entry(property::PGROUP.to_string())
            .or_insert_with(|| header.producer_group.clone());
        // Never delayed while half: a DELAY it carries applies once it is committed.
        (placement, sys_flag) = half_placement(placement, sys_flag);
    } else if !is_batch {
        placement = place(sys_flag, placement, &broker.config.message_delay_level);
    }
    let Placement {
        topic: stored_topic,
        queue_id: stored_queue,
        properties,
    } = placement;
    let ctx = SendContext {
        topic: &stored_topic,
        queue_id: stored_queue,
        sys_flag,
        born_timestamp: header.born_timestamp,
        born_host: born_host(conn.peer()),
        store_host: broker.store_host,
        store_timestamp: now_ms(),
        reconsume_times,
        cluster: &broker.config.broker_cluster_name,
        max_body: broker.config.max_message_size,
    };
    let illegal = BrokerError::from;
    let (kind, body) = if is_batch {
        let items = parse_batch(&req.body)
            .map_err(SendError::from)
            .map_err(illegal)?;
        (
            ProposalKind::MessageBatch,
            build_batch(&ctx, items, &properties).map_err(illegal)?,
        )
    } else {
        let mut out = Vec::with_capacity(req.body.len() + 256);
        build_message(&ctx, header.flag, &req.body, properties, &mut out).map_err(illegal)?;
        (ProposalKind::Message, out)
    };

    let (size, started) = (body.len() as u64, std::time::Instant::now());
    let applied = broker
        .propose(kind, Bytes::from(body))
        .await
        .inspect_err(|_| broker.stats.on_put_failed())?;
    let stored = applied.messages.len() as u64;
    broker.stats.on_put(
        &header.topic,
        stored,
        size,
        started.elapsed().as_millis() as u64,
    );
    if let Some(group) = stored_topic.strip_prefix(DLQ_PREFIX) {
        broker.stats.on_dead_letter(group);
    }
    let first = applied
        .messages
        .first()
        .ok_or_else(|| BrokerError::system("the send was committed but no message was applied"))?;
    let msg_id = applied
        .messages
        .iter()
        .map(|m| offset_msg_id(broker.store_host, m.physical_offset))
        .collect::<Vec<_>>()
        .join(",");
    // A delayed or half message answers with the queue asked for and its offset in the queue
    // it waits in (a half message's is the transaction's `tranStateTableOffset`).
    let response = SendMessageResponseHeader {
        msg_id,
        queue_id: if stored_topic == header.topic {
            first.queue_id as i32
        } else {
            queue_id as i32
        },
        queue_offset: first.queue_offset as i64,
        transaction_id: None,
        msg_region: Some("DefaultRegion".to_string()),
        trace_on: Some(true),
        raft_term: i64::try_from(applied.term).ok(),
    };
    Ok(req.success_response().with_header(&response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_loopback_and_mapped_peers_are_stored_as_ipv4() {
        let mapped: SocketAddr = "[::ffff:10.0.0.7]:5000".parse().unwrap();
        assert_eq!(
            born_host(mapped),
            "10.0.0.7:5000".parse::<SocketAddr>().unwrap()
        );
        let lo: SocketAddr = "[::1]:6000".parse().unwrap();
        assert_eq!(
            born_host(lo),
            "127.0.0.1:6000".parse::<SocketAddr>().unwrap()
        );
        let v4: SocketAddr = "192.168.1.2:1".parse().unwrap();
        assert_eq!(born_host(v4), v4);
    }
}
