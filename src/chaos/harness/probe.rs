//! Questions the harness asks the servers, each one request with a short timeout and `None`
//! for no answer (a paused or cut-off server simply does not answer): a nameserver's groups,
//! a broker's runtime table, and the group facts built on them (its Raft leader, whether
//! every nameserver names one master).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::message::body::{ClusterInfo, JsonBody, KvTable};
use crate::remoting::{ClientConfig, RemotingClient, RemotingCommand, RequestCode};

use super::nodes::{Layout, NodeId};

const TIMEOUT: Duration = Duration::from_millis(800);

async fn request(addr: &str, code: RequestCode) -> Option<bytes::Bytes> {
    let client = RemotingClient::new(addr.to_owned(), ClientConfig::default());
    let req = RemotingCommand::request(code, Default::default(), Default::default());
    let resp = tokio::time::timeout(TIMEOUT, client.invoke(req, TIMEOUT)).await;
    client.close().await;
    Some(resp.ok()?.ok()?.body)
}

/// brokerName → (brokerId, address) pairs as the nameserver at `namesrv` lists them.
pub async fn groups(namesrv: &str) -> Option<BTreeMap<String, Vec<(u64, String)>>> {
    let body = request(namesrv, RequestCode::GetBrokerClusterInfo).await?;
    let info = ClusterInfo::decode(&body).ok()?;
    Some(
        info.broker_addr_table
            .into_iter()
            .map(|(name, data)| (name, data.broker_addrs.into_iter().collect()))
            .collect(),
    )
}

/// A broker's GET_BROKER_RUNTIME_INFO table.
pub async fn runtime(addr: &str) -> Option<BTreeMap<String, String>> {
    let body = request(addr, RequestCode::GetBrokerRuntimeInfo).await?;
    KvTable::decode(&body).ok().map(|kv| kv.table)
}

/// A number from a runtime table.
pub fn number(table: &BTreeMap<String, String>, key: &str) -> Option<u64> {
    table.get(key)?.parse().ok()
}

/// The node of `group` that says it leads, in the highest term any says so.
pub async fn leader(layout: &Layout, group: usize) -> Option<NodeId> {
    let mut best: Option<(u64, NodeId)> = None;
    for id in layout.nodes().into_iter().filter(|n| n.group == group) {
        let Some(table) = runtime(&layout.broker_addr(id)).await else {
            continue;
        };
        let term = number(&table, "raftTerm").unwrap_or(0);
        if table.get("raftRole").map(String::as_str) == Some("Leader")
            && best.is_none_or(|(t, _)| term > t)
        {
            best = Some((term, id));
        }
    }
    best.map(|(_, id)| id)
}

/// The address every nameserver names as `group`'s master, if they all name the same one.
pub async fn agreed_master(layout: &Layout, group: usize) -> Option<String> {
    let name = super::nodes::broker_group(group);
    let mut agreed: Option<String> = None;
    for ns in layout.namesrvs() {
        let brokers = groups(&ns).await?.remove(&name)?;
        let master = brokers.into_iter().find(|(id, _)| *id == 0)?.1;
        match &agreed {
            Some(m) if *m != master => return None,
            _ => agreed = Some(master),
        }
    }
    agreed
}

/// Whether node `id` has applied at least what the most advanced other node of its group had
/// applied when asked (`false` when it does not answer).
pub async fn caught_up(layout: &Layout, id: NodeId) -> bool {
    let mut target = 0;
    for other in layout
        .nodes()
        .into_iter()
        .filter(|n| n.group == id.group && *n != id)
    {
        if let Some(t) = runtime(&layout.broker_addr(other)).await {
            target = target.max(number(&t, "raftApplied").unwrap_or(0));
        }
    }
    let mine = runtime(&layout.broker_addr(id)).await;
    mine.and_then(|t| number(&t, "raftApplied"))
        .is_some_and(|a| a >= target)
}
