//! `RaftIndex`: raft index → (position, length, term) in fixed-width entries, one O(1) lookup.
//!
//! | offset | size | field |
//! | ---: | ---: | --- |
//! | 0 | 8 | position of the record in the commitlog (u64 LE) |
//! | 8 | 8 | term (u64 LE) |
//! | 16 | 4 | record length without alignment (u32 LE) |
//! | 20 | 4 | CRC-32 of the raft index (u64 LE) followed by bytes 0..20 |
//!
//! The entry of raft index `i` lives at byte `i * 24` of the index "space", cut into segment
//! files of `entries_per_file` entries named by the byte offset of their first entry. The CRC
//! covers the index itself, so an all-zero, torn or misplaced entry never passes for a valid
//! one. The file is derived data: recovery rewrites its tail from the commitlog, and rebuilds it
//! entirely when it does not match.

use std::path::Path;

use super::error::{StoreError, StoreResult};
use super::segment_list::SegmentList;

/// Width of one index entry in bytes.
pub(crate) const ENTRY_LEN: u64 = 24;

/// Where the record of one raft index lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub(crate) position: u64,
    pub(crate) term: u64,
    pub(crate) length: u32,
}

impl IndexEntry {
    fn encode(&self, index: u64) -> [u8; ENTRY_LEN as usize] {
        let mut e = [0u8; ENTRY_LEN as usize];
        e[0..8].copy_from_slice(&self.position.to_le_bytes());
        e[8..16].copy_from_slice(&self.term.to_le_bytes());
        e[16..20].copy_from_slice(&self.length.to_le_bytes());
        let crc = entry_crc(index, &e[..20]);
        e[20..24].copy_from_slice(&crc.to_le_bytes());
        e
    }

    fn decode(index: u64, e: &[u8]) -> Option<IndexEntry> {
        let crc = u32::from_le_bytes([e[20], e[21], e[22], e[23]]);
        if crc != entry_crc(index, &e[..20]) {
            return None;
        }
        let mut p = [0u8; 8];
        p.copy_from_slice(&e[0..8]);
        let mut t = [0u8; 8];
        t.copy_from_slice(&e[8..16]);
        Some(IndexEntry {
            position: u64::from_le_bytes(p),
            term: u64::from_le_bytes(t),
            length: u32::from_le_bytes([e[16], e[17], e[18], e[19]]),
        })
    }
}

fn entry_crc(index: u64, fields: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&index.to_le_bytes());
    h.update(fields);
    h.finalize()
}

/// The raft index file of one node.
#[derive(Debug)]
pub(crate) struct RaftIndex {
    files: SegmentList,
}

impl RaftIndex {
    /// Opens the index directory. Every file starts fully published; recovery calls
    /// [`RaftIndex::cut_after`] to hide what lies past the recovered log end.
    pub(crate) fn open(dir: &Path, entries_per_file: u64) -> StoreResult<RaftIndex> {
        Ok(RaftIndex {
            files: SegmentList::open(dir, entries_per_file * ENTRY_LEN)?,
        })
    }

    fn byte_offset(index: u64) -> StoreResult<u64> {
        index
            .checked_mul(ENTRY_LEN)
            .ok_or_else(|| StoreError::Refused(format!("raft index {index} is out of range")))
    }

    /// The entry of `index`, `None` if it was never written or is hidden. A published entry
    /// whose CRC does not match is corruption.
    pub(crate) fn get(&self, index: u64) -> StoreResult<Option<IndexEntry>> {
        let at = Self::byte_offset(index)?;
        let Some(seg) = self.files.find(at) else {
            return Ok(None);
        };
        let off = at - seg.start();
        match seg.with_published(off, ENTRY_LEN, |e| IndexEntry::decode(index, e)) {
            None => Ok(None),
            Some(Some(entry)) => Ok(Some(entry)),
            Some(None) => Err(StoreError::corrupt(
                seg.path(),
                off,
                format!("raft index entry {index} fails its crc"),
            )),
        }
    }

