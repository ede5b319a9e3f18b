//! `Broker`: the state one broker-group node serves from, and what every handler and task
//! asks of it (proposals, offsets, notifications); the remoting view is `handlers::BrokerHandler`.
//!
//! Writes go through the raft node and are refused at once with SERVICE_NOT_AVAILABLE on a
//! node that is not the leader (clients retry another broker); reads are served from the
//! node's applied data on any replica.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::Notify;

use super::clients::{ClientRegistry, ConnectionId};
use super::consumer_offsets::OffsetCoalescer;
use super::disk_guard::DiskGuard;
use super::topics::TopicDefaults;
use crate::acl::LiveAcl;
use crate::broker::topics::advertised_perm;
use crate::broker::topics::effective_topics;
use crate::config::BrokerConfig;
use crate::message::TopicConfig;
use crate::message::body::DataVersion;
use crate::message::body::TopicConfigSerializeWrapper;
use crate::raft::tables::{AdminOp, OffsetCommit};
use crate::raft::{Applied, Leadership, ProposalKind, ProposeError, RaftNode};
use crate::remoting::RequestCode;
use crate::remoting::header::NotifyConsumerIdsChangedRequestHeader;
use crate::remoting::{ConnectionInfo, RemotingCommand};
use crate::store::MessageStore;
use std::collections::BTreeSet;

pub use super::error::{BrokerError, HandlerResult};

pub(crate) use crate::common::clock::now_ms;
pub(crate) use crate::common::sync::lock;

/// One broker-group node serving clients.
pub struct Broker {
    pub(crate) config: BrokerConfig,
    pub(crate) node: RaftNode,
    pub(crate) store: Arc<MessageStore>,
    pub(crate) clients: Mutex<ClientRegistry>,
    pub(crate) offsets: Mutex<OffsetCoalescer>,
    /// Held from taking offsets out of [`Self::offsets`] until their proposal is decided, so
    /// a periodic flush and an operator's reset reach the log in the order they were taken
    /// (a flush taken before a reset must not be applied after it).
    pub(crate) offset_proposals: tokio::sync::Mutex<()>,
    /// Live client connections, to send them NOTIFY_CONSUMER_IDS_CHANGED.
    pub(crate) connections: Mutex<BTreeMap<ConnectionId, ConnectionInfo>>,
    /// Language and version each connection's heartbeats report (for connection lists).
    pub(crate) client_meta: Mutex<BTreeMap<ConnectionId, (String, i32)>>,
    /// This broker's client-facing address (`brokerIP1:listenPort`): store host and msgIds.
    pub(crate) store_host: SocketAddr,
    pub(crate) topic_defaults: TopicDefaults,
    /// Woken when topics change, so registration with the nameservers happens at once.
    pub(crate) topics_changed: Notify,
    /// Refuses new messages while the store's disk is above `diskSpaceWarningLevelRatio`.
    pub(crate) disk_guard: DiskGuard,
    /// Orderly consumers' queue locks (leader only, soft state of one term).
    /// Held pulls, per queue; the store's dispatch wakes them.
    pub(crate) pull_waiters: Arc<super::pull_waiters::PullWaiters>,
    pub(crate) queue_locks: Mutex<super::queue_locks::QueueLocks>,
    /// Claims on the half messages being settled: one settlement per half message at a time
    /// (see [`super::transaction`]).
    pub(crate) settling: super::settling::Settling,
    /// The plain ACL every client request is checked against (`aclEnable=true`), reloaded by
    /// a background task when its file changes.
    pub(crate) acl: Option<Arc<LiveAcl>>,
    /// What this node stored and served (soft state, see [`super::stats`]).
    pub(crate) stats: super::stats::BrokerStats,
    /// SQL92 subscriptions, compiled once per group and topic.
    pub(crate) sql_filters: super::sql_filters::SqlFilters,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("broker_name", &self.config.broker_name)
            .field("node", &self.node.id())
            .finish_non_exhaustive()
    }
}

