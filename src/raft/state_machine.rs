//! openraft's state machine over the message store: apply committed entries in order, keep the
//! replicated tables, build and install thin snapshots.
//!
//! * Message entries go to [`MessageStore::dispatch`]: queue offsets assigned at apply (the
//!   same on every replica), stamped into the stored messages, consume queues and key index
//!   extended. The proposer gets each message's queue and physical offset back.
//! * Admin and consumer-offset entries update [`Tables`]; membership entries the membership.
//! * [`SmShared::checkpoint`] (called periodically by the node, and at close) flushes the derived
//!   data, then writes `sm-meta` (applied log id, membership, tables). On restart the message
//!   store replays the committed records its checkpoint missed, and openraft re-applies what
//!   `sm-meta` missed; both are idempotent.
//! * Snapshots are *thin* (`raft-brief.md` §1.5): the metadata the log can no longer rebuild
//!   (tables, membership, queue offsets, where the next record goes), never the messages;
//!   built at the retention purge point and installed crash-atomically (`snapshot`).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use futures_util::{Stream, StreamExt};
use openraft::storage::{EntryResponder, RaftSnapshotBuilder, RaftStateMachine, Snapshot};
use openraft::type_config::alias::{SnapshotMetaOf, SnapshotOf, StoredMembershipOf};
use openraft::{EntryPayload, OptionalSend, StoredMembership};
use serde::{Deserialize, Serialize};

use super::log_store::io_err;
use super::resource_wait::ResourceWait;
use super::tables::{Tables, retention_floor_of};
use super::types::{
    Applied, AppliedMessage, LogEntry, LogId, ProposalKind, SnapshotBytes, TypeConfig,
};
use super::upgrade::{
    SM_META_MAGIC, SM_META_MAGIC_V1, SM_META_MAGIC_V2, SNAPSHOT_MAGIC, SNAPSHOT_MAGIC_V1,
    SNAPSHOT_MAGIC_V2, SmStateOld, TablesV1, TablesV2,
};
use crate::store::{
    MessageStore, Record, read_small_file_versioned, verify_record, write_small_file,
};

type Membership = StoredMembershipOf<TypeConfig>;
type SnapshotMeta = SnapshotMetaOf<TypeConfig>;

/// What the state machine persists in `sm-meta`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct SmState {
    pub(crate) last_applied: Option<LogId>,
    pub(crate) membership: Membership,
    pub(crate) tables: Tables,
}

/// A thin snapshot's payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ThinSnapshot {
    state: SmState,
    /// The last applied record on the node that built the snapshot, when it was in its log.
    applied_record: Option<(u64, u64, u64)>,
    /// Commitlog position where the record after the snapshot goes.
    next_position: u64,
    /// Every queue's next offset.
    queues: Vec<(String, u32, u64)>,
}

/// A thin snapshot as format 2 laid it out (tables without the transaction table).
#[derive(Debug, Deserialize)]
struct ThinSnapshotV2 {
    state: SmStateOld<Membership, TablesV2>,
    applied_record: Option<(u64, u64, u64)>,
    next_position: u64,
    queues: Vec<(String, u32, u64)>,
}

/// Decodes a thin snapshot of this format or, from a peer not yet upgraded (or an install
/// interrupted before the upgrade), of format 2. Each reading must consume every byte, so
/// bytes of one format are never taken for the other.
fn decode_thin_snapshot(data: &[u8]) -> io::Result<ThinSnapshot> {
    if let Some(thin) = decode_whole::<ThinSnapshot>(data) {
        return Ok(thin);
    }
    if let Some(v2) = decode_whole::<ThinSnapshotV2>(data) {
        return Ok(ThinSnapshot {
            state: SmState {
                last_applied: v2.state.last_applied,
                membership: v2.state.membership,
                tables: v2.state.tables.into(),
            },
            applied_record: v2.applied_record,
            next_position: v2.next_position,
            queues: v2.queues,
        });
    }
    // Neither: report why this format's reading failed.
    decode::<ThinSnapshot>(data).and_then(|_| {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the snapshot has bytes after its end",
        ))
    })
}

