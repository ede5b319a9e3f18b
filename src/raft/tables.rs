//! The replicated metadata tables: topics, subscription groups, consumer offsets, the delay
//! levels' progress and the transaction table.
//!
//! They change only by applying committed `Admin` and `ConsumerOffsets` entries, in log order,
//! so after a failover the new leader has exactly the same topics, groups and offsets (RocketMQ's
//! DLedger mode copies them from the master every 10 s and loses the window). Entry bodies are
//! bincode of [`AdminOp`] and [`OffsetCommit`]; applying is deterministic and idempotent.
//!
//! Topics are the vocabulary's [`TopicConfig`], stored in a form of their own (`StoredTopic`:
//! name, queue counts, permission, order) so that entries, `sm-meta` and snapshots keep the
//! bytes every build so far has written and read.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::message::TopicConfig;

/// A topic as entries, `sm-meta` and snapshots hold it (bincode, fields in this order). Only
/// what the broker sets is kept: a topic's filter type and sys flag come back as
/// [`TopicConfig`]'s defaults. Counts and permission are `u32` here and `i32` (Java's `int`) in
/// [`TopicConfig`]; the conversions are bit-for-bit both ways, so any value round-trips.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredTopic {
    name: String,
    read_queue_nums: u32,
    write_queue_nums: u32,
    perm: u32,
    order: bool,
}

impl From<&TopicConfig> for StoredTopic {
    fn from(t: &TopicConfig) -> Self {
        StoredTopic {
            name: t.topic_name.clone(),
            read_queue_nums: t.read_queue_nums as u32,
            write_queue_nums: t.write_queue_nums as u32,
            perm: t.perm as u32,
            order: t.order,
        }
    }
}

impl From<StoredTopic> for TopicConfig {
    fn from(s: StoredTopic) -> Self {
        TopicConfig {
            topic_name: s.name,
            read_queue_nums: s.read_queue_nums as i32,
            write_queue_nums: s.write_queue_nums as i32,
            perm: s.perm as i32,
            order: s.order,
            ..TopicConfig::default()
        }
    }
}

/// `#[serde(with)]` for a [`TopicConfig`] in its stored form.
mod stored_topic {
    use super::*;

    pub(super) fn serialize<S: Serializer>(t: &TopicConfig, s: S) -> Result<S::Ok, S::Error> {
        StoredTopic::from(t).serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TopicConfig, D::Error> {
        StoredTopic::deserialize(d).map(TopicConfig::from)
    }
}

/// `#[serde(with)]` for a topic table (name → topic) in its stored form.
pub(crate) mod stored_topics {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        topics: &BTreeMap<String, TopicConfig>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(topics.iter().map(|(name, t)| (name, StoredTopic::from(t))))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, TopicConfig>, D::Error> {
        let stored = BTreeMap::<String, StoredTopic>::deserialize(d)?;
        Ok(stored
            .into_iter()
            .map(|(name, t)| (name, t.into()))
            .collect())
    }
}

/// A subscription group's configuration (RocketMQ `SubscriptionGroupConfig`, the fields used).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupConfig {
    pub name: String,
    pub consume_enable: bool,
    pub consume_broadcast_enable: bool,
    pub retry_queue_nums: u32,
    /// `retryMaxTimes`: re-consumes before a message goes to `%DLQ%group` (16).
    pub retry_max_times: u32,
}

/// A topic or group change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminOp {
    PutTopic(#[serde(with = "stored_topic")] TopicConfig),
    DeleteTopic(String),
    PutGroup(GroupConfig),
    /// Deletes the group and its committed offsets.
    DeleteGroup(String),
    /// Deletes the group's configuration only; its committed offsets stay, so a group
    /// re-created later resumes where it was (RocketMQ's default for `deleteSubGroup`).
    /// Appended last so that entries written before it still decode.
    DeleteGroupConfig(String),
    /// Moves a delay level's progress past a schedule-queue entry that cannot be delivered
    /// (its message is unreadable or names no real topic), so the level is not stuck on it.
    SkipScheduled {
        level: u32,
        offset: u64,
    },
    /// The group's retention floor: no node purges past this index (the lowest one every
    /// voter had replicated when the leader proposed it). Kept by the state machine, not in
    /// the tables.
    RetentionFloor(u64),
    /// One more check of the half message at this half-queue offset was sent to its producer
    /// group (see [`Transactions`]).
    TransactionChecked(u64),
    /// Settles a half message with nothing to store: it is no longer readable (retention took
    /// it) or names no real topic. Settlements that store messages travel as op messages.
    TransactionSettled(u64),
}

