//! The group commands that act on every master: `deleteSubGroup` (DELETE_SUBSCRIPTIONGROUP)
//! and `producerConnection` (GET_PRODUCER_CONNECTION_LIST).

use std::io::Write;

use bytes::Bytes;

use super::CliError;
use super::args::{DeleteSubGroup, Namesrv};
use super::commands::{broker_request, ext, topic_masters};
use super::format::{self, ProducerConnection};
use crate::client::Admin;
use crate::remoting::RequestCode;

/// Deletes the group from `-b` or from every master of `-c`, one line per broker as Java
/// prints them; the first broker that refuses ends the command with its error.
pub(super) async fn delete_sub_group(
    args: &DeleteSubGroup,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let addrs = match (&args.broker, &args.cluster) {
        (Some(addr), _) => vec![addr.clone()],
        (None, Some(cluster)) => {
            let admin = Admin::new(args.ns.resolve()?)?;
            let masters = admin.cluster_masters(cluster).await?;
            if masters.is_empty() {
                return Err(CliError::Failed(format!(
                    "cluster {cluster:?} has no master"
                )));
            }
            masters.into_values().collect()
        }
        (None, None) => return Err(CliError::Usage("give -b brokerAddr or -c cluster".into())),
    };
    let fields = ext(&[
        ("groupName", args.group.clone()),
        ("cleanOffset", args.remove_offset.to_string()),
    ]);
    for addr in addrs {
        broker_request(
            &addr,
            RequestCode::DeleteSubscriptiongroup,
            fields.clone(),
            Bytes::new(),
        )
        .await?;
        match &args.cluster {
            Some(cluster) if args.broker.is_none() => writeln!(
                out,
                "delete subscription group [{}] from broker [{addr}] in cluster [{cluster}] success.",
                args.group
            )?,
            _ => writeln!(
                out,
                "delete subscription group [{}] from broker [{addr}] success.",
                args.group
            )?,
        }
    }
    Ok(())
}

/// Asks the masters of `topic`'s route for the group's connections and prints them merged
/// (a producer heartbeats to every master it sends to).
pub(super) async fn producer_connection(
    ns: &Namesrv,
    group: &str,
    topic: &str,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let admin = Admin::new(ns.resolve()?)?;
    let code = RequestCode::GetProducerConnectionList;
    let mut merged = ProducerConnection::default();
    let mut last_error = None;
    for (_, addr) in topic_masters(&admin, topic).await? {
        let fields = ext(&[("producerGroup", group.to_owned())]);
        let response = match broker_request(&addr, code, fields, Bytes::new()).await {
            Ok(r) => r,
            Err(e) => {
                last_error = Some(e);
                continue;
            }
        };
        let answer: ProducerConnection = serde_json::from_slice(&response.body)
            .map_err(|e| crate::client::bad_response(&addr, code, e))?;
        for conn in answer.connection_set {
            if !merged
                .connection_set
                .iter()
                .any(|c| c.client_id == conn.client_id)
            {
                merged.connection_set.push(conn);
            }
        }
    }
    if merged.connection_set.is_empty() {
        return Err(last_error.unwrap_or_else(|| {
            CliError::Failed(format!("the producer group[{group}] has no connection"))
        }));
    }
    write!(out, "{}", format::producer_connection(&merged))?;
    Ok(())
}
