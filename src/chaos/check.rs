//! The checks a fault campaign's history must pass. Each reads the [`History`] (nothing else:
//! no clock, no network) and returns a [`CheckResult`]: what it counted and every
//! [`Violation`] it found. [`run_all`] runs them in a fixed order; the report renders them.
//!
//! | file | checks |
//! | --- | --- |
//! | `messages` | lost acknowledged sends, phantoms, duplicates, where acknowledged sends were read, dense queue offsets in the final read |
//! | `order` | per-queue order of orderly sends, in the final read and in orderly consumers |
//! | `offsets` | committed consumer offsets never go back, except by an admin reset |
//! | `masters` | one master per group on the nameservers, one leader per term, no acknowledgement from a term older than one that already acknowledged |
//! | `replicas` | identical replicas, every node running and caught up |

mod masters;
mod messages;
mod offsets;
mod order;
mod replicas;

use std::fmt;

use super::history::History;
use super::violation::Violation;

/// The checker's tolerances, all in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckConfig {
    /// How long nameservers may name different masters of one group before it is a violation
    /// (default 3000): a new master's registration reaches the nameservers one after another,
    /// and a sampler polls them one after another.
    pub master_grace_ms: u64,
    /// A pause between acknowledged sends of a group longer than this counts as unavailable
    /// time in the report (default 1000).
    pub gap_ms: u64,
    /// How long past a fault's end (an instant fault such as a kill: past its start) the
    /// report still charges unavailable time to it (default 30000).
    pub fault_tail_ms: u64,
}

impl Default for CheckConfig {
    fn default() -> Self {
        Self {
            master_grace_ms: 3_000,
            gap_ms: 1_000,
            fault_tail_ms: 30_000,
        }
    }
}

/// The checks, in the order [`run_all`] runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// Every acknowledged send is in the final read; nothing consumed has vanished from it.
    Lost,
    /// Everything consumed was sent (and not refused).
    Phantoms,
    /// A message stored twice had a send with an unknown outcome or a retry.
    Duplicates,
    /// An acknowledged send was read back at the queue offset (and commitlog offset) acked.
    Placement,
    /// Queue offsets in the final read are dense from 0 and first read in increasing order.
    QueueOffsets,
    /// Orderly sends of one sharding key are read in the order they were sent.
    Order,
    /// Committed consumer offsets never go back except by an admin reset.
    CommittedOffsets,
    /// Every replica of a group has the same committed bytes and queue offsets.
    Replicas,
    /// At most one master per group on the nameservers at any moment, past a grace.
    Masters,
    /// At most one leader per term and group.
    Terms,
    /// No send begun after a newer term acknowledged one is acknowledged in an older term.
    StaleAcks,
    /// Every node running and caught up at the end.
    Nodes,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Check::Lost => "acknowledged sends lost",
            Check::Phantoms => "consumed but never sent",
            Check::Duplicates => "duplicates",
            Check::Placement => "read where acknowledged",
            Check::QueueOffsets => "queue offsets dense and in order",
            Check::Order => "orderly sends in order",
            Check::CommittedOffsets => "committed offsets never go back",
            Check::Replicas => "replicas identical",
            Check::Masters => "one master per group",
            Check::Terms => "one leader per term",
            Check::StaleAcks => "no acknowledgement from an older term",
            Check::Nodes => "nodes running and caught up",
        })
    }
}

/// What one check counted and found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub check: Check,
    /// (what, how many), in a fixed order per check.
    pub counters: Vec<(&'static str, u64)>,
    pub violations: Vec<Violation>,
}

impl CheckResult {
    fn new(check: Check) -> Self {
        Self {
            check,
            counters: Vec::new(),
            violations: Vec::new(),
        }
    }

    fn count(&mut self, what: &'static str, n: impl TryInto<u64>) {
        self.counters.push((what, n.try_into().unwrap_or(u64::MAX)));
    }

    /// The counter named `what` (0 when the check has none by that name).
    pub fn counter(&self, what: &str) -> u64 {
        self.counters
            .iter()
            .find(|(name, _)| *name == what)
            .map_or(0, |(_, n)| *n)
    }
}

/// Runs every check on `history`, in [`Check`] order.
pub fn run_all(history: &History, config: &CheckConfig) -> Vec<CheckResult> {
    let index = messages::Messages::index(history);
    vec![
        index.lost(),
        index.phantoms(),
        index.duplicates(),
        index.placement(),
        index.queue_offsets(),
        order::check(&index),
        offsets::check(history),
        replicas::replicas(history),
        masters::masters(history, config.master_grace_ms),
        masters::terms(history),
        masters::stale_acks(history),
        replicas::nodes(history),
    ]
}
