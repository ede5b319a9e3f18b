//! RocketMQ's stored message layout (`shared/protocol/remoting.md` §8): decode, encode, walk a
//! batch, stamp offsets in place, tag hashes, keys and offset msgIds.
//!
//! The same bytes are the body of a commitlog MESSAGE / MESSAGE_BATCH record, an element of a
//! PULL_MESSAGE / QUERY_MESSAGE / VIEW_MESSAGE_BY_ID response, and what the state machine reads
//! when it applies a record (queue, tags, keys) and stamps QUEUEOFFSET into. This module only
//! turns bytes into fields and back: it never touches a file, never decompresses a body and never
//! checks BODYCRC on the read path (readers forward bytes unchanged; [`body_crc`] is there for
//! whoever wants to verify).
//!
//! Layout (big-endian; v1 magic; IPv4 hosts, each IPv6 host adds 12 bytes, see SYSFLAG bits 4
//! and 5; the v2 magic has a 2-byte topic length):
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0  | 4 | TOTALSIZE (i32, the whole message) |
//! | 4  | 4 | MAGICCODE (v1 `0xDAA320A7`, v2 `0xDAA320AB`) |
//! | 8  | 4 | BODYCRC (CRC-32 IEEE of the body `& 0x7FFF_FFFF`) |
//! | 12 | 4 | QUEUEID (i32) |
//! | 16 | 4 | FLAG (i32) |
//! | 20 | 8 | QUEUEOFFSET (i64, stamped at apply: [`QUEUE_OFFSET_POS`]) |
//! | 28 | 8 | PHYSICALOFFSET (i64, [`PHYSICAL_OFFSET_POS`]) |
//! | 36 | 4 | SYSFLAG (i32) |
//! | 40 | 8 | BORNTIMESTAMP (i64 ms) |
//! | 48 | 8 | BORNHOST (IPv4 + i32 port; 16 + 4 bytes if SYSFLAG bit 4) |
//! | 56 | 8 | STORETIMESTAMP (i64 ms) |
//! | 64 | 8 | STOREHOST (IPv4 + i32 port; 16 + 4 bytes if SYSFLAG bit 5) |
//! | 72 | 4 | RECONSUMETIMES (i32) |
//! | 76 | 8 | PREPARED TRANSACTION OFFSET (i64) |
//! | 84 | 4 | BODY length (i32) |
//! | 88 | B | BODY |
//! | 88+B | 1 | TOPIC length (u8; i16 with the v2 magic) |
//! | … | T | TOPIC (UTF-8) |
//! | … | 2 | PROPERTIES length (i16) |
//! | … | P | PROPERTIES: `name 0x01 value 0x02 …`, trailing `0x02` optional |
//!
//! | file | owns |
//! | --- | --- |
//! | this one | the layout: [`encode_message`], [`decode_message`], [`walk_messages`], [`stamp_u64`], [`tags_code`], [`body_crc`] |
//! | [`property`] | the property names, as Java's `MessageConst` |
//! | `properties` | the PROPERTIES string: [`Properties`], [`parse_properties`], [`stored_properties`] (straight from a stored message), [`message_keys`], [`ScheduleSource`] |
//! | `msg_id` | offset msgIds: [`offset_msg_id`], [`parse_offset_msg_id`] |

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

mod msg_id;
mod properties;
pub mod property;

pub use msg_id::{offset_msg_id, parse_offset_msg_id};
use properties::encode_properties;
pub use properties::{
    Properties, ScheduleSource, message_keys, parse_properties, stored_properties,
};

/// MAGICCODE of the v1 layout, the only one [`encode_message`] writes.
pub const MAGIC_V1: u32 = 0xDAA3_20A7;
/// MAGICCODE of the v2 layout (RocketMQ 5.x, 2-byte topic length); decoded, never written.
pub const MAGIC_V2: u32 = 0xDAA3_20AB;
/// Byte offset of QUEUEOFFSET inside a stored message.
pub const QUEUE_OFFSET_POS: usize = 20;
/// Byte offset of PHYSICALOFFSET inside a stored message.
pub const PHYSICAL_OFFSET_POS: usize = 28;
/// SYSFLAG bit: BORNHOST is an IPv6 address (16 + 4 bytes).
pub const SYSFLAG_BORNHOST_V6: i32 = 0x10;
/// SYSFLAG bit: STOREHOST is an IPv6 address (16 + 4 bytes).
pub const SYSFLAG_STOREHOST_V6: i32 = 0x20;
/// Longest topic a v1 message carries (Java reads the length as a signed byte).
pub const MAX_TOPIC_LEN: usize = 127;
/// Longest properties string (its length is an i16).
pub const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;

