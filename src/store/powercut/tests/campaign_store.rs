//! `MessageStore` through power cuts: seeded appends of message records, commits (only of
//! what is acknowledged durable, as Raft would), dispatch in commit order, derived-data
//! checkpoints, truncations of the uncommitted tail and retention; then a crash, a cut, a
//! reopen, the re-application of what was committed (as the raft layer does after a restart),
//! and the checks: every acknowledged record is back with the same bytes (queue offsets stamped
//! as before), and every consume queue equals the one computed from the log.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::super::{Campaign, Style, Tally, cut, same_style, style_of, track};
use super::Acks;
use crate::message::{MessageToStore, decode_message, encode_message, property, walk_messages};
use crate::store::{
    HEADER_LEN, LogId, MessageStore, MessageStoreOptions, NewEntry, Record, RecordKind,
};

const SEG: u64 = 64 * 1024;
const EPOCHS: u64 = 3;
const TOPICS: [&str; 2] = ["TopicA", "TopicB"];
const QUEUES: u32 = 3;

fn options(root: &Path, rng: &mut StdRng) -> MessageStoreOptions {
    let mut o = MessageStoreOptions::in_dir(root, SEG);
    o.commitlog.index_entries_per_file = 512;
    o.commitlog.flush_interval = Duration::from_millis(rng.random_range(2..50));
    o.commitlog.checkpoint_interval = Duration::from_millis(rng.random_range(0..40));
    o.consume_queue_units_per_file = 64;
    o.key_index_slots = 64;
    o.key_index_entries = 256;
    // Whole segments go as soon as they are applied.
    o.retention.file_reserved = Duration::ZERO;
    o.retention.disk_max_used_ratio = 0.0;
    o.retention.disk_force_clean_ratio = 0.0;
    o
}

/// Which operations and records a campaign uses.
#[derive(Debug, Clone, Copy)]
struct Mix {
    /// Every record one message of 1 KiB: segments fill exactly, no pad markers.
    tiled: bool,
    /// Retention purges (whole segments, as soon as they are applied).
    retention: bool,
}

/// The stored-message bytes of message `seq` with a body of `body_len` bytes.
fn message(topic: &str, queue_id: u32, seq: u64, body_len: usize) -> Vec<u8> {
    let addr: SocketAddr = "127.0.0.1:30911".parse().expect("address");
    let mut properties = BTreeMap::new();
    properties.insert(property::KEYS.to_string(), format!("k{seq:08}"));
    let mut body = format!("message {seq:08} ").into_bytes();
    body.resize(body_len, b'.');
    encode_message(&MessageToStore {
        born_timestamp: 1_700_000_000_000,
        born_host: addr,
        store_timestamp: 1_700_000_000_000 + seq as i64,
        store_host: addr,
        properties,
        ..MessageToStore::new(topic, queue_id as i32, body)
    })
    .expect("message encodes")
}

/// A record body: one message of exactly 1 KiB - header when tiled, else one to three.
fn record_body(rng: &mut StdRng, seq: &mut u64, mix: Mix) -> (RecordKind, Vec<u8>) {
    let n = if mix.tiled { 1 } else { rng.random_range(1..4) };
    let mut body = Vec::new();
    for _ in 0..n {
        let topic = TOPICS[rng.random_range(0..TOPICS.len())];
        let queue = rng.random_range(0..QUEUES);
        let len = if mix.tiled {
            let empty = message(topic, queue, *seq, 16).len();
            1024 - HEADER_LEN - empty + 16
        } else {
            rng.random_range(16..3000)
        };
        body.extend(message(topic, queue, *seq, len));
        *seq += 1;
    }
    let kind = if n == 1 {
        RecordKind::Message
    } else {
        RecordKind::MessageBatch
    };
    (kind, body)
}

/// (topic, queue id) -> (physical offset, size) of each unit, by queue offset.
type Queues = BTreeMap<(String, u32), Vec<(u64, u32)>>;

