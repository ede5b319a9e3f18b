//! The key index: physical offsets of a topic's messages by KEYS and UNIQ_KEY, newest first,
//! within a store-time range (RocketMQ's IndexFile capability, our own layout). QUERY_MESSAGE
//! and `mqadmin queryMsgByKey` / `queryMsgByUniqueKey` read it.
//!
//! The state machine puts one entry per key of each applied message, in commitlog order;
//! recovery cuts entries beyond the store checkpoint ([`KeyIndex::truncate_from`]) and retention
//! drops whole old files ([`KeyIndex::delete_files_before`]). Queries return candidate offsets
//! only: only a 32-bit hash of `topic#key` is stored, so the caller reads each message from the
//! commitlog and keeps those whose key really matches. Collisions therefore cost a read, never a
//! wrong answer. This module never reads the commitlog.
//!
//! Memory stays bounded: the data lives in fixed-size mmap'd files (a `SegmentList`, file `k`
//! named by `k * file size`), each a hash table with chained, append-only entries. When a file's
//! entries are used up, the next file starts. All integers are big-endian.
//!
//! | offset | size | file part |
//! |-------:|-----:|-----------|
//! | 0 | 64 | header |
//! | 64 | 4 × slots | slot table: slot → 1 + number of the newest entry whose hash lands there (0 = none) |
//! | 64 + 4 × slots | 32 × entries | entries, in put order |
//!
//! | header offset | size | field |
//! |------:|-----:|-------|
//! | 0  | 8 | magic `DLKEYIX1` |
//! | 8  | 4 | slots per file (u32) |
//! | 12 | 4 | entries per file (u32) |
//! | 16 | 8 | smallest store timestamp of the entries (i64 ms) |
//! | 24 | 8 | largest store timestamp (i64 ms) |
//! | 32 | 8 | first entry's physical offset (u64) |
//! | 40 | 8 | last entry's physical offset (u64) |
//! | 48 | 4 | entry count (u32) |
//! | 52 | 12 | reserved, zero |
//!
//! | entry offset | size | field |
//! |------:|-----:|-------|
//! | 0  | 8 | physical offset of the message (u64) |
//! | 8  | 8 | store timestamp (i64 ms) |
//! | 16 | 4 | FNV-1a hash of `topic#key` (u32); slot = hash % slots |
//! | 20 | 4 | 1 + number of the previous entry in the same slot (0 = end of chain) |
//! | 24 | 4 | CRC-32 of bytes 0..24 |
//! | 28 | 4 | reserved, zero |
//!
//! Write order per put: entry, slot, header. At open, the last file's entries are checked
//! (CRC, non-decreasing offsets) to find its real count, and its slot table and header are
//! rebuilt if they disagree; what follows the count is zeroed. Readers walk a chain only while
//! entry numbers go down, so damaged bytes can end a query early but never loop it.

use std::path::Path;
use std::sync::{Arc, Mutex};

use super::error::{StoreError, StoreResult};
use super::segment::Segment;
use super::segment_list::SegmentList;

mod format;

use crate::common::sync::lock;
use format::{
    ENTRY_SIZE, Entry, HEADER_SIZE, Header, MAGIC, SLOT_SIZE, file_size, key_hash, read_u32,
};

/// The writer's view of the newest file.
#[derive(Debug, Default)]
struct Active {
    file: Option<(Arc<Segment>, Header)>,
    /// Largest physical offset put so far: puts must not go below it.
    last_phys: u64,
}

/// Messages of a topic by key, in fixed-size mmap'd hash files.
#[derive(Debug)]
pub struct KeyIndex {
    files: SegmentList,
    slots: u32,
    entries: u32,
    active: Mutex<Active>,
    /// Start of the oldest file that may hold unflushed bytes. Taken after `active`.
    flushed_from: Mutex<u64>,
}

