//! Frames on a raft peer connection, and the bincode form of their payloads.
//!
//! | bytes | field        | meaning                                                       |
//! |-------|--------------|---------------------------------------------------------------|
//! | 4     | length       | big-endian `u32`: bytes that follow (type + id + payload)     |
//! | 1     | message type | [`MessageType`]                                               |
//! | 8     | request id   | big-endian `u64`; a reply carries its request's id            |
//! | n     | payload      | bincode (serde, standard config) of the message               |
//!
//! The length is checked against [`MAX_FRAME`] before anything is allocated for the frame; a
//! frame that is too long, too short or of an unknown type is an error, on which the caller
//! closes the connection. "Need more bytes" is `Ok(None)`. This module never opens sockets and
//! never interprets a payload; [`super::client`] and [`super::server`] do.

use bytes::{Buf, Bytes, BytesMut};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Largest frame body (type + id + payload) accepted or sent: 64 MiB. The log reader caps an
/// append batch at a few MiB and snapshots are thin, so this bound is only hit by garbage.
pub(crate) const MAX_FRAME: usize = 64 << 20;

const LEN_BYTES: usize = 4;
/// Message type and request id.
const FIXED_BODY: usize = 1 + 8;
const HEADER: usize = LEN_BYTES + FIXED_BODY;

/// What a frame carries. Replies to an RPC carry the RPC's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum MessageType {
    /// First frame of a connection, client to server: `Hello`.
    Hello = 1,
    /// The server accepts the handshake (empty payload; with a peer secret, the server's
    /// proof as bytes).
    HelloOk = 2,
    /// The server refuses a handshake or a request: a `String` reason.
    Error = 3,
    /// With a peer secret, the server's answer to `Hello`: an `auth::Challenge`.
    AuthChallenge = 4,
    /// The client's answer to the challenge: an `auth::Proof`.
    AuthProof = 5,
    AppendEntries = 16,
    Vote = 17,
    PreVote = 18,
    FullSnapshot = 19,
    TransferLeader = 20,
}

impl MessageType {
    fn from_u8(byte: u8) -> Option<MessageType> {
        Some(match byte {
            1 => MessageType::Hello,
            2 => MessageType::HelloOk,
            3 => MessageType::Error,
            4 => MessageType::AuthChallenge,
            5 => MessageType::AuthProof,
            16 => MessageType::AppendEntries,
            17 => MessageType::Vote,
            18 => MessageType::PreVote,
            19 => MessageType::FullSnapshot,
            20 => MessageType::TransferLeader,
            _ => return None,
        })
    }
}

/// One decoded frame; the payload is not yet deserialized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) kind: MessageType,
    pub(crate) request_id: u64,
    pub(crate) payload: Bytes,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum FrameError {
    #[error("frame body of {len} bytes exceeds the {MAX_FRAME}-byte limit")]
    TooLarge { len: usize },
    #[error("frame body of {len} bytes is shorter than its {FIXED_BODY}-byte header")]
    TooShort { len: usize },
    #[error("unknown message type {0}")]
    UnknownType(u8),
    #[error("connection closed inside a frame ({buffered} bytes buffered)")]
    Truncated { buffered: usize },
    #[error("encoding a payload: {0}")]
    Encode(#[from] bincode::error::EncodeError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The payload could not be read as the message its type announces.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PayloadError {
    #[error("undecodable payload: {0}")]
    Decode(#[from] bincode::error::DecodeError),
    #[error("{extra} bytes after the payload")]
    Trailing { extra: usize },
}

/// bincode's standard configuration, with a limit so a forged length inside a payload cannot
/// make the decoder claim more than a frame can hold.
fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_FRAME>()
}

/// Encodes one whole frame whose payload is the bincode form of `msg`.
pub(crate) fn encode<T: Serialize + ?Sized>(
    kind: MessageType,
    request_id: u64,
    msg: &T,
) -> Result<Vec<u8>, FrameError> {
    let mut buf = vec![0u8; HEADER];
    bincode::serde::encode_into_std_write(msg, &mut buf, config())?;
    let len = buf.len() - LEN_BYTES;
    let len32 = match u32::try_from(len) {
        Ok(n) if len <= MAX_FRAME => n,
        _ => return Err(FrameError::TooLarge { len }),
    };
    buf[..LEN_BYTES].copy_from_slice(&len32.to_be_bytes());
    buf[LEN_BYTES] = kind as u8;
    buf[LEN_BYTES + 1..HEADER].copy_from_slice(&request_id.to_be_bytes());
    Ok(buf)
}

/// Takes one frame off the front of `buf`; `Ok(None)` when more bytes are needed.
pub(crate) fn decode(buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
    let Some(len_bytes) = buf.first_chunk::<LEN_BYTES>() else {
        return Ok(None);
    };
    let len = u32::from_be_bytes(*len_bytes) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge { len });
    }
    if len < FIXED_BODY {
        return Err(FrameError::TooShort { len });
    }
    if let Some(&byte) = buf.get(LEN_BYTES)
        && MessageType::from_u8(byte).is_none()
    {
        return Err(FrameError::UnknownType(byte));
    }
    if buf.len() < LEN_BYTES + len {
        // Safe to reserve: `len` was bounded above.
        buf.reserve(LEN_BYTES + len - buf.len());
        return Ok(None);
    }
    buf.advance(LEN_BYTES);
    let byte = buf.get_u8();
    let kind = MessageType::from_u8(byte).ok_or(FrameError::UnknownType(byte))?;
    let request_id = buf.get_u64();
    let payload = buf.split_to(len - FIXED_BODY).freeze();
    Ok(Some(Frame {
        kind,
        request_id,
        payload,
    }))
}

/// Reads the next frame; `Ok(None)` on a clean end of stream between frames.
///
/// Cancel safe: bytes already read stay in `buf`.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut BytesMut,
) -> Result<Option<Frame>, FrameError> {
    loop {
        if let Some(frame) = decode(buf)? {
            return Ok(Some(frame));
        }
        if reader.read_buf(buf).await? == 0 {
            return match buf.len() {
                0 => Ok(None),
                buffered => Err(FrameError::Truncated { buffered }),
            };
        }
    }
}

/// Deserializes a payload, rejecting trailing bytes.
pub(crate) fn decode_payload<T: DeserializeOwned>(payload: &[u8]) -> Result<T, PayloadError> {
    let (value, used) = bincode::serde::decode_from_slice(payload, config())?;
    match payload.len().saturating_sub(used) {
        0 => Ok(value),
        extra => Err(PayloadError::Trailing { extra }),
    }
}

#[cfg(test)]
mod tests;