/// `decode` that also demands every byte be used.
fn decode_whole<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    match bincode::serde::decode_from_slice(bytes, bincode::config::standard()) {
        Ok((value, used)) if used == bytes.len() => Some(value),
        _ => None,
    }
}

/// Checks a snapshot a peer sent before openraft installs it: it must decode, describe the
/// entry its meta names, and restart the log at a valid position. A snapshot that fails would
/// stop the installing node's raft core.
pub(crate) fn check_snapshot(meta: &SnapshotMeta, data: &[u8]) -> Result<(), String> {
    let thin = decode_thin_snapshot(data).map_err(|e| format!("snapshot does not decode: {e}"))?;
    let Some(last) = meta.last_log_id else {
        return Err("a snapshot must name its last entry".into());
    };
    if thin.state.last_applied != meta.last_log_id {
        return Err(format!(
            "snapshot meta names entry {last} but its state is at {:?}",
            thin.state.last_applied
        ));
    }
    if thin
        .applied_record
        .is_some_and(|(index, term, _)| index != last.index || term != *last.leader_id)
    {
        return Err(format!("snapshot record does not match entry {last}"));
    }
    if !thin.next_position.is_multiple_of(8) {
        return Err(format!(
            "snapshot restarts the log at {}, not a record boundary",
            thin.next_position
        ));
    }
    Ok(())
}

/// A well-formed thin snapshot at `last` with `queues` queues (tests of the peer network,
/// which must carry large ones).
#[cfg(test)]
pub(crate) fn test_snapshot(last: LogId, queues: u32) -> Vec<u8> {
    let thin = ThinSnapshot {
        state: SmState {
            last_applied: Some(last),
            ..SmState::default()
        },
        applied_record: None,
        next_position: 4096,
        queues: (0..queues)
            .map(|q| ("TopicTest".to_string(), q, u64::from(q)))
            .collect(),
    };
    encode(&thin).unwrap_or_default()
}

/// A decoding error that names the file it came from.
fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

