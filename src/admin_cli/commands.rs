//! Running one `mqadmin` subcommand: [`execute`] dispatches it (the cluster, broker and topic
//! commands are here; the message and group commands in `messages`, `consumers` and `groups`),
//! the command calls through [`crate::client`] (or `calls`, for the broker queries the client does
//! not wrap) and writes the text of [`super::format`] to `out`.

use std::io::Write;

use bytes::Bytes;

use super::args::{Command, Namesrv, UpdateTopic};
use super::calls::{broker_call, broker_request, ext, runtime_info, topic_masters};
use super::consumers::{
    all_groups_progress, consumer_connection, consumer_progress, update_sub_group,
};
use super::format::{self, ClusterRow, RaftRow};
use super::messages::{
    consume_message, query_msg_by_id, query_msg_by_key, query_msg_by_offset, send_message,
};
use super::{CliError, groups};
use crate::client::Admin;
use crate::message::TopicConfig;
use crate::remoting::RequestCode;

pub use super::messages::TOOLS_CONSUMER;

/// Runs `cmd`, writing what it prints to `out`.
pub async fn execute(cmd: &Command, out: &mut impl Write) -> Result<(), CliError> {
    match cmd {
        Command::ClusterList { ns, json } => {
            let admin = super::signing::admin(ns.resolve()?)?;
            let rows = cluster_rows(&admin).await?;
            if *json {
                write!(out, "{}", format::json(&rows))?;
            } else {
                write!(out, "{}", format::cluster_table(&rows))?;
            }
        }
        Command::TopicList { ns, json } => {
            let admin = super::signing::admin(ns.resolve()?)?;
            let topics = admin.all_topics().await?.topic_list;
            if *json {
                write!(out, "{}", format::json(&topics))?;
            } else {
                for t in topics {
                    writeln!(out, "{t}")?;
                }
            }
        }
        Command::TopicRoute { ns, topic } => {
            let admin = super::signing::admin(ns.resolve()?)?;
            let route = admin.topic_route(topic).await?;
            write!(out, "{}", format::json(&*route))?;
        }
        Command::UpdateTopic(args) => update_topic(args, out).await?,
        Command::DeleteTopic { ns, topic, cluster } => {
            let admin = super::signing::admin(ns.resolve()?)?;
            admin.delete_topic(cluster, topic).await?;
            writeln!(
                out,
                "delete topic [{topic}] from cluster [{cluster}] success."
            )?;
            writeln!(out, "delete topic [{topic}] from NameServer success.")?;
        }
        Command::SendMessage(args) => send_message(args, out).await?,
        Command::ClusterRt(args) => super::cluster_rt::run(args, out).await?,
        Command::ConsumeMessage(args) => consume_message(args, out).await?,
        Command::BrokerStatus { broker, .. } => {
            let table = runtime_info(broker).await?;
            write!(out, "{}", format::status_lines(&table))?;
        }
        Command::GetBrokerConfig { broker, .. } => {
            let response = broker_call(broker, RequestCode::GetBrokerConfig).await?;
            let text = String::from_utf8_lossy(&response.body);
            write!(out, "{}", format::config_lines(broker, &text))?;
        }
        Command::TopicStatus { ns, topic } => topic_status(ns, topic, out).await?,
        Command::ConsumerProgress { ns, group, topic } => match group {
            Some(group) => consumer_progress(ns, group, topic.as_deref(), out).await?,
            None => all_groups_progress(ns, out).await?,
        },
        Command::ConsumerConnection { ns, group, broker } => {
            consumer_connection(ns, group, broker.as_deref(), out).await?
        }
        Command::UpdateSubGroup(args) => update_sub_group(args, out).await?,
        Command::DeleteSubGroup(args) => groups::delete_sub_group(args, out).await?,
        Command::ResetOffsetByTime {
            ns,
            group,
            topic,
            timestamp,
            force,
        } => groups::reset_offset_by_time(ns, group, topic, timestamp, *force, out).await?,
        Command::ProducerConnection { ns, group, topic } => {
            groups::producer_connection(ns, group, topic, out).await?
        }
        Command::QueryMsgByKey {
            ns,
            topic,
            key,
            begin,
            end,
            max,
        } => query_msg_by_key(ns, topic, key, (*begin, *end, *max), out).await?,
        Command::QueryMsgByUniqueKey(args) => {
            super::unique_key::query_msg_by_unique_key(args, out).await?
        }
        Command::QueryMsgById { ns, ids, topic } => {
            query_msg_by_id(ns, ids, topic.as_deref(), out).await?
        }
        Command::QueryMsgTraceById {
            ns,
            msg_id,
            trace_topic,
        } => super::msg_trace::query_msg_trace_by_id(ns, msg_id, trace_topic, out).await?,
        Command::QueryMsgByOffset {
            ns,
            topic,
            broker_name,
            queue_id,
            offset,
        } => query_msg_by_offset(ns, topic, broker_name, *queue_id, *offset, out).await?,
        Command::RaftStatus { ns, cluster, json } => {
            let admin = super::signing::admin(ns.resolve()?)?;
            let rows = raft_rows(&admin, cluster).await?;
            if *json {
                write!(out, "{}", format::json(&rows))?;
            } else {
                write!(out, "{}", format::raft_table(&rows))?;
            }
            let down: Vec<&str> = rows
                .iter()
                .filter(|r| r.role == "UNREACHABLE")
                .map(|r| r.addr.as_str())
                .collect();
            if !down.is_empty() {
                tracing::warn!("no runtime info from {}", down.join(", "));
            }
        }
    }
    Ok(())
}

