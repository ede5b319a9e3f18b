//! `MessageStore`: the commitlog together with what is derived from it, kept consistent.
//!
//! It owns the [`CommitLog`], the [`ConsumeQueueStore`] and the [`KeyIndex`], and the one rule
//! tying them together: derived data reflects exactly the records applied so far, in order.
//!
//! * [`MessageStore::dispatch`] applies one committed record: each message gets the next queue
//!   offset of its queue (assigned here, at apply, so every replica assigns the same), the
//!   offset is stamped into the stored message, a consume-queue unit is appended, and its KEYS
//!   and UNIQ_KEY are indexed. The raft state machine calls it in commit order.
//! * [`MessageStore::checkpoint_derived`] flushes consume queues and key index, then records the
//!   applied point in the checkpoint: the checkpoint never vouches for derived data that is not
//!   on disk.
//! * On open, derived data past the checkpoint's applied record is cut, and the committed
//!   records after it (as far as the node meta knows them) are dispatched again, so consume
//!   queues and key index come back exactly as they were.
//! * Retention purges whole commitlog segments and trims the derived data below them.
//!
//! It never decides what is committed: callers (the raft layer, or tests) only dispatch
//! committed records, and keep consumers below [`MessageStore::applied`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;

use super::checkpoint::RecordPoint;
use super::commitlog::{CommitLog, CommitLogOptions};
use super::consume_queue::{ConsumeQueueStore, CqUnit};
use super::error::{StoreError, StoreResult};
use super::key_index::KeyIndex;
use super::record::{self, Record};
use super::retention::{self, PurgePlan, RetentionCheck, RetentionPolicy};
use crate::config::BrokerConfig;
use crate::message::transaction::settled_half_offset;
use crate::message::{
    QUEUE_OFFSET_POS, ScheduleSource, StoredMessage, decode_message, message_keys, property,
    tags_code, walk_messages,
};

/// Records read per batch when replaying committed records on open.
const REPLAY_BATCH_BYTES: u64 = 4 << 20;

/// Where the store keeps everything and how it sizes it.
#[derive(Debug, Clone)]
pub struct MessageStoreOptions {
    pub commitlog: CommitLogOptions,
    /// `storePathConsumeQueue`.
    pub consume_queue_dir: PathBuf,
    /// Units (20 bytes each) per consume-queue file.
    pub consume_queue_units_per_file: u64,
    /// `storePathIndex`.
    pub key_index_dir: PathBuf,
    /// Hash slots per key-index file.
    pub key_index_slots: u32,
    /// Entries per key-index file.
    pub key_index_entries: u32,
    pub retention: RetentionPolicy,
}

impl MessageStoreOptions {
    /// The layout and sizes a broker config asks for: RocketMQ's paths and file sizes, plus
    /// `raftindex/` and `raft-meta` beside them under `storePathRootDir`.
    pub fn from_config(cfg: &BrokerConfig) -> MessageStoreOptions {
        let root = &cfg.store_path_root_dir;
        let commitlog = CommitLogOptions {
            dir: cfg.store_path_commit_log.clone(),
            index_dir: root.join("raftindex"),
            meta_path: root.join("raft-meta"),
            checkpoint_path: cfg.store_checkpoint.clone(),
            abort_path: cfg.abort_file.clone(),
            segment_size: cfg.mapped_file_size_commit_log,
            flush_interval: std::time::Duration::from_millis(cfg.flush_interval_commit_log_ms),
            ..CommitLogOptions::in_dir(root, cfg.mapped_file_size_commit_log)
        };
        MessageStoreOptions {
            commitlog,
            consume_queue_dir: cfg.store_path_consume_queue.clone(),
            consume_queue_units_per_file: (cfg.mapped_file_size_consume_queue / 20).max(1),
            key_index_dir: cfg.store_path_index.clone(),
            key_index_slots: cfg.max_hash_slot_num,
            key_index_entries: cfg.max_index_num,
            retention: RetentionPolicy {
                file_reserved: std::time::Duration::from_secs(cfg.file_reserved_time_hours * 3600),
                delete_hours: cfg.delete_when.clone(),
                disk_max_used_ratio: f64::from(cfg.disk_max_used_space_ratio) / 100.0,
                disk_force_clean_ratio: f64::from(cfg.disk_space_clean_forcibly_ratio) / 100.0,
            },
        }
    }

