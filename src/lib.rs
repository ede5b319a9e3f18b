//! dledger-broker: a RocketMQ-compatible message broker whose broker groups replicate their
//! commitlog with Raft, the way RocketMQ's DLedger mode does.
//!
//! The crate is one package; modules are the boundaries and dependencies point down only
//! (see `ARCHITECTURE.md`):
//!
//! | module | owns | uses |
//! | --- | --- | --- |
//! | [`config`] | RocketMQ `broker.conf` / `namesrv.conf` files → typed, validated configs | – |
//! | [`message`] | RocketMQ's message vocabulary: the stored message layout, properties, offset msgIds | – |
//! | [`store`] | mmap segments, the commitlog that *is* the Raft log, its raft index file, consume queues, key index, recovery, retention | `message`, `config` |
//! | [`raft`] | openraft over the commitlog: log storage, state machine, peer network, leadership | `store`, `config` |
//! | [`remoting`] | the RocketMQ 4.x remoting protocol: frames, commands, codes, typed headers, TCP server and client | – |
//! | [`broker`] | what a broker does for clients: topics, send, pull, offsets, clients (handlers join with remoting) | `raft`, `store` |
//! | [`namesrv`] | the nameserver's route table (registration, master changes, routes, liveness) and its JSON bodies | – |
//! | [`client`] | the project's RocketMQ client: producer, pull consumer, admin calls (for the tools and `raft-tests/`) | `remoting`, `namesrv` bodies, `message` |
//! | [`local_ip`] | this host's IPv4 address for ids and `brokerIP1` (route probe, then interfaces) | – |
//! | [`admin_cli`] | the `mqadmin` tool: subcommands, flags, what they print | `client`, `remoting`, `namesrv` bodies |
//! | [`bench`](mod@bench) | the `mqbench` tool: producer/consumer benchmarks, the replication skeleton (`probe`), broker/skeleton ratios | `client`, `store` segment |
//! | [`chaos`] | the fault campaign's checker: a recorded history in, violations and a markdown report out | `message` msgId parsing |
//!
//! The request handlers, the client and the binaries join as their issues build them.

pub mod admin_cli;
pub mod bench;
pub mod broker;
pub mod chaos;
pub mod client;
pub mod config;
pub mod local_ip;
pub mod message;
pub mod namesrv;
pub mod raft;
pub mod remoting;
pub mod store;
