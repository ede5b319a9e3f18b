//! Each node's disk: a small tmpfs mounted for the run (so filling it is a real full disk,
//! with ENOSPC from `fallocate` and writes), filled and freed by the nemesis, and the two
//! corruptions it makes in a stopped node's commitlog: bytes flipped in the middle of the
//! oldest segment, and a torn tail (the last written page of the newest segment zeroed).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

const FILLER: &str = "chaos-filler";

/// Mounts a tmpfs of `bytes` on `dir` (created if missing).
pub fn mount(dir: &Path, bytes: u64) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
        .arg(dir)
        .status()
        .map_err(|e| format!("mount: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "mount -t tmpfs on {} failed ({status})",
            dir.display()
        ))
    }
}

/// Unmounts `dir` (quiet: it may not be mounted).
pub fn unmount(dir: &Path) {
    let _ = Command::new("umount").arg("-l").arg(dir).status();
}

/// Writes a filler file on the disk of `dir` until the disk is full; returns the bytes written.
pub fn fill(dir: &Path) -> Result<u64, String> {
    let path = dir.join(FILLER);
    let mut file = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let chunk = vec![0x5a_u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
    Ok(written)
}

/// Removes the filler (the disk has room again).
pub fn free(dir: &Path) -> Result<(), String> {
    let path = dir.join(FILLER);
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// The commitlog segments under `store`, oldest first (named by their start offset).
fn segments(store: &Path) -> Vec<PathBuf> {
    let mut found: Vec<(u64, PathBuf)> = fs::read_dir(store.join("commitlog"))
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let path = e.ok()?.path();
            let start = path.file_name()?.to_str()?.parse().ok()?;
            Some((start, path))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

/// Length of the written part of `path`: up to its last non-zero byte.
fn written_len(path: &Path) -> Result<u64, String> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(bytes
        .iter()
        .rposition(|b| *b != 0)
        .map_or(0, |p| p as u64 + 1))
}

fn overwrite(path: &Path, at: u64, bytes: &[u8]) -> Result<(), String> {
    let mut file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.seek(SeekFrom::Start(at))
        .and_then(|_| file.write_all(bytes))
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Flips 16 bytes in the middle of the written part of the oldest segment; says where.
pub fn corrupt_middle(store: &Path) -> Result<String, String> {
    let oldest = segments(store)
        .into_iter()
        .next()
        .ok_or_else(|| format!("{}: no commitlog segment", store.display()))?;
    let len = written_len(&oldest)?;
    if len < 64 {
        return Err(format!("{}: only {len} bytes written", oldest.display()));
    }
    let at = len / 2;
    let mut bytes = vec![0u8; 16];
    File::open(&oldest)
        .and_then(|mut f| {
            f.seek(SeekFrom::Start(at))
                .and_then(|_| f.read_exact(&mut bytes))
        })
        .map_err(|e| format!("{}: {e}", oldest.display()))?;
    bytes.iter_mut().for_each(|b| *b ^= 0xff);
    overwrite(&oldest, at, &bytes)?;
    Ok(format!("16 bytes flipped at {at} of {}", oldest.display()))
}

/// Zeroes the last written 4 KiB page of the newest segment (a write torn by a power cut);
/// says where.
pub fn tear_tail(store: &Path) -> Result<String, String> {
    let newest = segments(store)
        .into_iter()
        .rev()
        .find(|p| written_len(p).is_ok_and(|n| n > 0))
        .ok_or_else(|| format!("{}: no written commitlog segment", store.display()))?;
    let len = written_len(&newest)?;
    let at = (len - 1) / 4096 * 4096;
    let zeros = vec![0u8; usize::try_from(len - at).unwrap_or(4096)];
    overwrite(&newest, at, &zeros)?;
    Ok(format!("bytes {at}..{len} zeroed in {}", newest.display()))
}
