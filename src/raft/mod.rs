//! Raft over the commitlog: openraft groups that elect, replicate and commit.
//!
//! No openraft type leaves this module. The broker sees proposals, results, and leadership.

mod log_store;
mod network;
mod node;
mod resource_wait;
mod state_machine;
pub mod tables;
#[cfg(test)]
mod tests;
mod types;
mod upgrade;

pub use node::{Leadership, ProposeError, RaftNode, RaftNodeError, RaftOptions, RaftStatus, Role};
pub use types::{Applied, AppliedMessage, PeerNode, Proposal, ProposalKind};
