//! The broker and nameserver calls the subcommands share: one request to a broker (for the
//! queries [`crate::client`] does not wrap), the masters of a topic or cluster, a broker's
//! runtime info.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::CliError;
use super::args::Namesrv;
use crate::client::{Admin, ClientError, DEFAULT_TIMEOUT};
use crate::message::body::{JsonBody, KvTable};
use crate::remoting::{
    ClientConfig, ExtFields, RemotingClient, RemotingCommand, RequestCode, ResponseCode,
};

/// One request with an empty header to the broker at `addr`; a non-SUCCESS answer is an error.
pub(super) async fn broker_call(
    addr: &str,
    code: RequestCode,
) -> Result<RemotingCommand, CliError> {
    broker_request(addr, code, ExtFields::new(), Bytes::new()).await
}

/// One request with `ext` fields and `body` to the broker at `addr`, answered by any code.
pub(super) async fn broker_invoke(
    addr: &str,
    request: RemotingCommand,
) -> Result<RemotingCommand, CliError> {
    let code = request.request_code();
    let config = ClientConfig {
        credentials: super::signing::credentials(),
        ..ClientConfig::default()
    };
    let client = RemotingClient::new(addr, config);
    let result = client.invoke(request, DEFAULT_TIMEOUT).await;
    client.close().await;
    Ok(result.map_err(|source| ClientError::Network {
        addr: addr.to_owned(),
        code,
        source,
    })?)
}

/// [`broker_invoke`] where a non-SUCCESS answer is an error.
pub(super) async fn broker_request(
    addr: &str,
    code: RequestCode,
    ext: ExtFields,
    body: Bytes,
) -> Result<RemotingCommand, CliError> {
    let response = broker_invoke(addr, RemotingCommand::request(code, ext, body)).await?;
    if response.response_code() != ResponseCode::Success {
        return Err(crate::client::broker_error(addr, code, &response).into());
    }
    Ok(response)
}

pub(super) fn ext(fields: &[(&str, String)]) -> ExtFields {
    fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// `(broker name, master address)` of every broker group in `topic`'s route.
pub(super) async fn topic_masters(
    admin: &Admin,
    topic: &str,
) -> Result<Vec<(String, String)>, CliError> {
    let route = admin.topic_route(topic).await?;
    let masters: Vec<(String, String)> = route
        .broker_datas
        .iter()
        .filter_map(|b| Some((b.broker_name.clone(), b.master_addr()?.to_owned())))
        .collect();
    if masters.is_empty() {
        return Err(CliError::Failed(format!(
            "topic {topic}: no master in its route"
        )));
    }
    Ok(masters)
}

/// The brokers a `-b broker | -c cluster` command acts on: the one given, or every master of
/// the cluster (an error if it has none).
pub(super) async fn broker_or_cluster(
    ns: &Namesrv,
    broker: Option<&str>,
    cluster: Option<&str>,
) -> Result<Vec<String>, CliError> {
    match (broker, cluster) {
        (Some(addr), _) => Ok(vec![addr.to_owned()]),
        (None, Some(cluster)) => {
            let admin = super::signing::admin(ns.resolve()?)?;
            let masters = admin.cluster_masters(cluster).await?;
            if masters.is_empty() {
                return Err(CliError::Failed(format!(
                    "cluster {cluster:?} has no master"
                )));
            }
            Ok(masters.into_values().collect())
        }
        (None, None) => Err(CliError::Usage("give -b brokerAddr or -c cluster".into())),
    }
}

/// `(broker name, master address)` of every broker group the nameservers know.
pub(super) async fn all_masters(admin: &Admin) -> Result<Vec<(String, String)>, CliError> {
    let info = admin.cluster_info().await?;
    Ok(info
        .broker_addr_table
        .iter()
        .filter_map(|(name, data)| Some((name.clone(), data.master_addr()?.to_owned())))
        .collect())
}

/// GET_BROKER_RUNTIME_INFO (28): the broker's `{"table":{...}}`.
pub(super) async fn runtime_info(addr: &str) -> Result<BTreeMap<String, String>, CliError> {
    let code = RequestCode::GetBrokerRuntimeInfo;
    let response = broker_call(addr, code).await?;
    let table =
        KvTable::decode(&response.body).map_err(|e| crate::client::bad_response(addr, code, e))?;
    Ok(table.table)
}
