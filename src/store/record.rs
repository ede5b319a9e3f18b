//! The commitlog record: one per Raft entry, a fixed header plus an opaque body.
//!
//! | offset | size | field | notes |
//! | ---: | ---: | --- | --- |
//! | 0 | 4 | magic | [`RECORD_MAGIC`] (format version in the low byte), little-endian like every field |
//! | 4 | 4 | length | header + body bytes, without the alignment padding |
//! | 8 | 8 | index | Raft log index |
//! | 16 | 8 | term | Raft term of the entry |
//! | 24 | 8 | position | absolute commitlog offset of this record; a pure function of the record sequence |
//! | 32 | 1 | kind | [`RecordKind`] |
//! | 33 | 3 | reserved | zero |
//! | 36 | 4 | crc | CRC-32 (IEEE) of bytes 0..36 and the body, see below |
//! | 40 | n | body | for `Message` / `MessageBatch`: RocketMQ stored messages back to back |
//!
//! Records start on 8-byte boundaries; the next record starts at `position + align8(length)`.
//! A record never crosses a segment end: when it does not fit in what is left of the segment, a
//! pad marker (`PAD_MAGIC`, then the u32 number of bytes to the segment end) fills the rest and
//! the record starts the next segment. Because the rule depends only on the lengths of the
//! records before it and the segment size, every replica computes the same position for every
//! record (the segment size is pinned per store by `format`).
//!
//! Message bodies get two fields special treatment, RocketMQ's DLedger append hook done here:
//! * PHYSICALOFFSET (bytes 28..36 of each message) is stamped by the store when the leader
//!   appends: `position + 40 + offset of the message in the body`. The CRC covers it, and
//!   `verify` also checks each one against the record's position, so a follower can never hold
//!   a message claiming another offset.
//! * QUEUEOFFSET (bytes 20..28) is counted as zeros by the CRC: the state machine stamps the
//!   queue offset there when it applies the record, after the CRC was computed.
//!
//! Every other byte is covered.

use bytes::Bytes;

/// Magic of a record header, format version 1 in the low byte.
pub const RECORD_MAGIC: u32 = 0xD1ED_6E01;
/// Magic of the marker that pads the rest of a segment.
pub(crate) const PAD_MAGIC: u32 = 0xD1ED_FFFF;
/// Length of the record header in bytes.
pub const HEADER_LEN: usize = 40;
/// Records start on multiples of this.
pub(crate) const ALIGN: u64 = 8;
/// Offset of QUEUEOFFSET inside a RocketMQ stored message (remoting.md §8.1).
pub(crate) const QUEUE_OFFSET_AT: usize = 20;
/// Offset of PHYSICALOFFSET inside a RocketMQ stored message.
pub(crate) const PHYSICAL_OFFSET_AT: usize = 28;
/// Smallest stored message the CRC walk accepts (up to and including PHYSICALOFFSET).
const MIN_MESSAGE_LEN: usize = 36;

/// What a record carries. The store only interprets `Message` and `MessageBatch` bodies (for
/// the CRC rule above); the others are opaque to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RecordKind {
    /// One RocketMQ stored message.
    Message = 1,
    /// Several RocketMQ stored messages back to back.
    MessageBatch = 2,
    /// Topic / subscription-group changes.
    Admin = 3,
    /// Coalesced consumer offsets.
    ConsumerOffsets = 4,
    /// An entry without payload (a new leader's first entry).
    Blank = 5,
    /// A Raft membership change.
    Membership = 6,
}

impl RecordKind {
    /// The kind stored as `byte`, if it is one.
    pub fn from_byte(byte: u8) -> Option<RecordKind> {
        Some(match byte {
            1 => RecordKind::Message,
            2 => RecordKind::MessageBatch,
            3 => RecordKind::Admin,
            4 => RecordKind::ConsumerOffsets,
            5 => RecordKind::Blank,
            6 => RecordKind::Membership,
            _ => return None,
        })
    }

    /// True for the kinds whose body is RocketMQ stored messages.
    pub fn carries_messages(self) -> bool {
        matches!(self, RecordKind::Message | RecordKind::MessageBatch)
    }
}

/// The decoded header of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Header plus body bytes, without alignment padding.
    pub length: u32,
    pub index: u64,
    pub term: u64,
    pub position: u64,
    pub kind: RecordKind,
    pub crc: u32,
}

impl RecordHeader {
    /// Bytes the record occupies in the segment (length rounded up to the alignment).
    pub fn aligned_len(&self) -> u64 {
        align(u64::from(self.length))
    }

