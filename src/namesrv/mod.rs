//! The nameserver: the route table brokers register with and clients ask for routes, the JSON
//! bodies they exchange (remoting.md §3, §7), and the request handler that serves them.
//!
//! The core is pure and deterministic: no sockets, no tasks, no clock reads. Callers pass the
//! time in (in milliseconds) and own the single [`RouteTable`]. [`server`] is that caller: it
//! keeps the table behind a mutex, decodes `remoting` request headers and bodies, calls the
//! table, encodes what it returns, and runs the expiry loop; the admin tool and the client
//! reuse [`bodies`].
//!
//! | file | owns |
//! | --- | --- |
//! | [`bodies`] | serde types with Java's member names |
//! | [`json`] | standard JSON out, fastjson's bare integer keys accepted in |
//! | [`route_table`] | registration, master changes, routes, topic commands, liveness |
//! | [`kv`] | KV config by namespace |
//! | [`server`] | the request handler (a `match` on the code), the expiry loop, `serve_namesrv` |

pub mod bodies;
pub mod json;
pub mod kv;
pub mod route_table;
pub mod server;
#[cfg(test)]
mod tests;

pub use bodies::{
    BrokerData, ClusterInfo, DataVersion, KvTable, QueueData, RegisterBrokerBody,
    RegisterBrokerResult, TopicConfigSerializeWrapper, TopicList, TopicRouteData,
};
pub use json::{BodyError, JsonBody};
pub use kv::KvConfig;
pub use route_table::{
    BROKER_EXPIRY_MS, ConnectionId, DataVersionAnswer, MASTER_ID, RegisterRequest, RouteTable,
    UnitTopics,
};
pub use server::{NamesrvError, NamesrvHandler, run_expiry, serve_namesrv};
