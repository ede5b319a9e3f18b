//! Running one `mqadmin` subcommand: the calls through [`crate::client`] (and, for the two
//! broker queries the client does not wrap, one [`RemotingClient`] request), then the text of
//! [`super::format`] written to `out`.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::args::{Command, ConsumeMessage, Namesrv, SendMessage, UpdateSubGroup, UpdateTopic};
use super::format::{self, ClusterRow, RaftRow};
use super::{CliError, groups};
use crate::client::{
    Admin, ClientError, ConsumeFrom, ConsumerConfig, DEFAULT_TIMEOUT, Message, MessageModel,
    MessageQueue, Producer, ProducerConfig, PullConsumer,
};
use crate::namesrv::JsonBody;
use crate::namesrv::bodies::{KvTable, TopicConfig};
use crate::remoting::header::PullMessageRequestHeader;
use crate::remoting::{
    ClientConfig, ExtFields, RemotingClient, RemotingCommand, RequestCode, ResponseCode,
};
use crate::store::{MessageToStore, decode_message, offset_msg_id, parse_offset_msg_id};

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
        Command::ConsumerProgress { ns, group, topic } => {
            consumer_progress(ns, group, topic.as_deref(), out).await?
        }
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
        Command::QueryMsgById { ns, ids, topic } => {
            query_msg_by_id(ns, ids, topic.as_deref(), out).await?
        }
        Command::QueryMsgByOffset {
            ns,
            topic,
            broker_name,
            queue_id,
            offset,
        } => query_msg_by_offset(ns, topic, broker_name, *queue_id, *offset, out).await?,
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
    broker_request(addr, code, ExtFields::new(), Bytes::new()).await
}

