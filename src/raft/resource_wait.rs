//! Waiting out an exhausted resource (a full disk, no file descriptor left) instead of failing.
//!
//! Raft must never skip an entry on one node for a reason local to it, and openraft stops its
//! core on any storage error. So when appending or applying meets
//! [`StoreError::is_resource_exhausted`], the caller retries the same work after a pause that
//! grows from 100 ms to 2 s, marks the store blocked (the node reports itself unhealthy), says
//! why at most every 10 s, and carries on by itself once the resource is back: no restart.
//! Everything else is still an error for the caller.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::store::{MessageStore, StoreError};

const FIRST_PAUSE: Duration = Duration::from_millis(100);
const LONGEST_PAUSE: Duration = Duration::from_secs(2);
const SAY_EVERY: Duration = Duration::from_secs(10);

/// One piece of work's wait for a resource; see the module docs.
pub(crate) struct ResourceWait<'a> {
    store: &'a Arc<MessageStore>,
    what: &'static str,
    pause: Duration,
    since: Option<Instant>,
    said_at: Option<Instant>,
}

impl<'a> ResourceWait<'a> {
    /// `what`: the work that waits ("append", "apply"), for the log line.
    pub(crate) fn new(store: &'a Arc<MessageStore>, what: &'static str) -> Self {
        ResourceWait {
            store,
            what,
            pause: FIRST_PAUSE,
            since: None,
            said_at: None,
        }
    }

    /// The store error inside an `io::Error` the raft glue made of it, if it is one whose
    /// resource may come back.
    pub(crate) fn exhausted(e: &io::Error) -> Option<&StoreError> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<StoreError>())
            .filter(|s| s.is_resource_exhausted())
    }

    /// Called after an attempt failed with `e` (a resource error): marks the store blocked and
    /// sleeps before the next attempt.
    pub(crate) async fn pause(&mut self, e: &StoreError) {
        let since = *self.since.get_or_insert_with(Instant::now);
        if self.said_at.is_none_or(|at| at.elapsed() >= SAY_EVERY) {
            self.said_at = Some(Instant::now());
            tracing::warn!(
                %e,
                waited_s = since.elapsed().as_secs(),
                "{} waits for the resource to come back; retrying",
                self.what
            );
        }
        self.store
            .set_blocked(Some(format!("{} waiting: {e}", self.what)));
        tokio::time::sleep(self.pause).await;
        self.pause = (self.pause * 2).min(LONGEST_PAUSE);
    }
}

impl Drop for ResourceWait<'_> {
    fn drop(&mut self) {
        if let Some(since) = self.since {
            self.store.set_blocked(None);
            tracing::info!(
                waited_ms = since.elapsed().as_millis() as u64,
                "{} resumed",
                self.what
            );
        }
    }
}
