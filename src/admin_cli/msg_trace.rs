//! `queryMsgTraceById -i MSGID [-t traceTopic]`: a message's trace, found as Java's tool finds
//! it: a key query (QUERY_MESSAGE, up to 64 per broker, stored until now) for the msgId on the
//! trace topic's masters, every record of those trace messages decoded
//! ([`crate::client::trace`]) and those about this msgId printed ([`format::msg_trace`]).

use std::io::Write;

use super::CliError;
use super::args::Namesrv;
use super::format::{self, TraceView};
use super::messages::messages_by_key;
use crate::client::trace::decode_records;
use crate::common::clock::now_ms;

/// Most trace messages asked of each broker (Java's tool asks 64).
const MAX_TRACE_MESSAGES: i64 = 64;

pub(super) async fn query_msg_trace_by_id(
    ns: &Namesrv,
    msg_id: &str,
    trace_topic: &str,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let msg_id = msg_id.trim();
    let admin = super::signing::admin(ns.resolve()?)?;
    let range = (0, now_ms(), MAX_TRACE_MESSAGES);
    let mut views = Vec::new();
    for (message, _) in messages_by_key(&admin, trace_topic.trim(), msg_id, range).await? {
        let body = String::from_utf8_lossy(&message.body);
        for record in decode_records(&body) {
            let record = match record {
                Ok(record) => record,
                Err(e) => {
                    tracing::warn!(error = %e, "a trace record could not be read");
                    continue;
                }
            };
            let Some(trace_type) = record.trace_type.filter(|_| record.msg_id == msg_id) else {
                continue;
            };
            views.push(TraceView {
                trace_type,
                group: record.group_name,
                client_host: message.born_host.ip().to_string(),
                timestamp: record.timestamp,
                cost_ms: record.cost_time_ms,
                success: record.success,
            });
        }
    }
    write!(out, "{}", format::msg_trace(&views))?;
    Ok(())
}