/// The retention floor an admin entry body carries, if it is a [`AdminOp::RetentionFloor`].
pub(crate) fn retention_floor_of(body: &[u8]) -> Option<u64> {
    match decode::<AdminOp>(body) {
        Ok(AdminOp::RetentionFloor(index)) => Some(index),
        _ => None,
    }
}

/// Consumer offsets committed by clients, coalesced by the leader into one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetCommit {
    pub updates: Vec<OffsetUpdate>,
    /// `true` for an operator's reset (resetOffsetByTime): offsets may then go backwards.
    pub reset: bool,
}

/// One queue's committed offset for one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetUpdate {
    pub group: String,
    pub topic: String,
    pub queue_id: u32,
    pub offset: u64,
}

/// The tables, as of the last applied entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tables {
    #[serde(with = "stored_topics")]
    pub topics: BTreeMap<String, TopicConfig>,
    pub groups: BTreeMap<String, GroupConfig>,
    /// (group, topic) → queue id → next offset to consume.
    pub offsets: BTreeMap<(String, String), BTreeMap<u32, u64>>,
    /// Delay level → next schedule-queue offset to deliver. Advanced only by applying the
    /// delivered messages themselves (see `Tables::schedule_delivered`).
    pub schedule: BTreeMap<u32, u64>,
    /// Half messages' settlement and checks (added in `sm-meta` format 3).
    pub transactions: Transactions,
}

/// The transaction table: which half messages (by their offset in queue 0 of
/// `RMQ_SYS_TRANS_HALF_TOPIC`) are settled, and how often each unsettled one was checked. A
/// half message is settled by applying its op message (commit, rollback, discard) or an
/// [`AdminOp::TransactionSettled`]; settled is final, so a transaction ends exactly once on
/// every replica, and a new leader checks exactly what the old one had not settled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transactions {
    /// Every offset below this is settled.
    settled_below: u64,
    /// Settled offsets at or above `settled_below`.
    settled: BTreeSet<u64>,
    /// Checks sent, per unsettled offset.
    checks: BTreeMap<u64, u32>,
}

impl Transactions {
    /// Whether the half message at `offset` is settled.
    pub fn is_settled(&self, offset: u64) -> bool {
        offset < self.settled_below || self.settled.contains(&offset)
    }

    /// The lowest offset that may still be unsettled: checks start here.
    pub fn settled_below(&self) -> u64 {
        self.settled_below
    }

    /// How many checks were sent for the half message at `offset`.
    pub fn checks(&self, offset: u64) -> u32 {
        self.checks.get(&offset).copied().unwrap_or(0)
    }

    /// Unsettled offsets that were checked at least once, with their counts.
    pub fn checked(&self) -> &BTreeMap<u64, u32> {
        &self.checks
    }

    /// Settles `offset`; false if it already was (the caller reports a second settlement).
    pub(crate) fn settle(&mut self, offset: u64) -> bool {
        if self.is_settled(offset) {
            return false;
        }
        self.settled.insert(offset);
        self.checks.remove(&offset);
        while self.settled.remove(&self.settled_below) {
            self.settled_below += 1;
        }
        true
    }

    /// Counts one more check of `offset` (nothing for a settled one).
    pub(crate) fn check_sent(&mut self, offset: u64) {
        if !self.is_settled(offset) {
            *self.checks.entry(offset).or_insert(0) += 1;
        }
    }
}

/// Encodes an [`AdminOp`] or an [`OffsetCommit`] as the body of an `Admin` or
/// `ConsumerOffsets` proposal (only the raft layer encodes entries: see
/// [`RaftNode::propose_admin`](super::RaftNode::propose_admin)).
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    bincode::serde::encode_to_vec(value, bincode::config::standard()).map_err(|e| e.to_string())
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    bincode::serde::decode_from_slice(bytes, bincode::config::standard())
        .map(|(v, _)| v)
        .map_err(|e| e.to_string())
}