#[derive(Default)]
struct Model {
    /// Bytes as last read: stamped once dispatched.
    records: BTreeMap<u64, Bytes>,
    acked: Option<u64>,
    generation: u64,
    next: u64,
    term: u64,
    seq: u64,
    committed: Option<LogId>,
    /// Last record dispatched (= committed after each apply step).
    dispatched: Option<u64>,
    queues: Queues,
    /// Derived data below this commitlog position may be trimmed by retention.
    first_kept: u64,
}

impl Model {
    fn drain(&mut self, acks: &Acks) {
        if let Some(upto) = acks.take(self.generation) {
            self.acked = self.acked.max(Some(upto));
        }
    }

    /// Adds the messages of `record` to the expected queues, as dispatch numbers them.
    fn expect_dispatch(&mut self, record: &Record) {
        if !record.kind().carries_messages() {
            return;
        }
        let body = record.body();
        for span in walk_messages(&body) {
            let (at, len) = span.expect("a committed record's messages walk");
            let (stored, _) = decode_message(&body[at..at + len]).expect("message decodes");
            let key = (stored.message.topic, stored.message.queue_id as u32);
            let phys = record.body_position() + at as u64;
            self.queues
                .entry(key)
                .or_default()
                .push((phys, stored.total_size));
        }
    }
}

/// Dispatches every record after the model's last dispatched one up to `upto`, checking the
/// offsets dispatch assigns against the model.
fn apply_upto(store: &MessageStore, m: &mut Model, upto: u64) {
    let from = m
        .dispatched
        .map_or(1, |d| d + 1)
        .max(store.commitlog().view().first.unwrap_or(1));
    for i in from..=upto {
        let record = store
            .commitlog()
            .get(i)
            .expect("read")
            .unwrap_or_else(|| panic!("committed record {i} is missing"));
        m.expect_dispatch(&record);
        let placed = store.dispatch(&record).expect("dispatch");
        for d in placed {
            let units = &m.queues[&(d.topic.clone(), d.queue_id)];
            let expected = units
                .iter()
                .position(|&(p, _)| p == d.physical_offset)
                .expect("dispatched message is expected");
            assert_eq!(
                d.queue_offset, expected as u64,
                "record {i}: {}/{} offset",
                d.topic, d.queue_id
            );
        }
        let stamped = store.commitlog().get(i).expect("read").expect("present");
        m.records.insert(i, stamped.as_bytes().clone());
        m.dispatched = Some(i);
    }
}

fn step(
    store: &MessageStore,
    m: &mut Model,
    acks: &Acks,
    rng: &mut StdRng,
    mix: Mix,
    t: &mut Tally,
) {
    m.drain(acks);
    let log = store.commitlog();
    let last = log.view().last.map(|l| l.index);
    match rng.random_range(0..100) {
        0..45 => {
            let n = rng.random_range(1..5);
            let bodies: Vec<(RecordKind, Vec<u8>)> =
                (0..n).map(|_| record_body(rng, &mut m.seq, mix)).collect();
            let entries: Vec<NewEntry<'_>> = bodies
                .iter()
                .enumerate()
                .map(|(k, (kind, body))| NewEntry {
                    index: m.next + k as u64,
                    term: m.term,
                    kind: *kind,
                    body,
                })
                .collect();
            log.append(&entries).expect("append");
            for i in m.next..m.next + n {
                let r = log.get(i).expect("read").expect("just appended");
                m.records.insert(i, r.as_bytes().clone());
            }
            m.next += n;
        }
        45..55 => {
            if let Some(upto) = last {
                acks.register(log, m.generation, upto);
            }
        }
        55..62 => {
            log.flush().expect("flush");
            m.acked = m.acked.max(last);
        }
        62..82 => {
            // Commit some of what is durable here, then apply it in order.
            if let Some(a) = m.acked {
                let lo = m.committed.map_or(0, |c| c.index);
                if a > lo {
                    let index = rng.random_range(lo + 1..=a);
                    let term = log.get(index).expect("read").expect("acked").term();
                    m.committed = Some(LogId { term, index });
                    log.save_committed(m.committed);
                    apply_upto(store, m, index);
                }
            }
        }
        82..90 => {
            store.checkpoint_derived().expect("checkpoint");
            *t.entry("checkpoints".into()).or_default() += 1;
        }
        90..95 => {
            let lo = m.committed.map_or(0, |c| c.index);
            if let Some(last) = last.filter(|&l| l > lo) {
                let keep = rng.random_range(lo..last);
                log.truncate_after((keep > 0).then_some(keep))
                    .expect("truncate");
                m.records.retain(|&i, _| i <= keep);
                m.acked = m.acked.min(Some(keep));
                m.generation += 1;
                m.next = keep + 1;
                m.term += 1;
                *t.entry("truncations".into()).or_default() += 1;
            }
        }
        _ => {
            if !mix.retention {
                return;
            }
            if let Some(plan) = store.run_retention(m.dispatched).expect("retention") {
                m.records.retain(|&i, _| i > plan.upto.index);
                m.first_kept = plan.first_kept_position;
                *t.entry("purges".into()).or_default() += 1;
            }
        }
    }
}

