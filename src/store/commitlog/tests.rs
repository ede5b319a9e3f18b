use std::sync::atomic::{AtomicUsize, Ordering};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

const SEG: u64 = 16 * 1024;

fn options(root: &Path) -> CommitLogOptions {
    CommitLogOptions {
        index_entries_per_file: 64,
        flush_interval: Duration::from_millis(20),
        // Tests decide when the checkpoint is written (close), unless they say otherwise.
        checkpoint_interval: Duration::from_secs(3600),
        ..CommitLogOptions::in_dir(root, SEG)
    }
}

fn open(root: &Path) -> CommitLog {
    CommitLog::open(options(root)).unwrap()
}

/// A body shaped like RocketMQ stored messages (TOTALSIZE first), `len` bytes, seeded content.
fn message_body(len: usize, seed: u64) -> Vec<u8> {
    let len = len.max(36);
    let mut b: Vec<u8> = (0..len).map(|i| (seed as usize + i * 7) as u8).collect();
    b[..4].copy_from_slice(&(len as i32).to_be_bytes());
    b
}

/// What a message body reads back as: the store stamped its PHYSICALOFFSET on append.
fn stamped(mut body: Vec<u8>, body_position: u64) -> Vec<u8> {
    body[28..36].copy_from_slice(&body_position.to_be_bytes());
    body
}

/// The body record `r` must hold, for records built by `message_body(len, index)`.
fn expected_body(r: &Record) -> Vec<u8> {
    stamped(message_body(r.body().len(), r.index()), r.body_position())
}

fn append_n(log: &CommitLog, from: u64, n: u64, term: u64, len: usize) -> Vec<Appended> {
    let bodies: Vec<Vec<u8>> = (from..from + n).map(|i| message_body(len, i)).collect();
    let entries: Vec<NewEntry<'_>> = bodies
        .iter()
        .enumerate()
        .map(|(k, b)| NewEntry {
            index: from + k as u64,
            term,
            kind: RecordKind::Message,
            body: b,
        })
        .collect();
    log.append(&entries).unwrap()
}

fn all_records(log: &CommitLog) -> Vec<Record> {
    let v = log.view();
    match (v.first, v.last) {
        (Some(f), Some(l)) => log.read(f, l.index + 1, u64::MAX).unwrap(),
        _ => Vec::new(),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn appended_entries_read_back_with_their_positions() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let appended = append_n(&log, 1, 20, 1, 300);
    let records = log.read(1, 21, u64::MAX).unwrap();
    assert_eq!(records.len(), 20);
    for (a, r) in appended.iter().zip(&records) {
        assert_eq!(a.index, r.index());
        assert_eq!(a.position, r.position());
        assert_eq!(r.body().as_ref(), expected_body(r).as_slice());
    }
    assert_eq!(log.view().first, Some(1));
    assert_eq!(log.view().last, Some(LogId { term: 1, index: 20 }));
    assert_eq!(log.get(21).unwrap(), None);
}

#[test]
fn reads_respect_the_byte_cap_but_return_at_least_one_record() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    append_n(&log, 0, 10, 1, 1000);
    let some = log.read(0, 10, 2500).unwrap();
    assert_eq!(some.len(), 2);
    let one = log.read(3, 10, 1).unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].index(), 3);
}

#[test]
fn records_never_cross_a_segment_end() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let mut rng = StdRng::seed_from_u64(7);
    for i in 0..300u64 {
        let len = rng.random_range(36..3000);
        let body = message_body(len, i);
        let a = log
            .append(&[NewEntry {
                index: i,
                term: 1,
                kind: RecordKind::Message,
                body: &body,
            }])
            .unwrap();
        let start = a[0].position % SEG;
        assert!(
            start + record::align(u64::from(a[0].length)) <= SEG,
            "record {i} crosses"
        );
    }
    assert!(log.segments().len() > 5);
}

