//! The storage engine: a memory-mapped, segmented commitlog that *is* the Raft log, plus what is
//! derived from it (consume queues, key index) and what keeps it healthy (recovery, retention).
//!
//! The store knows nothing of openraft: the raft layer maps its log-storage contract onto
//! [`CommitLog`] (append a batch, read a range, truncate after an index, purge below an index,
//! first/last log id) and its state machine onto the consume queues and key index.
//!
//! The messages it keeps are in RocketMQ's stored layout, which [`crate::message`] owns: the store
//! walks, decodes and stamps them with it, and knows nothing of the wire that carried them.
//!
//! ```text
//! segment        one preallocated mmap'd file (with sys, the only unsafe code)
//! sys            the syscalls std lacks: fallocate, statvfs, localtime_r
//! segment_list   a directory of segments named by 20-digit start offset
//! record         commitlog record format (header + body, CRC, padding rule)
//! raft_index     raft index -> (position, length, term), fixed-width entries
//! commitlog      append / read / truncate / purge / reset over the two above
//! flush          group commit: one msync covers every append made meanwhile
//! meta           per-node vote, committed index, purge point (atomic replace + fsync)
//! checkpoint     how far the commitlog is durable and the derived data is applied
//! recovery       verify the tail after a restart, cut what is torn, rebuild the index tail
//! consume_queue  per topic/queue 20-byte units (commitlog offset, size, tag hash)
//!                (queue_store: every queue under one root)
//! key_index      messages of a topic by KEYS / UNIQ_KEY, within a time range (format: its bytes)
//! retention      delete whole old segments by age or disk usage, above a floor
//! scrub          re-check every record's CRC in the background; the corrupt-store marker
//! message_store  the commitlog plus consume queues and key index, kept consistent
//! ```

mod checkpoint;
mod commitlog;
mod consume_queue;
mod durable_file;
mod error;
mod flush;
mod key_index;
mod message_store;
mod meta;
#[cfg(test)]
pub(crate) mod powercut;
mod raft_index;
mod record;
mod recovery;
pub mod retention;
pub mod scrub;
pub(crate) mod segment;
mod segment_list;
#[cfg(test)]
pub(crate) mod small_disk;
mod sys;
/// Fraction of the store's filesystem in use (as `df`), for the broker's disk guard.
pub use sys::disk_used_ratio;
pub(crate) use sys::local_hour;

pub use checkpoint::{Checkpoint, RecordPoint};
pub use commitlog::{Appended, CommitLog, CommitLogOptions, LogState, LogView, NewEntry};
pub use consume_queue::{CQ_UNIT_SIZE, ConsumeQueue, ConsumeQueueStore, CqUnit, PutOutcome};
pub(crate) use durable_file::{
    read_versioned as read_small_file_versioned, write as write_small_file,
};
pub use error::{StoreError, StoreResult};
pub use flush::FlushCallback;
pub use key_index::KeyIndex;
pub use message_store::{ArrivalListener, DispatchedMessage, MessageStore, MessageStoreOptions};
pub use meta::{LogBase, LogId, NodeMeta, Vote};
pub(crate) use record::align as record_align;
pub use record::{HEADER_LEN, RECORD_MAGIC, Record, RecordHeader, RecordKind, verify_record};
pub(crate) use segment::sync_parent_dir;
