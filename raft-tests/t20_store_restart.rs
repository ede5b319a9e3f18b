//! A store killed for real (SIGKILL, mid-append) reopens with every acknowledged entry intact.
//!
//! The writer is this test binary re-executed as a child process (selected with `--exact` and
//! an environment variable), so the kill interrupts a real process between or inside appends.
//! The writer acknowledges an entry on stdout only after `CommitLog::flush` returned for it;
//! the checker then reopens the store and reads everything back.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dledger_broker::store::{CommitLog, CommitLogOptions, NewEntry, RecordKind};
use rand::{Rng, SeedableRng};

const SEGMENT: u64 = 64 * 1024;
const CHILD_ENV: &str = "DLEDGER_T20_WRITER_DIR";
const CHILD_TEST: &str = "t20_store_restart::writer_child_process";

fn options(dir: &Path) -> CommitLogOptions {
    CommitLogOptions {
        flush_interval: Duration::from_millis(5),
        checkpoint_interval: Duration::from_millis(50),
        ..CommitLogOptions::in_dir(dir, SEGMENT)
    }
}

/// Deterministic body of entry `index`: a stored-message-shaped buffer (TOTALSIZE first).
fn body(index: u64) -> Vec<u8> {
    let len = 64 + (index * 37 % 1500) as usize;
    let mut b: Vec<u8> = (0..len).map(|i| (index as usize * 31 + i) as u8).collect();
    b[..4].copy_from_slice(&(len as i32).to_be_bytes());
    b
}

/// `body` as it reads back: the store stamps each message's PHYSICALOFFSET when it appends.
fn stamped(mut b: Vec<u8>, body_position: u64) -> Vec<u8> {
    b[28..36].copy_from_slice(&body_position.to_be_bytes());
    b
}

/// The writer side. Runs only when re-executed by `kill_9_during_appends_loses_no_acknowledged_entry`;
/// as part of the normal test run it returns at once.
#[test]
fn writer_child_process() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let log = CommitLog::open(options(Path::new(&dir))).expect("child opens the store");
    let mut next = log.view().last.map_or(1, |l| l.index + 1);
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let bodies: Vec<Vec<u8>> = (next..next + 8).map(body).collect();
        let entries: Vec<NewEntry<'_>> = bodies
            .iter()
            .enumerate()
            .map(|(k, b)| NewEntry {
                index: next + k as u64,
                term: 1,
                kind: RecordKind::Message,
                body: b,
            })
            .collect();
        log.append(&entries).expect("append");
        log.flush().expect("flush");
        next += 8;
        println!("ACK {}", next - 1);
    }
}

fn run_writer_until_killed(dir: &Path, acks_before_kill: u64) -> u64 {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(n) = line
                .strip_prefix("ACK ")
                .and_then(|n| n.trim().parse::<u64>().ok())
                && tx.send(n).is_err()
            {
                break;
            }
        }
    });
    let mut acked = 0;
    let mut count = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while count < acks_before_kill && Instant::now() < deadline {
        if let Ok(n) = rx.recv_timeout(Duration::from_millis(200)) {
            acked = n;
            count += 1;
        }
    }
    // SIGKILL: no destructor, no close, no final flush.
    child.kill().unwrap();
    child.wait().unwrap();
    while let Ok(n) = rx.try_recv() {
        acked = acked.max(n);
    }
    assert!(count > 0, "the writer acknowledged nothing within 30 s");
    acked
}

#[test]
fn kill_9_during_appends_loses_no_acknowledged_entry() {
    let seed: u64 = rand::random();
    println!("seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut previous_last = 0;
    for round in 0..3 {
        let acked = run_writer_until_killed(dir.path(), rng.random_range(20..200));
        let log = CommitLog::open(options(dir.path())).unwrap();
        let view = log.view();
        let last = view.last.expect("entries survive").index;
        println!("round {round}: acknowledged up to {acked}, recovered up to {last}");
        assert!(
            last >= acked,
            "acknowledged entry {acked} lost (log ends at {last})"
        );
        assert!(last >= previous_last);
        assert_eq!(view.first, Some(1));
        let records = log.read(1, last + 1, u64::MAX).unwrap();
        assert_eq!(records.len() as u64, last, "the log is contiguous from 1");
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r.index(), i as u64 + 1);
            assert_eq!(
                r.body().as_ref(),
                stamped(body(r.index()), r.body_position()).as_slice(),
                "entry {} changed",
                r.index()
            );
        }
        previous_last = last;
        // Leave it "crashed" half the time, closed cleanly the other half.
        if round % 2 == 0 {
            log.close().unwrap();
        }
    }
}
