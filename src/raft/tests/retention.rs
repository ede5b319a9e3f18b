//! Retention under Raft: whole segments purged through openraft, and a follower that needs a
//! purged entry catching up through a thin snapshot, with the same positions and queue offsets.

use std::time::Duration;

use super::cluster::{QUEUES, TOPIC, TestCluster, assert_replicas_identical};
use crate::store::MessageStoreOptions;

/// Small segments; expired at once; the disk always counts as critical, so retention does not
/// wait for a voter that is down.
fn eager_retention(dir: &std::path::Path) -> MessageStoreOptions {
    let mut o = MessageStoreOptions::in_dir(dir, 64 * 1024);
    o.retention.file_reserved = Duration::ZERO;
    o.retention.disk_max_used_ratio = 0.0;
    o.retention.disk_force_clean_ratio = 0.0;
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_behind_the_purge_point_catches_up_from_a_thin_snapshot() {
    let mut cluster = TestCluster::start_with(3, eager_retention).await;
    let leader = cluster.wait_leader(Duration::from_secs(10)).await;
    let lagging = (1..=3).find(|&id| id != leader).expect("a follower");
    cluster.kill(lagging).await;

    let results = cluster.propose(leader, 0..2000, 64).await;
    let last = results
        .iter()
        .map(|(seq, r)| r.as_ref().unwrap_or_else(|e| panic!("{seq}: {e}")).index)
        .max()
        .expect("proposals");
    cluster.wait_applied(last, Duration::from_secs(10)).await;

    let segments_before = cluster.node(leader).store().commitlog().segments().len();
    let purged = cluster
        .node(leader)
        .run_retention()
        .await
        .expect("retention runs")
        .expect("something was purged");
    let segments_after = cluster.node(leader).store().commitlog().segments().len();
    assert!(
        segments_after < segments_before,
        "{segments_before} -> {segments_after}"
    );
    assert_eq!(
        cluster.node(leader).store().commitlog().view().first,
        Some(purged + 1)
    );

    // The follower comes back needing entries the leader no longer has: a snapshot, then the rest.
    cluster.restart(lagging).await;
    let more = cluster.propose(leader, 2000..2100, 32).await;
    let last = more
        .iter()
        .map(|(seq, r)| r.as_ref().unwrap_or_else(|e| panic!("{seq}: {e}")).index)
        .max()
        .expect("proposals");
    cluster.wait_applied(last, Duration::from_secs(15)).await;

    // Issue 9, finding 3: the snapshot was taken at the leader's applied index, so the
    // follower skipped every record the leader still retained. Now it starts right after the
    // purge point and holds everything the leader holds.
    let follower_log = cluster.node(lagging).store().commitlog();
    let leader_log = cluster.node(leader).store().commitlog();
    assert_eq!(follower_log.view().first, Some(purged + 1));
    assert_eq!(follower_log.view().first, leader_log.view().first);
    // Same positions and bytes for every record both hold, same queue offsets.
    assert_replicas_identical(&cluster, last);
    for q in 0..QUEUES {
        let offsets: Vec<u64> = cluster
            .running()
            .map(|n| {
                n.store()
                    .consume_queues()
                    .get(TOPIC, q)
                    .expect("queue")
                    .max_offset()
            })
            .collect();
        assert!(
            offsets.windows(2).all(|w| w[0] == w[1]),
            "queue {q}: {offsets:?}"
        );
        assert_eq!(offsets[0], 2100 / u64::from(QUEUES));
        // Every message the leader retains can be pulled from the follower: same queue
        // minimum (the third node has not run retention and still holds everything).
        let min = |id: u64| {
            let store = cluster.node(id).store();
            store
                .consume_queues()
                .get(TOPIC, q)
                .expect("queue")
                .min_offset()
        };
        assert_eq!(min(lagging), min(leader), "queue {q}");
        assert!(min(leader) > 0, "queue {q}: the leader purged");
    }
}

/// Small segments, expired at once, the disk never critical: retention is bounded only by the
/// floor.
fn floor_bound_retention(dir: &std::path::Path) -> MessageStoreOptions {
    let mut o = eager_retention(dir);
    o.retention.disk_force_clean_ratio = 1.0;
    o
}

/// Issue 9, finding 3: a follower purged by its own applied index, below what the group still
/// retained for a voter that was down. Followers now purge only up to the group's floor, which
/// the leader carries in the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_never_purges_below_the_groups_floor() {
    let mut cluster = TestCluster::start_with(3, floor_bound_retention).await;
    let leader = cluster.wait_leader(Duration::from_secs(10)).await;
    let mut followers = (1..=3).filter(|&id| id != leader);
    let (down, follower) = (
        followers.next().expect("a follower"),
        followers.next().expect("another follower"),
    );
    let first = cluster.propose(leader, 0..200, 32).await;
    let down_has = first
        .iter()
        .map(|(seq, r)| r.as_ref().unwrap_or_else(|e| panic!("{seq}: {e}")).index)
        .max()
        .expect("proposals");
    cluster
        .wait_applied(down_has, Duration::from_secs(10))
        .await;
    cluster.kill(down).await;

    let results = cluster.propose(leader, 200..3000, 64).await;
    let last = results
        .iter()
        .map(|(seq, r)| r.as_ref().unwrap_or_else(|e| panic!("{seq}: {e}")).index)
        .max()
        .expect("proposals");
    cluster.wait_applied(last, Duration::from_secs(10)).await;

    // The leader's floor is what the down voter holds; it carries it to the group.
    let _ = cluster
        .node(leader)
        .run_retention()
        .await
        .expect("leader retention");
    let floor_seen = cluster.node(leader).status().applied;
    cluster
        .wait_applied(floor_seen.unwrap_or(0), Duration::from_secs(10))
        .await;
    let purged = cluster
        .node(follower)
        .run_retention()
        .await
        .expect("follower retention");
    if let Some(purged) = purged {
        assert!(
            purged <= down_has,
            "the follower purged up to {purged}, past {down_has} that a down voter still needs"
        );
    }
    let first = cluster.node(follower).store().commitlog().view().first;
    assert!(first.is_some_and(|f| f <= down_has + 1), "first {first:?}");

    // The down voter comes back and catches up from the log, with nothing skipped.
    cluster.restart(down).await;
    cluster.wait_applied(last, Duration::from_secs(15)).await;
    assert_replicas_identical(&cluster, last);
}