#[test]
fn a_follower_copy_is_byte_identical_to_the_leader() {
    let dir = tempfile::tempdir().unwrap();
    let leader = open(&dir.path().join("leader"));
    let follower = open(&dir.path().join("follower"));
    let mut rng = StdRng::seed_from_u64(11);
    for i in 0..200u64 {
        let body = message_body(rng.random_range(36..2500), i);
        leader
            .append(&[NewEntry {
                index: i,
                term: 1 + i / 50,
                kind: RecordKind::Message,
                body: &body,
            }])
            .unwrap();
    }
    let records = leader.read(0, 200, u64::MAX).unwrap();
    for chunk in records.chunks(17) {
        let raws: Vec<&[u8]> = chunk.iter().map(|r| r.as_bytes().as_ref()).collect();
        follower.append_raw(&raws).unwrap();
    }
    leader.close().unwrap();
    follower.close().unwrap();
    let (l, f) = (
        dir.path().join("leader/commitlog"),
        dir.path().join("follower/commitlog"),
    );
    let names: Vec<_> = fs::read_dir(&l)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    for name in names {
        if name.to_string_lossy().len() == 20 {
            assert_eq!(
                fs::read(l.join(&name)).unwrap(),
                fs::read(f.join(&name)).unwrap()
            );
        }
    }
}

#[test]
fn a_follower_refuses_a_record_at_a_position_it_does_not_compute() {
    let dir = tempfile::tempdir().unwrap();
    let leader = open(&dir.path().join("leader"));
    let follower = open(&dir.path().join("follower"));
    append_n(&leader, 0, 2, 1, 100);
    append_n(&follower, 0, 1, 1, 200); // same index, different length: positions diverge
    let second = leader.get(1).unwrap().unwrap();
    let err = follower.append_raw(&[second.as_bytes()]).unwrap_err();
    assert!(
        matches!(err, StoreError::PositionMismatch { index: 1, .. }),
        "{err}"
    );
}

#[test]
fn gaps_and_backwards_terms_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    append_n(&log, 5, 3, 4, 100);
    let body = message_body(100, 0);
    let gap = NewEntry {
        index: 9,
        term: 4,
        kind: RecordKind::Message,
        body: &body,
    };
    assert!(matches!(
        log.append(&[gap]).unwrap_err(),
        StoreError::NotContiguous { .. }
    ));
    let back = NewEntry {
        index: 8,
        term: 3,
        kind: RecordKind::Message,
        body: &body,
    };
    assert!(matches!(
        log.append(&[back]).unwrap_err(),
        StoreError::NotContiguous { .. }
    ));
    let too_big = vec![0u8; SEG as usize];
    let big = NewEntry {
        index: 8,
        term: 4,
        kind: RecordKind::Admin,
        body: &too_big,
    };
    assert!(matches!(
        log.append(&[big]).unwrap_err(),
        StoreError::RecordTooLarge { .. }
    ));
}

#[test]
fn a_truncated_tail_never_comes_back_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        append_n(&log, 1, 60, 5, 400);
        log.flush().unwrap();
        log.truncate_after(Some(30)).unwrap();
        assert_eq!(log.view().last, Some(LogId { term: 5, index: 30 }));
        assert_eq!(log.get(31).unwrap(), None);
        // Same lengths in a lower term: without zeroing, the old 41.. would line up and pass.
        append_n(&log, 31, 10, 5, 400);
        log.flush().unwrap();
        // dropped without close: a crash
    }
    let log = open(dir.path());
    assert_eq!(log.view().last, Some(LogId { term: 5, index: 40 }));
    assert_eq!(log.get(41).unwrap(), None);
    assert_eq!(all_records(&log).len(), 40);
}

#[test]
fn truncating_committed_entries_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    append_n(&log, 1, 10, 1, 100);
    log.save_committed(Some(LogId { term: 1, index: 6 }));
    assert!(matches!(
        log.truncate_after(Some(5)),
        Err(StoreError::Refused(_))
    ));
    log.truncate_after(Some(6)).unwrap();
    assert_eq!(log.view().last.map(|l| l.index), Some(6));
}

#[test]
fn purge_deletes_whole_segments_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let first_position;
    {
        let log = open(dir.path());
        append_n(&log, 1, 100, 2, 1000);
        assert!(log.segments().len() >= 6);
        log.purge_upto(LogId { term: 2, index: 50 }).unwrap();
        assert_eq!(log.view().first, Some(51));
        assert_eq!(log.get(50).unwrap(), None);
        assert_eq!(
            log.read(0, 200, u64::MAX)
                .unwrap()
                .first()
                .map(Record::index),
            Some(51)
        );
        first_position = log.get(51).unwrap().unwrap().position();
        let first_seg = log.segments()[0].0;
        assert!(first_seg <= first_position && first_position < first_seg + SEG);
        log.close().unwrap();
    }
    let log = open(dir.path());
    assert_eq!(log.view().first, Some(51));
    assert_eq!(
        log.log_state().last_purged,
        Some(LogId { term: 2, index: 50 })
    );
    assert_eq!(log.get(51).unwrap().unwrap().position(), first_position);
    append_n(&log, 101, 1, 2, 100);
}

