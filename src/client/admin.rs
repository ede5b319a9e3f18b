//! [`Admin`]: what `mqadmin`-style tools and the tests ask of nameservers and brokers
//! (remoting.md §6, §3.6–§3.7, §5.3, §5.5–§5.6): topic creation on a broker or on every master
//! of a cluster, topic deletion (brokers, then nameservers), queue offsets, consumer offsets,
//! consumer lists, cluster info and routes. Each call is one request (per broker) bounded by
//! the admin's timeout; nothing is retried.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::connections::Connections;
use super::namesrv::request;
use super::{ClientError, DEFAULT_TIMEOUT, MessageQueue, NameServerClient, NameServers, calls};
use crate::message::body::{ClusterInfo, TopicList, TopicRouteData};
use crate::message::{TopicConfig, TopicFilterType};
use crate::remoting::header::{
    CreateTopicRequestHeader, DeleteTopicRequestHeader, QueryConsumerOffsetRequestHeader,
    UpdateConsumerOffsetRequestHeader,
};
use crate::remoting::{Credentials, RequestCode};

/// Admin calls over one nameserver list.
#[derive(Debug)]
pub struct Admin {
    namesrv: NameServerClient,
    conns: Connections,
    timeout: Duration,
}

impl Admin {
    /// An admin client of `namesrv_addrs` with the default 3 s timeout.
    pub fn new(namesrv_addrs: impl Into<NameServers>) -> Result<Self, ClientError> {
        Self::with_timeout(namesrv_addrs, DEFAULT_TIMEOUT)
    }

    /// An admin client whose every request waits at most `timeout`.
    pub fn with_timeout(
        namesrv_addrs: impl Into<NameServers>,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        Ok(Admin {
            namesrv: NameServerClient::with_timeout(namesrv_addrs, timeout)?,
            conns: Connections::default(),
            timeout,
        })
    }

    /// This client, signing every broker request with `credentials` (brokers with
    /// `aclEnable=true` check them; admin requests need an `admin: true` account).
    pub fn with_credentials(mut self, credentials: Option<Credentials>) -> Self {
        self.conns = self.conns.signed_by(credentials);
        self
    }

    /// The nameserver client.
    pub fn namesrv(&self) -> &NameServerClient {
        &self.namesrv
    }

    /// GET_BROKER_CLUSTER_INFO (106).
    pub async fn cluster_info(&self) -> Result<ClusterInfo, ClientError> {
        self.namesrv.cluster_info().await
    }

    /// GET_ROUTEINFO_BY_TOPIC (105), fresh from a nameserver.
    pub async fn topic_route(&self, topic: &str) -> Result<Arc<TopicRouteData>, ClientError> {
        self.namesrv.route(topic).await
    }

    /// GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206).
    pub async fn all_topics(&self) -> Result<TopicList, ClientError> {
        self.namesrv.all_topics().await
    }

    /// The master addresses of `cluster`'s broker groups, by broker name.
    pub async fn cluster_masters(
        &self,
        cluster: &str,
    ) -> Result<BTreeMap<String, String>, ClientError> {
        let info = self.cluster_info().await?;
        let names = info
            .cluster_addr_table
            .get(cluster)
            .ok_or_else(|| ClientError::InvalidConfig(format!("no cluster named {cluster:?}")))?;
        Ok(names
            .iter()
            .filter_map(|name| {
                let addr = info.broker_addr_table.get(name)?.master_addr()?;
                Some((name.clone(), addr.to_owned()))
            })
            .collect())
    }

    /// UPDATE_AND_CREATE_TOPIC (17) on the broker at `broker_addr`.
    pub async fn create_topic(
        &self,
        broker_addr: &str,
        config: &TopicConfig,
    ) -> Result<(), ClientError> {
        let header = CreateTopicRequestHeader {
            topic: config.topic_name.clone(),
            default_topic: "TBW102".into(),
            read_queue_nums: config.read_queue_nums,
            write_queue_nums: config.write_queue_nums,
            perm: config.perm,
            topic_filter_type: match config.topic_filter_type {
                TopicFilterType::SingleTag => "SINGLE_TAG".into(),
                TopicFilterType::MultiTag => "MULTI_TAG".into(),
            },
            topic_sys_flag: Some(config.topic_sys_flag),
            order: config.order,
        };
        let req = request(RequestCode::UpdateAndCreateTopic).with_header(&header);
        calls::call(&self.conns, broker_addr, req, self.timeout)
            .await
            .map(drop)
    }

