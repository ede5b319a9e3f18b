//! Transactional messages in RocketMQ's vocabulary: the system topics a transaction passes
//! through, the transaction type bits of SYSFLAG, the outcome codes of END_TRANSACTION, and the
//! op record that settles a half message.
//!
//! A transactional producer first sends a *half* message (property `TRAN_MSG=true`): the
//! broker keeps it in [`HALF_TOPIC`], queue 0, with its real topic and queue in `REAL_TOPIC` /
//! `REAL_QID`, where no consumer of the real topic sees it. The producer's END_TRANSACTION (or
//! its answer to a check) settles it: a commit stores it in its real topic, a rollback drops
//! it; either way an *op* message in [`OP_HALF_TOPIC`] (tags [`REMOVE_TAG`], body: the half
//! message's queue offset in decimal) records that it is settled. A half message checked
//! `transactionCheckMax` times without an answer is copied to [`CHECK_MAX_TIME_TOPIC`] and
//! settled as discarded. Pure formats and rules; the broker decides when each happens.

use super::stored::{MessageToStore, Properties, property};

/// Where half messages wait for their outcome (queue 0).
pub const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// Where op messages record settled half messages (queue 0).
pub const OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// Where half messages checked too often without an answer are kept for operators.
pub const CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
/// The producer group the broker's own transaction bookkeeping runs as (Java's
/// `CID_RMQ_SYS_TRANS`).
pub const SYSTEM_GROUP: &str = "CID_RMQ_SYS_TRANS";
/// The tags of an op message that settles a half message.
pub const REMOVE_TAG: &str = "d";
/// Property: seconds a half message is not checked after it was born (`-1`: the broker's
/// `transactionTimeOut`).
pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";

/// SYSFLAG bits 2..3: the transaction type.
pub const SYSFLAG_TRANSACTION_MASK: i32 = 0x0C;
/// Not part of a transaction (or its outcome is not known yet: `UNKNOW` in END_TRANSACTION).
pub const TRANSACTION_NOT_TYPE: i32 = 0x00;
/// A half message, as the producer sends it.
pub const TRANSACTION_PREPARED_TYPE: i32 = 0x04;
/// Commit, in END_TRANSACTION's `commitOrRollback` and in a committed message's SYSFLAG.
pub const TRANSACTION_COMMIT_TYPE: i32 = 0x08;
/// Rollback, in END_TRANSACTION's `commitOrRollback`.
pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0x0C;

/// `sys_flag` with its transaction type replaced by `kind`.
pub fn with_transaction_type(sys_flag: i32, kind: i32) -> i32 {
    (sys_flag & !SYSFLAG_TRANSACTION_MASK) | (kind & SYSFLAG_TRANSACTION_MASK)
}

/// Whether a send carries a half message: property `TRAN_MSG` is `true` (Java's broker looks
/// at the property, not at SYSFLAG).
pub fn is_half_message(properties: &Properties) -> bool {
    properties
        .get(property::TRAN_MSG)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// What END_TRANSACTION's `commitOrRollback` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Commit,
    Rollback,
    /// `UNKNOW`: the producer does not know yet; nothing happens and a later check asks again.
    Unknown,
}

impl Outcome {
    /// Reads `commitOrRollback`; `None` for a value no client sends.
    pub fn from_code(code: i32) -> Option<Outcome> {
        match code {
            TRANSACTION_COMMIT_TYPE => Some(Outcome::Commit),
            TRANSACTION_ROLLBACK_TYPE => Some(Outcome::Rollback),
            TRANSACTION_NOT_TYPE => Some(Outcome::Unknown),
            _ => None,
        }
    }

    /// The code END_TRANSACTION carries for this outcome.
    pub fn code(self) -> i32 {
        match self {
            Outcome::Commit => TRANSACTION_COMMIT_TYPE,
            Outcome::Rollback => TRANSACTION_ROLLBACK_TYPE,
            Outcome::Unknown => TRANSACTION_NOT_TYPE,
        }
    }
}

