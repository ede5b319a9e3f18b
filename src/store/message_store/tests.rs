use std::collections::BTreeMap;
use std::fs;
use std::net::SocketAddr;

use super::*;
use crate::message::{MessageToStore, decode_message, encode_message, property};
use crate::store::{LogId, NewEntry, RecordKind};

const SEG: u64 = 32 * 1024;

fn options(root: &Path) -> MessageStoreOptions {
    let mut o = MessageStoreOptions::in_dir(root, SEG);
    o.consume_queue_units_per_file = 8;
    o.key_index_entries = 64;
    o.commitlog.checkpoint_interval = std::time::Duration::from_secs(3600);
    o
}

/// The stored-message bytes of message `seq` for `topic`/`queue_id`.
fn message(topic: &str, queue_id: i32, seq: u64) -> Vec<u8> {
    let addr: SocketAddr = "127.0.0.1:30911".parse().unwrap();
    let mut properties = BTreeMap::new();
    properties.insert(property::KEYS.to_string(), format!("order-{seq} shared"));
    properties.insert(property::UNIQ_KEY.to_string(), format!("UNIQ{seq:028}"));
    properties.insert(
        property::TAGS.to_string(),
        if seq.is_multiple_of(2) {
            "TagA"
        } else {
            "TagB"
        }
        .into(),
    );
    encode_message(&MessageToStore {
        born_timestamp: 1_700_000_000_000,
        born_host: addr,
        store_timestamp: 1_700_000_000_000 + seq as i64,
        store_host: addr,
        properties,
        ..MessageToStore::new(topic, queue_id, format!("payload {seq}").into_bytes())
    })
    .unwrap()
}

/// Appends `n` records (index `from..`), each a batch of three messages over two queues of two
/// topics, and dispatches them as a state machine would once they are committed.
fn append_and_dispatch(store: &MessageStore, from: u64, n: u64) -> Vec<DispatchedMessage> {
    let mut out = Vec::new();
    for i in from..from + n {
        let mut body = message("TopicA", (i % 2) as i32, i * 3);
        body.extend(message("TopicA", ((i + 1) % 2) as i32, i * 3 + 1));
        body.extend(message("TopicB", 0, i * 3 + 2));
        store
            .commitlog()
            .append(&[NewEntry {
                index: i,
                term: 1,
                kind: RecordKind::MessageBatch,
                body: &body,
            }])
            .unwrap();
        let record = store.commitlog().get(i).unwrap().unwrap();
        out.extend(store.dispatch(&record).unwrap());
    }
    out
}

fn queue_snapshot(store: &MessageStore) -> Vec<(String, u32, u64, u64, Vec<CqUnit>)> {
    let mut v: Vec<_> = store
        .consume_queues()
        .queues()
        .iter()
        .map(|q| {
            let units = q.read(q.min_offset(), usize::MAX);
            (
                q.topic().to_string(),
                q.queue_id(),
                q.min_offset(),
                q.max_offset(),
                units,
            )
        })
        .collect();
    v.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    v
}

#[test]
fn dispatch_assigns_dense_queue_offsets_and_stamps_them_into_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(options(dir.path())).unwrap();
    let placed = append_and_dispatch(&store, 1, 20);
    assert_eq!(placed.len(), 60);
    let mut next: BTreeMap<(String, u32), u64> = BTreeMap::new();
    for m in &placed {
        let expected = next.entry((m.topic.clone(), m.queue_id)).or_insert(0);
        assert_eq!(
            m.queue_offset, *expected,
            "queue offsets are dense per queue"
        );
        *expected += 1;
        let bytes = store
            .commitlog()
            .read_at(m.physical_offset, u64::from(m.size))
            .unwrap()
            .unwrap();
        let (stored, _) = decode_message(&bytes).unwrap();
        assert_eq!(stored.message.queue_offset, m.queue_offset);
        assert_eq!(stored.message.physical_offset, m.physical_offset);
        assert_eq!(stored.message.topic, m.topic);
        let q = store.consume_queues().get(&m.topic, m.queue_id).unwrap();
        assert_eq!(
            q.get(m.queue_offset).unwrap().commitlog_offset,
            m.physical_offset
        );
    }
    assert_eq!(
        store
            .consume_queues()
            .get("TopicB", 0)
            .unwrap()
            .max_offset(),
        20
    );
    assert_eq!(store.applied().map(|a| a.index), Some(20));
}

#[test]
fn keys_and_unique_keys_find_their_messages() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(options(dir.path())).unwrap();
    let placed = append_and_dispatch(&store, 1, 30);
    // Record i carries messages 3i, 3i+1, 3i+2; records start at 1.
    let seq = 40u64;
    let target = &placed[(seq - 3) as usize];
    let found = store
        .key_index()
        .query(&target.topic, &format!("order-{seq}"), 0, i64::MAX, 10);
    assert_eq!(found, vec![target.physical_offset]);
    let uniq = store
        .key_index()
        .query(&target.topic, &format!("UNIQ{seq:028}"), 0, i64::MAX, 10);
    assert_eq!(uniq, vec![target.physical_offset]);
    let shared = store
        .key_index()
        .query("TopicB", "shared", 0, i64::MAX, 1000);
    assert_eq!(shared.len(), 30);
    assert!(shared.windows(2).all(|w| w[0] > w[1]), "newest first");
}

