//! The JSON header (serialize type 0, remoting.md §1.3.1).
//!
//! Out: the members Java writes, in its (alphabetical) order, so every client parses it:
//! `code`, `extFields` (always, possibly `{}`), `flag`, `language` (the Java name; an unknown
//! language number is written as that number), `opaque`, `remark` (omitted when `None`),
//! `serializeTypeCurrentRPC` (always `"JSON"`: rocketmq-client-rust drops replies without it),
//! `version`. `extFields` values are always strings.
//!
//! In, leniently, as real clients send it:
//!
//! | member | accepted | missing / null |
//! | --- | --- | --- |
//! | `code`, `version`, `opaque`, `flag` | integer, integral float, numeric string (trimmed); must fit i32 | 0 |
//! | `language` | Java name (unknown names → `OTHER`) or number | `JAVA` |
//! | `remark` | string; numbers and booleans as their text | `None` |
//! | `extFields` | object; string values as is, numbers as decimal text, booleans `true`/`false`, nested values as compact JSON, `null` values dropped | empty |
//! | `serializeTypeCurrentRPC`, anything else | ignored | |
//!
//! Bytes that are not UTF-8 are decoded lossily first (U+FFFD), as Java's `new String(..)` does.
//! The header must be a JSON object.

use std::borrow::Cow;

use bytes::{BufMut, BytesMut};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{DecodeError, EncodeError};
use crate::remoting::code::LanguageCode;
use crate::remoting::command::{ExtFields, RemotingCommand, SerializeType};
use crate::remoting::header::{integral_float, parse_integer};

/// `language` as Java writes it (a name), or a number for languages without one.
#[derive(Serialize)]
#[serde(untagged)]
enum Language {
    Name(&'static str),
    Number(i32),
}

/// The members in fastjson's order.
#[derive(Serialize)]
struct HeaderOut<'a> {
    code: i32,
    #[serde(rename = "extFields")]
    ext_fields: &'a ExtFields,
    flag: i32,
    language: Language,
    opaque: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    remark: Option<&'a str>,
    #[serde(rename = "serializeTypeCurrentRPC")]
    serialize_type: &'static str,
    version: i32,
}

pub(super) fn encode(cmd: &RemotingCommand, dst: &mut BytesMut) -> Result<(), EncodeError> {
    let language = match cmd.language.java_name() {
        Some(name) => Language::Name(name),
        None => Language::Number(cmd.language.as_i32()),
    };
    let header = HeaderOut {
        code: cmd.code,
        ext_fields: &cmd.ext_fields,
        flag: cmd.flag,
        language,
        opaque: cmd.opaque,
        remark: cmd.remark.as_deref(),
        serialize_type: SerializeType::Json.java_name(),
        version: cmd.version,
    };
    serde_json::to_writer(dst.writer(), &header)?;
    Ok(())
}

/// Decodes a JSON header; the body is left empty for the frame layer to fill.
pub(super) fn decode(header: &[u8]) -> Result<RemotingCommand, DecodeError> {
    let text = String::from_utf8_lossy(header);
    let value: Value = serde_json::from_str(&text)?;
    let Value::Object(obj) = value else {
        return Err(DecodeError::JsonField {
            field: "header",
            reason: "not a JSON object".into(),
        });
    };
    Ok(RemotingCommand {
        code: int_member(&obj, "code")?,
        language: language_member(&obj)?,
        version: int_member(&obj, "version")?,
        opaque: int_member(&obj, "opaque")?,
        flag: int_member(&obj, "flag")?,
        remark: remark_member(&obj)?,
        ext_fields: ext_fields_member(&obj)?,
        serialize_type: SerializeType::Json,
        ..RemotingCommand::default()
    })
}

fn int_member(obj: &Map<String, Value>, field: &'static str) -> Result<i32, DecodeError> {
    let invalid = |reason: String| DecodeError::JsonField { field, reason };
    let wide: i64 = match obj.get(field) {
        None | Some(Value::Null) => return Ok(0),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(v) => v,
            None => {
                integral_float(n.as_f64()).ok_or_else(|| invalid(format!("{n} is not an i32")))?
            }
        },
        Some(Value::String(s)) => {
            parse_integer(s).ok_or_else(|| invalid(format!("{s:?} is not an integer")))?
        }
        Some(other) => return Err(invalid(format!("expected a number, got {}", kind(other)))),
    };
    i32::try_from(wide).map_err(|_| invalid(format!("{wide} does not fit i32")))
}

fn language_member(obj: &Map<String, Value>) -> Result<LanguageCode, DecodeError> {
    match obj.get("language") {
        None | Some(Value::Null) => Ok(LanguageCode::Java),
        Some(Value::String(name)) => match parse_integer(name) {
            Some(n) => Ok(i32::try_from(n).map_or(LanguageCode::Other, LanguageCode::from_i32)),
            None => Ok(LanguageCode::from_java_name(name.trim()).unwrap_or(LanguageCode::Other)),
        },
        Some(_) => int_member(obj, "language").map(LanguageCode::from_i32),
    }
}

fn remark_member(obj: &Map<String, Value>) -> Result<Option<String>, DecodeError> {
    match obj.get("remark") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
        Some(other) => Err(DecodeError::JsonField {
            field: "remark",
            reason: format!("expected a string, got {}", kind(other)),
        }),
    }
}

fn ext_fields_member(obj: &Map<String, Value>) -> Result<ExtFields, DecodeError> {
    let map = match obj.get("extFields") {
        None | Some(Value::Null) => return Ok(ExtFields::new()),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(DecodeError::JsonField {
                field: "extFields",
                reason: format!("expected an object, got {}", kind(other)),
            });
        }
    };
    let mut fields = ExtFields::new();
    for (key, value) in map {
        let text: Cow<'_, str> = match value {
            Value::Null => continue,
            Value::String(s) => Cow::Borrowed(s),
            other => Cow::Owned(other.to_string()),
        };
        fields.insert(key.clone(), text.into_owned());
    }
    Ok(fields)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
