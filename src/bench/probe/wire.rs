//! The probe's two messages, nothing more (no RocketMQ framing, no Raft terms or indexes):
//!
//! | message | bytes (little-endian) |
//! | --- | --- |
//! | frame (client → leader → followers) | `seq` u64, `count` u32, `len` u32, then `len` bytes of `count` records |
//! | record (inside a frame) | `body_len` u32, `crc` u32 (CRC-32 of the body; the client sends 0, the leader stamps it), body |
//! | ack (follower → leader, leader → client) | `seq` u64: everything up to `seq` is appended (follower) or committed (leader) |
//!
//! Reading never trusts a length beyond [`MAX_FRAME_PAYLOAD`].

use std::io::{self, Read, Write};

/// Bytes of a frame header.
pub(crate) const FRAME_HEADER_LEN: usize = 16;
/// Bytes of a record header.
pub(crate) const RECORD_HEADER_LEN: usize = 8;
/// The largest payload a frame may carry (64 MiB).
pub(crate) const MAX_FRAME_PAYLOAD: u32 = 64 << 20;

/// The fixed part of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    /// Sequence number, from 1, one per frame.
    pub(crate) seq: u64,
    /// Records in the payload.
    pub(crate) count: u32,
    /// Payload bytes.
    pub(crate) len: u32,
}

impl FrameHeader {
    pub(crate) fn encode(&self) -> [u8; FRAME_HEADER_LEN] {
        let mut bytes = [0u8; FRAME_HEADER_LEN];
        bytes[0..8].copy_from_slice(&self.seq.to_le_bytes());
        bytes[8..12].copy_from_slice(&self.count.to_le_bytes());
        bytes[12..16].copy_from_slice(&self.len.to_le_bytes());
        bytes
    }

    pub(crate) fn decode(bytes: &[u8; FRAME_HEADER_LEN]) -> FrameHeader {
        let u32_at = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&bytes[0..8]);
        FrameHeader {
            seq: u64::from_le_bytes(seq),
            count: u32_at(8),
            len: u32_at(12),
        }
    }
}

/// `count` records of `size`-byte bodies, CRC slots zero. Bodies differ from each other so a
/// misplaced copy shows up in a byte comparison.
pub(crate) fn records(count: usize, size: usize) -> Vec<u8> {
    let mut payload = Vec::with_capacity(count * (RECORD_HEADER_LEN + size));
    for record in 0..count {
        payload.extend_from_slice(&(size as u32).to_le_bytes());
        payload.extend_from_slice(&0u32.to_le_bytes());
        payload.extend((0..size).map(|i| (i * 31 + record * 7) as u8));
    }
    payload
}

/// Writes each record's body CRC into its slot; an error if the records do not tile `payload`
/// exactly or their number is not `count`.
pub(crate) fn stamp_crcs(payload: &mut [u8], count: u32) -> io::Result<()> {
    let mut at = 0usize;
    let mut seen = 0u32;
    while at < payload.len() {
        let header_end = at + RECORD_HEADER_LEN;
        let Some(header) = payload.get(at..header_end) else {
            return Err(invalid("record header cut short"));
        };
        let body_len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let body_end = header_end
            .checked_add(body_len)
            .filter(|end| *end <= payload.len())
            .ok_or_else(|| invalid("record body runs past the frame"))?;
        let crc = crc32fast::hash(&payload[header_end..body_end]);
        payload[at + 4..header_end].copy_from_slice(&crc.to_le_bytes());
        at = body_end;
        seen += 1;
    }
    if seen == count {
        Ok(())
    } else {
        Err(invalid("record count does not match the frame header"))
    }
}

/// Reads one whole frame, header included, into `frame` (resized to fit): the payload is
/// `frame[FRAME_HEADER_LEN..]`, and the bytes can be forwarded as they are. `None` on a clean end
/// of stream.
pub(crate) fn read_frame(
    reader: &mut impl Read,
    frame: &mut Vec<u8>,
) -> io::Result<Option<FrameHeader>> {
    let mut header = [0u8; FRAME_HEADER_LEN];
    if !read_or_eof(reader, &mut header)? {
        return Ok(None);
    }
    let decoded = FrameHeader::decode(&header);
    if decoded.len > MAX_FRAME_PAYLOAD {
        return Err(invalid("frame payload over the limit"));
    }
    frame.resize(FRAME_HEADER_LEN + decoded.len as usize, 0);
    frame[..FRAME_HEADER_LEN].copy_from_slice(&header);
    reader.read_exact(&mut frame[FRAME_HEADER_LEN..])?;
    Ok(Some(decoded))
}

/// Writes one ack.
pub(crate) fn write_ack(writer: &mut impl Write, seq: u64) -> io::Result<()> {
    writer.write_all(&seq.to_le_bytes())
}

/// Reads one ack; `None` on a clean end of stream.
pub(crate) fn read_ack(reader: &mut impl Read) -> io::Result<Option<u64>> {
    let mut bytes = [0u8; 8];
    Ok(read_or_eof(reader, &mut bytes)?.then(|| u64::from_le_bytes(bytes)))
}

/// Fills `buf`; `false` if the stream ended before its first byte, an error if it ended inside.
fn read_or_eof(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

fn invalid(reason: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_reads_back_as_written() {
        let header = FrameHeader {
            seq: 7,
            count: 2,
            len: 10,
        };
        let mut stream = header.encode().to_vec();
        stream.extend_from_slice(&[1u8; 10]);
        let mut frame = Vec::new();
        let mut reader = &stream[..];
        assert_eq!(read_frame(&mut reader, &mut frame).unwrap(), Some(header));
        assert_eq!(frame, stream);
        assert_eq!(read_frame(&mut reader, &mut frame).unwrap(), None);
    }

    #[test]
    fn a_cut_or_oversized_frame_is_an_error() {
        let mut cut = FrameHeader {
            seq: 1,
            count: 1,
            len: 10,
        }
        .encode()
        .to_vec();
        cut.extend_from_slice(&[0u8; 3]);
        assert!(read_frame(&mut &cut[..], &mut Vec::new()).is_err());
        let huge = FrameHeader {
            seq: 1,
            count: 1,
            len: MAX_FRAME_PAYLOAD + 1,
        }
        .encode();
        assert!(read_frame(&mut &huge[..], &mut Vec::new()).is_err());
    }

    #[test]
    fn stamping_puts_each_body_crc_in_its_slot() {
        let mut payload = records(3, 5);
        stamp_crcs(&mut payload, 3).unwrap();
        for record in payload.chunks(RECORD_HEADER_LEN + 5) {
            let crc = u32::from_le_bytes([record[4], record[5], record[6], record[7]]);
            assert_eq!(crc, crc32fast::hash(&record[RECORD_HEADER_LEN..]));
        }
        assert!(stamp_crcs(&mut payload, 2).is_err());
        assert!(stamp_crcs(&mut payload[..20], 2).is_err());
    }
}
