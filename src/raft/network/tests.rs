//! Client and server over real loopback TCP, against a fake `Raft` behind the [`RaftRpc`] seam
//! (the real log store and state machine are built elsewhere). Every wait is bounded.

mod auth;
mod harness;

use std::sync::atomic::Ordering;
use std::time::Duration;

use openraft::StoredMembership;
use openraft::errors::{RPCError, ReplicationClosed, StreamingError};
use openraft::network::{RPCOption, RaftNetworkFactory, RaftNetworkV2};
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse, TransferLeaderRequest};
use openraft::storage::SnapshotMeta;
use openraft::type_config::alias::VoteOf;
use rand::{Rng, SeedableRng};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use super::frame::MessageType;
use super::rpc::Snapshot;
use super::{NetworkFaults, PeerNetwork};
use crate::raft::state_machine::test_snapshot;
use crate::raft::types::{PeerNode, TypeConfig, log_id};
use harness::{
    FakeRaft, GROUP, Raw, WAIT, client, is_unreachable, option, start, vote, vote_request,
};
#[tokio::test]
async fn every_rpc_round_trips_over_loopback() {
    let (faults, raft) = (NetworkFaults::new(), FakeRaft::default());
    let server = start(2, raft.clone(), &faults, "127.0.0.1:0").await;
    let mut c = client(GROUP, 1, 2, server.addr, &faults);

    let append = AppendEntriesRequest {
        vote: VoteOf::<TypeConfig>::new_committed(5, 1),
        prev_log_id: Some(log_id(5, 9)),
        entries: vec![],
        leader_commit: None,
    };
    let r = RaftNetworkV2::append_entries(&mut c, append, option()).await;
    assert_eq!(r.expect("append"), AppendEntriesResponse::Success);
    assert!(vote(&mut c).await.expect("vote").vote_granted);
    let r = RaftNetworkV2::pre_vote(&mut c, vote_request(), option()).await;
    assert!(!r.expect("pre_vote").vote_granted);

    let leader = VoteOf::<TypeConfig>::new_committed(5, 1);
    let data = test_snapshot(log_id(5, 9), 80_000);
    let len = data.len();
    assert!(len > 1 << 20, "a large snapshot: {len} bytes");
    let snapshot = Snapshot::<TypeConfig> {
        meta: SnapshotMeta {
            last_log_id: Some(log_id(5, 9)),
            last_membership: StoredMembership::default(),
        },
        snapshot: data,
    };
    let never = std::future::pending();
    let r = RaftNetworkV2::full_snapshot(&mut c, leader, snapshot, never, option()).await;
    assert_eq!(r.expect("snapshot").vote, leader);
    assert_eq!(raft.0.snapshot_len.load(Ordering::SeqCst), len);

    let transfer = TransferLeaderRequest::new(leader, 2, Some(log_id(5, 9)));
    let r = RaftNetworkV2::transfer_leader(&mut c, transfer, option()).await;
    assert_eq!(r.expect("transfer"), Ok(()));
    let expected = ["append", "vote", "pre_vote", "snapshot", "transfer"];
    assert_eq!(raft.calls(), expected);
    server.stop().await;
}