/// Size of a v1 message with IPv4 hosts and empty body, topic and properties.
const MIN_SIZE_V1: usize = 91;

/// Why bytes are not a stored message, or a message cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// Fewer bytes than a field needs.
    #[error("message truncated: {field} needs {need} bytes, {have} left")]
    Truncated {
        field: &'static str,
        need: usize,
        have: usize,
    },
    /// TOTALSIZE is smaller than the fixed fields or larger than the bytes at hand.
    #[error("bad TOTALSIZE {total_size} ({have} bytes available)")]
    BadTotalSize { total_size: i32, have: usize },
    /// MAGICCODE is neither v1 nor v2.
    #[error("bad MAGICCODE {0:#010x}")]
    BadMagic(u32),
    /// A length field is negative.
    #[error("negative {field} length {len}")]
    NegativeLength { field: &'static str, len: i64 },
    /// The fields do not add up to TOTALSIZE.
    #[error("fields end at {computed}, TOTALSIZE says {total_size}")]
    LengthMismatch { total_size: usize, computed: usize },
    /// A host port is outside 0..=65535.
    #[error("{field} port {port} is out of range")]
    BadPort { field: &'static str, port: i32 },
    /// The topic is not UTF-8.
    #[error("topic is not UTF-8")]
    TopicNotUtf8,
    /// A field is too long to encode.
    #[error("{field} of {len} bytes exceeds the limit of {max}")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    /// A property cannot be encoded so that it decodes back (empty, or holds 0x01 / 0x02).
    #[error("property {name:?} cannot be stored: {reason}")]
    BadProperty { name: String, reason: &'static str },
    /// An offset msgId is malformed.
    #[error("bad offset msgId {id:?}: {reason}")]
    BadMsgId { id: String, reason: &'static str },
}

/// What the broker stores: every field but TOTALSIZE, MAGICCODE and BODYCRC, which
/// [`encode_message`] computes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageToStore {
    pub queue_id: i32,
    pub flag: i32,
    pub queue_offset: u64,
    pub physical_offset: u64,
    /// SYSFLAG; bits 4 and 5 are recomputed from the host address families when encoding.
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: u64,
    pub body: Vec<u8>,
    pub topic: String,
    pub properties: Properties,
}

impl MessageToStore {
    /// A message for `topic` / `queue_id` carrying `body`: no flag, no properties, zero
    /// timestamps and offsets, unspecified IPv4 hosts. Callers set what they need with struct
    /// update syntax.
    pub fn new(topic: &str, queue_id: i32, body: Vec<u8>) -> MessageToStore {
        let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
        MessageToStore {
            queue_id,
            flag: 0,
            queue_offset: 0,
            physical_offset: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: unspecified,
            store_timestamp: 0,
            store_host: unspecified,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body,
            topic: topic.to_string(),
            properties: Properties::new(),
        }
    }

    /// The TAGS property, if any.
    pub fn tags(&self) -> Option<&str> {
        self.properties.get(property::TAGS).map(String::as_str)
    }
}

/// A stored message decoded from bytes: the header fields plus everything it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub total_size: u32,
    pub magic: u32,
    pub body_crc: u32,
    pub message: MessageToStore,
}

/// CRC of a body as RocketMQ stores it: CRC-32 (IEEE) masked to 31 bits.
pub fn body_crc(body: &[u8]) -> u32 {
    crc32fast::hash(body) & 0x7FFF_FFFF
}

/// Encodes `msg` in the v1 layout.
///
/// SYSFLAG bits 4 and 5 are set from the families of `born_host` and `store_host`. Fails if the
/// topic, body or properties do not fit their length fields, or a property would not decode
/// back (empty name or value, a separator byte inside).
pub fn encode_message(msg: &MessageToStore) -> Result<Vec<u8>, MessageError> {
    let mut out = Vec::new();
    encode_message_into(msg, &mut out)?;
    Ok(out)
}

/// [`encode_message`] appending to `out` (which is left unchanged on error).
pub fn encode_message_into(msg: &MessageToStore, out: &mut Vec<u8>) -> Result<(), MessageError> {
    if msg.topic.len() > MAX_TOPIC_LEN {
        return Err(MessageError::TooLong {
            field: "topic",
            len: msg.topic.len(),
            max: MAX_TOPIC_LEN,
        });
    }
    let properties = encode_properties(&msg.properties)?;
    let hosts = host_len(&msg.born_host) + host_len(&msg.store_host);
    let total = MIN_SIZE_V1 - 16 + hosts + msg.body.len() + msg.topic.len() + properties.len();
    let too_long = |field, len| MessageError::TooLong {
        field,
        len,
        max: i32::MAX as usize,
    };
    let body_len = i32::try_from(msg.body.len()).map_err(|_| too_long("body", msg.body.len()))?;
    let total_i32 = i32::try_from(total).map_err(|_| too_long("message", total))?;
    let sys_flag = (msg.sys_flag & !(SYSFLAG_BORNHOST_V6 | SYSFLAG_STOREHOST_V6))
        | if msg.born_host.is_ipv6() {
            SYSFLAG_BORNHOST_V6
        } else {
            0
        }
        | if msg.store_host.is_ipv6() {
            SYSFLAG_STOREHOST_V6
        } else {
            0
        };

    out.reserve(total);
    out.extend_from_slice(&total_i32.to_be_bytes());
    out.extend_from_slice(&MAGIC_V1.to_be_bytes());
    out.extend_from_slice(&body_crc(&msg.body).to_be_bytes());
    out.extend_from_slice(&msg.queue_id.to_be_bytes());
    out.extend_from_slice(&msg.flag.to_be_bytes());
    out.extend_from_slice(&msg.queue_offset.to_be_bytes());
    out.extend_from_slice(&msg.physical_offset.to_be_bytes());
    out.extend_from_slice(&sys_flag.to_be_bytes());
    out.extend_from_slice(&msg.born_timestamp.to_be_bytes());
    put_host(out, &msg.born_host);
    out.extend_from_slice(&msg.store_timestamp.to_be_bytes());
    put_host(out, &msg.store_host);
    out.extend_from_slice(&msg.reconsume_times.to_be_bytes());
    out.extend_from_slice(&msg.prepared_transaction_offset.to_be_bytes());
    out.extend_from_slice(&body_len.to_be_bytes());
    out.extend_from_slice(&msg.body);
    // Both fit: checked against MAX_TOPIC_LEN and MAX_PROPERTIES_LEN above.
    out.push(msg.topic.len() as u8);
    out.extend_from_slice(msg.topic.as_bytes());
    out.extend_from_slice(&(properties.len() as u16).to_be_bytes());
    out.extend_from_slice(&properties);
    Ok(())
}

fn host_len(addr: &SocketAddr) -> usize {
    if addr.is_ipv6() { 20 } else { 8 }
}

fn put_host(out: &mut Vec<u8>, addr: &SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
    }
    out.extend_from_slice(&i32::from(addr.port()).to_be_bytes());
}