#[test]
fn a_crash_rebuilds_consume_queues_and_key_index_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (before, placed) = {
        let store = MessageStore::open(options(dir.path())).unwrap();
        append_and_dispatch(&store, 1, 10);
        store.checkpoint_derived().unwrap();
        store.commitlog().flush().unwrap();
        let placed = append_and_dispatch(&store, 11, 25);
        store
            .commitlog()
            .save_committed(Some(LogId { term: 1, index: 35 }));
        store.commitlog().flush().unwrap(); // persists the committed id (lazily saved meta)
        (queue_snapshot(&store), placed)
        // dropped without close: a crash
    };
    let store = MessageStore::open(options(dir.path())).unwrap();
    assert_eq!(queue_snapshot(&store), before);
    assert_eq!(store.applied().map(|a| a.index), Some(35));
    let last = placed.last().unwrap();
    let found = store
        .key_index()
        .query(&last.topic, "order-107", 0, i64::MAX, 10);
    assert_eq!(found, vec![last.physical_offset]);
}

#[test]
fn derived_data_past_the_checkpoint_is_cut_when_nothing_more_is_known_committed() {
    let dir = tempfile::tempdir().unwrap();
    let at_checkpoint = {
        let store = MessageStore::open(options(dir.path())).unwrap();
        append_and_dispatch(&store, 1, 8);
        store.checkpoint_derived().unwrap();
        store.commitlog().flush().unwrap();
        let snapshot = queue_snapshot(&store);
        append_and_dispatch(&store, 9, 8);
        snapshot
    };
    let store = MessageStore::open(options(dir.path())).unwrap();
    assert_eq!(queue_snapshot(&store), at_checkpoint);
    assert_eq!(store.applied().map(|a| a.index), Some(8));
    // Applying the rest again (as the raft layer would) gives the same offsets as before.
    for i in 9..=16 {
        let r = store.commitlog().get(i).unwrap().unwrap();
        store.dispatch(&r).unwrap();
    }
    assert_eq!(
        store
            .consume_queues()
            .get("TopicB", 0)
            .unwrap()
            .max_offset(),
        16
    );
}

#[test]
fn replicas_that_apply_the_same_records_hold_byte_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    let leader = MessageStore::open(options(&dir.path().join("leader"))).unwrap();
    let follower = MessageStore::open(options(&dir.path().join("follower"))).unwrap();
    append_and_dispatch(&leader, 1, 40);
    let records = leader.commitlog().read(1, 41, u64::MAX).unwrap();
    for r in &records {
        // The leader already stamped queue offsets into these bytes; the follower's copy is
        // verified (the CRC skips that field) and then stamped again with the same values.
        follower.commitlog().append_raw(&[r.as_bytes()]).unwrap();
        let copy = follower.commitlog().get(r.index()).unwrap().unwrap();
        follower.dispatch(&copy).unwrap();
    }
    assert_eq!(queue_snapshot(&leader), queue_snapshot(&follower));
    leader.close().unwrap();
    follower.close().unwrap();
    for sub in [
        "commitlog",
        "consumequeue/TopicA/0",
        "consumequeue/TopicA/1",
        "consumequeue/TopicB/0",
    ] {
        let l = dir.path().join("leader").join(sub);
        for entry in std::fs::read_dir(&l).unwrap() {
            let name = entry.unwrap().file_name();
            if name.to_string_lossy().len() == 20 {
                let f = dir.path().join("follower").join(sub).join(&name);
                assert_eq!(
                    std::fs::read(l.join(&name)).unwrap(),
                    std::fs::read(f).unwrap(),
                    "{sub}/{name:?}"
                );
            }
        }
    }
}

#[test]
fn retention_trims_consume_queues_below_the_first_kept_segment() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path());
    opts.retention.disk_max_used_ratio = 0.0; // "disk full": expired segments go at once
    opts.retention.file_reserved = std::time::Duration::ZERO;
    let store = MessageStore::open(opts).unwrap();
    append_and_dispatch(&store, 1, 200);
    let segments = store.commitlog().segments().len();
    assert!(segments > 3);
    let plan = store.run_retention(Some(u64::MAX)).unwrap().unwrap();
    assert_eq!(plan.segments, segments - 1);
    let q = store.consume_queues().get("TopicB", 0).unwrap();
    let first = q.get(q.min_offset()).unwrap();
    assert!(first.commitlog_offset >= plan.first_kept_position);
    assert_eq!(q.max_offset(), 200);
    assert!(
        store
            .commitlog()
            .read_at(first.commitlog_offset, u64::from(first.size))
            .unwrap()
            .is_some()
    );
    // Nothing applied beyond what is purged: the floor is capped at the applied record.
    assert_eq!(store.run_retention(Some(u64::MAX)).unwrap(), None);
}

