//! Committed offsets, masters, terms, replicas and nodes.

use super::{N1, N2, acked, clean, committed, replica, result, route, violations, without};
use crate::chaos::check::{Check, CheckConfig, run_all};
use crate::chaos::history::{
    Event, History, NodeStatus, Role, SendAttempt, SendOutcome, TermSample,
};
use crate::chaos::violation::Violation;

#[test]
fn a_committed_offset_going_back_without_a_reset_is_flagged() {
    let mut h = clean();
    h.push(committed(1, 400, false));
    let found = violations(&h, Check::CommittedOffsets);
    assert!(
        matches!(
            &found[..],
            [Violation::OffsetRegressed {
                from: 2,
                from_ms: 180,
                to: 1,
                time_ms: 400,
                ..
            }]
        ),
        "{found:?}"
    );
    // Reported once, not again at each later commit below the old high.
    h.push(committed(1, 410, false));
    assert_eq!(violations(&h, Check::CommittedOffsets).len(), 1);
}

#[test]
fn a_committed_offset_going_back_after_an_admin_reset_is_allowed() {
    let mut h = clean();
    h.push(committed(0, 400, true));
    h.push(committed(0, 410, false));
    h.push(committed(1, 420, false));
    let offsets = result(&h, Check::CommittedOffsets);
    assert_eq!(offsets.violations, vec![]);
    assert_eq!(offsets.counter("admin resets"), 1);
    // A reset of another group does not excuse this one.
    let mut h = clean();
    let mut other = committed(0, 400, true);
    other.consumer_group = "OTHER".into();
    h.push(other);
    h.push(committed(0, 410, false));
    assert_eq!(violations(&h, Check::CommittedOffsets).len(), 1);
}

#[test]
fn two_masters_in_one_sample_are_flagged() {
    let mut h = clean();
    let mut sample = route(500, "ns1", N1);
    sample.brokers.push((0, N2.into()));
    h.push(sample);
    let found = violations(&h, Check::Masters);
    assert!(
        matches!(&found[..], [Violation::TwoMastersInSample { namesrv, time_ms: 500, masters, .. }]
            if namesrv == "ns1" && masters.len() == 2),
        "{found:?}"
    );
}

/// ns1 names N2 from `switch` on; ns2 keeps naming N1 until `settle`.
fn failover_seen_at(switch: u64, settle: u64) -> History {
    let mut h = clean();
    h.push(route(switch, "ns1", N2));
    h.push(route(switch, "ns2", N1));
    h.push(route(settle, "ns2", N2));
    h.push(route(settle, "ns1", N2));
    h
}

#[test]
fn nameservers_naming_different_masters_past_the_grace_are_flagged() {
    let grace = CheckConfig::default().master_grace_ms;
    let h = failover_seen_at(500, 500 + grace + 1);
    let found = violations(&h, Check::Masters);
    assert!(
        matches!(&found[..], [Violation::MastersDisagree { from_ms: 500, to_ms, masters, .. }]
            if *to_ms == 500 + grace + 1 && masters.len() == 2),
        "{found:?}"
    );
    // Within the grace: a failover seen by one nameserver first.
    let h = failover_seen_at(500, 500 + grace);
    let masters = result(&h, Check::Masters);
    assert_eq!(masters.violations, vec![]);
    assert_eq!(masters.counter("longest disagreement (ms)"), grace);
    // A stricter grace flags it.
    let strict = CheckConfig {
        master_grace_ms: 100,
        ..CheckConfig::default()
    };
    let results = run_all(&h, &strict);
    let masters = results.iter().find(|r| r.check == Check::Masters);
    assert_eq!(masters.map(|r| r.violations.len()), Some(1));
}

#[test]
fn two_leaders_in_one_term_are_flagged() {
    let mut h = clean();
    h.push(TermSample {
        time_ms: 600,
        broker_group: "g1".into(),
        node: "n2".into(),
        term: 1,
        role: Role::Leader,
    });
    let found = violations(&h, Check::Terms);
    assert!(
        matches!(&found[..], [Violation::TwoLeadersInTerm { term: 1, leaders, .. }]
            if leaders == &vec![("n1".to_owned(), 0), ("n2".to_owned(), 600)]),
        "{found:?}"
    );
    // A new leader in a newer term is what an election does.
    let mut h = clean();
    h.push(TermSample {
        time_ms: 600,
        broker_group: "g1".into(),
        node: "n2".into(),
        term: 2,
        role: Role::Leader,
    });
    assert_eq!(violations(&h, Check::Terms), vec![]);
}

