//! The request handlers, one file per family, and [`dispatch`]: the only place that maps a
//! request code to its handler. A handler takes the broker and the request and returns a
//! [`HandlerResult`](super::error::HandlerResult); failures are [`BrokerError`]s, whose response code is chosen in one
//! place. A new request code gets its handler in the file of its family (or a new one) and one
//! line in `dispatch`. Helpers every handler may use (ext fields, typed headers) are in
//! `request`.
//!
//! | file | requests |
//! | --- | --- |
//! | `send` | SEND_MESSAGE, SEND_MESSAGE_V2, SEND_BATCH_MESSAGE |
//! | `pull` | PULL_MESSAGE, long polling |
//! | `subscription` | CHECK_CLIENT_CONFIG; the filter a pull applies (tags, or SQL92 with `enablePropertyFilter`) |
//! | `offsets` | consumer offsets and offset lookups |
//! | `clients` | HEART_BEAT, UNREGISTER_CLIENT, GET_CONSUMER_LIST_BY_GROUP, group notifications |
//! | `admin` | topics, broker config, message by id |
//! | `runtime_info` | GET_BROKER_RUNTIME_INFO: Java's keys and ours |
//! | `broker_stats` | VIEW_BROKER_STATS_DATA |
//! | `stats` | QUERY_MESSAGE, subscription groups, topic and consume stats, connections |
//! | `reset` | INVOKE_BROKER_TO_RESET_OFFSET |
//! | `send_back` | CONSUMER_SEND_MSG_BACK |
//! | `lock` | LOCK_BATCH_MQ, UNLOCK_BATCH_MQ |
//! | `transaction` | END_TRANSACTION (a follower forwards it to its leader) |
//! | `reply` | SEND_REPLY_MESSAGE, SEND_REPLY_MESSAGE_V2 (request-reply: push to the requester) |

mod admin;
mod broker_stats;
pub(crate) mod clients;
mod lock;
mod offsets;
mod pull;
mod reply;
mod request;
mod reset;
mod runtime_info;
mod send;
mod send_back;
mod stats;
mod subscription;
mod transaction;

use std::sync::Arc;

use crate::common::sync;
use crate::remoting::{ConnectionInfo, Handler, RemotingCommand, RequestCode};

use super::error::BrokerError;
use super::server::Broker;

/// Answers one request: the handler its code names, or REQUEST_CODE_NOT_SUPPORTED; a oneway
/// request gets no answer (a failure is only logged).
pub(crate) async fn dispatch(
    broker: &Broker,
    conn: &ConnectionInfo,
    req: &RemotingCommand,
) -> Option<RemotingCommand> {
    let result = match req.request_code() {
        RequestCode::SendMessage | RequestCode::SendMessageV2 => {
            send::send(broker, conn, req, false).await
        }
        RequestCode::SendBatchMessage => send::send(broker, conn, req, true).await,
        RequestCode::SendReplyMessage | RequestCode::SendReplyMessageV2 => {
            reply::send_reply(broker, conn, req).await
        }
        RequestCode::PullMessage => pull::pull(broker, conn, req).await,
        RequestCode::QueryConsumerOffset => offsets::query_consumer_offset(broker, req).await,
        RequestCode::UpdateConsumerOffset => offsets::update_consumer_offset(broker, req),
        RequestCode::GetMaxOffset => offsets::max_offset(broker, req),
        RequestCode::GetMinOffset => offsets::min_offset(broker, req),
        RequestCode::SearchOffsetByTimestamp => offsets::search_offset(broker, req),
        RequestCode::GetEarliestMsgStoretime => offsets::earliest_store_time(broker, req),
        RequestCode::HeartBeat => clients::heartbeat(broker, conn, req).await,
        RequestCode::UnregisterClient => clients::unregister_client(broker, req).await,
        RequestCode::GetConsumerListByGroup => clients::consumer_list(broker, req),
        RequestCode::CheckClientConfig => subscription::check_client_config(broker, req),
        RequestCode::UpdateAndCreateTopic => admin::create_topic(broker, req).await,
        RequestCode::DeleteTopicInBroker => admin::delete_topic(broker, req).await,
        RequestCode::GetAllTopicConfig => admin::all_topic_config(broker, req),
        RequestCode::GetBrokerConfig => admin::broker_config(broker, req),
        RequestCode::GetBrokerRuntimeInfo => runtime_info::runtime_info(broker, req),
        RequestCode::ViewBrokerStatsData => broker_stats::view_broker_stats_data(broker, req),
        RequestCode::ViewMessageById => admin::view_message(broker, req),
        RequestCode::QueryMessage => stats::query_message(broker, req),
        RequestCode::UpdateAndCreateSubscriptiongroup => stats::create_group(broker, req).await,
        RequestCode::GetAllSubscriptiongroupConfig => stats::all_groups(broker, req),
        RequestCode::GetTopicStatsInfo => stats::topic_stats(broker, req),
        RequestCode::GetConsumeStats => stats::consume_stats(broker, req),
        RequestCode::GetConsumerConnectionList => stats::consumer_connections(broker, req),
        RequestCode::GetProducerConnectionList => stats::producer_connections(broker, req),
        RequestCode::DeleteSubscriptiongroup => stats::delete_group(broker, req).await,
        RequestCode::InvokeBrokerToResetOffset => reset::reset_offset(broker, req).await,
        RequestCode::ConsumerSendMsgBack => send_back::send_back(broker, req).await,
        RequestCode::LockBatchMq => lock::lock_batch(broker, req),
        RequestCode::UnlockBatchMq => lock::unlock_batch(broker, req),
        RequestCode::EndTransaction => transaction::end_transaction(broker, req).await,
        code => Err(BrokerError::NotSupported(format!(
            "request type {} not supported",
            code.as_i32()
        ))),
    };
    if req.is_oneway() {
        if let Err(e) = &result {
            tracing::debug!(code = %req.request_code(), error = %e, "oneway request failed");
        }
        return None;
    }
    Some(result.unwrap_or_else(|e| e.response_to(req)))
}

/// The remoting server's view of a broker.
#[derive(Debug, Clone)]
pub struct BrokerHandler(pub Arc<Broker>);

impl Handler for BrokerHandler {
    async fn handle(
        &self,
        conn: &ConnectionInfo,
        request: RemotingCommand,
    ) -> Option<RemotingCommand> {
        sync::lock(&self.0.connections)
            .entry(conn.id())
            .or_insert_with(|| conn.clone());
        if let Err(refused) = super::access::admit(&self.0, conn, &request) {
            return (!request.is_oneway()).then(|| refused.response_to(&request));
        }
        dispatch(&self.0, conn, &request).await
    }

    async fn connection_closed(&self, conn: &ConnectionInfo) {
        sync::lock(&self.0.connections).remove(&conn.id());
        sync::lock(&self.0.client_meta).remove(&conn.id());
        let changed = sync::lock(&self.0.clients).connection_closed(conn.id());
        self.0.notify_groups(&changed).await;
    }
}
