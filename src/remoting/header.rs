//! Typed command headers ↔ `extFields` (remoting.md §1.4).
//!
//! One Rust type per Java header class, used by both sides: the broker or nameserver parses a
//! request with [`CommandHeader::from_fields`] (or [`RemotingCommand::header`]), the client
//! builds one with [`CommandHeader::to_fields`] (or [`RemotingCommand::with_header`]); responses
//! the same way round. Keys are Java's field names; fields the tables mark required are plain
//! types and their absence is [`HeaderError::Missing`] naming the key; optional fields are
//! `Option`s, written only when `Some`.
//!
//! Values are parsed leniently, as real clients send them: integers may carry surrounding
//! whitespace, a `+`, or an integral fraction (`"3.0"`); booleans follow Java's
//! `Boolean.parseBoolean` (only `true`, any case, is true) and also take the C++ client's `"1"`;
//! unknown keys (`bname` on 4.9 clients, `lo`, `ns`, …) are ignored.
//!
//! | file | headers |
//! | --- | --- |
//! | [`send`] | `SendMessageRequestHeader` (V1 keys, code 10) and its V2 form (keys `a`..`n`, codes 310/320), `SendMessageResponseHeader` |
//! | [`pull`] | `PullMessageRequestHeader`, `PullMessageResponseHeader` |
//! | [`offset`] | consumer offset query/update, max/min offset, search by timestamp |
//! | [`namesrv`] | broker (un)registration, route lookup |
//! | [`admin`] | topic create/delete, consumer list, ids-changed notification |
//! | [`reply`] | `ReplyMessageRequestHeader` (PUSH_REPLY_MESSAGE_TO_CLIENT, 326) |
//!
//! This module never looks at codes, bodies or bytes: [`super::command`] carries the map,
//! [`super::codec`] puts it on the wire.
//!
//! [`RemotingCommand::header`]: super::command::RemotingCommand::header
//! [`RemotingCommand::with_header`]: super::command::RemotingCommand::with_header

use super::command::ExtFields;

/// A decimal integer as clients write it: surrounding whitespace and a leading `+` allowed, and
/// an integral decimal fraction (`"3.0"`) too. Shared with the JSON header decoder.
pub(crate) fn parse_integer(s: &str) -> Option<i64> {
    let s = s.trim();
    s.parse::<i64>()
        .ok()
        .or_else(|| integral_float(s.parse::<f64>().ok()))
}

/// `f` as an i64 if it is integral and in range (NaN and infinities are not).
pub(crate) fn integral_float(f: Option<f64>) -> Option<i64> {
    let f = f?;
    // -2^63 and 2^63 are exact in f64; 2^63 itself is out of range. False for NaN.
    let range = i64::MIN as f64..-(i64::MIN as f64);
    if f.fract() == 0.0 && range.contains(&f) {
        Some(f as i64)
    } else {
        None
    }
}

/// A typed header: parsed from, and flattened into, a command's `extFields`.
pub trait CommandHeader: Sized {
    /// Parses the header; a missing required key or an unparsable value names the key.
    fn from_fields(fields: &ExtFields) -> Result<Self, HeaderError>;
    /// The header's non-`None` fields under their Java names.
    fn to_fields(&self) -> ExtFields;
}

