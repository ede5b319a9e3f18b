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

    let follower_log = cluster.node(lagging).store().commitlog();
    let first = follower_log.view().first.expect("the follower has records");
    assert!(
        first > purged,
        "the follower's log starts after the snapshot ({first} > {purged})"
    );
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
    }
}