/// One request with `ext` fields and `body` to the broker at `addr`, answered by any code.
async fn broker_invoke(addr: &str, request: RemotingCommand) -> Result<RemotingCommand, CliError> {
    let code = request.request_code();
    let client = RemotingClient::new(addr, ClientConfig::default());
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
            let admin = Admin::new(ns.resolve()?)?;
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
async fn all_masters(admin: &Admin) -> Result<Vec<(String, String)>, CliError> {
    let info = admin.cluster_info().await?;
    Ok(info
        .broker_addr_table
        .iter()
        .filter_map(|(name, data)| Some((name.clone(), data.master_addr()?.to_owned())))
        .collect())
}

async fn topic_status(ns: &Namesrv, topic: &str, out: &mut impl Write) -> Result<(), CliError> {
    let admin = Admin::new(ns.resolve()?)?;
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

async fn consumer_progress(
    ns: &Namesrv,
    group: &str,
    topic: Option<&str>,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let admin = Admin::new(ns.resolve()?)?;
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

async fn consumer_connection(
    ns: &Namesrv,
    group: &str,
    broker: Option<&str>,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let addrs = match broker {
        Some(addr) => vec![addr.to_owned()],
        None => {
            let admin = Admin::new(ns.resolve()?)?;
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

async fn update_sub_group(args: &UpdateSubGroup, out: &mut impl Write) -> Result<(), CliError> {
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

/// Stored messages back to back, each with its offset msgId.
fn decode_stored(body: &[u8]) -> Result<Vec<(MessageToStore, String)>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        let (stored, size) = decode_message(&body[pos..]).map_err(|e| e.to_string())?;
        let m = stored.message;
        let id = offset_msg_id(m.store_host, m.physical_offset);
        out.push((m, id));
        pos += size.max(1);
    }
    Ok(out)
}

async fn query_msg_by_key(
    ns: &Namesrv,
    topic: &str,
    key: &str,
    (begin, end, max): (i64, i64, i64),
    out: &mut impl Write,
) -> Result<(), CliError> {
    let admin = Admin::new(ns.resolve()?)?;
    let code = RequestCode::QueryMessage;
    let mut rows = Vec::new();
    for (_, addr) in topic_masters(&admin, topic).await? {
        let fields = ext(&[
            ("topic", topic.to_owned()),
            ("key", key.to_owned()),
            ("maxNum", max.to_string()),
            ("beginTimestamp", begin.to_string()),
            ("endTimestamp", end.to_string()),
        ]);
        let response =
            broker_invoke(&addr, RemotingCommand::request(code, fields, Bytes::new())).await?;
        match response.response_code() {
            ResponseCode::Success => {}
            ResponseCode::QueryNotFound => continue,
            _ => return Err(crate::client::broker_error(&addr, code, &response).into()),
        }
        let messages = decode_stored(&response.body)
            .map_err(|e| crate::client::bad_response(&addr, code, e))?;
        for (m, id) in messages {
            rows.push((id, m.queue_id, m.queue_offset as i64));
        }
    }
    write!(out, "{}", format::msg_key_table(&rows))?;
    Ok(())
}

async fn query_msg_by_id(
    ns: &Namesrv,
    ids: &str,
    topic: Option<&str>,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let code = RequestCode::ViewMessageById;
    for id in ids.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (host, offset) =
            parse_offset_msg_id(id).map_err(|e| CliError::Usage(format!("-i {id}: {e}")))?;
        let mut addrs = vec![host.to_string()];
        if let Some(t) = topic {
            let admin = Admin::new(ns.resolve()?)?;
            addrs.extend(topic_masters(&admin, t).await?.into_iter().map(|(_, a)| a));
        }
        let fields = ext(&[("offset", offset.to_string())]);
        let mut found = None;
        let mut last_error = None;
        for addr in addrs {
            match broker_request(&addr, code, fields.clone(), Bytes::new()).await {
                Ok(response) => {
                    let decoded = decode_stored(&response.body)
                        .map_err(|e| crate::client::bad_response(&addr, code, e))?;
                    found = decoded.into_iter().next();
                    if found.is_some() {
                        break;
                    }
                }
                Err(e) => last_error = Some(e),
            }
        }
        match (found, last_error) {
            (Some((m, _)), _) => write!(out, "{}", format::message_detail(&m, id))?,
            (None, Some(e)) => return Err(e),
            (None, None) => return Err(CliError::Failed(format!("no message. msgId={id}"))),
        }
    }
    Ok(())
}

async fn query_msg_by_offset(
    ns: &Namesrv,
    topic: &str,
    broker_name: &str,
    queue_id: i32,
    offset: i64,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let admin = Admin::new(ns.resolve()?)?;
    let Some((_, addr)) = topic_masters(&admin, topic)
        .await?
        .into_iter()
        .find(|(name, _)| name == broker_name)
    else {
        return Err(CliError::Failed(format!(
            "topic {topic}: no master of broker {broker_name} in its route"
        )));
    };
    let code = RequestCode::PullMessage;
    let header = PullMessageRequestHeader {
        consumer_group: TOOLS_CONSUMER.to_owned(),
        topic: topic.to_owned(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 1,
        sys_flag: PullMessageRequestHeader::SUBSCRIPTION,
        commit_offset: 0,
        suspend_timeout_millis: 0,
        subscription: Some("*".into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        bname: Some(broker_name.to_owned()),
        max_msg_bytes: None,
    };
    let request =
        RemotingCommand::request(code, ExtFields::new(), Bytes::new()).with_header(&header);
    let response = broker_invoke(&addr, request).await?;
    match response.response_code() {
        ResponseCode::Success => {}
        ResponseCode::PullNotFound
        | ResponseCode::PullOffsetMoved
        | ResponseCode::PullRetryImmediately => {
            return Err(CliError::Failed(format!(
                "Message not found! ({broker_name} queue {queue_id} offset {offset}: {})",
                response
                    .remark
                    .as_deref()
                    .unwrap_or("no message at that offset")
            )));
        }
        _ => return Err(crate::client::broker_error(&addr, code, &response).into()),
    }
    let decoded =
        decode_stored(&response.body).map_err(|e| crate::client::bad_response(&addr, code, e))?;
    match decoded
        .into_iter()
        .find(|(m, _)| m.queue_offset as i64 == offset)
    {
        Some((m, id)) => write!(out, "{}", format::message_detail(&m, &id))?,
        None => {
            return Err(CliError::Failed(format!(
                "Message not found! ({broker_name} queue {queue_id} offset {offset})"
            )));
        }
    }
    Ok(())
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