    /// Everything under `root`, small files (for tests and tools).
    pub fn in_dir(root: &Path, segment_size: u64) -> MessageStoreOptions {
        MessageStoreOptions {
            commitlog: CommitLogOptions::in_dir(root, segment_size),
            consume_queue_dir: root.join("consumequeue"),
            consume_queue_units_per_file: 1024,
            key_index_dir: root.join("index"),
            key_index_slots: 1024,
            key_index_entries: 4096,
            retention: RetentionPolicy::default(),
        }
    }
}

/// One message as [`MessageStore::dispatch`] placed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchedMessage {
    pub topic: String,
    pub queue_id: u32,
    pub queue_offset: u64,
    pub physical_offset: u64,
    pub size: u32,
    /// For a delivered delayed message: the schedule-queue entry it came from.
    pub schedule_source: Option<ScheduleSource>,
    /// For a transaction's op message: the half-queue offset it settles.
    pub settles_half: Option<u64>,
}

/// Decodes a stored message for dispatch, or says why it cannot be placed: a content error,
/// the same on every replica.
fn decode_for_dispatch(bytes: &[u8], physical_offset: u64) -> Result<(StoredMessage, u32), String> {
    let (stored, _) =
        decode_message(bytes).map_err(|e| format!("message at {physical_offset}: {e}"))?;
    let queue_id = u32::try_from(stored.message.queue_id).map_err(|_| {
        format!(
            "message at {physical_offset}: queue id {}",
            stored.message.queue_id
        )
    })?;
    Ok((stored, queue_id))
}

/// The commitlog plus consume queues and key index. See the module docs.
#[derive(Debug)]
pub struct MessageStore {
    log: CommitLog,
    queues: ConsumeQueueStore,
    keys: KeyIndex,
    retention: RetentionPolicy,
    /// Last dispatched record.
    applied: Mutex<Option<RecordPoint>>,
    /// Why writes are waiting for a resource (a full disk), while they are.
    blocked: Mutex<Option<String>>,
    /// Told which queues a dispatch added messages to (the broker wakes held pulls).
    arrivals: Mutex<Option<Arc<dyn ArrivalListener>>>,
}

/// Something that wants to know when messages land in a consume queue: called after a
/// dispatch placed them, once per queue, so a reader of that queue finds them. It must not
/// block or call back into the store.
pub trait ArrivalListener: Send + Sync + std::fmt::Debug {
    fn arrived(&self, topic: &str, queue_id: u32);
}

impl MessageStore {
    /// Opens the store, recovers the commitlog, cuts derived data back to the checkpoint and
    /// replays the committed records after it.
    pub fn open(opts: MessageStoreOptions) -> StoreResult<MessageStore> {
        let log = CommitLog::open(opts.commitlog)?;
        let queues =
            ConsumeQueueStore::open(&opts.consume_queue_dir, opts.consume_queue_units_per_file)?;
        let keys = KeyIndex::open(
            &opts.key_index_dir,
            opts.key_index_slots,
            opts.key_index_entries,
        )?;
        let view = log.view();
        // The index the log continues with: an applied point below it is valid, also when
        // retention emptied the log (the derived data then reaches the base position).
        let meta = log.meta();
        let next = match view.last {
            Some(l) => Some(l.index + 1),
            None => meta
                .purged
                .map(|p| p.index + 1)
                .into_iter()
                .chain(meta.base.map(|b| b.index))
                .max(),
        };
        let applied = log
            .checkpoint()
            .applied
            .filter(|a| next.is_some_and(|n| a.index < n));
        let cut_at = match applied {
            Some(a) => match log.get(a.index)? {
                Some(r) => r.position() + record::align(r.as_bytes().len() as u64),
                // Purged since: everything derived from the retained log is redone.
                None => view.first.map_or(view.end, |f| {
                    log.get(f).ok().flatten().map_or(view.end, |r| r.position())
                }),
            },
            None => 0,
        };
        queues.truncate_from_commitlog_offset(cut_at)?;
        keys.truncate_from(cut_at)?;
        let store = MessageStore {
            log,
            queues,
            keys,
            retention: opts.retention,
            applied: Mutex::new(applied),
            blocked: Mutex::new(None),
            arrivals: Mutex::new(None),
        };
        // Queue minimums are not stored: move them past what retention already purged.
        if let Some(first) = store.log.segments().first() {
            store.trim_derived(first.0)?;
        }
        store.replay_committed()?;
        Ok(store)
    }