#[test]
fn purging_everything_keeps_positions_continuing() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    append_n(&log, 1, 10, 1, 500);
    let end = log.view().end;
    log.purge_upto(LogId { term: 1, index: 10 }).unwrap();
    assert_eq!(log.view().last, None);
    assert_eq!(log.log_state().last, Some(LogId { term: 1, index: 10 }));
    let a = append_n(&log, 11, 1, 1, 500);
    assert_eq!(a[0].position, end);
}

#[test]
fn emptying_the_log_at_a_segment_boundary_keeps_positions_across_reopen() {
    // Records of exactly a quarter segment: four fill segment 0 and the log ends on a boundary.
    let body = message_body(SEG as usize / 4 - HEADER_LEN, 0);
    let entry = |index| NewEntry {
        index,
        term: 1,
        kind: RecordKind::Admin,
        body: &body,
    };
    for purge in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        {
            let log = open(dir.path());
            log.append(&[entry(1), entry(2), entry(3), entry(4)])
                .unwrap();
            assert_eq!(log.view().end, SEG);
            if purge {
                log.append(&[entry(5)]).unwrap();
                log.save_committed(Some(LogId { term: 1, index: 4 }));
                log.purge_upto(LogId { term: 1, index: 4 }).unwrap();
                log.truncate_after(Some(4)).unwrap(); // entry 5 was never committed
            } else {
                log.truncate_after(None).unwrap();
            }
            assert!(
                log.segments().is_empty(),
                "no segment is left to say where the log ends"
            );
        }
        let log = open(dir.path());
        let next = if purge { 5 } else { 1 };
        let expected_end = if purge { SEG } else { 0 };
        assert_eq!(log.view().end, expected_end, "purge={purge}");
        let a = log.append(&[entry(next)]).unwrap();
        assert_eq!(a[0].position, expected_end);
    }
}

#[test]
fn reset_restarts_the_log_at_its_base() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        append_n(&log, 1, 10, 1, 500);
        log.reset(LogBase {
            index: 1000,
            position: 5 * SEG + 64,
        })
        .unwrap();
        assert_eq!(
            log.view(),
            LogView {
                first: None,
                last: None,
                end: 5 * SEG + 64
            }
        );
        let a = append_n(&log, 1000, 3, 7, 200);
        assert_eq!(a[0].position, 5 * SEG + 64);
    }
    let log = open(dir.path());
    assert_eq!(log.view().first, Some(1000));
    assert_eq!(
        log.view().last,
        Some(LogId {
            term: 7,
            index: 1002
        })
    );
}

#[test]
fn the_vote_is_durable_when_save_vote_returns() {
    let dir = tempfile::tempdir().unwrap();
    let vote = Vote {
        term: 3,
        node_id: Some(2),
        committed: false,
    };
    {
        let log = open(dir.path());
        log.save_vote(vote).unwrap();
    }
    assert_eq!(open(dir.path()).vote(), Some(vote));
}

#[test]
fn durability_callbacks_complete_in_order_after_a_shared_flush() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(open(dir.path()));
    let done = Arc::new(Mutex::new(Vec::new()));
    for i in 0..50u64 {
        append_n(&log, i, 1, 1, 200);
        let done = done.clone();
        log.on_durable(Box::new(move |r| {
            r.unwrap();
            lock(&done).push(i);
        }));
    }
    log.flush().unwrap();
    assert_eq!(*lock(&done), (0..50).collect::<Vec<_>>());
    assert_eq!(log.checkpoint().durable.map(|d| d.index), Some(49));
}

#[test]
fn concurrent_readers_never_see_a_partial_or_truncated_record() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(open(dir.path()));
    let stop = Arc::new(AtomicUsize::new(0));
    let reader = {
        let (log, stop) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut seen = 0usize;
            while stop.load(Ordering::Relaxed) == 0 {
                for r in all_records(&log) {
                    assert_eq!(r.body().as_ref(), expected_body(&r).as_slice());
                    seen += 1;
                }
            }
            seen
        })
    };
    let mut next = 0;
    for round in 0..40u64 {
        append_n(&log, next, 20, 1, 300);
        next += 20;
        if round % 3 == 2 {
            log.truncate_after(Some(next - 10)).unwrap();
            next -= 9;
        }
    }
    stop.store(1, Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
}

