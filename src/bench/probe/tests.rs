//! The skeleton end to end in one process: what the followers hold, and what the client counted.

use std::time::Duration;

use super::load::{Load, drive};
use super::wire::{RECORD_HEADER_LEN, records, stamp_crcs};
use super::{Group, Shape};

#[test]
fn every_node_holds_exactly_the_stamped_bytes_the_client_sent() {
    let dir = tempfile::tempdir().unwrap();
    let group = Group::start(dir.path(), 1 << 20, false).unwrap();
    let shape = Shape {
        batch: 3,
        window: 4,
        size: 100,
    };
    let load = Load {
        shape,
        warmup: Duration::ZERO,
        measure: Duration::from_secs(60),
        max_requests: 50,
    };
    let summary = drive(group.leader_addr, &load).unwrap();
    assert_eq!(summary.requests, 50, "every request is acked exactly once");
    assert_eq!(summary.messages, 150);

    let mut one_request = records(3, 100);
    stamp_crcs(&mut one_request, 3).unwrap();
    let expected = one_request.repeat(50);
    let logs = group.finish().unwrap();
    assert_eq!(logs.len(), 3);
    for log in &logs {
        let held = log.current_segment();
        assert_eq!(held.len(), expected.len());
        assert!(
            held == expected,
            "a node's file differs from what the client sent"
        );
    }
    let first_record = &logs[1].current_segment()[..RECORD_HEADER_LEN + 100];
    let crc = u32::from_le_bytes(first_record[4..8].try_into().unwrap());
    assert_eq!(
        crc,
        crc32fast::hash(&first_record[RECORD_HEADER_LEN..]),
        "the follower got the leader's CRC"
    );
}

#[test]
fn one_request_in_flight_waits_for_each_ack_and_counts_each() {
    let dir = tempfile::tempdir().unwrap();
    let group = Group::start(dir.path(), 1 << 20, true).unwrap();
    let load = Load {
        shape: Shape::one_in_flight(64),
        warmup: Duration::ZERO,
        measure: Duration::from_secs(60),
        max_requests: 20,
    };
    let summary = drive(group.leader_addr, &load).unwrap();
    assert_eq!((summary.requests, summary.messages), (20, 20));
    assert_eq!(summary.latency.count(), 20);
    for log in group.finish().unwrap() {
        assert_eq!(log.current_segment().len(), 20 * (RECORD_HEADER_LEN + 64));
    }
}
