//! In-process fakes on 127.0.0.1 ephemeral ports: a nameserver answering routes, cluster info
//! and topic lists from tables the test fills, and a broker that stores sends in memory
//! queues, serves pulls from them (no long-poll hold beyond a short sleep), keeps consumer
//! offsets, group members and queue locks, and records every request.
//!
//! The fakes speak only the wire and the vocabulary (`remoting`, `message`), as the client does:
//! requests are read with the same body readers a broker uses, never with the broker's code.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::common::sync::lock;
use crate::message::TopicConfig;
use crate::message::batch::parse_batch;
use crate::message::body::check_client::parse_check_client;
use crate::message::body::heartbeat::parse_heartbeat;
use crate::message::body::lock::{QueueKey, lock_response_body, parse_lock_request};
use crate::message::body::{
    BrokerData, ClusterInfo, JsonBody, QueueData, TopicList, TopicRouteData,
};
use crate::message::{MessageToStore, encode_message, offset_msg_id, parse_properties};
use crate::remoting::header::*;
use crate::remoting::{
    ConnectionInfo, ExtFields, Handler, RemotingCommand, RequestCode, ResponseCode, serve,
};

/// A running fake; the server stops when this is dropped.
pub(super) struct Running<H> {
    pub(super) addr: String,
    pub(super) handler: Arc<H>,
    _stop: watch::Sender<bool>,
}

pub(super) async fn run<H: Handler>(handler: H) -> Running<H> {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let handler = Arc::new(handler);
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(serve(listener, handler.clone(), stopped));
    Running {
        addr,
        handler,
        _stop: stop,
    }
}

/// An address nobody listens on.
pub(super) async fn dead_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr").to_string()
}

/// A route over `(broker name, address, queue count)` groups, perm RW.
pub(super) fn route(brokers: &[(&str, &str, i32)]) -> TopicRouteData {
    TopicRouteData {
        broker_datas: brokers
            .iter()
            .map(|(name, addr, _)| BrokerData {
                broker_addrs: BTreeMap::from([(0, (*addr).to_owned())]),
                broker_name: (*name).to_owned(),
                cluster: "C".into(),
                enable_acting_master: false,
            })
            .collect(),
        queue_datas: brokers
            .iter()
            .map(|(name, _, queues)| QueueData {
                broker_name: (*name).to_owned(),
                perm: 6,
                read_queue_nums: *queues,
                write_queue_nums: *queues,
                topic_sys_flag: 0,
            })
            .collect(),
        ..TopicRouteData::default()
    }
}

#[derive(Default)]
pub(super) struct FakeNameServer {
    /// Topic → route body bytes (a test may put garbage here).
    pub(super) routes: Mutex<HashMap<String, Bytes>>,
    pub(super) cluster: Mutex<ClusterInfo>,
    pub(super) requests: Mutex<Vec<RemotingCommand>>,
}

impl FakeNameServer {
    pub(super) fn set_route(&self, topic: &str, route: &TopicRouteData) {
        lock(&self.routes).insert(topic.into(), route.encode().into());
    }
}

impl Handler for FakeNameServer {
    async fn handle(&self, _: &ConnectionInfo, req: RemotingCommand) -> Option<RemotingCommand> {
        lock(&self.requests).push(req.clone());
        let resp = match req.request_code() {
            RequestCode::GetRouteinfoByTopic => {
                let topic = req.ext_fields.get("topic").cloned().unwrap_or_default();
                match lock(&self.routes).get(&topic) {
                    Some(body) => req.success_response().with_body(body.clone()),
                    None => req.error_response(
                        ResponseCode::TopicNotExist,
                        format!("No topic route info in name server for the topic: {topic}"),
                    ),
                }
            }
            RequestCode::GetBrokerClusterInfo => req
                .success_response()
                .with_body(lock(&self.cluster).encode()),
            RequestCode::GetAllTopicListFromNameserver => {
                let list = TopicList {
                    broker_addr: None,
                    topic_list: lock(&self.routes).keys().cloned().collect(),
                };
                req.success_response().with_body(list.encode())
            }
            RequestCode::DeleteTopicInNamesrv => req.success_response(),
            _ => req.error_response(ResponseCode::RequestCodeNotSupported, "not faked"),
        };
        Some(resp)
    }
}

/// How long a queue lock lives without a refresh, as on a broker (`lockMaxLiveTime`).
const LOCK_MAX_LIVE: Duration = Duration::from_secs(60);

