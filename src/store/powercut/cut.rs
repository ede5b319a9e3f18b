//! The cut itself: the seeded plan (style, coins per page, how much of the namespace journal
//! commits) and the rewrite of a tracked root into what a power cut could have left, then the
//! fresh baseline. The hooks that feed it are in the parent module.

use std::collections::HashSet;
use std::fmt;
use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use super::{Durable, NsOp, PAGE, ROOTS, Root, Tracked, lock, walk};

/// How a cut treats what was not made durable, drawn from the seed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Style {
    /// Nothing unsynced survives; every uncommitted namespace operation is undone.
    Harsh,
    /// Everything survives (a process crash, not a power cut).
    Gentle,
    /// Each unsynced page survives with this probability; a random journal prefix commits.
    Random(f64),
}

impl Style {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Style::Harsh => "harsh",
            Style::Gentle => "gentle",
            Style::Random(_) => "random",
        }
    }
}

/// What a cut did, for logs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CutSummary {
    pub(crate) style: Style,
    /// Uncommitted namespace operations undone (of `pending`).
    pub(crate) ops_undone: usize,
    pub(crate) pending: usize,
    /// Pages that changed since their last sync and got their durable content back.
    pub(crate) pages_reverted: usize,
    /// Pages that changed since their last sync and kept their current content.
    pub(crate) pages_kept: usize,
    /// Pages of never-synced files zeroed.
    pub(crate) pages_zeroed: usize,
    pub(crate) files_dropped: usize,
    pub(crate) files_restored: usize,
}

impl fmt::Display for CutSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?}: undid {}/{} namespace ops; pages reverted {} kept {} zeroed {}; files dropped {} restored {}",
            self.style,
            self.ops_undone,
            self.pending,
            self.pages_reverted,
            self.pages_kept,
            self.pages_zeroed,
            self.files_dropped,
            self.files_restored
        )
    }
}

/// The seeded decisions of one cut.
struct Plan {
    seed: u64,
    keep: f64,
}

impl Plan {
    fn new(seed: u64) -> (Plan, Style) {
        let style = match seed % 4 {
            0 => Style::Harsh,
            1 => Style::Gentle,
            2 => Style::Random(0.5),
            _ => Style::Random(unit(mix(seed ^ 0x5eed))),
        };
        let keep = match style {
            Style::Harsh => 0.0,
            Style::Gentle => 1.0,
            Style::Random(p) => p,
        };
        (Plan { seed, keep }, style)
    }

    /// How many of `n` pending namespace operations became durable.
    fn committed_ops(&self, style: Style, n: usize) -> usize {
        match style {
            Style::Harsh => 0,
            Style::Gentle => n,
            Style::Random(_) => (mix(self.seed ^ 0x0b5) % (n as u64 + 1)) as usize,
        }
    }

    /// Whether the unsynced change to page `page` of `rel` survives.
    fn keeps(&self, rel: &Path, page: u64) -> bool {
        let h = mix(self.seed ^ path_hash(rel) ^ mix(page.wrapping_add(0x9e37)));
        unit(h) < self.keep
    }

    /// Settles a file's content: each page that differs from its durable content is kept or
    /// reverted by a coin. The size stays `current`'s.
    fn settle(&self, rel: &Path, tracked: &Tracked, current: &[u8], s: &mut CutSummary) -> Vec<u8> {
        if let Durable::Whole(durable) = &tracked.content {
            if durable[..] == current[..] || self.keeps(rel, u64::MAX) {
                return current.to_vec();
            }
            s.pages_reverted += 1;
            return durable.clone();
        }
        let durable = tracked.durable_bytes(current.len() as u64);
        let mut out = current.to_vec();
        for (p, chunk) in current.chunks(PAGE as usize).enumerate() {
            let at = p * PAGE as usize;
            let old = &durable[at..at + chunk.len()];
            if old == chunk {
                continue;
            }
            if self.keeps(rel, p as u64) {
                s.pages_kept += 1;
            } else {
                s.pages_reverted += 1;
                out[at..at + chunk.len()].copy_from_slice(old);
            }
        }
        out
    }

    /// A file that was never made durable: dropped, or kept with some pages zeroed.
    fn unsynced(&self, rel: &Path, current: &[u8], s: &mut CutSummary) -> Option<Vec<u8>> {
        if !self.keeps(rel, u64::MAX - 1) {
            s.files_dropped += 1;
            return None;
        }
        let mut out = current.to_vec();
        for (p, chunk) in out.chunks_mut(PAGE as usize).enumerate() {
            if !self.keeps(rel, p as u64) && chunk.iter().any(|&b| b != 0) {
                chunk.fill(0);
                s.pages_zeroed += 1;
            }
        }
        Some(out)
    }
}

