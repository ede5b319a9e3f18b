//! [`Producer::request`]: RocketMQ 4.9's request-reply on the requester's side. The request
//! is an ordinary send carrying `CORRELATION_ID`, `REPLY_TO_CLIENT` and `TTL`
//! ([`reply::request_properties`]); a replier answers it with a reply message
//! ([`create_reply_message`](crate::client::create_reply_message)), and the broker that takes
//! the reply pushes it to this producer on the connection it heartbeats on
//! (PUSH_REPLY_MESSAGE_TO_CLIENT, answered here by [`serve_pushes`]).
//!
//! The broker finds the requester by client id among the producers that heartbeat it, so the
//! producer registers (HEART_BEAT) with the masters of the request topic and of the reply
//! topic before sending, and again every [`REREGISTER_EVERY`] while a request waits: after a
//! failover the new master learns of the requester within about a second, rather than at the
//! next 30 s heartbeat. Every wait is bounded by the request's timeout; a reply that arrives
//! after it is dropped with a log line.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::{Inner, Producer};
use crate::client::message::now_ms;
use crate::client::reply::{self, new_correlation_id, reply_from_push};
use crate::client::{ClientError, Message, MessageExt};
use crate::common::sync::lock;
use crate::message::names::reply_topic_name;
use crate::message::property;
use crate::remoting::{InboundRequest, RemotingCommand, RequestCode, ResponseCode};

/// How often a waiting request re-registers with the current masters.
const REREGISTER_EVERY: Duration = Duration::from_secs(1);
/// A master registered with more recently than this is not registered again before a request.
const REGISTERED_FOR: Duration = Duration::from_secs(20);

/// The requests waiting for their reply, by correlation id.
#[derive(Debug, Default)]
pub(super) struct ReplyWaiters {
    waiting: Mutex<HashMap<String, oneshot::Sender<MessageExt>>>,
}

impl ReplyWaiters {
    fn register(&self, correlation_id: &str) -> oneshot::Receiver<MessageExt> {
        let (tx, rx) = oneshot::channel();
        lock(&self.waiting).insert(correlation_id.to_owned(), tx);
        rx
    }

    fn forget(&self, correlation_id: &str) {
        lock(&self.waiting).remove(correlation_id);
    }

    /// Hands `reply` to the request it answers; false when none waits for it (timed out, or
    /// not ours).
    fn complete(&self, reply: MessageExt) -> bool {
        let Some(id) = reply.property(property::CORRELATION_ID) else {
            return false;
        };
        let waiter = lock(&self.waiting).remove(id);
        waiter.is_some_and(|tx| tx.send(reply).is_ok())
    }
}

/// Answers the requests brokers send on this producer's connections: a pushed reply is handed
/// to its waiting request and acknowledged (SUCCESS even when nobody waits any more, as Java's
/// client does); CHECK_TRANSACTION_STATE goes to `checks` (a transactional producer's
/// listener) when there is one; other codes get REQUEST_CODE_NOT_SUPPORTED. Ends when the
/// producer is gone.
pub(super) async fn serve_pushes(
    waiters: Arc<ReplyWaiters>,
    mut pushes: mpsc::Receiver<InboundRequest>,
    checks: Option<mpsc::Sender<InboundRequest>>,
) {
    while let Some(inbound) = pushes.recv().await {
        if let Some(checks) = &checks
            && inbound.request.request_code() == RequestCode::CheckTransactionState
        {
            if checks.send(inbound).await.is_err() {
                tracing::debug!("the transaction check listener is gone");
            }
            continue;
        }
        let request = &inbound.request;
        let answer = if request.request_code() == RequestCode::PushReplyMessageToClient {
            match reply_from_push(request, now_ms()) {
                Ok(reply) => {
                    let id = reply.property(property::CORRELATION_ID).map(str::to_owned);
                    if !waiters.complete(reply) {
                        tracing::warn!(correlation_id = ?id, "a reply matched no waiting request");
                    }
                    RemotingCommand::response_to(request, ResponseCode::Success, None)
                }
                Err(e) => RemotingCommand::response_to(
                    request,
                    ResponseCode::SystemError,
                    Some(format!("process reply message fail: {e}")),
                ),
            }
        } else {
            RemotingCommand::response_to(
                request,
                ResponseCode::RequestCodeNotSupported,
                Some(format!(
                    "request type {} not supported by this producer",
                    request.code
                )),
            )
        };
        if let Err(e) = inbound.respond(answer).await {
            tracing::debug!(error = %e, "could not answer a broker's request");
        }
    }
}

