//! [`Producer`]: sends messages to a topic's queues (remoting.md §4).
//!
//! Queues come from the topic's route (§3.5): for every QueueData with the write bit whose
//! broker group has a master (id 0), queues `0..writeQueueNums`, sorted by broker name. A plain
//! send takes the next queue round-robin; when an attempt fails with no answer or with a code
//! Java retries (§2.1, plus SYSTEM_BUSY), the route is marked stale and the next attempt takes
//! the next queue of *another* broker if there is one. `retries` (2) bounds the extra attempts;
//! each attempt waits at most `send_timeout` (3 s). A failed attempt usually means a master
//! change in progress (a failover or a graceful handover): for a moment the route names no
//! master, or still the old one. So a retry first polls the nameserver, until `send_timeout`
//! from the start of the send, for a master other than the one that failed; Java's producer
//! retries at once, which is why its users see errors in a rolling restart. Sends to a chosen queue, by sharding key
//! and oneway make one attempt, as Java's do.
//!
//! Requests are SEND_MESSAGE_V2 (310) with JSON headers, or SEND_MESSAGE (10) when
//! `use_v2_header` is off, and SEND_BATCH_MESSAGE (320) for batches; a reply message
//! (`MSG_TYPE=reply`, from [`create_reply_message`](super::create_reply_message)) goes as
//! SEND_REPLY_MESSAGE_V2 (325) / SEND_REPLY_MESSAGE (324). [`Producer::request`] sends a
//! request and waits for its reply (`producer/request.rs`). The producer never compresses
//! bodies and does not fall back to `TBW102` routes: topics must exist. With
//! `msg_trace_topic` set, each successful send also writes a `Pub` trace record
//! (`producer/trace.rs`).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

mod config;
mod payload;
mod request;
mod trace;
mod transaction;
pub use config::{ProducerConfig, SendResult, SendStatus, queue_for_key};
use config::{Target, orderly_target, publish_targets};
use payload::Payload;
use request::{ReplyWaiters, serve_pushes};
pub use transaction::{LocalTransactionState, TransactionProducer, TransactionSendResult};

use super::calls::{self, HeartbeatData, ProducerData};
use super::connections::Connections;
use super::message::now_ms;
use super::namesrv::request;
use super::{ClientError, Message, MessageQueue, NameServerClient};
use super::{bad_response, broker_error, new_client_id};
use crate::common::sync::lock;
use crate::remoting::header::{
    SendMessageRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader,
};
use crate::remoting::{InboundRequest, RemotingCommand, RequestCode, ResponseCode};

/// Broker requests (pushed replies) waiting to be answered.
const PUSH_QUEUE: usize = 64;

/// How often a retry polls the nameserver while the route names no master.
const MASTER_CHANGE_POLL: Duration = Duration::from_millis(100);

#[derive(Debug)]
struct Inner {
    config: ProducerConfig,
    namesrv: NameServerClient,
    conns: Connections,
    client_id: String,
    next_queue: AtomicUsize,
    running: AtomicBool,
    topics: Mutex<BTreeSet<String>>,
    /// Heartbeat every node of each group, not only its master: a transactional producer must
    /// be known to whichever node leads next, which checks its half messages.
    heartbeat_every_node: AtomicBool,
    /// Requests waiting for their reply.
    replies: Arc<ReplyWaiters>,
    /// When each master last took a heartbeat made for a request (`producer/request.rs`).
    registered: Mutex<HashMap<String, Instant>>,
}

/// A producer. Cheap to share behind an `Arc`; every method takes `&self`.
#[derive(Debug)]
pub struct Producer {
    inner: Arc<Inner>,
    heartbeat: Mutex<Option<JoinHandle<()>>>,
    /// Requests brokers send on our connections, until [`Self::start`] serves them.
    pushes: Mutex<Option<mpsc::Receiver<InboundRequest>>>,
    push_task: Mutex<Option<JoinHandle<()>>>,
    /// Where CHECK_TRANSACTION_STATE requests go (a [`TransactionProducer`]'s listener); none
    /// for a plain producer, which answers them REQUEST_CODE_NOT_SUPPORTED.
    checks: Mutex<Option<mpsc::Sender<InboundRequest>>>,
}

