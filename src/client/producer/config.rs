//! The producer's plain data: [`ProducerConfig`] with its defaults, [`SendResult`], and how a
//! route becomes the list of queues to send to ([`publish_targets`], remoting.md §3.5) or the
//! queue of a sharding key ([`queue_for_key`], `orderly_target`).

use std::time::Duration;

use crate::client::{ClientError, MessageQueue, NameServers};
use crate::message::PERM_WRITE;
use crate::message::body::TopicRouteData;
use crate::remoting::Credentials;

/// Producer settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerConfig {
    pub namesrv_addrs: NameServers,
    /// Producer group. Default `DEFAULT_PRODUCER`.
    pub group: String,
    /// Longest wait for one send attempt. Default 3 s.
    pub send_timeout: Duration,
    /// Extra attempts after a retriable failure, each on another broker when possible.
    /// Default 2.
    pub retries: u32,
    /// Queue count asked for when a broker auto-creates the topic (header `d`). Default 4.
    pub default_topic_queue_nums: i32,
    /// Largest body (or batch body), bytes. Default 4 MiB.
    pub max_message_size: usize,
    /// SEND_MESSAGE_V2 (one-letter header keys) rather than SEND_MESSAGE. Default true.
    pub use_v2_header: bool,
    /// How often masters of the topics sent to get a HEART_BEAT. Default 30 s.
    pub heartbeat_interval: Duration,
    /// The instance part of the client id; default `<pid>#<n>`.
    pub instance_name: Option<String>,
    /// Java's `enableMsgTrace` with its trace topic: after each successful send, a `Pub` trace
    /// record is written to this topic (`RMQ_SYS_TRACE_TOPIC` on brokers with
    /// `traceTopicEnable`), in the background. Default `None`: no tracing.
    pub msg_trace_topic: Option<String>,
    /// Keys for brokers with `aclEnable=true`: every request is signed with them. Default none.
    pub credentials: Option<Credentials>,
}

impl ProducerConfig {
    /// Defaults for group `group` and the nameservers `namesrv_addrs`.
    pub fn new(namesrv_addrs: impl Into<NameServers>, group: impl Into<String>) -> Self {
        ProducerConfig {
            namesrv_addrs: namesrv_addrs.into(),
            group: group.into(),
            send_timeout: Duration::from_secs(3),
            retries: 2,
            default_topic_queue_nums: 4,
            max_message_size: 4 * 1024 * 1024,
            use_v2_header: true,
            heartbeat_interval: Duration::from_secs(30),
            instance_name: None,
            msg_trace_topic: None,
            credentials: None,
        }
    }
}

/// How a stored send went (remoting.md §4.3): every status means the broker stored it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    SendOk,
    FlushDiskTimeout,
    FlushSlaveTimeout,
    SlaveNotAvailable,
}

impl SendStatus {
    /// Java's `SendStatus` constant name (`SEND_OK`, ...), as `mqadmin sendMessage` prints it.
    pub fn java_name(self) -> &'static str {
        match self {
            SendStatus::SendOk => "SEND_OK",
            SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
            SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
        }
    }
}

/// The outcome of a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    pub status: SendStatus,
    /// The UNIQ_KEY the producer gave the message (comma-joined for a batch).
    pub msg_id: String,
    /// The broker's offset msgId (comma-joined for a batch).
    pub offset_msg_id: String,
    pub queue: MessageQueue,
    /// Queue offset of the (first) message.
    pub queue_offset: i64,
    /// Which attempt of the call was stored: 1 for the first; a later one means earlier
    /// attempts got no usable answer and may have been stored too (a possible duplicate).
    pub attempt: u32,
    /// The Raft term of the entry that stored it, when the broker says (this broker does;
    /// Apache RocketMQ's do not).
    pub raft_term: Option<u64>,
}

/// The queue for `sharding_key` among `queue_count` queues: Java's `String.hashCode`, made
/// non-negative, modulo the count. The same key always maps to the same queue while the
/// route is unchanged, which is what orderly sending needs.
pub fn queue_for_key(sharding_key: &str, queue_count: usize) -> usize {
    let hash = crate::message::tags_code(sharding_key) as i32;
    (hash.unsigned_abs() as usize) % queue_count.max(1)
}

/// A queue a message can be sent to, with its master's address.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub(super) queue: MessageQueue,
    pub(super) addr: String,
}

