//! The broker: what a RocketMQ broker does for clients, on top of the raft layer.
//!
//! Today it holds the pieces that need no wire types: name rules (`names`), the send path
//! (`send`: stored messages and batches built and validated) and the pull path
//! (`pull`: tag filters, reading a consume queue, the statuses and offsets of remoting.md
//! §5.4). The request handlers, registration with the nameservers and long polling join them
//! when the remoting layer lands.

pub mod clients;
pub mod consumer_offsets;
pub mod heartbeat;
pub mod names;
pub mod offsets;
pub mod pull;
pub mod send;
pub mod topics;
