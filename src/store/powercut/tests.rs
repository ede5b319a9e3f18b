//! The simulator itself: what each style keeps, determinism, unlinks and replaced files.
//! The campaigns that drive the store through cuts are in `campaign_log.rs` and
//! `campaign_store.rs`; the raft group's in `raft/tests/powercut.rs`.
//!
//! # Powercut notes: findings
//!
//! Each finding names the campaign, seeds that showed it (replay: `POWERCUT_SEED=<seed> cargo
//! test --lib <test> -- --include-ignored`; timing-dependent ones may need a few runs), the
//! message, the cause and the fix. All are fixed; every campaign runs in CI with a bounded
//! set of seeds, and `scripts/powercut-campaign.sh` runs them long.
//!
//! * **A. A pad marker outlives its record** (`recovery.rs`). Commitlog campaign, seeds 138, 152,
//!   18, 86: "the log does not continue right after its last record LogId { term: 7, index:
//!   32 } left: 65536 right: 63832". A record that does not fit the rest of a segment writes a pad marker there and
//!   starts the next segment. The pad's page can reach the disk without the record's (the
//!   flush of the previous batch writes that page back, or the kernel does). Recovery treats
//!   the pad as "the log continues in the next segment" even when nothing valid follows, so
//!   the recovered end is the next segment's start instead of the end of the last record. A
//!   new leader's *different* next record that fits is then placed before the boundary on
//!   the leader and after it here: `PositionMismatch`, a replica that can no longer follow.
//!   Fixed: when the scan crosses a pad marker and nothing valid follows, the log ends at the
//!   marker and the marker is cut with the tail (`recovery`).
//! * **A2. Reset's unlinks are not durable** (`commitlog.rs` reset, `segment_list`/`segment`
//!   deletes). Commitlog campaign, seeds 90, 75: "the log came back empty but does not continue
//!   at its base LogBase { index: 145, position: 343984 } left: 156240". `reset`
//!   saves the base (fsynced), then unlinks every segment, and no directory fsync follows
//!   (`Segment::delete_file` never syncs the directory). A cut brings the old segments back;
//!   recovery ignores a base that lies past them, rescans them and continues the log at their
//!   end (the next append of the base index is then refused: `NotContiguous`). Fixed: `reset`
//!   syncs both directories after deleting, and recovery drops segments wholly below the base.
//! * **B. Stamped queue offsets are not durable when the applied checkpoint is**
//!   (`message_store.rs` `checkpoint_derived`). Message-store campaign, a third of the seeds (0,
//!   6, 15, ...): "record 31 came back with other bytes, only in stamped queue offsets"; raft
//!   campaign seeds 4, 24, 30: "acknowledged message 914 (index 623): stamped queue offset
//!   left: 0 right: 154", and seeds 78, 127: "record 285 differs between node 1 and node 2".
//!   `checkpoint_derived` flushes consume queues and key index and writes `applied`, but the
//!   QUEUEOFFSET stamps it relies on sit in the commitlog, only marked dirty for the next
//!   commitlog flush. After a cut the checkpoint vouches for records whose stamps reverted to
//!   0; they are not dispatched again, so pulls return messages whose queueOffset disagrees
//!   with their consume-queue unit, and replicas differ byte for byte. Fixed:
//!   `checkpoint_derived` waits for the commitlog (stamps included) to be durable first.
//! * **C. Retention purges past the applied checkpoint** (`message_store.rs`
//!   `plan_retention`, and the raft retention floor on a follower). Message-store campaign,
//!   seed 135 (139, 214, 224 when B does not come first): "TopicA/0 max offset left: 7
//!   right: 8"; raft campaign seeds 19,
//!   174: "stamped queue offset left: 88 right: 97". The floor is capped at the in-memory
//!   applied record, not at `checkpoint.applied`. After a cut the consume-queue units of the
//!   purged records past the checkpoint are gone and cannot be replayed (their records are
//!   gone too), so the queue's max offset falls back and every later message gets another
//!   offset than on the other replicas. Fixed: derived data is checkpointed before every purge
//!   (`MessageStore::run_retention` and the raft log store's `purge` checkpoint first).
//! * **D. An emptied log drops its queues** (`message_store.rs` `open`). Message-store
//!   campaign, seed 113, a *gentle* cut (a plain process crash): "TopicA/0 max
//!   offset left: 0 right: 16". When retention purged every record, `open` discards the
//!   checkpoint's applied point (it must be `<= view.last`, and there is no last) and cuts
//!   derived data back to offset 0: every queue restarts at 0. Fixed: an applied point below
//!   the index the log continues with (purge point, base) is kept.
//!
//! Not met so far (raft campaign, 200 seeds, 1,000+ cuts incl. 367 kills with proposals in
//! flight): a node that fails to restart because its committed or applied id is ahead of its
//! durable log, and a snapshot install that loses the log; the schedules do reach the windows
//! (kills during proposals, purges past a node that is down, then its return by snapshot).

use super::*;
use crate::store::durable_file;
use crate::store::segment::{Segment, sync_parent_dir};

mod campaign_log;
mod campaign_store;