    /// Creates (or updates) the topic on every master of `cluster`; returns their addresses.
    pub async fn create_topic_in_cluster(
        &self,
        cluster: &str,
        config: &TopicConfig,
    ) -> Result<Vec<String>, ClientError> {
        let masters = self.cluster_masters(cluster).await?;
        if masters.is_empty() {
            return Err(ClientError::InvalidConfig(format!(
                "cluster {cluster:?} has no master"
            )));
        }
        for addr in masters.values() {
            self.create_topic(addr, config).await?;
        }
        Ok(masters.into_values().collect())
    }

    /// DELETE_TOPIC_IN_BROKER (215) on every master of `cluster`, then
    /// DELETE_TOPIC_IN_NAMESRV (216) on every nameserver, as `mqadmin deleteTopic` does.
    pub async fn delete_topic(&self, cluster: &str, topic: &str) -> Result<(), ClientError> {
        let header = DeleteTopicRequestHeader {
            topic: topic.to_owned(),
            cluster_name: None,
        };
        for addr in self.cluster_masters(cluster).await?.values() {
            let req = request(RequestCode::DeleteTopicInBroker).with_header(&header);
            calls::call(&self.conns, addr, req, self.timeout).await?;
        }
        self.namesrv.delete_topic(topic, Some(cluster)).await
    }

    /// GET_MAX_OFFSET (30): one past the last message of the queue.
    pub async fn max_offset(
        &self,
        addr: &str,
        topic: &str,
        queue_id: i32,
    ) -> Result<i64, ClientError> {
        calls::max_offset(&self.conns, addr, topic, queue_id, self.timeout).await
    }

    /// GET_MIN_OFFSET (31): the first offset still stored.
    pub async fn min_offset(
        &self,
        addr: &str,
        topic: &str,
        queue_id: i32,
    ) -> Result<i64, ClientError> {
        calls::min_offset(&self.conns, addr, topic, queue_id, self.timeout).await
    }

    /// SEARCH_OFFSET_BY_TIMESTAMP (29).
    pub async fn search_offset(
        &self,
        addr: &str,
        topic: &str,
        queue_id: i32,
        timestamp_ms: i64,
    ) -> Result<i64, ClientError> {
        calls::search_offset(
            &self.conns,
            addr,
            topic,
            queue_id,
            timestamp_ms,
            self.timeout,
        )
        .await
    }

    /// The max offset of every readable queue of `topic` on its master (for checkers: how
    /// many messages each queue holds).
    pub async fn topic_max_offsets(
        &self,
        topic: &str,
    ) -> Result<BTreeMap<MessageQueue, i64>, ClientError> {
        let route = self.namesrv.route(topic).await?;
        let mut out = BTreeMap::new();
        for qd in &route.queue_datas {
            let addr = route
                .broker_datas
                .iter()
                .find(|b| b.broker_name == qd.broker_name)
                .and_then(|b| b.master_addr());
            let Some(addr) = addr else { continue };
            for queue_id in 0..qd.read_queue_nums.max(0) {
                let offset = self.max_offset(addr, topic, queue_id).await?;
                let queue = MessageQueue {
                    topic: topic.to_owned(),
                    broker_name: qd.broker_name.clone(),
                    queue_id,
                };
                out.insert(queue, offset);
            }
        }
        Ok(out)
    }

    /// QUERY_CONSUMER_OFFSET (14): `None` when the broker has none (QUERY_NOT_FOUND).
    pub async fn query_consumer_offset(
        &self,
        addr: &str,
        group: &str,
        topic: &str,
        queue_id: i32,
    ) -> Result<Option<i64>, ClientError> {
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: topic.to_owned(),
            queue_id,
        };
        calls::query_consumer_offset(&self.conns, addr, header, self.timeout).await
    }

    /// UPDATE_CONSUMER_OFFSET (15).
    pub async fn update_consumer_offset(
        &self,
        addr: &str,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Result<(), ClientError> {
        let header = UpdateConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: topic.to_owned(),
            queue_id,
            commit_offset: offset,
        };
        calls::update_consumer_offset(&self.conns, addr, header, self.timeout).await
    }

    /// GET_CONSUMER_LIST_BY_GROUP (38): the group's live client ids on that broker, sorted.
    pub async fn consumer_list(&self, addr: &str, group: &str) -> Result<Vec<String>, ClientError> {
        calls::consumer_list(&self.conns, addr, group, self.timeout).await
    }
}
