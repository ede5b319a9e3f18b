//! [`TransactionProducer`]: RocketMQ's transactional messages (remoting.md's SEND_MESSAGE with
//! a half message, END_TRANSACTION, CHECK_TRANSACTION_STATE), as Java's
//! `TransactionMQProducer` does them.
//!
//! [`send_in_transaction`](TransactionProducer::send_in_transaction) sends the message as a
//! *half* message (property `TRAN_MSG=true`, `PGROUP`, SYSFLAG prepared), which no consumer
//! sees; then runs the caller's local transaction and sends its outcome, END_TRANSACTION
//! (oneway), to the master of the group that took the half message. An outcome that is not
//! known yet (or an END_TRANSACTION that is lost) is settled later: the broker's leader asks a
//! live producer of the group with CHECK_TRANSACTION_STATE, and this producer answers with its
//! checker's verdict (END_TRANSACTION with `fromTransactionCheck`). A half message is never
//! delayed; a DELAY level it carries applies once it is committed.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Producer;
use super::config::{ProducerConfig, SendResult, SendStatus};
use crate::client::message::{MessageExt, decode_pull_body};
use crate::client::{ClientError, Message, MessageQueue};
use crate::common::sync::lock;
use crate::message::transaction::{
    TRANSACTION_COMMIT_TYPE, TRANSACTION_NOT_TYPE, TRANSACTION_PREPARED_TYPE,
    TRANSACTION_ROLLBACK_TYPE,
};
use crate::message::{parse_offset_msg_id, property};
use crate::remoting::header::{CheckTransactionStateRequestHeader, EndTransactionRequestHeader};
use crate::remoting::{InboundRequest, RemotingCommand, RequestCode, ResponseCode};

/// A local transaction's state (Java's `LocalTransactionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalTransactionState {
    /// Deliver the message.
    Commit,
    /// Drop the message.
    Rollback,
    /// Not known yet: the broker asks again later.
    Unknown,
}

impl LocalTransactionState {
    /// END_TRANSACTION's `commitOrRollback` for this state.
    fn code(self) -> i32 {
        match self {
            LocalTransactionState::Commit => TRANSACTION_COMMIT_TYPE,
            LocalTransactionState::Rollback => TRANSACTION_ROLLBACK_TYPE,
            LocalTransactionState::Unknown => TRANSACTION_NOT_TYPE,
        }
    }
}

/// Answers the broker's question about a half message (Java's `checkLocalTransaction`). Called
/// on a blocking thread; it may query a database.
type TransactionChecker = dyn Fn(&MessageExt) -> LocalTransactionState + Send + Sync;

/// What [`TransactionProducer::send_in_transaction`] did.
#[derive(Debug, Clone)]
pub struct TransactionSendResult {
    /// The half message's send: `queue_offset` is its offset in the half queue.
    pub send: SendResult,
    /// The outcome sent with END_TRANSACTION.
    pub local_state: LocalTransactionState,
}

/// A producer of transactional messages; see the module docs.
pub struct TransactionProducer {
    producer: Producer,
    checker: Arc<TransactionChecker>,
    inbound: std::sync::Mutex<Option<mpsc::Receiver<InboundRequest>>>,
    listener: std::sync::Mutex<Option<JoinHandle<()>>>,
    /// Masters this producer has heartbeated since it first sent to them.
    introduced: std::sync::Mutex<BTreeSet<String>>,
}

impl std::fmt::Debug for TransactionProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionProducer")
            .field("producer", &self.producer)
            .finish_non_exhaustive()
    }
}

impl TransactionProducer {
    /// A transactional producer of `config.group`, answering checks with `checker`.
    pub fn new(
        config: ProducerConfig,
        checker: impl Fn(&MessageExt) -> LocalTransactionState + Send + Sync + 'static,
    ) -> Result<Self, ClientError> {
        let (sink, inbound) = mpsc::channel(256);
        let producer = Producer::new(config)?;
        *lock(&producer.checks) = Some(sink);
        producer
            .inner
            .heartbeat_every_node
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(TransactionProducer {
            producer,
            checker: Arc::new(checker),
            inbound: std::sync::Mutex::new(Some(inbound)),
            listener: std::sync::Mutex::new(None),
            introduced: std::sync::Mutex::default(),
        })
    }

    /// Starts the heartbeat (which lets brokers send checks here) and the check listener.
    pub fn start(&self) -> Result<(), ClientError> {
        self.producer.start()?;
        if let Some(inbound) = lock(&self.inbound).take() {
            let task = tokio::spawn(answer_checks(
                inbound,
                self.producer.inner.clone(),
                self.checker.clone(),
            ));
            *lock(&self.listener) = Some(task);
        }
        Ok(())
    }

