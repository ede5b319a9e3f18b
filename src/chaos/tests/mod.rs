//! The checker's own tests: a clean synthetic history passes every check; each test then
//! breaks one promise in it (or bends one within what is allowed) and looks at what the checks
//! say.
//!
//! The clean history: group `g1` of nodes n1..n3 (n1 master on nameservers ns1 and ns2, leader
//! of term 1), topic `T`; client p1 sends `k0`..`k5` to queues 0 and 1 (`k{i}` at queue `i % 2`,
//! offset `i / 2`), client o1 sends `s0`..`s3` in order with sharding key `order-1` to queue 2;
//! a workload consumer and an orderly consumer read some, the final read reads all; the
//! workload group commits offsets 1, 2, 2 on queue 0; replicas identical, nodes caught up.

mod cluster;
mod format;
mod messages;
mod order;
mod report;

use super::check::{Check, CheckConfig, CheckResult, run_all};
use super::history::{
    CommittedOffset, Consumed, Event, History, NodeStatus, ProducerKind, QueueMax, ReplicaSummary,
    Role, RouteSample, RunInfo, SendAttempt, SendOutcome, TermSample,
};
use super::violation::Violation;

pub(super) const N1: &str = "127.0.0.1:10911";
pub(super) const N2: &str = "127.0.0.1:10921";

pub(super) fn acked(client: &str, key: &str, queue: i32, offset: i64, start: u64) -> SendAttempt {
    SendAttempt {
        client: client.into(),
        producer: ProducerKind::Ours,
        key: key.into(),
        topic: "T".into(),
        sharding_key: None,
        retries: 0,
        start_ms: start,
        end_ms: start + 5,
        outcome: SendOutcome::Ok {
            broker_group: "g1".into(),
            queue_id: queue,
            queue_offset: offset,
            offset_msg_id: None,
            phys_offset: None,
            term: None,
        },
    }
}

pub(super) fn unknown(client: &str, key: &str, start: u64) -> SendAttempt {
    SendAttempt {
        outcome: SendOutcome::Unknown {
            reason: "timeout".into(),
        },
        ..acked(client, key, 0, 0, start)
    }
}

/// A read of `key` at a position by the final read.
pub(super) fn final_read(key: &str, queue: i32, offset: i64, time: u64) -> Consumed {
    Consumed {
        consumer_group: "FINAL".into(),
        client: "f1".into(),
        topic: "T".into(),
        broker_group: "g1".into(),
        queue_id: queue,
        queue_offset: offset,
        key: key.into(),
        time_ms: time,
        orderly: false,
        final_read: true,
        offset_msg_id: None,
        phys_offset: None,
    }
}

/// A read of `key` at a position by the workload's consumer group `C`.
pub(super) fn workload_read(key: &str, queue: i32, offset: i64, time: u64) -> Consumed {
    Consumed {
        consumer_group: "C".into(),
        client: "c1".into(),
        final_read: false,
        ..final_read(key, queue, offset, time)
    }
}

pub(super) fn route(time: u64, namesrv: &str, master: &str) -> RouteSample {
    RouteSample {
        time_ms: time,
        namesrv: namesrv.into(),
        broker_group: "g1".into(),
        brokers: vec![(0, master.into()), (2, "127.0.0.1:10931".into())],
    }
}

pub(super) fn committed(offset: i64, time: u64, admin_reset: bool) -> CommittedOffset {
    CommittedOffset {
        consumer_group: "C".into(),
        topic: "T".into(),
        broker_group: "g1".into(),
        queue_id: 0,
        offset,
        time_ms: time,
        admin_reset,
    }
}

pub(super) fn replica(node: &str, digest: &str) -> ReplicaSummary {
    ReplicaSummary {
        broker_group: "g1".into(),
        node: node.into(),
        last_applied: 40,
        common_index: 40,
        digest: digest.into(),
        queues: (0..3)
            .map(|q| QueueMax {
                topic: "T".into(),
                queue_id: q,
                max_offset: if q == 2 { 4 } else { 3 },
            })
            .collect(),
    }
}

pub(super) fn node(name: &str) -> NodeStatus {
    NodeStatus {
        broker_group: "g1".into(),
        node: name.into(),
        running: true,
        caught_up: true,
        reason: None,
    }
}

pub(super) fn clean() -> History {
    let mut h = History::new();
    h.push(RunInfo {
        seed: Some(7),
        note: Some("synthetic".into()),
    });
    for ns in ["ns1", "ns2"] {
        h.push(route(0, ns, N1));
    }
    for (n, role) in [
        ("n1", Role::Leader),
        ("n2", Role::Follower),
        ("n3", Role::Follower),
    ] {
        h.push(TermSample {
            time_ms: 0,
            broker_group: "g1".into(),
            node: n.into(),
            term: 1,
            role,
        });
    }
    let mut reads = Vec::new();
    for i in 0..6_i64 {
        let (key, queue, offset) = (format!("k{i}"), (i % 2) as i32, i / 2);
        h.push(acked("p1", &key, queue, offset, 10 * i as u64));
        reads.push((key, queue, offset));
    }
    for i in 0..4_i64 {
        let key = format!("s{i}");
        let mut send = acked("o1", &key, 2, i, 100 + 10 * i as u64);
        send.sharding_key = Some("order-1".into());
        h.push(send);
        reads.push((key, 2, i));
        let mut read = workload_read(&format!("s{i}"), 2, i, 200 + i as u64);
        read.consumer_group = "CO".into();
        read.orderly = true;
        h.push(read);
    }
    h.push(workload_read("k0", 0, 0, 150));
    h.push(committed(1, 160, false));
    h.push(workload_read("k2", 0, 1, 170));
    h.push(committed(2, 180, false));
    h.push(committed(2, 190, false));
    for ns in ["ns1", "ns2"] {
        h.push(route(300, ns, N1));
    }
    for (i, (key, queue, offset)) in reads.iter().enumerate() {
        h.push(final_read(key, *queue, *offset, 1000 + i as u64));
    }
    for n in ["n1", "n2", "n3"] {
        h.push(replica(n, "crc:5eed"));
        h.push(node(n));
    }
    h
}

pub(super) fn result(history: &History, check: Check) -> CheckResult {
    run_all(history, &CheckConfig::default())
        .into_iter()
        .find(|r| r.check == check)
        .expect("run_all runs every check")
}

pub(super) fn violations(history: &History, check: Check) -> Vec<Violation> {
    result(history, check).violations
}

/// Drops the events `drop` picks.
pub(super) fn without(mut history: History, drop: impl Fn(&Event) -> bool) -> History {
    history.events.retain(|e| !drop(e));
    history
}

pub(super) fn is_final_read_of(e: &Event, key: &str) -> bool {
    matches!(e, Event::Consumed(c) if c.final_read && c.key == key)
}

#[test]
fn the_clean_history_passes_every_check() {
    let h = clean();
    for r in run_all(&h, &CheckConfig::default()) {
        assert_eq!(r.violations, vec![], "{}", r.check);
    }
    let lost = result(&h, Check::Lost);
    assert_eq!(lost.counter("acknowledged"), 10);
    assert_eq!(lost.counter("acknowledged and read back"), 10);
    assert_eq!(
        result(&h, Check::Order).counter("orderly consumer streams"),
        1
    );
    assert_eq!(result(&h, Check::Replicas).counter("replicas compared"), 3);
}