impl Tables {
    /// Applies an admin entry body. A body that does not decode changes nothing (on every
    /// replica alike) and is reported.
    pub(crate) fn apply_admin(&mut self, body: &[u8]) -> Result<(), String> {
        match decode::<AdminOp>(body)? {
            AdminOp::PutTopic(t) => {
                self.topics.insert(t.topic_name.clone(), t);
            }
            AdminOp::DeleteTopic(name) => {
                self.topics.remove(&name);
                self.offsets.retain(|(_, topic), _| *topic != name);
            }
            AdminOp::PutGroup(g) => {
                self.groups.insert(g.name.clone(), g);
            }
            AdminOp::DeleteGroup(name) => {
                self.groups.remove(&name);
                self.offsets.retain(|(group, _), _| *group != name);
            }
            AdminOp::DeleteGroupConfig(name) => {
                self.groups.remove(&name);
            }
            AdminOp::SkipScheduled { level, offset } => self.schedule_delivered(level, offset),
            AdminOp::RetentionFloor(_) => {}
            AdminOp::TransactionChecked(offset) => self.transactions.check_sent(offset),
            AdminOp::TransactionSettled(offset) => self.transaction_settled(offset),
        }
        Ok(())
    }

    /// Applies a consumer-offsets entry body. Committed offsets never go backwards except
    /// through an explicit reset.
    pub(crate) fn apply_offsets(&mut self, body: &[u8]) -> Result<(), String> {
        self.apply_offset_commit(decode::<OffsetCommit>(body)?);
        Ok(())
    }

    /// Applies decoded consumer offsets: each one raises its queue's offset (a reset sets it).
    pub fn apply_offset_commit(&mut self, commit: OffsetCommit) {
        for u in commit.updates {
            let queues = self.offsets.entry((u.group, u.topic)).or_default();
            let slot = queues.entry(u.queue_id).or_insert(0);
            if commit.reset || u.offset > *slot {
                *slot = u.offset;
            }
        }
    }

    /// Records that the schedule-queue entry `offset` of delay `level` has been delivered:
    /// the level's progress moves past it (never backwards).
    pub(crate) fn schedule_delivered(&mut self, level: u32, offset: u64) {
        let next = self.schedule.entry(level).or_insert(0);
        *next = (*next).max(offset + 1);
    }

    /// Records that an applied message settled the half message at `offset` (an op message;
    /// see [`Transactions`]). A second settlement changes nothing and is reported.
    pub(crate) fn transaction_settled(&mut self, offset: u64) {
        if !self.transactions.settle(offset) {
            tracing::warn!(offset, "a settled half message was settled again; ignored");
        }
    }

    /// The next schedule-queue offset of delay `level` to deliver.
    pub fn schedule_progress(&self, level: u32) -> u64 {
        self.schedule.get(&level).copied().unwrap_or(0)
    }