fn mix(mut z: u64) -> u64 {
    // splitmix64's finaliser: a well-spread hash of a u64.
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// FNV-1a of the path's bytes: stable across runs and temp dirs (the path is root-relative).
fn path_hash(rel: &Path) -> u64 {
    rel.as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Writes `bytes` over `path` in place where they differ (a file of the same length), else
/// replaces the file.
fn write_back(path: &Path, current: Option<&[u8]>, bytes: &[u8]) -> io::Result<()> {
    match current {
        Some(cur) if cur == bytes => Ok(()),
        Some(cur) if cur.len() == bytes.len() => {
            let file = OpenOptions::new().write(true).open(path)?;
            for (k, (new, old)) in bytes
                .chunks(PAGE as usize)
                .zip(cur.chunks(PAGE as usize))
                .enumerate()
            {
                if new != old {
                    file.write_all_at(new, k as u64 * PAGE)?;
                }
            }
            Ok(())
        }
        _ => {
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir)?;
            }
            fs::write(path, bytes)
        }
    }
}

/// Simulates a power cut under the tracked `root` (see the module docs), then restarts the
/// record from what is on disk. Call it only once nothing maps the root's files any more.
pub(crate) fn cut(root: &Path, seed: u64) -> io::Result<CutSummary> {
    let state = lock(&ROOTS)
        .get(root)
        .cloned()
        .ok_or_else(|| io::Error::other(format!("{} is not tracked", root.display())))?;
    let mut st = lock(&state);
    if let Some(e) = st.error.take() {
        return Err(io::Error::other(format!("a sync hook failed: {e}")));
    }
    let (plan, style) = Plan::new(seed);
    let pending = std::mem::take(&mut st.pending);
    let committed = plan.committed_ops(style, pending.len());
    let mut s = CutSummary {
        style,
        ops_undone: pending.len() - committed,
        pending: pending.len(),
        pages_reverted: 0,
        pages_kept: 0,
        pages_zeroed: 0,
        files_dropped: 0,
        files_restored: 0,
    };
    // Namespace first, newest first: each undone operation settles its path for good.
    let mut settled = HashSet::new();
    for op in pending.into_iter().skip(committed).rev() {
        match op {
            NsOp::Create { rel } => {
                remove_if_present(&root.join(&rel))?;
                s.files_dropped += 1;
                settled.insert(rel);
            }
            NsOp::Replace { rel, previous } => {
                match previous {
                    Some(bytes) => write_back(&root.join(&rel), None, &bytes)?,
                    None => remove_if_present(&root.join(&rel))?,
                }
                settled.insert(rel);
            }
            NsOp::Unlink {
                rel,
                tracked,
                current,
            } => {
                let path = root.join(&rel);
                let bytes = match &tracked {
                    Some(t) => Some(plan.settle(&rel, t, &current, &mut s)),
                    None => plan.unsynced(&rel, &current, &mut s),
                };
                match bytes {
                    Some(bytes) => {
                        write_back(&path, None, &bytes)?;
                        s.files_restored += 1;
                    }
                    None => remove_if_present(&path)?,
                }
                settled.insert(rel);
            }
        }
    }
    for path in walk(root)? {
        let rel = path.strip_prefix(root).map_err(io::Error::other)?;
        if settled.contains(rel) {
            continue;
        }
        let current = fs::read(&path)?;
        let ino = fs::symlink_metadata(&path)?.ino();
        match st.files.get(rel).filter(|t| t.ino == ino) {
            Some(t) => {
                let bytes = plan.settle(rel, t, &current, &mut s);
                write_back(&path, Some(&current), &bytes)?;
            }
            None => match plan.unsynced(rel, &current, &mut s) {
                Some(bytes) => write_back(&path, Some(&current), &bytes)?,
                None => fs::remove_file(&path)?,
            },
        }
    }
    *st = Root::baseline(root)?;
    tracing::info!(root = %root.display(), seed, summary = %s, "power cut");
    Ok(s)
}

/// The style [`cut`] uses for `seed`.
pub(crate) fn style_of(seed: u64) -> Style {
    Plan::new(seed).1
}

/// The `n`th seed derived from `seed` that has `seed`'s style (for the cuts of one run).
pub(crate) fn same_style(seed: u64, n: u64) -> u64 {
    seed ^ (n << 32)
}
