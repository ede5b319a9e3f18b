//! The delay scheduler: while this node leads, it delivers delayed messages once they are due
//! (remoting.md §5.7, "Delay levels").
//!
//! A delayed message waits in `SCHEDULE_TOPIC_XXXX`, queue `level - 1` (see [`crate::broker::delay`]).
//! Every [`TICK`] the leader walks each level's queue from that level's replicated progress
//! and, for the due messages at its head (store time + the level's delay), proposes copies in
//! their real topic and queue: `DELAY` removed, a fresh store time, and property
//! `SCHEDULE_SOURCE=<level>:<offset>`. Applying that entry both stores the messages and moves
//! the level's progress past them, in one step on every replica, so a failover neither drops
//! a due message nor delivers it twice: proposals go one at a time through
//! [`RaftNode::propose_in_term`](crate::raft::RaftNode::propose_in_term), which never gives up
//! on an entry while its term lasts, and the scheduler re-reads the progress only once it
//! leads (with everything committed applied) again.
//!
//! Messages of one level are due in the order they were stored, so each level stops at its
//! first message not yet due. An entry that cannot be delivered (unreadable, no `REAL_TOPIC`)
//! is skipped with a replicated `SkipScheduled` admin entry and a log line.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::broker::delay::SCHEDULE_TOPIC;
use crate::broker::server::{Broker, now_ms};
use crate::message::{
    MessageToStore, ScheduleSource, decode_message, encode_message_into, property,
};
use crate::raft::ProposalKind;
use crate::raft::tables::AdminOp;
use crate::store::{CqUnit, StoreError};
use tokio_util::sync::CancellationToken;

/// How often the leader looks for due messages: deliveries are at most this late (plus the
/// commit time).
pub const TICK: Duration = Duration::from_millis(100);

/// Most messages delivered per level in one entry.
const MAX_PER_ENTRY: usize = 64;

/// Runs until cancelled, delivering due messages whenever this node leads.
pub(super) async fn run(broker: Arc<Broker>, cancel: CancellationToken) {
    super::every(TICK, &cancel, || async {
        if broker.is_leader() {
            deliver_all_levels(&broker).await;
        }
    })
    .await;
}

/// One round: every level that has a schedule queue, until none has a due message at its
/// head. A queue beyond the configured levels (`messageDelayLevel` was shortened since those
/// messages were stored) is delivered with the highest level's delay rather than never.
async fn deliver_all_levels(broker: &Broker) {
    let levels: Vec<u32> = broker
        .store
        .consume_queues()
        .queue_ids(SCHEDULE_TOPIC)
        .into_iter()
        .map(|queue_id| queue_id + 1)
        .collect();
    for level in levels {
        loop {
            match deliver_due(broker, level).await {
                Ok(Some(n)) if n == MAX_PER_ENTRY => continue,
                Ok(_) => break,
                Err(why) => {
                    tracing::warn!(level, %why, "delayed messages not delivered this round");
                    return;
                }
            }
        }
    }
}

/// What the head of a level's queue holds.
enum Head {
    Due(MessageToStore),
    NotDue,
    Undeliverable(String),
}

/// Proposes the due messages at the head of `level`'s queue; how many it delivered.
async fn deliver_due(broker: &Broker, level: u32) -> Result<Option<usize>, String> {
    let Some(queue) = broker.store.consume_queues().get(SCHEDULE_TOPIC, level - 1) else {
        return Ok(None);
    };
    let delay_ms = broker.config.message_delay_level.delay(level).as_millis() as i64;
    let first = broker
        .node
        .with_tables(|t| t.schedule_progress(level))
        .max(queue.min_offset());
    let end = queue.max_offset().min(first + MAX_PER_ENTRY as u64);
    let now = now_ms();
    let mut body = Vec::new();
    let mut delivered = 0;
    for offset in first..end {
        match head(broker, queue.get(offset), delay_ms, now) {
            Head::NotDue => break,
            Head::Due(original) => {
                let source = ScheduleSource { level, offset };
                let message = delivered_copy(original, source, broker, now);
                if let Err(e) = encode_message_into(&message, &mut body) {
                    skip(broker, source, &e.to_string()).await?;
                    break;
                }
                delivered += 1;
            }
            Head::Undeliverable(why) => {
                if delivered == 0 {
                    skip(broker, ScheduleSource { level, offset }, &why).await?;
                }
                break;
            }
        }
    }
    if delivered == 0 {
        return Ok(None);
    }
    let kind = ProposalKind::for_messages(delivered);
    broker
        .node
        .propose_in_term(kind, Bytes::from(body))
        .await
        .map_err(|e| e.to_string())?;
    Ok(Some(delivered))
}

fn head(broker: &Broker, unit: Option<CqUnit>, delay_ms: i64, now: i64) -> Head {
    let Some(unit) = unit else {
        return Head::Undeliverable("its consume-queue entry is gone".into());
    };
    let bytes = match broker.store.commitlog().read_message(
        unit.commitlog_offset,
        u64::from(unit.size),
        &mut None,
    ) {
        Ok(Some(b)) => b,
        Ok(None) => return Head::Undeliverable("its message is no longer in the commitlog".into()),
        // Damaged on this node's disk only (the other replicas hold it intact): never skipped
        // for the group, and never re-stored with a fresh CRC; it waits (logged by the store).
        Err(StoreError::Corrupt { .. }) => return Head::NotDue,
        Err(e) => return Head::Undeliverable(e.to_string()),
    };
    let message = match decode_message(&bytes) {
        Ok((stored, _)) => stored.message,
        Err(e) => return Head::Undeliverable(e.to_string()),
    };
    if message.store_timestamp.saturating_add(delay_ms) > now {
        return Head::NotDue;
    }
    if !message.properties.contains_key(property::REAL_TOPIC) {
        return Head::Undeliverable("it has no REAL_TOPIC".into());
    }
    Head::Due(message)
}

/// The message as it is delivered: back in its real topic and queue, not delayed any more.
fn delivered_copy(
    mut message: MessageToStore,
    source: ScheduleSource,
    broker: &Broker,
    now: i64,
) -> MessageToStore {
    let props = &mut message.properties;
    if let Some(topic) = props.get(property::REAL_TOPIC) {
        message.topic = topic.clone();
    }
    message.queue_id = props
        .get(property::REAL_QID)
        .and_then(|q| q.parse().ok())
        .unwrap_or(0);
    props.remove(property::DELAY);
    props.insert(property::SCHEDULE_SOURCE.to_string(), source.to_property());
    message.queue_offset = 0;
    message.physical_offset = 0;
    message.store_timestamp = now;
    message.store_host = broker.store_host;
    message
}

async fn skip(broker: &Broker, source: ScheduleSource, why: &str) -> Result<(), String> {
    tracing::error!(
        level = source.level,
        offset = source.offset,
        why,
        "skipping a delayed message that cannot be delivered"
    );
    let op = AdminOp::SkipScheduled {
        level: source.level,
        offset: source.offset,
    };
    broker
        .node
        .propose_admin_in_term(&op)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