    /// Dispatches the committed records after the applied one, up to the committed id the
    /// node meta holds.
    fn replay_committed(&self) -> StoreResult<()> {
        match self.log.committed() {
            Some(committed) => self.replay_up_to(committed.index),
            None => Ok(()),
        }
    }

    /// Dispatches the records after the applied one up to `index`, which the caller knows to be
    /// committed (the state machine's own applied index, after a restart).
    pub fn replay_up_to(&self, index: u64) -> StoreResult<()> {
        let mut next = self.applied().map_or(0, |a| a.index + 1);
        let mut replayed = 0u64;
        while next <= index {
            let batch = self.log.read(next, index + 1, REPLAY_BATCH_BYTES)?;
            let Some(last) = batch.last().map(Record::index) else {
                break;
            };
            for r in &batch {
                self.dispatch(r)?;
            }
            replayed += batch.len() as u64;
            next = last + 1;
        }
        if replayed > 0 {
            tracing::info!(
                replayed,
                "rebuilt consume queues and key index from the commitlog"
            );
        }
        Ok(())
    }

    /// Applies one committed record (see the module docs). Records must come in log order;
    /// one already applied is skipped. Admin, offsets, blank and membership records carry no
    /// messages and only advance the applied point here.
    pub fn dispatch(&self, record: &Record) -> StoreResult<Vec<DispatchedMessage>> {
        let mut applied = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        if applied.is_some_and(|a| record.index() <= a.index) {
            return Ok(Self::already_dispatched(record));
        }
        let mut out = Vec::new();
        if record.kind().carries_messages() {
            let body = record.body();
            for span in walk_messages(&body) {
                let (at, len) = span.map_err(|e| {
                    StoreError::InvalidRecord(format!("record {}: {e}", record.index()))
                })?;
                let position = record.body_position() + at as u64;
                match decode_for_dispatch(&body[at..at + len], position) {
                    Ok((stored, queue_id)) => {
                        out.push(self.place_message(&stored, queue_id, position)?);
                    }
                    // A committed record is final on every replica; a message in it that does
                    // not decode is skipped the same way everywhere. Anything local (a file
                    // that cannot be created or written) fails the dispatch instead: a node
                    // never skips what the others store.
                    Err(e) => {
                        tracing::error!(index = record.index(), offset = at, %e, "message not dispatched")
                    }
                }
            }
        }
        *applied = Some(RecordPoint {
            index: record.index(),
            term: record.term(),
            position: record.position(),
        });
        drop(applied);
        self.tell_arrivals(&out);
        Ok(out)
    }

    /// Registers who is told about new messages in a queue (one listener; a later call
    /// replaces it).
    pub fn set_arrival_listener(&self, listener: Arc<dyn ArrivalListener>) {
        *self.arrivals.lock().unwrap_or_else(PoisonError::into_inner) = Some(listener);
    }

    fn tell_arrivals(&self, placed: &[DispatchedMessage]) {
        let Some(listener) = self
            .arrivals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        else {
            return;
        };
        let mut told: Vec<(&str, u32)> = Vec::new();
        for m in placed {
            let queue = (m.topic.as_str(), m.queue_id);
            if !told.contains(&queue) {
                told.push(queue);
                listener.arrived(queue.0, queue.1);
            }
        }
    }

    /// What dispatching `record` placed, read back from its stamped messages: the state
    /// machine re-applies entries its last checkpoint missed, and what it derives from them
    /// (delivered delays) must not depend on whether the derived data had been flushed.
    fn already_dispatched(record: &Record) -> Vec<DispatchedMessage> {
        if !record.kind().carries_messages() {
            return Vec::new();
        }
        let body = record.body();
        walk_messages(&body)
            .filter_map(Result::ok)
            .filter_map(|(at, len)| {
                let (stored, _) = decode_message(&body[at..at + len]).ok()?;
                let msg = stored.message;
                Some(DispatchedMessage {
                    queue_id: u32::try_from(msg.queue_id).ok()?,
                    queue_offset: msg.queue_offset,
                    physical_offset: record.body_position() + at as u64,
                    size: stored.total_size,
                    schedule_source: ScheduleSource::of(&msg.properties),
                    settles_half: settled_half_offset(&msg),
                    topic: msg.topic,
                })
            })
            .collect()
    }

