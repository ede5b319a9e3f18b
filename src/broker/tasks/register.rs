//! Registration with the nameservers (remoting.md §3.2, DESIGN.md "Leadership and routes").
//!
//! The leader (lease fresh, everything applied) registers as brokerId 0 with its Raft term; a
//! follower as its node number + 1, as Java's DLedger mode does (`n0` -> 1, `n1` -> 2), so no
//! numbering makes a follower collide with the master. Every leadership change and every topic change re-registers at
//! once with every nameserver, each through a worker of its own (an unreachable one delays
//! only itself, and is retried within a second); otherwise every `registerNameServerPeriod`
//! (30 s). A node whose lease lapses
//! drops to its follower id on its next registration, which (with the nameserver's rule that an
//! address holds one place) removes its claim to brokerId 0. At shutdown the broker unregisters.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::broker::server::Broker;
use crate::message::body::{JsonBody, RegisterBrokerBody};
use crate::raft::Leadership;
use crate::remoting::header::namesrv::{
    RegisterBrokerRequestHeader, UnRegisterBrokerRequestHeader,
};
use crate::remoting::{ClientConfig, RemotingClient, RemotingCommand, RequestCode};

/// How long one registration call may take.
const REGISTER_TIMEOUT: Duration = Duration::from_secs(3);

/// The broker id this node registers with now, and the Raft term of a claim to master: the
/// lease is checked as the registration is built, not as the leadership watch last saw it.
fn broker_id(broker: &Broker) -> (i64, Option<u64>) {
    registered_id(broker.node.leader_term_now(), broker.node.id())
}

/// brokerId 0 (with the term) while leading, else `node + 1`: Java's DLedger mode registers a
/// follower as `selfId`'s number + 1, so `n0` never takes the master's id.
fn registered_id(leader_term: Option<u64>, node: u64) -> (i64, Option<u64>) {
    match leader_term {
        Some(term) => (0, Some(term)),
        None => (
            i64::try_from(node).map_or(i64::MAX, |n| n.saturating_add(1)),
            None,
        ),
    }
}

/// Registers with one nameserver; `round` versions the topic table. Returns whether the
/// nameserver accepted it. Failures are logged by the caller's worker.
async fn register_with(broker: &Broker, client: &RemotingClient, round: i64) -> Result<(), String> {
    let (broker_id, term) = broker_id(broker);
    let header = RegisterBrokerRequestHeader {
        broker_name: broker.config.broker_name.clone(),
        broker_addr: broker.store_host.to_string(),
        cluster_name: broker.config.broker_cluster_name.clone(),
        ha_server_addr: format!(
            "{}:{}",
            broker.store_host.ip(),
            broker.store_host.port() + 1
        ),
        broker_id,
        compressed: None,
        body_crc32: None,
        raft_term: term.and_then(|t| i64::try_from(t).ok()),
    };
    let body = RegisterBrokerBody {
        filter_server_list: Vec::new(),
        topic_config_serialize_wrapper: broker.topic_wrapper(round),
    }
    .encode();
    let cmd = RemotingCommand::request(
        RequestCode::RegisterBroker,
        Default::default(),
        Bytes::from(body),
    )
    .with_header(&header);
    match client.invoke(cmd, REGISTER_TIMEOUT).await {
        Ok(r) if r.response_code().is_success() => {
            tracing::debug!(namesrv = %client.addr(), broker_id, "registered");
            Ok(())
        }
        Ok(r) => Err(format!("refused: {} {:?}", r.response_code(), r.remark)),
        Err(e) => Err(e.to_string()),
    }
}

/// Unregisters from every nameserver (graceful shutdown).
pub async fn unregister_all(broker: &Broker, clients: &[RemotingClient]) {
    let header = UnRegisterBrokerRequestHeader {
        broker_name: broker.config.broker_name.clone(),
        broker_addr: broker.store_host.to_string(),
        cluster_name: broker.config.broker_cluster_name.clone(),
        broker_id: broker_id(broker).0,
    };
    let calls = clients.iter().map(|c| {
        let cmd = RemotingCommand::request(
            RequestCode::UnregisterBroker,
            Default::default(),
            Bytes::new(),
        )
        .with_header(&header);
        async move { c.invoke(cmd, REGISTER_TIMEOUT).await }
    });
    futures_util::future::join_all(calls).await;
}