fn encode<T: Serialize>(value: &T) -> io::Result<Vec<u8>> {
    bincode::serde::encode_to_vec(value, bincode::config::standard()).map_err(io::Error::other)
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> io::Result<T> {
    bincode::serde::decode_from_slice(bytes, bincode::config::standard())
        .map(|(v, _)| v)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// State shared by the state machine openraft drives and the node (which reads the tables and
/// triggers checkpoints).
#[derive(Debug)]
pub(crate) struct SmShared {
    store: Arc<MessageStore>,
    state: RwLock<SmState>,
    /// Raft index of the last applied entry, for readers that wait for new data (long polling).
    applied_tx: tokio::sync::watch::Sender<u64>,
    meta_path: PathBuf,
    snapshot_path: PathBuf,
    /// Serialises writers of `sm-meta` (the periodic checkpoint, the one at shutdown, snapshot
    /// installation): they share one temporary file, and a later state must never be
    /// overwritten by an earlier one. Taken before `state`.
    persist: Mutex<()>,
    /// Present while a snapshot install that resets the log is under way (see `snapshot`).
    installing_path: PathBuf,
    /// The index the next snapshot is built at (the retention purge point), once.
    snapshot_target: Mutex<Option<u64>>,
    /// The highest retention floor applied (see `AdminOp::RetentionFloor`); unknown after a
    /// restart until the leader proposes the next one, and nothing is purged meanwhile.
    group_floor: Mutex<Option<u64>>,
}

impl SmShared {
    /// Loads `sm-meta` from `dir` and brings the message store's derived data up to it.
    pub(crate) fn open(store: Arc<MessageStore>, dir: &Path) -> io::Result<Arc<SmShared>> {
        let meta_path = dir.join("sm-meta");
        let magics = [SM_META_MAGIC, SM_META_MAGIC_V2, SM_META_MAGIC_V1];
        let state = match read_small_file_versioned(&meta_path, &magics).map_err(io_err)? {
            Some((SM_META_MAGIC_V1, bytes)) => {
                let v1: SmStateOld<Membership, TablesV1> =
                    decode(&bytes).map_err(|e| named(&meta_path, e))?;
                tracing::info!(path = %meta_path.display(), "sm-meta of format 1 read and upgraded");
                SmState {
                    last_applied: v1.last_applied,
                    membership: v1.membership,
                    tables: v1.tables.into(),
                }
            }
            Some((SM_META_MAGIC_V2, bytes)) => {
                let v2: SmStateOld<Membership, TablesV2> =
                    decode(&bytes).map_err(|e| named(&meta_path, e))?;
                tracing::info!(path = %meta_path.display(), "sm-meta of format 2 read and upgraded");
                SmState {
                    last_applied: v2.last_applied,
                    membership: v2.membership,
                    tables: v2.tables.into(),
                }
            }
            Some((_, bytes)) => decode::<SmState>(&bytes).map_err(|e| named(&meta_path, e))?,
            None => SmState::default(),
        };
        if let Some(applied) = state.last_applied {
            store.replay_up_to(applied.index).map_err(io_err)?;
        }
        let applied = state.last_applied.map_or(0, |l| l.index);
        let shared = Arc::new(SmShared {
            store,
            applied_tx: tokio::sync::watch::Sender::new(applied),
            state: RwLock::new(state),
            meta_path,
            snapshot_path: dir.join("snapshot"),
            persist: Mutex::new(()),
            installing_path: dir.join("snapshot.installing"),
            snapshot_target: Mutex::new(None),
            group_floor: Mutex::new(None),
        });
        shared.resume_install()?;
        Ok(shared)
    }

    /// The replicated tables as of the last applied entry.
    pub(crate) fn tables(&self) -> Tables {
        self.read().tables.clone()
    }

    /// Reads the tables in place (no copy); `f` must not block.
    pub(crate) fn with_tables<R>(&self, f: impl FnOnce(&Tables) -> R) -> R {
        f(&self.read().tables)
    }

    /// The group's retention floor as last applied, if any since this node started.
    pub(crate) fn group_floor(&self) -> Option<u64> {
        *self
            .group_floor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A receiver that changes whenever entries are applied (its value: the last applied index).
    pub(crate) fn applied_watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.applied_tx.subscribe()
    }

    /// Flushes derived data, then persists the applied id, membership and tables.
    pub(crate) fn checkpoint(&self) -> io::Result<()> {
        let _persist = self.persist.lock().unwrap_or_else(PoisonError::into_inner);
        let state = self.read().clone();
        self.store.checkpoint_derived().map_err(io_err)?;
        write_small_file(&self.meta_path, SM_META_MAGIC, &encode(&state)?).map_err(io_err)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, SmState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, SmState> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies one committed entry. The state lock is held throughout, so a snapshot never
    /// sees queue offsets ahead of its applied id.
    fn apply_one(&self, entry: &LogEntry) -> io::Result<Applied> {
        let mut state = self.write();
        let mut applied = Applied {
            index: entry.index(),
            term: entry.term(),
            messages: Vec::new(),
        };
        match &entry.payload {
            EntryPayload::Blank => {}
            EntryPayload::Membership(m) => {
                state.membership = StoredMembership::new(Some(entry.log_id), m.clone());
            }
            EntryPayload::Normal(p) => match p.kind {
                ProposalKind::Message | ProposalKind::MessageBatch => {
                    let record = self.record_of(entry)?;
                    let dispatched = self.store.dispatch(&record).map_err(io_err)?;
                    for source in dispatched.iter().filter_map(|m| m.schedule_source) {
                        state.tables.schedule_delivered(source.level, source.offset);
                    }
                    for half in dispatched.iter().filter_map(|m| m.settles_half) {
                        state.tables.transaction_settled(half);
                    }
                    applied.messages = dispatched
                        .into_iter()
                        .map(|m| AppliedMessage {
                            queue_id: m.queue_id,
                            queue_offset: m.queue_offset,
                            physical_offset: m.physical_offset,
                            size: m.size,
                        })
                        .collect();
                }
                ProposalKind::Admin => {
                    if let Some(floor) = retention_floor_of(&p.body) {
                        let mut group = self
                            .group_floor
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner);
                        *group = (*group).max(Some(floor));
                    }
                    if let Err(e) = state.tables.apply_admin(&p.body) {
                        tracing::error!(index = entry.index(), %e, "admin entry not applied");
                    }
                }
                ProposalKind::ConsumerOffsets => {
                    if let Err(e) = state.tables.apply_offsets(&p.body) {
                        tracing::error!(index = entry.index(), %e, "offsets entry not applied");
                    }
                }
            },
        }
        state.last_applied = Some(entry.log_id);
        Ok(applied)
    }

    /// The commitlog record of a message entry: its own bytes, or read back from the log.
    fn record_of(&self, entry: &LogEntry) -> io::Result<Record> {
        if let Some(bytes) = &entry.record {
            return verify_record(bytes.clone())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e));
        }
        match self.store.commitlog().get(entry.index()).map_err(io_err)? {
            Some(r) if r.term() == entry.term() => Ok(r),
            _ => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("entry {} is not in the commitlog", entry.log_id),
            )),
        }
    }

    pub(crate) fn current_snapshot(
        &self,
    ) -> io::Result<Option<SnapshotOf<TypeConfig, SnapshotBytes>>> {
        let magics = [SNAPSHOT_MAGIC, SNAPSHOT_MAGIC_V2, SNAPSHOT_MAGIC_V1];
        let bytes = match read_small_file_versioned(&self.snapshot_path, &magics).map_err(io_err)? {
            Some((SNAPSHOT_MAGIC, bytes)) => bytes,
            // None yet, or one an earlier build wrote: openraft builds a fresh one if it needs it.
            _ => return Ok(None),
        };
        let (meta, snapshot): (SnapshotMeta, Vec<u8>) = decode(&bytes)?;
        Ok(Some(Snapshot { meta, snapshot }))
    }
}

