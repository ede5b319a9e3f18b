//! Held pulls wait per queue (as Java's `PullRequestHoldService` does): a pull that found
//! nothing new waits on its queue's [`Notify`], which the store's dispatch wakes when messages
//! land in that queue, so a message in one queue no longer wakes every held pull of every
//! topic. One `Notify` per queue ever waited on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::common::sync::lock;
use crate::store::ArrivalListener;

/// The queues held pulls wait on.
#[derive(Debug, Default)]
pub struct PullWaiters {
    /// topic -> queue id -> its notification.
    queues: Mutex<HashMap<String, HashMap<u32, Arc<Notify>>>>,
}

impl PullWaiters {
    /// The notification of `topic`/`queue_id`, created on first use.
    pub fn queue(&self, topic: &str, queue_id: u32) -> Arc<Notify> {
        lock(&self.queues)
            .entry(topic.to_owned())
            .or_default()
            .entry(queue_id)
            .or_default()
            .clone()
    }
}

impl ArrivalListener for PullWaiters {
    fn arrived(&self, topic: &str, queue_id: u32) {
        // A lookup by &str: nothing allocated when nobody ever waited on the queue.
        let waiting = lock(&self.queues)
            .get(topic)
            .and_then(|queues| queues.get(&queue_id))
            .cloned();
        if let Some(notify) = waiting {
            notify.notify_waiters();
        }
    }
}
