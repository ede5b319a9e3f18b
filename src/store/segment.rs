//! `Segment`: one fixed-size, preallocated, memory-mapped file. With `sys`, the only `unsafe`
//! code of the crate: here, the raw reads and writes of the mapping.
//!
//! Every file kind of the store (commitlog segments, raft index files, consume-queue files) is a
//! list of segments. A segment is split by its *published* watermark:
//!
//! * bytes `[0, published)` are readable by anyone holding the segment; they change only under
//!   the exclusive `gate` (stamping a queue offset into an applied message, lowering the
//!   watermark on truncation), which readers hold shared while they look;
//! * bytes `[published, size)` belong to the single writer (serialised by `writer`), and no reader
//!   ever looks at them.
//!
//! That split is what makes the raw-pointer reads and writes below free of data races. Space is
//! reserved with `posix_fallocate` before the file gets its final name and is mapped, so a full
//! disk shows up as [`StoreError::DiskFull`] at creation and never as a SIGBUS while writing; a
//! file whose size is not the segment size is refused at open for the same reason. Deleting a
//! segment only unlinks the file: the mapping lives until the last `Arc<Segment>` (a reader in
//! the middle of a copy, say) is dropped.

#![allow(unsafe_code)]

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

use memmap2::{Advice, MmapRaw};

use super::error::{StoreError, StoreResult};
use super::sys::{page_size, reserve, zero_range_on_disk};

/// Ranges at least this long are zeroed with `fallocate(FALLOC_FL_ZERO_RANGE)` instead of memset,
/// so cutting a large tail does not dirty (and later write back) every page of it.
const ZERO_RANGE_THRESHOLD: u64 = 1 << 20;

/// One memory-mapped file of a fixed size, covering absolute offsets `[start, start + size)`.
#[derive(Debug)]
pub(crate) struct Segment {
    path: PathBuf,
    start: u64,
    size: u64,
    file: File,
    map: MmapRaw,
    /// Relative offset up to which the bytes are readable.
    published: AtomicU64,
    /// Held shared by readers; held exclusively to change bytes below `published`.
    gate: RwLock<()>,
    /// Serialises writers of the unpublished part.
    writer: Mutex<()>,
}

impl Segment {
    /// Creates the segment file `path` of `size` bytes, reserving its space on disk first.
    ///
    /// The file is built under a temporary name and renamed into place once fully reserved and
    /// synced, so a file with a segment name always has the full size.
    ///
    /// A creation that fails (a full disk, no file descriptor left) removes its temporary file,
    /// so a partly reserved file never keeps the space a retry needs.
    pub(crate) fn create(path: &Path, start: u64, size: u64) -> StoreResult<Segment> {
        let tmp = path.with_extension("creating");
        let created = (|| {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)
                .map_err(|e| StoreError::io(&tmp, e))?;
            reserve(&file, &tmp, 0, size)?;
            file.sync_all().map_err(|e| StoreError::io(&tmp, e))?;
            Ok(file)
        })();
        let file = match created {
            Ok(file) => file,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        fs::rename(&tmp, path).map_err(|e| StoreError::io(path, e))?;
        #[cfg(test)]
        super::powercut::created(path, &file);
        sync_parent_dir(path)?;
        Self::map(path, start, size, file)
    }

