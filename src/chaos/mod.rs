//! The fault campaign's checker (issue 10): a recorded [`History`] of sends, reads, committed
//! offsets, route and term samples, fault markers and the final replica and node states goes
//! in; a [`Report`] with every violation and each fault's cost comes out. Pure: no processes,
//! sockets or clock. The harness that runs the workload and the nemesis records the history
//! (and may write it to a file and judge it later); this module only judges it.
//!
//! | file | owns |
//! | --- | --- |
//! | [`history`] | the events and their JSON-lines file format |
//! | [`check`] | the checks, each a list of violations and counters |
//! | [`violation`] | what a violation says: key, queue and offset, node, time |
//! | [`faults`] | per fault: time to a new master, to the first acknowledged send, unavailable time |
//! | [`report`] | the markdown summary and the verdict |

pub mod check;
pub mod faults;
pub mod history;
pub mod report;
#[cfg(test)]
mod tests;
pub mod violation;

pub use check::{Check, CheckConfig, CheckResult, run_all};
pub use faults::FaultTiming;
pub use history::{
    CommittedOffset, Consumed, Event, FaultMarker, History, HistoryError, NodeStatus, Phase,
    ProducerKind, QueueMax, ReplicaSummary, Role, RouteSample, RunInfo, SendAttempt, SendOutcome,
    TermSample,
};
pub use report::Report;
pub use violation::{Position, QueueRef, Violation};
