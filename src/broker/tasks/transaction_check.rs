//! Transaction checks: while this node leads, every `transactionCheckInterval` it asks the
//! producers of unsettled half messages for their outcome (CHECK_TRANSACTION_STATE, oneway),
//! the way Java's `TransactionalMessageCheckService` does, with its state in the Raft log.
//!
//! A round walks the half queue from the transaction table's first unsettled offset. For each
//! unsettled half message, in store order:
//! - stored since the round began: the round stops (it is checked next round);
//! - born less than its immunity ago (`CHECK_IMMUNITY_TIME_IN_SECONDS`, else
//!   `transactionTimeOut`): skipped this round;
//! - checked `transactionCheckMax` times already, or older than the commitlog keeps
//!   (`fileReservedTime`): discarded (copied to `TRANS_CHECK_MAX_TIME_TOPIC`, settled, logged);
//! - otherwise the check is counted in the log (`AdminOp::TransactionChecked`), then sent to one
//!   live producer connection of the message's producer group (`PGROUP`); none: logged, and
//!   the next round asks again.
//!
//! Half messages no longer readable (taken by retention) or naming no real topic are settled
//! with an admin entry and an error log. The counts and settlements are replicated, so a new
//! leader resumes where the old one stopped: nothing is checked more than `transactionCheckMax`
//! times in all, and nothing settled is asked about again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use crate::broker::server::{Broker, lock, now_ms};
use crate::broker::transaction::{
    HalfMessage, HalfRead, Settle, has_real_topic, propose_settlement, read_half, settle_unreadable,
};
use crate::message::transaction::{HALF_TOPIC, check_immunity_ms};
use crate::message::{encode_message, offset_msg_id, property};
use crate::raft::tables::AdminOp;
use crate::remoting::header::CheckTransactionStateRequestHeader;
use crate::remoting::{ConnectionInfo, RemotingCommand, RequestCode};

/// Most half messages one round looks at (the rest wait for the next round).
const MAX_PER_ROUND: u64 = 2000;
/// Longest one round may run.
const MAX_ROUND_TIME: Duration = Duration::from_secs(30);

/// Runs until cancelled, checking whenever this node leads.
pub(super) async fn run(broker: Arc<Broker>, cancel: CancellationToken) {
    let interval = Duration::from_millis(broker.config.transaction_check_interval_ms);
    super::every(interval, &cancel, || async {
        if broker.is_leader() {
            check_round(&broker).await;
        }
    })
    .await;
}

/// What one half message needs this round.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Stored since the round began: stop here.
    Fresh,
    /// Within its immunity: look at the next one.
    Immune,
    Discard(&'static str),
    Check,
}

/// The rules above, for a half message checked `checks` times so far.
fn verdict(broker: &Broker, half: &HalfMessage, checks: u32, round_start: i64) -> Verdict {
    let message = &half.message;
    if message.store_timestamp >= round_start {
        return Verdict::Fresh;
    }
    if checks >= broker.config.transaction_check_max {
        return Verdict::Discard("checked transactionCheckMax times without an outcome");
    }
    let age = round_start.saturating_sub(message.born_timestamp);
    let kept_ms = broker
        .config
        .file_reserved_time_hours
        .saturating_mul(3_600_000);
    if age > 0 && age as u64 > kept_ms {
        return Verdict::Discard("older than the commitlog keeps (fileReservedTime)");
    }
    let immunity = check_immunity_ms(&message.properties, broker.config.transaction_time_out_ms);
    // A born time in the future (a producer clock ahead) is checked now, as Java does.
    if age >= 0 && (age as u64) < immunity {
        return Verdict::Immune;
    }
    Verdict::Check
}

async fn check_round(broker: &Broker) {
    let Some(queue) = broker.store.consume_queues().get(HALF_TOPIC, 0) else {
        return;
    };
    let started = Instant::now();
    let round_start = now_ms();
    let first = broker.node.with_tables(|t| t.transactions.settled_below());
    let end = queue.max_offset().min(first.saturating_add(MAX_PER_ROUND));
    for offset in first..end {
        if started.elapsed() > MAX_ROUND_TIME || !broker.is_leader() {
            return;
        }
        let (settled, checks) = broker.node.with_tables(|t| {
            (
                t.transactions.is_settled(offset),
                t.transactions.checks(offset),
            )
        });
        if settled {
            continue;
        }
        let half = match read_half(broker, offset) {
            HalfRead::Found(half) if has_real_topic(&half) => half,
            HalfRead::Found(_) => {
                settle_gone(broker, offset, "it names no real topic").await;
                continue;
            }
            HalfRead::Missing if offset < queue.min_offset() => {
                settle_gone(broker, offset, "retention removed it").await;
                continue;
            }
            // Beyond the queue's end as this node has applied it: nothing more to look at.
            HalfRead::Missing => return,
            // Damaged on this node only: the other replicas hold it; never settled from here.
            HalfRead::Unreadable {
                damaged_here: true,
                why,
            } => {
                tracing::warn!(offset, %why, "a half message is damaged on this node; not checked");
                continue;
            }
            HalfRead::Unreadable { why, .. } => {
                settle_gone(broker, offset, &why).await;
                continue;
            }
        };
        match verdict(broker, &half, checks, round_start) {
            Verdict::Fresh => return,
            Verdict::Immune => continue,
            Verdict::Discard(why) => discard(broker, &half, why).await,
            Verdict::Check => {
                if !check(broker, &half).await {
                    return;
                }
            }
        }
    }
}

