//! The few system calls std does not expose, each behind a safe function: space reservation
//! (`posix_fallocate`), zeroing extents (`fallocate`), the page size, disk usage (`statvfs`) and
//! the local hour (`localtime_r`, for `deleteWhen`). With `segment`, the only `unsafe` code of
//! the crate; every call passes only file descriptors, plain integers or memory we own.

#![allow(unsafe_code)]

use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::error::{StoreError, StoreResult};

/// Reserves `[off, off + len)` of `file` on disk (`posix_fallocate`).
pub(crate) fn reserve(file: &File, path: &Path, off: u64, len: u64) -> StoreResult<()> {
    let (Ok(off_t), Ok(len_t)) = (libc::off_t::try_from(off), libc::off_t::try_from(len)) else {
        return Err(StoreError::BadSegment {
            path: path.to_path_buf(),
            reason: format!("range {off}+{len} is too large"),
        });
    };
    // SAFETY: plain syscall wrapper on a file descriptor we own; no memory is passed.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), off_t, len_t) };
    match rc {
        0 => Ok(()),
        libc::ENOSPC => Err(StoreError::DiskFull {
            path: path.to_path_buf(),
            bytes: len,
        }),
        errno => Err(StoreError::io(
            path,
            std::io::Error::from_raw_os_error(errno),
        )),
    }
}

/// Asks the filesystem to zero a page-aligned range while keeping it allocated. Returns false
/// when the filesystem cannot (tmpfs, for one), in which case the caller writes the zeros.
pub(crate) fn zero_range_on_disk(file: &File, off: u64, len: u64) -> bool {
    let (Ok(off_t), Ok(len_t)) = (libc::off_t::try_from(off), libc::off_t::try_from(len)) else {
        return false;
    };
    // SAFETY: plain syscall wrapper on a file descriptor we own; the kernel keeps the shared
    // mapping coherent (it drops the page-cache pages of the range).
    let rc = unsafe {
        libc::fallocate(
            file.as_raw_fd(),
            libc::FALLOC_FL_ZERO_RANGE | libc::FALLOC_FL_KEEP_SIZE,
            off_t,
            len_t,
        )
    };
    rc == 0
}

pub(crate) fn page_size() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|&s| s > 0).unwrap_or(4096)
}

/// Fraction of the filesystem holding `path` that is in use, as `df` computes it (used blocks
/// over blocks available to unprivileged users plus used), in `0.0..=1.0`.
pub fn disk_used_ratio(path: &Path) -> StoreResult<f64> {
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| StoreError::io(path, std::io::Error::other("path contains a NUL byte")))?;
    // SAFETY: statvfs only writes into the struct we pass; an all-zero statvfs is a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c_path` is a valid NUL-terminated string and `st` a valid out-pointer.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(StoreError::io(path, std::io::Error::last_os_error()));
    }
    let used = st.f_blocks.saturating_sub(st.f_bfree) as f64;
    let usable = used + st.f_bavail as f64;
    Ok(if usable > 0.0 { used / usable } else { 0.0 })
}

/// The hour of day (0..=23) in the local time zone, as RocketMQ's `deleteWhen` reads it.
pub(crate) fn local_hour(at: std::time::SystemTime) -> u8 {
    let secs = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let t = libc::time_t::try_from(secs).unwrap_or(0);
    // SAFETY: localtime_r only writes into the struct we pass; an all-zero tm is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the duration of the call; localtime_r is reentrant.
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if ok {
        u8::try_from(tm.tm_hour).unwrap_or(0)
    } else {
        ((secs / 3600) % 24) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_usage_is_a_ratio() {
        let r = disk_used_ratio(Path::new("/")).unwrap();
        assert!((0.0..=1.0).contains(&r), "{r}");
        assert!(disk_used_ratio(Path::new("/no/such/dir")).is_err());
    }

    #[test]
    fn local_hour_is_an_hour() {
        assert!(local_hour(std::time::SystemTime::now()) < 24);
    }
}
