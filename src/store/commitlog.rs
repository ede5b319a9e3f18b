//! `CommitLog`: the Raft log of one node, stored as RocketMQ-style mmap segments.
//!
//! Shaped for a Raft log-storage contract without depending on any Raft crate: append a batch
//! (leader: entries encoded here; follower: the leader's record bytes, validated and copied),
//! read a range with a byte cap, truncate after an index, purge below an index, reset to a new
//! base, first/last log id, vote and committed id, and a group-commit durability callback.
//!
//! One writer at a time (an internal mutex; the raft layer calls from one IO queue anyway), any
//! number of readers. Readers see a record only after its bytes and index entry are published,
//! and never past the `View` the writer last published; truncation hides the tail from readers
//! before it rewrites anything. Disk syncs happen on the flush thread (`flush`), never in the
//! caller's thread except for the vote, the purge point and truncation, which must be durable
//! before the call returns.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::checkpoint::{Checkpoint, RecordPoint};
use super::error::{StoreError, StoreResult};
use super::flush::{FlushCallback, FlushTarget, Flusher};
use super::meta::{LogBase, LogId, MetaFile, NodeMeta, Vote};
use super::raft_index::{IndexEntry, RaftIndex};
use super::record::{self, HEADER_LEN, Record, RecordHeader, RecordKind};
use super::recovery;
use super::segment_list::SegmentList;
use crate::common::sync::lock;

/// How far ahead of the write position the flush thread pre-faults pages.
const PREFAULT_AHEAD: u64 = 8 << 20;

/// Where the commitlog keeps its files and how it sizes them.
#[derive(Debug, Clone)]
pub struct CommitLogOptions {
    /// Commitlog segments (`storePathCommitLog`).
    pub dir: PathBuf,
    /// Raft index files.
    pub index_dir: PathBuf,
    /// Node meta file: vote, committed id, purge point, base.
    pub meta_path: PathBuf,
    /// Store checkpoint (`storeCheckpoint`).
    pub checkpoint_path: PathBuf,
    /// Present while the store is open; found at open it means the last run did not close.
    pub abort_path: PathBuf,
    /// Segment size in bytes (`mappedFileSizeCommitLog`, 1 GiB by default); a multiple of 8.
    pub segment_size: u64,
    /// Raft index entries per index file (24 bytes each).
    pub index_entries_per_file: u64,
    /// The flush thread flushes at least this often, waiters or not.
    pub flush_interval: Duration,
    /// The checkpoint file is rewritten at most this often (and at close).
    pub checkpoint_interval: Duration,
}

impl CommitLogOptions {
    /// The conventional layout under `root`: `commitlog/`, `raftindex/`, `raft-meta`,
    /// `checkpoint`, `abort`.
    pub fn in_dir(root: &Path, segment_size: u64) -> CommitLogOptions {
        CommitLogOptions {
            dir: root.join("commitlog"),
            index_dir: root.join("raftindex"),
            meta_path: root.join("raft-meta"),
            checkpoint_path: root.join("checkpoint"),
            abort_path: root.join("abort"),
            segment_size,
            index_entries_per_file: 1 << 20,
            flush_interval: Duration::from_millis(500),
            checkpoint_interval: Duration::from_secs(1),
        }
    }
}

/// An entry to append as leader: the store builds its record.
#[derive(Debug, Clone, Copy)]
pub struct NewEntry<'a> {
    pub index: u64,
    pub term: u64,
    pub kind: RecordKind,
    pub body: &'a [u8],
}

/// Where an appended record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub index: u64,
    pub position: u64,
    /// Header plus body bytes.
    pub length: u32,
}

impl Appended {
    /// Commitlog offset of the body's first byte.
    pub fn body_position(&self) -> u64 {
        self.position + HEADER_LEN as u64
    }
}

/// What readers may see: published by the writer after each change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogView {
    /// First present index (after purge / reset), `None` when the log holds no record.
    pub first: Option<u64>,
    /// Last record.
    pub last: Option<LogId>,
    /// Position where the next record goes.
    pub end: u64,
}

