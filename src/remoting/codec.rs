//! Frames ↔ [`RemotingCommand`]s (remoting.md §1.2).
//!
//! | offset | size | field | |
//! | --- | --- | --- | --- |
//! | 0 | 4 | total_length | u32 BE, `4 + header_length + body_length` (excludes itself) |
//! | 4 | 1 | serialize_type | 0 = JSON (`json.rs`, §1.3.1), 1 = ROCKETMQ (`binary.rs`, §1.3.2) |
//! | 5 | 3 | header_length | u24 BE |
//! | 8 | H | header | per serialize_type |
//! | 8+H | B | body | `B = total_length - 4 - H`, may be 0 |
//!
//! Limits are checked from the first 8 bytes, before the rest of a frame is waited for or any
//! buffer is grown: the whole frame (prefix included, as Java's decoder counts it) must fit
//! [`FrameCodec::max_frame`] (16 MiB by default), `total_length ≥ 4`, the header must fit the
//! frame and its own limit ([`DEFAULT_MAX_HEADER`]), the type byte must be 0 or 1. "Need more bytes" is `Ok(None)`; everything else wrong
//! is a [`DecodeError`], after which the stream cannot be resynchronised (close it). The body is
//! a zero-copy slice of the frame. No input panics.
//!
//! The codec owns bytes only: it never reads sockets ([`super::server`], [`super::client`]) and
//! never interprets `ext_fields` ([`super::header`]).

mod binary;
mod json;

use bytes::{BufMut, Bytes, BytesMut};

use super::command::{RemotingCommand, SerializeType};

/// Java's default frame limit: 16 MiB including the 4-byte length prefix.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

/// Largest header the 24-bit length can express.
const MAX_HEADER: usize = 0x00FF_FFFF;

/// Largest header accepted by default: real headers are a few KiB (a message's properties,
/// RocketMQ's largest field, are capped at 32 KiB before JSON escaping), so 256 KiB leaves
/// room while a flood of frames with megabyte headers can no longer tie up memory and parsing.
pub const DEFAULT_MAX_HEADER: usize = 256 * 1024;

/// Why bytes are not a frame. Any of these leaves the stream unusable.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("frame of {length} bytes exceeds the {max}-byte limit")]
    FrameTooLarge { length: u64, max: usize },
    #[error("total_length {total_length} is below 4 (no room for the header length)")]
    FrameTooShort { total_length: u32 },
    #[error("header length {header_length} does not fit a frame of total_length {total_length}")]
    HeaderTooLong {
        header_length: u32,
        total_length: u32,
    },
    #[error("header of {header_length} bytes exceeds the {max}-byte header limit")]
    HeaderTooLarge { header_length: u32, max: usize },
    #[error("unknown serialize type byte {0}")]
    UnknownSerializeType(u8),
    #[error("JSON header: {0}")]
    Json(#[from] serde_json::Error),
    #[error("JSON header: field {field}: {reason}")]
    JsonField { field: &'static str, reason: String },
    #[error("binary header: {field}: {reason}")]
    Binary {
        field: &'static str,
        reason: &'static str,
    },
}

/// Why a command cannot be put on the wire.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("{field} {value} does not fit the binary header's {bits}-bit field")]
    OutOfRange {
        field: &'static str,
        value: i32,
        bits: u8,
    },
    #[error("ext field key of {0} bytes exceeds the binary header's i16 length")]
    KeyTooLong(usize),
    #[error("header of {0} bytes exceeds the 24-bit header length")]
    HeaderTooLong(usize),
    #[error("frame of {length} bytes exceeds the {max}-byte limit")]
    FrameTooLarge { length: usize, max: usize },
    #[error("JSON header: {0}")]
    Json(#[from] serde_json::Error),
}

/// Frame encoder/decoder with a frame size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameCodec {
    max_frame: usize,
    max_header: usize,
}

impl Default for FrameCodec {
    fn default() -> Self {
        FrameCodec::new(DEFAULT_MAX_FRAME)
    }
}

impl FrameCodec {
    /// A codec accepting and producing frames of at most `max_frame` bytes, length prefix
    /// included (values below the 8-byte minimum frame are raised to it).
    pub fn new(max_frame: usize) -> Self {
        FrameCodec {
            max_frame: max_frame.max(8),
            max_header: DEFAULT_MAX_HEADER,
        }
    }

