use std::fs;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

/// Four units per file, so that a handful of puts crosses file boundaries.
const UNITS: u64 = 4;

fn unit(i: u64) -> CqUnit {
    CqUnit {
        commitlog_offset: 1000 + i * 100,
        size: 50 + (i % 7) as u32,
        tags_code: i as i64 - 3,
    }
}

fn fill(queue: &ConsumeQueue, n: u64) {
    for i in queue.max_offset()..n {
        assert_eq!(queue.put(i, unit(i)).unwrap(), PutOutcome::Appended);
    }
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn seed() -> u64 {
    let seed = std::env::var("TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    println!("seed {seed} (rerun with TEST_SEED={seed})");
    seed
}

#[test]
fn units_round_trip_across_file_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let store = ConsumeQueueStore::open(dir.path(), UNITS).unwrap();
    let queue = store.queue("TopicTest", 2).unwrap();
    assert_eq!((queue.min_offset(), queue.max_offset()), (0, 0));
    fill(&queue, 10);
    assert_eq!(queue.max_offset(), 10);
    for i in 0..10 {
        assert_eq!(queue.get(i), Some(unit(i)));
    }
    assert_eq!(queue.get(10), None);
    let all = queue.read(0, 100);
    assert_eq!(all, (0..10).map(unit).collect::<Vec<_>>());
    assert_eq!(queue.read(3, 4), (3..7).map(unit).collect::<Vec<_>>());
    assert_eq!(queue.read(10, 4), vec![]);
    assert_eq!(
        files(&dir.path().join("TopicTest").join("2")),
        vec![
            "00000000000000000000",
            "00000000000000000080",
            "00000000000000000160"
        ]
    );
    let bytes = fs::read(dir.path().join("TopicTest/2/00000000000000000000")).unwrap();
    assert_eq!(&bytes[20..28], &1100i64.to_be_bytes(), "unit 1 at byte 20");
}

#[test]
fn reopening_recovers_min_max_and_units() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = ConsumeQueueStore::open(dir.path(), UNITS).unwrap();
        fill(&store.queue("A", 0).unwrap(), 6);
        fill(&store.queue("A", 1).unwrap(), 8);
        fill(&store.queue("%RETRY%group", 0).unwrap(), 1);
        store.queue("Empty", 7).unwrap();
        store.flush().unwrap();
    }
    fs::create_dir_all(dir.path().join("not.a.topic/0")).unwrap();
    fs::create_dir_all(dir.path().join("A/01")).unwrap();
    let store = ConsumeQueueStore::open(dir.path(), UNITS).unwrap();
    assert_eq!(store.topics(), vec!["%RETRY%group", "A", "Empty"]);
    assert_eq!(store.queue_ids("A"), vec![0, 1]);
    let q0 = store.get("A", 0).unwrap();
    let q1 = store.get("A", 1).unwrap();
    assert_eq!((q0.min_offset(), q0.max_offset()), (0, 6));
    assert_eq!((q1.min_offset(), q1.max_offset()), (0, 8));
    assert_eq!(q1.read(0, 100), (0..8).map(unit).collect::<Vec<_>>());
    assert_eq!(store.get("Empty", 7).unwrap().max_offset(), 0);
    fill(&q0, 9);
    assert_eq!(q0.get(8), Some(unit(8)));
}

#[test]
fn putting_the_same_unit_again_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let store = ConsumeQueueStore::open(dir.path(), UNITS).unwrap();
    let queue = store.queue("T", 0).unwrap();
    fill(&queue, 6);
    assert_eq!(queue.put(1, unit(1)).unwrap(), PutOutcome::AlreadyPresent);
    assert_eq!(queue.put(5, unit(5)).unwrap(), PutOutcome::AlreadyPresent);
    assert_eq!(queue.max_offset(), 6);
}

#[test]
fn a_conflicting_put_or_a_gap_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = ConsumeQueueStore::open(dir.path(), UNITS).unwrap();
    let queue = store.queue("T", 0).unwrap();
    fill(&queue, 6);
    let err = queue.put(5, unit(9)).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("00000000000000000080") && text.contains("offset 20"),
        "{text}"
    );
    assert!(matches!(
        queue.put(7, unit(7)),
        Err(StoreError::NotContiguous { got: 7, .. })
    ));
    let going_back = CqUnit {
        commitlog_offset: unit(5).commitlog_offset,
        ..unit(6)
    };
    assert!(queue.put(6, going_back).is_err());
    assert!(queue.put(6, CqUnit { size: 0, ..unit(6) }).is_err());
    assert_eq!(queue.max_offset(), 6);
}

