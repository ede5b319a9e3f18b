use std::collections::HashMap;
use std::fs;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

const ALL: (i64, i64) = (i64::MIN, i64::MAX);

fn query_all(index: &KeyIndex, topic: &str, key: &str) -> Vec<u64> {
    index.query(topic, key, ALL.0, ALL.1, usize::MAX)
}

fn file_count(dir: &Path) -> usize {
    fs::read_dir(dir).unwrap().count()
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
fn keys_are_found_newest_first_per_topic() {
    let dir = tempfile::tempdir().unwrap();
    let index = KeyIndex::open(dir.path(), 64, 100).unwrap();
    index.put("T", "order-1", 100, 1000).unwrap();
    index.put("T", "order-2", 100, 1000).unwrap();
    index.put("T", "order-1", 200, 1001).unwrap();
    index.put("Other", "order-1", 300, 1002).unwrap();
    index.put("T", "order-1", 400, 1003).unwrap();
    assert_eq!(query_all(&index, "T", "order-1"), vec![400, 200, 100]);
    assert_eq!(query_all(&index, "T", "order-2"), vec![100]);
    assert_eq!(query_all(&index, "Other", "order-1"), vec![300]);
    assert_eq!(query_all(&index, "T", "missing"), Vec::<u64>::new());
    assert_eq!(index.query("T", "order-1", ALL.0, ALL.1, 2), vec![400, 200]);
    assert_eq!(
        index.query("T", "order-1", ALL.0, ALL.1, 0),
        Vec::<u64>::new()
    );
    assert_eq!(index.last_update(), (1003, 400));
}

#[test]
fn the_time_range_filters_entries_and_skips_files() {
    let dir = tempfile::tempdir().unwrap();
    let index = KeyIndex::open(dir.path(), 8, 4).unwrap();
    for i in 0..12u64 {
        index
            .put("T", "k", 100 * (i + 1), 1000 + i as i64 * 10)
            .unwrap();
    }
    assert_eq!(index.query("T", "k", 1030, 1050, 10), vec![600, 500, 400]);
    assert_eq!(index.query("T", "k", 1105, 1200, 10), vec![1200]);
    assert_eq!(index.query("T", "k", 0, 999, 10), Vec::<u64>::new());
}

#[test]
fn a_message_with_the_same_key_twice_is_returned_once() {
    let dir = tempfile::tempdir().unwrap();
    let index = KeyIndex::open(dir.path(), 8, 16).unwrap();
    index.put("T", "k", 100, 1).unwrap();
    index.put("T", "k", 100, 1).unwrap();
    assert_eq!(query_all(&index, "T", "k"), vec![100]);
}

#[test]
fn puts_below_the_last_offset_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let index = KeyIndex::open(dir.path(), 8, 16).unwrap();
    index.put("T", "a", 500, 1).unwrap();
    assert!(index.put("T", "b", 499, 1).is_err());
    index.put("T", "b", 500, 1).unwrap();
}

#[test]
fn many_keys_roll_over_several_files_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected: HashMap<String, Vec<u64>> = HashMap::new();
    {
        let index = KeyIndex::open(dir.path(), 16, 50).unwrap();
        for i in 0..420u64 {
            let key = format!("key-{}", i % 37);
            index.put("T", &key, 40 + i * 64, 5000 + i as i64).unwrap();
            expected.entry(key).or_default().insert(0, 40 + i * 64);
        }
        index.flush().unwrap();
    }
    assert_eq!(file_count(dir.path()), 9);
    let index = KeyIndex::open(dir.path(), 16, 50).unwrap();
    for (key, offsets) in &expected {
        assert_eq!(&query_all(&index, "T", key), offsets, "{key}");
    }
    index.put("T", "key-0", 100_000, 9999).unwrap();
    assert_eq!(query_all(&index, "T", "key-0")[0], 100_000);
    assert!(
        KeyIndex::open(dir.path(), 17, 50).is_err(),
        "other geometry"
    );
}

#[test]
fn hash_collisions_still_return_every_candidate() {
    let dir = tempfile::tempdir().unwrap();
    let index = KeyIndex::open(dir.path(), 1, 64).unwrap();
    for i in 0..30u64 {
        index.put("T", &format!("k{}", i % 3), i * 10, 7).unwrap();
    }
    let k1 = query_all(&index, "T", "k1");
    assert_eq!(
        k1,
        (0..30)
            .rev()
            .filter(|i| i % 3 == 1)
            .map(|i| i * 10)
            .collect::<Vec<_>>()
    );
}

