//! The commitlog's internals on the write side: placing and copying records, publishing them
//! to readers, cutting the tail, keeping the checkpoint below a truncation, and the flush
//! thread's work (`FlushTarget`). Everything here runs under the writer mutex or on the flush
//! thread; the public API in the parent module only sequences these steps.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use super::super::checkpoint::{Checkpoint, RecordPoint};
use super::super::error::{StoreError, StoreResult};
use super::super::flush::FlushTarget;
use super::super::meta::LogId;
use super::super::raft_index::IndexEntry;
use super::super::record::{self, HEADER_LEN, Record, RecordHeader};
use super::{Appended, Inner, LogView, PREFAULT_AHEAD, Writer, lock};
use bytes::Bytes;

impl Inner {
    pub(super) fn view(&self) -> LogView {
        *self.view.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn check_alive(&self) -> StoreResult<()> {
        match self.failed.get() {
            Some(reason) => Err(StoreError::Stopped(reason.clone())),
            None => Ok(()),
        }
    }

    pub(super) fn fail(&self, err: &StoreError) {
        if self.failed.set(err.to_string()).is_ok() {
            tracing::error!(%err, "commitlog stopped: no more writes until the node restarts");
        }
    }

    pub(super) fn check_next(&self, w: &Writer, index: u64, term: u64) -> StoreResult<()> {
        if let Some(expected) = w.next_index
            && index != expected
        {
            return Err(StoreError::NotContiguous {
                got: index,
                reason: format!("the next index is {expected}"),
            });
        }
        if let Some(last) = w.last
            && term < last.term
        {
            return Err(StoreError::NotContiguous {
                got: index,
                reason: format!("term {term} is below the last term {}", last.term),
            });
        }
        Ok(())
    }

    pub(super) fn check_fits(&self, aligned_len: u64) -> StoreResult<()> {
        if aligned_len > self.opts.segment_size {
            return Err(StoreError::RecordTooLarge {
                len: aligned_len,
                segment_size: self.opts.segment_size,
            });
        }
        Ok(())
    }

    /// Writes one record (`parts`: header, body, alignment padding) at `header.position`,
    /// padding the current segment first if the record starts the next one.
    pub(super) fn write_record(
        &self,
        w: &mut Writer,
        header: &RecordHeader,
        parts: &[&[u8]],
    ) -> StoreResult<Appended> {
        let seg_size = self.opts.segment_size;
        let aligned = header.aligned_len();
        let r = (|| {
            // The segment the record goes into exists before anything is written: a creation
            // that fails (a full disk) leaves the log exactly as it was, and the append can
            // be retried.
            let seg = match &w.segment {
                Some(seg) if seg.start() <= header.position && header.position < seg.end() => {
                    seg.clone()
                }
                _ => self.segments.find_or_create(header.position)?,
            };
            // The rest of the current segment is padded. After a reset whose base lies near
            // a segment end there is no current segment: nothing to pad, recovery starts at
            // the next one.
            if header.position != w.end
                && !w.end.is_multiple_of(seg_size)
                && let Some(current) = self.segments.find(w.end)
            {
                let off = w.end - current.start();
                current.write(off, &record::pad_marker(off, seg_size))?;
                current.publish(seg_size);
            }
            w.segment = Some(seg.clone());
            let off = header.position - seg.start();
            seg.write_parts(off, parts)?;
            w.index_batch.push(IndexEntry {
                position: header.position,
                term: header.term,
                length: header.length,
            });
            seg.publish(off + aligned);
            Ok(())
        })();
        if let Err(e) = r {
            if matches!(e, StoreError::Io { .. }) && !e.is_resource_exhausted() {
                self.fail(&e);
            }
            return Err(e);
        }
        w.end = header.position + aligned;
        w.last = Some(LogId {
            term: header.term,
            index: header.index,
        });
        w.next_index = Some(header.index + 1);
        Ok(Appended {
            index: header.index,
            position: header.position,
            length: header.length,
        })
    }

    /// Writes the batch's raft index entries, then publishes the writer's state to readers and
    /// marks what the batch wrote for the flush thread (`start_end`: where the log ended before
    /// the batch). A failure to write the index stops the store.
    pub(super) fn publish(
        &self,
        w: &mut Writer,
        start_end: u64,
        appended: &[Appended],
    ) -> StoreResult<()> {
        let (Some(first), Some(last)) = (appended.first(), appended.last()) else {
            w.index_batch.clear();
            return Ok(());
        };
        let indexed = self.index.put_run(first.index, &w.index_batch);
        w.index_batch.clear();
        if let Err(e) = indexed {
            self.fail(&e);
            return Err(e);
        }
        {
            let mut d = lock(&self.dirty);
            d.add_log(start_end, w.end);
            d.add_index(first.index, last.index);
            if let Some(l) = w.last {
                d.durable = Some(RecordPoint {
                    index: l.index,
                    term: l.term,
                    position: last.position,
                });
            }
        }
        let mut view = self.view.write().unwrap_or_else(PoisonError::into_inner);
        view.last = w.last;
        view.end = w.end;
        if view.first.is_none() {
            view.first = Some(first.index);
        }
        Ok(())
    }

    pub(super) fn entry(&self, index: u64) -> StoreResult<IndexEntry> {
        self.index.get(index)?.ok_or_else(|| {
            StoreError::corrupt(
                self.index.dir(),
                index.saturating_mul(super::super::raft_index::ENTRY_LEN),
                format!("raft index entry {index} is missing inside the log"),
            )
        })
    }

    /// The index of the record that starts at `position`, if the record header there says so
    /// and the raft index agrees (a quick probe; `None` means "look it up").
    pub(super) fn index_of_position(&self, position: u64, first: u64, last: u64) -> Option<u64> {
        let seg = self.segments.find(position)?;
        let header = seg
            .with_published(
                position - seg.start(),
                HEADER_LEN as u64,
                RecordHeader::decode,
            )?
            .ok()?;
        let agrees = (first..=last).contains(&header.index)
            && header.position == position
            && self
                .index
                .probe(header.index)
                .is_some_and(|e| e.position == position);
        agrees.then_some(header.index)
    }

    pub(super) fn read_record(&self, index: u64) -> StoreResult<Option<Record>> {
        let Some(e) = self.index.get(index)? else {
            return Ok(None);
        };
        let Some(seg) = self.segments.find(e.position) else {
            return Ok(None);
        };
        let off = e.position - seg.start();
        let Some(bytes) = seg.with_published(off, u64::from(e.length), Bytes::copy_from_slice)
        else {
            return Ok(None);
        };
        let header = record::verify(&bytes).map_err(|r| StoreError::corrupt(seg.path(), off, r))?;
        if header.index != index || header.position != e.position || header.term != e.term {
            return Err(StoreError::corrupt(
                seg.path(),
                off,
                format!(
                    "record here is index {} term {}, the raft index expected {index} term {}",
                    header.index, header.term, e.term
                ),
            ));
        }
        Ok(Some(Record::new(header, bytes)))
    }

    /// Hides and zeroes everything from `new_end` on, deleting segments past it.
    pub(super) fn cut_segments(&self, new_end: u64) -> StoreResult<()> {
        let seg_size = self.opts.segment_size;
        let boundary = new_end.is_multiple_of(seg_size);
        let first_removed = if boundary {
            new_end
        } else {
            self.segments.segment_start(new_end) + seg_size
        };
        self.segments.remove_from(first_removed)?;
        if !boundary && let Some(seg) = self.segments.find(new_end) {
            let off = new_end - seg.start();
            let old = seg.published();
            if old > off {
                seg.unpublish(off);
                seg.zero(off, old - off)?;
            }
        }
        Ok(())
    }

    /// Moves the checkpoint's durable point down to `to` (if it is above) and saves it now:
    /// called before a truncation or reset rewrites bytes the checkpoint vouches for.
    pub(super) fn lower_checkpoint(&self, to: Option<RecordPoint>) -> StoreResult<()> {
        {
            let mut d = lock(&self.dirty);
            d.epoch += 1;
            if d.durable
                .is_some_and(|p| to.is_none_or(|t| p.index > t.index))
            {
                d.durable = to;
            }
            // Under `dirty`, so a flush that started before cannot raise it again.
            let mut meta = lock(&self.meta);
            if meta
                .flushed
                .is_some_and(|f| to.is_none_or(|t| f.index > t.index))
            {
                meta.flushed = to.map(RecordPoint::log_id);
            }
        }
        // A lowered checkpoint is written before any data goes, after a write in progress.
        let _io = lock(&self.checkpoint_io);
        let mut cp = lock(&self.checkpoint);
        let above = |c: &Checkpoint| {
            c.durable
                .is_some_and(|p| to.is_none_or(|t| p.index > t.index))
        };
        if above(&cp.current) || above(&cp.saved) {
            cp.current.durable = to;
            cp.current.save(&self.opts.checkpoint_path)?;
            cp.saved = cp.current;
            cp.saved_at = Instant::now();
        }
        Ok(())
    }

    /// Keeps page faults and segment creation off the append path: pulls the next few MiB
    /// after the write position into the page cache, and creates (and pre-faults the start
    /// of) the next segment once the current one is half full.
    pub(super) fn prepare_ahead(&self) {
        if self.failed.get().is_some() {
            return;
        }
        let end = self.view().end;
        let Some(seg) = self.segments.find(end) else {
            return;
        };
        let off = end - seg.start();
        seg.prefault(off, PREFAULT_AHEAD);
        if off > seg.size() / 2 && self.segments.find(seg.end()).is_none() {
            match self.segments.create_after(&seg) {
                Ok(Some(next)) => next.prefault(0, PREFAULT_AHEAD),
                // The log moved (truncated or reset) since `end` was read: nothing to prepare.
                Ok(None) => {}
                // Not fatal here: the writer meets the same error and waits for space. Said at
                // most once a minute, not after every flush.
                Err(e) => {
                    let mut said = lock(&self.prepare_warned_at);
                    if said.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
                        *said = Some(Instant::now());
                        tracing::warn!(%e, "could not prepare the next segment");
                    }
                }
            }
        }
    }

