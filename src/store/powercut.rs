//! Test-only power-cut simulator: records what each sync of the store made durable under a
//! *tracked* directory, and on [`cut`] rewrites that directory into a state a real power cut
//! could have left (compiled only under `cfg(test)`; no device-mapper needed).
//!
//! The store's real sync points call the hooks below (one `#[cfg(test)]` line each, in
//! `segment` and `durable_file`); with nothing tracked a hook costs one atomic load. Everything
//! is keyed by tracked root, so parallel tests with their own temp dirs never see each other.
//!
//! What the model says is durable (page = 4 KiB):
//!
//! * [`Segment::create`](super::segment::Segment::create): the file, all zeros, once the
//!   directory fsync that follows its rename is done.
//! * `Segment::flush` (msync of a range) and `Segment::sync` (fdatasync): the content of every
//!   page the range touches, read *before* the sync is issued (bytes written while it runs may
//!   or may not have made it, so they count as not durable: the model errs on the harsh side).
//! * `durable_file::write`: the new content, atomically, once the directory fsync after its
//!   rename is done; before that a cut may bring back the previous content.
//! * Namespace operations (segment creation, replacement of a small file, unlink) are kept in
//!   one ordered journal per root, as ext4 and xfs do; a directory fsync anywhere under the root
//!   commits every earlier one. An unlink (`Segment::delete_file`, which syncs no directory) is
//!   therefore *not* durable at once: a cut keeps a seeded prefix of the uncommitted
//!   operations and undoes the rest, so an unlinked file can come back (with its content as of
//!   the unlink, settled page by page as below) and a created one can vanish.
//! * Directories are durable at once; file sizes never change (segments are preallocated).
//! * Files the store writes without any sync (the `abort` marker, leftovers of an interrupted
//!   replace) are not durable: a cut may drop them or keep them with any subset of their pages
//!   zeroed.
//!
//! What [`cut`] does with a page that changed since it was last made durable: a seeded coin
//! keeps the current content (the kernel may have written it back on its own) or restores the
//! durable one. The coin is a hash of the seed, the file's path under the root and the page
//! number, so a seed and given file contents always give the same result. The seed also picks a
//! style: *harsh* (nothing unsynced survives, every uncommitted namespace operation undone),
//! *gentle* (everything survives: a process crash) or *random* (each coin with probability ½,
//! or with a probability drawn from the seed, and a random journal prefix). After a cut the
//! root's record restarts from what is on disk: all of it counts as durable.
//!
//! Limits: the simulator trusts the hooks to see every sync; `Segment::open_extending` (a
//! repair path for files cut short by hand) is not hooked; whatever is on disk when a root
//! starts being tracked counts as durable; a cut must only be taken once the node's
//! process-equivalent is gone (no mapping of the root's files still written to). Hooks read
//! through the file descriptor (`pread`), never the mapping, so a racing writer only makes the
//! recorded page newer or older, never undefined.

use crate::common::sync::lock;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

/// The granularity of write-back.
const PAGE: u64 = 4096;

/// How many roots are tracked: the hooks' cheap check.
static TRACKED: AtomicUsize = AtomicUsize::new(0);

/// Tracked roots and what was made durable under each.
static ROOTS: LazyLock<Mutex<HashMap<PathBuf, Arc<Mutex<Root>>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// What is durable under one tracked root.
#[derive(Default)]
struct Root {
    /// By path relative to the root.
    files: HashMap<PathBuf, Tracked>,
    /// Namespace operations no directory fsync has committed yet, oldest first.
    pending: Vec<NsOp>,
    /// A hook that could not read a file: the record is incomplete, [`cut`] reports it.
    error: Option<String>,
}

/// One file whose durable content is known.
struct Tracked {
    /// The inode: a hook called through a stale handle (a deleted segment still mapped by a
    /// reader) must not record into the file that now has the name.
    ino: u64,
    content: Durable,
}

enum Durable {
    /// A file of `len` bytes: its durable pages that are not all zeros; every other page is
    /// durably zero.
    Pages {
        len: u64,
        pages: HashMap<u64, Box<[u8]>>,
    },
    /// A file replaced atomically, whole.
    Whole(Vec<u8>),
}

enum NsOp {
    /// A file got its name (all zeros durable, pages as recorded since).
    Create { rel: PathBuf },
    /// A small file replaced by rename; undoing it brings back `previous` (or no file).
    Replace {
        rel: PathBuf,
        previous: Option<Vec<u8>>,
    },
    /// A file unlinked: undoing it brings the file back, settled from `current` (its content at
    /// the unlink) against what was durable of it.
    Unlink {
        rel: PathBuf,
        tracked: Option<Tracked>,
        current: Vec<u8>,
    },
}

