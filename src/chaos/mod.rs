//! The fault campaign (issue 10). The checker: a recorded [`History`] of sends, reads,
//! committed offsets, route and term samples, fault markers and the final replica and node
//! states goes in; a [`Report`] with every violation and each fault's cost comes out. The
//! checker's files are pure: no processes, sockets or clock. [`harness`] is the other half:
//! it runs the servers, the workload and the nemesis and records the history.
//!
//! | file | owns |
//! | --- | --- |
//! | [`history`] | the events and their JSON-lines file format |
//! | [`check`] | the checks, each a list of violations and counters |
//! | [`violation`] | what a violation says: key, queue and offset, node, time |
//! | [`faults`] | per fault: time to a new master, to the first acknowledged send, unavailable time |
//! | [`report`] | the markdown summary and the verdict |
//! | [`harness`] | the run: network namespaces, processes, workload, nemesis, final read |

pub mod check;
pub mod faults;
pub mod harness;
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
