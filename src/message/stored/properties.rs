//! The PROPERTIES string of a stored message: [`Properties`], its encoding and Java-compatible
//! parsing (`name 0x01 value 0x02 …`), and the values read out of it ([`message_keys`],
//! [`ScheduleSource`]).

use std::collections::BTreeMap;

use super::{
    MAGIC_V1, MAGIC_V2, MAX_PROPERTIES_LEN, MessageError, Reader, SYSFLAG_BORNHOST_V6,
    SYSFLAG_STOREHOST_V6, check_total_size, property,
};

const NAME_VALUE_SEPARATOR: u8 = 0x01;
pub(super) const PROPERTY_SEPARATOR: u8 = 0x02;

/// Parsed properties. Ordered, so that encoding the same message twice gives the same bytes.
pub type Properties = BTreeMap<String, String>;

/// Where a delivered delayed message came from (property [`property::SCHEDULE_SOURCE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleSource {
    /// Delay level, 1-based (schedule queue `level - 1`).
    pub level: u32,
    /// Offset of the entry in the schedule queue.
    pub offset: u64,
}

impl ScheduleSource {
    /// The property value.
    pub fn to_property(self) -> String {
        format!("{}:{}", self.level, self.offset)
    }

    /// Reads the property of `properties`, if present and well formed.
    pub fn of(properties: &Properties) -> Option<ScheduleSource> {
        let (level, offset) = properties.get(property::SCHEDULE_SOURCE)?.split_once(':')?;
        Some(ScheduleSource {
            level: level.parse().ok()?,
            offset: offset.parse().ok()?,
        })
    }
}

/// Encodes properties without a trailing separator, as Java 4.9.7 does.
pub(super) fn encode_properties(properties: &Properties) -> Result<Vec<u8>, MessageError> {
    let mut out = Vec::new();
    for (name, value) in properties {
        let bad = |reason| MessageError::BadProperty {
            name: name.clone(),
            reason,
        };
        if name.is_empty() || value.is_empty() {
            return Err(bad("empty names and values are dropped by every reader"));
        }
        let has_separator = |s: &str| {
            s.bytes()
                .any(|b| b == NAME_VALUE_SEPARATOR || b == PROPERTY_SEPARATOR)
        };
        if has_separator(name) || has_separator(value) {
            return Err(bad("contains a 0x01 or 0x02 separator byte"));
        }
        if !out.is_empty() {
            out.push(PROPERTY_SEPARATOR);
        }
        out.extend_from_slice(name.as_bytes());
        out.push(NAME_VALUE_SEPARATOR);
        out.extend_from_slice(value.as_bytes());
    }
    if out.len() > MAX_PROPERTIES_LEN {
        return Err(MessageError::TooLong {
            field: "properties",
            len: out.len(),
            max: MAX_PROPERTIES_LEN,
        });
    }
    Ok(out)
}

/// Parses a properties string the way Java's `string2messageProperties` does: segments split on
/// 0x02, name and value split at the first 0x01, segments with an empty name or value skipped,
/// the last of duplicate names wins. Invalid UTF-8 is replaced, as Java's decoder does.
pub fn parse_properties(bytes: &[u8]) -> Properties {
    let mut properties = Properties::new();
    for segment in bytes.split(|&b| b == PROPERTY_SEPARATOR) {
        let Some(sep) = segment.iter().position(|&b| b == NAME_VALUE_SEPARATOR) else {
            continue;
        };
        let (name, value) = (&segment[..sep], &segment[sep + 1..]);
        if name.is_empty() || value.is_empty() {
            continue;
        }
        properties.insert(
            String::from_utf8_lossy(name).into_owned(),
            String::from_utf8_lossy(value).into_owned(),
        );
    }
    properties
}

/// The properties of the stored message at the start of `bytes`, found without copying its
/// body or decoding its other fields (a SQL92 filter reads them for every message a pull
/// considers). Every length crossed is checked, as [`super::decode_message`] checks it.
pub fn stored_properties(bytes: &[u8]) -> Result<Properties, MessageError> {
    let total = check_total_size(bytes)?;
    let mut r = Reader {
        bytes: &bytes[..total],
        pos: 4,
    };
    let magic = r.u32("MAGICCODE")?;
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return Err(MessageError::BadMagic(magic));
    }
    r.take("BODYCRC to PHYSICALOFFSET", 28)?;
    let sys_flag = r.i32("SYSFLAG")?;
    let host_len = |v6: bool| if v6 { 20 } else { 8 };
    let born = 8 + host_len(sys_flag & SYSFLAG_BORNHOST_V6 != 0);
    r.take("BORNTIMESTAMP, BORNHOST", born)?;
    let store = 8 + host_len(sys_flag & SYSFLAG_STOREHOST_V6 != 0);
    r.take("STORETIMESTAMP, STOREHOST", store)?;
    r.take("RECONSUMETIMES, PREPAREDTRANSACTIONOFFSET", 12)?;
    let body_len = r.i32("BODY length")?;
    r.len("BODY", i64::from(body_len))?;
    let topic_len = if magic == MAGIC_V1 {
        i64::from(r.array::<1>("TOPIC length")?[0])
    } else {
        i64::from(i16::from_be_bytes(r.array("TOPIC length")?))
    };
    r.len("TOPIC", topic_len)?;
    let properties_len = i16::from_be_bytes(r.array("PROPERTIES length")?);
    Ok(parse_properties(
        r.len("PROPERTIES", i64::from(properties_len))?,
    ))
}

/// The keys the KEYS property lists: split on spaces, empty pieces dropped (as Java indexes).
pub fn message_keys(properties: &Properties) -> impl Iterator<Item = &str> {
    properties
        .get(property::KEYS)
        .into_iter()
        .flat_map(|keys| keys.split(' '))
        .filter(|key| !key.is_empty())
}
