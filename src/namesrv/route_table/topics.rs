//! The read side of the [`RouteTable`] (routes, cluster info, topic lists) and the topic
//! commands that change queue data without a registration (delete, write permission).
//!
//! Same owner and rules as the parent module: answers are built from the table as it stands,
//! nothing here touches liveness or master entries.

use std::collections::BTreeSet;

use super::RouteTable;
use crate::message::body::{
    BrokerData, ClusterInfo, ORDER_TOPIC_CONFIG, QueueData, TopicList, TopicRouteData,
};
use crate::message::{PERM_READ, PERM_WRITE, TOPIC_SYS_FLAG_UNIT, TOPIC_SYS_FLAG_UNIT_SUB};

/// Which unit-topic list to build (GET_UNIT_TOPIC_LIST 311, GET_HAS_UNIT_SUB_TOPIC_LIST 312,
/// GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST 313).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitTopics {
    /// Topics with the unit flag.
    Unit,
    /// Topics with the unit-subscription flag.
    HasUnitSub,
    /// Topics with the unit-subscription flag but not the unit flag.
    HasUnitSubNotUnit,
}

impl RouteTable {
    /// GET_ROUTEINFO_BY_TOPIC: the topic's queues per group and those groups' replicas. `None`
    /// (TOPIC_NOT_EXIST) when no group carrying the topic is left.
    pub fn route_for_topic(&self, topic: &str) -> Option<TopicRouteData> {
        let queues = self.topics.get(topic)?;
        let broker_datas: Vec<BrokerData> = queues
            .keys()
            .filter_map(|name| self.brokers.get(name))
            .cloned()
            .collect();
        if broker_datas.is_empty() {
            return None;
        }
        let filter_server_table = broker_datas
            .iter()
            .flat_map(|g| g.broker_addrs.values())
            .filter_map(|addr| Some((addr.clone(), self.filter_servers.get(addr)?.clone())))
            .collect();
        let order_topic_conf = self
            .order_message_enable
            .then(|| self.kv.get(ORDER_TOPIC_CONFIG, topic).map(str::to_string))
            .flatten();
        Some(TopicRouteData {
            broker_datas,
            filter_server_table,
            order_topic_conf,
            queue_datas: queues.values().cloned().collect(),
        })
    }

    /// GET_BROKER_CLUSTER_INFO.
    pub fn cluster_info(&self) -> ClusterInfo {
        ClusterInfo {
            broker_addr_table: self.brokers.clone(),
            cluster_addr_table: self.clusters.clone(),
        }
    }

    /// One group, if registered.
    pub fn broker(&self, broker_name: &str) -> Option<&BrokerData> {
        self.brokers.get(broker_name)
    }

    /// Addresses with a liveness entry, sorted.
    pub fn live_addrs(&self) -> impl Iterator<Item = &str> {
        self.live.keys().map(String::as_str)
    }

    /// GET_ALL_TOPIC_LIST_FROM_NAMESERVER: every topic with queue data.
    pub fn all_topics(&self) -> TopicList {
        TopicList {
            broker_addr: None,
            topic_list: self.topics.keys().cloned().collect(),
        }
    }

    /// GET_TOPICS_BY_CLUSTER: topics with queue data on a group of `cluster`.
    pub fn topics_of_cluster(&self, cluster: &str) -> TopicList {
        let names = self.clusters.get(cluster);
        let topic_list = self
            .topics
            .iter()
            .filter(|(_, q)| names.is_some_and(|n| q.keys().any(|b| n.contains(b))))
            .map(|(t, _)| t.clone())
            .collect();
        TopicList {
            broker_addr: None,
            topic_list,
        }
    }

    /// GET_SYSTEM_TOPIC_LIST_FROM_NS: cluster names and broker names (each is a topic on Java
    /// brokers), with the first address of the first group.
    pub fn system_topics(&self) -> TopicList {
        let mut topic_list: BTreeSet<String> = self.clusters.keys().cloned().collect();
        topic_list.extend(self.clusters.values().flatten().cloned());
        let broker_addr = self
            .brokers
            .values()
            .find_map(|g| g.broker_addrs.values().next().cloned());
        TopicList {
            broker_addr,
            topic_list,
        }
    }

    /// The unit-topic lists; like Java, judged by the topic's first queue data.
    pub fn unit_topics(&self, which: UnitTopics) -> TopicList {
        let wanted = |flag: i32| {
            let unit = flag & TOPIC_SYS_FLAG_UNIT != 0;
            let sub = flag & TOPIC_SYS_FLAG_UNIT_SUB != 0;
            match which {
                UnitTopics::Unit => unit,
                UnitTopics::HasUnitSub => sub,
                UnitTopics::HasUnitSubNotUnit => sub && !unit,
            }
        };
        let topic_list = self
            .topics
            .iter()
            .filter(|(_, q)| q.values().next().is_some_and(|d| wanted(d.topic_sys_flag)))
            .map(|(t, _)| t.clone())
            .collect();
        TopicList {
            broker_addr: None,
            topic_list,
        }
    }

    /// DELETE_TOPIC_IN_NAMESRV: removes the topic, or only its queues on `cluster`'s groups.
    /// Returns whether any queue data was removed.
    pub fn delete_topic(&mut self, topic: &str, cluster: Option<&str>) -> bool {
        let Some(cluster) = cluster else {
            return self.topics.remove(topic).is_some();
        };
        let (Some(names), Some(queues)) = (self.clusters.get(cluster), self.topics.get_mut(topic))
        else {
            return false;
        };
        let before = queues.len();
        queues.retain(|broker, _| !names.contains(broker));
        let removed = queues.len() != before;
        if queues.is_empty() {
            self.topics.remove(topic);
        }
        removed
    }

    /// WIPE_WRITE_PERM_OF_BROKER: clears the write bit of every queue data of the group.
    /// Returns how many topics it touched (`wipeTopicCount`).
    pub fn wipe_write_perm(&mut self, broker_name: &str) -> usize {
        self.each_queue_data(broker_name, |q| q.perm &= !PERM_WRITE)
    }

    /// ADD_WRITE_PERM_OF_BROKER: sets every queue data of the group to read-write.
    /// Returns how many topics it touched (`addTopicCount`).
    pub fn add_write_perm(&mut self, broker_name: &str) -> usize {
        self.each_queue_data(broker_name, |q| q.perm = PERM_READ | PERM_WRITE)
    }

    fn each_queue_data(&mut self, broker_name: &str, mut f: impl FnMut(&mut QueueData)) -> usize {
        let mut count = 0;
        for queues in self.topics.values_mut() {
            if let Some(q) = queues.get_mut(broker_name) {
                f(q);
                count += 1;
            }
        }
        count
    }
}
