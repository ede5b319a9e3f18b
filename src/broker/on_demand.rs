//! What the broker creates on demand, as RocketMQ does: a consumer group's subscription config
//! (when `autoCreateSubscriptionGroup`), its `%RETRY%` topic, its `%DLQ%` topic. Each is a
//! replicated admin entry the leader proposes; once applied every replica has it.

use super::retry::retry_topic_config;
use super::server::{Broker, BrokerError};
use crate::message::TopicConfig;
use crate::raft::tables::{AdminOp, GroupConfig};

/// A group's config as auto-creation makes it (RocketMQ's defaults).
pub(super) fn default_group_config(group: &str) -> GroupConfig {
    GroupConfig {
        name: group.to_string(),
        consume_enable: true,
        consume_broadcast_enable: true,
        retry_queue_nums: 1,
        retry_max_times: 16,
    }
}

async fn propose_admin(broker: &Broker, op: &AdminOp) -> Result<(), BrokerError> {
    broker.propose_admin(op).await.map(|_| ())
}

/// The group's config, created with the defaults if it is missing and auto-creation is on;
/// SUBSCRIPTION_GROUP_NOT_EXIST otherwise.
pub(super) async fn group_config(broker: &Broker, group: &str) -> Result<GroupConfig, BrokerError> {
    if let Some(g) = broker.node.with_tables(|t| t.groups.get(group).cloned()) {
        return Ok(g);
    }
    if !broker.config.auto_create_subscription_group {
        return Err(BrokerError::GroupNotExist(format!(
            "subscription group [{group}] does not exist"
        )));
    }
    let config = default_group_config(group);
    propose_admin(broker, &AdminOp::PutGroup(config.clone())).await?;
    tracing::info!(group, "subscription group auto-created");
    Ok(config)
}

/// The topic `wanted.topic_name`, created as `wanted` if it is missing (then the nameservers learn
/// of it at once).
pub(super) async fn topic(
    broker: &Broker,
    wanted: TopicConfig,
) -> Result<TopicConfig, BrokerError> {
    if let Some(t) = broker
        .node
        .with_tables(|t| t.topics.get(&wanted.topic_name).cloned())
    {
        return Ok(t);
    }
    propose_admin(broker, &AdminOp::PutTopic(wanted.clone())).await?;
    broker.topics_changed.notify_one();
    tracing::info!(topic = %wanted.topic_name, queues = wanted.write_queue_nums, perm = wanted.perm, "topic created on demand");
    Ok(wanted)
}

/// A consumer group's config and retry topic (what a heartbeat makes sure of).
pub(super) async fn consumer_group(
    broker: &Broker,
    group: &str,
) -> Result<GroupConfig, BrokerError> {
    let config = group_config(broker, group).await?;
    topic(broker, retry_topic_config(group, config.retry_queue_nums)).await?;
    Ok(config)
}