/// Durability acknowledgements delivered by `on_durable` callbacks: (generation, index). A
/// campaign starts a new generation at each truncation or reset, and ignores older ones.
#[derive(Debug, Default, Clone)]
struct Acks(Arc<Mutex<Vec<(u64, u64)>>>);

impl Acks {
    /// Registers a callback acknowledging `upto` in `generation` once durable.
    fn register(&self, log: &crate::store::CommitLog, generation: u64, upto: u64) {
        let acks = self.0.clone();
        log.on_durable(Box::new(move |r| {
            if r.is_ok() {
                lock(&acks).push((generation, upto));
            }
        }));
    }

    /// The highest index acknowledged in `generation` since the last call.
    fn take(&self, generation: u64) -> Option<u64> {
        std::mem::take(&mut *lock(&self.0))
            .into_iter()
            .filter(|&(g, _)| g == generation)
            .map(|(_, i)| i)
            .max()
    }
}

const SIZE: u64 = 8 * PAGE;

/// A segment whose pages 0 and 1 are synced with `a`, then pages 1..4 overwritten with `b`.
fn half_synced(root: &Path) -> PathBuf {
    let path = root.join("seg").join("00000000000000000000");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let seg = Segment::create(&path, 0, SIZE).unwrap();
    seg.write(0, &vec![b'a'; 2 * PAGE as usize]).unwrap();
    seg.flush(0, 2 * PAGE).unwrap();
    seg.publish(PAGE);
    seg.write(PAGE, &vec![b'b'; 3 * PAGE as usize]).unwrap();
    path
}

fn page(bytes: &[u8], p: u64) -> &[u8] {
    &bytes[(p * PAGE) as usize..((p + 1) * PAGE) as usize]
}

#[test]
fn a_harsh_cut_keeps_exactly_what_was_synced() {
    let dir = tempfile::tempdir().unwrap();
    let _t = track(dir.path()).unwrap();
    let path = half_synced(dir.path());
    fs::write(dir.path().join("abort"), b"").unwrap();
    let s = cut(dir.path(), 0).unwrap();
    assert_eq!(s.style, Style::Harsh);
    let bytes = fs::read(&path).unwrap();
    assert_eq!(bytes.len() as u64, SIZE, "sizes stay");
    assert!(page(&bytes, 0).iter().all(|&b| b == b'a'));
    assert!(
        page(&bytes, 1).iter().all(|&b| b == b'a'),
        "synced, then changed"
    );
    assert!(bytes[2 * PAGE as usize..].iter().all(|&b| b == 0));
    assert_eq!(s.pages_reverted, 3);
    assert!(!dir.path().join("abort").exists(), "never synced");
}

#[test]
fn a_gentle_cut_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let _t = track(dir.path()).unwrap();
    let path = half_synced(dir.path());
    let before = fs::read(&path).unwrap();
    let s = cut(dir.path(), 1).unwrap();
    assert_eq!(s.style, Style::Gentle);
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(s.pages_kept, 3);
}

#[test]
fn a_random_cut_is_a_pagewise_mix_and_the_same_for_the_same_seed() {
    let mut outcomes = HashSet::new();
    for seed in (2..400).step_by(4) {
        let mut results = Vec::new();
        for _ in 0..2 {
            let dir = tempfile::tempdir().unwrap();
            let _t = track(dir.path()).unwrap();
            let path = half_synced(dir.path());
            cut(dir.path(), seed).unwrap();
            results.push(fs::read(&path).unwrap());
        }
        assert_eq!(results[0], results[1], "seed {seed}");
        let bytes = &results[0];
        assert!(page(bytes, 0).iter().all(|&b| b == b'a'), "seed {seed}");
        let shape: Vec<u8> = (1..4).map(|p| page(bytes, p)[0]).collect();
        for (p, &b) in shape.iter().enumerate() {
            let page = page(bytes, p as u64 + 1);
            assert!(page.iter().all(|&x| x == b), "whole pages only");
            let durable = if p == 0 { b'a' } else { 0 };
            assert!(b == durable || b == b'b', "seed {seed}: {shape:?}");
        }
        outcomes.insert(shape);
    }
    assert!(outcomes.len() >= 6, "every subset shows up: {outcomes:?}");
}

#[test]
fn an_unlink_comes_back_unless_a_directory_fsync_committed_it() {
    let dir = tempfile::tempdir().unwrap();
    let _t = track(dir.path()).unwrap();
    let path = half_synced(dir.path());
    let seg = Segment::open(&path, 0, SIZE).unwrap();
    seg.delete_file().unwrap();
    let s = cut(dir.path(), 0).unwrap();
    assert_eq!((s.ops_undone, s.files_restored), (1, 1));
    let bytes = fs::read(&path).unwrap();
    assert!(page(&bytes, 1).iter().all(|&b| b == b'a'));

    seg.delete_file().unwrap();
    sync_parent_dir(&path).unwrap();
    drop(seg);
    let s = cut(dir.path(), 0).unwrap();
    assert_eq!(s.pending, 0);
    assert!(!path.exists());
}

