//! In-process three-node group benchmark: commit throughput and failover time.
//!
//! Three `RaftNode`s with their own stores in a temp dir (on the project's filesystem), talking
//! over loopback TCP, `SYNC_FLUSH` (acknowledged once a majority has the entry on disk), default
//! timing (50 ms heartbeat, 200-400 ms election timeout). Measured in one run:
//!
//! * commit throughput of 1 KiB messages, one proposal in flight (latency p50/p99) and many in
//!   flight (openraft batches concurrent proposals into one append and one fsync per node);
//! * failover: abort the leader (no checkpoint, no close: a killed process), time until a
//!   survivor is leader with a fresh lease and everything applied, and until the first
//!   proposal on it commits; repeated `--rounds` times (20 by default), the old leader restarted
//!   and caught up between rounds.
//!
//! `cargo bench --bench raft` (add `-- --quick` for a short run). Test runners that start bench
//! binaries without `--bench` get nothing: the harness only runs when cargo bench asks.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dledger_broker::message::{MessageToStore, encode_message};
use dledger_broker::raft::{Leadership, ProposalKind, RaftNode, RaftOptions};
use dledger_broker::store::{MessageStore, MessageStoreOptions};
use futures_util::StreamExt;
use tokio::net::TcpListener;

const SEGMENT: u64 = 64 << 20;

struct Group {
    root: tempfile::TempDir,
    addrs: BTreeMap<u64, SocketAddr>,
    nodes: BTreeMap<u64, Option<RaftNode>>,
}

fn message(seq: u64) -> Bytes {
    let addr: SocketAddr = "127.0.0.1:30911".parse().expect("address");
    let body = vec![b'x'; 1024];
    Bytes::from(
        encode_message(&MessageToStore {
            born_host: addr,
            store_host: addr,
            ..MessageToStore::new("BenchmarkTest", (seq % 8) as i32, body)
        })
        .expect("message encodes"),
    )
}

impl Group {
    async fn start() -> Group {
        let root = tempfile::tempdir().expect("temp dir");
        let mut listeners = BTreeMap::new();
        let mut addrs = BTreeMap::new();
        for id in 1..=3u64 {
            let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            addrs.insert(id, l.local_addr().expect("addr"));
            listeners.insert(id, l);
        }
        let mut g = Group {
            root,
            addrs,
            nodes: BTreeMap::new(),
        };
        for (id, l) in listeners {
            let node = g.start_node(id, l).await;
            g.nodes.insert(id, Some(node));
        }
        g
    }

    async fn start_node(&self, id: u64, listener: TcpListener) -> RaftNode {
        let dir = self.root.path().join(format!("node{id}"));
        let opts = RaftOptions {
            group: "RaftNode00".into(),
            self_id: id,
            peers: self
                .addrs
                .iter()
                .map(|(i, a)| (*i, a.to_string()))
                .collect(),
            heartbeat_interval: Duration::from_millis(50),
            election_timeout_min: Duration::from_millis(200),
            election_timeout_max: Duration::from_millis(400),
            sync_flush: true,
            propose_timeout: Duration::from_secs(5),
            checkpoint_interval: Duration::from_secs(1),
            state_dir: dir.clone(),
            peer_secret: None,
        };
        let store = open_store(&dir).await;
        RaftNode::start(opts, store, listener)
            .await
            .expect("node starts")
    }

    fn node(&self, id: u64) -> &RaftNode {
        self.nodes[&id].as_ref().expect("running")
    }

    async fn leader(&self, within: Duration) -> Option<u64> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            let leaders: Vec<u64> = self
                .nodes
                .values()
                .flatten()
                .filter(|n| matches!(*n.leadership().borrow(), Leadership::Leader { .. }))
                .map(RaftNode::id)
                .collect();
            if let [l] = leaders[..] {
                return Some(l);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        None
    }

