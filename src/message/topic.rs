//! A topic's configuration, as Java's `TopicConfig`: one type for the broker's replicated topic
//! table, the bodies that carry it (REGISTER_BROKER, GET_ALL_TOPIC_CONFIG) and the admin calls that
//! create it.
//!
//! Its serde form is the JSON one of the wire (Java's member names, alphabetical as fastjson
//! writes them, every member always written, missing ones defaulted). Owns the shape only: the
//! broker decides which topics exist, the raft tables keep them in a stored form of their own.

use serde::{Deserialize, Serialize};

use super::perm::{PERM_READ, PERM_WRITE};

/// topicSysFlag bit: a unit topic.
pub const TOPIC_SYS_FLAG_UNIT: i32 = 1;
/// topicSysFlag bit: a topic with unit subscriptions.
pub const TOPIC_SYS_FLAG_UNIT_SUB: i32 = 2;

/// How tags are matched; Java's `TopicFilterType`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TopicFilterType {
    /// One tag per message (the only type in use).
    #[default]
    SingleTag,
    /// Several tags per message (never implemented by RocketMQ).
    MultiTag,
}

/// One topic of a broker's topic table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TopicConfig {
    /// Ordered topic (only affects `orderTopicConf` handling on the Java side).
    pub order: bool,
    /// [`PERM_READ`] | [`PERM_WRITE`] | [`PERM_INHERIT`](super::perm::PERM_INHERIT) bits; 6 (read-write) by default.
    pub perm: i32,
    /// Queues consumers read, numbered from 0; Java's default 16.
    pub read_queue_nums: i32,
    /// `SINGLE_TAG` by default.
    pub topic_filter_type: TopicFilterType,
    /// The topic; the table key when missing here.
    pub topic_name: String,
    /// [`TOPIC_SYS_FLAG_UNIT`] | [`TOPIC_SYS_FLAG_UNIT_SUB`] bits.
    pub topic_sys_flag: i32,
    /// Queues producers write, numbered from 0; Java's default 16.
    pub write_queue_nums: i32,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            order: false,
            perm: PERM_READ | PERM_WRITE,
            read_queue_nums: 16,
            topic_filter_type: TopicFilterType::SingleTag,
            topic_name: String::new(),
            topic_sys_flag: 0,
            write_queue_nums: 16,
        }
    }
}
