//! The raft layer's vocabulary: openraft's type configuration, the proposals the broker makes,
//! what applying them returns, and [`LogEntry`], the entry that *is* a commitlog record.
//!
//! A `LogEntry` read from the commitlog carries the record's bytes; that is what the leader
//! sends, and what a follower appends after validating it (CRC, continuity, and the position it
//! computes itself), so each message is written once per node and never re-encoded. An entry
//! openraft creates on the leader (before it is appended) has no bytes yet: the commitlog builds
//! them at append.

use std::fmt;

use bytes::Bytes;
use openraft::EntryPayload;
use openraft::entry::RaftEntry;
use openraft::impls::leader_id_std;
use openraft::type_config::alias::{CommittedLeaderIdOf, LogIdOf};
use serde::{Deserialize, Serialize};

use crate::store::{Record, RecordKind};

openraft::declare_raft_types!(
    /// openraft's type configuration for a broker group.
    pub(crate) TypeConfig:
        D = Proposal,
        R = Applied,
        NodeId = u64,
        Node = PeerNode,
        Term = u64,
        LeaderId = leader_id_std::LeaderId<u64, u64>,
        Vote = openraft::impls::Vote<Self::LeaderId>,
        Entry = LogEntry,
        AsyncRuntime = openraft_rt_tokio::TokioRuntime,
);

/// A raft node's address, as `dLegerPeers` gives it (`host:port`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerNode {
    pub addr: String,
}

impl fmt::Display for PeerNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.addr)
    }
}

/// What the broker proposes: a record kind and its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProposalKind {
    /// One RocketMQ stored message.
    Message,
    /// Several RocketMQ stored messages back to back.
    MessageBatch,
    /// A topic or subscription-group change.
    Admin,
    /// Coalesced consumer offsets.
    ConsumerOffsets,
}

impl ProposalKind {
    /// The kind of an entry holding `count` stored messages back to back.
    pub fn for_messages(count: usize) -> ProposalKind {
        if count == 1 {
            ProposalKind::Message
        } else {
            ProposalKind::MessageBatch
        }
    }

    pub(crate) fn record_kind(self) -> RecordKind {
        match self {
            ProposalKind::Message => RecordKind::Message,
            ProposalKind::MessageBatch => RecordKind::MessageBatch,
            ProposalKind::Admin => RecordKind::Admin,
            ProposalKind::ConsumerOffsets => RecordKind::ConsumerOffsets,
        }
    }

    fn from_record_kind(kind: RecordKind) -> Option<ProposalKind> {
        Some(match kind {
            RecordKind::Message => ProposalKind::Message,
            RecordKind::MessageBatch => ProposalKind::MessageBatch,
            RecordKind::Admin => ProposalKind::Admin,
            RecordKind::ConsumerOffsets => ProposalKind::ConsumerOffsets,
            RecordKind::Blank | RecordKind::Membership => return None,
        })
    }
}

/// Application data of a raft entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub kind: ProposalKind,
    pub body: Bytes,
}

impl fmt::Display for Proposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}({} bytes)", self.kind, self.body.len())
    }
}

/// Where one applied message landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedMessage {
    pub queue_id: u32,
    pub queue_offset: u64,
    pub physical_offset: u64,
    pub size: u32,
}

/// The result of applying one entry, returned to whoever proposed it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// Raft index of the entry.
    pub index: u64,
    /// Raft term of the entry: the term of the leader that appended it.
    pub term: u64,
    /// For message entries: each message's offsets, in body order.
    pub messages: Vec<AppliedMessage>,
}

/// What a snapshot carries: the encoded thin snapshot (metadata the log can no longer rebuild).
pub(crate) type SnapshotBytes = Vec<u8>;

pub(crate) type LogId = LogIdOf<TypeConfig>;
pub(crate) type Payload = EntryPayload<Proposal, u64, PeerNode>;
type CommittedLeaderId = CommittedLeaderIdOf<TypeConfig>;