/// The log state a Raft log store reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogState {
    pub last_purged: Option<LogId>,
    /// The last record, or the purge point when the log holds no record.
    pub last: Option<LogId>,
}

struct Writer {
    end: u64,
    last: Option<LogId>,
    next_index: Option<u64>,
    /// The segment the last record went into (dropped by anything that deletes segments).
    segment: Option<Arc<super::segment::Segment>>,
    /// Raft index entries of the batch being appended, written in one go at its end.
    index_batch: Vec<IndexEntry>,
}

#[derive(Default)]
struct Dirty {
    log: Option<(u64, u64)>,
    index: Option<(u64, u64)>,
    durable: Option<RecordPoint>,
    /// Bumped by truncation and reset: a flush that started before must not move the
    /// checkpoint past the new end.
    epoch: u64,
}

impl Dirty {
    fn add_log(&mut self, from: u64, to: u64) {
        self.log = Some(
            self.log
                .map_or((from, to), |(a, b)| (a.min(from), b.max(to))),
        );
    }
    fn add_index(&mut self, from: u64, to: u64) {
        self.index = Some(
            self.index
                .map_or((from, to), |(a, b)| (a.min(from), b.max(to))),
        );
    }
}

struct CheckpointState {
    current: Checkpoint,
    saved: Checkpoint,
    saved_at: Instant,
}

pub(crate) struct Inner {
    opts: CommitLogOptions,
    segments: SegmentList,
    index: RaftIndex,
    writer: Mutex<Writer>,
    view: RwLock<LogView>,
    meta: Mutex<MetaFile>,
    /// Held by every write of the meta file, taken before `meta`: the lazy write of the
    /// committed id happens outside `meta` (so Raft's `save_committed` and reads never wait
    /// for an fsync) without ever overtaking a durable save of the vote or purge point.
    meta_io: Mutex<()>,
    checkpoint: Mutex<CheckpointState>,
    /// Held by every write of the checkpoint file, taken before `checkpoint`.
    checkpoint_io: Mutex<()>,
    /// Set by [`CommitLog::flush`] and close: the next flush also syncs the raft index.
    index_sync_requested: AtomicBool,
    /// When the raft index was last synced (it is synced at most once per checkpoint interval
    /// otherwise; see `flush_dirty`).
    index_synced_at: Mutex<Instant>,
    dirty: Mutex<Dirty>,
    failed: OnceLock<String>,
    /// When `prepare_ahead` last warned that it could not create the next segment.
    prepare_warned_at: Mutex<Option<Instant>>,
}

/// The commitlog of one node. See the module docs.
pub struct CommitLog {
    inner: Arc<Inner>,
    flusher: Flusher,
}

impl std::fmt::Debug for CommitLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitLog")
            .field("dir", &self.inner.opts.dir)
            .field("view", &self.view())
            .finish_non_exhaustive()
    }
}

