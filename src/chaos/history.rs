//! The recorded history of a fault campaign: what the workload, the nemesis and the final
//! inspection saw, as plain data, and its text file format. It owns no clock and does no I/O
//! besides reading and writing that file; the harness records, [`check`](super::check) judges.
//!
//! # File format: JSON lines
//!
//! One event per line, a JSON object whose `event` member names its kind; the other members are
//! the fields of the matching struct below, in snake case. Times are integer milliseconds from
//! one epoch chosen by the recorder (the harness uses the run's start). For example:
//!
//! ```text
//! # campaign 2026-12-08, seed 42
//! {"event":"run","seed":42}
//! {"event":"send","client":"p1","producer":"ours","key":"p1-7","topic":"T","start_ms":10,"end_ms":14,"outcome":{"status":"ok","broker_group":"g1","queue_id":2,"queue_offset":3}}
//! {"event":"send","client":"p2","producer":"ali-ons","key":"p2-1","topic":"T","sharding_key":"order-9","start_ms":11,"end_ms":3011,"outcome":{"status":"unknown","reason":"timeout"}}
//! {"event":"consumed","consumer_group":"C","client":"c1","topic":"T","broker_group":"g1","queue_id":2,"queue_offset":3,"key":"p1-7","time_ms":20}
//! {"event":"route","time_ms":30,"namesrv":"10.0.0.1:9876","broker_group":"g1","brokers":[[0,"10.0.1.1:10911"],[2,"10.0.1.2:10911"]]}
//! {"event":"fault","time_ms":40,"phase":"start","fault":1,"kind":"kill","target":"n1","broker_group":"g1","addr":"10.0.1.1:10911"}
//! ```
//!
//! Event kinds: `run`, `send`, `consumed`, `committed_offset`, `route`, `term`, `fault`,
//! `replica`, `node`. A send's `outcome` is an object tagged by `status`: `ok`, `failed` or
//! `unknown`. Line order matters only where a check says so (it breaks ties between equal
//! times; the recorder appends events as they complete).
//!
//! Parsing is lenient about layout and strict about content: blank lines and lines starting
//! with `#` are skipped, members it does not know are ignored, optional members may be left
//! out (and are, when written); a line that is not an event fails the whole parse with an error
//! naming the line number and what is wrong with it.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A whole recorded history, events in the order they were recorded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub events: Vec<Event>,
}

/// One line of the history file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Run(RunInfo),
    Send(SendAttempt),
    Consumed(Consumed),
    CommittedOffset(CommittedOffset),
    Route(RouteSample),
    Term(TermSample),
    Fault(FaultMarker),
    Replica(ReplicaSummary),
    Node(NodeStatus),
}

/// What the run was: its seed (printed again by the report) and a free note.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The client library a producer ran on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ProducerKind {
    /// The project's own client (`crate::client`).
    #[serde(rename = "ours")]
    Ours,
    /// The Node.js client `ali-ons` in `compat/`.
    #[serde(rename = "ali-ons")]
    AliOns,
    /// The C++-based PyPI client `rocketmq` in `compat/`.
    #[serde(rename = "python")]
    Python,
}

/// One call to a producer's send, with everything it told the caller. The key identifies the
/// message: the workload gives every call its own key, so a key sent by two calls (an
/// application-level retry) may legitimately be stored twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendAttempt {
    pub client: String,
    pub producer: ProducerKind,
    pub key: String,
    pub topic: String,
    /// Set for an orderly send: the key that chose the queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharding_key: Option<String>,
    /// Attempts the client made inside this call beyond the first (any of them may have been
    /// stored even if a later one answered).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: u32,
    pub start_ms: u64,
    pub end_ms: u64,
    pub outcome: SendOutcome,
}

/// What a send call returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SendOutcome {
    /// Acknowledged: stored at this queue position.
    Ok {
        broker_group: String,
        queue_id: i32,
        queue_offset: i64,
        /// The offset msgId (storing host and commitlog offset), when the client exposes it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offset_msg_id: Option<String>,
        /// The commitlog offset, when known without the msgId.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phys_offset: Option<u64>,
        /// The Raft term of the entry that stored it, when the broker said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        term: Option<u64>,
    },
    /// Refused with an answer that says the message was not stored.
    Failed { reason: String },
    /// No answer that settles it (timeout, connection lost): it may or may not be stored.
    Unknown { reason: String },
}

/// One message handed to a consumer: by the workload's consumers while faults run, or by the
/// final full read (`final_read`) after healing, which reads every queue from offset 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consumed {
    pub consumer_group: String,
    pub client: String,
    pub topic: String,
    pub broker_group: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub key: String,
    pub time_ms: u64,
    /// The consumer processes each queue in order (an orderly consumer).
    #[serde(default, skip_serializing_if = "is_false")]
    pub orderly: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub final_read: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_msg_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phys_offset: Option<u64>,
}

/// A committed consumer offset as read back from a broker (or the value an admin reset set,
/// with `admin_reset`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommittedOffset {
    pub consumer_group: String,
    pub topic: String,
    pub broker_group: String,
    pub queue_id: i32,
    pub offset: i64,
    pub time_ms: u64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub admin_reset: bool,
}

