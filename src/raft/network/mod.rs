//! The raft peer network: TCP between the nodes a broker group lists in `dLegerPeers`.
//!
//! openraft sends through [`PeerNetwork`]/[`PeerClient`] (the `client` module); the peer's
//! `serve` task hands each request to its `Raft` and writes the reply back. Both speak
//! length-prefixed frames (`frame`) whose payloads are bincode of openraft's serde types
//! (`rpc`); every connection opens with a handshake naming group and target node, so a node
//! only ever talks to the peer it meant; with `dLegerPeerSecret` both ends then prove they hold
//! the group's secret (`auth`). `faults` lets in-process test clusters drop links.
//! This module never touches storage; it only moves openraft messages.
//!
//! Not here (yet): pipelined `stream_append` (openraft's default sends one append at a time and
//! waits), TLS, and connection multiplexing.

mod auth;
mod client;
mod faults;
mod frame;
mod rpc;
mod server;

pub(crate) use auth::PeerSecret;
pub(crate) use client::PeerNetwork;
#[cfg(test)]
pub(crate) use client::{Channel, PeerClient};
pub(crate) use faults::NetworkFaults;
#[cfg(test)]
pub(crate) use rpc::RaftRpc;
#[cfg(test)]
pub(crate) use server::serve_rpc;
pub(crate) use server::{PeerIds, serve};

#[cfg(test)]
mod tests;
