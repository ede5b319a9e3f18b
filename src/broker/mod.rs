//! The broker: what a RocketMQ broker does for clients, on top of the raft layer.
//!
//! The pieces that need no wire types come first, each pure and tested on its own (the name
//! rules they apply are RocketMQ's vocabulary, in [`crate::message::names`]):
//!
//! | module | owns |
//! | --- | --- |
//! | `error` | `BrokerError`: why a handler failed; the one place that picks its response code |
//! | `topics` | advertised topics (replicated + system) and send-time resolution (auto-create, retry, TOPIC_NOT_EXIST) |
//! | `send` | stored messages and batches built from a send's fields; MESSAGE_ILLEGAL checks |
//! | `pull` | tag and SQL92 filters and one pull's read of a consume queue, with RocketMQ's statuses and offsets |
//! | `sql_filters` | SQL92 subscriptions compiled once per group and topic |
//! | `pull_waiters` | held pulls wait per queue; the store's dispatch wakes that queue only |
//! | `offsets` | max / min / earliest store time / offset for a timestamp |
//! | `clients` | producer and consumer groups from heartbeats; which groups to notify |
//! | `consumer_offsets` | commits coalesced into one replicated entry per interval |
//! | `disk_guard` | `diskSpaceWarningLevelRatio`: sends refused while the disk is too full |
//! | `delay` | delay levels at send time: a `DELAY` message waits in `SCHEDULE_TOPIC_XXXX` |
//! | `retry` | where a handed-back message goes (`%RETRY%` after a delay, or `%DLQ%`) and its new copy |
//! | `settling` | claims on half messages being settled: one settlement per half message at a time, others concurrent |
//! | `transaction` | half messages (stored in the half topic) and their settlement: commit, rollback or discard, exactly once, in one entry with the op message |
//! | `stats` | what this node stored and served: Java's statistics items (per topic, group, broker; minute/hour/day windows) and put/get rates (soft state, never replicated) |
//! | `queue_locks` | orderly consumers' queue locks: holder and expiry per group and queue (leader-only soft state) |
//! | `tasks/` | background work: registration, offset flushing, client expiry, delayed delivery, transaction checks, preferred leader, scrub ([`tasks::Workers`]) |
//!
//! On top of the remoting layer: `server` (the `Broker` state and the remoting handler),
//! `access` (the plain ACL checked before `dispatch`, with `aclEnable`),
//! `handlers/` (one file per request family and the one `dispatch` that names them) and
//! `on_demand` (group configs and retry / dead-letter topics created as requests need them).
//! Where new code goes: a request handler in `handlers/`, a background task in `tasks/`, a
//! rule that needs no wire types in its own module here.

mod access;
pub mod clients;
pub mod consumer_offsets;
pub mod delay;
pub mod disk_guard;
pub mod error;
mod handlers;
pub mod offsets;
mod on_demand;
pub mod pull;
pub mod pull_waiters;
pub mod queue_locks;
pub mod retry;
pub mod send;
pub mod server;
pub mod settling;
pub mod sql_filters;
pub mod stats;
pub mod tasks;
pub mod topics;
pub mod transaction;

pub use handlers::BrokerHandler;
pub use server::{Broker, BrokerError};