impl CommitLog {
    /// Opens (creating if needed) the commitlog and recovers it. See `recovery`.
    pub fn open(opts: CommitLogOptions) -> StoreResult<CommitLog> {
        if opts.segment_size < 4096 || !opts.segment_size.is_multiple_of(record::ALIGN) {
            return Err(StoreError::Refused(format!(
                "segment size {} must be at least 4096 and a multiple of {}",
                opts.segment_size,
                record::ALIGN
            )));
        }
        fs::create_dir_all(&opts.dir).map_err(|e| StoreError::io(&opts.dir, e))?;
        format::check_format(&opts)?;
        let unclean = opts.abort_path.exists();
        if unclean {
            tracing::warn!(path = %opts.abort_path.display(), "abort file found: the last run did not shut down cleanly");
        }
        let segments = SegmentList::open(&opts.dir, opts.segment_size)?;
        let index = RaftIndex::open(&opts.index_dir, opts.index_entries_per_file.max(1))?;
        let mut meta = MetaFile::open(&opts.meta_path)?;
        let checkpoint = Checkpoint::load(&opts.checkpoint_path)?;
        let started = Instant::now();
        let rec = recovery::recover(&segments, &index, &meta.state, &checkpoint, unclean)?;
        if unclean {
            // What the crashed run left in the page cache past the checkpoint may not be on
            // disk yet: recovery vouches for it from here on, so it must be.
            let from = checkpoint.durable.map_or(0, |d| d.position);
            for seg in segments.snapshot().iter().filter(|s| s.end() > from) {
                seg.sync()?;
            }
        }
        meta.flushed = rec.last;
        let held = rec.last.or(meta.state.purged);
        if let Some(c) = meta.state.committed
            && held.is_none_or(|h| h.index < c.index)
        {
            tracing::warn!(committed = c.index, held = ?held, "the node meta's committed id is past the log; lowered to the log's end");
            meta.state.committed = held;
        }
        tracing::info!(
            dir = %opts.dir.display(),
            first = ?rec.first,
            last = ?rec.last,
            end = rec.end,
            scanned_bytes = rec.scanned,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "commitlog recovered"
        );
        fs::write(&opts.abort_path, b"").map_err(|e| StoreError::io(&opts.abort_path, e))?;

        let durable = match (checkpoint.durable, rec.last) {
            (Some(d), Some(l)) if d.index <= l.index => Some(d),
            _ => None,
        };
        let current = Checkpoint {
            durable,
            applied: checkpoint.applied,
        };
        let inner = Arc::new(Inner {
            segments,
            index,
            writer: Mutex::new(Writer {
                end: rec.end,
                last: rec.last,
                next_index: rec.next_index,
                segment: None,
                index_batch: Vec::new(),
            }),
            view: RwLock::new(LogView {
                first: rec.first,
                last: rec.last,
                end: rec.end,
            }),
            meta: Mutex::new(meta),
            meta_io: Mutex::new(()),
            checkpoint: Mutex::new(CheckpointState {
                current,
                saved: checkpoint,
                saved_at: Instant::now(),
            }),
            checkpoint_io: Mutex::new(()),
            index_sync_requested: AtomicBool::new(false),
            index_synced_at: Mutex::new(Instant::now()),
            dirty: Mutex::new(Dirty::default()),
            failed: OnceLock::new(),
            prepare_warned_at: Mutex::new(None),
            opts,
        });
        // Everything recovered is considered durable from here on.
        if let Some(last) = rec.last {
            let e = inner.index.get(last.index)?.ok_or_else(|| {
                StoreError::Refused("recovered last record has no index entry".into())
            })?;
            lock(&inner.dirty).durable = Some(RecordPoint {
                index: last.index,
                term: last.term,
                position: e.position,
            });
        }
        let flusher = Flusher::start(inner.clone(), inner.opts.flush_interval)
            .map_err(|e| StoreError::io(&inner.opts.dir, e))?;
        Ok(CommitLog { inner, flusher })
    }

