//! The orderly half of [`PullConsumer`] (`ConsumerConfig::orderly`, clustering only): a queue is
//! pulled only while this consumer holds its broker lock (remoting.md §5.8), so that when a
//! rebalance moves a queue the old and new owner never consume it at the same time.
//!
//! * Locks are taken with LOCK_BATCH_MQ on the master of each queue's broker, for every
//!   assigned queue at once, and renewed every `lock_renew_interval` (20 s); queues allocated
//!   but not held are retried every `lock_retry_interval` (1 s), and so is everything after a
//!   lock round a broker did not answer or a pull that failed on the network (the master may
//!   have changed, and a new leader holds no locks: the sooner they are taken there, the
//!   shorter the window in which a rebalancing member could take them). A lock is trusted for
//!   `lock_expiry` (30 s) from the moment its request was sent; brokers keep it 60 s.
//! * A queue the broker refuses, or whose lock lapsed, is not pulled (and an answer in flight
//!   is discarded) until a lock succeeds again; a fresh lock on a queue with a known position
//!   re-reads the group's committed offset and moves forward to it if another member got
//!   further meanwhile.
//! * Queues given up at a rebalance are committed, then unlocked; `shutdown` commits, then
//!   unlocks everything.
//! * One `poll` returns the messages of one pull answer, i.e. of one queue; `poll` takes
//!   `&mut self`, so a batch is handled before the next is pulled: two batches of one queue
//!   are never out at once.
//!
//! Locks are soft state of the broker's leader: after a failover the new leader holds none,
//! and the next renewal takes them again there.

use std::collections::{BTreeMap, BTreeSet};

use tokio::time::Instant;

use super::locks::{lock_batch, unlock_batch};
use super::{MessageModel, PullConsumer};
use crate::client::{ClientError, MessageQueue, calls};
use crate::remoting::header::QueryConsumerOffsetRequestHeader;

impl PullConsumer {
    /// Whether this consumer pulls only locked queues.
    pub(super) fn locks_queues(&self) -> bool {
        self.config.orderly && self.config.message_model == MessageModel::Clustering
    }

    /// Whether `queue` may be pulled now as far as locks go.
    pub(super) fn holds_lock(&self, queue: &MessageQueue, now: Instant) -> bool {
        if !self.locks_queues() {
            return true;
        }
        self.queues
            .get(queue)
            .and_then(|s| s.locked_until)
            .is_some_and(|until| until > now)
    }

    /// The assigned queues whose broker lock this consumer holds now (orderly clustering
    /// consumers; every assigned queue otherwise).
    pub fn locked_queues(&self) -> Vec<MessageQueue> {
        let now = Instant::now();
        self.queues
            .keys()
            .filter(|q| self.holds_lock(q, now))
            .cloned()
            .collect()
    }

    /// Renews the locks when due (see the module docs).
    pub(super) async fn renew_locks_when_due(&mut self) {
        if !self.locks_queues() || self.queues.is_empty() {
            return;
        }
        let now = Instant::now();
        let missing = self.relock_soon || self.queues.keys().any(|q| !self.holds_lock(q, now));
        let due = self.last_lock_round.is_none_or(|at| {
            let since = now.saturating_duration_since(at);
            since >= self.config.lock_renew_interval
                || (missing && since >= self.config.lock_retry_interval)
        });
        if due {
            self.lock_round().await;
        }
    }