impl KeyIndex {
    /// Opens (creating if needed) the index in `dir`, with `slots_per_file` hash slots and
    /// `entries_per_file` entries per file (both at least 1; entries below `u32::MAX`). Files
    /// written with another geometry are refused.
    pub fn open(dir: &Path, slots_per_file: u32, entries_per_file: u32) -> StoreResult<Self> {
        let file_size = file_size(slots_per_file, entries_per_file).ok_or_else(|| {
            StoreError::InvalidRecord(format!(
                "key index geometry {slots_per_file} slots / {entries_per_file} entries is not \
                 usable (each must be at least 1, entries below u32::MAX)"
            ))
        })?;
        let files = SegmentList::open(dir, file_size)?;
        let index = KeyIndex {
            files,
            slots: slots_per_file,
            entries: entries_per_file,
            active: Mutex::new(Active::default()),
            flushed_from: Mutex::new(0),
        };
        let all = index.files.snapshot();
        let mut last_phys = 0;
        for file in all.iter().take(all.len().saturating_sub(1)) {
            let header = index.header(file)?;
            if header.count > 0 {
                last_phys = header.end_phys;
            }
        }
        if let Some(last) = all.last() {
            let header = index.recover_last(last)?;
            if header.count > 0 {
                last_phys = header.end_phys;
            }
            *lock(&index.active) = Active {
                file: Some((last.clone(), header)),
                last_phys,
            };
            *lock(&index.flushed_from) = last.start();
        }
        Ok(index)
    }

    /// Indexes `key` of a message of `topic` at `phys_offset`, stored at `store_timestamp`.
    /// Offsets must not decrease from one put to the next (several keys of one message share
    /// an offset); anything else is refused.
    pub fn put(
        &self,
        topic: &str,
        key: &str,
        phys_offset: u64,
        store_timestamp: i64,
    ) -> StoreResult<()> {
        let mut active = lock(&self.active);
        if phys_offset < active.last_phys {
            return Err(StoreError::InvalidRecord(format!(
                "{}: key index put at offset {phys_offset} after offset {}",
                self.files.dir().display(),
                active.last_phys
            )));
        }
        let (file, header) = match &active.file {
            Some((file, header)) if header.count < self.entries => (file.clone(), *header),
            full_or_none => {
                let start = full_or_none.as_ref().map_or(0, |(file, _)| file.end());
                (self.create_file(start)?, Header::default())
            }
        };
        let hash = key_hash(topic, key);
        let slot_off = self.slot_offset(hash);
        let prev = file
            .with_published(slot_off, SLOT_SIZE, read_u32)
            .ok_or_else(|| self.corrupt(&file, slot_off, "slot table not readable"))?;
        let entry = Entry {
            phys: phys_offset,
            store_ts: store_timestamp,
            hash,
            prev,
        };
        let entry_off = self.entry_offset(header.count);
        file.write(entry_off, &entry.to_bytes())?;
        file.publish(entry_off + ENTRY_SIZE);
        file.rewrite_published(slot_off, &(header.count + 1).to_be_bytes())?;
        let header = header.with(&entry);
        file.rewrite_published(16, &header.to_bytes())?;
        active.file = Some((file, header));
        active.last_phys = phys_offset;
        Ok(())
    }

    /// Physical offsets of messages of `topic` indexed under `key` with a store timestamp in
    /// `[begin_ms, end_ms]`, newest first, at most `max`. Candidates: a hash collision can add
    /// an offset whose message has another key, so callers check the key on the message.
    /// A query racing a put may or may not see that put (the header is updated last).
    pub fn query(
        &self,
        topic: &str,
        key: &str,
        begin_ms: i64,
        end_ms: i64,
        max: usize,
    ) -> Vec<u64> {
        let mut out = Vec::new();
        if max == 0 {
            return out;
        }
        let hash = key_hash(topic, key);
        for file in self.files.snapshot().iter().rev() {
            let Some(header) = file
                .with_published(0, HEADER_SIZE, Header::parse)
                .flatten()
                .map(|(_, _, header)| header)
            else {
                continue;
            };
            if !header.overlaps(begin_ms, end_ms) {
                continue;
            }
            let mut next = file
                .with_published(self.slot_offset(hash), SLOT_SIZE, read_u32)
                .unwrap_or(0);
            while next != 0 && next <= self.entries {
                let Some(entry) = file
                    .with_published(self.entry_offset(next - 1), ENTRY_SIZE, Entry::parse)
                    .flatten()
                else {
                    break;
                };
                let in_range = (begin_ms..=end_ms).contains(&entry.store_ts);
                if entry.hash == hash && in_range && out.last() != Some(&entry.phys) {
                    out.push(entry.phys);
                    if out.len() >= max {
                        return out;
                    }
                }
                // Chains only go back in time; anything else is damage and ends the walk.
                if entry.prev >= next {
                    break;
                }
                next = entry.prev;
            }
        }
        out
    }