async fn cluster_rows(admin: &Admin) -> Result<Vec<ClusterRow>, CliError> {
    let info = admin.cluster_info().await?;
    let mut rows = Vec::new();
    for (cluster, broker_name, broker_id, addr) in format::cluster_addrs(&info) {
        let version = match runtime_info(&addr).await {
            Ok(table) => table
                .get("brokerVersionDesc")
                .cloned()
                .unwrap_or_else(|| "-".into()),
            Err(e) => {
                tracing::warn!("{e}");
                "-".into()
            }
        };
        rows.push(ClusterRow {
            cluster,
            broker_name,
            broker_id,
            addr,
            version,
        });
    }
    Ok(rows)
}

async fn raft_rows(admin: &Admin, cluster: &str) -> Result<Vec<RaftRow>, CliError> {
    let info = admin.cluster_info().await?;
    if !info.cluster_addr_table.contains_key(cluster) {
        let known: Vec<&str> = info.cluster_addr_table.keys().map(String::as_str).collect();
        return Err(CliError::Failed(format!(
            "no cluster named {cluster:?} (the nameservers know: {})",
            known.join(", ")
        )));
    }
    let mut rows = Vec::new();
    for (c, broker_name, _, addr) in format::cluster_addrs(&info) {
        if c != cluster {
            continue;
        }
        rows.push(match runtime_info(&addr).await {
            Ok(table) => RaftRow::from_table(&broker_name, &addr, &table),
            Err(e) => {
                tracing::warn!("{e}");
                RaftRow::unreachable(&broker_name, &addr)
            }
        });
    }
    Ok(rows)
}

async fn update_topic(args: &UpdateTopic, out: &mut impl Write) -> Result<(), CliError> {
    let admin = super::signing::admin(args.ns.resolve()?)?;
    let config = TopicConfig {
        topic_name: args.topic.clone(),
        read_queue_nums: args.read,
        write_queue_nums: args.write,
        perm: args.perm,
        order: args.order,
        ..TopicConfig::default()
    };
    let addrs = match (&args.broker, &args.cluster) {
        (Some(addr), _) => {
            admin.create_topic(addr, &config).await?;
            vec![addr.clone()]
        }
        (None, Some(cluster)) => admin.create_topic_in_cluster(cluster, &config).await?,
        (None, None) => return Err(CliError::Usage("give -b brokerAddr or -c cluster".into())),
    };
    for addr in addrs {
        writeln!(out, "create topic to {addr} success.")?;
    }
    write!(out, "{}", format::topic_config_line(&config))?;
    Ok(())
}

async fn topic_status(ns: &Namesrv, topic: &str, out: &mut impl Write) -> Result<(), CliError> {
    let admin = super::signing::admin(ns.resolve()?)?;
    let code = RequestCode::GetTopicStatsInfo;
    let mut rows = Vec::new();
    for (_, addr) in topic_masters(&admin, topic).await? {
        let response = broker_request(
            &addr,
            code,
            ext(&[("topic", topic.to_owned())]),
            Bytes::new(),
        )
        .await?;
        rows.extend(
            format::topic_status_rows(&response.body)
                .map_err(|e| crate::client::bad_response(&addr, code, e))?,
        );
    }
    write!(out, "{}", format::topic_status_table(&rows))?;
    Ok(())
}
