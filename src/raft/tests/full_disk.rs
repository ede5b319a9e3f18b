//! A follower whose disk fills up, on a real (small) filesystem: it never skips or stops. Its
//! appends wait, it reports itself blocked, the other two keep committing, and once space is
//! back it catches up by itself, without a restart, byte for byte.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::cluster::{TestCluster, assert_replicas_identical};
use crate::store::MessageStoreOptions;
use crate::store::small_disk::SmallDisk;

/// Small files everywhere, so a tmpfs of a few MiB holds a working store.
fn small_files(dir: &std::path::Path) -> MessageStoreOptions {
    let mut o = MessageStoreOptions::in_dir(dir, 64 * 1024);
    o.commitlog.index_entries_per_file = 1024;
    o.key_index_slots = 256;
    o.key_index_entries = 1024;
    o
}

/// The node on the small disk.
const SMALL: u64 = 3;

/// A three-node group whose node [`SMALL`] keeps its store on a 4 MiB tmpfs and follows; the
/// disk, the group and its leader. `None` (the test is skipped) without root.
async fn follower_on_a_small_disk() -> Option<(SmallDisk, TestCluster, u64)> {
    let disk = match SmallDisk::mount(4 << 20) {
        Ok(disk) => disk,
        Err(why) => {
            eprintln!("skipped: {why}");
            return None;
        }
    };
    let dirs = BTreeMap::from([(SMALL, disk.path().join("node"))]);
    let cluster = TestCluster::start_in(3, small_files, dirs).await;
    let mut leader = cluster.wait_leader(Duration::from_secs(10)).await;
    if leader == SMALL {
        cluster
            .node(SMALL)
            .transfer_leadership(1)
            .await
            .expect("transfer");
        let deadline = Instant::now() + Duration::from_secs(10);
        while leader == SMALL && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            leader = cluster.wait_leader(Duration::from_secs(10)).await;
        }
    }
    assert_ne!(leader, SMALL);
    Some((disk, cluster, leader))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_with_a_full_disk_waits_and_catches_up_by_itself() {
    let Some((disk, cluster, leader)) = follower_on_a_small_disk().await else {
        return;
    };
    let warm = cluster.propose(leader, 0..100, 16).await;
    assert!(warm.iter().all(|(_, r)| r.is_ok()));

    // Leave the small disk about 200 KiB: a few segments' worth of records.
    let free = free_bytes(disk.path(), 4 << 20).saturating_sub(200 * 1024);
    let filler = disk.path().join("filler");
    std::fs::write(&filler, vec![0u8; free as usize]).expect("filler");

    let results = cluster.propose(leader, 100..3000, 64).await;
    let last = results
        .iter()
        .map(|(seq, r)| r.as_ref().unwrap_or_else(|e| panic!("{seq}: {e}")).index)
        .max()
        .expect("proposals");
    let blocked = cluster.node(SMALL).store().blocked();
    assert!(blocked.is_some(), "the follower reports its full disk");
    assert!(
        cluster.node(SMALL).status().applied < Some(last),
        "the follower could not have stored everything"
    );

    std::fs::remove_file(&filler).expect("free the space");
    cluster.wait_applied(last, Duration::from_secs(30)).await;
    assert!(cluster.node(SMALL).store().blocked().is_none());
    assert_replicas_identical(&cluster, last);
    assert_eq!(cluster.wait_leader(Duration::from_secs(2)).await, leader);
}

/// Free bytes on the filesystem of `size` bytes holding `path`.
fn free_bytes(path: &std::path::Path, size: u64) -> u64 {
    let used = crate::store::disk_used_ratio(path).expect("statvfs");
    ((1.0 - used) * size as f64) as u64
}

/// Found by the fault campaign: a node whose disk was full did not stop on SIGTERM (killed
/// after 20 s): its appends wait for space, and openraft's shutdown waited for them. Shutdown
/// is now bounded; the store is left for the next start to recover.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_a_full_disk_still_shuts_down_promptly() {
    let Some((disk, mut cluster, leader)) = follower_on_a_small_disk().await else {
        return;
    };
    let free = free_bytes(disk.path(), 4 << 20).saturating_sub(100 * 1024);
    std::fs::write(disk.path().join("filler"), vec![0u8; free as usize]).expect("filler");
    let results = cluster.propose(leader, 0..2000, 64).await;
    assert!(results.iter().all(|(_, r)| r.is_ok()), "the others commit");
    assert!(
        cluster.node(SMALL).store().blocked().is_some(),
        "the follower waits for space"
    );
    let node = cluster
        .nodes
        .get_mut(&SMALL)
        .and_then(Option::take)
        .expect("running");
    let started = Instant::now();
    let stopped = tokio::time::timeout(Duration::from_secs(30), node.shutdown()).await;
    assert!(stopped.is_ok(), "shutdown did not return within 30 s");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "shutdown took {:?}",
        started.elapsed()
    );
}
