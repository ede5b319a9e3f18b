//! Tests of the raft layer: openraft's storage conformance suite on the commitlog, and
//! in-process groups of real nodes over loopback TCP.

mod checkpoint;
pub(super) mod cluster;
mod conformance;
mod failover;
mod full_disk;
mod powercut;
mod replication;
mod retention;