    /// Appends entries as leader: encodes their records at the positions the log dictates.
    pub fn append(&self, entries: &[NewEntry<'_>]) -> StoreResult<Vec<Appended>> {
        let inner = &self.inner;
        let mut w = lock(&inner.writer);
        inner.check_alive()?;
        if let (Some(first), Some(last)) = (entries.first(), entries.last()) {
            inner.index.make_room(first.index, last.index)?;
        }
        let start_end = w.end;
        let mut out = Vec::with_capacity(entries.len());
        let result = (|| {
            for e in entries {
                inner.check_next(&w, e.index, e.term)?;
                let len = record::align((HEADER_LEN + e.body.len()) as u64);
                inner.check_fits(len)?;
                let position = record::place(w.end, len, inner.opts.segment_size);
                let (header, head) = record::encode_header(
                    e.index, e.term, position, e.kind, e.body,
                )
                .map_err(|r| StoreError::InvalidRecord(format!("entry {}: {r}", e.index)))?;
                let pad = &record::ALIGN_PADDING[..(len - u64::from(header.length)) as usize];
                if e.kind == RecordKind::Message && e.body.len() >= record::PHYSICAL_OFFSET_AT + 8 {
                    // One message (the common case): its PHYSICALOFFSET goes in as the position
                    // dictates it, with no allocation (encode_header validated the body).
                    let phys = record::physical_offset(position, 0).to_be_bytes();
                    let split = record::PHYSICAL_OFFSET_AT;
                    let parts: [&[u8]; 5] =
                        [&head, &e.body[..split], &phys, &e.body[split + 8..], pad];
                    out.push(inner.write_record(&mut w, &header, &parts)?);
                } else if e.kind.carries_messages() {
                    // Each message's PHYSICALOFFSET goes in as the position dictates it.
                    let spans = record::message_spans(e.body)
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|r| {
                            StoreError::InvalidRecord(format!("entry {}: {r}", e.index))
                        })?;
                    let offsets: Vec<[u8; 8]> = spans
                        .iter()
                        .map(|&(at, _)| record::physical_offset(position, at).to_be_bytes())
                        .collect();
                    let mut parts: Vec<&[u8]> = Vec::with_capacity(2 + 3 * spans.len());
                    parts.push(&head);
                    for (&(at, size), phys) in spans.iter().zip(&offsets) {
                        parts.push(&e.body[at..at + record::PHYSICAL_OFFSET_AT]);
                        parts.push(phys);
                        parts.push(&e.body[at + record::PHYSICAL_OFFSET_AT + 8..at + size]);
                    }
                    parts.push(pad);
                    out.push(inner.write_record(&mut w, &header, &parts)?);
                } else {
                    out.push(inner.write_record(&mut w, &header, &[&head, e.body, pad])?);
                }
            }
            Ok(())
        })();
        let published = inner.publish(&mut w, start_end, &out);
        result.and(published).map(|()| out)
    }

    /// Appends records as follower: each item is one record (header and body) as the leader
    /// stored it. Each is validated (CRC, index continuity, and the position this node
    /// computes) and copied; a position mismatch means the replicas diverged.
    pub fn append_raw<B: AsRef<[u8]>>(&self, records: &[B]) -> StoreResult<Vec<Appended>> {
        let inner = &self.inner;
        let mut w = lock(&inner.writer);
        inner.check_alive()?;
        if let Some(first) = w.next_index.filter(|_| !records.is_empty()) {
            inner
                .index
                .make_room(first, first + records.len() as u64 - 1)?;
        }
        let start_end = w.end;
        let mut out = Vec::with_capacity(records.len());
        let result = (|| {
            for raw in records {
                let raw = raw.as_ref();
                let header = record::verify(raw)
                    .map_err(|r| StoreError::InvalidRecord(format!("replicated record: {r}")))?;
                if raw.len() != header.length as usize {
                    return Err(StoreError::InvalidRecord(format!(
                        "replicated record {} is {} bytes but its header says {}",
                        header.index,
                        raw.len(),
                        header.length
                    )));
                }
                inner.check_next(&w, header.index, header.term)?;
                inner.check_fits(header.aligned_len())?;
                let computed = record::place(w.end, header.aligned_len(), inner.opts.segment_size);
                if computed != header.position {
                    let err = StoreError::PositionMismatch {
                        index: header.index,
                        stamped: header.position,
                        computed,
                    };
                    tracing::error!(%err, "replicas diverged");
                    return Err(err);
                }
                let pad =
                    &record::ALIGN_PADDING[..(header.aligned_len() - raw.len() as u64) as usize];
                out.push(inner.write_record(&mut w, &header, &[raw, pad])?);
            }
            Ok(())
        })();
        let published = inner.publish(&mut w, start_end, &out);
        result.and(published).map(|()| out)
    }

