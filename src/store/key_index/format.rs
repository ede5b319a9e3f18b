//! The bytes of a key-index file: the header, the 32-byte entries with their CRC, the
//! `topic#key` hash and the file size, as the table in the [`KeyIndex`](super::KeyIndex) docs
//! lays them out. Pure encoding: no file is opened here.

pub(super) const MAGIC: [u8; 8] = *b"DLKEYIX1";
pub(super) const HEADER_SIZE: u64 = 64;
pub(super) const SLOT_SIZE: u64 = 4;
pub(super) const ENTRY_SIZE: u64 = 32;

/// The mutable part of a file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Header {
    pub(super) begin_ts: i64,
    pub(super) end_ts: i64,
    pub(super) begin_phys: u64,
    pub(super) end_phys: u64,
    pub(super) count: u32,
}

impl Header {
    pub(super) fn to_bytes(self) -> [u8; 36] {
        let mut out = [0; 36];
        out[0..8].copy_from_slice(&self.begin_ts.to_be_bytes());
        out[8..16].copy_from_slice(&self.end_ts.to_be_bytes());
        out[16..24].copy_from_slice(&self.begin_phys.to_be_bytes());
        out[24..32].copy_from_slice(&self.end_phys.to_be_bytes());
        out[32..36].copy_from_slice(&self.count.to_be_bytes());
        out
    }

    /// Parses a whole 64-byte header: `(slots, entries, header)`, or `None` if the magic is
    /// wrong or the bytes are short.
    pub(super) fn parse(bytes: &[u8]) -> Option<(u32, u32, Header)> {
        if bytes.len() < HEADER_SIZE as usize || bytes[0..8] != MAGIC {
            return None;
        }
        let header = Header {
            begin_ts: i64::from_be_bytes(bytes[16..24].try_into().ok()?),
            end_ts: i64::from_be_bytes(bytes[24..32].try_into().ok()?),
            begin_phys: u64::from_be_bytes(bytes[32..40].try_into().ok()?),
            end_phys: u64::from_be_bytes(bytes[40..48].try_into().ok()?),
            count: u32::from_be_bytes(bytes[48..52].try_into().ok()?),
        };
        let slots = u32::from_be_bytes(bytes[8..12].try_into().ok()?);
        let entries = u32::from_be_bytes(bytes[12..16].try_into().ok()?);
        Some((slots, entries, header))
    }

    /// The header after adding an entry.
    pub(super) fn with(self, entry: &Entry) -> Header {
        if self.count == 0 {
            return Header {
                begin_ts: entry.store_ts,
                end_ts: entry.store_ts,
                begin_phys: entry.phys,
                end_phys: entry.phys,
                count: 1,
            };
        }
        Header {
            begin_ts: self.begin_ts.min(entry.store_ts),
            end_ts: self.end_ts.max(entry.store_ts),
            begin_phys: self.begin_phys,
            end_phys: entry.phys,
            count: self.count + 1,
        }
    }

    pub(super) fn overlaps(&self, begin_ms: i64, end_ms: i64) -> bool {
        self.count > 0 && self.begin_ts <= end_ms && self.end_ts >= begin_ms
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) phys: u64,
    pub(super) store_ts: i64,
    pub(super) hash: u32,
    /// 1 + previous entry number in the chain, 0 at its end.
    pub(super) prev: u32,
}

impl Entry {
    pub(super) fn to_bytes(self) -> [u8; ENTRY_SIZE as usize] {
        let mut out = [0; ENTRY_SIZE as usize];
        out[0..8].copy_from_slice(&self.phys.to_be_bytes());
        out[8..16].copy_from_slice(&self.store_ts.to_be_bytes());
        out[16..20].copy_from_slice(&self.hash.to_be_bytes());
        out[20..24].copy_from_slice(&self.prev.to_be_bytes());
        let crc = crc32fast::hash(&out[0..24]);
        out[24..28].copy_from_slice(&crc.to_be_bytes());
        out
    }

    /// The entry in `bytes`, if its CRC holds (never-written zeros do not).
    pub(super) fn parse(bytes: &[u8]) -> Option<Entry> {
        let bytes = bytes.first_chunk::<{ ENTRY_SIZE as usize }>()?;
        let crc = u32::from_be_bytes(bytes[24..28].try_into().ok()?);
        if crc32fast::hash(&bytes[0..24]) != crc {
            return None;
        }
        Some(Entry {
            phys: u64::from_be_bytes(bytes[0..8].try_into().ok()?),
            store_ts: i64::from_be_bytes(bytes[8..16].try_into().ok()?),
            hash: u32::from_be_bytes(bytes[16..20].try_into().ok()?),
            prev: u32::from_be_bytes(bytes[20..24].try_into().ok()?),
        })
    }
}

/// FNV-1a (32 bits) of `topic#key`: stable across versions and machines, no allocation.
pub(super) fn key_hash(topic: &str, key: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for &b in topic.as_bytes().iter().chain(b"#").chain(key.as_bytes()) {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

pub(super) fn file_size(slots: u32, entries: u32) -> Option<u64> {
    if slots == 0 || entries == 0 || entries == u32::MAX {
        return None;
    }
    HEADER_SIZE
        .checked_add(u64::from(slots).checked_mul(SLOT_SIZE)?)?
        .checked_add(u64::from(entries).checked_mul(ENTRY_SIZE)?)
}

pub(super) fn read_u32(bytes: &[u8]) -> u32 {
    bytes
        .first_chunk::<4>()
        .map_or(0, |b| u32::from_be_bytes(*b))
}
