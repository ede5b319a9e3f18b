//! The fault campaign's checker (issue 10): a recorded [`History`] of sends, reads, committed
//! offsets, route and term samples, fault markers and the final replica and node states goes
//! in; every violation of each check comes out. Pure: no processes,
//! sockets or clock. The harness that runs the workload and the nemesis records the history
//! (and may write it to a file and judge it later); this module only judges it.
//!
//! | file | owns |
//! | --- | --- |
//! | [`history`] | the events and their JSON-lines file format |
//! | [`check`] | the checks, each a list of violations and counters |
//! | [`violation`] | what a violation says: key, queue and offset, node, time |

pub mod check;
pub mod history;
#[cfg(test)]
mod tests;
pub mod violation;

pub use check::{Check, CheckConfig, CheckResult, run_all};
pub use history::{
    CommittedOffset, Consumed, Event, FaultMarker, History, HistoryError, NodeStatus, Phase,
    ProducerKind, QueueMax, ReplicaSummary, Role, RouteSample, RunInfo, SendAttempt, SendOutcome,
    TermSample,
};
pub use violation::{Position, QueueRef, Violation};
