//! `StoreError`: everything the store can report, with the path and offset that locate it.
//!
//! Errors from disk carry the file they concern; corruption carries the byte offset inside that
//! file so an operator can look at it. Nothing in the store panics on what it reads from disk.

use std::io;
use std::path::{Path, PathBuf};

/// An error from the store layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O call failed on a file of the store.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },

    /// Reserving space for a new segment failed because the disk is full.
    #[error("{}: disk full while reserving {bytes} bytes", path.display())]
    DiskFull { path: PathBuf, bytes: u64 },

    /// Bytes on disk are not what the store wrote: a bad header, CRC or continuity break.
    #[error("{}: corrupt data at offset {offset}: {reason}", path.display())]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },

    /// A segment file has the wrong size or name, or the segments do not follow each other.
    #[error("{}: {reason}", path.display())]
    BadSegment { path: PathBuf, reason: String },

    /// The store directory was written with a different format or segment size.
    #[error("{}: {reason}", path.display())]
    FormatMismatch { path: PathBuf, reason: String },

    /// A record is larger than one segment can hold.
    #[error("record of {len} bytes does not fit in a segment of {segment_size} bytes")]
    RecordTooLarge { len: u64, segment_size: u64 },

    /// A record or entry handed to the store is malformed (not from disk: from the caller).
    #[error("invalid record: {0}")]
    InvalidRecord(String),

    /// An appended entry does not continue the log (index gap, or a term that goes backwards).
    #[error("entry {got} does not continue the log: {reason}")]
    NotContiguous { got: u64, reason: String },

    /// The position the leader stamped into a record differs from the one this node computes:
    /// the replicas have diverged, and the node must stop.
    #[error(
        "position mismatch at index {index}: record says {stamped}, this node computes {computed}"
    )]
    PositionMismatch {
        index: u64,
        stamped: u64,
        computed: u64,
    },

    /// A caller asked for something the store refuses to do (truncating committed entries,
    /// purging past the floor, reading a purged index, ...).
    #[error("{0}")]
    Refused(String),

    /// An earlier write or flush failed; the store accepts no more writes until reopened.
    #[error("the store stopped after an earlier failure: {0}")]
    Stopped(String),
}

impl StoreError {
    /// Wraps an `io::Error` with the path it concerns.
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Whether the error means a resource ran out (disk space, quota, file descriptors,
    /// memory for a mapping) while creating or growing a file: nothing written is damaged, and
    /// the same call succeeds once the resource is back. Callers retry these; they never
    /// skip or stop over them.
    pub fn is_resource_exhausted(&self) -> bool {
        match self {
            StoreError::DiskFull { .. } => true,
            StoreError::Io { source, .. } => {
                source.kind() == io::ErrorKind::StorageFull
                    || source.kind() == io::ErrorKind::QuotaExceeded
                    || source.kind() == io::ErrorKind::OutOfMemory
                    || matches!(
                        source.raw_os_error(),
                        Some(
                            libc::ENOSPC
                                | libc::EDQUOT
                                | libc::EMFILE
                                | libc::ENFILE
                                | libc::ENOMEM
                        )
                    )
            }
            _ => false,
        }
    }

    /// Builds a corruption report for `path` at `offset`.
    pub(crate) fn corrupt(path: &Path, offset: u64, reason: impl Into<String>) -> Self {
        StoreError::Corrupt {
            path: path.to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }
}

/// Result alias for the store.
pub type StoreResult<T> = Result<T, StoreError>;
