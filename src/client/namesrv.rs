//! [`NameServerClient`]: the nameserver calls a client makes (remoting.md §3.5–§3.7), over a
//! list of nameservers tried in turn, starting with the last one that answered.
//!
//! Routes are cached per topic. [`NameServerClient::cached_route`] answers from the cache
//! while the entry is younger than the refresh interval (30 s, as Java clients poll) and not
//! marked stale; producers and consumers mark a topic stale when a call on its route fails,
//! so the next use fetches it again. If a refresh fails for lack of an answer, the old route
//! is used: a nameserver restart must not stop traffic to brokers that are still up.
//!
//! This module never talks to brokers; [`super::producer`] and [`super::consumer`] do.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::{ClientError, DEFAULT_TIMEOUT, bad_response, broker_error};
use crate::message::body::{ClusterInfo, JsonBody, TopicList, TopicRouteData};
use crate::remoting::header::{DeleteTopicRequestHeader, GetRouteInfoRequestHeader};
use crate::remoting::{
    ClientConfig, ExtFields, RemotingClient, RemotingCommand, RequestCode, ResponseCode,
};

/// How often a cached route is fetched again (Java's `pollNameServerInterval`).
pub const ROUTE_REFRESH: Duration = Duration::from_secs(30);

/// A list of nameserver addresses (`host:port`), from a `;`-separated string (RocketMQ's
/// `namesrvAddr` syntax) or a `Vec`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameServers(pub Vec<String>);

