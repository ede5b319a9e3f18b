//! `CommitLog` through power cuts: seeded random appends (acknowledged by `flush` or an
//! `on_durable` callback), votes, committed ids, truncations, purges and resets, then a crash
//! (drop without close), a cut, a reopen, and the checks: it opens, every acknowledged index is
//! there with the same bytes, the vote is the one saved, the log has no hole, and it goes on.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::super::{Campaign, Tally, cut, same_style, track};
use super::Acks;
use crate::store::{CommitLog, CommitLogOptions, LogBase, LogId, NewEntry, RecordKind, Vote};

const SEG: u64 = 64 * 1024;
const EPOCHS: u64 = 3;

fn options(root: &Path, rng: &mut StdRng) -> CommitLogOptions {
    CommitLogOptions {
        index_entries_per_file: 512,
        flush_interval: Duration::from_millis(rng.random_range(2..50)),
        checkpoint_interval: Duration::from_millis(rng.random_range(0..40)),
        ..CommitLogOptions::in_dir(root, SEG)
    }
}

/// What the test knows: the records it appended (bytes as read back), how far they were
/// acknowledged durable, the vote and committed id saved.
#[derive(Default)]
struct Model {
    records: BTreeMap<u64, Bytes>,
    acked: Option<u64>,
    /// Bumped by truncation and reset: a callback registered before acknowledges nothing.
    generation: u64,
    next: u64,
    term: u64,
    vote: Option<Vote>,
    committed: Option<LogId>,
}

impl Model {
    fn ack(&mut self, upto: u64) {
        self.acked = Some(self.acked.map_or(upto, |a| a.max(upto)));
    }

    fn drain(&mut self, acks: &Acks) {
        if let Some(upto) = acks.take(self.generation) {
            self.ack(upto);
        }
    }

    fn acked_records(&self) -> impl Iterator<Item = (&u64, &Bytes)> {
        let acked = self.acked;
        self.records
            .iter()
            .take_while(move |(i, _)| acked.is_some_and(|a| **i <= a))
    }
}

fn body(rng: &mut StdRng, mix: Mix) -> Vec<u8> {
    let len = if mix.tiled {
        1024 - crate::store::HEADER_LEN
    } else if rng.random_bool(0.2) {
        rng.random_range(2000..7000)
    } else {
        rng.random_range(1..600)
    };
    (0..len).map(|_| rng.random()).collect()
}

/// One random operation on the open log.
/// Which operations a campaign draws from.
#[derive(Debug, Clone, Copy)]
struct Mix {
    /// Resets (a follower installing a snapshot).
    resets: bool,
    /// Every record 1 KiB: segments fill exactly, no record ever needs a pad marker.
    tiled: bool,
}

fn step(
    log: &CommitLog,
    m: &mut Model,
    acks: &Acks,
    rng: &mut StdRng,
    tally: &mut Tally,
    mix: Mix,
) {
    m.drain(acks);
    let last = log.view().last.map(|l| l.index);
    let first = log.view().first;
    match rng.random_range(0..100) {
        0..50 => {
            let n = rng.random_range(1..8);
            let bodies: Vec<Vec<u8>> = (0..n).map(|_| body(rng, mix)).collect();
            let entries: Vec<NewEntry<'_>> = bodies
                .iter()
                .enumerate()
                .map(|(k, b)| NewEntry {
                    index: m.next + k as u64,
                    term: m.term,
                    kind: RecordKind::Admin,
                    body: b,
                })
                .collect();
            tracing::debug!(from = m.next, n, "append");
            log.append(&entries).expect("append");
            for i in m.next..m.next + n {
                let r = log.get(i).expect("read").expect("just appended");
                m.records.insert(i, r.as_bytes().clone());
            }
            m.next += n;
        }
        50..65 => {
            if let Some(upto) = last {
                acks.register(log, m.generation, upto);
            }
        }
        65..72 => {
            tracing::debug!(?last, "flush");
            log.flush().expect("flush");
            if let Some(upto) = last {
                m.ack(upto);
            }
        }
        72..80 => {
            // Raft commits only what is durable here; the committed id never goes back.
            if let Some(a) = m.acked {
                let lo = m.committed.map_or(0, |c| c.index);
                let candidates: Vec<u64> = m.records.range(lo..=a).map(|(i, _)| *i).collect();
                if let Some(&index) = candidates.get(rng.random_range(0..candidates.len().max(1))) {
                    let term = log.get(index).expect("read").expect("acked").term();
                    m.committed = Some(LogId { term, index });
                    tracing::debug!(index, "commit");
                    log.save_committed(m.committed);
                }
            }
        }
        80..86 => {
            // Truncate an uncommitted tail (a follower meeting a new leader's log).
            let lo = m
                .committed
                .map_or(0, |c| c.index)
                .max(first.unwrap_or(1) - 1);
            if let Some(last) = last.filter(|&l| l > lo) {
                let keep = rng.random_range(lo..last);
                // `Some(k)` below the first index empties the log and keeps the positions.
                let keep = (keep > 0).then_some(keep);
                tracing::debug!(?keep, "truncate");
                log.truncate_after(keep).expect("truncate");
                m.records.retain(|&i, _| keep.is_some_and(|k| i <= k));
                m.acked = m.acked.min(keep);
                m.generation += 1;
                m.next = keep.map_or(first.unwrap_or(m.next), |k| k + 1);
                m.term += 1;
                *tally.entry("truncations".into()).or_default() += 1;
            }
        }
        86..90 => {
            if let (Some(c), Some(f)) = (m.committed, first)
                && c.index >= f
            {
                let index = rng.random_range(f..=c.index);
                let term = log.get(index).expect("read").expect("committed").term();
                tracing::debug!(index, "purge");
                log.purge_upto(LogId { term, index }).expect("purge");
                m.records = m.records.split_off(&(index + 1));
                *tally.entry("purges".into()).or_default() += 1;
            }
        }
        90..98 => {
            let term = m
                .vote
                .map_or(1, |v| v.term + u64::from(rng.random_bool(0.5)));
            let vote = Vote {
                term,
                node_id: Some(rng.random_range(1..4)),
                committed: rng.random_bool(0.5),
            };
            log.save_vote(vote).expect("vote");
            m.vote = Some(vote);
        }
        _ => {
            if mix.resets && rng.random_bool(0.3) {
                // A snapshot install on a follower: the log restarts at a later base.
                let index =
                    m.next.max(m.committed.map_or(0, |c| c.index + 1)) + rng.random_range(0..4);
                let position = (log.view().end + rng.random_range(0..3 * SEG)) / 8 * 8;
                tracing::debug!(index, position, "reset");
                log.reset(LogBase { index, position }).expect("reset");
                m.records.clear();
                m.acked = None;
                m.generation += 1;
                m.next = index;
                *tally.entry("resets".into()).or_default() += 1;
            }
        }
    }
}

