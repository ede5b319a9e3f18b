//! The nameserver on the wire: [`NamesrvHandler`] answers every request code of remoting.md §3
//! from one [`RouteTable`], [`run_expiry`] drops silent brokers, and [`serve_namesrv`] runs both
//! on a listener until shutdown (what `mqnamesrv` and the tests call).
//!
//! Data path: `remoting::server` (a task per request) → [`NamesrvHandler::process`] (a `match`
//! on the request code, typed headers, lenient JSON bodies) → one short synchronous section on
//! the table (a std mutex, never held across an `.await`) → a response built from the answer.
//! Bad headers and bodies become error responses naming the field or body; nothing here panics
//! on input. This module owns no protocol rules of its own: registration and master changes are
//! [`RouteTable`]'s, the JSON shapes are [`message::body`](crate::message::body)'s, framing is
//! `remoting`'s.
//!
//! # Registrations of one connection apply in arrival order
//!
//! The remoting server runs each request of a connection in its own task, so two
//! REGISTER_BROKER requests sent back to back (a periodic registration, then a role change) may
//! *run* in either order; a per-connection lock would not help, as it is taken in run order too.
//! Clients number their requests with an increasing counter (`opaque`: Java, ali-ons,
//! rocketmq-client-rust and our `RemotingClient` all do), so the handler remembers, per
//! connection and broker address, the opaque of the newest registration it applied and ignores
//! an older one that runs late (it only refreshes liveness and answers SUCCESS). The comparison
//! wraps like the counters do; a client that reuses one opaque gets run order, which is what the
//! table lock alone gives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, debug_span, info, warn};

use super::route_table::{ConnectionId, RegisterRequest, RouteTable, UnitTopics};
use crate::config::NamesrvConfig;
use crate::message::body::{BodyError, DataVersion, JsonBody, RegisterBrokerBody, decode_lenient};
use crate::remoting::header::{
    DeleteTopicRequestHeader, GetRouteInfoRequestHeader, RegisterBrokerRequestHeader,
    RegisterBrokerResponseHeader, UnRegisterBrokerRequestHeader,
};
use crate::remoting::{
    ConnectionInfo, Handler, HeaderError, RemotingCommand, RequestCode, ResponseCode,
};

/// Why a request got an error response. Each variant knows its wire code
/// ([`NamesrvError::response_code`]); its text is the response's remark.
#[derive(Debug, thiserror::Error)]
pub enum NamesrvError {
    /// A required header field is missing or unparsable (Java's wording, naming the key).
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// A header field parsed but is out of range.
    #[error("the custom field <{field}> {reason}")]
    Field { field: &'static str, reason: String },
    /// A body that is not the JSON the code expects.
    #[error("{code} body: {source}")]
    Body {
        code: &'static str,
        #[source]
        source: BodyError,
    },
    /// `compressed=true` registrations need zlib, which this build does not carry.
    #[error("compressed registration bodies are not supported")]
    CompressedBody,
    /// `bodyCrc32` does not match the body.
    #[error("crc32 not match: header bodyCrc32 {expected}, body {actual}")]
    BodyCrc { expected: i32, actual: i32 },
    /// No group carrying the topic is registered (Java's remark, which clients show).
    #[error("No topic route info in name server for the topic: {0}")]
    TopicNotExist(String),
    /// GET_KV_CONFIG of an absent key.
    #[error("No config item, Namespace: {namespace} Key: {key}")]
    KvKeyNotFound { namespace: String, key: String },
    /// GET_KVLIST_BY_NAMESPACE of an empty namespace.
    #[error("No config item, Namespace: {0}")]
    KvNamespaceNotFound(String),
    /// UPDATE_NAMESRV_CONFIG: the config is read once, from `namesrv.conf`.
    #[error(
        "updating the name server config at runtime is not supported; edit namesrv.conf and restart"
    )]
    ConfigUpdate,
    /// A code this nameserver does not serve (Java's broker wording, leading space included).
    #[error(" request type {0} not supported")]
    Unsupported(i32),
}

impl NamesrvError {
    /// The response code clients see.
    pub fn response_code(&self) -> ResponseCode {
        match self {
            NamesrvError::TopicNotExist(_) => ResponseCode::TopicNotExist,
            NamesrvError::KvKeyNotFound { .. } | NamesrvError::KvNamespaceNotFound(_) => {
                ResponseCode::QueryNotFound
            }
            NamesrvError::Unsupported(_) => ResponseCode::RequestCodeNotSupported,
            NamesrvError::Header(_)
            | NamesrvError::Field { .. }
            | NamesrvError::Body { .. }
            | NamesrvError::CompressedBody
            | NamesrvError::BodyCrc { .. }
            | NamesrvError::ConfigUpdate => ResponseCode::SystemError,
        }
    }
}