    /// Like [`RaftIndex::get`] but treats a bad entry as absent (recovery probes with it).
    pub(crate) fn probe(&self, index: u64) -> Option<IndexEntry> {
        self.get(index).ok().flatten()
    }

    /// Makes the entries of indexes `first..first + entries.len()` equal to `entries`: matching
    /// entries are only compared (in bulk, per file); from the first one that differs (or is
    /// missing) the index is cut and rewritten. Recovery calls it per commitlog segment.
    pub(crate) fn reconcile(&self, first: u64, entries: &[IndexEntry]) -> StoreResult<()> {
        let mut matching = 0usize;
        while matching < entries.len() {
            let index = first + matching as u64;
            let at = Self::byte_offset(index)?;
            let Some(seg) = self.files.find(at) else {
                break;
            };
            let off = at - seg.start();
            let fit = ((seg.size() - off) / ENTRY_LEN) as usize;
            let n = fit.min(entries.len() - matching);
            let run = &entries[matching..matching + n];
            let same = seg
                .with_published(off, n as u64 * ENTRY_LEN, |bytes| {
                    bytes
                        .chunks_exact(ENTRY_LEN as usize)
                        .zip(run)
                        .enumerate()
                        .take_while(|(k, (b, e))| {
                            IndexEntry::decode(index + *k as u64, b).as_ref() == Some(*e)
                        })
                        .count()
                })
                .unwrap_or(0);
            matching += same;
            if same < n {
                break;
            }
        }
        if matching == entries.len() {
            return Ok(());
        }
        let from = first + matching as u64;
        self.cut_after(from.checked_sub(1))?;
        self.put_run(from, &entries[matching..])
    }

    /// Creates the files that will hold the entries of `first..=last`, before anything of an
    /// append is written: a creation that fails (a full disk) then leaves the log as it was.
    pub(crate) fn make_room(&self, first: u64, last: u64) -> StoreResult<()> {
        let (from, to) = (Self::byte_offset(first)?, Self::byte_offset(last)?);
        let size = self.files.segment_size();
        let mut at = self.files.segment_start(from);
        while at <= to {
            self.files.find_or_create(at.max(from))?;
            at += size;
        }
        Ok(())
    }

    /// Writes and publishes the entries of `first..first + entries.len()`, which must follow
    /// the last published one: one copy per file instead of one per entry.
    pub(crate) fn put_run(&self, first: u64, entries: &[IndexEntry]) -> StoreResult<()> {
        let mut done = 0usize;
        let mut buf = Vec::with_capacity(entries.len() * ENTRY_LEN as usize);
        while done < entries.len() {
            let index = first + done as u64;
            let at = Self::byte_offset(index)?;
            let seg = self.files.find_or_create(at)?;
            let off = at - seg.start();
            let n = (((seg.size() - off) / ENTRY_LEN) as usize).min(entries.len() - done);
            buf.clear();
            for (k, e) in entries[done..done + n].iter().enumerate() {
                buf.extend_from_slice(&e.encode(index + k as u64));
            }
            seg.write(off, &buf)?;
            seg.publish(off + buf.len() as u64);
            done += n;
        }
        Ok(())
    }

    /// Hides and zeroes every entry after `index` (all entries when `None`), deleting files
    /// that then hold nothing.
    pub(crate) fn cut_after(&self, index: Option<u64>) -> StoreResult<()> {
        let keep_end = match index {
            Some(i) => Self::byte_offset(i)? + ENTRY_LEN,
            None => 0,
        };
        // Files that start at or past the first removed entry go entirely.
        let start_of_keep_end = self.files.segment_start(keep_end);
        let first_removed_file = if keep_end == start_of_keep_end {
            keep_end
        } else {
            start_of_keep_end + self.files.segment_size()
        };
        self.files.remove_from(first_removed_file)?;
        if let Some(seg) = self
            .files
            .find(keep_end.saturating_sub(1))
            .filter(|_| keep_end > 0)
        {
            let off = keep_end - seg.start();
            let old = seg.published();
            if old > off {
                seg.unpublish(off);
                seg.zero(off, old - off)?;
            }
        }
        Ok(())
    }

