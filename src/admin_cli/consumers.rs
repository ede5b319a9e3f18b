//! The consumer-group subcommands that read or configure a group: `consumerProgress`
//! (GET_CONSUME_STATS; without `-g` one line per group that has a `%RETRY%` topic, as Java
//! lists them), `consumerConnection` (GET_CONSUMER_CONNECTION_LIST, merged over the
//! masters) and `updateSubGroup`. The other group commands are in `groups`.

use std::io::Write;

use bytes::Bytes;

use super::CliError;
use super::args::{Namesrv, UpdateSubGroup};
use super::calls::{all_masters, broker_or_cluster, broker_request, ext, topic_masters};
use super::format;
use crate::message::names::{RETRY_PREFIX, retry_topic_name};
use crate::remoting::{ExtFields, RequestCode};

/// `consumerProgress` without `-g`: every consumer group the nameservers know a `%RETRY%`
/// topic of, with its connections (from the first master that knows it online) and its
/// consume stats summed over the masters of that topic. A group whose broker calls fail
/// still gets its line, with what was learned (Java logs and goes on the same way).
pub(super) async fn all_groups_progress(
    ns: &Namesrv,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let admin = super::signing::admin(ns.resolve()?)?;
    let topics = admin.all_topics().await?;
    let mut rows = Vec::new();
    for group in topics
        .topic_list
        .iter()
        .filter_map(|t| t.strip_prefix(RETRY_PREFIX))
    {
        let masters = topic_masters(&admin, &retry_topic_name(group))
            .await
            .unwrap_or_default();
        let mut row = format::GroupProgressRow {
            group: group.to_owned(),
            ..format::GroupProgressRow::default()
        };
        let fields = ext(&[("consumerGroup", group.to_owned())]);
        for (_, addr) in &masters {
            let answer = broker_request(
                addr,
                RequestCode::GetConsumeStats,
                fields.clone(),
                Bytes::new(),
            );
            if let Ok(response) = answer.await
                && let Ok((queues, tps)) = format::progress_rows(&response.body)
            {
                row.consume_tps += tps;
                row.diff_total += queues
                    .iter()
                    .map(|q| q.broker_offset - q.consumer_offset)
                    .sum::<i64>();
            }
        }
        for (_, addr) in &masters {
            let code = RequestCode::GetConsumerConnectionList;
            let Ok(response) = broker_request(addr, code, fields.clone(), Bytes::new()).await
            else {
                continue;
            };
            if let Ok(c) = serde_json::from_slice::<format::ConsumerConnection>(&response.body) {
                row.count = c.connection_set.len();
                row.min_version = c
                    .connection_set
                    .iter()
                    .map(|c| c.version)
                    .min()
                    .unwrap_or(0);
                row.consume_type = c.consume_type;
                row.message_model = c.message_model;
                break;
            }
        }
        rows.push(row);
    }
    write!(out, "{}", format::group_progress_table(&rows))?;
    Ok(())
}

pub(super) async fn consumer_progress(
    ns: &Namesrv,
    group: &str,
    topic: Option<&str>,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let admin = super::signing::admin(ns.resolve()?)?;
    let masters = match topic {
        Some(t) => topic_masters(&admin, t).await?,
        None => all_masters(&admin).await?,
    };
    let code = RequestCode::GetConsumeStats;
    let mut fields = vec![("consumerGroup", group.to_owned())];
    if let Some(t) = topic {
        fields.push(("topic", t.to_owned()));
    }
    let (mut rows, mut tps) = (Vec::new(), 0.0);
    for (_, addr) in masters {
        let response = broker_request(&addr, code, ext(&fields), Bytes::new()).await?;
        let (r, t) = format::progress_rows(&response.body)
            .map_err(|e| crate::client::bad_response(&addr, code, e))?;
        rows.extend(r);
        tps += t;
    }
    write!(out, "{}", format::progress_table(&rows, tps))?;
    Ok(())
}

pub(super) async fn consumer_connection(
    ns: &Namesrv,
    group: &str,
    broker: Option<&str>,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let addrs = match broker {
        Some(addr) => vec![addr.to_owned()],
        None => {
            let admin = super::signing::admin(ns.resolve()?)?;
            all_masters(&admin)
                .await?
                .into_iter()
                .map(|(_, a)| a)
                .collect()
        }
    };
    let code = RequestCode::GetConsumerConnectionList;
    let mut merged: Option<format::ConsumerConnection> = None;
    let mut last_error = None;
    for addr in addrs {
        let answer = broker_request(
            &addr,
            code,
            ext(&[("consumerGroup", group.to_owned())]),
            Bytes::new(),
        )
        .await;
        let response = match answer {
            Ok(r) => r,
            Err(e) => {
                last_error = Some(e);
                continue;
            }
        };
        let c: format::ConsumerConnection = serde_json::from_slice(&response.body)
            .map_err(|e| crate::client::bad_response(&addr, code, e))?;
        match &mut merged {
            None => merged = Some(c),
            Some(m) => {
                for conn in c.connection_set {
                    if !m
                        .connection_set
                        .iter()
                        .any(|x| x.client_id == conn.client_id)
                    {
                        m.connection_set.push(conn);
                    }
                }
                for (k, v) in c.subscription_table {
                    m.subscription_table.entry(k).or_insert(v);
                }
            }
        }
    }
    match merged {
        Some(c) => write!(out, "{}", format::consumer_connection(&c))?,
        None => {
            return Err(last_error
                .unwrap_or_else(|| CliError::Failed("the nameservers know no master".into())));
        }
    }
    Ok(())
}

pub(super) async fn update_sub_group(
    args: &UpdateSubGroup,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let config = format::SubGroupConfig {
        group_name: args.group.clone(),
        consume_enable: args.consume_enable,
        consume_from_min_enable: true,
        consume_broadcast_enable: args.broadcast_enable,
        retry_queue_nums: args.retry_queue_nums,
        retry_max_times: args.retry_max_times,
        broker_id: 0,
        which_broker_when_consume_slowly: 1,
        notify_consumer_ids_changed_enable: true,
    };
    let addrs =
        broker_or_cluster(&args.ns, args.broker.as_deref(), args.cluster.as_deref()).await?;
    let body =
        Bytes::from(serde_json::to_vec(&config).map_err(|e| CliError::Failed(e.to_string()))?);
    for addr in addrs {
        broker_request(
            &addr,
            RequestCode::UpdateAndCreateSubscriptiongroup,
            ExtFields::new(),
            body.clone(),
        )
        .await?;
        writeln!(out, "create subscription group to {addr} success.")?;
    }
    write!(out, "{}", format::sub_group_line(&config))?;
    Ok(())
}