    /// Drops every entry whose physical offset is at or above `phys_offset` (recovery cuts what
    /// lies beyond the store checkpoint): files that start there go, the file holding the cut
    /// is zeroed past it and gets its slot table rebuilt from the entries left.
    pub fn truncate_from(&self, phys_offset: u64) -> StoreResult<()> {
        let mut active = lock(&self.active);
        let mut flushed_from = lock(&self.flushed_from);
        let all = self.files.snapshot();
        let mut keep = all.len();
        while keep > 0 {
            let header = self.header(&all[keep - 1])?;
            if header.count > 0 && header.begin_phys < phys_offset {
                break;
            }
            keep -= 1;
        }
        if keep < all.len() {
            self.files.remove_from(all[keep].start())?;
        }
        let mut last_phys = 0;
        active.file = None;
        if let Some(last) = all[..keep].last() {
            let header = self.header(last)?;
            let header = if header.end_phys >= phys_offset {
                self.cut(last, header, phys_offset)?
            } else {
                header
            };
            active.file = Some((last.clone(), header));
            last_phys = header.end_phys;
            *flushed_from = (*flushed_from).min(last.start());
        }
        active.last_phys = last_phys;
        Ok(())
    }

    /// Retention: deletes the files (never the newest) whose entries all point below
    /// `phys_offset`. Returns how many.
    pub fn delete_files_before(&self, phys_offset: u64) -> StoreResult<usize> {
        let _active = lock(&self.active);
        let all = self.files.snapshot();
        let mut doomed = 0;
        for file in all.iter().take(all.len().saturating_sub(1)) {
            let header = self.header(file)?;
            if header.count == 0 || header.end_phys >= phys_offset {
                break;
            }
            doomed += 1;
        }
        match doomed {
            0 => Ok(0),
            n => self.files.remove_before(all[n - 1].end()),
        }
    }

    /// The newest file's largest store timestamp and last physical offset (QUERY_MESSAGE's
    /// `indexLastUpdateTimestamp` / `indexLastUpdatePhyoffset`); zeros when empty.
    pub fn last_update(&self) -> (i64, u64) {
        match &lock(&self.active).file {
            Some((_, header)) if header.count > 0 => (header.end_ts, header.end_phys),
            _ => (0, 0),
        }
    }

    /// Makes every put so far durable.
    pub fn flush(&self) -> StoreResult<()> {
        let mut flushed_from = lock(&self.flushed_from);
        let all = self.files.snapshot();
        for file in all.iter().filter(|f| f.end() > *flushed_from) {
            file.flush(0, file.published())?;
        }
        if let Some(last) = all.last() {
            *flushed_from = last.start();
        }
        Ok(())
    }

    fn create_file(&self, start: u64) -> StoreResult<Arc<Segment>> {
        let file = self.files.find_or_create(start)?;
        file.write(0, &self.fresh_header())?;
        // The slot table of a new file is zero already: publish it with the header.
        file.publish(self.entry_offset(0));
        Ok(file)
    }

    /// The header of a file without entries.
    fn fresh_header(&self) -> [u8; HEADER_SIZE as usize] {
        let mut head = [0u8; HEADER_SIZE as usize];
        head[0..8].copy_from_slice(&MAGIC);
        head[8..12].copy_from_slice(&self.slots.to_be_bytes());
        head[12..16].copy_from_slice(&self.entries.to_be_bytes());
        head
    }

    /// Reads and checks a file's header.
    fn header(&self, file: &Segment) -> StoreResult<Header> {
        let parsed = file
            .with_published(0, HEADER_SIZE, Header::parse)
            .flatten()
            .ok_or_else(|| self.corrupt(file, 0, "bad key index header"))?;
        match parsed {
            (slots, entries, header) if slots == self.slots && entries == self.entries => {
                Ok(header)
            }
            (slots, entries, _) => Err(StoreError::FormatMismatch {
                path: file.path().to_path_buf(),
                reason: format!(
                    "written with {slots} slots / {entries} entries, opened with {} / {}",
                    self.slots, self.entries
                ),
            }),
        }
    }

