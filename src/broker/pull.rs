//! The pull path without the wire: subscription filters and reading a queue (remoting.md §5.4,
//! §9).
//!
//! [`pull`] reads from one consume queue starting at a queue offset, filters by tag hash or by a
//! SQL92 expression over each message's properties (`filter`), and collects stored messages
//! (exactly as stored: the pull body is their concatenation) up to a message count and a byte
//! budget, returning the status RocketMQ's table in §5.4 prescribes and the offsets every pull
//! response carries. Consume queues only ever hold applied messages, so nothing uncommitted can
//! be returned. Long polling and the response header are the request handler's business.

use std::collections::BTreeSet;

use bytes::Bytes;

use crate::message::tags_code;
use crate::remoting::ResponseCode;
use crate::store::{MessageStore, StoreResult};

mod filter;
pub use filter::MessageFilter;

/// Default byte budget of one pull (Java's in-memory transfer limit).
pub const DEFAULT_MAX_BYTES: u64 = 256 * 1024;
/// At most this many consume-queue units are scanned per pull (Java: 16000 bytes of units).
const MIN_SCAN_UNITS: u64 = 800;

/// A tag subscription (`expressionType` "TAG").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagFilter {
    /// `None`: everything (`*` or empty). Otherwise the tags' hash codes.
    codes: Option<BTreeSet<i64>>,
    tags: BTreeSet<String>,
}

impl TagFilter {
    /// Parses a subscription expression: `*`, empty, or `TagA || TagB`.
    pub fn parse(expression: &str) -> TagFilter {
        let expression = expression.trim();
        if expression.is_empty() || expression == "*" {
            return TagFilter::default();
        }
        let tags: BTreeSet<String> = expression
            .split("||")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        if tags.is_empty() {
            return TagFilter::default();
        }
        TagFilter {
            codes: Some(tags.iter().map(|t| tags_code(t)).collect()),
            tags,
        }
    }

    /// Whether a consume-queue unit with this tags code passes (hash equality, as Java does:
    /// collisions pass and the client checks the real tag).
    pub fn matches(&self, code: i64) -> bool {
        self.codes.as_ref().is_none_or(|c| c.contains(&code))
    }

    /// The subscribed tags (empty for "everything").
    pub fn tags(&self) -> &BTreeSet<String> {
        &self.tags
    }
}

/// One pull, as the handler understood the request.
#[derive(Debug, Clone)]
pub struct PullRequest<'a> {
    pub topic: &'a str,
    pub queue_id: u32,
    pub offset: u64,
    pub max_messages: u32,
    pub max_bytes: u64,
    pub filter: MessageFilter<'a>,
}

/// RocketMQ's pull statuses (remoting.md §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStatus {
    Found,
    NoMatchedMessage,
    /// The queue never had a message (or does not exist).
    NoMessageInQueue,
    OffsetTooSmall,
    /// The offset is the queue's end: nothing new yet (long-poll candidate).
    OffsetOverflowOne,
    OffsetOverflowBadly,
    /// A unit points to commitlog data that is gone (retention ran under the reader).
    OffsetFoundNull,
}

impl PullStatus {
    /// The status name Java puts in the remark.
    pub fn name(self) -> &'static str {
        match self {
            PullStatus::Found => "FOUND",
            PullStatus::NoMatchedMessage => "NO_MATCHED_MESSAGE",
            PullStatus::NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
            PullStatus::OffsetTooSmall => "OFFSET_TOO_SMALL",
            PullStatus::OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
            PullStatus::OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
            PullStatus::OffsetFoundNull => "OFFSET_FOUND_NULL",
        }
    }

    /// The response code: SUCCESS, PULL_NOT_FOUND (19), PULL_RETRY_IMMEDIATELY (20) or
    /// PULL_OFFSET_MOVED (21) (`requested` is the request's queue offset).
    pub fn response_code(self, requested: u64) -> ResponseCode {
        match self {
            PullStatus::Found => ResponseCode::Success,
            PullStatus::NoMatchedMessage => ResponseCode::PullRetryImmediately,
            PullStatus::NoMessageInQueue if requested == 0 => ResponseCode::PullNotFound,
            PullStatus::NoMessageInQueue => ResponseCode::PullOffsetMoved,
            PullStatus::OffsetTooSmall | PullStatus::OffsetOverflowBadly => {
                ResponseCode::PullOffsetMoved
            }
            PullStatus::OffsetOverflowOne | PullStatus::OffsetFoundNull => {
                ResponseCode::PullNotFound
            }
        }
    }
}

/// What a pull found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullOutcome {
    pub status: PullStatus,
    /// Stored messages in queue-offset order (the response body is their concatenation).
    pub messages: Vec<Bytes>,
    pub next_begin_offset: u64,
    pub min_offset: u64,
    pub max_offset: u64,
}

