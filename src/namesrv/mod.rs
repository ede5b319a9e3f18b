//! The nameserver's core: the route table brokers register with and clients ask for routes, and
//! the JSON bodies they exchange (remoting.md §3, §7).
//!
//! Pure and deterministic: no sockets, no tasks, no clock reads. Callers pass the time in (in
//! milliseconds) and own the single [`RouteTable`] (behind a mutex or inside one task). The
//! remoting server (`remoting`) decodes request headers and bodies, calls the table, and encodes
//! what it returns; the admin tool and the client reuse [`bodies`].
//!
//! | file | owns |
//! | --- | --- |
//! | [`bodies`] | serde types with Java's member names |
//! | [`json`] | standard JSON out, fastjson's bare integer keys accepted in |
//! | [`route_table`] | registration, master changes, routes, topic commands, liveness |
//! | [`kv`] | KV config by namespace |

pub mod bodies;
pub mod json;
pub mod kv;
pub mod route_table;
#[cfg(test)]
mod tests;

pub use bodies::{
    BrokerData, ClusterInfo, DataVersion, KvTable, QueueData, RegisterBrokerBody,
    RegisterBrokerResult, TopicConfig, TopicConfigSerializeWrapper, TopicList, TopicRouteData,
};
pub use json::{BodyError, JsonBody};
pub use kv::KvConfig;
pub use route_table::{
    BROKER_EXPIRY_MS, ConnectionId, DataVersionAnswer, MASTER_ID, RegisterRequest, RouteTable,
    UnitTopics,
};
