//! Consumer offsets on the leader: commits coalesced into one replicated entry per interval
//! (remoting.md §5.5; DESIGN.md "Metadata goes through the log").
//!
//! Clients commit every 5 s and on every pull (the COMMIT_OFFSET bit); proposing each commit
//! would put a Raft entry per pull on the log. The leader keeps the latest commit per queue in
//! an [`OffsetCoalescer`] and proposes them together every interval. A client query answers
//! only replicated offsets (a pending commit of the queue asked about is proposed first, see
//! `handle_offsets`), so an answered offset never goes back; a kill of the leader loses at most
//! one interval of commits nobody was told about (RocketMQ's DLedger mode loses up to 10 s, see
//! ecosystem.md §7).

use std::collections::BTreeMap;

use crate::raft::tables::{OffsetCommit, OffsetUpdate, Tables};

/// Pending commits: (group, topic, queue id) → offset, collected while leading in one term.
///
/// Pending commits belong to the term they were collected in: a node that loses leadership
/// and leads again later must not propose what clients told it back then, which could undo
/// an offset reset decided meanwhile. Anything from another term is dropped.
#[derive(Debug, Default)]
pub struct OffsetCoalescer {
    pending: BTreeMap<(String, String, u32), u64>,
    term: Option<u64>,
}

impl OffsetCoalescer {
    /// Forgets what was collected in another term than `term`.
    fn enter(&mut self, term: u64) {
        if self.term != Some(term) {
            self.pending.clear();
            self.term = Some(term);
        }
    }

    /// Records a client's commit, received while leading in `term`. Negative offsets (ali-ons
    /// sends -1 for queues it has not consumed) are ignored by the caller's parsing; a lower
    /// offset than a pending one is kept out, as the replicated table would refuse it anyway.
    pub fn commit(&mut self, term: u64, group: &str, topic: &str, queue_id: u32, offset: u64) {
        self.enter(term);
        self.record(group, topic, queue_id, offset);
    }

    fn record(&mut self, group: &str, topic: &str, queue_id: u32, offset: u64) {
        let slot = self
            .pending
            .entry((group.to_string(), topic.to_string(), queue_id))
            .or_insert(offset);
        *slot = (*slot).max(offset);
    }

    /// The offset a query answers: the pending commit if newer than the replicated one.
    pub fn query(&self, tables: &Tables, group: &str, topic: &str, queue_id: u32) -> Option<u64> {
        let pending = self
            .pending
            .get(&(group.to_string(), topic.to_string(), queue_id))
            .copied();
        pending.max(tables.offset(group, topic, queue_id))
    }

    /// Drops the pending commits of `group` on `topic` (a reset replaces them).
    pub fn forget(&mut self, group: &str, topic: &str) {
        self.pending
            .retain(|(g, t, _), _| !(g.as_str() == group && t.as_str() == topic));
    }

    /// Takes everything pending as one entry to propose while leading in `term` (`None` when
    /// nothing of this term is pending).
    pub fn take(&mut self, term: u64) -> Option<OffsetCommit> {
        self.enter(term);
        if self.pending.is_empty() {
            return None;
        }
        let updates = std::mem::take(&mut self.pending)
            .into_iter()
            .map(|((group, topic, queue_id), offset)| OffsetUpdate {
                group,
                topic,
                queue_id,
                offset,
            })
            .collect();
        Some(OffsetCommit {
            updates,
            reset: false,
        })
    }

    /// Puts back what a failed proposal taken in `term` carried, keeping anything newer
    /// committed meanwhile; dropped if the term is over.
    pub fn restore(&mut self, term: u64, commit: OffsetCommit) {
        if self.term != Some(term) {
            return;
        }
        for u in commit.updates {
            self.record(&u.group, &u.topic, u.queue_id, u.offset);
        }
    }
}

/// What QUERY_CONSUMER_OFFSET answers for a group with no stored offset: 0 when the queue still
/// starts at 0 (so "produce first, consume later" reads from the beginning, as a young Java
/// broker does), else nothing (QUERY_NOT_FOUND; the client then applies its consumeFromWhere).
pub fn offset_without_commit(queue_min_offset: u64) -> Option<u64> {
    (queue_min_offset == 0).then_some(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_coalesce_to_the_highest_offset_per_queue() {
        let mut c = OffsetCoalescer::default();
        c.commit(1, "g", "T", 0, 5);
        c.commit(1, "g", "T", 0, 9);
        c.commit(1, "g", "T", 0, 7);
        c.commit(1, "g", "T", 1, 3);
        let tables = Tables::default();
        assert_eq!(c.query(&tables, "g", "T", 0), Some(9));
        let commit = c.take(1).expect("pending");
        assert_eq!(commit.updates.len(), 2);
        assert!(c.take(1).is_none());
        let mut tables = Tables::default();
        tables.apply_offset_commit(commit);
        assert_eq!(c.query(&tables, "g", "T", 0), Some(9));
        assert_eq!(c.query(&tables, "g", "T", 2), None);
    }

    #[test]
    fn a_failed_proposal_is_restored_without_losing_newer_commits() {
        let mut c = OffsetCoalescer::default();
        c.commit(1, "g", "T", 0, 5);
        let taken = c.take(1).unwrap();
        c.commit(1, "g", "T", 0, 8);
        c.restore(1, taken);
        assert_eq!(c.query(&Tables::default(), "g", "T", 0), Some(8));
    }

    /// Issue 9, finding 9: commits a node collected while it led once were proposed when it
    /// led again, after an offset reset decided in between, undoing the reset.
    #[test]
    fn commits_from_an_earlier_term_are_never_proposed() {
        let mut c = OffsetCoalescer::default();
        c.commit(1, "g", "T", 0, 50);
        // Leadership lost in term 1; this node leads again in term 3.
        assert!(c.take(3).is_none());
        c.commit(3, "g", "T", 0, 7);
        let taken = c.take(3).expect("this term's commit");
        assert_eq!(taken.updates[0].offset, 7);
        // A proposal that failed after its term ended is not put back.
        c.restore(2, taken);
        assert!(c.take(3).is_none());
    }

    #[test]
    fn a_young_queue_answers_zero_without_a_commit() {
        assert_eq!(offset_without_commit(0), Some(0));
        assert_eq!(offset_without_commit(10), None);
    }
}