    /// The plain producer underneath (plain sends share its connections and heartbeat).
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// Sends `message` as a half message, runs `local` with the send's result, and ends the
    /// transaction with `local`'s state. A half message the broker did not store is not ended
    /// (it does not exist); a failed send is an error and `local` does not run.
    pub async fn send_in_transaction(
        &self,
        mut message: Message,
        local: impl FnOnce(&SendResult) -> LocalTransactionState,
    ) -> Result<TransactionSendResult, ClientError> {
        let inner = &self.producer.inner;
        message.delay_level = None;
        message
            .properties
            .insert(property::TRAN_MSG.to_string(), "true".to_string());
        message
            .properties
            .insert(property::PGROUP.to_string(), inner.config.group.clone());
        let mut payload = inner.single_payload(&message)?;
        payload.sys_flag = TRANSACTION_PREPARED_TYPE;
        let send = inner.send_with_retries(&message.topic, payload).await?;
        let local_state = if send.status == SendStatus::SendOk {
            local(&send)
        } else {
            LocalTransactionState::Rollback
        };
        let addr = self.master_of(&message.topic, &send.queue).await?;
        // A broker checks only producers it knows from heartbeats: introduce this one to the
        // group at once rather than at the next periodic heartbeat (Java does the same after a
        // route change). Unlike Java's, every node of the group gets the heartbeats, so the
        // node that leads after a failover can check at once.
        if lock(&self.introduced).insert(addr.clone()) {
            inner.heartbeat().await;
        }
        let (_, commitlog_offset) =
            parse_offset_msg_id(&send.offset_msg_id).map_err(|e| ClientError::BadResponse {
                addr: addr.clone(),
                request: RequestCode::SendMessageV2,
                reason: format!("the half message's offset msgId: {e}"),
            })?;
        let header = EndTransactionRequestHeader {
            producer_group: inner.config.group.clone(),
            tran_state_table_offset: send.queue_offset,
            commit_log_offset: commitlog_offset as i64,
            commit_or_rollback: local_state.code(),
            from_transaction_check: Some(false),
            msg_id: send.msg_id.clone(),
            transaction_id: Some(send.msg_id.clone()),
        };
        let end = RemotingCommand::request(
            RequestCode::EndTransaction,
            Default::default(),
            Default::default(),
        )
        .with_header(&header)
        .into_oneway();
        // Oneway, as Java's: if it is lost, the broker's check asks again.
        if let Err(e) = inner
            .conns
            .invoke_oneway(&addr, end, inner.config.send_timeout)
            .await
        {
            tracing::warn!(error = %e, "END_TRANSACTION not sent; the broker will check");
        }
        Ok(TransactionSendResult { send, local_state })
    }

    /// The master address of `queue`'s broker group (where END_TRANSACTION goes).
    async fn master_of(&self, topic: &str, queue: &MessageQueue) -> Result<String, ClientError> {
        let route = self.producer.inner.namesrv.cached_route(topic).await?;
        route
            .broker_datas
            .iter()
            .find(|b| b.broker_name == queue.broker_name)
            .and_then(|b| b.master_addr().map(str::to_owned))
            .ok_or_else(|| ClientError::NoQueue {
                topic: topic.to_owned(),
                reason: format!("broker {} has no master in the route", queue.broker_name),
            })
    }

    /// Stops the check listener and the producer.
    pub async fn shutdown(&self) {
        if let Some(task) = lock(&self.listener).take() {
            task.abort();
        }
        self.producer.shutdown().await;
    }
}

impl Drop for TransactionProducer {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.listener).take() {
            task.abort();
        }
    }
}

/// Answers CHECK_TRANSACTION_STATE (the producer's request server hands over only those) with
/// the checker's verdict; anything else that wants an answer gets REQUEST_CODE_NOT_SUPPORTED.
async fn answer_checks(
    mut inbound: mpsc::Receiver<InboundRequest>,
    inner: Arc<super::Inner>,
    checker: Arc<TransactionChecker>,
) {
    while let Some(request) = inbound.recv().await {
        if request.request.request_code() != RequestCode::CheckTransactionState {
            let reply = request.request.error_response(
                ResponseCode::RequestCodeNotSupported,
                format!(" request type {} not supported", request.request.code),
            );
            let _ = request.respond(reply).await;
            continue;
        }
        let inner = inner.clone();
        let checker = checker.clone();
        tokio::spawn(async move {
            if let Err(why) = answer_check(&request, &inner, checker).await {
                tracing::warn!(
                    broker = request.addr(),
                    why,
                    "transaction check not answered"
                );
            }
        });
    }
}

async fn answer_check(
    request: &InboundRequest,
    inner: &super::Inner,
    checker: Arc<TransactionChecker>,
) -> Result<(), String> {
    let header: CheckTransactionStateRequestHeader =
        request.request.header().map_err(|e| e.to_string())?;
    let queue = MessageQueue {
        topic: String::new(),
        broker_name: String::new(),
        queue_id: 0,
    };
    let (mut messages, error) = decode_pull_body(&request.request.body, &queue, 0, 0);
    let Some(mut message) = messages.pop() else {
        return Err(format!(
            "the check's body is not a message: {}",
            error.unwrap_or_default()
        ));
    };
    message.queue.topic = message.stored.topic.clone();
    message.queue.queue_id = message.stored.queue_id;
    let msg_id = header
        .msg_id
        .clone()
        .unwrap_or_else(|| message.msg_id().to_owned());
    let state = tokio::task::spawn_blocking(move || checker(&message))
        .await
        .map_err(|e| format!("the checker failed: {e}"))?;
    let end = EndTransactionRequestHeader {
        producer_group: inner.config.group.clone(),
        tran_state_table_offset: header.tran_state_table_offset,
        commit_log_offset: header.commit_log_offset,
        commit_or_rollback: state.code(),
        from_transaction_check: Some(true),
        transaction_id: header.transaction_id.clone().or(Some(msg_id.clone())),
        msg_id,
    };
    let command = RemotingCommand::request(
        RequestCode::EndTransaction,
        Default::default(),
        Default::default(),
    )
    .with_header(&end)
    .into_oneway();
    inner
        .conns
        .invoke_oneway(request.addr(), command, inner.config.send_timeout)
        .await
        .map_err(|e| e.to_string())
}