/// Issue 9, finding 2: the checkpoint recorded the applied point without the commitlog being
/// durable up to it; a power cut then left derived data and `sm-meta` ahead of the log.
#[test]
fn the_checkpoint_never_vouches_for_records_that_are_not_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options(dir.path());
    o.commitlog.flush_interval = std::time::Duration::from_secs(3600);
    let store = MessageStore::open(o).unwrap();
    append_and_dispatch(&store, 1, 20);
    store.checkpoint_derived().unwrap();
    let applied = store.commitlog().checkpoint().applied.map(|a| a.index);
    assert_eq!(applied, Some(20));
    assert!(
        store.commitlog().flushed().map(|f| f.index) >= applied,
        "flushed {:?}, applied {applied:?}",
        store.commitlog().flushed()
    );
}

/// Appends `body` as the one-message record `index` (not dispatched) and reads it back.
fn append_one(store: &MessageStore, index: u64, body: &[u8]) -> Record {
    store
        .commitlog()
        .append(&[NewEntry {
            index,
            term: 1,
            kind: RecordKind::Message,
            body,
        }])
        .unwrap();
    store.commitlog().get(index).unwrap().unwrap()
}

/// Issue 9, finding 4: an I/O error while placing a message (here: its consume-queue directory
/// cannot be created) was logged and the message skipped on this replica only, so queue
/// offsets diverged. The dispatch now fails and the applied point stays; once the cause is
/// gone the same record is placed. A message that does not decode is still skipped, as on
/// every replica.
#[test]
fn a_local_io_error_fails_the_dispatch_instead_of_skipping_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(options(dir.path())).unwrap();
    append_and_dispatch(&store, 1, 2);
    let blocker = dir.path().join("consumequeue").join("TopicC");
    fs::write(&blocker, b"not a directory").unwrap();
    let record = append_one(&store, 3, &message("TopicC", 0, 99));
    assert!(store.dispatch(&record).is_err());
    assert_eq!(store.applied().map(|a| a.index), Some(2));
    fs::remove_file(&blocker).unwrap();
    let placed = store.dispatch(&record).unwrap();
    assert_eq!(placed.len(), 1);
    assert_eq!(
        (placed[0].topic.as_str(), placed[0].queue_offset),
        ("TopicC", 0)
    );

    // Content that no replica can place is skipped alike everywhere, and the log moves on.
    let record = append_one(&store, 4, &message("TopicC", -1, 100));
    assert!(store.dispatch(&record).unwrap().is_empty());
    assert_eq!(store.applied().map(|a| a.index), Some(4));
}

/// A message inside a batch record is verified with the record's CRC when read for a client
/// (a damaged property would pass its BODYCRC).
#[test]
fn a_damaged_message_inside_a_batch_is_reported_when_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(options(dir.path())).unwrap();
    let placed = append_and_dispatch(&store, 1, 3);
    let second = &placed[1];
    let read = |m: &DispatchedMessage| {
        store
            .commitlog()
            .read_message(m.physical_offset, u64::from(m.size), &mut None)
    };
    assert!(read(second).unwrap().is_some());
    let segment = dir.path().join("commitlog").join(format!("{:020}", 0));
    let mut bytes = fs::read(&segment).unwrap();
    let in_body = (second.physical_offset + u64::from(second.size)) as usize - 40;
    bytes[in_body] ^= 0x04;
    fs::write(&segment, &bytes).unwrap();
    let err = read(second).unwrap_err().to_string();
    assert!(err.contains("corrupt"), "{err}");
    // The whole record is suspect: its other messages are not served either.
    assert!(read(&placed[0]).is_err());
    assert!(
        read(&placed[3]).unwrap().is_some(),
        "the next record is intact"
    );
}

/// Issue 9, finding 9: queue minimums are not stored, and after a restart every queue started
/// at 0 again although retention had purged its first messages (consumers then walked up
/// through thousands of PULL_NOT_FOUND round trips). They are trimmed at open.
#[test]
fn queue_minimums_are_trimmed_again_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path());
    // One consume-queue file holds everything (as RocketMQ's 300,000 units do): retention
    // deletes no queue file, only the minimum says where the queue starts.
    opts.consume_queue_units_per_file = 4096;
    opts.retention.disk_max_used_ratio = 0.0;
    opts.retention.file_reserved = std::time::Duration::ZERO;
    let min_before = {
        let store = MessageStore::open(opts.clone()).unwrap();
        append_and_dispatch(&store, 1, 200);
        store.run_retention(Some(u64::MAX)).unwrap().unwrap();
        let min = store
            .consume_queues()
            .get("TopicB", 0)
            .unwrap()
            .min_offset();
        assert!(min > 0);
        store.close().unwrap();
        min
    };
    let store = MessageStore::open(opts).unwrap();
    let q = store.consume_queues().get("TopicB", 0).unwrap();
    assert!(
        q.min_offset() >= min_before,
        "{} < {min_before}",
        q.min_offset()
    );
    let first = q.get(q.min_offset()).unwrap();
    assert!(
        store
            .commitlog()
            .read_at(first.commitlog_offset, u64::from(first.size))
            .unwrap()
            .is_some()
    );
}
