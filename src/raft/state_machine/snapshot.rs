//! Thin snapshots: built at the retention purge point, installed crash-atomically.
//!
//! * **Built at the purge point, not at the applied index.** The retention task names the index
//!   it is about to purge up to ([`SmShared::set_snapshot_target`]); the snapshot describes the
//!   state right after that entry: its log id, where the next record goes, and every queue's next
//!   offset there (read from the consume queues). A follower that installs it restarts its log
//!   right after the purge point and receives every record the leader still holds, so retention
//!   never makes a voter skip a retained message. The tables are taken as of the build (later
//!   than the snapshot's index): every table operation is an assignment or a maximum, so
//!   re-applying the entries after the snapshot onto them ends in the same tables.
//! * **Installing a snapshot whose entry this node's log holds** (openraft re-installs the
//!   node's own snapshot at startup when `sm-meta` is older) keeps the log and the derived data:
//!   the consume queues are brought up to the snapshot by replaying the log, never reset.
//! * **Installing one the log does not hold** restarts the commitlog at the snapshot's next
//!   position and each queue at its offset. That is destructive, so it is made crash-atomic
//!   with an `installing` file written (durably) first and removed (durably) last: a node
//!   that finds it at startup redoes the install before openraft reads its state.
//! * The snapshot file is written after `sm-meta` is checkpointed past it, so openraft finds
//!   no snapshot newer than the state machine at startup unless a crash fell in between.

use std::io;
use std::sync::PoisonError;

use openraft::storage::Snapshot;
use openraft::type_config::alias::SnapshotOf;

use super::{
    SmShared, SmState, SnapshotMeta, ThinSnapshot, decode, decode_thin_snapshot, encode, io_err,
    named,
};
use crate::raft::types::{LogId, SnapshotBytes, TypeConfig, log_id};
use crate::raft::upgrade::{SM_META_MAGIC, SNAPSHOT_MAGIC};
use crate::store::{
    LogBase, RecordPoint, read_small_file_versioned, record_align, sync_parent_dir,
    write_small_file,
};

/// Magic of the `installing` file (the snapshot being installed, as the snapshot file holds it).
pub(super) const INSTALLING_MAGIC: u32 = 0xD1ED_5501;

/// Where a snapshot at some index leaves the log: its log id and the next record's position.
struct Point {
    id: LogId,
    /// The record of `id` when this node's log holds it: (index, term, position).
    record: Option<(u64, u64, u64)>,
    next_position: u64,
}

impl SmShared {
    /// Names the index the next snapshot is built at (the retention purge point).
    pub(crate) fn set_snapshot_target(&self, index: u64) {
        *self
            .snapshot_target
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(index);
    }

    /// Where the log stands at `index`, if this node can tell: the entry is present, or it is
    /// the purge point itself.
    fn point_at(&self, index: u64) -> io::Result<Option<Point>> {
        let log = self.store.commitlog();
        if let Some(r) = log.get(index).map_err(io_err)? {
            return Ok(Some(Point {
                id: log_id(r.term(), index),
                record: Some((index, r.term(), r.position())),
                next_position: r.position() + record_align(r.as_bytes().len() as u64),
            }));
        }
        let state = log.log_state();
        let Some(purged) = state.last_purged.filter(|p| p.index == index) else {
            return Ok(None);
        };
        let view = log.view();
        let next_position = match view.first {
            Some(first) => match log.get(first).map_err(io_err)? {
                Some(r) if first == index + 1 => r.position(),
                _ => return Ok(None),
            },
            None => view.end,
        };
        Ok(Some(Point {
            id: log_id(purged.term, index),
            record: None,
            next_position,
        }))
    }

    pub(crate) fn build(&self) -> io::Result<SnapshotOf<TypeConfig, SnapshotBytes>> {
        // Read, not taken: a build that fails (a full disk) is retried with the same target.
        let target = *self
            .snapshot_target
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let state = self.read().clone();
        let Some(applied) = state.last_applied else {
            return self.build_at(state, None);
        };
        let purged = self.store.commitlog().log_state().last_purged;
        // Without a target (openraft asking on its own), the purge point: the oldest state a
        // lagging follower can be given.
        let mut at = target
            .or(purged.map(|p| p.index))
            .unwrap_or(applied.index)
            .min(applied.index);
        if let Some(m) = state.membership.log_id() {
            // Never before the membership it describes (membership changes are rare).
            at = at.max(m.index).min(applied.index);
        }
        let point = match self.point_at(at)? {
            Some(p) => Some(p),
            None => self.point_at(applied.index)?,
        };
        let built = self.build_at(state, point)?;
        let mut pending = self
            .snapshot_target
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if *pending == target {
            *pending = None;
        }
        Ok(built)
    }

