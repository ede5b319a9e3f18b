//! Retention: which whole commitlog segments may be deleted, by age, disk usage and a floor.
//!
//! RocketMQ's rules, applied to whole segments only (a partly needed segment always stays):
//!
//! | condition | segments that go |
//! | --- | --- |
//! | local hour is one of `deleteWhen`, or disk use ≥ `diskMaxUsedSpaceRatio` | the oldest segments whose last write is older than `fileReservedTime` |
//! | disk use ≥ `diskSpaceCleanForciblyRatio` | additionally the oldest segment even if not expired (one per check) |
//! | always | never the segment being written, never a record above the caller's floor |
//!
//! The floor is the highest raft index that may be purged: what every replica still needing
//! the log has (the slowest voter's matched index) and what the state machine has applied.
//! Planning is separate from purging: under Raft the purge goes through the consensus layer
//! (which then calls [`CommitLog::purge_upto`]); [`purge`] does it directly for a lone store.
//! Deleting a segment only unlinks it: a reader in the middle of a copy keeps its mapping.

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::commitlog::CommitLog;
use super::error::{StoreError, StoreResult};
use super::meta::LogId;
use super::sys;

/// When segments may go (from `fileReservedTime`, `deleteWhen`, the disk ratio keys).
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionPolicy {
    /// `fileReservedTime` (hours in the config; 72 by default).
    pub file_reserved: Duration,
    /// `deleteWhen`: local hours of the day at which expired segments are deleted ("04").
    pub delete_hours: Vec<u8>,
    /// `diskMaxUsedSpaceRatio` as a fraction (0.75): above it, expired segments go at once.
    pub disk_max_used_ratio: f64,
    /// `diskSpaceCleanForciblyRatio` as a fraction (0.85): above it, unexpired ones go too.
    pub disk_force_clean_ratio: f64,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            file_reserved: Duration::from_secs(72 * 3600),
            delete_hours: vec![4],
            disk_max_used_ratio: 0.75,
            disk_force_clean_ratio: 0.85,
        }
    }
}

/// The facts one retention check decides on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetentionCheck {
    pub now: SystemTime,
    /// Local hour of `now`, 0..=23.
    pub local_hour: u8,
    /// Disk use of the commitlog's filesystem, 0.0..=1.0.
    pub disk_used_ratio: f64,
    /// Highest raft index that may be purged; `None`: nothing may be.
    pub floor: Option<u64>,
}

impl RetentionCheck {
    /// Observes the clock and the disk holding `log` now.
    pub fn observe(dir: &Path, floor: Option<u64>) -> StoreResult<RetentionCheck> {
        let now = SystemTime::now();
        Ok(RetentionCheck {
            now,
            local_hour: sys::local_hour(now),
            disk_used_ratio: sys::disk_used_ratio(dir)?,
            floor,
        })
    }
}

/// Why segments were chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeReason {
    /// Expired, at a `deleteWhen` hour.
    Expired,
    /// Expired, and the disk is above `diskMaxUsedSpaceRatio`.
    DiskAboveMaxRatio,
    /// The disk is above `diskSpaceCleanForciblyRatio`: even unexpired data goes.
    DiskCritical,
}

/// The decision: purge up to `upto`, which deletes the `segments` oldest segment files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgePlan {
    pub upto: LogId,
    pub segments: usize,
    /// Commitlog offset of the first byte kept (derived data below it can go too).
    pub first_kept_position: u64,
    pub reason: PurgeReason,
}

/// Decides which whole segments may go now. Returns `None` when nothing may.
pub fn plan(
    log: &CommitLog,
    policy: &RetentionPolicy,
    check: &RetentionCheck,
) -> StoreResult<Option<PurgePlan>> {
    let Some(floor) = check.floor else {
        return Ok(None);
    };
    let segments = log.segments();
    let purged = log.log_state().last_purged;
    let at_delete_hour = policy.delete_hours.contains(&check.local_hour);
    // Above the ratios, as Java compares: a ratio of 100 % never triggers.
    let disk_high = check.disk_used_ratio > policy.disk_max_used_ratio;
    let disk_critical = check.disk_used_ratio > policy.disk_force_clean_ratio;
    let mut chosen: Option<PurgePlan> = None;
    // The last segment is the one being written: it never goes.
    for (k, window) in segments.windows(2).enumerate() {
        let ((_, path), (next_start, _)) = (&window[0], &window[1]);
        let Some(next_first) = log.first_record_in_segment(*next_start) else {
            break;
        };
        let Some(last_index) = next_first.index.checked_sub(1) else {
            break;
        };
        if last_index > floor {
            break;
        }
        let expired = modified(path)?
            .checked_add(policy.file_reserved)
            .is_some_and(|deadline| deadline <= check.now);
        let reason = match (expired, at_delete_hour, disk_high, disk_critical) {
            (_, _, _, true) => PurgeReason::DiskCritical,
            (true, _, true, false) => PurgeReason::DiskAboveMaxRatio,
            (true, true, false, false) => PurgeReason::Expired,
            _ => break,
        };
        if reason == PurgeReason::DiskCritical && !expired && chosen.is_some() {
            // Forcible deletion of unexpired data: one segment per check.
            break;
        }
        let term = match log.get(last_index)? {
            Some(r) => r.term(),
            None => match purged {
                Some(p) if p.index >= last_index => continue,
                _ => break,
            },
        };
        chosen = Some(PurgePlan {
            upto: LogId {
                term,
                index: last_index,
            },
            segments: k + 1,
            first_kept_position: *next_start,
            reason,
        });
        if reason == PurgeReason::DiskCritical && !expired {
            break;
        }
    }
    Ok(chosen)
}

