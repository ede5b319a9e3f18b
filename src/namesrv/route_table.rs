//! [`RouteTable`]: which broker groups exist, which replica of each is the master, which topics
//! they carry, and which brokers are still alive (remoting.md §3.1–§3.7, §3.10).
//!
//! Soft state rebuilt from broker registrations; one owner mutates it (the remoting server keeps
//! it behind a mutex or in one task). Never reads a clock, a socket or a file: the caller passes
//! the time in milliseconds and a [`ConnectionId`] naming the connection a request came on, and
//! turns the answers into responses with the [`body`](crate::message::body) types.
//!
//! # One master per broker group
//!
//! Each group's `brokerAddrs` maps broker id → address, so id 0 names at most one address.
//! Which address that is follows these rules (DLedger: the Raft leader registers with id 0, the
//! followers with their node number + 1; DESIGN.md invariant 5):
//!
//! 1. **An address holds one place.** Registering `(id, addr)` first removes every other entry
//!    of `addr`, in this group and in any other group. So a leader that steps down and
//!    re-registers as a slave loses its id-0 entry, and a follower that wins the election loses
//!    its slave entry.
//! 2. **The latest master claim wins.** Registering with id 0 puts `addr` under id 0, replacing
//!    another address there: the nameserver has no Raft term to compare, so it trusts the broker
//!    to claim id 0 only while its leader lease is fresh (DESIGN.md "Leadership and routes").
//! 3. **Only an address removes itself.** A slave registration (id ≠ 0) writes only its own id
//!    and removes only its own entries, so a follower, including the old leader coming back,
//!    never displaces another address's master entry. Unregistering, expiry and connection close
//!    remove by *address*, never by the id the broker last sent: Java's UNREGISTER_BROKER removes
//!    `brokerAddrs[brokerId]`, which lets a deposed leader's clean shutdown (still sending id 0)
//!    delete the new leader's entry; here it cannot.
//! 4. **Every listed address is alive.** An address stays in `brokerAddrs` only while it has a
//!    liveness entry, so a dead master drops out within the expiry time (120 s) or at once when
//!    its connection closes. An address displaced from id 0 stays alive (it may re-register as a
//!    slave) but is listed nowhere.
//!
//! Not guarded: a registration delayed behind a newer one from the same broker. The remoting
//! server must apply one connection's REGISTER_BROKER requests in arrival order.

use std::collections::{BTreeMap, BTreeSet};

use tracing::{debug, info, warn};

use super::kv::KvConfig;
use crate::message::body::{
    BrokerData, DataVersion, ORDER_TOPIC_CONFIG, QueueData, RegisterBrokerResult,
    TopicConfigSerializeWrapper,
};

mod topics;

pub use topics::UnitTopics;

/// Broker id of a group's master.
pub const MASTER_ID: u64 = 0;

/// Default silence after which a broker is dropped: 120 000 ms (Java's fixed
/// `BROKER_CHANNEL_EXPIRED_TIME`; our `brokerChannelExpiredTime` key).
pub const BROKER_EXPIRY_MS: u64 = 120_000;

/// The connection a broker registered over, as numbered by the remoting server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

/// A REGISTER_BROKER request, header and body already decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRequest {
    /// `clusterName`.
    pub cluster: String,
    /// `brokerName`: the group, shared by its replicas.
    pub broker_name: String,
    /// `brokerAddr`: this replica's client-facing "ip:port".
    pub broker_addr: String,
    /// `brokerId`: 0 claims master; a DLedger follower sends its node number + 1.
    pub broker_id: u64,
    /// `haServerAddr`: handed to slaves as their master's; informational under DLedger.
    pub ha_server_addr: String,
    /// The body's topic table and its version.
    pub topics: TopicConfigSerializeWrapper,
    /// The body's `filterServerList`.
    pub filter_servers: Vec<String>,
    /// The connection the request came on; closing it drops the broker.
    pub connection: ConnectionId,
    /// The Raft term of a claim to brokerId 0 (`raftTerm`), when the broker sends one.
    pub term: Option<u64>,
    /// Arrival time, milliseconds (any monotonic origin shared by all calls).
    pub now_ms: u64,
}

