//! The queue lock table behind LOCK_BATCH_MQ / UNLOCK_BATCH_MQ (remoting.md §5.8): per consumer
//! group and queue, which client holds it and when it last locked it.
//!
//! Orderly consumers lock the queues they were allocated before pulling them, so that two
//! members of a group never consume one queue at the same time while a rebalance moves it. A
//! lock is granted when the queue is free, already held by the same client (its time is
//! refreshed), or held by a client that has not refreshed it for [`LOCK_MAX_LIVE_TIME`].
//!
//! Soft state, never replicated: only the leader answers lock requests, and the table belongs
//! to one leader term. When the term changes the table starts empty, so after a failover the
//! consumers simply lock again on the new leader (they renew every 20 s). Time is passed in, so
//! the rules are tested without waiting. Never touches the network or the raft log: the
//! handler (`handle_lock`) parses bodies and checks leadership.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::message::body::lock::QueueKey;

/// How long a lock lives without a refresh: Java's `rocketmq.broker.rebalance.lockMaxLiveTime`
/// (a JVM property there, not a broker.conf key), 60 s by default. Clients renew every 20 s
/// and stop trusting their own lock after 30 s, so a live holder never reaches it.
pub const LOCK_MAX_LIVE_TIME: Duration = Duration::from_secs(60);

/// Who holds a queue, and since when it last said so.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Holder {
    client_id: String,
    refreshed: Instant,
}

/// The locks of one leader term: group → queue → holder.
#[derive(Debug)]
pub struct QueueLocks {
    /// The leader term the locks were taken in; `None` before the first request.
    term: Option<u64>,
    groups: BTreeMap<String, BTreeMap<QueueKey, Holder>>,
    max_live: Duration,
}

impl Default for QueueLocks {
    /// An empty table with Java's [`LOCK_MAX_LIVE_TIME`].
    fn default() -> QueueLocks {
        QueueLocks::new(LOCK_MAX_LIVE_TIME)
    }
}

impl QueueLocks {
    /// An empty table whose locks expire after `max_live` without a refresh.
    pub fn new(max_live: Duration) -> QueueLocks {
        QueueLocks {
            term: None,
            groups: BTreeMap::new(),
            max_live,
        }
    }

    /// Forgets every lock when `term` is not the term the table was filled in: a new leader
    /// term starts with no locks (clients re-lock).
    pub fn enter_term(&mut self, term: u64) {
        if self.term != Some(term) {
            if self.term.is_some() && !self.groups.is_empty() {
                tracing::info!(
                    term,
                    "new leader term: queue locks of the old term forgotten"
                );
            }
            self.groups.clear();
            self.term = Some(term);
        }
    }

    /// Locks `queues` for `client_id` in `group` where allowed (see the module docs) and
    /// returns those it now holds.
    pub fn lock(
        &mut self,
        group: &str,
        client_id: &str,
        queues: &BTreeSet<QueueKey>,
        now: Instant,
    ) -> BTreeSet<QueueKey> {
        let max_live = self.max_live;
        let table = self.groups.entry(group.to_owned()).or_default();
        let mut granted = BTreeSet::new();
        for queue in queues {
            let free = match table.get(queue) {
                None => true,
                Some(holder) => {
                    holder.client_id == client_id
                        || now.saturating_duration_since(holder.refreshed) > max_live
                }
            };
            if free {
                if let Some(old) = table.get(queue).filter(|h| h.client_id != client_id) {
                    tracing::info!(
                        group, %client_id, old = %old.client_id, topic = %queue.topic,
                        queue_id = queue.queue_id, "queue lock expired; taken over"
                    );
                }
                table.insert(
                    queue.clone(),
                    Holder {
                        client_id: client_id.to_owned(),
                        refreshed: now,
                    },
                );
                granted.insert(queue.clone());
            }
        }
        granted
    }