    /// The committed offset of `group` on one queue.
    pub fn offset(&self, group: &str, topic: &str, queue_id: u32) -> Option<u64> {
        self.offsets
            .get(&(group.to_string(), topic.to_string()))
            .and_then(|q| q.get(&queue_id).copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{PERM_READ, PERM_WRITE};

    fn topic(name: &str) -> TopicConfig {
        TopicConfig {
            topic_name: name.into(),
            read_queue_nums: 4,
            write_queue_nums: 4,
            perm: PERM_READ | PERM_WRITE,
            order: false,
            ..TopicConfig::default()
        }
    }

    fn offsets(offset: u64, reset: bool) -> Vec<u8> {
        encode(&OffsetCommit {
            updates: vec![OffsetUpdate {
                group: "g".into(),
                topic: "t".into(),
                queue_id: 1,
                offset,
            }],
            reset,
        })
        .unwrap()
    }

    #[test]
    fn admin_ops_put_and_delete_topics_and_groups() {
        let mut t = Tables::default();
        t.apply_admin(&encode(&AdminOp::PutTopic(topic("t"))).unwrap())
            .unwrap();
        t.apply_offsets(&offsets(5, false)).unwrap();
        assert_eq!(t.topics["t"].write_queue_nums, 4);
        t.apply_admin(&encode(&AdminOp::DeleteTopic("t".into())).unwrap())
            .unwrap();
        assert!(t.topics.is_empty());
        assert_eq!(
            t.offset("g", "t", 1),
            None,
            "a deleted topic's offsets go too"
        );
        assert!(t.apply_admin(b"not bincode").is_err());
    }

    #[test]
    fn deleting_a_group_keeps_its_offsets_unless_asked() {
        let mut t = Tables::default();
        let group = GroupConfig {
            name: "g".into(),
            consume_enable: true,
            consume_broadcast_enable: true,
            retry_queue_nums: 1,
            retry_max_times: 16,
        };
        t.apply_admin(&encode(&AdminOp::PutGroup(group)).unwrap())
            .unwrap();
        t.apply_offsets(&offsets(5, false)).unwrap();
        t.apply_admin(&encode(&AdminOp::DeleteGroupConfig("g".into())).unwrap())
            .unwrap();
        assert!(t.groups.is_empty());
        assert_eq!(t.offset("g", "t", 1), Some(5));
        t.apply_admin(&encode(&AdminOp::DeleteGroup("g".into())).unwrap())
            .unwrap();
        assert_eq!(t.offset("g", "t", 1), None);
    }

    /// Entries, `sm-meta` and snapshots hold topics in this bincode form: bytes written by an
    /// older node must still decode, and a newer node must write what an older one reads.
    #[test]
    fn topics_keep_their_bincode_form_in_entries_and_tables() {
        let orders = TopicConfig {
            topic_name: "Orders".into(),
            read_queue_nums: 4,
            write_queue_nums: 300,
            perm: PERM_READ | PERM_WRITE | 1,
            order: true,
            ..TopicConfig::default()
        };
        let entry = encode(&AdminOp::PutTopic(orders.clone())).unwrap();
        assert_eq!(
            entry,
            [
                0, 6, b'O', b'r', b'd', b'e', b'r', b's', 4, 251, 44, 1, 7, 1
            ]
        );
        let mut tables = Tables::default();
        tables.apply_admin(&entry).unwrap();
        assert_eq!(tables.topics["Orders"], orders);
        let bytes = encode(&tables).unwrap();
        assert_eq!(
            bytes,
            [
                1, 6, b'O', b'r', b'd', b'e', b'r', b's', 6, b'O', b'r', b'd', b'e', b'r', b's', 4,
                251, 44, 1, 7, 1, 0, 0, 0, 0, 0, 0
            ]
        );
        assert_eq!(decode::<Tables>(&bytes).unwrap(), tables);
    }

    #[test]
    fn committed_offsets_never_go_backwards_except_on_reset() {
        let mut t = Tables::default();
        t.apply_offsets(&offsets(10, false)).unwrap();
        t.apply_offsets(&offsets(7, false)).unwrap();
        assert_eq!(t.offset("g", "t", 1), Some(10));
        t.apply_offsets(&offsets(3, true)).unwrap();
        assert_eq!(t.offset("g", "t", 1), Some(3));
    }

    #[test]
    fn a_half_message_is_settled_once_and_the_floor_moves_over_settled_runs() {
        let mut t = Tables::default();
        t.apply_admin(&encode(&AdminOp::TransactionChecked(1)).unwrap())
            .unwrap();
        t.apply_admin(&encode(&AdminOp::TransactionChecked(1)).unwrap())
            .unwrap();
        assert_eq!(t.transactions.checks(1), 2);

        t.transaction_settled(2);
        assert!(t.transactions.is_settled(2));
        assert!(!t.transactions.is_settled(0));
        assert_eq!(t.transactions.settled_below(), 0);

        t.transaction_settled(0);
        assert_eq!(t.transactions.settled_below(), 1, "1 is still open");
        t.apply_admin(&encode(&AdminOp::TransactionSettled(1)).unwrap())
            .unwrap();
        assert_eq!(t.transactions.settled_below(), 3);
        assert_eq!(
            t.transactions.checks(1),
            0,
            "a settled offset keeps no checks"
        );
        assert!(t.transactions.checked().is_empty());

        let before = t.clone();
        t.transaction_settled(2);
        t.apply_admin(&encode(&AdminOp::TransactionChecked(0)).unwrap())
            .unwrap();
        assert_eq!(
            t, before,
            "settling or checking a settled offset changes nothing"
        );
    }
}
