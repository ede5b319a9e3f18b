//! The nameserver's core: the route table brokers register with and clients ask for routes, and
//! the JSON bodies they exchange (remoting.md §3, §7).
//!
//! Pure: no sockets, no tasks, no clock reads. The remoting server (`remoting`) decodes request
//! headers and bodies and encodes answers; the admin tool and the client reuse [`bodies`].
//!
//! | file | owns |
//! | --- | --- |
//! | [`bodies`] | serde types with Java's member names |
//! | [`json`] | standard JSON out, fastjson's bare integer keys accepted in |

pub mod bodies;
pub mod json;
#[cfg(test)]
mod tests;

pub use bodies::{
    BrokerData, ClusterInfo, DataVersion, KvTable, QueueData, RegisterBrokerBody,
    RegisterBrokerResult, TopicConfig, TopicConfigSerializeWrapper, TopicList, TopicRouteData,
};
pub use json::{BodyError, JsonBody};
