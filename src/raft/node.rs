//! `RaftNode`: one member of a broker group, running openraft over the commitlog.
//!
//! It wires the message store, the log store and state machine, the peer network and
//! openraft, and offers the broker what it needs: propose a batch of messages and get their
//! offsets back, read the replicated tables, watch leadership, hand leadership over, stop.
//!
//! Leadership is reported as [`Leadership::Leader`] only when the node leads *and* its lease is
//! fresh (a quorum acknowledged it within the election timeout) *and* it has applied everything
//! in its log at least once in this term (its first entry of the term is committed and applied):
//! only then may the broker register as master. A partitioned old leader's lease goes stale
//! within one election timeout, so it stops claiming leadership on its own.
//!
//! [`RaftOptions`] and the openraft `Config` they make live in `node/options.rs`; the background
//! tasks (leadership watcher, retention and checkpoint loops) in `node/tasks.rs`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use openraft::Instant as _;
use openraft::error::{ClientWriteError, RaftError};
use openraft::raft::ClientWriteResponse;
use openraft_rt::watch::WatchReceiver;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::log_store::{Durability, LogStore};
use super::network::{NetworkFaults, PeerIds, PeerNetwork, PeerSecret, serve};
use super::state_machine::{SmShared, StateMachine};
use super::tables::{AdminOp, OffsetCommit, Tables, encode};
use super::types::{Applied, PeerNode, Proposal, ProposalKind, TypeConfig};
use crate::store::{HEADER_LEN, MessageStore, record_align};

mod options;
mod tasks;

pub use options::RaftOptions;
use tasks::{
    RETENTION_INTERVAL, checkpoint_loop, retention_loop, retention_once, watch_leadership,
};

type Raft = openraft::Raft<TypeConfig, StateMachine>;

/// What the broker may do, as of now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leadership {
    /// This node leads with a fresh lease and has applied everything: it may take writes and
    /// register as master.
    Leader { term: u64 },
    /// Another node leads, or none is known yet (`leader: None`).
    Follower { leader: Option<u64>, term: u64 },
    /// The raft core stopped (a storage failure): the node must restart.
    Stopped,
}

/// Why a proposal was not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposeError {
    /// Not the leader (or a leader whose lease lapsed): retry on the leader.
    #[error("not the leader (leader: {leader:?})")]
    NotLeader { leader: Option<u64> },
    /// Not committed within the timeout: it may still commit later.
    #[error("not committed within {0:?}")]
    Timeout(Duration),
    /// Leadership changed while the entry was in flight: it may or may not have committed.
    #[error("outcome unknown: {0}")]
    Unknown(String),
    /// The raft core stopped.
    #[error("raft stopped: {0}")]
    Stopped(String),
    /// Refused before proposing: the record would not fit in a commitlog segment.
    #[error("{0}")]
    TooLarge(String),
    /// The entry could not be encoded (a bug: entries are plain data).
    #[error("cannot encode the entry: {0}")]
    Encode(String),
}

/// A node's Raft role, as status output names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Leader,
    Follower,
    Candidate,
    Learner,
    /// The core has stopped.
    Shutdown,
}

