//! `Checkpoint`: how far this node's store is known to be durable, so recovery scans only the
//! tail after it (RocketMQ's `storeCheckpoint` file, our own layout).
//!
//! * `durable`: the last commitlog record known to be on disk (written after a flush). Recovery
//!   verifies this record and scans forward from it; a mismatch there is corruption of data
//!   that was durable, reported with path and offset, never skipped.
//! * `applied`: the last record whose derived data (consume queues, key index, replicated
//!   tables) is durable; the state machine sets it, and recovery cuts derived data beyond it.
//!
//! The file is replaced atomically (`durable_file`). Truncating the log lowers `durable`
//! before the truncated bytes are touched, so a checkpoint never points past the real log.

use std::path::Path;

use super::durable_file::{self, Fields, put_opt};
use super::error::{StoreError, StoreResult};

const CHECKPOINT_MAGIC: u32 = 0xD1ED_4301;

/// A record of the commitlog identified by raft index, term and position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordPoint {
    pub index: u64,
    pub term: u64,
    pub position: u64,
}

impl RecordPoint {
    /// The record's log id (term and index).
    pub fn log_id(self) -> super::meta::LogId {
        super::meta::LogId {
            term: self.term,
            index: self.index,
        }
    }
}

/// The checkpoint's content.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checkpoint {
    pub durable: Option<RecordPoint>,
    pub applied: Option<RecordPoint>,
}

impl Checkpoint {
    pub(crate) fn load(path: &Path) -> StoreResult<Checkpoint> {
        let Some(payload) = durable_file::read(path, CHECKPOINT_MAGIC)? else {
            return Ok(Checkpoint::default());
        };
        let mut f = Fields::new(&payload);
        let mut points = [None, None];
        for p in &mut points {
            let index = f.opt_u64();
            let term = f.u64();
            let position = f.u64();
            let (Some(index), Some(term), Some(position)) = (index, term, position) else {
                return Err(StoreError::corrupt(
                    path,
                    8,
                    "checkpoint fields do not parse",
                ));
            };
            *p = index.map(|index| RecordPoint {
                index,
                term,
                position,
            });
        }
        Ok(Checkpoint {
            durable: points[0],
            applied: points[1],
        })
    }

    pub(crate) fn save(&self, path: &Path) -> StoreResult<()> {
        let mut out = Vec::with_capacity(64);
        for p in [self.durable, self.applied] {
            put_opt(&mut out, p.map(|p| p.index));
            out.extend_from_slice(&p.map_or(0, |p| p.term).to_le_bytes());
            out.extend_from_slice(&p.map_or(0, |p| p.position).to_le_bytes());
        }
        durable_file::write(path, CHECKPOINT_MAGIC, &out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint");
        assert_eq!(Checkpoint::load(&path).unwrap(), Checkpoint::default());
        let c = Checkpoint {
            durable: Some(RecordPoint {
                index: 10,
                term: 2,
                position: 4096,
            }),
            applied: None,
        };
        c.save(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), c);
    }
}
