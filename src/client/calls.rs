//! One typed request to a broker each, shared by the consumer and [`Admin`](super::Admin):
//! consumer offsets (remoting.md §5.5), offset lookups (§5.6), the consumer list (§5.3),
//! HEART_BEAT (§5.1) and UNREGISTER_CLIENT (§5.2). Each checks the response code and parses
//! the response header; none retries.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::connections::Connections;
use super::namesrv::request;
use super::{ClientError, bad_response, broker_error};
use crate::remoting::header::{
    GetConsumerListByGroupRequestHeader, GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader,
    GetMinOffsetRequestHeader, GetMinOffsetResponseHeader, QueryConsumerOffsetRequestHeader,
    QueryConsumerOffsetResponseHeader, SearchOffsetRequestHeader, SearchOffsetResponseHeader,
    UpdateConsumerOffsetRequestHeader,
};
use crate::remoting::{CommandHeader, ExtFields, RemotingCommand, RequestCode, ResponseCode};

/// Sends `request` to `addr` and returns the response if its code is SUCCESS.
pub(crate) async fn call(
    conns: &Connections,
    addr: &str,
    request: RemotingCommand,
    timeout: Duration,
) -> Result<RemotingCommand, ClientError> {
    let code = request.request_code();
    let response = conns.invoke(addr, request, timeout).await?;
    if response.response_code() != ResponseCode::Success {
        return Err(broker_error(addr, code, &response));
    }
    Ok(response)
}

/// Parses the response header `H` of a SUCCESS answer to `code`.
fn parse_header<H: CommandHeader>(
    addr: &str,
    code: RequestCode,
    response: &RemotingCommand,
) -> Result<H, ClientError> {
    response
        .header::<H>()
        .map_err(|err| bad_response(addr, code, err))
}

/// QUERY_CONSUMER_OFFSET (14): the group's committed offset, `None` when the broker has none
/// (QUERY_NOT_FOUND, 22).
pub(crate) async fn query_consumer_offset(
    conns: &Connections,
    addr: &str,
    header: QueryConsumerOffsetRequestHeader,
    timeout: Duration,
) -> Result<Option<i64>, ClientError> {
    let code = RequestCode::QueryConsumerOffset;
    let response = conns
        .invoke(addr, request(code).with_header(&header), timeout)
        .await?;
    match response.response_code() {
        ResponseCode::Success => {
            let h: QueryConsumerOffsetResponseHeader = parse_header(addr, code, &response)?;
            Ok(Some(h.offset))
        }
        ResponseCode::QueryNotFound => Ok(None),
        _ => Err(broker_error(addr, code, &response)),
    }
}

/// UPDATE_CONSUMER_OFFSET (15), waiting for the broker's SUCCESS.
pub(crate) async fn update_consumer_offset(
    conns: &Connections,
    addr: &str,
    header: UpdateConsumerOffsetRequestHeader,
    timeout: Duration,
) -> Result<(), ClientError> {
    let req = request(RequestCode::UpdateConsumerOffset).with_header(&header);
    call(conns, addr, req, timeout).await.map(drop)
}

/// GET_MAX_OFFSET (30): one past the last message of the queue.
pub(crate) async fn max_offset(
    conns: &Connections,
    addr: &str,
    topic: &str,
    queue_id: i32,
    timeout: Duration,
) -> Result<i64, ClientError> {
    let code = RequestCode::GetMaxOffset;
    let header = GetMaxOffsetRequestHeader {
        topic: topic.to_owned(),
        queue_id,
    };
    let response = call(conns, addr, request(code).with_header(&header), timeout).await?;
    parse_header::<GetMaxOffsetResponseHeader>(addr, code, &response).map(|h| h.offset)
}

/// GET_MIN_OFFSET (31): the first offset still stored.
pub(crate) async fn min_offset(
    conns: &Connections,
    addr: &str,
    topic: &str,
    queue_id: i32,
    timeout: Duration,
) -> Result<i64, ClientError> {
    let code = RequestCode::GetMinOffset;
    let header = GetMinOffsetRequestHeader {
        topic: topic.to_owned(),
        queue_id,
    };
    let response = call(conns, addr, request(code).with_header(&header), timeout).await?;
    parse_header::<GetMinOffsetResponseHeader>(addr, code, &response).map(|h| h.offset)
}

