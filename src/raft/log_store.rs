//! openraft's log storage over the commitlog: `RaftLogStorage` and `RaftLogReader` for
//! [`LogStore`], a cheap handle on the node's [`MessageStore`].
//!
//! * `append`: entries that carry a record (replicated from the leader) go through
//!   `CommitLog::append_raw` (validated and copied); fresh entries on the leader through
//!   `CommitLog::append` (encoded, PHYSICALOFFSET stamped). The IO callback fires when the range
//!   is durable (`SYNC_FLUSH`, group commit) or right after the copy (`ASYNC_FLUSH`).
//! * Reads return entries with their record bytes; replication reads are capped in bytes
//!   (openraft caps them only in count).
//! * Vote, purge and truncation are synchronous disk work: they run on the blocking pool, never
//!   on the reactor, and in order (openraft serialises log IO through this one handle).

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use openraft::OptionalSend;
use openraft::storage::{IOFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::type_config::alias::VoteOf;

use super::resource_wait::ResourceWait;
use super::types::{LogEntry, LogId, TypeConfig, log_id};
use crate::store::{self, MessageStore, NewEntry, StoreError, Vote};

/// Replication reads stop before this many bytes (always returning at least one entry).
pub(crate) const MAX_REPLICATION_BYTES: u64 = 2 << 20;

/// When the append callback fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// After the appended range is on disk (group commit).
    Sync,
    /// After the copy into the page cache; the flush thread syncs in the background.
    Async,
}

/// The node's log store: a handle on the shared message store.
#[derive(Clone, Debug)]
pub(crate) struct LogStore {
    store: Arc<MessageStore>,
    durability: Durability,
}

pub(crate) fn io_err(e: StoreError) -> io::Error {
    io::Error::other(e)
}

impl LogStore {
    pub(crate) fn new(store: Arc<MessageStore>, durability: Durability) -> LogStore {
        LogStore { store, durability }
    }

    fn range(range: &impl RangeBounds<u64>) -> (u64, u64) {
        let from = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let to = match range.end_bound() {
            Bound::Included(&e) => e.saturating_add(1),
            Bound::Excluded(&e) => e,
            Bound::Unbounded => u64::MAX,
        };
        (from, to)
    }

    fn read(&self, from: u64, to: u64, max_bytes: u64) -> Result<Vec<LogEntry>, io::Error> {
        let records = self
            .store
            .commitlog()
            .read(from, to, max_bytes)
            .map_err(io_err)?;
        records
            .iter()
            .map(|r| LogEntry::from_record(r).map_err(io::Error::other))
            .collect()
    }

    /// Appends `entries`, grouping consecutive replicated (raw) and fresh ones.
    fn append_now(&self, entries: &[LogEntry]) -> Result<(), io::Error> {
        let log = self.store.commitlog();
        let mut i = 0;
        while i < entries.len() {
            let raw = entries[i].record.is_some();
            let run_end = entries[i..]
                .iter()
                .position(|e| e.record.is_some() != raw)
                .map_or(entries.len(), |p| i + p);
            let run = &entries[i..run_end];
            if raw {
                let records: Vec<&[u8]> = run.iter().filter_map(|e| e.record.as_deref()).collect();
                log.append_raw(&records).map_err(io_err)?;
            } else {
                let bodies = run
                    .iter()
                    .map(LogEntry::kind_and_body)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(io::Error::other)?;
                let new: Vec<NewEntry<'_>> = run
                    .iter()
                    .zip(&bodies)
                    .map(|(e, (kind, body))| NewEntry {
                        index: e.index(),
                        term: e.term(),
                        kind: *kind,
                        body,
                    })
                    .collect();
                log.append(&new).map_err(io_err)?;
            }
            i = run_end;
        }
        Ok(())
    }

