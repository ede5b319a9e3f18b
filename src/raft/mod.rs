//! Raft over the commitlog: openraft groups that elect, replicate and commit.
//!
//! No openraft type leaves this module. The broker sees proposals, results, and leadership.

#![allow(
    dead_code,
    reason = "the raft layer is being assembled; the node wires every piece"
)]

mod network;
mod types;

pub use types::{Applied, AppliedMessage, PeerNode, Proposal, ProposalKind};
