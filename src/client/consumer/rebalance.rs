//! The membership half of [`PullConsumer`]: heartbeats to every broker of the topic
//! (remoting.md §5.1), the group's members (§5.3), "averagely" allocation (§9.4), and the
//! listener that turns NOTIFY_CONSUMER_IDS_CHANGED (§5.9) into a rebalance at the next poll.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{MessageModel, PullConsumer, QueueState};
use crate::client::connections::Connections;
use crate::client::{ClientError, MessageQueue, calls};
use crate::message::PERM_READ;
use crate::message::body::TopicRouteData;
use crate::remoting::{RequestCode, ResponseCode};

impl PullConsumer {
    /// Allocates queues again: the route's readable queues, the group's members, "averagely".
    /// Queues given up are committed first; new ones start at their committed offset.
    pub async fn rebalance(&mut self) -> Result<(), ClientError> {
        self.last_rebalance = Some(Instant::now());
        let topic = self.config.topic.clone();
        let route = self.namesrv.cached_route(&topic).await?;
        let readable = read_queues(&topic, &route);
        let all: Vec<MessageQueue> = readable.keys().cloned().collect();
        let mine = match self.config.message_model {
            MessageModel::Broadcasting => all,
            MessageModel::Clustering => {
                let ids = self.members(&route).await?;
                self.config.allocate.allocate(&all, &ids, &self.client_id)
            }
        };
        let dropped: Vec<MessageQueue> = self
            .queues
            .keys()
            .filter(|q| !mine.contains(q))
            .cloned()
            .collect();
        for queue in &dropped {
            if let Err(err) = self.commit_queue(queue).await {
                tracing::warn!(%queue, error = %err, "commit of a queue given up failed");
            }
        }
        // Orderly: released only once committed, so the next owner starts where this one stopped.
        self.unlock_queues(dropped.clone()).await;
        for queue in &dropped {
            self.queues.remove(queue);
        }
        for queue in mine {
            let Some(addr) = readable.get(&queue) else {
                continue;
            };
            let state = self.queues.entry(queue).or_insert_with(|| QueueState {
                addr: addr.clone(),
                next_offset: None,
                consumed: -1,
                committed: -1,
                paused_until: None,
                locked_until: None,
            });
            state.addr = addr.clone();
        }
        tracing::info!(topic, group = %self.config.group, queues = self.queues.len(), "rebalanced");
        Ok(())
    }

    /// The group's member ids from the first broker of the route that answers.
    async fn members(&self, route: &TopicRouteData) -> Result<Vec<String>, ClientError> {
        let mut last = None;
        for addr in route
            .broker_datas
            .iter()
            .flat_map(|b| b.broker_addrs.values())
        {
            let timeout = self.config.request_timeout;
            match calls::consumer_list(&self.conns, addr, &self.config.group, timeout).await {
                Ok(ids) => return Ok(ids),
                Err(err) => last = Some(err),
            }
        }
        Err(last.unwrap_or_else(|| ClientError::NoQueue {
            topic: self.config.topic.clone(),
            reason: "the route lists no broker address".into(),
        }))
    }
}

/// Readable queues of `route` with the address to pull from: the master, else the lowest id.
pub(super) fn read_queues(topic: &str, route: &TopicRouteData) -> BTreeMap<MessageQueue, String> {
    let mut out = BTreeMap::new();
    for qd in route.queue_datas.iter().filter(|q| q.perm & PERM_READ != 0) {
        let addr = route
            .broker_datas
            .iter()
            .find(|b| b.broker_name == qd.broker_name)
            .and_then(|b| {
                b.master_addr()
                    .or_else(|| b.broker_addrs.values().next().map(String::as_str))
            });
        let Some(addr) = addr else { continue };
        for queue_id in 0..qd.read_queue_nums.max(0) {
            let queue = MessageQueue {
                topic: topic.to_owned(),
                broker_name: qd.broker_name.clone(),
                queue_id,
            };
            out.insert(queue, addr.to_owned());
        }
    }
    out
}

/// HEART_BEAT to every address of every broker of the route; fails only if none took it.
pub(super) async fn heartbeat_all(
    conns: &Connections,
    route: &TopicRouteData,
    body: &[u8],
    timeout: Duration,
) -> Result<(), ClientError> {
    let mut last = None;
    let mut any = false;
    for addr in route
        .broker_datas
        .iter()
        .flat_map(|b| b.broker_addrs.values())
    {
        match calls::heartbeat(conns, addr, body.to_vec(), timeout).await {
            Ok(()) => any = true,
            Err(err) => last = Some(err),
        }
    }
    match (any, last) {
        (false, Some(err)) => Err(err),
        _ => Ok(()),
    }
}

/// What broker → client notices ask of the consumer at its next poll.
#[derive(Debug, Clone, Default)]
pub(super) struct Notices {
    /// NOTIFY_CONSUMER_IDS_CHANGED: rebalance.
    pub(super) rebalance: Arc<AtomicBool>,
    /// RESET_CONSUMER_CLIENT_OFFSET: forget every position and read the (reset) committed
    /// offsets again.
    pub(super) reset: Arc<AtomicBool>,
}

/// Reads broker → client requests: NOTIFY_CONSUMER_IDS_CHANGED for our group asks for a
/// rebalance, RESET_CONSUMER_CLIENT_OFFSET for our group and topic for a re-read of the
/// committed offsets; requests that want an answer get REQUEST_CODE_NOT_SUPPORTED.
pub(super) fn spawn_notice_listener(
    mut inbound_requests: mpsc::Receiver<crate::remoting::InboundRequest>,
    notices: Notices,
    group: String,
    topic: String,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(inbound) = inbound_requests.recv().await {
            let request = &inbound.request;
            let field_is =
                |key: &str, want: &str| request.ext_fields.get(key).is_none_or(|v| v == want);
            let flag = match request.request_code() {
                RequestCode::NotifyConsumerIdsChanged => {
                    field_is("consumerGroup", &group).then_some(&notices.rebalance)
                }
                RequestCode::ResetConsumerClientOffset => (field_is("group", &group)
                    && field_is("topic", &topic))
                .then_some(&notices.reset),
                _ => None,
            };
            if let Some(flag) = flag {
                tracing::info!(
                    group,
                    code = request.code,
                    "broker notice; acting at the next poll"
                );
                flag.store(true, Ordering::SeqCst);
                let ok = request.success_response();
                let _ = inbound.respond(ok).await;
                continue;
            }
            let reply = request.error_response(
                ResponseCode::RequestCodeNotSupported,
                format!(" request type {} not supported", request.code),
            );
            let _ = inbound.respond(reply).await;
        }
    })
}
