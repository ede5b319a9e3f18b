//! Consume queues: per (topic, queue id), the commitlog position, size and tags code of each
//! message, indexed by queue offset (`shared/protocol/remoting.md` §9.1).
//!
//! The state machine is the only writer: when it applies a committed record it assigns each
//! message the queue's [`ConsumeQueue::max_offset`] and [`ConsumeQueue::put`]s a unit there.
//! Pull requests read concurrently ([`ConsumeQueue::read`]), then fetch the messages from the
//! commitlog. This module never reads the commitlog and never decides offsets: it stores what
//! it is given, checks that offsets stay dense, and can cut its tail (recovery re-applies what
//! lies beyond the store checkpoint) or drop its head (retention follows the commitlog).
//!
//! On disk, like Java's files: `<root>/<topic>/<queueId>/<20-digit byte offset>`, each file
//! `units_per_file * 20` bytes, the unit of queue offset `q` at byte `q * 20`:
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0  | 8 | commitlog offset of the message (i64, big-endian) |
//! | 8  | 4 | message size (i32, > 0) |
//! | 12 | 8 | tags code (i64) |
//!
//! A unit whose size is 0 (a never-written, all-zero unit) marks the end of the queue. Units
//! before the first offset of a queue restarted by [`ConsumeQueue::reset`] are *fillers* (twenty
//! 0xFF bytes) so that a restart finds the queue's offset again; they are never returned.
//!
//! Recovery (at open): the last three files are scanned; the max offset is the first end (or
//! malformed) unit, everything after it is zeroed and files past it removed; the min offset is
//! the first real unit. Retention progress below that is not persisted: the caller repeats
//! [`ConsumeQueue::delete_before_commitlog_offset`] with the commitlog's first offset after open.
//!
//! Concurrency: one writer at a time (a mutex, though the applier is the only one), readers
//! lock-free through atomics for min/max and the segments' published watermark, which `put`
//! raises only after the unit's bytes are written.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::warn;

use super::error::{StoreError, StoreResult};
use super::segment::Segment;
use super::segment_list::SegmentList;
use crate::common::sync::lock;

mod queue_store;

pub use queue_store::ConsumeQueueStore;

/// Bytes per consume-queue unit.
pub const CQ_UNIT_SIZE: u64 = 20;
const FILLER: [u8; CQ_UNIT_SIZE as usize] = [0xFF; CQ_UNIT_SIZE as usize];
/// How many trailing files recovery scans for the end of the queue (as Java does).
const RECOVERY_FILES: usize = 3;

/// One consume-queue entry: where a message is in the commitlog, its size, its tags code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CqUnit {
    /// Physical offset of the message in the commitlog (at most `i64::MAX`).
    pub commitlog_offset: u64,
    /// TOTALSIZE of the message (1..=`i32::MAX`).
    pub size: u32,
    /// Java `String.hashCode` of TAGS, sign-extended (see [`tags_code`](crate::message::tags_code)).
    pub tags_code: i64,
}

impl CqUnit {
    fn to_bytes(self) -> [u8; CQ_UNIT_SIZE as usize] {
        let mut out = [0; CQ_UNIT_SIZE as usize];
        out[0..8].copy_from_slice(&self.commitlog_offset.to_be_bytes());
        out[8..12].copy_from_slice(&self.size.to_be_bytes());
        out[12..20].copy_from_slice(&self.tags_code.to_be_bytes());
        out
    }

    fn check(&self) -> StoreResult<()> {
        if self.size == 0 || i32::try_from(self.size).is_err() {
            return Err(StoreError::InvalidRecord(format!(
                "consume-queue unit size {} is not in 1..=i32::MAX",
                self.size
            )));
        }
        if i64::try_from(self.commitlog_offset).is_err() {
            return Err(StoreError::InvalidRecord(format!(
                "commitlog offset {} does not fit an i64",
                self.commitlog_offset
            )));
        }
        Ok(())
    }
}