impl Root {
    /// Everything now under `root` counts as durable.
    fn baseline(root: &Path) -> io::Result<Root> {
        let mut files = HashMap::new();
        for path in walk(root)? {
            // A running node may replace or delete a file meanwhile: it is gone from the record.
            let read = fs::read(&path).and_then(|b| Ok((b, fs::symlink_metadata(&path)?.ino())));
            let (bytes, ino) = match read {
                Ok(x) => x,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let rel = path.strip_prefix(root).map_err(io::Error::other)?;
            let mut pages = HashMap::new();
            put_pages(&mut pages, 0, &bytes);
            let len = bytes.len() as u64;
            files.insert(
                rel.to_path_buf(),
                Tracked {
                    ino,
                    content: Durable::Pages { len, pages },
                },
            );
        }
        Ok(Root {
            files,
            ..Root::default()
        })
    }

    fn fail(&mut self, path: &Path, e: &io::Error) {
        if self.error.is_none() {
            self.error = Some(format!("{}: {e}", path.display()));
        }
    }

    /// Records `[from, to)` (page-aligned) of `file`, known as `rel`, as durable now.
    fn record_pages(&mut self, path: &Path, rel: &Path, file: &File, from: u64, to: u64) {
        let Ok(ino) = file.metadata().map(|m| m.ino()) else {
            return;
        };
        let Some(Tracked {
            ino: tracked_ino,
            content: Durable::Pages { pages, .. },
        }) = self.files.get_mut(rel)
        else {
            return;
        };
        if *tracked_ino != ino {
            return;
        }
        match read_range(file, from, to) {
            Ok(bytes) => put_pages(pages, from / PAGE, &bytes),
            Err(e) => self.fail(path, &e),
        }
    }
}

impl Tracked {
    /// The whole durable content.
    fn durable(&self) -> Vec<u8> {
        match &self.content {
            Durable::Whole(bytes) => bytes.clone(),
            Durable::Pages { len, .. } => self.durable_bytes(*len),
        }
    }

