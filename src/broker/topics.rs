//! Which topics a broker group has, and what a send to an unknown topic does (remoting.md §4.2
//! step 3, §10.2).
//!
//! Topics live in the replicated tables. On top of them a broker *advertises* the system
//! topics RocketMQ brokers create at start or on first use (TBW102 when auto-create is on,
//! SELF_TEST_TOPIC, BenchmarkTest, the cluster-name and broker-name topics, OFFSET_MOVED_EVENT,
//! the transaction topics, the reply topic `<cluster>_REPLY_TOPIC`, and the trace topic when
//! `traceTopicEnable`): they are derived from the config on every replica alike, so they need
//! no log entry, exist from the start (before any leader is elected), whatever
//! `autoCreateTopicEnable` says, and cannot be created twice. A send to an unknown
//! topic is auto-created from the default topic (a replicated admin entry the handler proposes),
//! or creates a `%RETRY%` topic, or is refused with TOPIC_NOT_EXIST.

use std::collections::BTreeMap;

use super::delay::SCHEDULE_TOPIC;
use crate::message::names::{RETRY_PREFIX, TBW102, reply_topic_name};
use crate::message::transaction;
use crate::message::{PERM_INHERIT, PERM_READ, PERM_WRITE, TopicConfig};
use crate::raft::tables::Tables;

/// What the broker config says about topics.
#[derive(Debug, Clone)]
pub struct TopicDefaults {
    /// `autoCreateTopicEnable`.
    pub auto_create: bool,
    /// `defaultTopicQueueNums`: queues of TBW102.
    pub default_queue_nums: u32,
    pub cluster_name: String,
    pub broker_name: String,
    /// Queues of `SCHEDULE_TOPIC_XXXX`: one per delay level.
    pub delay_levels: u32,
    /// `msgTraceTopicName` when `traceTopicEnable`, else `None`.
    pub trace_topic: Option<String>,
}

fn topic(name: &str, queues: u32, perm: i32) -> TopicConfig {
    TopicConfig {
        topic_name: name.to_string(),
        read_queue_nums: queues as i32,
        write_queue_nums: queues as i32,
        perm,
        order: false,
        ..TopicConfig::default()
    }
}

/// The system topics this broker advertises, derived from the config alone.
fn system_topics(defaults: &TopicDefaults) -> Vec<TopicConfig> {
    let rw = PERM_READ | PERM_WRITE;
    let mut all = Vec::new();
    if defaults.auto_create {
        all.push(topic(
            TBW102,
            defaults.default_queue_nums,
            rw | PERM_INHERIT,
        ));
    }
    // BenchmarkTest has 1024 queues on Java brokers; here each queue preallocates its consume-
    // queue file on first use (mappedFileSizeConsumeQueue, 6 MB by default), so it gets 8.
    for (name, queues) in [
        ("SELF_TEST_TOPIC", 1),
        ("BenchmarkTest", 8),
        ("OFFSET_MOVED_EVENT", 1),
        (SCHEDULE_TOPIC, defaults.delay_levels),
        (transaction::HALF_TOPIC, 1),
        (transaction::OP_HALF_TOPIC, 1),
        (transaction::CHECK_MAX_TIME_TOPIC, 1),
    ] {
        all.push(topic(name, queues, rw));
    }
    // Writable, as Java's clusterTopicEnable / brokerTopicEnable (both on by default) make
    // them: `mqadmin clusterRT` and `sendMsgStatus` send to the topic named after each group.
    for name in [&defaults.cluster_name, &defaults.broker_name] {
        if !name.is_empty() {
            all.push(topic(name, 1, rw | PERM_INHERIT));
        }
    }
    // As Java's TopicConfigManager makes them at start: one queue, read and write.
    all.push(topic(&reply_topic_name(&defaults.cluster_name), 1, rw));
    if let Some(trace) = &defaults.trace_topic {
        all.push(topic(trace, 1, rw));
    }
    all
}

/// The topics this broker group advertises: the replicated ones plus the system topics (a
/// replicated topic of a system topic's name wins).
pub fn effective_topics(
    tables: &Tables,
    defaults: &TopicDefaults,
) -> BTreeMap<String, TopicConfig> {
    let mut all: BTreeMap<String, TopicConfig> = system_topics(defaults)
        .into_iter()
        .map(|t| (t.topic_name.clone(), t))
        .collect();
    for (name, config) in &tables.topics {
        all.insert(name.clone(), config.clone());
    }
    all
}

/// One advertised topic, as [`effective_topics`] has it, without building the whole map (the
/// send and pull paths ask for one topic per request).
pub fn effective_topic(
    tables: &Tables,
    defaults: &TopicDefaults,
    name: &str,
) -> Option<TopicConfig> {
    tables.topics.get(name).cloned().or_else(|| {
        system_topics(defaults)
            .into_iter()
            .find(|t| t.topic_name == name)
    })
}

/// The perm a topic is advertised with: its own, or `brokerPermission` when that takes read or
/// write away from the whole broker (Java's rule: operators drain a broker with
/// `brokerPermission=4`, read-only, so producers stop choosing it).
pub fn advertised_perm(topic_perm: i32, broker_permission: i32) -> i32 {
    let rw = PERM_READ | PERM_WRITE;
    if broker_permission & rw == rw {
        topic_perm
    } else {
        broker_permission
    }
}