/// Applies a plan directly to a store that is not under Raft control.
pub fn purge(log: &CommitLog, plan: &PurgePlan) -> StoreResult<()> {
    tracing::info!(upto = plan.upto.index, segments = plan.segments, reason = ?plan.reason, "retention purge");
    log.purge_upto(plan.upto)
}

fn modified(path: &Path) -> StoreResult<SystemTime> {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(|e| StoreError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{CommitLogOptions, NewEntry, RecordKind};

    const SEG: u64 = 8192;
    const HOUR: Duration = Duration::from_secs(3600);

    fn filled_log(root: &Path) -> CommitLog {
        let log = CommitLog::open(CommitLogOptions::in_dir(root, SEG)).unwrap();
        let body = vec![7u8; 1000];
        for i in 1..=40u64 {
            log.append(&[NewEntry {
                index: i,
                term: 1,
                kind: RecordKind::Admin,
                body: &body,
            }])
            .unwrap();
        }
        log
    }

    fn age_segments(log: &CommitLog, count: usize, age: Duration) {
        for (_, path) in log.segments().iter().take(count) {
            let f = std::fs::File::options().write(true).open(path).unwrap();
            f.set_modified(SystemTime::now() - age).unwrap();
        }
    }

    fn check(hour: u8, disk: f64, floor: Option<u64>) -> RetentionCheck {
        RetentionCheck {
            now: SystemTime::now(),
            local_hour: hour,
            disk_used_ratio: disk,
            floor,
        }
    }

    #[test]
    fn expired_segments_go_only_at_the_delete_hour() {
        let dir = tempfile::tempdir().unwrap();
        let log = filled_log(dir.path());
        let n = log.segments().len();
        assert!(n >= 5);
        age_segments(&log, 3, 100 * HOUR);
        let policy = RetentionPolicy::default();
        assert_eq!(
            plan(&log, &policy, &check(10, 0.1, Some(1000))).unwrap(),
            None
        );
        let p = plan(&log, &policy, &check(4, 0.1, Some(1000)))
            .unwrap()
            .unwrap();
        assert_eq!((p.segments, p.reason), (3, PurgeReason::Expired));
        let aged: Vec<std::path::PathBuf> = log
            .segments()
            .iter()
            .take(3)
            .map(|(_, p)| p.clone())
            .collect();
        purge(&log, &p).unwrap();
        // The purge waits for a flush, after which the next segment may be pre-created.
        assert!(aged.iter().all(|p| !p.exists()));
        assert!(log.segments().len() >= n - 3);
        assert_eq!(log.view().first, Some(p.upto.index + 1));
        assert_eq!(log.segments()[0].0, p.first_kept_position);
    }

    #[test]
    fn a_full_disk_deletes_expired_segments_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let log = filled_log(dir.path());
        age_segments(&log, 2, 100 * HOUR);
        let p = plan(
            &log,
            &RetentionPolicy::default(),
            &check(10, 0.80, Some(1000)),
        )
        .unwrap()
        .unwrap();
        assert_eq!((p.segments, p.reason), (2, PurgeReason::DiskAboveMaxRatio));
    }

    #[test]
    fn a_critical_disk_deletes_one_unexpired_segment_per_check() {
        let dir = tempfile::tempdir().unwrap();
        let log = filled_log(dir.path());
        let p = plan(
            &log,
            &RetentionPolicy::default(),
            &check(10, 0.90, Some(1000)),
        )
        .unwrap()
        .unwrap();
        assert_eq!((p.segments, p.reason), (1, PurgeReason::DiskCritical));
    }

    /// Found by the fault campaign: with `diskSpaceCleanForciblyRatio=100` a disk filled to
    /// the last byte still deleted unexpired segments. Java compares with `>` (above the
    /// ratio), so 100 never deletes and a disk exactly at a ratio is not above it.
    #[test]
    fn a_disk_exactly_at_a_ratio_is_not_above_it() {
        let dir = tempfile::tempdir().unwrap();
        let log = filled_log(dir.path());
        let never = RetentionPolicy {
            disk_max_used_ratio: 1.0,
            disk_force_clean_ratio: 1.0,
            ..RetentionPolicy::default()
        };
        assert_eq!(
            plan(&log, &never, &check(10, 1.0, Some(1000))).unwrap(),
            None
        );
        let at = plan(
            &log,
            &RetentionPolicy::default(),
            &check(10, 0.85, Some(1000)),
        )
        .unwrap();
        assert_eq!(at, None, "85 % is not above diskSpaceCleanForciblyRatio=85");
    }

    #[test]
    fn the_floor_and_the_active_segment_are_never_passed() {
        let dir = tempfile::tempdir().unwrap();
        let log = filled_log(dir.path());
        let n = log.segments().len();
        age_segments(&log, n, 100 * HOUR);
        let policy = RetentionPolicy::default();
        assert_eq!(plan(&log, &policy, &check(4, 0.99, None)).unwrap(), None);
        let all = plan(&log, &policy, &check(4, 0.1, Some(1000)))
            .unwrap()
            .unwrap();
        assert_eq!(all.segments, n - 1, "the segment being written stays");
        let floor = all.upto.index / 2;
        let some = plan(&log, &policy, &check(4, 0.1, Some(floor)))
            .unwrap()
            .unwrap();
        assert!(some.upto.index <= floor && some.segments < n - 1);
        assert_eq!(plan(&log, &policy, &check(4, 0.1, Some(1))).unwrap(), None);
    }
}
