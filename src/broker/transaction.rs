//! Transactional messages on the leader: where a half message is stored, and how one is
//! settled exactly once (the vocabulary is [`crate::message::transaction`]).
//!
//! A half message waits in queue 0 of `RMQ_SYS_TRANS_HALF_TOPIC`. Settling it is one Raft
//! entry that stores what the outcome stores *and* its op message: a commit stores the message
//! in its real topic and queue plus the op; a rollback only the op; a discard (checked too
//! often, or older than the commitlog keeps) a copy in `TRANS_CHECK_MAX_TIME_TOPIC` plus the
//! op. Applying the op marks the half message settled in the replicated transaction table on
//! every replica at once, so the message and the mark can never be split by a crash or a
//! failover. Settlements of one half message are serialized by a claim on its offset
//! ([`super::settling`]; other half messages settle concurrently): under it the leader reads
//! the table, proposes with [`RaftNode::propose_in_term`](crate::raft::RaftNode::propose_in_term)
//! (which never gives up on an entry while its term lasts) and releases it only once the entry
//! is applied or the term is over; a new leader reports itself only after applying every entry
//! of earlier terms, so no half message is settled twice.

use bytes::Bytes;

use crate::broker::delay::{Placement, place, requested_level};
use crate::broker::server::{Broker, BrokerError, now_ms};
use crate::config::DelayLevels;
use crate::message::transaction::{
    CHECK_MAX_TIME_TOPIC, HALF_TOPIC, TRANSACTION_COMMIT_TYPE, TRANSACTION_NOT_TYPE,
    is_half_message, op_message, with_transaction_type,
};
use crate::message::{MessageToStore, Properties, decode_message, encode_message_into, property};
use crate::raft::ProposalKind;
use crate::raft::tables::AdminOp;
use crate::store::{CqUnit, StoreError};

/// Whether a send is a half message to hold: `TRAN_MSG=true`, unless it is a consumer's retry
/// of a transactional message (re-consumed and delayed), which clients before 4.6.1 send with
/// the original's properties and Java's broker stores as a plain message.
pub fn is_half_send(properties: &Properties, reconsume_times: i32, levels: &DelayLevels) -> bool {
    is_half_message(properties)
        && !(reconsume_times > 0 && requested_level(properties, levels).is_some())
}

/// Moves a half message to the half topic: its real topic and queue go into `REAL_TOPIC` /
/// `REAL_QID`; it is stored in queue 0 with its transaction type cleared.
pub fn half_placement(placement: Placement, sys_flag: i32) -> (Placement, i32) {
    let mut properties = placement.properties;
    properties.insert(property::REAL_TOPIC.to_string(), placement.topic);
    properties.insert(
        property::REAL_QID.to_string(),
        placement.queue_id.to_string(),
    );
    let placed = Placement {
        topic: HALF_TOPIC.to_string(),
        queue_id: 0,
        properties,
    };
    (
        placed,
        with_transaction_type(sys_flag, TRANSACTION_NOT_TYPE),
    )
}

/// A half message as read back from the half queue.
#[derive(Debug, Clone)]
pub struct HalfMessage {
    /// Its offset in the half queue: the transaction's identity.
    pub offset: u64,
    pub commitlog_offset: u64,
    pub message: MessageToStore,
}

/// What reading a half-queue offset found.
#[derive(Debug)]
pub enum HalfRead {
    Found(HalfMessage),
    /// Not in the queue: beyond its end, or below what retention kept.
    Missing,
    /// In the queue but not readable: the reason (a damaged copy on this node only waits).
    Unreadable {
        damaged_here: bool,
        why: String,
    },
}

/// Reads the half message at `offset`.
pub fn read_half(broker: &Broker, offset: u64) -> HalfRead {
    let Some(unit) = broker
        .store
        .consume_queues()
        .get(HALF_TOPIC, 0)
        .and_then(|q| q.get(offset))
    else {
        return HalfRead::Missing;
    };
    read_unit(broker, offset, unit)
}

