//! [`RaftOptions`]: how a node is set up, read from a broker config, and the openraft `Config`
//! it turns into (why each openraft setting has the value it has: ARCHITECTURE.md).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use openraft::{Config, SnapshotPolicy};

use super::RaftNodeError;
use crate::config::{BrokerConfig, FlushDiskType};

/// How a node is set up (usually from a broker config, see [`RaftOptions::from_config`]).
#[derive(Debug, Clone)]
pub struct RaftOptions {
    /// `dLegerGroup`.
    pub group: String,
    /// This node's id (`dLegerSelfId` `n3` → 3).
    pub self_id: u64,
    /// Every voter: node id → raft address (`host:port`).
    pub peers: BTreeMap<u64, String>,
    /// `heartBeatTimeIntervalMs`.
    pub heartbeat_interval: Duration,
    /// Election timeout range; the upper bound is also the leader lease.
    pub election_timeout_min: Duration,
    pub election_timeout_max: Duration,
    /// When an append counts as done: on disk (`SYNC_FLUSH`) or in the page cache (`ASYNC_FLUSH`).
    pub sync_flush: bool,
    /// `maxWaitAckTimeMs`: how long a proposal waits to commit.
    pub propose_timeout: Duration,
    /// How often derived data and the state machine are checkpointed (`flushIntervalConsumeQueue`).
    pub checkpoint_interval: Duration,
    /// Where `sm-meta` and the snapshot live (the store root).
    pub state_dir: PathBuf,
    /// `dLegerPeerSecret`: the group's shared secret every peer connection must prove (both
    /// ways) before a raft message is accepted; `None` trusts the configured peer ids only.
    pub peer_secret: Option<String>,
}

impl RaftOptions {
    /// The options a broker config asks for. Without DLedger the group is this node alone.
    pub fn from_config(cfg: &BrokerConfig) -> RaftOptions {
        let (self_id, peers) = match cfg.self_peer() {
            Some(me) => (
                me.node_id,
                cfg.peers()
                    .iter()
                    .map(|p| (p.node_id, format!("{}:{}", p.host, p.port)))
                    .collect(),
            ),
            None => (
                1,
                BTreeMap::from([(1, format!("{}:{}", cfg.broker_ip1, cfg.listen_port + 1))]),
            ),
        };
        RaftOptions {
            group: cfg.dleger_group.clone(),
            self_id,
            peers,
            heartbeat_interval: Duration::from_millis(cfg.heart_beat_time_interval_ms),
            election_timeout_min: Duration::from_millis(cfg.election_timeout_min_ms()),
            election_timeout_max: Duration::from_millis(cfg.election_timeout_max_ms()),
            sync_flush: cfg.flush_disk_type == FlushDiskType::SyncFlush,
            propose_timeout: Duration::from_millis(cfg.max_wait_ack_time_ms),
            checkpoint_interval: Duration::from_millis(cfg.flush_interval_consume_queue_ms),
            state_dir: cfg.store_path_root_dir.clone(),
            peer_secret: cfg.dleger_peer_secret.clone(),
        }
    }

    pub(super) fn openraft_config(&self) -> Result<Config, RaftNodeError> {
        let ms = |d: Duration| d.as_millis() as u64;
        let config = Config {
            cluster_name: self.group.clone(),
            heartbeat_interval: ms(self.heartbeat_interval),
            election_timeout_min: ms(self.election_timeout_min),
            election_timeout_max: ms(self.election_timeout_max),
            // The log is the message store: openraft must never snapshot-and-purge it on its
            // own. Retention purges whole segments, through a snapshot it triggers itself.
            snapshot_policy: SnapshotPolicy::Never,
            max_in_snapshot_log_to_keep: u64::MAX,
            enable_pre_vote: Some(true),
            // A follower can come back with a shorter log: ASYNC_FLUSH loses an acknowledged
            // tail on power loss, and an operator restarts a node whose disk was damaged with
            // an empty store. openraft only tolerates that when told so; otherwise the
            // *leader's* core panics and stops the group's writes.
            allow_log_reversion: Some(true),
            // A thin snapshot is small, but installing one resets the follower's log and
            // queues on disk: openraft's 200 ms default would time the install out and resend.
            install_snapshot_timeout: 10_000,
            ..Config::default()
        };
        config
            .validate()
            .map_err(|e| RaftNodeError::Config(e.to_string()))
    }
}
