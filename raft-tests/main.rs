//! Integration tests that use the crate from the outside, as the binaries and operators do.
//!
//! `procs.rs` spawns real binaries (logs in a temp dir, bounded waits, killed on drop) and
//! `cluster.rs` starts nameservers and a broker group from them on free loopback ports.
//!
//! * t10 the real `mqnamesrv`; t20 a store written, SIGKILLed and reopened; t22 a follower
//!   that cannot apply stops, exits non-zero and rejoins whole.
//! * t30 the broker over the wire; t32 sends refused above `diskSpaceWarningLevelRatio` and by
//!   `brokerPermission`; t35 the client library; t36 request-reply (also across a leader kill);
//!   t37 SQL92 property filters (our client and ali-ons);
//!   t38 the plain ACL (keys, grants, admin codes, hot reload; ali-ons signing); t39 peers
//!   authenticated with `dLegerPeerSecret`.
//! * t40 real RocketMQ clients (Node, Python), t42 their retries, dead letters and delays.
//! * t50 failover with real processes killed for real (t52 with a nameserver that never
//!   answers); t55 five kill -9 drills and t56 a
//!   rolling SIGTERM restart, both under a steady producer and judged by `checker.rs`; t57
//!   leadership back to `preferredLeaderId`.
//! * t60 the `mqadmin` binary, t61 its `clusterRT`, t62 `queryMsgTraceById` on a traced send,
//!   t63 broker ids of a group numbered from `n0`, t64 the broker's statistics and runtime info.
//! * t65/t66 delay levels, retries and dead letters (t66 across a leader kill); t67
//!   transactions (commit, rollback, checks, discards, across leader kills); t70 broadcast
//!   and orderly consumption (queue locks, per-key order across a leader kill).

#![allow(clippy::unwrap_used, reason = "test helpers are not #[test] functions")]

mod checker;
mod cluster;
mod procs;
mod t10_namesrv;
mod t20_store_restart;
mod t22_local_faults;
mod t30_broker;
mod t32_write_refusals;
mod t35_client;
mod t36_request_reply;
mod t37_sql92;
mod t38_acl;
mod t39_peer_secret;
mod t40_compat;
mod t42_compat_retry;
mod t50_failover;
mod t52_unreachable_namesrv;
mod t55_drills;
mod t56_rolling_restart;
mod t57_preferred_leader;
mod t60_mqadmin;
mod t61_cluster_rt;
mod t62_msg_trace;
mod t63_broker_ids;
mod t64_broker_stats;
mod t65_delay_retry;
mod t66_delay_retry_failover;
mod t67_transactions;
mod t70_orderly_broadcast;
mod t80_chaos_smoke;