type Reply = Result<RemotingCommand, NamesrvError>;

/// The nameserver's state behind one lock: the table, and the newest registration applied per
/// (connection, broker address), by opaque (see the module docs).
#[derive(Debug, Default)]
struct State {
    table: RouteTable,
    last_register: HashMap<(ConnectionId, String), i32>,
}

/// Answers nameserver requests from one [`RouteTable`]. Cheap to share (`Arc`); every request
/// is one short critical section.
#[derive(Debug)]
pub struct NamesrvHandler {
    state: Mutex<State>,
    config: NamesrvConfig,
    /// Origin of the table's millisecond clock (monotonic).
    started: Instant,
}

impl NamesrvHandler {
    /// An empty nameserver with `config` (answered by GET_NAMESRV_CONFIG).
    pub fn new(config: NamesrvConfig) -> Self {
        NamesrvHandler {
            state: Mutex::new(State::default()),
            config,
            started: Instant::now(),
        }
    }

    /// The config this nameserver runs with.
    pub fn config(&self) -> &NamesrvConfig {
        &self.config
    }

    /// Milliseconds since the handler was created: the table's clock.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Answers one request that came over `conn`. Never fails: errors become error responses
    /// (the remoting server drops the answer to a oneway request).
    pub fn process(&self, conn: ConnectionId, req: &RemotingCommand) -> RemotingCommand {
        let code = req.request_code();
        let _span = debug_span!("namesrv", %code, opaque = req.opaque, conn = conn.0).entered();
        let result = match code {
            RequestCode::PutKvConfig => self.put_kv_config(req),
            RequestCode::GetKvConfig => self.kv_config(req),
            RequestCode::DeleteKvConfig => self.delete_kv_config(req),
            RequestCode::GetKvlistByNamespace => self.kv_list(req),
            RequestCode::RegisterBroker => self.register_broker(conn, req),
            RequestCode::UnregisterBroker => self.unregister_broker(req),
            RequestCode::QueryDataVersion => self.query_data_version(req),
            RequestCode::GetRouteinfoByTopic => self.route(req),
            RequestCode::GetBrokerClusterInfo => Ok(req
                .success_response()
                .with_body(self.lock().table.cluster_info().encode())),
            RequestCode::GetAllTopicListFromNameserver => Ok(req
                .success_response()
                .with_body(self.lock().table.all_topics().encode())),
            RequestCode::GetTopicsByCluster => self.topics_of_cluster(req),
            RequestCode::GetSystemTopicListFromNs => Ok(req
                .success_response()
                .with_body(self.lock().table.system_topics().encode())),
            RequestCode::GetUnitTopicList => self.unit_topics(req, UnitTopics::Unit),
            RequestCode::GetHasUnitSubTopicList => self.unit_topics(req, UnitTopics::HasUnitSub),
            RequestCode::GetHasUnitSubUnunitTopicList => {
                self.unit_topics(req, UnitTopics::HasUnitSubNotUnit)
            }
            RequestCode::DeleteTopicInNamesrv => self.delete_topic(req),
            RequestCode::WipeWritePermOfBroker => self.write_perm(req, false),
            RequestCode::AddWritePermOfBroker => self.write_perm(req, true),
            RequestCode::GetNamesrvConfig => {
                Ok(req.success_response().with_body(self.config.to_string()))
            }
            RequestCode::UpdateNamesrvConfig => Err(NamesrvError::ConfigUpdate),
            other => Err(NamesrvError::Unsupported(other.as_i32())),
        };
        result.unwrap_or_else(|err| {
            debug!(error = %err, "request refused");
            req.error_response(err.response_code(), err.to_string())
        })
    }

    /// Drops every broker whose latest registration came over `conn` (it closed) and forgets
    /// the connection's registration order. Returns the dropped addresses.
    pub fn close_connection(&self, conn: ConnectionId) -> Vec<String> {
        let mut state = self.lock();
        state.last_register.retain(|(c, _), _| *c != conn);
        state.table.connection_closed(conn)
    }

    /// Drops every broker silent for more than `timeout`. Returns the dropped addresses.
    pub fn expire(&self, timeout: Duration) -> Vec<String> {
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let now = self.now_ms();
        self.lock().table.expire(now, timeout_ms)
    }

    /// A copy of the table as it stands (for tests and diagnostics).
    pub fn snapshot(&self) -> RouteTable {
        self.lock().table.clone()
    }