    /// Reads the records of indexes `[from, to)` that are present, stopping before the total
    /// would pass `max_bytes` (but always returning at least one record if any is present).
    /// Every record's CRC is verified; a bad one is reported as corruption.
    pub fn read(&self, from: u64, to: u64, max_bytes: u64) -> StoreResult<Vec<Record>> {
        let view = self.view();
        let (Some(first), Some(last)) = (view.first, view.last) else {
            return Ok(Vec::new());
        };
        let from = from.max(first);
        let to = to.min(last.index.saturating_add(1));
        let mut out = Vec::new();
        let mut total = 0u64;
        for i in from..to {
            let Some(rec) = self.inner.read_record(i)? else {
                break;
            };
            let len = rec.as_bytes().len() as u64;
            if !out.is_empty() && total + len > max_bytes {
                break;
            }
            total += len;
            out.push(rec);
        }
        Ok(out)
    }

    /// The record of `index`, if present.
    pub fn get(&self, index: u64) -> StoreResult<Option<Record>> {
        let view = self.view();
        if view.first.is_none_or(|f| index < f) || view.last.is_none_or(|l| index > l.index) {
            return Ok(None);
        }
        self.inner.read_record(index)
    }

    /// Copies `len` bytes at commitlog offset `position` (a message inside a record), if they
    /// lie inside one segment below the published end. Callers bound reads to what is applied.
    pub fn read_at(&self, position: u64, len: u64) -> StoreResult<Option<Bytes>> {
        if position.saturating_add(len) > self.view().end {
            return Ok(None);
        }
        let Some(seg) = self.inner.segments.find(position) else {
            return Ok(None);
        };
        Ok(seg.with_published(position - seg.start(), len, Bytes::copy_from_slice))
    }

    /// Reads the stored message of `len` bytes at commitlog offset `position` for a client
    /// (a pull, a lookup by id), verified: the record holding it is checked against its CRC
    /// (every byte but the stamped queue offsets). Damaged bytes are reported as corruption
    /// with the file and offset, never served. `None` when the range is not in the log.
    /// `verified` carries the span of the last record checked, so a pull that reads many
    /// messages of one batch checks that record once.
    pub fn read_message(
        &self,
        position: u64,
        len: u64,
        verified: &mut Option<(u64, u64)>,
    ) -> StoreResult<Option<Bytes>> {
        let end = position.saturating_add(len);
        if !verified.is_some_and(|(from, to)| from <= position && end <= to) {
            let Some(span) = self.verify_record_around(position)? else {
                return Ok(None);
            };
            if end > span.1 {
                return Err(self.corrupt_at(position, "a message runs past the end of its record"));
            }
            *verified = Some(span);
        }
        self.read_at(position, len)
    }

    /// Finds the record whose body holds commitlog offset `at` and verifies it: its body's
    /// span, `None` when no record of the log holds `at`.
    fn verify_record_around(&self, at: u64) -> StoreResult<Option<(u64, u64)>> {
        let view = self.view();
        let (Some(first), Some(last)) = (view.first, view.last) else {
            return Ok(None);
        };
        // The greatest index whose record starts at or before `at` (positions grow with the
        // index). A message alone in its record starts right after the header: checked first.
        let head = HEADER_LEN as u64;
        let direct = at
            .checked_sub(head)
            .and_then(|start| self.inner.index_of_position(start, first, last.index));
        let index = match direct {
            Some(i) => i,
            None => {
                let (mut lo, mut hi) = (first, last.index);
                if self.inner.entry(lo)?.position > at {
                    return Ok(None);
                }
                while lo < hi {
                    let mid = lo + (hi - lo).div_ceil(2);
                    if self.inner.entry(mid)?.position <= at {
                        lo = mid;
                    } else {
                        hi = mid - 1;
                    }
                }
                lo
            }
        };
        match self.inner.read_record(index) {
            Ok(Some(r)) => {
                let span = (r.body_position(), r.position() + r.as_bytes().len() as u64);
                Ok((span.0 <= at && at < span.1).then_some(span))
            }
            Ok(None) => Ok(None),
            Err(StoreError::Corrupt { reason, .. }) => Err(self.corrupt_at(at, reason)),
            Err(e) => Err(e),
        }
    }

