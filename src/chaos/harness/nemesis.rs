//! The nemesis: which faults a run injects, in what order (a seeded choice, or the smoke
//! run's fixed list), and how each is done and undone. Every fault is bracketed by `fault`
//! markers in the history (start when it is injected, end when it is undone) and followed by
//! a wait until the group is whole again: every node running, every nameserver naming one
//! master. A node that exits when no fault asked it to is a finding the run reports.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::chaos::history::{FaultMarker, Phase};

use super::disk;
use super::net::Host;
use super::nodes::{NodeId, Nodes};
use super::probe;
use super::recorder::Recorder;

/// One kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// kill -9 of the leader, restarted after a few seconds.
    Kill,
    /// kill -9 of any node of the group.
    KillAny,
    /// SIGSTOP of the leader, SIGCONT after the hold.
    Pause,
    /// SIGSTOP of a follower.
    PauseFollower,
    /// The leader cut off from everyone: peers, nameservers, clients.
    Isolate,
    /// The leader cut off from its peers only: it still reaches nameservers and clients.
    PeerCut,
    /// The leader's packets to its peers dropped, theirs to it delivered.
    OneWay,
    /// A follower's disk filled, freed after the hold.
    DiskFull,
    /// The leader's disk filled.
    DiskFullLeader,
    /// A stopped follower's oldest segment corrupted in the middle.
    Corrupt,
    /// A stopped follower's last written page zeroed.
    TornTail,
    /// All three nodes killed at once and restarted.
    GroupRestart,
    /// Each node stopped gracefully and restarted in turn, the leader last.
    RollingRestart,
}

impl FaultKind {
    pub const ALL: [FaultKind; 13] = [
        FaultKind::Kill,
        FaultKind::KillAny,
        FaultKind::Pause,
        FaultKind::PauseFollower,
        FaultKind::Isolate,
        FaultKind::PeerCut,
        FaultKind::OneWay,
        FaultKind::DiskFull,
        FaultKind::DiskFullLeader,
        FaultKind::Corrupt,
        FaultKind::TornTail,
        FaultKind::GroupRestart,
        FaultKind::RollingRestart,
    ];

    /// The smoke run's list: 3 leader kills, 2 pauses, 2 partitions, a full disk, a
    /// corruption, a whole-group restart.
    pub const SMOKE: [FaultKind; 10] = [
        FaultKind::Kill,
        FaultKind::Pause,
        FaultKind::Isolate,
        FaultKind::Kill,
        FaultKind::DiskFull,
        FaultKind::PauseFollower,
        FaultKind::PeerCut,
        FaultKind::TornTail,
        FaultKind::Kill,
        FaultKind::GroupRestart,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Kill => "kill",
            FaultKind::KillAny => "kill_any",
            FaultKind::Pause => "pause",
            FaultKind::PauseFollower => "pause_follower",
            FaultKind::Isolate => "isolate",
            FaultKind::PeerCut => "peer_cut",
            FaultKind::OneWay => "one_way",
            FaultKind::DiskFull => "disk_full",
            FaultKind::DiskFullLeader => "disk_full_leader",
            FaultKind::Corrupt => "corrupt",
            FaultKind::TornTail => "torn_tail",
            FaultKind::GroupRestart => "group_restart",
            FaultKind::RollingRestart => "rolling_restart",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FaultKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        FaultKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = FaultKind::ALL.iter().map(|k| k.name()).collect();
                format!("unknown fault {s:?}; known: {}", names.join(", "))
            })
    }
}

/// A seeded source of choices (splitmix64): the same seed gives the same run of faults.
pub struct Seeded(u64);

