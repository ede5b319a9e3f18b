//! What a check found wrong, with what is needed to go and look: the key, the queue and
//! offset, the node, the time. Plain data; the checks in [`check`](super::check) build them and
//! [`report`](super::report) lists them (their `Display` is the one-line form).

use std::fmt;

/// One slot of one consume queue.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub broker_group: String,
    pub topic: String,
    pub queue_id: i32,
    pub queue_offset: i64,
}

impl Position {
    pub fn queue(&self) -> QueueRef {
        QueueRef {
            broker_group: self.broker_group.clone(),
            topic: self.topic.clone(),
            queue_id: self.queue_id,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.queue(), self.queue_offset)
    }
}

/// One consume queue: broker group, topic, queue id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueRef {
    pub broker_group: String,
    pub topic: String,
    pub queue_id: i32,
}

impl fmt::Display for QueueRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/q{}", self.broker_group, self.topic, self.queue_id)
    }
}

/// A broken promise found in a history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error(
        "lost: {key} ({topic}) acknowledged to {client} at {end_ms} ms at {acked}, \
         absent from the final read"
    )]
    Lost {
        key: String,
        topic: String,
        client: String,
        acked: Position,
        end_ms: u64,
    },
    #[error(
        "vanished: {key} consumed by {consumer_group} at {time_ms} ms from {position}, \
         absent from the final read"
    )]
    Vanished {
        key: String,
        consumer_group: String,
        position: Position,
        time_ms: u64,
    },
    #[error("phantom: {key} read at {position} by {consumer_group} at {time_ms} ms, never sent")]
    Phantom {
        key: String,
        consumer_group: String,
        position: Position,
        time_ms: u64,
    },
    #[error("stored though refused: {key} failed ({reason}) without retries, read at {position}")]
    FailedButStored {
        key: String,
        reason: String,
        position: Position,
    },
    #[error(
        "duplicate: {key} stored {} times ({}), and every send of it had a definite answer \
         without retries",
        .positions.len(), list(.positions)
    )]
    Duplicate {
        key: String,
        positions: Vec<Position>,
    },
    #[error("misplaced: {key} acknowledged at {acked}, read at {}", list(.read_at))]
    Misplaced {
        key: String,
        acked: Position,
        read_at: Vec<Position>,
    },
    #[error(
        "commitlog offset: {key} acknowledged at commitlog offset {acked_phys}, read at \
         {read_phys} ({position})"
    )]
    PhysMismatch {
        key: String,
        position: Position,
        acked_phys: u64,
        read_phys: u64,
    },
    #[error("two acknowledgements for {position}: {first} and {second}")]
    TwoAcksOnePosition {
        position: Position,
        first: String,
        second: String,
    },
    #[error("{position} read back as two different messages: {first} and {second}")]
    PositionConflict {
        position: Position,
        first: String,
        second: String,
    },
    #[error("gap: offsets {from}..{to} of {queue} missing from the final read")]
    OffsetGap { queue: QueueRef, from: i64, to: i64 },
    #[error("read order: {queue} offset {offset} first read after offset {after}")]
    ReadOutOfOrder {
        queue: QueueRef,
        offset: i64,
        after: i64,
    },
    #[error(
        "order: sharding key {sharding_key} in {queue}: {sent_first} (send ended {first_end_ms} \
         ms) came after {sent_later} (send began {later_start_ms} ms) in {seen_by}"
    )]
    OrderBroken {
        sharding_key: String,
        queue: QueueRef,
        sent_first: String,
        first_end_ms: u64,
        sent_later: String,
        later_start_ms: u64,
        seen_by: String,
    },
    #[error(
        "committed offset of {consumer_group} on {queue} went back from {from} (at {from_ms} \
         ms) to {to} at {time_ms} ms without an admin reset"
    )]
    OffsetRegressed {
        consumer_group: String,
        queue: QueueRef,
        from: i64,
        from_ms: u64,
        to: i64,
        time_ms: u64,
    },
    #[error("replicas of {broker_group} digested at different indexes: {}", pairs(.indexes))]
    ReplicaIndexDiffers {
        broker_group: String,
        indexes: Vec<(String, u64)>,
    },
    #[error("replicas of {broker_group} differ up to index {index}: {}", pairs(.digests))]
    ReplicaDigestDiffers {
        broker_group: String,
        index: u64,
        digests: Vec<(String, String)>,
    },
    #[error(
        "replicas of {broker_group} disagree on the max offset of {topic} queue {queue_id}: {}",
        pairs_opt(.offsets)
    )]
    ReplicaQueueDiffers {
        broker_group: String,
        topic: String,
        queue_id: i32,
        offsets: Vec<(String, Option<i64>)>,
    },
    #[error("nameserver {namesrv} listed masters {} of {broker_group} at {time_ms} ms", .masters.join(" and "))]
    TwoMastersInSample {
        namesrv: String,
        broker_group: String,
        time_ms: u64,
        masters: Vec<String>,
    },
    #[error(
        "nameservers named different masters of {broker_group} from {from_ms} to {to_ms} ms \
         (longer than the grace): {}",
        pairs(.masters)
    )]
    MastersDisagree {
        broker_group: String,
        from_ms: u64,
        to_ms: u64,
        /// (nameserver, master it named) when the disagreement began.
        masters: Vec<(String, String)>,
    },
    #[error(
        "{key} was acknowledged by {broker_group} in term {term} although it was sent at \
         {start_ms} ms, after term {newer_term} had acknowledged a send at {newer_ms} ms"
    )]
    AckAfterNewerTerm {
        broker_group: String,
        key: String,
        term: u64,
        start_ms: u64,
        newer_term: u64,
        newer_ms: u64,
    },
    #[error("term {term} of {broker_group} had two leaders: {}", pairs(.leaders))]
    TwoLeadersInTerm {
        broker_group: String,
        term: u64,
        /// (node, first time seen leading in ms).
        leaders: Vec<(String, u64)>,
    },
    #[error(
        "node {node} of {broker_group} {} at the end: {}",
        state(*.running, *.caught_up), .reason.as_deref().unwrap_or("no reason recorded")
    )]
    NodeDown {
        broker_group: String,
        node: String,
        running: bool,
        caught_up: bool,
        reason: Option<String>,
    },
    #[error("node {node} of {broker_group} has a replica summary but no final status")]
    NodeStatusMissing { broker_group: String, node: String },
}

fn list<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn pairs<A: fmt::Display, B: fmt::Display>(items: &[(A, B)]) -> String {
    items
        .iter()
        .map(|(a, b)| format!("{a}: {b}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn pairs_opt<A: fmt::Display, B: fmt::Display>(items: &[(A, Option<B>)]) -> String {
    items
        .iter()
        .map(|(a, b)| match b {
            Some(b) => format!("{a}: {b}"),
            None => format!("{a}: none"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn state(running: bool, caught_up: bool) -> &'static str {
    match (running, caught_up) {
        (false, _) => "not running",
        (true, false) => "running but not caught up",
        (true, true) => "running and caught up",
    }
}