/// Queue locks by a broker's rules (remoting.md §5.8): a queue is granted when it is free, already
/// the caller's (its time is refreshed) or not refreshed for [`LOCK_MAX_LIVE`]; unlocking
/// releases only the caller's queues.
#[derive(Default)]
pub(super) struct FakeLocks {
    /// (group, queue) → (holder, last locked).
    held: BTreeMap<(String, QueueKey), (String, Instant)>,
}

impl FakeLocks {
    /// Locks what may be locked and returns what `client_id` now holds of `queues`.
    pub(super) fn lock(
        &mut self,
        group: &str,
        client_id: &str,
        queues: &BTreeSet<QueueKey>,
        now: Instant,
    ) -> BTreeSet<QueueKey> {
        let mut granted = BTreeSet::new();
        for queue in queues {
            let key = (group.to_owned(), queue.clone());
            let free = self.held.get(&key).is_none_or(|(holder, at)| {
                holder == client_id || now.saturating_duration_since(*at) > LOCK_MAX_LIVE
            });
            if free {
                self.held.insert(key, (client_id.to_owned(), now));
                granted.insert(queue.clone());
            }
        }
        granted
    }

    /// Releases those of `queues` that `client_id` holds.
    pub(super) fn unlock(&mut self, group: &str, client_id: &str, queues: &BTreeSet<QueueKey>) {
        for queue in queues {
            let key = (group.to_owned(), queue.clone());
            if self
                .held
                .get(&key)
                .is_some_and(|(holder, _)| holder == client_id)
            {
                self.held.remove(&key);
            }
        }
    }
}

#[derive(Default)]
pub(super) struct BrokerState {
    /// Answer every send with this code and remark.
    pub(super) send_failure: Option<(ResponseCode, String)>,
    /// Answer CHECK_CLIENT_CONFIG with this code and remark (else SUCCESS).
    pub(super) check_refusal: Option<(ResponseCode, String)>,
    /// (topic, queue id) → stored messages, index = queue offset.
    pub(super) queues: HashMap<(String, i32), Vec<Vec<u8>>>,
    /// (topic, queue id) → first offset still stored (default 0).
    pub(super) min_offsets: HashMap<(String, i32), i64>,
    /// (group, topic, queue id) → committed offset.
    pub(super) offsets: HashMap<(String, String, i32), i64>,
    /// UPDATE_CONSUMER_OFFSET requests in arrival order.
    pub(super) offset_updates: Vec<(String, i32, i64)>,
    /// group → (client id, connection), in join order.
    pub(super) members: BTreeMap<String, Vec<(String, ConnectionInfo)>>,
    pub(super) requests: Vec<RemotingCommand>,
    /// Queue locks, by the broker's rules.
    pub(super) locks: FakeLocks,
    next_physical: u64,
}

pub(super) struct FakeBroker {
    pub(super) state: Mutex<BrokerState>,
    store_host: Mutex<SocketAddr>,
}

impl Default for FakeBroker {
    fn default() -> Self {
        FakeBroker {
            state: Mutex::default(),
            store_host: Mutex::new(SocketAddr::from(([127, 0, 0, 1], 10911))),
        }
    }
}