#[test]
fn a_store_with_another_segment_size_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path()).close().unwrap();
    let err = CommitLog::open(CommitLogOptions {
        segment_size: 2 * SEG,
        ..options(dir.path())
    })
    .unwrap_err();
    assert!(matches!(err, StoreError::FormatMismatch { .. }), "{err}");
}

#[test]
fn clean_close_removes_the_abort_file_and_a_crash_leaves_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    assert!(dir.path().join("abort").exists());
    log.close().unwrap();
    assert!(!dir.path().join("abort").exists());
    drop(open(dir.path()));
    assert!(dir.path().join("abort").exists());
}

// ---- recovery: torn tails, bit flips, corruption before the checkpoint ----

/// Builds a store of `n` entries (crash-style, no checkpoint) and returns the last record's
/// (position, length).
fn build_crashed_store(root: &Path, n: u64) -> (u64, u32) {
    let log = open(root);
    let mut rng = StdRng::seed_from_u64(3);
    for i in 0..n {
        let body = message_body(rng.random_range(36..700), i);
        log.append(&[NewEntry {
            index: i,
            term: 1,
            kind: RecordKind::Message,
            body: &body,
        }])
        .unwrap();
    }
    let last = log.get(n - 1).unwrap().unwrap();
    (last.position(), last.header().length)
}

fn segment_path(root: &Path, position: u64) -> (PathBuf, u64) {
    let start = position - position % SEG;
    (
        root.join("commitlog")
            .join(super::super::segment_list::segment_file_name(start)),
        position - start,
    )
}

fn assert_prefix(log: &CommitLog, n: u64) {
    let records = all_records(log);
    assert_eq!(
        records.len() as u64,
        n,
        "expected exactly the first {n} records"
    );
    for r in &records {
        assert_eq!(r.body().as_ref(), expected_body(r).as_slice());
    }
}

#[test]
fn cutting_the_file_at_every_byte_of_the_last_record_keeps_the_valid_prefix() {
    let pristine = tempfile::tempdir().unwrap();
    let n = 40;
    let (pos, len) = build_crashed_store(pristine.path(), n);
    let (_, off) = segment_path(pristine.path(), pos);
    for cut in 0..u64::from(len) {
        let work = tempfile::tempdir().unwrap();
        copy_dir(pristine.path(), work.path());
        let (path, _) = segment_path(work.path(), pos);
        let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(off + cut).unwrap();
        drop(file);
        let log = open(work.path());
        assert_prefix(&log, n - 1);
        // The log continues normally after the cut.
        append_n(&log, n - 1, 2, 2, 100);
    }
}

#[test]
fn zeroing_any_suffix_of_the_last_record_keeps_the_valid_prefix() {
    let pristine = tempfile::tempdir().unwrap();
    let n = 25;
    let (pos, len) = build_crashed_store(pristine.path(), n);
    for cut in (0..u64::from(len)).step_by(3) {
        let work = tempfile::tempdir().unwrap();
        copy_dir(pristine.path(), work.path());
        let (path, off) = segment_path(work.path(), pos);
        let mut bytes = fs::read(&path).unwrap();
        let from = (off + cut) as usize;
        bytes[from..(off + u64::from(len)) as usize].fill(0);
        fs::write(&path, &bytes).unwrap();
        let log = open(work.path());
        assert_prefix(&log, n - 1);
    }
}

#[test]
fn random_bit_flips_in_the_tail_never_yield_a_corrupt_record() {
    let pristine = tempfile::tempdir().unwrap();
    let n = 30;
    build_crashed_store(pristine.path(), n);
    let tail_from = {
        let log = open(pristine.path());
        let r = log.get(n - 6).unwrap().unwrap();
        r.position()
    };
    // Reopening the pristine copy above made it "crashed" again (no close): fine for copies.
    let seed: u64 = rand::random();
    println!("seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..60 {
        let work = tempfile::tempdir().unwrap();
        copy_dir(pristine.path(), work.path());
        let end = open(work.path()).view().end;
        let _ = fs::remove_file(work.path().join("checkpoint"));
        let at = rng.random_range(tail_from..end);
        let (path, off) = segment_path(work.path(), at);
        let mut bytes = fs::read(&path).unwrap();
        bytes[off as usize] ^= 1 << rng.random_range(0..8);
        fs::write(&path, &bytes).unwrap();
        let log = open(work.path());
        let records = all_records(&log);
        assert!(records.len() as u64 >= n - 6 && records.len() as u64 <= n);
        for r in &records {
            // Either untouched, or the flip hit the queue-offset slot the CRC skips.
            let expected = expected_body(r);
            let body = r.body();
            let differs: Vec<usize> = (0..body.len())
                .filter(|&i| body[i] != expected[i])
                .collect();
            assert!(
                differs.iter().all(|i| (20..28).contains(i)),
                "corrupt record {} returned",
                r.index()
            );
        }
    }
}

