//! Why a handler failed, as RocketMQ clients must hear it: [`BrokerError`] says what went wrong
//! in the broker's words, and [`BrokerError::code`] is the one place that chooses the
//! response code for it. Handlers never pick a code themselves.

use crate::remoting::{RemotingCommand, ResponseCode};

use super::send::SendError;
use crate::message::names::NameError;

/// A handler's failure; the remark is what the client is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokerError {
    /// A bad request or an internal failure (Java answers most failures with SYSTEM_ERROR).
    #[error("{0}")]
    System(String),
    /// Not the leader, no leader, a stopped node, a full disk: go to another broker.
    #[error("{0}")]
    Unavailable(String),
    /// The message itself is wrong: too large, bad properties, a malformed batch.
    #[error("{0}")]
    MessageIllegal(String),
    /// The topic or the broker does not allow it (permissions, a forbidden system topic).
    #[error("{0}")]
    NoPermission(String),
    #[error("{0}")]
    TopicNotExist(String),
    #[error("{0}")]
    GroupNotExist(String),
    /// A pull's subscription is not the group's.
    #[error("{0}")]
    SubscriptionNotExist(String),
    /// A subscription expression that does not compile (CHECK_CLIENT_CONFIG, a pull carrying it).
    #[error("{0}")]
    SubscriptionParseFailed(String),
    /// The pull names a newer subscription version than the group's last heartbeat.
    #[error("{0}")]
    SubscriptionNotLatest(String),
    /// The group's SQL92 expression (from its heartbeat) does not compile.
    #[error("{0}")]
    FilterDataNotExist(String),
    #[error("{0}")]
    ConsumerNotOnline(String),
    /// Nothing stored for the query (a group's offset it never committed).
    #[error("{0}")]
    QueryNotFound(String),
    /// A request code this broker does not serve.
    #[error("{0}")]
    NotSupported(String),
}

/// What handlers return.
pub type HandlerResult = Result<RemotingCommand, BrokerError>;

impl BrokerError {
    pub fn system(remark: impl Into<String>) -> BrokerError {
        BrokerError::System(remark.into())
    }

    pub fn unavailable(remark: impl Into<String>) -> BrokerError {
        BrokerError::Unavailable(remark.into())
    }

    /// The response code RocketMQ clients expect for this failure.
    pub fn code(&self) -> ResponseCode {
        match self {
            BrokerError::System(_) => ResponseCode::SystemError,
            BrokerError::Unavailable(_) => ResponseCode::ServiceNotAvailable,
            BrokerError::MessageIllegal(_) => ResponseCode::MessageIllegal,
            BrokerError::NoPermission(_) => ResponseCode::NoPermission,
            BrokerError::TopicNotExist(_) => ResponseCode::TopicNotExist,
            BrokerError::GroupNotExist(_) => ResponseCode::SubscriptionGroupNotExist,
            BrokerError::SubscriptionNotExist(_) => ResponseCode::SubscriptionNotExist,
            BrokerError::SubscriptionParseFailed(_) => ResponseCode::SubscriptionParseFailed,
            BrokerError::SubscriptionNotLatest(_) => ResponseCode::SubscriptionNotLatest,
            BrokerError::FilterDataNotExist(_) => ResponseCode::FilterDataNotExist,
            BrokerError::ConsumerNotOnline(_) => ResponseCode::ConsumerNotOnline,
            BrokerError::QueryNotFound(_) => ResponseCode::QueryNotFound,
            BrokerError::NotSupported(_) => ResponseCode::RequestCodeNotSupported,
        }
    }

    /// What the client is told.
    pub fn remark(&self) -> &str {
        match self {
            BrokerError::System(r)
            | BrokerError::Unavailable(r)
            | BrokerError::MessageIllegal(r)
            | BrokerError::NoPermission(r)
            | BrokerError::TopicNotExist(r)
            | BrokerError::GroupNotExist(r)
            | BrokerError::SubscriptionNotExist(r)
            | BrokerError::SubscriptionParseFailed(r)
            | BrokerError::SubscriptionNotLatest(r)
            | BrokerError::FilterDataNotExist(r)
            | BrokerError::ConsumerNotOnline(r)
            | BrokerError::QueryNotFound(r)
            | BrokerError::NotSupported(r) => r,
        }
    }

    /// The error response to `req`.
    pub fn response_to(&self, req: &RemotingCommand) -> RemotingCommand {
        req.error_response(self.code(), self.remark().to_owned())
    }
}

/// A bad topic or group name: sending to a forbidden system topic is NO_PERMISSION, the rest
/// SYSTEM_ERROR, as Java answers.
impl From<NameError> for BrokerError {
    fn from(e: NameError) -> BrokerError {
        match e {
            NameError::SendForbidden(_) => BrokerError::NoPermission(e.to_string()),
            _ => BrokerError::System(e.to_string()),
        }
    }
}

impl From<SendError> for BrokerError {
    fn from(e: SendError) -> BrokerError {
        match e {
            SendError::MessageIllegal(remark) => BrokerError::MessageIllegal(remark),
        }
    }
}
