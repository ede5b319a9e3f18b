//! Integration tests that use the crate from the outside, as the binaries and operators do.
//!
//! Later issues add the process-level harness (`cluster.rs`: real binaries on loopback, killed for
//! real). Until the binaries exist, this target holds the store-level scenarios that cross module
//! boundaries: a store written, "crashed" and reopened through the public API only.

#![allow(clippy::unwrap_used, reason = "test helpers are not #[test] functions")]

mod cluster;
mod t20_store_restart;
mod t30_broker;
mod t50_failover;