    /// Writes the checkpoint if it changed (and, unless `force`, the last write is a
    /// checkpoint interval old). The write happens outside the checkpoint lock, so appliers and
    /// the flush path never wait for its fsync; `checkpoint_io` keeps writes in order.
    pub(super) fn save_checkpoint(&self, force: bool) -> StoreResult<()> {
        let _io = lock(&self.checkpoint_io);
        let snapshot = {
            let cp = lock(&self.checkpoint);
            if cp.current == cp.saved
                || (!force && cp.saved_at.elapsed() < self.opts.checkpoint_interval)
            {
                return Ok(());
            }
            cp.current
        };
        snapshot.save(&self.opts.checkpoint_path)?;
        let mut cp = lock(&self.checkpoint);
        cp.saved = snapshot;
        cp.saved_at = Instant::now();
        Ok(())
    }
}

impl Inner {
    /// Writes the lazily kept committed id if it changed: at most once per checkpoint
    /// interval unless `force`, and without holding the meta lock during the write (see
    /// `meta_io`).
    pub(super) fn save_meta_lazily(&self, force: bool) -> StoreResult<()> {
        let _io = lock(&self.meta_io);
        let min_interval = if force {
            Duration::ZERO
        } else {
            self.opts.checkpoint_interval
        };
        let Some((state, path)) = lock(&self.meta).take_lazy_save(min_interval) else {
            return Ok(());
        };
        state
            .save(&path)
            .inspect_err(|_| lock(&self.meta).lazy_save_failed())
    }
}

