//! `mqbench probe`: the protocol-free replication skeleton of `shared/reference/performance.md`
//! §2.3/§2.5, the denominator the broker's send figures are judged against.
//!
//! One process, four roles on loopback TCP (ephemeral ports): a client → a leader → two
//! followers. Each node appends into its own memory-mapped file (the store's `Segment`); the
//! leader stamps a CRC-32 per record, appends, forwards the frame to both followers, and acks the
//! client once a majority (itself + one follower) has appended. With `sync`, every append is
//! msynced before it counts (the SYNC_FLUSH shape). No terms, indexes, consume queues, RocketMQ
//! framing or nameserver: what is left is the floor of the data path on this machine.
//!
//! | file | owns |
//! | --- | --- |
//! | `wire` | frame, record and ack layouts |
//! | `quorum` | majority counting over cumulative acks |
//! | `log` | one node's append-only file on a store `Segment` |
//! | `net` | loopback listeners, bounded accept, read deadlines |
//! | `follower`, `leader` | the two node roles, each a thread |
//! | `load` | the client: window of frames in flight, latency per frame |

mod follower;
mod leader;
mod load;
mod log;
mod net;
mod quorum;
mod wire;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use self::load::Load;
use self::log::ProbeLog;
use super::BenchError;
use super::summary::Summary;

/// The shape of the load: `batch` records of `size` bytes per request, `window` requests in
/// flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub batch: usize,
    pub window: usize,
    pub size: usize,
}

impl Shape {
    /// performance.md's batched shape: 32 messages per request, 16 requests in flight.
    pub fn batched(size: usize) -> Shape {
        Shape {
            batch: 32,
            window: 16,
            size,
        }
    }

    /// One message per request, one request in flight (`producer.sh -w 1`).
    pub fn one_in_flight(size: usize) -> Shape {
        Shape {
            batch: 1,
            window: 1,
            size,
        }
    }
}

/// Where and how long the skeleton runs.
#[derive(Clone, Debug)]
pub struct ProbeOptions {
    /// Parent of the per-run directories (each removed after its run).
    pub dir: PathBuf,
    /// Bytes per segment file (one preallocated file per node at a time).
    pub segment_size: u64,
    /// msync each append before it counts (SYNC_FLUSH).
    pub sync: bool,
    /// Sent but not measured.
    pub warmup: Duration,
    /// Measured.
    pub duration: Duration,
}

/// Runs the skeleton once in the shape given and measures it; its files are removed afterwards.
pub fn run(options: &ProbeOptions, shape: Shape) -> Result<Summary, BenchError> {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let run_dir = options.dir.join(format!(
        "mqbench-probe-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    let group = Group::start(&run_dir, options.segment_size, options.sync)?;
    let load = Load {
        shape,
        warmup: options.warmup,
        measure: options.duration,
        max_requests: 0,
    };
    let summary = load::drive(group.leader_addr, &load);
    let logs = group.finish();
    let removed = std::fs::remove_dir_all(&run_dir);
    let summary = summary?;
    for log in logs? {
        log.remove()?;
    }
    removed?;
    Ok(summary)
}

/// A leader and two followers, each on its own thread, with their logs under one directory.
pub(crate) struct Group {
    pub(crate) leader_addr: std::net::SocketAddr,
    threads: Vec<JoinHandle<Result<ProbeLog, BenchError>>>,
}

impl Group {
    /// Starts the followers, then the leader (which connects to them), in `dir/{f1,f2,leader}`.
    pub(crate) fn start(dir: &Path, segment_size: u64, sync: bool) -> Result<Group, BenchError> {
        let mut threads = Vec::new();
        let mut follower_addrs = Vec::new();
        for name in ["f1", "f2"] {
            let node_dir = dir.join(name);
            std::fs::create_dir_all(&node_dir)?;
            let follower = follower::spawn(&node_dir, segment_size, sync)?;
            follower_addrs.push(follower.addr);
            threads.push(follower.thread);
        }
        let leader_dir = dir.join("leader");
        std::fs::create_dir_all(&leader_dir)?;
        let leader = leader::spawn(&leader_dir, segment_size, sync, &follower_addrs)?;
        threads.insert(0, leader.thread);
        Ok(Group {
            leader_addr: leader.addr,
            threads,
        })
    }

    /// Waits for every node to finish (the client closing ends them all) and returns their logs,
    /// leader first.
    pub(crate) fn finish(self) -> Result<Vec<ProbeLog>, BenchError> {
        let mut logs = Vec::new();
        let mut first_error = None;
        for thread in self.threads {
            match thread.join() {
                Ok(Ok(log)) => logs.push(log),
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(_) => {
                    first_error.get_or_insert(BenchError::Failed("a probe node panicked".into()));
                }
            }
        }
        match first_error {
            None => Ok(logs),
            Some(e) => Err(e),
        }
    }
}
