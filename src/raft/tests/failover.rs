//! Failures of a three-node group over loopback TCP: a killed leader, a follower that was down,
//! an isolated leader with an uncommitted tail, and a restart of every node from disk. Each
//! test checks what it claims with a checker, not by eye: acknowledged messages are read back
//! from every replica, replicas are compared byte for byte.

use std::time::{Duration, Instant};

use super::cluster::{TOPIC, TestCluster, assert_replicas_identical};
use crate::message::decode_message;
use crate::raft::{Applied, ProposeError};

/// Every acknowledged message is on `node`, at the queue and physical offset it was acked
/// with, with its body intact.
fn assert_acked_present(cluster: &TestCluster, node: u64, acked: &[(u64, Applied)]) {
    let store = cluster.node(node).store();
    for (seq, applied) in acked {
        let m = applied.messages[0];
        let queue = store
            .consume_queues()
            .get(TOPIC, m.queue_id)
            .expect("queue exists");
        let unit = queue
            .get(m.queue_offset)
            .unwrap_or_else(|| panic!("node {node}: message {seq} missing from its queue"));
        assert_eq!(
            unit.commitlog_offset, m.physical_offset,
            "node {node}: message {seq}"
        );
        let bytes = store
            .commitlog()
            .read_at(m.physical_offset, u64::from(m.size))
            .expect("read")
            .unwrap_or_else(|| panic!("node {node}: message {seq} not readable"));
        let (stored, _) = decode_message(&bytes).expect("decodes");
        assert_eq!(
            stored.message.body,
            format!("message {seq:08}").into_bytes()
        );
        assert_eq!(stored.message.queue_offset, m.queue_offset);
    }
}

fn acked(results: Vec<(u64, Result<Applied, ProposeError>)>) -> Vec<(u64, Applied)> {
    results
        .into_iter()
        .map(|(seq, r)| (seq, r.unwrap_or_else(|e| panic!("message {seq}: {e}"))))
        .collect()
}

fn last_index(acked: &[(u64, Applied)]) -> u64 {
    acked.iter().map(|(_, a)| a.index).max().unwrap_or(0)
}

