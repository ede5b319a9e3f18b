//! Power cuts under Raft: a three-node group (real nodes over loopback, `SYNC_FLUSH`, small
//! segments, eager retention) driven by seeded schedules of proposals, retention passes and
//! kills each followed by a simulated power cut of the killed node's directory
//! (`store::powercut`): one node, two nodes (a majority), all three at once, or a follower that
//! stays down while the others go on and purge. After each recovery:
//!
//! * every node restarted on its own (a restart that fails is a violation);
//! * a leader is elected and new proposals commit;
//! * every acknowledged message is back, on every node whose log still covers its index, at the
//!   index, queue offset and physical offset it was acknowledged with, with its body;
//! * replicas are byte-identical at equal indexes, and every queue's max offset is the same on
//!   every node once all applied.
//!
//! `POWERCUT_SEED=n cargo test --lib powercut` replays one seed, `POWERCUT_SEEDS=n` runs a
//! longer campaign (`scripts/powercut-campaign.sh`).
//!
//! Powercut notes: the findings (B: stamped queue offsets lost behind the applied checkpoint,
//! C: retention past it) and their seeds are listed with the store's in
//! `store/powercut/tests.rs`, with their fixes; both campaigns run in CI. Timing-dependent: a
//! seed may need a few runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::cluster::{QUEUES, TOPIC, TestCluster, assert_replicas_identical};
use crate::message::decode_message;
use crate::raft::Applied;
use crate::store::MessageStoreOptions;
use crate::store::powercut::{Campaign, Style, Tally, cut, same_style, style_of, track};

const SEG: u64 = 64 * 1024;
const ROUNDS: usize = 5;

/// Small segments and index files; retention purges whatever is applied and does not wait for
/// a voter that is down (so a node that comes back may need a snapshot).
fn store_options(dir: &Path) -> MessageStoreOptions {
    let mut o = MessageStoreOptions::in_dir(dir, SEG);
    o.commitlog.index_entries_per_file = 4096;
    o.retention.file_reserved = Duration::ZERO;
    o.retention.disk_max_used_ratio = 0.0;
    o.retention.disk_force_clean_ratio = 0.0;
    o
}

/// What happens after each batch of proposals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Kill, cut and restart one node (the leader or a follower).
    One,
    /// Two nodes: the group loses its majority.
    Two,
    /// All three at once.
    All,
    /// A retention pass on the leader (and sometimes a follower), no kill.
    Retention,
    /// A follower is killed and cut, the others go on and purge, then it comes back.
    Lagging,
}

struct Run<'a> {
    seed: u64,
    rng: StdRng,
    cluster: TestCluster,
    /// Acknowledged messages: sequence number -> where they were applied.
    acked: BTreeMap<u64, Applied>,
    next_seq: u64,
    cuts: u64,
    tally: &'a mut Tally,
}

