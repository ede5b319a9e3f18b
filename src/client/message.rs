//! What a client sends and receives: [`Message`] (to send), [`MessageExt`] (pulled),
//! [`MessageQueue`], UNIQ_KEY message ids (remoting.md §8.5), the properties string (§8.3)
//! and subscriptions (TAG §9.2 with client-side filtering §9.3, or SQL92, checked here and
//! evaluated by the broker). The SEND_BATCH_MESSAGE body (§4.4)
//! is the vocabulary's ([`crate::message::batch`]).
//!
//! Pulled bodies are decoded with [`crate::message::decode_message`]; this module never sends
//! anything. Compressed bodies (message SYSFLAG bit 0) are handed over as stored: this crate
//! has no zlib, and its own producer never compresses.

use std::net::Ipv4Addr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::ClientError;
use crate::common::clock::{DAY_MS, civil_from_days};
use crate::message::filter::{ExpressionType, Sql92};
use crate::message::{
    MessageToStore, Properties, decode_message, offset_msg_id, property, tags_code,
};

/// One queue of a topic on one broker group. Orders by topic, broker name, queue id, as the
/// allocation strategies sort them (remoting.md §9.4).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageQueue {
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i32,
}

impl std::fmt::Display for MessageQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}:{}", self.topic, self.broker_name, self.queue_id)
    }
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    pub topic: String,
    pub body: Bytes,
    /// The TAGS property: what subscriptions filter on.
    pub tags: Option<String>,
    /// The KEYS property (joined with spaces): what QUERY_MESSAGE finds it by.
    pub keys: Vec<String>,
    /// Further properties; names and values must not be empty nor contain 0x01 / 0x02.
    pub properties: Properties,
    /// The DELAY property: level 1..=18 of the broker's `messageDelayLevel`.
    pub delay_level: Option<i32>,
    /// The application flag, stored verbatim.
    pub flag: i32,
}

impl Message {
    /// A message for `topic` carrying `body`, with no tags, keys or properties.
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Message {
            topic: topic.into(),
            body: body.into(),
            ..Message::default()
        }
    }

    /// Sets the tag.
    pub fn with_tags(mut self, tags: impl Into<String>) -> Self {
        self.tags = Some(tags.into());
        self
    }

    /// Adds a key.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.keys.push(key.into());
        self
    }

    /// Sets a user property.
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }

    /// All properties as sent: the user's, then TAGS, KEYS, DELAY, WAIT=true and `uniq_key`.
    pub(crate) fn wire_properties(&self, uniq_key: &str) -> Properties {
        let mut props = self.properties.clone();
        if let Some(tags) = self.tags.as_ref().filter(|t| !t.is_empty()) {
            props.insert(property::TAGS.into(), tags.clone());
        }
        if !self.keys.is_empty() {
            props.insert(property::KEYS.into(), self.keys.join(" "));
        }
        if let Some(level) = self.delay_level.filter(|&l| l > 0) {
            props.insert(property::DELAY.into(), level.to_string());
        }
        props.insert(property::WAIT.into(), "true".into());
        props.insert(property::UNIQ_KEY.into(), uniq_key.into());
        props
    }
}

/// Renders properties as `name 0x01 value 0x02 …` without a trailing separator (Java 4.9.7).
/// Fails on what would not parse back: empty names or values, separator bytes.
pub(crate) fn properties_string(props: &Properties) -> Result<String, ClientError> {
    let mut out = String::new();
    for (name, value) in props {
        let bad = |c: char| c == '\u{1}' || c == '\u{2}';
        if name.is_empty() || value.is_empty() || name.contains(bad) || value.contains(bad) {
            return Err(ClientError::InvalidMessage(format!(
                "property {name:?}={value:?} is empty or holds a 0x01/0x02 separator"
            )));
        }
        if !out.is_empty() {
            out.push('\u{2}');
        }
        out.push_str(name);
        out.push('\u{1}');
        out.push_str(value);
    }
    if out.len() > i16::MAX as usize {
        return Err(ClientError::InvalidMessage(format!(
            "properties of {} bytes exceed 32767",
            out.len()
        )));
    }
    Ok(out)
}

/// Generates UNIQ_KEY ids: uppercase hex of client IPv4 (4) ‖ pid low 16 bits (2) ‖ a
/// per-process random-ish i32 (4) ‖ ms since the start of the current month, UTC (4) ‖ a
/// counter (2) = 32 characters (remoting.md §8.5). Brokers treat it as opaque.
#[derive(Debug)]
pub(crate) struct UniqKeys {
    prefix: String,
    counter: AtomicU16,
}

impl UniqKeys {
    /// The process-wide generator.
    pub(crate) fn global() -> &'static UniqKeys {
        static KEYS: OnceLock<UniqKeys> = OnceLock::new();
        KEYS.get_or_init(|| {
            let ip = local_ipv4();
            let pid = std::process::id() as u16;
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let salt = nanos ^ pid.rotate_left(7) as u32 ^ 0x5bd1_e995;
            let mut bytes = ip.octets().to_vec();
            bytes.extend_from_slice(&pid.to_be_bytes());
            bytes.extend_from_slice(&salt.to_be_bytes());
            UniqKeys {
                prefix: hex(&bytes),
                counter: AtomicU16::new(0),
            }
        })
    }

    /// The next id.
    pub(crate) fn next(&self) -> String {
        let now = now_ms();
        let since_month = (now - month_start_ms(now)) as i32;
        let count = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut tail = since_month.to_be_bytes().to_vec();
        tail.extend_from_slice(&count.to_be_bytes());
        format!("{}{}", self.prefix, hex(&tail))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

pub(crate) use crate::common::clock::now_ms;

/// Start of the UTC month containing `ms`, in ms since the epoch (civil-from-days).
fn month_start_ms(ms: i64) -> i64 {
    let days = ms.div_euclid(DAY_MS);
    let (_, _, day_of_month) = civil_from_days(days);
    (days - (day_of_month - 1)) * DAY_MS
}

/// This host's IPv4 address (see [`crate::local_ip`]).
pub(crate) fn local_ipv4() -> Ipv4Addr {
    crate::local_ip::local_ipv4()
}

/// A subscription: TAG, `*` (everything) or `TagA || TagB` (remoting.md §9.2), or a SQL92
/// expression over message properties, which only the broker evaluates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// TAG: normalised, `*` or the tags joined with ` || `. SQL92: as written.
    pub expression: String,
    /// Empty for `*` and for SQL92.
    pub tags: Vec<String>,
    pub expression_type: ExpressionType,
}