/// A raft entry; see the module docs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LogEntry {
    pub(crate) log_id: LogId,
    pub(crate) payload: Payload,
    /// The commitlog record (header and body) once the entry has been appended somewhere.
    pub(crate) record: Option<Bytes>,
}

/// Builds a log id from a term and an index.
pub(crate) fn log_id(term: u64, index: u64) -> LogId {
    LogId::new(CommittedLeaderId::new(term), index)
}

impl LogEntry {
    /// The entry a commitlog record stores.
    pub(crate) fn from_record(record: &Record) -> Result<LogEntry, String> {
        let body = record.body();
        let payload = match record.kind() {
            RecordKind::Blank => EntryPayload::Blank,
            RecordKind::Membership => {
                let (m, _) = bincode::serde::decode_from_slice(&body, bincode::config::standard())
                    .map_err(|e| format!("membership record {}: {e}", record.index()))?;
                EntryPayload::Membership(m)
            }
            kind => EntryPayload::Normal(Proposal {
                kind: ProposalKind::from_record_kind(kind)
                    .ok_or_else(|| format!("record {} has no proposal kind", record.index()))?,
                body,
            }),
        };
        Ok(LogEntry {
            log_id: log_id(record.term(), record.index()),
            payload,
            record: Some(record.as_bytes().clone()),
        })
    }

    /// The record kind and body this entry is stored as.
    pub(crate) fn kind_and_body(&self) -> Result<(RecordKind, Bytes), String> {
        Ok(match &self.payload {
            EntryPayload::Blank => (RecordKind::Blank, Bytes::new()),
            EntryPayload::Membership(m) => {
                let bytes = bincode::serde::encode_to_vec(m, bincode::config::standard())
                    .map_err(|e| format!("membership of entry {}: {e}", self.log_id.index))?;
                (RecordKind::Membership, Bytes::from(bytes))
            }
            EntryPayload::Normal(p) => (p.kind.record_kind(), p.body.clone()),
        })
    }

    pub(crate) fn index(&self) -> u64 {
        self.log_id.index
    }

    pub(crate) fn term(&self) -> u64 {
        *self.log_id.leader_id
    }
}

impl fmt::Display for LogEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.log_id, self.payload)
    }
}

impl RaftEntry for LogEntry {
    type CommittedLeaderId = CommittedLeaderId;
    type Payload = Payload;

    fn new(log_id: LogId, payload: Payload) -> Self {
        LogEntry {
            log_id,
            payload,
            record: None,
        }
    }

    fn log_id_parts(&self) -> (&CommittedLeaderId, u64) {
        (&self.log_id.leader_id, self.log_id.index)
    }

    fn set_log_id(&mut self, new: LogId) {
        if new != self.log_id {
            // The stored bytes name the old id; the commitlog re-encodes on append.
            self.record = None;
        }
        self.log_id = new;
    }

    fn get_membership(&self) -> Option<openraft::Membership<u64, PeerNode>> {
        match &self.payload {
            EntryPayload::Membership(m) => Some(m.clone()),
            _ => None,
        }
    }
}

/// How an entry crosses the network: as its record when it has one (the follower validates and
/// copies those bytes), else as id and payload.
#[derive(Serialize, Deserialize)]
enum WireEntry {
    Record(Bytes),
    Fresh { log_id: LogId, payload: Payload },
}

impl Serialize for LogEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.record {
            Some(bytes) => WireEntry::Record(bytes.clone()).serialize(s),
            None => WireEntry::Fresh {
                log_id: self.log_id,
                payload: self.payload.clone(),
            }
            .serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for LogEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match WireEntry::deserialize(d)? {
            WireEntry::Fresh { log_id, payload } => Ok(LogEntry {
                log_id,
                payload,
                record: None,
            }),
            WireEntry::Record(bytes) => {
                let record =
                    crate::store::verify_record(bytes).map_err(serde::de::Error::custom)?;
                LogEntry::from_record(&record).map_err(serde::de::Error::custom)
            }
        }
    }
}