#[test]
fn corruption_inside_checkpointed_data_is_reported_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (early, last) = {
        let log = open(dir.path());
        append_n(&log, 0, 40, 1, 300);
        let e = log.get(5).unwrap().unwrap().position();
        let l = log.get(39).unwrap().unwrap().position();
        log.close().unwrap();
        (e, l)
    };
    // A flipped bit in an old record: open succeeds (it is before the scan start) but reading
    // it reports corruption with the path and offset.
    let (path, off) = segment_path(dir.path(), early);
    let mut bytes = fs::read(&path).unwrap();
    bytes[off as usize + HEADER_LEN + 50] ^= 0x10;
    fs::write(&path, &bytes).unwrap();
    {
        let log = open(dir.path());
        let err = log.get(5).unwrap_err().to_string();
        assert!(
            err.contains("corrupt") && err.contains(&off.to_string()),
            "{err}"
        );
        assert!(log.get(6).unwrap().is_some());
        log.close().unwrap();
    }
    // A flipped bit in the checkpointed record itself: the node does not start.
    let (path, off) = segment_path(dir.path(), last);
    let mut bytes = fs::read(&path).unwrap();
    bytes[off as usize + 9] ^= 0x01;
    fs::write(&path, &bytes).unwrap();
    let err = CommitLog::open(options(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("corrupt") && err.contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn a_lost_raft_index_is_rebuilt_from_the_segments() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        append_n(&log, 0, 100, 1, 300);
        log.close().unwrap();
    }
    fs::remove_dir_all(dir.path().join("raftindex")).unwrap();
    let log = open(dir.path());
    assert_prefix(&log, 100);
}

/// Issue 9, finding 5: rebuilding the raft index scanned from the first segment's start and
/// ignored the base a snapshot install left, so every record after a reset was cut.
#[test]
fn a_lost_raft_index_after_a_reset_is_rebuilt_from_the_base() {
    let dir = tempfile::tempdir().unwrap();
    let base = LogBase {
        index: 1000,
        position: 5 * SEG + 64,
    };
    {
        let log = open(dir.path());
        append_n(&log, 1, 10, 1, 500);
        log.reset(base).unwrap();
        append_n(&log, 1000, 60, 7, 300);
        log.close().unwrap();
    }
    fs::remove_dir_all(dir.path().join("raftindex")).unwrap();
    let log = open(dir.path());
    assert_eq!(log.view().first, Some(1000));
    assert_eq!(log.view().last.map(|l| l.index), Some(1059));
    let records = all_records(&log);
    assert_eq!(records.len(), 60);
    assert_eq!(records[0].position(), base.position);
    for r in &records {
        assert_eq!(r.body(), expected_body(r), "record {}", r.index());
    }
    append_n(&log, 1060, 1, 7, 300);
}

/// Options under which nothing is flushed unless a caller waits for it.
fn lazy_options(root: &Path) -> CommitLogOptions {
    CommitLogOptions {
        flush_interval: Duration::from_secs(3600),
        ..options(root)
    }
}

/// Issue 9, finding 2: the committed id was persisted as openraft last reported it, even for
/// entries this node had not flushed; after a power cut the meta claimed records the log had
/// lost.
#[test]
fn the_persisted_committed_id_never_passes_the_flushed_log() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = CommitLog::open(lazy_options(dir.path())).unwrap();
        append_n(&log, 1, 10, 1, 300);
        log.flush().unwrap();
        append_n(&log, 11, 10, 1, 300);
        log.save_committed(Some(LogId { term: 1, index: 20 }));
        // Any meta write (here the vote's) persists what is safe, nothing more.
        log.save_vote(Vote {
            term: 1,
            node_id: Some(1),
            committed: true,
        })
        .unwrap();
        // dropped without close: a crash
    }
    let on_disk = NodeMeta::load(&dir.path().join("raft-meta")).unwrap();
    assert_eq!(on_disk.committed.map(|c| c.index), Some(10));
}

