//! Recovery on open: find where the valid log ends, cut what lies beyond, rebuild the index tail.
//!
//! Starting point: the checkpoint's durable record (verified: a mismatch there is corruption of
//! data that was on disk, reported with path and offset, and the node does not start), else the
//! log base after a reset, else the first segment. From there every record is checked: header,
//! CRC, index continuity, non-decreasing term, and that its stamped position is where it lies.
//! The first record that fails ends the log. Everything after it is zeroed (the rest of that
//! segment, with `FALLOC_FL_ZERO_RANGE` where possible) and later segments are deleted, so a
//! truncated or torn tail can never line up with a later append and come back to life. The raft
//! index is rewritten from the scan start, and rebuilt from scratch when its entry for the
//! starting record does not match the segments.

use super::checkpoint::Checkpoint;
use super::error::{StoreError, StoreResult};
use super::meta::{LogId, NodeMeta};
use super::raft_index::{IndexEntry, RaftIndex};
use super::record::{self, HEADER_LEN, RecordHeader};
use super::segment_list::SegmentList;

/// What recovery found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Recovered {
    /// Position where the next record goes.
    pub(crate) end: u64,
    /// Last valid record.
    pub(crate) last: Option<LogId>,
    /// First present (not purged) index, if any record is present.
    pub(crate) first: Option<u64>,
    /// Index the next append must carry, when known.
    pub(crate) next_index: Option<u64>,
    /// Bytes verified by the scan.
    pub(crate) scanned: u64,
}

/// Where the scan starts and what it expects there.
struct Start {
    position: u64,
    expect_index: Option<u64>,
    rebuild_index: bool,
}

/// Recovers the commitlog in `segments` and its raft `index`. `unclean` (the abort file was
/// present) makes the cut zero the rest of the last segment even when it already looks empty.
pub(crate) fn recover(
    segments: &SegmentList,
    index: &RaftIndex,
    meta: &NodeMeta,
    checkpoint: &Checkpoint,
    unclean: bool,
) -> StoreResult<Recovered> {
    // Segments wholly below the base are from before a reset whose deletions a crash undid:
    // the log restarts at the base, they hold nothing of it.
    if let Some(b) = meta.base {
        let stale = segments.remove_before(segments.segment_start(b.position))?;
        if stale > 0 {
            tracing::warn!(
                stale,
                base = b.position,
                "removed segments left from before a reset"
            );
            segments.sync_dir()?;
        }
    }
    let (Some(first_seg), Some(last_seg)) = (segments.first(), segments.last()) else {
        return recover_empty(segments, index, meta);
    };
    let start = choose_start(
        segments,
        index,
        meta,
        checkpoint,
        first_seg.start(),
        last_seg.end(),
    )?;
    let seg_size = segments.segment_size();
    let mut scan = Scan {
        pos: start.position,
        expect: start.expect_index,
        last: None,
        stop_reason: None,
        scanned: 0,
        entries: Vec::new(),
        pad: None,
    };
    while let Some(seg) = segments.find(scan.pos) {
        let off = scan.pos - seg.start();
        scan.entries.clear();
        let outcome = seg
            .with_published(off, seg_size - off, |bytes| scan.segment(bytes, seg_size))
            .unwrap_or(SegmentEnd::Stopped);
        if let Some(&(first, _)) = scan.entries.first() {
            let entries: Vec<IndexEntry> = scan.entries.iter().map(|&(_, e)| e).collect();
            index.reconcile(first, &entries)?;
        }
        match outcome {
            SegmentEnd::Continues => scan.pos = seg.end(),
            SegmentEnd::Stopped => break,
        }
    }
    // Entries past the last valid record (a torn tail, or a stale index) go.
    index.cut_after(scan.last.map(|l| l.index))?;
    let Scan {
        pos,
        expect,
        last,
        stop_reason,
        scanned,
        pad,
        ..
    } = scan;
    // A pad marker whose record never reached the disk: the log ends right after the last
    // record, where the marker starts (the next record may fit there; a leader's will be
    // placed as if the marker were not there), and the marker is cut with the tail.
    let pos = pad.unwrap_or(pos);
    // No record after a reset whose base lies in the last bytes of a segment: the first record
    // went to the next segment and was lost. The log continues at the base, where the leader
    // places its next record (which may fit before the boundary), not at that segment.
    let pos = match (last, meta.base) {
        (None, Some(b)) if b.position < pos => b.position,
        _ => pos,
    };
    // The checkpoint's own record must have been found valid again by the scan.
    if let (Some(d), false) = (checkpoint.durable, start.rebuild_index)
        && start.position == d.position
        && last.is_none_or(|l| l.index < d.index)
    {
        let path = segments
            .find(d.position)
            .map_or_else(|| segments.dir().to_path_buf(), |s| s.path().to_path_buf());
        let reason = stop_reason.unwrap_or("not readable");
        return Err(StoreError::corrupt(
            &path,
            d.position % seg_size,
            format!(
                "the checkpointed record {} no longer verifies: {reason}",
                d.index
            ),
        ));
    }

    // A record the node meta already counts as committed is durable (the committed id is
    // never persisted past the flushed log): if it fails, its bytes were damaged after they
    // reached the disk. That is corruption, not a torn tail, and cutting it would drop an
    // acknowledged entry from this replica while it keeps voting as if it had it.
    if let (Some(reason), Some(c)) = (stop_reason, meta.committed)
        && expect.is_some_and(|e| e <= c.index)
    {
        let seg = segments.find(pos);
        let path = seg.map_or_else(|| segments.dir().to_path_buf(), |s| s.path().to_path_buf());
        return Err(StoreError::corrupt(
            &path,
            pos % seg_size,
            format!(
                "record {} fails verification ({reason}) but entries up to {} are committed on \
                 this node: its bytes were damaged on disk. Move this node's store away and \
                 restart it empty; it catches up from the leader",
                expect.unwrap_or_default(),
                c.index
            ),
        ));
    }
    cut_tail(segments, pos, stop_reason, unclean)?;
    index.sync()?;

    let first = first_index(segments, meta, last)?;
    let last = if first.is_some() { last } else { None };
    // Without a record to follow: after the purge point or at the base, whichever is later
    // (a reset after a purge moves the log past its old purge point).
    let next_index = expect.or(meta
        .purged
        .map(|p| p.index + 1)
        .into_iter()
        .chain(meta.base.map(|b| b.index))
        .max());
    if let (Some(c), Some(l)) = (meta.committed, last)
        && c.index > l.index
    {
        tracing::warn!(
            committed = c.index,
            last = l.index,
            "log ends before the committed index"
        );
    }
    Ok(Recovered {
        end: pos,
        last,
        first,
        next_index,
        scanned,
    })
}