    /// A corruption report for commitlog offset `at`: the segment file and the offset in it.
    fn corrupt_at(&self, at: u64, reason: impl Into<String>) -> StoreError {
        let reason = reason.into();
        tracing::error!(at, %reason, "corrupt commitlog data");
        match self.inner.segments.find(at) {
            Some(s) => StoreError::corrupt(s.path(), at - s.start(), reason),
            None => StoreError::corrupt(&self.inner.opts.dir, at, reason),
        }
    }

    /// Overwrites bytes of an appended record in place: the state machine stamps queue offsets
    /// (outside the record CRC) this way when it applies a record.
    pub fn stamp(&self, position: u64, bytes: &[u8]) -> StoreResult<()> {
        let Some(seg) = self.inner.segments.find(position) else {
            return Err(StoreError::Refused(format!(
                "no segment holds offset {position}"
            )));
        };
        let off = position - seg.start();
        if off + bytes.len() as u64 > seg.size() {
            return Err(StoreError::Refused(format!(
                "stamp at {position} crosses a segment end"
            )));
        }
        seg.rewrite_published(off, bytes)?;
        let end = position + bytes.len() as u64;
        lock(&self.inner.dirty).add_log(position, end);
        Ok(())
    }

    /// Deletes every record after `keep` (all of them when `None`). Only uncommitted records
    /// may go: truncating at or below the saved committed index is refused. The cut bytes are
    /// zeroed, and the zeroing is flushed with the next appends, so no later recovery can
    /// bring the old tail back.
    pub fn truncate_after(&self, keep: Option<u64>) -> StoreResult<()> {
        let inner = &self.inner;
        let mut w = lock(&inner.writer);
        inner.check_alive()?;
        let Some(last) = w.last else { return Ok(()) };
        if keep.is_some_and(|k| k >= last.index) {
            return Ok(());
        }
        if let Some(c) = lock(&inner.meta).state.committed
            && keep.is_none_or(|k| k < c.index)
        {
            return Err(StoreError::Refused(format!(
                "refusing to truncate after {keep:?}: entries up to {} are committed",
                c.index
            )));
        }
        let Some(first) = inner.view().first else {
            return Ok(());
        };
        let kept = keep.filter(|&k| k >= first);
        let (new_end, new_last) = match kept {
            Some(k) => {
                let e = inner.entry(k)?;
                let point = RecordPoint {
                    index: k,
                    term: e.term,
                    position: e.position,
                };
                (e.position + record::align(u64::from(e.length)), Some(point))
            }
            None => (inner.entry(first)?.position, None),
        };
        inner.lower_checkpoint(new_last)?;
        if new_last.is_none() {
            // The log becomes empty: the base says where it continues, even with no segment.
            let _io = lock(&inner.meta_io);
            let mut meta = lock(&inner.meta);
            meta.state.base = Some(LogBase {
                index: keep.map_or(first, |k| k + 1),
                position: new_end,
            });
            meta.save()?;
        }
        {
            let mut view = inner.view.write().unwrap_or_else(PoisonError::into_inner);
            view.last = new_last.map(|p| LogId {
                term: p.term,
                index: p.index,
            });
            view.end = new_end;
            if new_last.is_none() {
                view.first = None;
            }
        }
        let old_end = w.end;
        inner.cut_segments(new_end)?;
        inner.index.cut_after(keep)?;
        {
            let mut d = lock(&inner.dirty);
            d.add_log(new_end, old_end.max(new_end));
            let from = keep.map_or(first, |k| k + 1);
            d.add_index(from, last.index);
        }
        w.segment = None;
        w.end = new_end;
        w.last = new_last.map(|p| LogId {
            term: p.term,
            index: p.index,
        });
        w.next_index = Some(keep.map_or(first, |k| k + 1));
        Ok(())
    }

