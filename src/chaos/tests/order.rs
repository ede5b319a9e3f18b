//! Orderly sends: one sharding key read in send order, in the final read and by orderly
//! consumers; overlapping sends are not ordered.

use super::{
    acked, clean, final_read, is_final_read_of, result, violations, without, workload_read,
};
use crate::chaos::check::Check;
use crate::chaos::history::{Event, History};
use crate::chaos::violation::Violation;

/// The clean history with the final read's s1 and s2 (queue 2, offsets 1 and 2) swapped.
fn swapped_in_final_read() -> History {
    let mut h = without(clean(), |e| {
        is_final_read_of(e, "s1") || is_final_read_of(e, "s2")
    });
    h.push(final_read("s2", 2, 1, 2000));
    h.push(final_read("s1", 2, 2, 2001));
    h
}

#[test]
fn an_orderly_key_read_out_of_send_order_is_flagged() {
    let found = violations(&swapped_in_final_read(), Check::Order);
    assert_eq!(found.len(), 1, "{found:?}");
    let Violation::OrderBroken {
        sharding_key,
        sent_first,
        sent_later,
        seen_by,
        ..
    } = &found[0]
    else {
        panic!("{found:?}");
    };
    assert_eq!(
        (
            sharding_key.as_str(),
            sent_first.as_str(),
            sent_later.as_str(),
            seen_by.as_str()
        ),
        ("order-1", "s1", "s2", "the final read")
    );
}

#[test]
fn an_orderly_consumer_receiving_out_of_send_order_is_flagged() {
    let mut h = without(
        clean(),
        |e| matches!(e, Event::Consumed(c) if c.orderly && (c.key == "s0" || c.key == "s3")),
    );
    for (key, offset, time) in [("s3", 3, 190), ("s0", 0, 195)] {
        let mut read = workload_read(key, 2, offset, time);
        read.consumer_group = "CO".into();
        read.orderly = true;
        h.push(read);
    }
    let found = violations(&h, Check::Order);
    assert!(
        matches!(&found[..], [Violation::OrderBroken { sent_first, seen_by, .. }]
            if sent_first == "s0" && seen_by == "consumer group CO"),
        "{found:?}"
    );
    // A redelivery after the first receipt does not count.
    let mut h = clean();
    let mut again = workload_read("s0", 2, 0, 300);
    again.consumer_group = "CO".into();
    again.orderly = true;
    h.push(again);
    assert_eq!(violations(&h, Check::Order), vec![]);
}

#[test]
fn overlapping_orderly_sends_may_be_read_in_either_order() {
    let mut h = clean();
    for (client, key, offset, start) in [("o2", "v1", 5, 500), ("o3", "v2", 4, 502)] {
        let mut send = acked(client, key, 2, offset, start); // each call lasts 5 ms
        send.sharding_key = Some("order-1".into());
        h.push(send);
        h.push(final_read(key, 2, offset, 2000 + offset as u64));
    }
    let order = result(&h, Check::Order);
    assert_eq!(order.violations, vec![]);
    assert_eq!(order.counter("orderly sends acknowledged"), 6);
}

#[test]
fn one_client_sending_in_the_millisecond_its_last_send_ended_is_ordered() {
    let mut h = clean();
    for (key, offset, start) in [("w1", 5, 500), ("w2", 4, 505)] {
        let mut send = acked("o1", key, 2, offset, start);
        send.sharding_key = Some("order-1".into());
        h.push(send);
        h.push(final_read(key, 2, offset, 2000 + offset as u64));
    }
    let found = violations(&h, Check::Order);
    assert!(
        matches!(&found[..], [Violation::OrderBroken { sent_first, sent_later, .. }]
            if sent_first == "w1" && sent_later == "w2"),
        "{found:?}"
    );
}