fn read_unit(broker: &Broker, offset: u64, unit: CqUnit) -> HalfRead {
    let unreadable = |damaged_here, why: String| HalfRead::Unreadable { damaged_here, why };
    let bytes = match broker.store.commitlog().read_message(
        unit.commitlog_offset,
        u64::from(unit.size),
        &mut None,
    ) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return HalfRead::Missing,
        Err(e @ StoreError::Corrupt { .. }) => return unreadable(true, e.to_string()),
        Err(e) => return unreadable(false, e.to_string()),
    };
    match decode_message(&bytes) {
        Ok((stored, _)) => HalfRead::Found(HalfMessage {
            offset,
            commitlog_offset: unit.commitlog_offset,
            message: stored.message,
        }),
        Err(e) => unreadable(false, e.to_string()),
    }
}

/// How a half message ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    Commit,
    Rollback,
    /// Checked `transactionCheckMax` times, or older than the commitlog keeps: kept for
    /// operators in `TRANS_CHECK_MAX_TIME_TOPIC`, never delivered.
    Discard,
}

/// What [`settle`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// This call settled it.
    Now,
    /// It was settled before (a repeated END_TRANSACTION, or a check answered twice).
    Already,
}

/// The checks END_TRANSACTION makes against the half message it names (Java's remarks).
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    pub producer_group: &'a str,
    pub half_offset: u64,
    pub commitlog_offset: u64,
}

/// Settles the half message `claim` names with `how`, exactly once (see the module docs).
/// Fails with SYSTEM_ERROR when the claim does not match the half message, or when this node
/// stops leading before the entry is applied (its fate is then the next leader's to tell).
pub async fn settle(
    broker: &Broker,
    claim: &Claim<'_>,
    how: Settle,
) -> Result<Settled, BrokerError> {
    broker.require_leader()?;
    let _claim = broker.settling.claim(claim.half_offset).await;
    if broker
        .node
        .with_tables(|t| t.transactions.is_settled(claim.half_offset))
    {
        return Ok(Settled::Already);
    }
    let half = match read_half(broker, claim.half_offset) {
        HalfRead::Found(half) => half,
        HalfRead::Missing => {
            return Err(BrokerError::system(
                "Find prepared transaction message failed",
            ));
        }
        HalfRead::Unreadable { why, .. } => {
            return Err(BrokerError::system(format!(
                "Find prepared transaction message failed: {why}"
            )));
        }
    };
    if half
        .message
        .properties
        .get(property::PGROUP)
        .map(String::as_str)
        != Some(claim.producer_group)
    {
        return Err(BrokerError::system("The producer group wrong"));
    }
    if half.commitlog_offset != claim.commitlog_offset {
        return Err(BrokerError::system("The commit log offset wrong"));
    }
    propose_settlement(broker, &half, how).await?;
    Ok(Settled::Now)
}

/// Proposes the entry that settles `half` with `how` and waits for it in this term. The
/// caller holds the claim on `half` and has checked the half message is not settled.
pub(crate) async fn propose_settlement(
    broker: &Broker,
    half: &HalfMessage,
    how: Settle,
) -> Result<(), BrokerError> {
    let now = now_ms();
    let mut messages = Vec::with_capacity(2);
    match how {
        Settle::Commit => messages.push(committed(broker, half)),
        Settle::Rollback => {}
        Settle::Discard => messages.push(discarded(broker, half, now)),
    }
    let mut op = op_message(half.offset);
    op.born_timestamp = now;
    op.born_host = broker.store_host;
    op.store_timestamp = now;
    op.store_host = broker.store_host;
    messages.push(op);

    let mut body = Vec::new();
    for m in &messages {
        encode_message_into(m, &mut body)
            .map_err(|e| BrokerError::MessageIllegal(e.to_string()))?;
    }
    let kind = ProposalKind::for_messages(messages.len());
    broker
        .node
        .propose_in_term(kind, Bytes::from(body))
        .await
        .map_err(|e| BrokerError::system(format!("the transaction was not settled: {e}")))?;
    Ok(())
}

