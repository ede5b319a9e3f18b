//! INVOKE_BROKER_TO_RESET_OFFSET (222): `resetOffsetByTime`. For every read queue of the topic
//! the leader finds the first offset stored at or after `timestamp` (`-1`: the queue's end),
//! keeps the group's committed offset instead when that is lower and `isForce` is false,
//! replicates the result as one reset entry (so it survives a failover and may move offsets
//! backwards), then tells the group's online consumers with a oneway
//! RESET_CONSUMER_CLIENT_OFFSET (220) carrying the same table, as Java's broker does.
//!
//! Unlike Java's broker, a group with no consumer online is reset too (Java answers
//! CONSUMER_NOT_ONLINE and its tool falls back to per-queue offset updates).

use std::fmt::Write as _;

use bytes::Bytes;

use super::request::{field, number};
use crate::broker::offsets;
use crate::broker::server::{Broker, BrokerError, HandlerResult, lock};
use crate::raft::tables::{OffsetCommit, OffsetUpdate};
use crate::remoting::{RemotingCommand, RequestCode};

/// The reset table as fastjson writes a `ResetOffsetBody`: MessageQueue objects as keys.
fn reset_body(broker_name: &str, topic: &str, table: &[(u32, u64)]) -> String {
    let mut body = String::from("{\"offsetTable\":{");
    for (i, (queue_id, offset)) in table.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        let key =
            serde_json::json!({"brokerName": broker_name, "queueId": queue_id, "topic": topic});
        let _ = write!(body, "{key}:{offset}");
    }
    body.push_str("}}");
    body
}

pub(crate) async fn reset_offset(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let topic = field(req, "topic")?.to_owned();
    let group = field(req, "group")?.to_owned();
    let timestamp = number(req, "timestamp")?;
    let force = req
        .ext_fields
        .get("isForce")
        .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"));
    broker.require_leader()?;
    let tables = broker.node.tables();
    let Some(config) = tables.topics.get(&topic) else {
        return Err(BrokerError::TopicNotExist(format!(
            "topic[{topic}] not exist"
        )));
    };
    let mut table = Vec::new();
    for queue_id in 0..config.read_queue_nums as u32 {
        let target = if timestamp == -1 {
            offsets::max_offset(&broker.store, &topic, queue_id)
        } else {
            offsets::offset_for_timestamp(&broker.store, &topic, queue_id, timestamp)
                .map_err(|e| BrokerError::system(e.to_string()))?
        };
        let committed = lock(&broker.offsets).query(&tables, &group, &topic, queue_id);
        let offset = match committed {
            Some(c) if !force && c < target => c,
            _ => target,
        };
        table.push((queue_id, offset));
    }
    // Pending commits of the group are dropped, and a flush already taken is decided first.
    let ordered = broker.offset_proposals.lock().await;
    lock(&broker.offsets).forget(&group, &topic);
    let commit = OffsetCommit {
        updates: table
            .iter()
            .map(|(queue_id, offset)| OffsetUpdate {
                group: group.clone(),
                topic: topic.clone(),
                queue_id: *queue_id,
                offset: *offset,
            })
            .collect(),
        reset: true,
    };
    broker.propose_offsets(&commit).await?;
    drop(ordered);

    let body = reset_body(&broker.config.broker_name, &topic, &table);
    for conn in broker.consumer_conns(&group) {
        let mut notice = RemotingCommand::request(
            RequestCode::ResetConsumerClientOffset,
            Default::default(),
            Bytes::from(body.clone()),
        );
        for (k, v) in [
            ("topic", topic.clone()),
            ("group", group.clone()),
            ("timestamp", timestamp.to_string()),
            ("isForce", force.to_string()),
        ] {
            notice.ext_fields.insert(k.into(), v);
        }
        if let Err(e) = conn.send_oneway(notice.into_oneway()).await {
            tracing::debug!(group, error = %e, "could not tell a consumer of the reset");
        }
    }
    tracing::info!(
        group,
        topic,
        timestamp,
        force,
        ?table,
        "consumer offsets reset"
    );
    Ok(req.success_response().with_body(Bytes::from(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reset_table_is_keyed_by_message_queue_objects() {
        assert_eq!(
            reset_body("b", "t", &[(0, 5), (1, 7)]),
            "{\"offsetTable\":{{\"brokerName\":\"b\",\"queueId\":0,\"topic\":\"t\"}:5,\
             {\"brokerName\":\"b\",\"queueId\":1,\"topic\":\"t\"}:7}}"
        );
    }
}