impl Producer {
    /// A producer with `config`; nothing is sent before [`Self::start`].
    pub fn new(config: ProducerConfig) -> Result<Self, ClientError> {
        if config.group.is_empty() {
            return Err(ClientError::InvalidConfig("empty producer group".into()));
        }
        let namesrv =
            NameServerClient::with_timeout(config.namesrv_addrs.clone(), config.send_timeout)?;
        let client_id = new_client_id(config.instance_name.as_deref());
        let (push_tx, pushes) = mpsc::channel(PUSH_QUEUE);
        let conns =
            Connections::with_server_requests(push_tx).signed_by(config.credentials.clone());
        Ok(Producer {
            inner: Arc::new(Inner {
                config,
                namesrv,
                conns,
                client_id,
                next_queue: AtomicUsize::new(0),
                running: AtomicBool::new(false),
                topics: Mutex::default(),
                heartbeat_every_node: AtomicBool::new(false),
                replies: Arc::default(),
                registered: Mutex::default(),
            }),
            heartbeat: Mutex::new(None),
            pushes: Mutex::new(Some(pushes)),
            push_task: Mutex::new(None),
            checks: Mutex::new(None),
        })
    }

    /// Starts the heartbeat task and the task answering brokers' requests (pushed replies).
    /// Must run inside a tokio runtime.
    pub fn start(&self) -> Result<(), ClientError> {
        if self.inner.running.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let inner = self.inner.clone();
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(inner.config.heartbeat_interval);
            loop {
                ticks.tick().await;
                inner.heartbeat().await;
            }
        });
        *lock(&self.heartbeat) = Some(task);
        if let Some(pushes) = lock(&self.pushes).take() {
            let checks = lock(&self.checks).clone();
            let task = tokio::spawn(serve_pushes(self.inner.replies.clone(), pushes, checks));
            *lock(&self.push_task) = Some(task);
        }
        Ok(())
    }

    /// The client id sent in heartbeats.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// The nameserver client (routes, cluster info).
    pub fn namesrv(&self) -> &NameServerClient {
        &self.inner.namesrv
    }

    /// Sends `message` to the next queue, retrying on another broker (see the module docs).
    pub async fn send(&self, message: Message) -> Result<SendResult, ClientError> {
        let payload = self.inner.single_payload(&message)?;
        let started = now_ms();
        let sent = self
            .inner
            .send_with_retries(&message.topic, payload)
            .await?;
        trace::trace_send(&self.inner, &message, &sent, started);
        Ok(sent)
    }

    /// Sends `messages` (one topic, no delay levels) as one SEND_BATCH_MESSAGE; they land on
    /// one queue at consecutive offsets.
    pub async fn send_batch(&self, messages: Vec<Message>) -> Result<SendResult, ClientError> {
        let payload = self.inner.batch_payload(&messages)?;
        let topic = messages
            .first()
            .map(|m| m.topic.clone())
            .unwrap_or_default();
        self.inner.send_with_retries(&topic, payload).await
    }

    /// Sends `message` to `queue`, once.
    pub async fn send_to_queue(
        &self,
        message: Message,
        queue: &MessageQueue,
    ) -> Result<SendResult, ClientError> {
        let payload = self.inner.single_payload(&message)?;
        let targets = self.inner.targets(&message.topic).await?;
        let target = targets
            .into_iter()
            .find(|t| &t.queue == queue)
            .ok_or_else(|| ClientError::NoQueue {
                topic: message.topic.clone(),
                reason: format!("{queue} is not a writable queue of a master"),
            })?;
        let started = now_ms();
        let sent = self.inner.send_once(&target, &payload).await?;
        trace::trace_send(&self.inner, &message, &sent, started);
        Ok(sent)
    }

    /// Sends `message` to the queue `sharding_key` maps to ([`queue_for_key`] over every
    /// writable queue of the route, so a key keeps its queue across a master change), once:
    /// messages with one key keep their order. Fails while that queue's broker has no master;
    /// the caller decides whether to send again.
    pub async fn send_orderly(
        &self,
        message: Message,
        sharding_key: &str,
    ) -> Result<SendResult, ClientError> {
        let payload = self.inner.single_payload(&message)?;
        let topic = &message.topic;
        let route = self.inner.namesrv.cached_route(topic).await?;
        lock(&self.inner.topics).insert(topic.clone());
        let target = orderly_target(topic, &route, sharding_key).inspect_err(|_| {
            self.inner.namesrv.mark_stale(topic);
        })?;
        let started = now_ms();
        let result = self.inner.send_once(&target, &payload).await;
        match &result {
            Ok(sent) => trace::trace_send(&self.inner, &message, sent, started),
            Err(ClientError::Network { .. }) => self.inner.namesrv.mark_stale(topic),
            Err(_) => {}
        }
        result
    }

    /// Sends `message` to the next queue without waiting for the broker's answer.
    pub async fn send_oneway(&self, message: Message) -> Result<(), ClientError> {
        let payload = self.inner.single_payload(&message)?;
        let targets = self.inner.targets(&message.topic).await?;
        let target = self.inner.select(&targets, None);
        let request = self.inner.request(target, &payload);
        self.inner
            .conns
            .invoke_oneway(&target.addr, request, self.inner.config.send_timeout)
            .await
    }

    /// Stops the heartbeat, unregisters the group from the masters it sent to (best effort)
    /// and closes the connections.
    pub async fn shutdown(&self) {
        if !self.inner.running.swap(false, Ordering::SeqCst) {
            return;
        }
        if let Some(task) = lock(&self.heartbeat).take() {
            task.abort();
        }
        if let Some(task) = lock(&self.push_task).take() {
            task.abort();
        }
        let inner = &self.inner;
        for addr in inner.master_addrs().await {
            let result = calls::unregister_client(
                &inner.conns,
                &addr,
                &inner.client_id,
                Some(&inner.config.group),
                None,
                inner.config.send_timeout,
            )
            .await;
            if let Err(err) = result {
                tracing::debug!(error = %err, "unregister failed");
            }
        }
        inner.conns.close_all().await;
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        for task in [&self.heartbeat, &self.push_task] {
            if let Some(task) = lock(task).take() {
                task.abort();
            }
        }
    }
}