#[test]
fn a_replaced_small_file_is_old_or_new_never_a_mix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta");
    durable_file::write(&path, 7, b"first").unwrap();
    let _t = track(dir.path()).unwrap();
    durable_file::write(&path, 7, &vec![b'x'; 6000]).unwrap();
    let framed = fs::read(&path).unwrap();
    cut(dir.path(), 0).unwrap();
    assert_eq!(
        fs::read(&path).unwrap(),
        framed,
        "committed by the directory fsync"
    );

    // A replace whose directory fsync never ran: a harsh cut brings the old file back whole.
    fs::write(&path, b"new").unwrap();
    replaced(&path, b"new");
    let s = cut(dir.path(), 0).unwrap();
    assert_eq!(s.ops_undone, 1);
    assert_eq!(fs::read(&path).unwrap(), framed);
    // The gentle cut keeps it.
    fs::write(&path, b"new").unwrap();
    replaced(&path, b"new");
    cut(dir.path(), 1).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"new");
}

/// Issue 9, finding 9: after a process crash the records it appended are in the page cache
/// only; an unclean restart recovered them (and from then on vouched for them, in the
/// committed id among others) but synced only the last segment, so a power cut later lost
/// the ones in earlier segments. Every segment past the checkpoint is synced at such a
/// restart.
#[test]
fn an_unclean_restart_makes_what_it_recovered_durable() {
    use crate::store::{CommitLog, CommitLogOptions, LogId, NewEntry, NodeMeta, RecordKind};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let _t = track(root).unwrap();
    let opts = CommitLogOptions {
        flush_interval: std::time::Duration::from_secs(3600),
        checkpoint_interval: std::time::Duration::from_secs(3600),
        index_entries_per_file: 256,
        ..CommitLogOptions::in_dir(root, 16 * 1024)
    };
    let body = vec![9u8; 3000];
    {
        let log = CommitLog::open(opts.clone()).unwrap();
        for index in 1..=20 {
            log.append(&[NewEntry {
                index,
                term: 1,
                kind: RecordKind::Admin,
                body: &body,
            }])
            .unwrap();
        }
        assert!(log.segments().len() >= 3);
        // killed: nothing flushed, the page cache keeps it all (no cut)
    }
    {
        let log = CommitLog::open(opts.clone()).unwrap();
        assert_eq!(log.view().last.map(|l| l.index), Some(20));
        log.save_committed(Some(LogId { term: 1, index: 20 }));
        log.flush().unwrap();
        // killed again, then the power goes
    }
    let committed = NodeMeta::load(&root.join("raft-meta")).unwrap().committed;
    cut(root, 0).unwrap();
    let log = CommitLog::open(opts).unwrap();
    assert_eq!(committed.map(|c| c.index), Some(20));
    assert_eq!(
        log.view().last.map(|l| l.index),
        Some(20),
        "what the node vouched for is back"
    );
}

/// Found by the commitlog campaign (seeds 134 and 804): after a reset whose base lies in the last bytes
/// of a segment, the first record went to the next segment and a cut lost it; recovery then
/// continued the empty log at that segment instead of the base, where the leader places its
/// next record (a smaller one fits before the boundary), and expected the index after an old
/// purge point instead of the base's.
#[test]
fn an_empty_log_after_a_reset_near_a_segment_end_continues_at_its_base() {
    use crate::store::{CommitLog, CommitLogOptions, LogBase, NewEntry, RecordKind};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let _t = track(root).unwrap();
    let seg = 16 * 1024;
    let opts = CommitLogOptions {
        flush_interval: std::time::Duration::from_secs(3600),
        checkpoint_interval: std::time::Duration::from_secs(3600),
        index_entries_per_file: 256,
        ..CommitLogOptions::in_dir(root, seg)
    };
    let base = LogBase {
        index: 50,
        position: 3 * seg - 64,
    };
    {
        let log = CommitLog::open(opts.clone()).unwrap();
        // A purge point from before the reset (campaign seed 804): the log must still continue
        // at the base, not after the old purge point.
        let old = vec![4u8; 100];
        for index in 1..=10 {
            log.append(&[NewEntry {
                index,
                term: 1,
                kind: RecordKind::Admin,
                body: &old,
            }])
            .unwrap();
        }
        log.purge_upto(crate::store::LogId { term: 1, index: 8 })
            .unwrap();
        log.reset(base).unwrap();
        let body = vec![5u8; 500];
        let a = log
            .append(&[NewEntry {
                index: 50,
                term: 2,
                kind: RecordKind::Admin,
                body: &body,
            }])
            .unwrap();
        assert_eq!(a[0].position, 3 * seg);
        // killed before the record was flushed, then the power goes
    }
    cut(root, 0).unwrap();
    let log = CommitLog::open(opts).unwrap();
    assert_eq!(log.view().end, base.position);
    let small = vec![6u8; 8];
    let a = log
        .append(&[NewEntry {
            index: 50,
            term: 3,
            kind: RecordKind::Admin,
            body: &small,
        }])
        .unwrap();
    assert_eq!(
        a[0].position, base.position,
        "a record that fits goes at the base"
    );
}
