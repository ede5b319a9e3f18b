//! LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42) as one typed call each (remoting.md §5.8):
//! the request body `{"clientId":..,"consumerGroup":..,"mqSet":[MessageQueue..]}` and the lock
//! reply `{"lockOKMQSet":[..]}`, read leniently. Neither retries; the orderly consumer
//! ([`orderly`](super::orderly)) decides what a failure means.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::client::calls::call;
use crate::client::connections::Connections;
use crate::client::namesrv::request;
use crate::client::{ClientError, MessageQueue, bad_response};
use crate::remoting::RequestCode;

/// MessageQueue with Java's member names, alphabetical.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireQueue {
    #[serde(default)]
    broker_name: String,
    #[serde(default)]
    queue_id: i32,
    #[serde(default)]
    topic: String,
}

impl From<&MessageQueue> for WireQueue {
    fn from(q: &MessageQueue) -> WireQueue {
        WireQueue {
            broker_name: q.broker_name.clone(),
            queue_id: q.queue_id,
            topic: q.topic.clone(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LockBatchBody<'a> {
    client_id: &'a str,
    consumer_group: &'a str,
    mq_set: Vec<WireQueue>,
}

#[derive(Deserialize, Default)]
struct LockBatchReply {
    #[serde(rename = "lockOKMQSet", default)]
    lock_ok_mq_set: Vec<WireQueue>,
}

fn body(group: &str, client_id: &str, queues: &BTreeSet<MessageQueue>) -> Vec<u8> {
    let body = LockBatchBody {
        client_id,
        consumer_group: group,
        mq_set: queues.iter().map(WireQueue::from).collect(),
    };
    // Strings and integers only: serde_json cannot fail on them.
    serde_json::to_vec(&body).unwrap_or_default()
}

/// LOCK_BATCH_MQ: the subset of `queues` the broker at `addr` now lets `client_id` hold.
pub(super) async fn lock_batch(
    conns: &Connections,
    addr: &str,
    group: &str,
    client_id: &str,
    queues: &BTreeSet<MessageQueue>,
    timeout: Duration,
) -> Result<BTreeSet<MessageQueue>, ClientError> {
    let code = RequestCode::LockBatchMq;
    let req = request(code).with_body(body(group, client_id, queues));
    let response = call(conns, addr, req, timeout).await?;
    let reply: LockBatchReply = if response.body.is_empty() {
        LockBatchReply::default()
    } else {
        crate::message::body::decode_lenient(&response.body)
            .map_err(|err| bad_response(addr, code, err))?
    };
    Ok(reply
        .lock_ok_mq_set
        .into_iter()
        .map(|q| MessageQueue {
            topic: q.topic,
            broker_name: q.broker_name,
            queue_id: q.queue_id,
        })
        // Only what was asked for counts, whatever the broker says.
        .filter(|q| queues.contains(q))
        .collect())
}

/// UNLOCK_BATCH_MQ: releases those of `queues` that `client_id` holds on the broker at `addr`.
pub(super) async fn unlock_batch(
    conns: &Connections,
    addr: &str,
    group: &str,
    client_id: &str,
    queues: &BTreeSet<MessageQueue>,
    timeout: Duration,
) -> Result<(), ClientError> {
    let req = request(RequestCode::UnlockBatchMq).with_body(body(group, client_id, queues));
    call(conns, addr, req, timeout).await.map(drop)
}