fn recover_empty(
    segments: &SegmentList,
    index: &RaftIndex,
    meta: &NodeMeta,
) -> StoreResult<Recovered> {
    index.clear()?;
    if meta.purged.is_some() && meta.base.is_none() {
        return Err(StoreError::BadSegment {
            path: segments.dir().to_path_buf(),
            reason: "the commitlog directory is empty but the node meta says entries were purged: \
                     the segments were deleted by hand"
                .into(),
        });
    }
    let end = meta.base.map_or(0, |b| b.position);
    let next_index = meta.base.map(|b| b.index);
    Ok(Recovered {
        end,
        last: None,
        first: None,
        next_index,
        scanned: 0,
    })
}

fn choose_start(
    segments: &SegmentList,
    index: &RaftIndex,
    meta: &NodeMeta,
    checkpoint: &Checkpoint,
    first_start: u64,
    last_end: u64,
) -> StoreResult<Start> {
    if let Some(d) = checkpoint
        .durable
        .filter(|d| (first_start..last_end).contains(&d.position))
    {
        let seg = segments
            .find(d.position)
            .ok_or_else(|| StoreError::Refused("checkpoint segment vanished".into()))?;
        let off = d.position - seg.start();
        let header = seg
            .with_published(
                off,
                (seg.size() - off).min(HEADER_LEN as u64),
                RecordHeader::decode,
            )
            .unwrap_or(Err("not readable"));
        let matches = matches!(header, Ok(h) if h.index == d.index && h.term == d.term && h.position == d.position);
        if !matches {
            return Err(StoreError::corrupt(
                seg.path(),
                off,
                format!(
                    "the checkpoint says record {} (term {}) is durable here, but the bytes disagree",
                    d.index, d.term
                ),
            ));
        }
        let indexed = index
            .probe(d.index)
            .is_some_and(|e| e.position == d.position && e.term == d.term);
        if !indexed {
            tracing::warn!(dir = %index.dir().display(), "raft index does not match the commitlog; rebuilding it");
            return Ok(rebuild_start(meta, first_start, last_end));
        }
        return Ok(Start {
            position: d.position,
            expect_index: Some(d.index),
            rebuild_index: false,
        });
    }
    Ok(rebuild_start(meta, first_start, last_end))
}

/// Where a scan that rebuilds the raft index starts: at the log base when a reset (snapshot
/// install) left one inside the segments (the bytes before it in its segment are not records),
/// else at the first segment's start, which a purge always leaves on a record boundary.
fn rebuild_start(meta: &NodeMeta, first_start: u64, last_end: u64) -> Start {
    match meta
        .base
        .filter(|b| (first_start..last_end).contains(&b.position))
    {
        Some(b) => Start {
            position: b.position,
            expect_index: Some(b.index),
            rebuild_index: true,
        },
        None => Start {
            position: first_start,
            expect_index: None,
            rebuild_index: true,
        },
    }
}