impl Subscription {
    /// A subscription of either type; a SQL92 expression must compile here first, and must end
    /// where its text ends (Java brokers would silently ignore the rest).
    pub fn new(expression_type: ExpressionType, expression: &str) -> Result<Self, ClientError> {
        match expression_type {
            ExpressionType::Tag => Ok(Subscription::parse(expression)),
            ExpressionType::Sql92 => {
                let invalid = |why: String| {
                    ClientError::InvalidConfig(format!("SQL92 expression {expression:?}: {why}"))
                };
                let sql = Sql92::compile(expression).map_err(|e| invalid(e.to_string()))?;
                if let Some(tail) = sql.ignored_tail() {
                    return Err(invalid(format!(
                        "the expression ends before {tail}; brokers would ignore the rest"
                    )));
                }
                Ok(Subscription {
                    expression: expression.to_owned(),
                    tags: Vec::new(),
                    expression_type,
                })
            }
        }
    }

    /// Parses a TAG expression; empty or `*` subscribes to everything.
    pub fn parse(expression: &str) -> Self {
        let expression = expression.trim();
        if expression.is_empty() || expression == "*" {
            return Subscription {
                expression: "*".into(),
                tags: Vec::new(),
                expression_type: ExpressionType::Tag,
            };
        }
        let mut tags: Vec<String> = Vec::new();
        for tag in expression
            .split("||")
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            if !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_owned());
            }
        }
        if tags.is_empty() {
            return Subscription::parse("*");
        }
        Subscription {
            expression: tags.join(" || "),
            tags,
            expression_type: ExpressionType::Tag,
        }
    }

    /// Whether every message the broker delivers is wanted (`*`, or SQL92: the broker filtered).
    pub fn is_all(&self) -> bool {
        self.tags.is_empty()
    }

    /// The tags' hash codes, as the heartbeat's `codeSet`.
    pub fn codes(&self) -> Vec<i64> {
        self.tags.iter().map(|t| tags_code(t)).collect()
    }

    /// Client-side filter: a message is kept if everything is subscribed or its real tag is
    /// one of the tags (brokers only compare hashes, which collide).
    pub fn matches(&self, tags: Option<&str>) -> bool {
        self.is_all() || tags.is_some_and(|tag| self.tags.iter().any(|t| t == tag))
    }
}

/// A pulled message: the stored message plus where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExt {
    /// Every stored field (topic, queue id and offset, body, properties, hosts, times).
    pub stored: MessageToStore,
    pub queue: MessageQueue,
    /// Store host ‖ physical offset (remoting.md §8.5).
    pub offset_msg_id: String,
}

impl MessageExt {
    /// The UNIQ_KEY if the producer set one, else the offset msgId (what Java calls msgId).
    pub fn msg_id(&self) -> &str {
        self.property(property::UNIQ_KEY)
            .unwrap_or(self.offset_msg_id.as_str())
    }

    pub fn topic(&self) -> &str {
        &self.stored.topic
    }

    pub fn body(&self) -> &[u8] {
        &self.stored.body
    }

    pub fn tags(&self) -> Option<&str> {
        self.stored.tags()
    }

    pub fn queue_id(&self) -> i32 {
        self.stored.queue_id
    }

    pub fn queue_offset(&self) -> i64 {
        self.stored.queue_offset as i64
    }

    pub fn broker_name(&self) -> &str {
        &self.queue.broker_name
    }

    /// The KEYS property split on spaces.
    pub fn keys(&self) -> Vec<&str> {
        crate::message::message_keys(&self.stored.properties).collect()
    }

    pub fn property(&self, name: &str) -> Option<&str> {
        self.stored.properties.get(name).map(String::as_str)
    }
}

/// Decodes a PULL_MESSAGE body (stored messages back to back) pulled from `queue`, setting
/// the MIN_OFFSET / MAX_OFFSET properties as Java clients do. Stops at the first record that
/// does not decode, returning what came before and the error.
pub(crate) fn decode_pull_body(
    body: &[u8],
    queue: &MessageQueue,
    min_offset: i64,
    max_offset: i64,
) -> (Vec<MessageExt>, Option<String>) {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        match decode_message(&body[pos..]) {
            Ok((stored, len)) if len > 0 => {
                pos += len;
                let mut message = stored.message;
                message
                    .properties
                    .insert(property::MIN_OFFSET.into(), min_offset.to_string());
                message
                    .properties
                    .insert(property::MAX_OFFSET.into(), max_offset.to_string());
                out.push(MessageExt {
                    offset_msg_id: offset_msg_id(message.store_host, message.physical_offset),
                    stored: message,
                    queue: queue.clone(),
                });
            }
            Ok(_) => return (out, Some("a zero-length record".into())),
            Err(err) => return (out, Some(err.to_string())),
        }
    }
    (out, None)
}