/// What to do with a send to `topic`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendTopic {
    /// The topic exists.
    Exists(TopicConfig),
    /// Create it (propose an admin entry), then send.
    Create(TopicConfig),
    /// TOPIC_NOT_EXIST (17) with this remark.
    NotExist(String),
}

/// Resolves the topic of a send: existing, auto-created from `default_topic` with at most
/// `requested_queues` queues, a new retry topic, or not existing.
pub fn resolve_for_send(
    tables: &Tables,
    defaults: &TopicDefaults,
    name: &str,
    default_topic: &str,
    requested_queues: u32,
) -> SendTopic {
    if let Some(t) = effective_topic(tables, defaults, name) {
        return SendTopic::Exists(t);
    }
    if let Some(template) = effective_topic(tables, defaults, default_topic)
        && template.perm & PERM_INHERIT != 0
    {
        let queues = requested_queues.clamp(1, (template.write_queue_nums as u32).max(1));
        return SendTopic::Create(topic(name, queues, template.perm & !PERM_INHERIT));
    }
    if name.starts_with(RETRY_PREFIX) {
        return SendTopic::Create(topic(name, 1, PERM_READ | PERM_WRITE));
    }
    SendTopic::NotExist(format!("topic[{name}] not exist, apply first please!"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults(auto_create: bool) -> TopicDefaults {
        TopicDefaults {
            auto_create,
            default_queue_nums: 8,
            cluster_name: "RaftCluster".into(),
            broker_name: "RaftNode00".into(),
            delay_levels: 18,
            trace_topic: None,
        }
    }

    #[test]
    fn a_read_write_broker_advertises_each_topics_own_perm_and_a_drained_one_its_own() {
        assert_eq!(advertised_perm(6, 6), 6);
        assert_eq!(advertised_perm(2, 7), 2);
        assert_eq!(advertised_perm(6, 4), 4, "read-only broker");
        assert_eq!(advertised_perm(7, 2), 2, "write-only broker");
    }

    #[test]
    fn one_topic_looked_up_is_the_one_the_whole_map_has() {
        let mut tables = Tables::default();
        tables
            .topics
            .insert("T".into(), topic("T", 4, PERM_READ | PERM_WRITE));
        // A replicated topic of a system topic's name wins, in both.
        tables
            .topics
            .insert("BenchmarkTest".into(), topic("BenchmarkTest", 2, PERM_READ));
        for auto_create in [true, false] {
            let d = defaults(auto_create);
            let all = effective_topics(&tables, &d);
            for name in [
                "T",
                "BenchmarkTest",
                TBW102,
                "RaftCluster",
                "RaftNode00",
                "nope",
            ] {
                assert_eq!(
                    effective_topic(&tables, &d, name).as_ref(),
                    all.get(name),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn system_topics_are_advertised_and_tbw102_only_with_auto_create() {
        let all = effective_topics(&Tables::default(), &defaults(true));
        assert_eq!(all[TBW102].perm, 7);
        assert_eq!(all[TBW102].write_queue_nums, 8);
        assert_eq!(
            (all["RaftCluster"].perm, all["RaftCluster"].write_queue_nums),
            (7, 1)
        );
        assert_eq!(
            (all["RaftNode00"].perm, all["RaftNode00"].write_queue_nums),
            (7, 1)
        );
        assert!(!effective_topics(&Tables::default(), &defaults(false)).contains_key(TBW102));
    }

    #[test]
    fn an_unknown_topic_is_created_from_tbw102_with_at_most_its_queues() {
        let t = Tables::default();
        match resolve_for_send(&t, &defaults(true), "Orders", TBW102, 4) {
            SendTopic::Create(c) => assert_eq!((c.write_queue_nums, c.perm), (4, 6)),
            other => panic!("{other:?}"),
        }
        match resolve_for_send(&t, &defaults(true), "Orders", TBW102, 64) {
            SendTopic::Create(c) => assert_eq!(c.write_queue_nums, 8),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn without_auto_create_only_retry_topics_appear_by_themselves() {
        let t = Tables::default();
        assert!(matches!(
            resolve_for_send(&t, &defaults(false), "Orders", TBW102, 4),
            SendTopic::NotExist(r) if r == "topic[Orders] not exist, apply first please!"
        ));
        assert!(matches!(
            resolve_for_send(&t, &defaults(false), "%RETRY%g", TBW102, 4),
            SendTopic::Create(c) if c.write_queue_nums == 1
        ));
        let mut t = Tables::default();
        t.topics.insert("Orders".into(), topic("Orders", 2, 6));
        assert!(matches!(
            resolve_for_send(&t, &defaults(false), "Orders", TBW102, 4),
            SendTopic::Exists(c) if c.write_queue_nums == 2
        ));
    }

    #[test]
    fn the_reply_topic_always_and_the_trace_topic_when_enabled_exist_without_auto_create() {
        let t = Tables::default();
        let mut d = defaults(false);
        let reply = effective_topic(&t, &d, "RaftCluster_REPLY_TOPIC").unwrap();
        assert_eq!((reply.write_queue_nums, reply.perm), (1, 6));
        assert!(effective_topic(&t, &d, "RMQ_SYS_TRACE_TOPIC").is_none());
        d.trace_topic = Some("RMQ_SYS_TRACE_TOPIC".into());
        assert!(matches!(
            resolve_for_send(&t, &d, "RMQ_SYS_TRACE_TOPIC", TBW102, 4),
            SendTopic::Exists(c) if (c.read_queue_nums, c.write_queue_nums, c.perm) == (1, 1, 6)
        ));
    }
}