/// The checks after a reopen (see the module docs); then the model follows the log.
fn check_and_resync(store: &MessageStore, m: &mut Model, epoch: u64) {
    let log = store.commitlog();
    // What Raft does after a restart: learn the committed id again and apply up to it. Every
    // committed record was dispatched before the crash, so the model expects them all already.
    if let Some(c) = m.committed {
        log.save_committed(Some(c));
        let applied = store.applied().map(|a| a.index);
        assert!(
            applied <= Some(c.index),
            "epoch {epoch}: applied {applied:?} past committed {c:?}"
        );
        let first = log.view().first.unwrap_or(c.index + 1);
        for i in applied.map_or(first, |a| a + 1).max(first)..=c.index {
            let r = log
                .get(i)
                .expect("read")
                .unwrap_or_else(|| panic!("epoch {epoch}: committed record {i} lost"));
            store.dispatch(&r).expect("re-apply");
        }
    }
    for (&i, bytes) in m
        .records
        .iter()
        .filter(|(i, _)| m.acked.is_some_and(|a| **i <= a))
    {
        let r = log
            .get(i)
            .expect("read")
            .unwrap_or_else(|| panic!("epoch {epoch}: acknowledged record {i} lost"));
        if r.as_bytes() != bytes {
            let stamps = queue_offset_fields(&r);
            let differ: Vec<usize> = (0..bytes.len())
                .filter(|&k| r.as_bytes().get(k) != bytes.get(k))
                .collect();
            let what = if differ.iter().all(|k| stamps.iter().any(|s| s.contains(k))) {
                "only in stamped queue offsets"
            } else {
                "outside the stamped queue offsets"
            };
            panic!(
                "epoch {epoch}: record {i} came back with other bytes, {what} (bytes {:?}..{:?})",
                differ.first(),
                differ.last()
            );
        }
    }
    check_queues(store, m, epoch);
    // Follow the log: everything in it is on disk now.
    let view = log.view();
    m.records.clear();
    if let (Some(first), Some(last)) = (view.first, view.last) {
        for r in log.read(first, last.index + 1, u64::MAX).expect("read") {
            m.records.insert(r.index(), r.as_bytes().clone());
        }
    }
    m.acked = view.last.map(|l| l.index);
    let meta = log.meta();
    m.next = view
        .last
        .map(|l| l.index + 1)
        .or(meta.purged.map(|p| p.index + 1))
        .into_iter()
        .chain(meta.base.map(|b| b.index))
        .max()
        .unwrap_or(1);
    m.term = m.term.max(view.last.map_or(0, |l| l.term)) + 1;
    m.generation += 1;
}

/// Where the QUEUEOFFSET fields of `record`'s messages lie in its bytes.
fn queue_offset_fields(record: &Record) -> Vec<std::ops::Range<usize>> {
    let body = record.body();
    walk_messages(&body)
        .filter_map(Result::ok)
        .map(|(at, _)| {
            let from = HEADER_LEN + at + crate::message::QUEUE_OFFSET_POS;
            from..from + 8
        })
        .collect()
}