/// QUERY_DATA_VERSION's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataVersionAnswer {
    /// No version stored for the address, or a different one: the broker should register.
    pub changed: bool,
    /// The stored version (the response body), if any.
    pub stored: Option<DataVersion>,
}

/// What the nameserver remembers about a live broker address.
#[derive(Debug, Clone)]
struct LiveBroker {
    last_update_ms: u64,
    data_version: DataVersion,
    connection: ConnectionId,
    ha_server_addr: String,
}

/// The nameserver's state (remoting.md §3.1). See the module docs for the master rules.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    /// topic → broker name → queues.
    topics: BTreeMap<String, BTreeMap<String, QueueData>>,
    /// broker name → group.
    brokers: BTreeMap<String, BrokerData>,
    /// cluster → broker names.
    clusters: BTreeMap<String, BTreeSet<String>>,
    /// broker address → liveness.
    live: BTreeMap<String, LiveBroker>,
    /// broker address → filter servers (non-empty lists only).
    filter_servers: BTreeMap<String, Vec<String>>,
    kv: KvConfig,
    order_message_enable: bool,
    /// broker name → the highest Raft term a master claim of that group carried.
    master_terms: BTreeMap<String, u64>,
}

impl RouteTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// `orderMessageEnable` (default off): routes carry `orderTopicConf` from the
    /// `ORDER_TOPIC_CONFIG` KV namespace.
    pub fn set_order_message_enable(&mut self, on: bool) {
        self.order_message_enable = on;
    }

    /// REGISTER_BROKER (remoting.md §3.2, with the master rules of the module docs). Also the
    /// broker's keep-alive.
    pub fn register_broker(&mut self, req: RegisterRequest) -> RegisterBrokerResult {
        let RegisterRequest {
            cluster,
            broker_name: name,
            broker_addr: addr,
            broker_id,
            ha_server_addr,
            topics,
            filter_servers,
            connection,
            now_ms,
            term,
        } = req;
        // A claim to master from an older term than the master this table knows (a deposed
        // leader's registration sent before it learned, or arriving late): it displaces
        // nothing and removes nothing; the address only stays alive.
        if broker_id == MASTER_ID
            && let (Some(t), Some(&newest)) = (term, self.master_terms.get(&name))
            && t < newest
        {
            warn!(broker_name = %name, broker_addr = %addr, term = t, master_term = newest,
                "a claim to master from an older term ignored");
            self.touch(&addr, now_ms);
            let group = self.brokers.get(&name);
            return RegisterBrokerResult {
                master_addr: group.and_then(|g| g.master_addr().map(str::to_string)),
                ha_server_addr: None,
                kv_table: None,
            };
        }
        if broker_id == MASTER_ID
            && let Some(t) = term
        {
            self.master_terms.insert(name.clone(), t);
        }
        // Rule 1 across groups: a process that changed its brokerName leaves its old group.
        let elsewhere: Vec<String> = self
            .brokers
            .iter()
            .filter(|(other, group)| {
                **other != name && group.broker_addrs.values().any(|a| *a == addr)
            })
            .map(|(other, _)| other.clone())
            .collect();
        for other in elsewhere {
            self.remove_addr_from_group(&other, &addr);
        }
        self.join_cluster(&cluster, &name);

        let group = self
            .brokers
            .entry(name.clone())
            .or_insert_with(|| BrokerData {
                broker_name: name.clone(),
                cluster: cluster.clone(),
                ..BrokerData::default()
            });
        let was_master = group.master_addr() == Some(addr.as_str());
        // Rule 1 within the group, then rules 2 and 3: write only our own id.
        group
            .broker_addrs
            .retain(|&id, a| id == broker_id || *a != addr);
        let displaced = group.broker_addrs.insert(broker_id, addr.clone());
        match displaced {
            Some(old) if old != addr && broker_id == MASTER_ID => {
                info!(broker_name = %name, master = %addr, old_master = %old, "master changed");
            }
            Some(old) if old != addr => {
                warn!(broker_name = %name, broker_id, broker_addr = %addr, old_addr = %old,
                    "two addresses registered with one broker id; the later one keeps it");
            }
            None if broker_id == MASTER_ID => {
                info!(broker_name = %name, master = %addr, "master registered")
            }
            _ => {}
        }
        if was_master && broker_id != MASTER_ID {
            info!(broker_name = %name, broker_addr = %addr, broker_id, "master stepped down to slave");
        }
        let master = group.master_addr().map(str::to_string);

        // Java refreshes queue data only when the master's table changed, so that
        // WIPE_WRITE_PERM_OF_BROKER lasts until the broker's topics change. A new master's table
        // is always taken.
        if broker_id == MASTER_ID {
            let changed = self
                .live
                .get(&addr)
                .is_none_or(|l| l.data_version != topics.data_version);
            if changed || !was_master {
                self.upsert_queue_datas(&name, &topics);
            }
        }
        self.live.insert(
            addr.clone(),
            LiveBroker {
                last_update_ms: now_ms,
                data_version: topics.data_version,
                connection,
                ha_server_addr,
            },
        );
        if filter_servers.is_empty() {
            self.filter_servers.remove(&addr);
        } else {
            self.filter_servers.insert(addr.clone(), filter_servers);
        }

        let mut result = RegisterBrokerResult {
            kv_table: self.kv.list(ORDER_TOPIC_CONFIG),
            ..RegisterBrokerResult::default()
        };
        if broker_id != MASTER_ID
            && let Some(master) = master
            && let Some(live) = self.live.get(&master)
        {
            result.ha_server_addr = Some(live.ha_server_addr.clone());
            result.master_addr = Some(master);
        }
        result
    }

    /// UNREGISTER_BROKER: drops `broker_addr` wherever it is listed, and its liveness. The
    /// request's `brokerId` is deliberately not used (rule 3). Returns whether it was known.
    pub fn unregister_broker(&mut self, broker_addr: &str) -> bool {
        let known = self.remove_addr(broker_addr);
        if known {
            info!(broker_addr, "broker unregistered");
        }
        known
    }

    /// QUERY_DATA_VERSION: whether the broker's table differs from the stored one. An unchanged
    /// answer counts as a keep-alive.
    pub fn query_data_version(
        &mut self,
        broker_addr: &str,
        version: &DataVersion,
        now_ms: u64,
    ) -> DataVersionAnswer {
        let stored = self.live.get(broker_addr).map(|l| l.data_version);
        let changed = stored != Some(*version);
        if !changed {
            self.touch(broker_addr, now_ms);
        }
        DataVersionAnswer { changed, stored }
    }

    /// Refreshes a live broker's last-update time. Returns whether the address is live.
    pub fn touch(&mut self, broker_addr: &str, now_ms: u64) -> bool {
        match self.live.get_mut(broker_addr) {
            Some(live) => {
                live.last_update_ms = live.last_update_ms.max(now_ms);
                true
            }
            None => false,
        }
    }

    /// Drops every broker silent for more than `timeout_ms` ([`BROKER_EXPIRY_MS`] by default)
    /// and returns their addresses. Call it every few seconds (Java scans every 10 s).
    pub fn expire(&mut self, now_ms: u64, timeout_ms: u64) -> Vec<String> {
        let silent: Vec<String> = self
            .live
            .iter()
            .filter(|(_, l)| now_ms.saturating_sub(l.last_update_ms) > timeout_ms)
            .map(|(addr, _)| addr.clone())
            .collect();
        for addr in &silent {
            warn!(broker_addr = %addr, timeout_ms, "broker expired");
            self.remove_addr(addr);
        }
        silent
    }

    /// Drops every broker whose latest registration came over `connection` (closed, failed or
    /// idle) and returns their addresses. A broker that has since registered over another
    /// connection stays.
    pub fn connection_closed(&mut self, connection: ConnectionId) -> Vec<String> {
        let gone: Vec<String> = self
            .live
            .iter()
            .filter(|(_, l)| l.connection == connection)
            .map(|(addr, _)| addr.clone())
            .collect();
        for addr in &gone {
            info!(broker_addr = %addr, "broker connection closed");
            self.remove_addr(addr);
        }
        gone
    }

    /// The KV config (GET_KV_CONFIG, GET_KVLIST_BY_NAMESPACE).
    pub fn kv(&self) -> &KvConfig {
        &self.kv
    }

    /// The KV config, to change (PUT_KV_CONFIG, DELETE_KV_CONFIG).
    pub fn kv_mut(&mut self) -> &mut KvConfig {
        &mut self.kv
    }

    /// Puts `name` into `cluster`, moving it out of another cluster it was in.
    fn join_cluster(&mut self, cluster: &str, name: &str) {
        if let Some(group) = self.brokers.get_mut(name)
            && group.cluster != cluster
        {
            info!(broker_name = name, cluster, old_cluster = %group.cluster, "broker group moved cluster");
            let old = std::mem::replace(&mut group.cluster, cluster.to_string());
            self.leave_cluster(&old, name);
        }
        self.clusters
            .entry(cluster.to_string())
            .or_default()
            .insert(name.to_string());
    }

    fn leave_cluster(&mut self, cluster: &str, name: &str) {
        if let Some(names) = self.clusters.get_mut(cluster) {
            names.remove(name);
            if names.is_empty() {
                self.clusters.remove(cluster);
            }
        }
    }

    fn upsert_queue_datas(&mut self, name: &str, topics: &TopicConfigSerializeWrapper) {
        for (key, config) in &topics.topic_config_table {
            let topic = if config.topic_name.is_empty() {
                key
            } else {
                &config.topic_name
            };
            if topic.is_empty() {
                continue;
            }
            let queue = QueueData {
                broker_name: name.to_string(),
                perm: config.perm,
                read_queue_nums: config.read_queue_nums,
                topic_sys_flag: config.topic_sys_flag,
                write_queue_nums: config.write_queue_nums,
            };
            let queues = self.topics.entry(topic.clone()).or_default();
            if queues.get(name) != Some(&queue) {
                debug!(topic = %topic, broker_name = name, ?queue, "queue data updated");
                queues.insert(name.to_string(), queue);
            }
        }
    }

    /// Forgets `addr` everywhere. Returns whether it was live or listed.
    fn remove_addr(&mut self, addr: &str) -> bool {
        let mut known = self.live.remove(addr).is_some();
        self.filter_servers.remove(addr);
        let listed: Vec<String> = self
            .brokers
            .iter()
            .filter(|(_, g)| g.broker_addrs.values().any(|a| a == addr))
            .map(|(name, _)| name.clone())
            .collect();
        for name in listed {
            known = true;
            self.remove_addr_from_group(&name, addr);
        }
        known
    }

    /// Removes `addr`'s entries from the group; a group left empty leaves its cluster and every
    /// topic (topics left without queue data disappear).
    fn remove_addr_from_group(&mut self, name: &str, addr: &str) {
        let Some(group) = self.brokers.get_mut(name) else {
            return;
        };
        if group.master_addr() == Some(addr) {
            info!(broker_name = name, master = addr, "master removed");
        }
        group.broker_addrs.retain(|_, a| a != addr);
        if !group.broker_addrs.is_empty() {
            return;
        }
        let cluster = group.cluster.clone();
        self.brokers.remove(name);
        self.leave_cluster(&cluster, name);
        self.topics.retain(|_, queues| {
            queues.remove(name);
            !queues.is_empty()
        });
        info!(broker_name = name, cluster = %cluster, "broker group removed");
    }
}
