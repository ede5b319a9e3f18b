//! A real, small filesystem for tests of a full disk: a tmpfs of a few hundred KiB mounted on
//! a fresh temporary directory (root only; CI runs as root) and unmounted when dropped.
//! `posix_fallocate` and writes on it fail with ENOSPC exactly as on a full data disk.

use std::path::Path;
use std::process::Command;

/// A mounted tmpfs of a fixed size; see the module docs.
pub(crate) struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `bytes`, or says why it cannot (not root, no `mount`): callers then
    /// print that and skip, since nothing else can fill a disk for real.
    pub(crate) fn mount(bytes: u64) -> Result<SmallDisk, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .map_err(|e| format!("mount: {e}"))?;
        if !status.success() {
            return Err(format!("mount -t tmpfs failed ({status}); not root?"));
        }
        Ok(SmallDisk { dir })
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}