impl Run<'_> {
    fn count(&mut self, key: impl Into<String>) {
        *self.tally.entry(key.into()).or_default() += 1;
    }

    /// Proposes `n` new messages on the leader, up to 32 at a time; records those
    /// acknowledged. With `all`, every one must be acknowledged (the group is healthy). With a
    /// deadline, whatever is still in flight then is abandoned (it may commit later or not) so
    /// that a kill can follow while the leader is busy.
    async fn propose(&mut self, n: u64, all: bool, deadline: Option<Instant>) -> Option<u64> {
        use futures_util::StreamExt;
        let leader = self.cluster.wait_leader(Duration::from_secs(10)).await;
        let in_flight = self.rng.random_range(1..33);
        let seqs = self.next_seq..self.next_seq + n;
        self.next_seq += n;
        let node = self.cluster.node(leader);
        let mut pending = futures_util::stream::FuturesUnordered::new();
        let mut seqs = seqs.peekable();
        let mut last = None;
        loop {
            while pending.len() < in_flight
                && let Some(seq) = seqs.next()
            {
                let body = super::cluster::message(seq);
                pending.push(async move {
                    (
                        seq,
                        node.propose(crate::raft::ProposalKind::Message, body).await,
                    )
                });
            }
            let next = match deadline {
                Some(d) => match tokio::time::timeout_at(d.into(), pending.next()).await {
                    Ok(next) => next,
                    Err(_) => break,
                },
                None => pending.next().await,
            };
            match next {
                Some((seq, Ok(applied))) => {
                    last = last.max(Some(applied.index));
                    self.acked.insert(seq, applied);
                }
                Some((seq, Err(e))) if all => {
                    panic!("message {seq} not acknowledged by leader {leader}: {e}")
                }
                Some(_) => {}
                None => break,
            }
        }
        last
    }

    /// Kills node `id` (abort: no close, no checkpoint), waits until nothing holds its store,
    /// then cuts the power of its directory.
    async fn kill_and_cut(&mut self, id: u64) {
        let node = self.cluster.nodes.get_mut(&id).and_then(Option::take);
        let node = node.unwrap_or_else(|| panic!("node {id} is not running"));
        let store = Arc::downgrade(node.store());
        node.abort().await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while store.strong_count() > 0 {
            assert!(
                Instant::now() < deadline,
                "node {id}: store still held after abort"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let root = self.cluster.node_dir(id);
        let seed = same_style(self.seed, self.cuts);
        self.cuts += 1;
        let summary = tokio::task::spawn_blocking(move || cut(&root, seed))
            .await
            .expect("cut task")
            .expect("cut");
        tracing::info!(id, %summary, "node cut");
        self.count(format!("style {}", summary.style.name()));
        *self.tally.entry("pages reverted".into()).or_default() += summary.pages_reverted as u64;
        *self.tally.entry("files restored".into()).or_default() += summary.files_restored as u64;
    }

    async fn restart(&mut self, id: u64) {
        self.cluster.restart(id).await;
    }

    /// Distinct node ids, `n` of them, in random order.
    fn pick(&mut self, n: usize) -> Vec<u64> {
        let mut ids = vec![1, 2, 3];
        for i in (1..ids.len()).rev() {
            ids.swap(i, self.rng.random_range(0..=i));
        }
        ids.truncate(n);
        ids
    }

    async fn fault(&mut self, fault: Fault) {
        match fault {
            Fault::One | Fault::Two | Fault::All => {
                let n = match fault {
                    Fault::One => 1,
                    Fault::Two => 2,
                    _ => 3,
                };
                let ids = self.pick(n);
                if self.rng.random_bool(0.6) {
                    // The kill lands while proposals are in flight.
                    let delay = Duration::from_millis(self.rng.random_range(5..120));
                    let n = self.rng.random_range(50..300);
                    self.propose(n, false, Some(Instant::now() + delay)).await;
                    self.count("kills in flight");
                }
                for &id in &ids {
                    self.kill_and_cut(id).await;
                }
                for id in self.pick(3) {
                    if ids.contains(&id) {
                        self.restart(id).await;
                    }
                }
            }
            Fault::Retention => {
                let leader = self.cluster.wait_leader(Duration::from_secs(10)).await;
                let purged = self.cluster.node(leader).run_retention().await;
                let purged = purged.unwrap_or_else(|e| panic!("retention on {leader}: {e}"));
                if purged.is_some() {
                    self.count("purges");
                }
                if self.rng.random_bool(0.5) {
                    let follower = self.pick(3).into_iter().find(|&id| id != leader);
                    let follower = follower.expect("a follower");
                    let r = self.cluster.node(follower).run_retention().await;
                    r.unwrap_or_else(|e| panic!("retention on {follower}: {e}"));
                }
            }
            Fault::Lagging => {
                let leader = self.cluster.wait_leader(Duration::from_secs(10)).await;
                let follower = self.pick(3).into_iter().find(|&id| id != leader);
                let follower = follower.expect("a follower");
                self.kill_and_cut(follower).await;
                let n = self.rng.random_range(100..400);
                self.propose(n, false, None).await;
                let leader = self.cluster.wait_leader(Duration::from_secs(10)).await;
                let purged = self.cluster.node(leader).run_retention().await;
                if purged
                    .unwrap_or_else(|e| panic!("retention on {leader}: {e}"))
                    .is_some()
                {
                    self.count("purges past a node that is down");
                }
                self.restart(follower).await;
            }
        }
    }

    /// The checks after a recovery (see the module docs).
    async fn check(&mut self, round: usize) {
        let last = self
            .propose(5, true, None)
            .await
            .expect("new proposals commit after the recovery");
        self.cluster
            .wait_applied(last, Duration::from_secs(20))
            .await;
        for node in self.cluster.running() {
            let store = node.store();
            let log = store.commitlog();
            let first = log.view().first.expect("log not empty");
            for (seq, applied) in &self.acked {
                if applied.index < first {
                    continue; // purged here, or before the snapshot this node installed
                }
                let id = node.id();
                let m = applied.messages[0];
                let bytes = store
                    .commitlog()
                    .read_at(m.physical_offset, u64::from(m.size))
                    .expect("read");
                let bytes = bytes.unwrap_or_else(|| {
                    panic!("round {round}: node {id}: acknowledged message {seq} lost")
                });
                let (stored, _) = decode_message(&bytes).unwrap_or_else(|e| {
                    panic!("round {round}: node {id}: acknowledged message {seq} garbled: {e}")
                });
                assert!(
                    stored.message.body == format!("message {seq:08}").into_bytes(),
                    "round {round}: node {id}: acknowledged message {seq} (index {}) replaced by {:?}",
                    applied.index,
                    String::from_utf8_lossy(&stored.message.body)
                );
                assert_eq!(
                    stored.message.queue_offset, m.queue_offset,
                    "round {round}: node {id}: acknowledged message {seq} (index {}): stamped queue offset",
                    applied.index
                );
                let queue = store.consume_queues().get(TOPIC, m.queue_id);
                let unit = queue.and_then(|q| {
                    (q.min_offset() <= m.queue_offset).then(|| q.get(m.queue_offset))
                });
                if let Some(unit) = unit {
                    assert_eq!(
                        unit.map(|u| u.commitlog_offset),
                        Some(m.physical_offset),
                        "round {round}: node {id}: queue unit of message {seq}"
                    );
                }
            }
        }
        assert_replicas_identical(&self.cluster, last);
        for q in 0..QUEUES {
            let offsets: Vec<(u64, Option<u64>)> = self
                .cluster
                .running()
                .map(|n| {
                    let queue = n.store().consume_queues().get(TOPIC, q);
                    (n.id(), queue.map(|q| q.max_offset()))
                })
                .collect();
            assert!(
                offsets.windows(2).all(|w| w[0].1 == w[1].1),
                "round {round}: queue {q} max offsets differ: {offsets:?}"
            );
        }
    }
}

async fn run(seed: u64, tally: &mut Tally, faults: &[Fault]) {
    let cluster = TestCluster::start_with(3, store_options).await;
    // Tracked from here: what the nodes wrote while starting counts as durable.
    let _tracking: Vec<_> = (1..=3)
        .map(|id| track(&cluster.node_dir(id)).expect("track"))
        .collect();
    let mut run = Run {
        seed,
        rng: StdRng::seed_from_u64(seed),
        cluster,
        acked: BTreeMap::new(),
        next_seq: 0,
        cuts: 0,
        tally,
    };
    for round in 0..ROUNDS {
        let n = run.rng.random_range(20..150);
        run.propose(n, true, None).await;
        let fault = faults[run.rng.random_range(0..faults.len())];
        tracing::info!(seed, round, ?fault, "powercut round");
        run.count(format!("{fault:?}"));
        run.fault(fault).await;
        run.check(round).await;
    }
}

/// Runs one seed on its own runtime, so a failing seed leaves nothing running behind.
fn one_seed(seed: u64, tally: &mut Tally, faults: &[Fault]) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(run(seed, tally, faults));
    }));
    rt.shutdown_timeout(Duration::from_secs(5));
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

const EVERY_FAULT: [Fault; 5] = [
    Fault::One,
    Fault::Two,
    Fault::All,
    Fault::Retention,
    Fault::Lagging,
];

/// Every fault, every style of cut.
#[test]
fn powercut_raft_group_keeps_every_acknowledged_message() {
    let campaign = Campaign {
        name: "raft",
        seeds: 20,
        budget: Duration::from_secs(60),
        only: |_| true,
    };
    campaign.run(|seed, tally| one_seed(seed, tally, &EVERY_FAULT));
}

/// The always-on part: every fault, but each kill is a process kill (gentle cut: the page
/// cache survives, as after `kill -9`), in `SYNC_FLUSH`.
#[test]
fn powercut_raft_group_keeps_every_acknowledged_message_through_process_kills() {
    let campaign = Campaign {
        name: "raft-kill",
        seeds: 6,
        budget: Duration::from_secs(40),
        only: |seed| style_of(seed) == Style::Gentle,
    };
    campaign.run(|seed, tally| one_seed(seed, tally, &EVERY_FAULT));
}