#[test]
fn truncation_survives_a_reopen_and_the_queue_continues() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = ConsumeQueueStore::open(dir.path(), UNITS).unwrap();
        let queue = store.queue("T", 0).unwrap();
        fill(&queue, 11);
        assert_eq!(
            queue
                .truncate_from_commitlog_offset(unit(5).commitlog_offset)
                .unwrap(),
            6
        );
        assert_eq!(queue.max_offset(), 5);
        assert_eq!(queue.get(5), None);
        assert_eq!(queue.read(0, 100).len(), 5);
        assert_eq!(queue.truncate_from_commitlog_offset(u64::MAX).unwrap(), 0);
    }
    assert_eq!(
        files(&dir.path().join("T/0")),
        vec!["00000000000000000000", "00000000000000000080"]
    );
    let store = ConsumeQueueStore::open(dir.path(), UNITS).unwrap();
    let queue = store.get("T", 0).unwrap();
    assert_eq!(queue.max_offset(), 5);
    let other = CqUnit {
        tags_code: 77,
        ..unit(5)
    };
    assert_eq!(queue.put(5, other).unwrap(), PutOutcome::Appended);
    assert_eq!(queue.read(0, 100).last(), Some(&other));
}

#[test]
fn truncating_at_a_file_boundary_keeps_the_empty_file_and_the_max() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = ConsumeQueueStore::open(dir.path(), UNITS).unwrap();
        let queue = store.queue("T", 0).unwrap();
        fill(&queue, 10);
        queue
            .truncate_from_commitlog_offset(unit(8).commitlog_offset)
            .unwrap();
        queue.delete_before_commitlog_offset(u64::MAX).unwrap();
        assert_eq!((queue.min_offset(), queue.max_offset()), (8, 8));
    }
    let store = ConsumeQueueStore::open(dir.path(), UNITS).unwrap();
    let queue = store.get("T", 0).unwrap();
    assert_eq!((queue.min_offset(), queue.max_offset()), (8, 8));
}

#[test]
fn retention_removes_whole_files_and_moves_the_min() {
    let dir = tempfile::tempdir().unwrap();
    let store = ConsumeQueueStore::open(dir.path(), UNITS).unwrap();
    let queue = store.queue("T", 0).unwrap();
    fill(&queue, 10);
    assert_eq!(
        store
            .delete_before_commitlog_offset(unit(6).commitlog_offset)
            .unwrap(),
        1
    );
    assert_eq!(queue.min_offset(), 6);
    assert_eq!(queue.get(5), None);
    assert_eq!(queue.get(6), Some(unit(6)));
    assert_eq!(queue.read(2, 10), vec![]);
    assert_eq!(
        files(&dir.path().join("T/0")),
        vec!["00000000000000000080", "00000000000000000160"]
    );
    // Everything is old: every file but the last goes, the queue is empty at its max.
    assert_eq!(queue.delete_before_commitlog_offset(u64::MAX).unwrap(), 1);
    assert_eq!((queue.min_offset(), queue.max_offset()), (10, 10));
    fill(&queue, 11);
    assert_eq!(queue.read(10, 5), vec![unit(10)]);
    drop(store);
    let store = ConsumeQueueStore::open(dir.path(), UNITS).unwrap();
    let queue = store.get("T", 0).unwrap();
    assert_eq!((queue.min_offset(), queue.max_offset()), (8, 11));
}

#[test]
fn reset_restarts_an_empty_queue_at_the_given_offset_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = ConsumeQueueStore::open(dir.path(), UNITS).unwrap();
        let queue = store.queue("T", 0).unwrap();
        fill(&queue, 3);
        queue.reset(22).unwrap();
        assert_eq!((queue.min_offset(), queue.max_offset()), (22, 22));
        assert_eq!(queue.get(1), None);
        assert_eq!(queue.read(20, 5), vec![]);
    }
    let store = ConsumeQueueStore::open(dir.path(), UNITS).unwrap();
    let queue = store.get("T", 0).unwrap();
    assert_eq!((queue.min_offset(), queue.max_offset()), (22, 22));
    assert!(queue.put(21, unit(21)).is_err());
    fill(&queue, 25);
    assert_eq!(queue.read(22, 10), (22..25).map(unit).collect::<Vec<_>>());
    queue.reset(24).unwrap();
    assert_eq!((queue.min_offset(), queue.max_offset()), (24, 24));
    drop(store);
    let store = ConsumeQueueStore::open(dir.path(), UNITS).unwrap();
    let queue = store.get("T", 0).unwrap();
    assert_eq!((queue.min_offset(), queue.max_offset()), (24, 24));
}

#[test]
fn a_garbage_tail_is_cut_at_open_and_cannot_come_back() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = ConsumeQueueStore::open(dir.path(), UNITS).unwrap();
        fill(&store.queue("T", 0).unwrap(), 6);
    }
    // A torn write: unit 6 zero-sized, unit 7 looks valid behind it.
    let path = dir.path().join("T/0/00000000000000000080");
    let mut bytes = fs::read(&path).unwrap();
    bytes[40..60].copy_from_slice(&[0xAB; 20]);
    bytes[48..52].copy_from_slice(&0i32.to_be_bytes());
    bytes[60..80].copy_from_slice(&unit(7).to_bytes());
    fs::write(&path, &bytes).unwrap();

    let store = ConsumeQueueStore::open(dir.path(), UNITS).unwrap();
    let queue = store.get("T", 0).unwrap();
    assert_eq!(queue.max_offset(), 6);
    let bytes = fs::read(&path).unwrap();
    assert!(bytes[40..].iter().all(|&b| b == 0), "tail zeroed");
    fill(&queue, 7);
    drop(store);
    let store = ConsumeQueueStore::open(dir.path(), UNITS).unwrap();
    assert_eq!(store.get("T", 0).unwrap().max_offset(), 7);
}