    /// Releases those of `queues` that `client_id` holds in `group`; others stay as they are.
    pub fn unlock(&mut self, group: &str, client_id: &str, queues: &BTreeSet<QueueKey>) {
        let Some(table) = self.groups.get_mut(group) else {
            return;
        };
        for queue in queues {
            if table.get(queue).is_some_and(|h| h.client_id == client_id) {
                table.remove(queue);
            }
        }
        if table.is_empty() {
            self.groups.remove(group);
        }
    }

    /// The live holder of `queue` in `group`, if any.
    pub fn holder(&self, group: &str, queue: &QueueKey, now: Instant) -> Option<&str> {
        self.groups
            .get(group)?
            .get(queue)
            .filter(|h| now.saturating_duration_since(h.refreshed) <= self.max_live)
            .map(|h| h.client_id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(ids: &[i32]) -> BTreeSet<QueueKey> {
        ids.iter()
            .map(|&queue_id| QueueKey {
                topic: "T".into(),
                broker_name: "b".into(),
                queue_id,
            })
            .collect()
    }

    #[test]
    fn a_queue_held_by_one_client_is_refused_to_another_until_unlocked() {
        let mut locks = QueueLocks::new(LOCK_MAX_LIVE_TIME);
        let now = Instant::now();
        assert_eq!(locks.lock("g", "a", &queues(&[0, 1]), now), queues(&[0, 1]));
        assert_eq!(locks.lock("g", "b", &queues(&[1, 2]), now), queues(&[2]));
        locks.unlock("g", "a", &queues(&[1]));
        assert_eq!(locks.lock("g", "b", &queues(&[1]), now), queues(&[1]));
        assert_eq!(
            locks.holder("g", &queues(&[0]).into_iter().next().unwrap(), now),
            Some("a")
        );
    }

    #[test]
    fn the_holder_relocks_and_refreshes_its_lock() {
        let mut locks = QueueLocks::new(Duration::from_secs(60));
        let start = Instant::now();
        locks.lock("g", "a", &queues(&[0]), start);
        let later = start + Duration::from_secs(50);
        assert_eq!(locks.lock("g", "a", &queues(&[0]), later), queues(&[0]));
        // 70 s after the first lock but 20 s after the refresh: still a's.
        let after = start + Duration::from_secs(70);
        assert!(locks.lock("g", "b", &queues(&[0]), after).is_empty());
    }

    #[test]
    fn an_expired_lock_is_granted_to_another_client() {
        let mut locks = QueueLocks::new(Duration::from_secs(60));
        let start = Instant::now();
        locks.lock("g", "a", &queues(&[0]), start);
        let at_limit = start + Duration::from_secs(60);
        assert!(locks.lock("g", "b", &queues(&[0]), at_limit).is_empty());
        let past = start + Duration::from_secs(61);
        assert_eq!(locks.lock("g", "b", &queues(&[0]), past), queues(&[0]));
        assert!(locks.lock("g", "a", &queues(&[0]), past).is_empty());
    }

    #[test]
    fn unlock_by_another_client_or_group_changes_nothing() {
        let mut locks = QueueLocks::new(LOCK_MAX_LIVE_TIME);
        let now = Instant::now();
        locks.lock("g", "a", &queues(&[0]), now);
        locks.unlock("g", "b", &queues(&[0]));
        locks.unlock("other", "a", &queues(&[0]));
        assert!(locks.lock("g", "b", &queues(&[0]), now).is_empty());
        // Groups are independent.
        assert_eq!(locks.lock("other", "b", &queues(&[0]), now), queues(&[0]));
    }

    #[test]
    fn a_new_leader_term_starts_with_no_locks() {
        let mut locks = QueueLocks::new(LOCK_MAX_LIVE_TIME);
        let now = Instant::now();
        locks.enter_term(3);
        locks.lock("g", "a", &queues(&[0]), now);
        locks.enter_term(3);
        assert!(locks.lock("g", "b", &queues(&[0]), now).is_empty());
        locks.enter_term(4);
        assert_eq!(locks.lock("g", "b", &queues(&[0]), now), queues(&[0]));
    }
}