    /// Records that everything up to `id` is purged, durably, then deletes the whole segments
    /// (and raft index files) that hold only purged records. Partly purged segments stay.
    pub fn purge_upto(&self, id: LogId) -> StoreResult<()> {
        // The purge point (and the base it may set) is durable below; the records up to it
        // must be too, or a power cut leaves a log that ends before its own purge point.
        self.wait_durable()?;
        let inner = &self.inner;
        let mut w = lock(&inner.writer);
        inner.check_alive()?;
        let new_first = id.index + 1;
        // Where the first kept record starts, or None when every present record goes.
        let first_kept = match w.last {
            Some(last) if new_first <= last.index => Some(inner.entry(new_first)?.position),
            _ => None,
        };
        {
            let _io = lock(&inner.meta_io);
            let mut meta = lock(&inner.meta);
            if meta.state.purged.is_some_and(|p| p.index >= id.index) {
                return Ok(());
            }
            meta.state.purged = Some(id);
            if first_kept.is_none() {
                // Nothing left to say where the log continues: the base does, so positions
                // continue where they were even if no segment remains.
                meta.state.base = Some(LogBase {
                    index: new_first,
                    position: w.end,
                });
            }
            meta.save()?;
        }
        w.segment = None;
        let keep_from = match first_kept {
            Some(position) => {
                inner
                    .view
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .first = Some(new_first);
                position
            }
            None => {
                let mut view = inner.view.write().unwrap_or_else(PoisonError::into_inner);
                view.first = None;
                view.last = None;
                w.last = None;
                w.next_index = Some(new_first);
                w.end
            }
        };
        inner
            .segments
            .remove_before(inner.segments.segment_start(keep_from))?;
        inner.index.purge_upto(id.index)?;
        Ok(())
    }

    /// Drops the whole log and restarts it at `base` (a follower installing a snapshot): the
    /// next record must carry `base.index` and lands at `base.position`.
    pub fn reset(&self, base: LogBase) -> StoreResult<()> {
        let inner = &self.inner;
        let mut w = lock(&inner.writer);
        inner.check_alive()?;
        if !base.position.is_multiple_of(record::ALIGN) {
            return Err(StoreError::Refused(format!(
                "base position {} is not {}-byte aligned",
                base.position,
                record::ALIGN
            )));
        }
        inner.lower_checkpoint(None)?;
        {
            let _io = lock(&inner.meta_io);
            let mut meta = lock(&inner.meta);
            meta.state.base = Some(base);
            meta.save()?;
        }
        *inner.view.write().unwrap_or_else(PoisonError::into_inner) = LogView {
            first: None,
            last: None,
            end: base.position,
        };
        inner.segments.remove_from(0)?;
        inner.index.clear()?;
        // The old segments must not come back after a power cut: recovery would read them as
        // the log instead of starting at the base.
        inner.segments.sync_dir()?;
        inner.index.sync_dir()?;
        {
            let mut d = lock(&inner.dirty);
            d.log = None;
            d.index = None;
        }
        w.segment = None;
        w.end = base.position;
        w.last = None;
        w.next_index = Some(base.index);
        Ok(())
    }

    /// What readers may see now.
    pub fn view(&self) -> LogView {
        self.inner.view()
    }

    /// The purge point and the last log id, as a Raft log store reports them.
    pub fn log_state(&self) -> LogState {
        let purged = lock(&self.inner.meta).state.purged;
        LogState {
            last_purged: purged,
            last: self.view().last.or(purged),
        }
    }

    /// Saves the vote durably before returning.
    pub fn save_vote(&self, vote: Vote) -> StoreResult<()> {
        self.inner.check_alive()?;
        let _io = lock(&self.inner.meta_io);
        let mut meta = lock(&self.inner.meta);
        meta.state.vote = Some(vote);
        meta.save()
    }

    /// The last saved vote.
    pub fn vote(&self) -> Option<Vote> {
        lock(&self.inner.meta).state.vote
    }

    /// Records the committed log id; persisted lazily by the flush thread (and at close).
    pub fn save_committed(&self, id: Option<LogId>) {
        let mut meta = lock(&self.inner.meta);
        if meta.state.committed != id {
            meta.state.committed = id;
            meta.dirty = true;
        }
    }