    /// Parses a header, checking everything that can be checked without the body.
    pub fn decode(bytes: &[u8]) -> Result<RecordHeader, &'static str> {
        let Some(h) = bytes.get(..HEADER_LEN) else {
            return Err("shorter than a record header");
        };
        if le_u32(h, 0) != RECORD_MAGIC {
            return Err("bad magic");
        }
        let length = le_u32(h, 4);
        if (length as usize) < HEADER_LEN {
            return Err("length shorter than the header");
        }
        let kind = RecordKind::from_byte(h[32]).ok_or("unknown record kind")?;
        if h[33..36] != [0, 0, 0] {
            return Err("reserved bytes are not zero");
        }
        Ok(RecordHeader {
            length,
            index: le_u64(h, 8),
            term: le_u64(h, 16),
            position: le_u64(h, 24),
            kind,
            crc: le_u32(h, 36),
        })
    }

    fn encode_prefix(&self) -> [u8; 36] {
        let mut h = [0u8; 36];
        h[0..4].copy_from_slice(&RECORD_MAGIC.to_le_bytes());
        h[4..8].copy_from_slice(&self.length.to_le_bytes());
        h[8..16].copy_from_slice(&self.index.to_le_bytes());
        h[16..24].copy_from_slice(&self.term.to_le_bytes());
        h[24..32].copy_from_slice(&self.position.to_le_bytes());
        h[32] = self.kind as u8;
        h
    }
}

/// Rounds `len` up to the record alignment.
pub(crate) fn align(len: u64) -> u64 {
    len.div_ceil(ALIGN) * ALIGN
}

/// Where a record of `aligned_len` bytes goes when the log ends at `end`: at `end` if it fits in
/// that segment, else at the start of the next segment (the caller pads the rest).
pub(crate) fn place(end: u64, aligned_len: u64, segment_size: u64) -> u64 {
    let off = end % segment_size;
    if off + aligned_len <= segment_size {
        end
    } else {
        end - off + segment_size
    }
}

/// The 8-byte pad marker written at `off` when a segment of `segment_size` ends unused.
pub(crate) fn pad_marker(off: u64, segment_size: u64) -> [u8; 8] {
    let rest = u32::try_from(segment_size - off).unwrap_or(u32::MAX);
    let mut m = [0u8; 8];
    m[0..4].copy_from_slice(&PAD_MAGIC.to_le_bytes());
    m[4..8].copy_from_slice(&rest.to_le_bytes());
    m
}

/// True if `bytes` (at least 8 long) is the pad marker expected at `off` of a segment.
pub(crate) fn is_pad_marker(bytes: &[u8], off: u64, segment_size: u64) -> bool {
    bytes.len() >= 8 && bytes[..8] == pad_marker(off, segment_size)
}

/// Where each message of a message body lies: `(offset in body, length)`, checked to tile the
/// body exactly with messages of a plausible size. Yields an error (and stops) at the first
/// message that does not fit.
pub(crate) fn message_spans(body: &[u8]) -> MessageSpans<'_> {
    MessageSpans {
        body,
        at: 0,
        failed: false,
    }
}

/// Iterator returned by [`message_spans`].
pub(crate) struct MessageSpans<'a> {
    body: &'a [u8],
    at: usize,
    failed: bool,
}

impl Iterator for MessageSpans<'_> {
    type Item = Result<(usize, usize), &'static str>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.body.is_empty() {
            self.failed = true;
            return Some(Err("message record without a message"));
        }
        if self.at >= self.body.len() {
            return None;
        }
        let at = self.at;
        let span = match self.body.get(at..at + 4) {
            None => Err("truncated message size"),
            Some(b) => usize::try_from(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                .map_err(|_| "negative message size")
                .and_then(|size| {
                    if size < MIN_MESSAGE_LEN || at + size > self.body.len() {
                        Err("message size does not fit the body")
                    } else {
                        Ok((at, size))
                    }
                }),
        };
        match span {
            Ok((_, size)) => self.at += size,
            Err(_) => self.failed = true,
        }
        Some(span)
    }
}

