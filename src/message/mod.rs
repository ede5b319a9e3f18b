//! RocketMQ's message vocabulary, in one place: what a message is on disk and on the wire.
//!
//! Every layer that speaks of messages uses this module: the store keeps and indexes stored
//! messages, the raft layer applies them, the broker builds them from sends, the client decodes
//! them from pulls, the tools print them. It owns formats and names only: it never touches a
//! file, a socket or a lock, and uses no other module of the crate.
//!
//! | module | owns |
//! | --- | --- |
//! | [`batch`] | the SEND_BATCH_MESSAGE body: [`encode_batch_item`](batch::encode_batch_item) (client), [`parse_batch`](batch::parse_batch) (broker) |
//! | [`body`] | the JSON bodies of the remoting protocol ([`JsonBody`](body::JsonBody): strict JSON out, fastjson's dialect in) and the nameserver's bodies (routes, registration, cluster info, KV tables) |
//! | [`filter`] | subscription expression types and the SQL92 property filter language: [`Sql92`](filter::Sql92) compiles an expression (errors with line and column) and evaluates it over a message's properties |
//! | [`names`] | topic and group name rules with Java's remarks; system names and prefixes (`TBW102`, `%RETRY%`, `%DLQ%`) |
//! | [`perm`] | permission bits (`PermName`): read, write, inherit; one definition, `i32` as in Java and JSON |
//! | [`topic`] | [`TopicConfig`], the one topic configuration type (JSON form of the wire), `topicSysFlag` bits |
//! | [`transaction`] | transactional messages: the half / op / check-max topics, SYSFLAG transaction types, END_TRANSACTION outcomes, the op record that settles a half message |
//! | [`stored`] | the stored message layout (remoting.md §8): decode, encode, walk a batch, stamp offsets, tag hash; its children: the [`property`] names, the properties string, offset msgIds |

pub mod batch;
pub mod body;
pub mod filter;
pub mod names;
pub mod perm;
pub mod stored;
pub mod topic;
pub mod transaction;

pub use perm::{PERM_INHERIT, PERM_READ, PERM_WRITE};

pub use stored::{
    MAGIC_V1, MAGIC_V2, MAX_PROPERTIES_LEN, MAX_TOPIC_LEN, MessageError, MessageToStore,
    PHYSICAL_OFFSET_POS, Properties, QUEUE_OFFSET_POS, SYSFLAG_BORNHOST_V6, SYSFLAG_STOREHOST_V6,
    ScheduleSource, StoredMessage, WalkMessages, body_crc, decode_message, encode_message,
    encode_message_into, message_keys, offset_msg_id, parse_offset_msg_id, parse_properties,
    property, stamp_u64, tags_code, walk_messages,
};
pub use topic::{TOPIC_SYS_FLAG_UNIT, TOPIC_SYS_FLAG_UNIT_SUB, TopicConfig, TopicFilterType};
