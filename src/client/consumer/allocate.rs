//! Queue allocation: which of a topic's queues one member of a clustering group consumes
//! (remoting.md §9.4). Every strategy RocketMQ clients ship, computed the way Java computes
//! them, so that Rust and Java members of one group agree on who reads what:
//!
//! | strategy | Java class | rule |
//! | --- | --- | --- |
//! | [`Averagely`](AllocateStrategy::Averagely) | `AllocateMessageQueueAveragely` | contiguous blocks, the first `n % m` members one more |
//! | [`AveragelyByCircle`](AllocateStrategy::AveragelyByCircle) | `AllocateMessageQueueAveragelyByCircle` | queue `i` to member `i % m` |
//! | [`ConsistentHash`](AllocateStrategy::ConsistentHash) | `AllocateMessageQueueConsistentHash` | MD5 ring of members with virtual nodes; each queue to the next node clockwise |
//! | [`ByConfig`](AllocateStrategy::ByConfig) | `AllocateMessageQueueByConfig` | a fixed list, whatever the members |
//! | [`ByMachineRoom`](AllocateStrategy::ByMachineRoom) | `AllocateMessageQueueByMachineRoom` | only queues of brokers named `<room>@<name>` in the consumer's rooms, then blocks |
//!
//! Inputs are sorted first (queues by topic, broker name, queue id; ids lexicographically and
//! deduplicated), as Java's rebalance does before calling a strategy; a member not in the id
//! list gets nothing. Pure functions: the consumer's rebalance calls [`AllocateStrategy::allocate`].

use std::collections::{BTreeMap, BTreeSet};

use super::md5::md5;
use crate::client::MessageQueue;

/// Virtual nodes per member on the consistent-hash ring by default (Java's default).
pub const DEFAULT_VIRTUAL_NODES: usize = 10;

/// How a clustering consumer picks its queues; default [`AllocateStrategy::Averagely`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AllocateStrategy {
    /// Contiguous blocks ("AVG").
    #[default]
    Averagely,
    /// Round robin ("AVG_BY_CIRCLE").
    AveragelyByCircle,
    /// A consistent-hash ring ("CONSISTENT_HASH"): few queues move when a member comes or goes.
    ConsistentHash {
        /// Virtual nodes per member; [`DEFAULT_VIRTUAL_NODES`] by default.
        virtual_nodes: usize,
    },
    /// Exactly these queues ("CONFIG"), whatever the other members do.
    ByConfig(Vec<MessageQueue>),
    /// Queues of brokers named `<room>@<broker>` whose room is listed ("MACHINE_ROOM").
    ByMachineRoom {
        /// The machine rooms this consumer may read from.
        rooms: BTreeSet<String>,
    },
}

impl AllocateStrategy {
    /// The queues member `me` consumes among `queues`, shared by `consumer_ids`.
    pub fn allocate(
        &self,
        queues: &[MessageQueue],
        consumer_ids: &[String],
        me: &str,
    ) -> Vec<MessageQueue> {
        let mut queues = queues.to_vec();
        queues.sort();
        queues.dedup();
        let mut ids = consumer_ids.to_vec();
        ids.sort();
        ids.dedup();
        let Some(index) = ids.iter().position(|id| id == me) else {
            return Vec::new();
        };
        match self {
            AllocateStrategy::Averagely => blocks(&queues, ids.len(), index),
            AllocateStrategy::AveragelyByCircle => queues
                .into_iter()
                .enumerate()
                .filter(|(i, _)| i % ids.len() == index)
                .map(|(_, q)| q)
                .collect(),
            AllocateStrategy::ConsistentHash { virtual_nodes } => {
                consistent_hash(&queues, &ids, me, *virtual_nodes)
            }
            AllocateStrategy::ByConfig(fixed) => fixed.clone(),
            AllocateStrategy::ByMachineRoom { rooms } => {
                let in_rooms: Vec<MessageQueue> = queues
                    .into_iter()
                    .filter(|q| {
                        let mut parts = q.broker_name.split('@');
                        match (parts.next(), parts.next(), parts.next()) {
                            (Some(room), Some(_), None) => rooms.contains(room),
                            _ => false,
                        }
                    })
                    .collect();
                by_machine_room(&in_rooms, ids.len(), index)
            }
        }
    }
}

/// "Averagely" on sorted input: member `index` of `members` takes a contiguous block of
/// `n / m` queues, the first `n % m` members one more; with more members than queues the last
/// ones get nothing.
fn blocks(queues: &[MessageQueue], members: usize, index: usize) -> Vec<MessageQueue> {
    let (n, m) = (queues.len(), members);
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
    queues.iter().skip(start).take(count).cloned().collect()
}

/// Java's machine-room split: `n / m` queues from `index * (n / m)`, and one of the last
/// `n % m` queues to each of the first `n % m` members.
fn by_machine_room(queues: &[MessageQueue], members: usize, index: usize) -> Vec<MessageQueue> {
    let (per, rem) = (queues.len() / members, queues.len() % members);
    let mut out: Vec<MessageQueue> = queues.iter().skip(index * per).take(per).cloned().collect();
    if index < rem
        && let Some(q) = queues.get(index + per * members)
    {
        out.push(q.clone());
    }
    out
}

/// The ring position of a key: the first four bytes of its MD5, big-endian (Java's MD5Hash).
fn ring_hash(key: &str) -> u32 {
    let digest = md5(key.as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The queues whose ring successor is one of `me`'s virtual nodes (`<clientId>-<i>`); a queue
/// is hashed by Java's `MessageQueue.toString()`.
fn consistent_hash(
    queues: &[MessageQueue],
    ids: &[String],
    me: &str,
    virtual_nodes: usize,
) -> Vec<MessageQueue> {
    let mut ring: BTreeMap<u32, &str> = BTreeMap::new();
    for id in ids {
        for replica in 0..virtual_nodes.max(1) {
            // A later node on the same position replaces an earlier one, as in Java's TreeMap.
            ring.insert(ring_hash(&format!("{id}-{replica}")), id);
        }
    }
    queues
        .iter()
        .filter(|q| {
            let key = format!(
                "MessageQueue [topic={}, brokerName={}, queueId={}]",
                q.topic, q.broker_name, q.queue_id
            );
            let at = ring_hash(&key);
            let owner = ring
                .range(at..)
                .next()
                .or_else(|| ring.iter().next())
                .map(|(_, id)| *id);
            owner == Some(me)
        })
        .cloned()
        .collect()
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
    AllocateStrategy::Averagely.allocate(queues, consumer_ids, me)
}

#[cfg(test)]
mod tests;