/// SEARCH_OFFSET_BY_TIMESTAMP (29): the offset of the message stored at (or nearest to)
/// `timestamp` ms.
pub(crate) async fn search_offset(
    conns: &Connections,
    addr: &str,
    topic: &str,
    queue_id: i32,
    timestamp: i64,
    timeout: Duration,
) -> Result<i64, ClientError> {
    let code = RequestCode::SearchOffsetByTimestamp;
    let header = SearchOffsetRequestHeader {
        topic: topic.to_owned(),
        queue_id,
        timestamp,
    };
    let response = call(conns, addr, request(code).with_header(&header), timeout).await?;
    parse_header::<SearchOffsetResponseHeader>(addr, code, &response).map(|h| h.offset)
}

/// GET_CONSUMER_LIST_BY_GROUP's body.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct ConsumerIdList {
    pub(crate) consumer_id_list: Vec<String>,
}

/// GET_CONSUMER_LIST_BY_GROUP (38): the client ids of the group's live consumers on that
/// broker, sorted.
pub(crate) async fn consumer_list(
    conns: &Connections,
    addr: &str,
    group: &str,
    timeout: Duration,
) -> Result<Vec<String>, ClientError> {
    let code = RequestCode::GetConsumerListByGroup;
    let header = GetConsumerListByGroupRequestHeader {
        consumer_group: group.to_owned(),
    };
    let response = call(conns, addr, request(code).with_header(&header), timeout).await?;
    let list: ConsumerIdList = crate::message::body::decode_lenient(&response.body)
        .map_err(|err| bad_response(addr, code, err))?;
    let mut ids = list.consumer_id_list;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// HEART_BEAT (34) with a HeartbeatData body (remoting.md §5.1).
pub(crate) async fn heartbeat(
    conns: &Connections,
    addr: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<(), ClientError> {
    let req = request(RequestCode::HeartBeat).with_body(body);
    call(conns, addr, req, timeout).await.map(drop)
}

/// UNREGISTER_CLIENT (35) for one producer or consumer group.
pub(crate) async fn unregister_client(
    conns: &Connections,
    addr: &str,
    client_id: &str,
    producer_group: Option<&str>,
    consumer_group: Option<&str>,
    timeout: Duration,
) -> Result<(), ClientError> {
    let mut fields = ExtFields::new();
    fields.insert("clientID".into(), client_id.to_owned());
    if let Some(group) = producer_group {
        fields.insert("producerGroup".into(), group.to_owned());
    }
    if let Some(group) = consumer_group {
        fields.insert("consumerGroup".into(), group.to_owned());
    }
    let mut req = request(RequestCode::UnregisterClient);
    req.ext_fields = fields;
    call(conns, addr, req, timeout).await.map(drop)
}

/// HeartbeatData (remoting.md §5.1), written with Java's member names and enum names.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct HeartbeatData {
    #[serde(rename = "clientID")]
    pub(crate) client_id: String,
    #[serde(rename = "producerDataSet")]
    pub(crate) producers: Vec<ProducerData>,
    #[serde(rename = "consumerDataSet")]
    pub(crate) consumers: Vec<ConsumerData>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProducerData {
    pub(crate) group_name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConsumerData {
    pub(crate) group_name: String,
    /// `CONSUME_ACTIVELY`: a pull consumer.
    pub(crate) consume_type: &'static str,
    pub(crate) message_model: &'static str,
    pub(crate) consume_from_where: &'static str,
    pub(crate) unit_mode: bool,
    pub(crate) subscription_data_set: Vec<SubscriptionData>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SubscriptionData {
    pub(crate) topic: String,
    pub(crate) sub_string: String,
    pub(crate) tags_set: Vec<String>,
    pub(crate) code_set: Vec<i64>,
    pub(crate) sub_version: i64,
    pub(crate) expression_type: &'static str,
    pub(crate) class_filter_mode: bool,
}

impl HeartbeatData {
    /// The JSON body.
    pub(crate) fn encode(&self) -> Vec<u8> {
        // Plain strings, numbers and lists: serde_json cannot fail on them.
        serde_json::to_vec(self).unwrap_or_default()
    }
}
