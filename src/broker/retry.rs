//! The retry policy without the wire (remoting.md §4.2 step 5, §5.7): where a message a
//! consumer hands back goes next, and what that new message looks like.
//!
//! A failed message is stored again in `%RETRY%<group>` with delay level
//! `3 + reconsumeTimes` (or the level the consumer asked for), so the k-th retry waits level
//! `2 + k`; once it has been re-consumed `maxReconsumeTimes` times (or the consumer asks for
//! level < 0) it goes to `%DLQ%<group>` instead, undelayed. The handlers create those topics
//! and propose the message; [`super::delay`] routes the retry through the schedule topic.

use std::net::SocketAddr;

use crate::message::names::{dlq_topic_name, retry_topic_name};
use crate::message::{MessageToStore, PERM_READ, PERM_WRITE, TopicConfig, property};

/// A dead-letter topic is written by the broker only; consumers cannot read it until an
/// operator grants read permission (RocketMQ's default).
pub const DLQ_PERM: i32 = PERM_WRITE;

/// The config a group's retry topic is created with.
pub fn retry_topic_config(group: &str, queues: u32) -> TopicConfig {
    TopicConfig {
        topic_name: retry_topic_name(group),
        read_queue_nums: queues.max(1) as i32,
        write_queue_nums: queues.max(1) as i32,
        perm: PERM_READ | PERM_WRITE,
        order: false,
        ..TopicConfig::default()
    }
}

/// The config a group's dead-letter topic is created with: one queue, write-only.
pub fn dlq_topic_config(group: &str) -> TopicConfig {
    TopicConfig {
        topic_name: dlq_topic_name(group),
        read_queue_nums: 1,
        write_queue_nums: 1,
        perm: DLQ_PERM,
        order: false,
        ..TopicConfig::default()
    }
}

/// Where a handed-back message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// `%RETRY%<group>` after delay `level`.
    Retry { level: u32 },
    /// `%DLQ%<group>`, at once.
    DeadLetter,
}

/// Decides a handed-back message's destination: dead letter once it has been re-consumed
/// `max_reconsume_times` times or when the consumer asks for a negative level, else a retry at
/// the requested level or `3 + reconsume_times`.
pub fn destination(
    reconsume_times: i32,
    max_reconsume_times: i32,
    requested_level: i32,
) -> Destination {
    if requested_level < 0 || reconsume_times >= max_reconsume_times {
        return Destination::DeadLetter;
    }
    let level = if requested_level > 0 {
        requested_level
    } else {
        3i32.saturating_add(reconsume_times.max(0))
    };
    Destination::Retry {
        level: u32::try_from(level).unwrap_or(u32::MAX),
    }
}

/// What is needed besides the original to store it again.
#[derive(Debug, Clone)]
pub struct Resend<'a> {
    pub group: &'a str,
    pub destination: Destination,
    pub queue_id: u32,
    /// The original's msgId as the consumer knows it (UNIQ_KEY or offset id).
    pub origin_msg_id: &'a str,
    pub store_host: SocketAddr,
    pub store_timestamp: i64,
}

/// The new message for a hand-back: same body, flag, sysFlag, birth and properties, plus
/// `RETRY_TOPIC` (the topic it was first consumed from), `ORIGIN_MESSAGE_ID` and, for a retry,
/// `DELAY`; `reconsumeTimes` one higher.
pub fn resend_message(original: MessageToStore, resend: &Resend<'_>) -> MessageToStore {
    let mut properties = original.properties;
    properties
        .entry(property::RETRY_TOPIC.to_string())
        .or_insert_with(|| original.topic.clone());
    properties
        .entry(property::ORIGIN_MESSAGE_ID.to_string())
        .or_insert_with(|| resend.origin_msg_id.to_string());
    // A delivered delay's bookkeeping belongs to that delivery, not to the new message.
    properties.remove(property::SCHEDULE_SOURCE);
    properties.remove(property::REAL_TOPIC);
    properties.remove(property::REAL_QID);
    let topic = match resend.destination {
        Destination::Retry { level } => {
            properties.insert(property::DELAY.to_string(), level.to_string());
            retry_topic_name(resend.group)
        }
        Destination::DeadLetter => {
            properties.remove(property::DELAY);
            dlq_topic_name(resend.group)
        }
    };
    MessageToStore {
        topic,
        queue_id: resend.queue_id as i32,
        queue_offset: 0,
        physical_offset: 0,
        store_timestamp: resend.store_timestamp,
        store_host: resend.store_host,
        reconsume_times: original.reconsume_times.saturating_add(1),
        properties,
        ..original
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kth_retry_waits_level_two_plus_k_and_the_max_goes_to_the_dlq() {
        assert_eq!(destination(0, 16, 0), Destination::Retry { level: 3 });
        assert_eq!(destination(5, 16, 0), Destination::Retry { level: 8 });
        assert_eq!(destination(15, 16, 0), Destination::Retry { level: 18 });
        assert_eq!(destination(16, 16, 0), Destination::DeadLetter);
        assert_eq!(destination(0, 0, 0), Destination::DeadLetter);
    }

    #[test]
    fn the_consumer_may_choose_the_level_or_the_dlq() {
        assert_eq!(destination(2, 16, 1), Destination::Retry { level: 1 });
        assert_eq!(destination(0, 16, -1), Destination::DeadLetter);
    }

    fn original() -> MessageToStore {
        let mut m = MessageToStore::new("Orders", 2, b"body".to_vec());
        m.reconsume_times = 1;
        m.flag = 7;
        m.born_timestamp = 42;
        m.queue_offset = 99;
        m.properties.insert("KEYS".into(), "k1".into());
        m
    }

    fn resend(destination: Destination) -> Resend<'static> {
        Resend {
            group: "g",
            destination,
            queue_id: 0,
            origin_msg_id: "ID1",
            store_host: "127.0.0.1:10911".parse().unwrap(),
            store_timestamp: 1000,
        }
    }

    #[test]
    fn a_retry_keeps_the_message_and_remembers_where_it_came_from() {
        let m = resend_message(original(), &resend(Destination::Retry { level: 4 }));
        assert_eq!(m.topic, "%RETRY%g");
        assert_eq!((m.reconsume_times, m.flag, m.born_timestamp), (2, 7, 42));
        assert_eq!((m.queue_offset, m.store_timestamp), (0, 1000));
        assert_eq!(m.body, b"body");
        assert_eq!(m.properties["RETRY_TOPIC"], "Orders");
        assert_eq!(m.properties["ORIGIN_MESSAGE_ID"], "ID1");
        assert_eq!(m.properties["DELAY"], "4");
        assert_eq!(m.properties["KEYS"], "k1");
    }

    #[test]
    fn a_second_retry_keeps_the_first_topic_and_id_and_a_dead_letter_is_not_delayed() {
        let first = resend_message(original(), &resend(Destination::Retry { level: 3 }));
        let mut redelivered = first;
        redelivered
            .properties
            .insert("REAL_TOPIC".into(), "%RETRY%g".into());
        let again = Resend {
            origin_msg_id: "ID2",
            ..resend(Destination::DeadLetter)
        };
        let dead = resend_message(redelivered, &again);
        assert_eq!(dead.topic, "%DLQ%g");
        assert_eq!(dead.properties["RETRY_TOPIC"], "Orders");
        assert_eq!(dead.properties["ORIGIN_MESSAGE_ID"], "ID1");
        assert!(!dead.properties.contains_key("DELAY"));
        assert!(!dead.properties.contains_key("REAL_TOPIC"));
        assert_eq!(dead.reconsume_times, 3);
    }
}
