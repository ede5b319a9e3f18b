//! Fault injection for in-process test clusters: which links between nodes drop their messages.
//!
//! [`NetworkFaults`] is a cheap clonable handle; every node of a test cluster holds a clone of the
//! same one. The client ([`super::client`]) consults it before sending a request and before
//! accepting a reply, the server ([`super::server`]) before handling a request, so an isolated
//! node keeps running over real loopback TCP while its messages are dropped both ways.
//! In production the table stays empty and every check says "not blocked".
//! It never touches sockets itself.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

/// A shared table of blocked links. Clones share the table.
#[derive(Debug, Clone, Default)]
pub(crate) struct NetworkFaults {
    table: Arc<Mutex<FaultTable>>,
}

#[derive(Debug, Default)]
struct FaultTable {
    /// Nodes cut off from everyone, in both directions.
    isolated: HashSet<u64>,
    /// Directed links `(from, to)` whose messages are dropped.
    blocked: HashSet<(u64, u64)>,
}

impl NetworkFaults {
    /// A handle with no faults: what production uses.
    #[cfg(test)]
    pub(crate) fn new() -> NetworkFaults {
        NetworkFaults::default()
    }

    /// Cuts `node` off from every other node, both ways.
    #[cfg(test)]
    pub(crate) fn isolate(&self, node: u64) {
        self.with(|t| {
            t.isolated.insert(node);
        });
    }

    /// Undoes [`Self::isolate`] for `node` and unblocks every link that starts or ends at it.
    #[cfg(test)]
    pub(crate) fn heal(&self, node: u64) {
        self.with(|t| {
            t.isolated.remove(&node);
            t.blocked.retain(|&(from, to)| from != node && to != node);
        });
    }

    /// Drops messages sent by `from` to `to` (one direction only).
    #[cfg(test)]
    pub(crate) fn block(&self, from: u64, to: u64) {
        self.with(|t| {
            t.blocked.insert((from, to));
        });
    }

    /// Removes every fault.
    #[cfg(test)]
    pub(crate) fn heal_all(&self) {
        self.with(|t| {
            t.isolated.clear();
            t.blocked.clear();
        });
    }

    /// Whether a message sent by `from` to `to` is dropped.
    pub(crate) fn is_blocked(&self, from: u64, to: u64) -> bool {
        self.with(|t| {
            t.isolated.contains(&from)
                || t.isolated.contains(&to)
                || t.blocked.contains(&(from, to))
        })
    }

    /// Runs `f` on the table. The lock is never held across an await; a panic while holding it
    /// cannot leave the sets half-updated, so a poisoned lock is still safe to use.
    fn with<T>(&self, f: impl FnOnce(&mut FaultTable) -> T) -> T {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut table)
    }
}

#[cfg(test)]
mod tests {
    use super::NetworkFaults;

    #[test]
    fn isolation_blocks_both_directions_until_healed() {
        let faults = NetworkFaults::new();
        assert!(!faults.is_blocked(1, 2));
        faults.isolate(2);
        assert!(faults.is_blocked(1, 2));
        assert!(faults.is_blocked(2, 3));
        assert!(!faults.is_blocked(1, 3));
        faults.heal(2);
        assert!(!faults.is_blocked(1, 2));
        assert!(!faults.is_blocked(2, 3));
    }

    #[test]
    fn block_is_directional_and_clones_share_the_table() {
        let faults = NetworkFaults::new();
        let other = faults.clone();
        faults.block(1, 2);
        assert!(other.is_blocked(1, 2));
        assert!(!other.is_blocked(2, 1));
        other.heal(1);
        assert!(!faults.is_blocked(1, 2));
        faults.block(3, 1);
        faults.isolate(2);
        faults.heal_all();
        assert!(!faults.is_blocked(3, 1));
        assert!(!faults.is_blocked(2, 1));
    }
}