/// One client per nameserver address.
pub fn namesrv_clients(broker: &Broker) -> Vec<RemotingClient> {
    broker
        .config
        .namesrv_addr
        .iter()
        .map(|hp| RemotingClient::new(format!("{}:{}", hp.host, hp.port), ClientConfig::default()))
        .collect()
}

/// Keeps the registration true until `shutdown`: at start, on every leadership change, on every
/// topic change, and every `registerNameServerPeriod`.
///
/// Each nameserver has a worker of its own that registers the latest state whenever a round
/// begins, so an unreachable nameserver (a partitioned host) only delays its own route: a new
/// master reaches the others at once. A worker whose registration failed tries again after
/// 500 ms (`RETRY_AFTER_FAILURE`) instead of waiting for the next period, so routes heal within a
/// second of a partition healing.
pub(super) async fn run(
    broker: Arc<Broker>,
    clients: Vec<RemotingClient>,
    cancel: CancellationToken,
) {
    let period = Duration::from_millis(broker.config.register_name_server_period_ms.max(1000));
    let mut leadership = broker.node.leadership();
    let (rounds, _) = watch::channel(0i64);
    let mut workers = tokio::task::JoinSet::new();
    for client in clients {
        workers.spawn(registration_worker(
            broker.clone(),
            client,
            rounds.subscribe(),
            cancel.clone(),
        ));
    }
    loop {
        // Mark the current leadership as seen *before* the round starts: a change that lands
        // while registrations are in flight then starts another round instead of being lost.
        let current: Leadership = leadership.borrow_and_update().clone();
        rounds.send_modify(|round| *round += 1);
        tracing::debug!(?current, "registration round");
        tokio::select! {
            changed = leadership.changed() => if changed.is_err() { break },
            () = broker.topics_changed.notified() => {}
            _ = tokio::time::sleep(period) => {}
            () = cancel.cancelled() => break,
        }
    }
    drop(rounds);
    while workers.join_next().await.is_some() {}
}

/// How soon a worker tries again after its nameserver failed or refused a registration.
const RETRY_AFTER_FAILURE: Duration = Duration::from_millis(500);
/// A failing nameserver is reported at most this often.
const REPORT_FAILURES_EVERY: Duration = Duration::from_secs(30);

/// One nameserver's registrations: the latest round, again after a failure.
async fn registration_worker(
    broker: Arc<Broker>,
    client: RemotingClient,
    mut rounds: watch::Receiver<i64>,
    cancel: CancellationToken,
) {
    let mut reported: Option<std::time::Instant> = None;
    loop {
        let round = *rounds.borrow_and_update();
        let failed = match register_with(&broker, &client, round).await {
            Ok(()) => {
                if reported.take().is_some() {
                    tracing::info!(namesrv = %client.addr(), "registration works again");
                }
                false
            }
            Err(e) => {
                if reported.is_none_or(|at| at.elapsed() >= REPORT_FAILURES_EVERY) {
                    reported = Some(std::time::Instant::now());
                    tracing::warn!(namesrv = %client.addr(), error = %e, "registration failed; retrying");
                }
                true
            }
        };
        tokio::select! {
            changed = rounds.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(RETRY_AFTER_FAILURE), if failed => {}
            () = cancel.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::registered_id;

    #[test]
    fn a_follower_registers_as_its_node_number_plus_one_and_the_leader_as_zero() {
        assert_eq!(registered_id(None, 0), (1, None));
        assert_eq!(registered_id(None, 1), (2, None));
        assert_eq!(registered_id(None, 3), (4, None));
        assert_eq!(registered_id(Some(7), 0), (0, Some(7)));
        assert_eq!(registered_id(Some(7), 2), (0, Some(7)));
    }
}