impl Broker {
    /// A broker over a started raft node. `store_host` is the address clients reach it on;
    /// `acl`, when given, checks every client request (`aclEnable=true`).
    pub fn new(
        config: BrokerConfig,
        node: RaftNode,
        store_host: SocketAddr,
        acl: Option<Arc<LiveAcl>>,
    ) -> Arc<Broker> {
        let topic_defaults = TopicDefaults {
            auto_create: config.auto_create_topic_enable,
            default_queue_nums: config.default_topic_queue_nums,
            cluster_name: config.broker_cluster_name.clone(),
            broker_name: config.broker_name.clone(),
            delay_levels: config.message_delay_level.max_level(),
            trace_topic: config
                .trace_topic_enable
                .then(|| config.msg_trace_topic_name.clone()),
        };
        let disk_guard = DiskGuard::new(
            node.store().commitlog().segments_dir().to_path_buf(),
            config.disk_space_warning_level_ratio,
        );
        let pull_waiters = Arc::new(super::pull_waiters::PullWaiters::default());
        node.store().set_arrival_listener(pull_waiters.clone());
        Arc::new(Broker {
            pull_waiters,
            store: node.store().clone(),
            node,
            clients: Mutex::new(ClientRegistry::default()),
            offsets: Mutex::new(OffsetCoalescer::default()),
            offset_proposals: tokio::sync::Mutex::new(()),
            connections: Mutex::new(BTreeMap::new()),
            client_meta: Mutex::new(BTreeMap::new()),
            store_host,
            topic_defaults,
            topics_changed: Notify::new(),
            disk_guard,
            queue_locks: Mutex::new(super::queue_locks::QueueLocks::default()),
            settling: Default::default(),
            acl,
            stats: super::stats::BrokerStats::new(&config.broker_cluster_name, now_ms()),
            sql_filters: super::sql_filters::SqlFilters::default(),
            config,
        })
    }

    pub fn node(&self) -> &RaftNode {
        &self.node
    }

    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// Whether this node may take writes now.
    pub fn is_leader(&self) -> bool {
        matches!(*self.node.leadership().borrow(), Leadership::Leader { .. })
    }

    /// The term this node leads in, if it is the leader now.
    pub(crate) fn leader_term(&self) -> Option<u64> {
        match *self.node.leadership().borrow() {
            Leadership::Leader { term } => Some(term),
            _ => None,
        }
    }

    /// The live connections of `group`'s consumers, for broker → client notices.
    pub(crate) fn consumer_conns(&self, group: &str) -> Vec<ConnectionInfo> {
        let members = lock(&self.clients).consumer_connections(group);
        let conns = lock(&self.connections);
        members
            .iter()
            .filter_map(|m| conns.get(&m.connection).cloned())
            .collect()
    }

    /// Refuses a write on a node that is not the leader (SERVICE_NOT_AVAILABLE, retried by
    /// clients on another broker).
    pub(crate) fn require_leader(&self) -> Result<(), BrokerError> {
        match &*self.node.leadership().borrow() {
            Leadership::Leader { .. } => Ok(()),
            Leadership::Follower { leader, .. } => Err(BrokerError::Unavailable(match leader {
                Some(id) => {
                    format!("this broker is a follower; the leader of the group is node {id}")
                }
                None => {
                    "this broker is not the leader of its group (no leader elected yet)".to_string()
                }
            })),
            Leadership::Stopped => Err(BrokerError::Unavailable(
                "this broker's raft node stopped after a storage failure".into(),
            )),
        }
    }

    /// Proposes an entry and maps raft's outcome onto RocketMQ's codes: not the leader is
    /// SERVICE_NOT_AVAILABLE; a quorum timeout or an unknown outcome is SYSTEM_ERROR (never a
    /// code clients count as success).
    pub(crate) async fn propose(
        &self,
        kind: ProposalKind,
        body: Bytes,
    ) -> Result<Applied, BrokerError> {
        self.node.propose(kind, body).await.map_err(propose_error)
    }

    /// Proposes a table change; outcomes mapped as [`propose`](Self::propose) does.
    pub(crate) async fn propose_admin(&self, op: &AdminOp) -> Result<Applied, BrokerError> {
        self.node.propose_admin(op).await.map_err(propose_error)
    }

    /// Proposes consumer offsets; outcomes mapped as [`propose`](Self::propose) does.
    pub(crate) async fn propose_offsets(
        &self,
        commit: &OffsetCommit,
    ) -> Result<Applied, BrokerError> {
        self.node
            .propose_offsets(commit)
            .await
            .map_err(propose_error)
    }
}

