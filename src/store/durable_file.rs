//! Small files replaced atomically: write a temporary file, fsync it, rename it over the old
//! one, fsync the directory. A reader sees the old content or the new one, never a mix.
//!
//! Used by the node meta file and the store checkpoint. Each file is `magic u32 | length u32 |
//! payload | crc32 of everything before`, so a damaged file is reported, not misread.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

use super::error::{StoreError, StoreResult};
use super::segment::sync_parent_dir;

/// Replaces `path` with `magic` + `payload`, durably.
pub(crate) fn write(path: &Path, magic: u32, payload: &[u8]) -> StoreResult<()> {
    let mut bytes = Vec::with_capacity(payload.len() + 12);
    bytes.extend_from_slice(&magic.to_le_bytes());
    let len = u32::try_from(payload.len())
        .map_err(|_| StoreError::Refused(format!("{}: payload too large", path.display())))?;
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.extend_from_slice(payload);
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());

    let tmp = path.with_extension("tmp");
    let mut file: File = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| StoreError::io(&tmp, e))?;
    file.write_all(&bytes)
        .map_err(|e| StoreError::io(&tmp, e))?;
    file.sync_all().map_err(|e| StoreError::io(&tmp, e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| StoreError::io(path, e))?;
    #[cfg(test)]
    super::powercut::replaced(path, &bytes);
    sync_parent_dir(path)
}

/// Reads the payload of `path`; `None` if the file does not exist. A file with the wrong magic,
/// length or crc is reported as corrupt.
pub(crate) fn read(path: &Path, magic: u32) -> StoreResult<Option<Vec<u8>>> {
    Ok(read_versioned(path, &[magic])?.map(|(_, payload)| payload))
}

/// [`read`] for a file whose layout changed over versions: any magic of `magics` is accepted
/// and returned with the payload, so the caller decodes the layout that magic names.
pub(crate) fn read_versioned(path: &Path, magics: &[u32]) -> StoreResult<Option<(u32, Vec<u8>)>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(path, e)),
    };
    if bytes.len() < 12 {
        return Err(StoreError::corrupt(path, 0, "file shorter than its frame"));
    }
    let word =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let magic = word(0);
    if !magics.contains(&magic) {
        return Err(StoreError::corrupt(path, 0, "bad magic"));
    }
    let len = word(4) as usize;
    if bytes.len() != len + 12 {
        return Err(StoreError::corrupt(
            path,
            4,
            "length does not match the file size",
        ));
    }
    if word(8 + len) != crc32fast::hash(&bytes[..8 + len]) {
        return Err(StoreError::corrupt(path, (8 + len) as u64, "crc mismatch"));
    }
    Ok(Some((magic, bytes[8..8 + len].to_vec())))
}

/// Little-endian field reader over a payload, failing (not panicking) when it runs short.
pub(crate) struct Fields<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Fields { bytes, at: 0 }
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        let b = self.bytes.get(self.at..self.at + 8)?;
        self.at += 8;
        let mut x = [0u8; 8];
        x.copy_from_slice(b);
        Some(u64::from_le_bytes(x))
    }

    /// An optional u64 written by [`put_opt`]: a presence byte, then the value.
    pub(crate) fn opt_u64(&mut self) -> Option<Option<u64>> {
        match self.u8()? {
            0 => {
                self.u64()?;
                Some(None)
            }
            1 => Some(Some(self.u64()?)),
            _ => None,
        }
    }
}

/// Appends an optional u64 as a presence byte and the value (zero when absent).
pub(crate) fn put_opt(out: &mut Vec<u8>, v: Option<u64>) {
    out.push(u8::from(v.is_some()));
    out.extend_from_slice(&v.unwrap_or(0).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_payload_reads_back_and_damage_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta");
        assert_eq!(read(&path, 7).unwrap(), None);
        write(&path, 7, b"payload").unwrap();
        assert_eq!(read(&path, 7).unwrap(), Some(b"payload".to_vec()));
        write(&path, 7, b"second").unwrap();
        assert_eq!(read(&path, 7).unwrap(), Some(b"second".to_vec()));
        assert!(read(&path, 8).is_err());
        let mut bytes = fs::read(&path).unwrap();
        bytes[9] ^= 0x40;
        fs::write(&path, &bytes).unwrap();
        let err = read(&path, 7).unwrap_err().to_string();
        assert!(err.contains("crc"), "{err}");
        fs::write(&path, b"abc").unwrap();
        assert!(read(&path, 7).is_err());
    }
}