#[test]
fn truncation_drops_entries_and_files_and_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = KeyIndex::open(dir.path(), 4, 5).unwrap();
        for i in 0..23u64 {
            index.put("T", &format!("k{}", i % 2), 100 + i, 0).unwrap();
        }
        index.truncate_from(111).unwrap();
        assert_eq!(file_count(dir.path()), 3);
        assert_eq!(query_all(&index, "T", "k1"), vec![109, 107, 105, 103, 101]);
        assert_eq!(index.last_update().1, 110);
        index.put("T", "k1", 111, 0).unwrap();
        index.truncate_from(111).unwrap();
    }
    let index = KeyIndex::open(dir.path(), 4, 5).unwrap();
    assert_eq!(
        query_all(&index, "T", "k0"),
        vec![110, 108, 106, 104, 102, 100]
    );
    assert_eq!(query_all(&index, "T", "k1"), vec![109, 107, 105, 103, 101]);
    index.put("T", "k1", 111, 0).unwrap();
    assert_eq!(query_all(&index, "T", "k1")[0], 111);
    index.truncate_from(0).unwrap();
    assert_eq!(query_all(&index, "T", "k1"), Vec::<u64>::new());
    index.put("T", "k1", 5, 0).unwrap();
    assert_eq!(query_all(&index, "T", "k1"), vec![5]);
}

#[test]
fn retention_deletes_whole_old_files_but_never_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let index = KeyIndex::open(dir.path(), 4, 5).unwrap();
    for i in 0..12u64 {
        index.put("T", "k", 100 + i, 0).unwrap();
    }
    assert_eq!(index.delete_files_before(107).unwrap(), 1);
    assert_eq!(
        query_all(&index, "T", "k"),
        (105..112).rev().collect::<Vec<_>>()
    );
    assert_eq!(index.delete_files_before(u64::MAX).unwrap(), 1);
    assert_eq!(query_all(&index, "T", "k"), vec![111, 110]);
    assert_eq!(file_count(dir.path()), 1);
}

#[test]
fn a_slot_pointing_past_the_entries_is_repaired_at_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = KeyIndex::open(dir.path(), 8, 16).unwrap();
        for i in 0..6u64 {
            index.put("T", "k", 10 + i, 0).unwrap();
        }
    }
    // The process stopped after writing entry 6 and its slot, before the header: the entry is
    // a torn write (bad CRC) and the slot points at it.
    let path = dir.path().join("00000000000000000000");
    let mut bytes = fs::read(&path).unwrap();
    let slot = (64 + (key_hash("T", "k") % 8) * 4) as usize;
    bytes[slot..slot + 4].copy_from_slice(&7u32.to_be_bytes());
    let entry = 64 + 8 * 4 + 6 * 32;
    bytes[entry..entry + 8].copy_from_slice(&99u64.to_be_bytes());
    fs::write(&path, &bytes).unwrap();

    let index = KeyIndex::open(dir.path(), 8, 16).unwrap();
    assert_eq!(
        query_all(&index, "T", "k"),
        (10..16).rev().collect::<Vec<_>>()
    );
    index.put("T", "k", 16, 0).unwrap();
    assert_eq!(query_all(&index, "T", "k")[..2], [16, 15]);
}

#[test]
fn random_puts_truncations_and_reopens_match_a_model() {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let (slots, entries) = (3, 7);
    let mut index = KeyIndex::open(dir.path(), slots, entries).unwrap();
    // (key, phys, ts) in put order.
    let mut model: Vec<(String, u64, i64)> = Vec::new();
    let mut next = 1u64;
    for step in 0..400 {
        match rng.random_range(0..100) {
            0..70 => {
                let key = format!("k{}", rng.random_range(0..6));
                let ts = rng.random_range(0..50);
                index.put("T", &key, next, ts).unwrap();
                model.push((key, next, ts));
                next += rng.random_range(0..3);
            }
            70..85 => {
                let cut = rng.random_range(0..=next);
                index.truncate_from(cut).unwrap();
                model.retain(|(_, phys, _)| *phys < cut);
                next = next.min(cut);
            }
            _ => {
                if rng.random_bool(0.5) {
                    index.flush().unwrap();
                }
                drop(index);
                index = KeyIndex::open(dir.path(), slots, entries).unwrap();
            }
        }
        let key = format!("k{}", rng.random_range(0..6));
        let (begin, end) = (rng.random_range(0..50), rng.random_range(0..50));
        let mut expected: Vec<u64> = model
            .iter()
            .rev()
            .filter(|(k, _, ts)| *k == key && (begin..=end).contains(ts))
            .map(|(_, phys, _)| *phys)
            .collect();
        expected.dedup();
        assert_eq!(
            index.query("T", &key, begin, end, usize::MAX),
            expected,
            "step {step}"
        );
    }
}