    /// Finds the real entry count of the newest file and makes the header, the slot table and
    /// the bytes after the entries agree with it.
    fn recover_last(&self, file: &Segment) -> StoreResult<Header> {
        let all_zero = file
            .with_published(0, HEADER_SIZE, |b| b.iter().all(|&x| x == 0))
            .unwrap_or(false);
        if all_zero {
            // Created, but the process stopped before the header was written.
            file.rewrite_published(0, &self.fresh_header())?;
        }
        let stored = self.header(file)?;
        let first = self.entry_offset(0);
        let scanned =
            file.with_published(first, self.entry_offset(self.entries) - first, |bytes| {
                let mut header = Header::default();
                for (n, chunk) in (0..).zip(bytes.chunks_exact(ENTRY_SIZE as usize)) {
                    match Entry::parse(chunk) {
                        Some(e)
                            if (header.count == 0 || e.phys >= header.end_phys) && e.prev <= n =>
                        {
                            header = header.with(&e);
                        }
                        _ => break,
                    }
                }
                header
            });
        let header = scanned.unwrap_or_default();
        let slots_ok = file
            .with_published(HEADER_SIZE, self.entry_offset(0) - HEADER_SIZE, |table| {
                table
                    .chunks_exact(SLOT_SIZE as usize)
                    .all(|slot| read_u32(slot) <= header.count)
            })
            .unwrap_or(false);
        if stored != header || !slots_ok {
            tracing::warn!(path = %file.path().display(), entries = header.count, "rebuilding the key index slot table");
            self.cut(file, header, u64::MAX)
        } else {
            self.zero_after(file, header.count)?;
            Ok(header)
        }
    }

    /// Keeps the entries of `file` below `phys_offset` (at most `header.count` of them),
    /// zeroes the rest, rebuilds the slot table and header from what is left, and flushes.
    fn cut(&self, file: &Segment, header: Header, phys_offset: u64) -> StoreResult<Header> {
        let mut slots = vec![0u32; self.slots as usize];
        let mut kept = Header::default();
        for n in 0..header.count {
            let entry = file
                .with_published(self.entry_offset(n), ENTRY_SIZE, Entry::parse)
                .flatten();
            let Some(entry) = entry.filter(|e| e.phys < phys_offset) else {
                break;
            };
            slots[(entry.hash % self.slots) as usize] = n + 1;
            kept = kept.with(&entry);
        }
        self.zero_after(file, kept.count)?;
        let table: Vec<u8> = slots.iter().flat_map(|s| s.to_be_bytes()).collect();
        file.rewrite_published(HEADER_SIZE, &table)?;
        file.rewrite_published(16, &kept.to_bytes())?;
        file.flush(0, file.published())?;
        file.sync()?;
        Ok(kept)
    }

    /// Hides and zeroes every entry from number `count` on (when any byte there is not zero).
    fn zero_after(&self, file: &Segment, count: u32) -> StoreResult<()> {
        let from = self.entry_offset(count);
        let len = file.published().saturating_sub(from);
        let dirty = file
            .with_published(from, len, |b| b.iter().any(|&x| x != 0))
            .unwrap_or(true);
        file.unpublish(from);
        if dirty && len > 0 {
            file.zero(from, len)?;
            file.flush(from, len)?;
        }
        Ok(())
    }

    fn slot_offset(&self, hash: u32) -> u64 {
        HEADER_SIZE + u64::from(hash % self.slots) * SLOT_SIZE
    }

    fn entry_offset(&self, n: u32) -> u64 {
        HEADER_SIZE + u64::from(self.slots) * SLOT_SIZE + u64::from(n) * ENTRY_SIZE
    }

    fn corrupt(&self, file: &Segment, offset: u64, reason: &str) -> StoreError {
        StoreError::corrupt(file.path(), offset, reason)
    }
}

#[cfg(test)]
mod tests;
