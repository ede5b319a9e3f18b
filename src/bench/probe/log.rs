//! `ProbeLog`: one node's append-only file for the probe, on the store's own [`Segment`] (the same
//! preallocated shared mapping and single copy the commitlog uses). Frames are copied in back to
//! back; when one does not fit, the segment file is deleted and a fresh one started, so a long
//! run keeps one segment of disk per node and keeps paying first-touch page faults, as a broker
//! appending to new segments does. No index, no recovery: the probe never reads its log back
//! except in tests.

use std::path::{Path, PathBuf};

use crate::store::StoreError;
use crate::store::segment::Segment;

/// An append-only log in `dir`, one segment at a time.
#[derive(Debug)]
pub(crate) struct ProbeLog {
    dir: PathBuf,
    segment_size: u64,
    segment: Segment,
    /// Segments started so far, this one included.
    segments: u64,
    /// Bytes written into the current segment.
    written: u64,
    /// `msync` every append before returning (the SYNC_FLUSH shape).
    sync: bool,
}

impl ProbeLog {
    /// Creates the first segment of `segment_size` bytes in `dir` (which must exist).
    pub(crate) fn create(
        dir: &Path,
        segment_size: u64,
        sync: bool,
    ) -> Result<ProbeLog, StoreError> {
        let segment = Segment::create(&segment_path(dir, 0), 0, segment_size)?;
        Ok(ProbeLog {
            dir: dir.to_path_buf(),
            segment_size,
            segment,
            segments: 1,
            written: 0,
            sync,
        })
    }

    /// Copies `bytes` in after what is there (starting a new segment if they do not fit), then
    /// with `sync` makes them durable.
    pub(crate) fn append(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        let len = bytes.len() as u64;
        if len > self.segment_size {
            return Err(StoreError::RecordTooLarge {
                len,
                segment_size: self.segment_size,
            });
        }
        if self.written + len > self.segment_size {
            self.roll()?;
        }
        self.segment.write(self.written, bytes)?;
        self.segment.publish(self.written + len);
        if self.sync {
            self.segment.flush(self.written, len)?;
        }
        self.written += len;
        Ok(())
    }

    /// The bytes of the current segment appended so far.
    #[cfg(test)]
    pub(crate) fn current_segment(&self) -> Vec<u8> {
        self.segment
            .with_published(0, self.written, <[u8]>::to_vec)
            .unwrap_or_default()
    }

    /// Deletes the segment file (the probe keeps nothing).
    pub(crate) fn remove(self) -> Result<(), StoreError> {
        self.segment.delete_file()
    }

    fn roll(&mut self) -> Result<(), StoreError> {
        self.segment.delete_file()?;
        let start = self.segments * self.segment_size;
        self.segment = Segment::create(&segment_path(&self.dir, start), start, self.segment_size)?;
        self.segments += 1;
        self.written = 0;
        Ok(())
    }
}

fn segment_path(dir: &Path, start: u64) -> PathBuf {
    dir.join(format!("{start:020}"))
}

#[cfg(test)]
mod tests {
    use super::ProbeLog;

    #[test]
    fn appends_land_back_to_back_and_a_full_segment_rolls_over() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = ProbeLog::create(dir.path(), 4096, false).unwrap();
        log.append(&[1u8; 3000]).unwrap();
        log.append(&[2u8; 1000]).unwrap();
        let mut expected = vec![1u8; 3000];
        expected.extend_from_slice(&[2u8; 1000]);
        assert_eq!(log.current_segment(), expected);
        log.append(&[3u8; 200]).unwrap();
        assert_eq!(log.current_segment(), vec![3u8; 200]);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "the full segment is gone"
        );
        assert!(log.append(&[0u8; 5000]).is_err());
        log.remove().unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
