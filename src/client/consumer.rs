//! [`PullConsumer`]: a consumer the caller drives with [`PullConsumer::poll`], so tests can
//! consume deterministically (remoting.md §5).
//!
//! `start` fetches the route, has every broker of the topic vet a SQL92 subscription
//! (CHECK_CLIENT_CONFIG, as Java's `checkClientInBroker`), sends HEART_BEAT with the
//! subscription to every broker of the topic (again every 30 s from a task), and allocates
//! queues: clustering consumers ask one
//! broker for the group's members (GET_CONSUMER_LIST_BY_GROUP) and take their share by the
//! configured [`AllocateStrategy`] (`allocate`); broadcasting consumers take every readable
//! queue. A NOTIFY_CONSUMER_IDS_CHANGED from a broker, a pull that fails on the network, or
//! 20 s passing, makes the next `poll` allocate again. Orderly consumers (`orderly`) pull only
//! the queues whose broker lock they hold.
//!
//! `poll` pulls all assigned queues at once (PULL_MESSAGE with SUSPEND | SUBSCRIPTION, and
//! COMMIT_OFFSET once there is an offset to piggy-back) and returns as soon as one brings
//! messages, or empty after `max_wait`. A queue's first offset is the group's committed one
//! (QUERY_CONSUMER_OFFSET), else per [`ConsumeFrom`]. Per answer: 0 delivers and moves on to
//! nextBeginOffset, 19 and 20 move on, 21 resets the queue to nextBeginOffset and stores it,
//! anything else pauses that queue for `pull_error_delay`. Messages whose real tag is not
//! subscribed are dropped (brokers filter on hashes only). `commit` stores what `poll`
//! returned (UPDATE_CONSUMER_OFFSET); `poll` does it every 5 s and `shutdown` at the end.
//! Broadcasting consumers keep offsets in memory only.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

mod allocate;
mod check;
pub(crate) mod config;
mod locks;
mod md5;
mod orderly;
mod pull;
mod rebalance;
mod send_back;
pub use allocate::{AllocateStrategy, DEFAULT_VIRTUAL_NODES, allocate_averagely};
pub use config::{ConsumeFrom, ConsumerConfig, MessageModel};
use rebalance::{Notices, heartbeat_all, spawn_notice_listener};
pub use send_back::restore_retry_topic;

use super::connections::Connections;
use super::message::now_ms;
use super::{ClientError, MessageExt, MessageQueue, NameServerClient, Subscription};
use super::{calls, new_client_id};
use crate::message::filter::ExpressionType;
use crate::remoting::{RequestCode, ResponseCode};

/// Most pull rounds in one `poll` (each is bounded by the time left anyway).
const MAX_ROUNDS: usize = 64;
/// Below this, a pull is not suspended: the broker answers at once.
const MIN_HOLD: Duration = Duration::from_millis(100);

/// What the consumer knows about one assigned queue.
#[derive(Debug, Clone)]
struct QueueState {
    /// The broker address pulls go to.
    addr: String,
    /// Where the next pull starts; `None` until looked up.
    next_offset: Option<i64>,
    /// Offset after everything `poll` returned (or skipped): what a commit stores; -1 = none.
    consumed: i64,
    /// What the broker has stored; -1 = nothing yet.
    committed: i64,
    /// No pull before this, after an error.
    paused_until: Option<Instant>,
    /// Orderly: the broker lock is trusted until then; `None` = not held.
    locked_until: Option<Instant>,
}

/// A pull consumer of one topic. Methods take `&mut self`: one task drives it.
#[derive(Debug)]
pub struct PullConsumer {
    config: ConsumerConfig,
    subscription: Subscription,
    sub_version: i64,
    client_id: String,
    namesrv: Arc<NameServerClient>,
    conns: Arc<Connections>,
    queues: BTreeMap<MessageQueue, QueueState>,
    notices_wanted: Notices,
    last_rebalance: Option<Instant>,
    /// Orderly: when locks were last requested.
    last_lock_round: Option<Instant>,
    /// Orderly: a broker did not answer the last lock round, or a pull failed on the network
    /// (its master may have changed): lock again after `lock_retry_interval`, not 20 s.
    relock_soon: bool,
    last_commit: Instant,
    tasks: Vec<JoinHandle<()>>,
    notices: Option<mpsc::Receiver<crate::remoting::InboundRequest>>,
    running: bool,
}

