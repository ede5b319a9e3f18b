//! Integration tests that use the crate from the outside, as the binaries and operators do.
//!
//! `procs.rs` spawns real binaries (logs in a temp dir, bounded waits, killed on drop); t10 runs
//! the real `mqnamesrv`. Later issues add the cluster harness on top of it (`cluster.rs`). The
//! store-level scenarios cross module boundaries through the public API only: a store written,
//! "crashed" and reopened.

#![allow(clippy::unwrap_used, reason = "test helpers are not #[test] functions")]

mod procs;
mod t10_namesrv;
mod t20_store_restart;