    fn build_at(
        &self,
        mut state: SmState,
        point: Option<Point>,
    ) -> io::Result<SnapshotOf<TypeConfig, SnapshotBytes>> {
        let (applied_record, next_position, queues) = match &point {
            Some(p) => {
                state.last_applied = Some(p.id);
                let queues = self.store.queue_offsets_at(p.next_position);
                (p.record, p.next_position, queues)
            }
            None => (None, self.store.commitlog().view().end, Vec::new()),
        };
        let meta = SnapshotMeta {
            last_log_id: state.last_applied,
            last_membership: state.membership.clone(),
        };
        let data = encode(&ThinSnapshot {
            state,
            applied_record,
            next_position,
            queues,
        })?;
        // sm-meta first, past the snapshot, so a restart does not re-install it.
        self.checkpoint()?;
        self.save_snapshot(&meta, &data)?;
        Ok(Snapshot {
            meta,
            snapshot: data,
        })
    }

    /// Whether this node's log holds the entry `id` (present, or purged at or past it).
    fn log_holds(&self, id: LogId) -> io::Result<bool> {
        let log = self.store.commitlog();
        Ok(match log.get(id.index).map_err(io_err)? {
            Some(r) => r.term() == *id.leader_id,
            None => log
                .log_state()
                .last_purged
                .is_some_and(|p| p.index >= id.index),
        })
    }

    pub(crate) fn install(&self, meta: &SnapshotMeta, data: &[u8]) -> io::Result<()> {
        let thin = decode_thin_snapshot(data)?;
        let _persist = self.persist.lock().unwrap_or_else(PoisonError::into_inner);
        let mut state = self.write();
        let holds = match meta.last_log_id {
            Some(last) => self.log_holds(last)?,
            None => true,
        };
        if holds {
            // The log is ours: derived data comes from it, nothing is reset.
            if let Some(last) = meta.last_log_id {
                self.store.replay_up_to(last.index).map_err(io_err)?;
            }
        } else {
            write_small_file(
                &self.installing_path,
                INSTALLING_MAGIC,
                &encode(&(meta, data))?,
            )
            .map_err(io_err)?;
            self.reset_to(meta, &thin)?;
        }
        self.adopt(&mut state, meta, data, thin)?;
        if !holds {
            self.finish_install()?;
        }
        Ok(())
    }

    /// Makes the snapshot the state machine's state: applied id, membership, tables, written
    /// to `sm-meta`; then the snapshot file.
    fn adopt(
        &self,
        state: &mut SmState,
        meta: &SnapshotMeta,
        data: &[u8],
        thin: ThinSnapshot,
    ) -> io::Result<()> {
        self.applied_tx
            .send_replace(meta.last_log_id.map_or(0, |l| l.index));
        *state = SmState {
            last_applied: meta.last_log_id,
            membership: meta.last_membership.clone(),
            tables: thin.state.tables,
        };
        write_small_file(&self.meta_path, SM_META_MAGIC, &encode(&*state)?).map_err(io_err)?;
        self.save_snapshot(meta, data)
    }

    /// The destructive part of an install: the commitlog restarts after the snapshot, each
    /// queue at its offset. Idempotent, so a crash midway is repaired by doing it again.
    fn reset_to(&self, meta: &SnapshotMeta, thin: &ThinSnapshot) -> io::Result<()> {
        if let Some(last) = meta.last_log_id {
            self.store
                .commitlog()
                .reset(LogBase {
                    index: last.index + 1,
                    position: thin.next_position,
                })
                .map_err(io_err)?;
        }
        let applied = thin
            .applied_record
            .map(|(index, term, position)| RecordPoint {
                index,
                term,
                position,
            });
        self.store
            .install_base(applied, &thin.queues)
            .map_err(io_err)
    }

    fn finish_install(&self) -> io::Result<()> {
        std::fs::remove_file(&self.installing_path).map_err(|e| named(&self.installing_path, e))?;
        sync_parent_dir(&self.installing_path).map_err(io_err)
    }

    /// Redoes an install that a crash interrupted (see the module docs); called at open,
    /// before openraft reads the node's state.
    pub(super) fn resume_install(&self) -> io::Result<()> {
        let bytes = match read_small_file_versioned(&self.installing_path, &[INSTALLING_MAGIC])
            .map_err(io_err)?
        {
            Some((_, bytes)) => bytes,
            None => return Ok(()),
        };
        let (meta, data): (SnapshotMeta, Vec<u8>) =
            decode(&bytes).map_err(|e| named(&self.installing_path, e))?;
        tracing::warn!(snapshot = ?meta.last_log_id, "a snapshot install was interrupted; redoing it");
        let thin = decode_thin_snapshot(&data)?;
        let _persist = self.persist.lock().unwrap_or_else(PoisonError::into_inner);
        let mut state = self.write();
        self.reset_to(&meta, &thin)?;
        self.adopt(&mut state, &meta, &data, thin)?;
        self.finish_install()
    }

    pub(super) fn save_snapshot(&self, meta: &SnapshotMeta, data: &[u8]) -> io::Result<()> {
        let bytes = encode(&(meta, data))?;
        write_small_file(&self.snapshot_path, SNAPSHOT_MAGIC, &bytes).map_err(io_err)
    }
}