impl PullConsumer {
    /// A consumer with `config`; nothing is sent before [`Self::start`].
    pub fn new(config: ConsumerConfig) -> Result<Self, ClientError> {
        if config.group.is_empty() || config.topic.is_empty() {
            return Err(ClientError::InvalidConfig(
                "consumer group and topic must not be empty".into(),
            ));
        }
        let namesrv =
            NameServerClient::with_timeout(config.namesrv_addrs.clone(), config.request_timeout)?;
        let (sink, notices) = mpsc::channel(64);
        Ok(PullConsumer {
            subscription: Subscription::new(config.expression_type, &config.expression)?,
            sub_version: now_ms(),
            client_id: new_client_id(config.instance_name.as_deref()),
            namesrv: Arc::new(namesrv),
            conns: Arc::new(
                Connections::with_server_requests(sink).signed_by(config.credentials.clone()),
            ),
            queues: BTreeMap::new(),
            notices_wanted: Notices::default(),
            last_rebalance: None,
            last_lock_round: None,
            relock_soon: false,
            last_commit: Instant::now(),
            tasks: Vec::new(),
            notices: Some(notices),
            running: false,
            config,
        })
    }

    /// The client id the brokers know this consumer by.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The queues currently assigned, sorted.
    pub fn assigned_queues(&self) -> Vec<MessageQueue> {
        self.queues.keys().cloned().collect()
    }

    /// Where the next pull of each assigned queue starts (`None`: not looked up yet).
    pub fn positions(&self) -> BTreeMap<MessageQueue, Option<i64>> {
        self.queues
            .iter()
            .map(|(q, s)| (q.clone(), s.next_offset))
            .collect()
    }

    /// Heartbeats every broker of the topic, starts the heartbeat and notification tasks and
    /// allocates queues. Fails if the topic has no route or no broker takes the heartbeat.
    pub async fn start(&mut self) -> Result<(), ClientError> {
        if self.running {
            return Ok(());
        }
        let route = self.namesrv.route(&self.config.topic).await?;
        if self.subscription.expression_type != ExpressionType::Tag {
            check::check_in_brokers(self, &route).await?;
        }
        let body = config::heartbeat_body(
            &self.client_id,
            &self.config,
            &self.subscription,
            self.sub_version,
        );
        heartbeat_all(&self.conns, &route, &body, self.config.request_timeout).await?;
        self.running = true;
        self.tasks.push(self.spawn_heartbeat(body));
        if let Some(notices) = self.notices.take() {
            self.tasks.push(spawn_notice_listener(
                notices,
                self.notices_wanted.clone(),
                self.config.group.clone(),
                self.config.topic.clone(),
            ));
        }
        if let Err(err) = self.rebalance().await {
            tracing::warn!(error = %err, "first rebalance failed; poll retries");
        }
        Ok(())
    }