    /// The last recorded committed log id.
    pub fn committed(&self) -> Option<LogId> {
        lock(&self.inner.meta).state.committed
    }

    /// The last record whose bytes the flush thread has made durable (or recovery found).
    pub fn flushed(&self) -> Option<LogId> {
        lock(&self.inner.meta).flushed
    }

    /// The node meta as of now.
    pub fn meta(&self) -> NodeMeta {
        lock(&self.inner.meta).state
    }

    /// Calls `callback` once every byte appended before this call is durable (group commit:
    /// one msync serves every waiter registered meanwhile).
    pub fn on_durable(&self, callback: FlushCallback) {
        self.flusher.enqueue(callback);
    }

    /// Blocks until every byte appended so far is durable, with the raft index and the
    /// committed id recorded so far (the flush thread syncs those two lazily, at most once per
    /// checkpoint interval).
    pub fn flush(&self) -> StoreResult<()> {
        self.inner
            .index_sync_requested
            .store(true, std::sync::atomic::Ordering::Release);
        self.wait_durable()?;
        self.inner.save_meta_lazily(true)
    }

    /// Blocks until every record appended so far is on disk (one group commit; the raft
    /// index is left to its lazy sync). Anything persisted that vouches for records (an
    /// applied point, a purge point) waits for this first.
    pub fn wait_durable(&self) -> StoreResult<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.on_durable(Box::new(move |r| {
            let _ = tx.send(r);
        }));
        match rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Stopped(e.to_string())),
            Err(_) => Err(StoreError::Stopped("flush thread gone".into())),
        }
    }

    /// The checkpoint as of now (what the next checkpoint write would contain).
    pub fn checkpoint(&self) -> Checkpoint {
        lock(&self.inner.checkpoint).current
    }

    /// Writes the checkpoint file now if it changed since the last write.
    pub fn write_checkpoint(&self) -> StoreResult<()> {
        self.inner.save_checkpoint(true)
    }

    /// Records that derived data (consume queues, key index) is durable up to `point`.
    pub fn set_applied(&self, point: RecordPoint) {
        lock(&self.inner.checkpoint).current.applied = Some(point);
    }

    /// The directory holding the segments.
    pub fn segments_dir(&self) -> &Path {
        &self.inner.opts.dir
    }

    /// Segment size in bytes.
    pub fn segment_size(&self) -> u64 {
        self.inner.opts.segment_size
    }

    /// The commitlog segments, oldest first: (start offset, file path).
    pub fn segments(&self) -> Vec<(u64, PathBuf)> {
        self.inner
            .segments
            .snapshot()
            .iter()
            .map(|s| (s.start(), s.path().to_path_buf()))
            .collect()
    }

    /// The header of the record at the start of the segment starting at `start` (every segment
    /// but a reset one starts with a record).
    pub fn first_record_in_segment(&self, start: u64) -> Option<RecordHeader> {
        let seg = self.inner.segments.find(start)?;
        seg.with_published(0, HEADER_LEN as u64, RecordHeader::decode)?
            .ok()
    }

    /// Flushes everything, writes the checkpoint and meta, and removes the abort file.
    pub fn close(mut self) -> StoreResult<()> {
        self.flusher.stop(true);
        let inner = &self.inner;
        if let Some(reason) = inner.failed.get() {
            return Err(StoreError::Stopped(reason.clone()));
        }
        inner
            .index_sync_requested
            .store(true, std::sync::atomic::Ordering::Release);
        inner
            .flush_dirty()
            .map_err(|e| StoreError::Stopped(e.to_string()))?;
        inner.save_checkpoint(true)?;
        {
            let _io = lock(&inner.meta_io);
            lock(&inner.meta).save()?;
        }
        fs::remove_file(&inner.opts.abort_path)
            .map_err(|e| StoreError::io(&inner.opts.abort_path, e))
    }
}

mod format;
mod inner;
#[cfg(test)]
mod tests;
