//! The background tasks a [`RaftNode`](super::RaftNode) spawns: the leadership watcher (lease and
//! caught-up checks), the retention loop (snapshot, then purge whole segments under Raft) and the
//! checkpoint loop. Each runs until the node's cancellation token fires.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::{Instant as _, RaftMetrics, ServerState};
use openraft_rt::watch::WatchReceiver;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{Leadership, Raft, RaftNodeError, RaftOptions};
use crate::common::periodic::every;
use crate::raft::state_machine::SmShared;
use crate::raft::tables::{AdminOp, encode};
use crate::raft::types::{Proposal, ProposalKind, TypeConfig};
use crate::store::MessageStore;

/// How often retention runs (RocketMQ's `cleanResourceInterval` default).
pub(super) const RETENTION_INTERVAL: Duration = Duration::from_secs(10);

/// Derives [`Leadership`] from openraft's metrics, re-checked every heartbeat because a lease
/// goes stale without any metric changing.
pub(super) async fn watch_leadership(
    raft: Raft,
    opts: RaftOptions,
    tx: watch::Sender<Leadership>,
    change_tx: watch::Sender<Option<Instant>>,
    cancel: CancellationToken,
) {
    let mut metrics = raft.metrics();
    let mut ready_term: Option<u64> = None;
    let mut last_leader: Option<u64> = None;
    let lease = opts.election_timeout_min;
    loop {
        let m: RaftMetrics<TypeConfig> = metrics.borrow_and_update().clone();
        if m.current_leader != last_leader {
            last_leader = m.current_leader;
            let _ = change_tx.send(Some(Instant::now()));
        }
        let next = if m.running_state.is_err() {
            Leadership::Stopped
        } else if m.state == ServerState::Leader {
            // A lone voter is its own quorum: no other leader can exist, and no follower
            // acknowledgement will ever refresh the lease.
            let fresh = opts.peers.len() == 1
                || m.last_quorum_acked
                    .as_ref()
                    .is_some_and(|acked| acked.elapsed() < lease);
            let caught_up = m.last_applied.map(|a| a.index) >= m.last_log_index;
            if ready_term != Some(m.current_term) && caught_up && fresh {
                ready_term = Some(m.current_term);
            }
            if fresh && ready_term == Some(m.current_term) {
                Leadership::Leader {
                    term: m.current_term,
                }
            } else {
                Leadership::Follower {
                    leader: None,
                    term: m.current_term,
                }
            }
        } else {
            Leadership::Follower {
                leader: m.current_leader,
                term: m.current_term,
            }
        };
        tx.send_if_modified(|current| {
            if *current != next {
                *current = next.clone();
                true
            } else {
                false
            }
        });
        tokio::select! {
            changed = metrics.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(opts.heartbeat_interval) => {}
            () = cancel.cancelled() => return,
        }
    }
}

/// One retention check; see [`RaftNode::run_retention`](super::RaftNode::run_retention).
///
/// The floor: on the leader the lowest index every voter has replicated (only what it applied
/// itself when the disk is critical: a lagging voter then gets a snapshot), proposed to the
/// group as a [`AdminOp::RetentionFloor`] entry whenever it moved; on a follower the group's
/// floor as last applied, never its own progress, so no replica purges what the group still
/// retains. The snapshot is built at the purge point itself.
pub(super) async fn retention_once(
    raft: &Raft,
    shared: &Arc<SmShared>,
    store: &Arc<MessageStore>,
) -> Result<Option<u64>, RaftNodeError> {
    let m = raft.metrics().borrow_watched().clone();
    let applied = m.last_applied.map(|a| a.index);
    let leading = m.state == ServerState::Leader;
    let replicated = match (&m.state, &m.replication) {
        (ServerState::Leader, Some(replication)) => replication
            .values()
            .map(|matched| matched.map(|l| l.index))
            .min()
            .flatten(),
        _ => shared.group_floor(),
    };
    let planner = store.clone();
    let floor = tokio::task::spawn_blocking(move || {
        planner.disk_critical().map(|critical| {
            if critical && leading {
                applied
            } else {
                replicated.min(applied)
            }
        })
    })
    .await
    .map_err(|e| RaftNodeError::Raft(e.to_string()))?
    .map_err(|e| RaftNodeError::Raft(e.to_string()))?;
    if leading
        && let Some(floor) = floor
        && shared.group_floor().is_none_or(|g| g < floor)
    {
        let body = encode(&AdminOp::RetentionFloor(floor)).map_err(RaftNodeError::Raft)?;
        let proposal = Proposal {
            kind: ProposalKind::Admin,
            body: body.into(),
        };
        raft.client_write(proposal)
            .await
            .map_err(|e| RaftNodeError::Raft(e.to_string()))?;
    }
    let planner = store.clone();
    let plan = tokio::task::spawn_blocking(move || planner.plan_retention(floor))
        .await
        .map_err(|e| RaftNodeError::Raft(e.to_string()))?
        .map_err(|e| RaftNodeError::Raft(e.to_string()))?;
    let Some(plan) = plan else { return Ok(None) };
    let upto = plan.upto.index;
    let fatal = |e: openraft::error::Fatal<TypeConfig>| RaftNodeError::Raft(e.to_string());
    shared.set_snapshot_target(upto);
    raft.trigger().snapshot().await.map_err(fatal)?;
    wait_metrics(raft, |m| m.snapshot.is_some_and(|s| s.index >= upto)).await?;
    raft.trigger().purge_log(upto).await.map_err(fatal)?;
    wait_metrics(raft, |m| m.purged.is_some_and(|p| p.index >= upto)).await?;
    tracing::info!(upto, segments = plan.segments, reason = ?plan.reason, "retention purged the log");
    Ok(Some(upto))
}

/// Waits (at most 10 s) until openraft's metrics satisfy `done`.
async fn wait_metrics(
    raft: &Raft,
    done: impl Fn(&RaftMetrics<TypeConfig>) -> bool,
) -> Result<(), RaftNodeError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut metrics = raft.metrics();
    loop {
        if done(&metrics.borrow_watched()) {
            return Ok(());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(RaftNodeError::Raft("timed out waiting for openraft".into()));
        }
        let _ = tokio::time::timeout(left, metrics.changed()).await;
    }
}

/// Runs a retention check every `interval` (RocketMQ's `cleanResourceInterval`, 10 s).
pub(super) async fn retention_loop(
    raft: Raft,
    shared: Arc<SmShared>,
    store: Arc<MessageStore>,
    interval: Duration,
    cancel: CancellationToken,
) {
    every(interval, &cancel, || async {
        if let Err(e) = retention_once(&raft, &shared, &store).await {
            tracing::warn!(%e, "retention check failed");
        }
    })
    .await;
}

/// Checkpoints derived data and the state machine every `interval`.
pub(super) async fn checkpoint_loop(
    shared: Arc<SmShared>,
    interval: Duration,
    cancel: CancellationToken,
) {
    every(interval, &cancel, || async {
        let shared = shared.clone();
        match tokio::task::spawn_blocking(move || shared.checkpoint()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(%e, "state machine checkpoint failed"),
            Err(e) => tracing::warn!(%e, "state machine checkpoint task failed"),
        }
    })
    .await;
}
