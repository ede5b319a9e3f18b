//! END_TRANSACTION (37): a producer's outcome for a half message, or its answer to a check.
//!
//! On the leader it settles the half message (see [`crate::broker::transaction`]): commit or
//! rollback, exactly once; an outcome the producer does not know yet (`UNKNOW`) changes nothing,
//! and the leader's checks ask again. Java answers only on the master; a producer whose route
//! still names an old master sends its oneway END_TRANSACTION to a node that now follows, where
//! Java's slave drops it and the transaction waits for a check. Here a follower forwards it to
//! its group's leader (found in a nameserver's route for the group's own topic, retried while
//! a failover settles), marking it so that it is forwarded once at most.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::request::header;
use crate::broker::server::{Broker, BrokerError, HandlerResult};
use crate::broker::transaction::{Claim, Settle, Settled, settle};
use crate::message::body::{JsonBody, TopicRouteData};
use crate::message::transaction::Outcome;
use crate::remoting::header::{EndTransactionRequestHeader, GetRouteInfoRequestHeader};
use crate::remoting::{ClientConfig, RemotingClient, RemotingCommand, RequestCode};

/// Ext field a follower adds to the END_TRANSACTION it forwards.
const FORWARDED: &str = "forwardedByFollower";
/// How long a follower keeps looking for its leader (a failover takes about a second).
const FORWARD_DEADLINE: Duration = Duration::from_secs(5);
/// One call to a nameserver or to the leader.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// Handles END_TRANSACTION.
pub(crate) async fn end_transaction(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let h: EndTransactionRequestHeader = header(req)?;
    let from_check = h.from_transaction_check.unwrap_or(false);
    let how = match Outcome::from_code(h.commit_or_rollback) {
        Some(Outcome::Commit) => Settle::Commit,
        Some(Outcome::Rollback) => Settle::Rollback,
        Some(Outcome::Unknown) => {
            tracing::info!(
                group = %h.producer_group, offset = h.tran_state_table_offset, from_check,
                "a producer does not know its transaction's outcome yet; it will be checked"
            );
            return Ok(req.success_response());
        }
        None => {
            return Err(BrokerError::system(format!(
                "commitOrRollback {} is not a transaction outcome (8 commit, 12 rollback, 0 unknown)",
                h.commit_or_rollback
            )));
        }
    };
    let (Ok(half_offset), Ok(commitlog_offset)) = (
        u64::try_from(h.tran_state_table_offset),
        u64::try_from(h.commit_log_offset),
    ) else {
        return Err(BrokerError::system(
            "The transaction state table offset wrong",
        ));
    };
    if !broker.is_leader() && !req.ext_fields.contains_key(FORWARDED) {
        return forward_to_leader(broker, req).await;
    }
    let claim = Claim {
        producer_group: &h.producer_group,
        half_offset,
        commitlog_offset,
    };
    let settled = settle(broker, &claim, how).await?;
    tracing::info!(
        group = %h.producer_group, offset = half_offset, outcome = ?how, from_check,
        msg_id = %h.msg_id, already = settled == Settled::Already,
        "transaction ended"
    );
    Ok(req.success_response())
}

/// Forwards END_TRANSACTION from a follower to its group's leader and relays the answer.
async fn forward_to_leader(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let started = Instant::now();
    let mut last = String::from("no nameserver configured");
    while started.elapsed() < FORWARD_DEADLINE {
        match leader_address(broker).await {
            Ok(Some(addr)) if addr != broker.store_host.to_string() => {
                let mut fields = req.ext_fields.clone();
                fields.insert(FORWARDED.to_string(), "true".to_string());
                let mut forwarded =
                    RemotingCommand::request(RequestCode::EndTransaction, fields, Bytes::new());
                if let Some(acl) = &broker.acl {
                    // The added field breaks the client's signature; the account's own key,
                    // from the same rules that just admitted the request, signs it again.
                    acl.resign(&mut forwarded);
                }
                let client = RemotingClient::new(addr.clone(), ClientConfig::default());
                match client.invoke(forwarded, CALL_TIMEOUT).await {
                    Ok(answer) if answer.response_code().is_success() => {
                        tracing::info!(leader = %addr, "END_TRANSACTION forwarded to the leader");
                        return Ok(req.success_response());
                    }
                    Ok(answer) => {
                        return Err(BrokerError::system(format!(
                            "the leader {addr} refused the forwarded END_TRANSACTION: {}",
                            answer.remark.unwrap_or_default()
                        )));
                    }
                    Err(e) => last = format!("the leader {addr} did not answer: {e}"),
                }
            }
            Ok(_) => last = "the group has no other master in the route yet".to_string(),
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tracing::warn!(why = %last, "END_TRANSACTION not forwarded; the leader's check will ask again");
    Err(BrokerError::Unavailable(format!(
        "this broker is not the leader and could not reach it: {last}"
    )))
}

/// The address the nameservers list as this group's master (brokerId 0), from the route of
/// the topic named after the group (every group registers it).
async fn leader_address(broker: &Broker) -> Result<Option<String>, String> {
    let name = &broker.config.broker_name;
    let mut last = String::from("no nameserver configured");
    for hp in &broker.config.namesrv_addr {
        let client =
            RemotingClient::new(format!("{}:{}", hp.host, hp.port), ClientConfig::default());
        let header = GetRouteInfoRequestHeader {
            topic: name.clone(),
            accept_standard_json_only: Some(true),
        };
        let cmd = RemotingCommand::request(
            RequestCode::GetRouteinfoByTopic,
            Default::default(),
            Bytes::new(),
        )
        .with_header(&header);
        match client.invoke(cmd, CALL_TIMEOUT).await {
            Ok(r) if r.response_code().is_success() => {
                let route = TopicRouteData::decode(&r.body).map_err(|e| e.to_string())?;
                return Ok(route
                    .broker_datas
                    .into_iter()
                    .find(|b| &b.broker_name == name)
                    .and_then(|b| b.broker_addrs.get(&0).cloned()));
            }
            Ok(r) => last = format!("{} answered {}", client.addr(), r.response_code()),
            Err(e) => last = format!("{}: {e}", client.addr()),
        }
    }
    Err(last)
}