    /// Places one decoded message: the next offset of its queue, stamped into the stored
    /// message, a consume-queue unit, its keys in the key index. Every error here is local to
    /// this node and fails the dispatch (the applied point does not move; a restart redoes
    /// the record from the checkpoint).
    fn place_message(
        &self,
        stored: &StoredMessage,
        queue_id: u32,
        physical_offset: u64,
    ) -> StoreResult<DispatchedMessage> {
        let msg = &stored.message;
        let queue = self.queues.queue(&msg.topic, queue_id)?;
        // Placed already by an attempt that failed later in the same record (a retried
        // apply): the unit is there; only the keys may be missing.
        let max = queue.max_offset();
        let behind = max > queue.min_offset()
            && queue
                .get(max - 1)
                .is_some_and(|last| last.commitlog_offset >= physical_offset);
        let placed = behind
            .then(|| queue.offset_at_commitlog_offset(physical_offset))
            .filter(|&at| {
                queue
                    .get(at)
                    .is_some_and(|u| u.commitlog_offset == physical_offset)
            });
        let queue_offset = placed.unwrap_or(max);
        self.log.stamp(
            physical_offset + QUEUE_OFFSET_POS as u64,
            &queue_offset.to_be_bytes(),
        )?;
        if placed.is_none() {
            queue.put(
                queue_offset,
                CqUnit {
                    commitlog_offset: physical_offset,
                    size: stored.total_size,
                    tags_code: msg.tags().map_or(0, tags_code),
                },
            )?;
        }
        let uniq = msg.properties.get(property::UNIQ_KEY).map(String::as_str);
        for key in message_keys(&msg.properties).chain(uniq) {
            match self
                .keys
                .put(&msg.topic, key, physical_offset, msg.store_timestamp)
            {
                Ok(()) => {}
                Err(e @ (StoreError::Io { .. } | StoreError::DiskFull { .. })) => return Err(e),
                // The key index only answers queries by key; an entry it refuses (out of
                // order after a repair) costs that lookup, not the message.
                Err(e) => tracing::warn!(%e, physical_offset, "key not indexed"),
            }
        }
        Ok(DispatchedMessage {
            topic: msg.topic.clone(),
            queue_id,
            queue_offset,
            physical_offset,
            size: stored.total_size,
            schedule_source: ScheduleSource::of(&msg.properties),
            settles_half: settled_half_offset(msg),
        })
    }

    /// Restarts derived data at a snapshot: each listed queue continues at its offset, and the
    /// applied point becomes `applied`. The commitlog itself is reset by the caller.
    pub fn install_base(
        &self,
        applied: Option<RecordPoint>,
        queues: &[(String, u32, u64)],
    ) -> StoreResult<()> {
        let mut current = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        for (topic, queue_id, next) in queues {
            let queue = self.queues.queue(topic, *queue_id)?;
            if queue.max_offset() != *next {
                queue.reset(*next)?;
            }
        }
        *current = applied;
        Ok(())
    }

    /// Every queue's next offset: what a snapshot records.
    pub fn queue_offsets(&self) -> Vec<(String, u32, u64)> {
        self.queues
            .queues()
            .iter()
            .map(|q| (q.topic().to_string(), q.queue_id(), q.max_offset()))
            .collect()
    }

    /// Every queue's next offset as of commitlog position `position` (the end of an applied
    /// record): what a snapshot taken at that record records.
    pub fn queue_offsets_at(&self, position: u64) -> Vec<(String, u32, u64)> {
        self.queues
            .queues()
            .iter()
            .map(|q| {
                let next = q.offset_at_commitlog_offset(position);
                (q.topic().to_string(), q.queue_id(), next)
            })
            .collect()
    }

