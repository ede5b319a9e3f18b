//! Offset msgIds: the store host and commitlog offset of a message as the hex string clients
//! and `mqadmin queryMsgById` use.

use std::net::SocketAddr;

use super::{MessageError, Reader, put_host};

/// The offset msgId of the message at `physical_offset` stored by `store_host`: uppercase hex
/// of ip ‖ port (i32) ‖ offset (i64); 32 characters for IPv4, 56 for IPv6.
pub fn offset_msg_id(store_host: SocketAddr, physical_offset: u64) -> String {
    let mut bytes = Vec::with_capacity(28);
    put_host(&mut bytes, &store_host);
    bytes.extend_from_slice(&physical_offset.to_be_bytes());
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xF)]));
    }
    out
}

/// Parses an offset msgId (either case) into the store host and the physical offset.
pub fn parse_offset_msg_id(id: &str) -> Result<(SocketAddr, u64), MessageError> {
    let bad = |reason| MessageError::BadMsgId {
        id: id.to_owned(),
        reason,
    };
    let ip_len = match id.len() {
        32 => 4,
        56 => 16,
        _ => return Err(bad("expected 32 (IPv4) or 56 (IPv6) hex characters")),
    };
    let mut bytes = Vec::with_capacity(id.len() / 2);
    for pair in id.as_bytes().chunks_exact(2) {
        let hi = hex_digit(pair[0]).ok_or_else(|| bad("not hexadecimal"))?;
        let lo = hex_digit(pair[1]).ok_or_else(|| bad("not hexadecimal"))?;
        bytes.push(hi << 4 | lo);
    }
    let mut r = Reader {
        bytes: &bytes,
        pos: 0,
    };
    let host = r
        .host("store host", ip_len == 16)
        .map_err(|_| bad("port out of range"))?;
    let offset = r.u64("offset").map_err(|_| bad("too short"))?;
    Ok((host, offset))
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}