/// Why `extFields` do not make a header. Brokers answer these with `SYSTEM_ERROR` and the
/// message as remark (Java's wording for the missing case).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("the custom field <{field}> is null")]
    Missing { field: &'static str },
    #[error("the custom field <{field}> is not {expected}: {value:?}")]
    Invalid {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl HeaderError {
    /// The key this error is about.
    pub fn field(&self) -> &'static str {
        match self {
            HeaderError::Missing { field } | HeaderError::Invalid { field, .. } => field,
        }
    }

    /// The same error about another key (used to report V2 short names).
    fn with_field(self, field: &'static str) -> Self {
        match self {
            HeaderError::Missing { .. } => HeaderError::Missing { field },
            HeaderError::Invalid {
                value, expected, ..
            } => HeaderError::Invalid {
                field,
                value,
                expected,
            },
        }
    }
}

/// A single header value type: how it reads from and renders to a string.
trait Scalar: Sized {
    const EXPECTED: &'static str;
    fn parse(text: &str) -> Option<Self>;
    fn render(&self) -> String;
}

impl Scalar for String {
    const EXPECTED: &'static str = "a string";
    fn parse(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }
    fn render(&self) -> String {
        self.clone()
    }
}

impl Scalar for i32 {
    const EXPECTED: &'static str = "an i32";
    fn parse(text: &str) -> Option<Self> {
        parse_integer(text).and_then(|v| i32::try_from(v).ok())
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

impl Scalar for i64 {
    const EXPECTED: &'static str = "an i64";
    fn parse(text: &str) -> Option<Self> {
        parse_integer(text)
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

impl Scalar for bool {
    const EXPECTED: &'static str = "a boolean";
    fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        Some(text.eq_ignore_ascii_case("true") || text == "1")
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

/// A header field: required (`T`) or optional (`Option<T>`).
trait FieldValue: Sized {
    fn read(fields: &ExtFields, key: &'static str) -> Result<Self, HeaderError>;
    fn write(&self, fields: &mut ExtFields, key: &'static str);
}

fn parse_scalar<T: Scalar>(text: &str, key: &'static str) -> Result<T, HeaderError> {
    T::parse(text).ok_or_else(|| HeaderError::Invalid {
        field: key,
        value: text.to_owned(),
        expected: T::EXPECTED,
    })
}

impl<T: Scalar> FieldValue for T {
    fn read(fields: &ExtFields, key: &'static str) -> Result<Self, HeaderError> {
        let text = fields.get(key).ok_or(HeaderError::Missing { field: key })?;
        parse_scalar(text, key)
    }
    fn write(&self, fields: &mut ExtFields, key: &'static str) {
        fields.insert(key.to_owned(), self.render());
    }
}

impl<T: Scalar> FieldValue for Option<T> {
    fn read(fields: &ExtFields, key: &'static str) -> Result<Self, HeaderError> {
        fields
            .get(key)
            .map(|text| parse_scalar(text, key))
            .transpose()
    }
    fn write(&self, fields: &mut ExtFields, key: &'static str) {
        if let Some(value) = self {
            fields.insert(key.to_owned(), value.render());
        }
    }
}

/// Declares a header struct (public fields, `Default`) and its [`CommandHeader`] impl from a
/// list of `field: Type => "javaKey"`. `Option` types are optional keys.
macro_rules! command_header {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$field_meta:meta])* $field:ident : $ty:ty => $key:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            $(
                $(#[$field_meta])*
                #[doc = concat!("\n\nKey `", $key, "`.")]
                pub $field: $ty,
            )*
        }

        impl $crate::remoting::header::CommandHeader for $name {
            fn from_fields(
                fields: &$crate::remoting::command::ExtFields,
            ) -> Result<Self, $crate::remoting::header::HeaderError> {
                Ok($name {
                    $( $field: <$ty as $crate::remoting::header::FieldValue>::read(fields, $key)?, )*
                })
            }

            fn to_fields(&self) -> $crate::remoting::command::ExtFields {
                #[allow(unused_mut, reason = "headers without fields")]
                let mut fields = $crate::remoting::command::ExtFields::new();
                $( $crate::remoting::header::FieldValue::write(&self.$field, &mut fields, $key); )*
                fields
            }
        }
    };
}

pub mod admin;
pub mod namesrv;
pub mod offset;
pub mod pull;
pub mod reply;
pub mod send;
pub mod transaction;

pub use admin::{
    CreateTopicRequestHeader, DeleteTopicRequestHeader, GetConsumerListByGroupRequestHeader,
    NotifyConsumerIdsChangedRequestHeader,
};
pub use namesrv::{
    GetRouteInfoRequestHeader, RegisterBrokerRequestHeader, RegisterBrokerResponseHeader,
    UnRegisterBrokerRequestHeader,
};
pub use offset::{
    GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader, GetMinOffsetRequestHeader,
    GetMinOffsetResponseHeader, QueryConsumerOffsetRequestHeader,
    QueryConsumerOffsetResponseHeader, SearchOffsetRequestHeader, SearchOffsetResponseHeader,
    UpdateConsumerOffsetRequestHeader,
};
pub use pull::{PullMessageRequestHeader, PullMessageResponseHeader};
pub use reply::ReplyMessageRequestHeader;
pub use send::{SendMessageRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader};
pub use transaction::{CheckTransactionStateRequestHeader, EndTransactionRequestHeader};

#[cfg(test)]
mod tests;
