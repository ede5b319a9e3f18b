//! The message subcommands: `sendMessage`, `consumeMessage`, `queryMsgByKey`, `queryMsgById`
//! and `queryMsgByOffset` (stored messages decoded from the broker's answer).

use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::CliError;
use super::args::{ConsumeMessage, Namesrv, SendMessage};
use super::calls::{broker_invoke, broker_request, ext, topic_masters};
use super::format;
use crate::client::{
    Admin, ConsumeFrom, ConsumerConfig, Message, MessageModel, MessageQueue, Producer,
    ProducerConfig, PullConsumer,
};
use crate::message::{MessageToStore, decode_message, offset_msg_id, parse_offset_msg_id};
use crate::remoting::header::PullMessageRequestHeader;
use crate::remoting::{ExtFields, RemotingCommand, RequestCode, ResponseCode};

/// The group `consumeMessage` uses without `-g`.
pub const TOOLS_CONSUMER: &str = "TOOLS_CONSUMER";

pub(super) async fn send_message(args: &SendMessage, out: &mut impl Write) -> Result<(), CliError> {
    let group = format!("TOOLS_PRODUCER_{}", std::process::id());
    let mut config = ProducerConfig::new(args.ns.resolve()?, group);
    config.credentials = super::signing::credentials();
    let producer = Producer::new(config)?;
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

pub(super) async fn consume_message(
    args: &ConsumeMessage,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let idle = Duration::from_secs(args.idle_secs.max(1));
    // Without -g: the tools group, broadcasting, so nothing is read from or committed to the
    // broker and every run starts where -s says (Java's tools use TOOLS_CONSUMER too).
    let (group, model) = match &args.group {
        Some(group) => (group.clone(), MessageModel::Clustering),
        None => (TOOLS_CONSUMER.to_owned(), MessageModel::Broadcasting),
    };
    let mut config = ConsumerConfig::new(args.ns.resolve()?, group, args.topic.clone());
    config.message_model = model;
    config.credentials = super::signing::credentials();
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

pub(super) async fn query_msg_by_key(
    ns: &Namesrv,
    topic: &str,
    key: &str,
    range: (i64, i64, i64),
    out: &mut impl Write,
) -> Result<(), CliError> {
    let admin = super::signing::admin(ns.resolve()?)?;
    let rows: Vec<_> = messages_by_key(&admin, topic, key, range)
        .await?
        .into_iter()
        .map(|(m, id)| (id, m.queue_id, m.queue_offset as i64))
        .collect();
    write!(out, "{}", format::msg_key_table(&rows))?;
    Ok(())
}

/// QUERY_MESSAGE on every master of `topic`: the messages whose KEYS or UNIQ_KEY is `key`,
/// stored within `(begin, end)` ms, at most `max` per broker, each with its offset msgId.
pub(super) async fn messages_by_key(
    admin: &Admin,
    topic: &str,
    key: &str,
    (begin, end, max): (i64, i64, i64),
) -> Result<Vec<(MessageToStore, String)>, CliError> {
    let code = RequestCode::QueryMessage;
    let mut found = Vec::new();
    for (_, addr) in topic_masters(admin, topic).await? {
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
        found.extend(messages);
    }
    Ok(found)
}

pub(super) async fn query_msg_by_id(
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
            let admin = super::signing::admin(ns.resolve()?)?;
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

pub(super) async fn query_msg_by_offset(
    ns: &Namesrv,
    topic: &str,
    broker_name: &str,
    queue_id: i32,
    offset: i64,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let admin = super::signing::admin(ns.resolve()?)?;
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
