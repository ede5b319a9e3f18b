//! The nameserver: the route table brokers register with and clients ask for routes, and the
//! request handler that serves them (remoting.md §3). The JSON bodies they exchange (§7) are the
//! vocabulary's, in [`crate::message::body`].
//!
//! The core is pure and deterministic: no sockets, no tasks, no clock reads. Callers pass the
//! time in (in milliseconds) and own the single [`RouteTable`]. [`server`] is that caller: it
//! keeps the table behind a mutex, decodes `remoting` request headers and bodies, calls the
//! table, encodes what it returns, and runs the expiry loop.
//!
//! | file | owns |
//! | --- | --- |
//! | [`route_table`] | registration, master changes, routes, topic commands, liveness |
//! | [`kv`] | KV config by namespace |
//! | [`server`] | the request handler (a `match` on the code), the expiry loop, `serve_namesrv` |

pub mod kv;
pub mod route_table;
pub mod server;
#[cfg(test)]
mod tests;

pub use kv::KvConfig;
pub use route_table::{
    BROKER_EXPIRY_MS, ConnectionId, DataVersionAnswer, MASTER_ID, RegisterRequest, RouteTable,
    UnitTopics,
};
pub use server::{NamesrvError, NamesrvHandler, run_expiry, serve_namesrv};
