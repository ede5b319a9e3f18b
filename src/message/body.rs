//! The JSON bodies of the remoting protocol (remoting.md §7), and how they are read and written:
//! strict JSON out, fastjson's dialect in.
//!
//! This file owns the [`JsonBody`] trait (encode / lenient decode) and the pre-pass that turns
//! fastjson's bare integer object keys (`{"brokerAddrs":{0:"127.0.0.1:10911"}}`, remoting.md §7.1
//! item 1) into standard JSON before serde_json sees it. Never touches a socket or a frame: the
//! remoting layer hands over body bytes and sends back what [`JsonBody::encode`] returns. The
//! bodies are shapes with Java's member names; who fills them (the nameserver's route table, the
//! broker's handlers, the client) is never decided here.
//!
//! | file | bodies |
//! | --- | --- |
//! | [`check_client`] | CHECK_CLIENT_CONFIG: a consumer's subscription for the broker to vet (written by the client, read by the broker) |
//! | [`heartbeat`] | HEART_BEAT, read leniently (every real client's quirks) |
//! | [`lock`] | LOCK_BATCH_MQ / UNLOCK_BATCH_MQ requests, read leniently, and the `lockOKMQSet` reply; [`QueueKey`](lock::QueueKey) |
//! | [`namesrv`] | broker registration, routes, cluster info, topic lists, KV tables, the topic table wrapper |
//!
//! Writing: always standard JSON with quoted keys (`{"0":"127.0.0.1:10911"}`). remoting.md §3.5
//! and §13 item 4: Java clients, ali-ons, rocketmq-client-rust and the C++ client all accept
//! quoted `brokerAddrs` keys, while strict parsers (rocketmq-client-rust's first attempt, any
//! standard JSON library) reject the unquoted form. Java 4.9.7's unquoted output for old clients
//! (`version < 401`) is deliberately not reproduced.

use std::borrow::Cow;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub mod check_client;
pub mod heartbeat;
pub mod lock;
pub mod namesrv;

pub use namesrv::{
    BrokerData, ClusterInfo, DataVersion, KvTable, ORDER_TOPIC_CONFIG, QueueData,
    RegisterBrokerBody, RegisterBrokerResult, TopicConfigSerializeWrapper, TopicList,
    TopicRouteData,
};

/// A body that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body is not UTF-8 (JSON bodies always are).
    #[error("JSON body is not UTF-8: {0}")]
    NotUtf8(#[from] std::str::Utf8Error),
    /// Not JSON (even after quoting bare integer keys), or not the expected shape.
    #[error("malformed JSON body: {0}")]
    Json(#[from] serde_json::Error),
}

/// A JSON body of the remoting protocol: standard JSON out, fastjson's dialect accepted in.
///
/// Implemented for the body types of this module and [`TopicConfig`](super::TopicConfig), whose
/// maps are keyed by strings or integers; serde_json cannot fail to encode those, which is what
/// makes [`encode`](Self::encode) infallible. Implement it only for such types.
pub trait JsonBody: Serialize + DeserializeOwned {
    /// Standard JSON, members in declaration order (alphabetical, as fastjson writes them).
    fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("body types have only string or integer map keys")
    }

    /// Reads standard JSON, or fastjson's output with bare integer keys. Unknown members are
    /// ignored and missing ones take their defaults (remoting.md §7.1 items 4–5).
    fn decode(bytes: &[u8]) -> Result<Self, BodyError> {
        decode_lenient(bytes)
    }
}

/// Parses `bytes` strictly first; if that fails and quoting bare integer keys changes the text,
/// parses the quoted text. The strict error is the one reported when quoting changes nothing.
pub fn decode_lenient<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    let strict_err = match serde_json::from_slice(bytes) {
        Ok(value) => return Ok(value),
        Err(err) => err,
    };
    let text = std::str::from_utf8(bytes)?;
    match quote_bare_integer_keys(text) {
        Cow::Borrowed(_) => Err(strict_err.into()),
        Cow::Owned(quoted) => Ok(serde_json::from_str(&quoted)?),
    }
}

/// Quotes every object key written as a bare integer (`0`, `17`, `-1`): fastjson writes
/// `Map<Long, _>` and `Map<Integer, _>` keys that way. Text inside strings, values, array
/// elements and keys that are already quoted are left alone; returns the input borrowed when
/// there was nothing to quote.
///
/// A key position is the first token after `{` or after a `,` whose innermost open container
/// is an object. A token there made of an optional `-` and ASCII digits, followed (after
/// optional whitespace) by `:`, is a bare integer key. Anything else (including malformed
/// text) passes through untouched for serde_json to judge.
pub fn quote_bare_integer_keys(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    // Innermost open containers: true = object, false = array.
    let mut stack: Vec<bool> = Vec::new();
    let mut at_key = false;
    let mut copied = 0; // bytes of `text` already copied into `out`
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' => {
                i = skip_string(bytes, i);
                at_key = false;
                continue;
            }
            b'{' => {
                stack.push(true);
                at_key = true;
            }
            b'[' => {
                stack.push(false);
                at_key = false;
            }
            b'}' | b']' => {
                stack.pop();
                at_key = false;
            }
            b',' => at_key = stack.last() == Some(&true),
            b' ' | b'\t' | b'\n' | b'\r' => {}
            b'-' | b'0'..=b'9' if at_key => {
                let end = integer_end(bytes, i);
                if end > i && followed_by_colon(bytes, end) {
                    let buf = out.get_or_insert_with(|| String::with_capacity(text.len() + 16));
                    buf.push_str(&text[copied..i]);
                    buf.push('"');
                    buf.push_str(&text[i..end]);
                    buf.push('"');
                    copied = end;
                }
                at_key = false;
                i = end.max(i + 1);
                continue;
            }
            _ => at_key = false,
        }
        i += 1;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut buf) => {
            buf.push_str(&text[copied..]);
            Cow::Owned(buf)
        }
    }
}

/// Index just past the string starting at `start` (a `"`), honouring backslash escapes; the end
/// of the text for an unterminated string.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// End of an optional `-` followed by one or more ASCII digits at `start`; `start` if there is
/// no such integer.
fn integer_end(bytes: &[u8], start: usize) -> usize {
    let digits_from = if bytes[start] == b'-' {
        start + 1
    } else {
        start
    };
    let end = digits_from
        + bytes[digits_from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
    if end == digits_from { start } else { end }
}

/// Whether the next non-whitespace byte at or after `from` is `:`.
fn followed_by_colon(bytes: &[u8], from: usize) -> bool {
    bytes[from..]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b':')
}

#[cfg(test)]
mod tests;
