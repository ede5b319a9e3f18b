//! [`RemotingCommand`]: one request or response of the RocketMQ 4.x remoting protocol, as both
//! serializations see it (remoting.md §1.3), plus the constructors that keep the protocol's
//! rules in one place: a response copies its request's `opaque` and serialization (§1.3.3) and
//! sets the response flag.
//!
//! This module never touches bytes (that is [`super::codec`]) nor sockets ([`super::server`],
//! [`super::client`]); typed views of `ext_fields` are [`super::header`].

use std::collections::BTreeMap;

use bytes::Bytes;

use super::code::{LanguageCode, RequestCode, ResponseCode};
use super::header::{CommandHeader, HeaderError};

/// A command's typed header flattened into strings (remoting.md §1.4). Ordered, so JSON output
/// is sorted by key as Java's fastjson writes it.
pub type ExtFields = BTreeMap<String, String>;

/// The `version` this crate puts in what it sends: Java 4.9.7's ordinal (remoting.md §1.8).
pub const DEFAULT_VERSION: i32 = 407;

/// How a command's header is encoded (the frame's type byte, remoting.md §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SerializeType {
    /// Type byte 0: a JSON object (§1.3.1). What every client speaks; the default.
    #[default]
    Json,
    /// Type byte 1: the `ROCKETMQ` binary layout (§1.3.2).
    RocketMq,
}

impl SerializeType {
    /// The frame's type byte.
    pub fn as_u8(self) -> u8 {
        match self {
            SerializeType::Json => 0,
            SerializeType::RocketMq => 1,
        }
    }

    /// The serialization for a frame's type byte, if it names one.
    pub fn from_u8(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(SerializeType::Json),
            1 => Some(SerializeType::RocketMq),
            _ => None,
        }
    }

    /// Java's name, as written in `serializeTypeCurrentRPC`.
    pub fn java_name(self) -> &'static str {
        match self {
            SerializeType::Json => "JSON",
            SerializeType::RocketMq => "ROCKETMQ",
        }
    }
}

/// One request or response. Fields are public: it is plain protocol data, and the codec checks
/// the wire limits (i16 code and version in binary headers, 24-bit header length, frame size).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotingCommand {
    /// Request code in requests ([`RequestCode`]), response code in responses ([`ResponseCode`]).
    pub code: i32,
    pub language: LanguageCode,
    pub version: i32,
    /// Request id chosen by the requester; a response carries its request's.
    pub opaque: i32,
    /// Bit 0 ([`Self::RESPONSE_FLAG`]) = response, bit 1 ([`Self::ONEWAY_FLAG`]) = oneway.
    pub flag: i32,
    pub remark: Option<String>,
    pub ext_fields: ExtFields,
    pub body: Bytes,
    /// How this command's header is (to be) encoded.
    pub serialize_type: SerializeType,
}

impl Default for RemotingCommand {
    fn default() -> Self {
        RemotingCommand {
            code: 0,
            language: LanguageCode::Java,
            version: DEFAULT_VERSION,
            opaque: 0,
            flag: 0,
            remark: None,
            ext_fields: ExtFields::new(),
            body: Bytes::new(),
            serialize_type: SerializeType::Json,
        }
    }
}

impl RemotingCommand {
    /// Flag bit 0: this command is a response.
    pub const RESPONSE_FLAG: i32 = 1;
    /// Flag bit 1: this request must not be answered.
    pub const ONEWAY_FLAG: i32 = 2;

    /// A request (opaque 0: the client that sends it assigns one), JSON, language JAVA,
    /// version [`DEFAULT_VERSION`].
    pub fn request(code: RequestCode, ext_fields: ExtFields, body: Bytes) -> Self {
        RemotingCommand {
            code: code.as_i32(),
            ext_fields,
            body,
            ..RemotingCommand::default()
        }
    }

