//! The broker: what a RocketMQ broker does for clients, on top of the raft layer.
//!
//! The pieces that need no wire types come first, each pure and tested on its own (the name
//! rules they apply are RocketMQ's vocabulary, in [`crate::message::names`]):
//!
//! | module | owns |
//! | --- | --- |
//! | `topics` | advertised topics (replicated + system) and send-time resolution (auto-create, retry, TOPIC_NOT_EXIST) |
//! | `send` | stored messages and batches built from a send's fields; MESSAGE_ILLEGAL checks |
//! | `pull` | tag filters and one pull's read of a consume queue, with RocketMQ's statuses and offsets |
//! | `offsets` | max / min / earliest store time / offset for a timestamp |
//! | `clients` | producer and consumer groups from heartbeats; which groups to notify |
//! | `consumer_offsets` | commits coalesced into one replicated entry per interval |
//! | `disk_guard` | `diskSpaceWarningLevelRatio`: sends refused while the disk is too full |
//! | `delay` | delay levels at send time: a `DELAY` message waits in `SCHEDULE_TOPIC_XXXX` |
//! | `retry` | where a handed-back message goes (`%RETRY%` after a delay, or `%DLQ%`) and its new copy |
//! | `queue_locks` | orderly consumers' queue locks: holder and expiry per group and queue (leader-only soft state) |
//! | `scrubbing` | the commitlog's CRC scrub at start and daily; damage stops the node |
//!
//! The request handlers (a `match` on the request code), registration with the nameservers and
//! long polling join them on top of the remoting layer; `on_demand` creates group configs and
//! retry / dead-letter topics as requests need them, and `schedule` delivers due delayed
//! messages while this node leads.

pub mod clients;
pub mod consumer_offsets;
pub mod delay;
pub mod disk_guard;
mod handle_admin;
mod handle_clients;
mod handle_lock;
mod handle_offsets;
mod handle_pull;
mod handle_reset;
mod handle_send;
mod handle_send_back;
mod handle_stats;
pub mod offsets;
mod on_demand;
pub mod preferred_leader;
pub mod pull;
pub mod queue_locks;
pub mod register;
pub mod retry;
pub mod schedule;
pub mod scrubbing;
pub mod send;
pub mod server;
pub mod topics;

pub use server::{Broker, BrokerError, BrokerHandler};