/// No node holds a message with key `k{seq}` for any `seq` in `seqs`.
fn assert_never_applied(cluster: &TestCluster, seqs: std::ops::Range<u64>) {
    for node in cluster.running() {
        for seq in seqs.clone() {
            let found = node
                .store()
                .key_index()
                .query(TOPIC, &format!("k{seq}"), 0, i64::MAX, 1);
            assert!(
                found.is_empty(),
                "node {}: message {seq} was applied",
                node.id()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_elects_a_new_one_quickly_and_loses_no_acknowledged_message() {
    let mut cluster = TestCluster::start(3).await;
    let old = cluster.wait_leader(Duration::from_secs(10)).await;
    let before = acked(cluster.propose(old, 0..500, 32).await);

    let killed_at = Instant::now();
    cluster.kill(old).await;
    let new = cluster.wait_leader(Duration::from_secs(5)).await;
    let election = killed_at.elapsed();
    println!("new leader {new} {election:?} after killing leader {old}");
    assert_ne!(new, old);
    assert!(
        election < Duration::from_secs(2),
        "election took {election:?}"
    );

    assert_acked_present(&cluster, new, &before);
    let after = acked(cluster.propose(new, 500..700, 32).await);

    cluster.restart(old).await;
    let upto = last_index(&after);
    cluster.wait_applied(upto, Duration::from_secs(10)).await;
    for id in 1..=3 {
        assert_acked_present(&cluster, id, &before);
        assert_acked_present(&cluster, id, &after);
    }
    assert_replicas_identical(&cluster, upto);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_that_was_down_catches_up() {
    let mut cluster = TestCluster::start(3).await;
    let leader = cluster.wait_leader(Duration::from_secs(10)).await;
    let follower = (1..=3).find(|&id| id != leader).expect("a follower");
    cluster.kill(follower).await;
    let acked = acked(cluster.propose(leader, 0..1000, 64).await);
    cluster.restart(follower).await;
    let upto = last_index(&acked);
    cluster.wait_applied(upto, Duration::from_secs(10)).await;
    assert_acked_present(&cluster, follower, &acked);
    assert_replicas_identical(&cluster, upto);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_isolated_leader_cannot_commit_and_its_divergent_tail_is_truncated_on_rejoin() {
    let cluster = TestCluster::start(3).await;
    let old = cluster.wait_leader(Duration::from_secs(10)).await;
    let first = acked(cluster.propose(old, 0..100, 16).await);

    // Cut the leader off both ways, then propose on it: nothing can commit.
    cluster.faults.isolate(old);
    let stranded = cluster.propose(old, 900_000..900_020, 20).await;
    for (seq, r) in &stranded {
        assert!(
            matches!(
                r,
                Err(ProposeError::Timeout(_) | ProposeError::NotLeader { .. })
            ),
            "message {seq} on the isolated leader: {r:?}"
        );
    }

    // The majority elects a leader and writes over the same indexes.
    let deadline = Instant::now() + Duration::from_secs(10);
    let new = loop {
        let leader = cluster.wait_leader(Duration::from_secs(10)).await;
        if leader != old {
            break leader;
        }
        assert!(
            Instant::now() < deadline,
            "the majority never elected a leader"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let second = acked(cluster.propose(new, 100..300, 16).await);

    cluster.faults.heal_all();
    let upto = last_index(&second);
    cluster.wait_applied(upto, Duration::from_secs(10)).await;
    for id in 1..=3 {
        assert_acked_present(&cluster, id, &first);
        assert_acked_present(&cluster, id, &second);
    }
    assert_never_applied(&cluster, 900_000..900_020);
    assert_replicas_identical(&cluster, upto);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_every_node_from_disk_keeps_log_offsets_and_applied_state() {
    let mut cluster = TestCluster::start(3).await;
    let leader = cluster.wait_leader(Duration::from_secs(10)).await;
    let acked = acked(cluster.propose(leader, 0..2000, 64).await);
    let upto = last_index(&acked);
    cluster.wait_applied(upto, Duration::from_secs(10)).await;
    let queues_before: Vec<_> = cluster
        .running()
        .map(|n| n.store().queue_offsets())
        .collect();

    // All three killed at once (no checkpoint, no close), then restarted from disk.
    for id in 1..=3 {
        cluster.kill(id).await;
    }
    for id in 1..=3 {
        cluster.restart(id).await;
    }
    let leader = cluster.wait_leader(Duration::from_secs(10)).await;
    cluster.wait_applied(upto, Duration::from_secs(10)).await;
    for id in 1..=3 {
        assert_acked_present(&cluster, id, &acked);
    }
    let queues_after: Vec<_> = cluster
        .running()
        .map(|n| n.store().queue_offsets())
        .collect();
    for (before, after) in queues_before.iter().zip(&queues_after) {
        let mut b = before.clone();
        let mut a = after.clone();
        b.sort();
        a.sort();
        assert_eq!(a, b, "queue offsets changed across the restart");
    }
    assert_replicas_identical(&cluster, upto);
    // And the group goes on.
    let more = super::failover::acked(cluster.propose(leader, 2000..2100, 32).await);
    assert_eq!(more.len(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leadership_can_be_handed_to_a_caught_up_follower() {
    let cluster = TestCluster::start(3).await;
    let old = cluster.wait_leader(Duration::from_secs(10)).await;
    let before = acked(cluster.propose(old, 0..200, 16).await);
    cluster
        .wait_applied(last_index(&before), Duration::from_secs(10))
        .await;
    let target = (1..=3).find(|&id| id != old).expect("a follower");
    cluster
        .node(old)
        .transfer_leadership(target)
        .await
        .expect("transfer requested");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if cluster.wait_leader(Duration::from_secs(5)).await == target {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "leadership never moved to {target}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = acked(cluster.propose(target, 200..300, 16).await);
    cluster
        .wait_applied(last_index(&after), Duration::from_secs(10))
        .await;
    for id in 1..=3 {
        assert_acked_present(&cluster, id, &before);
        assert_acked_present(&cluster, id, &after);
    }
}

/// A follower restarted with an empty store (its disk was replaced) used to make the leader's
/// core panic ("follower log reversion is not allowed") and stop the group's writes; it now
/// catches up from the leader's log by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_with_a_wiped_store_catches_up_and_the_leader_carries_on() {
    let mut cluster = TestCluster::start(3).await;
    let leader = cluster.wait_leader(Duration::from_secs(10)).await;
    let wiped = (1..=3).find(|&id| id != leader).expect("a follower");
    let acked_before = acked(cluster.propose(leader, 0..500, 64).await);
    cluster.kill(wiped).await;
    std::fs::remove_dir_all(cluster.dir.path().join(format!("node{wiped}"))).expect("wipe");
    cluster.restart(wiped).await;
    let mut all = acked_before;
    all.extend(acked(cluster.propose(leader, 500..800, 64).await));
    assert_eq!(all.len(), 800, "every send acknowledged");
    let upto = last_index(&all);
    cluster.wait_applied(upto, Duration::from_secs(15)).await;
    assert_acked_present(&cluster, wiped, &all);
    assert_replicas_identical(&cluster, upto);
}
