//! `NodeMeta`: what one node remembers about its Raft log outside the log itself.
//!
//! The vote, the last known committed log id, the purge point and the base (where the log
//! restarts after a reset) are node-local: putting them in the replicated commitlog would shift
//! every later record's position on this node only. They live in one small file, replaced
//! atomically and fsynced (`durable_file`). The vote is on disk before `save_vote` returns;
//! the committed id may be persisted lazily (a restarted node simply learns it again).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::durable_file::{self, Fields, put_opt};
use super::error::{StoreError, StoreResult};

const META_MAGIC: u32 = 0xD1ED_4D01;

/// A Raft log id: the term and index of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogId {
    pub term: u64,
    pub index: u64,
}

/// A persisted vote: the term, whom this node voted for, and whether that vote won a quorum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vote {
    pub term: u64,
    pub node_id: Option<u64>,
    pub committed: bool,
}

/// Where the log restarts after a reset: the index and position of its first record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogBase {
    pub index: u64,
    pub position: u64,
}

/// The node-local state kept beside the commitlog.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeMeta {
    pub vote: Option<Vote>,
    pub committed: Option<LogId>,
    pub purged: Option<LogId>,
    pub base: Option<LogBase>,
}

impl NodeMeta {
    /// Loads the meta file, or the empty state if there is none yet.
    pub(crate) fn load(path: &Path) -> StoreResult<NodeMeta> {
        let Some(payload) = durable_file::read(path, META_MAGIC)? else {
            return Ok(NodeMeta::default());
        };
        Self::decode(&payload)
            .ok_or_else(|| StoreError::corrupt(path, 8, "meta fields do not parse"))
    }

    /// Writes the meta file durably.
    pub(crate) fn save(&self, path: &Path) -> StoreResult<()> {
        durable_file::write(path, META_MAGIC, &self.encode())
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        out.push(u8::from(self.vote.is_some()));
        let vote = self.vote.unwrap_or(Vote {
            term: 0,
            node_id: None,
            committed: false,
        });
        out.extend_from_slice(&vote.term.to_le_bytes());
        put_opt(&mut out, vote.node_id);
        out.push(u8::from(vote.committed));
        for id in [self.committed, self.purged] {
            put_opt(&mut out, id.map(|i| i.term));
            out.extend_from_slice(&id.map_or(0, |i| i.index).to_le_bytes());
        }
        put_opt(&mut out, self.base.map(|b| b.index));
        out.extend_from_slice(&self.base.map_or(0, |b| b.position).to_le_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Option<NodeMeta> {
        let mut f = Fields::new(bytes);
        let has_vote = f.u8()?;
        let term = f.u64()?;
        let node_id = f.opt_u64()?;
        let committed_vote = f.u8()? == 1;
        let vote = (has_vote == 1).then_some(Vote {
            term,
            node_id,
            committed: committed_vote,
        });
        let mut ids = [None, None];
        for id in &mut ids {
            let term = f.opt_u64()?;
            let index = f.u64()?;
            *id = term.map(|term| LogId { term, index });
        }
        let base_index = f.opt_u64()?;
        let base_position = f.u64()?;
        Some(NodeMeta {
            vote,
            committed: ids[0],
            purged: ids[1],
            base: base_index.map(|index| LogBase {
                index,
                position: base_position,
            }),
        })
    }
}

/// The meta file and its in-memory copy, with a flag for lazily persisted changes.
#[derive(Debug)]
pub(crate) struct MetaFile {
    path: PathBuf,
    pub(crate) state: NodeMeta,
    /// A lazy change (the committed id) is not on disk yet.
    pub(crate) dirty: bool,
    /// The last record whose commitlog bytes are on disk: the committed id is never persisted
    /// above it, so a power cut can never leave a meta file that claims more than the log
    /// holds (set by the flush thread, lowered by truncation and reset).
    pub(crate) flushed: Option<LogId>,
    /// When the state was last written.
    saved_at: Instant,
}

impl MetaFile {
    pub(crate) fn open(path: &Path) -> StoreResult<MetaFile> {
        Ok(MetaFile {
            path: path.to_path_buf(),
            state: NodeMeta::load(path)?,
            dirty: false,
            flushed: None,
            saved_at: Instant::now(),
        })
    }

    /// What may go to disk now: the state with the committed id capped at the flushed record or
    /// the purge point, whichever is higher (a record at or below the committed index that this
    /// node holds is committed too).
    pub(crate) fn persistable(&self) -> NodeMeta {
        let cap = match (self.flushed, self.state.purged) {
            (Some(f), Some(p)) => Some(if f.index >= p.index { f } else { p }),
            (f, p) => f.or(p),
        };
        let committed = match (self.state.committed, cap) {
            (Some(c), Some(cap)) if cap.index < c.index => Some(cap),
            (Some(_), None) => None,
            (c, _) => c,
        };
        NodeMeta {
            committed,
            ..self.state
        }
    }

    /// Persists the current state now. Callers hold the commitlog's meta-write lock, so
    /// writes never overtake each other.
    pub(crate) fn save(&mut self) -> StoreResult<()> {
        let persisted = self.persistable();
        persisted.save(&self.path)?;
        // A capped committed id is written again once the flushed record catches up.
        self.dirty = persisted.committed != self.state.committed;
        self.saved_at = Instant::now();
        Ok(())
    }

    /// When a lazy change is pending and the last write is at least `min_interval` old: the
    /// state to write and where, with the change marked as taken (see
    /// [`MetaFile::lazy_save_failed`]). The caller writes it without holding this file's lock.
    pub(crate) fn take_lazy_save(&mut self, min_interval: Duration) -> Option<(NodeMeta, PathBuf)> {
        if !self.dirty || self.saved_at.elapsed() < min_interval {
            return None;
        }
        let persisted = self.persistable();
        self.dirty = persisted.committed != self.state.committed;
        self.saved_at = Instant::now();
        Some((persisted, self.path.clone()))
    }

    /// The write a [`MetaFile::take_lazy_save`] handed out failed: try again next time.
    pub(crate) fn lazy_save_failed(&mut self) {
        self.dirty = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_round_trips_every_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raft-meta");
        assert_eq!(NodeMeta::load(&path).unwrap(), NodeMeta::default());
        let meta = NodeMeta {
            vote: Some(Vote {
                term: 9,
                node_id: Some(2),
                committed: true,
            }),
            committed: Some(LogId {
                term: 8,
                index: 1234,
            }),
            purged: Some(LogId {
                term: 3,
                index: 100,
            }),
            base: Some(LogBase {
                index: 50,
                position: 1 << 33,
            }),
        };
        meta.save(&path).unwrap();
        assert_eq!(NodeMeta::load(&path).unwrap(), meta);
        let vote_only = NodeMeta {
            vote: Some(Vote {
                term: 1,
                node_id: None,
                committed: false,
            }),
            ..NodeMeta::default()
        };
        vote_only.save(&path).unwrap();
        assert_eq!(NodeMeta::load(&path).unwrap(), vote_only);
    }
}