/// The state machine openraft drives: a handle on [`SmShared`].
#[derive(Debug, Clone)]
pub(crate) struct StateMachine {
    shared: Arc<SmShared>,
}

impl StateMachine {
    pub(crate) fn new(shared: Arc<SmShared>) -> StateMachine {
        StateMachine { shared }
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotData = SnapshotBytes;
    type SnapshotBuilder = StateMachine;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, Membership), io::Error> {
        let state = self.shared.read();
        Ok((state.last_applied, state.membership.clone()))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        let mut last = None;
        while let Some(item) = entries.next().await {
            let (entry, responder) = item?;
            // A resource that ran out (a full disk) is waited for, never skipped: dispatch is
            // idempotent per message, so the retry places only what is missing.
            let mut wait = ResourceWait::new(&self.shared.store, "apply");
            let applied = loop {
                match self.shared.apply_one(&entry) {
                    Ok(applied) => break applied,
                    Err(e) => match ResourceWait::exhausted(&e) {
                        Some(exhausted) => wait.pause(exhausted).await,
                        None => return Err(e),
                    },
                }
            };
            drop(wait);
            last = Some(applied.index);
            if let Some(responder) = responder {
                responder.send(applied);
            }
        }
        if let Some(index) = last {
            self.shared.applied_tx.send_replace(index);
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: SnapshotBytes,
    ) -> Result<(), io::Error> {
        let shared = self.shared.clone();
        let meta = meta.clone();
        tokio::task::spawn_blocking(move || shared.install(&meta, &snapshot))
            .await
            .map_err(io::Error::other)?
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<SnapshotOf<TypeConfig, SnapshotBytes>>, io::Error> {
        self.shared.current_snapshot()
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    type SnapshotData = SnapshotBytes;

    /// Builds in a blocking thread; a resource that ran out (a full disk, which is also what
    /// makes retention ask for a snapshot) is waited for like an append, never an error that
    /// would stop openraft's core.
    async fn build_snapshot(&mut self) -> Result<SnapshotOf<TypeConfig, SnapshotBytes>, io::Error> {
        let mut wait = ResourceWait::new(&self.shared.store, "snapshot");
        loop {
            let shared = self.shared.clone();
            let built = tokio::task::spawn_blocking(move || shared.build())
                .await
                .map_err(io::Error::other)?;
            match built {
                Ok(snapshot) => return Ok(snapshot),
                Err(e) => match ResourceWait::exhausted(&e) {
                    Some(exhausted) => wait.pause(exhausted).await,
                    None => return Err(e),
                },
            }
        }
    }
}

mod snapshot;
#[cfg(test)]
mod tests;