/// Settles a half message there is nothing to do with, under its claim.
async fn settle_gone(broker: &Broker, offset: u64, why: &str) {
    let _claim = broker.settling.claim(offset).await;
    if broker
        .node
        .with_tables(|t| t.transactions.is_settled(offset))
    {
        return;
    }
    tracing::error!(
        offset,
        why,
        "settling a half message that cannot be checked"
    );
    if let Err(e) = settle_unreadable(broker, offset).await {
        tracing::warn!(offset, %e, "the half message was not settled this round");
    }
}

async fn discard(broker: &Broker, half: &HalfMessage, why: &str) {
    let _claim = broker.settling.claim(half.offset).await;
    if broker
        .node
        .with_tables(|t| t.transactions.is_settled(half.offset))
    {
        return;
    }
    let props = &half.message.properties;
    tracing::error!(
        offset = half.offset,
        group = props
            .get(property::PGROUP)
            .map(String::as_str)
            .unwrap_or(""),
        topic = props
            .get(property::REAL_TOPIC)
            .map(String::as_str)
            .unwrap_or(""),
        msg_id = props
            .get(property::UNIQ_KEY)
            .map(String::as_str)
            .unwrap_or(""),
        why,
        "discarding a half message to TRANS_CHECK_MAX_TIME_TOPIC"
    );
    if let Err(e) = propose_settlement(broker, half, Settle::Discard).await {
        tracing::warn!(offset = half.offset, %e, "the half message was not discarded this round");
    }
}

/// Counts the check in the log, then asks a producer. False if this node stopped leading.
async fn check(broker: &Broker, half: &HalfMessage) -> bool {
    if let Err(e) = broker
        .node
        .propose_admin_in_term(&AdminOp::TransactionChecked(half.offset))
        .await
    {
        tracing::debug!(offset = half.offset, %e, "transaction check not counted; round ends");
        return false;
    }
    let group = half
        .message
        .properties
        .get(property::PGROUP)
        .cloned()
        .unwrap_or_default();
    let Some(conn) = producer_connection(broker, &group, half.offset) else {
        tracing::warn!(
            offset = half.offset,
            group,
            "no live producer of the group to check a transaction with"
        );
        return true;
    };
    match check_request(broker, half) {
        Ok(request) => {
            if let Err(e) = conn.send_oneway(request).await {
                tracing::warn!(offset = half.offset, group, %e, "transaction check not sent");
            } else {
                tracing::debug!(offset = half.offset, group, "transaction check sent");
            }
        }
        Err(e) => tracing::warn!(offset = half.offset, %e, "transaction check not encoded"),
    }
    true
}

/// One live connection of `group`'s producers, chosen by `spread` among them.
fn producer_connection(broker: &Broker, group: &str, spread: u64) -> Option<ConnectionInfo> {
    let producers = lock(&broker.clients).producers(group);
    let conns = lock(&broker.connections);
    let live: Vec<&ConnectionInfo> = producers
        .iter()
        .filter_map(|(_, id)| conns.get(id))
        .filter(|c| !c.is_closed())
        .collect();
    if live.is_empty() {
        return None;
    }
    Some(live[(spread % live.len() as u64) as usize].clone())
}

/// CHECK_TRANSACTION_STATE for `half`: the header names it, the body is the message as stored
/// with its real topic and queue (what Java's producer decodes and hands to its listener).
fn check_request(broker: &Broker, half: &HalfMessage) -> Result<RemotingCommand, String> {
    let mut message = half.message.clone();
    if let Some(topic) = message.properties.get(property::REAL_TOPIC) {
        message.topic = topic.clone();
    }
    if let Some(queue) = message
        .properties
        .get(property::REAL_QID)
        .and_then(|q| q.parse().ok())
    {
        message.queue_id = queue;
    }
    message.queue_offset = half.offset;
    message.physical_offset = half.commitlog_offset;
    let body = encode_message(&message).map_err(|e| e.to_string())?;
    let uniq = half.message.properties.get(property::UNIQ_KEY).cloned();
    let header = CheckTransactionStateRequestHeader {
        tran_state_table_offset: half.offset as i64,
        commit_log_offset: half.commitlog_offset as i64,
        msg_id: uniq.clone(),
        transaction_id: uniq,
        offset_msg_id: Some(offset_msg_id(broker.store_host, half.commitlog_offset)),
    };
    Ok(RemotingCommand::request(
        RequestCode::CheckTransactionState,
        Default::default(),
        Bytes::from(body),
    )
    .with_header(&header)
    .into_oneway())
}