/// The CRC of a record: header bytes 0..36 and the body. In message bodies each QUEUEOFFSET
/// counts as zeros and each PHYSICALOFFSET as the value the record's position dictates; with
/// `check_physical`, a PHYSICALOFFSET field holding anything else is an error (one pass).
fn compute_crc(
    prefix: &[u8; 36],
    kind: RecordKind,
    position: u64,
    body: &[u8],
    check_physical: bool,
) -> Result<u32, &'static str> {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(prefix);
    if kind.carries_messages() {
        for span in message_spans(body) {
            let (at, size) = span?;
            let msg = &body[at..at + size];
            let physical = physical_offset(position, at).to_be_bytes();
            if check_physical && msg[PHYSICAL_OFFSET_AT..PHYSICAL_OFFSET_AT + 8] != physical {
                return Err("a message's PHYSICALOFFSET is not where it lies");
            }
            hasher.update(&msg[..QUEUE_OFFSET_AT]);
            hasher.update(&[0u8; 8]);
            hasher.update(&physical);
            hasher.update(&msg[PHYSICAL_OFFSET_AT + 8..]);
        }
    } else {
        hasher.update(body);
    }
    Ok(hasher.finalize())
}

/// Commitlog offset of the message at `at` in the body of the record at `position`.
pub(crate) fn physical_offset(position: u64, at: usize) -> u64 {
    position + HEADER_LEN as u64 + at as u64
}

/// Builds the header of a record for `(index, term, kind, body)` at `position`: the bytes that
/// precede the body in the segment. Fails if a message body is malformed.
pub(crate) fn encode_header(
    index: u64,
    term: u64,
    position: u64,
    kind: RecordKind,
    body: &[u8],
) -> Result<(RecordHeader, [u8; HEADER_LEN]), &'static str> {
    let length = u32::try_from(HEADER_LEN + body.len()).map_err(|_| "record over 4 GiB")?;
    let mut header = RecordHeader {
        length,
        index,
        term,
        position,
        kind,
        crc: 0,
    };
    let prefix = header.encode_prefix();
    header.crc = compute_crc(&prefix, kind, position, body, false)?;
    let mut bytes = [0u8; HEADER_LEN];
    bytes[..36].copy_from_slice(&prefix);
    bytes[36..].copy_from_slice(&header.crc.to_le_bytes());
    Ok((header, bytes))
}

/// Zero bytes that pad a record to the alignment.
pub(crate) const ALIGN_PADDING: [u8; ALIGN as usize] = [0; ALIGN as usize];

/// Encodes a whole record (header, body, alignment padding) into `out`.
#[cfg(test)]
pub(crate) fn encode(
    index: u64,
    term: u64,
    position: u64,
    kind: RecordKind,
    body: &[u8],
    out: &mut Vec<u8>,
) -> Result<RecordHeader, &'static str> {
    let (header, bytes) = encode_header(index, term, position, kind, body)?;
    out.clear();
    out.extend_from_slice(&bytes);
    out.extend_from_slice(body);
    if kind.carries_messages() {
        for span in message_spans(body) {
            let (at, _) = span?;
            let field = HEADER_LEN + at + PHYSICAL_OFFSET_AT;
            out[field..field + 8].copy_from_slice(&physical_offset(position, at).to_be_bytes());
        }
    }
    out.resize(header.aligned_len() as usize, 0);
    Ok(header)
}

/// Fully validates the record at the start of `bytes` (header, length within `bytes`, CRC).
pub(crate) fn verify(bytes: &[u8]) -> Result<RecordHeader, &'static str> {
    let header = RecordHeader::decode(bytes)?;
    let Some(record) = bytes.get(..header.length as usize) else {
        return Err("record runs past the available bytes");
    };
    let mut prefix = [0u8; 36];
    prefix.copy_from_slice(&record[..36]);
    let body = &record[HEADER_LEN..];
    let crc = compute_crc(&prefix, header.kind, header.position, body, true)?;
    if crc != header.crc {
        return Err("crc mismatch");
    }
    Ok(header)
}

/// Validates `bytes` as exactly one record (as a follower receives it) and wraps it.
pub fn verify_record(bytes: Bytes) -> Result<Record, &'static str> {
    let header = verify(&bytes)?;
    if bytes.len() != header.length as usize {
        return Err("record bytes do not match the record length");
    }
    Ok(Record { header, bytes })
}

/// A record read back from the commitlog: header plus the record bytes (header and body,
/// without alignment padding), shared cheaply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    header: RecordHeader,
    bytes: Bytes,
}

impl Record {
    pub(crate) fn new(header: RecordHeader, bytes: Bytes) -> Record {
        Record { header, bytes }
    }

    pub fn header(&self) -> &RecordHeader {
        &self.header
    }