impl PullOutcome {
    /// The response body: the messages back to back.
    pub fn body(&self) -> Bytes {
        match self.messages.as_slice() {
            [] => Bytes::new(),
            [one] => one.clone(),
            many => {
                let mut out = Vec::with_capacity(many.iter().map(Bytes::len).sum());
                for m in many {
                    out.extend_from_slice(m);
                }
                Bytes::from(out)
            }
        }
    }
}

/// Reads one pull's worth of messages (see the module docs).
pub fn pull(store: &MessageStore, req: &PullRequest<'_>) -> StoreResult<PullOutcome> {
    let Some(queue) = store.consume_queues().get(req.topic, req.queue_id) else {
        return Ok(outcome(PullStatus::NoMessageInQueue, 0, 0, 0));
    };
    let (min, max) = (queue.min_offset(), queue.max_offset());
    if max == 0 {
        return Ok(outcome(PullStatus::NoMessageInQueue, 0, min, max));
    }
    if req.offset < min {
        return Ok(outcome(PullStatus::OffsetTooSmall, min, min, max));
    }
    if req.offset == max {
        return Ok(outcome(PullStatus::OffsetOverflowOne, req.offset, min, max));
    }
    if req.offset > max {
        return Ok(outcome(PullStatus::OffsetOverflowBadly, max, min, max));
    }
    let max_messages = u64::from(req.max_messages.max(1));
    let scan = MIN_SCAN_UNITS.max(max_messages * 20) as usize;
    let units = queue.read(req.offset, scan);
    let mut messages = Vec::new();
    let mut bytes = 0u64;
    let mut next = req.offset;
    let log = store.commitlog();
    let mut verified = None;
    for unit in units {
        if messages.len() as u64 >= max_messages {
            break;
        }
        if !messages.is_empty() && bytes + u64::from(unit.size) > req.max_bytes {
            break;
        }
        if req.filter.passes_unit(unit.tags_code) {
            match log.read_message(unit.commitlog_offset, u64::from(unit.size), &mut verified)? {
                Some(m) if req.filter.passes_message(&m) => {
                    bytes += m.len() as u64;
                    messages.push(m);
                }
                Some(_) => {}
                None if messages.is_empty() => {
                    // The data is gone (retention): skip past it.
                    return Ok(outcome(PullStatus::OffsetFoundNull, next + 1, min, max));
                }
                None => break,
            }
        }
        next += 1;
    }
    let status = if messages.is_empty() {
        PullStatus::NoMatchedMessage
    } else {
        PullStatus::Found
    };
    Ok(PullOutcome {
        status,
        messages,
        next_begin_offset: next,
        min_offset: min,
        max_offset: max,
    })
}

/// Long polling (remoting.md §5.4 step 7): runs [`pull`] and, while it finds nothing new
/// (`PULL_NOT_FOUND`), waits until messages land in the queue (`arrived`, woken by the store's
/// dispatch of that queue) and tries again, until `hold` has passed. Statuses that are not
/// "nothing new yet" (offset moved, retry immediately) are answered at once.
pub async fn pull_or_wait(
    store: &MessageStore,
    req: &PullRequest<'_>,
    arrived: &tokio::sync::Notify,
    hold: std::time::Duration,
) -> StoreResult<PullOutcome> {
    Ok(pull_or_wait_timed(store, req, arrived, hold).await?.0)
}

/// [`pull_or_wait`], with how long the read that answered took (not the wait before it: the
/// get latency statistic, as Java restarts its clock when a held pull wakes).
pub async fn pull_or_wait_timed(
    store: &MessageStore,
    req: &PullRequest<'_>,
    arrived: &tokio::sync::Notify,
    hold: std::time::Duration,
) -> StoreResult<(PullOutcome, std::time::Duration)> {
    let deadline = tokio::time::Instant::now() + hold;
    let timed = || {
        let started = std::time::Instant::now();
        pull(store, req).map(|out| (out, started.elapsed()))
    };
    loop {
        // Registered before the pull looks, so an arrival in between is not missed.
        let notified = arrived.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let (out, took) = timed()?;
        let nothing_new = out.status.response_code(req.offset) == ResponseCode::PullNotFound;
        if !nothing_new || tokio::time::Instant::now() >= deadline {
            return Ok((out, took));
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            // Held long enough: answer with what there is.
            return timed();
        }
    }
}

fn outcome(status: PullStatus, next: u64, min: u64, max: u64) -> PullOutcome {
    PullOutcome {
        status,
        messages: Vec::new(),
        next_begin_offset: next,
        min_offset: min,
        max_offset: max,
    }
}

#[cfg(test)]
mod tests;