/// The op message settling the half message at `half_offset` (queue 0 of [`OP_HALF_TOPIC`]):
/// the caller sets timestamps and hosts.
pub fn op_message(half_offset: u64) -> MessageToStore {
    let mut op = MessageToStore::new(OP_HALF_TOPIC, 0, half_offset.to_string().into_bytes());
    op.properties
        .insert(property::TAGS.to_string(), REMOVE_TAG.to_string());
    op
}

/// The half-queue offset a stored message settles, if it is an op message: topic
/// [`OP_HALF_TOPIC`], tags [`REMOVE_TAG`], a decimal body. Anything else settles nothing.
pub fn settled_half_offset(message: &MessageToStore) -> Option<u64> {
    if message.topic != OP_HALF_TOPIC || message.tags() != Some(REMOVE_TAG) {
        return None;
    }
    std::str::from_utf8(&message.body).ok()?.trim().parse().ok()
}

/// How long after its birth a half message is left alone, in ms: its own
/// `CHECK_IMMUNITY_TIME_IN_SECONDS` if set (and not `-1`), else `transaction_timeout_ms`.
pub fn check_immunity_ms(properties: &Properties, transaction_timeout_ms: u64) -> u64 {
    match properties
        .get(CHECK_IMMUNITY_TIME_IN_SECONDS)
        .and_then(|v| v.trim().parse::<i64>().ok())
    {
        Some(seconds) if seconds >= 0 => (seconds as u64).saturating_mul(1000),
        _ => transaction_timeout_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_op_message_names_the_half_offset_it_settles_and_nothing_else_does() {
        assert_eq!(settled_half_offset(&op_message(42)), Some(42));
        let mut other_topic = op_message(42);
        other_topic.topic = HALF_TOPIC.into();
        assert_eq!(settled_half_offset(&other_topic), None);
        let mut other_tag = op_message(42);
        other_tag
            .properties
            .insert(property::TAGS.into(), "x".into());
        assert_eq!(settled_half_offset(&other_tag), None);
        let garbage = MessageToStore::new(OP_HALF_TOPIC, 0, b"forty".to_vec());
        assert_eq!(settled_half_offset(&garbage), None);
    }

    #[test]
    fn the_transaction_type_bits_are_replaced_and_nothing_else() {
        let flags = 0x01 | 0x02 | TRANSACTION_PREPARED_TYPE | 0x10;
        assert_eq!(
            with_transaction_type(flags, TRANSACTION_COMMIT_TYPE),
            0x01 | 0x02 | TRANSACTION_COMMIT_TYPE | 0x10
        );
        assert_eq!(
            with_transaction_type(flags, TRANSACTION_NOT_TYPE),
            0x01 | 0x02 | 0x10
        );
    }

    #[test]
    fn outcomes_round_trip_and_unknown_codes_are_refused() {
        for o in [Outcome::Commit, Outcome::Rollback, Outcome::Unknown] {
            assert_eq!(Outcome::from_code(o.code()), Some(o));
        }
        assert_eq!(Outcome::from_code(4), None);
        assert_eq!(Outcome::from_code(-1), None);
    }

    #[test]
    fn immunity_is_the_messages_own_or_the_brokers_timeout() {
        let mut props = Properties::new();
        assert_eq!(check_immunity_ms(&props, 6000), 6000);
        props.insert(CHECK_IMMUNITY_TIME_IN_SECONDS.into(), "20".into());
        assert_eq!(check_immunity_ms(&props, 6000), 20_000);
        props.insert(CHECK_IMMUNITY_TIME_IN_SECONDS.into(), "-1".into());
        assert_eq!(check_immunity_ms(&props, 6000), 6000);
        props.insert(CHECK_IMMUNITY_TIME_IN_SECONDS.into(), "soon".into());
        assert_eq!(check_immunity_ms(&props, 6000), 6000);
    }

    #[test]
    fn a_half_message_is_recognised_by_its_property() {
        let mut props = Properties::new();
        assert!(!is_half_message(&props));
        props.insert(property::TRAN_MSG.into(), "true".into());
        assert!(is_half_message(&props));
        props.insert(property::TRAN_MSG.into(), "false".into());
        assert!(!is_half_message(&props));
    }
}
