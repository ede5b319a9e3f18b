//! Claims on half messages being settled: at most one settlement of a given half message runs
//! at a time on this node, while different half messages settle concurrently (their Raft
//! entries share round trips like any sends). Exactly-once needs no more than this: a
//! settlement reads the transaction table and proposes under its claim, so a second one for the
//! same half message only starts once the first is applied (and then finds it settled) or its
//! term is over.

use std::collections::HashSet;
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::common::sync::lock;

/// The half-queue offsets whose settlement is in flight on this node.
#[derive(Debug, Default)]
pub struct Settling {
    busy: Mutex<HashSet<u64>>,
    released: Notify,
}

/// Held while one half message is being settled; dropping it lets the next claim on the same
/// offset go on.
#[derive(Debug)]
pub struct Claimed<'a> {
    settling: &'a Settling,
    offset: u64,
}

impl Settling {
    /// Waits until no other settlement of `offset` runs here, then claims it.
    pub async fn claim(&self, offset: u64) -> Claimed<'_> {
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            // Registered before the check, so a release between the check and the wait wakes it.
            released.as_mut().enable();
            if lock(&self.busy).insert(offset) {
                return Claimed {
                    settling: self,
                    offset,
                };
            }
            released.await;
        }
    }
}

impl Drop for Claimed<'_> {
    fn drop(&mut self) {
        lock(&self.settling.busy).remove(&self.offset);
        self.settling.released.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn one_settlement_per_offset_at_a_time_and_other_offsets_go_on() {
        let settling = Arc::new(Settling::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (settling, inside, most) = (settling.clone(), inside.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                let _claim = settling.claim(7).await;
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        // Another offset is not held up by the queue on offset 7.
        let other = tokio::time::timeout(Duration::from_millis(500), settling.claim(8)).await;
        assert!(other.is_ok(), "offset 8 waited for offset 7");
        drop(other);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            most.load(Ordering::SeqCst),
            1,
            "two settlements of offset 7 at once"
        );
        assert!(lock(&settling.busy).is_empty());
    }
}
