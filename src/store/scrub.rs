//! The scrubber: reads every record of the commitlog back and checks it against its CRC, so
//! damage to bytes that no read touches (old segments, below the checkpoint recovery starts
//! from) is found instead of surfacing when a lagging follower or a consumer asks for them.
//! It never repairs: a replica's damaged committed data must neither be served nor count in a
//! vote, so the caller stops the node and leaves [`CORRUPT_MARKER`] in the store's root, which
//! makes every later start refuse with the place of the damage until an operator removes the
//! store (the node then catches up from its group) or restores the segment and the marker.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{CommitLog, StoreResult};

/// The file that marks a store found corrupt, in `storePathRootDir`.
pub const CORRUPT_MARKER: &str = "corrupt";

/// Most bytes one read of the scrub takes.
const BATCH_BYTES: u64 = 4 << 20;

/// What one pass checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scrubbed {
    pub records: u64,
    pub bytes: u64,
}

/// Checks every committed record present when the pass starts, oldest first, at most
/// `bytes_per_second`; stops early (with what it checked) when `keep_going` says so. Only
/// committed records are read: a follower may still truncate and rewrite its uncommitted tail
/// under a reader. Records purged meanwhile are skipped, and a failed read is retried once, so
/// only damage that is still there counts: the error is
/// [`StoreError::Corrupt`](super::StoreError::Corrupt), with file and offset.
pub fn scrub(
    log: &CommitLog,
    bytes_per_second: u64,
    keep_going: &dyn Fn() -> bool,
) -> StoreResult<Scrubbed> {
    let started = Instant::now();
    let mut done = Scrubbed::default();
    let (Some(first), Some(committed)) = (log.view().first, log.committed()) else {
        return Ok(done);
    };
    let end = committed.index + 1;
    let mut next = first;
    while next < end && keep_going() {
        next = next.max(log.view().first.unwrap_or(next));
        let batch = match log.read(next, end, BATCH_BYTES) {
            Ok(batch) => batch,
            Err(_) if log.view().first.is_some_and(|f| f > next) => continue,
            Err(_) => log.read(next, end, BATCH_BYTES)?,
        };
        let Some(tail) = batch.last() else { break };
        next = tail.index() + 1;
        done.records += batch.len() as u64;
        done.bytes += batch.iter().map(|r| r.as_bytes().len() as u64).sum::<u64>();
        let due = Duration::from_secs_f64(done.bytes as f64 / bytes_per_second.max(1) as f64);
        if let Some(ahead) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(ahead);
        }
    }
    Ok(done)
}

/// Leaves the marker saying what was found, durably.
pub fn write_marker(root: &Path, what: &str) -> std::io::Result<()> {
    let path = root.join(CORRUPT_MARKER);
    let mut file = fs::File::create(&path)?;
    writeln!(file, "{what}")?;
    file.sync_all()
}

/// Refuses a store that was found corrupt, saying where and what to do.
pub fn refuse_if_marked(root: &Path) -> Result<(), String> {
    let path = root.join(CORRUPT_MARKER);
    match fs::read_to_string(&path) {
        Ok(found) => Err(format!(
            "the store was found corrupt ({}); this node will not serve or vote with it. Remove \
             {} to let it catch up from its group, or restore the damaged segment from a good \
             copy and remove {}",
            found.trim(),
            root.display(),
            path.display()
        )),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::record::RecordKind;
    use crate::store::{CommitLogOptions, LogId, NewEntry, StoreError};

    /// A log of `records` admin records of 3000 bytes in 64 KiB segments.
    fn log_with(dir: &Path, records: u64) -> CommitLog {
        let log = CommitLog::open(CommitLogOptions::in_dir(dir, 64 * 1024)).unwrap();
        let body = vec![7u8; 3000];
        for index in 1..=records {
            let entry = NewEntry {
                index,
                term: 1,
                kind: RecordKind::Admin,
                body: &body,
            };
            log.append(&[entry]).unwrap();
        }
        log.save_committed(Some(LogId {
            term: 1,
            index: records,
        }));
        log.flush().unwrap();
        log
    }

    #[test]
    fn a_healthy_log_scrubs_clean_and_every_record_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_with(dir.path(), 60);
        let done = scrub(&log, u64::MAX, &|| true).unwrap();
        assert_eq!(done.records, 60);
        assert!(done.bytes >= 60 * 3000);
    }

    #[test]
    fn a_flipped_byte_in_an_old_segment_is_found_with_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_with(dir.path(), 60);
        let (start, oldest) = log.segments().into_iter().next().unwrap();
        log.close().unwrap();
        let mut bytes = fs::read(&oldest).unwrap();
        bytes[20_000] ^= 0xff;
        fs::write(&oldest, &bytes).unwrap();
        // Recovery starts at the checkpoint, past the damage: the store opens.
        let log = CommitLog::open(CommitLogOptions::in_dir(dir.path(), 64 * 1024)).unwrap();
        match scrub(&log, u64::MAX, &|| true) {
            Err(StoreError::Corrupt { path, offset, .. }) => {
                assert_eq!(path, oldest);
                assert!(
                    offset >= start && offset <= start + 20_000,
                    "offset {offset}"
                );
            }
            other => panic!("expected corruption, got {other:?}"),
        }
    }

    #[test]
    fn a_marked_store_is_refused_with_the_place_and_the_remedy() {
        let dir = tempfile::tempdir().unwrap();
        assert!(refuse_if_marked(dir.path()).is_ok());
        write_marker(dir.path(), "segment 0 at 20000: crc mismatch").unwrap();
        let refused = refuse_if_marked(dir.path()).unwrap_err();
        assert!(refused.contains("crc mismatch"), "{refused}");
        assert!(refused.contains("Remove"), "{refused}");
    }

    #[test]
    fn records_past_the_committed_index_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_with(dir.path(), 60);
        log.save_committed(Some(LogId { term: 1, index: 20 }));
        assert_eq!(scrub(&log, u64::MAX, &|| true).unwrap().records, 20);
    }

    #[test]
    fn a_scrub_asked_to_stop_stops() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_with(dir.path(), 60);
        assert_eq!(
            scrub(&log, u64::MAX, &|| false).unwrap(),
            Scrubbed::default()
        );
    }
}
