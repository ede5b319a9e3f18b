//! CONSUMER_SEND_MSG_BACK (36): a consumer could not process a message and hands it back
//! (remoting.md §5.7). The broker reads the original by its commitlog offset and stores a new
//! copy in `%RETRY%<group>` behind the next delay level, or in `%DLQ%<group>` once the group's
//! retries are used up ([`crate::broker::retry`] decides, [`crate::broker::delay`] routes the delay).

use bytes::Bytes;

use crate::broker::delay::{Placement, place};
use crate::broker::on_demand;
use crate::broker::retry::{
    Destination, Resend, destination, dlq_topic_config, resend_message, retry_topic_config,
};
use crate::broker::server::{Broker, BrokerError, HandlerResult, now_ms};
use crate::message::{decode_message, encode_message_into, offset_msg_id, property};
use crate::raft::ProposalKind;
use crate::remoting::RemotingCommand;
use crate::remoting::header::send::ConsumerSendMsgBackRequestHeader;

pub(crate) async fn send_back(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let h: ConsumerSendMsgBackRequestHeader = req
        .header()
        .map_err(|e| BrokerError::system(e.to_string()))?;
    broker.require_leader()?;
    broker
        .disk_guard
        .check()
        .map_err(BrokerError::Unavailable)?;
    let group = on_demand::group_config(broker, &h.group).await?;
    if group.retry_queue_nums == 0 {
        // RocketMQ: a group without retry queues drops failed messages.
        return Ok(req.success_response());
    }
    let not_found = || BrokerError::system(format!("look message by offset failed, {}", h.offset));
    let offset = u64::try_from(h.offset).map_err(|_| not_found())?;
    let bytes = broker
        .store
        .applied_message_at(offset)
        .map_err(|e| BrokerError::system(e.to_string()))?
        .ok_or_else(not_found)?;
    let (stored, _) = decode_message(&bytes).map_err(|e| BrokerError::system(e.to_string()))?;
    let original = stored.message;

    let max_reconsume = h
        .max_reconsume_times
        .unwrap_or(i32::try_from(group.retry_max_times).unwrap_or(i32::MAX));
    let target = destination(original.reconsume_times, max_reconsume, h.delay_level);
    let queue_id = match target {
        Destination::Retry { .. } => {
            let retry =
                on_demand::topic(broker, retry_topic_config(&h.group, group.retry_queue_nums))
                    .await?;
            // Spread by the original's offset: stable, and even across many messages.
            (offset % u64::from((retry.write_queue_nums as u32).max(1))) as u32
        }
        Destination::DeadLetter => {
            on_demand::topic(broker, dlq_topic_config(&h.group)).await?;
            0
        }
    };
    let origin_msg_id = h
        .origin_msg_id
        .clone()
        .filter(|id| !id.is_empty())
        .or_else(|| original.properties.get(property::UNIQ_KEY).cloned())
        .unwrap_or_else(|| offset_msg_id(original.store_host, offset));
    let dead = target == Destination::DeadLetter;
    let back_topic = original.topic.clone();
    let mut message = resend_message(
        original,
        &Resend {
            group: &h.group,
            destination: target,
            queue_id,
            origin_msg_id: &origin_msg_id,
            store_host: broker.store_host,
            store_timestamp: now_ms(),
        },
    );
    let placement = place(
        message.sys_flag,
        Placement {
            topic: message.topic,
            queue_id,
            properties: message.properties,
        },
        &broker.config.message_delay_level,
    );
    message.topic = placement.topic;
    message.queue_id = placement.queue_id as i32;
    message.properties = placement.properties;

    let mut body = Vec::with_capacity(bytes.len() + 128);
    encode_message_into(&message, &mut body).map_err(|e| BrokerError::system(e.to_string()))?;
    broker
        .propose(ProposalKind::Message, Bytes::from(body))
        .await?;
    broker.stats.on_send_back(&h.group, &back_topic, dead);
    if dead {
        tracing::info!(group = %h.group, offset, reconsume = message.reconsume_times, "message moved to the dead-letter queue");
    }
    Ok(req.success_response())
}