    /// The state; a panic elsewhere while holding the lock cannot leave the table half-changed
    /// in a way later requests could not cope with (every change is a plain map update), so a
    /// poisoned lock is used as is.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn register_broker(&self, conn: ConnectionId, req: &RemotingCommand) -> Reply {
        let header: RegisterBrokerRequestHeader = req.header()?;
        let broker_id = u64::try_from(header.broker_id).map_err(|_| NamesrvError::Field {
            field: "brokerId",
            reason: format!("must not be negative: {}", header.broker_id),
        })?;
        if header.compressed == Some(true) {
            return Err(NamesrvError::CompressedBody);
        }
        if let Some(expected) = header.body_crc32.filter(|&crc| crc != 0) {
            let actual = (crc32fast::hash(&req.body) & 0x7FFF_FFFF) as i32;
            if actual != expected {
                return Err(NamesrvError::BodyCrc { expected, actual });
            }
        }
        let body: RegisterBrokerBody = if req.body.is_empty() {
            RegisterBrokerBody::default()
        } else {
            decode_lenient(&req.body).map_err(|source| NamesrvError::Body {
                code: "REGISTER_BROKER",
                source,
            })?
        };

        let now_ms = self.now_ms();
        let mut state = self.lock();
        let order_key = (conn, header.broker_addr.clone());
        if let Some(&newest) = state.last_register.get(&order_key)
            && req.opaque.wrapping_sub(newest) < 0
        {
            warn!(broker_addr = %header.broker_addr, opaque = req.opaque, newest,
                "registration overtaken by a newer one on its connection; only liveness refreshed");
            state.table.touch(&header.broker_addr, now_ms);
            return Ok(req.success_response());
        }
        state.last_register.insert(order_key, req.opaque);
        let result = state.table.register_broker(RegisterRequest {
            cluster: header.cluster_name,
            broker_name: header.broker_name,
            broker_addr: header.broker_addr,
            broker_id,
            ha_server_addr: header.ha_server_addr,
            topics: body.topic_config_serialize_wrapper,
            filter_servers: body.filter_server_list,
            connection: conn,
            now_ms,
            term: header.raft_term.and_then(|t| u64::try_from(t).ok()),
        });
        drop(state);
        let mut response = req
            .success_response()
            .with_header(&RegisterBrokerResponseHeader {
                ha_server_addr: result.ha_server_addr,
                master_addr: result.master_addr,
            });
        if let Some(kv) = result.kv_table {
            response = response.with_body(kv.encode());
        }
        Ok(response)
    }

    fn unregister_broker(&self, req: &RemotingCommand) -> Reply {
        let header: UnRegisterBrokerRequestHeader = req.header()?;
        self.lock().table.unregister_broker(&header.broker_addr);
        Ok(req.success_response())
    }

    fn query_data_version(&self, req: &RemotingCommand) -> Reply {
        for key in ["brokerName", "clusterName", "brokerId"] {
            field(req, key)?;
        }
        let addr = field(req, "brokerAddr")?;
        let version: DataVersion =
            decode_lenient(&req.body).map_err(|source| NamesrvError::Body {
                code: "QUERY_DATA_VERSION",
                source,
            })?;
        let now_ms = self.now_ms();
        let answer = self.lock().table.query_data_version(addr, &version, now_ms);
        let mut response = req.success_response();
        response
            .ext_fields
            .insert("changed".to_string(), answer.changed.to_string());
        if let Some(stored) = answer.stored {
            response = response.with_body(stored.encode());
        }
        Ok(response)
    }

    fn route(&self, req: &RemotingCommand) -> Reply {
        let header: GetRouteInfoRequestHeader = req.header()?;
        let route = self.lock().table.route_for_topic(&header.topic);
        match route {
            Some(route) => Ok(req.success_response().with_body(route.encode())),
            None => Err(NamesrvError::TopicNotExist(header.topic)),
        }
    }

    fn topics_of_cluster(&self, req: &RemotingCommand) -> Reply {
        let cluster = field(req, "cluster")?;
        let topics = self.lock().table.topics_of_cluster(cluster);
        Ok(req.success_response().with_body(topics.encode()))
    }

    fn unit_topics(&self, req: &RemotingCommand, which: UnitTopics) -> Reply {
        let topics = self.lock().table.unit_topics(which);
        Ok(req.success_response().with_body(topics.encode()))
    }

    fn delete_topic(&self, req: &RemotingCommand) -> Reply {
        let header: DeleteTopicRequestHeader = req.header()?;
        let removed = self
            .lock()
            .table
            .delete_topic(&header.topic, header.cluster_name.as_deref());
        info!(topic = %header.topic, cluster = ?header.cluster_name, removed, "topic deleted from routes");
        Ok(req.success_response())
    }

    /// WIPE_WRITE_PERM_OF_BROKER (`add` false) and ADD_WRITE_PERM_OF_BROKER (`add` true).
    fn write_perm(&self, req: &RemotingCommand, add: bool) -> Reply {
        let broker_name = field(req, "brokerName")?;
        let mut state = self.lock();
        let (count, key) = if add {
            (state.table.add_write_perm(broker_name), "addTopicCount")
        } else {
            (state.table.wipe_write_perm(broker_name), "wipeTopicCount")
        };
        drop(state);
        info!(broker_name, count, add, "write permission changed");
        let mut response = req.success_response();
        response
            .ext_fields
            .insert(key.to_string(), count.to_string());
        Ok(response)
    }

    fn put_kv_config(&self, req: &RemotingCommand) -> Reply {
        let (namespace, key, value) = (
            field(req, "namespace")?,
            field(req, "key")?,
            field(req, "value")?,
        );
        self.lock().table.kv_mut().put(namespace, key, value);
        Ok(req.success_response())
    }

    fn kv_config(&self, req: &RemotingCommand) -> Reply {
        let (namespace, key) = (field(req, "namespace")?, field(req, "key")?);
        let value = self
            .lock()
            .table
            .kv()
            .get(namespace, key)
            .map(str::to_string);
        let value = value.ok_or_else(|| NamesrvError::KvKeyNotFound {
            namespace: namespace.to_string(),
            key: key.to_string(),
        })?;
        let mut response = req.success_response();
        response.ext_fields.insert("value".to_string(), value);
        Ok(response)
    }

    fn delete_kv_config(&self, req: &RemotingCommand) -> Reply {
        let (namespace, key) = (field(req, "namespace")?, field(req, "key")?);
        self.lock().table.kv_mut().delete(namespace, key);
        Ok(req.success_response())
    }

    fn kv_list(&self, req: &RemotingCommand) -> Reply {
        let namespace = field(req, "namespace")?;
        let table = self.lock().table.kv().list(namespace);
        let table =
            table.ok_or_else(|| NamesrvError::KvNamespaceNotFound(namespace.to_string()))?;
        Ok(req.success_response().with_body(table.encode()))
    }
}