/// A bounds-checked big-endian reader: every read names the field it is for.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], MessageError> {
        let have = self.bytes.len() - self.pos;
        if n > have {
            return Err(MessageError::Truncated {
                field,
                need: n,
                have,
            });
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], MessageError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(field, N)?);
        Ok(out)
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, MessageError> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, MessageError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    fn i64(&mut self, field: &'static str) -> Result<i64, MessageError> {
        Ok(i64::from_be_bytes(self.array(field)?))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, MessageError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    fn len(&mut self, field: &'static str, len: i64) -> Result<&'a [u8], MessageError> {
        let n = usize::try_from(len).map_err(|_| MessageError::NegativeLength { field, len })?;
        self.take(field, n)
    }

    fn host(&mut self, field: &'static str, v6: bool) -> Result<SocketAddr, MessageError> {
        let ip = if v6 {
            IpAddr::V6(Ipv6Addr::from(self.array::<16>(field)?))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.array::<4>(field)?))
        };
        let port = self.i32(field)?;
        let port = u16::try_from(port).map_err(|_| MessageError::BadPort { field, port })?;
        Ok(SocketAddr::new(ip, port))
    }
}

/// Decodes the stored message at the start of `bytes`; returns it and its TOTALSIZE.
///
/// Never panics: every length is checked before it is used, and the fields must add up to
/// exactly TOTALSIZE. BODYCRC is reported, not verified (see [`body_crc`]).
pub fn decode_message(bytes: &[u8]) -> Result<(StoredMessage, usize), MessageError> {
    let total = check_total_size(bytes)?;
    let mut r = Reader {
        bytes: &bytes[..total],
        pos: 4,
    };
    let magic = r.u32("MAGICCODE")?;
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return Err(MessageError::BadMagic(magic));
    }
    let body_crc = r.u32("BODYCRC")?;
    let queue_id = r.i32("QUEUEID")?;
    let flag = r.i32("FLAG")?;
    let queue_offset = r.u64("QUEUEOFFSET")?;
    let physical_offset = r.u64("PHYSICALOFFSET")?;
    let sys_flag = r.i32("SYSFLAG")?;
    let born_timestamp = r.i64("BORNTIMESTAMP")?;
    let born_host = r.host("BORNHOST", sys_flag & SYSFLAG_BORNHOST_V6 != 0)?;
    let store_timestamp = r.i64("STORETIMESTAMP")?;
    let store_host = r.host("STOREHOST", sys_flag & SYSFLAG_STOREHOST_V6 != 0)?;
    let reconsume_times = r.i32("RECONSUMETIMES")?;
    let prepared_transaction_offset = r.u64("PREPAREDTRANSACTIONOFFSET")?;
    let body_len = r.i32("BODY length")?;
    let body = r.len("BODY", i64::from(body_len))?.to_vec();
    let topic_len = if magic == MAGIC_V1 {
        i64::from(r.array::<1>("TOPIC length")?[0])
    } else {
        i64::from(i16::from_be_bytes(r.array("TOPIC length")?))
    };
    let topic = std::str::from_utf8(r.len("TOPIC", topic_len)?)
        .map_err(|_| MessageError::TopicNotUtf8)?
        .to_owned();
    let properties_len = i16::from_be_bytes(r.array("PROPERTIES length")?);
    let properties = parse_properties(r.len("PROPERTIES", i64::from(properties_len))?);
    if r.pos != total {
        return Err(MessageError::LengthMismatch {
            total_size: total,
            computed: r.pos,
        });
    }
    let message = MessageToStore {
        queue_id,
        flag,
        queue_offset,
        physical_offset,
        sys_flag,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times,
        prepared_transaction_offset,
        body,
        topic,
        properties,
    };
    let stored = StoredMessage {
        total_size: total as u32, // came from a non-negative i32
        magic,
        body_crc,
        message,
    };
    Ok((stored, total))
}

