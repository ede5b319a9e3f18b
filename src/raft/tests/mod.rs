//! Tests of the raft layer: openraft's storage conformance suite on the commitlog, and
//! in-process groups of real nodes over loopback TCP.

mod checkpoint;
mod cluster;
mod conformance;
mod failover;
mod powercut;
mod replication;
mod retention;