/// The writable queues of `route` on brokers with a master, sorted by broker name.
pub(super) fn publish_targets(topic: &str, route: &TopicRouteData) -> Vec<Target> {
    let mut queue_datas: Vec<_> = route
        .queue_datas
        .iter()
        .filter(|q| q.perm & PERM_WRITE != 0)
        .collect();
    queue_datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
    let mut targets = Vec::new();
    for qd in queue_datas {
        let master = route
            .broker_datas
            .iter()
            .find(|b| b.broker_name == qd.broker_name)
            .and_then(|b| b.master_addr());
        let Some(addr) = master else { continue };
        for queue_id in 0..qd.write_queue_nums.max(0) {
            targets.push(Target {
                queue: MessageQueue {
                    topic: topic.to_owned(),
                    broker_name: qd.broker_name.clone(),
                    queue_id,
                },
                addr: addr.to_owned(),
            });
        }
    }
    targets
}

/// The queue `sharding_key` maps to ([`queue_for_key`]) among *all* writable queues of the
/// route, sorted by broker name then queue id, with its broker's master address. Counting
/// queues whether or not their broker has a master right now keeps a key on its queue while a
/// broker group changes masters; until the new master is registered the send fails (and the
/// caller retries) rather than going to another queue and breaking the key's order.
pub(super) fn orderly_target(
    topic: &str,
    route: &TopicRouteData,
    sharding_key: &str,
) -> Result<Target, ClientError> {
    let mut queues: Vec<(MessageQueue, Option<&str>)> = Vec::new();
    let mut queue_datas: Vec<_> = route
        .queue_datas
        .iter()
        .filter(|q| q.perm & PERM_WRITE != 0)
        .collect();
    queue_datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
    for qd in queue_datas {
        let master = route
            .broker_datas
            .iter()
            .find(|b| b.broker_name == qd.broker_name)
            .and_then(|b| b.master_addr());
        for queue_id in 0..qd.write_queue_nums.max(0) {
            let queue = MessageQueue {
                topic: topic.to_owned(),
                broker_name: qd.broker_name.clone(),
                queue_id,
            };
            queues.push((queue, master));
        }
    }
    if queues.is_empty() {
        return Err(ClientError::NoQueue {
            topic: topic.to_owned(),
            reason: "no writable queue".into(),
        });
    }
    let (queue, master) = queues.swap_remove(queue_for_key(sharding_key, queues.len()));
    match master {
        Some(addr) => Ok(Target {
            queue,
            addr: addr.to_owned(),
        }),
        None => Err(ClientError::NoQueue {
            topic: topic.to_owned(),
            reason: format!("{queue} has no master right now (a failover in progress?)"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::message::PERM_READ;
    use crate::message::body::{BrokerData, QueueData};

    fn route(masters: &[(&str, Option<&str>)]) -> TopicRouteData {
        TopicRouteData {
            broker_datas: masters
                .iter()
                .map(|(name, master)| BrokerData {
                    broker_name: (*name).into(),
                    broker_addrs: master
                        .iter()
                        .map(|a| (0, (*a).to_string()))
                        .chain([(1, format!("{name}-slave:1"))])
                        .collect::<BTreeMap<u64, String>>(),
                    ..BrokerData::default()
                })
                .collect(),
            queue_datas: masters
                .iter()
                .map(|(name, _)| QueueData {
                    broker_name: (*name).into(),
                    perm: PERM_READ | PERM_WRITE,
                    read_queue_nums: 4,
                    write_queue_nums: 4,
                    ..QueueData::default()
                })
                .collect(),
            ..TopicRouteData::default()
        }
    }

    #[test]
    fn a_key_keeps_its_queue_while_another_broker_has_no_master() {
        let both = route(&[("b", Some("b:1")), ("a", Some("a:1"))]);
        let a_down = route(&[("b", Some("b:1")), ("a", None)]);
        for i in 0..50 {
            let key = format!("order-{i}");
            let target = orderly_target("T", &both, &key).unwrap();
            assert_eq!(
                target.queue,
                orderly_target("T", &both, &key).unwrap().queue,
                "stable across calls"
            );
            match orderly_target("T", &a_down, &key) {
                Ok(other) => {
                    assert_eq!(other.queue, target.queue, "{key} moved to another queue");
                    assert_eq!(other.addr, "b:1");
                }
                Err(ClientError::NoQueue { .. }) => assert_eq!(target.queue.broker_name, "a"),
                Err(err) => panic!("{err}"),
            }
        }
    }

    #[test]
    fn the_queue_is_the_java_hash_of_the_key_modulo_the_write_queues() {
        let both = route(&[("a", Some("a:1")), ("b", Some("b:1"))]);
        let target = orderly_target("T", &both, "order-42").unwrap();
        let index = queue_for_key("order-42", 8);
        let want = (if index < 4 { "a" } else { "b" }, (index % 4) as i32);
        assert_eq!(
            (target.queue.broker_name.as_str(), target.queue.queue_id),
            want
        );
    }
}