/// A meta file an older build wrote with the committed id past the log is lowered at open.
#[test]
fn a_committed_id_past_the_recovered_log_is_lowered_at_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        append_n(&log, 1, 10, 1, 300);
        log.close().unwrap();
    }
    let path = dir.path().join("raft-meta");
    let mut meta = NodeMeta::load(&path).unwrap();
    meta.committed = Some(LogId { term: 1, index: 40 });
    meta.save(&path).unwrap();
    let log = open(dir.path());
    assert_eq!(log.committed().map(|c| c.index), Some(10));
    assert!(log.truncate_after(Some(10)).is_ok());
}

/// Issue 9, finding 2: a purge point recorded above unflushed records leaves, after a power
/// cut, a log ending before its own purge point. The purge waits for the records first.
#[test]
fn purging_makes_the_records_up_to_the_purge_point_durable_first() {
    let dir = tempfile::tempdir().unwrap();
    let log = CommitLog::open(lazy_options(dir.path())).unwrap();
    append_n(&log, 1, 10, 1, 3000);
    log.flush().unwrap();
    append_n(&log, 11, 30, 1, 3000);
    assert_eq!(log.flushed().map(|f| f.index), Some(10));
    log.purge_upto(LogId { term: 1, index: 25 }).unwrap();
    assert!(log.flushed().is_some_and(|f| f.index >= 25));
}

/// Zeroes every raft-index entry from `from` on, in whatever index file holds it: what a
/// power loss leaves of index pages that were never synced.
fn zero_index_from(root: &Path, from: u64) {
    let at = from * crate::store::raft_index::ENTRY_LEN;
    let mut zeroed = 0;
    for file in fs::read_dir(root.join("raftindex")).unwrap() {
        let path = file.unwrap().path();
        let Some(start) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let len = fs::metadata(&path).unwrap().len();
        if start + len <= at {
            continue;
        }
        let skip = at.saturating_sub(start);
        let mut bytes = fs::read(&path).unwrap();
        bytes[skip as usize..].fill(0);
        fs::write(&path, bytes).unwrap();
        zeroed += 1;
    }
    assert!(zeroed > 0, "no index file holds entry {from}");
}

#[test]
fn index_entries_synced_lazily_and_lost_to_a_power_cut_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        append_n(&log, 0, 50, 1, 300);
        log.flush().unwrap(); // syncs the index too
        log.write_checkpoint().unwrap();
        assert_eq!(log.checkpoint().durable.map(|d| d.index), Some(49));
        append_n(&log, 50, 50, 1, 300);
        // Durable the way Raft appends wait for it: the group commit, no forced index sync.
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        log.on_durable(Box::new(move |r| {
            let _ = tx.send(r.is_ok());
        }));
        assert!(rx.recv().unwrap());
        assert_eq!(
            log.checkpoint().durable.map(|d| d.index),
            Some(49),
            "the checkpoint moves only with an index sync"
        );
        // dropped without close: a crash
    }
    zero_index_from(dir.path(), 50);
    let log = open(dir.path());
    assert_prefix(&log, 100);
}

// ---- model-based property test ----

#[derive(Clone)]
struct ModelEntry {
    index: u64,
    term: u64,
    body: Vec<u8>,
}

#[derive(Default)]
struct Model {
    entries: Vec<ModelEntry>,
    purged: Option<LogId>,
    committed: Option<u64>,
    next_index: u64,
    term: u64,
}

impl Model {
    fn last(&self) -> Option<LogId> {
        self.entries.last().map(|e| LogId {
            term: e.term,
            index: e.index,
        })
    }
}

fn check_against_model(log: &CommitLog, model: &Model, step: usize) {
    let state = log.log_state();
    assert_eq!(state.last_purged, model.purged, "step {step}: purged");
    assert_eq!(
        state.last,
        model.last().or(model.purged),
        "step {step}: last"
    );
    let records = all_records(log);
    assert_eq!(records.len(), model.entries.len(), "step {step}: count");
    for (r, e) in records.iter().zip(&model.entries) {
        assert_eq!((r.index(), r.term()), (e.index, e.term), "step {step}");
        let expected = if r.kind() == RecordKind::Message {
            stamped(e.body.clone(), r.body_position())
        } else {
            e.body.clone()
        };
        assert_eq!(
            r.body().as_ref(),
            expected.as_slice(),
            "step {step}: body of {}",
            e.index
        );
    }
}

