//! The pull consumer's plain parts: [`ConsumerConfig`] with its defaults, where a new group
//! starts ([`ConsumeFrom`]), [`MessageModel`], the "averagely" queue allocation
//! (remoting.md §9.4) and the heartbeat body (§5.1).

use std::time::Duration;

use crate::client::calls::{ConsumerData, HeartbeatData, SubscriptionData};
use crate::client::{MessageQueue, NameServers, Subscription};

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
    /// `*` or `TagA || TagB`. Default `*`.
    pub expression: String,
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
        }
    }
}

/// The queues consumer `me` gets under "averagely" (remoting.md §9.4): queues and ids sorted,
/// consumer `i` takes a contiguous block of `n / m` queues, the first `n % m` consumers one
/// more; with more consumers than queues the last ones get nothing, and so does an id not in
/// the list.
pub fn allocate_averagely(
    queues: &[MessageQueue],
    consumer_ids: &[String],
    me: &str,
) -> Vec<MessageQueue> {
    let mut queues = queues.to_vec();
    queues.sort();
    let mut ids = consumer_ids.to_vec();
    ids.sort();
    ids.dedup();
    let Some(index) = ids.iter().position(|id| id == me) else {
        return Vec::new();
    };
    let (n, m) = (queues.len(), ids.len());
    let extra = n % m;
    let size = if n <= m {
        1
    } else if index < extra {
        n / m + 1
    } else {
        n / m
    };
    let start = if index < extra {
        index * size
    } else {
        index * size + extra
    };
    let count = size.min(n.saturating_sub(start));
    queues.into_iter().skip(start).take(count).collect()
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
                expression_type: "TAG",
                class_filter_mode: false,
            }],
        }],
    }
    .encode()
}