    /// The response to `req`: same opaque, same serialization, the response flag, `code`,
    /// `remark`, no header fields and no body (add them with [`Self::with_header`] and
    /// [`Self::with_body`]).
    pub fn response_to(req: &RemotingCommand, code: ResponseCode, remark: Option<String>) -> Self {
        RemotingCommand {
            code: code.as_i32(),
            opaque: req.opaque,
            flag: Self::RESPONSE_FLAG,
            remark,
            serialize_type: req.serialize_type,
            ..RemotingCommand::default()
        }
    }

    /// An error response to this request, with `remark` as the text clients surface.
    pub fn error_response(&self, code: ResponseCode, remark: impl Into<String>) -> Self {
        Self::response_to(self, code, Some(remark.into()))
    }

    /// A `SUCCESS` response to this request.
    pub fn success_response(&self) -> Self {
        Self::response_to(self, ResponseCode::Success, None)
    }

    /// Adds `header`'s fields to `ext_fields` (a key already present is overwritten).
    pub fn with_header(mut self, header: &impl CommandHeader) -> Self {
        self.ext_fields.extend(header.to_fields());
        self
    }

    /// Replaces the body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the oneway flag: the peer must not answer.
    pub fn into_oneway(mut self) -> Self {
        self.flag |= Self::ONEWAY_FLAG;
        self
    }

    /// Chooses the header serialization.
    pub fn with_serialize_type(mut self, serialize_type: SerializeType) -> Self {
        self.serialize_type = serialize_type;
        self
    }

    /// Parses `ext_fields` as the typed header `H`.
    pub fn header<H: CommandHeader>(&self) -> Result<H, HeaderError> {
        H::from_fields(&self.ext_fields)
    }

    /// Flag bit 0.
    pub fn is_response(&self) -> bool {
        self.flag & Self::RESPONSE_FLAG != 0
    }

    /// Flag bit 1 (meaningful on requests only).
    pub fn is_oneway(&self) -> bool {
        self.flag & Self::ONEWAY_FLAG != 0
    }

    /// `code` read as a request code.
    pub fn request_code(&self) -> RequestCode {
        RequestCode::from_i32(self.code)
    }

    /// `code` read as a response code.
    pub fn response_code(&self) -> ResponseCode {
        ResponseCode::from_i32(self.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_copies_opaque_and_serialization_and_sets_the_response_flag() {
        let mut req =
            RemotingCommand::request(RequestCode::PullMessage, ExtFields::new(), Bytes::new())
                .with_serialize_type(SerializeType::RocketMq);
        req.opaque = 77;
        req.language = LanguageCode::Cpp;
        let resp = req.error_response(ResponseCode::SystemBusy, "[REJECTREQUEST]");
        assert_eq!(resp.opaque, 77);
        assert!(resp.is_response());
        assert!(!resp.is_oneway());
        assert_eq!(resp.serialize_type, SerializeType::RocketMq);
        assert_eq!(resp.response_code(), ResponseCode::SystemBusy);
        assert_eq!(resp.remark.as_deref(), Some("[REJECTREQUEST]"));
        assert_eq!(resp.language, LanguageCode::Java);
        assert_eq!(resp.version, DEFAULT_VERSION);
    }

    #[test]
    fn a_request_is_neither_response_nor_oneway_until_marked() {
        let req = RemotingCommand::request(RequestCode::HeartBeat, ExtFields::new(), Bytes::new());
        assert!(!req.is_response());
        assert!(!req.is_oneway());
        assert_eq!(req.request_code(), RequestCode::HeartBeat);
        let oneway = req.into_oneway();
        assert!(oneway.is_oneway());
        assert_eq!(oneway.flag, 2);
    }

    #[test]
    fn serialize_type_bytes_are_zero_and_one() {
        assert_eq!(SerializeType::from_u8(0), Some(SerializeType::Json));
        assert_eq!(SerializeType::from_u8(1), Some(SerializeType::RocketMq));
        assert_eq!(SerializeType::from_u8(2), None);
        assert_eq!(SerializeType::RocketMq.as_u8(), 1);
    }
}