#[test]
fn random_operations_and_reopens_match_a_simple_model() {
    let seed: u64 = std::env::var("MODEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("seed {seed} (rerun with MODEL_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut log = Some(open(dir.path()));
    let mut model = Model {
        term: 1,
        ..Model::default()
    };
    let trace = std::env::var("MODEL_TRACE").is_ok();
    for step in 0..400 {
        let l = log.as_ref().unwrap();
        if trace {
            println!(
                "step {step}: view {:?} meta {:?} model next {} committed {:?}",
                l.view(),
                l.meta(),
                model.next_index,
                model.committed
            );
        }
        match rng.random_range(0..100) {
            0..=54 => {
                let n = rng.random_range(1..6);
                if rng.random_bool(0.1) {
                    model.term += 1;
                }
                let bodies: Vec<Vec<u8>> = (0..n)
                    .map(|k| {
                        if rng.random_bool(0.3) {
                            (0..rng.random_range(0..900))
                                .map(|_| rng.random())
                                .collect()
                        } else {
                            message_body(rng.random_range(36..2000), model.next_index + k)
                        }
                    })
                    .collect();
                let entries: Vec<NewEntry<'_>> = bodies
                    .iter()
                    .enumerate()
                    .map(|(k, b)| NewEntry {
                        index: model.next_index + k as u64,
                        term: model.term,
                        kind: if b.len() >= 36 && b[..4] == (b.len() as i32).to_be_bytes() {
                            RecordKind::Message
                        } else {
                            RecordKind::Admin
                        },
                        body: b,
                    })
                    .collect();
                l.append(&entries).unwrap();
                for (k, b) in bodies.into_iter().enumerate() {
                    model.entries.push(ModelEntry {
                        index: model.next_index + k as u64,
                        term: model.term,
                        body: b,
                    });
                }
                model.next_index += n;
            }
            55..=67 => {
                let Some(last) = model.last() else { continue };
                let low = model
                    .committed
                    .unwrap_or(0)
                    .max(model.entries[0].index.saturating_sub(1));
                if low > last.index {
                    continue;
                }
                let keep = rng.random_range(low..=last.index);
                l.truncate_after(Some(keep)).unwrap();
                model.entries.retain(|e| e.index <= keep);
                model.next_index = keep + 1;
                model.term += 1;
            }
            68..=75 => {
                let Some(last) = model.last() else { continue };
                let c = rng.random_range(model.committed.unwrap_or(0)..=last.index);
                let term = model
                    .entries
                    .iter()
                    .find(|e| e.index == c)
                    .map_or(last.term, |e| e.term);
                l.save_committed(Some(LogId { term, index: c }));
                model.committed = Some(c);
            }
            76..=83 => {
                let (Some(c), Some(first)) = (model.committed, model.entries.first()) else {
                    continue;
                };
                if c < first.index {
                    continue;
                }
                let upto = rng.random_range(first.index..=c);
                let term = model
                    .entries
                    .iter()
                    .find(|e| e.index == upto)
                    .map(|e| e.term)
                    .unwrap_or(0);
                let id = LogId { term, index: upto };
                l.purge_upto(id).unwrap();
                model.entries.retain(|e| e.index > upto);
                model.purged = Some(id);
            }
            84..=91 => {
                let l = log.take().unwrap();
                l.close().unwrap();
                log = Some(open(dir.path()));
            }
            _ => {
                // A crash: no close. Everything appended is in the (shared) page cache, as after
                // a process kill.
                drop(log.take());
                log = Some(open(dir.path()));
                // The lazily saved committed id may be older after a crash; re-save the model's.
                if let Some(c) = model.committed {
                    let term = model.entries.iter().find(|e| e.index == c).map(|e| e.term);
                    if let Some(term) =
                        term.or(model.purged.filter(|p| p.index == c).map(|p| p.term))
                    {
                        log.as_ref()
                            .unwrap()
                            .save_committed(Some(LogId { term, index: c }));
                    }
                }
            }
        }
        check_against_model(log.as_ref().unwrap(), &model, step);
    }
}

/// Issue 9, finding 7: a full disk at segment creation stopped the commitlog for good, and the
/// pad marker written before the failed creation ended the log at that boundary after a
/// restart ("position mismatch"). Now the append fails with nothing written, the store stays
/// usable, and the same append goes through once space is back, before and after a reopen.
#[test]
fn a_full_disk_fails_the_append_cleanly_and_it_goes_through_once_space_returns() {
    let disk = match crate::store::small_disk::SmallDisk::mount(640 * 1024) {
        Ok(disk) => disk,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let root = disk.path().join("store");
    let filler = disk.path().join("filler");
    fs::write(&filler, vec![1u8; 128 * 1024]).unwrap();
    let opts = CommitLogOptions {
        index_entries_per_file: 64,
        flush_interval: Duration::from_millis(20),
        checkpoint_interval: Duration::from_secs(3600),
        ..CommitLogOptions::in_dir(&root, SEG)
    };
    let log = CommitLog::open(opts.clone()).unwrap();
    let mut next = 1u64;
    let failure = loop {
        assert!(next < 10_000, "the disk never filled");
        let body = message_body(3000, next);
        let entry = NewEntry {
            index: next,
            term: 1,
            kind: RecordKind::Message,
            body: &body,
        };
        match log.append(&[entry]) {
            Ok(_) => next += 1,
            Err(e) => break e,
        }
    };
    assert!(failure.is_resource_exhausted(), "{failure}");
    assert_eq!(log.view().last.map(|l| l.index), Some(next - 1));
    assert!(
        !fs::read_dir(root.join("commitlog")).unwrap().any(|e| e
            .unwrap()
            .path()
            .extension()
            .is_some_and(|x| x == "creating")),
        "a failed creation leaves no partial file behind"
    );

    fs::remove_file(&filler).unwrap();
    let body = message_body(3000, next);
    log.append(&[NewEntry {
        index: next,
        term: 1,
        kind: RecordKind::Message,
        body: &body,
    }])
    .expect("the append goes through once there is space again");
    log.flush().unwrap();
    drop(log);
    let log = CommitLog::open(opts).unwrap();
    assert_prefix_from(&log, 1, next);
}

/// Every record `from..=to` is present with its expected body.
fn assert_prefix_from(log: &CommitLog, from: u64, to: u64) {
    let records = log.read(from, to + 1, u64::MAX).unwrap();
    assert_eq!(records.len() as u64, to - from + 1);
    for r in &records {
        assert_eq!(r.body(), expected_body(r), "record {}", r.index());
    }
}

/// A reset whose base lies in the last bytes of a segment: the first record goes to the next
/// segment, and the segment of the base (never created) needs no padding. Creating the new
/// segment before padding the current one (so a full disk leaves nothing half done) must not
/// trip over the missing one, and the log reopens with the record.
#[test]
fn a_record_after_a_reset_near_a_segment_end_starts_the_next_segment() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        append_n(&log, 1, 3, 1, 300);
        log.reset(LogBase {
            index: 500,
            position: 5 * SEG - 16,
        })
        .unwrap();
        let a = append_n(&log, 500, 2, 3, 300);
        assert_eq!(a[0].position, 5 * SEG);
        log.close().unwrap();
    }
    let log = open(dir.path());
    assert_eq!(log.view().first, Some(500));
    assert_prefix_from(&log, 500, 501);
}

/// Issue 9, finding 8: a committed record damaged past the checkpoint was cut like a torn
/// tail, dropping acknowledged entries from this replica while it kept voting. A record the
/// meta counts as committed must verify; if it does not, the node refuses to start and names
/// the file and offset.
#[test]
fn a_damaged_committed_record_past_the_checkpoint_is_corruption_not_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let damaged = {
        let log = open(dir.path());
        append_n(&log, 1, 40, 1, 300);
        log.flush().unwrap();
        log.write_checkpoint().unwrap();
        append_n(&log, 41, 20, 1, 300);
        log.save_committed(Some(LogId { term: 1, index: 60 }));
        log.flush().unwrap();
        log.get(50).unwrap().unwrap().position()
        // dropped without close: the checkpoint stays at 40
    };
    let (path, off) = segment_path(dir.path(), damaged);
    let mut bytes = fs::read(&path).unwrap();
    for b in &mut bytes[off as usize + HEADER_LEN + 40..off as usize + HEADER_LEN + 56] {
        *b ^= 0x5A;
    }
    fs::write(&path, &bytes).unwrap();
    let err = CommitLog::open(options(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("corrupt")
            && err.contains(&path.display().to_string())
            && err.contains("record 50"),
        "{err}"
    );
}