    /// The durable content, `len` bytes long for paged files.
    fn durable_bytes(&self, len: u64) -> Vec<u8> {
        match &self.content {
            Durable::Whole(bytes) => bytes.clone(),
            Durable::Pages { pages, .. } => {
                let mut out = vec![0u8; len as usize];
                for (p, page) in pages {
                    let at = (p * PAGE) as usize;
                    if at < out.len() {
                        let n = page.len().min(out.len() - at);
                        out[at..at + n].copy_from_slice(&page[..n]);
                    }
                }
                out
            }
        }
    }
}

/// Stores the non-zero pages of `bytes` (page `first` onwards) and forgets the zero ones.
fn put_pages(pages: &mut HashMap<u64, Box<[u8]>>, first: u64, bytes: &[u8]) {
    for (k, chunk) in bytes.chunks(PAGE as usize).enumerate() {
        let p = first + k as u64;
        if chunk.iter().all(|&b| b == 0) {
            pages.remove(&p);
        } else {
            pages.insert(p, chunk.into());
        }
    }
}

/// Reads `[from, to)` of `file`, clipped to its length.
fn read_range(file: &File, from: u64, to: u64) -> io::Result<Vec<u8>> {
    let len = file.metadata()?.len();
    let to = to.min(len);
    if from >= to {
        return Ok(Vec::new());
    }
    let mut buf = vec![0u8; (to - from) as usize];
    file.read_exact_at(&mut buf, from)?;
    Ok(buf)
}

/// Every regular file under `dir`, recursively (none if `dir` does not exist).
fn walk(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let kind = match entry.file_type() {
                Ok(k) => k,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The tracked root holding `path`, and `path` relative to it.
fn root_of(path: &Path) -> Option<(Arc<Mutex<Root>>, PathBuf)> {
    if TRACKED.load(Ordering::Acquire) == 0 {
        return None;
    }
    let roots = lock(&ROOTS);
    roots.iter().find_map(|(root, state)| {
        let rel = path.strip_prefix(root).ok()?;
        Some((state.clone(), rel.to_path_buf()))
    })
}

// ---- hooks, called from the store's sync points ----

/// `Segment::create`, after the rename: a new all-zero file whose name is durable once the
/// directory fsync that follows commits it.
pub(crate) fn created(path: &Path, file: &File) {
    let Some((root, rel)) = root_of(path) else {
        return;
    };
    let mut root = lock(&root);
    match file.metadata() {
        Ok(m) => {
            let content = Durable::Pages {
                len: m.len(),
                pages: HashMap::new(),
            };
            let ino = m.ino();
            tracing::trace!(?rel, thread = ?std::thread::current().name(), "powercut: created");
            root.files.insert(rel.clone(), Tracked { ino, content });
            root.pending.push(NsOp::Create { rel });
        }
        Err(e) => root.fail(path, &e),
    }
}

/// `Segment::flush(off, len)`, before the msync: the pages it touches are durable as they are.
pub(crate) fn flushing(path: &Path, file: &File, off: u64, len: u64) {
    let Some((root, rel)) = root_of(path) else {
        return;
    };
    let from = off / PAGE * PAGE;
    let to = off.saturating_add(len).div_ceil(PAGE) * PAGE;
    lock(&root).record_pages(path, &rel, file, from, to);
}

/// `Segment::sync`, before the fdatasync: every page of the file is durable as it is.
pub(crate) fn syncing(path: &Path, file: &File) {
    let Some((root, rel)) = root_of(path) else {
        return;
    };
    lock(&root).record_pages(path, &rel, file, 0, u64::MAX);
}

/// `Segment::delete_file`, before the unlink: not durable until a directory fsync.
pub(crate) fn unlinking(path: &Path, file: &File) {
    let Some((root, rel)) = root_of(path) else {
        return;
    };
    let mut root = lock(&root);
    let current = match read_range(file, 0, u64::MAX) {
        Ok(bytes) => bytes,
        Err(e) => return root.fail(path, &e),
    };
    let ino = file.metadata().map(|m| m.ino()).ok();
    let tracked = match root.files.get(&rel) {
        Some(t) if Some(t.ino) == ino => root.files.remove(&rel),
        _ => None,
    };
    tracing::trace!(?rel, thread = ?std::thread::current().name(), "powercut: unlinking");
    root.pending.push(NsOp::Unlink {
        rel,
        tracked,
        current,
    });
}

/// `durable_file::write`, after the rename of the fsynced temporary file: `bytes` are durable
/// under `path` once a directory fsync commits the rename.
pub(crate) fn replaced(path: &Path, bytes: &[u8]) {
    let Some((root, rel)) = root_of(path) else {
        return;
    };
    let mut root = lock(&root);
    let ino = match fs::symlink_metadata(path) {
        Ok(m) => m.ino(),
        Err(e) => return root.fail(path, &e),
    };
    let previous = root.files.remove(&rel).map(|t| t.durable());
    root.files.insert(
        rel.clone(),
        Tracked {
            ino,
            content: Durable::Whole(bytes.to_vec()),
        },
    );
    root.pending.push(NsOp::Replace { rel, previous });
}

/// `sync_parent_dir`, after the fsync of `dir`: every earlier namespace operation under the
/// root is committed (one ordered journal).
pub(crate) fn dir_synced(dir: &Path) {
    if let Some((root, _)) = root_of(dir) {
        lock(&root).pending.clear();
    }
}

// ---- tests' side ----

/// Keeps `root` tracked until dropped.
#[must_use = "the root is tracked only while this lives"]
#[derive(Debug)]
pub(crate) struct Tracking {
    root: PathBuf,
}

impl Drop for Tracking {
    fn drop(&mut self) {
        if lock(&ROOTS).remove(&self.root).is_some() {
            TRACKED.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Starts recording syncs under `root`; what is on disk there now counts as durable.
pub(crate) fn track(root: &Path) -> io::Result<Tracking> {
    let state = Root::baseline(root)?;
    let mut roots = lock(&ROOTS);
    if roots
        .keys()
        .any(|r| r.starts_with(root) || root.starts_with(r))
    {
        return Err(io::Error::other(format!(
            "{} overlaps a tracked root",
            root.display()
        )));
    }
    roots.insert(root.to_path_buf(), Arc::new(Mutex::new(state)));
    TRACKED.fetch_add(1, Ordering::AcqRel);
    Ok(Tracking {
        root: root.to_path_buf(),
    })
}

mod campaign;
mod cut;
mod tests;

pub(crate) use campaign::{Campaign, Tally};
pub(crate) use cut::{Style, cut, same_style, style_of};