impl Seeded {
    pub fn new(seed: u64) -> Seeded {
        Seeded(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// A duration between `min` and `max`, in whole milliseconds.
    pub fn between(&mut self, min: Duration, max: Duration) -> Duration {
        let (lo, hi) = (
            min.as_millis() as u64,
            max.as_millis().max(min.as_millis()) as u64,
        );
        Duration::from_millis(lo + self.below(hi - lo + 1))
    }
}

/// The nemesis of one run.
pub struct Nemesis {
    pub nodes: Nodes,
    rec: Arc<Recorder>,
    rng: Seeded,
    /// Longest hold of a pause, partition or full disk.
    hold_max: Duration,
    next_fault: u64,
    /// Nodes that exited when no fault stopped them, and other things the run must report.
    pub findings: Vec<String>,
    /// What each fault cost to recover from (kind, group, seconds), for the report.
    pub recoveries: Vec<(FaultKind, usize, Option<f64>)>,
}

impl Nemesis {
    pub fn new(nodes: Nodes, rec: Arc<Recorder>, seed: u64, hold_max: Duration) -> Nemesis {
        Nemesis {
            nodes,
            rec,
            rng: Seeded::new(seed),
            hold_max,
            next_fault: 1,
            findings: Vec::new(),
            recoveries: Vec::new(),
        }
    }

    pub fn rng(&mut self) -> &mut Seeded {
        &mut self.rng
    }

    fn marker(
        &self,
        fault: u64,
        phase: Phase,
        kind: FaultKind,
        target: &str,
        node: Option<NodeId>,
        group: usize,
    ) {
        self.rec.record(FaultMarker {
            time_ms: self.rec.now_ms(),
            phase,
            fault,
            kind: kind.name().to_owned(),
            target: target.to_owned(),
            broker_group: Some(super::nodes::broker_group(group)),
            addr: node.map(|n| self.nodes.layout.broker_addr(n)),
        });
    }

    /// The marker of a fault on one node.
    fn node_marker(&self, fault: u64, phase: Phase, kind: FaultKind, id: NodeId) {
        self.marker(fault, phase, kind, &id.to_string(), Some(id), id.group);
    }

    fn group_nodes(&self, group: usize) -> Vec<NodeId> {
        self.nodes
            .layout
            .nodes()
            .into_iter()
            .filter(|n| n.group == group)
            .collect()
    }

    /// The group's leader (waiting up to 10 s for one), else its first node.
    async fn leader(&self, group: usize) -> NodeId {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(id) = probe::leader(&self.nodes.layout, group).await {
                return id;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        NodeId { group, node: 1 }
    }

    fn other_than(&mut self, group: usize, not: NodeId) -> NodeId {
        let others: Vec<NodeId> = self
            .group_nodes(group)
            .into_iter()
            .filter(|n| *n != not)
            .collect();
        let pick = self.rng.below(others.len() as u64) as usize;
        others.get(pick).copied().unwrap_or(not)
    }

    fn hold(&mut self) -> Duration {
        self.rng.between(Duration::from_secs(1), self.hold_max)
    }

    fn start_node(&mut self, id: NodeId) {
        if let Err(e) = self.nodes.start(id) {
            self.findings.push(format!("{id}: could not start: {e}"));
        }
    }

    /// Injects one fault of `kind` on `group`, undoes it, waits for the group to be whole.
    pub async fn inject(&mut self, kind: FaultKind, group: usize) {
        let fault = self.next_fault;
        self.next_fault += 1;
        self.check_unexpected_exits();
        let leader = self.leader(group).await;
        let follower = self.other_than(group, leader);
        let started = Instant::now();
        let target = match kind {
            FaultKind::Kill => self.kill(fault, kind, leader).await,
            FaultKind::KillAny => {
                let pick = self.group_nodes(group)[self.rng.below(3) as usize];
                self.kill(fault, kind, pick).await
            }
            FaultKind::Pause => self.pause(fault, kind, leader).await,
            FaultKind::PauseFollower => self.pause(fault, kind, follower).await,
            FaultKind::Isolate | FaultKind::PeerCut | FaultKind::OneWay => {
                self.partition(fault, kind, leader).await
            }
            FaultKind::DiskFull => self.disk_full(fault, kind, follower).await,
            FaultKind::DiskFullLeader => self.disk_full(fault, kind, leader).await,
            FaultKind::Corrupt | FaultKind::TornTail => self.corrupt(fault, kind, follower).await,
            FaultKind::GroupRestart => self.group_restart(fault, group).await,
            FaultKind::RollingRestart => self.rolling_restart(fault, group, leader).await,
        };
        let recovered = self.recover(group, Duration::from_secs(60)).await;
        if recovered.is_none() {
            self.findings.push(format!(
                "fault {fault} ({kind} of {target}): group {group} not whole 60 s after it was undone"
            ));
        }
        self.recoveries
            .push((kind, group, recovered.map(|d| d.as_secs_f64())));
        tracing::info!(fault, %kind, target, took = ?started.elapsed(), ?recovered, "fault done");
    }

    async fn kill(&mut self, fault: u64, kind: FaultKind, id: NodeId) -> String {
        self.node_marker(fault, Phase::Start, kind, id);
        self.nodes.kill(id);
        let down = self
            .rng
            .between(Duration::from_millis(500), Duration::from_secs(4));
        tokio::time::sleep(down).await;
        self.start_node(id);
        self.node_marker(fault, Phase::End, kind, id);
        id.to_string()
    }

    async fn pause(&mut self, fault: u64, kind: FaultKind, id: NodeId) -> String {
        let hold = self.hold();
        self.node_marker(fault, Phase::Start, kind, id);
        self.nodes.pause(id);
        tokio::time::sleep(hold).await;
        self.nodes.resume(id);
        self.node_marker(fault, Phase::End, kind, id);
        id.to_string()
    }

    async fn partition(&mut self, fault: u64, kind: FaultKind, id: NodeId) -> String {
        let hold = self.hold();
        let net = self.nodes.layout.net.clone();
        let me = self.nodes.layout.host(id).clone();
        let peers: Vec<Host> = self
            .group_nodes(id.group)
            .into_iter()
            .filter(|n| *n != id)
            .map(|n| self.nodes.layout.host(n).clone())
            .collect();
        self.node_marker(fault, Phase::Start, kind, id);
        let made = match kind {
            FaultKind::Isolate => net
                .hosts()
                .filter(|h| **h != me)
                .try_for_each(|h| net.cut(&me, h)),
            FaultKind::PeerCut => peers.iter().try_for_each(|p| net.cut(&me, p)),
            _ => peers.iter().try_for_each(|p| net.block(&me, p.addr)),
        };
        if let Err(e) = made {
            self.findings
                .push(format!("fault {fault}: partition not made: {e}"));
        }
        tokio::time::sleep(hold).await;
        if let Err(e) = net.heal() {
            self.findings
                .push(format!("fault {fault}: partition not healed: {e}"));
        }
        self.node_marker(fault, Phase::End, kind, id);
        id.to_string()
    }

    async fn disk_full(&mut self, fault: u64, kind: FaultKind, id: NodeId) -> String {
        let hold = self.hold();
        let disk = self.nodes.layout.disk(id);
        self.node_marker(fault, Phase::Start, kind, id);
        if let Err(e) = disk::fill(&disk) {
            self.findings
                .push(format!("fault {fault}: disk of {id} not filled: {e}"));
        }
        tokio::time::sleep(hold).await;
        if let Err(e) = disk::free(&disk) {
            self.findings
                .push(format!("fault {fault}: disk of {id} not freed: {e}"));
        }
        self.node_marker(fault, Phase::End, kind, id);
        id.to_string()
    }

    /// Stops `id`, damages its commitlog and starts it. A node that refuses to start on the
    /// damage (it must never serve it) is repaired as an operator would: its store is removed
    /// and it catches up from the leader.
    async fn corrupt(&mut self, fault: u64, kind: FaultKind, id: NodeId) -> String {
        self.node_marker(fault, Phase::Start, kind, id);
        let how = self.nodes.stop(id, Duration::from_secs(20)).await;
        let store = self.nodes.layout.store(id);
        let damage = if kind == FaultKind::Corrupt {
            disk::corrupt_middle(&store)
        } else {
            disk::tear_tail(&store)
        };
        tracing::info!(fault, %id, how, ?damage, "node damaged");
        self.start_node(id);
        let deadline = Instant::now() + Duration::from_secs(8);
        while Instant::now() < deadline && self.nodes.running(id) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !self.nodes.running(id) {
            let reason = self.nodes.exit_reason(id).unwrap_or("exited").to_owned();
            tracing::info!(fault, %id, reason, "node refused its damaged store; wiping it");
            self.rec.record(crate::chaos::history::RunInfo {
                seed: None,
                note: Some(format!(
                    "fault {fault}: {id} refused to start on {damage:?}: {reason}"
                )),
            });
            let _ = std::fs::remove_dir_all(&store);
            self.start_node(id);
        }
        self.node_marker(fault, Phase::End, kind, id);
        id.to_string()
    }

    async fn group_restart(&mut self, fault: u64, group: usize) -> String {
        let target = format!("all of group {group}");
        self.marker(
            fault,
            Phase::Start,
            FaultKind::GroupRestart,
            &target,
            None,
            group,
        );
        for id in self.group_nodes(group) {
            self.nodes.kill(id);
        }
        tokio::time::sleep(
            self.rng
                .between(Duration::from_millis(500), Duration::from_secs(3)),
        )
        .await;
        for id in self.group_nodes(group) {
            self.start_node(id);
        }
        self.marker(
            fault,
            Phase::End,
            FaultKind::GroupRestart,
            &target,
            None,
            group,
        );
        target
    }

    async fn rolling_restart(&mut self, fault: u64, group: usize, leader: NodeId) -> String {
        let target = format!("each of group {group}");
        self.marker(
            fault,
            Phase::Start,
            FaultKind::RollingRestart,
            &target,
            None,
            group,
        );
        let mut order: Vec<NodeId> = self
            .group_nodes(group)
            .into_iter()
            .filter(|n| *n != leader)
            .collect();
        order.push(leader);
        for id in order {
            let how = self.nodes.stop(id, Duration::from_secs(20)).await;
            if !how.contains("exit status: 0") {
                self.findings
                    .push(format!("fault {fault}: graceful stop of {id}: {how}"));
            }
            self.start_node(id);
            let whole = self.recover(group, Duration::from_secs(30)).await.is_some();
            if !whole || !self.wait_caught_up(id, Duration::from_secs(30)).await {
                self.findings.push(format!(
                    "fault {fault}: group {group} not whole and {id} not caught up 30 s after its restart"
                ));
            }
        }
        self.marker(
            fault,
            Phase::End,
            FaultKind::RollingRestart,
            &target,
            None,
            group,
        );
        target
    }

    /// Waits until `id` has applied what the rest of its group had; `false` at `within`.
    async fn wait_caught_up(&self, id: NodeId, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if probe::caught_up(&self.nodes.layout, id).await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        false
    }

    /// Restarts any node that exited when no fault stopped it, and says so.
    pub fn check_unexpected_exits(&mut self) {
        for id in self.nodes.layout.nodes() {
            if !self.nodes.running(id) {
                let reason = self
                    .nodes
                    .exit_reason(id)
                    .unwrap_or("not running")
                    .to_owned();
                self.findings
                    .push(format!("{id} exited on its own: {reason}"));
                self.start_node(id);
            }
        }
    }

    /// Waits until every node of `group` runs and every nameserver names one master; returns
    /// how long that took, or `None` at `within`.
    pub async fn recover(&mut self, group: usize, within: Duration) -> Option<Duration> {
        let started = Instant::now();
        let mut restarted_at: Option<Instant> = None;
        while started.elapsed() < within {
            // A node that exited on its own is a finding; it is started again (at most every
            // 5 s, as a supervisor would), so the run goes on.
            if restarted_at.is_none_or(|at| at.elapsed() >= Duration::from_secs(5)) {
                restarted_at = Some(Instant::now());
                self.check_unexpected_exits();
            }
            let all_running = self
                .group_nodes(group)
                .into_iter()
                .all(|id| self.nodes.running(id));
            if all_running
                && probe::agreed_master(&self.nodes.layout, group)
                    .await
                    .is_some()
            {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        None
    }
}