/// Settles a half message that has nothing left to store (gone with retention, or naming no
/// real topic), with a replicated admin entry. The caller holds the claim on `offset`.
pub(crate) async fn settle_unreadable(broker: &Broker, offset: u64) -> Result<(), BrokerError> {
    broker
        .node
        .propose_admin_in_term(&AdminOp::TransactionSettled(offset))
        .await
        .map(|_| ())
        .map_err(|e| BrokerError::system(e.to_string()))
}

/// The committed message: the half message back in its real topic and queue, transaction type
/// commit, its half's commitlog offset as PREPARED_TRANSACTION_OFFSET (Java keeps the half's
/// store time too). A delay level it carries is honoured now, as a plain send's would be.
fn committed(broker: &Broker, half: &HalfMessage) -> MessageToStore {
    let mut message = half.message.clone();
    let props = &mut message.properties;
    let topic = props.remove(property::REAL_TOPIC).unwrap_or_default();
    let queue_id = props
        .remove(property::REAL_QID)
        .and_then(|q| q.parse().ok())
        .unwrap_or(0);
    props.remove(property::TRAN_MSG);
    let sys_flag = with_transaction_type(message.sys_flag, TRANSACTION_COMMIT_TYPE);
    let placed = place(
        sys_flag,
        Placement {
            topic,
            queue_id,
            properties: std::mem::take(&mut message.properties),
        },
        &broker.config.message_delay_level,
    );
    message.topic = placed.topic;
    message.queue_id = placed.queue_id as i32;
    message.properties = placed.properties;
    message.sys_flag = sys_flag;
    message.prepared_transaction_offset = half.commitlog_offset;
    message.queue_offset = 0;
    message.physical_offset = 0;
    message.store_host = broker.store_host;
    message
}

/// The copy a discarded half message leaves in `TRANS_CHECK_MAX_TIME_TOPIC` (queue 0),
/// properties kept (REAL_TOPIC names where it was going).
fn discarded(broker: &Broker, half: &HalfMessage, now: i64) -> MessageToStore {
    let mut message = half.message.clone();
    message.topic = CHECK_MAX_TIME_TOPIC.to_string();
    message.queue_id = 0;
    message.queue_offset = 0;
    message.physical_offset = 0;
    message.store_timestamp = now;
    message.store_host = broker.store_host;
    message
}

/// Whether a half message names a real topic to commit into.
pub fn has_real_topic(half: &HalfMessage) -> bool {
    half.message
        .properties
        .get(property::REAL_TOPIC)
        .is_some_and(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retried_transactional_message_is_stored_plain_as_java_does() {
        let levels = DelayLevels::default();
        let mut props = Properties::new();
        props.insert(property::TRAN_MSG.into(), "true".into());
        assert!(is_half_send(&props, 0, &levels));
        assert!(
            is_half_send(&props, 2, &levels),
            "re-consumed but not delayed"
        );
        props.insert(property::DELAY.into(), "3".into());
        assert!(
            is_half_send(&props, 0, &levels),
            "delayed but never consumed"
        );
        assert!(!is_half_send(&props, 2, &levels), "a consumer's retry");
    }

    #[test]
    fn a_half_message_waits_in_queue_0_of_the_half_topic_with_its_real_place_kept() {
        let mut properties = Properties::new();
        properties.insert(property::TRAN_MSG.into(), "true".into());
        let (placed, sys_flag) = half_placement(
            Placement {
                topic: "Orders".into(),
                queue_id: 3,
                properties,
            },
            0x04 | 0x02,
        );
        assert_eq!((placed.topic.as_str(), placed.queue_id), (HALF_TOPIC, 0));
        assert_eq!(placed.properties[property::REAL_TOPIC], "Orders");
        assert_eq!(placed.properties[property::REAL_QID], "3");
        assert_eq!(
            sys_flag, 0x02,
            "the prepared type is cleared, other bits kept"
        );
    }
}
