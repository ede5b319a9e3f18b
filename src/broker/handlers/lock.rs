//! LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42): the queue locks orderly consumers hold
//! (remoting.md §5.8).
//!
//! Only the leader answers; a follower replies SERVICE_NOT_AVAILABLE, as for sends, so a
//! client never holds a lock on a node that is not the master. The table
//! ([`QueueLocks`](crate::broker::queue_locks::QueueLocks)) is soft state of the current leader term:
//! it is not replicated, and a failover starts it empty (clients re-lock within their 20 s
//! renewal). Bodies are parsed by [`message::body::lock`](crate::message::body::lock).

use std::time::Instant;

use bytes::Bytes;

use crate::broker::server::{Broker, BrokerError, HandlerResult, lock};
use crate::message::body::lock::{lock_response_body, parse_lock_request};
use crate::raft::Leadership;
use crate::remoting::RemotingCommand;

/// The leader's term, or the follower's refusal.
fn leader_term(broker: &Broker) -> Result<u64, BrokerError> {
    broker.require_leader()?;
    match *broker.node.leadership().borrow() {
        Leadership::Leader { term } => Ok(term),
        // Leadership changed between the two reads: refuse like a follower.
        _ => Err(BrokerError::Unavailable(
            "this broker is no longer the leader of its group".into(),
        )),
    }
}

#[tracing::instrument(skip_all, fields(code = 41))]
pub(crate) fn lock_batch(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let term = leader_term(broker)?;
    let request = parse_lock_request(&req.body).map_err(|e| BrokerError::system(e.to_string()))?;
    let granted = {
        let mut locks = lock(&broker.queue_locks);
        locks.enter_term(term);
        locks.lock(
            &request.group,
            &request.client_id,
            &request.queues,
            Instant::now(),
        )
    };
    if granted.len() < request.queues.len() {
        tracing::debug!(
            group = %request.group, client = %request.client_id,
            asked = request.queues.len(), granted = granted.len(),
            "some queues are locked by another client"
        );
    }
    Ok(req
        .success_response()
        .with_body(Bytes::from(lock_response_body(&granted))))
}

#[tracing::instrument(skip_all, fields(code = 42))]
pub(crate) fn unlock_batch(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let term = leader_term(broker)?;
    let request = parse_lock_request(&req.body).map_err(|e| BrokerError::system(e.to_string()))?;
    let mut locks = lock(&broker.queue_locks);
    locks.enter_term(term);
    locks.unlock(&request.group, &request.client_id, &request.queues);
    Ok(req.success_response())
}