    /// LOCK_BATCH_MQ for every assigned queue, per broker master.
    async fn lock_round(&mut self) {
        let sent_at = Instant::now();
        self.last_lock_round = Some(sent_at);
        self.relock_soon = false;
        let wanted: Vec<MessageQueue> = self.queues.keys().cloned().collect();
        let count = wanted.len();
        let Ok(by_master) = self.by_master(wanted).await else {
            self.relock_soon = true;
            return;
        };
        if by_master.values().map(BTreeSet::len).sum::<usize>() < count {
            self.relock_soon = true; // a broker without a master right now
        }
        let timeout = self.config.request_timeout;
        for (addr, queues) in by_master {
            let (group, id) = (&self.config.group, &self.client_id);
            let granted = match lock_batch(&self.conns, &addr, group, id, &queues, timeout).await {
                Ok(granted) => granted,
                Err(err) => {
                    // A master that died or stepped down: the new one holds no locks yet.
                    tracing::warn!(addr, error = %err, "locking queues failed");
                    self.namesrv.mark_stale(&self.config.topic);
                    self.relock_soon = true;
                    continue;
                }
            };
            for queue in &queues {
                let was_held = self.holds_lock(queue, sent_at);
                let Some(state) = self.queues.get_mut(queue) else {
                    continue;
                };
                if granted.contains(queue) {
                    state.locked_until = Some(sent_at + self.config.lock_expiry);
                    if !was_held {
                        tracing::info!(%queue, "queue locked");
                        self.catch_up_after_relock(queue, &addr).await;
                    }
                } else {
                    if was_held || state.locked_until.is_some() {
                        tracing::info!(%queue, "queue lock refused: held by another member");
                    }
                    state.locked_until = None;
                }
            }
        }
    }

    /// After a fresh lock on a queue with a known position: moves forward to the group's
    /// committed offset if another member consumed further while this one did not hold it.
    async fn catch_up_after_relock(&mut self, queue: &MessageQueue, addr: &str) {
        let Some(next) = self.queues.get(queue).and_then(|s| s.next_offset) else {
            return; // the first offset is looked up now that the lock is held
        };
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: self.config.group.clone(),
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
        };
        let timeout = self.config.request_timeout;
        match calls::query_consumer_offset(&self.conns, addr, header, timeout).await {
            Ok(Some(committed)) if committed > next => {
                tracing::info!(%queue, from = next, to = committed, "another member consumed further");
                if let Some(state) = self.queues.get_mut(queue) {
                    state.next_offset = Some(committed);
                    state.consumed = committed;
                    state.committed = committed;
                }
            }
            Ok(_) => {}
            Err(err) => {
                // Not known to be safe: pull nothing until the next lock round checks again.
                tracing::warn!(%queue, error = %err, "committed offset unknown after a lock");
                if let Some(state) = self.queues.get_mut(queue) {
                    state.locked_until = None;
                }
            }
        }
    }

    /// UNLOCK_BATCH_MQ for `queues` (best effort), and forgets their locks.
    pub(super) async fn unlock_queues(&mut self, queues: Vec<MessageQueue>) {
        if !self.locks_queues() || queues.is_empty() {
            return;
        }
        for queue in &queues {
            if let Some(state) = self.queues.get_mut(queue) {
                state.locked_until = None;
            }
        }
        let Ok(by_master) = self.by_master(queues).await else {
            return;
        };
        let timeout = self.config.request_timeout;
        for (addr, queues) in by_master {
            let (group, id) = (&self.config.group, &self.client_id);
            match unlock_batch(&self.conns, &addr, group, id, &queues, timeout).await {
                Ok(()) => tracing::info!(addr, count = queues.len(), "queues unlocked"),
                Err(err) => tracing::warn!(addr, error = %err, "unlocking queues failed"),
            }
        }
    }

    /// `queues` grouped by the master address of their broker; queues of a broker with no
    /// master in the route are left out (and the route marked stale).
    async fn by_master(
        &self,
        queues: Vec<MessageQueue>,
    ) -> Result<BTreeMap<String, BTreeSet<MessageQueue>>, ClientError> {
        let route = self
            .namesrv
            .cached_route(&self.config.topic)
            .await
            .inspect_err(|err| tracing::warn!(error = %err, "no route for locking queues"))?;
        let mut out: BTreeMap<String, BTreeSet<MessageQueue>> = BTreeMap::new();
        for queue in queues {
            let master = route
                .broker_datas
                .iter()
                .find(|b| b.broker_name == queue.broker_name)
                .and_then(|b| b.master_addr());
            match master {
                Some(addr) => {
                    out.entry(addr.to_owned()).or_default().insert(queue);
                }
                None => {
                    self.namesrv.mark_stale(&self.config.topic);
                }
            }
        }
        Ok(out)
    }
}
