//! The pull consumer's plain parts: [`ConsumerConfig`] with its defaults, where a new group
//! starts ([`ConsumeFrom`]), [`MessageModel`] and the heartbeat body (remoting.md §5.1).

use std::time::Duration;

use super::allocate::AllocateStrategy;
use crate::client::calls::{ConsumerData, HeartbeatData, SubscriptionData};
use crate::client::{NameServers, Subscription};
use crate::message::filter::ExpressionType;
use crate::remoting::Credentials;

/// Where a queue without a committed offset starts (Java's `ConsumeFromWhere`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeFrom {
    /// Offset 0 (`CONSUME_FROM_FIRST_OFFSET`).
    First,
    /// The queue's max offset: only new messages (`CONSUME_FROM_LAST_OFFSET`).
    Last,
    /// The first message stored at or near this time, ms since the epoch
    /// (`CONSUME_FROM_TIMESTAMP`).
    Timestamp(i64),
}

impl ConsumeFrom {
    /// Java's name, as sent in heartbeats.
    pub fn java_name(self) -> &'static str {
        match self {
            ConsumeFrom::First => "CONSUME_FROM_FIRST_OFFSET",
            ConsumeFrom::Last => "CONSUME_FROM_LAST_OFFSET",
            ConsumeFrom::Timestamp(_) => "CONSUME_FROM_TIMESTAMP",
        }
    }
}

/// How a group shares a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageModel {
    /// Each message to one member; queues split among members; offsets kept by the broker.
    Clustering,
    /// Each message to every member; every member reads every queue; offsets kept in memory.
    Broadcasting,
}

impl MessageModel {
    /// Java's name, as sent in heartbeats.
    pub fn java_name(self) -> &'static str {
        match self {
            MessageModel::Clustering => "CLUSTERING",
            MessageModel::Broadcasting => "BROADCASTING",
        }
    }
}

/// Pull consumer settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerConfig {
    pub namesrv_addrs: NameServers,
    pub group: String,
    pub topic: String,
    /// TAG: `*` or `TagA || TagB`; SQL92: an expression over message properties
    /// (`region = 'eu' AND price > 10.0`). Default `*`.
    pub expression: String,
    /// How `expression` filters. Default [`ExpressionType::Tag`]. A SQL92 subscription is
    /// compiled by [`PullConsumer::new`](super::PullConsumer::new) (an error names its line and
    /// column) and checked with every broker of the topic at `start` (CHECK_CLIENT_CONFIG): a
    /// broker without `enablePropertyFilter=true` refuses it, and `start` fails.
    pub expression_type: ExpressionType,
    /// Default [`ConsumeFrom::Last`].
    pub from_where: ConsumeFrom,
    /// Default [`MessageModel::Clustering`].
    pub message_model: MessageModel,
    /// Longest a broker holds a pull with no message (suspendTimeoutMillis). Default 15 s.
    pub suspend_timeout: Duration,
    /// Most messages per pull (maxMsgNums). Default 32.
    pub pull_batch_size: i32,
    /// Timeout of every request but held pulls (which get `suspend_timeout` on top).
    /// Default 3 s.
    pub request_timeout: Duration,
    /// Default 30 s.
    pub heartbeat_interval: Duration,
    /// How often `poll` re-runs the allocation even without a notification. Default 20 s.
    pub rebalance_interval: Duration,
    /// How often `poll` commits offsets. Default 5 s.
    pub commit_interval: Duration,
    /// Pause before pulling a queue again after an error. Default 1 s.
    pub pull_error_delay: Duration,
    /// The instance part of the client id; default `<pid>#<n>`.
    pub instance_name: Option<String>,
    /// How a clustering consumer picks its queues. Default [`AllocateStrategy::Averagely`].
    pub allocate: AllocateStrategy,
    /// Orderly consumption (clustering only): a queue is pulled only while this consumer holds
    /// its broker lock (LOCK_BATCH_MQ), so no two members consume one queue at once. Default
    /// false.
    pub orderly: bool,
    /// Orderly: how often held locks are renewed (Java's 20 s). Default 20 s.
    pub lock_renew_interval: Duration,
    /// Orderly: how long after a successful lock this consumer trusts it without a renewal
    /// (Java's 30 s; brokers expire locks after 60 s). Default 30 s.
    pub lock_expiry: Duration,
    /// Orderly: pause between attempts to lock queues it was allocated but does not hold.
    /// Default 1 s.
    pub lock_retry_interval: Duration,
    /// Keys for brokers with `aclEnable=true`: every request is signed with them. Default none.
    pub credentials: Option<Credentials>,
}

impl ConsumerConfig {
    /// Defaults for `group` reading all of `topic`.
    pub fn new(
        namesrv_addrs: impl Into<NameServers>,
        group: impl Into<String>,
        topic: impl Into<String>,
    ) -> Self {
        ConsumerConfig {
            namesrv_addrs: namesrv_addrs.into(),
            group: group.into(),
            topic: topic.into(),
            expression: "*".into(),
            expression_type: ExpressionType::Tag,
            from_where: ConsumeFrom::Last,
            message_model: MessageModel::Clustering,
            suspend_timeout: Duration::from_secs(15),
            pull_batch_size: 32,
            request_timeout: Duration::from_secs(3),
            heartbeat_interval: Duration::from_secs(30),
            rebalance_interval: Duration::from_secs(20),
            commit_interval: Duration::from_secs(5),
            pull_error_delay: Duration::from_secs(1),
            instance_name: None,
            allocate: AllocateStrategy::Averagely,
            orderly: false,
            lock_renew_interval: Duration::from_secs(20),
            lock_expiry: Duration::from_secs(30),
            lock_retry_interval: Duration::from_secs(1),
            credentials: None,
        }
    }
}

/// The HEART_BEAT body of a pull consumer (`CONSUME_ACTIVELY`).
pub(crate) fn heartbeat_body(
    client_id: &str,
    config: &ConsumerConfig,
    subscription: &Subscription,
    sub_version: i64,
) -> Vec<u8> {
    HeartbeatData {
        client_id: client_id.to_owned(),
        producers: Vec::new(),
        consumers: vec![ConsumerData {
            group_name: config.group.clone(),
            consume_type: "CONSUME_ACTIVELY",
            message_model: config.message_model.java_name(),
            consume_from_where: config.from_where.java_name(),
            unit_mode: false,
            subscription_data_set: vec![SubscriptionData {
                topic: config.topic.clone(),
                sub_string: subscription.expression.clone(),
                tags_set: subscription.tags.clone(),
                code_set: subscription.codes(),
                sub_version,
                expression_type: subscription.expression_type.as_str(),
                class_filter_mode: false,
            }],
        }],
    }
    .encode()
}
