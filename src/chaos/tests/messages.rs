//! Lost, phantom, duplicate, misplaced messages and holes in the final read.

use super::{
    acked, clean, final_read, is_final_read_of, result, unknown, violations, without, workload_read,
};
use crate::chaos::check::Check;
use crate::chaos::history::{Event, SendOutcome};
use crate::chaos::violation::Violation;

#[test]
fn an_acknowledged_send_missing_from_the_final_read_is_lost() {
    let h = without(clean(), |e| is_final_read_of(e, "k3"));
    let found = violations(&h, Check::Lost);
    assert_eq!(found.len(), 1, "{found:?}");
    let Violation::Lost { key, acked, .. } = &found[0] else {
        panic!("{found:?}");
    };
    assert_eq!(
        (key.as_str(), acked.queue_id, acked.queue_offset),
        ("k3", 1, 1)
    );
    assert!(found[0].to_string().contains("g1/T/q1@1"), "{}", found[0]);
}

#[test]
fn a_message_consumed_during_the_run_and_gone_at_the_end_vanished() {
    let h = without(clean(), |e| is_final_read_of(e, "k0"));
    let found = violations(&h, Check::Lost);
    assert!(
        found
            .iter()
            .any(|v| matches!(v, Violation::Vanished { key, .. } if key == "k0")),
        "{found:?}"
    );
}

#[test]
fn a_message_read_but_never_sent_is_a_phantom() {
    let mut h = clean();
    h.push(final_read("ghost", 1, 3, 2000));
    let found = violations(&h, Check::Phantoms);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(matches!(&found[0], Violation::Phantom { key, .. } if key == "ghost"));
    // The same phantom seen by a workload consumer at the same position is one finding.
    h.push(workload_read("ghost", 1, 3, 2001));
    assert_eq!(violations(&h, Check::Phantoms).len(), 1);
}

#[test]
fn a_refused_send_without_retries_read_back_is_flagged() {
    let mut h = clean();
    let mut send = acked("p1", "refused", 0, 0, 500);
    send.outcome = SendOutcome::Failed {
        reason: "SYSTEM_BUSY".into(),
    };
    h.push(send.clone());
    h.push(final_read("refused", 0, 3, 2000));
    let found = violations(&h, Check::Phantoms);
    assert!(
        matches!(&found[..], [Violation::FailedButStored { key, .. }] if key == "refused"),
        "{found:?}"
    );
    // With a retry inside the call, an earlier attempt may have been stored.
    send.retries = 1;
    let mut h = without(h, |e| matches!(e, Event::Send(s) if s.key == "refused"));
    h.push(send);
    assert_eq!(violations(&h, Check::Phantoms), vec![]);
}

#[test]
fn a_duplicate_without_an_unknown_outcome_or_retry_is_flagged() {
    let mut h = clean();
    h.push(final_read("k4", 0, 3, 2000));
    let found = violations(&h, Check::Duplicates);
    assert_eq!(found.len(), 1, "{found:?}");
    let Violation::Duplicate { key, positions } = &found[0] else {
        panic!("{found:?}");
    };
    assert_eq!((key.as_str(), positions.len()), ("k4", 2));
}

#[test]
fn a_duplicate_after_an_unknown_outcome_or_a_retry_is_allowed_and_counted() {
    // Unknown outcome: stored twice (the client's internal retry also landed).
    let mut h = clean();
    h.push(unknown("p1", "u1", 500));
    h.push(final_read("u1", 1, 3, 2000));
    h.push(final_read("u1", 1, 4, 2001));
    // Acknowledged after a retry inside the call: the first attempt was stored too.
    let mut retried = acked("p1", "r1", 0, 4, 600);
    retried.retries = 1;
    h.push(retried);
    h.push(final_read("r1", 0, 3, 2002));
    h.push(final_read("r1", 0, 4, 2003));
    let dups = result(&h, Check::Duplicates);
    assert_eq!(dups.violations, vec![]);
    assert_eq!(
        dups.counter("stored twice after an unknown outcome or retry"),
        2
    );
    assert_eq!(dups.counter("extra copies of those"), 2);
    assert_eq!(
        result(&h, Check::Phantoms).counter("stored without an acknowledgement"),
        1
    );
    // Reading one position twice is not a duplicate.
    let mut h = clean();
    h.push(final_read("k4", 0, 2, 2000));
    assert_eq!(violations(&h, Check::Duplicates), vec![]);
}

#[test]
fn a_send_read_back_elsewhere_than_acknowledged_is_misplaced() {
    let mut h = clean();
    h.push(acked("p1", "m1", 1, 3, 500));
    h.push(final_read("m1", 1, 4, 2000));
    h.push(final_read("filler", 1, 3, 2001));
    let found = violations(&h, Check::Placement);
    assert!(
        matches!(&found[..], [Violation::Misplaced { key, read_at, .. }]
            if key == "m1" && read_at[0].queue_offset == 4),
        "{found:?}"
    );
}

#[test]
fn a_commitlog_offset_other_than_acknowledged_is_flagged() {
    let mut h = clean();
    let mut send = acked("p1", "c1", 1, 3, 500);
    if let SendOutcome::Ok { phys_offset, .. } = &mut send.outcome {
        *phys_offset = Some(4096);
    }
    h.push(send);
    let mut read = final_read("c1", 1, 3, 2000);
    read.phys_offset = Some(8192);
    h.push(read);
    let placement = result(&h, Check::Placement);
    assert_eq!(placement.counter("commitlog offsets compared"), 1);
    assert!(
        matches!(
            &placement.violations[..],
            [Violation::PhysMismatch {
                acked_phys: 4096,
                read_phys: 8192,
                ..
            }]
        ),
        "{:?}",
        placement.violations
    );
}

#[test]
fn two_acknowledgements_for_one_position_are_flagged() {
    let mut h = clean();
    h.push(acked("p2", "x1", 0, 1, 500)); // k2 was acked there
    h.push(final_read("x1", 0, 3, 2000));
    let found = violations(&h, Check::Placement);
    assert!(
        found
            .iter()
            .any(|v| matches!(v, Violation::TwoAcksOnePosition { first, second, .. } if first == "k2" && second == "x1")),
        "{found:?}"
    );
}

#[test]
fn a_hole_in_a_queue_of_the_final_read_is_a_gap() {
    let h = without(clean(), |e| is_final_read_of(e, "k2"));
    let found = violations(&h, Check::QueueOffsets);
    assert!(
        matches!(&found[..], [Violation::OffsetGap { from: 1, to: 2, queue }] if queue.queue_id == 0),
        "{found:?}"
    );
}

#[test]
fn two_messages_at_one_position_or_a_read_going_back_are_flagged() {
    let mut h = clean();
    h.push(final_read("k1", 0, 2, 2000)); // k4 is there; also k1 read twice
    h.push(final_read("k0", 0, 0, 2001)); // a re-read of a seen position: fine
    let found = violations(&h, Check::QueueOffsets);
    assert!(
        matches!(&found[..], [Violation::PositionConflict { first, second, .. }] if first == "k4" && second == "k1"),
        "{found:?}"
    );

    // The final read reaches queue 0 offset 2 before offset 1.
    let mut h = without(clean(), |e| is_final_read_of(e, "k2"));
    h.push(final_read("k2", 0, 1, 2000));
    let found = violations(&h, Check::QueueOffsets);
    assert!(
        matches!(
            &found[..],
            [Violation::ReadOutOfOrder {
                offset: 1,
                after: 2,
                ..
            }]
        ),
        "{found:?}"
    );
}