/// Issue 9, finding 7: a node whose store was wiped (after corruption, say) must catch up from
/// the leader by itself: a snapshot at the purge point, then every retained record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restarted_with_an_empty_store_catches_up_by_itself() {
    let mut cluster = TestCluster::start_with(3, eager_retention).await;
    let leader = cluster.wait_leader(Duration::from_secs(10)).await;
    let wiped = (1..=3).find(|&id| id != leader).expect("a follower");
    let first = cluster.propose(leader, 0..1500, 64).await;
    assert!(first.iter().all(|(_, r)| r.is_ok()));
    let purged = cluster
        .node(leader)
        .run_retention()
        .await
        .expect("retention runs")
        .expect("something was purged");

    cluster.kill(wiped).await;
    let dir = cluster.dir.path().join(format!("node{wiped}"));
    std::fs::remove_dir_all(&dir).expect("wipe the store");
    cluster.restart(wiped).await;

    let more = cluster.propose(leader, 1500..1600, 32).await;
    let last = more
        .iter()
        .map(|(seq, r)| r.as_ref().unwrap_or_else(|e| panic!("{seq}: {e}")).index)
        .max()
        .expect("proposals");
    cluster.wait_applied(last, Duration::from_secs(20)).await;
    assert_eq!(
        cluster.node(wiped).store().commitlog().view().first,
        Some(purged + 1)
    );
    assert_replicas_identical(&cluster, last);
}
