//! The `mqbench` tool behind `src/bin/mqbench.rs`: RocketMQ's producer and consumer benchmarks
//! over [`crate::client`], the protocol-free replication skeleton they are judged against, and
//! the table that puts the two side by side.
//!
//! | file | owns |
//! | --- | --- |
//! | [`latency`] | latency distributions (HDR histogram, µs in, ms out) |
//! | [`summary`] | what one measured run produced: messages, time, latencies |
//! | [`producer`] | `mqbench producer`: senders, RocketMQ's report and `[Complete]` lines |
//! | [`consumer`] | `mqbench consumer`: pull from the latest offsets, B2C / S2C delays |
//! | [`probe`] | `mqbench probe`: client → leader → two followers, mmap appends, loopback |
//! | [`ratios`] | skeleton and broker in the same run, broker / skeleton against the goals |
//! | [`round_trip`] | a broker request without replication, to split a send's latency |
//!
//! The probe never touches the broker's code paths beyond the store's `Segment`; the producer
//! never touches the probe. Only [`ratios`] joins them.

pub mod consumer;
pub mod latency;
pub mod probe;
pub mod producer;
pub mod ratios;
pub mod round_trip;
pub mod summary;

use crate::client::ClientError;
use crate::store::StoreError;

/// Why a benchmark stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The broker or nameserver refused or did not answer.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A socket or file of the probe failed.
    #[error("probe: {0}")]
    Io(#[from] std::io::Error),
    /// A probe node's file failed (creation, append, msync).
    #[error("probe: {0}")]
    Store(#[from] StoreError),
    /// The run cannot go on (a peer closed, no ack in time).
    #[error("{0}")]
    Failed(String),
}

/// Milliseconds since the Unix epoch (RocketMQ's `Current Time` field).
pub(crate) fn now_millis() -> u64 {
    u64::try_from(crate::common::clock::now_ms()).unwrap_or(0)
}
