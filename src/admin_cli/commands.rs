//! Running one `mqadmin` subcommand: the calls through [`crate::client`] (and, for the two
//! broker queries the client does not wrap, one [`RemotingClient`] request), then the text of
//! [`super::format`] written to `out`.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::CliError;
use super::args::{Command, ConsumeMessage, SendMessage, UpdateTopic};
use super::format::{self, ClusterRow, RaftRow};
use crate::client::{
    Admin, ClientError, ConsumeFrom, ConsumerConfig, DEFAULT_TIMEOUT, Message, MessageModel,
    MessageQueue, Producer, ProducerConfig, PullConsumer,
};
use crate::namesrv::JsonBody;
use crate::namesrv::bodies::{KvTable, TopicConfig};
use crate::remoting::{ClientConfig, RemotingClient, RemotingCommand, RequestCode, ResponseCode};

/// The group `consumeMessage` uses without `-g`.
pub const TOOLS_CONSUMER: &str = "TOOLS_CONSUMER";

/// Runs `cmd`, writing what it prints to `out`.
pub async fn execute(cmd: &Command, out: &mut impl Write) -> Result<(), CliError> {
    match cmd {
        Command::ClusterList { ns, json } => {
            let admin = Admin::new(ns.resolve()?)?;
            let rows = cluster_rows(&admin).await?;
            if *json {
                write!(out, "{}", format::json(&rows))?;
            } else {
                write!(out, "{}", format::cluster_table(&rows))?;
            }
        }
        Command::TopicList { ns, json } => {
            let admin = Admin::new(ns.resolve()?)?;
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
            let admin = Admin::new(ns.resolve()?)?;
            let route = admin.topic_route(topic).await?;
            write!(out, "{}", format::json(&*route))?;
        }
        Command::UpdateTopic(args) => update_topic(args, out).await?,
        Command::DeleteTopic { ns, topic, cluster } => {
            let admin = Admin::new(ns.resolve()?)?;
            admin.delete_topic(cluster, topic).await?;
            writeln!(
                out,
                "delete topic [{topic}] from cluster [{cluster}] success."
            )?;
            writeln!(out, "delete topic [{topic}] from NameServer success.")?;
        }
        Command::SendMessage(args) => send_message(args, out).await?,
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
        Command::RaftStatus { ns, cluster, json } => {
            let admin = Admin::new(ns.resolve()?)?;
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

/// One request with an empty header to the broker at `addr`; a non-SUCCESS answer is an error.
async fn broker_call(addr: &str, code: RequestCode) -> Result<RemotingCommand, CliError> {
    let client = RemotingClient::new(addr, ClientConfig::default());
    let request = RemotingCommand::request(code, Default::default(), Bytes::new());
    let result = client.invoke(request, DEFAULT_TIMEOUT).await;
    client.close().await;
    let response = result.map_err(|source| ClientError::Network {
        addr: addr.to_owned(),
        code,
        source,
    })?;
    if response.response_code() != ResponseCode::Success {
        return Err(crate::client::broker_error(addr, code, &response).into());
    }
    Ok(response)
}

/// GET_BROKER_RUNTIME_INFO (28): the broker's `{"table":{...}}`.
async fn runtime_info(addr: &str) -> Result<BTreeMap<String, String>, CliError> {
    let code = RequestCode::GetBrokerRuntimeInfo;
    let response = broker_call(addr, code).await?;
    let table =
        KvTable::decode(&response.body).map_err(|e| crate::client::bad_response(addr, code, e))?;
    Ok(table.table)
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
    let admin = Admin::new(args.ns.resolve()?)?;
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

async fn send_message(args: &SendMessage, out: &mut impl Write) -> Result<(), CliError> {
    let group = format!("TOOLS_PRODUCER_{}", std::process::id());
    let producer = Producer::new(ProducerConfig::new(args.ns.resolve()?, group))?;
    producer.start()?;
    let mut message = Message::new(args.topic.clone(), Bytes::from(args.body.clone()));
    if let Some(tags) = &args.tags {
        message = message.with_tags(tags.clone());
    }
    for key in args.keys.iter().flat_map(|k| k.split_whitespace()) {
        message = message.with_key(key);
    }
    let result = match &args.broker {
        Some(broker_name) => {
            let queue = MessageQueue {
                topic: args.topic.clone(),
                broker_name: broker_name.clone(),
                queue_id: args.queue_id.unwrap_or(0),
            };
            producer.send_to_queue(message, &queue).await
        }
        None => producer.send(message).await,
    };
    producer.shutdown().await;
    write!(out, "{}", format::send_result(&result?))?;
    Ok(())
}

/// Where `-s` starts: `first`, `last` or a timestamp in ms.
fn consume_from(start: &str) -> Result<ConsumeFrom, CliError> {
    match start.to_ascii_lowercase().as_str() {
        "first" => Ok(ConsumeFrom::First),
        "last" => Ok(ConsumeFrom::Last),
        other => other.parse().map(ConsumeFrom::Timestamp).map_err(|_| {
            CliError::Usage(format!(
                "-s {start}: expected first, last or a timestamp in ms"
            ))
        }),
    }
}

async fn consume_message(args: &ConsumeMessage, out: &mut impl Write) -> Result<(), CliError> {
    let idle = Duration::from_secs(args.idle_secs.max(1));
    // Without -g: the tools group, broadcasting, so nothing is read from or committed to the
    // broker and every run starts where -s says (Java's tools use TOOLS_CONSUMER too).
    let (group, model) = match &args.group {
        Some(group) => (group.clone(), MessageModel::Clustering),
        None => (TOOLS_CONSUMER.to_owned(), MessageModel::Broadcasting),
    };
    let mut config = ConsumerConfig::new(args.ns.resolve()?, group, args.topic.clone());
    config.message_model = model;
    config.from_where = consume_from(&args.start)?;
    config.suspend_timeout = idle;
    let mut consumer = PullConsumer::new(config)?;
    consumer.start().await?;
    let mut printed = 0usize;
    let mut deadline = Instant::now() + idle;
    let mut failure = None;
    while printed < args.count {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let batch = match consumer.poll(deadline - now).await {
            Ok(batch) => batch,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        if batch.is_empty() {
            continue;
        }
        for m in batch.iter().take(args.count - printed) {
            write!(out, "{}", format::message_line(m))?;
            printed += 1;
        }
        deadline = Instant::now() + idle;
    }
    consumer.shutdown().await;
    if let Some(e) = failure {
        return Err(e.into());
    }
    writeln!(out, "Consumed {printed} messages.")?;
    Ok(())
}
