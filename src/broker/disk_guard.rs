//! `diskSpaceWarningLevelRatio`: while the store's disk is fuller than this, the leader
//! refuses new messages with SERVICE_NOT_AVAILABLE (14) and a remark that says so, as Java
//! brokers do; clients then send to another broker. Sends are taken again as soon as usage is
//! back below the limit (operators free space; retention deletes expired segments at the
//! higher ratios). The disk is looked at no more than once a second.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::disk_used_ratio;

/// How long one look at the disk is trusted.
const RECHECK: Duration = Duration::from_secs(1);

/// See the module docs.
#[derive(Debug)]
pub struct DiskGuard {
    dir: PathBuf,
    /// `diskSpaceWarningLevelRatio` as a fraction.
    limit: f64,
    last: Mutex<Option<(Instant, f64)>>,
}

impl DiskGuard {
    /// Guards the filesystem holding `dir`, refusing above `limit_percent`.
    pub fn new(dir: PathBuf, limit_percent: u32) -> DiskGuard {
        DiskGuard {
            dir,
            limit: f64::from(limit_percent) / 100.0,
            last: Mutex::new(None),
        }
    }

    /// `Err` with the remark to send when the disk is too full for new messages. A disk
    /// whose usage cannot be read does not stop sends (the append reports real I/O errors).
    pub fn check(&self) -> Result<(), String> {
        let used = {
            let mut last = self
                .last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match *last {
                Some((at, used)) if at.elapsed() < RECHECK => used,
                _ => {
                    let used = match disk_used_ratio(&self.dir) {
                        Ok(used) => used,
                        Err(e) => {
                            tracing::warn!(%e, "cannot read the store's disk usage");
                            return Ok(());
                        }
                    };
                    *last = Some((Instant::now(), used));
                    used
                }
            }
        };
        if used > self.limit {
            return Err(format!(
                "service not available now: the broker's disk is full [CL: {used:.2}, \
                 diskSpaceWarningLevelRatio: {:.2}]",
                self.limit
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_below_the_usage_refuses_and_a_full_limit_never_does() {
        let dir = tempfile::tempdir().unwrap();
        let used = disk_used_ratio(dir.path()).unwrap();
        assert!(DiskGuard::new(dir.path().into(), 100).check().is_ok());
        if used > 0.0 {
            let refused = DiskGuard::new(dir.path().into(), 0).check().unwrap_err();
            assert!(refused.contains("disk is full"), "{refused}");
        }
    }
}