impl FakeBroker {
    pub(super) fn state(&self) -> MutexGuard<'_, BrokerState> {
        lock(&self.state)
    }

    pub(super) fn codes(&self) -> Vec<RequestCode> {
        self.state()
            .requests
            .iter()
            .map(|r| r.request_code())
            .collect()
    }

    /// How many send requests arrived (of any send code).
    pub(super) fn sends(&self) -> usize {
        self.codes()
            .iter()
            .filter(|c| {
                matches!(
                    c,
                    RequestCode::SendMessage
                        | RequestCode::SendMessageV2
                        | RequestCode::SendBatchMessage
                )
            })
            .count()
    }

    /// The first request that is not a heartbeat (the producer's heartbeat task may come first).
    pub(super) fn first_send(&self) -> RemotingCommand {
        self.state()
            .requests
            .iter()
            .find(|r| r.request_code() != RequestCode::HeartBeat)
            .cloned()
            .expect("a send arrived")
    }

    /// Appends a message with `tags` to (topic, queue id); returns its queue offset.
    pub(super) fn append(&self, topic: &str, queue_id: i32, body: &[u8], props: &str) -> i64 {
        let mut state = self.state();
        let phys = state.next_physical;
        let offset = state
            .queues
            .get(&(topic.to_owned(), queue_id))
            .map_or(0, |q| q.len() as u64);
        let msg = MessageToStore {
            queue_offset: offset,
            physical_offset: phys,
            store_host: *lock(&self.store_host),
            store_timestamp: 1_700_000_000_000 + offset as i64,
            properties: parse_properties(props.as_bytes()),
            ..MessageToStore::new(topic, queue_id, body.to_vec())
        };
        let bytes = encode_message(&msg).expect("encodable");
        state.next_physical += bytes.len() as u64;
        state
            .queues
            .entry((topic.into(), queue_id))
            .or_default()
            .push(bytes);
        offset as i64
    }

    fn send(&self, req: &RemotingCommand) -> RemotingCommand {
        if let Some((code, remark)) = self.state().send_failure.clone() {
            return req.error_response(code, remark);
        }
        let header = SendMessageRequestHeader::from_command(req).expect("send header");
        let items: Vec<(Vec<u8>, String)> = if req.request_code() == RequestCode::SendBatchMessage {
            parse_batch(&req.body)
                .expect("batch body")
                .into_iter()
                .map(|item| (item.body, props_text(&item.properties)))
                .collect()
        } else {
            vec![(
                req.body.to_vec(),
                header.properties.clone().unwrap_or_default(),
            )]
        };
        let mut ids = Vec::new();
        let mut first = None;
        for (body, props) in items {
            let phys = self.state().next_physical;
            let offset = self.append(&header.topic, header.queue_id, &body, &props);
            first.get_or_insert(offset);
            ids.push(offset_msg_id(*lock(&self.store_host), phys));
        }
        req.success_response()
            .with_header(&SendMessageResponseHeader {
                msg_id: ids.join(","),
                queue_id: header.queue_id,
                queue_offset: first.unwrap_or(0),
                transaction_id: None,
                msg_region: Some("DefaultRegion".into()),
                trace_on: Some(true),
                raft_term: None,
            })
    }

    async fn pull(&self, req: &RemotingCommand) -> RemotingCommand {
        let h: PullMessageRequestHeader = req.header().expect("pull header");
        let key = (h.topic.clone(), h.queue_id);
        let (code, next, min, max, body) = {
            let state = self.state();
            let queue = state.queues.get(&key).cloned().unwrap_or_default();
            let min = state.min_offsets.get(&key).copied().unwrap_or(0);
            let max = queue.len() as i64;
            let at = h.queue_offset;
            if max == 0 {
                let code = if at == 0 {
                    ResponseCode::PullNotFound
                } else {
                    ResponseCode::PullOffsetMoved
                };
                (code, 0, min, max, Vec::new())
            } else if at < min {
                (ResponseCode::PullOffsetMoved, min, min, max, Vec::new())
            } else if at > max {
                (ResponseCode::PullOffsetMoved, max, min, max, Vec::new())
            } else if at == max {
                (ResponseCode::PullNotFound, at, min, max, Vec::new())
            } else {
                let end = max.min(at + i64::from(h.max_msg_nums));
                let body = queue[at as usize..end as usize].concat();
                (ResponseCode::Success, end, min, max, body)
            }
        };
        if code == ResponseCode::PullNotFound && h.has_flag(PullMessageRequestHeader::SUSPEND) {
            let hold = Duration::from_millis(h.suspend_timeout_millis.clamp(0, 50) as u64);
            tokio::time::sleep(hold).await;
        }
        RemotingCommand::response_to(req, code, None)
            .with_header(&PullMessageResponseHeader {
                next_begin_offset: next,
                min_offset: min,
                max_offset: max,
                suggest_which_broker_id: 0,
            })
            .with_body(body)
    }

    async fn heartbeat(&self, conn: &ConnectionInfo, req: &RemotingCommand) -> RemotingCommand {
        let hb = parse_heartbeat(&req.body).expect("heartbeat body");
        let mut notify = Vec::new();
        {
            let mut state = self.state();
            for consumer in &hb.consumers {
                let members = state.members.entry(consumer.group.clone()).or_default();
                if !members.iter().any(|(id, _)| *id == hb.client_id) {
                    notify.extend(
                        members
                            .iter()
                            .map(|(_, c)| (consumer.group.clone(), c.clone())),
                    );
                    members.push((hb.client_id.clone(), conn.clone()));
                }
            }
        }
        for (group, conn) in notify {
            let header = NotifyConsumerIdsChangedRequestHeader {
                consumer_group: group,
            };
            let notice = RemotingCommand::request(
                RequestCode::NotifyConsumerIdsChanged,
                ExtFields::new(),
                Bytes::new(),
            )
            .with_header(&header);
            let _ = conn.send_oneway(notice).await;
        }
        req.success_response()
    }

    fn other(&self, req: &RemotingCommand) -> RemotingCommand {
        let field = |k: &str| req.ext_fields.get(k).cloned().unwrap_or_default();
        let queue_id = || field("queueId").parse::<i32>().unwrap_or(-1);
        let mut state = self.state();
        match req.request_code() {
            RequestCode::QueryConsumerOffset => {
                let key = (field("consumerGroup"), field("topic"), queue_id());
                match state.offsets.get(&key) {
                    Some(&offset) => req
                        .success_response()
                        .with_header(&QueryConsumerOffsetResponseHeader { offset }),
                    None => req.error_response(ResponseCode::QueryNotFound, "Not found"),
                }
            }
            RequestCode::UpdateConsumerOffset => {
                let h: UpdateConsumerOffsetRequestHeader = req.header().expect("update header");
                state
                    .offset_updates
                    .push((h.topic.clone(), h.queue_id, h.commit_offset));
                state
                    .offsets
                    .insert((h.consumer_group, h.topic, h.queue_id), h.commit_offset);
                req.success_response()
            }
            RequestCode::GetMaxOffset | RequestCode::GetMinOffset => {
                let key = (field("topic"), queue_id());
                let offset = if req.request_code() == RequestCode::GetMaxOffset {
                    state.queues.get(&key).map_or(0, |q| q.len() as i64)
                } else {
                    state.min_offsets.get(&key).copied().unwrap_or(0)
                };
                req.success_response()
                    .with_header(&GetMaxOffsetResponseHeader { offset })
            }
            RequestCode::SearchOffsetByTimestamp => {
                let ts: i64 = field("timestamp").parse().unwrap_or(0);
                // Store times are 1_700_000_000_000 + offset.
                let offset = (ts - 1_700_000_000_000).max(0);
                req.success_response()
                    .with_header(&SearchOffsetResponseHeader { offset })
            }
            RequestCode::GetConsumerListByGroup => {
                let ids: Vec<String> = state
                    .members
                    .get(&field("consumerGroup"))
                    .map(|m| m.iter().map(|(id, _)| id.clone()).collect())
                    .unwrap_or_default();
                if ids.is_empty() {
                    return req
                        .error_response(ResponseCode::SystemError, "no consumer for this group");
                }
                let body = serde_json::json!({ "consumerIdList": ids });
                req.success_response().with_body(body.to_string())
            }
            RequestCode::UnregisterClient => {
                let (id, group) = (field("clientID"), field("consumerGroup"));
                if let Some(members) = state.members.get_mut(&group) {
                    members.retain(|(member, _)| *member != id);
                }
                req.success_response()
            }
            RequestCode::UpdateAndCreateTopic | RequestCode::DeleteTopicInBroker => {
                req.success_response()
            }
            RequestCode::CheckClientConfig => {
                parse_check_client(&req.body).expect("CHECK_CLIENT_CONFIG body");
                match &state.check_refusal {
                    Some((code, remark)) => req.error_response(*code, remark.clone()),
                    None => req.success_response(),
                }
            }
            RequestCode::LockBatchMq | RequestCode::UnlockBatchMq => {
                let body = parse_lock_request(&req.body).expect("lock body");
                if req.request_code() == RequestCode::UnlockBatchMq {
                    state
                        .locks
                        .unlock(&body.group, &body.client_id, &body.queues);
                    return req.success_response();
                }
                let now = Instant::now();
                let granted = state
                    .locks
                    .lock(&body.group, &body.client_id, &body.queues, now);
                req.success_response()
                    .with_body(lock_response_body(&granted))
            }
            _ => req.error_response(ResponseCode::RequestCodeNotSupported, "not faked"),
        }
    }
}

/// Properties back to their wire text.
fn props_text(props: &crate::message::Properties) -> String {
    props
        .iter()
        .map(|(k, v)| format!("{k}\u{1}{v}"))
        .collect::<Vec<_>>()
        .join("\u{2}")
}

impl Handler for FakeBroker {
    async fn handle(&self, conn: &ConnectionInfo, req: RemotingCommand) -> Option<RemotingCommand> {
        self.state().requests.push(req.clone());
        let resp = match req.request_code() {
            RequestCode::SendMessage
            | RequestCode::SendMessageV2
            | RequestCode::SendBatchMessage => self.send(&req),
            RequestCode::PullMessage => self.pull(&req).await,
            RequestCode::HeartBeat => self.heartbeat(conn, &req).await,
            _ => self.other(&req),
        };
        Some(resp)
    }
}

/// A topic config for admin tests.
pub(super) fn topic_config(name: &str, queues: i32) -> TopicConfig {
    TopicConfig {
        topic_name: name.into(),
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm: 6,
        ..TopicConfig::default()
    }
}
