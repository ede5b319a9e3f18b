//! Queries and statistics: QUERY_MESSAGE (12), UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200),
//! GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201), GET_TOPIC_STATS_INFO (202),
//! GET_CONSUMER_CONNECTION_LIST (203), GET_PRODUCER_CONNECTION_LIST (204),
//! DELETE_SUBSCRIPTIONGROUP (207), GET_CONSUME_STATS (208): remoting.md §5.10, §6, §7.2.
//!
//! Offset tables are keyed by MessageQueue *objects*, which only fastjson writes
//! (`{{"brokerName":..,"queueId":..,"topic":..}:{..}}`); Java's admin tools read exactly that,
//! so those bodies are built as text here.

use std::fmt::Write as _;

use bytes::Bytes;
use serde_json::{Value, json};

use super::request::{field, number};
use crate::broker::offsets;
use crate::broker::server::{Broker, BrokerError, HandlerResult, lock, now_ms};
use crate::broker::topics::effective_topics;
use crate::message::{decode_message, message_keys, property};
use crate::raft::tables::{AdminOp, GroupConfig};
use crate::remoting::RemotingCommand;

/// QUERY_MESSAGE: messages of a topic by KEYS or UNIQ_KEY within a store-time range.
pub(crate) fn query_message(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let topic = field(req, "topic")?;
    let key = field(req, "key")?;
    let max = usize::try_from(number(req, "maxNum")?)
        .unwrap_or(32)
        .clamp(1, 1024);
    let (begin, end) = (number(req, "beginTimestamp")?, number(req, "endTimestamp")?);
    let keys = broker.store.key_index();
    let (last_ts, last_phys) = keys.last_update();
    let log = broker.store.commitlog();
    let mut body = Vec::new();
    let mut found = 0;
    for phys in keys.query(topic, key, begin, end, max * 4) {
        let Ok(Some(size)) = log.read_at(phys, 4) else {
            continue;
        };
        let size = i32::from_be_bytes([size[0], size[1], size[2], size[3]]);
        let Ok(Some(bytes)) = log.read_at(phys, u64::try_from(size).unwrap_or(0)) else {
            continue;
        };
        // The index holds key hashes: check the real key (collisions are harmless).
        let Ok((stored, _)) = decode_message(&bytes) else {
            continue;
        };
        let m = &stored.message;
        let matches = m.topic == topic
            && (message_keys(&m.properties).any(|k| k == key)
                || m.properties
                    .get(property::UNIQ_KEY)
                    .is_some_and(|u| u == key));
        if matches {
            body.extend_from_slice(&bytes);
            found += 1;
            if found == max {
                break;
            }
        }
    }
    let mut response = if found == 0 {
        // Not found still carries the index fields below, as Java's answer does.
        BrokerError::QueryNotFound("can not find message, maybe time range not correct".into())
            .response_to(req)
    } else {
        req.success_response().with_body(Bytes::from(body))
    };
    response
        .ext_fields
        .insert("indexLastUpdateTimestamp".into(), last_ts.to_string());
    response
        .ext_fields
        .insert("indexLastUpdatePhyoffset".into(), last_phys.to_string());
    Ok(response)
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: the body is a SubscriptionGroupConfig.
pub(crate) async fn create_group(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let v: Value = serde_json::from_slice(&req.body)
        .map_err(|e| BrokerError::system(format!("bad SubscriptionGroupConfig body: {e}")))?;
    let name = v["groupName"].as_str().unwrap_or_default().to_string();
    crate::message::names::check_group(&name).map_err(|e| BrokerError::system(e.to_string()))?;
    broker.require_leader()?;
    let int = |k: &str, d: u32| {
        v[k].as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(d)
    };
    let group = GroupConfig {
        name,
        consume_enable: v["consumeEnable"].as_bool().unwrap_or(true),
        consume_broadcast_enable: v["consumeBroadcastEnable"].as_bool().unwrap_or(true),
        retry_queue_nums: int("retryQueueNums", 1),
        retry_max_times: int("retryMaxTimes", 16),
    };
    broker.propose_admin(&AdminOp::PutGroup(group)).await?;
    Ok(req.success_response())
}

/// DELETE_SUBSCRIPTIONGROUP: `groupName`; `cleanOffset=true` also drops the group's committed
/// offsets (Java keeps them unless asked). Deleting a group that does not exist succeeds, as
/// in Java.
pub(crate) async fn delete_group(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let name = field(req, "groupName")?.to_owned();
    crate::message::names::check_group(&name).map_err(|e| BrokerError::system(e.to_string()))?;
    let clean = req
        .ext_fields
        .get("cleanOffset")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    broker.require_leader()?;
    let op = if clean {
        AdminOp::DeleteGroup(name)
    } else {
        AdminOp::DeleteGroupConfig(name)
    };
    broker.propose_admin(&op).await?;
    Ok(req.success_response())
}

fn group_json(g: &GroupConfig) -> Value {
    json!({
        "brokerId": 0, "consumeBroadcastEnable": g.consume_broadcast_enable,
        "consumeEnable": g.consume_enable, "consumeFromMinEnable": true,
        "groupName": g.name, "notifyConsumerIdsChangedEnable": true,
        "retryMaxTimes": g.retry_max_times, "retryQueueNums": g.retry_queue_nums,
        "whichBrokerWhenConsumeSlowly": 1
    })
}

/// GET_ALL_SUBSCRIPTIONGROUP_CONFIG: every replicated group.
pub(crate) fn all_groups(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let tables = broker.node.tables();
    let table: serde_json::Map<String, Value> = tables
        .groups
        .values()
        .map(|g| (g.name.clone(), group_json(g)))
        .collect();
    let body = json!({
        "dataVersion": {"counter": 0, "timestamp": now_ms()},
        "subscriptionGroupTable": table
    });
    Ok(req
        .success_response()
        .with_body(Bytes::from(body.to_string())))
}

/// `{"brokerName":..,"queueId":..,"topic":..}` as fastjson writes a MessageQueue key.
fn queue_key(broker: &str, topic: &str, queue_id: u32) -> String {
    json!({"brokerName": broker, "queueId": queue_id, "topic": topic}).to_string()
}

/// GET_TOPIC_STATS_INFO: min/max offset of every queue of a topic.
pub(crate) fn topic_stats(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let topic = field(req, "topic")?;
    let topics = effective_topics(&broker.node.tables(), &broker.topic_defaults);
    let Some(config) = topics.get(topic) else {
        return Err(BrokerError::TopicNotExist(format!(
            "topic[{topic}] not exist"
        )));
    };
    let mut body = String::from("{\"offsetTable\":{");
    for q in 0..(config.write_queue_nums as u32).max(config.read_queue_nums as u32) {
        if q > 0 {
            body.push(',');
        }
        let min = offsets::min_offset(&broker.store, topic, q);
        let max = offsets::max_offset(&broker.store, topic, q);
        let last = if max > 0 {
            offsets::store_time_at(&broker.store, topic, q, max - 1)
                .ok()
                .flatten()
                .unwrap_or(0)
        } else {
            0
        };
        let _ = write!(
            body,
            "{}:{}",
            queue_key(&broker.config.broker_name, topic, q),
            json!({"lastUpdateTimestamp": last, "maxOffset": max, "minOffset": min})
        );
    }
    body.push_str("}}");
    Ok(req.success_response().with_body(Bytes::from(body)))
}

/// GET_CONSUME_STATS: per queue, the broker's max offset and the group's committed offset;
/// `consumeTps` is the group's pulled messages per second over the last minute on this node,
/// summed over the topics listed (Java's `tpsGroupGetNums`).
pub(crate) fn consume_stats(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let group = field(req, "consumerGroup")?;
    let only_topic = req.ext_fields.get("topic").filter(|t| !t.is_empty());
    let tables = broker.node.tables();
    let mut body = String::new();
    let mut consume_tps = 0.0;
    let mut first = true;
    let coalescer = lock(&broker.offsets);
    for ((g, topic), queues) in &tables.offsets {
        if g != group || only_topic.is_some_and(|t| t != topic) {
            continue;
        }
        consume_tps += broker.stats.group_get_tps(group, topic);
        for q in queues.keys() {
            let consumer = coalescer.query(&tables, group, topic, *q).unwrap_or(0);
            let broker_offset = offsets::max_offset(&broker.store, topic, *q);
            let last = if consumer > 0 {
                offsets::store_time_at(&broker.store, topic, *q, consumer - 1)
                    .ok()
                    .flatten()
                    .unwrap_or(0)
            } else {
                0
            };
            if !first {
                body.push(',');
            }
            first = false;
            let _ = write!(
                body,
                "{}:{}",
                queue_key(&broker.config.broker_name, topic, *q),
                json!({"brokerOffset": broker_offset, "consumerOffset": consumer, "lastTimestamp": last})
            );
        }
    }
    let body = format!("{{\"consumeTps\":{consume_tps:?},\"offsetTable\":{{{body}}}}}");
    Ok(req.success_response().with_body(Bytes::from(body)))
}

/// GET_PRODUCER_CONNECTION_LIST: the live connections of `producerGroup`.
pub(crate) fn producer_connections(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let group = field(req, "producerGroup")?;
    let members = lock(&broker.clients).producers(group);
    if members.is_empty() {
        return Err(BrokerError::system(format!(
            "the producer group[{group}] not exist"
        )));
    }
    let conns = lock(&broker.connections);
    let meta = lock(&broker.client_meta);
    let connection_set: Vec<Value> = members
        .iter()
        .map(|(client_id, connection)| {
            let (language, version) = meta.get(connection).cloned().unwrap_or(("JAVA".into(), 0));
            let addr = conns.get(connection).map(|c| c.peer().to_string());
            json!({
                "clientAddr": addr.unwrap_or_default(), "clientId": client_id,
                "language": language, "version": version
            })
        })
        .collect();
    Ok(req.success_response().with_body(Bytes::from(
        json!({ "connectionSet": connection_set }).to_string(),
    )))
}

/// GET_CONSUMER_CONNECTION_LIST: the group's live connections and subscriptions.
pub(crate) fn consumer_connections(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let group = field(req, "consumerGroup")?;
    let clients = lock(&broker.clients);
    let members = clients.consumer_connections(group);
    if members.is_empty() {
        return Err(BrokerError::ConsumerNotOnline(format!(
            "the consumer group[{group}] not online"
        )));
    }
    let conns = lock(&broker.connections);
    let meta = lock(&broker.client_meta);
    let connection_set: Vec<Value> = members
        .iter()
        .map(|m| {
            let (language, version) = meta.get(&m.connection).cloned().unwrap_or(("JAVA".into(), 0));
            json!({
                "clientAddr": conns.get(&m.connection).map(|c| c.peer().to_string()).unwrap_or_default(),
                "clientId": m.client_id, "language": language, "version": version
            })
        })
        .collect();
    let (consume_type, model, from) = clients.consumer_mode(group).unwrap_or(("", "", ""));
    let subscriptions: serde_json::Map<String, Value> = clients
        .subscriptions(group)
        .into_iter()
        .map(|s| {
            (
                s.topic.clone(),
                json!({"topic": s.topic, "subString": s.expression, "subVersion": s.sub_version,
                       "expressionType": s.expression_type, "tagsSet": [], "codeSet": [],
                       "classFilterMode": false}),
            )
        })
        .collect();
    let body = json!({
        "connectionSet": connection_set, "consumeFromWhere": from, "consumeType": consume_type,
        "messageModel": model, "subscriptionTable": subscriptions
    });
    Ok(req
        .success_response()
        .with_body(Bytes::from(body.to_string())))
}
