//! dledger-broker: a RocketMQ-compatible message broker whose broker groups replicate their
//! commitlog with Raft, the way RocketMQ's DLedger mode does.
//!
//! The crate is one package; modules are the boundaries and dependencies point down only
//! (see `ARCHITECTURE.md`):
//!
//! | module | owns | uses |
//! | --- | --- | --- |
//! | [`message`] | RocketMQ's message and naming vocabulary: the stored message layout, properties, offset msgIds, the batch body, topic and group names, permission bits, `TopicConfig`, the JSON bodies | – |
//! | [`config`] | RocketMQ `broker.conf` / `namesrv.conf` files → typed, validated configs | `local_ip` |
//! | [`store`] | mmap segments, the commitlog that *is* the Raft log, its raft index file, consume queues, key index, recovery, retention | `message`, `config` |
//! | [`raft`] | openraft over the commitlog: log storage, state machine, peer network, leadership | `store`, `message`, `config` |
//! | [`remoting`] | the RocketMQ 4.x remoting protocol: frames, commands, codes, typed headers, TCP server and client | – |
//! | [`acl`] | RocketMQ 4.9's plain ACL: `plain_acl.yml`, address patterns, which request needs which permission, the check, hot reload | `remoting`, `message`, `common` |
//! | [`broker`] | what a broker does for clients: topics, send, pull, offsets, clients (handlers join with remoting) | `raft`, `store`, `remoting`, `message`, `config` |
//! | [`namesrv`] | the nameserver's route table (registration, master changes, routes, liveness) and its request handler | `remoting`, `message`, `config` |
//! | [`client`] | the project's RocketMQ client: producer, pull consumer, admin calls (for the tools and `raft-tests/`) | `remoting`, `message` |
//! | [`local_ip`] | this host's IPv4 address for ids and `brokerIP1` (route probe, then interfaces) | – |
//! | [`admin_cli`] | the `mqadmin` tool: subcommands, flags, what they print | `client`, `remoting`, `message`, `bench` (its clock) |
//! | [`bench`](mod@bench) | the `mqbench` tool: producer/consumer benchmarks, the replication skeleton (`probe`), broker/skeleton ratios | `client`, `store` segment |
//! | [`chaos`] | the fault campaign's checker: a recorded history in, violations and a markdown report out | `client`, `remoting`, `message` |
//!
//! The client speaks only the wire protocol and the vocabulary; the store knows no wire; layers
//! point down. A test (`layering_tests.rs`) reads the sources and fails, naming file and line, on
//! any path into a module a layer may not use.

pub mod acl;
pub mod admin_cli;
pub mod bench;
pub mod broker;
pub mod chaos;
pub mod client;
pub mod common;
pub mod config;
#[cfg(test)]
mod layering_tests;
pub mod local_ip;
pub mod message;
pub mod namesrv;
pub mod raft;
pub mod remoting;
pub mod store;