/// Forgets a waiting request however its wait ends.
struct Waiting<'a> {
    waiters: &'a ReplyWaiters,
    correlation_id: String,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.waiters.forget(&self.correlation_id);
    }
}

impl Producer {
    /// Sends `message` as a request and waits for its reply, at most `timeout` in all (send
    /// included). Fails with [`ClientError::RequestTimeout`] when the request was sent but no
    /// reply came in time, or with the send's error when it could not be sent.
    pub async fn request(
        &self,
        mut message: Message,
        timeout: Duration,
    ) -> Result<MessageExt, ClientError> {
        let deadline = Instant::now() + timeout;
        let inner = &self.inner;
        let correlation_id = new_correlation_id();
        reply::request_properties(&mut message, &correlation_id, &inner.client_id, timeout);
        let topic = message.topic.clone();
        let payload = inner.single_payload(&message)?;
        let reply = inner.replies.register(&correlation_id);
        let _waiting = Waiting {
            waiters: &inner.replies,
            correlation_id,
        };
        let send = async {
            inner.register_for_replies(&topic, REGISTERED_FOR).await;
            inner.send_with_retries(&topic, payload).await
        };
        match tokio::time::timeout_at(deadline, send).await {
            Ok(Ok(_sent)) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(ClientError::RequestTimeout { topic, timeout }),
        }
        let reregister = async {
            loop {
                tokio::time::sleep(REREGISTER_EVERY).await;
                inner.namesrv.mark_stale(&topic);
                inner.register_for_replies(&topic, REREGISTER_EVERY).await;
            }
        };
        tokio::select! {
            got = tokio::time::timeout_at(deadline, reply) => match got {
                Ok(Ok(reply)) => Ok(reply),
                Ok(Err(_)) | Err(_) => Err(ClientError::RequestTimeout { topic, timeout }),
            },
            () = reregister => Err(ClientError::RequestTimeout { topic, timeout }),
        }
    }
}

impl Inner {
    /// HEART_BEATs the masters a reply to a request on `topic` may reach (the topic's and
    /// those of its clusters' reply topics) unless they heard from this producer within
    /// `max_age`. Failures are only logged: the request may still get its reply elsewhere.
    async fn register_for_replies(&self, topic: &str, max_age: Duration) {
        let mut addrs = BTreeSet::new();
        let mut clusters = BTreeSet::new();
        if let Ok(route) = self.namesrv.cached_route(topic).await {
            for broker in &route.broker_datas {
                clusters.insert(broker.cluster.clone());
                addrs.extend(broker.master_addr().map(str::to_owned));
            }
        }
        for cluster in clusters {
            if let Ok(route) = self.namesrv.cached_route(&reply_topic_name(&cluster)).await {
                addrs.extend(
                    route
                        .broker_datas
                        .iter()
                        .filter_map(|b| b.master_addr().map(str::to_owned)),
                );
            }
        }
        let now = Instant::now();
        let due: Vec<String> = {
            let mut registered = lock(&self.registered);
            addrs
                .into_iter()
                .filter(|addr| {
                    let fresh = registered
                        .get(addr)
                        .is_some_and(|at| now.duration_since(*at) < max_age);
                    if !fresh {
                        registered.insert(addr.clone(), now);
                    }
                    !fresh
                })
                .collect()
        };
        for addr in due {
            if let Err(e) = self.heartbeat_to(&addr).await {
                tracing::debug!(%addr, error = %e, "registering for replies failed");
                lock(&self.registered).remove(&addr);
            }
        }
    }
}