impl From<&str> for NameServers {
    fn from(list: &str) -> Self {
        NameServers(
            list.split(';')
                .map(str::trim)
                .filter(|addr| !addr.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }
}

impl From<String> for NameServers {
    fn from(list: String) -> Self {
        NameServers::from(list.as_str())
    }
}

impl From<Vec<String>> for NameServers {
    fn from(addrs: Vec<String>) -> Self {
        NameServers(addrs)
    }
}

/// A route and when it was fetched.
#[derive(Debug)]
struct CachedRoute {
    route: Arc<TopicRouteData>,
    fetched: Instant,
    stale: bool,
}

/// The nameserver side of a client: routes, cluster info, topic lists.
#[derive(Debug)]
pub struct NameServerClient {
    clients: Vec<RemotingClient>,
    /// Index of the nameserver that answered last; tried first.
    preferred: AtomicUsize,
    timeout: Duration,
    refresh: Duration,
    routes: Mutex<HashMap<String, CachedRoute>>,
}

impl NameServerClient {
    /// A client of `addrs` with the default 3 s request timeout. Fails on an empty list.
    pub fn new(addrs: impl Into<NameServers>) -> Result<Self, ClientError> {
        Self::with_timeout(addrs, DEFAULT_TIMEOUT)
    }

    /// A client of `addrs` whose every request waits at most `timeout`.
    pub fn with_timeout(
        addrs: impl Into<NameServers>,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let NameServers(addrs) = addrs.into();
        if addrs.is_empty() {
            return Err(ClientError::InvalidConfig(
                "no nameserver address given".into(),
            ));
        }
        Ok(NameServerClient {
            clients: addrs
                .into_iter()
                .map(|addr| RemotingClient::new(addr, ClientConfig::default()))
                .collect(),
            preferred: AtomicUsize::new(0),
            timeout,
            refresh: ROUTE_REFRESH,
            routes: Mutex::default(),
        })
    }

    /// The nameserver addresses, in configured order.
    pub fn addrs(&self) -> Vec<String> {
        self.clients.iter().map(|c| c.addr().to_owned()).collect()
    }

    /// Sends `request` to the nameservers in turn until one answers (with any code). Returns
    /// the answering address with the response.
    pub async fn invoke(
        &self,
        request: RemotingCommand,
    ) -> Result<(String, RemotingCommand), ClientError> {
        let code = request.request_code();
        let first = self.preferred.load(Ordering::Relaxed);
        let mut last = String::new();
        for i in 0..self.clients.len() {
            let index = (first + i) % self.clients.len();
            let client = &self.clients[index];
            match client.invoke(request.clone(), self.timeout).await {
                Ok(response) => {
                    self.preferred.store(index, Ordering::Relaxed);
                    return Ok((client.addr().to_owned(), response));
                }
                Err(err) => {
                    tracing::debug!(addr = client.addr(), %code, error = %err, "nameserver did not answer");
                    last = err.to_string();
                }
            }
        }
        Err(ClientError::NameServerUnreachable {
            addrs: self.addrs().join(";"),
            code,
            last,
        })
    }

    /// Sends `request` to every nameserver (topic deletion); fails on the first failure.
    pub async fn invoke_all(&self, request: RemotingCommand) -> Result<(), ClientError> {
        let code = request.request_code();
        for client in &self.clients {
            let addr = client.addr();
            let response =
                client
                    .invoke(request.clone(), self.timeout)
                    .await
                    .map_err(|source| ClientError::Network {
                        addr: addr.to_owned(),
                        code,
                        source,
                    })?;
            if response.response_code() != ResponseCode::Success {
                return Err(broker_error(addr, code, &response));
            }
        }
        Ok(())
    }

    /// Fetches the route of `topic` from a nameserver (GET_ROUTEINFO_BY_TOPIC, 105) and
    /// caches it. A route without queues or brokers is a bad response, not an empty route.
    pub async fn route(&self, topic: &str) -> Result<Arc<TopicRouteData>, ClientError> {
        let header = GetRouteInfoRequestHeader {
            topic: topic.to_owned(),
            accept_standard_json_only: Some(true),
        };
        let request = request(RequestCode::GetRouteinfoByTopic).with_header(&header);
        let (addr, response) = self.invoke(request).await?;
        let code = RequestCode::GetRouteinfoByTopic;
        match response.response_code() {
            ResponseCode::Success => {}
            ResponseCode::TopicNotExist => {
                self.forget(topic);
                return Err(ClientError::TopicNotExist {
                    topic: topic.to_owned(),
                    remark: response.remark.unwrap_or_default(),
                });
            }
            _ => return Err(broker_error(&addr, code, &response)),
        }
        let route = TopicRouteData::decode(&response.body)
            .map_err(|err| bad_response(&addr, code, format!("route of {topic:?}: {err}")))?;
        if route.queue_datas.is_empty() || route.broker_datas.is_empty() {
            return Err(bad_response(
                &addr,
                code,
                format!("route of {topic:?} lists no queues or no brokers"),
            ));
        }
        let route = Arc::new(route);
        self.routes_lock().insert(
            topic.to_owned(),
            CachedRoute {
                route: route.clone(),
                fetched: Instant::now(),
                stale: false,
            },
        );
        Ok(route)
    }

    /// The cached route of `topic` while it is fresh, else a fetched one. When the fetch gets
    /// no answer (nameservers down) the old route is returned, if there is one.
    pub async fn cached_route(&self, topic: &str) -> Result<Arc<TopicRouteData>, ClientError> {
        let cached = self.routes_lock().get(topic).map(|entry| {
            let fresh = !entry.stale && entry.fetched.elapsed() < self.refresh;
            (entry.route.clone(), fresh)
        });
        match cached {
            Some((route, true)) => Ok(route),
            Some((route, false)) => match self.route(topic).await {
                Err(err @ ClientError::NameServerUnreachable { .. }) => {
                    tracing::warn!(topic, error = %err, "route refresh failed; using the old route");
                    Ok(route)
                }
                other => other,
            },
            None => self.route(topic).await,
        }
    }

    /// Marks the cached route of `topic` stale: the next [`Self::cached_route`] fetches it.
    pub fn mark_stale(&self, topic: &str) {
        if let Some(entry) = self.routes_lock().get_mut(topic) {
            entry.stale = true;
        }
    }

    fn forget(&self, topic: &str) {
        self.routes_lock().remove(topic);
    }

    /// GET_BROKER_CLUSTER_INFO (106): every broker group and cluster.
    pub async fn cluster_info(&self) -> Result<ClusterInfo, ClientError> {
        let body = self
            .body_of(request(RequestCode::GetBrokerClusterInfo))
            .await?;
        ClusterInfo::decode(&body.1)
            .map_err(|err| bad_response(&body.0, RequestCode::GetBrokerClusterInfo, err))
    }

    /// GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206): every topic with a route.
    pub async fn all_topics(&self) -> Result<TopicList, ClientError> {
        let code = RequestCode::GetAllTopicListFromNameserver;
        let body = self.body_of(request(code)).await?;
        TopicList::decode(&body.1).map_err(|err| bad_response(&body.0, code, err))
    }

    /// DELETE_TOPIC_IN_NAMESRV (216) on every nameserver.
    pub async fn delete_topic(
        &self,
        topic: &str,
        cluster: Option<&str>,
    ) -> Result<(), ClientError> {
        let header = DeleteTopicRequestHeader {
            topic: topic.to_owned(),
            cluster_name: cluster.map(str::to_owned),
        };
        self.invoke_all(request(RequestCode::DeleteTopicInNamesrv).with_header(&header))
            .await?;
        self.forget(topic);
        Ok(())
    }

    /// The body of a SUCCESS answer to `request`, with the answering address.
    async fn body_of(&self, request: RemotingCommand) -> Result<(String, Bytes), ClientError> {
        let code = request.request_code();
        let (addr, response) = self.invoke(request).await?;
        if response.response_code() != ResponseCode::Success {
            return Err(broker_error(&addr, code, &response));
        }
        Ok((addr, response.body))
    }

    fn routes_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedRoute>> {
        self.routes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// An empty request with `code`.
pub(crate) fn request(code: RequestCode) -> RemotingCommand {
    RemotingCommand::request(code, ExtFields::new(), Bytes::new())
}