/// A required string header field that no typed header covers.
fn field<'r>(req: &'r RemotingCommand, key: &'static str) -> Result<&'r str, HeaderError> {
    req.ext_fields
        .get(key)
        .map(String::as_str)
        .ok_or(HeaderError::Missing { field: key })
}

impl Handler for NamesrvHandler {
    async fn handle(
        &self,
        conn: &ConnectionInfo,
        request: RemotingCommand,
    ) -> Option<RemotingCommand> {
        Some(self.process(ConnectionId(conn.id()), &request))
    }

    async fn connection_closed(&self, conn: &ConnectionInfo) {
        let gone = self.close_connection(ConnectionId(conn.id()));
        if !gone.is_empty() {
            info!(conn = conn.id(), peer = %conn.peer(), brokers = ?gone, "brokers dropped with their connection");
        }
    }
}

/// Every `interval` (`scanNotActiveBrokerInterval`, first scan one interval after start),
/// drops the brokers silent for more than `timeout` (`brokerChannelExpiredTime`), until
/// `shutdown` turns true or its sender is dropped.
pub async fn run_expiry(
    handler: Arc<NamesrvHandler>,
    interval: Duration,
    timeout: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let interval = interval.max(Duration::from_millis(1));
    let mut ticks = tokio::time::interval_at(Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            _ = ticks.tick() => {
                let gone = handler.expire(timeout);
                if !gone.is_empty() {
                    info!(brokers = ?gone, timeout_ms = timeout.as_millis(), "silent brokers dropped");
                }
            }
        }
    }
    debug!("broker expiry stopped");
}

/// Serves the nameserver on `listener` until `shutdown` turns true (or its sender is dropped):
/// the remoting server with a fresh [`NamesrvHandler`], and [`run_expiry`] with the config's
/// intervals. Returns once the server has stopped accepting and drained the requests in hand
/// (bounded by the remoting server's drain deadline) and the expiry loop has stopped.
pub async fn serve_namesrv(
    config: NamesrvConfig,
    listener: TcpListener,
    shutdown: watch::Receiver<bool>,
) {
    let local = listener
        .local_addr()
        .map(|addr| addr.to_string())
        .unwrap_or_default();
    let interval = Duration::from_millis(config.scan_not_active_broker_interval_ms);
    let timeout = Duration::from_millis(config.broker_channel_expired_time_ms);
    let handler = Arc::new(NamesrvHandler::new(config));
    let expiry = tokio::spawn(run_expiry(
        handler.clone(),
        interval,
        timeout,
        shutdown.clone(),
    ));
    info!(addr = %local, "name server serving");
    crate::remoting::serve(listener, handler, shutdown).await;
    if let Err(err) = expiry.await {
        warn!(error = %err, "broker expiry task failed");
    }
    info!(addr = %local, "name server stopped");
}

#[cfg(test)]
mod tests;