/// What a 20-byte slot of a consume-queue file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Unit(CqUnit),
    /// Stands for an offset below the start of a reset queue.
    Filler,
    /// Size 0: never written, the end of the queue.
    End,
    /// Negative size or offset: not something this module writes.
    Malformed,
}

fn classify(bytes: &[u8]) -> Slot {
    let Some(bytes) = bytes.first_chunk::<{ CQ_UNIT_SIZE as usize }>() else {
        return Slot::Malformed;
    };
    if *bytes == FILLER {
        return Slot::Filler;
    }
    let offset = i64::from_be_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
    ]);
    let size = i32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    let tags_code = i64::from_be_bytes([
        bytes[12], bytes[13], bytes[14], bytes[15], bytes[16], bytes[17], bytes[18], bytes[19],
    ]);
    match (u64::try_from(offset), u32::try_from(size)) {
        (_, Ok(0)) => Slot::End,
        (Ok(commitlog_offset), Ok(size)) => Slot::Unit(CqUnit {
            commitlog_offset,
            size,
            tags_code,
        }),
        _ => Slot::Malformed,
    }
}

/// What [`ConsumeQueue::put`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The unit was appended at the max offset.
    Appended,
    /// The same unit was already there (a record applied twice).
    AlreadyPresent,
}

/// The consume queue of one (topic, queue id).
#[derive(Debug)]
pub struct ConsumeQueue {
    topic: String,
    queue_id: u32,
    segments: SegmentList,
    /// First offset readers may read.
    min: AtomicU64,
    /// Next offset to assign; every unit below it (and at or above `min`) is published.
    max: AtomicU64,
    /// Byte offset up to which units are known to be on disk.
    flushed: AtomicU64,
    /// Serialises put / truncate / retention / reset. Taken before `flusher`.
    writer: Mutex<()>,
    /// Serialises flushes with the writers that lower `flushed`.
    flusher: Mutex<()>,
}