/// Raft's outcome of a proposal as RocketMQ's codes: not the leader is SERVICE_NOT_AVAILABLE;
/// a quorum timeout or an unknown outcome is SYSTEM_ERROR (never a code clients count as
/// success); an entry too large for a segment is MESSAGE_ILLEGAL.
fn propose_error(e: ProposeError) -> BrokerError {
    match e {
        ProposeError::NotLeader { leader } => {
            BrokerError::Unavailable(format!("not the leader (leader: {leader:?})"))
        }
        ProposeError::Timeout(t) => BrokerError::system(format!(
            "[PC_SYNCHRONIZED]broker busy: not committed by a majority within {t:?}"
        )),
        ProposeError::Unknown(why) => BrokerError::system(format!("outcome unknown: {why}")),
        ProposeError::Stopped(why) => BrokerError::Unavailable(why),
        ProposeError::TooLarge(why) => BrokerError::MessageIllegal(why),
        ProposeError::Encode(why) => BrokerError::system(why),
    }
}

impl Broker {
    /// The broker's topics as a registration body (and GET_ALL_TOPIC_CONFIG) carries them:
    /// each with the perm it is advertised with.
    pub(crate) fn topic_wrapper(&self, counter: i64) -> TopicConfigSerializeWrapper {
        let topics = self
            .node
            .with_tables(|tables| effective_topics(tables, &self.topic_defaults));
        let broker_permission = self.config.broker_permission;
        TopicConfigSerializeWrapper {
            data_version: DataVersion {
                counter,
                timestamp: now_ms(),
            },
            topic_config_table: topics
                .into_iter()
                .map(|(name, t)| {
                    let config = TopicConfig {
                        order: t.order,
                        perm: advertised_perm(t.perm, broker_permission),
                        read_queue_nums: t.read_queue_nums,
                        topic_name: name.clone(),
                        write_queue_nums: t.write_queue_nums,
                        ..TopicConfig::default()
                    };
                    (name, config)
                })
                .collect(),
        }
    }

    /// Proposes whatever consumer offsets are pending (leader only); a failed proposal puts
    /// them back for the next round.
    pub async fn flush_offsets(&self) {
        let Some(term) = self.leader_term() else {
            return;
        };
        let _ordered = self.offset_proposals.lock().await;
        let Some(commit) = lock(&self.offsets).take(term) else {
            return;
        };
        if let Err(e) = self.propose_offsets(&commit).await {
            tracing::debug!(%e, "consumer offsets not committed yet");
            lock(&self.offsets).restore(term, commit);
        }
    }

    /// Sends NOTIFY_CONSUMER_IDS_CHANGED to every live connection of each changed group.
    pub(crate) async fn notify_groups(&self, groups: &BTreeSet<String>) {
        for group in groups {
            let header = NotifyConsumerIdsChangedRequestHeader {
                consumer_group: group.clone(),
            };
            for conn in self.consumer_conns(group) {
                let notify = RemotingCommand::request(
                    RequestCode::NotifyConsumerIdsChanged,
                    Default::default(),
                    Bytes::new(),
                )
                .with_header(&header)
                .into_oneway();
                if let Err(e) = conn.send_oneway(notify).await {
                    tracing::debug!(group, error = %e, "could not notify a consumer");
                }
            }
        }
    }

    /// Before a planned stop: flushes pending consumer offsets and, if this node leads, hands
    /// leadership to the most caught-up follower and waits (bounded) until it took over, so a
    /// restart costs no failed sends.
    pub async fn step_down(&self) {
        self.flush_offsets().await;
        if !self.is_leader() {
            return;
        }
        let status = self.node.status();
        let target = status
            .matched
            .iter()
            .filter(|(id, _)| **id != status.id)
            .max_by_key(|(_, matched)| **matched)
            .map(|(id, _)| *id);
        let Some(target) = target else { return };
        if let Err(e) = self.node.transfer_leadership(target).await {
            tracing::warn!(%e, target, "leadership transfer failed");
            return;
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while self.is_leader() && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        tracing::info!(
            target,
            handed_over = !self.is_leader(),
            "leadership transfer"
        );
    }

    /// Stops the raft node (checkpointing the state machine) and closes the store cleanly when
    /// nothing else holds it.
    pub async fn close(self) -> Result<(), String> {
        let Broker { node, store, .. } = self;
        node.shutdown().await.map_err(|e| e.to_string())?;
        // openraft's workers drop their store handles just after the core stops.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while Arc::strong_count(&store) > 1 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        match Arc::try_unwrap(store) {
            Ok(store) => tokio::task::spawn_blocking(move || store.close())
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string()),
            Err(_) => {
                tracing::warn!("the store is still in use; it will be recovered at the next start");
                Ok(())
            }
        }
    }
}
