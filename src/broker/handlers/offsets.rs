//! Consumer offsets and offset lookups: QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15),
//! GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), SEARCH_OFFSET_BY_TIMESTAMP (29),
//! GET_EARLIEST_MSG_STORETIME (32): remoting.md §5.5–5.6.
//!
//! Commits go to the leader's coalescer (one replicated entry per interval). A query answers
//! only the replicated offset, so no broker ever answers an offset a later master could go back
//! on; when the coalescer holds a newer commit for the queue asked about, it is proposed first
//! (read-your-writes at the cost of one replication round trip, on a rare request). Lookups
//! read applied data on any replica.

use crate::broker::consumer_offsets::offset_without_commit;
use crate::broker::offsets;
use crate::broker::server::{Broker, BrokerError, HandlerResult, lock};
use crate::remoting::RemotingCommand;
use crate::remoting::header::offset::{
    GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader, GetMinOffsetRequestHeader,
    GetMinOffsetResponseHeader, QueryConsumerOffsetRequestHeader,
    QueryConsumerOffsetResponseHeader, SearchOffsetRequestHeader, SearchOffsetResponseHeader,
    UpdateConsumerOffsetRequestHeader,
};

use super::request::header;

fn queue(queue_id: i32) -> Result<u32, BrokerError> {
    u32::try_from(queue_id)
        .map_err(|_| BrokerError::system(format!("queueId[{queue_id}] is illegal")))
}

pub(crate) async fn query_consumer_offset(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let h: QueryConsumerOffsetRequestHeader = header(req)?;
    let q = queue(h.queue_id)?;
    let replicated = || {
        broker
            .node
            .with_tables(|t| t.offset(&h.consumer_group, &h.topic, q))
    };
    let pending = broker
        .node
        .with_tables(|t| lock(&broker.offsets).query(t, &h.consumer_group, &h.topic, q));
    let mut committed = replicated();
    if pending > committed {
        broker.flush_offsets().await;
        committed = replicated();
    }
    let offset = committed
        .or_else(|| offset_without_commit(offsets::min_offset(&broker.store, &h.topic, q)));
    match offset {
        Some(offset) => {
            Ok(req
                .success_response()
                .with_header(&QueryConsumerOffsetResponseHeader {
                    offset: offset as i64,
                }))
        }
        None => Err(BrokerError::QueryNotFound(
            "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first".into(),
        )),
    }
}

pub(crate) fn update_consumer_offset(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let h: UpdateConsumerOffsetRequestHeader = header(req)?;
    let q = queue(h.queue_id)?;
    broker.require_leader()?;
    // ali-ons commits -1 for queues it has not consumed yet: nothing to store.
    if let (Ok(offset), Some(term)) = (u64::try_from(h.commit_offset), broker.leader_term()) {
        lock(&broker.offsets).commit(term, &h.consumer_group, &h.topic, q, offset);
    }
    Ok(req.success_response())
}

pub(crate) fn max_offset(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let h: GetMaxOffsetRequestHeader = header(req)?;
    let offset = offsets::max_offset(&broker.store, &h.topic, queue(h.queue_id)?);
    Ok(req
        .success_response()
        .with_header(&GetMaxOffsetResponseHeader {
            offset: offset as i64,
        }))
}

pub(crate) fn min_offset(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let h: GetMinOffsetRequestHeader = header(req)?;
    let offset = offsets::min_offset(&broker.store, &h.topic, queue(h.queue_id)?);
    Ok(req
        .success_response()
        .with_header(&GetMinOffsetResponseHeader {
            offset: offset as i64,
        }))
}

pub(crate) fn search_offset(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let h: SearchOffsetRequestHeader = header(req)?;
    let offset =
        offsets::offset_for_timestamp(&broker.store, &h.topic, queue(h.queue_id)?, h.timestamp)
            .map_err(|e| BrokerError::system(e.to_string()))?;
    Ok(req
        .success_response()
        .with_header(&SearchOffsetResponseHeader {
            offset: offset as i64,
        }))
}

pub(crate) fn earliest_store_time(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let h: GetMinOffsetRequestHeader = header(req)?;
    let time = offsets::earliest_store_time(&broker.store, &h.topic, queue(h.queue_id)?)
        .map_err(|e| BrokerError::system(e.to_string()))?;
    let mut response = req.success_response();
    response
        .ext_fields
        .insert("timestamp".into(), time.to_string());
    Ok(response)
}
