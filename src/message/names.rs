//! Topic and group name rules (remoting.md §10): what a client may name, send to, or create,
//! and the system names and prefixes (`TBW102`, `%RETRY%`, `%DLQ%`, the reply and trace topics).
//!
//! Pure checks returning a [`NameError`] whose text is the remark RocketMQ's Java broker
//! sends, so clients and operators see the message they already know. Never decides whether a
//! topic exists or may be created on a broker: the broker's `topics` and handlers do, with
//! these rules.

/// Longest topic name a client may use.
pub const TOPIC_MAX_LEN: usize = 127;
/// Longest topic name for retry and dead-letter topics (`%RETRY%` + a group name).
pub const SYSTEM_TOPIC_MAX_LEN: usize = 255;
/// Longest consumer / producer group name.
pub const GROUP_MAX_LEN: usize = 255;

/// The auto-create template topic.
pub const TBW102: &str = "TBW102";
/// Prefix of per-group retry topics.
pub const RETRY_PREFIX: &str = "%RETRY%";
/// Prefix of per-group dead-letter topics.
pub const DLQ_PREFIX: &str = "%DLQ%";

/// `%RETRY%<group>`.
pub fn retry_topic_name(group: &str) -> String {
    format!("{RETRY_PREFIX}{group}")
}

/// `%DLQ%<group>`.
pub fn dlq_topic_name(group: &str) -> String {
    format!("{DLQ_PREFIX}{group}")
}

/// Suffix of the topic replies of request-reply go to (`<cluster>_REPLY_TOPIC`).
pub const REPLY_TOPIC_SUFFIX: &str = "_REPLY_TOPIC";
/// The message-trace topic's default name (`msgTraceTopicName`).
pub const DEFAULT_TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

/// `<cluster>_REPLY_TOPIC`: where the replies of a cluster's requests are sent and stored.
pub fn reply_topic_name(cluster: &str) -> String {
    format!("{cluster}{REPLY_TOPIC_SUFFIX}")
}

/// Topics clients may not send to (remoting.md §10.2).
const NO_SEND_TOPICS: &[&str] = &[
    "SCHEDULE_TOPIC_XXXX",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];

/// Why a name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("The specified topic is blank.")]
    BlankTopic,
    #[error("The specified topic contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$")]
    IllegalTopic,
    #[error("The specified topic is longer than topic max length.")]
    TopicTooLong,
    #[error("The topic[{0}] is conflict with system topic.")]
    SystemTopic(String),
    #[error("Sending message to topic[{0}] is forbidden.")]
    SendForbidden(String),
    #[error("The specified group is blank.")]
    BlankGroup,
    #[error("The specified group contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$")]
    IllegalGroup,
    #[error("The specified group is longer than group max length {GROUP_MAX_LEN}.")]
    GroupTooLong,
}

fn legal_chars(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'-' | b'_'))
}

/// Checks a topic name a client uses (send, pull, route lookup).
pub fn check_topic(topic: &str) -> Result<(), NameError> {
    if topic.trim().is_empty() {
        return Err(NameError::BlankTopic);
    }
    if !legal_chars(topic) {
        return Err(NameError::IllegalTopic);
    }
    let max = if topic.starts_with(RETRY_PREFIX) || topic.starts_with(DLQ_PREFIX) {
        SYSTEM_TOPIC_MAX_LEN
    } else {
        TOPIC_MAX_LEN
    };
    if topic.len() > max {
        return Err(NameError::TopicTooLong);
    }
    Ok(())
}

/// Whether `topic` is a reserved system topic (by name, or the `rmq_sys_` prefix).
pub fn is_system_topic(topic: &str) -> bool {
    topic == TBW102
        || NO_SEND_TOPICS.contains(&topic)
        || topic.to_ascii_lowercase().starts_with("rmq_sys_")
}

/// Checks a topic a client sends to: legal, and not one only the broker writes.
pub fn check_send_topic(topic: &str) -> Result<(), NameError> {
    check_topic(topic)?;
    if NO_SEND_TOPICS.contains(&topic) || topic == TBW102 {
        return Err(NameError::SendForbidden(topic.to_string()));
    }
    Ok(())
}

/// Checks a topic an operator creates: legal and not a system topic.
pub fn check_create_topic(topic: &str) -> Result<(), NameError> {
    check_topic(topic)?;
    if is_system_topic(topic) {
        return Err(NameError::SystemTopic(topic.to_string()));
    }
    Ok(())
}

/// Checks a producer or consumer group name.
pub fn check_group(group: &str) -> Result<(), NameError> {
    if group.trim().is_empty() {
        return Err(NameError::BlankGroup);
    }
    if !legal_chars(group) {
        return Err(NameError::IllegalGroup);
    }
    if group.len() > GROUP_MAX_LEN {
        return Err(NameError::GroupTooLong);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legal_topics_pass_and_illegal_ones_get_java_remarks() {
        for ok in [
            "TopicTest",
            "a",
            "ns%topic",
            "%RETRY%group",
            "with-dash_and|bar",
        ] {
            assert_eq!(check_topic(ok), Ok(()), "{ok}");
        }
        assert_eq!(check_topic(""), Err(NameError::BlankTopic));
        assert_eq!(check_topic("   "), Err(NameError::BlankTopic));
        for bad in ["a.b", "a b", "a/b", "a:b", "tópico"] {
            assert_eq!(check_topic(bad), Err(NameError::IllegalTopic), "{bad}");
        }
        assert_eq!(check_topic(&"t".repeat(127)), Ok(()));
        assert_eq!(check_topic(&"t".repeat(128)), Err(NameError::TopicTooLong));
        assert_eq!(check_topic(&format!("%RETRY%{}", "g".repeat(200))), Ok(()));
        assert!(
            NameError::IllegalTopic
                .to_string()
                .contains("^[%|a-zA-Z0-9_-]+$")
        );
    }

    #[test]
    fn system_topics_cannot_be_sent_to_or_created() {
        assert!(matches!(
            check_send_topic("SCHEDULE_TOPIC_XXXX"),
            Err(NameError::SendForbidden(_))
        ));
        assert!(matches!(
            check_send_topic(TBW102),
            Err(NameError::SendForbidden(_))
        ));
        assert_eq!(check_send_topic("%RETRY%g"), Ok(()));
        assert!(matches!(
            check_create_topic("RMQ_SYS_TRACE_X"),
            Err(NameError::SystemTopic(_))
        ));
        assert!(matches!(
            check_create_topic("rmq_sys_anything"),
            Err(NameError::SystemTopic(_))
        ));
        assert_eq!(check_create_topic("Orders"), Ok(()));
    }

    #[test]
    fn group_names_follow_the_same_alphabet() {
        assert_eq!(check_group("CID_orders"), Ok(()));
        assert_eq!(check_group(""), Err(NameError::BlankGroup));
        assert_eq!(check_group("a.b"), Err(NameError::IllegalGroup));
        assert_eq!(check_group(&"g".repeat(256)), Err(NameError::GroupTooLong));
    }
}
