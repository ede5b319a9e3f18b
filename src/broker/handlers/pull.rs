//! PULL_MESSAGE (11): remoting.md §5.4.
//!
//! Topic and queue checks, the subscription's filter (`subscription`: tags or SQL92, from the
//! request or the group's heartbeat), the commit-offset piggy-back, then
//! [`pull_or_wait_timed`]: a pull that finds nothing new is held until a message is applied, the
//! client's suspend time passes, or the client disconnects. Every
//! response carries the four offset fields, whatever its code. Any replica answers from its
//! applied data, so pulls keep working on followers.

use std::time::Duration;

use super::subscription::pull_filter;
use crate::broker::pull::{DEFAULT_MAX_BYTES, PullRequest, pull_or_wait_timed};
use crate::broker::server::{Broker, BrokerError, HandlerResult, lock};
use crate::broker::topics::effective_topic;
use crate::message::PERM_READ;
use crate::message::names::check_topic;
use crate::remoting::header::pull::{PullMessageRequestHeader, PullMessageResponseHeader};
use crate::remoting::{ConnectionInfo, RemotingCommand};

/// PullSysFlag bits.
const COMMIT_OFFSET: i32 = 1;
const SUSPEND: i32 = 2;
/// Held pulls never outlast this (clients wait 30 s for the response).
const MAX_HOLD: Duration = Duration::from_secs(20);

pub(crate) async fn pull(
    broker: &Broker,
    conn: &ConnectionInfo,
    req: &RemotingCommand,
) -> HandlerResult {
    let h: PullMessageRequestHeader = req
        .header()
        .map_err(|e| BrokerError::system(e.to_string()))?;
    check_topic(&h.topic)?;
    let found = broker
        .node
        .with_tables(|tables| effective_topic(tables, &broker.topic_defaults, &h.topic));
    let Some(topic) = found else {
        return Err(BrokerError::TopicNotExist(format!(
            "topic[{}] not exist, apply first please!",
            h.topic
        )));
    };
    if broker.config.broker_permission & PERM_READ == 0 {
        return Err(BrokerError::NoPermission(format!(
            "the broker[{}] pulling message is forbidden",
            broker.config.broker_ip1
        )));
    }
    if topic.perm & PERM_READ == 0 {
        // A dead-letter topic (write-only) until an operator grants read permission.
        return Err(BrokerError::NoPermission(format!(
            "the topic[{}] pulling message is forbidden",
            h.topic
        )));
    }
    let queue_id = match u32::try_from(h.queue_id) {
        Ok(q) if q < (topic.read_queue_nums as u32).max(topic.write_queue_nums as u32) => q,
        _ => {
            return Err(BrokerError::system(format!(
                "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                h.queue_id,
                h.topic,
                topic.read_queue_nums,
                conn.peer()
            )));
        }
    };

    let filter = pull_filter(broker, &h)?;

    if h.sys_flag & COMMIT_OFFSET != 0
        && h.commit_offset >= 0
        && let Some(term) = broker.leader_term()
    {
        lock(&broker.offsets).commit(
            term,
            &h.consumer_group,
            &h.topic,
            queue_id,
            h.commit_offset as u64,
        );
    }

    let request = PullRequest {
        topic: &h.topic,
        queue_id,
        offset: u64::try_from(h.queue_offset).unwrap_or(0),
        max_messages: u32::try_from(h.max_msg_nums).unwrap_or(32).clamp(1, 1024),
        max_bytes: h
            .max_msg_bytes
            .and_then(|b| u64::try_from(b).ok())
            .filter(|&b| b > 0)
            .unwrap_or(DEFAULT_MAX_BYTES),
        filter: filter.as_message_filter(),
    };
    let hold = if h.sys_flag & SUSPEND != 0 {
        Duration::from_millis(u64::try_from(h.suspend_timeout_millis).unwrap_or(0)).min(MAX_HOLD)
    } else {
        Duration::ZERO
    };
    let arrived = broker.pull_waiters.queue(&h.topic, queue_id);
    let store = broker.store.as_ref();
    let (outcome, took) = tokio::select! {
        r = pull_or_wait_timed(store, &request, &arrived, hold) => r,
        () = conn.closed() => return Err(BrokerError::system("the client disconnected")),
    }
    .map_err(|e| BrokerError::system(e.to_string()))?;
    let read = outcome.messages.iter().map(|m| m.len() as u64);
    let counted = (outcome.messages.len() as u64, read.sum());
    broker.stats.on_get(
        &h.consumer_group,
        &h.topic,
        queue_id,
        counted,
        took.as_millis() as u64,
    );

    let code = outcome.status.response_code(request.offset);
    let header = PullMessageResponseHeader {
        next_begin_offset: outcome.next_begin_offset as i64,
        min_offset: outcome.min_offset as i64,
        max_offset: outcome.max_offset as i64,
        suggest_which_broker_id: 0,
    };
    let mut response =
        RemotingCommand::response_to(req, code, Some(outcome.status.name().to_string()))
            .with_header(&header);
    if code.is_success() {
        response = response.with_body(outcome.body());
    }
    Ok(response)
}