    /// Opens an existing segment file, which must be exactly `size` bytes long.
    pub(crate) fn open(path: &Path, start: u64, size: u64) -> StoreResult<Segment> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| StoreError::io(path, e))?;
        let len = file.metadata().map_err(|e| StoreError::io(path, e))?.len();
        if len != size {
            return Err(StoreError::BadSegment {
                path: path.to_path_buf(),
                reason: format!("file is {len} bytes, the segment size is {size}"),
            });
        }
        Self::map(path, start, size, file)
    }

    /// Opens the last segment of a list: a file cut short (by hand, or by a filesystem that
    /// lost the end of a preallocation) is extended back to `size`; the missing bytes read as
    /// zeros and recovery treats them as the end of the log.
    pub(crate) fn open_extending(path: &Path, start: u64, size: u64) -> StoreResult<Segment> {
        let len = fs::metadata(path)
            .map_err(|e| StoreError::io(path, e))?
            .len();
        if len < size {
            tracing::warn!(path = %path.display(), len, size, "segment file is short; extending it");
            let file = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| StoreError::io(path, e))?;
            reserve(&file, path, len, size - len)?;
            file.sync_all().map_err(|e| StoreError::io(path, e))?;
        }
        Self::open(path, start, size)
    }

    fn map(path: &Path, start: u64, size: u64, file: File) -> StoreResult<Segment> {
        let len = usize::try_from(size).map_err(|_| StoreError::BadSegment {
            path: path.to_path_buf(),
            reason: format!("segment size {size} does not fit in memory"),
        })?;
        let map = memmap2::MmapOptions::new()
            .len(len)
            .map_raw(&file)
            .map_err(|e| StoreError::io(path, e))?;
        Ok(Segment {
            path: path.to_path_buf(),
            start,
            size,
            file,
            map,
            published: AtomicU64::new(0),
            gate: RwLock::new(()),
            writer: Mutex::new(()),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Absolute offset of the first byte.
    pub(crate) fn start(&self) -> u64 {
        self.start
    }

    /// Absolute offset one past the last byte.
    pub(crate) fn end(&self) -> u64 {
        self.start + self.size
    }

    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Relative offset up to which bytes are readable.
    pub(crate) fn published(&self) -> u64 {
        self.published.load(Ordering::Acquire)
    }

    /// Makes `[0, upto)` readable. Only ever moves the watermark forward.
    pub(crate) fn publish(&self, upto: u64) {
        let upto = upto.min(self.size);
        self.published.fetch_max(upto, Ordering::AcqRel);
    }

    /// Lowers the watermark to `to`, waiting for readers that are looking at the bytes it hides.
    pub(crate) fn unpublish(&self, to: u64) {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let _gate = self.gate.write().unwrap_or_else(PoisonError::into_inner);
        if to < self.published.load(Ordering::Acquire) {
            self.published.store(to, Ordering::Release);
        }
    }

    /// Copies `data` to relative offset `off`, which must lie in the unpublished part.
    pub(crate) fn write(&self, off: u64, data: &[u8]) -> StoreResult<()> {
        self.write_parts(off, &[data])
    }

    /// Copies `parts` back to back from relative offset `off`, all in the unpublished part:
    /// a record's header, body and padding go straight into the map, with no staging copy.
    pub(crate) fn write_parts(&self, off: u64, parts: &[&[u8]]) -> StoreResult<()> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let total: u64 = parts.iter().map(|p| p.len() as u64).sum();
        self.check_writable(off, total)?;
        let mut at = off as usize;
        for part in parts {
            // SAFETY: `off + total <= size` (checked), so every part's destination lies inside
            // the mapping. The range is at or past `published`, which no reader touches, and
            // `writer` excludes every other writer of the unpublished part.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    part.as_ptr(),
                    self.map.as_mut_ptr().add(at),
                    part.len(),
                );
            }
            at += part.len();
        }
        Ok(())
    }

    /// Overwrites already published bytes (stamping a field of an applied record).
    pub(crate) fn rewrite_published(&self, off: u64, data: &[u8]) -> StoreResult<()> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let _gate = self.gate.write().unwrap_or_else(PoisonError::into_inner);
        let end = off.checked_add(data.len() as u64);
        if end.is_none_or(|end| end > self.published.load(Ordering::Acquire)) {
            return Err(StoreError::Refused(format!(
                "{}: rewrite of {} bytes at {off} is outside the published part",
                self.path.display(),
                data.len()
            )));
        }
        // SAFETY: the range is inside the published part, hence inside the mapping; the
        // exclusive gate keeps every reader out and `writer` every other writer.
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                self.map.as_mut_ptr().add(off as usize),
                data.len(),
            );
        }
        Ok(())
    }

    /// Zeroes `[off, off + len)`, which must lie in the unpublished part. Large ranges are
    /// zeroed by the filesystem (extents turned back into unwritten space, still reserved).
    pub(crate) fn zero(&self, off: u64, len: u64) -> StoreResult<()> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        self.check_writable(off, len)?;
        let mut memset_ranges = [(off, len), (0, 0)];
        if len >= ZERO_RANGE_THRESHOLD {
            let page = page_size();
            let first = off.div_ceil(page) * page;
            let last = (off + len) / page * page;
            if last > first && zero_range_on_disk(&self.file, first, last - first) {
                memset_ranges = [(off, first - off), (last, off + len - last)];
            }
        }
        for (at, n) in memset_ranges {
            if n == 0 {
                continue;
            }
            // SAFETY: `[at, at + n)` is a sub-range of `[off, off + len)`, checked above to be
            // inside the mapping and unpublished, with `writer` held: no one else touches it.
            unsafe {
                std::ptr::write_bytes(self.map.as_mut_ptr().add(at as usize), 0, n as usize);
            }
        }
        Ok(())
    }

    /// Calls `f` with the published bytes `[off, off + len)`, or returns `None` if any of them is
    /// not published. Writers of those bytes wait until `f` returns.
    pub(crate) fn with_published<R>(
        &self,
        off: u64,
        len: u64,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Option<R> {
        let _gate = self.gate.read().unwrap_or_else(PoisonError::into_inner);
        let end = off.checked_add(len)?;
        if end > self.published.load(Ordering::Acquire) {
            return None;
        }
        // SAFETY: `[off, end)` is published, hence inside the mapping; published bytes only
        // change under the exclusive gate, and we hold it shared until the slice is gone.
        let bytes = unsafe {
            std::slice::from_raw_parts(self.map.as_ptr().add(off as usize), len as usize)
        };
        Some(f(bytes))
    }

    /// Makes `[off, off + len)` durable (`msync(MS_SYNC)`, i.e. written back and waited for).
    pub(crate) fn flush(&self, off: u64, len: u64) -> StoreResult<()> {
        if len == 0 {
            return Ok(());
        }
        let end = off.saturating_add(len).min(self.size);
        if off >= end {
            return Ok(());
        }
        #[cfg(test)]
        super::powercut::flushing(&self.path, &self.file, off, end - off);
        self.map
            .flush_range(off as usize, (end - off) as usize)
            .map_err(|e| StoreError::io(&self.path, e))
    }

    /// `fdatasync` of the whole file: data plus the metadata needed to read it back (used after
    /// zeroing with the filesystem, which changes extents).
    pub(crate) fn sync(&self) -> StoreResult<()> {
        #[cfg(test)]
        super::powercut::syncing(&self.path, &self.file);
        self.file
            .sync_data()
            .map_err(|e| StoreError::io(&self.path, e))
    }

    /// Pulls `[off, off + len)` into the page cache ahead of the writer, so appends do not stall
    /// on page faults (best effort: kernels without `MADV_POPULATE_READ` just skip it).
    pub(crate) fn prefault(&self, off: u64, len: u64) {
        let end = off.saturating_add(len).min(self.size);
        if off < end {
            // Errors only mean "not supported here"; the writer then faults pages in itself.
            let _ = self
                .map
                .advise_range(Advice::PopulateRead, off as usize, (end - off) as usize);
        }
    }

    /// Removes the file from the directory. The mapping stays valid for whoever still holds
    /// this segment; the space is freed when the last holder drops it.
    /// Whether the file at this segment's path is the one it maps (not unlinked or replaced).
    #[cfg(test)]
    pub(crate) fn file_is_linked(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (fs::metadata(&self.path), self.file.metadata()) {
            (Ok(on_disk), Ok(mapped)) => on_disk.ino() == mapped.ino(),
            _ => false,
        }
    }

    pub(crate) fn delete_file(&self) -> StoreResult<()> {
        #[cfg(test)]
        super::powercut::unlinking(&self.path, &self.file);
        match fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(&self.path, e)),
        }
    }

    fn check_writable(&self, off: u64, len: u64) -> StoreResult<()> {
        let end = off.checked_add(len);
        if off < self.published.load(Ordering::Acquire) || end.is_none_or(|end| end > self.size) {
            return Err(StoreError::Refused(format!(
                "{}: write of {len} bytes at {off} is outside the unpublished part",
                self.path.display()
            )));
        }
        Ok(())
    }
}

