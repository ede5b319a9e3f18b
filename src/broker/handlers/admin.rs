//! Admin requests: UPDATE_AND_CREATE_TOPIC (17), DELETE_TOPIC_IN_BROKER (215),
//! GET_ALL_TOPIC_CONFIG (21), GET_BROKER_CONFIG (26), VIEW_MESSAGE_BY_ID (33): remoting.md §5.10, §6.
//!
//! Topic changes are replicated admin entries, proposed on the leader; after one commits the
//! broker re-registers with the nameservers at once so the route follows.
use bytes::Bytes;

use crate::broker::server::{Broker, BrokerError, HandlerResult};
use crate::message::TopicConfig;
use crate::message::body::JsonBody;
use crate::message::names::check_create_topic;
use crate::raft::tables::AdminOp;
use crate::remoting::RemotingCommand;
use crate::remoting::header::admin::{CreateTopicRequestHeader, DeleteTopicRequestHeader};

async fn propose_admin(broker: &Broker, op: &AdminOp) -> Result<(), BrokerError> {
    broker.propose_admin(op).await?;
    broker.topics_changed.notify_one();
    Ok(())
}

pub(crate) async fn create_topic(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let h: CreateTopicRequestHeader = req
        .header()
        .map_err(|e| BrokerError::system(e.to_string()))?;
    check_create_topic(&h.topic)?;
    broker.require_leader()?;
    let queues = |n: i32, what: &str| {
        u32::try_from(n)
            .ok()
            .filter(|&n| (1..=1024).contains(&n))
            .ok_or_else(|| BrokerError::system(format!("{what} {n} is not between 1 and 1024")))
    };
    let topic = TopicConfig {
        topic_name: h.topic.clone(),
        read_queue_nums: queues(h.read_queue_nums, "readQueueNums")? as i32,
        write_queue_nums: queues(h.write_queue_nums, "writeQueueNums")? as i32,
        perm: (u32::try_from(h.perm).unwrap_or(6) & 7) as i32,
        order: h.order,
        ..TopicConfig::default()
    };
    propose_admin(broker, &AdminOp::PutTopic(topic)).await?;
    Ok(req.success_response())
}

pub(crate) async fn delete_topic(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let h: DeleteTopicRequestHeader = req
        .header()
        .map_err(|e| BrokerError::system(e.to_string()))?;
    broker.require_leader()?;
    propose_admin(broker, &AdminOp::DeleteTopic(h.topic)).await?;
    Ok(req.success_response())
}

pub(crate) fn all_topic_config(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let wrapper = broker.topic_wrapper(0);
    Ok(req
        .success_response()
        .with_body(Bytes::from(wrapper.encode())))
}

pub(crate) fn broker_config(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let text = broker.config.to_string();
    let mut response = req.success_response().with_body(Bytes::from(text));
    response.ext_fields.insert("version".into(), "0".into());
    Ok(response)
}

pub(crate) fn view_message(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let offset: u64 = req
        .ext_fields
        .get("offset")
        .and_then(|o| o.trim().parse().ok())
        .ok_or_else(|| BrokerError::system("the custom field offset is null"))?;
    let message = broker
        .store
        .applied_message_at(offset)
        .map_err(|e| BrokerError::system(e.to_string()))?;
    match message {
        Some(bytes) => Ok(req.success_response().with_body(bytes)),
        None => Err(BrokerError::System(format!(
            "can not find message by the offset {offset}"
        ))),
    }
}
