//! The state machine's snapshots against a real message store, without openraft driving them:
//! re-installing the node's own snapshot (openraft does it at startup when `sm-meta` is older)
//! and an install interrupted by a crash.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::snapshot::INSTALLING_MAGIC;
use super::*;
use crate::raft::tests::cluster::{QUEUES, TOPIC, message};
use crate::raft::types::log_id;
use crate::store::{LogId as StoreLogId, MessageStoreOptions, NewEntry, RecordKind};

const SEG: u64 = 16 * 1024;

fn open(dir: &Path) -> (Arc<MessageStore>, Arc<SmShared>) {
    let store = Arc::new(MessageStore::open(MessageStoreOptions::in_dir(dir, SEG)).expect("store"));
    let shared = SmShared::open(store.clone(), dir).expect("state machine");
    (store, shared)
}

/// Appends messages `seqs` as one record each (indexes follow the log) and applies them.
fn append_and_apply(store: &MessageStore, shared: &SmShared, seqs: std::ops::Range<u64>) {
    let log = store.commitlog();
    for seq in seqs {
        let index = log.view().last.map_or(1, |l| l.index + 1);
        let body = message(seq);
        log.append(&[NewEntry {
            index,
            term: 1,
            kind: RecordKind::Message,
            body: &body,
        }])
        .expect("append");
        let record = log.get(index).expect("read").expect("present");
        let entry = LogEntry::from_record(&record).expect("entry");
        shared.apply_one(&entry).expect("apply");
    }
}

fn queue_bounds(store: &MessageStore) -> Vec<(u64, u64)> {
    (0..QUEUES)
        .map(|q| {
            let queue = store.consume_queues().get(TOPIC, q).expect("queue");
            (queue.min_offset(), queue.max_offset())
        })
        .collect()
}

/// Purges the log up to `upto` the way retention does: snapshot at the purge point first.
fn purge(store: &MessageStore, shared: &SmShared, upto: u64) {
    shared.set_snapshot_target(upto);
    shared.build().expect("snapshot");
    let log = store.commitlog();
    log.purge_upto(StoreLogId {
        term: 1,
        index: upto,
    })
    .expect("purge");
    let first_kept = log.segments().first().map_or(0, |(start, _)| *start);
    store.trim_derived(first_kept).expect("trim");
}

/// Issue 9, finding 1: openraft re-installs the node's own snapshot at startup when `sm-meta`
/// is older; the install reset every queue (and, once the log was purged up to the snapshot,
/// the whole log), so retained messages could no longer be pulled from that node.
#[test]
fn reinstalling_the_nodes_own_snapshot_keeps_its_log_and_queues() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, shared) = open(dir.path());
    append_and_apply(&store, &shared, 0..600);
    let segments = store.commitlog().segments();
    assert!(segments.len() > 3, "{} segments", segments.len());
    let upto = store
        .commitlog()
        .first_record_in_segment(segments[2].0)
        .expect("record")
        .index
        - 1;
    purge(&store, &shared, upto);
    append_and_apply(&store, &shared, 600..700);
    let view = store.commitlog().view();
    let bounds = queue_bounds(&store);
    assert!(bounds.iter().all(|&(min, _)| min > 0), "{bounds:?}");

    let snapshot = shared
        .current_snapshot()
        .expect("read")
        .expect("a snapshot");
    assert_eq!(snapshot.meta.last_log_id, Some(log_id(1, upto)));
    shared
        .install(&snapshot.meta, &snapshot.snapshot)
        .expect("install");

    assert_eq!(store.commitlog().view(), view);
    assert_eq!(queue_bounds(&store), bounds);
    for (q, &(min, max)) in bounds.iter().enumerate() {
        let queue = store.consume_queues().get(TOPIC, q as u32).expect("queue");
        assert_eq!(queue.read(min, usize::MAX).len() as u64, max - min);
    }
}

/// Issue 9, finding 6: a snapshot install that resets the log was not crash-atomic. Its
/// `installing` file, found at open, makes the node redo it before anything else runs.
#[test]
fn an_install_interrupted_by_a_crash_is_redone_at_open() {
    let leader_dir = tempfile::tempdir().expect("temp dir");
    let (leader, leader_sm) = open(leader_dir.path());
    append_and_apply(&leader, &leader_sm, 0..600);
    let upto = 500;
    leader_sm.set_snapshot_target(upto);
    let snapshot = leader_sm.build().expect("snapshot");
    let next_position = leader
        .commitlog()
        .get(upto + 1)
        .expect("read")
        .expect("present")
        .position();

    let dir = tempfile::tempdir().expect("temp dir");
    {
        let (store, shared) = open(dir.path());
        append_and_apply(&store, &shared, 0..10);
        // The install got as far as its marker, then the process died.
        let bytes = encode(&(&snapshot.meta, &snapshot.snapshot)).expect("encode");
        write_small_file(&shared.installing_path, INSTALLING_MAGIC, &bytes).expect("marker");
    }
    let (store, shared) = open(dir.path());
    assert!(!shared.installing_path.exists());
    let view = store.commitlog().view();
    assert_eq!(
        (view.first, view.last, view.end),
        (None, None, next_position)
    );
    let mut leader_bounds = Vec::new();
    for q in 0..QUEUES {
        let offset = leader
            .consume_queues()
            .get(TOPIC, q)
            .expect("queue")
            .offset_at_commitlog_offset(next_position);
        leader_bounds.push((offset, offset));
    }
    assert_eq!(queue_bounds(&store), leader_bounds);
    assert_eq!(shared.read().last_applied, Some(log_id(1, upto)));
    // The log continues exactly where the leader's does.
    let record = leader
        .commitlog()
        .get(upto + 1)
        .expect("read")
        .expect("present");
    store
        .commitlog()
        .append_raw(&[record.as_bytes()])
        .expect("the next record lands at the leader's position");
}