impl ConsumeQueue {
    /// Opens (creating if needed) the queue in `dir` and recovers its min and max offsets.
    fn open(dir: &Path, topic: &str, queue_id: u32, units_per_file: u64) -> StoreResult<Self> {
        let segments = SegmentList::open(dir, units_per_file * CQ_UNIT_SIZE)?;
        let (min, max) = recover(&segments)?;
        Ok(ConsumeQueue {
            topic: topic.to_owned(),
            queue_id,
            segments,
            min: AtomicU64::new(min),
            max: AtomicU64::new(max),
            flushed: AtomicU64::new(max * CQ_UNIT_SIZE),
            writer: Mutex::new(()),
            flusher: Mutex::new(()),
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn queue_id(&self) -> u32 {
        self.queue_id
    }

    /// The first offset still readable.
    pub fn min_offset(&self) -> u64 {
        self.min.load(Ordering::Acquire)
    }

    /// The next offset to assign (one past the last unit).
    pub fn max_offset(&self) -> u64 {
        self.max.load(Ordering::Acquire)
    }

    /// The queue's next offset as of commitlog position `commitlog_offset`: the first offset
    /// whose unit lies at or after it (the max offset when none does). A snapshot taken at
    /// the record that ends there records this.
    pub fn offset_at_commitlog_offset(&self, commitlog_offset: u64) -> u64 {
        let (min, max) = (self.min_offset(), self.max_offset());
        self.lower_bound(min, max, commitlog_offset)
    }

    /// Stores `unit` at `queue_offset`.
    ///
    /// `queue_offset` must be the max offset (append), or an offset below it that already holds
    /// this very unit (re-apply: [`PutOutcome::AlreadyPresent`]). A gap, a different unit at
    /// that offset, or a commitlog offset not above the previous unit's is an error naming the
    /// file and byte offset. The unit becomes visible only once its bytes are written.
    pub fn put(&self, queue_offset: u64, unit: CqUnit) -> StoreResult<PutOutcome> {
        unit.check()?;
        let _writer = lock(&self.writer);
        let max = self.max_offset();
        let byte = byte_of(queue_offset)?;
        if queue_offset < max {
            return match self.slot(queue_offset) {
                Some(Slot::Unit(existing)) if existing == unit => Ok(PutOutcome::AlreadyPresent),
                Some(slot) => Err(self.corrupt(
                    byte,
                    format!("queue offset {queue_offset} holds {slot:?}, not {unit:?}"),
                )),
                None => Err(StoreError::Refused(format!(
                    "{}: queue offset {queue_offset} is no longer stored",
                    self.segments.dir().display()
                ))),
            };
        }
        if queue_offset > max {
            return Err(StoreError::NotContiguous {
                got: queue_offset,
                reason: format!(
                    "{}: the queue's max offset is {max}",
                    self.segments.dir().display()
                ),
            });
        }
        if queue_offset > self.min_offset()
            && let Some(Slot::Unit(prev)) = self.slot(queue_offset - 1)
            && prev.commitlog_offset >= unit.commitlog_offset
        {
            return Err(StoreError::InvalidRecord(format!(
                "{}: commitlog offset {} at queue offset {queue_offset} is not above {} at the \
                 previous one",
                self.segments.dir().display(),
                unit.commitlog_offset,
                prev.commitlog_offset
            )));
        }
        let segment = self.segments.find_or_create(byte)?;
        let rel = byte - segment.start();
        segment.write(rel, &unit.to_bytes())?;
        segment.publish(rel + CQ_UNIT_SIZE);
        self.max.store(queue_offset + 1, Ordering::Release);
        Ok(PutOutcome::Appended)
    }

    /// The unit at `queue_offset`, if it lies in `[min_offset, max_offset)`.
    pub fn get(&self, queue_offset: u64) -> Option<CqUnit> {
        if queue_offset < self.min_offset() || queue_offset >= self.max_offset() {
            return None;
        }
        match self.slot(queue_offset)? {
            Slot::Unit(unit) => Some(unit),
            _ => None,
        }
    }

    /// Up to `max_units` units from `from` on, never past the max offset. Empty when `from` is
    /// outside `[min_offset, max_offset)`; stops early at a unit it cannot read.
    pub fn read(&self, from: u64, max_units: usize) -> Vec<CqUnit> {
        let (min, max) = (self.min_offset(), self.max_offset());
        if from < min || from >= max {
            return Vec::new();
        }
        let wanted = (max - from).min(max_units as u64);
        let mut out = Vec::with_capacity(usize::try_from(wanted).unwrap_or(0).min(4096));
        let (mut byte, end) = (from * CQ_UNIT_SIZE, (from + wanted) * CQ_UNIT_SIZE);
        while byte < end {
            let Some(segment) = self.segments.find(byte) else {
                break;
            };
            let rel = byte - segment.start();
            let len = (end - byte).min(segment.size() - rel);
            let complete = segment.with_published(rel, len, |bytes| {
                for chunk in bytes.chunks_exact(CQ_UNIT_SIZE as usize) {
                    match classify(chunk) {
                        Slot::Unit(unit) => out.push(unit),
                        _ => return false,
                    }
                }
                true
            });
            if complete != Some(true) {
                break;
            }
            byte += len;
        }
        out
    }

    /// Drops every unit whose commitlog offset is at or above `commitlog_offset` (recovery cuts
    /// what lies beyond the store checkpoint). The cut bytes are zeroed and flushed, so they do
    /// not come back after a restart. Returns how many units were dropped.
    pub fn truncate_from_commitlog_offset(&self, commitlog_offset: u64) -> StoreResult<u64> {
        let _writer = lock(&self.writer);
        let (min, max) = (self.min_offset(), self.max_offset());
        let cut = self.lower_bound(min, max, commitlog_offset);
        if cut >= max {
            return Ok(0);
        }
        let _flusher = lock(&self.flusher);
        self.max.store(cut, Ordering::Release);
        self.flushed.fetch_min(cut * CQ_UNIT_SIZE, Ordering::AcqRel);
        self.cut_bytes(cut * CQ_UNIT_SIZE)?;
        Ok(max - cut)
    }

    /// Retention: deletes the files all of whose units point below `commitlog_offset` (never
    /// the last file, which carries the max offset across restarts) and moves the min offset
    /// past every unit that points below it. Returns how many files were deleted.
    pub fn delete_before_commitlog_offset(&self, commitlog_offset: u64) -> StoreResult<usize> {
        let _writer = lock(&self.writer);
        let segments = self.segments.snapshot();
        let mut doomed = 0;
        for segment in segments.iter().take(segments.len().saturating_sub(1)) {
            let last =
                segment.with_published(segment.size() - CQ_UNIT_SIZE, CQ_UNIT_SIZE, classify);
            match last {
                Some(Slot::Unit(unit)) if unit.commitlog_offset < commitlog_offset => doomed += 1,
                _ => break,
            }
        }
        let removed = match doomed {
            0 => 0,
            n => self.segments.remove_before(segments[n - 1].end())?,
        };
        let first = self
            .segments
            .first()
            .map_or(0, |segment| segment.start() / CQ_UNIT_SIZE);
        let (min, max) = (self.min_offset().max(first), self.max_offset());
        let new_min = self.lower_bound(min.min(max), max, commitlog_offset);
        self.min.fetch_max(new_min, Ordering::AcqRel);
        Ok(removed)
    }

    /// Restarts the queue empty at `next_offset` (after a snapshot install): every file is
    /// deleted, and the file holding `next_offset` is created with fillers before it, so that
    /// min = max = `next_offset`, also after a restart.
    pub fn reset(&self, next_offset: u64) -> StoreResult<()> {
        let _writer = lock(&self.writer);
        let _flusher = lock(&self.flusher);
        let byte = byte_of(next_offset)?;
        self.max.store(next_offset, Ordering::Release);
        self.min.store(next_offset, Ordering::Release);
        self.segments.remove_from(0)?;
        let segment = self.segments.find_or_create(byte)?;
        let rel = byte - segment.start();
        let chunk = FILLER.repeat(4096);
        let mut at = 0;
        while at < rel {
            let n = (rel - at).min(chunk.len() as u64);
            segment.write(at, &chunk[..n as usize])?;
            at += n;
        }
        segment.publish(rel);
        segment.flush(0, rel)?;
        self.flushed.store(byte, Ordering::Release);
        Ok(())
    }

    /// Makes every unit below the max offset durable.
    pub fn flush(&self) -> StoreResult<()> {
        let _flusher = lock(&self.flusher);
        let from = self.flushed.load(Ordering::Acquire);
        let to = self.max_offset() * CQ_UNIT_SIZE;
        if from >= to {
            return Ok(());
        }
        for segment in self.segments.snapshot() {
            let (start, end) = (from.max(segment.start()), to.min(segment.end()));
            if start < end {
                segment.flush(start - segment.start(), end - start)?;
            }
        }
        self.flushed.store(to, Ordering::Release);
        Ok(())
    }

    /// The slot at `queue_offset`, whether or not it is inside `[min, max)`; `None` if its
    /// file is gone or the bytes are not published.
    fn slot(&self, queue_offset: u64) -> Option<Slot> {
        let byte = queue_offset.checked_mul(CQ_UNIT_SIZE)?;
        let segment = self.segments.find(byte)?;
        segment.with_published(byte - segment.start(), CQ_UNIT_SIZE, classify)
    }

    /// The first offset in `[lo, hi)` whose unit points at or above `commitlog_offset` (units
    /// are in increasing commitlog order), or `hi`. Unreadable units count as "at or above",
    /// so a cut never keeps what it cannot check.
    fn lower_bound(&self, mut lo: u64, mut hi: u64, commitlog_offset: u64) -> u64 {
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let below = matches!(
                self.slot(mid),
                Some(Slot::Unit(unit)) if unit.commitlog_offset < commitlog_offset
            );
            if below {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Removes the files after the one holding byte `cut`, hides and zeroes `[cut, ..)` in it.
    fn cut_bytes(&self, cut: u64) -> StoreResult<()> {
        let size = self.segments.segment_size();
        self.segments
            .remove_from(self.segments.segment_start(cut) + size)?;
        if let Some(segment) = self.segments.find(cut) {
            zero_tail(&segment, cut - segment.start())?;
        }
        Ok(())
    }

    fn corrupt(&self, byte: u64, reason: String) -> StoreError {
        let path = self.segments.find(byte).map_or_else(
            || self.segments.dir().to_path_buf(),
            |s| s.path().to_path_buf(),
        );
        let offset = self.segments.find(byte).map_or(byte, |s| byte - s.start());
        StoreError::corrupt(&path, offset, reason)
    }
}

/// Hides `[rel, size)` of `segment` from readers and zeroes (and flushes) whatever is not zero
/// in it, so nothing there can pass for a unit after a restart.
fn zero_tail(segment: &Segment, rel: u64) -> StoreResult<()> {
    // Bytes past the watermark are zero already: every path that raises it writes first.
    let len = segment.published().saturating_sub(rel);
    let dirty = segment
        .with_published(rel, len, |b| b.iter().any(|&x| x != 0))
        .unwrap_or(true);
    segment.unpublish(rel);
    if dirty && len > 0 {
        segment.zero(rel, len)?;
        segment.flush(rel, len)?;
        segment.sync()?;
    }
    Ok(())
}

/// Finds `(min, max)` of the queue whose files `segments` holds (all fully published, as
/// `SegmentList::open` leaves them), and makes the files agree: past the end, zeroed bytes,
/// no later files, a lowered watermark.
fn recover(segments: &SegmentList) -> StoreResult<(u64, u64)> {
    let Some(last) = segments.last() else {
        return Ok((0, 0));
    };
    let all = segments.snapshot();
    let mut end = last.end();
    'scan: for segment in &all[all.len().saturating_sub(RECOVERY_FILES)..] {
        let stop = segment.with_published(0, segment.size(), |bytes| {
            for (i, chunk) in bytes.chunks_exact(CQ_UNIT_SIZE as usize).enumerate() {
                match classify(chunk) {
                    Slot::Unit(_) | Slot::Filler => {}
                    Slot::End => return Some(i as u64),
                    Slot::Malformed => {
                        warn!(path = %segment.path().display(), unit = i, "malformed consume-queue unit ends the queue");
                        return Some(i as u64);
                    }
                }
            }
            None
        });
        if let Some(Some(i)) = stop {
            end = segment.start() + i * CQ_UNIT_SIZE;
            break 'scan;
        }
    }
    if end < last.end() {
        segments.remove_from(segments.segment_start(end) + segments.segment_size())?;
        if let Some(segment) = segments.find(end) {
            zero_tail(&segment, end - segment.start())?;
        }
    }
    let mut min = end;
    'first: for segment in segments.snapshot() {
        let upto = end.min(segment.end()).saturating_sub(segment.start());
        let found = segment.with_published(0, upto, |bytes| {
            bytes
                .chunks_exact(CQ_UNIT_SIZE as usize)
                .position(|chunk| matches!(classify(chunk), Slot::Unit(_)))
        });
        if let Some(Some(i)) = found {
            min = segment.start() + i as u64 * CQ_UNIT_SIZE;
            break 'first;
        }
        if segment.end() >= end {
            break;
        }
    }
    Ok((min / CQ_UNIT_SIZE, end / CQ_UNIT_SIZE))
}

fn byte_of(queue_offset: u64) -> StoreResult<u64> {
    queue_offset.checked_mul(CQ_UNIT_SIZE).ok_or_else(|| {
        StoreError::InvalidRecord(format!("queue offset {queue_offset} is too large"))
    })
}

#[cfg(test)]
mod tests;