/// Progress of the recovery scan.
struct Scan {
    /// Absolute position of the next record.
    pos: u64,
    /// Raft index the next record must carry, when known.
    expect: Option<u64>,
    last: Option<LogId>,
    stop_reason: Option<&'static str>,
    scanned: u64,
    /// (index, entry) of each valid record found in the current segment.
    entries: Vec<(u64, IndexEntry)>,
    /// Where the last pad marker starts, while no record has been found after it.
    pad: Option<u64>,
}

/// How the scan of one segment ended.
enum SegmentEnd {
    /// The segment is used up (pad marker or exact fit): go on with the next one.
    Continues,
    /// The log ends in this segment.
    Stopped,
}

impl Scan {
    /// Walks the records of one segment; `bytes` runs from `self.pos` to the segment end.
    fn segment(&mut self, bytes: &[u8], seg_size: u64) -> SegmentEnd {
        let base = self.pos;
        let seg_off = base % seg_size;
        let mut at = 0usize;
        loop {
            let rest = &bytes[at..];
            if rest.is_empty() {
                return SegmentEnd::Continues;
            }
            if rest.len() >= 8 && rest[..8].iter().all(|&b| b == 0) {
                return SegmentEnd::Stopped;
            }
            if record::is_pad_marker(rest, seg_off + at as u64, seg_size) {
                self.pad = Some(base + at as u64);
                return SegmentEnd::Continues;
            }
            let header = match RecordHeader::decode(rest) {
                Ok(h) => h,
                Err(reason) => return self.stop(reason),
            };
            let aligned = header.aligned_len() as usize;
            if aligned > rest.len() {
                return self.stop("record runs past the segment end");
            }
            if let Err(reason) = record::verify(&rest[..header.length as usize]) {
                return self.stop(reason);
            }
            if let Err(reason) = continues(&header, self.pos, self.expect, self.last) {
                return self.stop(reason);
            }
            self.entries.push((
                header.index,
                IndexEntry {
                    position: self.pos,
                    term: header.term,
                    length: header.length,
                },
            ));
            self.scanned += aligned as u64;
            self.pad = None;
            self.last = Some(LogId {
                term: header.term,
                index: header.index,
            });
            self.expect = Some(header.index + 1);
            self.pos += aligned as u64;
            at += aligned;
        }
    }

    fn stop(&mut self, reason: &'static str) -> SegmentEnd {
        self.stop_reason = Some(reason);
        SegmentEnd::Stopped
    }
}

/// Whether `h`, found at `pos`, continues a log whose previous record is `last`.
fn continues(
    h: &RecordHeader,
    pos: u64,
    expect: Option<u64>,
    last: Option<LogId>,
) -> Result<(), &'static str> {
    if h.position != pos {
        return Err("stamped position differs from where the record lies");
    }
    if expect.is_some_and(|e| e != h.index) {
        return Err("raft index does not follow the previous record");
    }
    if last.is_some_and(|l| h.term < l.term) {
        return Err("term goes backwards");
    }
    Ok(())
}

/// Ends the log at `end`: zeroes what follows in its segment (when it holds anything) and
/// deletes later segments.
fn cut_tail(
    segments: &SegmentList,
    end: u64,
    stop_reason: Option<&'static str>,
    unclean: bool,
) -> StoreResult<()> {
    let seg_size = segments.segment_size();
    let boundary = end.is_multiple_of(seg_size);
    let first_removed = if boundary {
        end
    } else {
        segments.segment_start(end) + seg_size
    };
    let removed_any = segments
        .snapshot()
        .iter()
        .any(|s| s.start() >= first_removed);
    segments.remove_from(first_removed)?;
    if boundary {
        if removed_any {
            tracing::warn!(at = end, "removed segments past the end of the log");
        }
        return Ok(());
    }
    let Some(seg) = segments.find(end) else {
        return Ok(());
    };
    let off = end - seg.start();
    if let Some(reason) = stop_reason {
        tracing::warn!(path = %seg.path().display(), offset = off, reason, "cutting the commitlog tail");
    }
    let looks_empty = seg
        .with_published(off, 8, |b| b.iter().all(|&x| x == 0))
        .unwrap_or(true);
    seg.unpublish(off);
    if stop_reason.is_some() || unclean || !looks_empty {
        seg.zero(off, seg_size - off)?;
        seg.sync()?;
    }
    Ok(())
}

/// First present index: just past the purge point, the base after a reset, or the first record.
fn first_index(
    segments: &SegmentList,
    meta: &NodeMeta,
    last: Option<LogId>,
) -> StoreResult<Option<u64>> {
    let Some(last) = last else { return Ok(None) };
    let floor = meta
        .purged
        .map(|p| p.index + 1)
        .into_iter()
        .chain(meta.base.map(|b| b.index))
        .max();
    let first = match floor {
        Some(f) => f,
        None => {
            let Some(seg) = segments.first() else {
                return Ok(None);
            };
            seg.with_published(0, HEADER_LEN as u64, RecordHeader::decode)
                .and_then(Result::ok)
                .map_or(last.index, |h| h.index)
        }
    };
    Ok((first <= last.index).then_some(first))
}
