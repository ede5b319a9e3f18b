//! The JSON bodies a nameserver reads and writes, with Java's member names (remoting.md §3, §7.2);
//! the broker's GET_ALL_TOPIC_CONFIG answer is the same [`TopicConfigSerializeWrapper`].
//!
//! Owns the shapes only: [`DataVersion`], [`TopicConfigSerializeWrapper`],
//! [`RegisterBrokerBody`], [`RegisterBrokerResult`], [`QueueData`], [`BrokerData`],
//! [`TopicRouteData`], [`ClusterInfo`], [`TopicList`], [`KvTable`]. Never decides what goes in
//! them: the nameserver's route table and the broker fill them, [`JsonBody`] reads and writes
//! them, the remoting layer carries the bytes. The broker, the nameserver, the admin tool and the
//! client share them.
//!
//! Members are declared alphabetically so the output matches fastjson's member order. Every
//! member a strict client needs is always written, even when empty, false or 0 (remoting.md §3.5:
//! rocketmq-client-rust fails without `enableActingMaster`, `filterServerTable`, `topicSysFlag`).
//! Readers default every missing member and ignore unknown ones.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::JsonBody;
use crate::message::TopicConfig;

/// KV namespace whose entries (`topic` → `brokerName:queueNum;...`) make `orderTopicConf`.
pub const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

/// A broker's topic-table version: `{"counter":N,"timestamp":T}`. Equal when both are equal.
/// 5.x's `stateVersion` is ignored on input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DataVersion {
    /// Bumped on every topic change.
    pub counter: i64,
    /// Milliseconds since the epoch of the last change.
    pub timestamp: i64,
}

/// A broker's whole topic table with its version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TopicConfigSerializeWrapper {
    /// Version of the table.
    pub data_version: DataVersion,
    /// Topic name → config.
    pub topic_config_table: BTreeMap<String, TopicConfig>,
}

/// REGISTER_BROKER's body (the uncompressed variant, remoting.md §3.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RegisterBrokerBody {
    /// Filter-server addresses; always empty in practice.
    pub filter_server_list: Vec<String>,
    /// The broker's topic table.
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
}

/// What a registration answers: `masterAddr` and `haServerAddr` go in the response header (set
/// for slaves when their group's master is alive), `kvTable` is the body (the
/// [`ORDER_TOPIC_CONFIG`] namespace; no body when `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RegisterBrokerResult {
    /// The master's HA address, for a slave registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ha_server_addr: Option<String>,
    /// The `ORDER_TOPIC_CONFIG` KV namespace, when it has entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kv_table: Option<KvTable>,
    /// The master's address, for a slave registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_addr: Option<String>,
}

/// One broker group's share of a topic: its queue counts and permission.
///
/// Written with both `topicSysFlag` (what current clients read) and `topicSynFlag` (the name Java
/// ≤ 4.8 used); read from either, `topicSysFlag` winning.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "QueueDataWire", into = "QueueDataWire")]
pub struct QueueData {
    /// The broker group.
    pub broker_name: String,
    /// [`PERM_READ`](crate::message::PERM_READ) | [`PERM_WRITE`](crate::message::PERM_WRITE) |
    /// [`PERM_INHERIT`](crate::message::PERM_INHERIT) bits.
    pub perm: i32,
    /// Queues consumers read.
    pub read_queue_nums: i32,
    /// Unit flags of the topic.
    pub topic_sys_flag: i32,
    /// Queues producers write.
    pub write_queue_nums: i32,
}

/// [`QueueData`] as it is on the wire.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct QueueDataWire {
    broker_name: String,
    perm: i32,
    read_queue_nums: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    topic_syn_flag: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    topic_sys_flag: Option<i32>,
    write_queue_nums: i32,
}

impl From<QueueDataWire> for QueueData {
    fn from(w: QueueDataWire) -> Self {
        QueueData {
            broker_name: w.broker_name,
            perm: w.perm,
            read_queue_nums: w.read_queue_nums,
            topic_sys_flag: w.topic_sys_flag.or(w.topic_syn_flag).unwrap_or(0),
            write_queue_nums: w.write_queue_nums,
        }
    }
}

impl From<QueueData> for QueueDataWire {
    fn from(q: QueueData) -> Self {
        QueueDataWire {
            broker_name: q.broker_name,
            perm: q.perm,
            read_queue_nums: q.read_queue_nums,
            topic_syn_flag: Some(q.topic_sys_flag),
            topic_sys_flag: Some(q.topic_sys_flag),
            write_queue_nums: q.write_queue_nums,
        }
    }
}

/// One broker group: its cluster, name and the address of each replica by broker id (0 = the
/// master, which producers send to).
///
/// `brokerAddrs` keys are written quoted (`{"0":"ip:port"}`), see [`JsonBody`]; read
/// quoted or bare. `enableActingMaster` (a 5.x member) is always written as `false`, because
/// rocketmq-client-rust refuses a route without it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BrokerData {
    /// Broker id → "ip:port".
    pub broker_addrs: BTreeMap<u64, String>,
    /// The broker group's name.
    pub broker_name: String,
    /// The cluster the group belongs to.
    pub cluster: String,
    /// 5.x acting-master flag; always false here.
    pub enable_acting_master: bool,
}

impl BrokerData {
    /// The master's address (broker id 0), if the group has one.
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&0).map(String::as_str)
    }
}

/// GET_ROUTEINFO_BY_TOPIC's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TopicRouteData {
    /// The groups carrying the topic.
    pub broker_datas: Vec<BrokerData>,
    /// Broker address → filter servers; always written, usually `{}`.
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    /// `brokerName:queueNum;...`, only for ordered topics when `orderMessageEnable` is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    /// Each group's queues of the topic.
    pub queue_datas: Vec<QueueData>,
}

/// GET_BROKER_CLUSTER_INFO's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterInfo {
    /// Broker name → group.
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    /// Cluster name → broker names.
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
}

/// A list of topic names; `brokerAddr` is set only by the system-topic query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TopicList {
    /// Some broker's address (system-topic list only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
    /// The topics, sorted.
    pub topic_list: BTreeSet<String>,
}

/// One KV namespace: `{"table":{"key":"value"}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KvTable {
    /// Key → value.
    pub table: BTreeMap<String, String>,
}

impl JsonBody for DataVersion {}
impl JsonBody for TopicConfig {}
impl JsonBody for TopicConfigSerializeWrapper {}
impl JsonBody for RegisterBrokerBody {}
impl JsonBody for RegisterBrokerResult {}
impl JsonBody for QueueData {}
impl JsonBody for BrokerData {}
impl JsonBody for TopicRouteData {}
impl JsonBody for ClusterInfo {}
impl JsonBody for TopicList {}
impl JsonBody for KvTable {}

#[cfg(test)]
mod tests;
