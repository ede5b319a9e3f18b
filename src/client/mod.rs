//! The project's own RocketMQ client: a [`Producer`], a [`PullConsumer`] and [`Admin`] calls,
//! speaking only the wire protocol (`shared/protocol/remoting.md`) through
//! [`crate::remoting::RemotingClient`]. The tools (`mqadmin`, `mqbench`) and the integration
//! tests (`raft-tests/`) use it.
//!
//! | file | owns |
//! | --- | --- |
//! | [`namesrv`] | [`NameServerClient`]: nameservers tried in turn, a route cache refreshed on failure and every 30 s |
//! | [`message`] | [`Message`], [`MessageExt`], UNIQ_KEY ids, properties strings, batch bodies, tag subscriptions |
//! | [`producer`] | [`Producer`]: queue selection, SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE, retries on another broker; [`TransactionProducer`]: half messages, END_TRANSACTION, answers to checks |
//! | [`consumer`] | [`PullConsumer`]: heartbeat, rebalance (five [`AllocateStrategy`]s), long-polling pulls, offset commits, broadcasting, orderly mode with broker queue locks |
//! | [`admin`] | [`Admin`]: topics, offsets, consumer lists, cluster info |
//! | [`reply`] | request-reply's messages: [`create_reply_message`], the request's properties, pushed replies |
//! | [`trace`] | message-trace records in Java's text format (`Pub`, `SubBefore`, `SubAfter`, `EndTransaction`) |
//! | `calls` | one typed request to a broker each (offsets, consumer list, heartbeat, unregister) |
//! | `connections` | one [`RemotingClient`](crate::remoting::RemotingClient) per broker address |
//!
//! Every network wait is bounded by a timeout, and every network error names the address and
//! the request code ([`ClientError`]). This module speaks only the wire protocol
//! ([`crate::remoting`]) and the vocabulary ([`crate::message`]: the stored message layout, the
//! batch body, names, `TopicConfig`, the JSON bodies); it never uses the store, the broker, raft
//! or the nameserver, not even in its tests (`layering_tests.rs` checks).

pub mod admin;
mod calls;
mod connections;
pub mod consumer;
pub mod message;
pub mod namesrv;
pub mod producer;
pub mod reply;
pub mod trace;

#[cfg(test)]
mod tests;

use std::time::Duration;

pub use crate::message::filter::ExpressionType;
pub use crate::remoting::Credentials;
pub use admin::Admin;
pub use consumer::{
    AllocateStrategy, ConsumeFrom, ConsumerConfig, MessageModel, PullConsumer, allocate_averagely,
    restore_retry_topic,
};
pub use message::{Message, MessageExt, MessageQueue, Subscription};
pub use namesrv::{NameServerClient, NameServers};
pub use producer::{
    LocalTransactionState, Producer, ProducerConfig, SendResult, SendStatus, TransactionProducer,
    TransactionSendResult, queue_for_key,
};
pub use reply::create_reply_message;

use crate::remoting::{RequestCode, ResponseCode};

/// Default timeout of one request to a nameserver or broker (Java's 3 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a client call failed. Network errors name the address and the request code; broker
/// answers carry the response code and the broker's remark.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request got no response from `addr` (connect failed, timed out, connection closed).
    #[error("{code} to {addr} failed: {source}")]
    Network {
        addr: String,
        code: RequestCode,
        #[source]
        source: crate::remoting::ClientError,
    },
    /// No nameserver of the list answered.
    #[error("no nameserver of [{addrs}] answered {code}; last error: {last}")]
    NameServerUnreachable {
        addrs: String,
        code: RequestCode,
        last: String,
    },
    /// The nameserver has no route for the topic (TOPIC_NOT_EXIST): create it first.
    #[error("topic {topic:?} does not exist: the nameserver has no route for it ({remark})")]
    TopicNotExist { topic: String, remark: String },
    /// The peer answered with a failure code.
    #[error("{request} to {addr} answered {response}: {remark}")]
    Broker {
        addr: String,
        request: RequestCode,
        response: ResponseCode,
        remark: String,
    },
    /// The peer answered, but the header or body is not what the protocol says.
    #[error("{request} to {addr}: bad response: {reason}")]
    BadResponse {
        addr: String,
        request: RequestCode,
        reason: String,
    },
    /// The route has no queue the call can use.
    #[error("topic {topic:?}: {reason}")]
    NoQueue { topic: String, reason: String },
    /// The message cannot be sent as it is.
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    /// The configuration cannot work.
    #[error("invalid client config: {0}")]
    InvalidConfig(String),
    /// The client was not started, or was shut down.
    #[error("client is not running: {0}")]
    NotRunning(&'static str),
    /// A request was sent (or still being sent) but no reply came within its timeout
    /// ([`Producer::request`]).
    #[error("send request message to <{topic}> OK, but wait reply message timeout, {} ms.", timeout.as_millis())]
    RequestTimeout {
        topic: String,
        timeout: std::time::Duration,
    },
    /// Every attempt of a send failed; `last` is the last attempt's error.
    #[error("send to topic {topic:?} failed after {attempts} attempts: {last}")]
    RetriesExhausted {
        topic: String,
        attempts: u32,
        #[source]
        last: Box<ClientError>,
    },
}

impl ClientError {
    /// The response code, if a peer answered with one.
    pub fn response_code(&self) -> Option<ResponseCode> {
        match self {
            ClientError::Broker { response, .. } => Some(*response),
            ClientError::RetriesExhausted { last, .. } => last.response_code(),
            _ => None,
        }
    }

    /// Whether a send that failed this way is worth another attempt on another queue: no
    /// answer at all, or one of the codes Java's producer retries (remoting.md §2.1) plus
    /// SYSTEM_BUSY, which rocketmq-client-rust also retries.
    pub fn is_retriable_send(&self) -> bool {
        match self {
            ClientError::Network { .. } => true,
            ClientError::Broker { response, .. } => matches!(
                response,
                ResponseCode::TopicNotExist
                    | ResponseCode::ServiceNotAvailable
                    | ResponseCode::SystemError
                    | ResponseCode::SystemBusy
                    | ResponseCode::NoPermission
                    | ResponseCode::NoBuyerId
                    | ResponseCode::NotInCurrentUnit
            ),
            _ => false,
        }
    }
}

/// A [`ClientError::Broker`] for a response with a failure code.
pub(crate) fn broker_error(
    addr: &str,
    request: RequestCode,
    response: &crate::remoting::RemotingCommand,
) -> ClientError {
    ClientError::Broker {
        addr: addr.to_owned(),
        request,
        response: response.response_code(),
        remark: response.remark.clone().unwrap_or_default(),
    }
}

/// A [`ClientError::BadResponse`].
pub(crate) fn bad_response(addr: &str, request: RequestCode, reason: impl ToString) -> ClientError {
    ClientError::BadResponse {
        addr: addr.to_owned(),
        request,
        reason: reason.to_string(),
    }
}

/// A client id for heartbeats: `<ip>@<instance>`, the instance defaulting to
/// `<pid>#<n>` with `n` counting the clients of this process, so that two consumers of one
/// process (tests) are two members of their group.
pub(crate) fn new_client_id(instance_name: Option<&str>) -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let ip = message::local_ipv4();
    match instance_name {
        Some(name) => format!("{ip}@{name}"),
        None => {
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            format!("{ip}@{}#{n}", std::process::id())
        }
    }
}