/// Found by the fault campaign: a full disk on the leader made retention build a snapshot,
/// whose checkpoint write failed with ENOSPC; openraft stopped the core and the node exited.
/// The builder now waits for the space like appends and applies do, and keeps its target.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_build_on_a_full_disk_waits_for_space_and_keeps_its_target() {
    let disk = match crate::store::small_disk::SmallDisk::mount(2 << 20) {
        Ok(disk) => disk,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let dir = disk.path().join("node");
    std::fs::create_dir_all(&dir).expect("dir");
    let mut options = MessageStoreOptions::in_dir(&dir, SEG);
    options.commitlog.index_entries_per_file = 1024;
    options.key_index_slots = 64;
    options.key_index_entries = 256;
    let store = Arc::new(MessageStore::open(options).expect("store"));
    let shared = SmShared::open(store.clone(), &dir).expect("state machine");
    append_and_apply(&store, &shared, 0..40);
    shared.set_snapshot_target(20);
    let filler = disk.path().join("filler");
    let mut file = std::fs::File::create(&filler).expect("filler");
    let chunk = vec![0u8; 4096];
    while std::io::Write::write_all(&mut file, &chunk).is_ok() {}
    drop(file);
    let mut builder = StateMachine::new(shared.clone());
    let building = tokio::spawn(async move { builder.build_snapshot().await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !building.is_finished(),
        "the build waits while the disk is full"
    );
    assert!(store.blocked().is_some(), "and the node says why");
    std::fs::remove_file(&filler).expect("free the space");
    let snapshot = tokio::time::timeout(Duration::from_secs(10), building)
        .await
        .expect("the build finishes once there is space")
        .expect("task")
        .expect("snapshot");
    assert_eq!(snapshot.meta.last_log_id.map(|id| id.index), Some(20));
    assert!(store.blocked().is_none());
}

/// Issue 12: applying a transaction's settlement (the committed message and its op record in
/// one entry) marks the half message settled; a restart that re-applies the entry (its
/// `sm-meta` older than the log) settles it the same way and places the message once.
#[test]
fn a_settlement_reapplied_after_a_restart_settles_once_and_stores_once() {
    use crate::message::transaction::op_message;
    use crate::message::{MessageToStore, encode_message_into};

    let dir = tempfile::tempdir().expect("temp dir");
    let (store, shared) = open(dir.path());
    append_and_apply(&store, &shared, 0..3);
    shared
        .checkpoint()
        .expect("checkpoint before the settlement");

    let committed = MessageToStore::new(TOPIC, 1, b"committed".to_vec());
    let mut body = Vec::new();
    encode_message_into(&committed, &mut body).expect("encode");
    encode_message_into(&op_message(7), &mut body).expect("encode");
    let log = store.commitlog();
    let index = log.view().last.map_or(1, |l| l.index + 1);
    log.append(&[NewEntry {
        index,
        term: 1,
        kind: RecordKind::MessageBatch,
        body: &body,
    }])
    .expect("append");
    let entry =
        LogEntry::from_record(&log.get(index).expect("read").expect("present")).expect("entry");
    shared.apply_one(&entry).expect("apply");
    assert!(shared.tables().transactions.is_settled(7));
    let in_queue_1 = || {
        let q = store.consume_queues().get(TOPIC, 1).expect("queue");
        q.max_offset() - q.min_offset()
    };
    let before = in_queue_1();
    // Derived data flushed, sm-meta not: the restart re-applies the entry.
    store.checkpoint_derived().expect("derived data");
    drop(shared);
    drop(store);

    let (store, shared) = open(dir.path());
    assert!(
        !shared.tables().transactions.is_settled(7),
        "sm-meta predates the settlement"
    );
    let entry = LogEntry::from_record(&store.commitlog().get(index).expect("read").expect("kept"))
        .expect("entry");
    shared.apply_one(&entry).expect("re-apply");
    assert!(shared.tables().transactions.is_settled(7));
    let q = store.consume_queues().get(TOPIC, 1).expect("queue");
    assert_eq!(q.max_offset() - q.min_offset(), before, "placed once");
}