#[test]
fn illegal_topic_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = ConsumeQueueStore::open(dir.path(), UNITS).unwrap();
    for topic in ["", "..", "a/b", "a.b", "x y", &"t".repeat(128)] {
        assert!(store.queue(topic, 0).is_err(), "{topic:?}");
    }
    assert!(store.queue("ns%Topic|lmq_-1", 0).is_ok());
    assert!(ConsumeQueueStore::open(dir.path(), 0).is_err());
}

#[test]
fn readers_see_only_published_units_while_the_writer_appends() {
    let dir = tempfile::tempdir().unwrap();
    let store = ConsumeQueueStore::open(dir.path(), UNITS).unwrap();
    let queue = store.queue("T", 0).unwrap();
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut seen = 0;
            while seen < 200 {
                let units = queue.read(seen, 16);
                for (i, u) in units.iter().enumerate() {
                    assert_eq!(*u, unit(seen + i as u64));
                }
                seen += units.len() as u64;
            }
        });
        fill(&queue, 200);
        reader.join().unwrap();
    });
}

/// Random puts, re-puts, truncations, retention, resets and reopens against a `Vec` model.
#[test]
fn random_operations_match_a_vec_model() {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut store = ConsumeQueueStore::open(dir.path(), UNITS).unwrap();
    // model[i] is the unit at queue offset i; offsets below `min` are gone.
    let mut model: Vec<CqUnit> = Vec::new();
    let mut min = 0u64;
    let mut next_phys = 100u64;
    for step in 0..600 {
        let queue = store.queue("M", 1).unwrap();
        let max = model.len() as u64;
        match rng.random_range(0..100) {
            0..55 => {
                let u = CqUnit {
                    commitlog_offset: next_phys,
                    size: rng.random_range(1..500),
                    tags_code: rng.random(),
                };
                next_phys += rng.random_range(1..1000);
                assert_eq!(queue.put(max, u).unwrap(), PutOutcome::Appended);
                model.push(u);
            }
            55..62 if max > min => {
                let q = rng.random_range(min..max);
                let outcome = queue.put(q, model[q as usize]).unwrap();
                assert_eq!(outcome, PutOutcome::AlreadyPresent);
            }
            62..72 if max > min => {
                let q = rng.random_range(min..max);
                let phys = model[q as usize].commitlog_offset + rng.random_range(0..2);
                let cut = model
                    .partition_point(|u| u.commitlog_offset < phys)
                    .max(min as usize);
                let dropped = queue.truncate_from_commitlog_offset(phys).unwrap();
                assert_eq!(dropped, max - cut as u64, "step {step}");
                model.truncate(cut);
                next_phys = phys + 1;
            }
            72..80 => {
                let phys = if max > min {
                    model[rng.random_range(min..max) as usize].commitlog_offset
                } else {
                    next_phys
                };
                queue.delete_before_commitlog_offset(phys).unwrap();
                let below = model.partition_point(|u| u.commitlog_offset < phys) as u64;
                min = min.max(below);
                assert_eq!(queue.min_offset(), min, "step {step}");
            }
            80..83 => {
                let next = max + rng.random_range(0..10);
                queue.reset(next).unwrap();
                let placeholder = CqUnit {
                    commitlog_offset: 0,
                    size: 1,
                    tags_code: 0,
                };
                model = vec![placeholder; next as usize];
                min = next;
            }
            _ => {
                if rng.random_bool(0.5) {
                    store.flush().unwrap();
                }
                drop(queue);
                drop(store);
                store = ConsumeQueueStore::open(dir.path(), UNITS).unwrap();
                let queue = store.get("M", 1).unwrap();
                // Retention progress is not persisted: re-apply it as the store would.
                assert!(queue.min_offset() <= min, "step {step}");
                let floor = model
                    .get(min as usize)
                    .map_or(next_phys, |u| u.commitlog_offset);
                queue.delete_before_commitlog_offset(floor).unwrap();
            }
        }
        let queue = store.queue("M", 1).unwrap();
        assert_eq!(queue.max_offset(), model.len() as u64, "step {step}");
        assert_eq!(queue.min_offset(), min, "step {step}");
        let from = min.min(model.len() as u64);
        let got = queue.read(from, usize::MAX);
        assert_eq!(got, model[from as usize..], "step {step}");
    }
}