impl Inner {
    fn check_running(&self) -> Result<(), ClientError> {
        if self.running.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(ClientError::NotRunning("producer not started or shut down"))
        }
    }

    /// The writable queues of the topic's masters, sorted by broker name then queue id.
    async fn targets(&self, topic: &str) -> Result<Vec<Target>, ClientError> {
        let route = self.namesrv.cached_route(topic).await?;
        lock(&self.topics).insert(topic.to_owned());
        let targets = publish_targets(topic, &route);
        if targets.is_empty() {
            self.namesrv.mark_stale(topic);
            return Err(ClientError::NoQueue {
                topic: topic.to_owned(),
                reason: "no writable queue on a broker with a master".into(),
            });
        }
        Ok(targets)
    }

    /// The targets for a retry after an attempt to `failed_addr` failed. That often means the
    /// group's master is changing hands: the route may name no master for a moment, or still
    /// name the old one. Rather than spend the remaining attempts on such a route, poll the
    /// nameserver every [`MASTER_CHANGE_POLL`] until it names a writable master other than
    /// `failed_addr` or `deadline` passes; then take what the route says.
    async fn targets_after_failure(
        &self,
        topic: &str,
        failed_addr: &str,
        deadline: Instant,
    ) -> Result<Vec<Target>, ClientError> {
        loop {
            let found = self.targets(topic).await;
            let changed = match &found {
                Ok(targets) => targets.iter().any(|t| t.addr != failed_addr),
                Err(ClientError::NoQueue { .. }) => false,
                Err(_) => true,
            };
            if changed || Instant::now() + MASTER_CHANGE_POLL >= deadline {
                return found;
            }
            self.namesrv.mark_stale(topic);
            tokio::time::sleep(MASTER_CHANGE_POLL).await;
        }
    }

    /// The next queue round-robin, skipping queues of `avoid_broker` while others exist.
    fn select<'t>(&self, targets: &'t [Target], avoid_broker: Option<&str>) -> &'t Target {
        let start = self.next_queue.fetch_add(1, Ordering::Relaxed);
        (0..targets.len())
            .map(|i| &targets[(start + i) % targets.len()])
            .find(|t| Some(t.queue.broker_name.as_str()) != avoid_broker)
            .unwrap_or(&targets[start % targets.len()])
    }

    async fn send_with_retries(
        &self,
        topic: &str,
        payload: Payload,
    ) -> Result<SendResult, ClientError> {
        let attempts = self.config.retries + 1;
        let deadline = Instant::now() + self.config.send_timeout;
        let mut failed_broker: Option<String> = None;
        let mut failed_addr = String::new();
        let mut last = None;
        for attempt in 1..=attempts {
            let found = if last.is_none() {
                self.targets(topic).await
            } else {
                self.targets_after_failure(topic, &failed_addr, deadline)
                    .await
            };
            let targets = match found {
                Ok(targets) => targets,
                Err(err) if last.is_none() => return Err(err),
                Err(err) => {
                    last = Some(err);
                    break;
                }
            };
            let target = self.select(&targets, failed_broker.as_deref());
            match self.send_once(target, &payload).await {
                Ok(result) => return Ok(SendResult { attempt, ..result }),
                Err(err) if err.is_retriable_send() => {
                    tracing::warn!(topic, attempt, queue = %target.queue, error = %err, "send failed");
                    self.namesrv.mark_stale(topic);
                    failed_broker = Some(target.queue.broker_name.clone());
                    failed_addr.clone_from(&target.addr);
                    last = Some(err);
                }
                Err(err) => return Err(err),
            }
        }
        let last = last.unwrap_or(ClientError::NotRunning("no send attempt was made"));
        if attempts == 1 {
            return Err(last);
        }
        Err(ClientError::RetriesExhausted {
            topic: topic.to_owned(),
            attempts,
            last: Box::new(last),
        })
    }

    fn request(&self, target: &Target, payload: &Payload) -> RemotingCommand {
        let header = SendMessageRequestHeader {
            producer_group: self.config.group.clone(),
            topic: target.queue.topic.clone(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: self.config.default_topic_queue_nums,
            queue_id: target.queue.queue_id,
            sys_flag: payload.sys_flag,
            born_timestamp: now_ms(),
            flag: payload.flag,
            properties: Some(payload.properties.clone()),
            reconsume_times: Some(0),
            unit_mode: Some(false),
            max_reconsume_times: None,
            batch: Some(payload.batch),
            bname: Some(target.queue.broker_name.clone()),
        };
        let request = request(payload.code).with_body(payload.body.clone());
        match payload.code {
            RequestCode::SendMessage => request.with_header(&header),
            _ => request.with_header(&SendMessageRequestHeaderV2(header)),
        }
    }

    /// One attempt: the request, its response code and header.
    async fn send_once(
        &self,
        target: &Target,
        payload: &Payload,
    ) -> Result<SendResult, ClientError> {
        let request = self.request(target, payload);
        let addr = &target.addr;
        let response = self
            .conns
            .invoke(addr, request, self.config.send_timeout)
            .await?;
        let status = match response.response_code() {
            ResponseCode::Success => SendStatus::SendOk,
            ResponseCode::FlushDiskTimeout => SendStatus::FlushDiskTimeout,
            ResponseCode::FlushSlaveTimeout => SendStatus::FlushSlaveTimeout,
            ResponseCode::SlaveNotAvailable => SendStatus::SlaveNotAvailable,
            _ => return Err(broker_error(addr, payload.code, &response)),
        };
        let header: SendMessageResponseHeader = response
            .header()
            .map_err(|err| bad_response(addr, payload.code, err))?;
        Ok(SendResult {
            status,
            msg_id: payload.msg_id.clone(),
            offset_msg_id: header.msg_id,
            queue: MessageQueue {
                queue_id: header.queue_id,
                ..target.queue.clone()
            },
            queue_offset: header.queue_offset,
            attempt: 1,
            raft_term: header.raft_term.and_then(|t| u64::try_from(t).ok()),
        })
    }

    /// Masters of the topics sent to so far.
    async fn master_addrs(&self) -> BTreeSet<String> {
        self.broker_addrs(false).await
    }

    /// Masters (or, with `every_node`, all nodes) of the groups of the topics sent to so far.
    async fn broker_addrs(&self, every_node: bool) -> BTreeSet<String> {
        let topics: Vec<String> = lock(&self.topics).iter().cloned().collect();
        let mut addrs = BTreeSet::new();
        for topic in topics {
            if let Ok(route) = self.namesrv.cached_route(&topic).await {
                for group in &route.broker_datas {
                    if every_node {
                        addrs.extend(group.broker_addrs.values().cloned());
                    } else {
                        addrs.extend(group.master_addr().map(str::to_owned));
                    }
                }
            }
        }
        addrs
    }

    async fn heartbeat(&self) {
        let every_node = self.heartbeat_every_node.load(Ordering::Relaxed);
        for addr in self.broker_addrs(every_node).await {
            if let Err(err) = self.heartbeat_to(&addr).await {
                tracing::debug!(error = %err, "producer heartbeat failed");
            }
        }
    }

    /// One HEART_BEAT naming this producer's group to `addr`.
    async fn heartbeat_to(&self, addr: &str) -> Result<(), ClientError> {
        let body = HeartbeatData {
            client_id: self.client_id.clone(),
            producers: vec![ProducerData {
                group_name: self.config.group.clone(),
            }],
            consumers: Vec::new(),
        }
        .encode();
        calls::heartbeat(&self.conns, addr, body, self.config.send_timeout).await
    }
}