/// Makes a rename or unlink in `path`'s directory durable.
pub(crate) fn sync_parent_dir(path: &Path) -> StoreResult<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(dir, e))?;
    #[cfg(test)]
    super::powercut::dir_synced(dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_segment(dir: &Path, size: u64) -> Segment {
        Segment::create(&dir.join("00000000000000000000"), 0, size).unwrap()
    }

    #[test]
    fn created_segment_has_full_size_and_reads_nothing_unpublished() {
        let dir = tempfile::tempdir().unwrap();
        let seg = new_segment(dir.path(), 8192);
        assert_eq!(fs::metadata(seg.path()).unwrap().len(), 8192);
        seg.write(0, b"hello").unwrap();
        assert_eq!(seg.with_published(0, 5, |b| b.to_vec()), None);
        seg.publish(5);
        assert_eq!(
            seg.with_published(0, 5, |b| b.to_vec()),
            Some(b"hello".to_vec())
        );
    }

    #[test]
    fn writes_below_the_watermark_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let seg = new_segment(dir.path(), 4096);
        seg.write(0, b"abcd").unwrap();
        seg.publish(4);
        assert!(seg.write(2, b"zz").is_err());
        assert!(seg.write(4090, b"too long").is_err());
        seg.rewrite_published(1, b"XY").unwrap();
        assert_eq!(
            seg.with_published(0, 4, |b| b.to_vec()),
            Some(b"aXYd".to_vec())
        );
        assert!(seg.rewrite_published(3, b"XY").is_err());
    }

    #[test]
    fn unpublish_hides_bytes_and_lets_them_be_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let seg = new_segment(dir.path(), 4096);
        seg.write(0, b"abcdef").unwrap();
        seg.publish(6);
        seg.unpublish(3);
        assert_eq!(seg.published(), 3);
        assert_eq!(seg.with_published(0, 4, |_| ()), None);
        seg.zero(3, 3).unwrap();
        seg.publish(6);
        assert_eq!(
            seg.with_published(0, 6, |b| b.to_vec()),
            Some(b"abc\0\0\0".to_vec())
        );
    }

    #[test]
    fn zeroing_a_large_range_clears_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let size = 4 << 20;
        let seg = new_segment(dir.path(), size);
        seg.write(0, &vec![0xAB; size as usize]).unwrap();
        seg.zero(100, size - 200).unwrap();
        seg.publish(size);
        seg.with_published(0, size, |b| {
            assert!(b[..100].iter().all(|&x| x == 0xAB));
            assert!(b[100..(size - 100) as usize].iter().all(|&x| x == 0));
            assert!(b[(size - 100) as usize..].iter().all(|&x| x == 0xAB));
        })
        .unwrap();
    }

    #[test]
    fn open_refuses_a_file_of_the_wrong_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000000");
        fs::write(&path, b"short").unwrap();
        let err = Segment::open(&path, 0, 4096).unwrap_err();
        assert!(matches!(err, StoreError::BadSegment { .. }), "{err}");
    }

    #[test]
    fn data_survives_flush_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000004096");
        {
            let seg = Segment::create(&path, 4096, 4096).unwrap();
            seg.write(10, b"durable").unwrap();
            seg.flush(0, 4096).unwrap();
        }
        let seg = Segment::open(&path, 4096, 4096).unwrap();
        seg.publish(4096);
        assert_eq!(seg.start(), 4096);
        assert_eq!(seg.end(), 8192);
        assert_eq!(
            seg.with_published(10, 7, |b| b.to_vec()),
            Some(b"durable".to_vec())
        );
    }
}
