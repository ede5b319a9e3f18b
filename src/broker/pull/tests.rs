use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::*;
use crate::broker::pull_waiters::PullWaiters;
use crate::message::{MessageToStore, decode_message, encode_message, property, walk_messages};
use crate::store::ArrivalListener;
use crate::store::{MessageStoreOptions, NewEntry, RecordKind};

/// A store holding `n` messages on TopicA queue 0, tagged TagA / TagB alternately (body = seq).
fn store_with(n: u64) -> (tempfile::TempDir, MessageStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(MessageStoreOptions::in_dir(dir.path(), 1 << 20)).unwrap();
    let addr: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    for seq in 0..n {
        let mut properties = BTreeMap::new();
        let tag = if seq % 2 == 0 { "TagA" } else { "TagB" };
        properties.insert(property::TAGS.to_string(), tag.to_string());
        let body = encode_message(&MessageToStore {
            born_host: addr,
            store_host: addr,
            properties,
            ..MessageToStore::new("TopicA", 0, seq.to_string().into_bytes())
        })
        .unwrap();
        let index = seq + 1;
        store
            .commitlog()
            .append(&[NewEntry {
                index,
                term: 1,
                kind: RecordKind::Message,
                body: &body,
            }])
            .unwrap();
        let record = store.commitlog().get(index).unwrap().unwrap();
        store.dispatch(&record).unwrap();
    }
    (dir, store)
}

fn request<'a>(offset: u64, max: u32, filter: &'a TagFilter) -> PullRequest<'a> {
    PullRequest {
        topic: "TopicA",
        queue_id: 0,
        offset,
        max_messages: max,
        max_bytes: DEFAULT_MAX_BYTES,
        filter: filter.into(),
    }
}

fn bodies(outcome: &PullOutcome) -> Vec<String> {
    let body = outcome.body();
    walk_messages(&body)
        .map(|span| {
            let (at, len) = span.unwrap();
            let (m, _) = decode_message(&body[at..at + len]).unwrap();
            String::from_utf8(m.message.body).unwrap()
        })
        .collect()
}

#[test]
fn a_pull_returns_messages_in_queue_order_up_to_the_count() {
    let (_dir, store) = store_with(50);
    let all = TagFilter::parse("*");
    let out = pull(&store, &request(10, 32, &all)).unwrap();
    assert_eq!(out.status, PullStatus::Found);
    assert_eq!(out.messages.len(), 32);
    assert_eq!(out.next_begin_offset, 42);
    assert_eq!((out.min_offset, out.max_offset), (0, 50));
    assert_eq!(bodies(&out)[0], "10");
    assert_eq!(bodies(&out)[31], "41");
}

#[test]
fn the_byte_budget_stops_a_pull_but_one_message_always_goes() {
    let (_dir, store) = store_with(20);
    let all = TagFilter::parse("");
    let mut req = request(0, 32, &all);
    req.max_bytes = 1;
    let out = pull(&store, &req).unwrap();
    assert_eq!(out.messages.len(), 1);
    assert_eq!(out.next_begin_offset, 1);
}

#[test]
fn tag_filters_match_by_hash_and_offsets_advance_over_the_rest() {
    let (_dir, store) = store_with(20);
    let b = TagFilter::parse("TagB");
    let out = pull(&store, &request(0, 32, &b)).unwrap();
    assert_eq!(
        bodies(&out),
        ["1", "3", "5", "7", "9", "11", "13", "15", "17", "19"]
    );
    assert_eq!(out.next_begin_offset, 20);
    let either = TagFilter::parse(" TagA ||TagB ");
    assert_eq!(either.tags().len(), 2);
    assert_eq!(
        pull(&store, &request(0, 32, &either))
            .unwrap()
            .messages
            .len(),
        20
    );
    let none = TagFilter::parse("TagC");
    let out = pull(&store, &request(0, 32, &none)).unwrap();
    assert_eq!(out.status, PullStatus::NoMatchedMessage);
    assert_eq!(out.status.response_code(0).as_i32(), 20);
    assert_eq!(out.next_begin_offset, 20);
}

#[test]
fn sql92_filters_read_every_unit_and_judge_the_messages_properties() {
    let (_dir, store) = store_with(20);
    let all = TagFilter::parse("*");
    let odd = crate::message::filter::Sql92::compile("TAGS = 'TagB'").unwrap();
    let mut req = request(0, 3, &all);
    req.filter = MessageFilter::Sql92(&odd);
    let out = pull(&store, &req).unwrap();
    assert_eq!(bodies(&out), ["1", "3", "5"]);
    assert_eq!(out.next_begin_offset, 6, "after the last one delivered");
    let missing = crate::message::filter::Sql92::compile("price > 10.0").unwrap();
    req.filter = MessageFilter::Sql92(&missing);
    req.max_messages = 32;
    let out = pull(&store, &req).unwrap();
    assert_eq!(out.status, PullStatus::NoMatchedMessage);
    assert_eq!(
        out.next_begin_offset, 20,
        "offsets advance over what did not match"
    );
}