impl Role {
    /// The name status output uses (`raftRole`, mqadmin).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Leader => "Leader",
            Role::Follower => "Follower",
            Role::Candidate => "Candidate",
            Role::Learner => "Learner",
            Role::Shutdown => "Shutdown",
        }
    }

    fn of(state: openraft::ServerState) -> Role {
        match state {
            openraft::ServerState::Leader => Role::Leader,
            openraft::ServerState::Follower => Role::Follower,
            openraft::ServerState::Candidate => Role::Candidate,
            openraft::ServerState::Learner => Role::Learner,
            openraft::ServerState::Shutdown => Role::Shutdown,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a node could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum RaftNodeError {
    #[error("raft config: {0}")]
    Config(String),
    #[error("raft: {0}")]
    Raft(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// How long a stop waits for openraft and for the final checkpoint.
pub(crate) const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// A point-in-time view of the node, for status commands and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftStatus {
    pub id: u64,
    pub role: Role,
    pub term: u64,
    pub leader: Option<u64>,
    pub last_log_index: Option<u64>,
    pub committed: Option<u64>,
    pub applied: Option<u64>,
    /// On the leader: each follower's matched index.
    pub matched: BTreeMap<u64, Option<u64>>,
    /// When this node last saw the leader change.
    pub last_leader_change: Option<Instant>,
}

/// One member of a broker group. See the module docs.
pub struct RaftNode {
    raft: Raft,
    shared: Arc<SmShared>,
    store: Arc<MessageStore>,
    opts: RaftOptions,
    leadership: watch::Receiver<Leadership>,
    last_change: watch::Receiver<Option<Instant>>,
    /// Stops every task below at once.
    cancel: CancellationToken,
    tasks: JoinSet<()>,
}

impl std::fmt::Debug for RaftNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftNode")
            .field("id", &self.opts.self_id)
            .field("group", &self.opts.group)
            .finish_non_exhaustive()
    }
}

impl RaftNode {
    /// Starts the node on `listener` (its raft port). On a pristine node the membership is
    /// initialised with every peer, which every member may do with the identical set.
    pub async fn start(
        opts: RaftOptions,
        store: Arc<MessageStore>,
        listener: TcpListener,
    ) -> Result<RaftNode, RaftNodeError> {
        Self::start_with_faults(opts, store, listener, NetworkFaults::default()).await
    }

    /// [`RaftNode::start`] with a fault table shared by an in-process test cluster.
    pub(crate) async fn start_with_faults(
        opts: RaftOptions,
        store: Arc<MessageStore>,
        listener: TcpListener,
        faults: NetworkFaults,
    ) -> Result<RaftNode, RaftNodeError> {
        let config = Arc::new(opts.openraft_config()?);
        let shared = {
            let store = store.clone();
            let dir = opts.state_dir.clone();
            tokio::task::spawn_blocking(move || SmShared::open(store, &dir))
                .await
                .map_err(|e| RaftNodeError::Raft(e.to_string()))??
        };
        let durability = if opts.sync_flush {
            Durability::Sync
        } else {
            Durability::Async
        };
        let secret = opts.peer_secret.as_deref().map(PeerSecret::new);
        let network = PeerNetwork::new(opts.self_id, opts.group.clone(), faults.clone())
            .with_secret(secret.clone());
        let raft = Raft::new(
            opts.self_id,
            config,
            network,
            LogStore::new(store.clone(), durability),
            StateMachine::new(shared.clone()),
        )
        .await
        .map_err(|e| RaftNodeError::Raft(e.to_string()))?;

        let cancel = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let ids = PeerIds {
            group: opts.group.clone(),
            self_id: opts.self_id,
            peers: opts.peers.keys().copied().collect(),
            secret,
        };
        tasks.spawn(serve(listener, raft.clone(), ids, faults, cancel.clone()));

        let pristine =
            store.commitlog().vote().is_none() && store.commitlog().view().last.is_none();
        if pristine {
            let members: BTreeMap<u64, PeerNode> = opts
                .peers
                .iter()
                .map(|(id, addr)| (*id, PeerNode { addr: addr.clone() }))
                .collect();
            if let Err(e) = raft.initialize(members).await {
                // Another member initialised first: its log wins, as it should.
                tracing::debug!(%e, "membership already initialised");
            }
        }

        let (leadership_tx, leadership) = watch::channel(Leadership::Follower {
            leader: None,
            term: 0,
        });
        let (change_tx, last_change) = watch::channel(None);
        tasks.spawn(watch_leadership(
            raft.clone(),
            opts.clone(),
            leadership_tx,
            change_tx,
            cancel.clone(),
        ));
        tasks.spawn(retention_loop(
            raft.clone(),
            shared.clone(),
            store.clone(),
            RETENTION_INTERVAL,
            cancel.clone(),
        ));
        tasks.spawn(checkpoint_loop(
            shared.clone(),
            opts.checkpoint_interval,
            cancel.clone(),
        ));
        Ok(RaftNode {
            raft,
            shared,
            store,
            opts,
            leadership,
            last_change,
            cancel,
            tasks,
        })
    }

    /// Refuses an entry whose record could not fit in one commitlog segment: openraft would
    /// otherwise meet the error inside its append and stop (on every leader in turn).
    fn check_fits(&self, body: &Bytes) -> Result<(), ProposeError> {
        let record = record_align((HEADER_LEN + body.len()) as u64);
        let segment = self.store.commitlog().segment_size();
        if record > segment {
            return Err(ProposeError::TooLarge(format!(
                "the entry needs {record} bytes in the commitlog, more than one segment \
                 (mappedFileSizeCommitLog={segment}) holds"
            )));
        }
        Ok(())
    }

    /// Proposes one entry and waits until it is committed and applied.
    pub async fn propose(&self, kind: ProposalKind, body: Bytes) -> Result<Applied, ProposeError> {
        self.check_fits(&body)?;
        let write = self.raft.client_write(Proposal { kind, body });
        match tokio::time::timeout(self.opts.propose_timeout, write).await {
            Err(_) => Err(ProposeError::Timeout(self.opts.propose_timeout)),
            Ok(result) => write_outcome(result),
        }
    }

    /// Proposes a table change (topic, group, delivered delay, retention floor) and waits until
    /// it is applied, like [`propose`](Self::propose).
    pub async fn propose_admin(&self, op: &AdminOp) -> Result<Applied, ProposeError> {
        let body = encode(op).map_err(ProposeError::Encode)?;
        self.propose(ProposalKind::Admin, Bytes::from(body)).await
    }

    /// [`propose_admin`](Self::propose_admin) bound to this term, like
    /// [`propose_in_term`](Self::propose_in_term).
    pub async fn propose_admin_in_term(&self, op: &AdminOp) -> Result<Applied, ProposeError> {
        let body = encode(op).map_err(ProposeError::Encode)?;
        self.propose_in_term(ProposalKind::Admin, Bytes::from(body))
            .await
    }

    /// Proposes consumer offsets (coalesced commits or a reset) and waits until applied.
    pub async fn propose_offsets(&self, commit: &OffsetCommit) -> Result<Applied, ProposeError> {
        let body = encode(commit).map_err(ProposeError::Encode)?;
        self.propose(ProposalKind::ConsumerOffsets, Bytes::from(body))
            .await
    }

    /// Proposes one entry and waits, with no timeout, until it is applied or this node's raft
    /// term ends. Within one term an entry in the leader's log is committed unless leadership
    /// is lost, and losing it ends the term; the next leader settles the entry (keeps or drops
    /// it) before it reports [`Leadership::Leader`]. So a proposer that re-reads the tables
    /// only once it leads again never has two live copies of an entry in the log (the delay
    /// scheduler relies on this; a timeout would break it).
    pub async fn propose_in_term(
        &self,
        kind: ProposalKind,
        body: Bytes,
    ) -> Result<Applied, ProposeError> {
        self.check_fits(&body)?;
        let mut metrics = self.raft.metrics();
        let term = metrics.borrow_watched().current_term;
        let write = self.raft.client_write(Proposal { kind, body });
        let term_ended = async move {
            while metrics.changed().await.is_ok() {
                if metrics.borrow_watched().current_term != term {
                    return;
                }
            }
        };
        tokio::select! {
            result = write => write_outcome(result),
            () = term_ended => Err(ProposeError::Unknown(format!(
                "term {term} ended with the entry in flight"
            ))),
        }
    }

    /// Resolves once openraft's core has stopped on its own (a storage or state-machine error
    /// it cannot go on after), with the reason. The process should then exit non-zero so a
    /// supervisor restarts it: a stopped core never recovers in place.
    ///
    /// It waits on the leadership watch, which changes only when leadership does (openraft's
    /// metrics change with every entry: waking on each would cost every send a task switch).
    pub async fn stopped(&self) -> String {
        let mut leadership = self.leadership.clone();
        if leadership
            .wait_for(|l| matches!(l, Leadership::Stopped))
            .await
            .is_err()
        {
            return "the leadership watcher ended".into();
        }
        match &self.raft.metrics().borrow_watched().running_state {
            Err(fatal) => fatal.to_string(),
            Ok(()) => "openraft's core stopped".into(),
        }
    }

    /// The term this node leads in if it is [`Leadership::Leader`] *and* its lease is fresh
    /// right now, read from openraft's metrics at the call: the leadership watch is refreshed
    /// every heartbeat, and a process resumed after a pause would otherwise act on a lease that
    /// expired while it was stopped (a claim to master sent to the nameservers, say).
    pub fn leader_term_now(&self) -> Option<u64> {
        let Leadership::Leader { term } = *self.leadership.borrow() else {
            return None;
        };
        if self.opts.peers.len() == 1 {
            return Some(term);
        }
        let metrics = self.raft.metrics();
        let m = metrics.borrow_watched();
        let fresh = m.state == openraft::ServerState::Leader
            && m.current_term == term
            && m.last_quorum_acked
                .as_ref()
                .is_some_and(|acked| acked.elapsed() < self.opts.election_timeout_min);
        fresh.then_some(term)
    }

    /// Leadership as the broker should act on it; see [`Leadership`].
    pub fn leadership(&self) -> watch::Receiver<Leadership> {
        self.leadership.clone()
    }

    /// Changes whenever entries are applied (value: the last applied raft index). Held pulls
    /// wait on it.
    pub fn applied_watch(&self) -> watch::Receiver<u64> {
        self.shared.applied_watch()
    }

    /// The replicated topic, group and offset tables as of the last applied entry.
    pub fn tables(&self) -> Tables {
        self.shared.tables()
    }

    /// Reads the tables in place, without copying them (for frequent small reads such as the
    /// delay scheduler's progress); `f` must not block.
    pub fn with_tables<R>(&self, f: impl FnOnce(&Tables) -> R) -> R {
        self.shared.with_tables(f)
    }

    /// The node's message store.
    pub fn store(&self) -> &Arc<MessageStore> {
        &self.store
    }

    pub fn id(&self) -> u64 {
        self.opts.self_id
    }

    /// A snapshot of the node's raft state.
    pub fn status(&self) -> RaftStatus {
        let m = self.raft.metrics().borrow_watched().clone();
        RaftStatus {
            id: m.id,
            role: Role::of(m.state),
            term: m.current_term,
            leader: m.current_leader,
            last_log_index: m.last_log_index,
            committed: m.cluster_committed.map(|c| c.index),
            applied: m.last_applied.map(|a| a.index),
            matched: m
                .replication
                .as_ref()
                .map(|r| r.iter().map(|(id, l)| (*id, l.map(|l| l.index))).collect())
                .unwrap_or_default(),
            last_leader_change: *self.last_change.borrow(),
        }
    }

    /// Asks the leader to hand leadership to `to` (used before a planned restart).
    pub async fn transfer_leadership(&self, to: u64) -> Result<(), ProposeError> {
        self.raft
            .trigger()
            .transfer_leader(to)
            .await
            .map_err(|e| ProposeError::Stopped(e.to_string()))
    }

    /// Runs one retention check under Raft: plans a whole-segment purge no further than the
    /// group's floor (every voter has replicated it; on the leader, only its own progress when
    /// the disk is critical), builds a thin snapshot at the purge point, and has openraft purge
    /// up to it, which deletes the segments and trims consume queues and key index. A replica
    /// that later needs a purged entry gets that snapshot, then every record after it.
    /// Returns the purge index, if any.
    pub async fn run_retention(&self) -> Result<Option<u64>, RaftNodeError> {
        retention_once(&self.raft, &self.shared, &self.store).await
    }

    /// Stops the node the way a killed process stops: no checkpoint, no close (failure drills
    /// and benchmarks). Waits (bounded) until nothing else holds the store, so a restart in
    /// the same process never has two writers on one directory.
    pub async fn abort(mut self) {
        self.cancel.cancel();
        let _ = tokio::time::timeout(SHUTDOWN_DEADLINE, self.raft.shutdown()).await;
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        drop(self.raft);
        drop(self.shared);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Arc::strong_count(&self.store) > 1 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if Arc::strong_count(&self.store) > 1 {
            tracing::warn!("store still held after the node stopped");
        }
    }

    /// Stops serving peers, stops openraft, and checkpoints the state machine.
    ///
    /// Bounded: openraft's shutdown waits for log writes in flight, and a write waiting for
    /// space on a full disk never finishes by itself. After 5 s (`SHUTDOWN_DEADLINE`) the node
    /// stops waiting and says so; what was not made durable is recovered at the next start.
    pub async fn shutdown(mut self) -> Result<(), RaftNodeError> {
        self.cancel.cancel();
        let raft_result = tokio::time::timeout(SHUTDOWN_DEADLINE, self.raft.shutdown()).await;
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        let Ok(raft_result) = raft_result else {
            return Err(RaftNodeError::Raft(format!(
                "openraft did not stop within {SHUTDOWN_DEADLINE:?} (a write waiting for disk \
                 space?); the store is left for the next start to recover"
            )));
        };
        let shared = self.shared.clone();
        let checkpoint = tokio::task::spawn_blocking(move || shared.checkpoint());
        tokio::time::timeout(SHUTDOWN_DEADLINE, checkpoint)
            .await
            .map_err(|_| {
                RaftNodeError::Raft(format!(
                    "the final checkpoint did not finish within {SHUTDOWN_DEADLINE:?}"
                ))
            })?
            .map_err(|e| RaftNodeError::Raft(e.to_string()))??;
        raft_result.map_err(|e| RaftNodeError::Raft(e.to_string()))
    }
}

/// Maps openraft's answer to a write onto [`ProposeError`].
fn write_outcome(
    result: Result<
        ClientWriteResponse<TypeConfig>,
        RaftError<TypeConfig, ClientWriteError<TypeConfig>>,
    >,
) -> Result<Applied, ProposeError> {
    match result {
        Ok(response) => Ok(response.data),
        Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
            Err(ProposeError::NotLeader {
                leader: f.leader_id,
            })
        }
        Err(RaftError::APIError(e)) => Err(ProposeError::Unknown(e.to_string())),
        Err(RaftError::Fatal(e)) => Err(ProposeError::Stopped(e.to_string())),
    }
}