/// The checks after a reopen; then the model is rebuilt from the log (all of it is on disk).
fn check_and_resync(log: &CommitLog, m: &mut Model, epoch: u64) {
    assert_eq!(
        log.vote(),
        m.vote,
        "epoch {epoch}: the vote read is not the vote saved"
    );
    for (&i, bytes) in m.acked_records() {
        match log.get(i) {
            Ok(Some(r)) => assert!(
                r.as_bytes() == bytes,
                "epoch {epoch}: acknowledged index {i} came back with other bytes"
            ),
            other => panic!(
                "epoch {epoch}: acknowledged index {i} (acked up to {:?}) lost: {other:?}; view {:?}",
                m.acked,
                log.view()
            ),
        }
    }
    let view = log.view();
    let mut records = BTreeMap::new();
    if let (Some(first), Some(last)) = (view.first, view.last) {
        let all = log.read(first, last.index + 1, u64::MAX).expect("read all");
        let indexes: Vec<u64> = all.iter().map(|r| r.index()).collect();
        let expected: Vec<u64> = (first..=last.index).collect();
        assert_eq!(indexes, expected, "epoch {epoch}: the log has holes");
        assert!(
            all.windows(2).all(|w| w[0].term() <= w[1].term()),
            "epoch {epoch}: terms go backwards"
        );
        let tail = log.get(last.index).expect("read").expect("last record");
        // The next record's position must follow from the last one alone, as on every
        // replica: a pad marker whose record never became durable must not move it.
        assert_eq!(
            view.end,
            tail.position() + (tail.as_bytes().len() as u64).div_ceil(8) * 8,
            "epoch {epoch}: the log does not continue right after its last record {last:?}"
        );
        for r in all {
            records.insert(r.index(), r.as_bytes().clone());
        }
    }
    if let (Some(c), Some(last)) = (log.committed(), view.last) {
        assert!(
            c.index <= last.index,
            "epoch {epoch}: committed {c:?} is past the log's last {last:?}"
        );
    }
    let meta = log.meta();
    if let (None, Some(base)) = (view.last, meta.base)
        && meta.purged.is_none_or(|p| p.index < base.index)
    {
        assert_eq!(
            view.end, base.position,
            "epoch {epoch}: the log came back empty but does not continue at its base {base:?}"
        );
    }
    m.next = view
        .last
        .map(|l| l.index + 1)
        .or(meta.purged.map(|p| p.index + 1))
        .into_iter()
        .chain(meta.base.map(|b| b.index))
        .max()
        .unwrap_or(1);
    m.term = m.term.max(view.last.map_or(0, |l| l.term)) + 1;
    m.acked = view.last.map(|l| l.index);
    m.records = records;
    m.committed = log.committed();
    m.generation += 1;
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
        let log = CommitLog::open(options(root, &mut rng))
            .unwrap_or_else(|e| panic!("epoch {epoch}: reopen after the cut failed: {e}"));
        if epoch > 0 {
            check_and_resync(&log, &mut m, epoch);
        }
        if epoch == EPOCHS {
            for _ in 0..10 {
                step(&log, &mut m, &acks, &mut rng, tally, mix);
            }
            log.flush().expect("the log goes on after recovery");
            log.close().expect("close");
            return;
        }
        for _ in 0..rng.random_range(10..60) {
            step(&log, &mut m, &acks, &mut rng, tally, mix);
        }
        drop(log); // a crash: no close, pending callbacks fail
        m.drain(&acks);
        let summary = cut(root, same_style(seed, epoch)).expect("cut");
        *tally
            .entry(format!("cut {}", summary.style.name()))
            .or_default() += 1;
    }
}

/// Every style of cut, every operation. Fails on the findings in the notes (seeds 14, 90).
#[test]
fn powercut_commitlog_keeps_every_acknowledged_append() {
    let campaign = Campaign {
        name: "commitlog",
        seeds: 200,
        budget: Duration::from_secs(30),
        only: |_| true,
    };
    let mix = Mix {
        resets: true,
        tiled: false,
    };
    campaign.run(|seed, tally| one_seed(seed, tally, mix));
}

/// The always-on part: every style of cut, no resets, records that tile the segments (so no
/// pad marker can outlive its record).
#[test]
fn powercut_commitlog_keeps_every_acknowledged_append_with_tiled_records() {
    let campaign = Campaign {
        name: "commitlog-tiled",
        seeds: 100,
        budget: Duration::from_secs(15),
        only: |_| true,
    };
    let mix = Mix {
        resets: false,
        tiled: true,
    };
    campaign.run(|seed, tally| one_seed(seed, tally, mix));
}
