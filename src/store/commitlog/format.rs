//! The format file: pins the record format version and the segment size of a store, because
//! replicas must agree on both for positions to match, and neither can change on an existing
//! store.

use super::super::durable_file;
use super::super::error::{StoreError, StoreResult};
use super::CommitLogOptions;

const FORMAT_MAGIC: u32 = 0xD1ED_4601;
/// Version of the record and index layouts; a store written with another version is refused.
const FORMAT_VERSION: u64 = 1;

/// Checks (or, for a new store, writes) the format file pinning segment size and version.
pub(super) fn check_format(opts: &CommitLogOptions) -> StoreResult<()> {
    let path = opts.dir.join("format");
    let mut expected = Vec::with_capacity(16);
    expected.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    expected.extend_from_slice(&opts.segment_size.to_le_bytes());
    match durable_file::read(&path, FORMAT_MAGIC)? {
        Some(found) if found == expected => Ok(()),
        Some(found) => {
            let mut f = durable_file::Fields::new(&found);
            let (version, size) = (f.u64(), f.u64());
            Err(StoreError::FormatMismatch {
                path,
                reason: format!(
                    "store written with format {version:?} and segment size {size:?}; this node is configured for format {FORMAT_VERSION} and segment size {} (replicas must agree on the segment size, and it cannot change on an existing store)",
                    opts.segment_size
                ),
            })
        }
        None => durable_file::write(&path, FORMAT_MAGIC, &expected),
    }
}
