//! Property names (`shared/protocol/remoting.md` §8.4), spelled as Java's `MessageConst`.

/// Single tag; its hash is the consume-queue tags code.
pub const TAGS: &str = "TAGS";
/// Business keys, space-separated; indexed by the key index.
pub const KEYS: &str = "KEYS";
/// Client-generated unique id; indexed by the key index.
pub const UNIQ_KEY: &str = "UNIQ_KEY";
/// Producer asks to wait for the store; stripped by the broker before storing.
pub const WAIT: &str = "WAIT";
/// Delay level 1..18.
pub const DELAY: &str = "DELAY";
/// Original topic of a retried message.
pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
/// Original topic of a delayed or half message.
pub const REAL_TOPIC: &str = "REAL_TOPIC";
/// Original queue id of a delayed or half message.
pub const REAL_QID: &str = "REAL_QID";
/// "true" on transactional half messages.
pub const TRAN_MSG: &str = "TRAN_MSG";
/// Producer group of a transactional message.
pub const PGROUP: &str = "PGROUP";
/// Half-queue offset recorded on commit.
pub const TRAN_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
/// Number of transaction state checks so far.
pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
/// msgId of the first delivery of a retried message.
pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
/// Reconsume count when a client re-sends a retry message itself.
pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
/// Maximum retries when a client re-sends a retry message itself.
pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
/// Cluster name of the storing broker.
pub const CLUSTER: &str = "CLUSTER";
/// Filled in client-side from the pull response; never stored.
pub const MIN_OFFSET: &str = "MIN_OFFSET";
/// Filled in client-side from the pull response; never stored.
pub const MAX_OFFSET: &str = "MAX_OFFSET";
/// Ours, not Java's: on a delayed message the scheduler has delivered, `<level>:<offset>` of
/// the schedule-queue entry it came from. Applying the delivery advances that level's
/// replicated progress in the same log entry, so a failover neither drops nor repeats it.
pub const SCHEDULE_SOURCE: &str = "SCHEDULE_SOURCE";
/// Request-reply: the id a reply carries back to match its request (a UUID from the requester).
pub const CORRELATION_ID: &str = "CORRELATION_ID";
/// Request-reply: the requester's client id, whose connection the broker pushes the reply to.
pub const REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
/// Request-reply: the requester's timeout in ms, copied onto the reply.
pub const TTL: &str = "TTL";
/// Request-reply: `reply` on a reply message (sent with SEND_REPLY_MESSAGE).
pub const MSG_TYPE: &str = "MSG_TYPE";
/// Request-reply: when the requester received the reply (ms); set client-side, never stored.
pub const ARRIVE_TIME: &str = "ARRIVE_TIME";
/// Request-reply: when the broker pushed the reply to the requester (ms).
pub const PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";