#[tokio::test]
async fn handshake_refuses_the_wrong_node_id_and_group() {
    let (faults, raft) = (NetworkFaults::new(), FakeRaft::default());
    let server = start(2, raft.clone(), &faults, "127.0.0.1:0").await;

    let r = vote(&mut client(GROUP, 1, 3, server.addr, &faults)).await;
    assert!(is_unreachable(&r, "wrong node"), "{r:?}");
    let r = vote(&mut client("broker-b", 1, 2, server.addr, &faults)).await;
    assert!(is_unreachable(&r, "group mismatch"), "{r:?}");

    let mut raw = Raw::connect(server.addr).await;
    let refused = raw.hello(1, 3).await.expect("an error frame");
    assert_eq!(refused.kind, MessageType::Error);
    assert_eq!(raw.recv().await, None, "then the connection is closed");
    assert!(raft.calls().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn client_reconnects_after_the_server_restarts() {
    let (faults, raft) = (NetworkFaults::new(), FakeRaft::default());
    let server = start(2, raft.clone(), &faults, "127.0.0.1:0").await;
    let addr = server.addr;
    let mut c = client(GROUP, 1, 2, addr, &faults);
    vote(&mut c).await.expect("first vote");

    tracing::info!("stopping the server");
    server.stop().await;
    assert!(vote(&mut c).await.is_err(), "the old connection is gone");
    let r = vote(&mut c).await;
    assert!(matches!(r, Err(RPCError::Unreachable(_))), "{r:?}");

    tracing::info!("restarting the server on the same port");
    let server = start(2, raft.clone(), &faults, &addr.to_string()).await;
    let mut reconnected = false;
    for _ in 0..100 {
        if vote(&mut c).await.is_ok() {
            reconnected = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reconnected, "the client dials again after its backoff");
    server.stop().await;
}

#[tokio::test]
async fn blocked_links_are_unreachable_until_healed() {
    let (faults, raft) = (NetworkFaults::new(), FakeRaft::default());
    let server = start(2, raft.clone(), &faults, "127.0.0.1:0").await;
    let mut c = client(GROUP, 1, 2, server.addr, &faults);

    faults.block(1, 2);
    let r = vote(&mut c).await;
    assert!(is_unreachable(&r, "blocked"), "{r:?}");
    assert!(raft.calls().is_empty(), "the request was never sent");

    faults.heal_all();
    faults.block(2, 1);
    let r = vote(&mut c).await;
    assert!(is_unreachable(&r, "reply 2->1 dropped"), "{r:?}");
    assert_eq!(raft.calls(), ["vote"], "delivered, only the reply was lost");

    faults.heal_all();
    faults.isolate(2);
    assert!(is_unreachable(&vote(&mut c).await, "blocked"));
    faults.heal(2);
    vote(&mut c).await.expect("healed");
    server.stop().await;
}

#[tokio::test]
async fn server_drops_requests_from_a_blocked_peer() {
    let (faults, raft) = (NetworkFaults::new(), FakeRaft::default());
    let server = start(2, raft.clone(), &faults, "127.0.0.1:0").await;
    let mut raw = Raw::connect(server.addr).await;
    assert_eq!(
        raw.hello(1, 2).await.map(|f| f.kind),
        Some(MessageType::HelloOk)
    );

    faults.isolate(1);
    raw.send(MessageType::Vote, 1, &vote_request()).await;
    assert_eq!(raw.recv().await, None, "closed without a reply");
    assert!(raft.calls().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn garbage_from_a_client_does_not_hurt_the_server() {
    let (faults, raft) = (NetworkFaults::new(), FakeRaft::default());
    let server = start(2, raft.clone(), &faults, "127.0.0.1:0").await;
    let seed: u64 = rand::random();
    println!("seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    tracing::info!("random bytes, an oversized frame, a request before Hello");
    for _ in 0..10 {
        let mut raw = Raw::connect(server.addr).await;
        let junk: Vec<u8> = (0..rng.random_range(1..512))
            .map(|_| rng.random())
            .collect();
        let _ = raw.stream.write_all(&junk).await;
        let _ = raw.stream.shutdown().await;
        while raw.recv().await.is_some() {}
    }
    let mut raw = Raw::connect(server.addr).await;
    raw.stream.write_all(&[0xff; 13]).await.expect("write");
    assert_eq!(raw.recv().await, None);
    let mut raw = Raw::connect(server.addr).await;
    raw.send(MessageType::Vote, 1, &vote_request()).await;
    assert_eq!(raw.recv().await.map(|f| f.kind), Some(MessageType::Error));

    tracing::info!("a bad payload gets an error reply and the connection lives");
    let mut raw = Raw::connect(server.addr).await;
    assert_eq!(
        raw.hello(1, 2).await.map(|f| f.kind),
        Some(MessageType::HelloOk)
    );
    raw.send(MessageType::Vote, 7, &"not a vote").await;
    let reply = raw.recv().await.expect("a reply");
    assert_eq!((reply.kind, reply.request_id), (MessageType::Error, 7));
    raw.send(MessageType::Vote, 8, &vote_request()).await;
    let reply = raw.recv().await.expect("a reply");
    assert_eq!((reply.kind, reply.request_id), (MessageType::Vote, 8));

    vote(&mut client(GROUP, 1, 2, server.addr, &faults))
        .await
        .expect("a real client is still served");
    server.stop().await;
}

#[tokio::test]
async fn slow_reply_is_a_timeout_and_the_next_call_redials() {
    let (faults, raft) = (NetworkFaults::new(), FakeRaft::default());
    let server = start(2, raft.clone(), &faults, "127.0.0.1:0").await;
    let mut c = client(GROUP, 1, 2, server.addr, &faults);

    raft.0.vote_delay_ms.store(2_000, Ordering::SeqCst);
    let short = RPCOption::new(Duration::from_millis(200));
    let r = RaftNetworkV2::vote(&mut c, vote_request(), short).await;
    assert!(matches!(r, Err(RPCError::Timeout(_))), "{r:?}");

    raft.0.vote_delay_ms.store(0, Ordering::SeqCst);
    vote(&mut c).await.expect("a fresh connection answers");
    server.stop().await;
}

#[tokio::test]
async fn remote_raft_failure_is_reported_not_hidden() {
    let (faults, raft) = (NetworkFaults::new(), FakeRaft::default());
    let server = start(2, raft.clone(), &faults, "127.0.0.1:0").await;
    raft.0.stopped.store(true, Ordering::SeqCst);
    let r = vote(&mut client(GROUP, 1, 2, server.addr, &faults)).await;
    assert!(is_unreachable(&r, "raft stopped"), "{r:?}");
    server.stop().await;
}

#[tokio::test]
async fn cancelled_snapshot_reports_closed() {
    let (faults, raft) = (NetworkFaults::new(), FakeRaft::default());
    let server = start(2, raft.clone(), &faults, "127.0.0.1:0").await;
    let mut c = client(GROUP, 1, 2, server.addr, &faults);
    let snapshot = Snapshot::<TypeConfig> {
        meta: SnapshotMeta::default(),
        snapshot: vec![],
    };
    let cancel = std::future::ready(ReplicationClosed::new("test"));
    let leader = VoteOf::<TypeConfig>::new_committed(5, 1);
    let r = RaftNetworkV2::full_snapshot(&mut c, leader, snapshot, cancel, option()).await;
    assert!(matches!(r, Err(StreamingError::Closed(_))), "{r:?}");
    server.stop().await;
}

#[tokio::test]
async fn shutdown_ends_serve_despite_idle_connections() {
    let (faults, raft) = (NetworkFaults::new(), FakeRaft::default());
    let server = start(2, raft.clone(), &faults, "127.0.0.1:0").await;
    let mut c = client(GROUP, 1, 2, server.addr, &faults);
    vote(&mut c).await.expect("connected");
    let mut raw = Raw::connect(server.addr).await;
    assert!(raw.hello(1, 2).await.is_some());
    server.stop().await; // bounded by WAIT inside
}

/// Compile-time checks: `Raft::new` accepts the factory, and what the node spawns is `Send`.
#[allow(dead_code, reason = "type-checked, never called")]
fn fits_openraft<SM>(
    listener: TcpListener,
    raft: openraft::Raft<TypeConfig, SM>,
    cancel: tokio_util::sync::CancellationToken,
) -> impl Future<Output = ()> + Send + 'static
where
    SM: openraft::storage::RaftStateMachine<
            TypeConfig,
            SnapshotData = crate::raft::types::SnapshotBytes,
        >,
{
    fn factory<N: openraft::network::RaftNetworkFactory<TypeConfig>>() {}
    factory::<PeerNetwork>();
    let ids = super::PeerIds {
        group: GROUP.into(),
        self_id: 1,
        peers: vec![1, 2, 3],
        secret: None,
    };
    super::serve(listener, raft, ids, NetworkFaults::new(), cancel)
}

#[tokio::test]
async fn votes_are_not_stuck_behind_a_slow_append() {
    let (faults, raft) = (NetworkFaults::new(), FakeRaft::default());
    let server = start(2, raft.clone(), &faults, "127.0.0.1:0").await;
    let node = PeerNode {
        addr: server.addr.to_string(),
    };
    let mut network = PeerNetwork::new(1, GROUP, faults.clone());
    let mut replication = network.new_client(2, &node).await;
    let mut heartbeat = network.new_heartbeat_client(2, &node).await;

    raft.0.append_delay_ms.store(1_000, Ordering::SeqCst);
    let append = AppendEntriesRequest {
        vote: VoteOf::<TypeConfig>::new_committed(5, 1),
        prev_log_id: None,
        entries: vec![],
        leader_commit: None,
    };
    let slow = tokio::spawn(async move {
        RaftNetworkV2::append_entries(&mut replication, append, option()).await
    });
    while !raft.calls().contains(&"append") {
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(!slow.is_finished(), "the append is still in flight");
    }
    let short = RPCOption::new(Duration::from_millis(500));
    let r = RaftNetworkV2::vote(&mut heartbeat, vote_request(), short).await;
    assert!(r.expect("vote on its own connection").vote_granted);
    assert!(!slow.is_finished(), "the vote overtook the append");
    let appended = tokio::time::timeout(WAIT, slow).await.expect("append ends");
    appended.expect("no panic").expect("append");
    server.stop().await;
}

/// Issue 9, finding 9: peer RPCs trusted the `from` of the handshake and passed whatever came
/// to openraft. A node that is not a configured peer is refused at the handshake; a request in
/// another node's name, or a snapshot that would not install, is refused before openraft.
#[tokio::test]
async fn forged_peers_requests_and_snapshots_are_refused() {
    let (faults, raft) = (NetworkFaults::new(), FakeRaft::default());
    let server = start(2, raft.clone(), &faults, "127.0.0.1:0").await;

    let mut raw = Raw::connect(server.addr).await;
    let refused = raw.hello(9, 2).await.expect("an error frame");
    assert_eq!(refused.kind, MessageType::Error);

    let mut c = client(GROUP, 3, 2, server.addr, &faults);
    let in_node_1s_name = AppendEntriesRequest {
        vote: VoteOf::<TypeConfig>::new_committed(5, 1),
        prev_log_id: None,
        entries: vec![],
        leader_commit: None,
    };
    let r = RaftNetworkV2::append_entries(&mut c, in_node_1s_name, option()).await;
    assert!(r.is_err(), "{r:?}");

    let leader = VoteOf::<TypeConfig>::new_committed(5, 3);
    let garbage = Snapshot::<TypeConfig> {
        meta: SnapshotMeta {
            last_log_id: Some(log_id(5, 9)),
            last_membership: StoredMembership::default(),
        },
        snapshot: vec![7u8; 4096],
    };
    let never = std::future::pending();
    let r = RaftNetworkV2::full_snapshot(&mut c, leader, garbage, never, option()).await;
    assert!(r.is_err(), "{r:?}");
    assert!(raft.calls().is_empty(), "{:?}", raft.calls());
    server.stop().await;
}