impl FlushTarget for Inner {
    fn flush_dirty(&self) -> Result<(), Arc<StoreError>> {
        if let Some(reason) = self.failed.get() {
            return Err(Arc::new(StoreError::Stopped(reason.clone())));
        }
        // The raft index is rebuilt from the segments past the checkpoint on recovery, so an
        // append is durable once its commitlog bytes are; the index is synced at most once per
        // checkpoint interval (or when `flush` asks), and the checkpoint's durable point moves
        // only with it.
        let index_due = self.index_sync_requested.swap(false, Ordering::AcqRel)
            || lock(&self.index_synced_at).elapsed() >= self.opts.checkpoint_interval;
        let (log, index, durable, epoch) = {
            let mut d = lock(&self.dirty);
            let index = if index_due { d.index.take() } else { None };
            (d.log.take(), index, d.durable, d.epoch)
        };
        let result = (|| {
            if let Some((from, to)) = log {
                for seg in self.segments.snapshot() {
                    if seg.end() <= from || seg.start() >= to {
                        continue;
                    }
                    let lo = from.max(seg.start()) - seg.start();
                    let hi = to.min(seg.end()) - seg.start();
                    seg.flush(lo, hi - lo)?;
                }
            }
            if let Some((from, to)) = index {
                self.index.flush(from, to)?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            self.fail(&e);
            return Err(Arc::new(e));
        }
        {
            let d = lock(&self.dirty);
            if d.epoch == epoch {
                lock(&self.meta).flushed = durable.map(RecordPoint::log_id);
            }
        }
        if !index_due {
            return Ok(());
        }
        *lock(&self.index_synced_at) = Instant::now();
        let mut cp = lock(&self.checkpoint);
        if lock(&self.dirty).epoch == epoch {
            cp.current.durable = durable;
        }
        Ok(())
    }

    fn after_flush(&self) {
        self.prepare_ahead();
        if let Err(e) = self.save_checkpoint(false) {
            tracing::warn!(%e, "could not write the checkpoint");
        }
        if let Err(e) = self.save_meta_lazily(false) {
            tracing::warn!(%e, "could not write the node meta");
        }
    }
}
