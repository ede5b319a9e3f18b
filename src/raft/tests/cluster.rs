//! An in-process broker group for tests: real `RaftNode`s, each with its own store in a temp
//! dir, talking over real loopback TCP on ephemeral ports, with a shared fault table that can
//! drop links. Every wait is bounded in time.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::TcpListener;

use crate::message::{MessageToStore, encode_message, property};
use crate::raft::network::NetworkFaults;
use crate::raft::{Applied, Leadership, ProposalKind, ProposeError, RaftNode, RaftOptions};
use crate::store::{MessageStore, MessageStoreOptions};

pub(crate) const TOPIC: &str = "TopicTest";
pub(crate) const QUEUES: u32 = 4;
const SEGMENT: u64 = 1 << 20;

/// Timing used by the tests: the production defaults (50 ms heartbeat, 200-400 ms election).
pub(crate) const HEARTBEAT: Duration = Duration::from_millis(50);
pub(crate) const ELECTION_MIN: Duration = Duration::from_millis(200);
pub(crate) const ELECTION_MAX: Duration = Duration::from_millis(400);

pub(crate) struct TestCluster {
    pub(crate) dir: tempfile::TempDir,
    /// Store options of every node (retention policy, segment size).
    pub(crate) store_options: fn(&std::path::Path) -> MessageStoreOptions,
    pub(crate) addrs: BTreeMap<u64, SocketAddr>,
    pub(crate) nodes: BTreeMap<u64, Option<RaftNode>>,
    pub(crate) faults: NetworkFaults,
    /// Nodes whose store lives elsewhere than under `dir` (a small disk, say).
    pub(crate) dirs: BTreeMap<u64, PathBuf>,
}

/// The stored-message bytes of message `seq` (RocketMQ layout; key = its sequence number).
pub(crate) fn message(seq: u64) -> Bytes {
    let addr: SocketAddr = "127.0.0.1:30911".parse().expect("address");
    let mut properties = BTreeMap::new();
    properties.insert(property::KEYS.to_string(), format!("k{seq}"));
    let body = encode_message(&MessageToStore {
        born_timestamp: 1_700_000_000_000,
        born_host: addr,
        store_timestamp: 1_700_000_000_000 + seq as i64,
        store_host: addr,
        properties,
        ..MessageToStore::new(
            TOPIC,
            (seq % u64::from(QUEUES)) as i32,
            format!("message {seq:08}").into_bytes(),
        )
    })
    .expect("message encodes");
    Bytes::from(body)
}

impl TestCluster {
    /// Starts `n` nodes (ids 1..=n).
    pub(crate) async fn start(n: u64) -> TestCluster {
        Self::start_with(n, |dir| MessageStoreOptions::in_dir(dir, SEGMENT)).await
    }

    /// Starts `n` nodes whose stores use `store_options`.
    pub(crate) async fn start_with(
        n: u64,
        store_options: fn(&std::path::Path) -> MessageStoreOptions,
    ) -> TestCluster {
        Self::start_in(n, store_options, BTreeMap::new()).await
    }