/// Reads TOTALSIZE at the start of `bytes` and checks it against the minimum message size and
/// the bytes available.
fn check_total_size(bytes: &[u8]) -> Result<usize, MessageError> {
    let Some(head) = bytes.first_chunk::<4>() else {
        return Err(MessageError::Truncated {
            field: "TOTALSIZE",
            need: 4,
            have: bytes.len(),
        });
    };
    let total_size = i32::from_be_bytes(*head);
    match usize::try_from(total_size) {
        Ok(total) if (MIN_SIZE_V1..=bytes.len()).contains(&total) => Ok(total),
        _ => Err(MessageError::BadTotalSize {
            total_size,
            have: bytes.len(),
        }),
    }
}

/// Iterates over the messages laid back to back in `body` (a MESSAGE or MESSAGE_BATCH record
/// body), yielding `(offset_in_body, len)` of each. Only TOTALSIZE and MAGICCODE are checked;
/// after the first error the iterator ends.
pub fn walk_messages(body: &[u8]) -> WalkMessages<'_> {
    WalkMessages { body, pos: 0 }
}

/// Iterator returned by [`walk_messages`].
#[derive(Debug, Clone)]
pub struct WalkMessages<'a> {
    body: &'a [u8],
    pos: usize,
}

impl Iterator for WalkMessages<'_> {
    type Item = Result<(usize, usize), MessageError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.body.len() {
            return None;
        }
        let rest = &self.body[self.pos..];
        let checked = check_total_size(rest).and_then(|total| {
            let magic = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]);
            if magic == MAGIC_V1 || magic == MAGIC_V2 {
                Ok(total)
            } else {
                Err(MessageError::BadMagic(magic))
            }
        });
        match checked {
            Ok(total) => {
                let at = self.pos;
                self.pos += total;
                Some(Ok((at, total)))
            }
            Err(e) => {
                self.pos = self.body.len();
                Some(Err(e))
            }
        }
    }
}

/// The consume-queue tags code of `tags`: Java's `String.hashCode()` over UTF-16 code units,
/// sign-extended to 64 bits (0 for an empty tag).
pub fn tags_code(tags: &str) -> i64 {
    let hash = tags.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    });
    i64::from(hash)
}

/// Writes `value` big-endian at byte `field` of `message` ([`QUEUE_OFFSET_POS`] or
/// [`PHYSICAL_OFFSET_POS`]). Fails if `message` is too short.
pub fn stamp_u64(message: &mut [u8], field: usize, value: u64) -> Result<(), MessageError> {
    let have = message.len();
    let Some(dst) = message.get_mut(field..field.saturating_add(8)) else {
        return Err(MessageError::Truncated {
            field: "stamped field",
            need: field.saturating_add(8),
            have,
        });
    };
    dst.copy_from_slice(&value.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests;
