//! Integration tests that use the crate from the outside, as the binaries and operators do.
//!
//! `procs.rs` spawns real binaries (logs in a temp dir, bounded waits, killed on drop) and
//! `cluster.rs` starts nameservers and a broker group from them on free loopback ports. t10 runs
//! the real `mqnamesrv`; t20 a store written, SIGKILLed and reopened; t30 the broker over the
//! wire; t50 failover with real processes killed for real.

#![allow(clippy::unwrap_used, reason = "test helpers are not #[test] functions")]

mod cluster;
mod procs;
mod t10_namesrv;
mod t20_store_restart;
mod t30_broker;
mod t35_client;
mod t40_compat;
mod t50_failover;
mod t55_drills;
mod t60_mqadmin;