    /// Starts `n` nodes; those named in `dirs` keep their store in the directory given.
    pub(crate) async fn start_in(
        n: u64,
        store_options: fn(&std::path::Path) -> MessageStoreOptions,
        dirs: BTreeMap<u64, PathBuf>,
    ) -> TestCluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut addrs = BTreeMap::new();
        let mut listeners = BTreeMap::new();
        for id in 1..=n {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            addrs.insert(id, listener.local_addr().expect("addr"));
            listeners.insert(id, listener);
        }
        let mut cluster = TestCluster {
            dir,
            store_options,
            addrs,
            nodes: BTreeMap::new(),
            faults: NetworkFaults::default(),
            dirs,
        };
        for (id, listener) in listeners {
            let node = cluster.start_node(id, listener).await;
            cluster.nodes.insert(id, Some(node));
        }
        cluster
    }

    pub(crate) fn node_dir(&self, id: u64) -> PathBuf {
        match self.dirs.get(&id) {
            Some(dir) => dir.clone(),
            None => self.dir.path().join(format!("node{id}")),
        }
    }

    fn options(&self, id: u64) -> RaftOptions {
        RaftOptions {
            group: "RaftNode00".into(),
            self_id: id,
            peers: self
                .addrs
                .iter()
                .map(|(i, a)| (*i, a.to_string()))
                .collect(),
            heartbeat_interval: HEARTBEAT,
            election_timeout_min: ELECTION_MIN,
            election_timeout_max: ELECTION_MAX,
            sync_flush: true,
            propose_timeout: Duration::from_secs(3),
            checkpoint_interval: Duration::from_millis(200),
            state_dir: self.node_dir(id),
            peer_secret: None,
        }
    }

    async fn start_node(&self, id: u64, listener: TcpListener) -> RaftNode {
        let dir = self.node_dir(id);
        let options = (self.store_options)(&dir);
        let store = tokio::task::spawn_blocking(move || MessageStore::open(options).map(Arc::new))
            .await
            .expect("open task")
            .expect("store opens");
        RaftNode::start_with_faults(self.options(id), store, listener, self.faults.clone())
            .await
            .expect("node starts")
    }

    pub(crate) fn node(&self, id: u64) -> &RaftNode {
        self.nodes[&id].as_ref().expect("node is running")
    }

    pub(crate) fn running(&self) -> impl Iterator<Item = &RaftNode> {
        self.nodes.values().flatten()
    }

    /// Stops a node the hard way: its raft core and tasks stop, nothing is checkpointed, the
    /// store is dropped without close (its page cache survives, as after a process kill).
    pub(crate) async fn kill(&mut self, id: u64) {
        if let Some(node) = self.nodes.get_mut(&id).and_then(Option::take) {
            node.abort().await;
        }
    }

    /// Restarts a stopped node on its old address.
    pub(crate) async fn restart(&mut self, id: u64) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match TcpListener::bind(self.addrs[&id]).await {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    tracing::debug!(%e, "port not free yet");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot rebind node {id}: {e}"),
            }
        };
        let node = self.start_node(id, listener).await;
        self.nodes.insert(id, Some(node));
    }

    /// Waits until exactly one running node is leader (fresh lease, caught up) and returns it.
    pub(crate) async fn wait_leader(&self, within: Duration) -> u64 {
        let deadline = Instant::now() + within;
        loop {
            let leaders: Vec<u64> = self
                .running()
                .filter(|n| matches!(*n.leadership().borrow(), Leadership::Leader { .. }))
                .map(RaftNode::id)
                .collect();
            if let [leader] = leaders[..] {
                return leader;
            }
            assert!(
                Instant::now() < deadline,
                "no single leader within {within:?} (leaders: {leaders:?})"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until every running node has applied at least `index`.
    pub(crate) async fn wait_applied(&self, index: u64, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let lagging: Vec<(u64, Option<u64>)> = self
                .running()
                .map(|n| (n.id(), n.status().applied))
                .filter(|(_, a)| a.is_none_or(|a| a < index))
                .collect();
            if lagging.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not applied up to {index} within {within:?}: {lagging:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Proposes messages `seqs` on `leader` with up to `in_flight` concurrent proposals.
    /// Returns each acknowledged sequence number with its result.
    pub(crate) async fn propose(
        &self,
        leader: u64,
        seqs: std::ops::Range<u64>,
        in_flight: usize,
    ) -> Vec<(u64, Result<Applied, ProposeError>)> {
        let node = self.node(leader);
        let mut out = Vec::with_capacity((seqs.end - seqs.start) as usize);
        let mut pending = futures_util::stream::FuturesOrdered::new();
        let mut next = seqs.start;
        use futures_util::StreamExt;
        loop {
            while pending.len() < in_flight && next < seqs.end {
                let seq = next;
                next += 1;
                pending.push_back(async move {
                    (seq, node.propose(ProposalKind::Message, message(seq)).await)
                });
            }
            match pending.next().await {
                Some(r) => out.push(r),
                None => break,
            }
        }
        out
    }
}

/// (raft index, position, record bytes).
type RecordRow = (u64, u64, Bytes);

/// Compares the replicas: every record that two nodes both hold (up to `upto`) is
/// byte-identical at the same position, every node holds the log up to `upto`, and any two
/// nodes share at least one record (their logs overlap, whatever each has purged).
pub(crate) fn assert_replicas_identical(cluster: &TestCluster, upto: u64) {
    let mut reference: Option<(u64, BTreeMap<u64, RecordRow>)> = None;
    for node in cluster.running() {
        let log = node.store().commitlog();
        let first = log.view().first.expect("log not empty");
        let records = log.read(first, upto + 1, u64::MAX).expect("read");
        assert_eq!(
            records.last().map(|r| r.index()),
            Some(upto),
            "node {}",
            node.id()
        );
        let rows: BTreeMap<u64, RecordRow> = records
            .iter()
            .map(|r| (r.index(), (r.index(), r.position(), r.as_bytes().clone())))
            .collect();
        match &reference {
            None => reference = Some((node.id(), rows)),
            Some((ref_id, ref_rows)) => {
                let mut shared = 0;
                for (index, row) in &rows {
                    if let Some(expected) = ref_rows.get(index) {
                        shared += 1;
                        assert_eq!(
                            expected,
                            row,
                            "record {index} differs between node {ref_id} and node {}",
                            node.id()
                        );
                    }
                }
                assert!(
                    shared > 0,
                    "nodes {ref_id} and {} share no record",
                    node.id()
                );
            }
        }
    }
}