/// An acknowledgement in `term`, sent at `start`.
fn acked_in(key: &str, term: u64, offset: i64, start: u64) -> SendAttempt {
    let mut send = acked("p1", key, 0, offset, start);
    if let SendOutcome::Ok { term: t, .. } = &mut send.outcome {
        *t = Some(term);
    }
    send
}

#[test]
fn an_acknowledgement_from_an_older_term_after_a_newer_one_acknowledged_is_flagged() {
    let mut h = History::new();
    h.push(acked_in("a", 2, 0, 100)); // term 2 acknowledges at 105
    h.push(acked_in("b", 1, 1, 200)); // begun at 200, acknowledged in term 1: stale
    let found = violations(&h, Check::StaleAcks);
    assert!(
        matches!(&found[..], [Violation::AckAfterNewerTerm { key, term: 1, newer_term: 2, newer_ms: 105, .. }] if key == "b"),
        "{found:?}"
    );
    // Overlapping sends may finish in either order: begun before term 2's first
    // acknowledgement, an older term's acknowledgement is legitimate.
    let mut h = History::new();
    h.push(acked_in("a", 2, 0, 100));
    h.push(acked_in("b", 1, 1, 104));
    h.push(acked_in("c", 3, 2, 300));
    assert_eq!(violations(&h, Check::StaleAcks), vec![]);
}

#[test]
fn replicas_with_different_digests_or_queue_offsets_are_flagged() {
    let mut h = without(
        clean(),
        |e| matches!(e, Event::Replica(r) if r.node == "n3"),
    );
    h.push(replica("n3", "crc:bad0"));
    let found = violations(&h, Check::Replicas);
    assert!(
        matches!(&found[..], [Violation::ReplicaDigestDiffers { index: 40, digests, .. }]
            if digests[2] == ("n3".to_owned(), "crc:bad0".to_owned())),
        "{found:?}"
    );

    let mut h = without(
        clean(),
        |e| matches!(e, Event::Replica(r) if r.node == "n2"),
    );
    let mut short = replica("n2", "crc:5eed");
    short.queues[1].max_offset = 2;
    short.queues.pop();
    h.push(short);
    let found = violations(&h, Check::Replicas);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        matches!(&found[1], Violation::ReplicaQueueDiffers { queue_id: 2, offsets, .. }
        if offsets[1] == ("n2".to_owned(), None))
    );

    let mut h = without(
        clean(),
        |e| matches!(e, Event::Replica(r) if r.node == "n2"),
    );
    let mut behind = replica("n2", "crc:0ld");
    behind.common_index = 39;
    h.push(behind);
    let found = violations(&h, Check::Replicas);
    assert!(
        matches!(&found[..], [Violation::ReplicaIndexDiffers { .. }]),
        "{found:?}"
    );
}

#[test]
fn a_node_not_caught_up_is_flagged_with_its_reason() {
    let mut h = clean();
    h.push(NodeStatus {
        broker_group: "g1".into(),
        node: "n3".into(),
        running: true,
        caught_up: false,
        reason: Some("applied 31 of 40 after 60 s".into()),
    });
    let found = violations(&h, Check::Nodes);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].to_string(),
        "node n3 of g1 running but not caught up at the end: applied 31 of 40 after 60 s"
    );

    // A node the replicas know with no final status, and a dead one with no reason.
    let mut h = without(clean(), |e| matches!(e, Event::Node(n) if n.node != "n1"));
    h.push(NodeStatus {
        broker_group: "g1".into(),
        node: "n2".into(),
        running: false,
        caught_up: false,
        reason: None,
    });
    let found: Vec<String> = violations(&h, Check::Nodes)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        found,
        vec![
            "node n2 of g1 not running at the end: no reason recorded",
            "node n3 of g1 has a replica summary but no final status",
        ]
    );
}