    /// Runs blocking disk work off the reactor.
    /// Runs `f` (idempotent: it may run again) in a blocking thread. A resource that ran out
    /// (a full disk: a vote, a truncation or a purge's checkpoint needs a few bytes) is waited
    /// for, as appends wait, so it never stops openraft's core; `what` names the work in the
    /// log line.
    async fn blocking<T: Send + 'static>(
        &self,
        what: &'static str,
        f: impl Fn(&MessageStore) -> Result<T, StoreError> + Send + Sync + 'static,
    ) -> Result<T, io::Error> {
        let f = Arc::new(f);
        let mut wait = ResourceWait::new(&self.store, what);
        loop {
            let (store, f) = (self.store.clone(), f.clone());
            let done = tokio::task::spawn_blocking(move || f(&store))
                .await
                .map_err(io::Error::other)?;
            match done {
                Ok(value) => return Ok(value),
                Err(e) if e.is_resource_exhausted() => wait.pause(&e).await,
                Err(e) => return Err(io_err(e)),
            }
        }
    }
}

fn to_store_vote(v: &VoteOf<TypeConfig>) -> Vote {
    Vote {
        term: v.leader_id().term,
        node_id: Some(v.leader_id().voted_for),
        committed: v.is_committed(),
    }
}

fn from_store_vote(v: Vote) -> VoteOf<TypeConfig> {
    let node = v.node_id.unwrap_or(0);
    if v.committed {
        VoteOf::<TypeConfig>::new_committed(v.term, node)
    } else {
        VoteOf::<TypeConfig>::new(v.term, node)
    }
}

fn to_log_id(id: store::LogId) -> LogId {
    log_id(id.term, id.index)
}

fn to_store_log_id(id: &LogId) -> store::LogId {
    store::LogId {
        term: *id.leader_id,
        index: id.index,
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<LogEntry>, io::Error> {
        let (from, to) = Self::range(&range);
        self.read(from, to, u64::MAX)
    }

    async fn read_vote(&mut self) -> Result<Option<VoteOf<TypeConfig>>, io::Error> {
        Ok(self.store.commitlog().vote().map(from_store_vote))
    }

    async fn limited_get_log_entries(
        &mut self,
        start: u64,
        end: u64,
    ) -> Result<Vec<LogEntry>, io::Error> {
        self.read(start, end, MAX_REPLICATION_BYTES)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        let state = self.store.commitlog().log_state();
        Ok(LogState {
            last_purged_log_id: state.last_purged.map(to_log_id),
            last_log_id: state.last.map(to_log_id),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &VoteOf<TypeConfig>) -> Result<(), io::Error> {
        let vote = to_store_vote(vote);
        self.blocking("vote", move |s| s.commitlog().save_vote(vote))
            .await
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        self.store
            .commitlog()
            .save_committed(committed.as_ref().map(to_store_log_id));
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        Ok(self.store.commitlog().committed().map(to_log_id))
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: IOFlushed<TypeConfig>,
    ) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = LogEntry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<LogEntry> = entries.into_iter().collect();
        let mut rest: &[LogEntry] = &entries;
        let mut wait = ResourceWait::new(&self.store, "commitlog append");
        loop {
            let e = match self.append_now(rest) {
                Ok(()) => break,
                Err(e) => e,
            };
            let Some(exhausted) = ResourceWait::exhausted(&e) else {
                callback.io_completed(Err(io::Error::new(e.kind(), e.to_string())));
                return Err(e);
            };
            wait.pause(exhausted).await;
            // What went in before the error stays; the retry goes on after it.
            let done = self.store.commitlog().view().last.map(|l| l.index);
            rest = &entries[entries
                .iter()
                .take_while(|e| done.is_some_and(|d| e.index() <= d))
                .count()..];
        }
        drop(wait);
        match self.durability {
            Durability::Async => callback.io_completed(Ok(())),
            Durability::Sync => self.store.commitlog().on_durable(Box::new(move |r| {
                callback.io_completed(r.map_err(|e| io::Error::other(e.to_string())));
            })),
        }
        Ok(())
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let keep = last_log_id.map(|l| l.index);
        self.blocking("truncation", move |s| s.commitlog().truncate_after(keep))
            .await
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        let id = to_store_log_id(&log_id);
        self.blocking("purge", move |s| {
            // After a crash, queue units of purged records could not be replayed (their
            // records are gone): the checkpoint's applied point must be past the purge first.
            s.checkpoint_derived()?;
            s.commitlog().purge_upto(id)?;
            let first_kept = s
                .commitlog()
                .segments()
                .first()
                .map_or(0, |(start, _)| *start);
            s.trim_derived(first_kept)
        })
        .await
    }
}