    /// Deletes whole files that hold only entries at or below `index`.
    pub(crate) fn purge_upto(&self, index: u64) -> StoreResult<()> {
        let end = Self::byte_offset(index)? + ENTRY_LEN;
        self.files.remove_before(end)?;
        Ok(())
    }

    /// Deletes every file.
    pub(crate) fn clear(&self) -> StoreResult<()> {
        self.files.remove_from(0)
    }

    /// Makes the entries of `[from, to]` durable.
    pub(crate) fn flush(&self, from: u64, to: u64) -> StoreResult<()> {
        let start = Self::byte_offset(from)?;
        let end = Self::byte_offset(to)? + ENTRY_LEN;
        for seg in self.files.snapshot() {
            if seg.end() <= start || seg.start() >= end {
                continue;
            }
            let lo = start.max(seg.start()) - seg.start();
            let hi = end.min(seg.end()) - seg.start();
            seg.flush(lo, hi - lo)?;
        }
        Ok(())
    }

    /// `fdatasync` of every file (after recovery rewrote or zeroed parts of them).
    pub(crate) fn sync(&self) -> StoreResult<()> {
        for seg in self.files.snapshot() {
            seg.sync()?;
        }
        Ok(())
    }

    /// Makes deletions of index files durable.
    pub(crate) fn sync_dir(&self) -> StoreResult<()> {
        self.files.sync_dir()
    }

    pub(crate) fn dir(&self) -> &Path {
        self.files.dir()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: u64) -> IndexEntry {
        IndexEntry {
            position: i * 100,
            term: 1 + i / 10,
            length: 64,
        }
    }

    #[test]
    fn entries_round_trip_across_files() {
        let dir = tempfile::tempdir().unwrap();
        let idx = RaftIndex::open(dir.path(), 4).unwrap();
        for i in 0..10 {
            idx.put_run(i, &[entry(i)]).unwrap();
        }
        for i in 0..10 {
            assert_eq!(idx.get(i).unwrap(), Some(entry(i)));
        }
        assert_eq!(idx.get(10).unwrap(), None);
    }

    #[test]
    fn cut_hides_and_zeroes_the_tail_even_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let idx = RaftIndex::open(dir.path(), 4).unwrap();
            for i in 0..10 {
                idx.put_run(i, &[entry(i)]).unwrap();
            }
            idx.cut_after(Some(5)).unwrap();
            assert_eq!(idx.get(6).unwrap(), None);
            assert_eq!(idx.get(5).unwrap(), Some(entry(5)));
        }
        let idx = RaftIndex::open(dir.path(), 4).unwrap();
        assert_eq!(idx.probe(5), Some(entry(5)));
        for i in 6..12 {
            assert_eq!(idx.probe(i), None, "entry {i} came back");
        }
    }

    #[test]
    fn a_misplaced_entry_fails_its_crc() {
        let e = entry(3).encode(3);
        assert_eq!(IndexEntry::decode(3, &e), Some(entry(3)));
        assert_eq!(IndexEntry::decode(4, &e), None);
        assert_eq!(IndexEntry::decode(0, &[0u8; 24]), None);
    }

    #[test]
    fn purge_deletes_only_whole_files_below_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let idx = RaftIndex::open(dir.path(), 4).unwrap();
        for i in 0..12 {
            idx.put_run(i, &[entry(i)]).unwrap();
        }
        idx.purge_upto(5).unwrap();
        assert_eq!(idx.get(3).unwrap(), None);
        assert_eq!(idx.get(4).unwrap(), Some(entry(4)));
    }
}