/// One nameserver's entry for one broker group at one moment: (brokerId, address) pairs as the
/// nameserver listed them (id 0 is the master).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteSample {
    pub time_ms: u64,
    pub namesrv: String,
    pub broker_group: String,
    pub brokers: Vec<(u64, String)>,
}

impl RouteSample {
    /// The addresses listed with broker id 0.
    pub fn masters(&self) -> impl Iterator<Item = &str> {
        self.brokers
            .iter()
            .filter(|(id, _)| *id == 0)
            .map(|(_, addr)| addr.as_str())
    }
}

/// A node's Raft role and term at one moment, when the harness can read them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TermSample {
    pub time_ms: u64,
    pub broker_group: String,
    pub node: String,
    pub term: u64,
    pub role: Role,
}

/// A Raft role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Leader,
    Follower,
    Candidate,
    Learner,
}

/// The start or end of one fault the nemesis injected; `fault` pairs them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultMarker {
    pub time_ms: u64,
    pub phase: Phase,
    pub fault: u64,
    /// What was done: `kill`, `pause`, `partition`, `disk_full`, ... (the harness's words).
    pub kind: String,
    /// Whom it was done to, in the harness's words (`n1`, `leader of g1`, `minority`).
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_group: Option<String>,
    /// The client address of the node hit, when the fault hit one node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
}

/// Start or end of a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Start,
    End,
}

/// One node's replica after the final catch-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaSummary {
    pub broker_group: String,
    pub node: String,
    pub last_applied: u64,
    /// The index (or commitlog length) every node of the group had committed, up to which
    /// `digest` was taken.
    pub common_index: u64,
    /// A digest of the committed commitlog bytes up to `common_index`, in any text form.
    pub digest: String,
    pub queues: Vec<QueueMax>,
}

/// The max offset of one consume queue on one replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueMax {
    pub topic: String,
    pub queue_id: i32,
    pub max_offset: i64,
}

/// A node's state at the end of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeStatus {
    pub broker_group: String,
    pub node: String,
    pub running: bool,
    pub caught_up: bool,
    /// Why the node is not running or not caught up, as the harness found it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

macro_rules! event_from {
    ($($ty:ident => $variant:ident),* $(,)?) => {
        $(impl From<$ty> for Event {
            fn from(value: $ty) -> Self {
                Event::$variant(value)
            }
        })*
    };
}

event_from! {
    RunInfo => Run,
    SendAttempt => Send,
    Consumed => Consumed,
    CommittedOffset => CommittedOffset,
    RouteSample => Route,
    TermSample => Term,
    FaultMarker => Fault,
    ReplicaSummary => Replica,
    NodeStatus => Node,
}

/// Why a history file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// A line is not an event; `line` counts from 1.
    #[error("history line {line}: {reason} (the line begins {begins:?})")]
    BadLine {
        line: usize,
        reason: String,
        begins: String,
    },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

impl Event {
    /// The event as one line of the file, without the newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self)
            .expect("events are plain structs with string keys, which always serialise")
    }

    /// Parses one line (without its newline); `line` is its number, for the error.
    pub fn from_line(text: &str, line: usize) -> Result<Event, HistoryError> {
        serde_json::from_str(text).map_err(|err| HistoryError::BadLine {
            line,
            reason: describe(&err),
            begins: text.chars().take(60).collect(),
        })
    }
}

/// serde_json's message without its "at line 1 column N" tail (every line is line 1 to it).
fn describe(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let message = text
        .rfind(" at line ")
        .map_or(text.as_str(), |at| &text[..at]);
    format!("{message} (column {})", err.column())
}

impl History {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, event: impl Into<Event>) {
        self.events.push(event.into());
    }

    /// Parses a whole file's text (see the module docs for what is skipped and what fails).
    pub fn parse(text: &str) -> Result<Self, HistoryError> {
        let mut events = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            events.push(Event::from_line(line, n + 1)?);
        }
        Ok(Self { events })
    }

    /// The file's text: one line per event, each ending in a newline.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for event in &self.events {
            out.push_str(&event.to_line());
            out.push('\n');
        }
        out
    }

    pub fn read(path: &Path) -> Result<Self, HistoryError> {
        let text = std::fs::read_to_string(path).map_err(|source| HistoryError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn write(&self, path: &Path) -> Result<(), HistoryError> {
        std::fs::write(path, self.to_text()).map_err(|source| HistoryError::Io {
            path: path.to_owned(),
            source,
        })
    }

    /// The run's seed, from its first `run` event that has one.
    pub fn seed(&self) -> Option<u64> {
        self.events.iter().find_map(|e| match e {
            Event::Run(run) => run.seed,
            _ => None,
        })
    }

    /// The latest time any event carries (0 for an empty history).
    pub fn end_ms(&self) -> u64 {
        self.events.iter().map(Event::time_ms).max().unwrap_or(0)
    }
}

impl Event {
    /// When the event happened (a send: when it ended; a run or final summary: 0, they are
    /// not placed in time).
    pub fn time_ms(&self) -> u64 {
        match self {
            Event::Send(s) => s.end_ms,
            Event::Consumed(c) => c.time_ms,
            Event::CommittedOffset(c) => c.time_ms,
            Event::Route(r) => r.time_ms,
            Event::Term(t) => t.time_ms,
            Event::Fault(f) => f.time_ms,
            Event::Run(_) | Event::Replica(_) | Event::Node(_) => 0,
        }
    }
}