    /// The same codec refusing headers longer than `max_header` bytes when decoding.
    pub fn with_max_header(self, max_header: usize) -> Self {
        FrameCodec { max_header, ..self }
    }

    /// The frame limit in bytes, length prefix included.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// Takes one whole frame off the front of `buf`. `Ok(None)`: not enough bytes yet, `buf`
    /// untouched. The limits are checked as soon as the 8-byte prefix is present.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<RemotingCommand>, DecodeError> {
        let Some(prefix) = buf.get(..4) else {
            return Ok(None);
        };
        let total_length = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
        if total_length < 4 {
            return Err(DecodeError::FrameTooShort { total_length });
        }
        let frame_length = 4 + u64::from(total_length);
        if frame_length > self.max_frame as u64 {
            return Err(DecodeError::FrameTooLarge {
                length: frame_length,
                max: self.max_frame,
            });
        }
        let Some(word) = buf.get(4..8) else {
            return Ok(None);
        };
        let serialize_type =
            SerializeType::from_u8(word[0]).ok_or(DecodeError::UnknownSerializeType(word[0]))?;
        let header_length = u32::from_be_bytes([0, word[1], word[2], word[3]]);
        if header_length > total_length - 4 {
            return Err(DecodeError::HeaderTooLong {
                header_length,
                total_length,
            });
        }
        if header_length as usize > self.max_header {
            return Err(DecodeError::HeaderTooLarge {
                header_length,
                max: self.max_header,
            });
        }
        // Both fit usize: frame_length <= max_frame.
        let frame_length = frame_length as usize;
        if buf.len() < frame_length {
            return Ok(None);
        }
        let frame = buf.split_to(frame_length).freeze();
        let header_end = 8 + header_length as usize;
        let header = &frame[8..header_end];
        let mut cmd = match serialize_type {
            SerializeType::Json => json::decode(header)?,
            SerializeType::RocketMq => binary::decode(header)?,
        };
        cmd.body = frame.slice(header_end..);
        Ok(Some(cmd))
    }

    /// Appends `cmd` as one frame to `dst`. On error `dst` is left as it was.
    pub fn encode(&self, cmd: &RemotingCommand, dst: &mut BytesMut) -> Result<(), EncodeError> {
        let start = dst.len();
        let result = self.encode_inner(cmd, dst);
        if result.is_err() {
            dst.truncate(start);
        }
        result
    }

    /// `cmd` as one frame in its own buffer.
    pub fn encode_to_bytes(&self, cmd: &RemotingCommand) -> Result<Bytes, EncodeError> {
        let mut dst = BytesMut::with_capacity(256 + cmd.body.len());
        self.encode(cmd, &mut dst)?;
        Ok(dst.freeze())
    }

    fn encode_inner(&self, cmd: &RemotingCommand, dst: &mut BytesMut) -> Result<(), EncodeError> {
        let start = dst.len();
        // Placeholder for the prefix, patched once the header length is known.
        dst.put_u64(0);
        match cmd.serialize_type {
            SerializeType::Json => json::encode(cmd, dst)?,
            SerializeType::RocketMq => binary::encode(cmd, dst)?,
        }
        let header_length = dst.len() - start - 8;
        if header_length > MAX_HEADER {
            return Err(EncodeError::HeaderTooLong(header_length));
        }
        let frame_length = 8 + header_length + cmd.body.len();
        if frame_length > self.max_frame {
            return Err(EncodeError::FrameTooLarge {
                length: frame_length,
                max: self.max_frame,
            });
        }
        let total_length =
            u32::try_from(frame_length - 4).map_err(|_| EncodeError::FrameTooLarge {
                length: frame_length,
                max: self.max_frame,
            })?;
        let word = (u32::from(cmd.serialize_type.as_u8()) << 24) | header_length as u32;
        dst[start..start + 4].copy_from_slice(&total_length.to_be_bytes());
        dst[start + 4..start + 8].copy_from_slice(&word.to_be_bytes());
        dst.extend_from_slice(&cmd.body);
        Ok(())
    }
}

/// [`FrameCodec::decode`] with the default 16 MiB limit.
pub fn decode(buf: &mut BytesMut) -> Result<Option<RemotingCommand>, DecodeError> {
    FrameCodec::default().decode(buf)
}

/// [`FrameCodec::encode`] with the default 16 MiB limit.
pub fn encode(cmd: &RemotingCommand, dst: &mut BytesMut) -> Result<(), EncodeError> {
    FrameCodec::default().encode(cmd, dst)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
