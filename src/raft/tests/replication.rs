//! Three nodes over loopback TCP: election, replication, and what every replica holds.

use std::time::{Duration, Instant};

use super::cluster::{QUEUES, TOPIC, TestCluster, assert_replicas_identical};
use crate::raft::{ProposalKind, ProposeError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_elect_one_leader_and_apply_10000_messages_identically() {
    let cluster = TestCluster::start(3).await;
    let started = Instant::now();
    let leader = cluster.wait_leader(Duration::from_secs(10)).await;
    tracing::info!(leader, elapsed = ?started.elapsed(), "leader elected");

    let results = cluster.propose(leader, 0..10_000, 128).await;
    let mut last_index = 0;
    for (seq, r) in &results {
        let applied = r
            .as_ref()
            .unwrap_or_else(|e| panic!("message {seq} failed: {e}"));
        assert_eq!(applied.messages.len(), 1);
        last_index = last_index.max(applied.index);
    }
    cluster
        .wait_applied(last_index, Duration::from_secs(20))
        .await;

    // Queue offsets are dense per queue, and the same on every replica.
    for node in cluster.running() {
        for q in 0..QUEUES {
            let queue = node
                .store()
                .consume_queues()
                .get(TOPIC, q)
                .expect("queue exists");
            assert_eq!(queue.max_offset(), 2500, "node {} queue {q}", node.id());
        }
    }
    assert_replicas_identical(&cluster, last_index);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_node_group_leads_by_itself_and_keeps_leading() {
    let cluster = TestCluster::start(1).await;
    let leader = cluster.wait_leader(Duration::from_secs(5)).await;
    assert_eq!(leader, 1);
    let results = cluster.propose(leader, 0..50, 8).await;
    assert!(results.iter().all(|(_, r)| r.is_ok()));
    // Long past any lease: still the leader (no follower will ever refresh it).
    tokio::time::sleep(super::cluster::ELECTION_MAX * 3).await;
    assert_eq!(cluster.wait_leader(Duration::from_secs(1)).await, 1);
}

fn small_segments(dir: &std::path::Path) -> crate::store::MessageStoreOptions {
    crate::store::MessageStoreOptions::in_dir(dir, 64 * 1024)
}

/// Issue 9, finding 7: a record larger than a segment was refused inside openraft's append,
/// which stopped the leader's raft core (and the next leader's, on retry). It is now refused
/// before proposing, and the group goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_too_large_for_a_segment_is_refused_before_it_reaches_the_log() {
    let cluster = TestCluster::start_with(3, small_segments).await;
    let leader = cluster.wait_leader(Duration::from_secs(10)).await;
    let node = cluster.node(leader);
    let huge = bytes::Bytes::from(vec![7u8; 100 * 1024]);
    let refused = node.propose(ProposalKind::Message, huge).await;
    assert!(
        matches!(refused, Err(ProposeError::TooLarge(_))),
        "{refused:?}"
    );
    let results = cluster.propose(leader, 0..10, 4).await;
    assert!(results.iter().all(|(_, r)| r.is_ok()), "{results:?}");
    assert_eq!(cluster.wait_leader(Duration::from_secs(2)).await, leader);
}