    pub fn index(&self) -> u64 {
        self.header.index
    }

    pub fn term(&self) -> u64 {
        self.header.term
    }

    pub fn position(&self) -> u64 {
        self.header.position
    }

    pub fn kind(&self) -> RecordKind {
        self.header.kind
    }

    /// The body: what the entry carries.
    pub fn body(&self) -> Bytes {
        self.bytes.slice(HEADER_LEN..)
    }

    /// Header and body, exactly as stored: what a follower receives and appends.
    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Absolute commitlog offset of the body's first byte (the first message's physical offset).
    pub fn body_position(&self) -> u64 {
        self.header.position + HEADER_LEN as u64
    }
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal stored-message-shaped body: TOTALSIZE then filler.
    pub(crate) fn message(len: usize, fill: u8) -> Vec<u8> {
        let mut m = vec![fill; len];
        m[..4].copy_from_slice(&(len as i32).to_be_bytes());
        m
    }

    #[test]
    fn encoded_record_verifies_and_decodes_to_its_fields() {
        let mut out = Vec::new();
        let h = encode(7, 3, 4096, RecordKind::Admin, b"topic-create", &mut out).unwrap();
        assert_eq!(out.len() as u64, h.aligned_len());
        assert_eq!(out.len() % 8, 0);
        let v = verify(&out).unwrap();
        assert_eq!(v, h);
        assert_eq!((v.index, v.term, v.position), (7, 3, 4096));
        assert_eq!(&out[HEADER_LEN..h.length as usize], b"topic-create");
    }

    #[test]
    fn any_flipped_bit_is_caught() {
        let mut out = Vec::new();
        let h = encode(1, 1, 0, RecordKind::Message, &message(64, 9), &mut out).unwrap();
        for bit in 0..(h.length as usize * 8) {
            let byte = bit / 8;
            if (HEADER_LEN + QUEUE_OFFSET_AT..HEADER_LEN + QUEUE_OFFSET_AT + 8).contains(&byte) {
                continue; // the queue offset slot is deliberately outside the CRC
            }
            let mut bad = out.clone();
            bad[byte] ^= 1 << (bit % 8);
            assert!(verify(&bad).is_err(), "flip of bit {bit} went unnoticed");
        }
    }

    #[test]
    fn stamping_queue_offsets_keeps_the_crc_valid() {
        let mut body = message(48, 1);
        body.extend(message(40, 2));
        let mut out = Vec::new();
        encode(5, 2, 0, RecordKind::MessageBatch, &body, &mut out).unwrap();
        out[HEADER_LEN + 20..HEADER_LEN + 28].copy_from_slice(&77u64.to_be_bytes());
        out[HEADER_LEN + 48 + 20..HEADER_LEN + 48 + 28].copy_from_slice(&78u64.to_be_bytes());
        assert!(verify(&out).is_ok());
    }

    #[test]
    fn malformed_message_bodies_are_refused() {
        let mut out = Vec::new();
        assert!(encode(1, 1, 0, RecordKind::Message, b"", &mut out).is_err());
        assert!(encode(1, 1, 0, RecordKind::Message, &[0, 0, 0, 10], &mut out).is_err());
        let mut long = message(40, 0);
        long[..4].copy_from_slice(&1000i32.to_be_bytes());
        assert!(encode(1, 1, 0, RecordKind::Message, &long, &mut out).is_err());
        let mut negative = message(40, 0);
        negative[..4].copy_from_slice(&(-40i32).to_be_bytes());
        assert!(encode(1, 1, 0, RecordKind::MessageBatch, &negative, &mut out).is_err());
    }

    #[test]
    fn placement_never_crosses_a_segment_end() {
        assert_eq!(place(0, 64, 1024), 0);
        assert_eq!(place(960, 64, 1024), 960);
        assert_eq!(place(968, 64, 1024), 1024);
        assert_eq!(place(1024, 1024, 1024), 1024);
        assert_eq!(place(1032, 1024, 1024), 2048);
    }

    #[test]
    fn random_bytes_never_verify_and_never_panic() {
        use rand::{Rng, SeedableRng};
        let seed: u64 = rand::random();
        println!("seed {seed}");
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        for _ in 0..20_000 {
            let len = rng.random_range(0..200);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            if len >= 4 && rng.random_bool(0.5) {
                bytes[..4].copy_from_slice(&RECORD_MAGIC.to_le_bytes());
            }
            let _ = verify(&bytes);
        }
    }
}
