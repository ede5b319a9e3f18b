//! Client management: HEART_BEAT (34), UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38),
//! and the NOTIFY_CONSUMER_IDS_CHANGED (40) the broker sends when a group changes
//! (remoting.md §5.1–5.3, §5.9).
//!
//! A heartbeat on the leader also makes sure each consumer group's subscription config and
//! `%RETRY%<group>` topic exist (replicated admin entries), as a Java broker does.

use std::time::Instant;

use bytes::Bytes;

use crate::broker::on_demand;
use crate::broker::server::{Broker, BrokerError, HandlerResult, lock};
use crate::message::body::heartbeat::parse_heartbeat;
use crate::remoting::header::admin::GetConsumerListByGroupRequestHeader;
use crate::remoting::{ConnectionInfo, RemotingCommand};

pub(crate) async fn heartbeat(
    broker: &Broker,
    conn: &ConnectionInfo,
    req: &RemotingCommand,
) -> HandlerResult {
    let hb = parse_heartbeat(&req.body).map_err(|e| BrokerError::system(e.to_string()))?;
    let changed = lock(&broker.clients).heartbeat(conn.id(), &hb, Instant::now());
    let language = req.language.java_name().unwrap_or("OTHER").to_string();
    lock(&broker.client_meta).insert(conn.id(), (language, req.version));
    if broker.is_leader() {
        for c in &hb.consumers {
            ensure_group(broker, &c.group).await;
        }
    }
    broker.notify_groups(&changed).await;
    Ok(req.success_response())
}

/// Creates a consumer group's config and retry topic when missing (leader only, best effort:
/// the next heartbeat tries again).
async fn ensure_group(broker: &Broker, group: &str) {
    if let Err(e) = on_demand::consumer_group(broker, group).await {
        tracing::debug!(group, error = %e, "could not create the group's config yet");
    }
}

pub(crate) async fn unregister_client(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let field = |k: &str| {
        req.ext_fields
            .get(k)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let Some(client_id) = field("clientID") else {
        return Err(BrokerError::system("the custom field clientID is null"));
    };
    let changed =
        lock(&broker.clients).unregister(client_id, field("producerGroup"), field("consumerGroup"));
    broker.notify_groups(&changed).await;
    Ok(req.success_response())
}

pub(crate) fn consumer_list(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let h: GetConsumerListByGroupRequestHeader = req
        .header()
        .map_err(|e| BrokerError::system(e.to_string()))?;
    let ids = lock(&broker.clients).consumer_ids(&h.consumer_group);
    if ids.is_empty() {
        return Err(BrokerError::system(format!(
            "no consumer for this group, {}",
            h.consumer_group
        )));
    }
    let body = serde_json::json!({ "consumerIdList": ids }).to_string();
    Ok(req.success_response().with_body(Bytes::from(body)))
}