    fn spawn_heartbeat(&self, body: Vec<u8>) -> JoinHandle<()> {
        let (namesrv, conns) = (self.namesrv.clone(), self.conns.clone());
        let (topic, every) = (self.config.topic.clone(), self.config.heartbeat_interval);
        let timeout = self.config.request_timeout;
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
            loop {
                ticks.tick().await;
                let sent = match namesrv.cached_route(&topic).await {
                    Ok(route) => heartbeat_all(&conns, &route, &body, timeout).await,
                    Err(err) => Err(err),
                };
                if let Err(err) = sent {
                    tracing::warn!(topic, error = %err, "consumer heartbeat failed");
                }
            }
        })
    }

    /// Stores every queue's consumed offset that the broker does not have yet.
    pub async fn commit(&mut self) -> Result<(), ClientError> {
        self.last_commit = Instant::now();
        let queues: Vec<MessageQueue> = self.queues.keys().cloned().collect();
        let mut first_err = None;
        for queue in queues {
            if let Err(err) = self.commit_queue(&queue).await {
                first_err.get_or_insert(err);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    async fn commit_queue(&mut self, queue: &MessageQueue) -> Result<(), ClientError> {
        if self.config.message_model == MessageModel::Broadcasting {
            return Ok(());
        }
        let Some(state) = self.queues.get(queue) else {
            return Ok(());
        };
        if state.consumed < 0 || state.consumed == state.committed {
            return Ok(());
        }
        let (addr, offset) = (state.addr.clone(), state.consumed);
        let header = crate::remoting::header::UpdateConsumerOffsetRequestHeader {
            consumer_group: self.config.group.clone(),
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            commit_offset: offset,
        };
        calls::update_consumer_offset(&self.conns, &addr, header, self.config.request_timeout)
            .await?;
        if let Some(state) = self.queues.get_mut(queue) {
            state.committed = offset;
        }
        Ok(())
    }

    /// Commits, stops the tasks, unregisters from every broker of the topic (best effort) and
    /// closes the connections.
    pub async fn shutdown(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        if let Err(err) = self.commit().await {
            tracing::warn!(error = %err, "final commit failed");
        }
        let held: Vec<MessageQueue> = self.queues.keys().cloned().collect();
        self.unlock_queues(held).await;
        for task in self.tasks.drain(..) {
            task.abort();
        }
        if let Ok(route) = self.namesrv.cached_route(&self.config.topic).await {
            for addr in route
                .broker_datas
                .iter()
                .flat_map(|b| b.broker_addrs.values())
            {
                let result = calls::unregister_client(
                    &self.conns,
                    addr,
                    &self.client_id,
                    None,
                    Some(&self.config.group),
                    self.config.request_timeout,
                )
                .await;
                if let Err(err) = result {
                    tracing::debug!(error = %err, "unregister failed");
                }
            }
        }
        self.conns.close_all().await;
    }

    /// Pulls the assigned queues until messages arrive or `max_wait` passes (see the module
    /// docs). Returns them in queue-offset order per queue.
    pub async fn poll(&mut self, max_wait: Duration) -> Result<Vec<MessageExt>, ClientError> {
        if !self.running {
            return Err(ClientError::NotRunning("consumer not started or shut down"));
        }
        let deadline = Instant::now() + max_wait;
        for _ in 0..MAX_ROUNDS {
            self.housekeeping().await;
            let remaining = deadline.saturating_duration_since(Instant::now());
            let ready = self.ready_queues();
            if ready.is_empty() {
                if remaining.is_zero() {
                    break;
                }
                tokio::time::sleep(remaining.min(Duration::from_millis(100))).await;
                continue;
            }
            let hold = remaining.min(self.config.suspend_timeout);
            let mut messages = self.pull_round(ready, hold).await;
            messages.iter_mut().for_each(restore_retry_topic);
            if !messages.is_empty() || Instant::now() >= deadline {
                return Ok(messages);
            }
        }
        Ok(Vec::new())
    }

    /// Rebalance and commit when due; first offsets of new queues.
    async fn housekeeping(&mut self) {
        let due = self
            .last_rebalance
            .is_none_or(|at| at.elapsed() >= self.config.rebalance_interval);
        let idle = self.queues.is_empty()
            && self
                .last_rebalance
                .is_none_or(|at| at.elapsed() >= Duration::from_secs(1));
        if self.notices_wanted.reset.swap(false, Ordering::SeqCst) {
            self.forget_positions();
        }
        let wanted = self.notices_wanted.rebalance.swap(false, Ordering::SeqCst) || due || idle;
        if wanted && let Err(err) = self.rebalance().await {
            tracing::warn!(error = %err, "rebalance failed");
        }
        if self.last_commit.elapsed() >= self.config.commit_interval
            && let Err(err) = self.commit().await
        {
            tracing::warn!(error = %err, "periodic commit failed");
        }
        self.renew_locks_when_due().await;
        self.look_up_first_offsets().await;
    }

    /// After an operator's offset reset: every queue starts again from its committed offset
    /// (looked up at once), and nothing consumed before the reset is committed over it.
    fn forget_positions(&mut self) {
        for state in self.queues.values_mut() {
            state.next_offset = None;
            state.consumed = -1;
            state.committed = -1;
            state.paused_until = None;
        }
    }

    /// Queues with a known offset, not paused, and (orderly) locked.
    fn ready_queues(&self) -> Vec<MessageQueue> {
        let now = Instant::now();
        self.queues
            .iter()
            .filter(|(q, s)| {
                s.next_offset.is_some()
                    && s.paused_until.is_none_or(|t| t <= now)
                    && self.holds_lock(q, now)
            })
            .map(|(q, _)| q.clone())
            .collect()
    }

    /// One pull per ready queue, all at once; returns when one brings messages or all answered.
    async fn pull_round(&mut self, ready: Vec<MessageQueue>, hold: Duration) -> Vec<MessageExt> {
        let mut pulls = FuturesUnordered::new();
        for queue in ready {
            let Some((addr, request, timeout)) = self.pull_request(&queue, hold) else {
                continue;
            };
            let conns = self.conns.clone();
            pulls.push(async move {
                let result = conns.invoke(&addr, request, timeout).await;
                (queue, result)
            });
        }
        let mut out = Vec::new();
        while let Some((queue, result)) = pulls.next().await {
            self.apply_pull(&queue, result, &mut out).await;
            if !out.is_empty() {
                break;
            }
        }
        out
    }

    /// Pauses `queue` after an error.
    fn pause(&mut self, queue: &MessageQueue, why: &ClientError) {
        tracing::warn!(%queue, error = %why, "pull failed; pausing the queue");
        let until = Instant::now() + self.config.pull_error_delay;
        if let Some(state) = self.queues.get_mut(queue) {
            state.paused_until = Some(until);
        }
        if matches!(why, ClientError::Network { .. }) {
            // The broker may have lost its master role: pull from whatever the fresh route
            // names at the next poll rather than after the 20 s rebalance.
            self.namesrv.mark_stale(&self.config.topic);
            self.notices_wanted.rebalance.store(true, Ordering::SeqCst);
            self.relock_soon = true;
        }
    }

    /// Whether a response code is one of the four a pull answer carries offsets with.
    fn is_pull_status(code: ResponseCode) -> bool {
        matches!(
            code,
            ResponseCode::Success
                | ResponseCode::PullNotFound
                | ResponseCode::PullRetryImmediately
                | ResponseCode::PullOffsetMoved
        )
    }

    const PULL: RequestCode = RequestCode::PullMessage;
}

impl Drop for PullConsumer {
    fn drop(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }
}