#[test]
fn offsets_outside_the_queue_get_the_statuses_clients_expect() {
    let (_dir, store) = store_with(5);
    let all = TagFilter::parse("*");
    let at_end = pull(&store, &request(5, 32, &all)).unwrap();
    assert_eq!(
        (at_end.status, at_end.next_begin_offset),
        (PullStatus::OffsetOverflowOne, 5)
    );
    assert_eq!(at_end.status.response_code(5).as_i32(), 19);
    let past = pull(&store, &request(9, 32, &all)).unwrap();
    assert_eq!(
        (past.status, past.next_begin_offset),
        (PullStatus::OffsetOverflowBadly, 5)
    );
    assert_eq!(past.status.response_code(9).as_i32(), 21);
    let mut unknown = request(0, 32, &all);
    unknown.queue_id = 3;
    let out = pull(&store, &unknown).unwrap();
    assert_eq!(out.status, PullStatus::NoMessageInQueue);
    assert_eq!(out.status.response_code(0).as_i32(), 19);
    assert_eq!(out.status.response_code(7).as_i32(), 21);
}

#[tokio::test]
async fn a_held_pull_returns_as_soon_as_a_message_is_applied() {
    let (_dir, store) = store_with(3);
    let store = std::sync::Arc::new(store);
    let waiters = std::sync::Arc::new(PullWaiters::default());
    store.set_arrival_listener(waiters.clone());
    let arrived = waiters.queue("TopicA", 0);
    let all = TagFilter::parse("*");
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let extra = store_with(4).1; // a fourth message, built the same way
            let record = extra.commitlog().get(4).unwrap().unwrap();
            store.commitlog().append_raw(&[record.as_bytes()]).unwrap();
            let copy = store.commitlog().get(4).unwrap().unwrap();
            store.dispatch(&copy).unwrap();
        })
    };
    let started = std::time::Instant::now();
    let out = pull_or_wait(
        &store,
        &request(3, 32, &all),
        &arrived,
        std::time::Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(out.status, PullStatus::Found);
    assert_eq!(bodies(&out), ["3"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    writer.await.unwrap();
}

#[tokio::test]
async fn a_held_pull_gives_up_after_its_hold_time() {
    let (_dir, store) = store_with(2);
    let arrived = tokio::sync::Notify::new();
    let all = TagFilter::parse("*");
    let started = std::time::Instant::now();
    let out = pull_or_wait(
        &store,
        &request(2, 32, &all),
        &arrived,
        std::time::Duration::from_millis(150),
    )
    .await
    .unwrap();
    assert_eq!(out.status, PullStatus::OffsetOverflowOne);
    assert!(started.elapsed() >= std::time::Duration::from_millis(140));
    // Offsets that moved are answered at once, never held.
    let started = std::time::Instant::now();
    let out = pull_or_wait(
        &store,
        &request(9, 32, &all),
        &arrived,
        std::time::Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(out.status, PullStatus::OffsetOverflowBadly);
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}

/// Issue 9, finding 8: a flipped byte in an old message's body came back to the consumer with
/// code 0; pulls skipped the CRC. Now the read reports corruption (file and offset) instead.
#[test]
fn a_damaged_message_is_reported_never_served() {
    let (dir, store) = store_with(6);
    let unit = store
        .consume_queues()
        .get("TopicA", 0)
        .unwrap()
        .get(3)
        .unwrap();
    let segment = dir.path().join("commitlog").join(format!("{:020}", 0));
    let mut bytes = std::fs::read(&segment).unwrap();
    let last_body_byte = (unit.commitlog_offset + u64::from(unit.size)) as usize - 20;
    bytes[last_body_byte] ^= 0x01;
    std::fs::write(&segment, &bytes).unwrap();
    let all = TagFilter::parse("*");
    let good = pull(&store, &request(0, 3, &all)).unwrap();
    assert_eq!(bodies(&good), ["0", "1", "2"]);
    let err = pull(&store, &request(0, 6, &all)).unwrap_err().to_string();
    assert!(
        err.contains("corrupt") && err.contains(&segment.display().to_string()),
        "{err}"
    );
}

#[tokio::test]
async fn a_held_pull_is_not_woken_by_messages_of_another_queue() {
    let (_dir, store) = store_with(3);
    let waiters = std::sync::Arc::new(PullWaiters::default());
    let mine = waiters.queue("TopicA", 0);
    let _other = waiters.queue("TopicA", 1);
    let elsewhere = {
        let waiters = waiters.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            waiters.arrived("TopicA", 1);
            waiters.arrived("TopicB", 0);
        })
    };
    let all = TagFilter::parse("*");
    let started = std::time::Instant::now();
    let out = pull_or_wait(
        &store,
        &request(3, 32, &all),
        &mine,
        std::time::Duration::from_millis(200),
    )
    .await
    .unwrap();
    assert_eq!(out.status, PullStatus::OffsetOverflowOne);
    assert!(started.elapsed() >= std::time::Duration::from_millis(190));
    elsewhere.await.unwrap();
}