/// Every queue equals the model: same max offset, and every unit still present points at the
/// message the model placed there, whose stamped queue offset is that offset.
fn check_queues(store: &MessageStore, m: &Model, epoch: u64) {
    for ((topic, queue_id), units) in &m.queues {
        let Some(q) = store.consume_queues().get(topic, *queue_id) else {
            assert!(
                units.is_empty(),
                "epoch {epoch}: queue {topic}/{queue_id} lost"
            );
            continue;
        };
        assert_eq!(
            q.max_offset(),
            units.len() as u64,
            "epoch {epoch}: {topic}/{queue_id} max offset"
        );
        let kept_from = units
            .iter()
            .position(|&(p, _)| p >= m.first_kept)
            .unwrap_or(units.len()) as u64;
        assert!(
            q.min_offset() <= kept_from,
            "epoch {epoch}: {topic}/{queue_id} starts at {} but offset {kept_from} is retained",
            q.min_offset()
        );
        for o in q.min_offset().max(kept_from)..q.max_offset() {
            let (phys, size) = units[o as usize];
            let unit = q
                .get(o)
                .unwrap_or_else(|| panic!("epoch {epoch}: {topic}/{queue_id} unit {o} missing"));
            assert_eq!(
                (unit.commitlog_offset, unit.size),
                (phys, size),
                "epoch {epoch}: {topic}/{queue_id} unit {o}"
            );
            let bytes = store
                .commitlog()
                .read_at(phys, u64::from(size))
                .expect("read")
                .unwrap_or_else(|| panic!("epoch {epoch}: message at {phys} unreadable"));
            let (stored, _) = decode_message(&bytes).expect("message decodes");
            assert_eq!(
                stored.message.queue_offset, o,
                "epoch {epoch}: {topic}/{queue_id} message {o} at {phys}: stamped queue offset lost"
            );
        }
    }
}

fn one_seed(seed: u64, tally: &mut Tally, mix: Mix) {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let _tracking = track(root).expect("track");
    let mut rng = StdRng::seed_from_u64(seed);
    let acks = Acks::default();
    let mut m = Model {
        next: 1,
        term: 1,
        ..Model::default()
    };
    for epoch in 0..=EPOCHS {
        let store = MessageStore::open(options(root, &mut rng))
            .unwrap_or_else(|e| panic!("epoch {epoch}: reopen after the cut failed: {e}"));
        if epoch > 0 {
            check_and_resync(&store, &mut m, epoch);
        }
        let steps = if epoch == EPOCHS {
            10
        } else {
            rng.random_range(10..60)
        };
        for _ in 0..steps {
            step(&store, &mut m, &acks, &mut rng, mix, tally);
        }
        if epoch == EPOCHS {
            store.close().expect("the store goes on after recovery");
            return;
        }
        drop(store); // a crash
        m.drain(&acks);
        let summary = cut(root, same_style(seed, epoch)).expect("cut");
        *tally
            .entry(format!("cut {}", summary.style.name()))
            .or_default() += 1;
    }
}

/// Every style of cut, records of any size, retention on.
#[test]
fn powercut_message_store_rebuilds_the_queues_the_log_implies() {
    let campaign = Campaign {
        name: "message-store",
        seeds: 150,
        budget: Duration::from_secs(30),
        only: |_| true,
    };
    let mix = Mix {
        tiled: false,
        retention: true,
    };
    campaign.run(|seed, tally| one_seed(seed, tally, mix));
}

/// The always-on part: process crashes only (the page cache survives: gentle cuts), records
/// that tile the segments, no retention.
#[test]
fn powercut_message_store_rebuilds_the_queues_after_process_crashes() {
    let campaign = Campaign {
        name: "message-store-crash",
        seeds: 60,
        budget: Duration::from_secs(10),
        only: |seed| style_of(seed) == Style::Gentle,
    };
    let mix = Mix {
        tiled: true,
        retention: false,
    };
    campaign.run(|seed, tally| one_seed(seed, tally, mix));
}
