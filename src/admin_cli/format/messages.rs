//! Message views: `sendMessage`'s result, `consumeMessage` lines, `queryMsgByKey`'s table and
//! the `queryMsgById` / `queryMsgByOffset` detail block.

use super::date_time;
use crate::client::{MessageExt, SendResult};
use crate::message::{MessageToStore, property};

/// `sendMessage`'s header and row: Java's columns, the send status by its Java name
/// (`SEND_OK`), so scripts that grep for it work.
pub fn send_result(r: &SendResult) -> String {
    let line = |b: &str, q: &str, s: &str, m: &str| format!("{b:<32}  {q:<4}  {s:<20}    {m}\n");
    line("#Broker Name", "#QID", "#Send Result", "#MsgId")
        + &line(
            &r.queue.broker_name,
            &r.queue.queue_id.to_string(),
            r.status.java_name(),
            &r.msg_id,
        )
}

/// A body as text when it is UTF-8, else as hex (`0x...`).
pub fn body_text(body: &[u8]) -> String {
    match std::str::from_utf8(body) {
        Ok(text) => text.to_owned(),
        Err(_) => {
            let hex: String = body.iter().map(|b| format!("{b:02X}")).collect();
            format!("0x{hex}")
        }
    }
}

/// One `consumeMessage` line.
pub fn message_line(m: &MessageExt) -> String {
    format!(
        "MSGID: {} BROKER: {} QID: {} OFFSET: {} BODY: {}\n",
        m.msg_id(),
        m.broker_name(),
        m.queue_id(),
        m.queue_offset(),
        body_text(m.body())
    )
}

/// One `queryMsgByKey` row: `(offset msgId, queue id, queue offset)`.
pub fn msg_key_table(rows: &[(String, i32, i64)]) -> String {
    let mut out = format!("{:<50} {:<4} {}\n", "#Message ID", "#QID", "#Offset");
    for (id, q, o) in rows {
        out.push_str(&format!("{id:<50} {q:<4} {o}\n"));
    }
    out
}

/// The message-detail block of `queryMsgById` / `queryMsgByOffset` (one `%-20s %s` line per
/// field; times in UTC; the body inline as text or `0x` hex instead of Java's file dump).
pub fn message_detail(m: &MessageToStore, offset_msg_id: &str) -> String {
    let mut fields = vec![("OffsetID:", offset_msg_id.to_owned())];
    fields.extend(detail_fields(m));
    fields.push(("Message Body:", body_text(&m.body)));
    detail_lines(&fields)
}

/// `queryMsgByUniqueKey`'s block for one message: Java's fields in its order, ending with
/// the file the body was written to (`Message Body Path:`), as Java's tool does.
pub fn unique_key_detail(m: &MessageToStore, body_path: &str) -> String {
    let mut fields = detail_fields(m);
    fields.push(("Message Body Path:", body_path.to_owned()));
    detail_lines(&fields)
}

/// The fields every message view prints, from `Topic:` to `Properties:`.
fn detail_fields(m: &MessageToStore) -> Vec<(&'static str, String)> {
    let props: Vec<String> = m
        .properties
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let opt = |v: Option<&String>| v.map_or("null".to_owned(), Clone::clone);
    vec![
        ("Topic:", m.topic.clone()),
        (
            "Tags:",
            format!("[{}]", opt(m.properties.get(property::TAGS))),
        ),
        (
            "Keys:",
            format!("[{}]", opt(m.properties.get(property::KEYS))),
        ),
        ("Queue ID:", m.queue_id.to_string()),
        ("Queue Offset:", m.queue_offset.to_string()),
        ("CommitLog Offset:", m.physical_offset.to_string()),
        ("Reconsume Times:", m.reconsume_times.to_string()),
        ("Born Timestamp:", date_time(m.born_timestamp, true)),
        ("Store Timestamp:", date_time(m.store_timestamp, true)),
        ("Born Host:", m.born_host.to_string()),
        ("Store Host:", m.store_host.to_string()),
        ("System Flag:", m.sys_flag.to_string()),
        ("Properties:", format!("{{{}}}", props.join(", "))),
    ]
}

fn detail_lines(fields: &[(&str, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k:<20} {v}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{MessageQueue, SendStatus};

    fn result(status: SendStatus) -> SendResult {
        SendResult {
            status,
            msg_id: "7F00000100002A9F0000000000000000".into(),
            offset_msg_id: "7F00000100002A9F0000000000001234".into(),
            queue: MessageQueue {
                topic: "T".into(),
                broker_name: "RaftNode00".into(),
                queue_id: 3,
            },
            queue_offset: 42,
            attempt: 1,
            raft_term: Some(2),
        }
    }

    #[test]
    fn send_result_prints_javas_columns_with_the_send_status() {
        let text = send_result(&result(SendStatus::SendOk));
        // SendMessageCommand's "%-32s  %-4s  %-20s    %s%n", header then row.
        assert_eq!(
            text,
            format!(
                "{:<32}  {:<4}  {:<20}    {}\n{:<32}  {:<4}  {:<20}    {}\n",
                "#Broker Name",
                "#QID",
                "#Send Result",
                "#MsgId",
                "RaftNode00",
                "3",
                "SEND_OK",
                "7F00000100002A9F0000000000000000"
            )
        );
        let slave = send_result(&result(SendStatus::SlaveNotAvailable));
        assert!(slave.contains("  SLAVE_NOT_AVAILABLE  "), "{slave}");
    }
}
