//! Send headers (remoting.md §4.1, §4.3, §4.4).
//!
//! `SEND_MESSAGE` (10) and `SEND_REPLY_MESSAGE` (324) carry [`SendMessageRequestHeader`] under
//! Java's long keys; `SEND_MESSAGE_V2` (310), `SEND_BATCH_MESSAGE` (320) and
//! `SEND_REPLY_MESSAGE_V2` (325) carry the same fields under one-letter keys `a`..`n`
//! ([`SendMessageRequestHeaderV2`]). [`SendMessageRequestHeader::from_command`] picks by code, as
//! Java does. Errors from the V2 form name the short key and the long one (`"e (queueId)"`).

use super::{CommandHeader, HeaderError};
use crate::remoting::code::RequestCode;
use crate::remoting::command::{ExtFields, RemotingCommand};

command_header! {
    /// The send request, V1 keys.
    pub struct SendMessageRequestHeader {
        producer_group: String => "producerGroup",
        topic: String => "topic",
        /// Topic to inherit from when auto-creating (normally `TBW102`).
        default_topic: String => "defaultTopic",
        default_topic_queue_nums: i32 => "defaultTopicQueueNums",
        /// Negative: the broker picks a queue.
        queue_id: i32 => "queueId",
        sys_flag: i32 => "sysFlag",
        born_timestamp: i64 => "bornTimestamp",
        flag: i32 => "flag",
        properties: Option<String> => "properties",
        reconsume_times: Option<i32> => "reconsumeTimes",
        unit_mode: Option<bool> => "unitMode",
        max_reconsume_times: Option<i32> => "maxReconsumeTimes",
        batch: Option<bool> => "batch",
        /// (4.9.x+) the broker name the client targeted.
        bname: Option<String> => "bname",
    }
}

/// V1 key, V2 key, and how errors name the field in V2 form.
const V2_KEYS: [(&str, &str, &str); 14] = [
    ("producerGroup", "a", "a (producerGroup)"),
    ("topic", "b", "b (topic)"),
    ("defaultTopic", "c", "c (defaultTopic)"),
    ("defaultTopicQueueNums", "d", "d (defaultTopicQueueNums)"),
    ("queueId", "e", "e (queueId)"),
    ("sysFlag", "f", "f (sysFlag)"),
    ("bornTimestamp", "g", "g (bornTimestamp)"),
    ("flag", "h", "h (flag)"),
    ("properties", "i", "i (properties)"),
    ("reconsumeTimes", "j", "j (reconsumeTimes)"),
    ("unitMode", "k", "k (unitMode)"),
    ("maxReconsumeTimes", "l", "l (maxReconsumeTimes)"),
    ("batch", "m", "m (batch)"),
    ("bname", "n", "n (bname)"),
];

/// The send request in its V2 form: the same fields under keys `a`..`n`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SendMessageRequestHeaderV2(pub SendMessageRequestHeader);

impl CommandHeader for SendMessageRequestHeaderV2 {
    fn from_fields(fields: &ExtFields) -> Result<Self, HeaderError> {
        let long: ExtFields = V2_KEYS
            .iter()
            .filter_map(|(long, short, _)| {
                fields.get(*short).map(|v| ((*long).to_owned(), v.clone()))
            })
            .collect();
        SendMessageRequestHeader::from_fields(&long)
            .map(SendMessageRequestHeaderV2)
            .map_err(|err| {
                let label = V2_KEYS
                    .iter()
                    .find(|(long, _, _)| *long == err.field())
                    .map_or(err.field(), |(_, _, label)| *label);
                err.with_field(label)
            })
    }

    fn to_fields(&self) -> ExtFields {
        let mut long = self.0.to_fields();
        V2_KEYS
            .iter()
            .filter_map(|(long_key, short, _)| {
                long.remove(*long_key).map(|v| ((*short).to_owned(), v))
            })
            .collect()
    }
}

impl From<SendMessageRequestHeader> for SendMessageRequestHeaderV2 {
    fn from(v1: SendMessageRequestHeader) -> Self {
        SendMessageRequestHeaderV2(v1)
    }
}

impl From<SendMessageRequestHeaderV2> for SendMessageRequestHeader {
    fn from(v2: SendMessageRequestHeaderV2) -> Self {
        v2.0
    }
}

impl SendMessageRequestHeader {
    /// Parses a send request's header in the form its code implies: V2 keys for 310, 320 and
    /// 325, V1 keys otherwise.
    pub fn from_command(cmd: &RemotingCommand) -> Result<Self, HeaderError> {
        match cmd.request_code() {
            RequestCode::SendMessageV2
            | RequestCode::SendBatchMessage
            | RequestCode::SendReplyMessageV2 => {
                SendMessageRequestHeaderV2::from_fields(&cmd.ext_fields).map(Into::into)
            }
            _ => Self::from_fields(&cmd.ext_fields),
        }
    }
}

command_header! {
    /// The send response (§4.3). A broker also sets `msg_region` and `trace_on`: the Java
    /// client reads both extFields on every successful send.
    pub struct SendMessageResponseHeader {
        /// Offset message id (comma-joined for batches).
        msg_id: String => "msgId",
        queue_id: i32 => "queueId",
        queue_offset: i64 => "queueOffset",
        transaction_id: Option<String> => "transactionId",
        /// Broker `regionId`, default `DefaultRegion`.
        msg_region: Option<String> => "MSG_REGION",
        /// Broker `traceOn`.
        trace_on: Option<bool> => "TRACE_ON",
        /// This broker's extension: the Raft term of the entry that stored the message (the
        /// term of the leader that appended it). Clients that do not know it ignore it.
        raft_term: Option<i64> => "raftTerm",
    }
}

command_header! {
    /// `CONSUMER_SEND_MSG_BACK` (36) request (remoting.md §5.7): a consumer could not process
    /// the message stored at `offset` and hands it back for a later retry.
    pub struct ConsumerSendMsgBackRequestHeader {
        /// Commitlog (physical) offset of the message.
        offset: i64 => "offset",
        group: String => "group",
        /// 0: the broker decides; > 0: this level; < 0: straight to the dead-letter queue.
        delay_level: i32 => "delayLevel",
        origin_msg_id: Option<String> => "originMsgId",
        origin_topic: Option<String> => "originTopic",
        unit_mode: Option<bool> => "unitMode",
        max_reconsume_times: Option<i32> => "maxReconsumeTimes",
    }
}