    async fn restart(&mut self, id: u64) {
        let listener = loop {
            match TcpListener::bind(self.addrs[&id]).await {
                Ok(l) => break l,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        let node = self.start_node(id, listener).await;
        self.nodes.insert(id, Some(node));
    }
}

async fn open_store(dir: &Path) -> Arc<MessageStore> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        MessageStore::open(MessageStoreOptions::in_dir(&dir, SEGMENT)).map(Arc::new)
    })
    .await
    .expect("task")
    .expect("store opens")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn throughput(
    g: &Group,
    leader: u64,
    count: u64,
    in_flight: usize,
    first: u64,
) -> (f64, Vec<Duration>) {
    let node = g.node(leader);
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(count as usize);
    let mut pending = futures_util::stream::FuturesUnordered::new();
    let mut next = first;
    let end = first + count;
    loop {
        while pending.len() < in_flight && next < end {
            let seq = next;
            next += 1;
            pending.push(async move {
                let t = Instant::now();
                let r = node.propose(ProposalKind::Message, message(seq)).await;
                (r, t.elapsed())
            });
        }
        match pending.next().await {
            Some((Ok(_), lat)) => latencies.push(lat),
            Some((Err(e), _)) => panic!("proposal failed: {e}"),
            None => break,
        }
    }
    let rate = count as f64 / started.elapsed().as_secs_f64();
    latencies.sort();
    (rate, latencies)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("run it with `cargo bench --bench raft [-- --quick]`");
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let rounds: usize = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|r| r.parse().ok())
        .unwrap_or(if quick { 5 } else { 20 });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(quick, rounds));
}

async fn run(quick: bool, rounds: usize) {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "machine: {} cpus, load {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.trim()
    );
    let mut g = Group::start().await;
    let leader = g.leader(Duration::from_secs(10)).await.expect("a leader");
    let n1 = if quick { 1_000 } else { 3_000 };
    let nmany = if quick { 10_000 } else { 40_000 };
    // Warm-up.
    throughput(&g, leader, 500, 64, 0).await;
    let term_before = g.node(leader).status().term;
    let (one_rate, one_lat) = throughput(&g, leader, n1, 1, 1_000).await;
    let (many_rate, many_lat) = throughput(&g, leader, nmany, 256, 100_000).await;
    println!(
        "commit, 1 KiB, 1 in flight:   {one_rate:>9.0} msgs/s  p50 {:?}  p99 {:?}",
        percentile(&one_lat, 0.5),
        percentile(&one_lat, 0.99)
    );
    println!(
        "commit, 1 KiB, 256 in flight: {many_rate:>9.0} msgs/s  p50 {:?}  p99 {:?}",
        percentile(&many_lat, 0.5),
        percentile(&many_lat, 0.99)
    );
    let status = g.node(leader).status();
    println!(
        "spurious elections while both cores were busy: {} (term {} -> {}, leader {} -> {:?})",
        status.term - term_before,
        term_before,
        status.term,
        leader,
        status.leader
    );

    let mut elected = Vec::new();
    let mut first_commit = Vec::new();
    let mut seq = 1_000_000u64;
    for round in 0..rounds {
        let old = g.leader(Duration::from_secs(10)).await.expect("a leader");
        throughput(&g, old, 50, 8, seq).await;
        seq += 50;
        let node = g
            .nodes
            .get_mut(&old)
            .and_then(Option::take)
            .expect("leader running");
        let killed = Instant::now();
        node.abort().await;
        let Some(new) = g.leader(Duration::from_secs(10)).await else {
            panic!("round {round}: no new leader within 10 s");
        };
        let e = killed.elapsed();
        g.node(new)
            .propose(ProposalKind::Message, message(seq))
            .await
            .expect("first proposal after failover");
        seq += 1;
        let c = killed.elapsed();
        println!(
            "failover round {round:>2}: leader {old} -> {new}: elected {e:?}, first commit {c:?}"
        );
        elected.push(e);
        first_commit.push(c);
        g.restart(old).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    elected.sort();
    first_commit.sort();
    println!(
        "failover over {rounds} rounds: new leader median {:?} max {:?}; first commit median {:?} max {:?}",
        percentile(&elected, 0.5),
        elected.last().copied().unwrap_or_default(),
        percentile(&first_commit, 0.5),
        first_commit.last().copied().unwrap_or_default()
    );
    for (_, node) in std::mem::take(&mut g.nodes) {
        if let Some(n) = node {
            let _ = n.shutdown().await;
        }
    }
}