    /// The stored message that starts at commitlog offset `physical_offset`, if there is one
    /// and it lies inside applied data (what VIEW_MESSAGE_BY_ID and CONSUMER_SEND_MSG_BACK
    /// read: an offset from a client never reaches uncommitted bytes).
    pub fn applied_message_at(&self, physical_offset: u64) -> StoreResult<Option<Bytes>> {
        let Some(applied) = self.applied() else {
            return Ok(None);
        };
        let Some(last) = self.log.get(applied.index)? else {
            return Ok(None);
        };
        let applied_end = last.position() + last.as_bytes().len() as u64;
        let size = self
            .log
            .read_at(physical_offset, 4)?
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .and_then(|s| u64::try_from(s).ok())
            .filter(|&s| s >= 36 && physical_offset.saturating_add(s) <= applied_end);
        let Some(size) = size else {
            return Ok(None);
        };
        // An offset from a client that is not where a message starts reads as nothing; a
        // message that is there but damaged is reported, never served.
        let decodes = self
            .log
            .read_at(physical_offset, size)?
            .is_some_and(|bytes| decode_message(&bytes).is_ok());
        if !decodes {
            return Ok(None);
        }
        self.log.read_message(physical_offset, size, &mut None)
    }

    /// Records that writes wait for a resource (`Some(why)`) or no longer do (`None`); the
    /// node reports it as unhealthy meanwhile.
    pub fn set_blocked(&self, why: Option<String>) {
        *self.blocked.lock().unwrap_or_else(PoisonError::into_inner) = why;
    }

    /// Why writes are waiting for a resource, while they are.
    pub fn blocked(&self) -> Option<String> {
        self.blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The last dispatched record: consumers never see past it.
    pub fn applied(&self) -> Option<RecordPoint> {
        *self.applied.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Flushes consume queues and key index, then records the applied point in the checkpoint
    /// and writes it. The broker calls this every `flushIntervalConsumeQueue`.
    pub fn checkpoint_derived(&self) -> StoreResult<()> {
        let applied = self.applied();
        // The checkpoint (and `sm-meta` after it) vouch for every record up to `applied`:
        // those must be on disk first, which a follower under SYNC_FLUSH does not wait for
        // before applying, and ASYNC_FLUSH never does.
        self.log.wait_durable()?;
        self.queues.flush()?;
        self.keys.flush()?;
        if let Some(a) = applied {
            self.log.set_applied(a);
        }
        self.log.write_checkpoint()
    }

    /// Plans one retention check (see `retention`): which whole segments may go now. `floor`
    /// is the highest index that may go; it is further capped at the applied record. Under
    /// Raft the purge itself goes through the consensus layer.
    pub fn plan_retention(&self, floor: Option<u64>) -> StoreResult<Option<PurgePlan>> {
        let floor = floor.min(self.applied().map(|a| a.index));
        let check = RetentionCheck::observe(self.log.segments_dir(), floor)?;
        retention::plan(&self.log, &self.retention, &check)
    }

    /// Whether the disk holding the commitlog is past `diskSpaceCleanForciblyRatio`: retention
    /// may then purge what a lagging replica still needs (it will get a snapshot instead).
    pub fn disk_critical(&self) -> StoreResult<bool> {
        let check = RetentionCheck::observe(self.log.segments_dir(), None)?;
        Ok(check.disk_used_ratio > self.retention.disk_force_clean_ratio)
    }

    /// Runs one retention check directly (a store not under Raft control): plans, purges the
    /// commitlog, and trims derived data below what is kept.
    pub fn run_retention(&self, floor: Option<u64>) -> StoreResult<Option<PurgePlan>> {
        let Some(plan) = self.plan_retention(floor)? else {
            return Ok(None);
        };
        // Units of purged records could not be replayed after a crash: checkpoint first.
        self.checkpoint_derived()?;
        retention::purge(&self.log, &plan)?;
        self.trim_derived(plan.first_kept_position)?;
        Ok(Some(plan))
    }

    /// Drops consume-queue files and key-index files that only point below `first_kept`.
    pub fn trim_derived(&self, first_kept: u64) -> StoreResult<()> {
        self.queues.delete_before_commitlog_offset(first_kept)?;
        self.keys.delete_files_before(first_kept)?;
        Ok(())
    }

    pub fn commitlog(&self) -> &CommitLog {
        &self.log
    }

    pub fn consume_queues(&self) -> &ConsumeQueueStore {
        &self.queues
    }

    pub fn key_index(&self) -> &KeyIndex {
        &self.keys
    }

    /// Flushes derived data, writes the checkpoint, closes the commitlog cleanly.
    pub fn close(self) -> StoreResult<()> {
        self.checkpoint_derived()?;
        self.log.close()
    }
}

#[cfg(test)]
mod tests;
